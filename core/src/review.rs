//! Supervisor review decisions on attendance events (PRODUCT.md §7).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::personal::PersonalFields;
use crate::types::{Actor, string_enum};

string_enum!(
    Decision { Approved => "approved", Rejected => "rejected" }
);

/// A decision on one attendance event, or on a whole agent-day (no event);
/// the note is personal free text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    #[serde(rename = "review_id")]
    pub id: String,
    pub seq: i64,
    /// The reviewed event; `None` for a decision on the whole day.
    pub event_id: Option<String>,
    /// The reviewed event's (or day's) agent and local date (for reports).
    pub agent: String,
    pub date: NaiveDate,
    pub decision: Decision,
    pub note: Option<String>,
    #[serde(skip)]
    pub personal: PersonalFields,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub reviewer: Actor,
}

impl Review {
    pub const EVENT_TYPE: &'static str = "review";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("event_id", json!(self.event_id)),
                ("agent", json!(self.agent)),
                ("date", json!(self.date.to_string())),
                ("decision", json!(self.decision.as_str())),
                ("personal_digests", self.personal.digests_json()),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.reviewer.id)),
                ("actor_role", json!(self.reviewer.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(Review);
