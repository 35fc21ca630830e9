//! Audit and security flags in SQLite.

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::{chain, feed, queue_marks};
use crate::audit::{AuditFlag, FlagEnd, FlagPurpose, FlagRequest, FlagScope};
use crate::chain::{new_salt, salted_digest};
use crate::config_feed::{ConfigBody, GLOBAL_FEED};
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role};

const COLUMNS: &str = "id, seq, scope, scope_id, purpose, reason, reason_salt, reason_digest, \
                       set_by_id, set_by_role, starts_at, expires_at";
/// What reads a flag in force (`flags_in_force`: this store's own, or on
/// an enrolled device its server's): its columns and the end a supervisor
/// gave it, if any.
const READ_COLUMNS: &str = "id, seq, scope, scope_id, purpose, reason, reason_salt, reason_digest, \
     set_by_id, set_by_role, starts_at, expires_at, ended_at";

/// [`READ_COLUMNS`] of this store's own flags (the chain's).
const OWN_COLUMNS: &str = "id, seq, scope, scope_id, purpose, reason, reason_salt, reason_digest, \
     set_by_id, set_by_role, starts_at, expires_at, \
     (SELECT ended_at FROM audit_flag_ends e WHERE e.flag_id = audit_flags.id)";

/// The feed a flag travels on: the agent's for a flag on an agent (its
/// reason goes to that agent only), the global one otherwise.
pub(super) fn feed_of(scope: &FlagScope) -> &str {
    match scope {
        FlagScope::Agent(agent) => agent,
        FlagScope::Site(_) | FlagScope::Everyone => GLOBAL_FEED,
    }
}

impl Store {
    /// Sets an audit or security flag (supervisors and admins). From now
    /// until it expires, fixes it covers keep their coordinates.
    pub fn set_flag(
        &self,
        actor: &Actor,
        request: &FlagRequest,
        now: DateTime<Utc>,
    ) -> Result<AuditFlag> {
        actor.may_supervise()?;
        let rules = self.rules();
        request.validate(&rules, now)?;
        if let FlagScope::Site(site) = &request.scope
            && self.site_index()?.get(site).is_none()
        {
            return Err(Error::NotFound(format!("site {site}")));
        }
        let reason = request.reason.trim().to_string();
        let salt = new_salt();
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the audit flags")?;
            let flag = chain::append_event(tx, |seq| {
                Ok(AuditFlag {
                    id: Uuid::now_v7().to_string(),
                    seq,
                    scope: request.scope.clone(),
                    purpose: request.purpose,
                    reason_digest: salted_digest(&salt, reason.as_bytes()),
                    reason: Some(reason.clone()),
                    set_by: actor.clone(),
                    starts_at: whole_second(now),
                    expires_at: whole_second(request.expires_at),
                    ended_at: None,
                })
            })?;
            insert_flag(tx, OWN_FLAGS, &flag, Some(&salt))?;
            feed::append(tx, feed_of(&flag.scope), &ConfigBody::Flag(flag.clone()))?;
            queue_follows_flag(tx, &flag.scope, flag.starts_at, now)?;
            log::info!(
                "{} flag {} set ({})",
                flag.purpose,
                flag.id,
                flag.scope.kind()
            );
            Ok(flag)
        })
    }

    /// Ends a flag now, before its expiry ("expire early"; supervisors and
    /// admins): a chained `flag_end` event. From now it covers no fix, and
    /// the coordinates it kept go `audit_retention_days` after now unless
    /// another flag still holds them longer.
    pub fn end_flag(&self, actor: &Actor, flag_id: &str, now: DateTime<Utc>) -> Result<AuditFlag> {
        actor.may_supervise()?;
        let rules = self.rules();
        let now = whole_second(now);
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the audit flags")?;
            let flag = load_flag(tx, flag_id)?
                .ok_or_else(|| Error::NotFound(format!("flag {flag_id}")))?;
            if !flag.is_active(now) {
                return Err(Error::invalid("flag", "this flag is not in force"));
            }
            let end = chain::append_event(tx, |seq| {
                Ok(FlagEnd {
                    id: Uuid::now_v7().to_string(),
                    seq,
                    flag_id: flag_id.to_string(),
                    ended_at: now,
                    ended_by: actor.clone(),
                })
            })?;
            insert_end(tx, OWN_ENDS, &end)?;
            feed::append(tx, feed_of(&flag.scope), &ConfigBody::FlagEnd(end.clone()))?;
            settle_ended_flag(tx, flag_id, now, &rules)?;
            queue_follows_flag(tx, &flag.scope, now, now)?;
            log::info!("flag {flag_id} ended early");
            Ok(load_flag(tx, flag_id)?.unwrap_or(flag))
        })
    }

    /// Flags, for transparency. With `agent`: the flags that cover that
    /// agent now (their own, everyone's, and those of sites they may check
    /// in at), plus any flag under which their coordinates are still held.
    /// Agents may ask only about themselves; without `agent`, every flag
    /// (supervisors and admins).
    pub fn flags(
        &self,
        actor: &Actor,
        agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditFlag>> {
        match (actor.role, agent) {
            (Role::Agent, Some(a)) if a == actor.id => {}
            (Role::Agent, _) => {
                return Err(Error::PermissionDenied(
                    "agents may list only the flags that cover them".into(),
                ));
            }
            _ => {}
        }
        let all = self.read(all_flags)?;
        let Some(agent) = agent else {
            return Ok(all);
        };
        let sites = self.site_index()?;
        let may_use = crate::evaluation::candidate_filter(&sites, agent);
        let holding = self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT r.flag_ids FROM retained_locations r
                 JOIN attendance_events e ON e.id = r.event_id WHERE e.agent = ?1
                 UNION ALL SELECT flag_ids FROM sync_retained_locations WHERE agent = ?1",
            )?;
            let rows = stmt.query_map([agent], |r| r.get::<_, String>(0))?;
            let mut ids = std::collections::HashSet::new();
            for row in rows {
                ids.extend(row?.split(',').map(str::to_string));
            }
            Ok(ids)
        })?;
        Ok(all
            .into_iter()
            .filter(|f| {
                let covers_now = f.is_active(now)
                    && match &f.scope {
                        FlagScope::Everyone => true,
                        FlagScope::Agent(a) => a == agent,
                        FlagScope::Site(s) => sites.get(s).is_some_and(&may_use),
                    };
                covers_now || holding.contains(&f.id)
            })
            .collect())
    }
}

/// The review queue after a flag was set or ended at `since`: the days of
/// those it covers from then to now may gain or lose `flagged`.
fn queue_follows_flag(
    tx: &Transaction<'_>,
    scope: &FlagScope,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let agent = match scope {
        FlagScope::Agent(a) => Some(a.as_str()),
        FlagScope::Site(_) | FlagScope::Everyone => None,
    };
    let from = since.date_naive() - chrono::Duration::days(1);
    let to = now.date_naive() + chrono::Duration::days(1);
    queue_marks::mark(tx, agent, from, to)
}

/// What a flag's end does to the coordinates it kept, here and in what
/// devices sent (`sync_retained_locations`): a fix captured after the end
/// is no longer the flag's (deleted, unless another flag kept it too), and
/// the others go with the last of the flags that kept them. The end is
/// already stored.
pub(super) fn settle_ended_flag(
    tx: &Transaction<'_>,
    flag_id: &str,
    ended_at: DateTime<Utc>,
    rules: &Rules,
) -> Result<()> {
    for table in ["retained_locations", "sync_retained_locations"] {
        let held: Vec<(String, i64, String)> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT event_id, captured_at, flag_ids FROM {table}
                 WHERE ',' || flag_ids || ',' LIKE '%,' || ?1 || ',%'"
            ))?;
            stmt.query_map([flag_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<super::db::Result<_>>()?
        };
        for (event_id, captured_at, ids) in held {
            let ids: Vec<&str> = if captured_at > ended_at.timestamp() {
                ids.split(',').filter(|id| *id != flag_id).collect()
            } else {
                ids.split(',').collect()
            };
            let mut until: Option<DateTime<Utc>> = None;
            for id in &ids {
                if let Some(f) = load_flag(tx, id)? {
                    let t = f.retain_until(rules);
                    until = Some(until.map_or(t, |u| u.max(t)));
                }
            }
            match until {
                Some(until) if !ids.is_empty() => {
                    tx.prepare_cached(&format!(
                        "UPDATE {table} SET flag_ids = ?2,
                           retain_until = CASE WHEN retain_until < ?3 THEN retain_until ELSE ?3 END
                         WHERE event_id = ?1"
                    ))?
                    .execute((
                        &event_id,
                        ids.join(","),
                        until.timestamp(),
                    ))?;
                }
                _ => {
                    tx.prepare_cached(&format!("DELETE FROM {table} WHERE event_id = ?1"))?
                        .execute([&event_id])?;
                }
            }
        }
    }
    Ok(())
}

/// Every flag in force here (own on a server, applied on a device), in
/// seq order, ended ones included.
pub(super) fn all_flags(tx: &Transaction<'_>) -> Result<Vec<AuditFlag>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {READ_COLUMNS} FROM flags_in_force ORDER BY seq"
    ))?;
    let rows = stmt.query_map([], |r| Ok(flag_from_row(tx, r)))?;
    rows.map(|r| r?).collect()
}

/// Every flag not expired at `now` (a superset of those covering any fix
/// judged at `now` or later), in seq order: what the check-in memo keeps.
pub(super) fn unexpired_flags(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<AuditFlag>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {READ_COLUMNS} FROM flags_in_force WHERE expires_at > ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map([now.timestamp()], |r| Ok(flag_from_row(tx, r)))?;
    rows.map(|r| r?).collect()
}

/// The flags of `flags` covering a fix by `agent` judged at `now` with a
/// verdict naming `site_id` (the domain rule decides).
pub(super) fn covering(
    flags: &[AuditFlag],
    agent: &str,
    site_id: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<AuditFlag> {
    flags
        .iter()
        .filter(|f| f.covers(agent, site_id, now))
        .cloned()
        .collect()
}

pub(super) fn load_flag(tx: &Transaction<'_>, id: &str) -> Result<Option<AuditFlag>> {
    tx.prepare_cached(&format!(
        "SELECT {READ_COLUMNS} FROM flags_in_force WHERE id = ?1"
    ))?
    .query_row([id], |r| Ok(flag_from_row(tx, r)))
    .optional()?
    .transpose()
}

/// This store's own flags and their ends; what an enrolled device applied
/// of its server's (never part of the device's chain).
pub(super) const OWN_FLAGS: &str = "audit_flags";
pub(super) const APPLIED_FLAGS: &str = "applied_flags";
pub(super) const OWN_ENDS: &str = "audit_flag_ends";
pub(super) const APPLIED_ENDS: &str = "applied_flag_ends";

/// Stores a flag in `table` ([`OWN_FLAGS`] or [`APPLIED_FLAGS`]); its
/// reason and salt are `None` where they do not travel or were erased.
pub(super) fn insert_flag(
    tx: &Transaction<'_>,
    table: &str,
    flag: &AuditFlag,
    salt: Option<&[u8]>,
) -> Result<()> {
    let subject = sealing::flag_subject(&flag.scope, &flag.id);
    let reason = flag
        .reason
        .as_deref()
        .map(|r| sealing::FLAG_REASON.seal_text(tx, subject, &flag.id, r))
        .transpose()?;
    let salt = salt
        .map(|s| sealing::FLAG_SALT.seal_bytes(tx, subject, "flag", &flag.id, s))
        .transpose()?;
    tx.prepare_cached(&super::db::upsert(table, COLUMNS, "id"))?
        .execute(super::db::params![
            flag.id,
            flag.seq,
            flag.scope.kind(),
            flag.scope.id(),
            flag.purpose.as_str(),
            reason,
            salt,
            flag.reason_digest,
            flag.set_by.id,
            flag.set_by.role.as_str(),
            flag.starts_at.timestamp(),
            flag.expires_at.timestamp(),
        ])?;
    Ok(())
}

/// Stores a flag's end in `table` ([`OWN_ENDS`] or [`APPLIED_ENDS`]).
pub(super) fn insert_end(tx: &Transaction<'_>, table: &str, end: &FlagEnd) -> Result<()> {
    tx.prepare_cached(&super::db::upsert(
        table,
        "id, seq, flag_id, ended_at, actor_id, actor_role",
        "id",
    ))?
    .execute(super::db::params![
        end.id,
        end.seq,
        end.flag_id,
        end.ended_at.timestamp(),
        end.ended_by.id,
        end.ended_by.role.as_str(),
    ])?;
    Ok(())
}

const END_COLUMNS: &str = "id, seq, flag_id, ended_at, actor_id, actor_role";

fn end_from_row(r: &Row<'_>) -> Result<FlagEnd> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored flag end is unreadable: {e}"));
    let role: String = r.get(5)?;
    Ok(FlagEnd {
        id: r.get(0)?,
        seq: r.get(1)?,
        flag_id: r.get(2)?,
        ended_at: from_unix("ended_at", r.get(3)?).map_err(corrupt)?,
        ended_by: Actor::new(
            r.get::<_, String>(4)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}

/// One of this store's own flag ends.
pub(super) fn load_end(tx: &Transaction<'_>, id: &str) -> Result<Option<FlagEnd>> {
    tx.prepare_cached(&format!(
        "SELECT {END_COLUMNS} FROM {OWN_ENDS} WHERE id = ?1"
    ))?
    .query_row([id], |r| Ok(end_from_row(r)))
    .optional()?
    .transpose()
}

/// Every flag end in force (this store's own, or its server's).
pub(super) fn ends_in_force(tx: &Transaction<'_>) -> Result<Vec<FlagEnd>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {END_COLUMNS} FROM flag_ends_in_force ORDER BY seq"
    ))?;
    let rows = stmt.query_map([], |r| Ok(end_from_row(r)))?;
    rows.map(|r| r?).collect()
}

pub(super) fn end_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    Ok(load_end(tx, id)?.map(|end| (end.canonical(), None)))
}

fn flag_from_row(tx: &Transaction<'_>, r: &Row<'_>) -> Result<AuditFlag> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored flag is unreadable: {e}"));
    let scope: String = r.get(2)?;
    let purpose: String = r.get(4)?;
    let role: String = r.get(9)?;
    let id: String = r.get(0)?;
    let reason = match r.get::<_, Option<String>>(5)? {
        Some(stored) => sealing::FLAG_REASON.open_text(tx, &id, &stored)?,
        None => None,
    };
    Ok(AuditFlag {
        id,
        seq: r.get(1)?,
        scope: FlagScope::from_parts(&scope, r.get(3)?)?,
        purpose: FlagPurpose::parse("purpose", &purpose).map_err(corrupt)?,
        reason,
        reason_digest: r.get(7)?,
        set_by: Actor::new(
            r.get::<_, String>(8)?,
            Role::parse("set_by_role", &role).map_err(corrupt)?,
        ),
        starts_at: from_unix("starts_at", r.get(10)?).map_err(corrupt)?,
        expires_at: from_unix("expires_at", r.get(11)?).map_err(corrupt)?,
        ended_at: r
            .get::<_, Option<i64>>(12)?
            .map(|t| from_unix("ended_at", t))
            .transpose()
            .map_err(corrupt)?,
    })
}

pub(super) fn load_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {OWN_COLUMNS} FROM audit_flags WHERE id = ?1"
        ))?
        .query_row([id], |r| {
            Ok((flag_from_row(tx, r), r.get::<_, Option<Vec<u8>>>(6)?))
        })
        .optional()?;
    let Some((flag, salt)) = row else {
        return Ok(None);
    };
    let flag = flag?;
    let salt = match salt {
        Some(stored) => sealing::FLAG_SALT.open_bytes(tx, id, &stored)?,
        None => None,
    };
    let mismatch = match (&flag.reason, salt) {
        (Some(reason), Some(salt))
            if salted_digest(&salt, reason.as_bytes()) != flag.reason_digest =>
        {
            Some("flag reason does not match its digest (altered)".to_string())
        }
        _ => None,
    };
    Ok(Some((flag.canonical(), mismatch)))
}
