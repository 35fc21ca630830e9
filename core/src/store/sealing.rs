//! Sealed personal values in the store (PRODUCT.md §12.5, crypto-shredding):
//! where a store seals, each personal value is sealed (`crate::seal`) under
//! the data key of its subject and bucket before any SQL sees it, and the
//! data keys are kept wrapped under the operator's master key. Deleting a
//! subject's data keys (erasure) makes every copy of its values unreadable.
//!
//! A store seals when a master key was given before it held any personal
//! value; every open after that needs the key. Unwrapped data keys live in
//! a [`Keyring`], which lives as long as one transaction.

use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

use rusqlite::types::Value;

use super::db::{Keyring, OptionalExtension, Transaction};
use crate::error::{Error, Result};
use crate::personal::PersonalFields;
use crate::seal::{DataKey, KeyRotation, MasterKey};

/// A sealing store's master key and the epoch it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Sealing {
    master: MasterKey,
    epoch: i64,
}

impl Sealing {
    /// A transaction's keyring.
    pub(crate) fn keyring(&self) -> Keyring {
        Keyring::new(self.master.clone(), self.epoch)
    }
}

/// Whose value a data key seals (PRODUCT.md §12.5): an agent or a lead
/// (erasure shreds all their keys), a flag about no one person (a site or
/// everyone flag's reason), or the store itself (the controller's contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Subject<'s> {
    kind: &'static str,
    id: &'s str,
}

impl<'s> Subject<'s> {
    pub fn agent(id: &'s str) -> Self {
        Subject { kind: "agent", id }
    }

    pub fn lead(id: &'s str) -> Self {
        Subject { kind: "lead", id }
    }

    pub fn flag(id: &'s str) -> Self {
        Subject { kind: "flag", id }
    }

    pub fn store() -> Self {
        Subject {
            kind: "store",
            id: "",
        }
    }
}

/// How a sealed column's subject is found in its row (read by `store
/// copy`, a PostgreSQL feature).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) enum SubjectOf {
    /// An agent named by a column.
    Agent(&'static str),
    /// A lead named by a column.
    Lead(&'static str),
    /// A flag's reason: the agent of an agent flag (`scope`, `scope_id`),
    /// else the flag itself (the row's id).
    FlagScope,
    /// The agent of the attendance event the row's id names.
    EventAgent,
    /// The store's own (the controller's contact).
    Store,
}

/// How a sealed column holds its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holds {
    /// Text ([`seal_text`]).
    Text,
    /// Bytes ([`seal_bytes`]).
    Bytes,
    /// A `PersonalFields` `sealed` column: `{}` once erased.
    Personal,
    /// Retained coordinates with their salt (`lat`, `lon`, `salt`, and
    /// the `sealed` column holding all three where the store seals).
    Coordinates,
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
    /// What the associated data names the row as (tables whose rows share
    /// ids, as a store's own and applied flags, share it).
    pub row_kind: &'static str,
    pub subject: SubjectOf,
    /// The bucket; [`RETAINED_BUCKET`] for coordinates, per day.
    pub bucket: &'static str,
    pub holds: Holds,
    /// The rows sealed, by id, where not every row of the table is.
    pub only: &'static [&'static str],
}

/// The bucket of retained coordinates: one per agent and UTC day of
/// `retain_until`, shredded by the purge once that day has passed.
pub(super) const RETAINED_BUCKET: &str = "retain:";

const fn field(
    table: &'static str,
    column: &'static str,
    row_kind: &'static str,
    subject: SubjectOf,
    bucket: &'static str,
    holds: Holds,
) -> SealedField {
    SealedField {
        table,
        column,
        id: "id",
        row_kind,
        subject,
        bucket,
        holds,
        only: &[],
    }
}

pub(super) const REVIEW_NOTE: SealedField = field(
    "reviews",
    "sealed",
    "reviews",
    SubjectOf::Agent("agent"),
    "review",
    Holds::Personal,
);
pub(super) const AGENT_NAME: SealedField = field(
    "agent_names",
    "sealed",
    "agent_names",
    SubjectOf::Agent("agent"),
    "name",
    Holds::Personal,
);
pub(super) const LEAD_FIELDS: SealedField = field(
    "lead_activity",
    "sealed",
    "lead_activity",
    SubjectOf::Lead("lead_id"),
    "lead",
    Holds::Personal,
);

/// A flag's reason and its salt; a store's own flags and those it applied
/// from its server share flag ids, and so the associated data.
pub(super) const FLAG_REASON: SealedField = field(
    "audit_flags",
    "reason",
    "flags",
    SubjectOf::FlagScope,
    "flag",
    Holds::Text,
);
pub(super) const FLAG_SALT: SealedField = field(
    "audit_flags",
    "reason_salt",
    "flags",
    SubjectOf::FlagScope,
    "flag",
    Holds::Bytes,
);
const APPLIED_FLAG_REASON: SealedField = SealedField {
    table: "applied_flags",
    ..FLAG_REASON
};
const APPLIED_FLAG_SALT: SealedField = SealedField {
    table: "applied_flags",
    ..FLAG_SALT
};

/// The receipts' controller (its contact) and its salt, in `meta`.
pub(super) const CONTROLLER: SealedField = SealedField {
    table: "meta",
    column: "value",
    id: "key",
    row_kind: "meta",
    subject: SubjectOf::Store,
    bucket: "controller",
    holds: Holds::Text,
    only: &["receipt_controller", "receipt_controller_salt"],
};

/// Why a supervisor looked at an agent's retained coordinates.
pub(super) const LOCATION_VIEW_REASON: SealedField = field(
    "location_views",
    "reason",
    "location_views",
    SubjectOf::Agent("agent"),
    "location_view",
    Holds::Text,
);

/// An agent's push token (keyed by the agent: one token each).
pub(super) const PUSH_TOKEN: SealedField = SealedField {
    table: "push_tokens",
    column: "token",
    id: "agent",
    row_kind: "push_tokens",
    subject: SubjectOf::Agent("agent"),
    bucket: "push",
    holds: Holds::Text,
    only: &[],
};

/// A lead's current personal fields (`leads`): its customer's name,
/// phone, e-mail and the notes (a JSON list, `[]` when none).
pub(super) const LEAD_NAME: SealedField = field(
    "leads",
    "customer_name",
    "leads",
    SubjectOf::Lead("id"),
    "lead",
    Holds::Text,
);
pub(super) const LEAD_PHONE: SealedField = SealedField {
    column: "phone",
    ..LEAD_NAME
};
pub(super) const LEAD_EMAIL: SealedField = SealedField {
    column: "email",
    ..LEAD_NAME
};
pub(super) const LEAD_NOTES: SealedField = SealedField {
    column: "notes",
    holds: Holds::Personal,
    ..LEAD_NAME
};

/// A review note as an enrolled phone received it from its server.
pub(super) const RECEIVED_NOTE: SealedField = SealedField {
    table: "received_decisions",
    column: "note",
    id: "review_id",
    row_kind: "received_decisions",
    subject: SubjectOf::Agent("agent"),
    bucket: "review",
    holds: Holds::Text,
    only: &[],
};

pub(super) const SEALED: &[&SealedField] = &[
    &RECEIVED_NOTE,
    &LEAD_NAME,
    &LEAD_PHONE,
    &LEAD_EMAIL,
    &LEAD_NOTES,
    &PUSH_TOKEN,
    &RETAINED,
    &SYNC_RETAINED,
    &CONTROLLER,
    &LOCATION_VIEW_REASON,
    &REVIEW_NOTE,
    &AGENT_NAME,
    &LEAD_FIELDS,
    &FLAG_REASON,
    &FLAG_SALT,
    &APPLIED_FLAG_REASON,
    &APPLIED_FLAG_SALT,
];

/// Whose a flag's reason is: the agent's of an agent flag, else the
/// flag's own.
pub(super) fn flag_subject<'a>(scope: &'a crate::audit::FlagScope, id: &'a str) -> Subject<'a> {
    match scope {
        crate::audit::FlagScope::Agent(agent) => Subject::agent(agent),
        _ => Subject::flag(id),
    }
}

impl SealedField {
    /// What a value in row `id` is bound to.
    pub fn row(&self, id: &str) -> String {
        format!("{}\0{id}\0{}", self.row_kind, self.column)
    }

    /// Personal fields (`PersonalFields`' `sealed` column) as stored.
    pub fn seal_personal(
        &self,
        tx: &Transaction<'_>,
        subject: Subject<'_>,
        id: &str,
        fields: &PersonalFields,
    ) -> Result<String> {
        seal_personal(tx, subject, self.bucket, &self.row(id), fields)
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

    pub fn seal_text(
        &self,
        tx: &Transaction<'_>,
        subject: Subject<'_>,
        id: &str,
        clear: &str,
    ) -> Result<String> {
        seal_text(tx, subject, self.bucket, &self.row(id), clear)
    }

    pub fn open_text(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        stored: &str,
    ) -> Result<Option<String>> {
        open_text(tx, &self.row(id), stored)
    }

    pub fn seal_bytes(
        &self,
        tx: &Transaction<'_>,
        subject: Subject<'_>,
        bucket: &str,
        id: &str,
        clear: &[u8],
    ) -> Result<Vec<u8>> {
        seal_bytes(tx, subject, bucket, &self.row(id), clear)
    }

    pub fn open_bytes(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        stored: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        open_bytes(tx, &self.row(id), stored)
    }

    /// The subject of a row, read through `column`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    fn subject_in(
        &self,
        source: &Transaction<'_>,
        column: &dyn Fn(&str) -> Result<Option<Value>>,
    ) -> Result<(&'static str, String)> {
        let text = |name: &str| -> Result<String> {
            Ok(match column(name)? {
                Some(Value::Text(t)) => t,
                Some(Value::Integer(i)) => i.to_string(),
                _ => String::new(),
            })
        };
        Ok(match self.subject {
            SubjectOf::Agent(col) => ("agent", text(col)?),
            SubjectOf::Lead(col) => ("lead", text(col)?),
            SubjectOf::FlagScope => {
                if text("scope")? == "agent" {
                    ("agent", text("scope_id")?)
                } else {
                    ("flag", text(self.id)?)
                }
            }
            SubjectOf::EventAgent => {
                let agent: Option<String> = source
                    .query_row(
                        "SELECT agent FROM attendance_events WHERE id = ?1",
                        [text(self.id)?],
                        |r| r.get(0),
                    )
                    .optional()?;
                ("agent", agent.unwrap_or_default())
            }
            SubjectOf::Store => ("store", String::new()),
        })
    }

    /// A row's sealed values re-sealed for another store (`store copy`):
    /// opened with the source's keys (if it seals), sealed with the
    /// target's (if it seals). `column(name)` reads the row as stored;
    /// the answer is what to write instead, by column. A value whose key
    /// was shredded stays as stored: no key in the target opens it either.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn reseal(
        &self,
        source: &Transaction<'_>,
        dest: &Transaction<'_>,
        column: &dyn Fn(&str) -> Result<Option<Value>>,
    ) -> Result<Vec<(&'static str, Value)>> {
        let id = match column(self.id)? {
            Some(Value::Text(t)) => t,
            _ => {
                return Err(Error::Corrupt(format!(
                    "{}: a row without an id",
                    self.table
                )));
            }
        };
        if !self.only.is_empty() && !self.only.contains(&id.as_str()) {
            return Ok(Vec::new());
        }
        let row = self.row(&id);
        let corrupt =
            |what: &str| Error::Corrupt(format!("{}.{}: {what}", self.table, self.column));
        let stored = column(self.column)?;
        // The clear value, as bytes; `None` where there is nothing to seal.
        let clear: Option<Vec<u8>> = match (self.holds, &stored) {
            (_, None | Some(Value::Null)) if self.holds != Holds::Coordinates => {
                return Ok(Vec::new());
            }
            (Holds::Personal, Some(Value::Text(t))) if t == ERASED || t == NO_NOTES => {
                return Ok(Vec::new());
            }
            (Holds::Text | Holds::Personal, Some(Value::Text(t))) => {
                open_text(source, &row, t)?.map(String::into_bytes)
            }
            (Holds::Bytes, Some(Value::Blob(b))) => open_bytes(source, &row, b)?,
            (Holds::Coordinates, Some(Value::Blob(b))) => open_bytes(source, &row, b)?,
            (Holds::Coordinates, _) => {
                let real = |name: &str| match column(name)? {
                    Some(Value::Real(f)) => Ok(f),
                    Some(Value::Integer(i)) => Ok(i as f64),
                    _ => Err(corrupt("coordinates")),
                };
                let salt = match column("salt")? {
                    Some(Value::Blob(b)) => b,
                    _ => return Err(corrupt("salt")),
                };
                Some(coordinates_payload(real("lat")?, real("lon")?, &salt))
            }
            _ => return Err(corrupt("unexpected type")),
        };
        let Some(clear) = clear else {
            return Ok(Vec::new());
        };
        let (kind, owner) = self.subject_in(source, column)?;
        let subject = Subject { kind, id: &owner };
        let bucket = if self.bucket == RETAINED_BUCKET {
            match column("retain_until")? {
                Some(Value::Integer(until)) => retained_bucket(until),
                _ => return Err(corrupt("no retain_until")),
            }
        } else {
            self.bucket.to_string()
        };
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"));
        Ok(match self.holds {
            Holds::Text | Holds::Personal => vec![(
                self.column,
                Value::Text(seal_text(dest, subject, &bucket, &row, &text(clear)?)?),
            )],
            Holds::Bytes => vec![(
                self.column,
                Value::Blob(seal_bytes(dest, subject, &bucket, &row, &clear)?),
            )],
            Holds::Coordinates => {
                let (lat, lon, salt) =
                    coordinates_from(&clear).ok_or_else(|| corrupt("payload"))?;
                if dest.keyring().is_none() {
                    vec![
                        ("lat", Value::Real(lat)),
                        ("lon", Value::Real(lon)),
                        ("salt", Value::Blob(salt)),
                        (self.column, Value::Null),
                    ]
                } else {
                    vec![
                        ("lat", Value::Real(0.0)),
                        ("lon", Value::Real(0.0)),
                        ("salt", Value::Blob(Vec::new())),
                        (
                            self.column,
                            Value::Blob(seal_bytes(dest, subject, &bucket, &row, &clear)?),
                        ),
                    ]
                }
            }
        })
    }
}

/// Retained coordinates and their salt, sealed as one value: latitude and
/// longitude (IEEE doubles, little-endian), then the salt.
fn coordinates_payload(lat: f64, lon: f64, salt: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + salt.len());
    out.extend_from_slice(&lat.to_le_bytes());
    out.extend_from_slice(&lon.to_le_bytes());
    out.extend_from_slice(salt);
    out
}

fn coordinates_from(payload: &[u8]) -> Option<(f64, f64, Vec<u8>)> {
    let lat = f64::from_le_bytes(payload.get(0..8)?.try_into().ok()?);
    let lon = f64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    Some((lat, lon, payload[16..].to_vec()))
}

/// Coordinates as a row keeps them in its `lat`, `lon`, `salt` and
/// `sealed` columns: the first three zero and empty where the store seals.
pub(super) struct StoredCoordinates {
    pub lat: f64,
    pub lon: f64,
    pub salt: Vec<u8>,
    pub sealed: Option<Vec<u8>>,
}

/// Coordinates as a row of `field`'s table keeps them.
#[allow(clippy::too_many_arguments)]
pub(super) fn seal_coordinates(
    tx: &Transaction<'_>,
    field: &SealedField,
    event_id: &str,
    agent: &str,
    retain_until: i64,
    lat: f64,
    lon: f64,
    salt: &[u8],
) -> Result<StoredCoordinates> {
    if tx.keyring().is_none() {
        return Ok(StoredCoordinates {
            lat,
            lon,
            salt: salt.to_vec(),
            sealed: None,
        });
    }
    let sealed = seal_bytes(
        tx,
        Subject::agent(agent),
        &retained_bucket(retain_until),
        &field.row(event_id),
        &coordinates_payload(lat, lon, salt),
    )?;
    Ok(StoredCoordinates {
        lat: 0.0,
        lon: 0.0,
        salt: Vec::new(),
        sealed: Some(sealed),
    })
}

/// What [`seal_coordinates`] stored, in clear: `(lat, lon, salt)`; `None`
/// once the bucket's key was shredded.
pub(super) fn open_coordinates(
    tx: &Transaction<'_>,
    field: &SealedField,
    event_id: &str,
    (lat, lon, salt): (f64, f64, Vec<u8>),
    sealed: Option<&[u8]>,
) -> Result<Option<(f64, f64, Vec<u8>)>> {
    let Some(sealed) = sealed else {
        return Ok(Some((lat, lon, salt)));
    };
    match open_bytes(tx, &field.row(event_id), sealed)? {
        Some(payload) => Ok(Some(coordinates_from(&payload).ok_or_else(|| {
            Error::Corrupt(format!("sealed coordinates of {event_id}: malformed"))
        })?)),
        None => Ok(None),
    }
}

/// Coordinates a fix kept under a flag: on a phone or CLI store, and what
/// devices sent to a server.
pub(super) const RETAINED: SealedField = SealedField {
    table: "retained_locations",
    column: "sealed",
    id: "event_id",
    row_kind: "retained_locations",
    subject: SubjectOf::EventAgent,
    bucket: RETAINED_BUCKET,
    holds: Holds::Coordinates,
    only: &[],
};
pub(super) const SYNC_RETAINED: SealedField = SealedField {
    table: "sync_retained_locations",
    row_kind: "sync_retained_locations",
    subject: SubjectOf::Agent("agent"),
    ..RETAINED
};

/// The bucket of coordinates kept until `retain_until` (Unix seconds).
pub(super) fn retained_bucket(retain_until: i64) -> String {
    let day = chrono::DateTime::from_timestamp(retain_until, 0)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default();
    format!("{RETAINED_BUCKET}{day}")
}

/// What an open finds: the store's sealing checked against the key given,
/// or, for a key given to a store that does not seal yet, a choice to make
/// in a write ([`choose`]).
pub(crate) enum Opening {
    Decided(Option<Sealing>),
    Choose,
}

/// Why a store is not opened without its master key: one that seals
/// (`epoch`, its latest key epoch), or any PostgreSQL store.
pub(crate) fn missing_key(epoch: Option<i64>) -> Error {
    Error::MasterKey(match epoch {
        Some(epoch) => format!(
            "this store seals personal values (key epoch {epoch}): give its master key \
             with --master-key-file PATH or FIELDCHECK_MASTER_KEY_FILE"
        ),
        None => "a PostgreSQL store seals every personal value: give its master key with \
                 --master-key-file PATH or FIELDCHECK_MASTER_KEY_FILE (`fieldcheck keys init \
                 --out PATH` writes a new one)"
            .into(),
    })
}

/// `required`: PostgreSQL stores always seal (their files, WAL, replicas
/// and backups cannot be wiped by SQL means).
pub(crate) fn at_open(
    tx: &Transaction<'_>,
    given: Option<&MasterKey>,
    required: bool,
) -> Result<Opening> {
    let current: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT epoch, check_value FROM key_epochs ORDER BY epoch DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match (current, given) {
        (None, None) if required => Err(missing_key(None)),
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
        (Some((epoch, _)), None) => Err(missing_key(Some(epoch))),
    }
}

/// Turns sealing on under `master` while the store holds no personal value
/// (in a write, so two processes opening a new store agree).
/// `required` (PostgreSQL): a store written in clear is refused, naming
/// the way out; an SQLite one stays in clear (sealing is chosen at
/// creation there), which the log says.
pub(crate) fn choose(
    tx: &Transaction<'_>,
    master: &MasterKey,
    required: bool,
) -> Result<Option<Sealing>> {
    if let Opening::Decided(Some(sealing)) = at_open(tx, Some(master), false)? {
        return Ok(Some(sealing));
    }
    for field in SEALED {
        let table = field.table;
        let rows = if field.only.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = field.only.iter().map(|id| format!("'{id}'")).collect();
            format!(" WHERE {} IN ({})", field.id, ids.join(", "))
        };
        let held: bool = tx.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM {table}{rows})"),
            [],
            |r| r.get(0),
        )?;
        if held && required {
            return Err(Error::MasterKey(format!(
                "this PostgreSQL store was written before sealing and holds personal values \
                 in clear ({table}): copy it with `fieldcheck --db THIS --master-key-file PATH \
                 store copy --to URL` into a new database, then destroy this one and its \
                 backups"
            )));
        }
        if held {
            log::warn!(
                "the store was created without sealing and holds personal values ({table}): \
                 it stays in clear; the master key given is not used"
            );
            return Ok(None);
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
    Ok(Some(Sealing {
        master: master.clone(),
        epoch,
    }))
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
        let slot = (subject.kind, subject.id.to_string(), bucket.to_string());
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

    /// Unwraps the keys of the stored values `stored` (a page of names),
    /// in one statement per 256 keys rather than one per value.
    fn prefetch<'s>(
        &self,
        tx: &Transaction<'_>,
        stored: impl Iterator<Item = &'s str>,
    ) -> Result<()> {
        let mut ids: Vec<&str> = stored
            .filter_map(|s| s.split_once('.').map(|(id, _)| id))
            .filter(|id| !self.by_id.borrow().contains_key(*id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(256) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
            let mut stmt = tx.prepare(&format!(
                "SELECT key_id, epoch, wrapped FROM data_keys WHERE key_id IN ({})",
                marks.join(", ")
            ))?;
            let mut rows = stmt.query(super::db::params_from_iter(chunk.iter()))?;
            let mut found = HashMap::new();
            while let Some(r) = rows.next()? {
                let (id, epoch, wrapped): (String, i64, Vec<u8>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?);
                let key = self
                    .newer(epoch)?
                    .master
                    .unwrap(&wrapped, &id, epoch)
                    .map_err(|e| Error::Corrupt(format!("data key {id}: {e}")))?;
                found.insert(id, Rc::new(key));
            }
            let mut known = self.by_id.borrow_mut();
            for id in chunk {
                known.insert(id.to_string(), found.remove(*id));
            }
        }
        Ok(())
    }

    /// This keyring, unless a key of `epoch` was wrapped after its master
    /// key was rotated away (this process must stop: the server answers
    /// 503).
    fn newer(&self, epoch: i64) -> Result<&Self> {
        if epoch > self.epoch {
            return Err(Error::MasterKey(format!(
                "the store's master key was rotated to epoch {epoch} after this process opened \
                 it at epoch {}: restart it with the new master key",
                self.epoch
            )));
        }
        Ok(self)
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
                self.newer(epoch)?
                    .master
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

/// Bytes as the store keeps them: sealed like text (their hex), where the
/// store seals; as they are where it does not.
pub(super) fn seal_bytes(
    tx: &Transaction<'_>,
    subject: Subject<'_>,
    bucket: &str,
    row: &str,
    clear: &[u8],
) -> Result<Vec<u8>> {
    if tx.keyring().is_none() {
        return Ok(clear.to_vec());
    }
    Ok(seal_text(tx, subject, bucket, row, &hex::encode(clear))?.into_bytes())
}

/// Bytes [`seal_bytes`] stored; `None` when their key was shredded.
pub(super) fn open_bytes(
    tx: &Transaction<'_>,
    row: &str,
    stored: &[u8],
) -> Result<Option<Vec<u8>>> {
    if tx.keyring().is_none() {
        return Ok(Some(stored.to_vec()));
    }
    let text = std::str::from_utf8(stored)
        .map_err(|e| Error::Corrupt(format!("sealed value of {row}: {e}")))?;
    open_text(tx, row, text)?
        .map(|h| hex::decode(h).map_err(|e| Error::Corrupt(format!("sealed value of {row}: {e}"))))
        .transpose()
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

/// Unwraps, in a few statements, the keys of values about to be opened
/// (a page of names); nothing where the store does not seal.
pub(super) fn prefetch<'s>(
    tx: &Transaction<'_>,
    stored: impl Iterator<Item = &'s str>,
) -> Result<()> {
    match tx.keyring() {
        Some(ring) => ring.prefetch(tx, stored),
        None => Ok(()),
    }
}

/// An erased `sealed` column.
const ERASED: &str = "{}";
/// A lead without notes (or whose notes were erased).
pub(super) const NO_NOTES: &str = "[]";

impl SealedField {
    /// An optional text column as stored.
    pub fn seal_optional(
        &self,
        tx: &Transaction<'_>,
        subject: Subject<'_>,
        id: &str,
        clear: Option<&str>,
    ) -> Result<Option<String>> {
        clear
            .map(|c| self.seal_text(tx, subject, id, c))
            .transpose()
    }

    pub fn open_optional(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        stored: Option<String>,
    ) -> Result<Option<String>> {
        match stored {
            Some(s) => self.open_text(tx, id, &s),
            None => Ok(None),
        }
    }
}

/// Deletes every data key of `subject` (crypto-shredding): what they
/// sealed can no longer be read, here or in any copy, once the master key
/// is rotated. Returns how many.
pub(super) fn shred(tx: &Transaction<'_>, subject: Subject<'_>) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM data_keys WHERE subject_kind = ?1 AND subject = ?2",
        (subject.kind, subject.id),
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
    let newest: i64 = tx.query_row(NEWEST_EPOCH, [], |r| r.get(0))?;
    refuse_newer_epoch(newest, ring)
}

/// The store's newest key epoch.
pub(super) const NEWEST_EPOCH: &str = "SELECT MAX(epoch) FROM key_epochs";

/// Refuses a process whose key is older than the store's `newest`.
pub(super) fn refuse_newer_epoch(newest: i64, ring: &Keyring) -> Result<()> {
    if newest > ring.epoch {
        return Err(Error::MasterKey(format!(
            "the store's master key was rotated to epoch {newest} after this process opened it \
             at epoch {}: restart it with the new master key",
            ring.epoch
        )));
    }
    Ok(())
}

/// Refuses a write by a process that opened the store before another one
/// turned sealing on: it would write personal values in clear.
pub(super) fn check_still_clear(tx: &Transaction<'_>) -> Result<()> {
    let sealed: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM key_epochs)", [], |r| r.get(0))?;
    if sealed {
        return Err(Error::MasterKey(
            "another process turned sealing on after this one opened the store: open it again \
             with its master key"
                .into(),
        ));
    }
    Ok(())
}

const ROTATION_COLUMNS: &str = "id, seq, epoch, rewrapped, at, actor_id, actor_role";

/// A chained rotation, for `verify`.
pub(super) fn rotation_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let row = tx
        .query_row(
            &format!("SELECT {ROTATION_COLUMNS} FROM key_rotations WHERE id = ?1"),
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((id, seq, epoch, rewrapped, at, actor_id, role)) = row else {
        return Ok(None);
    };
    let corrupt = |e: Error| Error::Corrupt(format!("stored key rotation: {e}"));
    let rotation = KeyRotation {
        id,
        seq,
        epoch,
        rewrapped,
        at: crate::time::from_unix("at", at).map_err(corrupt)?,
        actor: crate::types::Actor::new(
            actor_id,
            crate::types::Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    };
    Ok(Some((rotation.canonical(), None)))
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
            let rotation = super::chain::append_event(tx, |seq| {
                Ok(KeyRotation {
                    id: uuid::Uuid::now_v7().to_string(),
                    seq,
                    epoch,
                    rewrapped: keys.len() as i64,
                    at: crate::time::whole_second(now),
                    actor: actor.clone(),
                })
            })?;
            tx.execute(
                &format!("INSERT INTO key_rotations ({ROTATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                (
                    &rotation.id,
                    rotation.seq,
                    rotation.epoch,
                    rotation.rewrapped,
                    rotation.at.timestamp(),
                    &rotation.actor.id,
                    rotation.actor.role.as_str(),
                ),
            )?;
            Ok(Rotation {
                epoch,
                rewrapped: keys.len(),
            })
        })
    }
}

/// Deletes the data keys of retained coordinates whose `retain_until` day
/// is over at `now` (the purge deletes their rows in the same
/// transaction); `None` where the store does not seal.
pub(super) fn shred_expired(
    tx: &Transaction<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<usize>> {
    if tx.keyring().is_none() {
        return Ok(None);
    }
    // Buckets are `retain:YYYY-MM-DD`: in byte order, earlier days first.
    Ok(Some(tx.execute(
        "DELETE FROM data_keys WHERE bucket >= ?1 AND bucket < ?2",
        (
            RETAINED_BUCKET,
            format!("{RETAINED_BUCKET}{}", now.date_naive()),
        ),
    )?))
}

/// Deletes the data keys of the leads `leads` (a `SELECT id …` taking
/// `?1`) selects, where the store seals: the purge of stale leads.
pub(super) fn shred_leads(tx: &Transaction<'_>, leads: &str, before: i64) -> Result<usize> {
    if tx.keyring().is_none() {
        return Ok(0);
    }
    Ok(tx.execute(
        &format!("DELETE FROM data_keys WHERE subject_kind = 'lead' AND subject IN ({leads})"),
        [before],
    )?)
}
