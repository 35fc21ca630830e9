//! A file that is not a (readable) fieldcheck store gives a clear error and
//! is neither modified nor deleted (PRODUCT.md §10).

mod common;

use std::path::Path;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every kind of call, reading and writing.
fn calls(sites: &Path) -> Vec<Vec<String>> {
    let (lat, lon) = HQ;
    [
        vec!["events"],
        vec!["--json", "site", "list"],
        vec!["site", "import", sites.to_str().unwrap()],
        vec![
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ],
        vec![
            "check-in",
            "--agent",
            "a1",
            "--lat",
            lat,
            "--lon",
            lon,
            "--accuracy",
            "10",
        ],
        vec!["verify"],
        vec!["purge"],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect()
}

/// Runs every call against `env.db` and checks each fails with `expect` in
/// its message, leaving the file and its directory as they were.
#[track_caller]
fn refused_untouched(env: &Env, expect: &str) {
    let bytes = std::fs::read(&env.db).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(env.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let files = listing();
    let sites = env.write("sites.geojson", SITES);
    for args in calls(&sites) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{args:?}: {}", run.stderr);
        assert_eq!(
            std::fs::read(&env.db).unwrap(),
            bytes,
            "{args:?} changed the file"
        );
    }
    let mut after = listing();
    after.retain(|n| n != "sites.geojson");
    assert_eq!(after, files, "files appeared or vanished");
}

#[test]
fn random_bytes_are_not_a_store() {
    let env = Env::new();
    let mut noise = vec![0u8; 16 * 1024];
    StdRng::seed_from_u64(7).fill(&mut noise[..]);
    std::fs::write(&env.db, &noise).unwrap();
    refused_untouched(&env, "not a fieldcheck store");
}

#[test]
fn another_applications_sqlite_file_is_not_a_store() {
    let env = Env::new();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO notes (body) VALUES ('shopping list'), ('call the bank');",
    )
    .unwrap();
    drop(conn);
    refused_untouched(&env, "not a fieldcheck store");
}

#[test]
fn a_store_from_a_newer_build_is_refused() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    // Back to a single file, as a store from another build would arrive.
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    std::fs::remove_file(env.dir.path().join("sites.geojson")).unwrap();
    refused_untouched(&env, "newer");
}

#[test]
fn a_truncated_store_is_refused() {
    let env = Env::with_sites_and_consent(&["a1"]);
    for i in 0..20 {
        env.check("check-in", "a1", HQ, &format!("{}", 5 + i), &[]);
    }
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    std::fs::remove_file(env.dir.path().join("sites.geojson")).unwrap();
    // Keep the header page, lose the rest.
    let bytes = std::fs::read(&env.db).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    assert!(bytes.len() > 2 * page, "the store spans several pages");
    std::fs::write(&env.db, &bytes[..page]).unwrap();
    refused_untouched(&env, "damaged");
}
