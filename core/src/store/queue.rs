//! The review queue's index on a server's store (PRODUCT.md §12.4): one
//! `queue_days` row per agent-day that needs a decision, and `queue_tally`,
//! its counts per reason, day and scope (everyone, an agent, a site, an
//! agent at a site). Both are derived from the attendance report's days
//! (`report::build_days`, so the queue and the report never disagree) and
//! are brought in line by [`resync`]: for the agents and dates the
//! writers marked in the transaction of each change (`queue_marks`: an
//! import, a day decision, a flag set or ended, a shift version), and for
//! what only time changes (an absence once the shift has ended, a missing
//! check-out once the day is over) over the days not yet final. [`settle`]
//! does both: the server runs it every minute, and every queue or Today
//! page first settles the marks alone. Every step rewrites rows to what the
//! report says, so any number of instances may run them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::db::{OptionalExtension, Transaction, params_from_iter};
use crate::zone::Zone;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::types::Value;

use super::agent_scope::{AgentScope, team_rows};
use super::connection::Store;
use super::queue_marks::{ADVANCED_KEY, BUILDING_KEY, SETTLED_KEY};
use super::report::{self, DaysQuery};
use super::server_role::is_server;
use super::{audit, days, settings};
use crate::audit::AuditFlag;
use crate::error::{Error, Result};
use crate::queue::{
    Direction, QueueCursor, QueueItem, QueuePage, QueueQuery, QueueReason, ReasonSet,
    flag_covers_day, reasons_of,
};
use crate::report::DayStatus;
use crate::rules::Rules;
use crate::shift::{ShiftSchedule, date_from_day_number, day_bounds, day_number};

/// `queue_tally.reason` of the count of items (any reason).
const ITEMS: i64 = -1;
/// Every zone's local date lies within a day of UTC's, and an overnight
/// shift ends the next local day: a date three UTC days back is final.
const UNSETTLED_DAYS: i64 = 3;
/// Days resynced in one pass, bounding the report held in memory (a
/// month of every agent).
const SPAN_DAYS: i64 = 31;
/// Days of everyone's a whole build writes per transaction: other writers
/// (device uploads, decisions, other instances) go between the steps
/// instead of waiting for the whole build (135 s at 10,000,000 events).
const BUILD_STEP_DAYS: i64 = 1;

/// One index row: what the page shows of an item.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    reasons: u32,
    status: &'static str,
    time_zone: String,
    first_in: Option<i64>,
    last_out: Option<i64>,
    site: Option<String>,
    out_site: Option<String>,
    minutes_late: Option<i64>,
}

impl Row {
    /// The (agent, site) scopes its counts go to.
    fn scopes<'a>(&'a self, agent: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut out = vec![("", ""), (agent, "")];
        let mut sites: Vec<&str> = [self.site.as_deref(), self.out_site.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        sites.dedup();
        for site in sites {
            out.push(("", site));
            out.push((agent, site));
        }
        out
    }
}

/// Brings the index rows of `agent`'s days (everyone's when `None`) in
/// `from..=to` in line with the report at `now`.
fn resync(
    tx: &Transaction<'_>,
    agent: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    let rules = settings::stored_rules(tx)?.unwrap_or_default();
    let mut start = from;
    while start <= to {
        let end = (start + Duration::days(SPAN_DAYS - 1)).min(to);
        resync_span(tx, agent, start, end, now, &rules)?;
        start = end + Duration::days(1);
    }
    Ok(())
}

fn resync_span(
    tx: &Transaction<'_>,
    agent: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Result<()> {
    let default_zone = days::parse_zone(&rules.time_zone)?;
    let query = DaysQuery {
        from,
        to,
        scope: AgentScope::of(agent),
        grace: rules.late_grace_min,
        now,
        default_zone,
    };
    let report_days = report::build_days(tx, &query, &HashSet::new())?;
    let schedules: HashMap<String, ShiftSchedule> =
        days::load_schedules(tx, agent)?.into_iter().collect();
    let (lo, hi) = (
        day_bounds(Zone::UTC, from).0 - Duration::days(1),
        day_bounds(Zone::UTC, to).1 + Duration::days(1),
    );
    let flags: Vec<AuditFlag> = audit::all_flags(tx)?
        .into_iter()
        .filter(|f| f.starts_at < hi && lo < f.effective_end())
        .collect();

    let mut wanted: BTreeMap<(String, i64), Row> = BTreeMap::new();
    for day in &report_days {
        if day.review.is_some() {
            continue;
        }
        let tz = days::parse_zone(day.time_zone)?;
        let (start, end) = day_bounds(tz, day.date);
        let shift_ended = day.status == DayStatus::Absent
            && schedules
                .get(day.agent.as_ref())
                .and_then(|s| s.on(day.date))
                .is_some_and(|shift| shift.end_instant(day.date) <= now);
        let flagged = flags.iter().any(|f| flag_covers_day(f, day, start, end));
        let reasons = reasons_of(day, shift_ended, flagged);
        if reasons.is_empty() {
            continue;
        }
        wanted.insert(
            (day.agent.to_string(), day_number(day.date)),
            Row {
                reasons: reasons.0,
                status: day.status.as_str(),
                time_zone: day.time_zone.to_string(),
                first_in: day.first_check_in.map(|t| t.timestamp()),
                last_out: day.last_check_out.map(|t| t.timestamp()),
                site: day.site_id.as_deref().map(str::to_string),
                out_site: day.check_out_site_id.as_deref().map(str::to_string),
                minutes_late: day.minutes_late.map(i64::from),
            },
        );
    }

    let held = held_rows(tx, agent, day_number(from), day_number(to))?;
    let keys: BTreeSet<&(String, i64)> = held.keys().chain(wanted.keys()).collect();
    // Count changes summed per key first: a whole build writes each
    // everyone's and each site's count once, not once per item.
    let mut deltas: HashMap<(String, String, i64, i64), i64> = HashMap::new();
    for key in keys {
        let (old, new) = (held.get(key), wanted.get(key));
        if old == new {
            continue;
        }
        let (agent_id, day) = key;
        if let Some(old) = old {
            tally(&mut deltas, agent_id, *day, old, -1);
            tx.prepare_cached("DELETE FROM queue_days WHERE agent = ?1 AND day = ?2")?
                .execute((agent_id, day))?;
        }
        if let Some(new) = new {
            tally(&mut deltas, agent_id, *day, new, 1);
            tx.prepare_cached(
                "INSERT INTO queue_days (agent, day, reasons, status, time_zone, first_in,
                   last_out, site, out_site, minutes_late)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(super::db::params![
                agent_id,
                day,
                new.reasons,
                new.status,
                new.time_zone,
                new.first_in,
                new.last_out,
                new.site,
                new.out_site,
                new.minutes_late,
            ])?;
        }
    }
    apply_tally(tx, deltas)
}

fn held_rows(
    tx: &Transaction<'_>,
    agent: Option<&str>,
    from: i64,
    to: i64,
) -> Result<BTreeMap<(String, i64), Row>> {
    // One agent's rows are a seek on the key (agent, day).
    let mut stmt = tx.prepare_cached(match agent {
        Some(_) => {
            "SELECT agent, day, reasons, status, time_zone, first_in, last_out, site, out_site,
                    minutes_late
             FROM queue_days WHERE agent = ?3 AND day BETWEEN ?1 AND ?2"
        }
        None => {
            "SELECT agent, day, reasons, status, time_zone, first_in, last_out, site, out_site,
                    minutes_late
             FROM queue_days WHERE day BETWEEN ?1 AND ?2 AND CAST(?3 AS TEXT) IS NULL"
        }
    })?;
    let mut rows = stmt.query((from, to, agent))?;
    let mut out = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let status: String = r.get(3)?;
        let status = DayStatus::parse("status", &status)
            .map_err(|e| Error::Corrupt(format!("queue row: {e}")))?;
        out.insert(
            (r.get::<_, String>(0)?, r.get::<_, i64>(1)?),
            Row {
                reasons: r.get(2)?,
                status: status.as_str(),
                time_zone: r.get(4)?,
                first_in: r.get(5)?,
                last_out: r.get(6)?,
                site: r.get(7)?,
                out_site: r.get(8)?,
                minutes_late: r.get(9)?,
            },
        );
    }
    Ok(out)
}

/// Adds (`sign` 1) or takes away (-1) one item's counts to `deltas`.
fn tally(
    deltas: &mut HashMap<(String, String, i64, i64), i64>,
    agent: &str,
    day: i64,
    row: &Row,
    sign: i64,
) {
    let reasons = ReasonSet(row.reasons);
    let codes: Vec<i64> = std::iter::once(ITEMS)
        .chain(reasons.iter().map(|r| i64::from(r.bit())))
        .collect();
    for (scope_agent, scope_site) in row.scopes(agent) {
        for reason in &codes {
            *deltas
                .entry((
                    scope_agent.to_string(),
                    scope_site.to_string(),
                    day,
                    *reason,
                ))
                .or_default() += sign;
        }
    }
}

/// Writes the summed count changes; counts that reach zero go.
fn apply_tally(
    tx: &Transaction<'_>,
    deltas: HashMap<(String, String, i64, i64), i64>,
) -> Result<()> {
    for ((agent, site, day, reason), delta) in deltas {
        if delta == 0 {
            continue;
        }
        tx.prepare_cached(
            "INSERT INTO queue_tally (agent, site, day, reason, items)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (agent, site, day, reason) DO UPDATE SET items = queue_tally.items + excluded.items",
        )?
        .execute((&agent, &site, day, reason, delta))?;
        if delta < 0 {
            tx.prepare_cached(
                "DELETE FROM queue_tally
                 WHERE agent = ?1 AND site = ?2 AND day = ?3 AND reason = ?4 AND items <= 0",
            )?
            .execute((&agent, &site, day, reason))?;
        }
    }
    Ok(())
}

/// Settles the writers' marks, then, `with_time`, what time changed: every
/// agent's days from the first unsettled one to tomorrow (UTC). Builds the
/// whole index when it has never been built (or the rules changed), one
/// step of [`BUILD_STEP_DAYS`] per call. A server's store only. Returns
/// whether the index is built (`false`: call again, in a new transaction).
pub(super) fn settle(tx: &Transaction<'_>, now: DateTime<Utc>, with_time: bool) -> Result<bool> {
    if !is_server(tx)? {
        return Ok(true);
    }
    let today = now.date_naive();
    let settled = meta_date(tx, SETTLED_KEY)?;
    let marks = take_marks(tx)?;
    let first = first_day(tx, now)?;
    let Some(settled) = settled else {
        return build_step(tx, &marks, first, now);
    };
    for (agent, (from, to)) in &marks {
        let agent = Some(agent.as_str()).filter(|a| !a.is_empty());
        resync(tx, agent, (*from).max(first), *to, now)?;
    }
    if !with_time {
        return Ok(true);
    }
    let from = (settled + Duration::days(1))
        .min(today - Duration::days(UNSETTLED_DAYS))
        .max(first);
    resync(tx, None, from, today + Duration::days(1), now)?;
    finish(tx, now)?;
    Ok(true)
}

/// One step of the whole build: the marks on days already built, then the
/// next [`BUILD_STEP_DAYS`] of everyone's; the last step through tomorrow
/// settles the index. Marks on days not built yet need nothing: their step
/// reads what is stored then.
fn build_step(
    tx: &Transaction<'_>,
    marks: &BTreeMap<String, (NaiveDate, NaiveDate)>,
    first: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tomorrow = now.date_naive() + Duration::days(1);
    let built = match meta_date(tx, BUILDING_KEY)? {
        Some(built) => built,
        None => {
            tx.execute("DELETE FROM queue_days", [])?;
            tx.execute("DELETE FROM queue_tally", [])?;
            first - Duration::days(1)
        }
    };
    for (agent, (from, to)) in marks {
        let agent = Some(agent.as_str()).filter(|a| !a.is_empty());
        let (from, to) = ((*from).max(first), (*to).min(built));
        if from <= to {
            resync(tx, agent, from, to, now)?;
        }
    }
    let next = (built + Duration::days(1)).max(first);
    let end = (next + Duration::days(BUILD_STEP_DAYS - 1)).min(tomorrow);
    resync(tx, None, next, end, now)?;
    if end < tomorrow {
        set_meta(tx, BUILDING_KEY, &end.to_string())?;
        return Ok(false);
    }
    tx.execute("DELETE FROM meta WHERE key = ?1", [BUILDING_KEY])?;
    finish(tx, now)?;
    Ok(true)
}

/// Records that everything up to three days back is settled, and when.
fn finish(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<()> {
    set_meta(
        tx,
        SETTLED_KEY,
        &(now.date_naive() - Duration::days(UNSETTLED_DAYS)).to_string(),
    )?;
    set_meta(tx, ADVANCED_KEY, &now.timestamp().to_string())
}

/// The marks, per agent ('' = everyone) the first and last date, taken
/// out of `queue_dirty`.
fn take_marks(tx: &Transaction<'_>) -> Result<BTreeMap<String, (NaiveDate, NaiveDate)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT agent, MIN(from_day), MAX(to_day) FROM queue_dirty GROUP BY agent",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let (from, to): (i64, i64) = (r.get(1)?, r.get(2)?);
        let (Some(from), Some(to)) = (date_from_day_number(from), date_from_day_number(to)) else {
            return Err(Error::Corrupt(format!("queue mark {from}..{to}")));
        };
        out.insert(r.get::<_, String>(0)?, (from, to));
    }
    drop(rows);
    tx.execute("DELETE FROM queue_dirty", [])?;
    Ok(out)
}

/// The first date the whole index covers: the oldest summary month, shift
/// version date or undated shift's setting (a shift set today for every
/// day does not make its agent absent on the days before), but no older
/// than attendance is kept.
fn first_day(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<NaiveDate> {
    let rules = settings::stored_rules(tx)?.unwrap_or_default();
    let kept_from = (now - Duration::days(rules.attendance_retention_days)).date_naive();
    let (oldest_month, oldest_from, oldest_set): (Option<i64>, Option<i64>, Option<i64>) = tx
        .query_row(
            "SELECT (SELECT MIN(month) FROM attendance_months),
                    (SELECT MIN(from_day) FROM shift_versions),
                    (SELECT MIN(set_at) FROM shift_versions WHERE from_day IS NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    let mut first = now.date_naive();
    if let Some(key) = oldest_month
        && let Some(date) = i32::try_from(key.div_euclid(12))
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, key.rem_euclid(12) as u32 + 1, 1))
    {
        first = first.min(date);
    }
    if let Some(date) = oldest_from.and_then(date_from_day_number) {
        first = first.min(date);
    }
    if let Some(at) = oldest_set.and_then(|t| DateTime::from_timestamp(t, 0)) {
        first = first.min(at.date_naive() - Duration::days(1));
    }
    Ok(first.max(kept_from))
}

/// Drops the items and counts of days before `day` (retention).
pub(super) fn forget_before(tx: &Transaction<'_>, day: NaiveDate) -> Result<usize> {
    let day = day_number(day);
    tx.execute("DELETE FROM queue_tally WHERE day < ?1", [day])?;
    Ok(tx.execute("DELETE FROM queue_days WHERE day < ?1", [day])?)
}

fn meta_date(tx: &Transaction<'_>, key: &str) -> Result<Option<NaiveDate>> {
    let text: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    text.map(|t| crate::time::parse_date(key, &t))
        .transpose()
        .map_err(|e| Error::Corrupt(format!("stored {key}: {e}")))
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute((key, value))?;
    Ok(())
}

impl Store {
    /// Settles the queue's index now, marks and time alike: the server's
    /// minute job (and tests).
    pub fn settle_queue(&self, now: DateTime<Utc>) -> Result<()> {
        while !self.write(|tx| settle(tx, now, true))? {}
        Ok(())
    }

    /// Settles the writers' marks, if there are any (and builds the index
    /// if it never was): pages call this before reading the queue, so a
    /// decision or an import shows at once. What time alone changes is the
    /// minute job's, so no page pays for it. Reads first, so an idle index
    /// costs no write.
    pub fn settle_queue_if_due(&self, now: DateTime<Utc>) -> Result<()> {
        let due = self.read(|tx| {
            if !is_server(tx)? {
                return Ok(false);
            }
            let (marked, built): (bool, bool) = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM queue_dirty),
                        EXISTS (SELECT 1 FROM meta WHERE key = ?1)",
                [SETTLED_KEY],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(marked || !built)
        })?;
        if due {
            while !self.write(|tx| settle(tx, now, false))? {}
        }
        Ok(())
    }

    /// One page of the review queue. The caller has resolved who may be
    /// seen (`query.agents`); this reads the index and sums the counts,
    /// never the report.
    pub fn review_queue(&self, query: &QueueQuery) -> Result<QueuePage> {
        if query.to < query.from {
            return Err(Error::invalid("to", "the period ends before it starts"));
        }
        let (from, to) = (day_number(query.from), day_number(query.to));
        self.read(|tx| {
            let counts = counts(tx, query, from, to)?;
            let total = match query.reason {
                Some(reason) => counts
                    .iter()
                    .find(|(r, _)| *r == reason)
                    .map_or(0, |(_, n)| *n),
                None => sum_items(tx, query, from, to, ITEMS)?,
            };
            let listed = counts.iter().filter(|(_, n)| *n > 0).copied().collect();
            let (items, older, newer) = items(tx, query, from, to)?;
            Ok(QueuePage {
                items,
                counts: listed,
                total,
                older,
                newer,
            })
        })
    }
}

/// Items per reason over the filter but the reason.
fn counts(
    tx: &Transaction<'_>,
    query: &QueueQuery,
    from: i64,
    to: i64,
) -> Result<Vec<(QueueReason, u64)>> {
    let mut by_bit: HashMap<i64, u64> = HashMap::new();
    let site = query.site.clone().unwrap_or_default();
    let mut params = vec![site.into(), from.into(), to.into()];
    if let Some(marks) = tally_scopes(query, &mut params) {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT reason, SUM(items) FROM queue_tally
             WHERE site = ?1 AND day BETWEEN ?2 AND ?3 AND reason >= 0 AND agent IN ({marks})
             GROUP BY reason"
        ))?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(1)?;
            *by_bit.entry(r.get(0)?).or_default() += u64::try_from(n).unwrap_or(0);
        }
    }
    Ok(QueueReason::all()
        .map(|r| (r, by_bit.get(&i64::from(r.bit())).copied().unwrap_or(0)))
        .collect())
}

fn sum_items(
    tx: &Transaction<'_>,
    query: &QueueQuery,
    from: i64,
    to: i64,
    reason: i64,
) -> Result<u64> {
    let site = query.site.clone().unwrap_or_default();
    let mut params = vec![site.into(), from.into(), to.into(), reason.into()];
    let Some(marks) = tally_scopes(query, &mut params) else {
        return Ok(0);
    };
    let n: i64 = tx
        .prepare_cached(&format!(
            "SELECT COALESCE(SUM(items), 0) FROM queue_tally
             WHERE site = ?1 AND day BETWEEN ?2 AND ?3 AND reason = ?4 AND agent IN ({marks})"
        ))?
        .query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The tally's agent scopes the filter sums (`""` is everyone's) as what
/// `IN` takes, appended to `params`; `None` for no agent. One statement
/// for a whole team: on PostgreSQL a statement an agent cost a round trip
/// each (a supervisor of 50: 128 ms a page at 50,000 agents).
fn tally_scopes(query: &QueueQuery, params: &mut Vec<Value>) -> Option<String> {
    match &query.agents {
        None => Some(team_rows(&[String::new()], params)),
        Some(agents) if agents.is_empty() => None,
        Some(agents) => Some(team_rows(agents, params)),
    }
}

type Listed = (Vec<QueueItem>, Option<QueueCursor>, Option<QueueCursor>);

/// The page's items in queue order, and where the pages beside it start.
fn items(tx: &Transaction<'_>, query: &QueueQuery, from: i64, to: i64) -> Result<Listed> {
    if query.agents.as_ref().is_some_and(|a| a.is_empty()) {
        return Ok((Vec::new(), None, None));
    }
    let limit = query.limit.max(1);
    let (cursor, direction) = match &query.from_cursor {
        Some((c, d)) => (Some(c), *d),
        None => (None, Direction::Older),
    };
    let mut rows = select(tx, query, from, to, cursor, direction, limit + 1)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    if direction == Direction::Newer {
        rows.reverse();
    }
    let first = rows.first().map(cursor_of);
    let last = rows.last().map(cursor_of);
    let (older, newer) = match direction {
        Direction::Older => {
            let newer = match &first {
                Some(c) if cursor.is_some() => {
                    (!select(tx, query, from, to, Some(c), Direction::Newer, 1)?.is_empty())
                        .then(|| c.clone())
                }
                _ => None,
            };
            (last.filter(|_| more), newer)
        }
        Direction::Newer => {
            let older = match &last {
                Some(c) => (!select(tx, query, from, to, Some(c), Direction::Older, 1)?.is_empty())
                    .then(|| c.clone()),
                None => None,
            };
            (older, first.filter(|_| more))
        }
    };
    Ok((rows, older, newer))
}

fn cursor_of(item: &QueueItem) -> QueueCursor {
    QueueCursor {
        date: item.date,
        agent: item.agent.clone(),
    }
}

/// Up to `limit` items after (`Older`) or before (`Newer`) `cursor`, in
/// the direction's order.
#[allow(clippy::too_many_arguments)]
fn select(
    tx: &Transaction<'_>,
    query: &QueueQuery,
    from: i64,
    to: i64,
    cursor: Option<&QueueCursor>,
    direction: Direction,
    limit: usize,
) -> Result<Vec<QueueItem>> {
    let mut sql = String::from(
        "SELECT agent, day, reasons, status, time_zone, first_in, last_out, site, out_site,
                minutes_late
         FROM queue_days WHERE day BETWEEN ?1 AND ?2",
    );
    let mut params: Vec<rusqlite::types::Value> = vec![from.into(), to.into()];
    if let Some(site) = &query.site {
        params.push(site.clone().into());
        let n = params.len();
        sql.push_str(&format!(" AND (site = ?{n} OR out_site = ?{n})"));
    }
    if let Some(reason) = query.reason {
        params.push(i64::from(1u32 << reason.bit()).into());
        sql.push_str(&format!(" AND (reasons & ?{}) != 0", params.len()));
    }
    if let Some(agents) = &query.agents {
        sql.push_str(&AgentScope::Team(agents).and_in("agent", &mut params));
    }
    if let Some(c) = cursor {
        params.push(day_number(c.date).into());
        params.push(c.agent.clone().into());
        let (d, a) = (params.len() - 1, params.len());
        sql.push_str(&match direction {
            Direction::Older => format!(" AND (day < ?{d} OR (day = ?{d} AND agent > ?{a}))"),
            Direction::Newer => format!(" AND (day > ?{d} OR (day = ?{d} AND agent < ?{a}))"),
        });
    }
    sql.push_str(match direction {
        Direction::Older => " ORDER BY day DESC, agent ASC",
        Direction::Newer => " ORDER BY day ASC, agent DESC",
    });
    sql.push_str(&format!(" LIMIT {limit}"));
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(item_from_row(&r)?);
    }
    Ok(out)
}

fn item_from_row(r: &super::db::Row<'_>) -> Result<QueueItem> {
    let corrupt = |what: String| Error::Corrupt(format!("queue row: {what}"));
    let day: i64 = r.get(1)?;
    let date = date_from_day_number(day).ok_or_else(|| corrupt(format!("day {day}")))?;
    let status: String = r.get(3)?;
    let time_zone: String = r.get(4)?;
    let tz = days::parse_zone(&time_zone)?;
    let local = |t: Option<i64>| -> Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
        t.map(|t| {
            DateTime::from_timestamp(t, 0)
                .map(|at| at.with_timezone(&tz).fixed_offset())
                .ok_or_else(|| corrupt(format!("time {t}")))
        })
        .transpose()
    };
    Ok(QueueItem {
        agent: r.get(0)?,
        date,
        reasons: ReasonSet(r.get(2)?),
        status: DayStatus::parse("status", &status).map_err(|e| corrupt(e.to_string()))?,
        first_check_in: local(r.get(5)?)?,
        last_check_out: local(r.get(6)?)?,
        time_zone,
        site_id: r.get(7)?,
        check_out_site_id: r.get(8)?,
        minutes_late: r.get::<_, Option<i64>>(9)?.map(|m| m.max(0) as u32),
    })
}
