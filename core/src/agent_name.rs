//! Agents' display names (PRODUCT.md §12.4 "Agents"): a personal field of
//! §7, set by admins on the server and chained only as a salted digest.
//! A new name is a new version (rectification keeps who changed what);
//! erasure removes every version's value and salt.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::error::{Error, Result};
use crate::personal::PersonalFields;
use crate::types::Actor;

/// Longest name accepted, in characters: room for any real name.
pub const MAX_NAME_CHARS: usize = 120;

/// One naming of an agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentName {
    pub id: String,
    pub seq: i64,
    pub agent: String,
    /// `None` once erased.
    pub name: Option<String>,
    #[serde(skip)]
    pub personal: PersonalFields,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub set_by: Actor,
}

impl AgentName {
    pub const EVENT_TYPE: &'static str = "agent_name";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("agent", json!(self.agent)),
                ("personal_digests", self.personal.digests_json()),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.set_by.id)),
                ("actor_role", json!(self.set_by.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(AgentName);

/// A display name as given, trimmed: non-empty, printable, at most
/// [`MAX_NAME_CHARS`] characters.
pub fn normalize_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "a display name cannot be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("a display name has at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "a display name holds no control characters",
        ));
    }
    Ok(name.to_string())
}

/// Whether `query` finds an agent: its id exactly, or part of its name
/// regardless of case (PRODUCT.md §12.4: filters resolve names to ids
/// before any query, so no store ever matches names itself).
pub fn matches(query: &str, agent: &str, name: Option<&str>) -> bool {
    let query = query.trim();
    if query.is_empty() {
        return true;
    }
    if agent == query {
        return true;
    }
    let Some(name) = name else {
        return false;
    };
    let wanted = query.to_lowercase();
    name.to_lowercase().contains(&wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(normalize_name("  Rudi Hartono ").unwrap(), "Rudi Hartono");
        assert!(normalize_name("   ").is_err());
        assert!(normalize_name("a\u{7}b").is_err());
        assert!(normalize_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(normalize_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn a_query_is_an_exact_id_or_part_of_a_name_in_any_case() {
        assert!(matches("a-7", "a-7", None));
        assert!(!matches("a-", "a-7", None));
        assert!(matches("rudi", "a-7", Some("Rudi Hartono")));
        assert!(matches("HARTO", "a-7", Some("Rudi Hartono")));
        assert!(!matches("budi", "a-7", Some("Rudi Hartono")));
        assert!(matches("", "a-7", None));
    }
}
