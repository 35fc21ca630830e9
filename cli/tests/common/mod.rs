//! Drives the real `fieldcheck` binary in a temporary directory.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldcheck");

/// The clock of every test (a Monday, 09:00 in Jakarta).
pub const NOW: &str = "2026-01-05T02:00:00Z";

/// A 100 m circle in Jakarta and a polygon in Surabaya, 660 km apart.
pub const SITES: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature",
   "geometry": {"type": "Point", "coordinates": [106.8229, -6.2146]},
   "properties": {"id": "hq", "name": "Jakarta head office", "radius_m": 100}},
  {"type": "Feature",
   "geometry": {"type": "Polygon", "coordinates": [[
     [112.7417, -7.2648], [112.7416, -7.2660], [112.7426, -7.2664],
     [112.7434, -7.2657], [112.7431, -7.2647], [112.7417, -7.2648]]]},
   "properties": {"id": "branch", "name": "Surabaya branch"}}
]}"#;

/// Fixes as (lat, lon) strings, so negative numbers go through the parser.
pub const HQ: (&str, &str) = ("-6.2146", "106.8229");
/// 95 m north of the HQ centre: 5 m inside its 100 m fence.
pub const HQ_EDGE: (&str, &str) = ("-6.213741", "106.8229");
/// About 1 km north of the HQ centre.
pub const HQ_1KM: (&str, &str) = ("-6.2056", "106.8229");
pub const BRANCH: (&str, &str) = ("-7.2655", "112.7425");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not one JSON value ({e}): {}", self.stdout))
    }

    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Runs the binary with exactly these arguments.
pub fn fieldcheck(cwd: &Path, args: &[&str]) -> Run {
    Run::from(
        Command::new(BIN)
            .args(args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .output()
            .unwrap(),
    )
}

/// A temporary directory with one store in it.
pub struct Env {
    pub dir: TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        Env { dir, db }
    }

    /// A server's store: a new PostgreSQL database in the PostgreSQL pass
    /// (`FIELDCHECK_TEST_PG` names the server, `{db}` the database), else a
    /// file as [`Env::new`]. Only server-store verbs (PRODUCT.md §12.5) may
    /// run on it.
    #[allow(dead_code)] // not every test binary has a server's store
    pub fn server() -> Env {
        let mut env = Env::new();
        if let Ok(template) = std::env::var("FIELDCHECK_TEST_PG") {
            env.db = PathBuf::from(new_database::new_database(&template));
        }
        env
    }

    /// Whether the store is a PostgreSQL database.
    #[allow(dead_code)]
    pub fn on_postgres(&self) -> bool {
        self.db().starts_with("postgres")
    }

    pub fn db(&self) -> &str {
        self.db.to_str().unwrap()
    }

    /// Runs with `--db` and `--now NOW` before the given arguments.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_at(NOW, args)
    }

    /// Runs with `--db` and `--now now` before the given arguments.
    pub fn run_at(&self, now: &str, args: &[&str]) -> Run {
        let mut all = vec!["--db", self.db(), "--now", now];
        all.extend_from_slice(args);
        fieldcheck(self.dir.path(), &all)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Sites imported and location consent granted to `agents`.
    pub fn with_sites_and_consent(agents: &[&str]) -> Env {
        let env = Env::new();
        let sites = env.write("sites.geojson", SITES);
        env.run(&["site", "import", sites.to_str().unwrap()]).ok();
        for agent in agents {
            env.run(&[
                "consent",
                "grant",
                "--agent",
                agent,
                "--permission",
                "location",
            ])
            .ok();
        }
        env
    }

    /// `check-in --json` (or `check-out`) of `agent` at `at`; returns the event.
    pub fn check(
        &self,
        kind: &str,
        agent: &str,
        (lat, lon): (&str, &str),
        accuracy: &str,
        extra: &[&str],
    ) -> Value {
        let mut args = vec![
            "--json",
            kind,
            "--agent",
            agent,
            "--lat",
            lat,
            "--lon",
            lon,
            "--accuracy",
            accuracy,
        ];
        args.extend_from_slice(extra);
        self.run(&args).ok().json()
    }

    /// Everything a failed call must leave unchanged.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            events: self.run(&["--json", "events"]).ok().stdout,
            sites: self.run(&["--json", "site", "list"]).ok().stdout,
            audit_flags: self.run(&["--json", "audit", "list"]).ok().stdout,
            ledger: self.count("ledger"),
            consent: self.count("consent_ledger"),
        }
    }
}

impl Env {
    /// Rows in a table, read directly from the store.
    pub fn count(&self, table: &str) -> i64 {
        self.query_one(&format!("SELECT count(*) FROM {table}"))
            .parse()
            .unwrap()
    }

    /// The one value `sql` selects, as text, read directly from the store
    /// on its own engine.
    pub fn query_one(&self, sql: &str) -> String {
        if self.on_postgres() {
            let mut client = postgres::Client::connect(self.db(), postgres::NoTls).unwrap();
            let row = client
                .query_one(&format!("SELECT ({sql})::text"), &[])
                .unwrap();
            return row.get(0);
        }
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.query_row(&format!("SELECT CAST(({sql}) AS TEXT)"), [], |r| r.get(0))
            .unwrap()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub events: String,
    pub sites: String,
    pub audit_flags: String,
    pub ledger: i64,
    pub consent: i64,
}

/// Whether the CLI seals the stores it makes (a master key in the
/// environment: the PostgreSQL pass); byte scans then find no clear value.
#[allow(dead_code)]
pub fn sealing() -> bool {
    std::env::var_os("FIELDCHECK_MASTER_KEY_FILE").is_some()
}

/// Opens `db` in the test process as the CLI does: with the master key
/// `FIELDCHECK_MASTER_KEY_FILE` names, when set (the PostgreSQL pass).
#[allow(dead_code)]
pub fn open_store(db: &Path) -> fieldcheck_core::Store {
    let master_key = std::env::var_os("FIELDCHECK_MASTER_KEY_FILE").map(|path| {
        fieldcheck_core::seal::MasterKey::read(Path::new(&path)).expect("the test master key")
    });
    fieldcheck_core::Store::open_with(
        db,
        &fieldcheck_core::OpenOptions {
            master_key,
            ..Default::default()
        },
    )
    .unwrap()
}

pub fn reasons(event: &Value) -> Vec<String> {
    event["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons array: {event}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// New PostgreSQL databases for the PostgreSQL pass, as the server's tests
/// make them.
#[allow(dead_code)]
#[path = "../../../server/tests/common/new_database.rs"]
mod new_database;
