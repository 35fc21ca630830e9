//! Device-to-supervisor sync (PRODUCT.md §9): the batch format, what an
//! import reports, and the typed refusals.
//!
//! Every store is a device. Its ledger sequence number is the device
//! sequence number, so the outbox is simply "ledger rows after the
//! acknowledged seq" and a batch carries each event's chain links
//! (`prev_hash`, `hash`) beside the exact canonical encoding they hash. An
//! importer can therefore check every byte without trusting the transport:
//! `hash == SHA-256(prev_hash ‖ canonical)`, each event links to the one
//! before, and the sequence continues where that device's last import ended.

use serde::{Deserialize, Serialize};

use crate::attendance::RetainedLocation;
use crate::chain::{GENESIS, Hash, link};
pub use crate::error::SyncError;
use crate::error::{Error, Result};
use crate::types::validate_id;

/// `format` of every batch.
pub const BATCH_FORMAT: &str = "fieldcheck-sync";

/// `version` of the batches this build writes: 2 may carry retained
/// coordinates beside attendance events (PRODUCT.md §12.2). Version 1
/// batches (older devices) are still read.
pub const BATCH_VERSION: u32 = 2;

/// At most this many events per batch (`pending --limit`).
pub const MAX_BATCH_EVENTS: usize = 100_000;

/// One batch of a device's outbox, as `sync pending` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncBatch {
    pub format: String,
    pub version: u32,
    pub device_id: String,
    /// The first event's seq (the acknowledged seq + 1 when empty).
    pub from_seq: i64,
    /// The last event's seq (`from_seq - 1` when empty).
    pub to_seq: i64,
    /// The device's last seq when the batch was made: more is pending while
    /// `to_seq < head_seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<i64>,
    /// Present when the device's chain starts from a retention anchor (its
    /// oldest events were purged): an importer meeting this device for the
    /// first time continues from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<SyncAnchor>,
    pub events: Vec<SyncEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncAnchor {
    /// Events folded into the anchor: the chain continues at `event_count + 1`.
    pub event_count: i64,
    /// Hex hash of the last anchored event.
    pub head_hash: String,
}

/// One event with its chain links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncEvent {
    pub seq: i64,
    pub event_type: String,
    pub event_id: String,
    /// Hex.
    pub prev_hash: String,
    /// Hex SHA-256(prev_hash ‖ canonical).
    pub hash: String,
    /// The exact canonical JSON text that was hashed. `null` only for an
    /// event that retention purged on the device before it was synced: its
    /// links still chain, its content is gone.
    pub canonical: Option<String>,
    /// Version 2: the coordinates an audit flag kept on the device for this
    /// attendance event, outside what is hashed (the event holds their
    /// salted digest). Only in what `sync pending --with-locations` prints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained: Option<RetainedWire>,
}

/// A retained fix as a batch carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetainedWire {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// RFC 3339, whole seconds.
    pub captured_at: String,
    /// Hex salt of the event's `coords_digest`.
    pub salt: String,
    /// The device's flags that kept it.
    pub flag_ids: Vec<String>,
}

impl RetainedWire {
    pub fn of(location: &RetainedLocation) -> RetainedWire {
        RetainedWire {
            lat: location.lat,
            lon: location.lon,
            accuracy_m: location.accuracy_m,
            captured_at: crate::time::format_rfc3339(location.captured_at),
            salt: hex::encode(&location.salt),
            flag_ids: location.flag_ids.clone(),
        }
    }
}

/// What `sync ack` left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AckReport {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    /// Events still waiting in the outbox.
    pub pending: i64,
}

/// A store's own outbox and the devices it has imported from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    pub pending: i64,
    pub imported_devices: Vec<DeviceState>,
}

/// How far an importer has followed one device's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceState {
    pub device_id: String,
    /// 0, or the anchor the device's chain was first imported from.
    pub base_seq: i64,
    pub last_seq: i64,
    /// Hex.
    pub last_hash: String,
    /// Events of this device held by the importer.
    pub events: i64,
}

/// What one `sync import` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Events newly stored.
    pub imported: u64,
    /// Events already imported with the identical hash (a replay).
    pub skipped_replayed: u64,
    /// Newly imported attendance events folded into the day summary.
    pub attendance_folded: u64,
    /// Newly imported attendance events whose id this store already held
    /// (recorded here, or imported from another device): kept, not counted twice.
    pub attendance_duplicates: u64,
    /// Newly imported link-only events (purged on the device before sync).
    pub purged_on_device: u64,
    /// Newly folded attendance events whose recorded time disagrees with
    /// what the importer can bound (see [`crate::device_clock`]).
    pub attendance_clock_skew: u64,
    /// Retained coordinates kept (a server, under one of its own flags).
    pub retained_kept: u64,
    /// Retained coordinates not kept: no covering flag of this server's,
    /// captured after its end, already past retention, or an importer that
    /// is not a server.
    pub retained_dropped: u64,
    pub devices: Vec<DeviceState>,
}

/// A parsed batch with its hashes decoded and each event checked on its own
/// (content against hash, links within the batch, declared range). Whether
/// it continues what the importer holds is the store's business.
#[derive(Debug)]
pub(crate) struct CheckedBatch {
    pub version: u32,
    pub device_id: String,
    pub anchor: Option<(i64, Hash)>,
    pub events: Vec<CheckedEvent>,
}

#[derive(Debug)]
pub(crate) struct CheckedEvent {
    pub seq: i64,
    pub event_type: String,
    pub event_id: String,
    pub prev_hash: Hash,
    pub hash: Hash,
    pub canonical: Option<String>,
    /// Checked against the event's `coords_digest`.
    pub retained: Option<RetainedLocation>,
}

impl SyncBatch {
    /// Parses and checks a batch. A cut or malformed document is
    /// `InvalidInput`; an altered event is [`SyncError::Broken`]; events out
    /// of sequence are [`SyncError::Gap`].
    pub(crate) fn check(text: &str) -> Result<CheckedBatch> {
        let batch: SyncBatch = serde_json::from_str(text)
            .map_err(|e| Error::invalid("batch", format!("not a sync batch: {e}")))?;
        if batch.format != BATCH_FORMAT {
            return Err(Error::invalid(
                "batch",
                format!("format is {:?}, expected {BATCH_FORMAT:?}", batch.format),
            ));
        }
        if !(1..=BATCH_VERSION).contains(&batch.version) {
            return Err(Error::invalid(
                "batch",
                format!(
                    "version {} is not supported (this build reads 1 to {BATCH_VERSION})",
                    batch.version
                ),
            ));
        }
        validate_id("device_id", &batch.device_id)?;
        let device = batch.device_id.clone();
        if batch.events.len() > MAX_BATCH_EVENTS {
            return Err(Error::invalid(
                "batch",
                format!("more than {MAX_BATCH_EVENTS} events"),
            ));
        }
        let (first, last) = match (batch.events.first(), batch.events.last()) {
            (Some(f), Some(l)) => (f.seq, l.seq),
            _ => (batch.from_seq, batch.from_seq - 1),
        };
        if batch.from_seq < 1 || (first, last) != (batch.from_seq, batch.to_seq) {
            return Err(Error::invalid(
                "batch",
                format!(
                    "declares events {}..={} but holds {first}..={last} (truncated or edited)",
                    batch.from_seq, batch.to_seq
                ),
            ));
        }
        let anchor = match &batch.anchor {
            None => None,
            Some(a) => {
                if a.event_count < 1 {
                    return Err(Error::invalid("anchor", "event_count must be positive"));
                }
                let head = decode_hash(&a.head_hash)
                    .ok_or_else(|| Error::invalid("anchor", "head_hash is not 32 hex bytes"))?;
                Some((a.event_count, head))
            }
        };

        let mut events: Vec<CheckedEvent> = Vec::with_capacity(batch.events.len());
        for e in batch.events {
            let seq = e.seq;
            let broken = |reason: String| SyncError::Broken {
                device: device.clone(),
                seq,
                reason,
            };
            if let Some(prev) = events.last()
                && seq != prev.seq + 1
            {
                return Err(SyncError::Gap {
                    device: device.clone(),
                    expected_seq: prev.seq + 1,
                    found_seq: seq,
                }
                .into());
            }
            validate_id("event_type", &e.event_type).map_err(|e| broken(e.to_string()))?;
            validate_id("event_id", &e.event_id).map_err(|e| broken(e.to_string()))?;
            let prev_hash = decode_hash(&e.prev_hash)
                .ok_or_else(|| broken("prev_hash is not 32 hex bytes".into()))?;
            let hash =
                decode_hash(&e.hash).ok_or_else(|| broken("hash is not 32 hex bytes".into()))?;
            if let Some(prev) = events.last()
                && prev.hash != prev_hash
            {
                return Err(broken(format!("does not link to event {}", prev.seq)).into());
            }
            // Without content (purged on the device) only its links can be
            // checked.
            if let Some(canonical) = &e.canonical {
                if link(&prev_hash, canonical.as_bytes()) != hash {
                    return Err(broken("content does not match its hash (altered)".into()).into());
                }
                check_names(canonical, &e.event_type, &e.event_id, seq).map_err(broken)?;
            }
            if seq == 1 && prev_hash != GENESIS {
                return Err(broken("the first event does not start from genesis".into()).into());
            }
            let retained = match &e.retained {
                None => None,
                Some(_) if batch.version < 2 => {
                    return Err(Error::invalid(
                        "batch",
                        format!("event {seq}: a version 1 batch carries no retained coordinates"),
                    ));
                }
                Some(wire) => Some(check_retained(wire, &e, seq)?),
            };
            events.push(CheckedEvent {
                seq,
                event_type: e.event_type,
                event_id: e.event_id,
                prev_hash,
                hash,
                canonical: e.canonical,
                retained,
            });
        }
        Ok(CheckedBatch {
            version: batch.version,
            device_id: device,
            anchor,
            events,
        })
    }
}

/// Retained coordinates must be what the event's chained digest says: a
/// mismatch is a malformed batch.
fn check_retained(wire: &RetainedWire, e: &SyncEvent, seq: i64) -> Result<RetainedLocation> {
    let bad =
        |why: &str| Error::invalid("batch", format!("event {seq}: retained coordinates {why}"));
    let canonical = match (&e.canonical, e.event_type.as_str()) {
        (Some(c), "attendance") => c,
        _ => {
            return Err(bad(
                "beside an event that is no attendance event with content",
            ));
        }
    };
    let digest = serde_json::from_str::<serde_json::Value>(canonical)
        .ok()
        .and_then(|v| v.get("coords_digest")?.as_str().map(str::to_string))
        .ok_or_else(|| bad("beside an event that kept none"))?;
    let fix = crate::evaluation::Fix {
        lat: wire.lat,
        lon: wire.lon,
        accuracy_m: wire.accuracy_m,
        captured_at: crate::time::parse_rfc3339("captured_at", &wire.captured_at)
            .map_err(|_| bad("with an unreadable captured_at"))?,
        is_mock: false,
    };
    fix.validate().map_err(|err| bad(&err.to_string()))?;
    for id in &wire.flag_ids {
        validate_id("flag_ids", id).map_err(|err| bad(&err.to_string()))?;
    }
    if wire.flag_ids.is_empty() {
        return Err(bad("naming no flag"));
    }
    let location = RetainedLocation {
        event_id: e.event_id.clone(),
        lat: wire.lat,
        lon: wire.lon,
        accuracy_m: wire.accuracy_m,
        captured_at: crate::time::whole_second(fix.captured_at),
        flag_ids: wire.flag_ids.clone(),
        // Set by the importer from its own flags.
        retain_until: fix.captured_at,
        salt: hex::decode(&wire.salt).map_err(|_| bad("with a salt that is not hex"))?,
    };
    if location.digest() != digest {
        return Err(bad("do not match the event's digest"));
    }
    Ok(location)
}

/// The hash covers the canonical text only: its `type` (always present),
/// `id` and `seq` must be the ones the batch files the event under.
pub(crate) fn check_names(
    canonical: &str,
    event_type: &str,
    event_id: &str,
    seq: i64,
) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(canonical)
        .map_err(|e| format!("content is not canonical JSON: {e}"))?;
    let object = value.as_object().ok_or("content is not a JSON object")?;
    if object.get("type").and_then(|v| v.as_str()) != Some(event_type) {
        return Err(format!("content is not of type {event_type:?}"));
    }
    if let Some(id) = object.get("id")
        && id.as_str() != Some(event_id)
    {
        return Err(format!("content is not event {event_id:?}"));
    }
    if let Some(s) = object.get("seq")
        && s.as_i64() != Some(seq)
    {
        return Err(format!("content carries another seq ({s})"));
    }
    Ok(())
}

fn decode_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}
