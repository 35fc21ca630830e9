//! Personal fields (names, phone numbers, e-mails, free-text notes) and how
//! they enter the hash chain: only as salted digests stored beside them
//! (PRODUCT.md §7). Erasing a value together with its salt leaves the digest,
//! so the chain still verifies, and nothing left can be brute-forced back
//! into the value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain::{new_salt, salted_digest};
use crate::error::{Error, Result};

/// One personal value with its salt; both absent once erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sealed {
    value: String,
    salt: String,
}

/// The personal fields of one chained event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalFields {
    /// field → digest (permanent; enters the chain).
    digests: BTreeMap<String, String>,
    /// field → value and salt (erasable).
    sealed: BTreeMap<String, Sealed>,
}

impl PersonalFields {
    /// Seals the given values, each under a fresh salt.
    pub fn seal<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = PersonalFields::default();
        for (field, value) in values {
            let salt = new_salt();
            out.digests
                .insert(field.to_string(), salted_digest(&salt, value.as_bytes()));
            out.sealed.insert(
                field.to_string(),
                Sealed {
                    value: value.to_string(),
                    salt: hex::encode(salt),
                },
            );
        }
        out
    }

    /// Reads the two stored columns back.
    pub fn from_columns(digests: &str, sealed: &str) -> Result<Self> {
        let corrupt = |e: serde_json::Error| Error::Corrupt(format!("personal fields: {e}"));
        Ok(PersonalFields {
            digests: serde_json::from_str(digests).map_err(corrupt)?,
            sealed: serde_json::from_str(sealed).map_err(corrupt)?,
        })
    }

    /// The `digests` column (and the value that enters the chain).
    pub fn digests_column(&self) -> String {
        serde_json::to_string(&self.digests).unwrap_or_else(|_| "{}".into())
    }

    /// The `sealed` column.
    pub fn sealed_column(&self) -> String {
        serde_json::to_string(&self.sealed).unwrap_or_else(|_| "{}".into())
    }

    pub fn digests_json(&self) -> Value {
        Value::Object(
            self.digests
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.sealed.get(field).map(|s| s.value.as_str())
    }

    /// Whether a value was given for `field` (even if erased since).
    pub fn was_set(&self, field: &str) -> bool {
        self.digests.contains_key(field)
    }

    pub fn is_erased(&self, field: &str) -> bool {
        self.was_set(field) && !self.sealed.contains_key(field)
    }

    /// Removes every value and salt; the digests stay.
    pub fn erase(&mut self) {
        self.sealed.clear();
    }

    /// The first present value that does not match its digest.
    pub fn mismatch(&self) -> Option<String> {
        for (field, sealed) in &self.sealed {
            let salt = hex::decode(&sealed.salt).unwrap_or_default();
            let ok = self
                .digests
                .get(field)
                .is_some_and(|d| *d == salted_digest(&salt, sealed.value.as_bytes()));
            if !ok {
                return Some(format!(
                    "personal field {field} does not match its salted digest (altered)"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_alteration() {
        let fields = PersonalFields::seal([("name", "Siti \"Ayu\""), ("phone", "+62 812")]);
        let back = PersonalFields::from_columns(&fields.digests_column(), &fields.sealed_column())
            .unwrap();
        assert_eq!(back, fields);
        assert_eq!(back.get("name"), Some("Siti \"Ayu\""));
        assert_eq!(back.mismatch(), None);

        let tampered = fields.sealed_column().replace("+62 812", "+62 813");
        let bad = PersonalFields::from_columns(&fields.digests_column(), &tampered).unwrap();
        assert!(bad.mismatch().unwrap().contains("phone"));
    }

    #[test]
    fn erasure_keeps_digests_and_drops_values() {
        let mut fields = PersonalFields::seal([("email", "a@b.example")]);
        let digests = fields.digests_column();
        fields.erase();
        assert_eq!(fields.digests_column(), digests);
        assert!(!fields.sealed_column().contains("a@b"));
        assert!(fields.is_erased("email"));
        assert_eq!(fields.mismatch(), None);
    }
}
