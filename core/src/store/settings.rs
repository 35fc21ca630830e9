//! Settings kept in the store's `meta` table: the rules (PRODUCT.md §3
//! defaults, tuned by admins) and other named values.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::connection::Store;
use super::{days, feed};
use crate::config_feed::ConfigBody;
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::types::Actor;

const RULES_KEY: &str = "rules";

impl Store {
    /// Admins tune the rules; they persist in the store.
    pub fn set_rules(&self, actor: &Actor, rules: Rules) -> Result<()> {
        actor.must_be_admin()?;
        rules.validate()?;
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the rules")?;
            let before = stored_rules(tx)?.unwrap_or_default();
            write_rules(tx, &rules, before.time_zone != rules.time_zone)?;
            feed::append_global(tx, &ConfigBody::Rules(rules.clone()))
        })?;
        if let Ok(mut slot) = self.rules.write() {
            *slot = rules;
        }
        Ok(())
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

/// Stores `rules` (and recomputes the days of agents without a shift when
/// the default zone changed), in the caller's transaction; `None` goes
/// back to the defaults. The caller refreshes [`Store::rules`] after the
/// commit (`Store::reload_rules`).
pub(super) fn write_rules(tx: &Transaction<'_>, rules: &Rules, zone_changed: bool) -> Result<()> {
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
    tx.execute("DELETE FROM meta WHERE key = ?1", [RULES_KEY])?;
    Ok(())
}

impl Store {
    /// Reads the rules again after a transaction that changed them.
    pub(super) fn reload_rules(&self) -> Result<()> {
        let rules = self.read(|tx| Ok(stored_rules(tx)?.unwrap_or_default()))?;
        if let Ok(mut slot) = self.rules.write() {
            *slot = rules;
        }
        Ok(())
    }
}

pub(super) fn load_rules(conn: &Connection) -> Result<Rules> {
    let json: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [RULES_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    match json {
        None => Ok(Rules::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| Error::Corrupt(format!("stored rules are unreadable: {e}"))),
    }
}
