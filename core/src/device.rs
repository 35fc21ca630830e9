//! Device identity on the wire (PRODUCT.md §12.2): one-time enrolment
//! codes, bearer tokens, and the ECDSA P-256 key each device signs its
//! batches with.
//!
//! The server keeps only digests of codes and tokens (both are long random
//! secrets, so a plain SHA-256 is enough: there is nothing to guess), and
//! each device's public key. Signing goes through [`DeviceKeystore`], so a
//! phone keeps its private key in Android Keystore or the Secure Enclave;
//! [`SoftwareKey`] is the CLI's key (kept in its store) and the tests'.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::types::string_enum;

string_enum!(
    /// What a device runs on (`platform` of the enrolment request).
    Platform { Android => "android", Ios => "ios", Cli => "cli" }
);

/// Enrolment codes are valid this long unless `--valid-min` says otherwise.
pub const DEFAULT_CODE_VALID_MIN: i64 = 60;
/// And at most this long: a code is a bearer secret.
pub const MAX_CODE_VALID_MIN: i64 = 7 * 24 * 60;

/// A freshly minted code, shown once (`device enrol-code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolmentCode {
    pub code: String,
    pub agent: String,
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// A device enrolled with this server (`device list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolledDevice {
    pub device_id: String,
    pub agent: String,
    pub platform: Platform,
    #[serde(with = "crate::time::rfc3339")]
    pub enrolled_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339_opt")]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The last seq of this device's chain held here (0 before any batch).
    pub acked_seq: i64,
    pub revoked: bool,
    /// How far this device's imported chain has been verified (a full
    /// `verify`, extended by each import that continued it), and when.
    #[serde(skip)]
    pub verified_seq: i64,
    #[serde(skip)]
    pub verified_at: Option<DateTime<Utc>>,
}

/// What a valid bearer token identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCredential {
    pub device_id: String,
    pub agent: String,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    pub revoked: bool,
}

/// The enrolment of this store with a server.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerLink {
    pub server_url: String,
    pub agent: String,
    pub device_token: String,
    /// PKCS#8 of a software key; `None` when a platform keystore holds it.
    pub signing_key: Option<Vec<u8>>,
    pub enrolled_at: DateTime<Utc>,
    /// Server time minus this device's time at the last exchange.
    pub clock_offset_ms: i64,
    pub decisions_cursor: Option<String>,
    /// Where the configuration feeds stood at the last pull; `None` until
    /// the first (which the server answers with a snapshot).
    pub config_cursor: Option<String>,
}

impl std::fmt::Debug for ServerLink {
    // Never print the token or the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLink")
            .field("server_url", &self.server_url)
            .field("agent", &self.agent)
            .field("enrolled_at", &self.enrolled_at)
            .field("clock_offset_ms", &self.clock_offset_ms)
            .finish_non_exhaustive()
    }
}

/// The alphabet of enrolment codes: Crockford's base32 (no I, L, O, U), so
/// a code read aloud or typed from a screen survives.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new enrolment code: 16 symbols (80 bits) in groups of four.
pub fn new_enrolment_code() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as the server compares it: case, dashes and spaces do not count.
pub fn normalise_code(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A new bearer token: 32 random bytes, base64url.
pub fn new_device_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the server stores of a code or token.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Where a device's signing key lives. The shells implement it over the
/// platform keystore (the key never leaves it); [`SoftwareKey`] is the
/// CLI's and the tests'.
pub trait DeviceKeystore: Send + Sync {
    /// DER SubjectPublicKeyInfo of the P-256 key.
    fn public_key(&self) -> Result<Vec<u8>>;
    /// DER ECDSA P-256 signature over SHA-256 of `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// A P-256 key held in memory (and, by the CLI, in its store as PKCS#8).
pub struct SoftwareKey(SigningKey);

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareKey(..)")
    }
}

impl SoftwareKey {
    pub fn generate() -> SoftwareKey {
        loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // Fails only for zero or a value past the group order.
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return SoftwareKey(key);
            }
        }
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<SoftwareKey> {
        SigningKey::from_pkcs8_der(der)
            .map(SoftwareKey)
            .map_err(|e| Error::Corrupt(format!("stored device key is unreadable: {e}")))
    }

    pub fn to_pkcs8(&self) -> Result<Vec<u8>> {
        Ok(self
            .0
            .to_pkcs8_der()
            .map_err(|e| Error::invalid("key", e.to_string()))?
            .as_bytes()
            .to_vec())
    }
}

impl DeviceKeystore for SoftwareKey {
    fn public_key(&self) -> Result<Vec<u8>> {
        Ok(self
            .0
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| Error::invalid("key", e.to_string()))?
            .as_bytes()
            .to_vec())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature: Signature = self.0.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// Checks that `der` is a P-256 public key (SubjectPublicKeyInfo).
pub fn check_public_key(der: &[u8]) -> Result<()> {
    VerifyingKey::from_public_key_der(der)
        .map(|_| ())
        .map_err(|e| Error::invalid("public_key", format!("not a P-256 public key: {e}")))
}

/// Whether `signature` (DER) is the key's ECDSA P-256 SHA-256 signature of
/// exactly `message`.
pub fn signature_is_valid(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_public_key_der(public_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(signature) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

/// Standard base64 (the wire's encoding of keys and signatures).
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn from_base64(field: &str, text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| Error::invalid(field, format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_exact_bytes_and_key() {
        let key = SoftwareKey::generate();
        let public = key.public_key().unwrap();
        check_public_key(&public).unwrap();
        let body = br#"{"format":"fieldcheck-sync"}"#;
        let signature = key.sign(body).unwrap();
        assert!(signature_is_valid(&public, body, &signature));
        assert!(!signature_is_valid(
            &public,
            b"{\"format\":\"x\"}",
            &signature
        ));
        let other = SoftwareKey::generate().public_key().unwrap();
        assert!(!signature_is_valid(&other, body, &signature));
        assert!(!signature_is_valid(&public, body, b"not der"));
    }

    #[test]
    fn a_key_survives_its_pkcs8_form() {
        let key = SoftwareKey::generate();
        let again = SoftwareKey::from_pkcs8(&key.to_pkcs8().unwrap()).unwrap();
        assert_eq!(key.public_key().unwrap(), again.public_key().unwrap());
        assert!(SoftwareKey::from_pkcs8(b"junk").is_err());
    }

    #[test]
    fn codes_are_grouped_crockford_and_compare_loosely() {
        let code = new_enrolment_code();
        assert_eq!(code.len(), 19);
        assert!(
            normalise_code(&code)
                .bytes()
                .all(|b| CODE_ALPHABET.contains(&b))
        );
        assert_eq!(
            normalise_code(&code.to_lowercase().replace('-', " ")),
            normalise_code(&code)
        );
        assert_ne!(new_enrolment_code(), code);
        assert_ne!(new_device_token(), new_device_token());
    }
}
