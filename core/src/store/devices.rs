//! Enrolled devices (PRODUCT.md §12.1–§12.2), on the server's store:
//! one-time enrolment codes, device tokens and keys, signed batches, and the
//! feed of review decisions a device pulls.
//!
//! Codes and tokens are stored as SHA-256 digests; a batch is checked in
//! the order token, signature, batch, device, chain, and imported in the
//! same transaction that records the device's last sync.

use super::db::{OptionalExtension, Transaction};
use chrono::{DateTime, Duration, Utc};

use super::connection::Store;
use super::review::{review_columns, review_from_row};
use super::server_role;
use super::sync::{ImportBounds, ImportOptions, import};
use crate::device::{
    DeviceCredential, EnrolledDevice, EnrolmentCode, MAX_CODE_VALID_MIN, Platform,
    check_public_key, new_device_token, new_enrolment_code, normalise_code, secret_digest,
    signature_is_valid,
};
use crate::error::{DeviceError, Error, Result};
use crate::sync::{ImportReport, SyncBatch};
use crate::time::from_unix;
use crate::types::{Actor, validate_id};
use crate::wire::{DecisionNotice, EnrolRequest};

/// What an accepted batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedBatch {
    pub device_id: String,
    pub accepted_to_seq: i64,
    /// The batch's format version (2 may carry retained coordinates).
    pub version: u32,
    /// Its counts; `devices` is left empty (`accepted_to_seq` is the
    /// device's chain end).
    pub report: ImportReport,
}

impl Store {
    /// Mints a one-time enrolment code for `agent`, valid `valid_min`
    /// minutes. Admins only. The code is shown once; only its digest is kept.
    pub fn create_enrolment_code(
        &self,
        actor: &Actor,
        agent: &str,
        valid_min: i64,
        now: DateTime<Utc>,
    ) -> Result<EnrolmentCode> {
        actor.must_be_admin()?;
        validate_id("agent", agent)?;
        if !(1..=MAX_CODE_VALID_MIN).contains(&valid_min) {
            return Err(Error::invalid(
                "valid_min",
                format!("must be between 1 and {MAX_CODE_VALID_MIN} minutes"),
            ));
        }
        let code = new_enrolment_code();
        let expires_at = from_unix("expires_at", now.timestamp() + valid_min * 60)?;
        self.write(|tx| {
            server_role::mark_server(tx, now)?;
            tx.execute(
                "INSERT INTO enrolment_codes (code_digest, agent, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                (
                    &secret_digest(&normalise_code(&code))[..],
                    agent,
                    now.timestamp(),
                    expires_at.timestamp(),
                ),
            )?;
            Ok(())
        })?;
        Ok(EnrolmentCode {
            code,
            agent: agent.to_string(),
            expires_at,
        })
    }

    /// Enrols a device with a code: binds its id and public key to the
    /// code's agent and returns a new bearer token (and the agent). The
    /// code is spent in the same transaction. A device already enrolled
    /// for the same agent gets a new key and token (a reinstalled app); a
    /// revoked one stays revoked.
    pub fn enrol_device(
        &self,
        request: &EnrolRequest,
        now: DateTime<Utc>,
    ) -> Result<(String, String)> {
        validate_id("device_id", &request.device_id)?;
        let platform = Platform::parse("platform", &request.platform)?;
        let public_key = crate::device::from_base64("public_key", &request.public_key)?;
        check_public_key(&public_key)?;
        let code = normalise_code(&request.code);
        if code.is_empty() || code.len() > 64 {
            return Err(DeviceError::BadCode.into());
        }
        let token = new_device_token();
        let agent = self.write(|tx| {
            let found: Option<(String, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT agent, expires_at, used_at FROM enrolment_codes WHERE code_digest = ?1",
                    [&secret_digest(&code)[..]],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let agent = match found {
                Some((agent, expires_at, None)) if now.timestamp() < expires_at => agent,
                _ => return Err(DeviceError::BadCode.into()),
            };
            let existing: Option<(String, Option<i64>)> = tx
                .query_row(
                    "SELECT agent, revoked_at FROM enrolled_devices WHERE device_id = ?1",
                    [&request.device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match existing {
                Some((_, Some(_))) => {
                    return Err(DeviceError::Revoked(request.device_id.clone()).into());
                }
                Some((held, None)) if held != agent => {
                    return Err(Error::invalid(
                        "device_id",
                        "this device is enrolled for another agent; revoke it first",
                    ));
                }
                _ => {}
            }
            tx.execute(
                "UPDATE enrolment_codes SET used_at = ?2, used_by_device = ?3 WHERE code_digest = ?1",
                (&secret_digest(&code)[..], now.timestamp(), &request.device_id),
            )?;
            tx.execute(
                "INSERT INTO enrolled_devices (device_id, agent, platform, public_key, token_digest,
                   enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,
                   public_key = excluded.public_key, token_digest = excluded.token_digest,
                   enrolled_at = excluded.enrolled_at",
                super::db::params![
                    request.device_id,
                    agent,
                    platform.as_str(),
                    public_key,
                    &secret_digest(&token)[..],
                    now.timestamp(),
                ],
            )?;
            Ok(agent)
        })?;
        log::info!("device {} enrolled", request.device_id);
        Ok((token, agent))
    }

    /// The device a bearer token belongs to, revoked or not.
    pub fn device_for_token(&self, token: &str) -> Result<DeviceCredential> {
        // One statement: on PostgreSQL one round trip, on every device
        // request.
        self.read_single_statement(|tx| credential(tx, token))
    }

    /// Devices enrolled here, with how far their chains were imported.
    /// Supervisors and admins.
    pub fn enrolled_devices(&self, actor: &Actor) -> Result<Vec<EnrolledDevice>> {
        actor.may_supervise()?;
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT d.device_id, d.agent, d.platform, d.enrolled_at, d.last_sync_at,
                        COALESCE(s.last_seq, 0), d.revoked_at IS NOT NULL,
                        COALESCE(s.verified_seq, 0), s.verified_at
                 FROM enrolled_devices d LEFT JOIN sync_devices s ON s.device_id = d.device_id
                 ORDER BY d.agent, d.enrolled_at, d.device_id",
            )?;
            let mut rows = stmt.query([])?;
            let mut devices = Vec::new();
            while let Some(r) = rows.next()? {
                let platform: String = r.get(2)?;
                let corrupt = |e: Error| Error::Corrupt(format!("stored device: {e}"));
                devices.push(EnrolledDevice {
                    device_id: r.get(0)?,
                    agent: r.get(1)?,
                    platform: Platform::parse("platform", &platform).map_err(corrupt)?,
                    enrolled_at: from_unix("enrolled_at", r.get(3)?).map_err(corrupt)?,
                    last_sync_at: r
                        .get::<_, Option<i64>>(4)?
                        .map(|t| from_unix("last_sync_at", t))
                        .transpose()
                        .map_err(corrupt)?,
                    acked_seq: r.get(5)?,
                    revoked: r.get(6)?,
                    verified_seq: r.get(7)?,
                    verified_at: r
                        .get::<_, Option<i64>>(8)?
                        .map(|t| from_unix("verified_at", t))
                        .transpose()
                        .map_err(corrupt)?,
                });
            }
            Ok(devices)
        })
    }

    /// Revokes a device: its token stops working at once. Admins only.
    pub fn revoke_device(&self, actor: &Actor, device_id: &str, now: DateTime<Utc>) -> Result<()> {
        actor.must_be_admin()?;
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE enrolled_devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE device_id = ?1",
                (device_id, now.timestamp()),
            )?;
            if changed == 0 {
                return Err(Error::NotFound(format!("device {device_id}")));
            }
            Ok(())
        })
    }

    /// Receives a signed batch (PRODUCT.md §12.2): checks the token, the
    /// signature over exactly `body`, the batch and its device, then
    /// imports it (§9) all or nothing, recording the device's sync time in
    /// the same transaction. A replay changes nothing.
    pub fn receive_device_batch(
        &self,
        token: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ReceivedBatch> {
        let device = self.authorised_device(token)?;
        self.receive_batch_of(device, token, signature, body, now)
    }

    /// [`Store::receive_device_batch`] for the device [`Store::authorised_device`]
    /// found behind `token` (a server that looked it up already, for the
    /// request's rate, saves a transaction). The import checks again,
    /// inside its own transaction, that the token is not revoked.
    pub fn receive_batch_of(
        &self,
        device: DeviceCredential,
        token: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ReceivedBatch> {
        let signature = signature
            .and_then(|s| crate::device::from_base64("signature", s).ok())
            .ok_or_else(|| DeviceError::BadSignature(device.device_id.clone()))?;
        if !signature_is_valid(&device.public_key, body, &signature) {
            return Err(DeviceError::BadSignature(device.device_id.clone()).into());
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::invalid("batch", "the body is not UTF-8"))?;
        let batch = SyncBatch::check(text)?;
        if batch.device_id != device.device_id {
            return Err(DeviceError::Mismatch {
                batch: batch.device_id,
                token: device.device_id,
            }
            .into());
        }
        let imported = self.write_import(&device.device_id, &device.agent, |tx| {
            // Revoked between the check above and now: refuse inside the
            // transaction too.
            let current = credential(tx, token.unwrap_or_default())?;
            if current.revoked {
                return Err(DeviceError::Revoked(device.device_id.clone()).into());
            }
            if current.device_id != device.device_id {
                return Err(DeviceError::Mismatch {
                    batch: device.device_id.clone(),
                    token: current.device_id,
                }
                .into());
            }
            // The signature was checked against the credential given: it
            // must be the token's own, key and agent too.
            if current != device {
                return Err(DeviceError::BadSignature(device.device_id.clone()).into());
            }
            // The rules as this transaction sees them (from the cache
            // while unchanged): no read transaction of their own.
            let rules = self.rules_in(tx)?;
            let options = ImportOptions {
                bounds: ImportBounds::of(&rules)?,
                rules: &rules,
                bound_agent: Some(&device.agent),
                // A device enrolled here: a server's store.
                server_store: true,
                device_states: false,
            };
            let imported = import(tx, &batch, now, &options, &|_| {})?;
            tx.execute(
                "UPDATE enrolled_devices SET last_sync_at = ?2 WHERE device_id = ?1",
                (&device.device_id, now.timestamp()),
            )?;
            Ok(imported)
        })?;
        Ok(ReceivedBatch {
            device_id: device.device_id,
            accepted_to_seq: imported.held_to_seq,
            version: batch.version,
            report: imported.report,
        })
    }

    /// The device behind a token, refusing a missing, unknown or revoked one.
    pub fn authorised_device(&self, token: Option<&str>) -> Result<DeviceCredential> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(DeviceError::UnknownDevice)?;
        let device = self.device_for_token(token)?;
        if device.revoked {
            return Err(DeviceError::Revoked(device.device_id).into());
        }
        Ok(device)
    }

    /// Review decisions about `agent` made on this store after `after` (a
    /// cursor from an earlier answer; `None` from the beginning), oldest
    /// first, at most `limit`. Returns them and the cursor to ask from next.
    pub fn decisions_after(
        &self,
        agent: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DecisionNotice>, String)> {
        let after: i64 = match after {
            None | Some("") => 0,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n: &i64| *n >= 0)
                .ok_or_else(|| Error::invalid("after", "not a cursor this server gave"))?,
        };
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM reviews WHERE agent = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                review_columns()
            ))?;
            let rows =
                stmt.query_map((agent, after, limit as i64), |r| Ok(review_from_row(tx, r)))?;
            let mut cursor = after;
            let mut notices = Vec::new();
            for review in rows {
                let review = review??;
                cursor = review.seq;
                notices.push(DecisionNotice::from(review));
            }
            Ok((notices, cursor.to_string()))
        })
    }
}

fn credential(tx: &Transaction<'_>, token: &str) -> Result<DeviceCredential> {
    tx.prepare_cached(
        "SELECT device_id, agent, public_key, revoked_at IS NOT NULL FROM enrolled_devices
         WHERE token_digest = ?1",
    )?
    .query_row([&secret_digest(token)[..]], |r| {
        Ok(DeviceCredential {
            device_id: r.get(0)?,
            agent: r.get(1)?,
            public_key: r.get(2)?,
            revoked: r.get(3)?,
        })
    })
    .optional()?
    .ok_or_else(|| DeviceError::UnknownDevice.into())
}

impl Store {
    /// Marks this store as a server's (`server_role`); called by
    /// `fieldcheck-server` when it opens its store.
    pub fn serve_as_server(&self, now: DateTime<Utc>) -> Result<()> {
        self.write(|tx| server_role::mark_server(tx, now))
    }
}

/// Codes older than a day past their expiry are of no use to anyone.
pub(super) fn purge_spent_codes(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM enrolment_codes WHERE expires_at < ?1",
        [(now - Duration::days(1)).timestamp()],
    )?)
}
