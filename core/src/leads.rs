//! Insurance leads and transactions (PRODUCT.md §6). Every create or change
//! is a chained activity event; a lead's current state is the fold of its
//! activity.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::error::{Error, Result};
use crate::personal::PersonalFields;
use crate::types::{Actor, string_enum};

string_enum!(
    /// The pipeline, in order; `lost` is reachable from any open stage.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        Proposal => "proposal",
        Won => "won",
        Lost => "lost",
    }
);

impl LeadStatus {
    fn rank(self) -> u8 {
        match self {
            LeadStatus::New => 0,
            LeadStatus::Contacted => 1,
            LeadStatus::Qualified => 2,
            LeadStatus::Proposal => 3,
            LeadStatus::Won | LeadStatus::Lost => 4,
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, LeadStatus::Won | LeadStatus::Lost)
    }

    /// Status moves forward (skipping stages is fine) or to `lost`; a closed
    /// lead stays closed. Staying put is not a move.
    pub fn check_move(self, to: LeadStatus) -> Result<()> {
        if self == to {
            return Ok(());
        }
        let legal = !self.is_closed() && (to == LeadStatus::Lost || to.rank() > self.rank());
        if legal {
            Ok(())
        } else {
            Err(Error::invalid(
                "status",
                format!(
                    "a lead cannot move from {self} to {to} (statuses move forward or to lost)"
                ),
            ))
        }
    }
}

string_enum!(
    /// What a transaction records.
    TxnKind {
        PolicyClosing => "policy_closing",
        PremiumPayment => "premium_payment",
        Renewal => "renewal",
        Cancellation => "cancellation",
    }
);

/// Personal fields of a lead (the customer's data), by their stored names.
pub const LEAD_PERSONAL_FIELDS: &[&str] = &["customer_name", "phone", "email", "note"];

/// A lead as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lead {
    #[serde(rename = "lead_id")]
    pub id: String,
    pub agent: String,
    pub status: LeadStatus,
    /// None once erased.
    pub customer_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    /// Notes, oldest first (each update may add one).
    pub notes: Vec<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub erased: bool,
}

/// A new lead as an agent enters it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewLead {
    pub agent: String,
    pub customer_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

/// A change to a lead; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadUpdate {
    pub status: Option<LeadStatus>,
    pub customer_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

impl LeadUpdate {
    pub fn is_empty(&self) -> bool {
        *self == LeadUpdate::default()
    }
}

string_enum!(
    LeadAction { Created => "created", Updated => "updated", Erased => "erased" }
);

/// One create or change of a lead: a chained event, and a version of the
/// lead (rectification keeps every version with who made it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadActivity {
    #[serde(rename = "activity_id")]
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
    #[serde(skip)]
    pub personal: PersonalFields,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

impl LeadActivity {
    pub const EVENT_TYPE: &'static str = "lead_activity";

    /// This version as JSON with its personal values (or `{"erased": true}`
    /// where they were erased): the subject's or an authorised reader's view.
    pub fn to_json_with_values(&self) -> Result<serde_json::Value> {
        let mut value = serde_json::to_value(self)?;
        if let serde_json::Value::Object(map) = &mut value {
            for field in LEAD_PERSONAL_FIELDS {
                if let Some(v) = self.personal.get(field) {
                    map.insert((*field).into(), serde_json::Value::from(v));
                } else if self.personal.is_erased(field) {
                    map.insert((*field).into(), json!({"erased": true}));
                }
            }
        }
        Ok(value)
    }

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("lead_id", json!(self.lead_id)),
                ("agent", json!(self.agent)),
                ("action", json!(self.action.as_str())),
                ("status", json!(self.status.map(LeadStatus::as_str))),
                ("product", json!(self.product)),
                ("source", json!(self.source)),
                ("txn_id", json!(self.txn_id)),
                ("personal_digests", self.personal.digests_json()),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

/// A policy closing, premium payment, renewal or cancellation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    #[serde(rename = "txn_id")]
    pub id: String,
    pub seq: i64,
    pub agent: String,
    pub lead_id: Option<String>,
    pub kind: TxnKind,
    pub policy_number: String,
    pub product: String,
    /// Integer minor units of `currency` (ISO 4217 exponent).
    pub amount_minor: i64,
    /// The same amount as a decimal string, for people.
    pub amount: String,
    pub currency: String,
    #[serde(with = "crate::time::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub recorded_at: DateTime<Utc>,
    pub actor: Actor,
}

impl Transaction {
    pub const EVENT_TYPE: &'static str = "transaction";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("agent", json!(self.agent)),
                ("lead_id", json!(self.lead_id)),
                ("kind", json!(self.kind.as_str())),
                ("policy_number", json!(self.policy_number)),
                ("product", json!(self.product)),
                ("amount_minor", json!(self.amount_minor)),
                ("currency", json!(self.currency)),
                ("occurred_at", json!(self.occurred_at.timestamp())),
                ("recorded_at", json!(self.recorded_at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

/// A transaction as an agent enters it; `amount` is a decimal string.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    pub agent: String,
    pub kind: TxnKind,
    pub policy_number: String,
    pub product: String,
    pub amount: String,
    pub currency: String,
    pub lead_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Bounds free text so one field cannot fill the device.
pub(crate) fn validate_text(field: &str, value: &str, max_bytes: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(Error::invalid(
            field,
            format!("longer than {max_bytes} bytes"),
        ));
    }
    if value.contains('\0') {
        return Err(Error::invalid(field, "contains a NUL character"));
    }
    Ok(())
}

crate::chain::chained!(LeadActivity, Transaction);

#[cfg(test)]
mod tests {
    use super::*;
    use LeadStatus::*;

    #[test]
    fn statuses_move_forward_or_to_lost() {
        for (from, to, ok) in [
            (New, Contacted, true),
            (New, Proposal, true),
            (Qualified, Won, true),
            (Proposal, Lost, true),
            (New, Lost, true),
            (Contacted, New, false),
            (Proposal, Qualified, false),
            (Won, Lost, false),
            (Lost, Contacted, false),
            (Lost, Won, false),
            (Won, Won, true),
        ] {
            assert_eq!(from.check_move(to).is_ok(), ok, "{from} -> {to}");
        }
    }

    #[test]
    fn unknown_status_is_a_typed_error() {
        let err = LeadStatus::parse("status", "closed").unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "status"));
    }
}
