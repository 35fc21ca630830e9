//! Privacy-policy versions (chained, insert-only) and the data controller
//! named in consent receipts (a setting in `meta`). The renewal rule itself
//! lives in [`crate::policy`].

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::connection::Store;
use super::{chain, feed};
use crate::chain::new_salt;
use crate::config_feed::{ConfigBody, controller_digest};
use crate::error::{Error, Result};
use crate::policy::{self, PolicyVersion};
use crate::receipt::{ReceiptContext, consent_receipt};
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role, validate_id};

const COLUMNS: &str = "id, seq, version, requires_renewal, published_at, actor_id, actor_role";

/// `meta` key of the receipt controller settings (JSON of
/// [`ReceiptContext`]).
pub const RECEIPT_CONTROLLER_KEY: &str = "receipt_controller";
/// `meta` key of the salt of the controller setting's digest (hex), which
/// the configuration feed carries instead of the setting.
const RECEIPT_CONTROLLER_SALT_KEY: &str = "receipt_controller_salt";

impl Store {
    /// Publishes a privacy-policy version (admins only). Versions are
    /// ordered by publication; publishing a name twice is refused. With
    /// `requires_renewal`, location consents given under older versions stop
    /// authorising check-ins until the agent grants again.
    pub fn publish_policy(
        &self,
        actor: &Actor,
        version: &str,
        requires_renewal: bool,
        now: DateTime<Utc>,
    ) -> Result<PolicyVersion> {
        actor.must_be_admin()?;
        validate_id("policy_version", version)?;
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the privacy-policy versions")?;
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM policy_versions WHERE version = ?1)")?
                .query_row([version], |r| r.get(0))?;
            if exists {
                return Err(Error::invalid(
                    "policy_version",
                    format!("version {version:?} is already published"),
                ));
            }
            let published = chain::append_event(tx, |seq| {
                Ok(PolicyVersion {
                    id: Uuid::now_v7().to_string(),
                    seq,
                    version: version.to_string(),
                    requires_renewal,
                    published_at: whole_second(now),
                    published_by: actor.clone(),
                })
            })?;
            insert_policy(tx, OWN_POLICIES, &published)?;
            feed::append_global(tx, &ConfigBody::Policy(published.clone()))?;
            log::info!(
                "privacy policy {} published{}",
                published.id,
                if requires_renewal {
                    " (requires renewal)"
                } else {
                    ""
                }
            );
            Ok(published)
        })
    }

    /// Every published version, oldest first. Policies are public: anyone
    /// may list them.
    pub fn policy_versions(&self) -> Result<Vec<PolicyVersion>> {
        self.read(published)
    }

    /// The version a consent change records when it names none.
    pub fn current_policy_version(&self) -> Result<String> {
        self.read(|tx| Ok(policy::current_version(&published(tx)?).to_string()))
    }

    /// Sets the data controller that consent receipts name (admins only).
    pub fn set_receipt_context(&self, actor: &Actor, ctx: &ReceiptContext) -> Result<()> {
        actor.must_be_admin()?;
        ctx.validate()?;
        let salt = new_salt();
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the receipts' controller")?;
            write_controller(tx, Some((ctx, &salt)))?;
            feed::append_global(tx, &ConfigBody::Controller(controller_digest(ctx, &salt)))
        })
    }

    /// The stored receipt controller, if an admin has set one.
    pub fn receipt_context(&self) -> Result<Option<ReceiptContext>> {
        Ok(self.read(stored_controller)?.map(|(ctx, _)| ctx))
    }

    /// The consent receipt (Kantara CR v1.1 / ISO/IEC TS 27560, see
    /// [`crate::receipt`]) of one ledger entry. Agents get their own. Until
    /// an admin sets the controller, the receipt names it as not configured
    /// (`ReceiptContext::unconfigured`) and is otherwise complete.
    pub fn consent_receipt(&self, actor: &Actor, entry_id: &str) -> Result<Value> {
        let entry = self.consent_entry(actor, entry_id)?;
        let ctx = self
            .receipt_context()?
            .unwrap_or_else(ReceiptContext::unconfigured);
        Ok(consent_receipt(&entry, &ctx))
    }
}

/// This store's own policy versions; what an enrolled device applied of its
/// server's.
pub(super) const OWN_POLICIES: &str = "policy_versions";
pub(super) const APPLIED_POLICIES: &str = "applied_policy_versions";

/// Stores a published version in `table` ([`OWN_POLICIES`] or
/// [`APPLIED_POLICIES`]).
pub(super) fn insert_policy(tx: &Transaction<'_>, table: &str, p: &PolicyVersion) -> Result<()> {
    tx.prepare_cached(&super::db::upsert(table, COLUMNS, "id"))?
        .execute(super::db::params![
            p.id,
            p.seq,
            p.version,
            p.requires_renewal,
            p.published_at.timestamp(),
            p.published_by.id,
            p.published_by.role.as_str(),
        ])?;
    Ok(())
}

/// Stores the controller setting with the salt of its digest, or removes
/// it (`None`), in the caller's transaction.
pub(super) fn write_controller(
    tx: &Transaction<'_>,
    setting: Option<(&ReceiptContext, &[u8])>,
) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    match setting {
        Some((ctx, salt)) => {
            let seal = |key: &str, clear: &str| {
                sealing::CONTROLLER.seal_text(tx, sealing::Subject::store(), key, clear)
            };
            put.execute((
                RECEIPT_CONTROLLER_KEY,
                seal(RECEIPT_CONTROLLER_KEY, &serde_json::to_string(ctx)?)?,
            ))?;
            put.execute((
                RECEIPT_CONTROLLER_SALT_KEY,
                seal(RECEIPT_CONTROLLER_SALT_KEY, &hex::encode(salt))?,
            ))?;
        }
        None => {
            tx.execute(
                "DELETE FROM meta WHERE key IN (?1, ?2)",
                (RECEIPT_CONTROLLER_KEY, RECEIPT_CONTROLLER_SALT_KEY),
            )?;
        }
    }
    Ok(())
}

/// The stored controller setting and the salt of its digest (a setting
/// stored before v11 gets its salt in the upgrade).
pub(super) fn stored_controller(tx: &Transaction<'_>) -> Result<Option<(ReceiptContext, Vec<u8>)>> {
    let get = |key: &str| -> Result<Option<String>> {
        let stored: Option<String> = tx
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        Ok(match stored {
            Some(stored) => sealing::CONTROLLER.open_text(tx, key, &stored)?,
            None => None,
        })
    };
    let Some(text) = get(RECEIPT_CONTROLLER_KEY)? else {
        return Ok(None);
    };
    let ctx: ReceiptContext = serde_json::from_str(&text)
        .map_err(|e| Error::Corrupt(format!("stored receipt controller is unreadable: {e}")))?;
    let salt = match get(RECEIPT_CONTROLLER_SALT_KEY)? {
        Some(hex_salt) => hex::decode(hex_salt)
            .map_err(|e| Error::Corrupt(format!("stored controller salt: {e}")))?,
        None => Vec::new(),
    };
    Ok(Some((ctx, salt)))
}

/// Published versions in force, in publication order (on an enrolled
/// device, its server's).
pub(super) fn published(tx: &Transaction<'_>) -> Result<Vec<PolicyVersion>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM policies_in_force ORDER BY seq"
    ))?;
    let rows = stmt.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Whether a location consent under `consent_version` needs renewal (read
/// in the caller's transaction, e.g. while judging a check-in).
pub(super) fn renewal_required(tx: &Transaction<'_>, consent_version: &str) -> Result<bool> {
    Ok(policy::renewal_required(&published(tx)?, consent_version))
}

/// The version a consent change records: the requested one, which must be
/// published once any version is; else the current one.
pub(super) fn version_for_change(tx: &Transaction<'_>, requested: Option<&str>) -> Result<String> {
    let published = published(tx)?;
    match requested {
        None => Ok(policy::current_version(&published).to_string()),
        Some(v) if published.is_empty() || published.iter().any(|p| p.version == v) => {
            Ok(v.to_string())
        }
        Some(v) => Err(Error::invalid(
            "policy_version",
            format!(
                "version {v:?} is not published (published: {})",
                published
                    .iter()
                    .map(|p| p.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

pub(super) fn load_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let found = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM policy_versions WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok(from_row(r)))
        .optional()?
        .transpose()?;
    Ok(found.map(|p| (p.canonical(), None)))
}

fn from_row(r: &Row<'_>) -> Result<PolicyVersion> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored policy version is unreadable: {e}"));
    let role: String = r.get(6)?;
    Ok(PolicyVersion {
        id: r.get(0)?,
        seq: r.get(1)?,
        version: r.get(2)?,
        requires_renewal: r.get(3)?,
        published_at: from_unix("published_at", r.get(4)?).map_err(corrupt)?,
        published_by: Actor::new(
            r.get::<_, String>(5)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}
