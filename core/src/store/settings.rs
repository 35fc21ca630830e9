//! Settings kept in the store's `meta` table: the rules (PRODUCT.md §3
//! defaults, tuned by admins) and other named values.

use rusqlite::{Connection, OptionalExtension};

use super::connection::Store;
use super::days;
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::types::Actor;

const RULES_KEY: &str = "rules";

impl Store {
    /// Admins tune the rules; they persist in the store.
    pub fn set_rules(&self, actor: &Actor, rules: Rules) -> Result<()> {
        actor.must_be_admin()?;
        rules.validate()?;
        let json = serde_json::to_string(&rules)?;
        let zone_changed = self.rules().time_zone != rules.time_zone;
        let zone = days::parse_zone(&rules.time_zone)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (RULES_KEY, &json),
            )?;
            // Agents without a shift count days in the default zone.
            if zone_changed {
                days::rebuild_all(tx, zone)?;
            }
            Ok(())
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
