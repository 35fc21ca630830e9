//! Durable storage: SQLite behind one writer and one reader connection.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction through
//! [`Store::write`], so an event, its ledger link and any retained
//! coordinates land together or not at all. The file runs in WAL mode with
//! `synchronous=FULL` (an acknowledged check-in survives a power cut) and
//! `secure_delete=ON` (deleted values leave no bytes behind, PRODUCT.md §4).

mod audit;
mod bulk;
mod checkin;
mod consent;
mod days;
mod leads;
mod ledger;
mod month;
mod policy;
mod privacy;
mod purge;
mod report;
mod requests;
mod review;
pub mod schema;
mod sites;
mod subject;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::geofence::SiteIndex;
use crate::rules::Rules;
use crate::types::Actor;

pub use bulk::SyntheticAttendance;
pub use checkin::CheckInRequest;
pub use consent::ConsentChange;
pub use leads::LeadFilter;
pub use purge::PurgeReport;
pub use report::ReportQuery;
pub use requests::RequestFilter;
pub use sites::ImportSummary;
pub use subject::{Erased, ErasureReport, Kept, SubjectExport};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: committed means on disk, through power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crashed process, not a power cut.
    /// For imports and tests only.
    Normal,
}

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub durability: Durability,
}

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Built once per import, shared by concurrent judgements.
    sites: RwLock<Option<Arc<SiteIndex>>>,
    rules: RwLock<Rules>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const RULES_KEY: &str = "rules";

impl Store {
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &OpenOptions::default())
    }

    /// Opens or creates a store. A damaged, foreign or newer file gives a
    /// typed error and is neither modified nor removed.
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Ok(meta) = std::fs::metadata(&path)
            && !meta.is_file()
        {
            return Err(Error::invalid(
                "database",
                format!("{} is not a regular file", path.display()),
            ));
        }
        let mut writer = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&writer, options)?;
        // Switching to WAL touches the file: do it only once we know the
        // file is ours (or new).
        let upgraded_from = schema::init(&mut writer)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Corrupt(format!(
                "could not switch to WAL (journal_mode is {mode})"
            )));
        }

        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&reader, options)?;
        reader.pragma_update(None, "query_only", true)?;

        let rules = load_rules(&writer)?;
        if upgraded_from.is_some_and(|v| v < 4) {
            // The per-day summary arrived in v4: derive it from the events.
            let zone = days::parse_zone(&rules.time_zone)?;
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            days::rebuild_all(&tx, zone)?;
            tx.commit()?;
        }
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            sites: RwLock::new(None),
            rules: RwLock::new(rules),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one immediate transaction on the writer connection;
    /// commits on `Ok`, rolls back on `Err`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on the reader connection (a consistent WAL snapshot).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.reader)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    pub fn rules(&self) -> Rules {
        self.rules
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

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

    /// The site index, built from the stored sites on first use.
    pub fn site_index(&self) -> Result<Arc<SiteIndex>> {
        if let Ok(slot) = self.sites.read()
            && let Some(index) = slot.as_ref()
        {
            return Ok(index.clone());
        }
        let sites = self.read(sites::load_all)?;
        let index = Arc::new(SiteIndex::new(sites));
        if let Ok(mut slot) = self.sites.write() {
            *slot = Some(index.clone());
        }
        Ok(index)
    }

    fn invalidate_sites(&self) {
        if let Ok(mut slot) = self.sites.write() {
            *slot = None;
        }
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

    /// Copies the WAL into the main file and truncates it to zero bytes.
    pub fn checkpoint(&self) -> Result<()> {
        let conn = lock(&self.writer)?;
        checkpoint_truncate(&conn)
    }
}

fn configure(conn: &Connection, options: &OpenOptions) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // The first statement that reads the header: a file that is not a
    // database fails here with NOTADB, mapped to Error::Corrupt.
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "secure_delete", true)?;
    let sync = match options.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // Apple's fsync does not reach the platter; F_FULLFSYNC does.
    #[cfg(target_vendor = "apple")]
    {
        conn.pragma_update(None, "fullfsync", true)?;
        conn.pragma_update(None, "checkpoint_fullfsync", true)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn load_rules(conn: &Connection) -> Result<Rules> {
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

/// Checkpoints and truncates the WAL. A reader in another process can hold
/// the WAL for a moment, so a blocked checkpoint is retried for up to ~5 s.
pub(crate) fn checkpoint_truncate(conn: &Connection) -> Result<()> {
    for attempt in 0.. {
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy == 0 {
            return Ok(());
        }
        if attempt == 50 {
            break;
        }
        log::debug!("WAL checkpoint blocked by a reader; retrying");
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("WAL checkpoint blocked by a reader".into()),
    )))
}

fn lock(m: &Mutex<Connection>) -> Result<MutexGuard<'_, Connection>> {
    // A panic while holding the lock leaves SQLite itself consistent (the
    // open transaction rolls back), so a poisoned lock is still usable.
    Ok(m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod field_tests;

#[cfg(test)]
mod retention_tests;

#[cfg(test)]
mod privacy_tests;

#[cfg(test)]
mod sync_tests;
