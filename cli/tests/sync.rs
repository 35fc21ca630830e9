//! `fieldcheck sync` (PRODUCT.md §9): a device's batches reach a
//! supervisor's store and its reports; batches out of order, replayed,
//! truncated, forged and forked are refused or absorbed as specified; an
//! import killed with SIGKILL loses nothing and its retry completes it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Device A: consent, sites, check-ins on two days (one rejected), a lead.
fn device_a() -> Env {
    let a = Env::with_sites_and_consent(&["a1", "a2"]);
    a.check("check-in", "a1", HQ, "10", &[]);
    a.check("check-in", "a2", HQ_1KM, "10", &[]);
    a.run_at(
        "2026-01-05T10:00:00Z",
        &[
            "check-out",
            "--agent",
            "a1",
            "--lat",
            HQ.0,
            "--lon",
            HQ.1,
            "--accuracy",
            "10",
        ],
    )
    .ok();
    a.run_at(
        "2026-01-06T02:00:00Z",
        &[
            "check-in",
            "--agent",
            "a1",
            "--lat",
            HQ.0,
            "--lon",
            HQ.1,
            "--accuracy",
            "10",
        ],
    )
    .ok();
    a.run(&[
        "lead",
        "add",
        "--agent",
        "a1",
        "--name",
        "Budi Santoso",
        "--phone",
        "+62 811 2222 3333",
        "--product",
        "health",
    ])
    .ok();
    a
}

fn device_id(env: &Env) -> String {
    env.run(&["--json", "sync", "status"]).ok().json()["device_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `sync pending` as printed.
fn pending(env: &Env, limit: &str) -> String {
    env.run(&["sync", "pending", "--limit", limit]).ok().stdout
}

/// Writes `batch` into `into`'s directory and imports it there.
fn import(into: &Env, batch: &str) -> Run {
    let path = into.write("batch.json", batch);
    into.run(&["--json", "sync", "import", path.to_str().unwrap()])
}

fn report_days(env: &Env) -> Value {
    let run = env
        .run(&[
            "--role",
            "supervisor",
            "--actor",
            "sup",
            "report",
            "attendance",
            "--from",
            "2026-01-04",
            "--to",
            "2026-01-08",
            "--format",
            "json",
        ])
        .ok();
    run.json()["days"].clone()
}

fn assert_intact(env: &Env) {
    let verify = env.run(&["--json", "verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert_eq!(verify.json()["intact"], true);
}

/// The refusal's message, after checking exit 2 and the error kind.
#[track_caller]
fn refused(run: Run) -> String {
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let error: Value = serde_json::from_str(&run.stderr).unwrap();
    assert_eq!(error["error"]["kind"], "invalid_input");
    error["error"]["message"].as_str().unwrap().to_string()
}

fn edit(batch: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(batch).unwrap();
    f(&mut value);
    serde_json::to_string(&value).unwrap()
}

#[test]
fn a_devices_days_show_in_the_supervisors_report_and_a_replay_is_absorbed() {
    let a = device_a();
    let b = Env::server();
    let batch = pending(&a, "1000");
    let parsed: Value = serde_json::from_str(&batch).unwrap();
    assert_eq!(parsed["format"], "fieldcheck-sync");
    assert_eq!(parsed["version"], 2);
    assert_eq!(parsed["device_id"], device_id(&a).as_str());
    // Two consents, four check-ins and -outs, one lead.
    assert_eq!(parsed["events"].as_array().unwrap().len(), 7);
    // The lead's name and phone travel as digests only. (Not a bare "2222":
    // hex digests and ids contain it by chance, about one batch in thirty.)
    assert!(!batch.contains("Budi") && !batch.contains("2222 3333") && !batch.contains("22223333"));

    let days = report_days(&a);
    assert!(days.as_array().unwrap().len() >= 2, "{days}");
    assert_eq!(report_days(&b), Value::Array(vec![]));
    let report = import(&b, &batch).ok().json();
    assert_eq!(report["imported"], 7);
    assert_eq!(report["skipped_replayed"], 0);
    assert_eq!(report["devices"][0]["last_seq"], 7);
    assert_eq!(report_days(&b), days);
    assert_intact(&b);

    let replay = import(&b, &batch).ok().json();
    assert_eq!(replay["imported"], 0);
    assert_eq!(replay["skipped_replayed"], 7);
    assert_eq!(report_days(&b), days);
    assert_eq!(b.count("sync_events"), 7);

    // The device's next batch continues the chain.
    a.run(&["sync", "ack", "--up-to", "7"]).ok();
    a.run_at(
        "2026-01-06T10:00:00Z",
        &[
            "check-out",
            "--agent",
            "a1",
            "--lat",
            HQ.0,
            "--lon",
            HQ.1,
            "--accuracy",
            "10",
        ],
    )
    .ok();
    let next = pending(&a, "1000");
    assert_eq!(import(&b, &next).ok().json()["imported"], 1);
    assert_eq!(report_days(&b), report_days(&a));
    assert_intact(&b);
    assert_intact(&a);
}

#[test]
fn batches_out_of_order_are_refused_as_gaps_then_accepted_in_order() {
    let a = device_a();
    let b = Env::server();
    let device = device_id(&a);
    let first = pending(&a, "3");
    a.run(&["sync", "ack", "--up-to", "3"]).ok();
    let second = pending(&a, "3");
    a.run(&["sync", "ack", "--up-to", "6"]).ok();
    let third = pending(&a, "3");

    let message = refused(import(&b, &second));
    assert!(message.contains(&device), "{message}");
    assert!(
        message.contains("event 1") && message.contains("has 4"),
        "{message}"
    );
    assert_eq!(b.count("sync_events"), 0);
    import(&b, &first).ok();
    let message = refused(import(&b, &third));
    assert!(
        message.contains("event 4") && message.contains("has 7"),
        "{message}"
    );
    import(&b, &second).ok();
    import(&b, &third).ok();
    assert_eq!(b.count("sync_events"), 7);
    assert_eq!(report_days(&b), report_days(&a));
    assert_intact(&b);
}

#[test]
fn truncated_and_forged_batches_are_refused_naming_device_and_seq() {
    let a = device_a();
    let b = Env::server();
    let device = device_id(&a);
    let batch = pending(&a, "1000");

    // Events cut from the middle: a gap.
    let cut = edit(&batch, |v| {
        v["events"].as_array_mut().unwrap().remove(3);
    });
    let message = refused(import(&b, &cut));
    assert!(
        message.contains(&device) && message.contains("event 4"),
        "{message}"
    );
    // The document cut short: not a batch.
    for len in [10, batch.len() / 2, batch.len() - 3] {
        let message = refused(import(&b, &batch[..len]));
        assert!(message.contains("batch"), "{message}");
    }

    // One changed byte in a payload (a rejection made an acceptance would
    // need more; any byte will do).
    let forged = edit(&batch, |v| {
        let text = v["events"][3]["canonical"].as_str().unwrap();
        let at = text.find("\"captured_at\":").unwrap() + 15;
        let mut bytes = text.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'9' {
            b'8'
        } else {
            bytes[at] + 1
        };
        v["events"][3]["canonical"] = String::from_utf8(bytes).unwrap().into();
    });
    let message = refused(import(&b, &forged));
    assert!(
        message.contains(&device) && message.contains("event 4") && message.contains("altered"),
        "{message}"
    );
    // One changed hex digit in a hash.
    let forged = edit(&batch, |v| {
        let hash = v["events"][5]["hash"].as_str().unwrap();
        let flipped = if hash.ends_with('0') { '1' } else { '0' };
        v["events"][5]["hash"] = format!("{}{flipped}", &hash[..63]).into();
    });
    let message = refused(import(&b, &forged));
    assert!(
        message.contains(&device) && message.contains("event 6"),
        "{message}"
    );

    assert_eq!(b.count("sync_events"), 0);
    assert_eq!(report_days(&b), Value::Array(vec![]));
    import(&b, &batch).ok();
    assert_intact(&b);
}

/// Copies a closed store file (with its WAL, if any).
fn copy_store(from: &Env, to: &Env) {
    std::fs::copy(&from.db, &to.db).unwrap();
    for suffix in ["-wal", "-shm"] {
        let wal = format!("{}{suffix}", from.db());
        if Path::new(&wal).exists() {
            std::fs::copy(&wal, format!("{}{suffix}", to.db())).unwrap();
        }
    }
}

#[test]
fn a_forked_device_is_refused_naming_device_and_seq() {
    let a = device_a();
    let copy = Env::new();
    copy_store(&a, &copy);
    let device = device_id(&a);
    assert_eq!(device_id(&copy), device);
    // Both append a different event 8.
    a.check("check-in", "a2", HQ, "10", &[]);
    copy.check("check-in", "a1", HQ_EDGE, "10", &[]);
    let original = pending(&a, "1000");
    let forked = pending(&copy, "1000");

    let b = Env::server();
    import(&b, &original).ok();
    let message = refused(import(&b, &forked));
    assert!(message.contains("fork"), "{message}");
    assert!(
        message.contains(&device) && message.contains("event 8"),
        "{message}"
    );
    assert_eq!(b.count("sync_events"), 8);
    assert_intact(&b);
}

#[test]
fn ack_releases_the_outbox_only_forward_and_within_the_chain() {
    let a = device_a();
    let ack = a
        .run(&["--json", "sync", "ack", "--up-to", "5"])
        .ok()
        .json();
    assert_eq!(ack["acked_seq"], 5);
    assert_eq!(ack["pending"], 2);
    let batch: Value = serde_json::from_str(&pending(&a, "1000")).unwrap();
    assert_eq!(batch["from_seq"], 6);
    assert_eq!(batch["events"].as_array().unwrap().len(), 2);
    // The same ack again: nothing changes.
    assert_eq!(
        a.run(&["--json", "sync", "ack", "--up-to", "5"])
            .ok()
            .json(),
        ack
    );
    for bad in ["4", "8", "-1"] {
        let message = refused(a.run(&["--json", "sync", "ack", "--up-to", bad]));
        assert!(message.contains("up_to"), "{message}");
    }
    a.run(&["sync", "ack", "--up-to", "7"]).ok();
    let empty: Value = serde_json::from_str(&pending(&a, "1000")).unwrap();
    assert_eq!(empty["events"], Value::Array(vec![]));
    // A resend from an earlier seq, for an importer restored from a backup.
    let resend: Value = serde_json::from_str(
        &a.run(&["sync", "pending", "--from", "2", "--limit", "2"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        (resend["from_seq"].as_i64(), resend["to_seq"].as_i64()),
        (Some(2), Some(3))
    );
}

#[test]
fn only_admins_ack_and_import_and_supervisors_read_the_outbox() {
    let a = device_a();
    let b = Env::server();
    let batch = pending(&a, "1000");
    let path = b.write("batch.json", &batch);
    let path = path.to_str().unwrap();
    for (role, actor) in [("agent", "a1"), ("supervisor", "sup")] {
        let who = ["--role", role, "--actor", actor];
        let ack = [&who[..], &["sync", "ack", "--up-to", "1"]].concat();
        assert_eq!(a.run(&ack).code, 3);
        let import = [&who[..], &["sync", "import", path]].concat();
        assert_eq!(b.run(&import).code, 3);
        let code = a.run(&[&who[..], &["sync", "pending"]].concat()).code;
        assert_eq!(code, if role == "agent" { 3 } else { 0 }, "{role}");
    }
    assert_eq!(b.count("sync_events"), 0);
    // A store does not import its own batch.
    let own = a.write("own.json", &batch);
    refused(a.run(&["--json", "sync", "import", own.to_str().unwrap()]));
}

/// Agents of `big_device`; each grants location consent first, so its
/// chain holds one consent entry per agent before the attendance.
const BIG_DEVICE_AGENTS: usize = 40;

/// Device A with `events` synthetic attendance events (written through the
/// core, like `bench`), and its whole outbox as one batch file.
fn big_device(events: usize) -> (Env, std::path::PathBuf) {
    let a = Env::new();
    {
        let store = common::open_store(&a.db);
        store
            .load_synthetic_attendance(
                &fieldcheck_core::Actor::admin("cli"),
                &fieldcheck_core::SyntheticAttendance {
                    agents: BIG_DEVICE_AGENTS,
                    events,
                    start: "2026-01-05T00:00:00Z".parse().unwrap(),
                    days: 4,
                    seed: 7,
                    first_agent: 0,
                },
                &|_| {},
            )
            .unwrap();
    }
    let file = a.dir.path().join("big.json");
    a.run(&[
        "sync",
        "pending",
        "--limit",
        "100000",
        "--out",
        file.to_str().unwrap(),
    ])
    .ok();
    (a, file)
}

fn imported(env: &Env) -> i64 {
    if !env.db.exists() {
        return 0;
    }
    env.count("sync_events")
}

#[test]
fn an_import_killed_with_sigkill_loses_nothing_and_its_retry_completes_it() {
    // Chained events: 40 consent entries, then the attendance.
    const EVENTS: usize = 20_000;
    let (a, file) = big_device(EVENTS - BIG_DEVICE_AGENTS);
    let file = file.to_str().unwrap();

    // How long an import takes here before its transaction begins: the
    // device itself reads and checks the whole batch, then refuses its own
    // events without writing.
    let started = Instant::now();
    refused(a.run(&["--json", "sync", "import", file]));
    let before_writing = started.elapsed();
    // And a whole import (a fresh store, same batch).
    let reference = Env::new();
    reference.run(&["sync", "status"]).ok();
    let started = Instant::now();
    let report = reference
        .run(&["--json", "sync", "import", file])
        .ok()
        .json();
    let whole = started.elapsed();
    assert_eq!(report["imported"], EVENTS);
    eprintln!("an import takes {whole:?}, {before_writing:?} of it before writing");
    let writing = whole.saturating_sub(before_writing);

    let seed: u64 = rand::random();
    eprintln!("kill -9 schedule seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    // Timings on a loaded machine vary: an import that finished before its
    // kill proves nothing, so the round starts over on a fresh store with
    // an earlier kill, until kills have landed mid-import.
    let fresh = || {
        let env = Env::new();
        env.run(&["sync", "status"]).ok();
        env
    };
    let mut b = fresh();
    let mut killed_mid_way = 0;
    let mut scale = 1.0;
    for round in 0..16 {
        if killed_mid_way >= 3 {
            break;
        }
        // Kill while the transaction is being written.
        let after = (before_writing + writing.mul_f64(rng.random_range(0.1..0.9))).mul_f64(scale);
        let mut child = Command::new(BIN)
            .args([
                "--db",
                b.db(),
                "--now",
                NOW,
                "--json",
                "sync",
                "import",
                file,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(after);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // All or nothing, and the store is whole.
        let held = imported(&b);
        assert!(
            held == 0 || held == EVENTS as i64,
            "round {round}: {held} events after a kill at {after:?}"
        );
        assert_intact(&b);
        if !finished && held == 0 {
            killed_mid_way += 1;
        } else if held > 0 {
            b = fresh();
            scale *= 0.6;
        }
    }
    assert!(
        killed_mid_way > 0,
        "no kill landed during an import; the batch is too small for this machine"
    );

    // The retry completes it, exactly once.
    let retry = b.run(&["--json", "sync", "import", file]).ok().json();
    let done = retry["imported"].as_u64().unwrap() + retry["skipped_replayed"].as_u64().unwrap();
    assert_eq!(done, EVENTS as u64);
    assert_eq!(imported(&b), EVENTS as i64);
    let again = b.run(&["--json", "sync", "import", file]).ok().json();
    assert_eq!(again["imported"], 0);
    assert_eq!(again["skipped_replayed"], EVENTS);
    assert_eq!(report_days(&b), report_days(&reference));
    assert_intact(&b);
    let conn = rusqlite::Connection::open(&b.db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let distinct: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT event_id) FROM sync_attendance",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(distinct, (EVENTS - BIG_DEVICE_AGENTS) as i64);
}

#[test]
fn coordinates_travel_only_with_locations_and_a_store_that_is_no_server_drops_them() {
    let a = Env::with_sites_and_consent(&["a1"]);
    a.run_at(
        "2026-01-05T01:00:00Z",
        &[
            "audit",
            "flag",
            "--agent",
            "a1",
            "--purpose",
            "security",
            "--reason",
            "spoofing suspected",
            "--until",
            "2026-01-10T00:00:00Z",
        ],
    )
    .ok();
    a.check("check-in", "a1", HQ, "10", &[]);
    let plain = pending(&a, "100");
    assert!(!plain.contains("\"retained\""), "{plain}");
    let with = a
        .run(&["sync", "pending", "--limit", "100", "--with-locations"])
        .ok()
        .stdout;
    let batch: Value = serde_json::from_str(&with).unwrap();
    assert_eq!(batch["version"], 2);
    let retained: Vec<&Value> = batch["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("retained"))
        .collect();
    assert_eq!(retained.len(), 1);
    assert_eq!(retained[0]["lat"].as_f64(), Some(HQ.0.parse().unwrap()));
    assert_eq!(retained[0]["flag_ids"].as_array().unwrap().len(), 1);

    // A supervisor's store is no server: it keeps none, and says so.
    let b = Env::new();
    let imported = import(&b, &with).ok().json();
    assert_eq!(imported["retained_dropped"], 1);
    assert_eq!(imported["retained_kept"], 0);
    let human = b.run(&[
        "sync",
        "import",
        b.write("again.json", &with).to_str().unwrap(),
    ]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let events = b.run(&["--json", "events"]).ok().json_lines();
    assert!(events.iter().all(|e| e["location_retained"] == false));
    assert_intact(&b);
}
