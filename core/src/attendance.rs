//! Attendance events: what a judged fix leaves behind (PRODUCT.md §4). No
//! coordinates, no accuracy, nothing a position can be recomputed from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::chain;
use crate::device_clock::DeviceClock;
use crate::error::{Error, Result};
use crate::evaluation::{AccuracyBand, PositionClass, Reason};
use crate::time::from_unix;
use crate::types::{Actor, EventKind, Role};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttendanceEvent {
    #[serde(rename = "event_id")]
    pub id: String,
    pub seq: i64,
    pub agent: String,
    pub kind: EventKind,
    pub accepted: bool,
    pub reasons: Vec<Reason>,
    pub site_id: Option<String>,
    pub position: PositionClass,
    /// Distance to the site's fence rounded up to 10 m (outside only).
    pub distance_m: Option<u32>,
    pub accuracy_band: AccuracyBand,
    #[serde(with = "crate::time::rfc3339")]
    pub captured_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub recorded_at: DateTime<Utc>,
    /// The consent ledger entry that authorised judging the fix.
    pub consent_entry: Option<String>,
    /// Salted digest of the retained coordinates, when a flag kept them.
    #[serde(skip)]
    pub coords_digest: Option<String>,
    /// Whether the coordinates are held right now (under an audit flag).
    pub location_retained: bool,
    pub recorded_by: Actor,
    /// The device that recorded it, on a store that imported it (PRODUCT.md
    /// §10 `events`); absent for the store's own events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The device's clock offset when it recorded the event, on a device
    /// enrolled with a server (chained; see [`crate::device_clock`]).
    #[serde(skip)]
    pub device_clock: Option<DeviceClock>,
    /// The importing server found the recorded time out of its bounds;
    /// shown only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clock_skew: bool,
}

impl AttendanceEvent {
    pub const EVENT_TYPE: &'static str = "attendance";

    pub fn canonical(&self) -> Vec<u8> {
        let reasons: Vec<&str> = self.reasons.iter().map(|r| r.as_str()).collect();
        let mut fields = vec![
            ("id", json!(self.id)),
            ("seq", json!(self.seq)),
            ("agent", json!(self.agent)),
            ("kind", json!(self.kind.as_str())),
            ("accepted", json!(self.accepted)),
            ("reasons", json!(reasons)),
            ("site_id", json!(self.site_id)),
            ("position", json!(self.position.as_str())),
            ("distance_m", json!(self.distance_m)),
            ("accuracy_band", json!(self.accuracy_band.as_str())),
            ("captured_at", json!(self.captured_at.timestamp())),
            ("recorded_at", json!(self.recorded_at.timestamp())),
            ("consent_entry", json!(self.consent_entry)),
            ("coords_digest", json!(self.coords_digest)),
            ("actor_id", json!(self.recorded_by.id)),
            ("actor_role", json!(self.recorded_by.role.as_str())),
        ];
        // Only a device enrolled with a server records its clock; events
        // without it keep the encoding (and hashes) they always had.
        if let Some(clock) = &self.device_clock {
            fields.push(("clock_offset_ms", json!(clock.offset_ms)));
            fields.push((
                "last_exchange_server_at",
                json!(clock.last_exchange_server_at.timestamp()),
            ));
        }
        chain::canonical(Self::EVENT_TYPE, fields)
    }

    /// An event imported from `device_id`, read back from the canonical
    /// encoding its chain hashed (the only form a device sends).
    pub fn from_canonical(text: &str, device_id: &str) -> Result<AttendanceEvent> {
        #[derive(Deserialize)]
        struct Canonical {
            id: String,
            seq: i64,
            agent: String,
            kind: String,
            accepted: bool,
            reasons: Vec<String>,
            site_id: Option<String>,
            position: String,
            distance_m: Option<u32>,
            accuracy_band: String,
            captured_at: i64,
            recorded_at: i64,
            consent_entry: Option<String>,
            coords_digest: Option<String>,
            actor_id: String,
            actor_role: String,
            #[serde(default)]
            clock_offset_ms: Option<i64>,
            #[serde(default)]
            last_exchange_server_at: Option<i64>,
        }
        let c: Canonical = serde_json::from_str(text)?;
        Ok(AttendanceEvent {
            id: c.id,
            seq: c.seq,
            agent: c.agent,
            kind: EventKind::parse("kind", &c.kind)?,
            accepted: c.accepted,
            reasons: c
                .reasons
                .iter()
                .map(|r| Reason::parse("reasons", r))
                .collect::<Result<_>>()?,
            site_id: c.site_id,
            position: PositionClass::parse("position", &c.position)?,
            distance_m: c.distance_m,
            accuracy_band: AccuracyBand::parse("accuracy_band", &c.accuracy_band)?,
            captured_at: from_unix("captured_at", c.captured_at)?,
            recorded_at: from_unix("recorded_at", c.recorded_at)?,
            consent_entry: c.consent_entry,
            coords_digest: c.coords_digest,
            // Coordinates never leave the device.
            location_retained: false,
            recorded_by: Actor::new(c.actor_id, Role::parse("actor_role", &c.actor_role)?),
            device_id: Some(device_id.to_string()),
            device_clock: match (c.clock_offset_ms, c.last_exchange_server_at) {
                (Some(offset_ms), Some(at)) => Some(DeviceClock {
                    offset_ms,
                    last_exchange_server_at: from_unix("last_exchange_server_at", at)?,
                }),
                (None, None) => None,
                _ => {
                    return Err(Error::invalid(
                        "clock_offset_ms",
                        "a device clock needs both its offset and its exchange time",
                    ));
                }
            },
            // Set by the importing store, which knows when it arrived.
            clock_skew: false,
        })
    }

    /// Reasons as stored: comma-separated stable codes.
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The reasons of [`AttendanceEvent::reasons_text`], read back.
    pub fn parse_reasons(text: &str) -> Result<Vec<Reason>> {
        text.split(',')
            .filter(|r| !r.is_empty())
            .map(|r| Reason::parse("reasons", r))
            .collect()
    }
}

/// Coordinates kept under an audit flag, with the salt of their digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetainedLocation {
    pub event_id: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    #[serde(with = "crate::time::rfc3339")]
    pub captured_at: DateTime<Utc>,
    pub flag_ids: Vec<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub retain_until: DateTime<Utc>,
    #[serde(skip)]
    pub salt: Vec<u8>,
}

impl RetainedLocation {
    /// What the event's `coords_digest` is a digest of.
    pub fn digest(&self) -> String {
        let value = chain::canonical(
            "retained_location",
            vec![
                ("lat", json!(self.lat)),
                ("lon", json!(self.lon)),
                ("accuracy_m", json!(self.accuracy_m)),
                ("captured_at", json!(self.captured_at.timestamp())),
            ],
        );
        chain::salted_digest(&self.salt, &value)
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub agent: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

crate::chain::chained!(AttendanceEvent);
