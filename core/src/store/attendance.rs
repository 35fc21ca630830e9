//! Recording a judged fix: the one hot write path.

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing;
use crate::zone::Zone;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::memo::{self, AgentMemo, EventMemo};
use super::{
    audit, chain, consent, days, policy, queue_marks, restriction, server_link, server_role,
};
use crate::attendance::{AttendanceEvent, EventFilter, RetainedLocation};
use crate::device_clock::DeviceClock;
use crate::error::{Error, Result};
use crate::evaluation::{
    AccuracyBand, AgentContext, Fix, PositionClass, PreviousAccepted, judge_fix,
};
use crate::geofence::{GeoPoint, SiteIndex};
use crate::shift::local_date;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, EventKind, Permission, Role, validate_id};

/// A check-in or check-out as an app submits it.
#[derive(Debug, Clone, PartialEq)]
pub struct FixRequest {
    pub agent: String,
    pub kind: EventKind,
    pub fix: Fix,
}

const EVENT_COLUMNS: &str = "id, seq, agent, kind, accepted, reasons, site_id, position, distance_m, \
     accuracy_band, captured_at, recorded_at, consent_entry, coords_digest, actor_id, actor_role, \
     clock_offset_ms, last_exchange_server_at, \
     EXISTS (SELECT 1 FROM retained_locations r WHERE r.event_id = attendance_events.id)";

impl Store {
    /// Judges a fix and records the verdict (PRODUCT.md §3, §4). The fix's
    /// coordinates are dropped here unless an audit flag covers it.
    pub fn record_fix(
        &self,
        actor: &Actor,
        request: &FixRequest,
        now: DateTime<Utc>,
    ) -> Result<AttendanceEvent> {
        validate_id("agent", &request.agent)?;
        actor.may_act_for_agent(&request.agent)?;
        // Step 1 before anything is read or written.
        request.fix.validate()?;
        self.write_remembering(|tx, memo| {
            // The sites and rules as this transaction sees them: kept in the
            // memo, which any other commit (another process's change of the
            // configuration included) empties.
            let (sites, rules) = match &memo.config {
                Some(config) => config.clone(),
                None => memo
                    .config
                    .insert((self.site_index_in(tx)?, self.rules_in(tx)?))
                    .clone(),
            };
            // What judging needs about the agent, and their zone: read once,
            // then kept up to date below while only check-ins write.
            let agent = match memo.agents.get(&request.agent) {
                Some(agent) => agent,
                None => {
                    let remembered = AgentMemo {
                        context: agent_context(tx, &request.agent, &sites)?,
                        zone: days::zone_of(
                            tx,
                            &request.agent,
                            days::parse_zone(&rules.time_zone)?,
                        )?,
                    };
                    &*memo::remember(&mut memo.agents, &request.agent, remembered)
                }
            };
            let verdict = judge_fix(
                request.kind,
                &request.fix,
                &sites,
                &agent.context,
                &rules,
                now,
            )?;
            let tz = agent.zone;
            let id = Uuid::now_v7().to_string();

            let retained = if verdict.examined {
                let flags = match &memo.flags {
                    Some((loaded_at, flags)) if *loaded_at <= now => flags,
                    _ => &memo.flags.insert((now, audit::unexpired_flags(tx, now)?)).1,
                };
                let flags = audit::covering(flags, &request.agent, verdict.site_id.as_deref(), now);
                flags
                    .iter()
                    .map(|f| f.retain_until(&rules))
                    .max()
                    .map(|retain_until| RetainedLocation {
                        event_id: id.clone(),
                        lat: request.fix.lat,
                        lon: request.fix.lon,
                        accuracy_m: request.fix.accuracy_m,
                        captured_at: whole_second(request.fix.captured_at),
                        flag_ids: flags.iter().map(|f| f.id.clone()).collect(),
                        retain_until,
                        salt: crate::chain::new_salt().to_vec(),
                    })
            } else {
                None
            };

            let device_clock = match memo.device_clock {
                Some(clock) => clock,
                None => *memo.device_clock.insert(server_link::device_clock(tx)?),
            };
            let event = record_event_remembering(tx, tz, &mut memo.events, |seq| {
                Ok(AttendanceEvent {
                    id,
                    seq,
                    agent: request.agent.clone(),
                    kind: request.kind,
                    accepted: verdict.accepted,
                    reasons: verdict.reasons,
                    site_id: verdict.site_id,
                    position: verdict.position,
                    distance_m: verdict.distance_m,
                    accuracy_band: verdict.accuracy_band,
                    captured_at: whole_second(request.fix.captured_at),
                    recorded_at: whole_second(now),
                    consent_entry: verdict.consent_entry,
                    coords_digest: retained.as_ref().map(RetainedLocation::digest),
                    location_retained: retained.is_some(),
                    recorded_by: actor.clone(),
                    device_id: None,
                    device_clock,
                    clock_skew: false,
                })
            })?;
            if let Some(r) = &retained {
                insert_retained(tx, &event.agent, r)?;
            }
            // A server's own check-ins (the CLI's) reach its review queue.
            let server = match memo.is_server {
                Some(known) => known,
                None => *memo.is_server.insert(server_role::is_server(tx)?),
            };
            if server {
                let date = local_date(tz, event.captured_at);
                queue_marks::mark_known_server(tx, Some(&event.agent), date, date)?;
            }
            // This event is now the agent's previous accepted one (step 7
            // reads the latest by seq, and it has the highest).
            if event.accepted
                && let Some(agent) = memo.agents.get_mut(&request.agent)
            {
                agent.context.previous_accepted = Some(previous_accepted(&event, &sites));
            }
            Ok(event)
        })
    }

    /// Attendance events, oldest first. Agents see only their own.
    pub fn events(&self, actor: &Actor, filter: &EventFilter) -> Result<Vec<AttendanceEvent>> {
        let mut filter = filter.clone();
        if actor.role == Role::Agent {
            match &filter.agent {
                Some(agent) if agent != &actor.id => {
                    return Err(Error::PermissionDenied(
                        "agents may list only their own events".into(),
                    ));
                }
                _ => filter.agent = Some(actor.id.clone()),
            }
        }
        // One agent's events are a seek on its index (`?1 IS NULL OR …`
        // would scan every event of the store).
        let (one, one_imported) = if filter.agent.is_some() {
            ("agent = ?1", "a.agent = ?1")
        } else {
            ("CAST(?1 AS TEXT) IS NULL", "CAST(?1 AS TEXT) IS NULL")
        };
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM attendance_events
                 WHERE {one}
                   AND (CAST(?2 AS BIGINT) IS NULL OR captured_at >= ?2)
                   AND (CAST(?3 AS BIGINT) IS NULL OR captured_at <= ?3)
                 ORDER BY seq"
            ))?;
            let rows = stmt.query_map(
                (
                    filter.agent.as_deref(),
                    filter.from.map(|t| t.timestamp()),
                    filter.to.map(|t| t.timestamp()),
                ),
                |row| Ok(event_from_row(row)),
            )?;
            let mut events = Vec::new();
            for row in rows {
                events.push(row??);
            }
            // Events imported from devices (a supervisor's or the server's
            // store), read from the canonical text their chain carries.
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT a.device_id, e.canonical, a.clock_skew,
                        EXISTS (SELECT 1 FROM sync_retained_locations r WHERE r.event_id = a.event_id)
                 FROM sync_attendance a
                 JOIN sync_events e ON e.device_id = a.device_id AND e.seq = a.seq
                 WHERE {one_imported}
                   AND (CAST(?2 AS BIGINT) IS NULL OR a.captured_at >= ?2)
                   AND (CAST(?3 AS BIGINT) IS NULL OR a.captured_at <= ?3)
                   AND e.canonical IS NOT NULL
                 ORDER BY a.captured_at, a.device_id, a.seq"
            ))?;
            let mut rows = stmt.query((
                filter.agent.as_deref(),
                filter.from.map(|t| t.timestamp()),
                filter.to.map(|t| t.timestamp()),
            ))?;
            while let Some(r) = rows.next()? {
                let device: String = r.get(0)?;
                let canonical: String = r.get(1)?;
                let mut event =
                    AttendanceEvent::from_canonical(&canonical, &device).map_err(corrupt)?;
                event.clock_skew = r.get(2)?;
                event.location_retained = r.get(3)?;
                events.push(event);
            }
            Ok(events)
        })
    }

    /// One event by id.
    pub fn event(&self, id: &str) -> Result<Option<AttendanceEvent>> {
        self.read(|tx| load_event(tx, id))
    }

    /// Coordinates kept under an audit flag, for supervisors and admins.
    pub fn retained_location(
        &self,
        actor: &Actor,
        event_id: &str,
    ) -> Result<Option<RetainedLocation>> {
        actor.may_supervise()?;
        self.read(|tx| load_any_retained(tx, event_id))
    }
}

impl Store {
    /// Each remembered row of the check-in memo that differs from the
    /// table it stands for, and how many rows it holds.
    #[cfg(test)]
    pub(super) fn memo_disagreements(&self) -> Result<(Vec<String>, usize)> {
        let sites = self.site_index()?;
        let default_zone = days::parse_zone(&self.rules().time_zone)?;
        self.inspect_memo(|tx, memo| {
            let mut differ = Vec::new();
            let mut held = 0;
            for (agent, remembered) in &memo.agents {
                held += 1;
                let context = agent_context(tx, agent, &sites)?;
                if remembered.context != context {
                    differ.push(format!("{agent}: {:?} != {context:?}", remembered.context));
                }
                if remembered.zone != days::zone_of(tx, agent, default_zone)? {
                    differ.push(format!("{agent}: zone {}", remembered.zone));
                }
            }
            if let Some(head) = memo.events.chain.head {
                held += 1;
                let stored: (i64, Vec<u8>) = tx.query_row(
                    "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if (head.0, head.1.to_vec()) != stored {
                    differ.push(format!("chain head {} != {}", head.0, stored.0));
                }
            }
            held += days::memo_disagreements(tx, &memo.events, &mut differ)?;
            if let Some(clock) = memo.device_clock {
                held += 1;
                if clock != server_link::device_clock(tx)? {
                    differ.push("device clock".into());
                }
            }
            if let Some((loaded_at, flags)) = &memo.flags {
                held += 1;
                if *flags != audit::unexpired_flags(tx, *loaded_at)? {
                    differ.push("audit flags".into());
                }
            }
            Ok((differ, held))
        })
    }
}

/// What judging needs to know about the agent, read inside the write
/// transaction so it cannot change underneath.
fn agent_context(tx: &Transaction<'_>, agent: &str, sites: &SiteIndex) -> Result<AgentContext> {
    let restricted = restriction::is_restricted(tx, agent)?;
    let location = consent::latest(tx, agent, Permission::Location)?.filter(|e| e.granted);
    let consent_renewal_required = match &location {
        Some(e) => policy::renewal_required(tx, &e.policy_version)?,
        None => false,
    };
    let location_consent = location.map(|e| e.id);
    let previous_accepted = tx
        .prepare_cached(
            "SELECT kind, site_id, captured_at FROM attendance_events
             WHERE agent = ?1 AND accepted = 1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([agent], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?
        .map(|(kind, site_id, captured_at)| -> Result<PreviousAccepted> {
            Ok(PreviousAccepted {
                kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
                site_reference: site_reference(site_id.as_deref(), sites),
                site_id,
                captured_at: from_unix("captured_at", captured_at)?,
            })
        })
        .transpose()?;
    Ok(AgentContext {
        agent: agent.to_string(),
        restricted,
        location_consent,
        consent_renewal_required,
        previous_accepted,
    })
}

/// An accepted event as the next judgement sees it (step 7).
fn previous_accepted(event: &AttendanceEvent, sites: &SiteIndex) -> PreviousAccepted {
    PreviousAccepted {
        kind: event.kind,
        site_id: event.site_id.clone(),
        site_reference: site_reference(event.site_id.as_deref(), sites),
        captured_at: event.captured_at,
    }
}

/// Where a site is now (its reference point), if it still exists.
fn site_reference(site_id: Option<&str>, sites: &SiteIndex) -> Option<GeoPoint> {
    site_id
        .and_then(|id| sites.get(id))
        .map(|s| s.reference_point)
}

/// Records one attendance event: its chain link, its row and its day in
/// the summary (zone `tz`), in the caller's transaction. Judged check-ins
/// and synthetic data both come through here.
#[cfg(any(test, feature = "synthetic"))]
pub(super) fn record_event(
    tx: &Transaction<'_>,
    tz: Zone,
    make: impl FnOnce(i64) -> Result<AttendanceEvent>,
) -> Result<AttendanceEvent> {
    record_event_remembering(tx, tz, &mut EventMemo::default(), make)
}

/// [`record_event`] with the chain head and month rows remembered from
/// earlier check-ins (`store::memo`).
fn record_event_remembering(
    tx: &Transaction<'_>,
    tz: Zone,
    memo: &mut EventMemo,
    make: impl FnOnce(i64) -> Result<AttendanceEvent>,
) -> Result<AttendanceEvent> {
    let event = chain::append_event_after(tx, &mut memo.chain, make)?;
    insert_event(tx, &event)?;
    days::fold_remembering(tx, tz, &days::DayInput::of(&event), memo)?;
    Ok(event)
}

fn insert_event(tx: &Transaction<'_>, e: &AttendanceEvent) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO attendance_events (id, seq, agent, kind, accepted, reasons, site_id, position,
           distance_m, accuracy_band, captured_at, recorded_at, consent_entry, coords_digest,
           actor_id, actor_role, clock_offset_ms, last_exchange_server_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(super::db::params![
        e.id,
        e.seq,
        e.agent,
        e.kind.as_str(),
        e.accepted,
        e.reasons_text(),
        e.site_id,
        e.position.as_str(),
        e.distance_m,
        e.accuracy_band.as_str(),
        e.captured_at.timestamp(),
        e.recorded_at.timestamp(),
        e.consent_entry,
        e.coords_digest,
        e.recorded_by.id,
        e.recorded_by.role.as_str(),
        e.device_clock.map(|c| c.offset_ms),
        e.device_clock
            .map(|c| c.last_exchange_server_at.timestamp()),
    ])?;
    Ok(())
}

fn insert_retained(tx: &Transaction<'_>, agent: &str, r: &RetainedLocation) -> Result<()> {
    let stored = sealing::seal_coordinates(
        tx,
        &sealing::RETAINED,
        &r.event_id,
        agent,
        r.retain_until.timestamp(),
        r.lat,
        r.lon,
        &r.salt,
    )?;
    tx.prepare_cached(
        "INSERT INTO retained_locations (event_id, lat, lon, accuracy_m, captured_at, flag_ids,
           salt, retain_until, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(super::db::params![
        r.event_id,
        stored.lat,
        stored.lon,
        r.accuracy_m,
        r.captured_at.timestamp(),
        r.flag_ids.join(","),
        stored.salt,
        r.retain_until.timestamp(),
        stored.sealed,
    ])?;
    Ok(())
}

fn corrupt(e: Error) -> Error {
    Error::Corrupt(format!("stored event is unreadable: {e}"))
}

fn event_from_row(row: &Row<'_>) -> Result<AttendanceEvent> {
    let reasons: String = row.get(5)?;
    let reasons = AttendanceEvent::parse_reasons(&reasons).map_err(corrupt)?;
    let kind: String = row.get(3)?;
    let position: String = row.get(7)?;
    let band: String = row.get(9)?;
    let role: String = row.get(15)?;
    Ok(AttendanceEvent {
        id: row.get(0)?,
        seq: row.get(1)?,
        agent: row.get(2)?,
        kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
        accepted: row.get(4)?,
        reasons,
        site_id: row.get(6)?,
        position: PositionClass::parse("position", &position).map_err(corrupt)?,
        distance_m: row.get(8)?,
        accuracy_band: AccuracyBand::parse("accuracy_band", &band).map_err(corrupt)?,
        captured_at: from_unix("captured_at", row.get(10)?).map_err(corrupt)?,
        recorded_at: from_unix("recorded_at", row.get(11)?).map_err(corrupt)?,
        consent_entry: row.get(12)?,
        coords_digest: row.get(13)?,
        recorded_by: Actor::new(
            row.get::<_, String>(14)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
        device_id: None,
        device_clock: match (
            row.get::<_, Option<i64>>(16)?,
            row.get::<_, Option<i64>>(17)?,
        ) {
            (Some(offset_ms), Some(at)) => Some(DeviceClock {
                offset_ms,
                last_exchange_server_at: from_unix("last_exchange_server_at", at)
                    .map_err(corrupt)?,
            }),
            _ => None,
        },
        clock_skew: false,
        location_retained: row.get(18)?,
    })
}

fn load_event(tx: &Transaction<'_>, id: &str) -> Result<Option<AttendanceEvent>> {
    tx.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM attendance_events WHERE id = ?1"
    ))?
    .query_row([id], |row| Ok(event_from_row(row)))
    .optional()?
    .transpose()
}

pub(super) fn load_retained(
    tx: &Transaction<'_>,
    event_id: &str,
) -> Result<Option<RetainedLocation>> {
    load_retained_from(tx, "retained_locations", event_id)
}

/// The coordinates kept of `event_id`: this store's own, or (on a server)
/// those a device sent and a flag of this server kept.
pub(super) fn load_any_retained(
    tx: &Transaction<'_>,
    event_id: &str,
) -> Result<Option<RetainedLocation>> {
    match load_retained_from(tx, "retained_locations", event_id)? {
        Some(found) => Ok(Some(found)),
        None => load_retained_from(tx, "sync_retained_locations", event_id),
    }
}

fn load_retained_from(
    tx: &Transaction<'_>,
    table: &str,
    event_id: &str,
) -> Result<Option<RetainedLocation>> {
    let field = if table == "retained_locations" {
        &sealing::RETAINED
    } else {
        &sealing::SYNC_RETAINED
    };
    let row = tx
        .prepare_cached(&format!(
            "SELECT event_id, lat, lon, accuracy_m, captured_at, flag_ids, salt, retain_until,
                    sealed
             FROM {table} WHERE event_id = ?1"
        ))?
        .query_row([event_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, Vec<u8>>(6)?,
                ),
                r.get::<_, f64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<Vec<u8>>>(8)?,
            ))
        })
        .optional()?;
    let Some((event_id, stored, accuracy_m, captured_at, flags, retain_until, sealed)) = row else {
        return Ok(None);
    };
    // Shredded (its day passed, or the agent was erased): kept no more.
    let Some((lat, lon, salt)) =
        sealing::open_coordinates(tx, field, &event_id, stored, sealed.as_deref())?
    else {
        return Ok(None);
    };
    Ok(Some(RetainedLocation {
        event_id,
        lat,
        lon,
        accuracy_m,
        captured_at: from_unix("captured_at", captured_at)?,
        flag_ids: flags.split(',').map(str::to_string).collect(),
        retain_until: from_unix("retain_until", retain_until)?,
        salt,
    }))
}

/// The event's canonical encoding, and whether its retained coordinates
/// (if still held) still match the chained digest.
pub(super) fn load_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let Some(event) = load_event(tx, id)? else {
        return Ok(None);
    };
    let mismatch = match load_retained(tx, id)? {
        Some(r) if event.coords_digest.as_deref() != Some(r.digest().as_str()) => {
            Some("retained location does not match its digest (altered)".to_string())
        }
        _ => None,
    };
    Ok(Some((event.canonical(), mismatch)))
}
