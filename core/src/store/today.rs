//! Today at a glance (`crate::today`) from the store: each agent's local
//! date now, the report's days for it and the day before, the review
//! queue's items of that date, and the latest event of the agents a page
//! shows.

use std::collections::{HashMap, HashSet};

use super::agent_scope::{AgentScope, TEAM_AT_MOST, team_rows};
use super::db::{Transaction, params_from_iter};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::types::Value;

use super::connection::Store;
use super::report::{self, DaysQuery};
use super::{agents, days};
use crate::error::{Error, Result};
use crate::report::AttendanceDay;
use crate::shift::{day_number, local_date};
use crate::time::from_unix;
use crate::today::{AgentToday, LastEvent};
use crate::types::{Actor, EventKind};

impl Store {
    /// Today for `agents` (`None`: every agent the console knows), each on
    /// the local date of `now` in their zone, sorted by name then id.
    /// Restricted agents are left out except for admins, as in reports.
    pub fn agents_today(
        &self,
        actor: &Actor,
        agents: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentToday>> {
        actor.may_supervise()?;
        self.read(|tx| {
            // The rules as this read sees them: one read, not one per value.
            let rules = self.rules_in(tx)?;
            let (grace, default_zone) = (rules.late_grace_min, days::parse_zone(&rules.time_zone)?);
            let hidden = report::hidden_subjects(tx, actor)?;
            let ids: Vec<String> = match agents {
                Some(list) => list.to_vec(),
                None => agents::directory(tx)?
                    .into_iter()
                    .map(|e| e.agent)
                    .collect(),
            };
            let ids: Vec<String> = ids.into_iter().filter(|a| !hidden.contains(a)).collect();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            // A team is read in a few statements (each agent a seek);
            // everyone in one pass over the summary.
            let team = ids.len() <= TEAM_AT_MOST;
            let scope = if team {
                AgentScope::Team(&ids)
            } else {
                AgentScope::Everyone
            };
            let names = agents::current_names_in(tx, scope)?;
            let zones = days::zones_in(tx, scope)?;
            let zone_of = |a: &str| zones.get(a).copied().unwrap_or(default_zone);
            let today_of = |a: &str| local_date(zone_of(a), now);
            let Some((first, last)) = ids.iter().map(|a| today_of(a)).fold(None, |acc, d| {
                Some(acc.map_or((d, d), |(lo, hi): (NaiveDate, NaiveDate)| {
                    (lo.min(d), hi.max(d))
                }))
            }) else {
                return Ok(Vec::new());
            };
            let first = first - Duration::days(1);
            let days_query = DaysQuery {
                from: first,
                to: last,
                scope,
                grace,
                now,
                default_zone,
            };
            let by_day: HashMap<(String, NaiveDate), AttendanceDay> =
                report::build_days(tx, &days_query, &hidden)?
                    .into_iter()
                    .map(|day| ((day.agent.to_string(), day.date), day))
                    .collect();
            let queued = queued_days(tx, scope, first, last)?;
            let mut out: Vec<AgentToday> = ids
                .iter()
                .map(|agent| {
                    let date = today_of(agent);
                    let key = |d: NaiveDate| (agent.clone(), d);
                    AgentToday::from_days(
                        agent,
                        names.get(agent).map(|n| n.to_string()),
                        date,
                        zone_of(agent).name(),
                        by_day.get(&key(date)),
                        by_day.get(&key(date - Duration::days(1))),
                        queued.contains(&(agent.clone(), day_number(date))),
                    )
                })
                .collect();
            out.sort_by_cached_key(|row| {
                (
                    row.name.as_deref().unwrap_or(&row.agent).to_lowercase(),
                    row.agent.clone(),
                )
            });
            Ok(out)
        })
    }

    /// The latest attendance event of each of `agents` that has one (own
    /// and imported), for the rows a page shows.
    pub fn last_events(
        &self,
        actor: &Actor,
        agents: &[String],
    ) -> Result<HashMap<String, LastEvent>> {
        actor.may_supervise()?;
        let mut team = agents.to_vec();
        team.sort_unstable();
        team.dedup();
        self.read(|tx| {
            let mut out = HashMap::new();
            for chunk in team.chunks(TEAM_AT_MOST) {
                last_events(tx, chunk, &mut out)?;
            }
            Ok(out)
        })
    }
}

/// The latest event of each agent of `team` into `out`: of each agent's
/// own accepted, own rejected and imported events (each found by a seek:
/// the newest on (agent, accepted, seq), on (agent, captured_at)), the
/// latest captured; within one second the later recorded.
fn last_events(
    tx: &Transaction<'_>,
    team: &[String],
    out: &mut HashMap<String, LastEvent>,
) -> Result<()> {
    let mut params = Vec::new();
    let agents = team_rows(team, &mut params);
    let own = |accepted: i64| {
        format!(
            "SELECT e.agent, e.kind, e.accepted, e.captured_at, e.site_id, CAST({accepted} AS BIGINT) AS source, e.seq
             FROM team JOIN attendance_events e ON e.agent = team.agent AND e.accepted = {accepted}
              AND e.seq = (SELECT MAX(seq) FROM attendance_events x
                           WHERE x.agent = team.agent AND x.accepted = {accepted})"
        )
    };
    let sql = format!(
        "WITH team(agent) AS ({agents})
         {} UNION ALL {} UNION ALL
         SELECT s.agent, s.kind, s.accepted, s.captured_at, s.site_id, CAST(2 AS BIGINT) AS source, s.seq
         FROM team JOIN sync_attendance s ON s.agent = team.agent
          AND s.captured_at = (SELECT MAX(captured_at) FROM sync_attendance y
                               WHERE y.agent = team.agent)",
        own(1),
        own(0)
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let corrupt = |e: Error| Error::Corrupt(format!("stored event: {e}"));
    // (the event, its source: own accepted 1, own rejected 0, imported 2,
    // and its seq: in the store's log for its own, the device's for
    // imported ones)
    let mut latest: HashMap<String, (LastEvent, i64, i64)> = HashMap::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(1)?;
        let event = LastEvent {
            kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
            accepted: r.get(2)?,
            at: from_unix("captured_at", r.get(3)?).map_err(corrupt)?,
            site_id: r.get(4)?,
        };
        let (source, seq): (i64, i64) = (r.get(5)?, r.get(6)?);
        let own = |source: i64| source != 2;
        match latest.entry(r.get(0)?) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((event, source, seq));
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let (held, held_source, held_seq) = slot.get();
                // Within one second: the later recorded of two own events
                // (or of two imported ones), else own before imported.
                let later = if event.at != held.at {
                    event.at > held.at
                } else if own(source) == own(*held_source) {
                    seq > *held_seq
                } else {
                    own(source)
                };
                if later {
                    slot.insert((event, source, seq));
                }
            }
        }
    }
    out.extend(
        latest
            .into_iter()
            .map(|(agent, (event, ..))| (agent, event)),
    );
    Ok(())
}

/// The queue's (agent, day) pairs between two local dates, of the agents
/// in `scope` (seeks on the queue's key) or of everyone.
fn queued_days(
    tx: &Transaction<'_>,
    scope: AgentScope<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashSet<(String, i64)>> {
    let mut params = vec![
        Value::Integer(day_number(from)),
        Value::Integer(day_number(to)),
    ];
    let only = scope.and_in("agent", &mut params);
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT agent, day FROM queue_days WHERE day BETWEEN ?1 AND ?2{only}"
    ))?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}
