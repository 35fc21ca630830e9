//! Restriction of processing (PRODUCT.md §8), stored as an append-only
//! log: the state every processing path (check-ins, leads, reports)
//! consults. Restriction as a data-subject request is `store::privacy`.

use super::db::{OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::{chain, feed};
use crate::config_feed::ConfigBody;
use crate::error::{Error, Result};
use crate::privacy::RestrictionEntry;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role, validate_id};

impl Store {
    /// Restricts or lifts restriction of processing for a subject (admins
    /// handle data-subject requests, PRODUCT.md §1).
    pub fn set_restriction(
        &self,
        actor: &Actor,
        subject: &str,
        restricted: bool,
        now: DateTime<Utc>,
    ) -> Result<RestrictionEntry> {
        actor.must_be_admin()?;
        validate_id("subject", subject)?;
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "restrictions of processing")?;
            // An agent's restriction flows down to their devices; a lead's
            // customer has none.
            let agent = !is_known_lead(tx, subject)?;
            append_restriction(tx, actor, subject, restricted, agent, now)
        })
    }

    pub fn is_restricted(&self, subject: &str) -> Result<bool> {
        self.read(|tx| is_restricted(tx, subject))
    }
}

/// Whether `id` is a lead this store holds (its own or imported).
pub(super) fn is_known_lead(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM sync_leads WHERE lead_id = ?1)",
        )?
        .query_row([id], |r| r.get(0))?)
}

/// Appends one restriction entry inside the caller's transaction (the
/// caller checks the actor and the subject id), and for an agent the
/// change of their configuration feed.
pub(super) fn append_restriction(
    tx: &Transaction<'_>,
    actor: &Actor,
    subject: &str,
    restricted: bool,
    subject_is_agent: bool,
    now: DateTime<Utc>,
) -> Result<RestrictionEntry> {
    let entry = chain::append_event(tx, |seq| {
        Ok(RestrictionEntry {
            id: Uuid::now_v7().to_string(),
            seq,
            subject: subject.to_string(),
            restricted,
            at: whole_second(now),
            actor: actor.clone(),
        })
    })?;
    insert_restriction(tx, OWN_RESTRICTIONS, &entry)?;
    if subject_is_agent {
        feed::append(tx, subject, &ConfigBody::Restriction(entry.clone()))?;
    }
    Ok(entry)
}

pub(super) fn is_restricted(tx: &Transaction<'_>, subject: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT restricted FROM restrictions_in_force WHERE subject = ?1
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([subject], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// This store's own restriction log; what an enrolled device applied of
/// its server's; and what is in force.
pub(super) const OWN_RESTRICTIONS: &str = "restriction_log";
pub(super) const APPLIED_RESTRICTIONS: &str = "applied_restrictions";
pub(super) const RESTRICTIONS_IN_FORCE: &str = "restrictions_in_force";

/// Stores an entry in `table` ([`OWN_RESTRICTIONS`] or
/// [`APPLIED_RESTRICTIONS`]).
pub(super) fn insert_restriction(
    tx: &Transaction<'_>,
    table: &str,
    entry: &RestrictionEntry,
) -> Result<()> {
    tx.prepare_cached(&super::db::upsert(
        table,
        "id, seq, subject, restricted, at, actor_id, actor_role",
        "id",
    ))?
    .execute(super::db::params![
        entry.id,
        entry.seq,
        entry.subject,
        entry.restricted,
        entry.at.timestamp(),
        entry.actor.id,
        entry.actor.role.as_str(),
    ])?;
    Ok(())
}

/// One of this store's own entries.
pub(super) fn load_entry(tx: &Transaction<'_>, id: &str) -> Result<Option<RestrictionEntry>> {
    load_entry_from(tx, OWN_RESTRICTIONS, id)
}

/// An entry of `table` (one of the constants above).
pub(super) fn load_entry_from(
    tx: &Transaction<'_>,
    table: &str,
    id: &str,
) -> Result<Option<RestrictionEntry>> {
    let row: Option<(String, i64, String, bool, i64, String, String)> = tx
        .prepare_cached(&format!(
            "SELECT id, seq, subject, restricted, at, actor_id, actor_role FROM {table}
             WHERE id = ?1"
        ))?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    row.map(|(id, seq, subject, restricted, at, actor_id, role)| {
        Ok(RestrictionEntry {
            id,
            seq,
            subject,
            restricted,
            at: from_unix("at", at)?,
            actor: Actor::new(
                actor_id,
                Role::parse("actor_role", &role).map_err(|e| Error::Corrupt(e.to_string()))?,
            ),
        })
    })
    .transpose()
}
