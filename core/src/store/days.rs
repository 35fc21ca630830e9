//! Shifts and the per-day attendance summary.
//!
//! `attendance_months` is derived from attendance events as they are
//! recorded (like an index: rebuildable, not chained): per agent and local
//! month one packed row of day slots (`store::month`). A month's report then
//! reads one row per agent, which is what keeps a 1,000,000-event report
//! fast (PRODUCT.md §11). Days are the agent's local dates in their shift's
//! zone.

use std::collections::HashMap;
use std::str::FromStr;

use super::agent_scope::AgentScope;
use super::db::{OptionalExtension, Transaction, params_from_iter};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};

use super::connection::Store;
use super::memo::{self, EventMemo};
use super::month::{self, month_key};
use super::{feed, queue_marks};
use crate::attendance::AttendanceEvent;
use crate::config_feed::{ConfigBody, ShiftPatternRow, ShiftRows};
use crate::console_user::UserRole;
use crate::error::{Error, Result};
use crate::evaluation::Reason;
use crate::shift::{
    Shift, ShiftSchedule, ShiftVersion, WeekdaySet, date_from_day_number, day_number, local_date,
};
use crate::types::{Actor, EventKind, validate_id};

/// What folding an event into its day needs.
pub(super) struct DayInput<'a> {
    pub agent: &'a str,
    pub kind: EventKind,
    pub accepted: bool,
    pub reasons: &'a [Reason],
    pub site_id: Option<&'a str>,
    pub captured_at: i64,
}

impl<'a> DayInput<'a> {
    /// What an attendance event contributes to its day.
    pub(super) fn of(event: &'a AttendanceEvent) -> DayInput<'a> {
        DayInput {
            agent: &event.agent,
            kind: event.kind,
            accepted: event.accepted,
            reasons: &event.reasons,
            site_id: event.site_id.as_deref(),
            captured_at: event.captured_at.timestamp(),
        }
    }
}

impl Store {
    /// Sets an agent's shift for every day, replacing its history
    /// (admins). If the zone changes, the agent's days are recomputed in the
    /// new zone.
    pub fn set_shift(
        &self,
        actor: &Actor,
        agent: &str,
        shift: &Shift,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_shift_from(actor, agent, None, shift, None, now)
    }

    /// Sets the shift from the local date `from` on (admins); the days
    /// before it keep the versions they had. The version from `from` starts
    /// as the one in force that day: `shift` replaces its pattern on
    /// `shift.days`, the `off` weekdays become days off, and the other
    /// weekdays keep their pattern. With no date the shift applies to every
    /// day and replaces the history (`off` is then already implied). An
    /// agent has one zone (the summary counts their days in it): the zone
    /// given applies to all versions, and a change recomputes the agent's
    /// days.
    pub fn set_shift_from(
        &self,
        actor: &Actor,
        agent: &str,
        from: Option<NaiveDate>,
        shift: &Shift,
        off: Option<WeekdaySet>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        actor.must_be_admin()?;
        validate_id("agent", agent)?;
        let default_zone = self.default_zone()?;
        self.write(|tx| write_shift(tx, actor, agent, from, shift, off, now, default_zone))
    }

    /// [`Store::set_shift_from`] for a console user (PRODUCT.md §12.4
    /// "Shifts on the console"): admins for anyone, supervisors for the
    /// agents of their team as stored now; disabled users for no one.
    pub fn set_shift_as_user(
        &self,
        user_id: &str,
        agent: &str,
        from: Option<NaiveDate>,
        shift: &Shift,
        off: Option<WeekdaySet>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        validate_id("agent", agent)?;
        let default_zone = self.default_zone()?;
        self.write(|tx| {
            let user = super::users::load_user(tx, user_id)?
                .filter(|u| !u.disabled)
                .ok_or_else(|| Error::PermissionDenied(format!("no enabled user {user_id}")))?;
            // Recorded as the user who set it, in their own role.
            let actor = match user.role {
                UserRole::Admin => Actor::admin(user.id.clone()),
                UserRole::Supervisor if user.team.iter().any(|a| a == agent) => {
                    Actor::supervisor(user.id.clone())
                }
                UserRole::Supervisor => {
                    return Err(Error::PermissionDenied(format!(
                        "{agent} is not in the team of {user_id}"
                    )));
                }
            };
            write_shift(tx, &actor, agent, from, shift, off, now, default_zone)
        })
    }

    /// An agent's shift history: agents read their own, supervisors and
    /// admins anyone's.
    pub fn shift_schedule(&self, actor: &Actor, agent: &str) -> Result<Option<ShiftSchedule>> {
        actor.own_scope(Some(agent), "shifts")?;
        self.read(|tx| Ok(load_schedules(tx, Some(agent))?.pop().map(|(_, s)| s)))
    }

    /// An agent's shift: agents read their own, supervisors and admins
    /// anyone's.
    /// The zone an agent's days are counted in (their shift's, else the
    /// rules' default).
    pub fn agent_zone(&self, agent: &str) -> Result<Zone> {
        let default_zone = self.default_zone()?;
        self.read(|tx| zone_of(tx, agent, default_zone))
    }

    pub fn shift(&self, actor: &Actor, agent: &str) -> Result<Option<Shift>> {
        actor.own_scope(Some(agent), "shifts")?;
        self.read(|tx| load_shift(tx, agent))
    }

    /// Every agent's shift (agents: only their own).
    pub fn shifts(&self, actor: &Actor) -> Result<Vec<(String, Shift)>> {
        let own = actor.own_scope(None, "shifts")?;
        let all = self.read(load_shifts)?;
        Ok(match own {
            Some(agent) => all.into_iter().filter(|(a, _)| *a == agent).collect(),
            None => all,
        })
    }

    /// The zone of agents without a shift (rules).
    pub(super) fn default_zone(&self) -> Result<Zone> {
        parse_zone(&self.rules().time_zone)
    }
}

fn minutes_of(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

fn time_of(minutes: i64) -> Result<NaiveTime> {
    u32::try_from(minutes)
        .ok()
        .and_then(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0))
        .ok_or_else(|| Error::Corrupt(format!("stored shift time {minutes} is out of range")))
}

pub(super) fn parse_zone(name: &str) -> Result<Zone> {
    Zone::from_str(name).map_err(|_| Error::Corrupt(format!("unknown stored time zone {name:?}")))
}

fn shift_from_row(r: &super::db::Row<'_>) -> Result<(String, Shift)> {
    let days: i64 = r.get(3)?;
    let tz: String = r.get(4)?;
    let days = u8::try_from(days)
        .map_err(|_| Error::Corrupt("stored shift days out of range".into()))
        .and_then(WeekdaySet::from_bits)?;
    Ok((
        r.get(0)?,
        Shift::new(
            time_of(r.get(1)?)?,
            time_of(r.get(2)?)?,
            days,
            parse_zone(&tz)?,
        )?,
    ))
}

pub(super) fn load_shift(tx: &Transaction<'_>, agent: &str) -> Result<Option<Shift>> {
    tx.prepare_cached("SELECT agent, start_min, end_min, days, tz FROM shifts WHERE agent = ?1")?
        .query_row([agent], |r| Ok(shift_from_row(r)))
        .optional()?
        .transpose()
        .map(|s| s.map(|(_, shift)| shift))
}

/// Every agent's shift history (or one agent's), in agent order.
pub(super) fn load_schedules(
    tx: &Transaction<'_>,
    agent: Option<&str>,
) -> Result<Vec<(String, ShiftSchedule)>> {
    load_schedules_in(tx, AgentScope::of(agent))
}

/// The shift schedules of the agents in `scope`, by agent.
pub(super) fn load_schedules_in(
    tx: &Transaction<'_>,
    scope: AgentScope<'_>,
) -> Result<Vec<(String, ShiftSchedule)>> {
    let mut params = Vec::new();
    let only = scope.and_in("v.agent", &mut params);
    let mut stmt = tx.prepare_cached(&tx.dialect(&format!(
        "SELECT v.agent, v.start_min, v.end_min, v.days, s.tz, v.from_day
         FROM shift_versions v JOIN shifts s ON s.agent = v.agent
         WHERE 1 = 1{only}
         ORDER BY v.agent, IFNULL(v.from_day, -1000000000)"
    )))?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out: Vec<(String, ShiftSchedule)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (agent, shift) = shift_from_row(&r)?;
        let from = r
            .get::<_, Option<i64>>(5)?
            .map(|d| {
                date_from_day_number(d)
                    .ok_or_else(|| Error::Corrupt(format!("stored shift day {d} out of range")))
            })
            .transpose()?;
        let version = ShiftVersion { from, shift };
        match out.last_mut() {
            Some((a, schedule)) if *a == agent => schedule.versions.push(version),
            _ => out.push((
                agent,
                ShiftSchedule {
                    versions: vec![version],
                },
            )),
        }
    }
    Ok(out)
}

/// The zones of the agents in `scope` that have a shift (the others keep
/// the rules' zone).
pub(super) fn zones_in(
    tx: &Transaction<'_>,
    scope: AgentScope<'_>,
) -> Result<HashMap<String, Zone>> {
    let mut params = Vec::new();
    let only = scope.and_in("agent", &mut params);
    let mut stmt = tx.prepare_cached(&format!("SELECT agent, tz FROM shifts WHERE 1 = 1{only}"))?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        out.insert(r.get::<_, String>(0)?, parse_zone(r.get_ref(1)?.as_str()?)?);
    }
    Ok(out)
}

pub(super) fn load_shifts(tx: &Transaction<'_>) -> Result<Vec<(String, Shift)>> {
    let mut stmt =
        tx.prepare_cached("SELECT agent, start_min, end_min, days, tz FROM shifts ORDER BY agent")?;
    let rows = stmt.query_map([], |r| Ok(shift_from_row(r)))?;
    rows.map(|r| r?).collect()
}

fn pattern_row(r: &super::db::Row<'_>) -> super::db::Result<ShiftPatternRow> {
    Ok(ShiftPatternRow {
        from_day: r.get(0)?,
        start_min: r.get(1)?,
        end_min: r.get(2)?,
        days: r.get(3)?,
        set_at: r.get(4)?,
        actor_id: r.get(5)?,
        actor_role: r.get(6)?,
    })
}

/// An agent's shift as the configuration feed carries it (the zone, the
/// shift last set, every version), `None` when they have none.
pub(super) fn shift_rows(tx: &Transaction<'_>, agent: &str) -> Result<Option<ShiftRows>> {
    let current: Option<(String, ShiftPatternRow)> = tx
        .prepare_cached(
            "SELECT NULL, start_min, end_min, days, set_at, actor_id, actor_role, tz
             FROM shifts WHERE agent = ?1",
        )?
        .query_row([agent], |r| Ok((r.get(7)?, pattern_row(r)?)))
        .optional()?;
    let Some((tz, current)) = current else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(&tx.dialect(
        "SELECT from_day, start_min, end_min, days, set_at, actor_id, actor_role
         FROM shift_versions WHERE agent = ?1
         ORDER BY IFNULL(from_day, -1000000000), start_min, end_min, days",
    ))?;
    let versions = stmt
        .query_map([agent], pattern_row)?
        .collect::<super::db::Result<_>>()?;
    Ok(Some(ShiftRows {
        agent: agent.to_string(),
        tz,
        current,
        versions,
    }))
}

/// Every agent with a shift, in agent order.
pub(super) fn agents_with_shifts(tx: &Transaction<'_>) -> Result<Vec<String>> {
    let mut stmt = tx.prepare_cached("SELECT agent FROM shifts ORDER BY agent")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// Replaces an agent's shift with `rows` (a device applying its server's),
/// recomputing their days when the zone changes.
pub(super) fn replace_shift(
    tx: &Transaction<'_>,
    rows: &ShiftRows,
    default_zone: Zone,
) -> Result<()> {
    let before = zone_of(tx, &rows.agent, default_zone)?;
    let tz = parse_zone(&rows.tz)?;
    tx.execute("DELETE FROM shift_versions WHERE agent = ?1", [&rows.agent])?;
    for v in &rows.versions {
        insert_version(tx, &rows.agent, v)?;
    }
    write_current(tx, &rows.agent, &rows.tz, &rows.current)?;
    if before != tz {
        rebuild_agent(tx, &rows.agent, tz)?;
    }
    Ok(())
}

fn insert_version(tx: &Transaction<'_>, agent: &str, v: &ShiftPatternRow) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO shift_versions (agent, from_day, start_min, end_min, days, set_at,
           actor_id, actor_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(super::db::params![
        agent,
        v.from_day,
        v.start_min,
        v.end_min,
        v.days,
        v.set_at,
        v.actor_id,
        v.actor_role,
    ])?;
    Ok(())
}

/// The agent's zone and the shift last set (`shifts`).
fn write_current(tx: &Transaction<'_>, agent: &str, tz: &str, c: &ShiftPatternRow) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO shifts (agent, start_min, end_min, days, tz, set_at, actor_id, actor_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (agent) DO UPDATE SET start_min = excluded.start_min,
           end_min = excluded.end_min, days = excluded.days, tz = excluded.tz,
           set_at = excluded.set_at, actor_id = excluded.actor_id,
           actor_role = excluded.actor_role",
    )?
    .execute(super::db::params![
        agent,
        c.start_min,
        c.end_min,
        c.days,
        tz,
        c.set_at,
        c.actor_id,
        c.actor_role,
    ])?;
    Ok(())
}

/// Forgets every shift (a device about to take its server's): agents'
/// days are then counted in the default zone until their shift arrives.
pub(super) fn clear_shifts(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM shift_versions", [])?;
    tx.execute("DELETE FROM shifts", [])?;
    Ok(())
}

/// The zone an agent's days are counted in.
pub(super) fn zone_of(tx: &Transaction<'_>, agent: &str, default_zone: Zone) -> Result<Zone> {
    let tz: Option<String> = tx
        .prepare_cached("SELECT tz FROM shifts WHERE agent = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?;
    match tz {
        Some(name) => parse_zone(&name),
        None => Ok(default_zone),
    }
}

/// [`zone_of`] remembered per agent, for passes over many events.
pub(super) fn zone_cached(
    tx: &Transaction<'_>,
    zones: &mut std::collections::HashMap<String, Zone>,
    agent: &str,
    default_zone: Zone,
) -> Result<Zone> {
    if let Some(tz) = zones.get(agent) {
        return Ok(*tz);
    }
    let tz = zone_of(tx, agent, default_zone)?;
    zones.insert(agent.to_string(), tz);
    Ok(tz)
}

/// Folds one recorded event into its agent's local day (the month slot).
pub(super) fn fold(tx: &Transaction<'_>, tz: Zone, e: &DayInput<'_>) -> Result<()> {
    fold_remembering(tx, tz, e, &mut EventMemo::default())
}

/// [`fold`] with the month rows and site ids remembered from earlier folds
/// (`store::memo`); updates `memo` with what it writes.
pub(super) fn fold_remembering(
    tx: &Transaction<'_>,
    tz: Zone,
    e: &DayInput<'_>,
    memo: &mut EventMemo,
) -> Result<()> {
    let (date, key) = day_of(tz, e.captured_at)?;
    let remembered = memo
        .months
        .get(e.agent)
        .filter(|(k, _)| *k == key)
        .map(|(_, m)| *m);
    let (mut month, existed) = match remembered {
        Some(month) => (month, true),
        None => load_month(tx, e.agent, key, tz)?,
    };
    let site = if e.accepted {
        site_id(tx, e.site_id, &mut memo.summary_sites)?
    } else {
        0
    };
    apply_to_day(&mut month[date.day0() as usize], e, site)?;
    write_month(tx, e.agent, key, &month, existed)?;
    // The agent's slot is usually there: replaced in place, no key built.
    match memo.months.get_mut(e.agent) {
        Some(slot) => *slot = (key, month),
        None => {
            memo::remember(&mut memo.months, e.agent, (key, month));
        }
    }
    Ok(())
}

/// An agent's stored month and whether it was stored; a month not yet
/// stored starts empty, and the agent's zone is recorded for it.
fn load_month(
    tx: &Transaction<'_>,
    agent: &str,
    key: i64,
    tz: Zone,
) -> Result<(month::Month, bool)> {
    let stored = tx
        .prepare_cached("SELECT days FROM attendance_months WHERE agent = ?1 AND month = ?2")?
        .query_row((agent, key), |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    match stored {
        Some(bytes) => month::decode(key, &bytes)
            .map(|month| (month, true))
            .ok_or_else(|| Error::Corrupt("an attendance summary month is damaged".into())),
        None => {
            // Zone changes rebuild the agent's months, so one zone per agent.
            tx.prepare_cached(
                "INSERT INTO attendance_agents (agent, tz) VALUES (?1, ?2)
                 ON CONFLICT (agent) DO UPDATE SET tz = excluded.tz",
            )?
            .execute((agent, tz.name()))?;
            Ok(([month::Day::default(); month::DAYS], false))
        }
    }
}

/// Writes an agent's month: replaces the stored row, or inserts it.
fn write_month(
    tx: &Transaction<'_>,
    agent: &str,
    key: i64,
    month: &month::Month,
    stored: bool,
) -> Result<()> {
    let sql = if stored {
        "UPDATE attendance_months SET days = ?3 WHERE agent = ?1 AND month = ?2"
    } else {
        "INSERT INTO attendance_months (agent, month, days) VALUES (?1, ?2, ?3)"
    };
    let written = tx
        .prepare_cached(sql)?
        .execute((agent, key, month::encode(key, month)))?;
    if written != 1 {
        return Err(Error::Corrupt(format!(
            "the attendance summary of {agent} changed while it was being written"
        )));
    }
    Ok(())
}

/// Months an import folds into, held in memory and each written once when
/// the import writes what it gathered: a device's batch touches one
/// agent's one or two months a hundred times, and on PostgreSQL every
/// statement is a round trip.
#[derive(Default)]
pub(super) struct MonthBuffer {
    /// (agent, month key) → the month, whether it is stored, whether it
    /// changed since it was read or written.
    months: HashMap<(String, i64), (month::Month, bool, bool)>,
    sites: HashMap<String, u32>,
}

/// Months a buffer keeps past a write (about 2.5 KB each); beyond it the
/// next write forgets them, which costs a re-read and nothing else.
const MONTHS_BUFFERED: usize = 1024;

impl MonthBuffer {
    /// [`fold`], into the buffered month.
    pub(super) fn fold(&mut self, tx: &Transaction<'_>, tz: Zone, e: &DayInput<'_>) -> Result<()> {
        let (date, key) = day_of(tz, e.captured_at)?;
        let site = if e.accepted {
            site_id(tx, e.site_id, &mut self.sites)?
        } else {
            0
        };
        let slot = match self.months.entry((e.agent.to_string(), key)) {
            std::collections::hash_map::Entry::Occupied(slot) => slot.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let (month, stored) = load_month(tx, e.agent, key, tz)?;
                slot.insert((month, stored, false))
            }
        };
        apply_to_day(&mut slot.0[date.day0() as usize], e, site)?;
        slot.2 = true;
        Ok(())
    }

    /// Writes every month changed since it was read or last written.
    pub(super) fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
        for ((agent, key), (month, stored, changed)) in &mut self.months {
            if *changed {
                write_month(tx, agent, *key, month, *stored)?;
                *stored = true;
                *changed = false;
            }
        }
        if self.months.len() > MONTHS_BUFFERED {
            self.months.clear();
        }
        Ok(())
    }
}

/// An event's local date in `tz` and the key of its month.
pub(super) fn day_of(tz: Zone, captured_at: i64) -> Result<(NaiveDate, i64)> {
    let at = DateTime::from_timestamp(captured_at, 0)
        .ok_or_else(|| Error::invalid("captured_at", "out of range"))?;
    let date = local_date(tz, at);
    Ok((date, month_key(date)))
}

/// What one event does to its day's slot (`site` is the summary's number
/// of its site, used for accepted events).
pub(super) fn apply_to_day(day: &mut month::Day, e: &DayInput<'_>, site: u32) -> Result<()> {
    match (e.accepted, e.kind) {
        (true, EventKind::CheckIn) => day.check_in(e.captured_at, site),
        (true, EventKind::CheckOut) => day.check_out(e.captured_at, site),
        // A rejection has exactly one deciding reason: the first.
        (false, _) => match e.reasons.first() {
            Some(reason) => day.reject(*reason),
            None => return Err(Error::invalid("reasons", "a rejection names its reason")),
        },
    }
    Ok(())
}

/// The summary's number for a site id (0 = none), interned on first use;
/// `known` remembers the numbers already looked up.
fn site_id(
    tx: &Transaction<'_>,
    site: Option<&str>,
    known: &mut HashMap<String, u32>,
) -> Result<u32> {
    let Some(site) = site else {
        return Ok(0);
    };
    if let Some(id) = known.get(site) {
        return Ok(*id);
    }
    let select = "SELECT id FROM summary_sites WHERE site = ?1";
    let found: Option<i64> = tx
        .prepare_cached(select)?
        .query_row([site], |r| r.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            // Another writer may intern the same site between the two
            // statements (several server instances): its id is as good.
            tx.prepare_cached(
                "INSERT INTO summary_sites (site) VALUES (?1) ON CONFLICT DO NOTHING",
            )?
            .execute([site])?;
            tx.prepare_cached(select)?.query_row([site], |r| r.get(0))?
        }
    };
    let id = u32::try_from(id)
        .map_err(|_| Error::Corrupt(format!("summary site id {id} out of range")))?;
    known.insert(site.to_string(), id);
    Ok(id)
}

/// Adds to `differ` each remembered month row or site id that differs
/// from its table; returns how many are remembered.
#[cfg(test)]
pub(super) fn memo_disagreements(
    tx: &Transaction<'_>,
    memo: &EventMemo,
    differ: &mut Vec<String>,
) -> Result<usize> {
    for (agent, (key, remembered)) in &memo.months {
        let stored: Vec<u8> = tx.query_row(
            "SELECT days FROM attendance_months WHERE agent = ?1 AND month = ?2",
            (agent, key),
            |r| r.get(0),
        )?;
        if month::decode(*key, &stored).as_ref() != Some(remembered) {
            differ.push(format!("{agent}: month {key}"));
        }
    }
    for (site, id) in &memo.summary_sites {
        let stored: i64 = tx.query_row(
            "SELECT id FROM summary_sites WHERE site = ?1",
            [site],
            |r| r.get(0),
        )?;
        if stored != i64::from(*id) {
            differ.push(format!("summary site {site}"));
        }
    }
    Ok(memo.months.len() + memo.summary_sites.len())
}

/// Writes a shift version (see [`Store::set_shift_from`]) for `actor`,
/// whose authority the caller has checked.
#[allow(clippy::too_many_arguments)]
fn write_shift(
    tx: &Transaction<'_>,
    actor: &Actor,
    agent: &str,
    from: Option<NaiveDate>,
    shift: &Shift,
    off: Option<WeekdaySet>,
    now: DateTime<Utc>,
    default_zone: Zone,
) -> Result<()> {
    feed::refuse_if_enrolled(tx, "the shifts")?;
    let before = zone_of(tx, agent, default_zone)?;
    let from_day = from.map(day_number);
    let mut patterns: Vec<Shift> = match from {
        None => Vec::new(),
        Some(date) => load_schedules(tx, Some(agent))?
            .pop()
            .map(|(_, schedule)| schedule.version_on(date).iter().map(|v| v.shift).collect())
            .unwrap_or_default(),
    };
    // The new pattern and the days off take their weekdays from
    // the inherited patterns.
    let taken = match off {
        Some(off) => WeekdaySet::from_bits(shift.days.bits() | off.bits())?,
        None => shift.days,
    };
    patterns.retain_mut(|p| match p.days.without(taken) {
        Ok(days) => {
            p.days = days;
            true
        }
        Err(_) => false,
    });
    patterns.push(*shift);
    match from_day {
        None => tx
            .prepare_cached("DELETE FROM shift_versions WHERE agent = ?1")?
            .execute([agent])?,
        Some(day) => tx
            .prepare_cached("DELETE FROM shift_versions WHERE agent = ?1 AND from_day = ?2")?
            .execute((agent, day))?,
    };
    let row = |p: &Shift, from_day: Option<i64>| ShiftPatternRow {
        from_day,
        start_min: minutes_of(p.start),
        end_min: minutes_of(p.end),
        days: p.days.bits(),
        set_at: now.timestamp(),
        actor_id: actor.id.clone(),
        actor_role: actor.role.as_str().to_string(),
    };
    for p in &patterns {
        insert_version(tx, agent, &row(p, from_day))?;
    }
    // `shifts`: the agent's zone and the shift last set.
    write_current(tx, agent, shift.tz.name(), &row(shift, None))?;
    if before != shift.tz {
        rebuild_agent(tx, agent, shift.tz)?;
    }
    let rows = shift_rows(tx, agent)?
        .ok_or_else(|| Error::Corrupt(format!("the shift of {agent} was not stored")))?;
    feed::append(tx, agent, &ConfigBody::Shift(rows))?;
    // The review queue from the first day the change can touch (all of
    // them for a new history or zone: the queue bounds it).
    let first = match from {
        Some(date) if before == shift.tz => date,
        _ => NaiveDate::MIN,
    };
    queue_marks::mark(tx, Some(agent), first, now.date_naive() + Duration::days(1))
}

/// Recomputes an agent's days from their events (after a zone change).
pub(super) fn rebuild_agent(tx: &Transaction<'_>, agent: &str, tz: Zone) -> Result<()> {
    tx.execute("DELETE FROM attendance_months WHERE agent = ?1", [agent])?;
    tx.execute("DELETE FROM attendance_agents WHERE agent = ?1", [agent])?;
    let mut stmt = tx.prepare(
        "SELECT kind, accepted, reasons, site_id, captured_at FROM attendance_events
         WHERE agent = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([agent])?;
    while let Some(r) = rows.next()? {
        fold_row(tx, tz, agent, &r)?;
    }
    refold_imported_agent(tx, agent, tz)
}

/// Recomputes every day (after upgrading a store that predates the summary).
pub(super) fn rebuild_all(tx: &Transaction<'_>, default_zone: Zone) -> Result<()> {
    tx.execute("DELETE FROM attendance_months", [])?;
    tx.execute("DELETE FROM attendance_agents", [])?;
    let mut stmt = tx.prepare(
        "SELECT kind, accepted, reasons, site_id, captured_at, agent FROM attendance_events
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let agent: String = r.get(5)?;
        let tz = zone_of(tx, &agent, default_zone)?;
        fold_row(tx, tz, &agent, &r)?;
    }
    refold_imported(tx, default_zone)
}

fn fold_row(tx: &Transaction<'_>, tz: Zone, agent: &str, r: &super::db::Row<'_>) -> Result<()> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored event is unreadable: {e}"));
    let kind: String = r.get(0)?;
    let reasons: String = r.get(2)?;
    let reasons = AttendanceEvent::parse_reasons(&reasons).map_err(corrupt)?;
    let site: Option<String> = r.get(3)?;
    fold(
        tx,
        tz,
        &DayInput {
            agent,
            kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
            accepted: r.get(1)?,
            reasons: &reasons,
            site_id: site.as_deref(),
            captured_at: r.get(4)?,
        },
    )
}

/// Refolds an agent's imported attendance after their days were rebuilt
/// from local events (see `days::rebuild_agent`).
fn refold_imported_agent(tx: &Transaction<'_>, agent: &str, tz: Zone) -> Result<()> {
    let mut stmt = tx.prepare(
        "SELECT agent, kind, accepted, reasons, site_id, captured_at FROM sync_attendance
         WHERE agent = ?1 ORDER BY device_id, seq",
    )?;
    let mut rows = stmt.query([agent])?;
    while let Some(r) = rows.next()? {
        fold_imported_row(tx, tz, &r)?;
    }
    Ok(())
}

/// Folds every imported attendance event (devices' events a supervisor's
/// or the server's store holds, PRODUCT.md §9) into the summary.
fn refold_imported(tx: &Transaction<'_>, default_zone: Zone) -> Result<()> {
    let mut stmt = tx.prepare(
        "SELECT agent, kind, accepted, reasons, site_id, captured_at FROM sync_attendance
         ORDER BY agent, device_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let agent: String = r.get(0)?;
        let tz = zone_of(tx, &agent, default_zone)?;
        fold_imported_row(tx, tz, &r)?;
    }
    Ok(())
}

fn fold_imported_row(tx: &Transaction<'_>, tz: Zone, r: &super::db::Row<'_>) -> Result<()> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored imported event is unreadable: {e}"));
    let agent: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let reasons: String = r.get(3)?;
    let reasons = AttendanceEvent::parse_reasons(&reasons).map_err(corrupt)?;
    let site: Option<String> = r.get(4)?;
    fold(
        tx,
        tz,
        &DayInput {
            agent: &agent,
            kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
            accepted: r.get(2)?,
            reasons: &reasons,
            site_id: site.as_deref(),
            captured_at: r.get(5)?,
        },
    )
}
