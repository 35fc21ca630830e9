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
use fieldcheck_core::leads::{LEAD_PERSONAL_FIELDS, LeadAction};
use fieldcheck_core::receipt::ReceiptContext;
use fieldcheck_core::report::{DayStatus, render};
use fieldcheck_core::{
    AccuracyBand, Actor, AttendanceEvent, BrokenLink, CheckInRequest, ConsentChange, ConsentEntry,
    ConsentSource, ConsentState, Decision, EventKind, Fix, FlagPurpose, Lead, LeadStatus,
    LeadUpdate, NewLead, NewTransaction, OsPermission, Permission, PositionClass, Reason, Role,
    Rules, Store, Transaction, TxnKind, VerifyReport,
};
use fieldcheck_core::{
    AckReport, ConsentStanding, DataSubject, DeviceState, ImportReport as SyncImportReport,
    PolicyVersion, RequestKind, RequestStatus, SubjectKind, SyncError, SyncStatus,
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
    pub lead_retention_days: i64,
    pub transaction_retention_days: i64,
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

// --- Leads, transactions, shifts, reviews and reports -----------------------

/// The pipeline, in order; `lost` is reachable from any open stage (the core
/// checks every move).
#[uniffi::remote(Enum)]
pub enum LeadStatus {
    New,
    Contacted,
    Qualified,
    Proposal,
    Won,
    Lost,
}

#[uniffi::remote(Enum)]
pub enum LeadAction {
    Created,
    Updated,
    Erased,
}

#[uniffi::remote(Enum)]
pub enum TxnKind {
    PolicyClosing,
    PremiumPayment,
    Renewal,
    Cancellation,
}

#[uniffi::remote(Enum)]
pub enum Decision {
    Approved,
    Rejected,
}

/// How an agent's local day went (`pending`: a shift day whose start plus
/// grace has not come yet).
#[uniffi::remote(Enum)]
pub enum DayStatus {
    OnTime,
    Late,
    Absent,
    Unscheduled,
    Pending,
}

/// A lead as it stands now; personal fields are `None` once erased.
#[uniffi::remote(Record)]
pub struct Lead {
    pub id: String,
    pub agent: String,
    pub status: LeadStatus,
    pub customer_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub notes: Vec<String>,
    pub created_at: UtcDateTime,
    pub updated_at: UtcDateTime,
    pub erased: bool,
}

/// A new lead as an agent enters it (status `new`).
#[uniffi::remote(Record)]
pub struct NewLead {
    pub agent: String,
    pub customer_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

/// A change to a lead; `None` leaves a field as it is, `note` adds a note.
#[uniffi::remote(Record)]
pub struct LeadUpdate {
    pub status: Option<LeadStatus>,
    pub customer_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

/// A policy closing, premium payment, renewal or cancellation.
#[uniffi::remote(Record)]
pub struct Transaction {
    pub id: String,
    pub seq: i64,
    pub agent: String,
    pub lead_id: Option<String>,
    pub kind: TxnKind,
    pub policy_number: String,
    pub product: String,
    pub amount_minor: i64,
    pub amount: String,
    pub currency: String,
    pub occurred_at: UtcDateTime,
    pub recorded_at: UtcDateTime,
    pub actor: Actor,
}

/// A transaction as an agent enters it: `amount` is a decimal string in
/// `currency` (ISO 4217), converted to minor units by the core.
#[uniffi::remote(Record)]
pub struct NewTransaction {
    pub agent: String,
    pub kind: TxnKind,
    pub policy_number: String,
    pub product: String,
    pub amount: String,
    pub currency: String,
    pub lead_id: Option<String>,
    pub occurred_at: Option<UtcDateTime>,
}

/// One version of a lead: who created or changed it, what, and when. The
/// personal values given in this version are `None` when not given or
/// erased since (`erased_fields` names the latter).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LeadActivity {
    pub id: String,
    pub seq: i64,
    pub lead_id: String,
    pub agent: String,
    pub action: LeadAction,
    /// The status after this change, when it changed (or at creation).
    pub status: Option<LeadStatus>,
    pub product: Option<String>,
    pub source: Option<String>,
    /// The policy closing that justified `won`.
    pub txn_id: Option<String>,
    pub customer_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub note: Option<String>,
    pub erased_fields: Vec<String>,
    pub at: UtcDateTime,
    pub actor: Actor,
}

/// An agent's recurring shift, as text the core parses: `start` and `end`
/// "HH:MM" local times (`end` before `start`: overnight), `days` such as
/// "mon-fri", "mon,wed,fri" or "daily", `tz` an IANA zone ("Asia/Jakarta").
/// Returned shifts are in the core's canonical form.
impl From<ReportFormat> for render::DocumentFormat {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Json => render::DocumentFormat::Json,
            ReportFormat::Csv => render::DocumentFormat::Csv,
            ReportFormat::Html => render::DocumentFormat::Html,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Shift {
    pub start: String,
    pub end: String,
    pub days: String,
    pub tz: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgentShift {
    pub agent: String,
    pub shift: Shift,
}

/// A supervisor's decision on one attendance event.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Review {
    pub id: String,
    pub seq: i64,
    pub event_id: String,
    pub agent: String,
    /// The reviewed event's local date, "YYYY-MM-DD".
    pub date: String,
    pub decision: Decision,
    /// `None` once erased.
    pub note: Option<String>,
    pub at: UtcDateTime,
    pub reviewer: Actor,
}

/// A report's period: local dates "YYYY-MM-DD", both inclusive; `agent`
/// `None` means everyone (supervisors, admins; agents get their own).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportQuery {
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
}

/// How a report is rendered: the core's JSON document (pretty-printed),
/// CSV (RFC 4180) or one self-contained HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReportFormat {
    Json,
    Csv,
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectionCount {
    pub reason: Reason,
    pub count: u32,
}

/// The latest supervisor decision on an event of a report day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReviewSummary {
    pub review_id: String,
    pub event_id: String,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    pub at: UtcDateTime,
}

/// One agent's local day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttendanceDay {
    pub agent: String,
    /// The agent's local date, "YYYY-MM-DD".
    pub date: String,
    /// The IANA zone the day was computed in; format the times below in it.
    pub time_zone: String,
    pub status: DayStatus,
    /// Local shift start "HH:MM", on a shift day.
    pub shift_start: Option<String>,
    /// First accepted check-in.
    pub first_check_in: Option<UtcDateTime>,
    pub site_id: Option<String>,
    /// Last accepted check-out.
    pub last_check_out: Option<UtcDateTime>,
    pub check_out_site_id: Option<String>,
    /// Whole minutes past shift start plus grace; 0 when on time, `None`
    /// without a shift or a check-in.
    pub minutes_late: Option<u32>,
    pub missing_check_out: bool,
    /// Rejected attempts per reason (non-zero counts only).
    pub rejected: Vec<RejectionCount>,
    pub rejected_total: u32,
    pub review: Option<ReviewSummary>,
}

/// Counts per local date, for a chart.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DateTotals {
    pub date: String,
    pub on_time: u32,
    pub late: u32,
    pub absent: u32,
    pub unscheduled: u32,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttendanceReport {
    pub schema_version: u32,
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
    pub generated_at: UtcDateTime,
    /// Sorted by agent, then date.
    pub days: Vec<AttendanceDay>,
    /// One entry per date of the period.
    pub totals: Vec<DateTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StatusCount {
    pub status: LeadStatus,
    pub count: u32,
}

/// An amount per ISO 4217 currency, as a decimal string ("1500000.00").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount: String,
}

/// One agent's sales over the period.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SalesRow {
    pub agent: String,
    /// Leads created in the period by current status, every status in
    /// pipeline order (zeros included).
    pub leads_by_status: Vec<StatusCount>,
    pub leads_total: u32,
    /// won / leads_total; `None` without leads.
    pub conversion_rate: Option<f64>,
    pub closings: u32,
    /// Premium (closings, payments, renewals), sorted by currency code.
    pub premium: Vec<CurrencyAmount>,
    pub cancellations: Vec<CurrencyAmount>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SalesReport {
    pub schema_version: u32,
    pub from: String,
    pub to: String,
    pub agent: Option<String>,
    pub generated_at: UtcDateTime,
    /// Sorted by agent.
    pub agents: Vec<SalesRow>,
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
    pub reviews: u64,
    pub leads: u64,
    pub lead_versions: u64,
    pub transactions: u64,
    pub consent_entries: u64,
    pub imported_events: u64,
    pub anchored_events: u64,
}

// --- Privacy policy, consent receipts, data-subject rights, sync -----------

/// How an agent's location consent stands against the published privacy
/// policy. `renewal_required`: the app asks the agent to accept the new
/// policy (check-ins are refused with `consent_required` until they grant
/// again).
#[uniffi::remote(Record)]
pub struct ConsentStanding {
    pub agent: String,
    pub current_policy_version: String,
    pub location_policy_version: Option<String>,
    pub location_granted: bool,
    pub renewal_required: bool,
    pub location_authorised: bool,
}

/// One published privacy-policy version; publication order decides which
/// is newer.
#[uniffi::remote(Record)]
pub struct PolicyVersion {
    pub id: String,
    pub seq: i64,
    pub version: String,
    pub requires_renewal: bool,
    pub published_at: UtcDateTime,
    pub published_by: Actor,
}

/// The data controller consent receipts name (set by an admin).
#[uniffi::remote(Record)]
pub struct ReceiptContext {
    pub controller_name: String,
    pub controller_contact: String,
    pub controller_email: String,
    pub controller_phone: String,
    pub controller_address: String,
    pub controller_url: Option<String>,
    pub jurisdiction: String,
    pub policy_url: String,
    pub language: String,
}

#[uniffi::remote(Enum)]
pub enum SubjectKind {
    Agent,
    Lead,
}

/// A data subject: an agent (by agent id) or a lead's customer (by lead id).
#[uniffi::remote(Record)]
pub struct DataSubject {
    pub kind: SubjectKind,
    pub id: String,
}

#[uniffi::remote(Enum)]
pub enum RequestKind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    LiftRestriction,
}

#[uniffi::remote(Enum)]
pub enum RequestStatus {
    Open,
    Done,
}

/// A logged data-subject request; due 30 days after it was received.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PrivacyRequest {
    pub id: String,
    pub seq: i64,
    pub subject: DataSubject,
    pub kind: RequestKind,
    pub received_at: UtcDateTime,
    pub due_at: UtcDateTime,
    pub received_by: Actor,
    pub status: RequestStatus,
    pub completed_at: Option<UtcDateTime>,
    pub completed_by: Option<Actor>,
}

/// What `sync_ack` left behind.
#[uniffi::remote(Record)]
pub struct AckReport {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    pub pending: i64,
}

/// How far this store has followed another device's chain.
#[uniffi::remote(Record)]
pub struct DeviceState {
    pub device_id: String,
    pub base_seq: i64,
    pub last_seq: i64,
    pub last_hash: String,
    pub events: i64,
}

/// This store's outbox and the devices it has imported from.
#[uniffi::remote(Record)]
pub struct SyncStatus {
    pub device_id: String,
    pub acked_seq: i64,
    pub head_seq: i64,
    pub pending: i64,
    pub imported_devices: Vec<DeviceState>,
}

/// What one `sync_import` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncImportSummary {
    pub imported: u64,
    pub skipped_replayed: u64,
    pub attendance_folded: u64,
    pub attendance_duplicates: u64,
    pub purged_on_device: u64,
    pub devices: Vec<DeviceState>,
}

/// Why a sync batch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncRefusal {
    /// The batch does not continue where the device's chain stands here
    /// (events missing, or batches out of order).
    Gap,
    /// A different event under a seq already imported (a copied device).
    Fork,
    /// An event does not match its hash or its predecessor (altered).
    Broken,
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
    /// A sync batch was refused; nothing of it was stored. `seq` is the
    /// device's event the refusal names (for a gap: the one the batch has).
    #[error("sync refused: {reason}")]
    SyncRefused {
        refusal: SyncRefusal,
        device: String,
        seq: i64,
        reason: String,
    },
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
            E::Sync(e) => {
                let reason = e.to_string();
                let (refusal, device, seq) = match e {
                    SyncError::Gap {
                        device, found_seq, ..
                    } => (SyncRefusal::Gap, device, found_seq),
                    SyncError::Fork { device, seq } => (SyncRefusal::Fork, device, seq),
                    SyncError::Broken { device, seq, .. } => (SyncRefusal::Broken, device, seq),
                };
                FieldCheckError::SyncRefused {
                    refusal,
                    device,
                    seq,
                    reason,
                }
            }
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

    /// Creates a lead (status `new`) owned by `lead.agent`: the agent
    /// themself, or an admin for them.
    pub fn add_lead(&self, actor: Actor, lead: NewLead, now: UtcDateTime) -> Result<Lead> {
        guard(|| self.store.add_lead(&actor, &lead, now))
    }

    /// Changes a lead's fields or status. Statuses move forward or to
    /// `lost` (anything else is `InvalidInput` naming `status`); `won` needs
    /// a `policy_closing` transaction for the lead first.
    pub fn update_lead(
        &self,
        actor: Actor,
        lead_id: String,
        update: LeadUpdate,
        now: UtcDateTime,
    ) -> Result<Lead> {
        guard(|| self.store.update_lead(&actor, &lead_id, &update, now))
    }

    /// Leads, oldest first. Agents see only their own; `agent: None` is
    /// everyone's for supervisors and admins.
    pub fn leads(
        &self,
        actor: Actor,
        agent: Option<String>,
        status: Option<LeadStatus>,
    ) -> Result<Vec<Lead>> {
        guard(|| {
            self.store
                .leads(&actor, &core::LeadFilter { agent, status })
        })
    }

    pub fn lead(&self, actor: Actor, lead_id: String) -> Result<Lead> {
        guard(|| self.store.lead(&actor, &lead_id))
    }

    /// Every version of a lead, oldest first: who changed what, and when.
    pub fn lead_history(&self, actor: Actor, lead_id: String) -> Result<Vec<LeadActivity>> {
        guard(|| self.store.lead_history(&actor, &lead_id))
            .map(|history| history.into_iter().map(activity_from_core).collect())
    }

    /// Records a transaction; the amount is converted to integer minor
    /// units of its ISO 4217 currency.
    pub fn add_transaction(
        &self,
        actor: Actor,
        transaction: NewTransaction,
        now: UtcDateTime,
    ) -> Result<Transaction> {
        guard(|| self.store.add_transaction(&actor, &transaction, now))
    }

    /// Transactions in the order they occurred (agents: their own only).
    pub fn transactions(&self, actor: Actor, agent: Option<String>) -> Result<Vec<Transaction>> {
        guard(|| self.store.transactions(&actor, agent.as_deref()))
    }

    // --- Shifts and reviews -------------------------------------------------

    /// Sets an agent's shift (admins); returns it in canonical form. A
    /// malformed time, day list or zone is `InvalidInput` naming the field.
    pub fn set_shift(
        &self,
        actor: Actor,
        agent: String,
        shift: Shift,
        now: UtcDateTime,
    ) -> Result<Shift> {
        guard(|| {
            let shift = shift_from_ffi(&shift)?;
            self.store.set_shift(&actor, &agent, &shift, now)?;
            Ok(shift_to_ffi(&shift))
        })
    }

    /// An agent's shift (agents: their own; supervisors and admins: anyone's).
    pub fn shift(&self, actor: Actor, agent: String) -> Result<Option<Shift>> {
        guard(|| self.store.shift(&actor, &agent)).map(|s| s.as_ref().map(shift_to_ffi))
    }

    /// Every agent's shift (agents: only their own).
    pub fn shifts(&self, actor: Actor) -> Result<Vec<AgentShift>> {
        guard(|| self.store.shifts(&actor)).map(|shifts| {
            shifts
                .into_iter()
                .map(|(agent, s)| AgentShift {
                    agent,
                    shift: shift_to_ffi(&s),
                })
                .collect()
        })
    }

    /// A supervisor approves or rejects an attendance event, with a note.
    pub fn review(
        &self,
        actor: Actor,
        event_id: String,
        decision: Decision,
        note: String,
        now: UtcDateTime,
    ) -> Result<Review> {
        guard(|| self.store.review(&actor, &event_id, decision, &note, now)).map(review_from_core)
    }

    /// The reviews of one event, oldest first (supervisors, admins).
    pub fn reviews_of(&self, actor: Actor, event_id: String) -> Result<Vec<Review>> {
        guard(|| self.store.reviews_of(&actor, &event_id))
            .map(|reviews| reviews.into_iter().map(review_from_core).collect())
    }

    // --- Reports ------------------------------------------------------------

    /// Attendance per agent and local day. Supervisors and admins see
    /// everyone; agents only themselves.
    pub fn attendance_report(
        &self,
        actor: Actor,
        query: ReportQuery,
        now: UtcDateTime,
    ) -> Result<AttendanceReport> {
        guard(|| {
            let report = self
                .store
                .attendance_report(&actor, &query_from_ffi(&query)?, now)?;
            attendance_report_from_core(report)
        })
    }

    /// The attendance report as one document, exactly as the command line
    /// writes it.
    pub fn attendance_report_document(
        &self,
        actor: Actor,
        query: ReportQuery,
        format: ReportFormat,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self
                .store
                .attendance_report(&actor, &query_from_ffi(&query)?, now)?;
            utf8(render::attendance_document(&report, format.into())?)
        })
    }

    /// Leads by status, conversion, closings and premium per agent.
    pub fn sales_report(
        &self,
        actor: Actor,
        query: ReportQuery,
        now: UtcDateTime,
    ) -> Result<SalesReport> {
        guard(|| {
            self.store
                .sales_report(&actor, &query_from_ffi(&query)?, now)
                .map(sales_report_from_core)
        })
    }

    /// The sales report as one document, exactly as the command line
    /// writes it.
    pub fn sales_report_document(
        &self,
        actor: Actor,
        query: ReportQuery,
        format: ReportFormat,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self
                .store
                .sales_report(&actor, &query_from_ffi(&query)?, now)?;
            utf8(render::sales_document(&report, format.into())?)
        })
    }

    // --- Privacy policy and consent receipts --------------------------------

    /// Publishes a privacy-policy version (admins). With `requires_renewal`,
    /// location consents given under older versions stop authorising
    /// check-ins until the agent grants again.
    pub fn publish_policy(
        &self,
        actor: Actor,
        version: String,
        requires_renewal: bool,
        now: UtcDateTime,
    ) -> Result<PolicyVersion> {
        guard(|| {
            self.store
                .publish_policy(&actor, &version, requires_renewal, now)
        })
    }

    /// Every published version, oldest first (policies are public).
    pub fn policy_versions(&self) -> Result<Vec<PolicyVersion>> {
        guard(|| self.store.policy_versions())
    }

    /// The version a consent change records when it names none.
    pub fn current_policy_version(&self) -> Result<String> {
        guard(|| self.store.current_policy_version())
    }

    /// How the agent's location consent stands against the published
    /// policy (agents: their own). An app shows "please accept the new
    /// privacy policy" while `renewal_required`.
    pub fn consent_standing(&self, actor: Actor, agent: String) -> Result<ConsentStanding> {
        guard(|| self.store.consent_standing(&actor, &agent))
    }

    /// Sets the data controller consent receipts name (admins).
    pub fn set_receipt_context(&self, actor: Actor, context: ReceiptContext) -> Result<()> {
        guard(|| self.store.set_receipt_context(&actor, &context))
    }

    /// The controller consent receipts name, if an admin has set one.
    pub fn receipt_context(&self) -> Result<Option<ReceiptContext>> {
        guard(|| self.store.receipt_context())
    }

    /// The consent receipt (Kantara CR v1.1 JSON) of one ledger entry; its
    /// `consentReceiptID` is the entry id. Agents get their own. Without a
    /// controller set: `InvalidInput` on field `controller`.
    pub fn consent_receipt(&self, actor: Actor, entry_id: String) -> Result<String> {
        guard(|| {
            let receipt = self.store.consent_receipt(&actor, &entry_id)?;
            Ok(serde_json::to_string_pretty(&receipt)?)
        })
    }

    // --- Data-subject rights ------------------------------------------------

    /// Everything held about `subject` as one JSON document (the access and
    /// portability copy). Admins; agents may export themselves. Logged as a
    /// completed access request.
    pub fn export_subject(
        &self,
        actor: Actor,
        subject: DataSubject,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let export = self.store.export_subject(&actor, &subject, now)?;
            Ok(serde_json::to_string_pretty(&export)?)
        })
    }

    /// Erases a subject's personal fields, keeping what legal holds keep
    /// (admins). Returns the erasure report as JSON (what was erased, what
    /// was kept, why and until when).
    pub fn erase_subject(
        &self,
        actor: Actor,
        subject: DataSubject,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self.store.erase_subject(&actor, &subject, now)?;
            Ok(serde_json::to_string_pretty(&report)?)
        })
    }

    /// Logs a data-subject request received `now` (admins); due 30 days
    /// later, open until completed.
    pub fn log_request(
        &self,
        actor: Actor,
        subject: DataSubject,
        kind: RequestKind,
        now: UtcDateTime,
    ) -> Result<PrivacyRequest> {
        guard(|| self.store.log_request(&actor, &subject, kind, now)).map(request_from_core)
    }

    /// Completes a logged request (admins).
    pub fn complete_request(
        &self,
        actor: Actor,
        request_id: String,
        now: UtcDateTime,
    ) -> Result<PrivacyRequest> {
        guard(|| self.store.complete_request(&actor, &request_id, now)).map(request_from_core)
    }

    /// Logged requests, oldest first (admins): optionally one subject's,
    /// only open ones, or only those overdue at `overdue_at`.
    pub fn requests(
        &self,
        actor: Actor,
        subject: Option<DataSubject>,
        open_only: bool,
        overdue_at: Option<UtcDateTime>,
    ) -> Result<Vec<PrivacyRequest>> {
        let filter = core::store::RequestFilter {
            subject,
            open_only,
            overdue_at,
        };
        guard(|| self.store.requests(&actor, &filter))
            .map(|list| list.into_iter().map(request_from_core).collect())
    }

    // --- Device sync --------------------------------------------------------

    /// This store's device id.
    pub fn device_id(&self) -> Result<String> {
        guard(|| self.store.device_id())
    }

    /// The next `limit` events of the outbox as one sync batch (JSON, the
    /// format `fieldcheck sync pending` prints). Supervisors and admins.
    pub fn sync_pending(&self, actor: Actor, limit: u32) -> Result<String> {
        guard(|| {
            let batch = self.store.sync_pending(&actor, limit as usize)?;
            Ok(serde_json::to_string(&batch)?)
        })
    }

    /// Like `sync_pending`, starting at `from_seq` whether acknowledged or
    /// not (resends what an importer lost).
    pub fn sync_pending_from(&self, actor: Actor, from_seq: i64, limit: u32) -> Result<String> {
        guard(|| {
            let batch = self
                .store
                .sync_pending_from(&actor, Some(from_seq), limit as usize)?;
            Ok(serde_json::to_string(&batch)?)
        })
    }

    /// Releases the outbox up to `up_to` (a batch's `to_seq`) once the
    /// importer has taken it. Admins only.
    pub fn sync_ack(&self, actor: Actor, up_to: i64) -> Result<AckReport> {
        guard(|| self.store.sync_ack(&actor, up_to))
    }

    /// The outbox and the devices imported from (supervisors, admins).
    pub fn sync_status(&self, actor: Actor) -> Result<SyncStatus> {
        guard(|| self.store.sync_status(&actor))
    }

    /// Imports another device's batch, all of it or nothing (admins). A gap,
    /// fork or altered event is `SyncRefused`; a malformed document is
    /// `InvalidInput`.
    pub fn sync_import(
        &self,
        actor: Actor,
        batch_json: String,
        now: UtcDateTime,
    ) -> Result<SyncImportSummary> {
        guard(|| self.store.sync_import(&actor, &batch_json, now)).map(import_summary_from_core)
    }

    /// Retention of imported copies (admins); returns how many imported
    /// events lost their content.
    pub fn purge_imported(&self, actor: Actor, now: UtcDateTime) -> Result<u64> {
        guard(|| self.store.purge_imported(&actor, now)).map(|n| n as u64)
    }
}

fn request_from_core(r: core::Request) -> PrivacyRequest {
    PrivacyRequest {
        id: r.id,
        seq: r.seq,
        subject: r.subject,
        kind: r.kind,
        received_at: r.received_at,
        due_at: r.due_at,
        received_by: r.received_by,
        status: r.status,
        completed_at: r.completed_at,
        completed_by: r.completed_by,
    }
}

fn import_summary_from_core(r: SyncImportReport) -> SyncImportSummary {
    SyncImportSummary {
        imported: r.imported,
        skipped_replayed: r.skipped_replayed,
        attendance_folded: r.attendance_folded,
        attendance_duplicates: r.attendance_duplicates,
        purged_on_device: r.purged_on_device,
        devices: r.devices,
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

fn activity_from_core(a: core::LeadActivity) -> LeadActivity {
    let personal = |field: &str| a.personal.get(field).map(str::to_string);
    LeadActivity {
        customer_name: personal("customer_name"),
        phone: personal("phone"),
        email: personal("email"),
        note: personal("note"),
        erased_fields: LEAD_PERSONAL_FIELDS
            .iter()
            .filter(|f| a.personal.is_erased(f))
            .map(|f| f.to_string())
            .collect(),
        id: a.id,
        seq: a.seq,
        lead_id: a.lead_id,
        agent: a.agent,
        action: a.action,
        status: a.status,
        product: a.product,
        source: a.source,
        txn_id: a.txn_id,
        at: a.at,
        actor: a.actor,
    }
}

/// The text form is parsed by the core's own parsers (`shift::parse_hhmm`,
/// `WeekdaySet::parse`, `shift::parse_time_zone`, `Shift::new`).
fn shift_from_ffi(s: &Shift) -> core::Result<core::Shift> {
    core::Shift::new(
        core::shift::parse_hhmm("start", &s.start)?,
        core::shift::parse_hhmm("end", &s.end)?,
        core::WeekdaySet::parse(&s.days)?,
        core::shift::parse_time_zone(&s.tz)?,
    )
}

fn shift_to_ffi(s: &core::Shift) -> Shift {
    Shift {
        start: s.start.format("%H:%M").to_string(),
        end: s.end.format("%H:%M").to_string(),
        days: s.days.to_string(),
        tz: s.tz.name().to_string(),
    }
}

fn review_from_core(r: core::Review) -> Review {
    Review {
        id: r.id,
        seq: r.seq,
        event_id: r.event_id,
        agent: r.agent,
        date: r.date.to_string(),
        decision: r.decision,
        note: r.note,
        at: r.at,
        reviewer: r.reviewer,
    }
}

fn query_from_ffi(q: &ReportQuery) -> core::Result<core::ReportQuery> {
    Ok(core::ReportQuery {
        from: core::time::parse_date("from", &q.from)?,
        to: core::time::parse_date("to", &q.to)?,
        agent: q.agent.clone(),
    })
}

/// A rendered document as text (every renderer writes UTF-8).
fn utf8(bytes: Vec<u8>) -> core::Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| core::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

fn attendance_report_from_core(r: core::AttendanceReport) -> core::Result<AttendanceReport> {
    let days = r
        .days
        .into_iter()
        .map(|d| {
            Ok(AttendanceDay {
                agent: d.agent.to_string(),
                date: d.date.to_string(),
                time_zone: d.time_zone.to_string(),
                status: d.status,
                shift_start: d.shift_start.map(|t| t.format("%H:%M").to_string()),
                first_check_in: d.first_check_in.map(|t| t.with_timezone(&Utc)),
                site_id: d.site_id.map(|s| s.to_string()),
                last_check_out: d.last_check_out.map(|t| t.with_timezone(&Utc)),
                check_out_site_id: d.check_out_site_id.map(|s| s.to_string()),
                minutes_late: d.minutes_late,
                missing_check_out: d.missing_check_out,
                rejected: Reason::ALL
                    .iter()
                    .filter_map(|reason| {
                        d.rejected.get(reason.as_str()).map(|count| RejectionCount {
                            reason: *reason,
                            count,
                        })
                    })
                    .collect(),
                rejected_total: d.rejected_total,
                review: d.review.map(|s| review_summary_from_core(*s)).transpose()?,
            })
        })
        .collect::<core::Result<Vec<_>>>()?;
    Ok(AttendanceReport {
        schema_version: r.schema_version,
        from: r.from.to_string(),
        to: r.to.to_string(),
        agent: r.agent,
        generated_at: r.generated_at,
        days,
        totals: r
            .totals
            .into_iter()
            .map(|t| DateTotals {
                date: t.date.to_string(),
                on_time: t.on_time,
                late: t.late,
                absent: t.absent,
                unscheduled: t.unscheduled,
            })
            .collect(),
    })
}

fn review_summary_from_core(s: core::report::ReviewSummary) -> core::Result<ReviewSummary> {
    Ok(ReviewSummary {
        review_id: s.review_id,
        event_id: s.event_id,
        decision: s.decision,
        reviewer: s.reviewer,
        note: s.note,
        at: s.at,
    })
}

fn sales_report_from_core(r: core::SalesReport) -> SalesReport {
    let amounts = |map: std::collections::BTreeMap<String, String>| {
        map.into_iter()
            .map(|(currency, amount)| CurrencyAmount { currency, amount })
            .collect()
    };
    SalesReport {
        schema_version: r.schema_version,
        from: r.from.to_string(),
        to: r.to.to_string(),
        agent: r.agent,
        generated_at: r.generated_at,
        agents: r
            .agents
            .into_iter()
            .map(|row| SalesRow {
                leads_by_status: LeadStatus::ALL
                    .iter()
                    .map(|status| StatusCount {
                        status: *status,
                        count: row.leads_by_status.get(status).copied().unwrap_or(0),
                    })
                    .collect(),
                agent: row.agent,
                leads_total: row.leads_total,
                conversion_rate: row.conversion_rate,
                closings: row.closings,
                premium: amounts(row.premium),
                cancellations: amounts(row.cancellations),
            })
            .collect(),
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
