//! The review queue (PRODUCT.md §12.4): the agent-days of the attendance
//! report that need a supervisor's decision and have none yet, newest first.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use fieldcheck_core::report::{AttendanceDay, AttendanceReport, DayStatus};
use fieldcheck_core::shift::day_bounds;
use fieldcheck_core::{AuditFlag, FlagScope};
use serde::Deserialize;

/// Rows shown on one page; the count above says how many there are.
pub const PAGE_ROWS: usize = 100;

/// The queue's filters as the form sends them (empty fields are "any").
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    pub agent: Option<String>,
    pub site: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub done: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub agent: Option<String>,
    pub site: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub reason: Option<String>,
}

pub struct QueuePage {
    pub filter: QueueFilter,
    /// Days needing a decision per reason, before the reason filter.
    pub counts: BTreeMap<String, usize>,
    /// How many match every filter.
    pub total: usize,
    pub rows: Vec<AttendanceDay>,
    /// Per row: an audit flag covered the day.
    pub flagged: Vec<bool>,
}

/// Whether an audit flag covered any part of the agent's local day (its
/// agent, everyone, or a site the day names).
fn flagged(day: &AttendanceDay, flags: &[AuditFlag]) -> bool {
    let Ok(tz) = day.time_zone.parse::<chrono_tz::Tz>() else {
        return false;
    };
    let (start, end) = day_bounds(tz, day.date);
    flags.iter().any(|f| {
        let covers = match &f.scope {
            FlagScope::Everyone => true,
            FlagScope::Agent(a) => *a == *day.agent,
            FlagScope::Site(s) => {
                day.site_id.as_deref() == Some(s) || day.check_out_site_id.as_deref() == Some(s)
            }
        };
        covers && f.starts_at < end && start < f.effective_end()
    })
}

/// Why a day needs a decision: `late`, `missing_check_out`, `clock_skew`,
/// `flagged` (under an audit flag) and `rejected:<reason code>` for each
/// reason of a rejected attempt.
pub fn reasons(day: &AttendanceDay, flags: &[AuditFlag]) -> Vec<String> {
    let mut out = Vec::new();
    if day.status == DayStatus::Late {
        out.push("late".to_string());
    }
    if day.missing_check_out {
        out.push("missing_check_out".to_string());
    }
    for (code, _) in day.rejected.iter() {
        out.push(format!("rejected:{code}"));
    }
    if day.clock_skew > 0 {
        out.push("clock_skew".to_string());
    }
    if flagged(day, flags) {
        out.push("flagged".to_string());
    }
    out
}

/// The queue over a report already narrowed to what the user may see.
pub fn build(report: AttendanceReport, flags: &[AuditFlag], filter: QueueFilter) -> QueuePage {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: Vec<(AttendanceDay, bool)> = Vec::new();
    for day in report.days {
        if day.review.is_some() {
            continue;
        }
        if filter.site.as_deref().is_some_and(|site| {
            day.site_id.as_deref() != Some(site) && day.check_out_site_id.as_deref() != Some(site)
        }) {
            continue;
        }
        let why = reasons(&day, flags);
        if why.is_empty() {
            continue;
        }
        for reason in &why {
            *counts.entry(reason.clone()).or_default() += 1;
        }
        if filter
            .reason
            .as_deref()
            .is_some_and(|wanted| !why.iter().any(|r| r == wanted))
        {
            continue;
        }
        let under_flag = why.iter().any(|r| r == "flagged");
        rows.push((day, under_flag));
    }
    // Newest first; within a date, by agent.
    rows.sort_by(|(a, _), (b, _)| b.date.cmp(&a.date).then_with(|| a.agent.cmp(&b.agent)));
    let total = rows.len();
    rows.truncate(PAGE_ROWS);
    let (rows, flagged) = rows.into_iter().unzip();
    QueuePage {
        filter,
        counts,
        total,
        rows,
        flagged,
    }
}
