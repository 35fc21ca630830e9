//! Agents' shifts and local days.
//!
//! Every day-level judgement (which day a check-in belongs to, lateness,
//! missing check-outs) is made in the agent's own IANA time zone, so a
//! check-in at 23:30 UTC is already the next day in Jakarta, and a shift day
//! in Amsterdam can be 23 or 25 hours long.

use std::fmt;

use crate::zone::Zone;
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
    Weekday,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A set of weekdays; bit 0 is Monday, bit 6 is Sunday. Never empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    const ALL: u8 = 0x7f;

    /// Parses `mon-fri`, `fri-mon` (wraps past Sunday), `mon,wed,fri`,
    /// `mon-wed,sat`, `daily`, case-insensitively, with three-letter or full
    /// day names.
    pub fn parse(text: &str) -> Result<WeekdaySet> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid(
                "days",
                "no days given; expected e.g. `mon-fri`, `mon,wed,fri` or `daily`",
            ));
        }
        let mut bits = 0u8;
        for token in trimmed.split(',') {
            let token = token.trim();
            if token.is_empty() {
                return Err(Error::invalid(
                    "days",
                    format!("empty entry in `{trimmed}`; separate days with single commas"),
                ));
            }
            if token.eq_ignore_ascii_case("daily") {
                bits |= Self::ALL;
                continue;
            }
            match token.split_once('-') {
                Some((from, to)) => {
                    let from = day_index(from.trim())?;
                    let to = day_index(to.trim())?;
                    // `fri-mon` wraps past Sunday.
                    let mut i = from;
                    loop {
                        bits |= 1 << i;
                        if i == to {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => bits |= 1 << day_index(token)?,
            }
        }
        Ok(WeekdaySet(bits))
    }

    /// These days without `off`'s; an error when none is left.
    pub fn without(self, off: WeekdaySet) -> Result<WeekdaySet> {
        WeekdaySet::from_bits(self.0 & !off.0)
            .map_err(|_| Error::invalid("off", "every working day is off; a shift needs a day"))
    }

    /// Every day of the week.
    pub fn daily() -> WeekdaySet {
        WeekdaySet(Self::ALL)
    }

    /// The storage form; see [`WeekdaySet::from_bits`].
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Result<WeekdaySet> {
        if bits == 0 {
            return Err(Error::invalid("days", "empty weekday set"));
        }
        if bits > Self::ALL {
            return Err(Error::invalid(
                "days",
                format!("weekday bits {bits:#04x} have bits above Sunday (0x40) set"),
            ));
        }
        Ok(WeekdaySet(bits))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    fn has(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
}

fn day_index(name: &str) -> Result<usize> {
    let lower = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .or_else(|| FULL_DAY_NAMES.iter().position(|d| *d == lower))
        .ok_or_else(|| {
            Error::invalid(
                "days",
                format!("unknown day `{name}`; use mon, tue, wed, thu, fri, sat, sun or `daily`"),
            )
        })
}

/// Canonical form: maximal runs of consecutive days, a run of three or more
/// as a range. A run through Sunday into Monday is printed as one wrapping
/// range first (`fri-mon`), otherwise runs go Monday first.
impl fmt::Display for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == Self::ALL {
            return f.write_str("mon-sun");
        }
        // Start right after the last absent day when a run wraps Sunday→Monday,
        // so that run is not split in two.
        let start = if self.has(0) && self.has(6) {
            (0..7).rev().find(|&i| !self.has(i)).map_or(0, |i| i + 1)
        } else {
            0
        };
        let mut parts = Vec::new();
        let mut k = 0;
        while k < 7 {
            let i = (start + k) % 7;
            if !self.has(i) {
                k += 1;
                continue;
            }
            let mut len = 1;
            while k + len < 7 && self.has((start + k + len) % 7) {
                len += 1;
            }
            let last = (i + len - 1) % 7;
            match len {
                1 => parts.push(DAY_NAMES[i].to_string()),
                2 => parts.push(format!("{},{}", DAY_NAMES[i], DAY_NAMES[last])),
                _ => parts.push(format!("{}-{}", DAY_NAMES[i], DAY_NAMES[last])),
            }
            k += len;
        }
        f.write_str(&parts.join(","))
    }
}

impl fmt::Debug for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeekdaySet({self})")
    }
}

impl Serialize for WeekdaySet {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WeekdaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        WeekdaySet::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Strict `HH:MM` (a one-digit hour is accepted), 00:00–23:59; no seconds.
pub fn parse_hhmm(field: &str, text: &str) -> Result<NaiveTime> {
    let bad = || {
        Error::invalid(
            field,
            format!("`{text}` is not a time of day in HH:MM form (00:00 to 23:59)"),
        )
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&h.len()) || m.len() != 2 || !all_digits(h) || !all_digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

/// An IANA zone name such as `Asia/Jakarta` (exact spelling, as in tzdata).
pub fn parse_time_zone(text: &str) -> Result<Zone> {
    text.parse::<Zone>().map_err(|_| {
        Error::invalid(
            "tz",
            format!("`{text}` is not a known IANA time zone (e.g. Asia/Jakarta, Europe/Amsterdam)"),
        )
    })
}

/// A recurring working shift in the agent's own time zone. `end < start`
/// means the shift runs overnight and ends on the next local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ShiftRepr", try_from = "ShiftRepr")]
pub struct Shift {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub days: WeekdaySet,
    pub tz: Zone,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShiftRepr {
    start: String,
    end: String,
    days: WeekdaySet,
    tz: String,
}

impl From<Shift> for ShiftRepr {
    fn from(s: Shift) -> Self {
        ShiftRepr {
            start: s.start.format("%H:%M").to_string(),
            end: s.end.format("%H:%M").to_string(),
            days: s.days,
            tz: s.tz.name().to_string(),
        }
    }
}

impl TryFrom<ShiftRepr> for Shift {
    type Error = Error;
    fn try_from(r: ShiftRepr) -> Result<Shift> {
        Shift::new(
            parse_hhmm("start", &r.start)?,
            parse_hhmm("end", &r.end)?,
            r.days,
            parse_time_zone(&r.tz)?,
        )
    }
}

impl Shift {
    pub fn new(start: NaiveTime, end: NaiveTime, days: WeekdaySet, tz: Zone) -> Result<Shift> {
        if start == end {
            return Err(Error::invalid(
                "end",
                "shift end equals its start; a shift must have a length",
            ));
        }
        Ok(Shift {
            start,
            end,
            days,
            tz,
        })
    }

    pub fn is_overnight(&self) -> bool {
        self.end < self.start
    }

    /// Whether a shift starts on this local date (an overnight shift belongs
    /// to the day it starts on).
    pub fn is_shift_day(&self, date: NaiveDate) -> bool {
        self.days.contains(date.weekday())
    }

    pub fn start_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        local_instant(self.tz, date, self.start)
    }

    /// The end of the shift that starts on `date`; the next day for an
    /// overnight shift.
    pub fn end_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        let end_date = if self.is_overnight() {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        local_instant(self.tz, end_date, self.end)
    }

    /// Whole minutes, rounded up, by which `first_check_in` is after the
    /// shift start plus `grace_min`; 0 when not after. A negative grace is
    /// treated as none, and the result saturates at `u32::MAX`.
    pub fn minutes_late(
        &self,
        date: NaiveDate,
        first_check_in: DateTime<Utc>,
        grace_min: i64,
    ) -> u32 {
        minutes_late_after(self.start_instant(date), first_check_in, grace_min)
    }
}

/// An agent's shifts over time (PRODUCT.md §7: late against the shift in
/// force that day). A version applies from its first local date until the
/// next version's; before the first one the agent had no shift. A version
/// is one or more patterns with disjoint weekdays (e.g. 08:00–17:00 Monday
/// to Thursday, 08:00–12:00 Friday); a weekday no pattern names is a day
/// off. A report judges each day by the version in force on it, so a change
/// never rewrites past days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftSchedule {
    /// Sorted by date, never empty; the patterns of one version share its
    /// date. `from: None` sorts first and means "from the beginning".
    pub versions: Vec<ShiftVersion>,
}

/// One pattern of a version of an agent's shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShiftVersion {
    /// The first local date it is in force; `None`: always before the next.
    pub from: Option<NaiveDate>,
    pub shift: Shift,
}

impl ShiftSchedule {
    /// A schedule of one shift, in force on every date.
    pub fn always(shift: Shift) -> ShiftSchedule {
        ShiftSchedule {
            versions: vec![ShiftVersion { from: None, shift }],
        }
    }

    /// The patterns of the version in force on `date` (empty before the
    /// first version).
    pub fn version_on(&self, date: NaiveDate) -> &[ShiftVersion] {
        let end = self
            .versions
            .partition_point(|v| v.from.is_none_or(|from| from <= date));
        let Some(last) = end.checked_sub(1).map(|i| self.versions[i].from) else {
            return &[];
        };
        let start = self.versions[..end]
            .iter()
            .rposition(|v| v.from != last)
            .map_or(0, |i| i + 1);
        &self.versions[start..end]
    }

    /// The shift that works on `date`: the pattern of the version in force
    /// that names its weekday; `None` on a day off.
    pub fn on(&self, date: NaiveDate) -> Option<&Shift> {
        self.version_on(date)
            .iter()
            .map(|v| &v.shift)
            .find(|s| s.is_shift_day(date))
    }
}

/// Whole minutes, rounded up, by which `first_check_in` is past `start` plus
/// `grace_min` (for callers that already know the start instant).
pub fn minutes_late_after(
    start: DateTime<Utc>,
    first_check_in: DateTime<Utc>,
    grace_min: i64,
) -> u32 {
    let grace = TimeDelta::try_minutes(grace_min.max(0)).unwrap_or(TimeDelta::MAX);
    let Some(deadline) = start.checked_add_signed(grace) else {
        return 0;
    };
    let late = first_check_in.signed_duration_since(deadline);
    if late <= TimeDelta::zero() {
        return 0;
    }
    let secs = late.num_seconds();
    let partial = secs % 60 != 0 || late.subsec_nanos() != 0;
    let minutes = secs / 60 + i64::from(partial);
    u32::try_from(minutes).unwrap_or(u32::MAX)
}

/// The agent's local calendar date at `at`.
pub fn local_date(tz: Zone, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// chrono's day count (from 0001-01-01 as day 1) of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The store's key for a local day: days since 1970-01-01, negative before.
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
}

/// Inverse of [`day_number`]; `None` outside chrono's date range.
pub fn date_from_day_number(n: i64) -> Option<NaiveDate> {
    let ce = i32::try_from(n.checked_add(EPOCH_DAYS_FROM_CE)?).ok()?;
    NaiveDate::from_num_days_from_ce_opt(ce)
}

/// The UTC instant of a local wall-clock time.
///
/// - In a DST gap (a wall time that never happens, e.g. 02:30 on the
///   spring-forward day in Amsterdam) the time is read with the offset in
///   force before the gap, i.e. shifted forward by the gap's length: 02:30
///   becomes 03:30 CEST (01:30Z). A shift "starting" inside the gap thus
///   starts as many real minutes after the gap as it nominally would.
/// - In a fold (a wall time that happens twice, autumn) the earlier instant
///   is used, so lateness is never understated.
pub fn local_instant(tz: Zone, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive).earliest() {
        Some(dt) => dt.with_timezone(&Utc),
        None => {
            let before = offset_before_gap(tz, naive);
            (naive - before).and_utc()
        }
    }
}

/// The UTC offset in force just before the gap that swallows `naive`.
fn offset_before_gap(tz: Zone, naive: NaiveDateTime) -> TimeDelta {
    // A day before `naive` (read as UTC) is before the transition, as no
    // offset exceeds ±24 h; tzdata has no two transitions that close.
    let probe = naive - TimeDelta::days(1);
    let secs = tz.offset_from_utc_datetime(&probe).fix().local_minus_utc();
    TimeDelta::seconds(i64::from(secs))
}

/// The first instant whose local wall time is at or after `naive`.
fn first_instant_at_or_after(tz: Zone, naive: NaiveDateTime) -> DateTime<Utc> {
    if let Some(dt) = tz.from_local_datetime(&naive).earliest() {
        return dt.with_timezone(&Utc);
    }
    // In a gap: the answer is the transition itself, which lies in
    // (naive - offset_after, naive - offset_before]. Binary search it to
    // the second, so gaps that straddle midnight are also right.
    let before = offset_before_gap(tz, naive);
    let mut hi = (naive - before).and_utc(); // after the transition
    let mut lo = hi - TimeDelta::days(1); // before it
    while hi - lo > TimeDelta::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if mid.with_timezone(&tz).naive_local() >= naive {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// `[start of the local day, start of the next local day)` in UTC; 23 or 25
/// hours long on DST change days (and empty for a day a zone skipped).
pub fn day_bounds(tz: Zone, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = first_instant_at_or_after(tz, date.and_time(NaiveTime::MIN));
    let end = match date.succ_opt() {
        Some(next) => first_instant_at_or_after(tz, next.and_time(NaiveTime::MIN)),
        None => DateTime::<Utc>::MAX_UTC,
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Zone;

    fn zone(name: &str) -> Zone {
        Zone::named(name).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .with_timezone(&Utc)
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn invalid_field(e: Error) -> (String, String) {
        match e {
            Error::InvalidInput { field, reason } => (field, reason),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn days_of(set: WeekdaySet) -> Vec<&'static str> {
        (0..7)
            .filter(|&i| set.has(i))
            .map(|i| DAY_NAMES[i])
            .collect()
    }

    // ---- WeekdaySet ----

    #[test]
    fn weekday_parse_table() {
        let cases: &[(&str, &[&str])] = &[
            ("mon-fri", &["mon", "tue", "wed", "thu", "fri"]),
            ("MON-FRI", &["mon", "tue", "wed", "thu", "fri"]),
            ("fri-mon", &["mon", "fri", "sat", "sun"]),
            ("sun-tue", &["mon", "tue", "sun"]),
            ("sat-sun", &["sat", "sun"]),
            ("mon,wed,fri", &["mon", "wed", "fri"]),
            ("mon-wed,sat", &["mon", "tue", "wed", "sat"]),
            ("Monday-Friday", &["mon", "tue", "wed", "thu", "fri"]),
            ("sunday", &["sun"]),
            ("wed-wed", &["wed"]),
            ("mon, wed , fri", &["mon", "wed", "fri"]),
            ("mon,mon-tue", &["mon", "tue"]),
            ("daily", &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            ("DAILY", &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            (
                "mon-sun",
                &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            ),
            (
                "tue-mon",
                &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            ),
        ];
        for (text, want) in cases {
            let set = WeekdaySet::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(days_of(set), *want, "{text}");
        }
    }

    #[test]
    fn weekday_parse_errors() {
        for text in [
            "",
            "   ",
            "mo",
            "mon-",
            "-fri",
            "mon--fri",
            "mon,,fri",
            "mon,",
            ",mon",
            "funday",
            "mon-fry",
            "mon;wed",
            "mon wed",
            "1-5",
            "weekdays",
            "mon-wed-fri",
        ] {
            let e = WeekdaySet::parse(text).expect_err(text);
            let (field, reason) = invalid_field(e);
            assert_eq!(field, "days", "{text}");
            assert!(!reason.is_empty());
        }
        let (_, reason) = invalid_field(WeekdaySet::parse("funday").unwrap_err());
        assert!(reason.contains("funday"), "{reason}");
    }

    #[test]
    fn weekday_display_canonical() {
        let cases = [
            ("mon-fri", "mon-fri"),
            ("monday,tue,wed-fri", "mon-fri"),
            ("mon,wed,fri", "mon,wed,fri"),
            ("fri,wed,mon", "mon,wed,fri"),
            ("daily", "mon-sun"),
            ("tue-mon", "mon-sun"),
            ("fri-mon", "fri-mon"),
            ("sat-sun", "sat,sun"),
            ("sun-mon", "sun,mon"),
            ("sun", "sun"),
            ("mon-wed,sat", "mon-wed,sat"),
            ("wed,sat-mon", "sat-mon,wed"),
            ("tue,sun", "tue,sun"),
        ];
        for (input, want) in cases {
            let set = WeekdaySet::parse(input).unwrap();
            assert_eq!(set.to_string(), want, "{input}");
        }
    }

    #[test]
    fn weekday_every_set_round_trips() {
        for bits in 1..=0x7fu8 {
            let set = WeekdaySet::from_bits(bits).unwrap();
            let text = set.to_string();
            let back = WeekdaySet::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(back.bits(), bits, "{text}");
        }
    }

    #[test]
    fn weekday_bits() {
        assert_eq!(WeekdaySet::parse("mon").unwrap().bits(), 0x01);
        assert_eq!(WeekdaySet::parse("sun").unwrap().bits(), 0x40);
        assert_eq!(WeekdaySet::parse("mon-fri").unwrap().bits(), 0x1f);
        assert_eq!(WeekdaySet::parse("daily").unwrap().bits(), 0x7f);
        for bad in [0u8, 0x80, 0xff, 0x81] {
            let (field, _) = invalid_field(WeekdaySet::from_bits(bad).unwrap_err());
            assert_eq!(field, "days");
        }
    }

    #[test]
    fn weekday_contains() {
        let set = WeekdaySet::parse("fri-mon").unwrap();
        assert!(set.contains(Weekday::Fri));
        assert!(set.contains(Weekday::Sun));
        assert!(set.contains(Weekday::Mon));
        assert!(!set.contains(Weekday::Tue));
        assert!(!set.contains(Weekday::Thu));
    }

    // ---- HH:MM and zones ----

    #[test]
    fn hhmm_accepts() {
        for (text, h, m) in [
            ("00:00", 0, 0),
            ("08:00", 8, 0),
            ("8:05", 8, 5),
            ("23:59", 23, 59),
            ("12:30", 12, 30),
        ] {
            assert_eq!(parse_hhmm("start", text).unwrap(), t(h, m), "{text}");
        }
    }

    #[test]
    fn hhmm_rejects() {
        for text in [
            "",
            "24:00",
            "23:60",
            "08:00:00",
            "8",
            "0800",
            "08:0",
            "08:000",
            "008:00",
            "ab:cd",
            "08h00",
            " 08:00",
            "08:00 ",
            "+8:00",
            "-1:00",
            "08:-1",
            "０８:００",
            ":30",
            "08:",
        ] {
            let (field, reason) = invalid_field(parse_hhmm("start", text).expect_err(text));
            assert_eq!(field, "start", "{text}");
            assert!(reason.contains("HH:MM"), "{reason}");
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            parse_time_zone("Asia/Jakarta").unwrap(),
            zone("Asia/Jakarta")
        );
        assert_eq!(
            parse_time_zone("Asia/Makassar").unwrap(),
            zone("Asia/Makassar")
        );
        assert_eq!(
            parse_time_zone("Asia/Jayapura").unwrap(),
            zone("Asia/Jayapura")
        );
        assert_eq!(
            parse_time_zone("Europe/Stockholm").unwrap(),
            zone("Europe/Stockholm")
        );
        for bad in ["", "Mars/Olympus", "Asia/Jakarta ", "+07:00", "WIB"] {
            let (field, _) = invalid_field(parse_time_zone(bad).expect_err(bad));
            assert_eq!(field, "tz");
        }
    }

    // ---- Shift ----

    fn jakarta_shift() -> Shift {
        Shift::new(
            t(8, 0),
            t(17, 0),
            WeekdaySet::parse("mon-fri").unwrap(),
            zone("Asia/Jakarta"),
        )
        .unwrap()
    }

    #[test]
    fn shift_serializes_compactly_and_round_trips() {
        let s = jakarta_shift();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"start":"08:00","end":"17:00","days":"mon-fri","tz":"Asia/Jakarta"}"#
        );
        let back: Shift = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        for bad in [
            r#"{"start":"08:00","end":"08:00","days":"mon-fri","tz":"Asia/Jakarta"}"#,
            r#"{"start":"8","end":"17:00","days":"mon-fri","tz":"Asia/Jakarta"}"#,
            r#"{"start":"08:00","end":"17:00","days":"","tz":"Asia/Jakarta"}"#,
            r#"{"start":"08:00","end":"17:00","days":"mon-fri","tz":"Nowhere"}"#,
        ] {
            assert!(serde_json::from_str::<Shift>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shift_new_rejects_zero_length() {
        let days = WeekdaySet::parse("daily").unwrap();
        let (field, _) =
            invalid_field(Shift::new(t(8, 0), t(8, 0), days, zone("Asia/Jakarta")).unwrap_err());
        assert_eq!(field, "end");
    }

    #[test]
    fn shift_days() {
        let s = jakarta_shift();
        assert!(s.is_shift_day(d(2026, 5, 4))); // Monday
        assert!(s.is_shift_day(d(2026, 5, 8))); // Friday
        assert!(!s.is_shift_day(d(2026, 5, 9))); // Saturday
        assert!(!s.is_shift_day(d(2026, 5, 10))); // Sunday
    }

    #[test]
    fn minutes_late_rounds_up_after_grace() {
        let s = jakarta_shift();
        let day = d(2026, 5, 4);
        // 08:00 WIB = 01:00Z.
        assert_eq!(s.start_instant(day), utc("2026-05-04T01:00:00Z"));
        let cases = [
            ("2026-05-04T00:30:00Z", 0),
            ("2026-05-04T01:00:00Z", 0),
            ("2026-05-04T01:10:00Z", 0),
            ("2026-05-04T01:10:00.001Z", 1),
            ("2026-05-04T01:10:01Z", 1),
            ("2026-05-04T01:11:00Z", 1),
            ("2026-05-04T01:11:01Z", 2),
            ("2026-05-04T01:25:00Z", 15),
            ("2026-05-04T03:00:00Z", 110),
        ];
        for (at, want) in cases {
            assert_eq!(s.minutes_late(day, utc(at), 10), want, "{at}");
        }
        assert_eq!(s.minutes_late(day, utc("2026-05-04T01:00:01Z"), 0), 1);
        assert_eq!(s.minutes_late(day, utc("2026-05-04T01:00:01Z"), -5), 1);
        assert_eq!(
            s.minutes_late(day, utc("2026-05-04T01:00:01Z"), i64::MAX),
            0
        );
        let far = d(20_000, 1, 1).and_time(NaiveTime::MIN).and_utc();
        assert_eq!(s.minutes_late(day, far, 0), u32::MAX);
    }

    #[test]
    fn minutes_late_across_dst_days() {
        for tz in [zone("Europe/Amsterdam"), zone("Europe/Stockholm")] {
            let s = Shift::new(t(8, 0), t(17, 0), WeekdaySet::parse("daily").unwrap(), tz).unwrap();
            // Spring forward: 08:00 CEST = 06:00Z (the day before it was 07:00Z).
            let spring = d(2026, 3, 29);
            assert_eq!(s.start_instant(d(2026, 3, 28)), utc("2026-03-28T07:00:00Z"));
            assert_eq!(s.start_instant(spring), utc("2026-03-29T06:00:00Z"));
            assert_eq!(s.minutes_late(spring, utc("2026-03-29T06:25:00Z"), 10), 15);
            assert_eq!(s.minutes_late(spring, utc("2026-03-29T06:10:00Z"), 10), 0);
            // Had the winter offset been kept this would be 0 (07:05Z < 07:10Z).
            assert_eq!(s.minutes_late(spring, utc("2026-03-29T07:05:00Z"), 10), 55);
            // Fall back: 08:00 CET = 07:00Z.
            let autumn = d(2026, 10, 25);
            assert_eq!(s.start_instant(autumn), utc("2026-10-25T07:00:00Z"));
            assert_eq!(s.minutes_late(autumn, utc("2026-10-25T07:25:00Z"), 10), 15);
            assert_eq!(s.minutes_late(autumn, utc("2026-10-25T06:25:00Z"), 10), 0);
        }
    }

    #[test]
    fn overnight_shift() {
        let s = Shift::new(
            t(22, 0),
            t(6, 0),
            WeekdaySet::parse("fri-mon").unwrap(),
            zone("Asia/Makassar"),
        )
        .unwrap();
        assert!(s.is_overnight());
        assert!(!jakarta_shift().is_overnight());
        let fri = d(2026, 5, 8);
        // 22:00 WITA (+8) = 14:00Z; ends 06:00 WITA Saturday = 22:00Z Friday.
        assert_eq!(s.start_instant(fri), utc("2026-05-08T14:00:00Z"));
        assert_eq!(s.end_instant(fri), utc("2026-05-08T22:00:00Z"));
        assert!(s.end_instant(fri) > s.start_instant(fri));
        assert!(s.is_shift_day(fri));
        assert!(!s.is_shift_day(d(2026, 5, 6))); // Wednesday
        assert_eq!(s.minutes_late(fri, utc("2026-05-08T14:45:00Z"), 10), 35);
        // A check-in after local midnight still counts against Friday's start.
        assert_eq!(s.minutes_late(fri, utc("2026-05-08T16:30:00Z"), 10), 140);
        assert_eq!(
            local_date(zone("Asia/Makassar"), utc("2026-05-08T16:30:00Z")),
            d(2026, 5, 9)
        );
        // Same-day shift ends on the same date.
        let j = jakarta_shift();
        assert_eq!(j.end_instant(fri), utc("2026-05-08T10:00:00Z"));
    }

    // ---- local days ----

    #[test]
    fn late_utc_evening_is_next_day_in_indonesia() {
        let at = utc("2026-05-04T23:30:00Z");
        for tz in [
            zone("Asia/Jakarta"),
            zone("Asia/Makassar"),
            zone("Asia/Jayapura"),
        ] {
            assert_eq!(local_date(tz, at), d(2026, 5, 5), "{tz}");
        }
        assert_eq!(local_date(Zone::UTC, at), d(2026, 5, 4));
        assert_eq!(local_date(zone("Europe/Amsterdam"), at), d(2026, 5, 5));
    }

    #[test]
    fn jakarta_day_boundary_is_17_utc() {
        assert_eq!(
            local_date(zone("Asia/Jakarta"), utc("2026-05-04T16:59:59Z")),
            d(2026, 5, 4)
        );
        assert_eq!(
            local_date(zone("Asia/Jakarta"), utc("2026-05-04T17:00:00Z")),
            d(2026, 5, 5)
        );
        let (start, end) = day_bounds(zone("Asia/Jakarta"), d(2026, 5, 5));
        assert_eq!(start, utc("2026-05-04T17:00:00Z"));
        assert_eq!(end, utc("2026-05-05T17:00:00Z"));
        // Makassar (+8) and Jayapura (+9) boundaries.
        assert_eq!(
            day_bounds(zone("Asia/Makassar"), d(2026, 5, 5)).0,
            utc("2026-05-04T16:00:00Z")
        );
        assert_eq!(
            day_bounds(zone("Asia/Jayapura"), d(2026, 5, 5)).0,
            utc("2026-05-04T15:00:00Z")
        );
        assert_eq!(
            local_date(zone("Asia/Jayapura"), utc("2026-05-04T14:59:59Z")),
            d(2026, 5, 4)
        );
        assert_eq!(
            local_date(zone("Asia/Jayapura"), utc("2026-05-04T15:00:00Z")),
            d(2026, 5, 5)
        );
    }

    #[test]
    fn dst_day_lengths_in_europe() {
        for tz in [zone("Europe/Amsterdam"), zone("Europe/Stockholm")] {
            let (s, e) = day_bounds(tz, d(2026, 3, 29));
            assert_eq!(s, utc("2026-03-28T23:00:00Z"), "{tz}");
            assert_eq!(e, utc("2026-03-29T22:00:00Z"), "{tz}");
            assert_eq!(e - s, TimeDelta::hours(23), "{tz}");

            let (s, e) = day_bounds(tz, d(2026, 10, 25));
            assert_eq!(s, utc("2026-10-24T22:00:00Z"), "{tz}");
            assert_eq!(e, utc("2026-10-25T23:00:00Z"), "{tz}");
            assert_eq!(e - s, TimeDelta::hours(25), "{tz}");

            let (s, e) = day_bounds(tz, d(2026, 6, 1));
            assert_eq!(e - s, TimeDelta::hours(24), "{tz}");
            // The bounds agree with local_date at their edges.
            assert_eq!(local_date(tz, s), d(2026, 6, 1));
            assert_eq!(local_date(tz, e - TimeDelta::seconds(1)), d(2026, 6, 1));
            assert_eq!(local_date(tz, e), d(2026, 6, 2));
        }
    }

    #[test]
    fn local_instant_on_dst_days() {
        for tz in [zone("Europe/Amsterdam"), zone("Europe/Stockholm")] {
            let spring = d(2026, 3, 29);
            let autumn = d(2026, 10, 25);
            assert_eq!(
                local_instant(tz, spring, t(8, 0)),
                utc("2026-03-29T06:00:00Z")
            );
            assert_eq!(
                local_instant(tz, autumn, t(8, 0)),
                utc("2026-10-25T07:00:00Z")
            );
            // Gap: 02:30 does not exist; read as 03:30 CEST.
            assert_eq!(
                local_instant(tz, spring, t(2, 30)),
                utc("2026-03-29T01:30:00Z")
            );
            assert_eq!(
                local_instant(tz, spring, t(2, 0)),
                utc("2026-03-29T01:00:00Z")
            );
            assert_eq!(
                local_instant(tz, spring, t(1, 59)),
                utc("2026-03-29T00:59:00Z")
            );
            assert_eq!(
                local_instant(tz, spring, t(3, 0)),
                utc("2026-03-29T01:00:00Z")
            );
            // Fold: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET); the earlier wins.
            assert_eq!(
                local_instant(tz, autumn, t(2, 30)),
                utc("2026-10-25T00:30:00Z")
            );
            assert_eq!(
                local_instant(tz, autumn, t(3, 0)),
                utc("2026-10-25T02:00:00Z")
            );
        }
    }

    #[test]
    fn day_starting_in_a_gap() {
        // Cuba springs forward at 00:00 -> 01:00; the day starts at the transition.
        let (s, e) = day_bounds(zone("America/Havana"), d(2026, 3, 8));
        assert_eq!(s, utc("2026-03-08T05:00:00Z"));
        assert_eq!(e - s, TimeDelta::hours(23));
        assert_eq!(local_date(zone("America/Havana"), s), d(2026, 3, 8));
        assert_eq!(
            local_date(zone("America/Havana"), s - TimeDelta::seconds(1)),
            d(2026, 3, 7)
        );
        // Samoa skipped 2011-12-30 entirely: that local day is empty.
        let (s, e) = day_bounds(zone("Pacific/Apia"), d(2011, 12, 30));
        assert_eq!(s, e);
        assert_eq!(s, utc("2011-12-30T10:00:00Z"));
        assert_eq!(local_date(zone("Pacific/Apia"), s), d(2011, 12, 31));
    }

    #[test]
    fn day_numbers() {
        assert_eq!(day_number(d(1970, 1, 1)), 0);
        assert_eq!(day_number(d(1970, 1, 2)), 1);
        assert_eq!(day_number(d(1969, 12, 31)), -1);
        assert_eq!(day_number(d(2000, 3, 1)), 11_017);
        assert_eq!(day_number(d(2026, 5, 4)), 20_577);
        assert_eq!(date_from_day_number(0), Some(d(1970, 1, 1)));
        assert_eq!(date_from_day_number(-1), Some(d(1969, 12, 31)));
        for n in (-800_000..800_000).step_by(997).chain([-1, 0, 1, 20_577]) {
            let date = date_from_day_number(n).unwrap();
            assert_eq!(day_number(date), n);
        }
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            assert_eq!(date_from_day_number(day_number(date)), Some(date));
        }
        assert_eq!(date_from_day_number(day_number(NaiveDate::MAX) + 1), None);
        assert_eq!(date_from_day_number(day_number(NaiveDate::MIN) - 1), None);
        assert_eq!(date_from_day_number(i64::MAX), None);
        assert_eq!(date_from_day_number(i64::MIN), None);
    }

    #[test]
    fn day_number_matches_utc_midnight_timestamp() {
        let day = d(2026, 5, 4);
        let midnight = day.and_time(NaiveTime::MIN).and_utc().timestamp();
        assert_eq!(day_number(day) * 86_400, midnight);
    }
}
