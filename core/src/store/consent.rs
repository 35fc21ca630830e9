//! The consent ledger in SQLite: insert-only.

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::{chain, policy};
use crate::consent::{ConsentEntry, ConsentSource, ConsentState, OsPermission};
use crate::error::{Error, Result};
use crate::policy::ConsentStanding;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Permission, Role, validate_id};

const COLUMNS: &str =
    "id, seq, subject, permission, granted, policy_version, at, source, actor_id, actor_role";

/// A consent change as an app, the OS settings bridge or an admin asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentChange {
    pub subject: String,
    pub permission: Permission,
    pub granted: bool,
    /// `None`: the current published policy version
    /// ([`crate::consent::DEFAULT_POLICY_VERSION`] while none is published). Once any
    /// version is published, a named version must be one of them.
    pub policy_version: Option<String>,
    /// `None`: `app` for the agent themself, `admin` for an admin.
    pub source: Option<ConsentSource>,
}

impl Store {
    /// How the agent's location consent stands against the published
    /// policy. Agents read only their own.
    pub fn consent_standing(&self, actor: &Actor, agent: &str) -> Result<ConsentStanding> {
        validate_id("agent", agent)?;
        if actor.role == Role::Agent && actor.id != agent {
            return Err(Error::PermissionDenied(
                "agents may read only their own consent".into(),
            ));
        }
        self.read(|tx| {
            let published = policy::published(tx)?;
            let location = latest(tx, agent, Permission::Location)?;
            let granted = location.as_ref().is_some_and(|e| e.granted);
            let renewal_required = location.as_ref().is_some_and(|e| {
                e.granted && crate::policy::renewal_required(&published, &e.policy_version)
            });
            Ok(ConsentStanding {
                agent: agent.to_string(),
                current_policy_version: crate::policy::current_version(&published).to_string(),
                location_policy_version: location.map(|e| e.policy_version),
                location_granted: granted,
                renewal_required,
                location_authorised: granted && !renewal_required,
            })
        })
    }

    /// Appends a grant or withdrawal to the ledger. Agents change their own
    /// consent; admins may record one on an agent's behalf.
    pub fn change_consent(
        &self,
        actor: &Actor,
        change: &ConsentChange,
        now: DateTime<Utc>,
    ) -> Result<ConsentEntry> {
        validate_id("agent", &change.subject)?;
        actor.may_act_for_agent(&change.subject)?;
        if let Some(version) = &change.policy_version {
            validate_id("policy_version", version)?;
        }
        let source = change.source.unwrap_or(match actor.role {
            Role::Admin => ConsentSource::Admin,
            _ => ConsentSource::App,
        });
        let entry = self.write(|tx| {
            let policy_version = policy::version_for_change(tx, change.policy_version.as_deref())?;
            append(tx, actor, change, &policy_version, source, now)
        })?;
        self.after_consent_change(&entry)?;
        Ok(entry)
    }

    fn after_consent_change(&self, entry: &ConsentEntry) -> Result<()> {
        if entry.permission == Permission::Push && !entry.granted {
            // With secure_delete the token's bytes are gone from the pages;
            // the checkpoint takes them out of the WAL too.
            self.checkpoint()?;
        }
        Ok(())
    }
    /// Mirrors an OS permission change into the ledger (source
    /// `os_settings`). An OS permission alone is not consent: consent is an
    /// act in the app under a policy version. So the OS can only take away
    /// (a granted permission the OS no longer allows is withdrawn) and give
    /// back what it took (a withdrawal that came from the OS settings is
    /// restored, under the same policy version). Anything else appends
    /// nothing. Decided and appended in one transaction.
    pub fn record_os_permission(
        &self,
        actor: &Actor,
        agent: &str,
        permission: Permission,
        state: OsPermission,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsentEntry>> {
        validate_id("agent", agent)?;
        actor.may_act_for_agent(agent)?;
        let entry = self.write(|tx| {
            let Some(current) = latest(tx, agent, permission)? else {
                return Ok(None);
            };
            let withdraws = current.granted && !state.allows();
            let restores =
                !current.granted && current.source == ConsentSource::OsSettings && state.allows();
            if !withdraws && !restores {
                return Ok(None);
            }
            // Keep the policy version the agent last answered to.
            let policy_version = current.policy_version;
            let change = ConsentChange {
                subject: agent.to_string(),
                permission,
                granted: state.allows(),
                policy_version: None,
                source: None,
            };
            append(
                tx,
                actor,
                &change,
                &policy_version,
                ConsentSource::OsSettings,
                now,
            )
            .map(Some)
        })?;
        if let Some(entry) = &entry {
            self.after_consent_change(entry)?;
        }
        Ok(entry)
    }

    /// Registers the agent's push token; only while push consent is granted.
    pub fn register_push_token(
        &self,
        actor: &Actor,
        agent: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        validate_id("agent", agent)?;
        actor.may_act_for_agent(agent)?;
        if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_control) {
            return Err(Error::invalid(
                "token",
                "must be 1 to 4096 printable characters",
            ));
        }
        self.write(|tx| {
            let granted = latest(tx, agent, Permission::Push)?.is_some_and(|e| e.granted);
            if !granted {
                return Err(Error::PermissionDenied(
                    "push consent is not granted; no token may be stored".into(),
                ));
            }
            let token =
                sealing::PUSH_TOKEN.seal_text(tx, sealing::Subject::agent(agent), agent, token)?;
            tx.prepare_cached(
                "INSERT INTO push_tokens (agent, token, registered_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (agent) DO UPDATE SET token = excluded.token,
                   registered_at = excluded.registered_at",
            )?
            .execute((agent, token, now.timestamp()))?;
            Ok(())
        })
    }

    /// The agent's registered push token, if any.
    pub fn push_token(&self, actor: &Actor, agent: &str) -> Result<Option<String>> {
        may_read(actor, agent)?;
        self.read(|tx| {
            let stored: Option<String> = tx
                .prepare_cached("SELECT token FROM push_tokens WHERE agent = ?1")?
                .query_row([agent], |r| r.get(0))
                .optional()?;
            match stored {
                Some(stored) => sealing::PUSH_TOKEN.open_text(tx, agent, &stored),
                None => Ok(None),
            }
        })
    }

    /// The current state of each permission for `subject`.
    pub fn consent_state(&self, actor: &Actor, subject: &str) -> Result<ConsentState> {
        may_read(actor, subject)?;
        self.read(|tx| {
            Ok(ConsentState {
                subject: subject.to_string(),
                location: latest(tx, subject, Permission::Location)?,
                push: latest(tx, subject, Permission::Push)?,
            })
        })
    }

    /// Every ledger entry for `subject`, oldest first.
    pub fn consent_history(&self, actor: &Actor, subject: &str) -> Result<Vec<ConsentEntry>> {
        may_read(actor, subject)?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM consent_ledger WHERE subject = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([subject], |r| Ok(entry_from_row(r)))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
    }

    /// One ledger entry by id (the receipt id).
    pub fn consent_entry(&self, actor: &Actor, id: &str) -> Result<ConsentEntry> {
        let entry = self
            .read(|tx| load_entry(tx, id))?
            .ok_or_else(|| Error::NotFound(format!("consent entry {id}")))?;
        may_read(actor, &entry.subject)?;
        Ok(entry)
    }
}

/// Appends one entry (ledger link, row, and for a push withdrawal the
/// token's deletion) inside the caller's transaction.
pub(super) fn append(
    tx: &Transaction<'_>,
    actor: &Actor,
    change: &ConsentChange,
    policy_version: &str,
    source: ConsentSource,
    now: DateTime<Utc>,
) -> Result<ConsentEntry> {
    let entry = chain::append_event(tx, |seq| {
        Ok(ConsentEntry {
            id: Uuid::now_v7().to_string(),
            seq,
            subject: change.subject.clone(),
            permission: change.permission,
            granted: change.granted,
            policy_version: policy_version.to_string(),
            at: whole_second(now),
            source,
            actor: actor.clone(),
        })
    })?;
    tx.prepare_cached(&format!(
        "INSERT INTO consent_ledger ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(super::db::params![
        entry.id,
        entry.seq,
        entry.subject,
        entry.permission.as_str(),
        entry.granted,
        entry.policy_version,
        entry.at.timestamp(),
        entry.source.as_str(),
        entry.actor.id,
        entry.actor.role.as_str(),
    ])?;
    if entry.permission == Permission::Push && !entry.granted {
        // Withdrawal takes the token with it.
        tx.prepare_cached("DELETE FROM push_tokens WHERE agent = ?1")?
            .execute([&entry.subject])?;
    }
    log::info!(
        "consent {} for {} {}",
        entry.permission,
        if entry.granted {
            "granted"
        } else {
            "withdrawn"
        },
        entry.id
    );
    Ok(entry)
}

fn may_read(actor: &Actor, subject: &str) -> Result<()> {
    if actor.role == Role::Agent && actor.id != subject {
        return Err(Error::PermissionDenied(
            "agents may read only their own consent".into(),
        ));
    }
    Ok(())
}

pub(super) fn latest(
    tx: &Transaction<'_>,
    subject: &str,
    permission: Permission,
) -> Result<Option<ConsentEntry>> {
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM consent_ledger WHERE subject = ?1 AND permission = ?2
         ORDER BY seq DESC LIMIT 1"
    ))?
    .query_row((subject, permission.as_str()), |r| Ok(entry_from_row(r)))
    .optional()?
    .transpose()
}

pub(super) fn load_entry(tx: &Transaction<'_>, id: &str) -> Result<Option<ConsentEntry>> {
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM consent_ledger WHERE id = ?1"
    ))?
    .query_row([id], |r| Ok(entry_from_row(r)))
    .optional()?
    .transpose()
}

fn entry_from_row(r: &Row<'_>) -> Result<ConsentEntry> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored consent entry is unreadable: {e}"));
    let permission: String = r.get(3)?;
    let source: String = r.get(7)?;
    let role: String = r.get(9)?;
    Ok(ConsentEntry {
        id: r.get(0)?,
        seq: r.get(1)?,
        subject: r.get(2)?,
        permission: Permission::parse("permission", &permission).map_err(corrupt)?,
        granted: r.get(4)?,
        policy_version: r.get(5)?,
        at: from_unix("at", r.get(6)?).map_err(corrupt)?,
        source: ConsentSource::parse("source", &source).map_err(corrupt)?,
        actor: Actor::new(
            r.get::<_, String>(8)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}
