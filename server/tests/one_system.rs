//! One system across the wire (PRODUCT.md §12.2, issue 22), end to end:
//! the real server on 127.0.0.1 (its clock read from a file, so days pass
//! in seconds) and the real CLI as the phones and the admins.
//!
//! - A device speaks only for its agent: the enrolled store refuses what
//!   its server would refuse, the server refuses a batch holding it whole
//!   (403 agent-mismatch, counted, nothing stored), `device enrol` refuses
//!   a store whose outbox holds it, a file import applies the same binding.
//! - What the server decides reaches the phone and changes what it does: a
//!   flag (console and CLI), a site, a shift, the rules, a policy, a
//!   restriction; coordinates kept under the flag reach the console's
//!   logged view and leave no byte in the server's files after its own
//!   purge.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use fieldcheck_core::byte_scan::find_coordinates;
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "correct horse battery";

/// A second site, 660 km from the first.
const BRANCH: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature",
   "geometry": {"type": "Point", "coordinates": [112.7425, -7.2655]},
   "properties": {"id": "branch", "name": "Surabaya branch", "radius_m": 150}}]}"#;

/// Inside the test site's 100 m fence (52 m from its centre, -6.2146,
/// 106.8229), at coordinates no table holds otherwise in any rounding.
const FLAGGED_FIX: (&str, &str) = ("-6.214323", "106.822517");

/// The server's clock, a file it reads at every request.
struct Clock(PathBuf);

impl Clock {
    fn new(dir: &TempDir, at: &str) -> Clock {
        let clock = Clock(dir.path().join("clock"));
        clock.set(at);
        clock
    }
    fn set(&self, at: &str) {
        std::fs::write(&self.0, at).unwrap();
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

/// `fieldcheck --now AT ARGS` on `db`, expecting exit 0.
fn at(db: &Path, now: &str, args: &[&str]) -> Run {
    let mut all = vec!["--json", "--now", now];
    all.extend_from_slice(args);
    cli(db, &all, None).ok()
}

/// A check-in or -out at `place`, captured and recorded at `now`.
fn fix(db: &Path, now: &str, kind: &str, place: (&str, &str)) -> Value {
    at(
        db,
        now,
        &[
            kind,
            "--agent",
            "a1",
            "--lat",
            place.0,
            "--lon",
            place.1,
            "--accuracy",
            "8",
            "--at",
            now,
        ],
    )
    .json()
}

/// A phone of `a1` enrolled with the server and given location consent.
fn phone(dir: &TempDir, name: &str, server: &Server, server_db: &Path, now: &str) -> PathBuf {
    let db = dir.path().join(name);
    at(
        &db,
        now,
        &[
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ],
    );
    let code = enrol_code(server_db, "a1");
    at(
        &db,
        now,
        &["device", "enrol", "--server", &server.url, "--code", &code],
    );
    db
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Runs `f` on a phone's store with its server link taken away and put
/// back after: what an old or tampered build could record.
fn unbound(db: &Path, f: impl FnOnce()) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE TABLE saved_link AS SELECT * FROM server_link; DELETE FROM server_link;",
    )
    .unwrap();
    f();
    conn.execute_batch("INSERT INTO server_link SELECT * FROM saved_link; DROP TABLE saved_link;")
        .unwrap();
}

fn metric(server: &Server, line_start: &str) -> f64 {
    let text = http()
        .get(format!("{}/metrics", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[test]
fn a_device_speaks_only_for_its_agent() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let now = "2026-01-05T01:00:00Z";
    let clock = Clock::new(&dir, now);
    let server = Server::start(&server_db, &["--clock-file", clock.arg()]);
    let sites = write(&dir, "sites.geojson", SITES);
    at(&server_db, now, &["site", "import", &sites]);

    // The enrolled store refuses to record what the server would refuse
    // (exit 3), and leaves the server's configuration to the server (exit 2).
    let device = phone(&dir, "device.db", &server, &server_db, now);
    at(&device, now, &["sync", "pull"]);
    let own = fix(&device, now, "check-in", ("-6.2146", "106.8229"));
    assert_eq!(own["accepted"], true);
    for (args, code) in [
        (
            vec![
                "check-in",
                "--agent",
                "a2",
                "--lat",
                "-6.2146",
                "--lon",
                "106.8229",
                "--accuracy",
                "8",
            ],
            3,
        ),
        (
            vec!["consent", "grant", "--agent", "a2", "--permission", "push"],
            3,
        ),
        (
            vec!["lead", "add", "--agent", "a2", "--name", "Budi Santoso"],
            3,
        ),
        (
            vec![
                "--role",
                "supervisor",
                "review",
                own["event_id"].as_str().unwrap(),
                "--approve",
                "--note",
                "fine",
            ],
            3,
        ),
        (
            vec![
                "audit",
                "flag",
                "--agent",
                "a1",
                "--purpose",
                "audit",
                "--reason",
                "x",
                "--until",
                "2026-01-06T00:00:00Z",
            ],
            2,
        ),
        (vec!["site", "import", &sites], 2),
        (vec!["settings", "rules", "--late-grace-min", "5"], 2),
        (
            vec![
                "shift",
                "set",
                "--agent",
                "a1",
                "--start",
                "08:00",
                "--end",
                "17:00",
                "--days",
                "mon-fri",
                "--tz",
                "Asia/Jakarta",
            ],
            2,
        ),
        (vec!["policy", "publish", "--version", "2"], 2),
        (vec!["privacy", "restrict", "--agent", "a1"], 2),
    ] {
        let mut all = vec!["--now", now];
        all.extend(args.iter().copied());
        let run = cli(&device, &all, None);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        if code == 2 {
            assert!(run.stderr.contains(&server.url), "{args:?}: {}", run.stderr);
        }
    }
    let pushed = at(&device, now, &["sync", "push"]).json();
    assert_eq!(pushed["pending"], 0);

    // Batches about another agent, or a supervisor's act made on a phone:
    // refused whole, 403, nothing stored; the phone's own batch before it
    // went through.
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "another agent's attendance",
            vec![
                "check-in",
                "--agent",
                "a2",
                "--lat",
                "-6.2146",
                "--lon",
                "106.8229",
                "--accuracy",
                "8",
            ],
        ),
        (
            "another agent's consent",
            vec![
                "consent",
                "grant",
                "--agent",
                "a2",
                "--permission",
                "location",
            ],
        ),
        (
            "another agent's lead",
            vec!["lead", "add", "--agent", "a2", "--name", "Budi Santoso"],
        ),
        (
            "another agent's transaction",
            vec![
                "txn",
                "add",
                "--agent",
                "a2",
                "--kind",
                "premium_payment",
                "--policy-number",
                "P-9",
                "--product",
                "motor",
                "--amount",
                "100000",
                "--currency",
                "IDR",
            ],
        ),
        (
            "a review made on the phone",
            vec![
                "--role",
                "supervisor",
                "review",
                "EVENT",
                "--reject",
                "--note",
                "late again",
            ],
        ),
        (
            "a flag made on the phone",
            vec![
                "audit",
                "flag",
                "--agent",
                "a1",
                "--purpose",
                "audit",
                "--reason",
                "mine",
                "--until",
                "2026-01-06T00:00:00Z",
            ],
        ),
    ];
    let refused_before = metric(
        &server,
        "fieldcheck_sync_refusals_total{type=\"agent-mismatch\"}",
    );
    for (i, (what, args)) in cases.iter().enumerate() {
        let db = phone(&dir, &format!("bad-{i}.db"), &server, &server_db, now);
        at(&db, now, &["sync", "pull"]);
        let mine = fix(&db, now, "check-in", ("-6.2146", "106.8229"));
        unbound(&db, || {
            let args: Vec<&str> = args
                .iter()
                .map(|a| {
                    if *a == "EVENT" {
                        mine["event_id"].as_str().unwrap()
                    } else {
                        a
                    }
                })
                .collect();
            let mut all = vec!["--now", now];
            all.extend(args);
            cli(&db, &all, None).ok();
        });
        let device_id = at(&db, now, &["sync", "status"]).json()["device_id"]
            .as_str()
            .unwrap()
            .to_string();
        let push = cli(&db, &["--now", now, "sync", "push", "--limit", "1"], None);
        assert_eq!(push.code, 3, "{what}: {}", push.stderr);
        assert!(
            push.stderr.contains("agent-mismatch"),
            "{what}: {}",
            push.stderr
        );
        // Its own events up to the refused one are on the server, and
        // nothing after.
        let status = at(&db, now, &["sync", "status"]).json();
        let held = cli(&server_db, &["--json", "device", "list"], None)
            .ok()
            .json_lines()
            .into_iter()
            .find(|d| d["device_id"] == device_id.as_str())
            .unwrap();
        assert_eq!(held["acked_seq"], status["acked_seq"], "{what}");
        assert_eq!(status["pending"], 1, "{what}");
        let theirs = cli(&server_db, &["--json", "events", "--agent", "a2"], None).ok();
        assert!(theirs.stdout.trim().is_empty(), "{what}: {}", theirs.stdout);

        // A file of the same batch, imported on the server's store: the
        // same binding.
        if i == 0 {
            let batch = dir.path().join("bad-batch.json");
            cli(
                &db,
                &["sync", "pending", "--out", batch.to_str().unwrap()],
                None,
            )
            .ok();
            let import = cli(
                &server_db,
                &["sync", "import", batch.to_str().unwrap()],
                None,
            );
            assert_eq!(import.code, 3, "{}", import.stderr);
            assert!(import.stderr.contains("agent a1"), "{}", import.stderr);
        }
    }
    let refused = metric(
        &server,
        "fieldcheck_sync_refusals_total{type=\"agent-mismatch\"}",
    );
    assert_eq!(refused - refused_before, cases.len() as f64);

    // `device enrol` looks at the outbox first: another agent's event in it
    // leaves the store unlinked, naming the event; the code is spent.
    let shared = dir.path().join("shared.db");
    at(
        &shared,
        now,
        &[
            "consent",
            "grant",
            "--agent",
            "a2",
            "--permission",
            "location",
        ],
    );
    let code = enrol_code(&server_db, "a1");
    let refused = cli(
        &shared,
        &["device", "enrol", "--server", &server.url, "--code", &code],
        None,
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("event 1 (consent"),
        "{}",
        refused.stderr
    );
    let again = cli(
        &shared,
        &["device", "enrol", "--server", &server.url, "--code", &code],
        None,
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("code"), "{}", again.stderr);
    assert_eq!(cli(&shared, &["sync", "push"], None).code, 2, "not linked");

    // Plain http:// off the loopback address needs --insecure (0.0.0.0
    // reaches the same listener on this machine).
    let port = server.url.rsplit(':').next().unwrap();
    let off_loopback = format!("http://0.0.0.0:{port}");
    let plain = dir.path().join("plain.db");
    let code = enrol_code(&server_db, "a1");
    let run = cli(
        &plain,
        &[
            "device",
            "enrol",
            "--server",
            &off_loopback,
            "--code",
            &code,
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--insecure"), "{}", run.stderr);
    cli(
        &plain,
        &[
            "device",
            "enrol",
            "--server",
            &off_loopback,
            "--code",
            &code,
            "--insecure",
        ],
        None,
    )
    .ok();
    server.terminate();
}

#[test]
fn a_flag_set_on_the_server_reaches_the_phone_and_its_coordinates_the_audit_then_go() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    // Monday 2026-01-05, 07:30 in Jakarta.
    let t0 = "2026-01-05T00:30:00Z";
    let clock = Clock::new(&dir, t0);
    let server = Server::start(
        &server_db,
        &["--clock-file", clock.arg(), "--purge-every-s", "1"],
    );
    let sites = write(&dir, "sites.geojson", SITES);
    at(&server_db, t0, &["site", "import", &sites]);
    // Kept coordinates go with the flag's end.
    at(
        &server_db,
        t0,
        &["settings", "rules", "--audit-retention-days", "0"],
    );
    add_user(&server_db, "sup-1", "supervisor", "a1");
    let device = phone(&dir, "device.db", &server, &server_db, t0);
    let first = at(&device, t0, &["sync", "pull"]).json();
    assert_eq!(first["config_reset"], true);

    // The supervisor flags a1 in the console.
    let mut browser = Browser::new(&server);
    assert_eq!(browser.sign_in("sup-1", PASSWORD).status, 303);
    let csrf = browser.get("/flags").csrf();
    let set = browser.post(
        "/flags",
        &[
            ("csrf_token", &csrf),
            ("agent", "a1"),
            ("purpose", "security"),
            ("reason", "mock location suspected"),
            ("until", "2026-01-05T06:00"),
        ],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    // And a site flag from the CLI, for a quarter of an hour.
    at(
        &server_db,
        t0,
        &[
            "audit",
            "flag",
            "--site",
            "hq",
            "--purpose",
            "audit",
            "--reason",
            "branch audit",
            "--until",
            "2026-01-05T00:45:00Z",
        ],
    );

    let t1 = "2026-01-05T00:35:00Z";
    clock.set(t1);
    let pulled = at(&device, t1, &["sync", "pull"]).json();
    assert_eq!(pulled["config"], 2);
    assert!(pulled["config_cursor"].as_str().unwrap().starts_with("c1."));
    let flags = at(
        &device,
        t1,
        &[
            "--actor", "a1", "--role", "agent", "audit", "list", "--agent", "a1",
        ],
    )
    .json_lines();
    assert_eq!(flags.len(), 2, "{flags:?}");
    let agent_flag = flags
        .iter()
        .find(|f| f["scope"]["kind"] == "agent")
        .unwrap();
    assert_eq!(agent_flag["reason"], "mock location suspected");
    let site_flag = flags.iter().find(|f| f["scope"]["kind"] == "site").unwrap();
    assert!(
        site_flag["reason"].is_null(),
        "a site flag's reason stays on the server"
    );

    // The next check-in under it keeps its coordinates on the phone.
    let t2 = "2026-01-05T00:40:00Z";
    clock.set(t2);
    let kept = fix(&device, t2, "check-in", FLAGGED_FIX);
    assert_eq!(kept["location_retained"], true);
    let pending = at(&device, t2, &["sync", "pending", "--with-locations"]).stdout;
    assert!(pending.contains("\"retained\""));
    assert!(
        !at(&device, t2, &["sync", "pending"])
            .stdout
            .contains("\"retained\""),
        "only with --with-locations"
    );
    at(&device, t2, &["sync", "push"]);

    // The supervisor sees them in the console, with a reason, logged.
    let day = browser.get("/agents/a1/days/2026-01-05");
    assert!(day.body.contains("Show location"), "{}", day.body);
    let marker = "name=\"event_id\" value=\"";
    let start = day.body.find(marker).unwrap() + marker.len();
    let event_id = day.body[start..start + 36].to_string();
    assert_eq!(event_id, kept["event_id"].as_str().unwrap());
    let shown = browser.post(
        "/agents/a1/days/2026-01-05/location",
        &[
            ("csrf_token", &day.csrf()),
            ("event_id", &event_id),
            ("reason", "checking the spoofing report"),
        ],
    );
    assert_eq!(shown.status, 200);
    assert!(
        shown.body.contains("-6.214323, 106.822517"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("This view is logged."));
    let server_events = cli(&server_db, &["--json", "events", "--agent", "a1"], None)
        .ok()
        .json_lines();
    assert_eq!(server_events[0]["location_retained"], true);
    // Control: the coordinates are in the server's files now, while the
    // flag runs (once it has ended, the server's purge, every second here,
    // may remove them at any moment).
    let coordinates = [(-6.214323, 106.822517)];
    // The byte scans read a SQLite store's files; on PostgreSQL the
    // coordinates are sealed, and `tests/sealed.rs` scans its data
    // directory. The rows' lives are checked through the CLI on both
    // engines.
    let scan_files = !on_postgres();
    if scan_files {
        assert!(!find_coordinates(&server_db, &coordinates).is_empty());
    } else {
        eprintln!(
            "skipped on PostgreSQL: this byte scan reads SQLite files (tests/sealed.rs scans PostgreSQL's)"
        );
    }

    // Ended on the server at 07:50; the phone, not yet told, keeps a fix
    // at 07:55 under it; the pull that brings the end deletes it there.
    let flag_id = cli(&server_db, &["--json", "audit", "list"], None)
        .ok()
        .json_lines()
        .into_iter()
        .find(|f| f["scope"]["kind"] == "agent")
        .unwrap()["flag_id"]
        .as_str()
        .unwrap()
        .to_string();
    at(
        &server_db,
        "2026-01-05T00:50:00Z",
        &["audit", "end", &flag_id],
    );
    let t3 = "2026-01-05T00:55:00Z";
    clock.set(t3);
    let after_end = fix(&device, t3, "check-out", FLAGGED_FIX);
    assert_eq!(after_end["location_retained"], true);
    let ended = at(&device, t3, &["sync", "pull"]).json();
    assert_eq!(ended["config_kinds"], serde_json::json!(["flag_end"]));
    let on_phone = at(&device, t3, &["events", "--agent", "a1"]).json_lines();
    let retained: Vec<bool> = on_phone
        .iter()
        .map(|e| e["location_retained"].as_bool().unwrap())
        .collect();
    assert_eq!(
        retained,
        [true, false],
        "kept before the end, deleted after"
    );
    let later = fix(&device, t3, "check-in", FLAGGED_FIX);
    assert_eq!(later["location_retained"], false);
    at(&device, t3, &["sync", "push"]);
    at(&device, t3, &["verify"]);

    // Past retain_until (the end, plus 0 days): the server's own hourly
    // purge (every second here) removes them, bytes and all.
    clock.set("2026-01-05T02:00:00Z");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = cli(&server_db, &["--json", "events", "--agent", "a1"], None)
            .ok()
            .json_lines();
        if events.iter().all(|e| e["location_retained"] == false) {
            break;
        }
        assert!(Instant::now() < deadline, "the server never purged");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(server.terminate().code(), Some(0));
    if scan_files {
        let left = find_coordinates(&server_db, &coordinates);
        assert!(left.is_empty(), "{left:?}");
    }
    let verify = cli(&server_db, &["--json", "verify"], None).ok().json();
    assert_eq!(verify["intact"], true, "{verify}");
}

#[test]
fn sites_shifts_rules_policy_and_restriction_set_on_the_server_change_what_the_phone_does() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let t0 = "2026-01-05T00:30:00Z";
    let clock = Clock::new(&dir, t0);
    let server = Server::start(&server_db, &["--clock-file", clock.arg()]);
    let sites = write(&dir, "sites.geojson", SITES);
    at(&server_db, t0, &["site", "import", &sites]);
    let device = phone(&dir, "device.db", &server, &server_db, t0);
    at(&device, t0, &["sync", "pull"]);
    let branch = ("-7.2655", "112.7425");

    // A site imported on the server: a check-in there counts only after
    // the pull.
    let branch_sites = write(&dir, "branch.geojson", BRANCH);
    at(&server_db, t0, &["site", "import", &branch_sites]);
    assert_eq!(fix(&device, t0, "check-in", branch)["accepted"], false);
    let pulled = at(&device, t0, &["sync", "pull"]).json();
    assert_eq!(pulled["config_kinds"], serde_json::json!(["sites"]));
    assert_eq!(fix(&device, t0, "check-out", branch)["accepted"], true);

    // A shift and a grace set on the server: the phone's lateness and the
    // server's report agree, in the agent's zone.
    at(
        &server_db,
        t0,
        &[
            "shift",
            "set",
            "--agent",
            "a1",
            "--start",
            "08:00",
            "--end",
            "17:00",
            "--days",
            "mon-fri",
            "--tz",
            "Asia/Jakarta",
        ],
    );
    at(
        &server_db,
        t0,
        &["settings", "rules", "--late-grace-min", "5"],
    );
    let pulled = at(&device, t0, &["sync", "pull"]).json();
    assert_eq!(
        pulled["config_kinds"],
        serde_json::json!(["rules", "shift"])
    );
    let rules = at(&device, t0, &["settings", "rules"]).json();
    assert_eq!(rules["rules"]["late_grace_min"], 5);
    // Tuesday, 08:20 in Jakarta (a day after the branch: no impossible
    // travel).
    let t1 = "2026-01-06T01:20:00Z";
    clock.set(t1);
    assert_eq!(
        fix(&device, t1, "check-in", ("-6.2146", "106.8229"))["accepted"],
        true
    );
    at(&device, t1, &["sync", "push"]);
    let day = |db: &Path| {
        let report = at(
            db,
            "2026-01-06T12:00:00Z",
            &[
                "report",
                "attendance",
                "--from",
                "2026-01-06",
                "--to",
                "2026-01-06",
                "--agent",
                "a1",
                "--format",
                "json",
            ],
        )
        .json();
        let day = report["days"][0].clone();
        (
            day["minutes_late"].clone(),
            day["time_zone"].clone(),
            day["status"].clone(),
        )
    };
    let on_phone = day(&device);
    assert_eq!(on_phone.0, 15, "{on_phone:?}");
    assert_eq!(on_phone.1, "Asia/Jakarta");
    assert_eq!(day(&server_db), on_phone);

    // A policy requiring renewal: consent_required until the agent grants
    // again.
    at(
        &server_db,
        t1,
        &[
            "policy",
            "publish",
            "--version",
            "2026-02",
            "--requires-renewal",
        ],
    );
    let pulled = at(&device, t1, &["sync", "pull"]).json();
    assert_eq!(pulled["consent_renewal_required"], true);
    let refused = fix(&device, t1, "check-out", ("-6.2146", "106.8229"));
    assert_eq!(refused["reasons"], serde_json::json!(["consent_required"]));
    at(
        &device,
        t1,
        &[
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ],
    );
    assert_eq!(
        fix(&device, t1, "check-out", ("-6.2146", "106.8229"))["accepted"],
        true
    );

    // A restriction made on the server: restricted until lifted.
    at(&server_db, t1, &["privacy", "restrict", "--agent", "a1"]);
    assert_eq!(
        at(&device, t1, &["sync", "pull"]).json()["restricted"],
        true
    );
    let restricted = fix(&device, t1, "check-in", ("-6.2146", "106.8229"));
    assert_eq!(restricted["reasons"], serde_json::json!(["restricted"]));
    at(&server_db, t1, &["privacy", "unrestrict", "--agent", "a1"]);
    assert_eq!(
        at(&device, t1, &["sync", "pull"]).json()["restricted"],
        false
    );
    at(&device, t1, &["sync", "push"]);

    // Both stores verify; the server's names what was edited behind its back.
    at(&device, t1, &["verify"]);
    at(&server_db, t1, &["verify"]);
    server.terminate();
    for (sql, names) in [
        (
            "UPDATE sync_attendance SET site_id = 'elsewhere'",
            "table sync_attendance",
        ),
        (
            "UPDATE sites SET feature = replace(feature, '150', '900') WHERE id = 'branch'",
            "table sites",
        ),
        (
            "DELETE FROM sync_events WHERE seq = 2",
            "imported chain, event 2",
        ),
    ] {
        // Each edit on a copy of the server's store, on its own engine.
        let copy = if on_postgres() {
            let copy = copy_database(server_db.to_str().unwrap());
            let mut client = postgres::Client::connect(&copy, postgres::NoTls).unwrap();
            client.batch_execute(sql).unwrap();
            PathBuf::from(copy)
        } else {
            let copy = dir.path().join("tampered.db");
            std::fs::copy(&server_db, &copy).unwrap();
            rusqlite::Connection::open(&copy)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
            copy
        };
        let run = cli(&copy, &["verify"], None);
        assert_eq!(run.code, 1, "{sql}: {}", run.stdout);
        assert!(run.stdout.contains(names), "{sql}: {}", run.stdout);
        if !on_postgres() {
            std::fs::remove_file(&copy).unwrap();
        }
    }
}
