//! The consent ledger (PRODUCT.md §5): append-only entries; the current
//! state of a permission is its latest entry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::types::{Actor, Permission, string_enum};

/// Policy version recorded when the caller names none and no policy has
/// been published yet.
pub const DEFAULT_POLICY_VERSION: &str = "1";

string_enum!(
    /// Where a consent change came from.
    ConsentSource { App => "app", OsSettings => "os_settings", Admin => "admin" }
);

string_enum!(
    /// A platform permission state as the OS reports it. `ApproximateOnly`
    /// (Android coarse, iOS reduced accuracy) is useless for a geofence, so
    /// it is not consent to attendance.
    OsPermission {
        Granted => "granted",
        ApproximateOnly => "approximate_only",
        Denied => "denied",
        Restricted => "restricted",
    }
);

impl OsPermission {
    /// Whether this OS state amounts to the permission being granted.
    pub fn allows(self) -> bool {
        self == OsPermission::Granted
    }
}

/// One ledger entry. Its id doubles as the consent receipt id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentEntry {
    #[serde(rename = "entry_id")]
    pub id: String,
    pub seq: i64,
    pub subject: String,
    pub permission: Permission,
    pub granted: bool,
    pub policy_version: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub source: ConsentSource,
    pub actor: Actor,
}

impl ConsentEntry {
    pub const EVENT_TYPE: &'static str = "consent";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("subject", json!(self.subject)),
                ("permission", json!(self.permission.as_str())),
                ("granted", json!(self.granted)),
                ("policy_version", json!(self.policy_version)),
                ("at", json!(self.at.timestamp())),
                ("source", json!(self.source.as_str())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

/// The latest entry per permission for one subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsentState {
    pub subject: String,
    pub location: Option<ConsentEntry>,
    pub push: Option<ConsentEntry>,
}

impl ConsentState {
    /// The entry that authorises location processing now, if any.
    pub fn location_authorisation(&self) -> Option<&ConsentEntry> {
        self.location.as_ref().filter(|e| e.granted)
    }

    pub fn is_granted(&self, permission: Permission) -> bool {
        let entry = match permission {
            Permission::Location => &self.location,
            Permission::Push => &self.push,
        };
        entry.as_ref().is_some_and(|e| e.granted)
    }
}

crate::chain::chained!(ConsentEntry);
