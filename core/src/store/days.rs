//! Shifts and the per-day attendance summary.
//!
//! `attendance_days` is derived from attendance events as they are recorded
//! (like an index: rebuildable, not chained). A month's report then reads one
//! row per agent-day, which is what keeps a 1,000,000-event report fast
//! (PRODUCT.md §11). Days are the agent's local dates in their shift's zone.

use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::{OptionalExtension, Transaction};

use super::Store;
use crate::error::{Error, Result};
use crate::evaluation::Reason;
use crate::shift::{Shift, WeekdaySet, day_number, local_date};
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

impl Store {
    /// Sets an agent's shift (admins). If the zone changes, the agent's
    /// days are recomputed in the new zone.
    pub fn set_shift(
        &self,
        actor: &Actor,
        agent: &str,
        shift: &Shift,
        now: DateTime<Utc>,
    ) -> Result<()> {
        actor.must_be_admin()?;
        validate_id("agent", agent)?;
        let default_zone = self.default_zone()?;
        self.write(|tx| {
            let before = zone_of(tx, agent, default_zone)?;
            tx.prepare_cached(
                "INSERT INTO shifts (agent, start_min, end_min, days, tz, set_at, actor_id, actor_role)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (agent) DO UPDATE SET start_min = excluded.start_min,
                   end_min = excluded.end_min, days = excluded.days, tz = excluded.tz,
                   set_at = excluded.set_at, actor_id = excluded.actor_id,
                   actor_role = excluded.actor_role",
            )?
            .execute(rusqlite::params![
                agent,
                minutes_of(shift.start),
                minutes_of(shift.end),
                shift.days.bits(),
                shift.tz.name(),
                now.timestamp(),
                actor.id,
                actor.role.as_str(),
            ])?;
            if before != shift.tz {
                rebuild_agent(tx, agent, shift.tz)?;
            }
            Ok(())
        })
    }

    pub fn shift(&self, agent: &str) -> Result<Option<Shift>> {
        self.read(|tx| load_shift(tx, agent))
    }

    /// Every agent's shift.
    pub fn shifts(&self) -> Result<Vec<(String, Shift)>> {
        self.read(load_shifts)
    }

    /// The zone of agents without a shift (rules).
    pub(super) fn default_zone(&self) -> Result<Tz> {
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

pub(super) fn parse_zone(name: &str) -> Result<Tz> {
    Tz::from_str(name).map_err(|_| Error::Corrupt(format!("unknown stored time zone {name:?}")))
}

fn shift_from_row(r: &rusqlite::Row<'_>) -> Result<(String, Shift)> {
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

pub(super) fn load_shifts(tx: &Transaction<'_>) -> Result<Vec<(String, Shift)>> {
    let mut stmt =
        tx.prepare_cached("SELECT agent, start_min, end_min, days, tz FROM shifts ORDER BY agent")?;
    let rows = stmt.query_map([], |r| Ok(shift_from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// The zone an agent's days are counted in.
pub(super) fn zone_of(tx: &Transaction<'_>, agent: &str, default_zone: Tz) -> Result<Tz> {
    let tz: Option<String> = tx
        .prepare_cached("SELECT tz FROM shifts WHERE agent = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?;
    match tz {
        Some(name) => parse_zone(&name),
        None => Ok(default_zone),
    }
}

/// Folds one recorded event into its agent's local day.
pub(super) fn fold(tx: &Transaction<'_>, tz: Tz, e: &DayInput<'_>) -> Result<()> {
    let at = DateTime::from_timestamp(e.captured_at, 0)
        .ok_or_else(|| Error::invalid("captured_at", "out of range"))?;
    let day = day_number(local_date(tz, at));
    let new_day = tx
        .prepare_cached(
            "INSERT INTO attendance_days (agent, day, tz) VALUES (?2, ?1, ?3)
             ON CONFLICT (agent, day) DO NOTHING",
        )?
        .execute((day, e.agent, tz.name()))?;
    if new_day > 0 {
        tx.prepare_cached("INSERT OR IGNORE INTO attendance_agents (agent) VALUES (?1)")?
            .execute([e.agent])?;
    }
    // SET expressions all read the row as it was before the update.
    match (e.accepted, e.kind) {
        (true, EventKind::CheckIn) => {
            tx.prepare_cached(
                "UPDATE attendance_days SET unclosed = unclosed + open, open = 1,
                   first_in_site = CASE WHEN first_in IS NULL OR ?3 < first_in
                                        THEN ?4 ELSE first_in_site END,
                   first_in = CASE WHEN first_in IS NULL OR ?3 < first_in
                                   THEN ?3 ELSE first_in END
                 WHERE day = ?1 AND agent = ?2",
            )?
            .execute((day, e.agent, e.captured_at, e.site_id))?;
        }
        (true, EventKind::CheckOut) => {
            tx.prepare_cached(
                "UPDATE attendance_days SET open = 0,
                   last_out_site = CASE WHEN last_out IS NULL OR ?3 >= last_out
                                        THEN ?4 ELSE last_out_site END,
                   last_out = CASE WHEN last_out IS NULL OR ?3 >= last_out
                                   THEN ?3 ELSE last_out END
                 WHERE day = ?1 AND agent = ?2",
            )?
            .execute((day, e.agent, e.captured_at, e.site_id))?;
        }
        (false, _) => {
            // A rejection has exactly one deciding reason: the first.
            let reason = e.reasons.first().map(|r| r.as_str()).unwrap_or("unknown");
            tx.prepare_cached(
                "UPDATE attendance_days SET rejected = rejected + 1 WHERE day = ?1 AND agent = ?2",
            )?
            .execute((day, e.agent))?;
            tx.prepare_cached(
                "INSERT INTO attendance_day_rejections (day, agent, reason, count)
                 VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (agent, day, reason) DO UPDATE SET count = count + 1",
            )?
            .execute((day, e.agent, reason))?;
        }
    }
    Ok(())
}

/// Recomputes an agent's days from their events (after a zone change).
pub(super) fn rebuild_agent(tx: &Transaction<'_>, agent: &str, tz: Tz) -> Result<()> {
    tx.execute("DELETE FROM attendance_days WHERE agent = ?1", [agent])?;
    tx.execute(
        "DELETE FROM attendance_day_rejections WHERE agent = ?1",
        [agent],
    )?;
    let mut stmt = tx.prepare(
        "SELECT kind, accepted, reasons, site_id, captured_at FROM attendance_events
         WHERE agent = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([agent])?;
    while let Some(r) = rows.next()? {
        fold_row(tx, tz, agent, r)?;
    }
    Ok(())
}

/// Recomputes every day (after upgrading a store that predates the summary).
pub(super) fn rebuild_all(tx: &Transaction<'_>, default_zone: Tz) -> Result<()> {
    tx.execute("DELETE FROM attendance_days", [])?;
    tx.execute("DELETE FROM attendance_day_rejections", [])?;
    tx.execute("DELETE FROM attendance_agents", [])?;
    let mut stmt = tx.prepare(
        "SELECT kind, accepted, reasons, site_id, captured_at, agent FROM attendance_events
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let agent: String = r.get(5)?;
        let tz = zone_of(tx, &agent, default_zone)?;
        fold_row(tx, tz, &agent, r)?;
    }
    Ok(())
}

fn fold_row(tx: &Transaction<'_>, tz: Tz, agent: &str, r: &rusqlite::Row<'_>) -> Result<()> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored event is unreadable: {e}"));
    let kind: String = r.get(0)?;
    let reasons: String = r.get(2)?;
    let reasons = reasons
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Reason::parse("reasons", s))
        .collect::<Result<Vec<_>>>()
        .map_err(corrupt)?;
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
