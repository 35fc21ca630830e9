//! uniffi bindings of fieldcheck-core: one long-lived [`FieldCheck`] object
//! per database, coarse calls (one FFI call per check-in), records for
//! requests and results, and one public error enum. No panic crosses the
//! boundary: every call runs under `catch_unwind` and a panic becomes
//! [`FieldCheckError::Internal`].
//!
//! One file per area, as large FFI crates (matrix-sdk-ffi) split theirs:
//! `attendance`, `consent`, `device` (the wire to a server), `sales`,
//! `reports`, `privacy`, `sync`, `errors`, `time`. Each adds its records and its `impl FieldCheck` block; all are
//! re-exported here, so the crate's API (and the generated Kotlin and
//! Swift) stays one flat namespace. The area files take the core's types
//! and the shared helpers from this root (`use crate::*`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use fieldcheck_core as core;
use fieldcheck_core::Platform;
use fieldcheck_core::leads::{LEAD_PERSONAL_FIELDS, LeadAction};
use fieldcheck_core::receipt::ReceiptContext;
use fieldcheck_core::report::{DayStatus, render};
use fieldcheck_core::sync_client::{PullReport, PushReport};
use fieldcheck_core::wire::DecisionNotice;
use fieldcheck_core::{
    AccuracyBand, Actor, AttendanceEvent, BrokenLink, ConsentChange, ConsentEntry, ConsentSource,
    ConsentState, Decision, DeviceClock, EventKind, Fix, FixRequest, FlagPurpose, Lead, LeadStatus,
    LeadUpdate, NewLead, NewTransaction, OsPermission, Permission, PositionClass, Reason, Role,
    Rules, Store, Transaction, TxnKind, VerifyReport,
};
use fieldcheck_core::{
    AckReport, ConsentStanding, DataSubject, DeviceState, ImportReport as SyncImportReport,
    PolicyVersion, RequestKind, RequestStatus, SubjectKind, SyncError, SyncStatus,
};

mod attendance;
mod consent;
mod device;
mod errors;
mod privacy;
mod reports;
mod sales;
mod sync;
mod time;

pub use attendance::*;
pub use consent::*;
pub use device::*;
pub use errors::*;
pub use privacy::*;
pub use reports::*;
pub use sales::*;
pub use sync::*;
pub use time::*;

uniffi::setup_scaffolding!();

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
        fc.record_fix(FixSubmission {
            actor: agent.clone(),
            request: FixRequest {
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
        })?;
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
