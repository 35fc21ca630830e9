//! A server's store on PostgreSQL (PRODUCT.md §12.5), run by
//! `scripts/with-postgres.sh` (FIELDCHECK_TEST_PG): the demo week's server
//! store, made through a real server on SQLite, copied with `store copy`
//! into PostgreSQL gives byte for byte the same reports (JSON, CSV),
//! events, reviews, flags, agents, devices and `verify`; a second copy into
//! the same database is refused.

mod common;

use common::{cli, postgres_database};
use tempfile::TempDir;

#[test]
fn a_copied_store_answers_every_verb_as_the_sqlite_one() {
    let Some(url) = postgres_database() else {
        eprintln!("skipped on SQLite alone: needs FIELDCHECK_TEST_PG (scripts/with-postgres.sh)");
        return;
    };
    let dir = TempDir::new().unwrap();
    let now = "2026-12-02T12:00:00Z";
    let via = dir.path().join("via.db");
    cli(
        &via,
        &["--json", "--now", now, "demo", "--via-server"],
        None,
    )
    .ok();
    let sqlite = dir.path().join("via.db.server.db");
    let admin = ["--role", "admin", "--actor", "adm-1"];

    let copied = cli(
        &sqlite,
        &[
            &admin[..],
            &["--json", "store", "copy", "--to", url.to_str().unwrap()],
        ]
        .concat(),
        None,
    )
    .ok()
    .json();
    assert!(copied["rows"].as_u64().unwrap() > 100, "{copied}");
    assert_eq!(copied["tables"], 54);
    // The copy leaves the planner its statistics (ANALYZE in the copy).
    let mut client = postgres::Client::connect(url.to_str().unwrap(), postgres::NoTls).unwrap();
    let analysed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'sync_events'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(analysed > 0, "no statistics for sync_events after the copy");

    let mut verbs = reports(["--from", "2026-11-01", "--to", "2026-12-31"]);
    for verb in [
        "events",
        "reviews",
        "audit list",
        "agent list",
        "device list",
        "site list",
        "shift list",
        "sync status",
        "verify",
    ] {
        verbs.push([&["--json"][..], &verb.split(' ').collect::<Vec<_>>()].concat());
    }
    let at = [&admin[..], &["--now", now]].concat();
    same_on_both(&sqlite, &url, &at, &verbs, "copied");
    let verified = cli(&url, &["--json", "verify"], None).ok().json();
    assert_eq!(verified["intact"], true, "{verified}");
    assert!(verified["imported_events_checked"].as_u64().unwrap() > 0);

    let again = cli(
        &sqlite,
        &[
            &admin[..],
            &["store", "copy", "--to", url.to_str().unwrap()],
        ]
        .concat(),
        None,
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
}

/// Report parity: the same device batches (five agents in five zones over
/// ten days) imported into an SQLite store and a PostgreSQL store give the
/// same attendance and sales reports (JSON, CSV), events and `verify`, byte
/// for byte, before and after an agent's zone changes.
#[test]
fn the_same_batches_give_the_same_reports_on_both_engines() {
    use chrono::{TimeZone, Utc};
    use fieldcheck_core::{Actor, Store, SyntheticAttendance};

    let Some(url) = postgres_database() else {
        eprintln!("skipped on SQLite alone: needs FIELDCHECK_TEST_PG (scripts/with-postgres.sh)");
        return;
    };
    let dir = TempDir::new().unwrap();
    let admin = Actor::admin("adm-1");
    let now = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
    let phone = Store::open_with(dir.path().join("phone.db"), &common::open_options()).unwrap();
    phone
        .load_synthetic_attendance(
            &admin,
            &SyntheticAttendance {
                agents: 5,
                events: 1500,
                start: Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
                days: 10,
                seed: 7,
                first_agent: 0,
            },
            &|_| {},
        )
        .unwrap();
    let sqlite = dir.path().join("server.db");
    let engines = [sqlite.clone(), url.clone()];
    let as_admin = [
        "--role",
        "admin",
        "--actor",
        "adm-1",
        "--now",
        "2026-03-20T12:00:00Z",
    ];
    let zones = [
        "Asia/Jakarta",
        "Asia/Makassar",
        "Asia/Jayapura",
        "Europe/Amsterdam",
        "America/Sao_Paulo",
    ];
    for db in &engines {
        for (i, zone) in zones.iter().enumerate() {
            let agent = format!("agent-{:05}", i + 1);
            let args = [
                &as_admin[..],
                &[
                    "shift",
                    "set",
                    "--agent",
                    &agent,
                    "--start",
                    "08:00",
                    "--end",
                    "17:00",
                    "--weekdays",
                    "mon-fri",
                    "--tz",
                    zone,
                ],
            ]
            .concat();
            cli(db, &args, None).ok();
        }
    }
    let stores: Vec<Store> = engines.iter().map(|db| common::open_store(db)).collect();
    let mut from = 1;
    loop {
        let batch = phone.sync_pending_from(&admin, Some(from), 100).unwrap();
        if batch.events.is_empty() {
            break;
        }
        from += batch.events.len() as i64;
        let json = serde_json::to_string(&batch).unwrap();
        for store in &stores {
            store.sync_import(&admin, &json, now).unwrap();
        }
    }
    assert!(from > 1500, "{from}");
    drop(stores);

    let mut verbs = reports(["--from", "2026-03-01", "--to", "2026-03-15"]);
    verbs.push(vec!["--json", "events"]);
    verbs.push(vec!["--json", "verify"]);
    let same = |when: &str| same_on_both(&sqlite, &url, &as_admin, &verbs, when);
    same("imported");
    for db in &engines {
        let args = [
            &as_admin[..],
            &[
                "shift",
                "set",
                "--agent",
                "agent-00002",
                "--start",
                "07:00",
                "--end",
                "15:00",
                "--weekdays",
                "mon-sat",
                "--tz",
                "Europe/Stockholm",
            ],
        ]
        .concat();
        cli(db, &args, None).ok();
    }
    same("after a zone change");
}

/// The attendance and sales reports over `period`, as JSON and as CSV.
fn reports(period: [&'static str; 4]) -> Vec<Vec<&'static str>> {
    let mut verbs = Vec::new();
    for kind in ["attendance", "sales"] {
        verbs.push([&["--json", "report", kind][..], &period].concat());
        verbs.push([&["report", kind, "--format", "csv"][..], &period].concat());
    }
    verbs
}

/// Each verb (after `leading` arguments) succeeds on both stores, says
/// something, and says the same, byte for byte.
fn same_on_both(
    sqlite: &std::path::Path,
    postgres: &std::path::Path,
    leading: &[&str],
    verbs: &[Vec<&str>],
    when: &str,
) {
    for verb in verbs {
        let args = [leading, &verb[..]].concat();
        let on_sqlite = cli(sqlite, &args, None);
        let on_postgres = cli(postgres, &args, None);
        assert_eq!(on_sqlite.code, 0, "{when} {verb:?}: {}", on_sqlite.stderr);
        assert_eq!(
            on_postgres.code, 0,
            "{when} {verb:?}: {}",
            on_postgres.stderr
        );
        assert!(
            !on_sqlite.stdout.trim().is_empty(),
            "{when} {verb:?} says nothing"
        );
        assert_eq!(on_sqlite.stdout, on_postgres.stdout, "{when} {verb:?}");
    }
}
