//! uniffi bindings of fieldcheck-core: one long-lived [`FieldCheck`] object
//! per database, coarse calls (one FFI call per check-in), records for
//! requests and results, and one public error enum. No panic crosses the
//! boundary: every call runs under `catch_unwind` and a panic becomes
//! [`FieldCheckError::Internal`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use fieldcheck_core as core;
use fieldcheck_core::{
    AccuracyBand, Actor, AttendanceEvent, BrokenLink, CheckInRequest, ConsentChange, ConsentEntry,
    ConsentSource, ConsentState, EventKind, Fix, FlagPurpose, OsPermission, Permission,
    PositionClass, Reason, Role, Rules, Store, VerifyReport,
};

uniffi::setup_scaffolding!();

/// chrono's UTC time crosses the FFI as `SystemTime`: `java.time.Instant`
/// in Kotlin, `Date` in Swift.
pub type UtcDateTime = DateTime<Utc>;

uniffi::custom_type!(UtcDateTime, SystemTime, {
    remote,
    lower: |t| SystemTime::from(t),
    try_lift: |s| system_time_to_utc(s),
});

fn system_time_to_utc(s: SystemTime) -> uniffi::Result<UtcDateTime> {
    let (secs, nanos) = match s.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let nanos = d.subsec_nanos();
            if nanos == 0 {
                (-(d.as_secs() as i64), 0)
            } else {
                (-(d.as_secs() as i64) - 1, 1_000_000_000 - nanos)
            }
        }
    };
    DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("time out of range"))
}

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
pub enum Permission {
    Location,
    Push,
}

#[uniffi::remote(Enum)]
pub enum ConsentSource {
    App,
    OsSettings,
    Admin,
}

/// A platform permission state; approximate-only location is not consent
/// to attendance (the core decides, the shells only map OS states).
#[uniffi::remote(Enum)]
pub enum OsPermission {
    Granted,
    ApproximateOnly,
    Denied,
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
pub struct CheckInRequest {
    pub agent: String,
    pub kind: EventKind,
    pub fix: Fix,
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
}

#[uniffi::remote(Record)]
pub struct ConsentChange {
    pub subject: String,
    pub permission: Permission,
    pub granted: bool,
    pub policy_version: Option<String>,
    pub source: Option<ConsentSource>,
}

#[uniffi::remote(Record)]
pub struct ConsentEntry {
    pub id: String,
    pub seq: i64,
    pub subject: String,
    pub permission: Permission,
    pub granted: bool,
    pub policy_version: String,
    pub at: UtcDateTime,
    pub source: ConsentSource,
    pub actor: Actor,
}

#[uniffi::remote(Record)]
pub struct ConsentState {
    pub subject: String,
    pub location: Option<ConsentEntry>,
    pub push: Option<ConsentEntry>,
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
    pub time_zone: String,
}

#[uniffi::remote(Record)]
pub struct BrokenLink {
    pub seq: i64,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub problem: String,
}

#[uniffi::remote(Record)]
pub struct VerifyReport {
    pub intact: bool,
    pub events_checked: u64,
    pub anchored_events: u64,
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
    pub anchored_events: u64,
}

/// The one public error. Kotlin sees `FieldCheckException.*`, Swift an
/// `Error` enum.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldCheckError {
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("invalid GeoJSON (feature {feature:?}): {reason}")]
    InvalidGeoJson {
        feature: Option<u64>,
        reason: String,
    },
    #[error("permission denied: {reason}")]
    PermissionDenied { reason: String },
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The database file is damaged, foreign or from a newer build; it was
    /// left untouched.
    #[error("store unusable: {reason}")]
    StoreUnusable { reason: String },
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// A bug: a panic caught at the boundary.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<core::Error> for FieldCheckError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        match e {
            E::InvalidInput { field, reason } => FieldCheckError::InvalidInput { field, reason },
            E::InvalidGeoJson { feature, reason } => FieldCheckError::InvalidGeoJson {
                feature: feature.map(|f| f as u64),
                reason,
            },
            E::Json(e) => FieldCheckError::InvalidInput {
                field: "json".into(),
                reason: e.to_string(),
            },
            E::PermissionDenied(reason) => FieldCheckError::PermissionDenied { reason },
            E::NotFound(what) => FieldCheckError::NotFound { what },
            E::Corrupt(_) | E::SchemaTooNew { .. } => FieldCheckError::StoreUnusable {
                reason: e.to_string(),
            },
            E::Sqlite(_) | E::Io(_) => FieldCheckError::Storage {
                reason: e.to_string(),
            },
        }
    }
}

type Result<T, E = FieldCheckError> = std::result::Result<T, E>;

/// Runs a core call; a panic becomes `Internal` instead of unwinding into
/// the foreign runtime.
fn guard<T>(f: impl FnOnce() -> core::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(FieldCheckError::from),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            log::error!("panic caught at the FFI boundary: {reason}");
            Err(FieldCheckError::Internal { reason })
        }
    }
}

/// One store, opened once and shared by every thread of the app. Calls
/// block on SQLite: call them off the main thread (the shells' facades do).
#[derive(uniffi::Object)]
pub struct FieldCheck {
    store: Store,
}

#[uniffi::export]
impl FieldCheck {
    /// Opens or creates the store at `path`. A damaged or foreign file is
    /// refused (`StoreUnusable`) and left untouched.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<FieldCheck>> {
        guard(|| Store::open(&path)).map(|store| Arc::new(FieldCheck { store }))
    }

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

    /// Appends a grant or withdrawal to the consent ledger.
    pub fn change_consent(
        &self,
        actor: Actor,
        change: ConsentChange,
        now: UtcDateTime,
    ) -> Result<ConsentEntry> {
        guard(|| self.store.change_consent(&actor, &change, now))
    }

    pub fn consent_state(&self, actor: Actor, agent: String) -> Result<ConsentState> {
        guard(|| self.store.consent_state(&actor, &agent))
    }

    pub fn consent_history(&self, actor: Actor, agent: String) -> Result<Vec<ConsentEntry>> {
        guard(|| self.store.consent_history(&actor, &agent))
    }

    /// Mirrors an OS permission change into the consent ledger (source
    /// `os_settings`); returns the appended entry, or nothing when the
    /// ledger already agrees with the OS.
    pub fn record_os_permission(
        &self,
        actor: Actor,
        agent: String,
        permission: Permission,
        state: OsPermission,
        now: UtcDateTime,
    ) -> Result<Option<ConsentEntry>> {
        guard(|| {
            self.store
                .record_os_permission(&actor, &agent, permission, state, now)
        })
    }

    /// Stores the agent's push token; refused unless push consent is
    /// granted. Withdrawing push consent deletes it.
    pub fn register_push_token(
        &self,
        actor: Actor,
        agent: String,
        token: String,
        now: UtcDateTime,
    ) -> Result<()> {
        guard(|| self.store.register_push_token(&actor, &agent, &token, now))
    }

    pub fn push_token(&self, actor: Actor, agent: String) -> Result<Option<String>> {
        guard(|| self.store.push_token(&actor, &agent))
    }

    /// Judges a fix and records the verdict: one call per check-in/out.
    pub fn check(
        &self,
        actor: Actor,
        request: CheckInRequest,
        now: UtcDateTime,
    ) -> Result<AttendanceEvent> {
        guard(|| self.store.check(&actor, &request, now))
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

    /// Restricts (or lifts restriction of) processing for a subject (admin).
    pub fn set_restriction(
        &self,
        actor: Actor,
        subject: String,
        restricted: bool,
        now: UtcDateTime,
    ) -> Result<()> {
        guard(|| {
            self.store
                .set_restriction(&actor, &subject, restricted, now)
                .map(|_| ())
        })
    }

    /// Applies retention and leaves no bytes of what it removed (admin).
    pub fn purge(&self, actor: Actor, now: UtcDateTime) -> Result<PurgeReport> {
        guard(|| self.store.purge(&actor, now)).map(|r| PurgeReport {
            retained_locations: r.retained_locations as u64,
            attendance_events: r.attendance_events as u64,
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
}

fn flag_from_core(f: core::AuditFlag) -> AuditFlag {
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
    }
}

/// The library's version, so apps can log which core they run.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Diagnostics for the shells' call-overhead benchmark: opens a store at
/// `path`, imports one site, grants consent, then times `count` check-ins
/// made natively in Rust through the same `FieldCheck::check` the shells
/// call. Returns mean nanoseconds per call.
#[uniffi::export]
pub fn native_check_in_benchmark(path: String, count: u32) -> Result<f64> {
    let fc = FieldCheck::open(path)?;
    let admin = Actor::admin("bench-admin");
    let agent = Actor::agent("bench-agent");
    let t0 = Utc::now();
    fc.import_sites(admin, BENCH_SITE.to_string(), t0)?;
    fc.change_consent(
        agent.clone(),
        ConsentChange {
            subject: agent.id.clone(),
            permission: Permission::Location,
            granted: true,
            policy_version: None,
            source: None,
        },
        t0,
    )?;
    let started = std::time::Instant::now();
    for i in 0..count {
        let now = t0 + chrono::Duration::milliseconds(i64::from(i));
        fc.check(
            agent.clone(),
            CheckInRequest {
                agent: agent.id.clone(),
                kind: if i % 2 == 0 {
                    EventKind::CheckIn
                } else {
                    EventKind::CheckOut
                },
                fix: Fix {
                    lat: -6.1944,
                    lon: 106.8227,
                    accuracy_m: 10.0,
                    captured_at: now,
                    is_mock: false,
                },
            },
            now,
        )?;
    }
    Ok(started.elapsed().as_nanos() as f64 / f64::from(count.max(1)))
}

/// The one site of [`native_check_in_benchmark`]; shells benchmarking the
/// same calls import it too.
pub const BENCH_SITE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},"properties":{"id":"bench-hq","name":"Bench HQ","radius_m":200}}]}"#;

/// The GeoJSON of the benchmark site, so shells time identical calls.
#[uniffi::export]
pub fn bench_site_geojson() -> String {
    BENCH_SITE.to_string()
}
