//! Sites, check-ins and check-outs, audit flags, purge and chain verification.

use crate::*;

#[uniffi::remote(Enum)]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

#[uniffi::remote(Enum)]
pub enum EventKind {
    CheckIn,
    CheckOut,
}

#[uniffi::remote(Enum)]
pub enum FlagPurpose {
    Audit,
    Security,
}

#[uniffi::remote(Enum)]
pub enum Reason {
    Restricted,
    ConsentRequired,
    StaleFix,
    FutureFix,
    MockLocation,
    LowAccuracy,
    NoSites,
    OutsideGeofence,
    UncertainPosition,
    ImpossibleTravel,
    Sequence,
}

#[uniffi::remote(Enum)]
pub enum PositionClass {
    Inside,
    Outside,
    Uncertain,
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum AccuracyBand {
    Le10,
    Le25,
    Le50,
    Le100,
    Gt100,
}

#[uniffi::remote(Record)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

/// A position fix; it is judged and dropped (kept only under an audit flag).
#[uniffi::remote(Record)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub captured_at: UtcDateTime,
    pub is_mock: bool,
}

#[uniffi::remote(Record)]
pub struct FixRequest {
    pub agent: String,
    pub kind: EventKind,
    pub fix: Fix,
}

/// One check-in or check-out, whole: who submits it, the request and the
/// device's `now`. One record, so that the call lowers one argument buffer:
/// the generated Kotlin pays an FFI allocation call per record argument.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FixSubmission {
    pub actor: Actor,
    pub request: FixRequest,
    pub now: UtcDateTime,
}

#[uniffi::remote(Record)]
pub struct AttendanceEvent {
    pub id: String,
    pub seq: i64,
    pub agent: String,
    pub kind: EventKind,
    pub accepted: bool,
    pub reasons: Vec<Reason>,
    pub site_id: Option<String>,
    pub position: PositionClass,
    pub distance_m: Option<u32>,
    pub accuracy_band: AccuracyBand,
    pub captured_at: UtcDateTime,
    pub recorded_at: UtcDateTime,
    pub consent_entry: Option<String>,
    pub coords_digest: Option<String>,
    pub location_retained: bool,
    pub recorded_by: Actor,
    /// The device that recorded it, for events a store imported.
    pub device_id: Option<String>,
    /// The device's clock when it recorded the event (devices enrolled
    /// with a server).
    pub device_clock: Option<DeviceClock>,
    /// The importing store could not reconcile the recorded time with the
    /// device's clock.
    pub clock_skew: bool,
}

#[uniffi::remote(Record)]
pub struct DeviceClock {
    /// Server time minus device time at the last exchange, milliseconds.
    pub offset_ms: i64,
    /// The server's time at that exchange.
    pub last_exchange_server_at: UtcDateTime,
}

#[uniffi::remote(Record)]
pub struct Rules {
    pub max_fix_age_s: i64,
    pub max_clock_skew_s: i64,
    pub max_accuracy_m: f64,
    pub max_travel_speed_kmh: f64,
    pub max_flag_days: i64,
    pub audit_retention_days: i64,
    pub late_grace_min: i64,
    pub attendance_retention_days: i64,
    pub consent_retention_days_after_withdrawal: i64,
    pub lead_retention_days: i64,
    pub transaction_retention_days: i64,
    pub time_zone: String,
}

/// The first thing `verify` found wrong: an event of this store's chain,
/// of a device's imported chain (`device_id`), or a row outside the chains
/// (`table`, `row`).
#[uniffi::remote(Record)]
pub struct BrokenLink {
    pub seq: i64,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub problem: String,
    pub device_id: Option<String>,
    pub table: Option<String>,
    pub row: Option<String>,
}

#[uniffi::remote(Record)]
pub struct VerifyReport {
    pub intact: bool,
    pub events_checked: u64,
    pub anchored_events: u64,
    pub imported_events_checked: u64,
    pub first_broken: Option<BrokenLink>,
}

/// Whom an audit flag covers.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FlagScope {
    Agent { id: String },
    Site { id: String },
    Everyone,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FlagRequest {
    pub scope: FlagScope,
    pub purpose: FlagPurpose,
    pub reason: String,
    pub expires_at: UtcDateTime,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AuditFlag {
    pub id: String,
    pub scope: FlagScope,
    pub purpose: FlagPurpose,
    /// `None` once erased.
    pub reason: Option<String>,
    pub set_by: Actor,
    pub starts_at: UtcDateTime,
    pub expires_at: UtcDateTime,
    /// When a supervisor ended it before its expiry.
    pub ended_at: Option<UtcDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportSummary {
    pub added: u64,
    pub replaced: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PurgeReport {
    pub retained_locations: u64,
    pub attendance_events: u64,
    pub reviews: u64,
    pub leads: u64,
    pub lead_versions: u64,
    pub transactions: u64,
    pub consent_entries: u64,
    pub imported_events: u64,
    pub anchored_events: u64,
}

pub(crate) fn flag_from_core(f: core::AuditFlag) -> AuditFlag {
    AuditFlag {
        id: f.id,
        scope: match f.scope {
            core::FlagScope::Agent(id) => FlagScope::Agent { id },
            core::FlagScope::Site(id) => FlagScope::Site { id },
            core::FlagScope::Everyone => FlagScope::Everyone,
        },
        purpose: f.purpose,
        reason: f.reason,
        set_by: f.set_by,
        starts_at: f.starts_at,
        expires_at: f.expires_at,
        ended_at: f.ended_at,
    }
}

#[uniffi::export]
impl FieldCheck {
    /// Imports a GeoJSON FeatureCollection of sites, all or nothing (admin).
    pub fn import_sites(
        &self,
        actor: Actor,
        geojson: String,
        now: UtcDateTime,
    ) -> Result<ImportSummary> {
        guard(|| self.store.import_sites(&actor, &geojson, now)).map(|s| ImportSummary {
            added: s.added as u64,
            replaced: s.replaced as u64,
        })
    }

    /// Every site as one GeoJSON FeatureCollection.
    pub fn sites_geojson(&self) -> Result<String> {
        guard(|| self.store.export_sites())
    }

    /// Judges a fix and records the verdict: one call per check-in/out,
    /// one record in and one out.
    pub fn record_fix(&self, submission: FixSubmission) -> Result<AttendanceEvent> {
        guard(|| {
            self.store
                .record_fix(&submission.actor, &submission.request, submission.now)
        })
    }

    /// Attendance events, oldest first (agents: their own only).
    pub fn events(
        &self,
        actor: Actor,
        agent: Option<String>,
        from: Option<UtcDateTime>,
        to: Option<UtcDateTime>,
    ) -> Result<Vec<AttendanceEvent>> {
        guard(|| {
            self.store
                .events(&actor, &core::EventFilter { agent, from, to })
        })
    }

    /// Sets an audit or security flag (supervisors, admins).
    pub fn set_flag(
        &self,
        actor: Actor,
        request: FlagRequest,
        now: UtcDateTime,
    ) -> Result<AuditFlag> {
        let request = core::FlagRequest {
            scope: match request.scope {
                FlagScope::Agent { id } => core::FlagScope::Agent(id),
                FlagScope::Site { id } => core::FlagScope::Site(id),
                FlagScope::Everyone => core::FlagScope::Everyone,
            },
            purpose: request.purpose,
            reason: request.reason,
            expires_at: request.expires_at,
        };
        guard(|| self.store.set_flag(&actor, &request, now)).map(flag_from_core)
    }

    /// Ends a flag now, before its expiry (supervisors, admins): it covers
    /// no later fix, and what it kept goes sooner.
    pub fn end_flag(&self, actor: Actor, flag_id: String, now: UtcDateTime) -> Result<AuditFlag> {
        guard(|| self.store.end_flag(&actor, &flag_id, now)).map(flag_from_core)
    }

    /// The flags covering `agent` (transparency), or all flags.
    pub fn flags(
        &self,
        actor: Actor,
        agent: Option<String>,
        now: UtcDateTime,
    ) -> Result<Vec<AuditFlag>> {
        guard(|| self.store.flags(&actor, agent.as_deref(), now))
            .map(|flags| flags.into_iter().map(flag_from_core).collect())
    }

    /// Applies retention and leaves no bytes of what it removed (admin).
    pub fn purge(&self, actor: Actor, now: UtcDateTime) -> Result<PurgeReport> {
        guard(|| self.store.purge(&actor, now)).map(|r| PurgeReport {
            retained_locations: r.retained_locations as u64,
            attendance_events: r.attendance_events as u64,
            reviews: r.reviews as u64,
            leads: r.leads as u64,
            lead_versions: r.lead_versions as u64,
            transactions: r.transactions as u64,
            consent_entries: r.consent_entries as u64,
            imported_events: r.imported_events as u64,
            anchored_events: r.anchored_events as u64,
        })
    }

    /// Recomputes the hash chain and names the first broken link.
    pub fn verify(&self) -> Result<VerifyReport> {
        guard(|| self.store.verify())
    }

    pub fn rules(&self) -> Rules {
        self.store.rules()
    }

    pub fn set_rules(&self, actor: Actor, rules: Rules) -> Result<()> {
        guard(|| self.store.set_rules(&actor, rules))
    }

    // --- Leads and transactions ---------------------------------------------
}
