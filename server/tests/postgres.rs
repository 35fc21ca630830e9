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
    assert_eq!(copied["tables"], 53);

    let period = ["--from", "2026-11-01", "--to", "2026-12-31"];
    let verbs: Vec<Vec<&str>> = vec![
        [&["--json", "report", "attendance"][..], &period].concat(),
        [&["report", "attendance", "--format", "csv"][..], &period].concat(),
        [&["--json", "report", "sales"][..], &period].concat(),
        [&["report", "sales", "--format", "csv"][..], &period].concat(),
        vec!["--json", "events"],
        vec!["--json", "reviews"],
        vec!["--json", "audit", "list"],
        vec!["--json", "agent", "list"],
        vec!["--json", "device", "list"],
        vec!["--json", "site", "list"],
        vec!["--json", "shift", "list"],
        vec!["--json", "sync", "status"],
        vec!["--json", "verify"],
    ];
    for verb in verbs {
        let args = [&admin[..], &["--now", now], &verb[..]].concat();
        let on_sqlite = cli(&sqlite, &args, None);
        let on_postgres = cli(&url, &args, None);
        assert_eq!(on_sqlite.code, 0, "{verb:?}: {}", on_sqlite.stderr);
        assert_eq!(on_postgres.code, 0, "{verb:?}: {}", on_postgres.stderr);
        assert!(!on_sqlite.stdout.trim().is_empty(), "{verb:?} says nothing");
        assert_eq!(on_sqlite.stdout, on_postgres.stdout, "{verb:?}");
    }
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
