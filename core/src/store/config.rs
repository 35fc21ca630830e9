//! Configuration across the wire (PRODUCT.md §12.2): the answer a server
//! gives a device from its feeds (`store::feed`), and a device applying
//! one.
//!
//! The server answers from the device's cursor when it knows it (each of
//! the cursor's two positions names a change it holds with that hash), and
//! otherwise with a snapshot: both feeds from their start. Either way the
//! latest change of each superseding kind carries its body and earlier
//! ones only their links, so a snapshot is the current state plus the
//! links that prove it.
//!
//! The device checks both feeds link from where it stood (the start, for a
//! snapshot) to the heads stated, then applies everything in one
//! transaction: its tables, the feed rows, the cursor, and a chained
//! `config_applied` event. A snapshot first replaces what it held.

use std::collections::BTreeSet;

use super::db::{OptionalExtension, Transaction};
use super::sealing;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::binding::bound_agent;
use super::chain::to_hash;
use super::connection::Store;
use super::{audit, chain, consent, days, feed, policy, restriction, settings, sites};
use crate::audit::{AuditFlag, FlagScope};
use crate::chain::salted_digest;
use crate::config_feed::{
    AppliedConfig, ChangeKind, CheckedChange, ConfigApplied, ConfigBody, ConfigCursor,
    ControllerPersonal, FeedHead, FlagPersonal, GLOBAL_FEED, applied_digest, check_feed,
    controller_digest,
};
use crate::error::{Error, Result};
use crate::time::{format_rfc3339, from_unix, whole_second};
use crate::types::Permission;
use crate::wire::{ConfigAnswer, ConfigChange, FeedAnswer};

impl Store {
    /// The configuration answer for a device of `agent` that last applied
    /// `after` (PRODUCT.md §12.2): the changes since, or a snapshot when it
    /// has no cursor or one this store never gave.
    pub fn config_for_device(
        &self,
        agent: &str,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ConfigAnswer> {
        self.read(|tx| {
            let start = match after.and_then(ConfigCursor::decode) {
                Some(c) if holds(tx, GLOBAL_FEED, c.global)? && holds(tx, agent, c.agent)? => {
                    Some(c)
                }
                _ => None,
            };
            let from = start.unwrap_or(ConfigCursor {
                global: FeedHead::EMPTY,
                agent: FeedHead::EMPTY,
            });
            let global = feed_answer(tx, GLOBAL_FEED, from.global.seq, false)?;
            let agent_feed = feed_answer(tx, agent, from.agent.seq, true)?;
            let cursor = ConfigCursor {
                global: feed::head(tx, GLOBAL_FEED)?,
                agent: feed::head(tx, agent)?,
            };
            Ok(ConfigAnswer {
                snapshot: start.is_none(),
                global,
                agent: agent_feed,
                cursor: cursor.encode(),
                server_time: format_rfc3339(now),
            })
        })
    }

    /// Applies a configuration answer from this device's server (see the
    /// module comment). A feed that does not link, a change about another
    /// agent, or personal text that does not match its digest fails with
    /// [`Error::ConfigFeed`] and nothing is applied.
    pub fn apply_config(&self, answer: &ConfigAnswer, now: DateTime<Utc>) -> Result<AppliedConfig> {
        self.write(|tx| apply(tx, answer, now))
    }
}

/// Whether `feed` holds the change `at` (or `at` is its start).
fn holds(tx: &Transaction<'_>, feed: &str, at: FeedHead) -> Result<bool> {
    if at.seq == 0 {
        return Ok(at == FeedHead::EMPTY);
    }
    let hash: Option<Vec<u8>> = tx
        .prepare_cached("SELECT hash FROM config_feed WHERE feed = ?1 AND seq = ?2")?
        .query_row((feed, at.seq), |r| r.get(0))
        .optional()?;
    Ok(hash.is_some_and(|h| h[..] == at.hash[..]))
}

/// One feed's changes after `after`, the latest of each superseding kind
/// with its body, and the personal text that goes beside (reasons only on
/// an agent's own feed).
fn feed_answer(
    tx: &Transaction<'_>,
    feed: &str,
    after: i64,
    agent_feed: bool,
) -> Result<FeedAnswer> {
    struct Row {
        seq: i64,
        kind: String,
        body: Option<String>,
        prev_hash: Vec<u8>,
        hash: Vec<u8>,
    }
    let rows: Vec<Row> = {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, kind, body, prev_hash, hash FROM config_feed
             WHERE feed = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        stmt.query_map((feed, after), |r| {
            Ok(Row {
                seq: r.get(0)?,
                kind: r.get(1)?,
                body: r.get(2)?,
                prev_hash: r.get(3)?,
                hash: r.get(4)?,
            })
        })?
        .collect::<super::db::Result<_>>()?
    };
    let mut latest_seen = BTreeSet::new();
    let mut changes = Vec::with_capacity(rows.len());
    for Row {
        seq,
        kind: kind_text,
        body,
        prev_hash,
        hash,
    } in rows.into_iter().rev()
    {
        let kind =
            ChangeKind::parse("kind", &kind_text).map_err(|e| Error::Corrupt(e.to_string()))?;
        let latest = latest_seen.insert(kind);
        let body = if kind.supersedes() && !latest {
            None
        } else {
            body
        };
        let personal = match (&body, kind) {
            (Some(text), ChangeKind::Flag) if agent_feed => flag_personal(tx, text)?,
            (Some(_), ChangeKind::Controller) => controller_personal(tx)?,
            _ => None,
        };
        changes.push(ConfigChange {
            seq,
            kind: kind_text,
            body,
            prev_hash: hex::encode(prev_hash),
            hash: hex::encode(hash),
            personal,
        });
    }
    changes.reverse();
    Ok(FeedAnswer {
        changes,
        head: feed::head(tx, feed)?.to_wire(),
    })
}

/// A flag's reason and salt as this store holds them (none once erased).
fn flag_personal(tx: &Transaction<'_>, body: &str) -> Result<Option<Value>> {
    let id = serde_json::from_str::<Value>(body)?
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Corrupt("a flag change names no flag".into()))?;
    let row: Option<(Option<String>, Option<Vec<u8>>)> = tx
        .prepare_cached("SELECT reason, reason_salt FROM audit_flags WHERE id = ?1")?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((Some(reason), Some(salt))) = row else {
        return Ok(None);
    };
    let reason = sealing::FLAG_REASON.open_text(tx, &id, &reason)?;
    let salt = sealing::FLAG_SALT.open_bytes(tx, &id, &salt)?;
    Ok(match (reason, salt) {
        (Some(reason), Some(salt)) => Some(serde_json::to_value(FlagPersonal {
            reason,
            salt: hex::encode(salt),
        })?),
        _ => None,
    })
}

fn controller_personal(tx: &Transaction<'_>) -> Result<Option<Value>> {
    Ok(match policy::stored_controller(tx)? {
        Some((controller, salt)) => Some(serde_json::to_value(ControllerPersonal {
            controller,
            salt: hex::encode(salt),
        })?),
        None => None,
    })
}

fn apply(tx: &Transaction<'_>, answer: &ConfigAnswer, now: DateTime<Utc>) -> Result<AppliedConfig> {
    let agent = bound_agent(tx)?.ok_or_else(|| {
        Error::invalid(
            "server",
            "this store is not enrolled with a server (run `fieldcheck device enrol`)",
        )
    })?;
    let (from_global, from_agent) = if answer.snapshot {
        (FeedHead::EMPTY, FeedHead::EMPTY)
    } else {
        (feed::head(tx, GLOBAL_FEED)?, feed::head(tx, &agent)?)
    };
    let global = check_feed("global", from_global, &answer.global)?;
    let own = check_feed("agent", from_agent, &answer.agent)?;
    // A snapshot of exactly what is already in force (the same heads)
    // changes nothing, and chains nothing.
    let configured: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM config_state)", [], |r| {
        r.get(0)
    })?;
    let stated = |feed: &crate::wire::FeedAnswer| {
        crate::config_feed::decode_hash(&feed.head.hash).map(|hash| FeedHead {
            seq: feed.head.seq,
            hash,
        })
    };
    if answer.snapshot
        && configured
        && stated(&answer.global) == Some(feed::head(tx, GLOBAL_FEED)?)
        && stated(&answer.agent) == Some(feed::head(tx, &agent)?)
    {
        tx.execute(
            "UPDATE server_link SET config_cursor = ?1",
            [&answer.cursor],
        )?;
        return standing(
            tx,
            &agent,
            AppliedConfig {
                cursor: answer.cursor.clone(),
                ..AppliedConfig::default()
            },
        );
    }
    for change in &global {
        check_global(change)?;
    }
    for change in &own {
        check_own(change, &agent)?;
    }
    if ConfigCursor::decode(&answer.cursor).is_none() {
        return Err(Error::ConfigFeed(
            "the server's configuration cursor is not one this build reads".into(),
        ));
    }

    // From here on the server's configuration is the one in force (the
    // `*_in_force` views read the applied tables).
    tx.execute(
        "INSERT INTO config_state (singleton, applied_at) VALUES (1, ?1) ON CONFLICT DO NOTHING",
        [now.timestamp()],
    )?;
    if answer.snapshot {
        forget_applied(tx)?;
    }
    let mut kinds = BTreeSet::new();
    for (feed_name, changes) in [(GLOBAL_FEED, &global), (agent.as_str(), &own)] {
        for change in changes {
            if let Some(body) = &change.body {
                apply_change(tx, body, change.personal.as_ref(), now)?;
                kinds.insert(change.kind);
            }
            tx.prepare_cached(&super::db::upsert(
                "config_feed",
                "feed, seq, kind, body, prev_hash, hash",
                "feed, seq",
            ))?
            .execute(super::db::params![
                feed_name,
                change.seq,
                change.kind.as_str(),
                change.text,
                &change.prev_hash[..],
                &change.hash[..],
            ])?;
        }
    }
    if answer.snapshot {
        // Zones may have changed for everyone: count every day again.
        let rules = settings::stored_rules(tx)?.unwrap_or_default();
        days::rebuild_all(tx, days::parse_zone(&rules.time_zone)?)?;
    }
    tx.execute(
        "UPDATE server_link SET config_cursor = ?1",
        [&answer.cursor],
    )?;

    let count = (global.len() + own.len()) as u64;
    if answer.snapshot || count > 0 {
        let digest = applied_digest(
            global
                .iter()
                .map(|c| (GLOBAL_FEED, c))
                .chain(own.iter().map(|c| ("agent", c))),
        );
        let event = chain::append_event(tx, |seq| {
            Ok(ConfigApplied {
                id: Uuid::now_v7().to_string(),
                seq,
                agent: agent.clone(),
                cursor: answer.cursor.clone(),
                digest,
                changes: count,
                reset: answer.snapshot,
                at: whole_second(now),
            })
        })?;
        tx.prepare_cached(
            "INSERT INTO config_applied (id, seq, agent, cursor, digest, changes, reset, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(super::db::params![
            event.id,
            event.seq,
            event.agent,
            event.cursor,
            event.digest,
            event.changes as i64,
            event.reset,
            event.at.timestamp(),
        ])?;
        log::info!(
            "configuration applied: {count} change(s){}",
            if answer.snapshot { " (snapshot)" } else { "" }
        );
    }

    standing(
        tx,
        &agent,
        AppliedConfig {
            changes: count,
            kinds: kinds.into_iter().collect(),
            reset: answer.snapshot,
            cursor: answer.cursor.clone(),
            ..AppliedConfig::default()
        },
    )
}

/// `applied`, with where the agent now stands: renewal of location
/// consent required, restricted.
fn standing(tx: &Transaction<'_>, agent: &str, applied: AppliedConfig) -> Result<AppliedConfig> {
    let location = consent::latest(tx, agent, Permission::Location)?.filter(|e| e.granted);
    let consent_renewal_required = match &location {
        Some(entry) => policy::renewal_required(tx, &entry.policy_version)?,
        None => false,
    };
    Ok(AppliedConfig {
        consent_renewal_required,
        restricted: restriction::is_restricted(tx, agent)?,
        ..applied
    })
}

fn misplaced(change: &CheckedChange, why: &str) -> Error {
    Error::ConfigFeed(format!(
        "configuration change {} ({}) {why}; nothing was applied",
        change.seq, change.kind
    ))
}

/// The global feed carries nothing about one agent.
fn check_global(change: &CheckedChange) -> Result<()> {
    match &change.body {
        Some(ConfigBody::Shift(_) | ConfigBody::Restriction(_)) => Err(misplaced(
            change,
            "belongs on an agent's feed, not the global one",
        )),
        Some(ConfigBody::Flag(f)) if matches!(f.scope, FlagScope::Agent(_)) => Err(misplaced(
            change,
            "is a flag on one agent on the global feed",
        )),
        _ => Ok(()),
    }
}

/// An agent's feed carries only what concerns that agent.
fn check_own(change: &CheckedChange, agent: &str) -> Result<()> {
    let about_agent = match &change.body {
        None => true,
        Some(ConfigBody::Shift(rows)) => rows.agent == agent,
        Some(ConfigBody::Restriction(r)) => r.subject == agent,
        Some(ConfigBody::Flag(f)) => f.scope == FlagScope::Agent(agent.to_string()),
        Some(ConfigBody::FlagEnd(_)) => true,
        Some(_) => false,
    };
    if about_agent {
        Ok(())
    } else {
        Err(misplaced(change, &format!("is not about agent {agent}")))
    }
}

/// Forgets the configuration applied so far (a snapshot replaces it).
fn forget_applied(tx: &Transaction<'_>) -> Result<()> {
    for table in [
        "config_feed",
        "applied_flag_ends",
        "applied_flags",
        "applied_policy_versions",
        "applied_restrictions",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    sites::replace_all(tx, &[], 0)?;
    settings::clear_rules(tx)?;
    policy::write_controller(tx, None)?;
    days::clear_shifts(tx)?;
    Ok(())
}

fn apply_change(
    tx: &Transaction<'_>,
    body: &ConfigBody,
    personal: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<()> {
    let rules = settings::stored_rules(tx)?.unwrap_or_default();
    match body {
        ConfigBody::Sites(rows) => sites::replace_all(tx, rows, now.timestamp())?,
        ConfigBody::Rules(new) => settings::write_rules(tx, new, new.time_zone != rules.time_zone)?,
        ConfigBody::Controller(digest) => {
            let personal: ControllerPersonal = personal
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .ok()
                .flatten()
                .ok_or_else(|| {
                    Error::ConfigFeed("the receipts' controller came without its values".into())
                })?;
            let salt = hex::decode(&personal.salt).unwrap_or_default();
            if controller_digest(&personal.controller, &salt) != *digest {
                return Err(Error::ConfigFeed(
                    "the receipts' controller does not match its digest; nothing was applied"
                        .into(),
                ));
            }
            personal.controller.validate()?;
            policy::write_controller(tx, Some((&personal.controller, &salt)))?;
        }
        ConfigBody::Policy(p) => policy::insert_policy(tx, policy::APPLIED_POLICIES, p)?,
        ConfigBody::Flag(f) => {
            let (reason, salt) = match personal.filter(|_| matches!(f.scope, FlagScope::Agent(_))) {
                None => (None, None),
                Some(value) => {
                    let p: FlagPersonal = serde_json::from_value(value.clone()).map_err(|e| {
                        Error::ConfigFeed(format!("flag {}: its reason is unreadable: {e}", f.id))
                    })?;
                    let salt = hex::decode(&p.salt).unwrap_or_default();
                    if salted_digest(&salt, p.reason.as_bytes()) != f.reason_digest {
                        return Err(Error::ConfigFeed(format!(
                            "flag {}: its reason does not match its digest; nothing was applied",
                            f.id
                        )));
                    }
                    (Some(p.reason), Some(salt))
                }
            };
            let flag = AuditFlag {
                reason,
                ..f.clone()
            };
            audit::insert_flag(tx, audit::APPLIED_FLAGS, &flag, salt.as_deref())?;
        }
        ConfigBody::FlagEnd(end) => {
            audit::insert_end(tx, audit::APPLIED_ENDS, end)?;
            // What the phone kept under the flag after its end is no
            // longer the flag's (PRODUCT.md §12.2).
            audit::settle_ended_flag(tx, &end.flag_id, end.ended_at, &rules)?;
        }
        ConfigBody::Shift(rows) => {
            days::replace_shift(tx, rows, days::parse_zone(&rules.time_zone)?)?;
        }
        ConfigBody::Restriction(r) => {
            restriction::insert_restriction(tx, restriction::APPLIED_RESTRICTIONS, r)?
        }
    }
    Ok(())
}

/// The `config_applied` event `id` for `verify`.
pub(super) fn applied_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let read = |r: &super::db::Row<'_>| -> Result<ConfigApplied> {
        Ok(ConfigApplied {
            id: r.get(0)?,
            seq: r.get(1)?,
            agent: r.get(2)?,
            cursor: r.get(3)?,
            digest: r.get(4)?,
            changes: u64::try_from(r.get::<_, i64>(5)?)
                .map_err(|_| Error::Corrupt("negative change count".into()))?,
            reset: r.get(6)?,
            at: from_unix("at", r.get(7)?)?,
        })
    };
    let applied = tx
        .prepare_cached(
            "SELECT id, seq, agent, cursor, digest, changes, reset, at FROM config_applied
             WHERE id = ?1",
        )?
        .query_row([id], |r| Ok(read(r)))
        .optional()?
        .transpose()?;
    Ok(applied.map(|a| (a.canonical(), None)))
}

/// What the feeds say the configuration is, against what this store's
/// tables in force hold (PRODUCT.md §12.2, the server's verify): the first
/// difference as (table, row, problem), or `None`. Each feed must also
/// link from its start.
pub(super) fn feeds_disagree(tx: &Transaction<'_>) -> Result<Option<(String, String, String)>> {
    let feeds: Vec<String> = {
        let mut stmt = tx.prepare("SELECT DISTINCT feed FROM config_feed ORDER BY feed")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<super::db::Result<_>>()?
    };
    let mut state = FeedState::default();
    for name in &feeds {
        let label = if name.is_empty() {
            "global".to_string()
        } else {
            format!("agent {name}")
        };
        let mut stmt = tx.prepare_cached(
            "SELECT seq, kind, body, prev_hash, hash FROM config_feed WHERE feed = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([name])?;
        let mut at = FeedHead::EMPTY;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let body: Option<String> = r.get(2)?;
            let prev = to_hash(&r.get::<_, Vec<u8>>(3)?)?;
            let hash = to_hash(&r.get::<_, Vec<u8>>(4)?)?;
            let row = format!("{label} feed, change {seq}");
            let broken = |why: &str| {
                Ok(Some((
                    "config_feed".to_string(),
                    row.clone(),
                    why.to_string(),
                )))
            };
            if seq != at.seq + 1 {
                return broken(&format!("change {} is missing", at.seq + 1));
            }
            if prev != at.hash {
                return broken("does not link to the change before it");
            }
            if let Some(text) = &body {
                if crate::chain::link(&prev, text.as_bytes()) != hash {
                    return broken("its body does not match its hash (altered)");
                }
                let kind = match ChangeKind::parse("kind", &kind) {
                    Ok(k) => k,
                    Err(_) => return broken("of an unknown kind"),
                };
                match ConfigBody::decode(kind, text) {
                    Ok(decoded) => state.fold(name, decoded),
                    Err(e) => return broken(&e.to_string()),
                }
            }
            at = FeedHead { seq, hash };
        }
    }
    state.compare(tx)
}

/// The configuration the feeds describe.
#[derive(Default)]
struct FeedState {
    sites: Option<Vec<crate::config_feed::SiteRow>>,
    rules: Option<crate::rules::Rules>,
    controller: Option<String>,
    policies: Vec<Vec<u8>>,
    flags: Vec<Vec<u8>>,
    flag_ends: Vec<Vec<u8>>,
    shifts: std::collections::BTreeMap<String, crate::config_feed::ShiftRows>,
    restrictions: std::collections::BTreeMap<String, Vec<u8>>,
}

impl FeedState {
    fn fold(&mut self, feed_name: &str, body: ConfigBody) {
        match body {
            ConfigBody::Sites(rows) => self.sites = Some(rows),
            ConfigBody::Rules(rules) => self.rules = Some(rules),
            ConfigBody::Controller(digest) => self.controller = Some(digest),
            ConfigBody::Policy(p) => self.policies.push(p.canonical()),
            ConfigBody::Flag(f) => self.flags.push(f.canonical()),
            ConfigBody::FlagEnd(e) => self.flag_ends.push(e.canonical()),
            ConfigBody::Shift(rows) => {
                self.shifts.insert(feed_name.to_string(), rows);
            }
            ConfigBody::Restriction(r) => {
                self.restrictions.insert(r.subject.clone(), r.canonical());
            }
        }
    }

    fn compare(self, tx: &Transaction<'_>) -> Result<Option<(String, String, String)>> {
        let differ = |table: &str, row: &str, what: &str| {
            Ok(Some((
                table.to_string(),
                row.to_string(),
                format!("differs from what the configuration feeds say ({what})"),
            )))
        };
        let sites = sites::site_rows(tx)?;
        if sites != self.sites.unwrap_or_default() {
            return differ("sites", "*", "the site list");
        }
        if settings::stored_rules(tx)? != self.rules {
            return differ("meta", "rules", "the rules");
        }
        let controller =
            policy::stored_controller(tx)?.map(|(ctx, salt)| controller_digest(&ctx, &salt));
        if controller != self.controller {
            return differ("meta", "receipt_controller", "the receipts' controller");
        }
        let canon = |sql: &str,
                     f: &dyn Fn(&super::db::Row<'_>) -> Result<Vec<u8>>|
         -> Result<Vec<Vec<u8>>> {
            let mut stmt = tx.prepare(sql)?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(f(&r)?);
            }
            out.sort();
            Ok(out)
        };
        let mut expected = self.policies;
        expected.sort();
        if canon("SELECT id FROM policies_in_force", &|r| {
            policy_canonical(tx, &r.get::<_, String>(0)?)
        })? != expected
        {
            return differ("policy_versions", "*", "the privacy-policy versions");
        }
        let mut expected = self.flags;
        expected.sort();
        if canon("SELECT id FROM flags_in_force", &|r| {
            Ok(audit::load_flag(tx, &r.get::<_, String>(0)?)?
                .map(|f| f.canonical())
                .unwrap_or_default())
        })? != expected
        {
            return differ("audit_flags", "*", "the audit flags");
        }
        let mut expected = self.flag_ends;
        expected.sort();
        let mut ends: Vec<Vec<u8>> = audit::ends_in_force(tx)?
            .iter()
            .map(|e| e.canonical())
            .collect();
        ends.sort();
        if ends != expected {
            return differ("audit_flag_ends", "*", "the ends of flags");
        }
        let agents = days::agents_with_shifts(tx)?;
        for agent in agents.iter().chain(self.shifts.keys()) {
            if days::shift_rows(tx, agent)?.as_ref() != self.shifts.get(agent) {
                return differ("shifts", agent, &format!("the shift of agent {agent}"));
            }
        }
        for (subject, expected) in &self.restrictions {
            let latest: Option<String> = tx
                .prepare_cached(
                    "SELECT id FROM restrictions_in_force WHERE subject = ?1 ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([subject], |r| r.get(0))
                .optional()?;
            let stored = match latest {
                Some(id) => {
                    restriction::load_entry_from(tx, restriction::RESTRICTIONS_IN_FORCE, &id)?
                        .map(|e| e.canonical())
                }
                None => None,
            };
            if stored.as_ref() != Some(expected) {
                return differ(
                    "restriction_log",
                    subject,
                    &format!("the restriction of {subject}"),
                );
            }
        }
        Ok(None)
    }
}

fn policy_canonical(tx: &Transaction<'_>, id: &str) -> Result<Vec<u8>> {
    Ok(policy::published(tx)?
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.canonical())
        .unwrap_or_default())
}

/// The configuration feeds of a store written before v11, derived from
/// what it holds (the v11 upgrade): one change per current setting, in a
/// fixed order, so `verify` finds tables and feeds in agreement.
pub(super) fn derive_feeds(tx: &Transaction<'_>) -> Result<()> {
    let sites = sites::site_rows(tx)?;
    if !sites.is_empty() {
        feed::append_global(tx, &ConfigBody::Sites(sites))?;
    }
    if let Some(rules) = settings::stored_rules(tx)? {
        feed::append_global(tx, &ConfigBody::Rules(rules))?;
    }
    if let Some((ctx, salt)) = policy::stored_controller(tx)? {
        // Settings stored before v11 have no salt yet.
        let salt = if salt.is_empty() {
            crate::chain::new_salt().to_vec()
        } else {
            salt
        };
        policy::write_controller(tx, Some((&ctx, &salt)))?;
        feed::append_global(tx, &ConfigBody::Controller(controller_digest(&ctx, &salt)))?;
    }
    // The chained kinds in chain order, each on its feed.
    let mut stmt = tx.prepare(
        "SELECT event_type, event_id FROM ledger
         WHERE event_type IN ('policy', 'flag', 'flag_end', 'restriction') ORDER BY seq",
    )?;
    let events: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<super::db::Result<_>>()?;
    for (event_type, id) in events {
        match event_type.as_str() {
            "policy" => {
                if let Some(p) = policy::published(tx)?.into_iter().find(|p| p.id == id) {
                    feed::append_global(tx, &ConfigBody::Policy(p))?;
                }
            }
            "flag" => {
                if let Some(f) = audit::load_flag(tx, &id)? {
                    let mut f = f;
                    f.reason = None;
                    f.ended_at = None;
                    feed::append(tx, audit::feed_of(&f.scope), &ConfigBody::Flag(f.clone()))?;
                }
            }
            "flag_end" => {
                if let Some(end) = audit::load_end(tx, &id)?
                    && let Some(flag) = audit::load_flag(tx, &end.flag_id)?
                {
                    feed::append(tx, audit::feed_of(&flag.scope), &ConfigBody::FlagEnd(end))?;
                }
            }
            _ => {
                if let Some(entry) = restriction::load_entry(tx, &id)?
                    && !restriction::is_known_lead(tx, &entry.subject)?
                {
                    let subject = entry.subject.clone();
                    feed::append(tx, &subject, &ConfigBody::Restriction(entry))?;
                }
            }
        }
    }
    for agent in days::agents_with_shifts(tx)? {
        if let Some(rows) = days::shift_rows(tx, &agent)? {
            feed::append(tx, &agent, &ConfigBody::Shift(rows))?;
        }
    }
    Ok(())
}
