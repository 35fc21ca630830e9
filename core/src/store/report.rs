//! Building reports from the store with indexed range reads and SQL
//! aggregation: the attendance report reads the per-day summary, never the
//! events themselves.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use super::agent_scope::{AgentScope, TEAM_AT_MOST};
use super::db::{Transaction, params_from_iter};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, Utc};
use rusqlite::types::Value;

use super::connection::Store;
use super::month::{self, month_key};
use super::{agents, days, review};
use crate::error::{Error, Result};
use crate::leads::{LeadStatus, TxnKind};
use crate::money;
use crate::report::{
    AttendanceDay, AttendanceReport, DayStatus, REPORT_SCHEMA_VERSION, RejectionCounts,
    ReviewSummary, SALES_SCHEMA_VERSION, SalesReport, SalesRow,
};
use crate::review::Decision;
use crate::shift::{Shift, ShiftSchedule, day_bounds, day_number, minutes_late_after};
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role};

/// A report's period (local dates, inclusive) and optional agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agent: Option<String>,
}

/// At most this many days per report: a year and a bit, so one request
/// cannot ask for a million empty days.
const MAX_REPORT_DAYS: i64 = 400;

impl ReportQuery {
    fn validate(&self) -> Result<()> {
        if self.to < self.from {
            return Err(Error::invalid("to", "the period ends before it starts"));
        }
        if (self.to - self.from).num_days() >= MAX_REPORT_DAYS {
            return Err(Error::invalid(
                "to",
                format!("a report covers at most {MAX_REPORT_DAYS} days"),
            ));
        }
        Ok(())
    }
}

impl Store {
    /// Attendance per agent and local day (PRODUCT.md §7). Supervisors and
    /// admins see everyone; agents only themselves. Restricted subjects are
    /// left out except for admins.
    ///
    /// One pass in agent order: per agent one index seek into the day
    /// summary, merged with the agent's rejections (same order) and shift
    /// (absent days are the shift days between rows). Nothing is hashed,
    /// sorted or looked up per row but the interned site ids.
    pub fn attendance_report(
        &self,
        actor: &Actor,
        query: &ReportQuery,
        now: DateTime<Utc>,
    ) -> Result<AttendanceReport> {
        self.attendance_report_of(actor, query, None, now)
    }

    /// [`Store::attendance_report`] of the agents of `team` only (a
    /// supervisor's console team; `None`: everyone the actor may see),
    /// read one agent at a time by index seeks, so that a supervisor of ten
    /// agents pays for ten, not for the insurer.
    pub fn attendance_report_of(
        &self,
        actor: &Actor,
        query: &ReportQuery,
        team: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<AttendanceReport> {
        query.validate()?;
        let agent = actor.own_scope(query.agent.as_deref(), "reports")?;
        let team = sorted_team(team);
        let scopes = day_scopes(agent.as_deref(), team.as_deref());
        self.read(|tx| {
            // The rules as this read sees them: one read, not one per value.
            let rules = self.rules_in(tx)?;
            let (grace, default_zone) = (rules.late_grace_min, days::parse_zone(&rules.time_zone)?);
            let hidden = hidden_subjects(tx, actor)?;
            let mut days = Vec::new();
            for scope in &scopes {
                let days_query = DaysQuery {
                    from: query.from,
                    to: query.to,
                    scope: *scope,
                    grace,
                    now,
                    default_zone,
                };
                let agent_days = build_days(tx, &days_query, &hidden)?;
                // Everyone's report is one build: taken as it is, not
                // copied (150,000 days are 34 MB).
                if days.is_empty() {
                    days = agent_days;
                } else {
                    days.extend(agent_days);
                }
            }
            let totals = crate::report::totals(&days, query.from, query.to);
            Ok(AttendanceReport {
                report: "attendance",
                schema_version: REPORT_SCHEMA_VERSION,
                from: query.from,
                to: query.to,
                agent: query.agent.clone(),
                generated_at: whole_second(now),
                days,
                totals,
            })
        })
    }

    /// The subjects left out of what `actor` is shown (restricted ones, for
    /// everyone but admins; PRODUCT.md §8).
    pub fn hidden_from(&self, actor: &Actor) -> Result<HashSet<String>> {
        self.read(|tx| hidden_subjects(tx, actor))
    }

    /// Leads by status, conversion, closings and premium per agent over a
    /// period of the agent's local dates (PRODUCT.md §6).
    pub fn sales_report(
        &self,
        actor: &Actor,
        query: &ReportQuery,
        now: DateTime<Utc>,
    ) -> Result<SalesReport> {
        self.sales_report_of(actor, query, None, now)
    }

    /// [`Store::sales_report`] of the agents of `team` only (`None`:
    /// everyone the actor may see), read one agent at a time.
    pub fn sales_report_of(
        &self,
        actor: &Actor,
        query: &ReportQuery,
        team: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<SalesReport> {
        query.validate()?;
        let agent = actor.own_scope(query.agent.as_deref(), "reports")?;
        let scopes = scopes(agent.as_deref(), team);
        let default_zone = self.default_zone()?;
        self.read(|tx| {
            let hidden = hidden_subjects(tx, actor)?;
            let zones = days::zones_in(tx, AgentScope::Everyone)?;
            let bounds = |agent: &str| {
                let tz = zones.get(agent).copied().unwrap_or(default_zone);
                (
                    day_bounds(tz, query.from).0.timestamp(),
                    day_bounds(tz, query.to).1.timestamp(),
                )
            };
            let mut rows: BTreeMap<String, SalesRow> = BTreeMap::new();
            let mut premium: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
            let mut cancelled: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
            let empty_row = |agent: &str| SalesRow {
                agent: agent.to_string(),
                leads_by_status: LeadStatus::ALL.iter().map(|s| (*s, 0)).collect(),
                leads_total: 0,
                conversion_rate: None,
                closings: 0,
                premium: BTreeMap::new(),
                cancellations: BTreeMap::new(),
            };

            for agent in &scopes {
                // One agent's rows by its index, or everyone's.
                let only = if agent.is_some() {
                    "agent = ?1"
                } else {
                    "CAST(?1 AS TEXT) IS NULL"
                };
                let mut stmt = tx.prepare_cached(&format!(
                    // This store's leads and those its devices' chains carried.
                    "SELECT agent, status, created_at, id FROM leads WHERE {only}
                 UNION ALL
                 SELECT agent, status, created_at, lead_id FROM sync_leads WHERE {only}"
                ))?;
                let mut found = stmt.query([agent])?;
                while let Some(r) = found.next()? {
                    let agent_id: String = r.get(0)?;
                    let created: i64 = r.get(2)?;
                    let (start, end) = bounds(&agent_id);
                    // A restricted agent, or a lead whose customer restricted
                    // processing, is left out (admins see everything).
                    let lead_id: String = r.get(3)?;
                    if hidden.contains(&agent_id)
                        || hidden.contains(&lead_id)
                        || created < start
                        || created >= end
                    {
                        continue;
                    }
                    let status: String = r.get(1)?;
                    let status = LeadStatus::parse("status", &status)
                        .map_err(|e| Error::Corrupt(format!("stored lead is unreadable: {e}")))?;
                    let row = rows
                        .entry(agent_id.clone())
                        .or_insert_with(|| empty_row(&agent_id));
                    *row.leads_by_status.entry(status).or_default() += 1;
                    row.leads_total += 1;
                }

                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT agent, kind, currency, SUM(amount_minor), COUNT(*), MIN(occurred_at),
                        MAX(occurred_at)
                 FROM (SELECT agent, kind, currency, amount_minor, occurred_at FROM transactions
                       WHERE {only}
                       UNION ALL
                       SELECT agent, kind, currency, amount_minor, occurred_at
                       FROM sync_transactions WHERE {only}) AS t
                 GROUP BY agent, kind, currency"
                ))?;
                // Grouped first, then each agent's rows are re-read only when a
                // group straddles the agent's local period (rare).
                let groups: Vec<(String, String, String, i64, u32, i64, i64)> = stmt
                    .query_map([agent], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })?
                    .collect::<super::db::Result<_>>()?;
                for (agent_id, kind, currency, sum, count, first, last) in groups {
                    if hidden.contains(&agent_id) {
                        continue;
                    }
                    let (start, end) = bounds(&agent_id);
                    let (sum, count) = if first >= start && last < end {
                        (sum, count)
                    } else {
                        tx.prepare_cached(
                            "SELECT COALESCE(SUM(amount_minor), 0), COUNT(*)
                         FROM (SELECT agent, kind, currency, amount_minor, occurred_at
                               FROM transactions
                               UNION ALL
                               SELECT agent, kind, currency, amount_minor, occurred_at
                               FROM sync_transactions) AS t
                         WHERE agent = ?1 AND kind = ?2 AND currency = ?3
                           AND occurred_at >= ?4 AND occurred_at < ?5",
                        )?
                        .query_row((&agent_id, &kind, &currency, start, end), |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?
                    };
                    if count == 0 {
                        continue;
                    }
                    let kind = TxnKind::parse("kind", &kind)
                        .map_err(|e| Error::Corrupt(format!("stored transaction: {e}")))?;
                    let row = rows
                        .entry(agent_id.clone())
                        .or_insert_with(|| empty_row(&agent_id));
                    let bucket = match kind {
                        TxnKind::Cancellation => &mut cancelled,
                        _ => &mut premium,
                    };
                    let total = bucket
                        .entry(agent_id.clone())
                        .or_default()
                        .entry(currency)
                        .or_default();
                    *total = total.checked_add(sum).ok_or_else(|| {
                        Error::invalid("amount", "premium total overflows 64-bit minor units")
                    })?;
                    if kind == TxnKind::PolicyClosing {
                        row.closings += count;
                    }
                }
            }
            for (agent_id, row) in rows.iter_mut() {
                let won = row
                    .leads_by_status
                    .get(&LeadStatus::Won)
                    .copied()
                    .unwrap_or(0);
                row.conversion_rate =
                    (row.leads_total > 0).then(|| f64::from(won) / f64::from(row.leads_total));
                for (target, source) in [
                    (&mut row.premium, premium.remove(agent_id)),
                    (&mut row.cancellations, cancelled.remove(agent_id)),
                ] {
                    for (currency, minor) in source.unwrap_or_default() {
                        target.insert(currency.clone(), money::format_minor(minor, &currency)?);
                    }
                }
            }
            Ok(SalesReport {
                report: "sales",
                schema_version: SALES_SCHEMA_VERSION,
                from: query.from,
                to: query.to,
                agent: query.agent.clone(),
                generated_at: whole_second(now),
                agents: rows.into_values().collect(),
            })
        })
    }
}

/// The agents a report reads, each by itself, in the report's (byte)
/// order: the one asked for (if in the team), the team, or `[None]` for
/// everyone.
fn scopes<'a>(agent: Option<&'a str>, team: Option<&'a [String]>) -> Vec<Option<&'a str>> {
    match (agent, team) {
        (Some(agent), Some(team)) if !team.iter().any(|a| a == agent) => Vec::new(),
        (Some(agent), _) => vec![Some(agent)],
        (None, Some(team)) => {
            let mut agents: Vec<&str> = team.iter().map(String::as_str).collect();
            agents.sort_unstable();
            agents.dedup();
            agents.into_iter().map(Some).collect()
        }
        (None, None) => vec![None],
    }
}

/// A team in the reports' (byte) order, without repeats.
fn sorted_team(team: Option<&[String]>) -> Option<Vec<String>> {
    team.map(|team| {
        let mut team = team.to_vec();
        team.sort_unstable();
        team.dedup();
        team
    })
}

/// What the attendance report builds its days from, in the report's
/// order: the agent asked for (if in the team), the (sorted) team in
/// chunks, or everyone.
fn day_scopes<'a>(agent: Option<&'a str>, team: Option<&'a [String]>) -> Vec<AgentScope<'a>> {
    match (agent, team) {
        (Some(agent), Some(team)) if !team.iter().any(|a| a == agent) => Vec::new(),
        (Some(agent), _) => vec![AgentScope::One(agent)],
        (None, Some(team)) => team.chunks(TEAM_AT_MOST).map(AgentScope::Team).collect(),
        (None, None) => vec![AgentScope::Everyone],
    }
}

/// What [`build_days`] builds: local dates `from..=to` of one agent, a
/// team or everyone, judged at `now`.
pub(super) struct DaysQuery<'a> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub scope: AgentScope<'a>,
    pub grace: i64,
    pub now: DateTime<Utc>,
    pub default_zone: Zone,
}

/// The attendance report's days (sorted by agent, then date), without the
/// subjects in `hidden`: what the report prints and what the review queue
/// is derived from (`store::queue`), so the two never disagree.
///
/// One pass in agent order: per agent one index seek into the day
/// summary, merged with the agent's shift (days without events are the
/// shift days between rows). Nothing is hashed, sorted or looked up per
/// row but the interned site ids.
pub(super) fn build_days(
    tx: &Transaction<'_>,
    query: &DaysQuery<'_>,
    hidden: &HashSet<String>,
) -> Result<Vec<AttendanceDay>> {
    let scope = query.scope;
    let (from_day, to_day) = (day_number(query.from), day_number(query.to));
    let shifts: Vec<(String, ShiftSchedule)> = days::load_schedules_in(tx, scope)?;
    let mut reviews = load_reviews(tx, from_day, to_day, scope)?;
    let names = agents::current_names_in(tx, scope)?;
    let no_name: Arc<str> = Arc::from("");
    let name_of = |a: &str| names.get(a).cloned().unwrap_or_else(|| no_name.clone());
    let agents_known: i64 = match scope {
        AgentScope::One(_) => 1,
        AgentScope::Team(team) => team.len() as i64,
        AgentScope::Everyone => {
            tx.query_row("SELECT COUNT(*) FROM attendance_agents", [], |r| r.get(0))?
        }
    };
    let span = to_day - from_day + 1;
    let estimate = (agents_known.max(shifts.len() as i64) * span).clamp(0, 1 << 20);
    let mut builder = DayBuilder {
        out: Vec::with_capacity(estimate as usize),
        from: query.from,
        to: query.to,
        grace: query.grace,
        now: query.now,
        calendar: Calendar::new(query.from, query.to),
    };

    let sites = load_summary_sites(tx)?;
    // Each agent of a scope is a seek on its months.
    let mut params = vec![
        Value::Integer(month_key(query.from)),
        Value::Integer(month_key(query.to)),
    ];
    let only = scope.and_in("a.agent", &mut params);
    let mut months_stmt = tx.prepare_cached(&tx.dialect(&format!(
        "SELECT m.agent, m.month, a.tz, m.days
         FROM attendance_agents a CROSS JOIN attendance_months m
           ON m.agent = a.agent AND m.month BETWEEN ?1 AND ?2
         WHERE 1 = 1{only}
         ORDER BY a.agent, m.month"
    )))?;
    let mut rows = months_stmt.query(params_from_iter(params))?;
    let mut shift_list = shifts.iter().peekable();
    // The agent being emitted, its name and shift, the next date to emit,
    // and whether it is hidden from this reader.
    let mut current: Option<(AgentRef, Option<&ShiftSchedule>, NaiveDate, bool)> = None;
    // The agent's zone, with its per-date offsets.
    let mut zone_cache: Option<(String, Zone, DayOffsets)> = None;

    while let Some(r) = rows.next()? {
        let agent_bytes = r.get_ref(0)?.as_bytes()?;
        if current
            .as_ref()
            .is_none_or(|(a, ..)| a.id.as_bytes() != agent_bytes)
        {
            let agent_ref = std::str::from_utf8(agent_bytes)
                .map_err(|e| Error::Corrupt(format!("stored agent id: {e}")))?;
            if let Some((a, shift, next, false)) = current.take() {
                builder.without_events(&a, shift, next, query.to, &mut reviews);
            }
            // Agents with a shift but no rows at all sort in between.
            while let Some((a, shift)) = shift_list.next_if(|(a, _)| a.as_str() < agent_ref) {
                if !hidden.contains(a) {
                    let who = AgentRef {
                        id: Arc::from(a.as_str()),
                        name: name_of(a),
                    };
                    builder.without_events(&who, Some(shift), query.from, query.to, &mut reviews);
                }
            }
            let shift = shift_list
                .next_if(|(a, _)| a.as_str() == agent_ref)
                .map(|(_, s)| s);
            // One zone per agent (a zone change rebuilds its months).
            let tz_name = r.get_ref(2)?.as_str()?;
            if zone_cache
                .as_ref()
                .is_none_or(|(name, _, _)| name != tz_name)
            {
                let tz = days::parse_zone(tz_name)?;
                zone_cache = Some((tz_name.to_string(), tz, builder.calendar.offsets(tz)));
            }
            current = Some((
                AgentRef {
                    id: Arc::from(agent_ref),
                    name: name_of(agent_ref),
                },
                shift,
                query.from,
                hidden.contains(agent_ref),
            ));
        }
        let Some((who, shift, next, false)) = current.as_mut() else {
            continue;
        };
        let Some((_, tz, offsets)) = &zone_cache else {
            continue;
        };
        let tz = *tz;
        let key: i64 = r.get(1)?;
        let Some(days) = month::decode(key, r.get_ref(3)?.as_blob()?) else {
            return Err(Error::Corrupt(
                "an attendance summary month is damaged".into(),
            ));
        };
        let (year, month0) = (key.div_euclid(12), key.rem_euclid(12));
        let Some(first) = i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, month0 as u32 + 1, 1))
        else {
            return Err(Error::Corrupt(format!("summary month {key} out of range")));
        };
        for (day0, date) in first
            .iter_days()
            .take(month::DAYS)
            .take_while(|d| d.month0() as i64 == month0)
            .enumerate()
        {
            if date < query.from || date > query.to {
                continue;
            }
            let slot = &days[day0];
            let flags = slot.flags;
            if flags & month::PRESENT == 0 {
                continue;
            }
            if date > *next {
                builder.without_events(who, *shift, *next, date - Duration::days(1), &mut reviews);
            }
            *next = date + Duration::days(1);
            let index = builder.calendar.index(date);
            let mut rejected = RejectionCounts::default();
            for (reason, n) in slot.rejection_counts() {
                rejected.add(reason, n);
            }
            let first_in = slot.first_in.map(|(t, _)| t);
            let last_out = slot.last_out.map(|(t, _)| t);
            // A visit replaced by a new check-in is missing its check-out
            // at once; an open one when the local day ends.
            let day_over = offsets
                .get(index)
                .is_none_or(|d| query.now.timestamp() >= d.end);
            let missing_check_out =
                flags & month::UNCLOSED != 0 || (flags & month::OPEN != 0 && day_over);
            // The shift in force that day (PRODUCT.md §7).
            let in_force = shift.and_then(|s| s.on(date));
            let start = in_force.and_then(|s| builder.calendar.start(s, index));
            let (status, minutes_late, shift_start) =
                judge_day(in_force, start, date, first_in, query.grace, query.now);
            let (review, event_reviews) = take_reviews(&mut reviews, &who.id, day_number(date));
            builder.out.push(AttendanceDay {
                agent: who.id.clone(),
                name: who.name.clone(),
                date,
                time_zone: tz.name(),
                status,
                shift_start,
                first_check_in: first_in
                    .map(|t| local_at(offsets, index, tz, t))
                    .transpose()?,
                site_id: site(&sites, slot.first_in.map_or(0, |(_, s)| s))?,
                last_check_out: last_out
                    .map(|t| local_at(offsets, index, tz, t))
                    .transpose()?,
                check_out_site_id: site(&sites, slot.last_out.map_or(0, |(_, s)| s))?,
                minutes_late,
                missing_check_out,
                rejected_total: rejected.iter().map(|(_, n)| n).sum(),
                clock_skew: 0,
                rejected,
                review,
                event_reviews,
                open_visit: flags & month::OPEN != 0,
            });
        }
    }
    if let Some((a, shift, next, false)) = current.take() {
        builder.without_events(&a, shift, next, query.to, &mut reviews);
    }
    for (a, shift) in shift_list {
        if !hidden.contains(a) {
            let who = AgentRef {
                id: Arc::from(a.as_str()),
                name: name_of(a),
            };
            builder.without_events(&who, Some(shift), query.from, query.to, &mut reviews);
        }
    }
    let mut days = builder.out;
    mark_clock_skew(tx, &mut days, query)?;
    Ok(days)
}

/// An agent as report rows name it.
struct AgentRef {
    id: Arc<str>,
    name: Arc<str>,
}

/// Site ids by summary number (index 0 unused: "no site").
fn load_summary_sites(tx: &Transaction<'_>) -> Result<Vec<Option<Arc<str>>>> {
    let mut out: Vec<Option<Arc<str>>> = vec![None];
    let mut stmt = tx.prepare_cached("SELECT id, site FROM summary_sites ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let id = usize::try_from(id)
            .map_err(|_| Error::Corrupt(format!("summary site id {id} out of range")))?;
        if out.len() <= id {
            out.resize(id + 1, None);
        }
        out[id] = Some(Arc::from(r.get::<_, String>(1)?));
    }
    Ok(out)
}

fn site(sites: &[Option<Arc<str>>], id: u32) -> Result<Option<Arc<str>>> {
    if id == 0 {
        return Ok(None);
    }
    match sites.get(id as usize) {
        Some(Some(site)) => Ok(Some(site.clone())),
        _ => Err(Error::Corrupt(format!("summary names unknown site {id}"))),
    }
}

/// Collects report days.
struct DayBuilder {
    out: Vec<AttendanceDay>,
    from: NaiveDate,
    to: NaiveDate,
    grace: i64,
    now: DateTime<Utc>,
    calendar: Calendar,
}

impl DayBuilder {
    /// Emits the shift days of `agent` in [from, to] that have no events
    /// (no summary rows): absent once start plus grace has passed, pending
    /// before.
    fn without_events(
        &mut self,
        agent: &AgentRef,
        schedule: Option<&ShiftSchedule>,
        from: NaiveDate,
        to: NaiveDate,
        reviews: &mut Reviews,
    ) {
        let Some(schedule) = schedule else {
            return;
        };
        let mut date = from.max(self.from);
        let to = to.min(self.to);
        while date <= to {
            let Some(shift) = schedule.on(date) else {
                date += Duration::days(1);
                continue;
            };
            if shift.is_shift_day(date) {
                let start = self.calendar.start(shift, self.calendar.index(date));
                let (status, minutes_late, shift_start) =
                    judge_day(Some(shift), start, date, None, self.grace, self.now);
                let (review, event_reviews) = take_reviews(reviews, &agent.id, day_number(date));
                self.out.push(AttendanceDay {
                    agent: agent.id.clone(),
                    name: agent.name.clone(),
                    date,
                    time_zone: shift.tz.name(),
                    status,
                    shift_start,
                    first_check_in: None,
                    site_id: None,
                    last_check_out: None,
                    check_out_site_id: None,
                    minutes_late,
                    missing_check_out: false,
                    rejected: RejectionCounts::default(),
                    rejected_total: 0,
                    clock_skew: 0,
                    review,
                    event_reviews,
                    open_visit: false,
                });
            }
            date += Duration::days(1);
        }
    }
}

/// The decisions of one agent-day: the latest on the day itself, and the
/// latest on each of its events.
#[derive(Default)]
struct DayReviews {
    day: Option<ReviewSummary>,
    events: HashMap<String, ReviewSummary>,
}

/// Reviews by agent, then day.
type Reviews = HashMap<String, HashMap<i64, DayReviews>>;

/// The day's own decision and its events' latest decisions (oldest first).
fn take_reviews(
    reviews: &mut Reviews,
    agent: &str,
    day: i64,
) -> (Option<Box<ReviewSummary>>, Vec<ReviewSummary>) {
    if reviews.is_empty() {
        return (None, Vec::new());
    }
    let Some(found) = reviews.get_mut(agent).and_then(|days| days.remove(&day)) else {
        return (None, Vec::new());
    };
    let mut events: Vec<ReviewSummary> = found.events.into_values().collect();
    events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.review_id.cmp(&b.review_id)));
    (found.day.map(Box::new), events)
}

/// Status, minutes late and shift start of one local day; `start` is the
/// shift's start instant on `date`.
fn judge_day(
    shift: Option<&Shift>,
    start: Option<DateTime<Utc>>,
    date: NaiveDate,
    first_in: Option<i64>,
    grace_min: i64,
    now: DateTime<Utc>,
) -> (DayStatus, Option<u32>, Option<NaiveTime>) {
    let (Some(shift), Some(start)) = (shift.filter(|s| s.is_shift_day(date)), start) else {
        return (DayStatus::Unscheduled, None, None);
    };
    match first_in.and_then(|t| DateTime::from_timestamp(t, 0)) {
        Some(at) => {
            let late = minutes_late_after(start, at, grace_min);
            let status = if late > 0 {
                DayStatus::Late
            } else {
                DayStatus::OnTime
            };
            (status, Some(late), Some(shift.start))
        }
        None => {
            let deadline =
                Duration::try_minutes(grace_min).and_then(|grace| start.checked_add_signed(grace));
            let status = if deadline.is_some_and(|d| now > d) {
                DayStatus::Absent
            } else {
                DayStatus::Pending
            };
            (status, None, Some(shift.start))
        }
    }
}

/// One local date in one zone.
#[derive(Debug, Clone, Copy)]
struct ZoneDay {
    /// The zone's UTC offset when it is the same all day.
    offset: Option<FixedOffset>,
    /// When the local day ends (unix seconds): an open visit is missing its
    /// check-out only from then on.
    end: i64,
}

/// Per date of the report, for one zone.
type DayOffsets = Rc<[ZoneDay]>;

/// Zone arithmetic for the report's dates, computed once per zone (and
/// shift start) instead of once per row: chrono-tz lookups would otherwise
/// dominate a 150,000-day report.
struct Calendar {
    from: NaiveDate,
    to: NaiveDate,
    /// Per zone and date: its offset and end.
    offsets: HashMap<Zone, DayOffsets>,
    /// Per zone and shift start: the start instant on each date.
    starts: HashMap<(Zone, NaiveTime), Rc<[DateTime<Utc>]>>,
}

impl Calendar {
    fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Calendar {
            from,
            to,
            offsets: HashMap::new(),
            starts: HashMap::new(),
        }
    }

    fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let (from, to) = (self.from, self.to);
        from.iter_days().take_while(move |d| *d <= to)
    }

    fn index(&self, date: NaiveDate) -> usize {
        (date - self.from).num_days().max(0) as usize
    }

    fn offsets(&mut self, tz: Zone) -> DayOffsets {
        if let Some(found) = self.offsets.get(&tz) {
            return found.clone();
        }
        let computed: DayOffsets = self
            .dates()
            .map(|date| {
                let (start, end) = day_bounds(tz, date);
                let first = start.with_timezone(&tz).offset().fix();
                let last = (end - Duration::seconds(1))
                    .with_timezone(&tz)
                    .offset()
                    .fix();
                ZoneDay {
                    offset: (first == last).then_some(first),
                    end: end.timestamp(),
                }
            })
            .collect();
        self.offsets.insert(tz, computed.clone());
        computed
    }

    /// The start instant of `shift` on the date at `index`, computed once
    /// per zone and start time for the whole period.
    fn start(&mut self, shift: &Shift, index: usize) -> Option<DateTime<Utc>> {
        let key = (shift.tz, shift.start);
        if let Some(found) = self.starts.get(&key) {
            return found.get(index).copied();
        }
        let computed: Rc<[DateTime<Utc>]> =
            self.dates().map(|date| shift.start_instant(date)).collect();
        self.starts.insert(key, computed.clone());
        computed.get(index).copied()
    }
}

/// A stored instant in the zone's local offset, via the per-day cache.
fn local_at(offsets: &[ZoneDay], index: usize, tz: Zone, t: i64) -> Result<DateTime<FixedOffset>> {
    let utc = DateTime::from_timestamp(t, 0)
        .ok_or_else(|| Error::Corrupt(format!("stored time {t} out of range")))?;
    Ok(match offsets.get(index).and_then(|d| d.offset) {
        Some(offset) => utc.with_timezone(&offset),
        None => utc.with_timezone(&tz).fixed_offset(),
    })
}

/// Subjects whose processing is restricted: left out of reports except for
/// admins (PRODUCT.md §8).
pub(super) fn hidden_subjects(tx: &Transaction<'_>, actor: &Actor) -> Result<HashSet<String>> {
    if actor.role == Role::Admin {
        return Ok(HashSet::new());
    }
    let mut stmt = tx.prepare_cached(
        "SELECT subject FROM restrictions_in_force r WHERE restricted = 1
           AND seq = (SELECT MAX(seq) FROM restrictions_in_force s WHERE s.subject = r.subject)",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// Counts, on each day, the imported events whose recorded time the
/// importer could not reconcile with the device's clock. Flagged events are
/// few (a partial index holds only them), so this reads them all for the
/// period rather than widening the packed day summary.
fn mark_clock_skew(
    tx: &Transaction<'_>,
    days: &mut [AttendanceDay],
    query: &DaysQuery<'_>,
) -> Result<()> {
    let default_zone = query.default_zone;
    // Every zone's local day lies within a day either side of UTC's.
    let from = (day_bounds(Zone::UTC, query.from).0 - Duration::days(1)).timestamp();
    let to = (day_bounds(Zone::UTC, query.to).1 + Duration::days(1)).timestamp();
    let mut params = vec![Value::Integer(from), Value::Integer(to)];
    let only = query.scope.and_in("agent", &mut params);
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT agent, captured_at FROM sync_attendance
         WHERE clock_skew = 1 AND captured_at BETWEEN ?1 AND ?2{only}"
    ))?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut zones: HashMap<String, Zone> = HashMap::new();
    let mut counts: HashMap<(String, NaiveDate), u32> = HashMap::new();
    while let Some(r) = rows.next()? {
        let agent: String = r.get(0)?;
        let captured_at = crate::time::from_unix("captured_at", r.get(1)?)?;
        let tz = days::zone_cached(tx, &mut zones, &agent, default_zone)?;
        let date = captured_at.with_timezone(&tz).date_naive();
        *counts.entry((agent, date)).or_default() += 1;
    }
    if counts.is_empty() {
        return Ok(());
    }
    for day in days {
        if let Some(n) = counts.get(&(day.agent.to_string(), day.date)) {
            day.clock_skew = *n;
        }
    }
    Ok(())
}

/// The latest review per agent-day.
fn load_reviews(
    tx: &Transaction<'_>,
    from: i64,
    to: i64,
    scope: AgentScope<'_>,
) -> Result<Reviews> {
    let mut out = Reviews::new();
    let mut params = vec![Value::Integer(from), Value::Integer(to)];
    let only = scope.and_in("agent", &mut params);
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM reviews WHERE day BETWEEN ?1 AND ?2{only} ORDER BY seq",
        review::review_columns()
    ))?;
    let rows = stmt.query_map(params_from_iter(params.clone()), |r| {
        Ok(review::review_from_row(tx, r))
    })?;
    let mut latest: Vec<(String, i64, ReviewSummary, bool)> = Vec::new();
    for row in rows {
        let review = row??;
        latest.push((
            review.agent,
            day_number(review.date),
            ReviewSummary {
                review_id: review.id,
                event_id: review.event_id,
                decision: review.decision,
                reviewer: review.reviewer.id,
                note: review.note,
                at: review.at,
            },
            true,
        ));
    }
    // Decisions made on devices: their notes travel as digests only.
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT agent, day, review_id, event_id, decision, actor_id, at FROM sync_reviews
         WHERE day BETWEEN ?1 AND ?2{only}"
    ))?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    for row in rows {
        let (agent, day, review_id, event_id, decision, reviewer, at) = row?;
        let corrupt = |e: Error| Error::Corrupt(format!("imported review unreadable: {e}"));
        latest.push((
            agent,
            day,
            ReviewSummary {
                review_id,
                event_id,
                decision: Decision::parse("decision", &decision).map_err(corrupt)?,
                reviewer,
                note: None,
                at: from_unix("at", at).map_err(corrupt)?,
            },
            false,
        ));
    }
    // The latest decision wins; within one second this store's own (in
    // chain order, the sort being stable) over an imported one.
    latest.sort_by_key(|(_, _, review, own)| (review.at, *own));
    for (agent, day, review, _) in latest {
        let slot = out.entry(agent).or_default().entry(day).or_default();
        match &review.event_id {
            None => slot.day = Some(review),
            Some(event) => {
                slot.events.insert(event.clone(), review);
            }
        }
    }
    Ok(out)
}
