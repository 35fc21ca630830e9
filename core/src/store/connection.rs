//! The connection layer: one writer and one reader connection to the
//! file, the transaction closures every store module writes and reads
//! through, and what is cached beside them (rules, the site index).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::db::Transaction;

use super::db::Keyring;
use super::memo::WriterMemo;
use super::sealing::Sealing;
use crate::error::{Error, Result};
use crate::geofence::SiteIndex;
use crate::rules::Rules;
use crate::seal::MasterKey;

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
    /// The operator's master key (PRODUCT.md §12.5): a store given one
    /// before it holds personal values seals them, and needs it at every
    /// open after that.
    pub master_key: Option<MasterKey>,
    /// Opened as the source of `store copy`: a PostgreSQL store written
    /// before sealing (in clear) opens, so that it can be copied into a
    /// sealing one; nothing else may open it so.
    pub copy_source: bool,
}

pub struct Store {
    /// The file, or the PostgreSQL URL without its password.
    pub(super) path: PathBuf,
    engine: Engine,
    /// The site index and the rules, each with the `config_version` it was
    /// read at (`settings::config_version`): built once per change, shared
    /// by concurrent judgements, read again after a change by any process.
    pub(super) sites: RwLock<Option<(i64, Arc<SiteIndex>)>>,
    pub(super) rules: RwLock<(i64, Rules)>,
    /// The master key and its epoch, when the store seals.
    sealing: Option<Sealing>,
    /// Set once a write found the master key rotated since this process
    /// opened the store: it writes no more (the server answers 503).
    retired: Arc<std::sync::OnceLock<String>>,
}

/// Where the store's rows live.
// One per store, made once and never moved: the SQLite variant's size
// (the writer's memo) costs nothing.
#[allow(clippy::large_enum_variant)]
enum Engine {
    /// One writer and one reader connection to a file.
    Sqlite {
        writer: Mutex<Writer>,
        reader: Mutex<Connection>,
    },
    /// A pool of connections to a database that several processes share.
    #[cfg(feature = "postgres")]
    Postgres(super::db::pg::Pool),
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
        Store::with_engine(
            path,
            Engine::Sqlite {
                writer: Mutex::new(Writer {
                    conn: writer,
                    memo: WriterMemo::default(),
                }),
                reader: Mutex::new(reader),
            },
            rules,
        )
    }

    #[cfg(feature = "postgres")]
    pub(super) fn from_pool(shown: PathBuf, pool: super::db::pg::Pool, rules: Rules) -> Store {
        Store::with_engine(shown, Engine::Postgres(pool), rules)
    }

    fn with_engine(path: PathBuf, engine: Engine, rules: Rules) -> Store {
        Store {
            path,
            engine,
            sites: RwLock::new(None),
            // Version 0 is never stored: the first use reads the rules again
            // with their version.
            rules: RwLock::new((0, rules)),
            sealing: None,
            retired: Arc::default(),
        }
    }

    /// Why this process may no longer write (its master key was rotated),
    /// once a write found it.
    pub fn retired(&self) -> Option<&str> {
        self.retired.get().map(String::as_str)
    }

    /// Checks the key given against the store's sealing (choosing it for a
    /// store without personal values yet); see `sealing::at_open`.
    pub(super) fn open_sealing(mut self, options: &OpenOptions) -> Result<Store> {
        let given = options.master_key.as_ref();
        use super::sealing::{Opening, at_open, choose};
        let required = self.is_postgres() && !options.copy_source;
        self.sealing = match self.read(|tx| at_open(tx, given, required))? {
            Opening::Decided(sealing) => sealing,
            Opening::Choose => {
                let master = given.ok_or_else(|| Error::MasterKey("no master key".into()))?;
                // Not through `write`: its check that no other process has
                // turned sealing on is what `choose` itself answers (two
                // instances starting together on a new store agree).
                self.write_guarded(
                    WriteGuard {
                        keyring: None,
                        retired: self.retired.clone(),
                        check_clear: false,
                    },
                    |tx| choose(tx, master, required),
                )?
            }
        };
        Ok(self)
    }

    /// Whether the store seals personal values.
    pub fn is_sealed(&self) -> bool {
        self.sealing.is_some()
    }

    pub(super) fn sealing(&self) -> Option<&Sealing> {
        self.sealing.as_ref()
    }

    /// A transaction's keyring: unwrapped keys never outlive it.
    fn keyring(&self) -> Option<Keyring> {
        self.sealing.as_ref().map(Sealing::keyring)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one immediate transaction on the writer connection;
    /// commits on `Ok`, rolls back on `Err`.
    /// Forgets the check-in memo first: this write may change anything it
    /// holds.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_guarded(self.guard(), f)
    }

    fn write_guarded<T>(
        &self,
        guard: WriteGuard,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let writer = match &self.engine {
            Engine::Sqlite { writer, .. } => writer,
            #[cfg(feature = "postgres")]
            Engine::Postgres(pool) => {
                return pg_write(pool, Locks::Serial, guard, f);
            }
        };
        let mut writer = lock_writer(writer);
        writer.memo = WriterMemo::default();
        let sqlite_tx = writer
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&guard.writing(|k| Transaction::sqlite(&sqlite_tx, k))?)?;
        sqlite_tx.commit()?;
        Ok(value)
    }

    /// [`Store::write`] for a batch from `device`, which speaks for
    /// `agent` only: on PostgreSQL it runs beside other devices' batches
    /// (see `pg_write`), on SQLite like any write.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub(super) fn write_import<T>(
        &self,
        device: &str,
        agent: &str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        match &self.engine {
            Engine::Sqlite { .. } => self.write(f),
            #[cfg(feature = "postgres")]
            Engine::Postgres(pool) => {
                pg_write(pool, Locks::Import { device, agent }, self.guard(), f)
            }
        }
    }

    /// [`Store::write`] for check-ins, with what the writer remembers
    /// between them (`store::memo`). The memo is kept only while no other
    /// connection has committed since it was filled, and forgotten if `f`
    /// or the commit fails.
    pub(super) fn write_remembering<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut WriterMemo) -> Result<T>,
    ) -> Result<T> {
        let writer = match &self.engine {
            Engine::Sqlite { writer, .. } => writer,
            // Other processes write between any two calls: nothing is
            // remembered.
            #[cfg(feature = "postgres")]
            Engine::Postgres(pool) => {
                return pg_write(pool, Locks::Serial, self.guard(), |tx| {
                    f(tx, &mut WriterMemo::default())
                });
            }
        };
        let guard = self.guard();
        let mut writer = lock_writer(writer);
        let Writer { conn, memo } = &mut *writer;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = (|| {
            // The pager's data version moves on every commit, ours or
            // another connection's (seen when this transaction began, under
            // the write lock: none can slip in after). Cheaper than
            // `PRAGMA data_version`, which runs a statement.
            let moved = memo.data_version != Some(data_version(&tx)?);
            if moved {
                *memo = WriterMemo::default();
            }
            let value = f(
                &guard.writing_checked(moved, None, |k| Transaction::sqlite(&tx, k))?,
                memo,
            )?;
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
        let writer = match &self.engine {
            Engine::Sqlite { writer, .. } => writer,
            #[cfg(feature = "postgres")]
            Engine::Postgres(_) => {
                return Err(Error::invalid("store", "only an SQLite store keeps a memo"));
            }
        };
        let mut writer = lock_writer(writer);
        let Writer { conn, memo } = &mut *writer;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let keyring = self.keyring();
        let value = f(&Transaction::sqlite(&tx, keyring.as_ref()), memo)?;
        tx.finish()?;
        Ok(value)
    }

    /// Runs `f` on the reader connection (a consistent WAL snapshot).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.read_marked(false, f)
    }

    /// [`Store::read`] for `f` that runs exactly one statement: on
    /// PostgreSQL outside any explicit transaction, the statement being
    /// its own (one round trip instead of three). A second statement would
    /// see another snapshot.
    pub(crate) fn read_single_statement<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.read_marked(true, f)
    }

    fn read_marked<T>(
        &self,
        single_statement: bool,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let read = self.read_unmarked(single_statement, f);
        // A key of a newer epoch than this process's (the master key was
        // rotated under it): it reads and writes no more.
        if let Err(Error::MasterKey(reason)) = &read
            && self.sealing.is_some()
        {
            let _ = self.retired.set(reason.clone());
        }
        read
    }

    // SQLite reads one snapshot either way.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    fn read_unmarked<T>(
        &self,
        single_statement: bool,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let reader = match &self.engine {
            Engine::Sqlite { reader, .. } => reader,
            #[cfg(feature = "postgres")]
            Engine::Postgres(pool) => {
                use super::db::pg::PgTransaction;
                let mut conn = pool.get().map_err(super::db::Error::from)?;
                // One snapshot for the whole read, like SQLite's WAL
                // reader: a transaction of its own, or the one statement's.
                let tx = if single_statement {
                    PgTransaction::single_statement(&mut conn)
                } else {
                    PgTransaction::begin(&mut conn, postgres::IsolationLevel::RepeatableRead, true)?
                };
                let keyring = self.keyring();
                let value = f(&Transaction::postgres(&tx, keyring.as_ref()))?;
                tx.commit()?;
                return Ok(value);
            }
        };
        let keyring = self.keyring();
        let mut conn = lock(reader)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&Transaction::sqlite(&tx, keyring.as_ref()))?;
        tx.finish()?;
        Ok(value)
    }

    /// Copies the WAL into the main file and truncates it to zero bytes
    /// (SQLite; nothing to do on PostgreSQL).
    pub fn checkpoint(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite { writer, .. } => checkpoint_truncate(&lock_writer(writer).conn),
            #[cfg(feature = "postgres")]
            Engine::Postgres(_) => Ok(()),
        }
    }

    /// Whether the rows live in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !matches!(self.engine, Engine::Sqlite { .. })
    }
}

/// What a write checks before `f` sees its transaction: that this
/// process's master key is still the store's (`sealing::check_epoch`), or,
/// for a store opened without sealing, that no other process has turned
/// it on since (a check-in skips the look while no other connection has
/// committed).
struct WriteGuard {
    keyring: Option<Keyring>,
    retired: Arc<std::sync::OnceLock<String>>,
    /// Whether a store opened in clear checks that it still is.
    check_clear: bool,
}

impl Store {
    fn guard(&self) -> WriteGuard {
        WriteGuard {
            keyring: self.keyring(),
            retired: self.retired.clone(),
            check_clear: true,
        }
    }
}

impl WriteGuard {
    fn writing<'t>(
        &'t self,
        tx: impl FnOnce(Option<&'t Keyring>) -> Transaction<'t>,
    ) -> Result<Transaction<'t>> {
        self.writing_checked(true, None, tx)
    }

    /// `changed`: whether another connection may have committed since
    /// this process last looked (a store that does not seal checks only
    /// then that no other process has turned sealing on since it opened).
    /// `newest`: the store's newest key epoch when the caller already read
    /// it in this transaction (`pg_write`, with its locks).
    fn writing_checked<'t>(
        &'t self,
        changed: bool,
        newest: Option<i64>,
        tx: impl FnOnce(Option<&'t Keyring>) -> Transaction<'t>,
    ) -> Result<Transaction<'t>> {
        let tx = tx(self.keyring.as_ref());
        let checked = match (&self.keyring, newest) {
            (Some(ring), Some(newest)) => super::sealing::refuse_newer_epoch(newest, ring),
            (Some(ring), None) => super::sealing::check_epoch(&tx, ring),
            (None, _) if changed && self.check_clear => super::sealing::check_still_clear(&tx),
            (None, _) => Ok(()),
        };
        if let Err(e) = checked {
            let _ = self.retired.set(e.to_string());
            return Err(e);
        }
        Ok(tx)
    }
}

/// A panic while holding the writer leaves SQLite consistent (the open
/// transaction rolls back) but may leave the memo half updated, so a
/// poisoned writer forgets it.
fn lock_writer(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    writer.lock().unwrap_or_else(|poisoned| {
        let mut guard = poisoned.into_inner();
        guard.memo = WriterMemo::default();
        writer.clear_poison();
        guard
    })
}

/// Which advisory locks a PostgreSQL write takes before anything else.
#[cfg(feature = "postgres")]
enum Locks<'a> {
    /// The writer lock, exclusive: serial with every other write, as on
    /// SQLite (`BEGIN IMMEDIATE`).
    Serial,
    /// A device's batch: the writer lock shared (with other batches, never
    /// with a serial write), then the device's and its agent's locks, in
    /// that order, so batches of different devices and agents import side
    /// by side.
    Import { device: &'a str, agent: &'a str },
}

/// A write on PostgreSQL. Every write takes its advisory locks first
/// ([`Locks`]), held to commit, so every invariant the single writer kept
/// (chain heads, device heads, month rows, cursors in commit order,
/// one-time codes) holds across instances; reads do not wait for them.
/// Each statement of a READ COMMITTED transaction sees every write
/// committed before the locks were granted.
#[cfg(feature = "postgres")]
fn pg_write<T>(
    pool: &super::db::pg::Pool,
    locks: Locks<'_>,
    guard: WriteGuard,
    f: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    use super::db::pg::{PgTransaction, WRITER_LOCK, import_locks};
    let mut conn = pool.get().map_err(super::db::Error::from)?;
    let tx = PgTransaction::begin(&mut conn, postgres::IsolationLevel::ReadCommitted, false)?;
    let mut sql = match locks {
        Locks::Serial => format!("SELECT pg_advisory_xact_lock({WRITER_LOCK})"),
        Locks::Import { device, agent } => import_locks(device, agent),
    };
    // The key epoch the guard checks, read in the same message, after the
    // locks (when there is a key to check it against).
    let epoch_read = guard.keyring.is_some();
    if epoch_read {
        sql.push_str(";\n");
        sql.push_str(super::sealing::NEWEST_EPOCH);
    }
    let last = tx.simple_query_last(&sql)?;
    // No epoch yet (NULL): the guard reads it itself and says what that
    // means.
    let newest = match last.filter(|_| epoch_read) {
        Some(text) => Some(
            text.parse()
                .map_err(|_| Error::Corrupt(format!("key epoch {text:?}")))?,
        ),
        None => None,
    };
    let checked = guard.writing_checked(true, newest, |k| Transaction::postgres(&tx, k))?;
    let value = f(&checked)?;
    tx.commit()?;
    Ok(value)
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
