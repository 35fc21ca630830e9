//! Sync (PRODUCT.md §9): this store as a device (outbox, pending, ack) and
//! as an importer of other devices' batches.
//!
//! The outbox is the ledger after `meta.sync_acked_seq`; nothing is copied.
//! An import runs in one transaction: every event of the batch is checked
//! against its hash, its predecessor and what this store already holds of
//! that device, and either the whole batch lands or none of it does (a
//! killed import leaves nothing behind, and its retry completes it).
//! Imported events are kept verbatim in `sync_events`, outside this store's
//! own chain (so `verify` still checks exactly its own ledger), and their
//! attendance is folded into the attendance summary (`attendance_months`)
//! and their sales facts and reviews into `synced`'s tables, so reports show
//! them.

use std::collections::{BTreeMap, HashMap};

use super::db::{OptionalExtension, Transaction};
use super::sealing;
use crate::zone::Zone;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::binding::StoreHoldings;
use super::connection::Store;
use super::import_rows::{AttendanceRow, ImportRows};
use super::{attendance, audit, chain, days, queue_marks, server_role, synced, verify};
use crate::attendance::AttendanceEvent;
use crate::binding::Binding;
use crate::chain::{GENESIS, Hash, link};
use crate::device_clock::skew_suspected;
use crate::error::{AgentRefusal, DeviceError};
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::shift::local_date;
use crate::sync::{
    AckReport, BATCH_FORMAT, BATCH_VERSION, CheckedBatch, CheckedEvent, DeviceState, ImportReport,
    MAX_BATCH_EVENTS, RetainedWire, SyncAnchor, SyncBatch, SyncError, SyncEvent, SyncStatus,
};
use crate::types::{Actor, validate_id};

const DEVICE_ID_KEY: &str = "device_id";
const ACKED_KEY: &str = "sync_acked_seq";

impl Store {
    /// This store's device id (made with the store; recreated if missing).
    pub fn device_id(&self) -> Result<String> {
        if let Some(id) = self.meta(DEVICE_ID_KEY)? {
            return Ok(id);
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                (DEVICE_ID_KEY, uuid::Uuid::new_v4().to_string()),
            )?;
            Ok(tx.query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [DEVICE_ID_KEY],
                |r| r.get(0),
            )?)
        })
    }

    /// The next `limit` events of the outbox (after the acknowledged seq),
    /// with their chain links and exact canonical encodings. Supervisors and
    /// admins (it holds every agent's events, personal fields as digests).
    pub fn sync_pending(&self, actor: &Actor, limit: usize) -> Result<SyncBatch> {
        self.sync_pending_from(actor, None, limit)
    }

    /// Like [`Store::sync_pending`], but starting at `from_seq` when given,
    /// acknowledged or not: resends what an importer lost (say, a backend
    /// restored from a backup). Events purged into the retention anchor
    /// cannot be sent again.
    pub fn sync_pending_from(
        &self,
        actor: &Actor,
        from_seq: Option<i64>,
        limit: usize,
    ) -> Result<SyncBatch> {
        self.sync_pending_with(actor, from_seq, limit, false)
    }

    /// [`Store::sync_pending_from`], with each attendance event's retained
    /// coordinates beside it when `with_locations` (`sync pending
    /// --with-locations`, which is what `sync push` sends to its server):
    /// the only way coordinates ever leave a device (PRODUCT.md §12.2).
    pub fn sync_pending_with(
        &self,
        actor: &Actor,
        from_seq: Option<i64>,
        limit: usize,
        with_locations: bool,
    ) -> Result<SyncBatch> {
        actor.may_supervise()?;
        if limit == 0 || limit > MAX_BATCH_EVENTS {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_BATCH_EVENTS}"),
            ));
        }
        let device_id = self.device_id()?;
        self.read(|tx| {
            let acked = acked_seq(tx)?;
            let anchor = chain::anchor(tx)?;
            let head = head_seq(tx)?;
            // Events folded into an anchor are gone: the outbox resumes after it.
            let first_held = anchor.map_or(0, |(count, _)| count) + 1;
            let from_seq = match from_seq {
                None => (acked + 1).max(first_held),
                Some(from) if from < first_held || from > head + 1 => {
                    return Err(Error::invalid(
                        "from",
                        format!(
                            "this device holds events {first_held}..={head} (earlier ones were purged)"
                        ),
                    ));
                }
                Some(from) => from,
            };
            let mut stmt = tx.prepare(
                "SELECT seq, event_type, event_id, prev_hash, hash, purged_at FROM ledger
                 WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )?;
            let mut rows = stmt.query((from_seq, limit as i64))?;
            let mut events: Vec<SyncEvent> = Vec::new();
            let mut previous: Option<Hash> = None;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let event_type: String = row.get(1)?;
                let event_id: String = row.get(2)?;
                let prev_hash = to_hash(&row.get::<_, Vec<u8>>(3)?)?;
                let hash = to_hash(&row.get::<_, Vec<u8>>(4)?)?;
                let purged: Option<i64> = row.get(5)?;
                let broken = |what: &str| {
                    Error::Corrupt(format!(
                        "ledger event {seq} {what}; run `fieldcheck verify`"
                    ))
                };
                let expected = from_seq + events.len() as i64;
                if seq != expected {
                    return Err(Error::Corrupt(format!(
                        "ledger event {expected} is missing; run `fieldcheck verify`"
                    )));
                }
                if previous.is_some_and(|p| p != prev_hash) {
                    return Err(broken("does not link to its predecessor"));
                }
                let canonical = match purged {
                    Some(_) => None,
                    None => {
                        let bytes = verify::canonical_of(tx, &event_type, &event_id)?
                            .ok_or_else(|| broken("has been deleted"))?;
                        if link(&prev_hash, &bytes) != hash {
                            return Err(broken("does not match its hash (altered)"));
                        }
                        Some(
                            String::from_utf8(bytes)
                                .map_err(|_| broken("is not UTF-8 text"))?,
                        )
                    }
                };
                let retained = match &canonical {
                    Some(_) if with_locations && event_type == AttendanceEvent::EVENT_TYPE => {
                        attendance::load_retained(tx, &event_id)?.map(|r| RetainedWire::of(&r))
                    }
                    _ => None,
                };
                events.push(SyncEvent {
                    seq,
                    event_type,
                    event_id,
                    prev_hash: hex::encode(prev_hash),
                    hash: hex::encode(hash),
                    canonical,
                    retained,
                });
                previous = Some(hash);
            }
            Ok(SyncBatch {
                format: BATCH_FORMAT.into(),
                version: BATCH_VERSION,
                device_id,
                from_seq,
                to_seq: from_seq + events.len() as i64 - 1,
                head_seq: Some(head),
                anchor: anchor.map(|(count, head)| SyncAnchor {
                    event_count: count,
                    head_hash: hex::encode(head),
                }),
                events,
            })
        })
    }

    /// The first unacknowledged event of the outbox that a server would
    /// refuse from a device enrolled for `agent` (PRODUCT.md §12.2),
    /// described, or `None`.
    pub fn outbox_problem_for(&self, agent: &str) -> Result<Option<String>> {
        validate_id("agent", agent)?;
        let acked = self.read(acked_seq)?;
        self.read(|tx| {
            let mut binding = Binding::new(agent);
            let mut stmt = tx.prepare(
                "SELECT seq, event_type, event_id, purged_at FROM ledger WHERE seq > ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query([acked])?;
            while let Some(r) = rows.next()? {
                let (seq, event_type, event_id, purged): (i64, String, String, Option<i64>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                let canonical = match purged {
                    Some(_) => None,
                    None => verify::canonical_of(tx, &event_type, &event_id)?
                        .map(String::from_utf8)
                        .transpose()
                        .map_err(|_| Error::Corrupt("an event is not UTF-8".into()))?,
                };
                if let Some(why) =
                    binding.judge(&event_type, canonical.as_deref(), &StoreHoldings(tx))?
                {
                    return Ok(Some(format!(
                        "unsent event {seq} ({event_type} {event_id}) could not be pushed for that agent: {why}"
                    )));
                }
            }
            Ok(None)
        })
    }

    /// Releases the outbox up to `up_to` (the importer has taken it).
    /// Admins only. Acknowledging again up to the same seq changes nothing;
    /// beyond the last event or below the current acknowledgement is refused.
    pub fn sync_ack(&self, actor: &Actor, up_to: i64) -> Result<AckReport> {
        actor.must_be_admin()?;
        let device_id = self.device_id()?;
        self.write(|tx| {
            let acked = acked_seq(tx)?;
            let head = head_seq(tx)?;
            if up_to > head {
                return Err(Error::invalid(
                    "up_to",
                    format!("event {up_to} does not exist: the last event is {head}"),
                ));
            }
            if up_to < acked {
                return Err(Error::invalid(
                    "up_to",
                    format!(
                        "{up_to} is below the acknowledged seq {acked}; acknowledgements only move forward"
                    ),
                ));
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (ACKED_KEY, up_to.to_string()),
            )?;
            Ok(AckReport {
                device_id,
                acked_seq: up_to,
                head_seq: head,
                pending: pending_count(tx, up_to)?,
            })
        })
    }

    /// When this store first received the imported event `event_id` (its
    /// sync time), if it came from a device (supervisors and admins).
    pub fn synced_at(&self, actor: &Actor, event_id: &str) -> Result<Option<DateTime<Utc>>> {
        actor.may_supervise()?;
        let at: Option<i64> = self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT MIN(imported_at) FROM sync_events WHERE event_id = ?1")?
                .query_row([event_id], |r| r.get(0))?)
        })?;
        at.map(|s| crate::time::from_unix("imported_at", s))
            .transpose()
    }

    /// This store's outbox and the devices it has imported from.
    pub fn sync_status(&self, actor: &Actor) -> Result<SyncStatus> {
        actor.may_supervise()?;
        let device_id = self.device_id()?;
        self.read(|tx| {
            let acked = acked_seq(tx)?;
            Ok(SyncStatus {
                device_id,
                acked_seq: acked,
                head_seq: head_seq(tx)?,
                pending: pending_count(tx, acked)?,
                imported_devices: device_states(tx, None)?,
            })
        })
    }

    /// Retention of imported copies (PRODUCT.md §8): imported attendance
    /// events captured more than `attendance_retention_days` ago keep only
    /// their links (like events purged on a device) and no longer feed day
    /// summaries that get rebuilt. Admins. Returns how many lost content.
    pub fn purge_imported(&self, actor: &Actor, now: DateTime<Utc>) -> Result<usize> {
        actor.must_be_admin()?;
        let before = (now - Duration::days(self.rules().attendance_retention_days)).timestamp();
        let purged = self.write(|tx| {
            let mut expired: Vec<(String, i64)> = Vec::new();
            {
                let mut stmt = tx.prepare(
                    "SELECT device_id, seq, canonical FROM sync_events
                     WHERE event_type = ?1 AND canonical IS NOT NULL",
                )?;
                let mut rows = stmt.query([AttendanceEvent::EVENT_TYPE])?;
                while let Some(r) = rows.next()? {
                    let canonical: String = r.get(2)?;
                    let captured_at = serde_json::from_str::<AttendanceFacts>(&canonical)
                        .map_err(|e| Error::Corrupt(format!("imported event unreadable: {e}")))?
                        .captured_at;
                    if captured_at < before {
                        expired.push((r.get(0)?, r.get(1)?));
                    }
                }
            }
            for (device, seq) in &expired {
                tx.prepare_cached(
                    "UPDATE sync_events SET canonical = NULL, purged_at = ?3
                     WHERE device_id = ?1 AND seq = ?2",
                )?
                .execute((device, seq, now.timestamp()))?;
                tx.prepare_cached(
                    "DELETE FROM sync_retained_locations WHERE device_id = ?1 AND seq = ?2",
                )?
                .execute((device, seq))?;
            }
            tx.execute(
                "DELETE FROM sync_attendance WHERE captured_at < ?1",
                [before],
            )?;
            // Summary months up to here may still count purged days
            // (`verify` leaves them out).
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('attendance_purged_before', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [before.to_string()],
            )?;
            Ok(expired.len())
        })?;
        self.checkpoint()?;
        Ok(purged)
    }

    /// Imports a batch from another device (admins only). See
    /// [`Store::sync_import_with`].
    pub fn sync_import(
        &self,
        actor: &Actor,
        batch_json: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportReport> {
        self.sync_import_with(actor, batch_json, now, &|_| {})
    }

    /// Imports a batch: all of it, or nothing with a typed error. Events
    /// already imported with the same hash are skipped (a replay); a
    /// different event under an imported seq is a [`SyncError::Fork`]; a
    /// batch that does not continue the device's chain is a
    /// [`SyncError::Gap`]; an altered event is [`SyncError::Broken`].
    /// `progress` receives the number of events processed so far.
    pub fn sync_import_with(
        &self,
        actor: &Actor,
        batch_json: &str,
        now: DateTime<Utc>,
        progress: &dyn Fn(usize),
    ) -> Result<ImportReport> {
        actor.must_be_admin()?;
        let batch = SyncBatch::check(batch_json)?;
        if batch.device_id == self.device_id()? {
            return Err(Error::invalid(
                "batch",
                "it comes from this store itself (its events are already here)",
            ));
        }
        let report = self.write(|tx| {
            // The rules as this transaction sees them (as the device API's
            // import reads them).
            let rules = self.rules_in(tx)?;
            let bounds = ImportBounds::of(&rules)?;
            // A batch from a device enrolled here speaks for its agent only,
            // by file as over the wire; coordinates stay only on a server.
            let bound: Option<String> = tx
                .prepare_cached("SELECT agent FROM enrolled_devices WHERE device_id = ?1")?
                .query_row([&batch.device_id], |r| r.get(0))
                .optional()?;
            let options = ImportOptions {
                bounds,
                rules: &rules,
                bound_agent: bound.as_deref(),
                server_store: server_role::is_server(tx)?,
                device_states: true,
            };
            Ok(import(tx, &batch, now, &options, progress)?.report)
        })?;
        log::info!(
            "sync import: {} event(s) imported, {} replayed",
            report.imported,
            report.skipped_replayed
        );
        Ok(report)
    }
}

fn to_hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt("a stored hash is not 32 bytes".into()))
}

fn acked_seq(tx: &Transaction<'_>) -> Result<i64> {
    let text: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [ACKED_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    match text {
        None => Ok(0),
        Some(t) => t
            .parse()
            .map_err(|_| Error::Corrupt(format!("stored {ACKED_KEY} {t:?} is not a number"))),
    }
}

/// The last seq this store's chain has reached (0 when empty).
fn head_seq(tx: &Transaction<'_>) -> Result<i64> {
    let last: Option<i64> = tx.query_row("SELECT MAX(seq) FROM ledger", [], |r| r.get(0))?;
    Ok(match last {
        Some(seq) => seq,
        None => chain::anchor(tx)?.map_or(0, |(count, _)| count),
    })
}

fn pending_count(tx: &Transaction<'_>, acked: i64) -> Result<i64> {
    Ok(
        tx.query_row("SELECT COUNT(*) FROM ledger WHERE seq > ?1", [acked], |r| {
            r.get(0)
        })?,
    )
}

/// What this store holds of one device's chain.
struct Device {
    base_seq: i64,
    last_seq: i64,
    last_hash: Hash,
}

fn load_device(tx: &Transaction<'_>, device: &str) -> Result<Option<Device>> {
    tx.query_row(
        "SELECT base_seq, last_seq, last_hash FROM sync_devices WHERE device_id = ?1",
        [device],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        },
    )
    .optional()?
    .map(|(base_seq, last_seq, hash)| {
        Ok(Device {
            base_seq,
            last_seq,
            last_hash: to_hash(&hash)?,
        })
    })
    .transpose()
}

fn device_states(tx: &Transaction<'_>, only: Option<&str>) -> Result<Vec<DeviceState>> {
    let mut stmt = tx.prepare(
        "SELECT d.device_id, d.base_seq, d.last_seq, d.last_hash,
                (SELECT COUNT(*) FROM sync_events e WHERE e.device_id = d.device_id)
         FROM sync_devices d WHERE CAST(?1 AS TEXT) IS NULL OR d.device_id = ?1 ORDER BY d.device_id",
    )?;
    let rows = stmt.query_map([only], |r| {
        Ok(DeviceState {
            device_id: r.get(0)?,
            base_seq: r.get(1)?,
            last_seq: r.get(2)?,
            last_hash: hex::encode(r.get::<_, Vec<u8>>(3)?),
            events: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// The rules an import applies: the zone days are counted in for agents
/// without a shift, and the device clock tolerance.
#[derive(Debug, Clone, Copy)]
pub(super) struct ImportBounds {
    pub default_zone: Zone,
    pub max_clock_skew_s: i64,
}

impl ImportBounds {
    pub(super) fn of(rules: &Rules) -> Result<ImportBounds> {
        Ok(ImportBounds {
            default_zone: days::parse_zone(&rules.time_zone)?,
            max_clock_skew_s: rules.max_clock_skew_s,
        })
    }
}

/// How an import treats what it receives.
pub(super) struct ImportOptions<'a> {
    pub bounds: ImportBounds,
    pub rules: &'a Rules,
    /// The agent the sending device is enrolled for on this store: every
    /// new event is judged against it (`crate::binding`).
    pub bound_agent: Option<&'a str>,
    /// This store is a server's: it keeps retained coordinates under its
    /// own flags (else drops them all) and marks the review queue.
    pub server_store: bool,
    /// Fill the report's `devices` (what `sync import` prints; the device
    /// API answers with the chain's end alone).
    pub device_states: bool,
}

/// What [`import`] did, and where the device's chain now ends.
pub(super) struct Imported {
    pub report: ImportReport,
    /// The last sequence number held for the device (0: none).
    pub held_to_seq: i64,
}

/// Imports a checked batch received at `now` (the importer's clock).
pub(super) fn import(
    tx: &Transaction<'_>,
    batch: &CheckedBatch,
    now: DateTime<Utc>,
    options: &ImportOptions<'_>,
    progress: &dyn Fn(usize),
) -> Result<Imported> {
    let bounds = options.bounds;
    let mut binding = options.bound_agent.map(Binding::new);
    let device = batch.device_id.as_str();
    let mut report = ImportReport::default();
    let known = load_device(tx, device)?;
    let Some(first) = batch.events.first() else {
        if options.device_states {
            report.devices = device_states(tx, Some(device))?;
        }
        return Ok(Imported {
            report,
            held_to_seq: known.map_or(0, |d| d.last_seq),
        });
    };
    let (base_seq, mut last_seq, mut last_hash) = match &known {
        Some(d) => (d.base_seq, d.last_seq, d.last_hash),
        // A device met for the first time: its chain from genesis, or from
        // the retention anchor it says it starts from.
        None => match batch.anchor {
            Some((count, head)) if first.seq == count + 1 => (count, count, head),
            _ if first.seq == 1 => (0, 0, GENESIS),
            _ => {
                return Err(SyncError::Gap {
                    device: device.into(),
                    expected_seq: batch.anchor.map_or(1, |(count, _)| count + 1),
                    found_seq: first.seq,
                }
                .into());
            }
        },
    };
    if known.is_none() {
        tx.execute(
            "INSERT INTO sync_devices (device_id, base_seq, base_hash, last_seq, last_hash,
               first_imported_at, last_imported_at, verified_seq)
             VALUES (?1, ?2, ?3, ?2, ?3, ?4, ?4, ?2)",
            (device, base_seq, &last_hash[..], now.timestamp()),
        )?;
    }
    let held_before = last_seq;
    let mut rows = ImportRows::default();
    rows.look_up_held(
        tx,
        batch
            .events
            .iter()
            .filter(|e| e.seq > last_seq && e.event_type == AttendanceEvent::EVENT_TYPE)
            .map(|e| e.event_id.as_str()),
    )?;

    let mut zones: HashMap<String, Zone> = HashMap::new();
    // Per agent, the first and last local date this batch added to.
    let mut touched: BTreeMap<String, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for (i, e) in batch.events.iter().enumerate() {
        if e.seq <= last_seq {
            // Already held: a replay if it is the same event, else a fork.
            let stored: Option<Vec<u8>> = tx
                .prepare_cached("SELECT hash FROM sync_events WHERE device_id = ?1 AND seq = ?2")?
                .query_row((device, e.seq), |r| r.get(0))
                .optional()?;
            match stored {
                Some(h) if h[..] == e.hash[..] => report.skipped_replayed += 1,
                Some(_) => {
                    return Err(SyncError::Fork {
                        device: device.into(),
                        seq: e.seq,
                    }
                    .into());
                }
                None => {
                    return Err(SyncError::Broken {
                        device: device.into(),
                        seq: e.seq,
                        reason: format!(
                            "precedes the anchor (event {base_seq}) this device was first imported from"
                        ),
                    }
                    .into());
                }
            }
        } else if e.seq == last_seq + 1 {
            if e.prev_hash != last_hash {
                // Valid in itself, but its predecessor is not the one held.
                return Err(if last_seq == base_seq {
                    SyncError::Broken {
                        device: device.into(),
                        seq: e.seq,
                        reason: "does not link to the start of the device's chain".into(),
                    }
                } else {
                    SyncError::Fork {
                        device: device.into(),
                        seq: last_seq,
                    }
                }
                .into());
            }
            // What follows reads the store: it sees what the batch wrote.
            let reads_store = e.canonical.is_some() && e.event_type != AttendanceEvent::EVENT_TYPE;
            if reads_store {
                rows.write(tx)?;
            }
            if let Some(binding) = &mut binding
                && let Some(reason) =
                    binding.judge(&e.event_type, e.canonical.as_deref(), &StoreHoldings(tx))?
            {
                return Err(DeviceError::AgentMismatch(Box::new(AgentRefusal {
                    device: device.into(),
                    agent: binding.agent().into(),
                    seq: e.seq,
                    event_type: e.event_type.clone(),
                    event_id: e.event_id.clone(),
                    reason,
                }))
                .into());
            }
            rows.event(tx, device, e, now.timestamp())?;
            if reads_store {
                rows.write(tx)?;
            }
            report.imported += 1;
            match &e.canonical {
                None => report.purged_on_device += 1,
                Some(canonical) if e.event_type == AttendanceEvent::EVENT_TYPE => {
                    let folded = fold_imported(
                        tx, device, e, canonical, now, bounds, &mut zones, &mut rows,
                    )?;
                    match &folded {
                        Folded::New { clock_skew, event } => {
                            report.attendance_folded += 1;
                            report.attendance_clock_skew += u64::from(*clock_skew);
                            let tz = days::zone_cached(
                                tx,
                                &mut zones,
                                &event.agent,
                                bounds.default_zone,
                            )?;
                            let date = local_date(tz, event.captured_at);
                            touched
                                .entry(event.agent.clone())
                                .and_modify(|(lo, hi)| {
                                    *lo = (*lo).min(date);
                                    *hi = (*hi).max(date);
                                })
                                .or_insert((date, date));
                        }
                        Folded::AlreadyHeld => report.attendance_duplicates += 1,
                    }
                    if let Some(location) = &e.retained {
                        let kept = match (&folded, options.server_store) {
                            (Folded::New { event, .. }, true) => keep_retained(
                                tx,
                                device,
                                e.seq,
                                event,
                                location,
                                now,
                                options.rules,
                            )?,
                            _ => false,
                        };
                        if kept {
                            report.retained_kept += 1;
                        } else {
                            report.retained_dropped += 1;
                        }
                    }
                }
                Some(canonical) => {
                    synced::fold(tx, device, e.seq, &e.event_type, canonical)?;
                    synced::index_subjects(tx, device, e.seq, canonical)?;
                }
            }
            last_seq = e.seq;
            last_hash = e.hash;
        } else {
            return Err(SyncError::Gap {
                device: device.into(),
                expected_seq: last_seq + 1,
                found_seq: e.seq,
            }
            .into());
        }
        if (i + 1) % 1000 == 0 {
            progress(i + 1);
        }
    }
    progress(batch.events.len());
    rows.write(tx)?;
    if report.imported > 0 {
        // The new events were checked against what was held: a verified
        // prefix stays verified, now to the new end. (One statement: the
        // CASEs read the row as it was before the update.)
        tx.prepare_cached(
            "UPDATE sync_devices SET last_seq = ?2, last_hash = ?3, last_imported_at = ?4,
               verified_at = CASE WHEN verified_seq >= ?5 THEN ?4 ELSE verified_at END,
               verified_seq = CASE WHEN verified_seq >= ?5 THEN ?2 ELSE verified_seq END
             WHERE device_id = ?1",
        )?
        .execute((
            device,
            last_seq,
            &last_hash[..],
            now.timestamp(),
            held_before,
        ))?;
    }
    if options.server_store {
        for (agent, (from, to)) in &touched {
            queue_marks::mark_known_server(tx, Some(agent), *from, *to)?;
        }
    }
    if options.device_states {
        report.devices = device_states(tx, Some(device))?;
    }
    Ok(Imported {
        report,
        held_to_seq: last_seq,
    })
}

/// The field of an imported attendance event retention needs.
#[derive(Deserialize)]
struct AttendanceFacts {
    captured_at: i64,
}

/// What became of an imported attendance event.
enum Folded {
    /// Folded into its day; `clock_skew` when its recorded time is out of
    /// the importer's bounds.
    New {
        event: Box<AttendanceEvent>,
        clock_skew: bool,
    },
    /// This store already holds that event id: kept, not counted twice.
    AlreadyHeld,
}

/// Folds an imported attendance event into its agent's day unless this
/// store already holds that event id (recorded here or imported before),
/// and judges its recorded time against the device clock it carries.
#[allow(clippy::too_many_arguments)]
fn fold_imported(
    tx: &Transaction<'_>,
    device: &str,
    e: &CheckedEvent,
    canonical: &str,
    now: DateTime<Utc>,
    bounds: ImportBounds,
    zones: &mut HashMap<String, Zone>,
    rows: &mut ImportRows,
) -> Result<Folded> {
    let unreadable = |reason: String| {
        Error::invalid(
            "batch",
            format!(
                "device {device} event {}: attendance content this build cannot read: {reason}",
                e.seq
            ),
        )
    };
    let event = AttendanceEvent::from_canonical(canonical, device)
        .map_err(|err| unreadable(err.to_string()))?;
    validate_id("agent", &event.agent).map_err(|err| unreadable(err.to_string()))?;

    if rows.holds_attendance(&e.event_id) {
        return Ok(Folded::AlreadyHeld);
    }
    // Judged only for events that carry the clock of a device enrolled
    // with a server. An event recorded before enrolment (or by a store that
    // was never a device, its batch carried by hand) has no measured clock
    // to hold it to, and a file's import time says little about when it
    // left the device.
    let clock_skew = event.device_clock.as_ref().is_some_and(|clock| {
        skew_suspected(event.recorded_at, Some(clock), now, bounds.max_clock_skew_s)
    });
    let tz = days::zone_cached(tx, zones, &event.agent, bounds.default_zone)?;
    rows.attendance(
        tx,
        AttendanceRow {
            event_id: &e.event_id,
            device,
            seq: e.seq,
            agent: &event.agent,
            kind: event.kind.as_str(),
            accepted: event.accepted,
            reasons: event.reasons_text(),
            site_id: event.site_id.as_deref(),
            captured_at: event.captured_at.timestamp(),
            clock_skew,
        },
        tz,
        &days::DayInput::of(&event),
    )?;
    Ok(Folded::New {
        event: Box::new(event),
        clock_skew,
    })
}

/// Keeps a fix a device retained, if one of this server's own flags named
/// with it covered the event (the agent or the event's site, at its
/// capture, before the flag's end on this server), until the latest
/// `retain_until` those flags give under this server's rules; returns
/// whether it was kept. What is already past that is dropped.
fn keep_retained(
    tx: &Transaction<'_>,
    device: &str,
    seq: i64,
    event: &AttendanceEvent,
    location: &crate::attendance::RetainedLocation,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Result<bool> {
    let mut covering = Vec::new();
    for id in &location.flag_ids {
        if let Some(flag) = audit::load_flag(tx, id)?
            && flag.covers(&event.agent, event.site_id.as_deref(), location.captured_at)
        {
            covering.push(flag);
        }
    }
    let Some(retain_until) = covering.iter().map(|f| f.retain_until(rules)).max() else {
        return Ok(false);
    };
    if retain_until < now {
        return Ok(false);
    }
    let stored = sealing::seal_coordinates(
        tx,
        &sealing::SYNC_RETAINED,
        &event.id,
        &event.agent,
        retain_until.timestamp(),
        location.lat,
        location.lon,
        &location.salt,
    )?;
    tx.prepare_cached(
        "INSERT INTO sync_retained_locations (event_id, device_id, seq, agent, lat, lon,
           accuracy_m, captured_at, flag_ids, salt, retain_until, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(super::db::params![
        event.id,
        device,
        seq,
        event.agent,
        stored.lat,
        stored.lon,
        location.accuracy_m,
        location.captured_at.timestamp(),
        covering
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
        stored.salt,
        retain_until.timestamp(),
        stored.sealed,
    ])?;
    Ok(true)
}
