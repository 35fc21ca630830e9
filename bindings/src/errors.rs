//! The one public error, and the guard that keeps panics from crossing the FFI.

use crate::*;

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
    /// The server refused a request: its HTTP status and the problem type's
    /// last segment (PRODUCT.md §12.3), e.g. `revoked-device`. A push stops
    /// here; nothing unacknowledged was released.
    #[error("server refused ({status}): {reason}")]
    ServerRefused {
        status: u16,
        problem: Option<String>,
        reason: String,
    },
    /// The server could not be reached within the retry budget (or a
    /// transport reports a network failure). Nothing was lost.
    #[error("unreachable: {reason}")]
    Unreachable { reason: String },
    /// The server's configuration answer did not link from what this
    /// device last applied (a change altered, dropped or out of order), or
    /// carried something about another agent. Nothing was applied; the
    /// device keeps judging with what it had.
    #[error("configuration refused: {reason}")]
    ConfigRefused { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FieldCheckError {
    /// A foreign implementation (transport, keystore) threw something it
    /// should not have.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FieldCheckError::Internal {
            reason: format!("foreign callback failed: {}", e.reason),
        }
    }
}

impl From<core::Error> for FieldCheckError {
    fn from(e: core::Error) -> Self {
        use fieldcheck_core::Error as E;
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
            E::Device(d) => match d {
                core::DeviceError::BadCode => FieldCheckError::InvalidInput {
                    field: "code".into(),
                    reason: d.to_string(),
                },
                other => FieldCheckError::PermissionDenied {
                    reason: other.to_string(),
                },
            },
            E::Server {
                status,
                problem,
                detail,
            } => FieldCheckError::ServerRefused {
                status,
                problem,
                reason: detail,
            },
            E::Unreachable(reason) => FieldCheckError::Unreachable { reason },
            // The app's library never seals (a server's store does): a
            // sealed store handed to it is refused like bad input.
            E::MasterKey(reason) => FieldCheckError::InvalidInput {
                field: "master_key".into(),
                reason,
            },
            E::ConfigFeed(reason) => FieldCheckError::ConfigRefused { reason },
            E::NotFound(what) => FieldCheckError::NotFound { what },
            E::Corrupt(_) | E::SchemaTooNew { .. } => FieldCheckError::StoreUnusable {
                reason: e.to_string(),
            },
            E::Sqlite(_) | E::Database(_) | E::Io(_) => FieldCheckError::Storage {
                reason: e.to_string(),
            },
        }
    }
}

pub(crate) type Result<T, E = FieldCheckError> = std::result::Result<T, E>;

/// Runs a core call; a panic becomes `Internal` instead of unwinding into
/// the foreign runtime.
pub(crate) fn guard<T>(f: impl FnOnce() -> core::Result<T>) -> Result<T> {
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
