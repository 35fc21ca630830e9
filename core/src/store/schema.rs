//! Schema version, creation and upgrades (the application-services pattern:
//! one constant for the version, one script per upgrade step).

use rusqlite::{Connection, TransactionBehavior};

use super::db::{OptionalExtension, Transaction};

use crate::error::{Error, Result};
use crate::rules::Rules;

use super::{config, days, synced};

/// Bump together with a new `UPGRADES` entry.
pub const VERSION: u32 = 14;

/// The version `sql/create.sql` creates; a new store then runs the upgrade
/// scripts above it, so each later table is written down once.
const CREATE_VERSION: u32 = 3;

/// `PRAGMA application_id`: "FCK1". Tells our files from other SQLite files.
pub const APPLICATION_ID: i32 = 0x4643_4b31;

const CREATE: &str = include_str!("sql/create.sql");

/// (version reached, script). Applied in order inside one transaction.
const UPGRADES: &[(u32, &str)] = &[
    (2, include_str!("sql/upgrade_v2.sql")),
    (3, include_str!("sql/upgrade_v3.sql")),
    (4, include_str!("sql/upgrade_v4.sql")),
    (5, include_str!("sql/upgrade_v5.sql")),
    (6, include_str!("sql/upgrade_v6.sql")),
    (7, include_str!("sql/upgrade_v7.sql")),
    (8, include_str!("sql/upgrade_v8.sql")),
    (9, include_str!("sql/upgrade_v9.sql")),
    (10, include_str!("sql/upgrade_v10.sql")),
    (11, include_str!("sql/upgrade_v11.sql")),
    (12, include_str!("sql/upgrade_v12.sql")),
    (13, include_str!("sql/upgrade_v13.sql")),
    (14, include_str!("sql/upgrade_v14.sql")),
];

/// Creates a new store or upgrades an older one. A file that is not ours,
/// or from a newer build, is refused and left untouched. Returns the version
/// an existing store was upgraded from.
pub(crate) fn init(conn: &mut Connection) -> Result<Option<u32>> {
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let has_tables: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master)", [], |r| {
            r.get(0)
        })?;

    if app_id == 0 && version == 0 && !has_tables {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(CREATE)?;
        for (reached, script) in UPGRADES {
            if *reached > CREATE_VERSION {
                tx.execute_batch(script)?;
            }
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", VERSION)?;
        tx.commit()?;
        return Ok(None);
    }
    if app_id != APPLICATION_ID {
        return Err(Error::Corrupt(
            "an SQLite file that is not a fieldcheck store".into(),
        ));
    }
    if version > VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: VERSION,
        });
    }
    if version < VERSION {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        for (reached, script) in UPGRADES {
            if *reached > version {
                log::info!("upgrading store schema to v{reached}");
                tx.execute_batch(script)?;
            }
        }
        // Data the new tables derive from the old ones lands in the same
        // transaction as the version bump: a crash or error anywhere leaves
        // the store at its old version, and the next open upgrades again.
        derive(&Transaction::sqlite(&tx, None), version)?;
        tx.pragma_update(None, "user_version", VERSION)?;
        tx.commit()?;
        return Ok(Some(version));
    }
    Ok(None)
}

/// Fills the derived tables an upgrade from `from` introduced.
fn derive(tx: &Transaction<'_>, from: u32) -> Result<()> {
    if from < 4 {
        // v4 brought the per-day summary: fold every stored event into it,
        // counting days in the zone the stored rules name.
        let rules: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'rules'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let rules = match rules {
            None => Rules::default(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Error::Corrupt(format!("stored rules are unreadable: {e}")))?,
        };
        days::rebuild_all(tx, days::parse_zone(&rules.time_zone)?)?;
    }
    if from < 10 {
        // v10 folds imported lead activity, transactions and reviews.
        synced::rebuild_all(tx)?;
    }
    if from < 11 {
        // v11 brought the configuration feeds: one change per setting a
        // store already holds.
        config::derive_feeds(tx)?;
        synced::index_all_subjects(tx)?;
    }
    // v12's review queue index is built by the server's first `advance`
    // (it needs the server's clock): no `queue_settled_through` yet means
    // "build it whole".
    #[cfg(test)]
    if fail_derive::ARMED.with(|armed| armed.get()) {
        return Err(Error::Io(std::io::Error::other(
            "injected failure after the backfill",
        )));
    }
    Ok(())
}

/// Takes a current store back to v13: everything v14 added, removed.
#[cfg(test)]
pub(crate) const UNDO_V14: &str = "
    DROP TABLE key_epochs; DROP TABLE data_keys; DROP TABLE key_rotations;
    ALTER TABLE retained_locations DROP COLUMN sealed;
    ALTER TABLE sync_retained_locations DROP COLUMN sealed;
    PRAGMA user_version = 13;";

/// Takes a current store back to v12: everything v13 and v14 added, removed.
#[cfg(test)]
pub(crate) const UNDO_V13: &str = "
    DROP TABLE key_epochs; DROP TABLE data_keys; DROP TABLE key_rotations;
    ALTER TABLE retained_locations DROP COLUMN sealed;
    ALTER TABLE sync_retained_locations DROP COLUMN sealed;
    DROP TABLE config_version; DROP TABLE sign_in_failures; DROP TABLE sign_in_locks;
    DELETE FROM meta WHERE key = 'sign_in_salt';
    PRAGMA user_version = 12;";

/// Takes a current store back to v11: everything v12 added, removed
/// (after [`UNDO_V13`]).
#[cfg(test)]
pub(crate) const UNDO_V12: &str = "
    DROP TABLE agent_names; DROP TABLE queue_days; DROP TABLE queue_tally;
    DROP TABLE queue_dirty; DROP INDEX sync_attendance_by_agent_time;
    ALTER TABLE console_sessions DROP COLUMN notice;
    DELETE FROM meta WHERE key IN ('queue_settled_through', 'queue_advanced_at');
    PRAGMA user_version = 11;";

/// Takes a current store back to v10 (tests of the v11 upgrade and of
/// earlier ones that rewind further): everything v11 added, removed.
#[cfg(test)]
pub(crate) const UNDO_V11: &str = "
    DROP VIEW flags_in_force; DROP VIEW flag_ends_in_force; DROP VIEW policies_in_force;
    DROP VIEW restrictions_in_force;
    DROP TABLE config_feed; DROP TABLE config_state; DROP TABLE applied_flags;
    DROP TABLE applied_flag_ends; DROP TABLE applied_policy_versions;
    DROP TABLE applied_restrictions; DROP TABLE config_applied;
    DROP TABLE sync_retained_locations; DROP TABLE sync_subjects; DROP TABLE verify_status;
    ALTER TABLE server_link DROP COLUMN config_cursor;
    ALTER TABLE sync_events DROP COLUMN purged_at;
    ALTER TABLE sync_devices DROP COLUMN verified_seq;
    ALTER TABLE sync_devices DROP COLUMN verified_at;
    DELETE FROM meta WHERE key IN ('receipt_controller_salt', 'server_since');
    PRAGMA user_version = 10;";

/// Test hook: makes the next upgrade fail after its derived data is written
/// (on this thread), to prove the upgrade is one transaction.
#[cfg(test)]
pub(crate) mod fail_derive {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static ARMED: Cell<bool> = const { Cell::new(false) };
    }

    pub(crate) fn arm(on: bool) {
        ARMED.with(|armed| armed.set(on));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns and indexes of every table, in a comparable form.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut tables = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names: Vec<String> = tables
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for table in names {
            let mut cols = conn
                .prepare(&format!("PRAGMA table_xinfo({table})"))
                .unwrap();
            let rows = cols
                .query_map([], |r| {
                    Ok(format!(
                        "{table}.{}:{}:notnull={}:pk={}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap();
            for row in rows {
                out.push(row.unwrap());
            }
        }
        let mut idx = conn
            .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap();
        for row in idx
            .query_map([], |r| {
                Ok(format!(
                    "index {} on {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ))
            })
            .unwrap()
        {
            out.push(row.unwrap());
        }
        out
    }

    #[test]
    fn upgrade_from_frozen_v1_reaches_the_created_schema() {
        let mut upgraded = Connection::open_in_memory().unwrap();
        upgraded
            .execute_batch(include_str!("../../tests/data/schema_v1.sql"))
            .unwrap();
        upgraded
            .pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        upgraded.pragma_update(None, "user_version", 1).unwrap();
        init(&mut upgraded).unwrap();

        let mut fresh = Connection::open_in_memory().unwrap();
        init(&mut fresh).unwrap();
        assert_eq!(shape(&upgraded), shape(&fresh));
        let v: u32 = upgraded
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
    }

    #[test]
    fn foreign_and_newer_files_are_refused() {
        let mut other = Connection::open_in_memory().unwrap();
        other.execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(matches!(init(&mut other), Err(Error::Corrupt(_))));

        let mut newer = Connection::open_in_memory().unwrap();
        init(&mut newer).unwrap();
        newer
            .pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(
            init(&mut newer),
            Err(Error::SchemaTooNew { found, .. }) if found == VERSION + 1
        ));
    }
}
