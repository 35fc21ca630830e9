//! PRODUCT.md §12.1–§12.3 end to end: the real server on 127.0.0.1 and the
//! real CLI as the device.

mod common;

use std::collections::HashSet;

use common::*;
use fieldcheck_core::Actor;
use fieldcheck_core::device::{DeviceKeystore, SoftwareKey, to_base64};
use serde_json::{Value, json};
use tempfile::TempDir;

fn admin() -> Actor {
    Actor::admin("test")
}

#[test]
fn a_device_enrols_pushes_and_pulls_the_decisions_made_on_the_server() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let device_db = dir.path().join("device.db");
    let server = Server::start(&server_db, &[]);
    device_store(&device_db, "a1", 3);

    let code = cli(
        &server_db,
        &[
            "--json",
            "device",
            "enrol-code",
            "--agent",
            "a1",
            "--valid-min",
            "5",
        ],
        None,
    )
    .ok()
    .json();
    assert_eq!(code["agent"], "a1");
    assert!(code["expires_at"].as_str().unwrap().ends_with('Z'));
    let code = code["code"].as_str().unwrap().to_string();

    let enrolled = cli(
        &device_db,
        &[
            "--json",
            "device",
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
        ],
        None,
    )
    .ok()
    .json();
    assert_eq!(enrolled["agent"], "a1");
    // One-time: the same code again is bad input (exit 2), nothing changes.
    let again = cli(
        &device_db,
        &[
            "--json",
            "device",
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
        ],
        None,
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("bad-code"), "{}", again.stderr);

    let pushed = cli(
        &device_db,
        &["--json", "sync", "push", "--limit", "2"],
        None,
    )
    .ok()
    .json();
    assert_eq!(
        pushed,
        json!({"batches": 2, "events": 4, "acked_seq": 4, "pending": 0})
    );
    let idle = cli(&device_db, &["--json", "sync", "push"], None)
        .ok()
        .json();
    assert_eq!(
        idle,
        json!({"batches": 0, "events": 0, "acked_seq": 4, "pending": 0})
    );

    let device_id = cli(&device_db, &["--json", "sync", "status"], None)
        .ok()
        .json()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let devices = cli(&server_db, &["--json", "device", "list"], None)
        .ok()
        .json_lines();
    assert_eq!(devices.len(), 1);
    let d = &devices[0];
    assert_eq!(
        (d["device_id"].as_str(), d["agent"].as_str()),
        (Some(device_id.as_str()), Some("a1"))
    );
    assert_eq!(
        (d["acked_seq"].as_i64(), d["revoked"].as_bool()),
        (Some(4), Some(false))
    );
    assert!(d["enrolled_at"].is_string() && d["last_sync_at"].is_string());

    let events = cli(&server_db, &["--json", "events", "--agent", "a1"], None)
        .ok()
        .json_lines();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["device_id"] == device_id.as_str()));
    let late = events[0]["event_id"].as_str().unwrap().to_string();
    cli(
        &server_db,
        &[
            "--actor",
            "sup-1",
            "--role",
            "supervisor",
            "review",
            &late,
            "--reject",
            "--note",
            "left early <b>",
        ],
        None,
    )
    .ok();

    let pulled = cli(&device_db, &["--json", "sync", "pull"], None)
        .ok()
        .json();
    assert_eq!(pulled["decisions"], 1);
    let cursor = pulled["cursor"].as_str().unwrap().to_string();
    let again = cli(&device_db, &["--json", "sync", "pull"], None)
        .ok()
        .json();
    assert_eq!(
        (&again["decisions"], &again["cursor"], &again["config"]),
        (&json!(0), &json!(cursor), &json!(0))
    );
    let reviews = cli(
        &device_db,
        &[
            "--json", "--actor", "a1", "--role", "agent", "reviews", "--agent", "a1",
        ],
        None,
    )
    .ok()
    .json_lines();
    assert_eq!(reviews.len(), 1);
    let r = &reviews[0];
    assert_eq!(r["event_id"], late.as_str());
    assert_eq!(
        (r["decision"].as_str(), r["reviewer"].as_str()),
        (Some("rejected"), Some("sup-1"))
    );
    assert_eq!(r["note"], "left early <b>");
    assert_eq!(r["agent"], "a1");
    assert_eq!(r["date"], "2026-01-05");
    assert!(r["review_id"].is_string() && r["decided_at"].is_string());

    // Revoked: the next push stops with permission denied and keeps the event.
    cli(
        &server_db,
        &["device", "revoke", "--device", &device_id],
        None,
    )
    .ok();
    cli(
        &device_db,
        &[
            "check-in",
            "--agent",
            "a1",
            "--lat",
            "-6.2146",
            "--lon",
            "106.8229",
            "--accuracy",
            "10",
        ],
        None,
    )
    .ok();
    let refused = cli(&device_db, &["--json", "sync", "push"], None);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("revoked-device"));
    // The check-in, and the configuration the first pull applied.
    assert_eq!(
        cli(&device_db, &["--json", "sync", "status"], None)
            .ok()
            .json()["pending"],
        2
    );
    let listed = cli(&server_db, &["--json", "device", "list"], None)
        .ok()
        .json_lines();
    assert_eq!(listed[0]["revoked"], true);

    // The log: a JSON line a request, with the contract's fields, and no
    // secret, note or code in it.
    let log_path = server.log.clone();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(log_path).unwrap();
    for secret in [code.as_str(), "left early", "-6.2146"] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    let token = common::open_store(&device_db)
        .server_link()
        .unwrap()
        .unwrap()
        .device_token;
    assert!(!log.contains(&token));
    let requests: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l.get("route").is_some())
        .collect();
    assert!(requests.len() >= 6);
    for line in &requests {
        for field in ["ts", "level", "route", "status", "latency_ms"] {
            assert!(line.get(field).is_some(), "{line} lacks {field}");
        }
    }
    assert!(requests.iter().any(|l| l["route"] == "/api/v1/sync/batches"
        && l["status"] == 200
        && l["device_id"] == device_id.as_str()));
}

/// Enrols a device through the HTTP API itself; returns its token.
fn enrol_raw(url: &str, server_db: &std::path::Path, device_id: &str, key: &SoftwareKey) -> String {
    let code = enrol_code(server_db, "a1");
    let a = post_json(
        &format!("{url}/api/v1/devices/enrol"),
        json!({
            "code": code,
            "device_id": device_id,
            "public_key": to_base64(&key.public_key().unwrap()),
            "platform": "android",
        }),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["agent"], "a1");
    assert!(a.body["server_time"].is_string());
    a.body["device_token"].as_str().unwrap().to_string()
}

fn post_json(url: &str, body: Value) -> Answer {
    answer(
        http()
            .post(url)
            .content_type("application/json")
            .send(&serde_json::to_vec(&body).unwrap()[..]),
    )
}

fn post_batch(url: &str, token: Option<&str>, signature: Option<&str>, body: &[u8]) -> Answer {
    let mut request = http().post(&format!("{url}/api/v1/sync/batches"));
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    if let Some(s) = signature {
        request = request.header("Fieldcheck-Signature", s);
    }
    answer(request.content_type("application/json").send(body))
}

#[track_caller]
fn assert_problem(a: &Answer, status: u16, slug: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(a.body["type"], format!("/problems/{slug}"), "{}", a.body);
    assert_eq!(a.body["status"], status);
}

#[test]
fn every_refusal_is_a_problem_document_of_its_type_and_stores_nothing() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let device_db = dir.path().join("device.db");
    let server = Server::start(&server_db, &["--max-body-bytes", "20000"]);
    let url = server.url.as_str();
    device_store(&device_db, "a1", 2);
    let device = common::open_store(&device_db);
    let device_id = device.device_id().unwrap();
    let key = SoftwareKey::generate();
    let token = enrol_raw(url, &server_db, &device_id, &key);
    let sign = |body: &[u8]| to_base64(&key.sign(body).unwrap());
    let batch = serde_json::to_vec(&device.sync_pending(&admin(), 100).unwrap()).unwrap();

    // Enrolment: a wrong code, a body that is not an enrolment.
    let bad_code = post_json(
        &format!("{url}/api/v1/devices/enrol"),
        json!({
            "code": "0000-0000-0000-0000", "device_id": "x", "platform": "ios",
            "public_key": to_base64(&key.public_key().unwrap()),
        }),
    );
    assert_problem(&bad_code, 400, "bad-code");
    let junk = answer(
        http()
            .post(&format!("{url}/api/v1/devices/enrol"))
            .send(&b"{\"code\": 1}"[..]),
    );
    assert_problem(&junk, 400, "malformed-request");

    assert_problem(
        &post_batch(url, None, Some(&sign(&batch)), &batch),
        401,
        "unknown-device",
    );
    assert_problem(
        &post_batch(url, Some("forged"), Some(&sign(&batch)), &batch),
        401,
        "unknown-device",
    );
    assert_problem(
        &post_batch(url, Some(&token), None, &batch),
        401,
        "bad-signature",
    );
    let other = SoftwareKey::generate();
    assert_problem(
        &post_batch(
            url,
            Some(&token),
            Some(&to_base64(&other.sign(&batch).unwrap())),
            &batch,
        ),
        401,
        "bad-signature",
    );
    assert_problem(
        &post_batch(url, Some(&token), Some(&sign(b"[1,2")), b"[1,2"),
        400,
        "malformed-batch",
    );
    let mut foreign: Value = serde_json::from_slice(&batch).unwrap();
    foreign["device_id"] = json!("another-device");
    let foreign = serde_json::to_vec(&foreign).unwrap();
    assert_problem(
        &post_batch(url, Some(&token), Some(&sign(&foreign)), &foreign),
        403,
        "device-mismatch",
    );
    let later =
        serde_json::to_vec(&device.sync_pending_from(&admin(), Some(2), 100).unwrap()).unwrap();
    let gap = post_batch(url, Some(&token), Some(&sign(&later)), &later);
    assert_problem(&gap, 409, "sequence-gap");
    assert_eq!(gap.body["expected_from_seq"], 1);
    let big = vec![b' '; 30_000];
    assert_problem(
        &post_batch(url, Some(&token), Some(&sign(&big)), &big),
        413,
        "too-large",
    );
    assert!(
        common::open_store(&server_db)
            .events(&admin(), &Default::default())
            .unwrap()
            .is_empty()
    );

    // Accepted, then replayed: 200 both times, the second all duplicates.
    let first = post_batch(url, Some(&token), Some(&sign(&batch)), &batch);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["device_id"], device_id.as_str());
    assert_eq!(
        (
            first.body["accepted_to_seq"].as_i64(),
            first.body["imported"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(first.body["duplicates"], 0);
    assert!(first.body["server_time"].is_string());
    let replay = post_batch(url, Some(&token), Some(&sign(&batch)), &batch);
    assert_eq!(replay.status, 200);
    assert_eq!(
        (
            replay.body["imported"].as_u64(),
            replay.body["duplicates"].as_u64()
        ),
        (Some(0), Some(3))
    );

    // A fork: the device's store copied, both copies going on differently.
    let fork_db = dir.path().join("fork.db");
    device.checkpoint().unwrap();
    std::fs::copy(&device_db, &fork_db).unwrap();
    let fork = common::open_store(&fork_db);
    for (store, minute) in [(&device, "10"), (&fork, "20")] {
        store
            .record_fix(
                &Actor::agent("a1"),
                &fieldcheck_core::FixRequest {
                    agent: "a1".into(),
                    kind: fieldcheck_core::EventKind::CheckIn,
                    fix: fieldcheck_core::Fix {
                        lat: -6.2146,
                        lon: 106.8229,
                        accuracy_m: 10.0,
                        captured_at: format!("2026-01-05T03:{minute}:00Z").parse().unwrap(),
                        is_mock: false,
                    },
                },
                format!("2026-01-05T03:{minute}:00Z").parse().unwrap(),
            )
            .unwrap();
    }
    let next =
        serde_json::to_vec(&device.sync_pending_from(&admin(), Some(4), 100).unwrap()).unwrap();
    assert_eq!(
        post_batch(url, Some(&token), Some(&sign(&next)), &next).status,
        200
    );
    let forked =
        serde_json::to_vec(&fork.sync_pending_from(&admin(), Some(4), 100).unwrap()).unwrap();
    assert_problem(
        &post_batch(url, Some(&token), Some(&sign(&forked)), &forked),
        409,
        "chain-fork",
    );
    assert_eq!(
        common::open_store(&server_db)
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        3
    );

    // More than 120 requests a minute from one device: 429 with Retry-After.
    let decisions = |t: &str| {
        answer(
            http()
                .get(&format!("{url}/api/v1/sync/decisions"))
                .header("Authorization", &format!("Bearer {t}"))
                .call(),
        )
    };
    let limited = (0..130)
        .map(|_| decisions(&token))
        .find(|a| a.status == 429)
        .expect("rate limited");
    assert_problem(&limited, 429, "rate-limited");
    assert!(limited.retry_after.unwrap().parse::<u64>().unwrap() >= 1);

    let metrics = answer(http().get(&format!("{url}/metrics")).call());
    let text = metrics.body.as_str().unwrap().to_string();
    for needle in [
        "fieldcheck_http_requests_total{",
        "fieldcheck_http_request_duration_seconds_bucket{",
        "fieldcheck_sync_batches_imported_total 3",
        "fieldcheck_sync_events_imported_total 4",
        "fieldcheck_sync_refusals_total{type=\"bad-signature\"} 2",
        "fieldcheck_sync_refusals_total{type=\"chain-fork\"} 1",
        "fieldcheck_sync_refusals_total{type=\"rate-limited\"}",
        "route=\"/api/v1/sync/batches\",status=\"409\"",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
}

#[test]
fn the_openapi_document_and_health_are_served() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&server_store(&dir), &[]);
    let health = answer(http().get(&format!("{}/healthz", server.url)).call());
    assert_eq!(health.status, 200);
    let doc = answer(
        http()
            .get(&format!("{}/api/v1/openapi.json", server.url))
            .call(),
    );
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: HashSet<&str> = doc.body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/api/v1/devices/enrol",
        "/api/v1/sync/batches",
        "/api/v1/sync/decisions",
    ] {
        assert!(paths.contains(p), "{p} missing from {paths:?}");
    }
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
    let missing = answer(http().get(&format!("{}/nowhere", server.url)).call());
    assert_eq!(missing.status, 404);
}

#[test]
fn many_devices_pushing_at_once_lose_and_double_nothing() {
    const DEVICES: usize = 6;
    const CHECK_INS: usize = 12;
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let server = Server::start(&server_db, &[]);
    let dbs: Vec<_> = (0..DEVICES)
        .map(|i| {
            let db = dir.path().join(format!("device{i}.db"));
            let agent = format!("a{i}");
            device_store(&db, &agent, CHECK_INS);
            let code = enrol_code(&server_db, &agent);
            cli(
                &db,
                &["device", "enrol", "--server", &server.url, "--code", &code],
                None,
            )
            .ok();
            db
        })
        .collect();
    let handles: Vec<_> = dbs
        .iter()
        .cloned()
        .map(|db| {
            std::thread::spawn(move || cli(&db, &["--json", "sync", "push", "--limit", "3"], None))
        })
        .collect();
    for h in handles {
        let run = h.join().unwrap().ok();
        let report = run.json();
        assert_eq!(report["pending"], 0);
        assert_eq!(report["acked_seq"].as_i64(), Some(CHECK_INS as i64 + 1));
        assert!(!run.stderr.contains("locked"), "{}", run.stderr);
    }
    let events = cli(&server_db, &["--json", "events"], None)
        .ok()
        .json_lines();
    assert_eq!(events.len(), DEVICES * CHECK_INS);
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), DEVICES * CHECK_INS, "no event twice");
    drop(server);
}

/// One check-in by a device whose clock reads `shift` from the real time,
/// enrolled and pushed with that clock. Returns the device's clock reading
/// at the check-in.
fn check_in_with_clock(
    server: &Server,
    server_db: &std::path::Path,
    db: &std::path::Path,
    agent: &str,
    shift: chrono::Duration,
) -> String {
    device_store(db, agent, 0);
    let reads = || (chrono::Utc::now() + shift).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let code = enrol_code(server_db, agent);
    cli(
        db,
        &[
            "device",
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
            "--now",
            &reads(),
        ],
        None,
    )
    .ok();
    let at = reads();
    check(db, agent, "check-in", &at);
    cli(db, &["sync", "push", "--now", &reads()], None).ok();
    at
}

#[test]
fn a_phone_with_a_wrong_clock_is_flagged_in_the_supervisors_events_and_report() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let server = Server::start(&server_db, &[]);
    // A phone two hours fast: its check-in claims a time two hours late.
    let fast_at = check_in_with_clock(
        &server,
        &server_db,
        &dir.path().join("fast.db"),
        "fast",
        chrono::Duration::hours(2),
    );
    let good_at = check_in_with_clock(
        &server,
        &server_db,
        &dir.path().join("good.db"),
        "good",
        chrono::Duration::zero(),
    );

    let events = cli(&server_db, &["--json", "events"], None)
        .ok()
        .json_lines();
    let flags: Vec<(&str, &str, Option<bool>)> = events
        .iter()
        .map(|e| {
            (
                e["agent"].as_str().unwrap(),
                e["captured_at"].as_str().unwrap(),
                e.get("clock_skew").and_then(Value::as_bool),
            )
        })
        .collect();
    assert_eq!(flags.len(), 2, "{events:?}");
    assert!(
        flags.contains(&("fast", fast_at.as_str(), Some(true))),
        "{flags:?}"
    );
    assert!(
        flags.contains(&("good", good_at.as_str(), None)),
        "{flags:?}"
    );

    // The report counts it on the fast phone's day, and only there.
    let date = &fast_at[..10];
    let to = &(chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()[..10];
    let from = &(chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()[..10];
    let report = cli(
        &server_db,
        &[
            "--actor",
            "sup",
            "--role",
            "supervisor",
            "report",
            "attendance",
            "--from",
            from,
            "--to",
            to,
            "--format",
            "json",
        ],
        None,
    )
    .ok()
    .json();
    let skewed: Vec<(&str, &str, i64)> = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            d.get("clock_skew").map(|n| {
                (
                    d["agent"].as_str().unwrap(),
                    d["date"].as_str().unwrap(),
                    n.as_i64().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(skewed.len(), 1, "{skewed:?}");
    assert_eq!(skewed[0].0, "fast");
    assert_eq!(skewed[0].2, 1);
    // The day is the agent's local one; it is the check-in's UTC date or a
    // neighbour of it.
    let utc = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let local = chrono::NaiveDate::parse_from_str(skewed[0].1, "%Y-%m-%d").unwrap();
    assert!((local - utc).num_days().abs() <= 1, "{skewed:?}");
    drop(server);
}

#[test]
fn a_phones_leads_sales_and_consent_reach_the_servers_reports_and_exports() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let device_db = dir.path().join("device.db");
    let server = Server::start(&server_db, &[]);
    device_store(&device_db, "a1", 2);
    let at = "2026-01-05T04:00:00Z";
    let lead = cli(
        &device_db,
        &[
            "--json",
            "--now",
            at,
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            "Dewi Lestari",
            "--email",
            "dewi@example.com",
            "--product",
            "life",
        ],
        None,
    )
    .ok()
    .json()["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (kind, amount, currency, lead) in [
        ("policy_closing", "2500000", "IDR", Some(lead.as_str())),
        ("premium_payment", "40.00", "EUR", None),
    ] {
        let mut args = vec![
            "--now",
            at,
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            kind,
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount",
            amount,
            "--currency",
            currency,
            "--at",
            at,
        ];
        if let Some(lead) = lead {
            args.extend(["--lead", lead]);
        }
        cli(&device_db, &args, None).ok();
    }
    cli(
        &device_db,
        &["--now", at, "lead", "update", &lead, "--status", "won"],
        None,
    )
    .ok();
    let code = enrol_code(&server_db, "a1");
    cli(
        &device_db,
        &["device", "enrol", "--server", &server.url, "--code", &code],
        None,
    )
    .ok();
    cli(&device_db, &["--json", "sync", "push"], None).ok();

    let sales = |db: &std::path::Path| {
        let mut report = cli(
            db,
            &[
                "--json",
                "--now",
                "2026-01-10T00:00:00Z",
                "report",
                "sales",
                "--from",
                "2026-01-01",
                "--to",
                "2026-01-31",
            ],
            None,
        )
        .ok()
        .json();
        report.as_object_mut().unwrap().remove("generated_at");
        report
    };
    let on_device = sales(&device_db);
    assert_eq!(on_device["agents"][0]["closings"], 1, "{on_device}");
    assert_eq!(on_device["agents"][0]["premium"]["EUR"], "40.00");
    assert_eq!(sales(&server_db), on_device);

    // The export on the server carries the lead's and the consent's
    // records as the chain holds them: digests, never the values.
    let export = cli(
        &server_db,
        &["--json", "privacy", "export", "--agent", "a1"],
        None,
    )
    .ok()
    .json();
    let types: Vec<&str> = export["synced_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "consent",
            "lead_activity",
            "transaction",
            "transaction",
            "lead_activity"
        ]
    );
    let text = export.to_string();
    assert!(!text.contains("Dewi") && !text.contains("dewi@example.com"));
    let lead_export = cli(
        &server_db,
        &["--json", "privacy", "export", "--lead", &lead],
        None,
    )
    .ok()
    .json();
    assert_eq!(lead_export["profile"]["agent"], "a1");
    assert_eq!(lead_export["synced_records"].as_array().unwrap().len(), 3);
    cli(&server_db, &["verify"], None).ok();
    server.terminate();
}
