//! The core's internal error. The FFI and the command line map it onto their
//! own small public errors through [`Error::kind`].

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// A caller-supplied value is malformed or out of range. Nothing was stored.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// A GeoJSON document was rejected; `feature` is the 0-based index in
    /// `features` when the problem belongs to one feature.
    #[error("invalid GeoJSON{}: {reason}", feature.map(|i| format!(" (feature {i})")).unwrap_or_default())]
    InvalidGeoJson {
        feature: Option<usize>,
        reason: String,
    },

    /// The actor's role may not make this call. Nothing was changed.
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    #[error("not found: {0}")]
    NotFound(String),

    /// The database file is unreadable, damaged or not a fieldcheck store. It
    /// is left untouched.
    #[error("database is damaged or is not a fieldcheck store: {0}")]
    Corrupt(String),

    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: u32, supported: u32 },

    #[error("storage: {0}")]
    Sqlite(rusqlite::Error),

    /// The PostgreSQL server refused or lost a statement or connection.
    #[error("storage: {0}")]
    Database(String),

    /// The master key is missing, wrong, or cannot seal this store
    /// (PRODUCT.md §12.5): nothing was written.
    #[error("{0}")]
    MasterKey(String),

    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),

    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// A sync batch was refused (gap, fork or altered event), naming the
    /// device and sequence number. Nothing of it was stored.
    #[error("{0}")]
    Sync(SyncError),

    /// A device or enrolment was refused (PRODUCT.md §12.2). Nothing was
    /// stored.
    #[error("{0}")]
    Device(DeviceError),

    /// The server refused a request (PRODUCT.md §12.3): its status, the
    /// problem type's last segment when it sent one, and its detail.
    #[error("the server refused the request ({status}{}): {detail}", problem.as_ref().map(|p| format!(", {p}")).unwrap_or_default())]
    Server {
        status: u16,
        problem: Option<String>,
        detail: String,
    },

    /// A configuration answer from the server did not link from what this
    /// device last applied to the head it states (PRODUCT.md §12.2): a
    /// change altered, dropped or out of order. Nothing was applied.
    #[error("{0}")]
    ConfigFeed(String),

    /// The server could not be reached, or kept failing, within the retry
    /// budget. Nothing was lost: a later attempt resumes.
    #[error("the server is unreachable: {0}")]
    Unreachable(String),
}

impl From<rusqlite::Error> for Error {
    /// SQLite's "not a database" and "corrupt" become [`Error::Corrupt`] so
    /// callers can tell a damaged file from a passing failure.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match e.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => Error::Corrupt(e.to_string()),
            _ => Error::Sqlite(e),
        }
    }
}

impl From<rusqlite::types::FromSqlError> for Error {
    /// A stored value of the wrong type: the file was edited or damaged.
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        Error::Corrupt(format!("unexpected stored value: {e}"))
    }
}

/// Coarse classification used for exit codes and the public FFI error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput,
    PermissionDenied,
    NotFound,
    Storage,
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn geojson(feature: Option<usize>, reason: impl Into<String>) -> Self {
        Error::InvalidGeoJson {
            feature,
            reason: reason.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } | Error::InvalidGeoJson { .. } | Error::Json(_) => {
                ErrorKind::InvalidInput
            }
            Error::Sync(_) | Error::Device(DeviceError::BadCode) | Error::MasterKey(_) => {
                ErrorKind::InvalidInput
            }
            Error::Device(_) => ErrorKind::PermissionDenied,
            Error::Server {
                status: 401 | 403, ..
            } => ErrorKind::PermissionDenied,
            Error::Server {
                status: 400..=499, ..
            } => ErrorKind::InvalidInput,
            Error::Server { .. } | Error::Unreachable(_) | Error::ConfigFeed(_) => {
                ErrorKind::Storage
            }
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Corrupt(_)
            | Error::SchemaTooNew { .. }
            | Error::Sqlite(_)
            | Error::Database(_)
            | Error::Io(_) => ErrorKind::Storage,
        }
    }
}

/// Why a batch was refused. Nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyncError {
    /// The batch does not continue where this device's chain stands here:
    /// events are missing (a truncated batch, or batches out of order).
    #[error(
        "sync gap: device {device} must continue with event {expected_seq}, the batch has {found_seq}"
    )]
    Gap {
        device: String,
        expected_seq: i64,
        found_seq: i64,
    },
    /// The device's chain diverged from what was imported: a different
    /// event with the same seq (e.g. a copied or restored device store).
    #[error(
        "sync fork: device {device} sent a different event {seq} than the one already imported"
    )]
    Fork { device: String, seq: i64 },
    /// An event does not match its own hash or does not link to its
    /// predecessor: the batch was altered.
    #[error("sync batch from device {device} is broken at event {seq}: {reason}")]
    Broken {
        device: String,
        seq: i64,
        reason: String,
    },
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Self {
        Error::Sync(e)
    }
}

/// Why a device's request was refused (PRODUCT.md §12.2–§12.3).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeviceError {
    #[error("the enrolment code is unknown, already used or expired")]
    BadCode,
    #[error("no enrolled device holds this token")]
    UnknownDevice,
    #[error("device {0} was revoked")]
    Revoked(String),
    #[error("the batch is from device {batch}, the token belongs to device {token}")]
    Mismatch { batch: String, token: String },
    #[error("the batch signature does not verify against device {0}'s key")]
    BadSignature(String),
    /// An event the device may not send (PRODUCT.md §12.2, "A device speaks
    /// for one agent"): about another agent, or a supervisor's or admin's
    /// act. The whole batch is refused.
    #[error("{0}")]
    AgentMismatch(Box<AgentRefusal>),
}

/// Which event of a batch its device may not send, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "device {device} is enrolled for agent {agent}; its event {seq} ({event_type} {event_id}) is refused: {reason}"
)]
pub struct AgentRefusal {
    pub device: String,
    pub agent: String,
    pub seq: i64,
    pub event_type: String,
    pub event_id: String,
    pub reason: String,
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Self {
        Error::Device(e)
    }
}
