//! Sealed personal data (PRODUCT.md §12.5, issue 25), end to end with the
//! real server and CLI on a store that seals: an SQLite file in the first
//! pass, a PostgreSQL database in the second (where its data directory's
//! `base/` and `pg_wal/` are scanned after a `CHECKPOINT`).
//!
//! - Personal values written through the CLI, the console and a device's
//!   push are read back in clear (the control) and appear in no file, in
//!   UTF-8, UTF-16 or as IEEE doubles.
//! - Erasure and a rotation reach every copy: the erased agent's data keys
//!   are nowhere under the new master key, every other value opens with it,
//!   and the old key is refused.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use fieldcheck_core::byte_scan::{
    coordinate_needles, files_under, find_in, store_files, text_encodings,
};
use fieldcheck_core::seal::MasterKey;
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "correct horse battery";

/// Inside the fence of `common::SITES`' site, at coordinates no table holds otherwise.
const FIX: (&str, &str) = ("-6.214323", "106.822517");

/// The CLI on `db` with the master key `key`, at `now`, expecting exit 0.
fn keyed(db: &Path, key: &Path, now: &str, args: &[&str]) -> Run {
    let mut all = vec![
        "--json",
        "--now",
        now,
        "--master-key-file",
        key.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    cli(db, &all, None).ok()
}

/// A new master key written by `keys init`.
fn new_key(dir: &TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    let made = cli(
        Path::new("unused.db"),
        &["--json", "keys", "init", "--out", path.to_str().unwrap()],
        None,
    )
    .ok();
    assert!(made.stdout.contains("written"), "{}", made.stdout);
    path
}

/// Every file the store's bytes may be in: PostgreSQL's `base/` and
/// `pg_wal/` once a checkpoint has written everything out, or the SQLite
/// file with its WAL.
fn store_bytes(db: &Path) -> Vec<PathBuf> {
    if !on_postgres() {
        return store_files(db);
    }
    let mut client = postgres::Client::connect(db.to_str().unwrap(), postgres::NoTls).unwrap();
    // PostgreSQL as a deployment runs it: fsync and full-page writes on
    // (the conformance cluster turns fsync off; `Defaults` turns it back
    // on for this binary's tests).
    let settings: Vec<String> = ["fsync", "full_page_writes"]
        .iter()
        .map(|name| {
            client
                .query_one(&format!("SHOW {name}"), &[])
                .unwrap()
                .get(0)
        })
        .collect();
    assert_eq!(settings, ["on", "on"]);
    client.batch_execute("CHECKPOINT").unwrap();
    // All of base/ (every database of the cluster) and the whole WAL.
    let data = PathBuf::from(
        std::env::var_os("FIELDCHECK_TEST_PGDATA")
            .expect("scripts/with-postgres.sh names the data directory"),
    );
    let mut files = files_under(&data.join("base"));
    files.extend(files_under(&data.join("pg_wal")));
    assert!(
        files
            .iter()
            .any(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0)),
        "{} must be readable to the tests (run them as root or as postgres)",
        data.display()
    );
    files
}

/// PostgreSQL's defaults for fsync while any test of this binary runs (the
/// conformance cluster turns it off in its configuration file; `ALTER
/// SYSTEM` overrides that file, and a reload applies it).
struct Defaults(Option<String>);

static USERS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

impl Defaults {
    fn on(db: &Path) -> Defaults {
        if !on_postgres() {
            return Defaults(None);
        }
        let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
        let url = db.to_str().unwrap().to_string();
        if *users == 0 {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            // (one statement a call: ALTER SYSTEM refuses a transaction block)
            client.batch_execute("ALTER SYSTEM SET fsync = on").unwrap();
            client.batch_execute("SELECT pg_reload_conf()").unwrap();
            // The reload reaches new sessions at once, and the checkpointer
            // soon after.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let mut fresh = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let fsync: String = fresh.query_one("SHOW fsync", &[]).unwrap().get(0);
                if fsync == "on" {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "fsync stayed {fsync}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        *users += 1;
        Defaults(Some(url))
    }
}

impl Drop for Defaults {
    fn drop(&mut self) {
        let Some(url) = &self.0 else { return };
        let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
        *users -= 1;
        if *users == 0
            && let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls)
        {
            let _ = client.batch_execute("ALTER SYSTEM RESET fsync");
            let _ = client.batch_execute("SELECT pg_reload_conf()");
        }
    }
}

fn needles(texts: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for text in texts {
        for (label, bytes) in text_encodings(text) {
            out.push((format!("{text:?} as {label}"), bytes));
        }
    }
    out
}

#[test]
fn personal_values_reach_no_file_of_a_sealing_server_store_in_clear() {
    let dir = TempDir::new().unwrap();
    let key = new_key(&dir, "master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&key).unwrap();
        assert_eq!((meta.len(), meta.permissions().mode() & 0o777), (32, 0o600));
    }
    let before = std::fs::read(&key).unwrap();
    let again = cli(
        Path::new("unused.db"),
        &["keys", "init", "--out", key.to_str().unwrap()],
        None,
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "an existing key is never overwritten"
    );

    // Distinctive values, new in every run.
    let tag = format!("{:08x}", rand_tag());
    let name = format!("Siti Rahayu {tag}");
    let site_reason = format!("branch audit {tag}");
    let agent_reason = format!("mock location suspected {tag}");
    let view_reason = format!("checking the spoofing report {tag}");
    let note = format!("seen at the client's office {tag}");
    let contact = format!("Data Protection Officer {tag}");
    let email = format!("dpo-{tag}@asuransi.example");

    let db = server_store(&dir);
    let _defaults = Defaults::on(&db);
    let t0 = "2026-01-05T00:30:00Z";
    let clock = dir.path().join("clock");
    std::fs::write(&clock, t0).unwrap();
    let server = Server::start(
        &db,
        &[
            "--master-key-file",
            key.to_str().unwrap(),
            "--clock-file",
            clock.to_str().unwrap(),
        ],
    );
    let sites = dir.path().join("sites.geojson");
    std::fs::write(&sites, SITES).unwrap();
    keyed(&db, &key, t0, &["site", "import", sites.to_str().unwrap()]);
    // Through the CLI: a display name, the controller, a site flag.
    keyed(
        &db,
        &key,
        t0,
        &["agent", "name", "--agent", "a1", "--name", &name],
    );
    keyed(
        &db,
        &key,
        t0,
        &[
            "settings",
            "controller",
            "--name",
            "PT Asuransi Contoh",
            "--contact",
            &contact,
            "--email",
            &email,
            "--phone",
            "+62 21 555 0100",
            "--address",
            "Jl. Sudirman 1, Jakarta",
            "--jurisdiction",
            "ID",
            "--policy-url",
            "https://asuransi.example/privacy",
        ],
    );
    keyed(
        &db,
        &key,
        t0,
        &[
            "audit",
            "flag",
            "--site",
            "hq",
            "--purpose",
            "audit",
            "--reason",
            &site_reason,
            "--until",
            "2026-01-05T06:00:00Z",
        ],
    );
    add_keyed_user(&db, &key, "sup-1", "supervisor", "a1");

    // Through the console: an agent flag.
    let mut browser = Browser::new(&server);
    assert_eq!(browser.sign_in("sup-1", PASSWORD).status, 303);
    let csrf = browser.get("/flags").csrf();
    let set = browser.post(
        "/flags",
        &[
            ("csrf_token", &csrf),
            ("agent", "a1"),
            ("purpose", "security"),
            ("reason", &agent_reason),
            ("until", "2026-01-05T06:00"),
        ],
    );
    assert_eq!(set.status, 303, "{}", set.body);

    // A device's push: a check-in kept under the flag.
    let phone = dir.path().join("phone.db");
    let at = |now: &str, args: &[&str]| {
        let mut all = vec!["--json", "--now", now];
        all.extend_from_slice(args);
        cli(&phone, &all, None).ok()
    };
    at(
        t0,
        &[
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ],
    );
    let code = keyed(&db, &key, t0, &["device", "enrol-code", "--agent", "a1"]).json()["code"]
        .as_str()
        .unwrap()
        .to_string();
    at(
        t0,
        &["device", "enrol", "--server", &server.url, "--code", &code],
    );
    at(t0, &["sync", "pull"]);
    let t1 = "2026-01-05T00:40:00Z";
    std::fs::write(&clock, t1).unwrap();
    let kept = at(
        t1,
        &[
            "check-in",
            "--agent",
            "a1",
            "--lat",
            FIX.0,
            "--lon",
            FIX.1,
            "--accuracy",
            "8",
            "--at",
            t1,
        ],
    )
    .json();
    assert_eq!(kept["location_retained"], true, "{kept}");
    at(t1, &["sync", "push"]);

    // The console: the coordinates shown with a reason, and a review note.
    let day = browser.get("/agents/a1/days/2026-01-05");
    let event_id = kept["event_id"].as_str().unwrap();
    let shown = browser.post(
        "/agents/a1/days/2026-01-05/location",
        &[
            ("csrf_token", &day.csrf()),
            ("event_id", event_id),
            ("reason", &view_reason),
        ],
    );
    assert_eq!(shown.status, 200);
    assert!(
        shown.body.contains(&format!("{}, {}", FIX.0, FIX.1)),
        "{}",
        shown.body
    );
    let decided = browser.post(
        "/agents/a1/days/2026-01-05/review",
        &[
            ("csrf_token", &day.csrf()),
            ("decision", "approve"),
            ("note", &note),
        ],
    );
    assert_eq!(decided.status, 303, "{}", decided.body);
    let log_path = server.log.clone();
    assert_eq!(server.terminate().code(), Some(0));
    // Nothing personal, and no key, in the server's log.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let key_hex: String = before.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [
        name.as_str(),
        &agent_reason,
        &view_reason,
        &note,
        &contact,
        FIX.0,
        &key_hex,
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }

    // The control: every value reads back in clear.
    let names = keyed(&db, &key, t1, &["agent", "list"]).json_lines();
    assert!(
        names.iter().any(|a| a["name"] == name.as_str()),
        "{names:?}"
    );
    let flags = keyed(&db, &key, t1, &["audit", "list"]).json_lines();
    for reason in [&site_reason, &agent_reason] {
        assert!(
            flags.iter().any(|f| f["reason"] == reason.as_str()),
            "{flags:?}"
        );
    }
    let reviews = keyed(&db, &key, t1, &["reviews", "--agent", "a1"]).json_lines();
    assert!(
        reviews.iter().any(|r| r["note"] == note.as_str()),
        "{reviews:?}"
    );
    let settings = keyed(&db, &key, t1, &["settings", "show"]).stdout;
    assert!(
        settings.contains(&contact) && settings.contains(&email),
        "{settings}"
    );
    let export = keyed(&db, &key, t1, &["privacy", "export", "--agent", "a1"]).stdout;
    assert!(
        export.contains("-6.214323"),
        "the export holds the kept fix: {export}"
    );
    assert_eq!(keyed(&db, &key, t1, &["verify"]).json()["intact"], true);

    // No file holds any of them in clear. The site's name (not personal,
    // never sealed) is found: the scan reads the store's bytes.
    let files = store_bytes(&db);
    assert!(
        !find_in(&files, &needles(&["Jakarta head office"])).is_empty(),
        "self-check: the scan finds what is stored in clear"
    );
    let mut wanted = needles(&[
        &name,
        &site_reason,
        &agent_reason,
        &view_reason,
        &note,
        &contact,
        &email,
    ]);
    // Every text form and the 8-byte IEEE doubles; the 4-byte forms (f32,
    // scaled i32) would turn up by chance in a gigabyte of PostgreSQL's
    // files, so there they are left out (the SQLite pass keeps them all).
    wanted.extend(
        coordinate_needles(&[(-6.214323, 106.822517)])
            .into_iter()
            .filter(|(_, bytes)| !on_postgres() || bytes.len() >= 7),
    );
    let found = find_in(&files, &wanted);
    assert!(found.is_empty(), "in clear: {found:#?}");
}

/// A sealing server store (its key made by `keys init`) where a1 has a
/// display name: (key, store, the time it was written).
fn a_named_agent(dir: &TempDir) -> (PathBuf, PathBuf, &'static str) {
    let key = new_key(dir, "master.key");
    let db = server_store(dir);
    let t0 = "2026-01-05T00:30:00Z";
    keyed(
        &db,
        &key,
        t0,
        &["agent", "name", "--agent", "a1", "--name", "Siti Rahayu"],
    );
    (key, db, t0)
}

/// A console user on a store sealed under `key`.
fn add_keyed_user(db: &Path, key: &Path, id: &str, role: &str, team: &str) {
    common::add_user_with(
        db,
        &["--master-key-file", key.to_str().unwrap()],
        id,
        role,
        team,
    );
}

/// `keys rotate` from `old` to `new`, expecting exit 0.
fn rotate(db: &Path, old: &Path, new: &Path) -> Run {
    cli(
        db,
        &[
            "--json",
            "keys",
            "rotate",
            "--master-key-file",
            old.to_str().unwrap(),
            "--new-master-key-file",
            new.to_str().unwrap(),
        ],
        None,
    )
    .ok()
}

/// Random bits for the run's distinctive values.
fn rand_tag() -> u32 {
    let key = MasterKey::generate();
    let check = key.check_value(0);
    u32::from_le_bytes(check[1..5].try_into().unwrap())
}

/// The erased agent's data keys as stored: (key id, epoch, wrapped).
fn data_keys_of(db: &Path, agent: &str) -> Vec<(String, i64, Vec<u8>)> {
    let sql = "SELECT key_id, epoch, wrapped FROM data_keys
               WHERE subject_kind = 'agent' AND subject = $1 ORDER BY key_id";
    if on_postgres() {
        let mut client = postgres::Client::connect(db.to_str().unwrap(), postgres::NoTls).unwrap();
        client
            .query(sql, &[&agent])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    } else {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn.prepare(&sql.replace("$1", "?1")).unwrap();
        stmt.query_map([agent], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// How many copies of the keys `ids` wrapped under `master` at `epoch`
/// the files hold: each near an occurrence of its id (a row, a WAL record).
fn wrapped_copies(files: &[PathBuf], ids: &[String], master: &MasterKey, epoch: i64) -> usize {
    const WRAPPED: usize = 61;
    let mut copies = 0;
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        for id in ids {
            for start in memchr::memmem::find_iter(&bytes, id.as_bytes()) {
                let end = (start + 400).min(bytes.len());
                for i in start..end.saturating_sub(WRAPPED) {
                    if master.unwrap(&bytes[i..i + WRAPPED], id, epoch).is_ok() {
                        copies += 1;
                    }
                }
            }
        }
    }
    copies
}

#[test]
fn erasure_and_rotation_leave_no_readable_copy_of_an_erased_agents_keys() {
    let dir = TempDir::new().unwrap();
    let old = new_key(&dir, "old.key");
    let db = server_store(&dir);
    let _defaults = Defaults::on(&db);
    let t0 = "2026-01-05T00:30:00Z";
    for (agent, name) in [("a1", "Rudi Hartono"), ("a2", "Dewi Lestari")] {
        keyed(
            &db,
            &old,
            t0,
            &["agent", "name", "--agent", agent, "--name", name],
        );
        keyed(
            &db,
            &old,
            t0,
            &[
                "review",
                "--agent",
                agent,
                "--date",
                "2026-01-05",
                "--reject",
                "--note",
                &format!("note about {name}"),
            ],
        );
    }
    let erased = data_keys_of(&db, "a1");
    assert_eq!(erased.len(), 2, "a name key and a review key: {erased:?}");
    // Control: they open with the current master key.
    let old_key = MasterKey::read(&old).unwrap();
    for (id, epoch, wrapped) in &erased {
        assert!(old_key.unwrap(wrapped, id, *epoch).is_ok());
    }
    let ids: Vec<String> = erased.iter().map(|(id, ..)| id.clone()).collect();

    let report = keyed(&db, &old, t0, &["privacy", "erase", "--agent", "a1"]).json();
    let shredded = report["erased"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "data_keys")
        .map(|e| e["count"].as_u64().unwrap());
    assert_eq!(shredded, Some(2), "{report}");
    assert!(data_keys_of(&db, "a1").is_empty());

    let new = new_key(&dir, "new.key");
    let rotated = rotate(&db, &old, &new).json();
    assert_eq!(rotated["epoch"], 2, "{rotated}");
    assert_eq!(rotated["rewrapped"], 2, "a2's two keys: {rotated}");

    // The old key is now a wrong key: refused before anything is written.
    let refused = cli(
        &db,
        &["--master-key-file", old.to_str().unwrap(), "agent", "list"],
        None,
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("does not open"),
        "{}",
        refused.stderr
    );
    // (without a key, or with the one the environment names, which is not
    // this store's either)
    let without = cli(&db, &["agent", "list"], None);
    assert_eq!(without.code, 2, "{}", without.stderr);
    // Every value of the agent not erased opens with the new key.
    let status = keyed(&db, &new, t0, &["keys", "status"]).json();
    assert_eq!(
        (status["epoch"].as_i64(), status["data_keys"].as_i64()),
        (Some(2), Some(2))
    );
    let names = keyed(&db, &new, t0, &["agent", "list"]).json_lines();
    let name_of = |agent: &str| {
        names
            .iter()
            .find(|a| a["agent"] == agent)
            .map(|a| a["name"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(name_of("a2"), "Dewi Lestari");
    assert_eq!(name_of("a1"), Value::Null);
    let reviews = keyed(&db, &new, t0, &["reviews", "--agent", "a2"]).json_lines();
    assert_eq!(reviews[0]["note"], "note about Dewi Lestari");
    assert_eq!(keyed(&db, &new, t0, &["verify"]).json()["intact"], true);

    // No copy of a1's keys wrapped under the new epoch exists anywhere.
    let files = store_bytes(&db);
    let new_key = MasterKey::read(&new).unwrap();
    assert_eq!(wrapped_copies(&files, &ids, &new_key, 2), 0);
    // Copies under the old key remain where the engine keeps old rows
    // (PostgreSQL's dead tuples and WAL: the scan finds them, so it would
    // find new ones), and are unreadable once the old key is destroyed;
    // SQLite's secure_delete leaves none.
    let old_copies = wrapped_copies(&files, &ids, &old_key, 1);
    if on_postgres() {
        assert!(old_copies > 0, "self-check: the old copies are found");
    } else {
        assert_eq!(old_copies, 0);
    }
}

#[test]
fn an_instance_whose_master_key_was_rotated_away_answers_503_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let (key, db, t0) = a_named_agent(&dir);
    add_keyed_user(&db, &key, "boss", "admin", "");
    let server = Server::start(&db, &["--master-key-file", key.to_str().unwrap()]);
    let mut browser = Browser::new(&server);
    assert_eq!(browser.sign_in("boss", PASSWORD).status, 303);
    let page = browser.get("/agents/a1");
    assert_eq!(page.status, 200);

    // Rotated while the instance runs (every instance should have been
    // stopped first).
    let second = new_key(&dir, "second.key");
    rotate(&db, &key, &second);

    // Its next write is refused, and it says why, as it does from then on
    // to every request, the health check included.
    let renamed = browser.post(
        "/agents/a1/name",
        &[("csrf_token", &page.csrf()), ("name", "Someone Else")],
    );
    assert_eq!(renamed.status, 503, "{}", renamed.body);
    assert!(renamed.body.contains("rotated"), "{}", renamed.body);
    let health = answer(http().get(format!("{}/healthz", server.url)).call());
    assert_eq!(health.status, 503);
    assert!(
        health.body["detail"].as_str().unwrap().contains("rotated"),
        "{}",
        health.body
    );
    drop(server);

    // Nothing was written; the new key reads the name as it was.
    let names = keyed(&db, &second, t0, &["agent", "list"]).json_lines();
    assert_eq!(names[0]["name"], "Siti Rahayu", "{names:?}");
}

#[test]
fn a_server_without_its_master_key_or_with_another_stops_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let (key, db, t0) = a_named_agent(&dir);
    let other = new_key(&dir, "other.key");
    let short = dir.path().join("short.key");
    std::fs::write(&short, b"not a key").unwrap();
    for (given, says) in [
        (None, "master key"),
        (Some(&other), "does not open"),
        (Some(&short), "32 random bytes"),
    ] {
        let mut command = std::process::Command::new(SERVER);
        // (the environment's key, in the PostgreSQL pass, is not this
        // store's either)
        command
            .env_remove("FIELDCHECK_MASTER_KEY_FILE")
            .arg("--db")
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"]);
        if let Some(path) = given {
            command.arg("--master-key-file").arg(path);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{given:?}: {stderr}");
        assert!(stderr.contains(says), "{given:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "{given:?}: it never served"
        );
    }
    // Nothing was written: the store opens with its key, as it was.
    let names = keyed(&db, &key, t0, &["agent", "list"]).json_lines();
    assert_eq!(names[0]["name"], "Siti Rahayu");
    assert_eq!(keyed(&db, &key, t0, &["verify"]).json()["intact"], true);
}
