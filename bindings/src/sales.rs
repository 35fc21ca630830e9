//! Leads and transactions (the sales log).

use crate::*;

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

pub(crate) fn activity_from_core(a: core::LeadActivity) -> LeadActivity {
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

#[uniffi::export]
impl FieldCheck {
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
}
