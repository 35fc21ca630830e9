//! The connection layer: one writer and one reader connection to the
//! file, the transaction closures every store module writes and reads
//! through, and what is cached beside them (rules, the site index).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::db::Transaction;

use super::memo::WriterMemo;
use crate::error::{Error, Result};
use crate::geofence::SiteIndex;
use crate::rules::Rules;

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
    pub(super) path: PathBuf,
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    /// The site index and the rules, each with the `config_version` it was
    /// read at (`settings::config_version`): built once per change, shared
    /// by concurrent judgements, read again after a change by any process.
    pub(super) sites: RwLock<Option<(i64, Arc<SiteIndex>)>>,
    pub(super) rules: RwLock<(i64, Rules)>,
}

/// The writer connection and what it remembers between check-ins.
struct Writer {
    conn: Connection,
    memo: WriterMemo,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    pub(super) fn from_connections(
        path: PathBuf,
        writer: Connection,
        reader: Connection,
        rules: Rules,
    ) -> Store {
        Store {
            path,
            writer: Mutex::new(Writer {
                conn: writer,
                memo: WriterMemo::default(),
            }),
            reader: Mutex::new(reader),
            sites: RwLock::new(None),
            // Version 0 is never stored: the first use reads the rules again
            // with their version.
            rules: RwLock::new((0, rules)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one immediate transaction on the writer connection;
    /// commits on `Ok`, rolls back on `Err`.
    /// Forgets the check-in memo first: this write may change anything it
    /// holds.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut writer = self.lock_writer();
        writer.memo = WriterMemo::default();
        let tx = writer
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&Transaction::Sqlite(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    /// [`Store::write`] for check-ins, with what the writer remembers
    /// between them (`store::memo`). The memo is kept only while no other
    /// connection has committed since it was filled, and forgotten if `f`
    /// or the commit fails.
    pub(super) fn write_remembering<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut WriterMemo) -> Result<T>,
    ) -> Result<T> {
        let mut writer = self.lock_writer();
        let Writer { conn, memo } = &mut *writer;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = (|| {
            // The pager's data version moves on every commit, ours or
            // another connection's (seen when this transaction began, under
            // the write lock: none can slip in after). Cheaper than
            // `PRAGMA data_version`, which runs a statement.
            if memo.data_version != Some(data_version(&tx)?) {
                *memo = WriterMemo::default();
            }
            let value = f(&Transaction::Sqlite(&tx), memo)?;
            tx.commit()?;
            Ok(value)
        })();
        match outcome {
            // Unreadable, the version stays None and the next check-in
            // starts afresh.
            Ok(_) => memo.data_version = data_version(conn).ok(),
            Err(_) => *memo = WriterMemo::default(),
        }
        outcome
    }

    /// Shows the check-in memo and a transaction on the writer to `f`, for
    /// tests that compare what is remembered with what is stored.
    #[cfg(test)]
    pub(super) fn inspect_memo<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &WriterMemo) -> Result<T>,
    ) -> Result<T> {
        let mut writer = self.lock_writer();
        let Writer { conn, memo } = &mut *writer;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&Transaction::Sqlite(&tx), memo)?;
        tx.finish()?;
        Ok(value)
    }

    /// Runs `f` on the reader connection (a consistent WAL snapshot).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.reader)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&Transaction::Sqlite(&tx))?;
        tx.finish()?;
        Ok(value)
    }

    /// A panic while holding the writer leaves SQLite consistent (the open
    /// transaction rolls back) but may leave the memo half updated, so a
    /// poisoned writer forgets it.
    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|poisoned| {
            let mut writer = poisoned.into_inner();
            writer.memo = WriterMemo::default();
            self.writer.clear_poison();
            writer
        })
    }

    /// Copies the WAL into the main file and truncates it to zero bytes.
    pub fn checkpoint(&self) -> Result<()> {
        let writer = self.lock_writer();
        checkpoint_truncate(&writer.conn)
    }
}

pub(super) fn configure(conn: &Connection, options: &OpenOptions) -> Result<()> {
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
    // Plans fixed at prepare time. Without it SQLite marked the cached
    // statements of the check-in path (consent, restriction, previous event)
    // as depending on their bound values and compiled them again on every
    // call: a third of a check-in's CPU time (perf; STMTSTATUS_REPREPARE
    // grew by one per call). No query here needs a plan chosen by a bound
    // value: the one partial index is matched by a literal.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
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

/// `SQLITE_FCNTL_DATA_VERSION` of the main database.
fn data_version(conn: &Connection) -> Result<u32> {
    let mut version = 0;
    conn.file_control(
        rusqlite::DEFAULT_NAME,
        rusqlite::FileControl::DataVersion(&mut version),
    )?;
    Ok(version)
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    // A panic while holding the lock leaves SQLite itself consistent (the
    // open transaction rolls back), so a poisoned lock is still usable.
    Ok(m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}
