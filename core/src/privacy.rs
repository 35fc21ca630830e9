//! Data-subject controls. Restriction (PRODUCT.md §8): the subject's data is
//! kept but not processed; check-ins are refused with `restricted`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::types::Actor;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestrictionEntry {
    pub id: String,
    #[serde(skip)]
    pub seq: i64,
    pub subject: String,
    pub restricted: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

impl RestrictionEntry {
    pub const EVENT_TYPE: &'static str = "restriction";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("subject", json!(self.subject)),
                ("restricted", json!(self.restricted)),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(RestrictionEntry);
