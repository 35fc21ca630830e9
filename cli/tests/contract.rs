//! The command-line contract of PRODUCT.md §10, through the real binary.

mod common;

use std::collections::BTreeSet;

use common::*;
use fieldcheck_core::{Actor, Reason, Store};
use serde_json::Value;

const POSITIONS: [&str; 4] = ["inside", "outside", "uncertain", "unknown"];

/// The fields every `check-in --json` answer carries, with their types.
#[track_caller]
fn assert_check_contract(event: &Value) {
    assert!(
        event["event_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{event}"
    );
    assert!(event["accepted"].is_boolean(), "{event}");
    assert!(
        POSITIONS.contains(&event["position"].as_str().unwrap()),
        "{event}"
    );
    assert!(
        event["site_id"].is_string() || event["site_id"].is_null(),
        "{event}"
    );
    assert!(event["reasons"].is_array(), "{event}");
    assert!(event["location_retained"].is_boolean(), "{event}");
}

#[test]
fn site_import_then_list_one_json_object_per_line() {
    let env = Env::new();
    let file = env.write("sites.geojson", SITES);
    let summary = env
        .run(&["--json", "site", "import", file.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(
        (summary["added"].as_u64(), summary["replaced"].as_u64()),
        (Some(2), Some(0))
    );

    let sites = env.run(&["--json", "site", "list"]).ok().json_lines();
    let ids: Vec<&str> = sites.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["branch", "hq"]);
    assert_eq!(sites[1]["name"], "Jakarta head office");
    assert_eq!(sites[1]["fence"]["type"], "circle");
    assert_eq!(sites[0]["fence"]["type"], "polygon");

    // The same ids again replace, not duplicate.
    let again = env
        .run(&["--json", "site", "import", file.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(
        (again["added"].as_u64(), again["replaced"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(
        env.run(&["--json", "site", "list"]).ok().json_lines().len(),
        2
    );
}

#[test]
fn consent_grant_answers_with_its_ledger_entry() {
    let env = Env::new();
    let entry = env
        .run(&[
            "--json",
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ])
        .ok()
        .json();
    assert!(entry["entry_id"].is_string(), "{entry}");
    assert_eq!(entry["subject"], "a1");
    assert_eq!(entry["permission"], "location");
    assert_eq!(entry["granted"], true);
    let shown = env
        .run(&["--json", "consent", "show", "--agent", "a1"])
        .ok()
        .json();
    assert_eq!(shown["location"]["entry_id"], entry["entry_id"]);
}

#[test]
fn check_in_json_carries_the_contract_fields() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let accepted = env.check("check-in", "a1", HQ, "10", &[]);
    assert_check_contract(&accepted);
    assert_eq!(accepted["accepted"], true);
    assert_eq!(accepted["position"], "inside");
    assert_eq!(accepted["site_id"], "hq");
    assert_eq!(reasons(&accepted), Vec::<String>::new());
    assert_eq!(accepted["location_retained"], false);

    // A rejected check-in is a recorded verdict: exit 0.
    let rejected = env.check("check-in", "nobody", HQ, "10", &[]);
    assert_check_contract(&rejected);
    assert_eq!(rejected["accepted"], false);
    assert_eq!(rejected["position"], "unknown");
    assert_eq!(rejected["site_id"], Value::Null);
    assert_eq!(reasons(&rejected), ["consent_required"]);

    let out = env.check("check-out", "a1", HQ, "10", &[]);
    assert_check_contract(&out);
    assert_eq!(
        (out["accepted"].as_bool(), out["kind"].as_str()),
        (Some(true), Some("check_out"))
    );

    // Under an audit flag the answer says the coordinates were kept.
    env.run(&[
        "--json",
        "--actor",
        "spv",
        "--role",
        "supervisor",
        "audit",
        "flag",
        "--agent",
        "a1",
        "--purpose",
        "security",
        "--reason",
        "spot check",
        "--until",
        "2026-01-20T00:00:00Z",
    ])
    .ok();
    let kept = env.check("check-in", "a1", HQ, "10", &[]);
    assert_check_contract(&kept);
    assert_eq!(kept["location_retained"], true);
}

#[test]
fn events_json_is_one_object_per_line_per_event() {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    let made = [
        env.check("check-in", "a1", HQ, "10", &[]),
        env.check("check-in", "a2", HQ_1KM, "10", &[]),
        env.check("check-out", "a1", HQ, "12", &[]),
        env.check("check-in", "a3", HQ, "10", &[]),
    ];
    let listed = env.run(&["--json", "events"]).ok();
    assert_eq!(listed.stdout.lines().count(), made.len());
    let events = listed.json_lines();
    for (event, answer) in events.iter().zip(&made) {
        for key in [
            "event_id", "agent", "kind", "accepted", "position", "site_id", "reasons",
        ] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
            assert_eq!(event[key], answer[key], "{key}");
        }
        assert!(["check_in", "check_out"].contains(&event["kind"].as_str().unwrap()));
    }
    assert_eq!(events[1]["position"], "outside");
    assert_eq!(events[3]["agent"], "a3");

    let a1 = env
        .run(&["--json", "events", "--agent", "a1"])
        .ok()
        .json_lines();
    assert_eq!(a1.len(), 2);
    assert!(a1.iter().all(|e| e["agent"] == "a1"));
    // An agent sees their own events.
    let own = env
        .run(&["--json", "--actor", "a2", "--role", "agent", "events"])
        .ok();
    assert_eq!(own.json_lines().len(), 1);
}

#[test]
fn global_options_are_accepted_after_the_subcommand() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let (lat, lon) = HQ;
    let run = fieldcheck(
        env.dir.path(),
        &[
            "check-in",
            "--agent",
            "a1",
            "--lat",
            lat,
            "--lon",
            lon,
            "--accuracy",
            "10",
            "--db",
            env.db(),
            "--json",
            "--now",
            NOW,
            "--actor",
            "a1",
            "--role",
            "agent",
        ],
    )
    .ok();
    let event = run.json();
    assert_eq!(event["accepted"], true);
    assert_eq!(event["recorded_by"]["id"], "a1");
    assert_eq!(event["recorded_by"]["role"], "agent");
    assert_eq!(event["recorded_at"], "2026-01-05T02:00:00Z");
    let listed = fieldcheck(env.dir.path(), &["events", "--json", "--db", env.db()]).ok();
    assert_eq!(listed.json_lines()[0]["event_id"], event["event_id"]);
}

#[test]
fn negative_numbers_are_values() {
    let env = Env::with_sites_and_consent(&["a1"]);
    // Separate and `=` forms; a negative latitude inside the Jakarta fence.
    let a = env
        .run(&[
            "--json",
            "check-in",
            "--agent",
            "a1",
            "--lat",
            "-6.2146",
            "--lon",
            "106.8229",
            "--accuracy",
            "10",
        ])
        .ok()
        .json();
    let b = env
        .run(&[
            "--json",
            "check-out",
            "--agent",
            "a1",
            "--lat=-6.2146",
            "--lon=106.8229",
            "--accuracy=10",
        ])
        .ok()
        .json();
    for event in [&a, &b] {
        assert_eq!(
            (event["accepted"].as_bool(), event["site_id"].as_str()),
            (Some(true), Some("hq")),
            "{event}"
        );
        assert_eq!(reasons(event), Vec::<String>::new());
    }
    // Had "-6.2146" been taken for a flag or dropped, the fix would not
    // be 0 m from the centre but on another continent.
    let far = env
        .run(&[
            "--json",
            "check-in",
            "--agent",
            "a1",
            "--lat",
            "6.2146",
            "--lon",
            "106.8229",
            "--accuracy",
            "10",
        ])
        .ok()
        .json();
    assert_eq!(far["position"], "outside");
}

#[test]
fn every_reason_code_is_reachable_from_the_command_line() {
    let env = Env::with_sites_and_consent(&[]);
    let mut seen = BTreeSet::new();
    let mut expect = |event: Value, code: &str| {
        assert_check_contract(&event);
        assert_eq!(reasons(&event), [code], "{event}");
        seen.insert(code.to_string());
        event
    };

    expect(
        env.check("check-in", "a1", HQ, "10", &[]),
        "consent_required",
    );
    env.run(&[
        "consent",
        "grant",
        "--agent",
        "a1",
        "--permission",
        "location",
    ])
    .ok();
    expect(
        env.check(
            "check-in",
            "a1",
            HQ,
            "10",
            &["--at", "2026-01-05T01:50:00Z"],
        ),
        "stale_fix",
    );
    expect(
        env.check(
            "check-in",
            "a1",
            HQ,
            "10",
            &["--at", "2026-01-05T02:05:00+00:00"],
        ),
        "future_fix",
    );
    expect(
        env.check("check-in", "a1", HQ, "10", &["--mock"]),
        "mock_location",
    );
    expect(env.check("check-in", "a1", HQ, "150", &[]), "low_accuracy");
    let outside = expect(
        env.check("check-in", "a1", HQ_1KM, "10", &[]),
        "outside_geofence",
    );
    assert_eq!(
        (outside["position"].as_str(), outside["site_id"].as_str()),
        (Some("outside"), Some("hq"))
    );
    // ~995 m from the centre of a 100 m circle, rounded up to 10 m.
    assert_eq!(outside["distance_m"], 900);
    let edge = expect(
        env.check("check-in", "a1", HQ_EDGE, "20", &[]),
        "uncertain_position",
    );
    assert_eq!(
        (edge["position"].as_str(), edge["site_id"].as_str()),
        (Some("uncertain"), Some("hq"))
    );

    let inside = env.check("check-in", "a1", HQ, "10", &[]);
    assert_eq!(
        (inside["accepted"].as_bool(), reasons(&inside).len()),
        (Some(true), 0)
    );
    let twice = expect(env.check("check-in", "a1", HQ, "10", &[]), "sequence");
    assert_eq!(twice["accepted"], true);

    // Surabaya ten minutes after Jakarta.
    let (lat, lon) = BRANCH;
    let travel = env
        .run_at(
            "2026-01-05T02:10:00Z",
            &[
                "--json",
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
        )
        .ok()
        .json();
    assert_eq!(travel["site_id"], "branch");
    assert_eq!(travel["accepted"], false);
    expect(travel, "impossible_travel");

    // Restriction is a data-subject request; the core API sets it.
    Store::open(&env.db)
        .unwrap()
        .set_restriction(&Actor::admin("dpo"), "a1", true, NOW.parse().unwrap())
        .unwrap();
    expect(env.check("check-in", "a1", HQ, "10", &[]), "restricted");

    let empty = Env::new();
    empty
        .run(&[
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ])
        .ok();
    let none = expect(empty.check("check-in", "a1", HQ, "10", &[]), "no_sites");
    assert_eq!(none["site_id"], Value::Null);

    let all: BTreeSet<String> = Reason::ALL.iter().map(|r| r.as_str().to_string()).collect();
    assert_eq!(seen, all);
}
