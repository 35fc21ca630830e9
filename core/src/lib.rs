//! fieldcheck-core: geofenced, purpose-limited attendance for field agents.
//!
//! A check-in flows `Store::record_fix` → `evaluation::judge_fix` (pure) → one SQLite
//! transaction that records the verdict, links it into the hash chain and,
//! only under an audit flag, keeps the coordinates. See ARCHITECTURE.md.

pub mod agent_name;
pub mod attendance;
pub mod audit;
pub mod binding;
/// Test support: coordinates searched for in a store's files.
#[cfg(any(test, feature = "synthetic"))]
pub mod byte_scan;
pub mod chain;
pub mod config_feed;
pub mod consent;
pub mod console_user;
pub mod device;
pub mod device_clock;
pub mod enrol_link;
pub mod error;
pub mod evaluation;
pub mod geofence;
pub mod leads;
pub mod money;
pub mod personal;
pub mod policy;
pub mod privacy;
pub mod queue;
pub mod receipt;
pub mod report;
pub mod review;
pub mod rules;
pub mod seal;
pub mod shift;
pub mod sign_in_limit;
pub mod store;
pub mod store_location;
pub mod sync;
pub mod sync_client;
pub mod time;
pub mod today;
pub mod types;
pub mod wire;
pub mod zone;

pub use attendance::{AttendanceEvent, EventFilter, RetainedLocation};
pub use audit::{AuditFlag, FlagEnd, FlagPurpose, FlagRequest, FlagScope};
pub use chain::{BrokenLink, VerifyReport};
pub use consent::{ConsentEntry, ConsentSource, ConsentState, OsPermission};
pub use console_user::{ConsoleUser, UserRole};
pub use device::{
    DeviceKeystore, EnrolledDevice, EnrolmentCode, Platform, ServerLink, SoftwareKey,
};
pub use device_clock::DeviceClock;
pub use error::{DeviceError, Error, ErrorKind, Result};
pub use evaluation::{AccuracyBand, Fix, PositionClass, Reason, Verdict, judge_fix};
pub use geofence::{Fence, GeoPoint, Site, SiteIndex};
pub use leads::{
    Lead, LeadActivity, LeadStatus, LeadUpdate, NewLead, NewTransaction, Transaction, TxnKind,
};
pub use policy::{ConsentStanding, PolicyVersion};
pub use privacy::{DataSubject, Request, RequestKind, RequestStatus, SubjectKind};
pub use report::{AttendanceReport, SalesReport};
pub use review::{Decision, Review};
pub use rules::Rules;
pub use shift::{Shift, ShiftSchedule, ShiftVersion, WeekdaySet};
/// Synthetic data for benchmarks and demos; off in the library apps embed.
#[cfg(feature = "synthetic")]
pub use store::SyntheticAttendance;
pub use store::{
    ConsentChange, Durability, FixRequest, ImportSummary, LeadFilter, OpenOptions, PurgeReport,
    ReportQuery, Store,
};
pub use store::{Erased, ErasureReport, Kept, SignIn, SubjectExport, SyncedRecord};
pub use sync::{AckReport, DeviceState, ImportReport, SyncBatch, SyncError, SyncStatus};
pub use types::{Actor, EventKind, Permission, Role};
