//! `fieldcheck demo` and `fieldcheck bench` (PRODUCT.md §10, §11).

mod common;

use common::*;
use serde_json::Value;

const DEMO_EVENTS: usize = 67;

#[test]
fn demo_builds_a_verifiable_store_and_replaces_only_its_own() {
    let env = Env::new();
    let report = env.run(&["--json", "demo"]).ok().json();
    // The week before NOW (Monday 2026-01-05).
    assert_eq!(report["week"]["from"], "2025-12-29");
    assert_eq!(report["week"]["to"], "2026-01-02");
    assert_eq!(report["sites"], 5);
    assert_eq!(report["verify"]["intact"], true);
    assert_eq!(report["totals"]["events"], DEMO_EVENTS);
    assert_eq!(report["retained_fixes"], 10);
    assert_eq!(report["flags"].as_array().unwrap().len(), 1);
    // The supervisor's attendance report: 6 agents × 5 working days.
    let days = report["attendance"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let mut rejected = std::collections::BTreeMap::new();
    for day in days {
        for (reason, n) in day["rejected"].as_object().unwrap() {
            *rejected.entry(reason.clone()).or_insert(0) += n.as_u64().unwrap();
        }
    }
    for reason in [
        "mock_location",
        "stale_fix",
        "low_accuracy",
        "outside_geofence",
        "uncertain_position",
        "impossible_travel",
        "consent_required",
    ] {
        assert!(
            rejected.get(reason).copied().unwrap_or(0) >= 1,
            "{reason}: {rejected:?}"
        );
    }
    let day = |agent: &str, date: &str| {
        days.iter()
            .find(|d| d["agent"] == agent && d["date"] == date)
            .unwrap()
            .clone()
    };
    let budi_thursday = day("agt-budi", "2026-01-01");
    assert_eq!(budi_thursday["missing_check_out"], true, "{budi_thursday}");
    assert_eq!(budi_thursday["last_check_out"], Value::Null);
    assert_eq!(budi_thursday["review"]["decision"], "rejected");
    let siti_tuesday = day("agt-siti", "2025-12-30");
    assert_eq!(siti_tuesday["status"], "late");
    assert_eq!(siti_tuesday["minutes_late"], 55);
    // Sales: closings in two currencies.
    let sales = report["sales"]["agents"].as_array().unwrap();
    let currencies: std::collections::BTreeSet<&str> = sales
        .iter()
        .flat_map(|row| row["premium"].as_object().unwrap().keys())
        .map(String::as_str)
        .collect();
    assert_eq!(currencies, ["EUR", "IDR"].into());

    // The store is an ordinary store: it verifies and lists its events.
    let verify = env.run(&["--json", "verify"]).ok().json();
    assert_eq!(verify["intact"], true);
    let events = env.run(&["--json", "events"]).ok().json_lines();
    assert_eq!(events.len(), DEMO_EVENTS);

    // Running it again replaces the demo store rather than adding to it.
    let again = env.run(&["--json", "demo"]).ok().json();
    assert_eq!(again["totals"], report["totals"]);
    let events_again = env.run(&["--json", "events"]).ok().json_lines();
    assert_eq!(events_again.len(), DEMO_EVENTS);
    assert_ne!(events_again[0]["event_id"], events[0]["event_id"]);

    // The human summary says the same.
    let human = env.run(&["demo"]).ok().stdout;
    assert!(human.contains("agt-budi (Asia/Jakarta)"), "{human}");
    assert!(human.contains("late 55 min"), "{human}");
    assert!(human.contains("premium EUR 693.34"), "{human}");
    assert!(human.contains("out missing"), "{human}");
    assert!(human.contains("Chain: intact"), "{human}");
}

#[test]
fn demo_writes_its_own_file_by_default() {
    let env = Env::new();
    // No --db: fieldcheck-demo.db in the working directory.
    fieldcheck(env.dir.path(), &["--now", NOW, "--json", "demo"]).ok();
    assert!(env.dir.path().join("fieldcheck-demo.db").is_file());
    assert!(!env.db.exists());
}

#[test]
fn demo_refuses_to_replace_anything_else() {
    let env = Env::with_sites_and_consent(&["a1"]);
    env.check("check-in", "a1", HQ, "10", &[]);
    let before = env.snapshot();
    let bytes = std::fs::read(&env.db).unwrap();
    let run = env.run(&["demo"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("did not create"), "{}", run.stderr);
    assert_eq!(std::fs::read(&env.db).unwrap(), bytes);
    assert_eq!(env.snapshot(), before);

    for (name, content) in [
        ("notes.txt", &b"shopping list\n"[..]),
        ("empty.db", &b""[..]),
    ] {
        let path = env.write(name, std::str::from_utf8(content).unwrap());
        let run = fieldcheck(
            env.dir.path(),
            &["--db", path.to_str().unwrap(), "--now", NOW, "demo"],
        );
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("not a fieldcheck store"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read(&path).unwrap(), content, "{name}");
    }
    let run = fieldcheck(
        env.dir.path(),
        &[
            "--db",
            env.dir.path().to_str().unwrap(),
            "--now",
            NOW,
            "demo",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn bench_prints_every_figure() {
    let env = Env::new();
    let dir = env.dir.path().to_str().unwrap();
    let report = fieldcheck(
        env.dir.path(),
        &[
            "bench",
            "--json",
            "--sites",
            "300",
            "--decisions",
            "128",
            "--linear-decisions",
            "64",
            "--pruned-decisions",
            "64",
            "--store-sites",
            "20",
            "--checkins",
            "12",
            "--dir",
            dir,
        ],
    )
    .ok()
    .json();
    let number = |pointer: &str| -> f64 {
        report
            .pointer(pointer)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("{pointer} missing in {report}"))
    };
    assert!(["debug", "release"].contains(&report["build"].as_str().unwrap()));
    assert_eq!(number("/geofence/sites"), 300.0);
    assert_eq!(number("/geofence/indexed/decisions"), 128.0);
    assert_eq!(number("/geofence/linear/decisions"), 64.0);
    for pointer in [
        "/geofence/indexed/median_ns",
        "/geofence/indexed/per_second",
        "/geofence/linear/median_ns",
        "/geofence/linear/per_second",
        "/geofence/speedup",
        "/geofence/linear_box_pruned/median_ns",
        "/geofence/speedup_over_box_pruned",
        "/checkins/end_to_end/per_second",
        "/checkins/raw_insert/per_second",
        "/checkins/ratio",
        "/checkins/row_bytes",
        "/peak_memory_bytes",
    ] {
        assert!(number(pointer) > 0.0, "{pointer}: {report}");
    }
    assert_eq!(number("/geofence/answers_differ"), 0.0);
    assert_eq!(number("/checkins/end_to_end/count"), 12.0);
    assert_eq!(number("/checkins/raw_insert/count"), 12.0);
    assert!(report["checkins"]["row_bytes_method"].is_string());
    assert!(report["meets_targets"]["checkin_ratio"].is_boolean());
    // Temporary databases are gone afterwards.
    let left: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    let run = fieldcheck(env.dir.path(), &["bench", "--checkins", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
