//! Settings kept in the store's `meta` table: the rules (PRODUCT.md §3
//! defaults, tuned by admins) and other named values.

use super::db::{OptionalExtension, Transaction};

use super::connection::Store;
use super::{days, feed};
use crate::config_feed::ConfigBody;
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::types::Actor;

const RULES_KEY: &str = "rules";

impl Store {
    /// The rules in force, as the store holds them now (another process may
    /// have changed them); the last ones read if the store cannot be read.
    pub fn rules(&self) -> Rules {
        self.read(|tx| self.rules_in(tx)).unwrap_or_else(|_| {
            self.rules
                .read()
                .map(|r| r.1.clone())
                .unwrap_or_else(|poisoned| poisoned.into_inner().1.clone())
        })
    }

    /// The rules as `tx` sees them, from the cache while no process has
    /// changed the configuration since it was filled.
    pub(super) fn rules_in(&self, tx: &Transaction<'_>) -> Result<Rules> {
        let version = config_version(tx)?;
        if let Ok(slot) = self.rules.read()
            && slot.0 == version
        {
            return Ok(slot.1.clone());
        }
        let rules = stored_rules(tx)?.unwrap_or_default();
        if let Ok(mut slot) = self.rules.write() {
            *slot = (version, rules.clone());
        }
        Ok(rules)
    }

    /// Admins tune the rules; they persist in the store.
    pub fn set_rules(&self, actor: &Actor, rules: Rules) -> Result<()> {
        actor.must_be_admin()?;
        rules.validate()?;
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the rules")?;
            let before = stored_rules(tx)?.unwrap_or_default();
            write_rules(tx, &rules, before.time_zone != rules.time_zone)?;
            feed::append_global(tx, &ConfigBody::Rules(rules.clone()))
        })
    }

    /// Reads a value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
    }

    /// Writes a value into the `meta` table (admin only).
    pub fn set_meta(&self, actor: &Actor, key: &str, value: &str) -> Result<()> {
        actor.must_be_admin()?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )?;
            Ok(())
        })
    }
}

/// The version of the sites and rules: every change of either moves it in
/// its own transaction, so that a process (a server instance, the CLI
/// beside a running server) whose caches were read at another version
/// reads them again (`Store::rules_in`, `Store::site_index_in`).
pub(super) fn config_version(tx: &Transaction<'_>) -> Result<i64> {
    Ok(tx
        .prepare_cached("SELECT version FROM config_version WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// Moves [`config_version`] on, in the transaction that changes the sites
/// or the rules.
pub(super) fn bump_config_version(tx: &Transaction<'_>) -> Result<()> {
    tx.prepare_cached("UPDATE config_version SET version = version + 1 WHERE id = 1")?
        .execute([])?;
    Ok(())
}

/// Stores `rules` (and recomputes the days of agents without a shift when
/// the default zone changed), in the caller's transaction; `None` goes
/// back to the defaults.
pub(super) fn write_rules(tx: &Transaction<'_>, rules: &Rules, zone_changed: bool) -> Result<()> {
    bump_config_version(tx)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (RULES_KEY, serde_json::to_string(rules)?),
    )?;
    // Every day's lateness and zone may have changed: the review queue is
    // built again by its next advance.
    super::queue_marks::invalidate(tx)?;
    // Agents without a shift count days in the default zone.
    if zone_changed {
        days::rebuild_all(tx, days::parse_zone(&rules.time_zone)?)?;
    }
    Ok(())
}

/// The rules as stored, `None` when never set (the defaults apply).
pub(super) fn stored_rules(tx: &Transaction<'_>) -> Result<Option<Rules>> {
    let json: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([RULES_KEY], |r| r.get(0))
        .optional()?;
    json.map(|text| {
        serde_json::from_str(&text)
            .map_err(|e| Error::Corrupt(format!("stored rules are unreadable: {e}")))
    })
    .transpose()
}

/// Back to the default rules (a device's server has none set).
pub(super) fn clear_rules(tx: &Transaction<'_>) -> Result<()> {
    bump_config_version(tx)?;
    tx.execute("DELETE FROM meta WHERE key = ?1", [RULES_KEY])?;
    Ok(())
}

/// The stored rules, or the defaults when none are set.
pub(super) fn load_rules(tx: &Transaction<'_>) -> Result<Rules> {
    Ok(stored_rules(tx)?.unwrap_or_default())
}
