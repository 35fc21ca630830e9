//! Sealing personal values before any SQL sees them (PRODUCT.md §12.5):
//! an AEAD (ChaCha20-Poly1305, RustCrypto) under a data key per data subject
//! and bucket, the data keys wrapped under a master key the operator holds
//! outside the database. Deleting a data key shreds every copy of what it
//! sealed: dead tuples, WAL, replicas and backups alike, once the master key
//! those copies were wrapped under is retired.
//!
//! Pure: no store, no files but the master key's own.
//!
//! A sealed value is `version ‖ nonce ‖ ciphertext ‖ tag`, with the row's
//! identity as associated data, so a value moved to another row, or under
//! another key, does not open. Nonces are random (96 bits): a data key seals
//! at most a few thousand values, far below the bound where random nonces
//! could collide.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

/// Bytes of a master or data key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// The first byte of every sealed value: the format, so a later one can
/// change the cipher without guessing.
const FORMAT: u8 = 1;
/// What the master key seals to prove it is the store's (no data key is
/// needed to tell a wrong key: an operator learns it before any write).
const CHECK: &[u8] = b"fieldcheck master key";

/// Why a sealed value or a wrapped key did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Altered, moved to another row, or sealed under another key.
    #[error("a sealed value does not open: altered, moved from another row, or under another key")]
    DoesNotOpen,
    #[error("a sealed value is malformed ({0})")]
    Malformed(&'static str),
}

/// Why a master key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("master key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key file {path} holds {len} bytes; a master key is {KEY_LEN} random bytes")]
    Length { path: PathBuf, len: usize },
    #[error("{0} exists; keys init writes a new file and never overwrites a key")]
    Exists(PathBuf),
}

/// The operator's key: wraps every data key. Never printed.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

/// One subject's and bucket's key, unwrapped for one transaction at most.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(…)")
    }
}

fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    rand::rng().fill_bytes(bytes.as_mut());
    bytes
}

fn seal_with(key: &[u8; KEY_LEN], aad: &[u8], clear: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: clear, aad })
        // Only a message past 2^38 bytes fails; ours are a few kilobytes.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open_with(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let (&format, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
    if format != FORMAT {
        return Err(SealError::Malformed("unknown format"));
    }
    if rest.len() < NONCE_LEN + 16 {
        return Err(SealError::Malformed("too short"));
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| SealError::DoesNotOpen)
}

/// What a wrapped key is bound to: its id and the master key's epoch, so a
/// wrapped key copied to another id or epoch does not open.
fn wrap_aad(key_id: &str, epoch: i64) -> Vec<u8> {
    format!("fieldcheck data key\0{key_id}\0{epoch}").into_bytes()
}

impl MasterKey {
    pub fn generate() -> MasterKey {
        MasterKey(random_key())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<MasterKey> {
        let array: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(MasterKey(Zeroizing::new(array)))
    }

    /// Reads a key file: exactly [`KEY_LEN`] bytes.
    pub fn read(path: &Path) -> Result<MasterKey, KeyFileError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        })?);
        MasterKey::from_bytes(&bytes).ok_or(KeyFileError::Length {
            path: path.to_path_buf(),
            len: bytes.len(),
        })
    }

    /// Writes a new random key to `path`, readable by its owner only;
    /// refuses a path that exists (a key is never overwritten).
    pub fn create_file(path: &Path) -> Result<MasterKey, KeyFileError> {
        let key = MasterKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_path_buf()),
            _ => KeyFileError::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let mut file = options.open(path).map_err(io)?;
        file.write_all(key.0.as_ref())
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(key)
    }

    /// Wraps a data key for storage under this master key.
    pub fn wrap(&self, key: &DataKey, key_id: &str, epoch: i64) -> Vec<u8> {
        seal_with(&self.0, &wrap_aad(key_id, epoch), key.0.as_ref())
    }

    pub fn unwrap(&self, wrapped: &[u8], key_id: &str, epoch: i64) -> Result<DataKey, SealError> {
        let clear = Zeroizing::new(open_with(&self.0, &wrap_aad(key_id, epoch), wrapped)?);
        let array: [u8; KEY_LEN] = clear
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Malformed("data key length"))?;
        Ok(DataKey(Zeroizing::new(array)))
    }

    /// A value the store keeps to tell its master key from a wrong one.
    pub fn check_value(&self, epoch: i64) -> Vec<u8> {
        seal_with(&self.0, &wrap_aad("check", epoch), CHECK)
    }

    pub fn opens_check(&self, check: &[u8], epoch: i64) -> bool {
        open_with(&self.0, &wrap_aad("check", epoch), check).is_ok_and(|c| c == CHECK)
    }
}

impl DataKey {
    pub fn generate() -> DataKey {
        DataKey(random_key())
    }

    /// Seals `clear`, bound to `aad` (the row's identity).
    pub fn seal(&self, aad: &[u8], clear: &[u8]) -> Vec<u8> {
        seal_with(&self.0, aad, clear)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        open_with(&self.0, aad, sealed)
    }
}

/// A rotation of the master key (`keys rotate`), chained: when, by whom,
/// to which epoch, how many live data keys were re-wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRotation {
    pub id: String,
    pub seq: i64,
    pub epoch: i64,
    pub rewrapped: i64,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: crate::types::Actor,
}

impl KeyRotation {
    pub const EVENT_TYPE: &'static str = "key_rotation";

    pub fn canonical(&self) -> Vec<u8> {
        crate::chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("epoch", json!(self.epoch)),
                ("rewrapped", json!(self.rewrapped)),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(KeyRotation);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_with_its_key_and_row() {
        let key = DataKey::generate();
        let sealed = key.seal(b"reviews/r1/note", b"Siti was at the client's office");
        assert_eq!(
            key.open(b"reviews/r1/note", &sealed).unwrap(),
            b"Siti was at the client's office"
        );
        // Moved to another row.
        assert_eq!(
            key.open(b"reviews/r2/note", &sealed),
            Err(SealError::DoesNotOpen)
        );
        // Under another key.
        assert_eq!(
            DataKey::generate().open(b"reviews/r1/note", &sealed),
            Err(SealError::DoesNotOpen)
        );
        // Altered, byte by byte.
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                key.open(b"reviews/r1/note", &bad),
                Err(SealError::DoesNotOpen)
            );
        }
        assert!(matches!(
            key.open(b"reviews/r1/note", &sealed[..10]),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            key.open(b"reviews/r1/note", &[2; 40]),
            Err(SealError::Malformed(_))
        ));
        // Random nonces: the same value seals differently each time.
        assert_ne!(
            sealed,
            key.seal(b"reviews/r1/note", b"Siti was at the client's office")
        );
        // The clear text appears nowhere in the sealed bytes.
        assert!(!sealed.windows(4).any(|w| w == b"Siti"));
    }

    #[test]
    fn wrapped_keys_are_bound_to_their_id_and_epoch() {
        let master = MasterKey::generate();
        let key = DataKey::generate();
        let wrapped = master.wrap(&key, "k1", 1);
        let back = master.unwrap(&wrapped, "k1", 1).unwrap();
        let sealed = key.seal(b"row", b"value");
        assert_eq!(back.open(b"row", &sealed).unwrap(), b"value");
        assert!(master.unwrap(&wrapped, "k2", 1).is_err());
        assert!(master.unwrap(&wrapped, "k1", 2).is_err());
        assert!(MasterKey::generate().unwrap(&wrapped, "k1", 1).is_err());
    }

    #[test]
    fn the_check_value_tells_a_wrong_master_key() {
        let master = MasterKey::generate();
        let check = master.check_value(3);
        assert!(master.opens_check(&check, 3));
        assert!(!master.opens_check(&check, 4));
        assert!(!MasterKey::generate().opens_check(&check, 3));
    }

    #[test]
    fn key_files_are_new_private_and_exactly_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::create_file(&path).unwrap();
        let read = MasterKey::read(&path).unwrap();
        assert!(read.opens_check(&key.check_value(1), 1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            MasterKey::create_file(&path),
            Err(KeyFileError::Exists(_))
        ));
        assert!(
            MasterKey::read(&path)
                .unwrap()
                .opens_check(&key.check_value(1), 1)
        );
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            MasterKey::read(&path),
            Err(KeyFileError::Length { len: 5, .. })
        ));
        assert!(matches!(
            MasterKey::read(&dir.path().join("missing")),
            Err(KeyFileError::Io { .. })
        ));
        assert_eq!(format!("{key:?}"), "MasterKey(…)");
    }
}
