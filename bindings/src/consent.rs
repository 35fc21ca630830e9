//! Consent and OS permissions, push tokens, policy versions and consent receipts.

use crate::*;

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
    /// The OS does not let the user allow it (parental controls, MDM).
    Restricted,
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

#[uniffi::export]
impl FieldCheck {
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
}
