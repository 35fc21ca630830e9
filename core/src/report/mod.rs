//! Supervisor reports (PRODUCT.md §7 and §6): what they hold. Building them
//! from the store lives in `store::report`; rendering in `render`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Serialize, Serializer};

use crate::evaluation::Reason;
use crate::leads::LeadStatus;
use crate::review::Decision;
use crate::types::string_enum;

/// Bumped when a field of the attendance report changes meaning or
/// disappears: 2 split the day's own decision (`review`) from the
/// decisions on its events (`event_reviews`) and added `name`.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// The sales report's version: unchanged by the attendance report's 2.
pub const SALES_SCHEMA_VERSION: u32 = 1;

string_enum!(
    /// How an agent's local day went. `unscheduled`: checked in on a day
    /// without a shift (or the agent has no shift); `pending`: a shift day
    /// whose start plus grace has not come yet.
    DayStatus {
        OnTime => "on_time",
        Late => "late",
        Absent => "absent",
        Unscheduled => "unscheduled",
        Pending => "pending",
    }
);

/// One agent's local day. Shared strings (`Arc<str>`, `&'static str`) keep
/// a 150,000-day report small: agent and site ids repeat on every row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttendanceDay {
    pub agent: Arc<str>,
    /// The agent's display name; empty when none was given or it was
    /// erased (a personal field: never in a log).
    pub name: Arc<str>,
    /// The agent's local calendar date.
    pub date: NaiveDate,
    /// IANA zone the day was computed in (the shift's, else the default).
    pub time_zone: &'static str,
    pub status: DayStatus,
    /// Local shift start ("HH:MM"), when the day is a shift day.
    #[serde(serialize_with = "hh_mm")]
    pub shift_start: Option<NaiveTime>,
    /// First accepted check-in, in the agent's local offset.
    pub first_check_in: Option<DateTime<FixedOffset>>,
    /// The site of the first accepted check-in.
    pub site_id: Option<Arc<str>>,
    /// Last accepted check-out, in the agent's local offset.
    pub last_check_out: Option<DateTime<FixedOffset>>,
    pub check_out_site_id: Option<Arc<str>>,
    /// Whole minutes (rounded up) past shift start + `late_grace_min`;
    /// 0 when on time, null without a shift or a check-in.
    pub minutes_late: Option<u32>,
    /// A visit opened that day was not closed by the end of the local day.
    pub missing_check_out: bool,
    /// Rejected attempts by reason code.
    pub rejected: RejectionCounts,
    pub rejected_total: u32,
    /// Imported events of the day whose recorded time disagrees with the
    /// device's clock as the server bounds it (issue 12); shown when > 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub clock_skew: u32,
    /// The latest decision on the day itself (its `event_id` null).
    pub review: Option<Box<ReviewSummary>>,
    /// The latest decision on each event of the day, oldest first.
    pub event_reviews: Vec<ReviewSummary>,
    /// A visit opened that day is still open (no later check-out): the
    /// console's "still checked in". Not part of the report's documents.
    #[serde(skip)]
    pub open_visit: bool,
}

impl AttendanceDay {
    /// How many of the day's events were last approved and rejected.
    pub fn event_decisions(&self) -> (u32, u32) {
        self.event_reviews
            .iter()
            .fold((0, 0), |(a, r), review| match review.decision {
                Decision::Approved => (a + 1, r),
                Decision::Rejected => (a, r + 1),
            })
    }
}

/// Rejected attempts per reason code: a fixed array rather than a map, so a
/// report day allocates nothing; serialised as `{code: count}` of the
/// non-zero counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectionCounts([u32; Reason::ALL.len()]);

impl RejectionCounts {
    fn slot(code: &str) -> Option<usize> {
        Reason::ALL.iter().position(|r| r.as_str() == code)
    }

    pub fn get(&self, code: &str) -> Option<u32> {
        Self::slot(code).map(|i| self.0[i]).filter(|n| *n > 0)
    }

    pub fn add(&mut self, reason: Reason, count: u32) {
        if let Some(i) = Self::slot(reason.as_str()) {
            self.0[i] = self.0[i].saturating_add(count);
        }
    }

    /// Non-zero counts, in the stable order of the reason codes.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        Reason::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| (r.as_str(), n))
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

impl<'a> FromIterator<(&'a str, u32)> for RejectionCounts {
    /// Unknown codes are ignored.
    fn from_iter<I: IntoIterator<Item = (&'a str, u32)>>(pairs: I) -> Self {
        let mut counts = RejectionCounts::default();
        for (code, n) in pairs {
            if let Ok(reason) = Reason::parse("reason", code) {
                counts.add(reason, n);
            }
        }
        counts
    }
}

impl Serialize for RejectionCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

fn hh_mm<S: Serializer>(t: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&t.format("%H:%M")),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewSummary {
    pub review_id: String,
    /// `null` for a decision on the whole day.
    pub event_id: Option<String>,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

/// Counts per local date, for the chart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DateTotals {
    pub date: NaiveDate,
    pub on_time: u32,
    pub late: u32,
    pub absent: u32,
    pub unscheduled: u32,
    /// Shift days whose start plus grace has not come yet.
    pub pending: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttendanceReport {
    pub report: &'static str,
    pub schema_version: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agent: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub generated_at: DateTime<Utc>,
    /// Sorted by agent, then date.
    pub days: Vec<AttendanceDay>,
    /// One entry per date in [from, to].
    pub totals: Vec<DateTotals>,
}

/// One agent's sales over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesRow {
    pub agent: String,
    /// Leads created in the period, by their current status (every status
    /// listed, zeros included).
    pub leads_by_status: BTreeMap<LeadStatus, u32>,
    pub leads_total: u32,
    /// won / leads_total; null when there are no leads.
    pub conversion_rate: Option<f64>,
    /// `policy_closing` transactions in the period.
    pub closings: u32,
    /// Premium (closings, premium payments, renewals) per ISO 4217 code,
    /// as a decimal string in the currency's units (e.g. "1500000.00").
    pub premium: BTreeMap<String, String>,
    /// Cancelled amounts per currency, as decimal strings.
    pub cancellations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesReport {
    pub report: &'static str,
    pub schema_version: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agent: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub generated_at: DateTime<Utc>,
    /// Sorted by agent.
    pub agents: Vec<SalesRow>,
}

impl AttendanceReport {
    /// The report narrowed to the agents `keep` accepts (a supervisor's
    /// team), the per-date totals recounted from what is left.
    pub fn retain_agents(&mut self, keep: impl Fn(&str) -> bool) {
        self.days.retain(|d| keep(&d.agent));
        self.totals = totals(&self.days, self.from, self.to);
    }
}

impl SalesReport {
    /// The report narrowed to the agents `keep` accepts (a supervisor's team).
    pub fn retain_agents(&mut self, keep: impl Fn(&str) -> bool) {
        self.agents.retain(|row| keep(&row.agent));
    }
}

/// Per-date counts of `days` over `from..=to` (every date listed).
pub(crate) fn totals(days: &[AttendanceDay], from: NaiveDate, to: NaiveDate) -> Vec<DateTotals> {
    let mut by_date: BTreeMap<NaiveDate, DateTotals> = BTreeMap::new();
    let mut date = from;
    while date <= to {
        by_date.insert(
            date,
            DateTotals {
                date,
                ..DateTotals::default()
            },
        );
        date += chrono::Duration::days(1);
    }
    for day in days {
        if let Some(t) = by_date.get_mut(&day.date) {
            match day.status {
                DayStatus::OnTime => t.on_time += 1,
                DayStatus::Late => t.late += 1,
                DayStatus::Absent => t.absent += 1,
                DayStatus::Unscheduled => t.unscheduled += 1,
                DayStatus::Pending => t.pending += 1,
            }
        }
    }
    by_date.into_values().collect()
}

pub mod render;

fn is_zero(n: &u32) -> bool {
    *n == 0
}
