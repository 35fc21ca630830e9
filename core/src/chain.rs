//! The tamper-evident ledger (PRODUCT.md §7): every event extends a SHA-256
//! chain over a canonical encoding of all its fields. Personal fields enter
//! only as salted digests, so erasing a field with its salt leaves the chain
//! verifiable.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The `prev_hash` of the first event.
pub const GENESIS: Hash = [0; 32];

/// Canonical encoding: a JSON object with keys sorted bytewise, no
/// whitespace, numbers as serde_json prints them. Written out by hand rather
/// than relying on serde_json's map order, which a dependency's
/// `preserve_order` feature would change.
pub fn canonical(event_type: &str, fields: Vec<(&'static str, Value)>) -> Vec<u8> {
    let mut fields = fields;
    fields.push(("type", Value::from(event_type)));
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Straight into `out` (no buffer per field). Writing to a Vec
        // cannot fail, and a `Value` always serialises.
        let _ = serde_json::to_writer(&mut out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.push(b'}');
    out
}

/// An event that extends the chain: its type, id and canonical encoding.
pub trait Chained {
    const EVENT_TYPE: &'static str;
    fn id(&self) -> &str;
    fn canonical(&self) -> Vec<u8>;
}

/// Implements [`Chained`] for a record with an `id` field and inherent
/// `EVENT_TYPE` and `canonical()`.
macro_rules! chained {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::chain::Chained for $ty {
            const EVENT_TYPE: &'static str = <$ty>::EVENT_TYPE;
            fn id(&self) -> &str {
                &self.id
            }
            fn canonical(&self) -> Vec<u8> {
                <$ty>::canonical(self)
            }
        }
    )+};
}
pub(crate) use chained;

/// hash = SHA-256(prev_hash ‖ canonical encoding).
pub fn link(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// 16 random bytes from the OS CSPRNG (via uuid's getrandom).
pub fn new_salt() -> [u8; 16] {
    uuid::Uuid::new_v4().into_bytes()
}

/// Hex SHA-256(salt ‖ value): how a personal field enters the chain.
pub fn salted_digest(salt: &[u8], value: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(value);
    hex::encode(hasher.finalize())
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub intact: bool,
    /// Events checked (including purged ones whose links were checked).
    pub events_checked: u64,
    /// Events folded into the anchor by retention purges.
    pub anchored_events: u64,
    /// Events of devices' imported chains checked.
    pub imported_events_checked: u64,
    pub first_broken: Option<BrokenLink>,
}

/// The first thing `verify` found wrong: an event of this store's chain
/// (by seq), of a device's imported chain (`device_id` and its seq), or a
/// row outside the chains (`table` and `row`: a derived row or the
/// configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub problem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let event = match (&self.event_type, &self.event_id) {
            (Some(t), Some(id)) => format!(" ({t} {id})"),
            _ => String::new(),
        };
        match (&self.device_id, &self.table) {
            (Some(device), _) => write!(
                f,
                "device {device}'s imported chain, event {}{event}: {}",
                self.seq, self.problem
            ),
            (None, Some(table)) => write!(
                f,
                "table {table}, row {}: {}",
                self.row.as_deref().unwrap_or("?"),
                self.problem
            ),
            (None, None) => write!(f, "event {}{event}: {}", self.seq, self.problem),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_and_has_no_whitespace() {
        let bytes = canonical("x", vec![("b", json!(1)), ("a", json!("é \"q\""))]);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a":"é \"q\"","b":1,"type":"x"}"#
        );
    }

    #[test]
    fn link_depends_on_prev_and_payload() {
        let a = link(&GENESIS, b"{}");
        assert_ne!(a, link(&GENESIS, b"{ }"));
        assert_ne!(a, link(&a, b"{}"));
        assert_eq!(a, link(&GENESIS, b"{}"));
    }

    #[test]
    fn salted_digest_depends_on_salt() {
        let s1 = new_salt();
        let s2 = new_salt();
        assert_ne!(s1, s2);
        assert_ne!(salted_digest(&s1, b"v"), salted_digest(&s2, b"v"));
        assert_eq!(salted_digest(&s1, b"v").len(), 64);
    }
}
