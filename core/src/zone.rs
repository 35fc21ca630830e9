//! IANA time zones for local days and shifts.
//!
//! The zone rules come from jiff's time zone database: on the server and
//! the CLI the copy bundled into the binary (feature `bundled-tzdb`: every
//! host computes the same days), on a phone the operating system's own
//! copy (the default feature `system-tzdb`: `/usr/share/zoneinfo` on iOS,
//! the concatenated `tzdata` on Android, both updated with the OS), which
//! keeps some 1.9 MB of compiled-in tables out of the app (chrono-tz's).
//!
//! A [`Zone`] is `Copy` like chrono-tz's `Tz`, so shifts and day folds pass
//! it by value: each distinct zone is loaded once and kept for the life of
//! the process (at most the database's ~600 names, a few KB each).

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use chrono::{FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};
use jiff::tz::{AmbiguousOffset, TimeZoneDatabase};

/// A named zone's rules, loaded once.
#[derive(Debug)]
struct Loaded {
    name: &'static str,
    rules: jiff::tz::TimeZone,
}

static UTC_RULES: Loaded = Loaded {
    name: "UTC",
    rules: jiff::tz::TimeZone::UTC,
};

/// An IANA time zone (`Asia/Jakarta`), spelt exactly as in tzdata.
#[derive(Clone, Copy)]
pub struct Zone(&'static Loaded);

impl Zone {
    pub const UTC: Zone = Zone(&UTC_RULES);

    /// The zone named `name` (exact spelling); `None` if the database has
    /// no such zone.
    pub fn named(name: &str) -> Option<Zone> {
        if name == UTC_RULES.name {
            return Some(Zone::UTC);
        }
        static LOADED: OnceLock<Mutex<HashMap<String, Zone>>> = OnceLock::new();
        let mut loaded = LOADED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(zone) = loaded.get(name) {
            return Some(*zone);
        }
        let rules = database().get(name).ok()?;
        // jiff matches names case-insensitively; tzdata's spelling is the
        // contract (a stored name is compared as text elsewhere).
        if rules.iana_name() != Some(name) {
            return None;
        }
        // Leaked on purpose: bounded by the database's names, and `Copy`
        // zones need a 'static home.
        let zone = Zone(Box::leak(Box::new(Loaded {
            name: Box::leak(name.into()),
            rules,
        })));
        loaded.insert(name.to_owned(), zone);
        Some(zone)
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// The offset from UTC in force at the instant `utc` (UTC wall time).
    fn offset_at(&self, utc: &NaiveDateTime) -> FixedOffset {
        let seconds = self.0.rules.to_offset(timestamp(utc)).seconds();
        FixedOffset::east_opt(seconds).expect("tzdata offsets are within a day")
    }
}

fn database() -> &'static TimeZoneDatabase {
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DATABASE.get_or_init(|| {
        #[cfg(feature = "bundled-tzdb")]
        let database = TimeZoneDatabase::bundled();
        #[cfg(not(feature = "bundled-tzdb"))]
        let database = TimeZoneDatabase::from_env();
        database
    })
}

/// A UTC wall time as jiff's timestamp (chrono's range lies within jiff's
/// for every date the store can hold: years -9999..=9999).
fn timestamp(utc: &NaiveDateTime) -> jiff::Timestamp {
    let seconds = utc.and_utc().timestamp();
    jiff::Timestamp::from_second(seconds.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    ))
    .expect("clamped into jiff's range")
}

fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::{Datelike, Timelike};
    let year = i16::try_from(local.year()).ok()?;
    jiff::civil::DateTime::new(
        year,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        local.second() as i8,
        0,
    )
    .ok()
}

/// A name the zone database does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone;

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a known IANA time zone")
    }
}

impl std::str::FromStr for Zone {
    type Err = UnknownZone;
    fn from_str(name: &str) -> Result<Zone, UnknownZone> {
        Zone::named(name).ok_or(UnknownZone)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.0.name == other.0.name
    }
}
impl Eq for Zone {}
impl Hash for Zone {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}
impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

/// The offset a zone gives one instant (chrono's `TimeZone::Offset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        let offset = |o: jiff::tz::Offset| ZoneOffset {
            zone: *self,
            fixed: FixedOffset::east_opt(o.seconds()).expect("tzdata offsets are within a day"),
        };
        let Some(civil) = civil(local) else {
            // Outside jiff's civil range: no zone rule applies; UTC's.
            return LocalResult::Single(offset(jiff::tz::Offset::UTC));
        };
        match self.0.rules.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset: o } => LocalResult::Single(offset(o)),
            AmbiguousOffset::Gap { .. } => LocalResult::None,
            // `before` is the earlier instant's offset: chrono lists the
            // earliest first.
            AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(offset(before), offset(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        ZoneOffset {
            zone: *self,
            fixed: self.offset_at(utc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn names_are_exact_and_loaded_once() {
        let jakarta = Zone::named("Asia/Jakarta").unwrap();
        assert_eq!(jakarta.name(), "Asia/Jakarta");
        assert_eq!(Zone::named("Asia/Jakarta").unwrap(), jakarta);
        assert!(std::ptr::eq(
            Zone::named("Asia/Jakarta").unwrap().0,
            jakarta.0
        ));
        assert_eq!(Zone::named("asia/jakarta"), None);
        assert_eq!(Zone::named("Mars/Olympus_Mons"), None);
        assert_eq!(Zone::named(""), None);
        assert_eq!(Zone::named("UTC"), Some(Zone::UTC));
        assert_ne!(Zone::named("Etc/UTC").unwrap(), Zone::UTC);
    }

    #[test]
    fn offsets_follow_the_rules_at_each_instant() {
        let amsterdam = Zone::named("Europe/Amsterdam").unwrap();
        let winter = utc("2026-01-15T12:00:00Z").with_timezone(&amsterdam);
        assert_eq!(winter.offset().fix().local_minus_utc(), 3600);
        let summer = utc("2026-07-15T12:00:00Z").with_timezone(&amsterdam);
        assert_eq!(summer.offset().fix().local_minus_utc(), 7200);
        // The spring-forward instant, 01:00Z on 2026-03-29.
        assert_eq!(
            utc("2026-03-29T00:59:59Z")
                .with_timezone(&amsterdam)
                .naive_local()
                .to_string(),
            "2026-03-29 01:59:59"
        );
        assert_eq!(
            utc("2026-03-29T01:00:00Z")
                .with_timezone(&amsterdam)
                .naive_local()
                .to_string(),
            "2026-03-29 03:00:00"
        );
        let jakarta = Zone::named("Asia/Jakarta").unwrap();
        assert_eq!(
            utc("2026-05-04T17:00:00Z")
                .with_timezone(&jakarta)
                .to_rfc3339(),
            "2026-05-05T00:00:00+07:00"
        );
    }

    #[test]
    fn local_times_in_gaps_and_folds() {
        let amsterdam = Zone::named("Europe/Amsterdam").unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            amsterdam.from_local_datetime(&at("2026-03-29 02:30")),
            LocalResult::None
        );
        let LocalResult::Ambiguous(early, late) =
            amsterdam.from_local_datetime(&at("2026-10-25 02:30"))
        else {
            panic!("02:30 on the autumn change day happens twice")
        };
        assert_eq!(early.with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert_eq!(late.with_timezone(&Utc), utc("2026-10-25T01:30:00Z"));
        let single = amsterdam
            .from_local_datetime(&at("2026-06-01 09:00"))
            .single()
            .unwrap();
        assert_eq!(single.with_timezone(&Utc), utc("2026-06-01T07:00:00Z"));
    }
}
