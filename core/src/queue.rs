//! The review queue (PRODUCT.md §12.4): which agent-days need a
//! supervisor's decision and why, judged from the attendance report's day
//! (the same rules the report prints), what a page asks for and what it
//! answers. Keeping the index lives in `store::queue`.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::audit::{AuditFlag, FlagScope};
use crate::error::{Error, Result};
use crate::evaluation::Reason;
use crate::report::{AttendanceDay, DayStatus};

/// Why a day needs a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueReason {
    /// Checked in after shift start plus grace.
    Late,
    /// A shift day that ended with no accepted check-in.
    Absent,
    MissingCheckOut,
    /// Imported events whose recorded time the server could not reconcile
    /// with the device's clock.
    ClockSkew,
    /// An audit flag covered part of the day.
    Flagged,
    /// A rejected attempt, by its reason.
    Rejected(Reason),
}

impl QueueReason {
    /// Every reason, in the order pages list them.
    pub fn all() -> impl Iterator<Item = QueueReason> {
        [
            QueueReason::Absent,
            QueueReason::Late,
            QueueReason::MissingCheckOut,
            QueueReason::Flagged,
            QueueReason::ClockSkew,
        ]
        .into_iter()
        .chain(Reason::ALL.iter().map(|r| QueueReason::Rejected(*r)))
    }

    /// Its bit in a [`ReasonSet`] (and in the index's `reasons` column).
    pub fn bit(self) -> u32 {
        match self {
            QueueReason::Late => 0,
            QueueReason::Absent => 1,
            QueueReason::MissingCheckOut => 2,
            QueueReason::ClockSkew => 3,
            QueueReason::Flagged => 4,
            QueueReason::Rejected(r) => {
                5 + Reason::ALL.iter().position(|x| *x == r).unwrap_or(0) as u32
            }
        }
    }

    pub fn from_bit(bit: u32) -> Option<QueueReason> {
        QueueReason::all().find(|r| r.bit() == bit)
    }

    /// The stable code (filters, links): `late`, `absent`,
    /// `missing_check_out`, `clock_skew`, `flagged`, `rejected:<reason>`.
    pub fn code(self) -> String {
        match self {
            QueueReason::Late => "late".into(),
            QueueReason::Absent => "absent".into(),
            QueueReason::MissingCheckOut => "missing_check_out".into(),
            QueueReason::ClockSkew => "clock_skew".into(),
            QueueReason::Flagged => "flagged".into(),
            QueueReason::Rejected(r) => format!("rejected:{}", r.as_str()),
        }
    }

    pub fn parse(code: &str) -> Result<QueueReason> {
        QueueReason::all()
            .find(|r| r.code() == code)
            .ok_or_else(|| Error::invalid("reason", format!("unknown queue reason {code:?}")))
    }
}

/// A set of [`QueueReason`]s as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReasonSet(pub u32);

impl ReasonSet {
    pub fn insert(&mut self, reason: QueueReason) {
        self.0 |= 1 << reason.bit();
    }

    pub fn contains(self, reason: QueueReason) -> bool {
        self.0 & (1 << reason.bit()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// In the order of [`QueueReason::all`].
    pub fn iter(self) -> impl Iterator<Item = QueueReason> {
        QueueReason::all().filter(move |r| self.contains(*r))
    }
}

/// Why `day` needs a decision (empty: it does not). `shift_ended`: the
/// local shift end has passed (an absence waits for it); `flagged`: an
/// audit flag covered part of the day. A day with its own decision needs
/// none, whatever its reasons: the caller leaves it out.
pub fn reasons_of(day: &AttendanceDay, shift_ended: bool, flagged: bool) -> ReasonSet {
    let mut set = ReasonSet::default();
    match day.status {
        DayStatus::Late => set.insert(QueueReason::Late),
        DayStatus::Absent if shift_ended => set.insert(QueueReason::Absent),
        _ => {}
    }
    if day.missing_check_out {
        set.insert(QueueReason::MissingCheckOut);
    }
    for (code, _) in day.rejected.iter() {
        if let Ok(reason) = Reason::parse("reason", code) {
            set.insert(QueueReason::Rejected(reason));
        }
    }
    if day.clock_skew > 0 {
        set.insert(QueueReason::ClockSkew);
    }
    // Only days with events to look at: a flag over a day without any asks
    // nothing of a supervisor (an absence is its own reason).
    let had_events =
        day.first_check_in.is_some() || day.last_check_out.is_some() || day.rejected_total > 0;
    if flagged && had_events {
        set.insert(QueueReason::Flagged);
    }
    set
}

/// Whether `flag` covered part of `day` (local bounds `start..end`): its
/// agent, everyone, or a site the day names.
pub fn flag_covers_day(
    flag: &AuditFlag,
    day: &AttendanceDay,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> bool {
    let scope = match &flag.scope {
        FlagScope::Everyone => true,
        FlagScope::Agent(a) => *a == *day.agent,
        FlagScope::Site(s) => {
            day.site_id.as_deref() == Some(s) || day.check_out_site_id.as_deref() == Some(s)
        }
    };
    scope && flag.starts_at < end && start < flag.effective_end()
}

/// A position in the queue's order (newest date first, then agent id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    pub date: NaiveDate,
    pub agent: String,
}

impl QueueCursor {
    /// `YYYY-MM-DD/agent` (agent ids may hold '/', dates never do).
    pub fn encode(&self) -> String {
        format!("{}/{}", self.date, self.agent)
    }

    pub fn decode(text: &str) -> Result<QueueCursor> {
        let (date, agent) = text
            .split_once('/')
            .ok_or_else(|| Error::invalid("cursor", "not a queue position"))?;
        Ok(QueueCursor {
            date: crate::time::parse_date("cursor", date)?,
            agent: agent.to_string(),
        })
    }
}

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Items after the cursor in queue order (older).
    Older,
    /// Items before it (newer).
    Newer,
}

/// What the queue is asked for. `agents`: the ids the user may see and the
/// filter allows (`None`: everyone, an admin without an agent filter);
/// names are resolved to ids before this is built.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    pub agents: Option<Vec<String>>,
    pub site: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub reason: Option<QueueReason>,
    pub from_cursor: Option<(QueueCursor, Direction)>,
    pub limit: usize,
}

/// One agent-day of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub agent: String,
    pub date: NaiveDate,
    pub reasons: ReasonSet,
    pub status: DayStatus,
    pub time_zone: String,
    pub first_check_in: Option<DateTime<FixedOffset>>,
    pub last_check_out: Option<DateTime<FixedOffset>>,
    pub site_id: Option<String>,
    pub check_out_site_id: Option<String>,
    pub minutes_late: Option<u32>,
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Items per reason over the whole filter but the reason (non-zero
    /// only), in the order of [`QueueReason::all`].
    pub counts: Vec<(QueueReason, u64)>,
    /// Items matching every filter.
    pub total: u64,
    /// Where the next older and newer pages start, when there are any.
    pub older: Option<QueueCursor>,
    pub newer: Option<QueueCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_bits_round_trip_and_are_distinct() {
        let all: Vec<QueueReason> = QueueReason::all().collect();
        assert_eq!(all.len(), 5 + Reason::ALL.len());
        let mut bits: Vec<u32> = all.iter().map(|r| r.bit()).collect();
        bits.sort();
        bits.dedup();
        assert_eq!(bits.len(), all.len());
        assert!(bits.iter().all(|b| *b < 32));
        for r in all {
            assert_eq!(QueueReason::parse(&r.code()).unwrap(), r);
            assert_eq!(QueueReason::from_bit(r.bit()), Some(r));
        }
        assert_eq!(
            QueueReason::parse("rejected:mock_location").unwrap(),
            QueueReason::Rejected(Reason::MockLocation)
        );
        assert!(QueueReason::parse("rejected:nope").is_err());
    }

    #[test]
    fn a_cursor_keeps_slashes_in_agent_ids() {
        let c = QueueCursor {
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            agent: "team/a 1".into(),
        };
        assert_eq!(QueueCursor::decode(&c.encode()).unwrap(), c);
        assert!(QueueCursor::decode("nonsense").is_err());
    }
}
