//! Privacy-policy versions (PRODUCT.md §1, §3 step 2, §5).
//!
//! Admins publish versions; publication order (the chain sequence) decides
//! which version is newer, so version names are opaque ("2", "2026-03", …).
//! The rule, kept here as pure functions so that the store and any other
//! caller apply it alike:
//!
//! - The **current** version is the latest published one, or
//!   [`DEFAULT_POLICY_VERSION`] while none is published. A consent change
//!   that names no version records the current one.
//! - The **renewal baseline** is the latest published version marked
//!   `requires_renewal`. A location consent authorises processing only if it
//!   was given under the baseline or a version published after it. A version
//!   that was never published (consents recorded before any publication)
//!   counts as older than every published one.
//! - Without any renewal-requiring publication every grant stays valid.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
pub use crate::consent::DEFAULT_POLICY_VERSION;
use crate::types::Actor;

/// One published privacy-policy version (a chained event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    #[serde(rename = "policy_id")]
    pub id: String,
    pub seq: i64,
    pub version: String,
    /// Consents given under older versions stop authorising location
    /// processing once this version is published.
    pub requires_renewal: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub published_at: DateTime<Utc>,
    pub published_by: Actor,
}

impl PolicyVersion {
    pub const EVENT_TYPE: &'static str = "policy";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("version", json!(self.version)),
                ("requires_renewal", json!(self.requires_renewal)),
                ("published_at", json!(self.published_at.timestamp())),
                ("actor_id", json!(self.published_by.id)),
                ("actor_role", json!(self.published_by.role.as_str())),
            ],
        )
    }
}

/// The version a consent change records when it names none. `published`
/// is in publication order.
pub fn current_version(published: &[PolicyVersion]) -> &str {
    published
        .last()
        .map_or(DEFAULT_POLICY_VERSION, |p| p.version.as_str())
}

/// Whether a consent given under `consent_version` must be renewed before it
/// authorises location processing again. `published` is in publication
/// order.
pub fn renewal_required(published: &[PolicyVersion], consent_version: &str) -> bool {
    let Some(baseline) = published.iter().rposition(|p| p.requires_renewal) else {
        return false;
    };
    match published.iter().position(|p| p.version == consent_version) {
        Some(given_under) => given_under < baseline,
        // Never published: older than anything published.
        None => true,
    }
}

/// How an agent's location consent stands against the published policy
/// (what `consent show` reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentStanding {
    pub agent: String,
    /// The version a new grant records.
    pub current_policy_version: String,
    /// The version of the latest location entry, if any.
    pub location_policy_version: Option<String>,
    pub location_granted: bool,
    /// Granted, but under a version that a renewal-requiring publication
    /// superseded: check-ins are refused with `consent_required` until the
    /// agent grants again.
    pub renewal_required: bool,
    /// Granted and not in need of renewal.
    pub location_authorised: bool,
}

crate::chain::chained!(PolicyVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn published(list: &[(&str, bool)]) -> Vec<PolicyVersion> {
        list.iter()
            .enumerate()
            .map(|(i, (version, renewal))| PolicyVersion {
                id: format!("p{i}"),
                seq: i as i64 + 1,
                version: (*version).into(),
                requires_renewal: *renewal,
                published_at: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap(),
                published_by: Actor::admin("admin"),
            })
            .collect()
    }

    #[test]
    fn nothing_published_means_default_and_no_renewal() {
        assert_eq!(current_version(&[]), DEFAULT_POLICY_VERSION);
        assert!(!renewal_required(&[], "1"));
        assert!(!renewal_required(&[], "anything"));
    }

    #[test]
    fn renewal_follows_publication_order_not_names() {
        // "b" published after "c": names do not order versions.
        let list = published(&[("a", false), ("c", false), ("b", true), ("d", false)]);
        assert_eq!(current_version(&list), "d");
        assert!(renewal_required(&list, "a"));
        assert!(renewal_required(&list, "c"));
        assert!(!renewal_required(&list, "b"));
        assert!(!renewal_required(&list, "d"));
        // Consents from before any publication.
        assert!(renewal_required(&list, "1"));
    }

    #[test]
    fn publications_without_renewal_keep_old_consents() {
        let list = published(&[("1", false), ("2", false)]);
        assert!(!renewal_required(&list, "1"));
        assert!(!renewal_required(&list, "unpublished"));
    }

    #[test]
    fn the_latest_renewal_is_the_baseline() {
        let list = published(&[("1", true), ("2", false), ("3", true), ("4", false)]);
        assert!(renewal_required(&list, "1"));
        assert!(renewal_required(&list, "2"));
        assert!(!renewal_required(&list, "3"));
        assert!(!renewal_required(&list, "4"));
    }
}
