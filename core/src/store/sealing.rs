//! Sealed personal values in the store (PRODUCT.md §12.5, crypto-shredding):
//! where a store seals, each personal value is sealed (`crate::seal`) under
//! the data key of its subject and bucket before any SQL sees it, and the
//! data keys are kept wrapped under the operator's master key. Deleting a
//! subject's data keys (erasure) makes every copy of its values unreadable.
//!
//! A store seals when a master key was given before it held any personal
//! value; every open after that needs the key. Unwrapped data keys live in
//! a [`Keyring`], which lives as long as one transaction.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

use super::db::{OptionalExtension, Transaction};
use crate::error::{Error, Result};
use crate::personal::PersonalFields;
use crate::seal::{DataKey, MasterKey};

/// A sealing store's master key and the epoch it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Sealing {
    master: MasterKey,
    epoch: i64,
}

/// The data keys one transaction has unwrapped or made.
pub struct Keyring {
    master: MasterKey,
    epoch: i64,
    by_id: RefCell<HashMap<String, Option<Rc<DataKey>>>>,
    by_subject: RefCell<HashMap<(&'static str, String, String), String>>,
}

impl Keyring {
    pub(crate) fn new(sealing: &Sealing) -> Keyring {
        Keyring {
            master: sealing.master.clone(),
            epoch: sealing.epoch,
            by_id: RefCell::default(),
            by_subject: RefCell::default(),
        }
    }
}

/// Whose value a data key seals (PRODUCT.md §12.5).
#[derive(Debug, Clone, Copy)]
pub(super) enum Subject<'s> {
    Agent(&'s str),
    Lead(&'s str),
}

impl Subject<'_> {
    fn kind(self) -> &'static str {
        match self {
            Subject::Agent(_) => "agent",
            Subject::Lead(_) => "lead",
        }
    }

    fn id(&self) -> &str {
        match self {
            Subject::Agent(id) | Subject::Lead(id) => id,
        }
    }
}

/// A sealed column: where it is, what identifies its row (the associated
/// data), whose value it is and its bucket (PRODUCT.md §12.5). Every sealed
/// column is listed in [`SEALED`]; `store copy` re-seals through it and
/// ARCHITECTURE.md tabulates it.
#[derive(Debug)]
pub(super) struct SealedField {
    pub table: &'static str,
    pub column: &'static str,
    /// The column holding the row's id.
    pub id: &'static str,
    /// The subject's kind and the column naming it.
    pub subject: (SubjectKind, &'static str),
    pub bucket: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubjectKind {
    Agent,
    Lead,
}

impl SubjectKind {
    pub fn of(self, id: &str) -> Subject<'_> {
        match self {
            SubjectKind::Agent => Subject::Agent(id),
            SubjectKind::Lead => Subject::Lead(id),
        }
    }
}

pub(super) const REVIEW_NOTE: SealedField = SealedField {
    table: "reviews",
    column: "sealed",
    id: "id",
    subject: (SubjectKind::Agent, "agent"),
    bucket: "review",
};
pub(super) const AGENT_NAME: SealedField = SealedField {
    table: "agent_names",
    column: "sealed",
    id: "id",
    subject: (SubjectKind::Agent, "agent"),
    bucket: "name",
};
pub(super) const LEAD_FIELDS: SealedField = SealedField {
    table: "lead_activity",
    column: "sealed",
    id: "id",
    subject: (SubjectKind::Lead, "lead_id"),
    bucket: "lead",
};

pub(super) const SEALED: &[&SealedField] = &[&REVIEW_NOTE, &AGENT_NAME, &LEAD_FIELDS];

impl SealedField {
    /// What a value in row `id` is bound to.
    pub fn row(&self, id: &str) -> String {
        format!("{}\0{id}\0{}", self.table, self.column)
    }

    /// Personal fields (`PersonalFields`' `sealed` column) as stored.
    pub fn seal_personal(
        &self,
        tx: &Transaction<'_>,
        subject: &str,
        id: &str,
        fields: &PersonalFields,
    ) -> Result<String> {
        seal_personal(
            tx,
            self.subject.0.of(subject),
            self.bucket,
            &self.row(id),
            fields,
        )
    }

    pub fn open_personal(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        digests: &str,
        stored: &str,
    ) -> Result<PersonalFields> {
        open_personal(tx, &self.row(id), digests, stored)
    }

    /// A stored value re-sealed for another store (`store copy`): opened
    /// with the source's keys, sealed with the target's.
    pub fn reseal(
        &self,
        source: &Transaction<'_>,
        dest: &Transaction<'_>,
        subject: &str,
        id: &str,
        stored: &str,
    ) -> Result<String> {
        if stored == ERASED {
            return Ok(stored.to_string());
        }
        match open_text(source, &self.row(id), stored)? {
            Some(clear) => seal_text(
                dest,
                self.subject.0.of(subject),
                self.bucket,
                &self.row(id),
                &clear,
            ),
            None => Ok(ERASED.to_string()),
        }
    }
}

/// Tables whose rows carry personal values: sealing can be chosen only
/// while all are empty.
const PERSONAL_TABLES: &[&str] = &[
    "reviews",
    "agent_names",
    "leads",
    "lead_activity",
    "audit_flags",
    "applied_flags",
    "location_views",
    "privacy_requests",
    "retained_locations",
    "sync_retained_locations",
    "push_tokens",
    "received_decisions",
    "sync_reviews",
];

/// What an open finds: the store's sealing checked against the key given,
/// or, for a key given to a store that does not seal yet, a choice to make
/// in a write ([`choose`]).
pub(crate) enum Opening {
    Decided(Option<Sealing>),
    Choose,
}

pub(crate) fn at_open(tx: &Transaction<'_>, given: Option<&MasterKey>) -> Result<Opening> {
    let current: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT epoch, check_value FROM key_epochs ORDER BY epoch DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match (current, given) {
        (None, None) => Ok(Opening::Decided(None)),
        (None, Some(_)) => Ok(Opening::Choose),
        (Some((epoch, check)), Some(master)) => {
            if master.opens_check(&check, epoch) {
                Ok(Opening::Decided(Some(Sealing {
                    master: master.clone(),
                    epoch,
                })))
            } else {
                Err(Error::MasterKey(format!(
                    "the master key given does not open this store (key epoch {epoch}): \
                     a wrong key, or one retired by `keys rotate`"
                )))
            }
        }
        (Some((epoch, _)), None) => Err(Error::MasterKey(format!(
            "this store seals personal values (key epoch {epoch}): give its master key \
             with --master-key-file PATH or FIELDCHECK_MASTER_KEY_FILE"
        ))),
    }
}

/// Turns sealing on under `master` while the store holds no personal value
/// (in a write, so two processes opening a new store agree).
pub(crate) fn choose(tx: &Transaction<'_>, master: &MasterKey) -> Result<Sealing> {
    if let Opening::Decided(Some(sealing)) = at_open(tx, Some(master))? {
        return Ok(sealing);
    }
    for table in PERSONAL_TABLES {
        let held: bool =
            tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                r.get(0)
            })?;
        if held {
            return Err(Error::MasterKey(format!(
                "this store was written without sealing and already holds personal \
                 values ({table}); sealing is chosen before the first one: copy it with \
                 `fieldcheck --db THIS --master-key-file PATH store copy --to URL` into a \
                 new database, then destroy this one and its backups"
            )));
        }
    }
    let epoch = 1;
    tx.execute(
        "INSERT INTO key_epochs (epoch, check_value, started_at) VALUES (?1, ?2, ?3)",
        (
            epoch,
            master.check_value(epoch),
            chrono::Utc::now().timestamp(),
        ),
    )?;
    Ok(Sealing {
        master: master.clone(),
        epoch,
    })
}

/// The master key's state, for `keys status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyStatus {
    pub sealed: bool,
    pub epoch: Option<i64>,
    /// When the current epoch began: the store's creation or its last
    /// rotation (RFC 3339).
    pub since: Option<String>,
    pub data_keys: i64,
}

pub(super) fn status(tx: &Transaction<'_>) -> Result<KeyStatus> {
    let current: Option<(i64, i64)> = tx
        .query_row(
            "SELECT epoch, started_at FROM key_epochs ORDER BY epoch DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let data_keys: i64 = tx.query_row("SELECT COUNT(*) FROM data_keys", [], |r| r.get(0))?;
    Ok(KeyStatus {
        sealed: current.is_some(),
        epoch: current.map(|(e, _)| e),
        since: current.and_then(|(_, at)| {
            chrono::DateTime::from_timestamp(at, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }),
        data_keys,
    })
}

impl Keyring {
    /// The key for `subject` and `bucket`, made (and stored wrapped) the
    /// first time.
    fn key_for(
        &self,
        tx: &Transaction<'_>,
        subject: Subject<'_>,
        bucket: &str,
    ) -> Result<(String, Rc<DataKey>)> {
        let slot = (subject.kind(), subject.id().to_string(), bucket.to_string());
        if let Some(id) = self.by_subject.borrow().get(&slot).cloned()
            && let Some(key) = self.key(tx, &id)?
        {
            return Ok((id, key));
        }
        let find = |tx: &Transaction<'_>| -> Result<Option<String>> {
            Ok(tx
                .query_row(
                    "SELECT key_id FROM data_keys
                     WHERE subject_kind = ?1 AND subject = ?2 AND bucket = ?3",
                    (slot.0, &slot.1, &slot.2),
                    |r| r.get(0),
                )
                .optional()?)
        };
        let id = match find(tx)? {
            Some(id) => id,
            None => {
                let id = hex::encode(crate::chain::new_salt());
                let key = DataKey::generate();
                // Another instance may make the same key at once: its row
                // wins, and ours is never used.
                tx.execute(
                    "INSERT INTO data_keys (key_id, subject_kind, subject, bucket, epoch, wrapped)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    (
                        &id,
                        slot.0,
                        &slot.1,
                        &slot.2,
                        self.epoch,
                        self.master.wrap(&key, &id, self.epoch),
                    ),
                )?;
                find(tx)?.ok_or_else(|| Error::Corrupt("a data key vanished".into()))?
            }
        };
        let key = self
            .key(tx, &id)?
            .ok_or_else(|| Error::Corrupt("a data key vanished".into()))?;
        self.by_subject.borrow_mut().insert(slot, id.clone());
        Ok((id, key))
    }

    /// The key `key_id`, unwrapped; `None` once shredded.
    fn key(&self, tx: &Transaction<'_>, key_id: &str) -> Result<Option<Rc<DataKey>>> {
        if let Some(known) = self.by_id.borrow().get(key_id) {
            return Ok(known.clone());
        }
        let row: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT epoch, wrapped FROM data_keys WHERE key_id = ?1",
                [key_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let key = match row {
            None => None,
            Some((epoch, wrapped)) => Some(Rc::new(
                self.master
                    .unwrap(&wrapped, key_id, epoch)
                    .map_err(|e| Error::Corrupt(format!("data key {key_id}: {e}")))?,
            )),
        };
        self.by_id
            .borrow_mut()
            .insert(key_id.to_string(), key.clone());
        Ok(key)
    }
}

/// `clear` as the store keeps it: sealed under `subject`'s key for
/// `bucket`, bound to `row` (table, row identity, column), where the store
/// seals; as is where it does not.
pub(super) fn seal_text(
    tx: &Transaction<'_>,
    subject: Subject<'_>,
    bucket: &str,
    row: &str,
    clear: &str,
) -> Result<String> {
    let Some(ring) = tx.keyring() else {
        return Ok(clear.to_string());
    };
    let (id, key) = ring.key_for(tx, subject, bucket)?;
    Ok(format!(
        "{id}.{}",
        B64.encode(key.seal(row.as_bytes(), clear.as_bytes()))
    ))
}

/// A value [`seal_text`] stored, in clear; `None` when its key was
/// shredded. Altered or moved, it is refused as corrupt.
pub(super) fn open_text(tx: &Transaction<'_>, row: &str, stored: &str) -> Result<Option<String>> {
    let Some(ring) = tx.keyring() else {
        return Ok(Some(stored.to_string()));
    };
    let corrupt = |why: String| Error::Corrupt(format!("sealed value of {row}: {why}"));
    let (id, body) = stored
        .split_once('.')
        .ok_or_else(|| corrupt("not sealed".into()))?;
    let Some(key) = ring.key(tx, id)? else {
        return Ok(None);
    };
    let sealed = B64.decode(body).map_err(|e| corrupt(e.to_string()))?;
    let clear = key
        .open(row.as_bytes(), &sealed)
        .map_err(|e| corrupt(e.to_string()))?;
    String::from_utf8(clear)
        .map(Some)
        .map_err(|e| corrupt(e.to_string()))
}

/// The `sealed` column of personal fields as stored: sealed whole
/// (values with their salts). Erased fields (`{}`) stay `{}`.
fn seal_personal(
    tx: &Transaction<'_>,
    subject: Subject<'_>,
    bucket: &str,
    row: &str,
    fields: &PersonalFields,
) -> Result<String> {
    let column = fields.sealed_column();
    if column == ERASED {
        return Ok(column);
    }
    seal_text(tx, subject, bucket, row, &column)
}

/// Personal fields read back from their two columns; a shredded key reads
/// as erased.
fn open_personal(
    tx: &Transaction<'_>,
    row: &str,
    digests: &str,
    stored: &str,
) -> Result<PersonalFields> {
    if stored == ERASED {
        return PersonalFields::from_columns(digests, ERASED);
    }
    match open_text(tx, row, stored)? {
        Some(clear) => PersonalFields::from_columns(digests, &clear),
        None => PersonalFields::from_columns(digests, ERASED),
    }
}

/// An erased `sealed` column.
const ERASED: &str = "{}";

/// Deletes every data key of `subject` (crypto-shredding): what they
/// sealed can no longer be read, here or in any copy, once the master key
/// is rotated. Returns how many.
pub(super) fn shred(tx: &Transaction<'_>, subject: Subject<'_>) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM data_keys WHERE subject_kind = ?1 AND subject = ?2",
        (subject.kind(), subject.id()),
    )?)
}

impl super::Store {
    /// The master key's state (`keys status`): whether the store seals, the
    /// epoch and when it began, how many data keys are live. Admins.
    pub fn key_status(&self, actor: &crate::types::Actor) -> Result<KeyStatus> {
        actor.must_be_admin()?;
        self.read(status)
    }
}

/// Refuses a write by a process holding an older master key than the
/// store's (rotated since it opened, PRODUCT.md §12.5): it must not wrap new
/// keys under a retired master key.
pub(super) fn check_epoch(tx: &Transaction<'_>, ring: &Keyring) -> Result<()> {
    let newest: i64 = tx.query_row("SELECT MAX(epoch) FROM key_epochs", [], |r| r.get(0))?;
    if newest > ring.epoch {
        return Err(Error::MasterKey(format!(
            "the store's master key was rotated to epoch {newest} after this process opened it \
             at epoch {}: restart it with the new master key",
            ring.epoch
        )));
    }
    Ok(())
}

/// What `keys rotate` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    pub epoch: i64,
    pub rewrapped: usize,
}

impl super::Store {
    /// Re-wraps every live data key under `new` as a new epoch, in one
    /// transaction (`keys rotate`, with every other process stopped). The
    /// key this store was opened with is a wrong key afterwards; keys
    /// shredded before are in no row to re-wrap, so their copies stay
    /// under the old key, which the operator then destroys.
    pub fn rotate_master_key(
        &self,
        actor: &crate::types::Actor,
        new: &MasterKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Rotation> {
        actor.must_be_admin()?;
        let Some(sealing) = self.sealing() else {
            return Err(Error::MasterKey(
                "this store does not seal personal values: there is no master key to rotate".into(),
            ));
        };
        if new.opens_check(&sealing.master.check_value(0), 0) {
            return Err(Error::invalid(
                "new-master-key-file",
                "the new master key is the current one",
            ));
        }
        self.write(|tx| {
            let epoch = sealing.epoch + 1;
            let keys: Vec<(String, i64, Vec<u8>)> = {
                let mut stmt = tx.prepare("SELECT key_id, epoch, wrapped FROM data_keys")?;
                let mut rows = stmt.query([])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push((r.get(0)?, r.get(1)?, r.get(2)?));
                }
                out
            };
            for (key_id, old_epoch, wrapped) in &keys {
                let key = sealing
                    .master
                    .unwrap(wrapped, key_id, *old_epoch)
                    .map_err(|e| Error::Corrupt(format!("data key {key_id}: {e}")))?;
                tx.prepare_cached(
                    "UPDATE data_keys SET epoch = ?2, wrapped = ?3 WHERE key_id = ?1",
                )?
                .execute((key_id, epoch, new.wrap(&key, key_id, epoch)))?;
            }
            tx.execute(
                "INSERT INTO key_epochs (epoch, check_value, started_at) VALUES (?1, ?2, ?3)",
                (epoch, new.check_value(epoch), now.timestamp()),
            )?;
            Ok(Rotation {
                epoch,
                rewrapped: keys.len(),
            })
        })
    }
}
