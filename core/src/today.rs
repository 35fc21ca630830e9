//! Today at a glance (PRODUCT.md §12.4 "Today"): each agent on the
//! current date in the agent's own zone, what their day is so far, and
//! the counts over all of a user's agents. Built from the attendance
//! report's days, so the counts equal `report attendance` for each
//! agent's date.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

use crate::report::{AttendanceDay, DayStatus};
use crate::types::{EventKind, string_enum};

string_enum!(
    /// An agent's day so far. `not_yet_due`: a shift day whose start plus
    /// grace has not come (the report's `pending`); `not_scheduled`: no
    /// shift that day, checked in or not.
    TodayStatus {
        OnTime => "on_time",
        Late => "late",
        Absent => "absent",
        NotYetDue => "not_yet_due",
        NotScheduled => "not_scheduled",
    }
);

/// One agent's today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentToday {
    pub agent: String,
    pub name: Option<String>,
    /// The agent's local date now.
    pub date: NaiveDate,
    /// IANA zone of that date.
    pub time_zone: String,
    pub status: TodayStatus,
    pub minutes_late: Option<u32>,
    /// First accepted check-in, in the agent's local offset.
    pub first_check_in: Option<DateTime<FixedOffset>>,
    pub site_id: Option<String>,
    /// An accepted check-in with no later check-out (today, or a visit
    /// opened yesterday and not closed since).
    pub still_checked_in: bool,
    /// The date is in the review queue.
    pub needs_decision: bool,
}

impl AgentToday {
    /// From the report's days of the agent for today and yesterday (either
    /// may be absent: no events and no shift).
    pub fn from_days(
        agent: &str,
        name: Option<String>,
        date: NaiveDate,
        time_zone: &str,
        today: Option<&AttendanceDay>,
        yesterday: Option<&AttendanceDay>,
        needs_decision: bool,
    ) -> AgentToday {
        let status = match today.map(|d| d.status) {
            Some(DayStatus::OnTime) => TodayStatus::OnTime,
            Some(DayStatus::Late) => TodayStatus::Late,
            Some(DayStatus::Absent) => TodayStatus::Absent,
            Some(DayStatus::Pending) => TodayStatus::NotYetDue,
            Some(DayStatus::Unscheduled) | None => TodayStatus::NotScheduled,
        };
        let nothing_today =
            today.is_none_or(|d| d.first_check_in.is_none() && d.last_check_out.is_none());
        let still_checked_in = today.is_some_and(|d| d.open_visit)
            || (nothing_today && yesterday.is_some_and(|d| d.open_visit));
        AgentToday {
            agent: agent.to_string(),
            name,
            date,
            time_zone: today.map_or(time_zone, |d| d.time_zone).to_string(),
            status,
            minutes_late: today.and_then(|d| d.minutes_late),
            first_check_in: today.and_then(|d| d.first_check_in),
            site_id: today.and_then(|d| d.site_id.as_deref().map(str::to_string)),
            still_checked_in,
            needs_decision,
        }
    }
}

/// The counts over all of a user's agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TodayCounts {
    pub agents: u32,
    /// On time or late.
    pub present: u32,
    pub late: u32,
    pub absent: u32,
    pub not_yet_due: u32,
    pub still_checked_in: u32,
    pub not_scheduled: u32,
    /// Agents whose today is in the review queue.
    pub needing_decision: u32,
}

pub fn counts(rows: &[AgentToday]) -> TodayCounts {
    let mut c = TodayCounts::default();
    for row in rows {
        c.agents += 1;
        match row.status {
            TodayStatus::OnTime => c.present += 1,
            TodayStatus::Late => {
                c.present += 1;
                c.late += 1;
            }
            TodayStatus::Absent => c.absent += 1,
            TodayStatus::NotYetDue => c.not_yet_due += 1,
            TodayStatus::NotScheduled => c.not_scheduled += 1,
        }
        c.still_checked_in += u32::from(row.still_checked_in);
        c.needing_decision += u32::from(row.needs_decision);
    }
    c
}

/// An agent's latest attendance event, for the Today row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastEvent {
    pub kind: EventKind,
    pub accepted: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub site_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RejectionCounts;
    use std::sync::Arc;

    fn day(status: DayStatus, open: bool, checked_in: bool) -> AttendanceDay {
        let at = DateTime::parse_from_rfc3339("2026-03-02T08:05:00+07:00").unwrap();
        AttendanceDay {
            agent: Arc::from("a"),
            name: Arc::from(""),
            date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            time_zone: "Asia/Jakarta",
            status,
            shift_start: None,
            first_check_in: checked_in.then_some(at),
            site_id: checked_in.then(|| Arc::from("hq")),
            last_check_out: None,
            check_out_site_id: None,
            minutes_late: None,
            missing_check_out: false,
            rejected: RejectionCounts::default(),
            rejected_total: 0,
            clock_skew: 0,
            review: None,
            event_reviews: Vec::new(),
            open_visit: open,
        }
    }

    #[test]
    fn statuses_and_counts_follow_the_report_day() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let row = |today: Option<&AttendanceDay>, yesterday: Option<&AttendanceDay>| {
            AgentToday::from_days("a", None, date, "Asia/Jakarta", today, yesterday, false)
        };
        let late = day(DayStatus::Late, true, true);
        let pending = day(DayStatus::Pending, false, false);
        let overnight = day(DayStatus::OnTime, true, true);
        let rows = vec![
            row(Some(&late), None),
            row(Some(&day(DayStatus::OnTime, false, true)), None),
            row(Some(&day(DayStatus::Absent, false, false)), None),
            row(Some(&pending), Some(&overnight)),
            row(None, None),
            row(Some(&day(DayStatus::Unscheduled, true, true)), None),
        ];
        assert_eq!(rows[0].status, TodayStatus::Late);
        assert!(rows[0].still_checked_in);
        assert!(rows[3].still_checked_in, "yesterday's visit still open");
        assert_eq!(rows[4].status, TodayStatus::NotScheduled);
        assert_eq!(rows[4].time_zone, "Asia/Jakarta");
        assert_eq!(
            counts(&rows),
            TodayCounts {
                agents: 6,
                present: 2,
                late: 1,
                absent: 1,
                not_yet_due: 1,
                still_checked_in: 3,
                not_scheduled: 2,
                needing_decision: 0,
            }
        );
    }
}
