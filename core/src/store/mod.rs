//! Durable storage: SQLite behind one writer and one reader connection.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction through
//! [`Store::write`], so an event, its ledger link and any retained
//! coordinates land together or not at all. The file runs in WAL mode with
//! `synchronous=FULL` (an acknowledged check-in survives a power cut) and
//! `secure_delete=ON` (deleted values leave no bytes behind, PRODUCT.md §4).

mod agent_scope;
mod agents;
mod attendance;
mod audit;
mod binding;
mod chain;
mod config;
mod connection;
mod consent;
#[cfg(feature = "postgres")]
mod copy;
mod days;
pub(crate) mod db;
mod devices;
mod feed;
mod import_rows;
mod leads;
mod location_views;
mod memo;
mod month;
mod policy;
mod privacy;
mod queue;
mod queue_marks;
mod report;
mod restriction;
mod retention;
mod review;
pub mod schema;
#[cfg(feature = "postgres")]
mod schema_pg;
mod sealing;
mod server_link;
mod server_role;
mod sessions;
mod settings;
mod sign_in_limit;
mod sites;
mod sync;
mod synced;
#[cfg(any(test, feature = "synthetic"))]
mod synthetic;
mod today;
mod users;
mod verify;
mod verify_imports;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use connection::configure;

pub use agents::AgentEntry;
pub use attendance::FixRequest;
pub use connection::{Durability, OpenOptions, Store};
pub use consent::ConsentChange;
#[cfg(feature = "postgres")]
pub use copy::CopyReport;
pub use devices::ReceivedBatch;
pub use leads::LeadFilter;
pub use location_views::LocationView;
pub use privacy::RequestFilter;
pub use privacy::{Erased, ErasureReport, Kept, SubjectExport};
pub use report::ReportQuery;
pub use retention::PurgeReport;
pub use sealing::KeyStatus;
pub use sessions::SignIn;
pub use sites::ImportSummary;
pub use synced::SyncedRecord;
#[cfg(any(test, feature = "synthetic"))]
pub use synthetic::SyntheticAttendance;
pub use verify::VerifyStatus;

impl Store {
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &OpenOptions::default())
    }

    /// Opens or creates a store. A damaged, foreign or newer file gives a
    /// typed error and is neither modified nor removed.
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Store> {
        #[cfg(feature = "postgres")]
        if let crate::store_location::StoreLocation::Postgres(url) =
            crate::store_location::StoreLocation::of(path.as_ref())
        {
            return Store::open_postgres(&url, options)?.open_sealing(options);
        }
        // Without the `postgres` feature a URL is refused here, named
        // without its password.
        let path = crate::store_location::StoreLocation::file(path.as_ref())?;
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
        schema::init(&mut writer)?;
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

        let rules = {
            let tx = writer.transaction()?;
            settings::load_rules(&db::Transaction::sqlite(&tx, None))?
        };
        Store::from_connections(path, writer, reader, rules).open_sealing(options)
    }
}

#[cfg(feature = "postgres")]
impl Store {
    /// Opens (creating or upgrading its schema) a store in a PostgreSQL
    /// database. The password comes from the URL, `PGPASSWORD` or
    /// `passfile=`; the URL is shown only without it.
    fn open_postgres(url: &str, options: &OpenOptions) -> Result<Store> {
        use crate::store_location::redact_url;
        let shown = redact_url(url);
        let (config, tls) =
            db::pg::config(url).map_err(|e| Error::invalid("db", format!("{shown}: {e}")))?;
        let pool = db::pg::pool(config, tls, POOL_SIZE)
            .map_err(|e| Error::Database(format!("{shown}: {e}")))?;
        {
            let mut conn = pool
                .get()
                .map_err(|e| Error::Database(format!("{shown}: {e}")))?;
            // Refused before the schema is created or upgraded: a store
            // opened without its key is left as it was found.
            if options.master_key.is_none() && !options.copy_source {
                return Err(sealing::missing_key(schema_pg::key_epoch(
                    &mut conn.client,
                )?));
            }
            schema_pg::init(&mut conn.client)?;
        }
        let store = Store::from_pool(std::path::PathBuf::from(shown), pool, Default::default());
        // Unreadable rules are refused at open, as on SQLite; the cache then
        // holds them with their version.
        store.read(|tx| store.rules_in(tx))?;
        Ok(store)
    }
}

/// Connections one process keeps to PostgreSQL: the server's blocking pool
/// runs store calls on a few threads, each needing one at a time.
#[cfg(feature = "postgres")]
const POOL_SIZE: u32 = 16;

/// Which engine the store's tests run on: SQLite files, or, with
/// `FIELDCHECK_TEST_PG` set to a URL whose database is `{db}`, a new
/// PostgreSQL database per store (what `scripts/test.sh` does on its
/// second pass).
#[cfg(test)]
pub(crate) mod test_engine {
    use std::path::{Path, PathBuf};

    pub fn on_postgres() -> bool {
        std::env::var_os("FIELDCHECK_TEST_PG").is_some()
    }

    /// Where a test's store named `name` lives.
    pub fn location(dir: &Path, name: &str) -> PathBuf {
        #[cfg(not(feature = "postgres"))]
        assert!(
            !on_postgres(),
            "FIELDCHECK_TEST_PG needs the tests built with --features postgres"
        );
        #[cfg(feature = "postgres")]
        if let Ok(template) = std::env::var("FIELDCHECK_TEST_PG") {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let db = format!(
                "fc_test_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let admin = template.replace("{db}", "postgres");
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("FIELDCHECK_TEST_PG names a reachable server");
            client
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .expect("create a test database");
            return PathBuf::from(template.replace("{db}", &db));
        }
        dir.join(name)
    }

    /// Options for a test's store at `location`: on PostgreSQL, which
    /// always seals (and on SQLite with `FIELDCHECK_TEST_SEAL` set), the
    /// master key `FIELDCHECK_MASTER_KEY_FILE` names (what
    /// `scripts/with-postgres.sh` makes), else one made for this process.
    pub fn options_for(location: &Path) -> super::OpenOptions {
        use crate::seal::MasterKey;
        use std::sync::OnceLock;
        static KEY: OnceLock<MasterKey> = OnceLock::new();
        let url = location.to_str().is_some_and(|l| l.starts_with("postgres"));
        // FIELDCHECK_TEST_SEAL: SQLite test stores seal too (the pass that
        // runs the store's tests with sealing on both ways).
        let seal = url || std::env::var_os("FIELDCHECK_TEST_SEAL").is_some();
        let master_key = seal.then(|| {
            KEY.get_or_init(|| match std::env::var_os("FIELDCHECK_MASTER_KEY_FILE") {
                Some(path) => MasterKey::read(Path::new(&path)).expect("the test master key"),
                None => MasterKey::generate(),
            })
            .clone()
        });
        super::OpenOptions {
            durability: super::Durability::Normal,
            master_key,
            ..Default::default()
        }
    }

    /// A test's store named `name` on the engine under test.
    pub fn open(dir: &Path, name: &str) -> super::Store {
        let location = location(dir, name);
        super::Store::open_with(&location, &options_for(&location)).unwrap()
    }
}

/// Skips the rest of a test that only SQLite can run, saying why.
#[cfg(test)]
macro_rules! sqlite_only {
    ($reason:literal) => {
        if crate::store::test_engine::on_postgres() {
            eprintln!("skipped on PostgreSQL: {}", $reason);
            return;
        }
    };
}
#[cfg(test)]
pub(crate) use sqlite_only;

/// Skips the rest of a test that only PostgreSQL can run, saying why.
#[cfg(test)]
macro_rules! postgres_only {
    ($reason:literal) => {
        if !crate::store::test_engine::on_postgres() {
            eprintln!("skipped on SQLite: {}", $reason);
            return;
        }
    };
}
#[cfg(test)]
pub(crate) use postgres_only;

/// Skips the rest of a test that reads or edits personal values in clear
/// in the store's rows or files, where test stores seal (PostgreSQL, or
/// SQLite with `FIELDCHECK_TEST_SEAL`), saying why; `sealing_tests` holds
/// the same checks for sealing stores.
#[cfg(test)]
macro_rules! clear_only {
    ($reason:literal) => {
        if crate::store::test_engine::on_postgres()
            || std::env::var_os("FIELDCHECK_TEST_SEAL").is_some()
        {
            eprintln!("skipped where stores seal: {}", $reason);
            return;
        }
    };
}
#[cfg(test)]
pub(crate) use clear_only;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod field_tests;

#[cfg(test)]
mod retention_tests;

#[cfg(test)]
mod privacy_tests;
#[cfg(test)]
mod sealing_tests;

#[cfg(test)]
mod sync_tests;

#[cfg(test)]
mod config_tests;

#[cfg(test)]
mod queue_tests;
