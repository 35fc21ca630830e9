//! The shared scenarios (tests/scenarios/*.json), run through the same
//! `FieldCheck` object the Kotlin and Swift shells call. The three suites
//! must reach exactly the expected verdicts.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use fieldcheck_core::{Actor, ConsentChange, EventKind, Fix, FixRequest, FlagPurpose, Permission};
use fieldcheck_ffi::{FieldCheck, FieldCheckError, FixSubmission, FlagRequest, FlagScope};
use serde_json::{Value, json};

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios")
}

fn time(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().expect("time is a string");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad time {text}: {e}"))
        .with_timezone(&Utc)
}

fn error_code(e: &FieldCheckError) -> &'static str {
    match e {
        FieldCheckError::InvalidInput { .. } => "invalid_input",
        FieldCheckError::InvalidGeoJson { .. } => "invalid_geojson",
        FieldCheckError::PermissionDenied { .. } => "permission_denied",
        FieldCheckError::NotFound { .. } => "not_found",
        FieldCheckError::StoreUnusable { .. } => "store_unusable",
        FieldCheckError::Storage { .. } => "storage",
        FieldCheckError::Internal { .. } => "internal",
        FieldCheckError::SyncRefused { .. } => "sync_refused",
        FieldCheckError::ServerRefused { .. } => "server_refused",
        FieldCheckError::Unreachable { .. } => "unreachable",
        FieldCheckError::ConfigRefused { .. } => "config_refused",
    }
}

/// The value of a closed set named by `field` in step `step` of `file`.
/// An unknown or missing value is a broken fixture: the test fails naming
/// file, step and field instead of guessing a default.
fn one_of<T: Copy>(file: &str, step: usize, field: &str, value: &Value, codes: &[(&str, T)]) -> T {
    let text = value.as_str().unwrap_or_else(|| {
        panic!("{file}: step {step}: field {field:?} is missing or not a string ({value})")
    });
    codes
        .iter()
        .find(|(code, _)| *code == text)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| {
            let known: Vec<&str> = codes.iter().map(|(c, _)| *c).collect();
            panic!("{file}: step {step}: field {field:?} has unknown value {text:?}; expected one of {known:?}")
        })
}

/// Runs one scenario; returns one line per mismatch.
fn run(path: &PathBuf) -> Vec<String> {
    let scenario: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = scenario["name"].as_str().unwrap().to_string();
    let dir = tempfile::TempDir::new().unwrap();
    let fc = FieldCheck::open(dir.path().join("s.db").display().to_string()).unwrap();
    let steps = scenario["steps"].as_array().unwrap();
    let admin = Actor::admin("admin");
    let supervisor = Actor::supervisor("supervisor");
    fc.import_sites(
        admin.clone(),
        scenario["sites"].to_string(),
        time(&steps[0]["at"]),
    )
    .unwrap();

    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut mismatches = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let at = time(&step["at"]);
        match step["action"].as_str().unwrap() {
            "consent" => {
                let agent = step["agent"].as_str().unwrap().to_string();
                fc.change_consent(
                    Actor::agent(&agent),
                    ConsentChange {
                        subject: agent,
                        permission: one_of(
                            &file,
                            i,
                            "permission",
                            &step["permission"],
                            &[
                                ("location", Permission::Location),
                                ("push", Permission::Push),
                            ],
                        ),
                        granted: step["granted"].as_bool().unwrap(),
                        policy_version: None,
                        source: None,
                    },
                    at,
                )
                .unwrap();
            }
            "flag" => {
                let scope = match &step["scope"] {
                    Value::String(s) if s == "everyone" => FlagScope::Everyone,
                    Value::Object(o) if o.contains_key("agent") => FlagScope::Agent {
                        id: o["agent"].as_str().unwrap().into(),
                    },
                    Value::Object(o) => FlagScope::Site {
                        id: o["site"].as_str().unwrap().into(),
                    },
                    other => panic!("{name}: bad scope {other}"),
                };
                fc.set_flag(
                    supervisor.clone(),
                    FlagRequest {
                        scope,
                        purpose: one_of(
                            &file,
                            i,
                            "purpose",
                            &step["purpose"],
                            &[
                                ("audit", FlagPurpose::Audit),
                                ("security", FlagPurpose::Security),
                            ],
                        ),
                        reason: step["reason"].as_str().unwrap().into(),
                        expires_at: time(&step["until"]),
                    },
                    at,
                )
                .unwrap();
            }
            "restrict" => {
                fc.set_restriction(
                    admin.clone(),
                    step["subject"].as_str().unwrap().into(),
                    step["restricted"].as_bool().unwrap(),
                    at,
                )
                .unwrap();
            }
            "fix" => {
                let agent = step["agent"].as_str().unwrap().to_string();
                let request = FixRequest {
                    agent: agent.clone(),
                    kind: one_of(
                        &file,
                        i,
                        "kind",
                        &step["kind"],
                        &[
                            ("check_in", EventKind::CheckIn),
                            ("check_out", EventKind::CheckOut),
                        ],
                    ),
                    fix: Fix {
                        lat: step["lat"].as_f64().unwrap(),
                        lon: step["lon"].as_f64().unwrap(),
                        accuracy_m: step["accuracy_m"].as_f64().unwrap(),
                        captured_at: step.get("captured_at").map(time).unwrap_or(at),
                        is_mock: step["is_mock"].as_bool().unwrap_or(false),
                    },
                };
                let expect = &step["expect"];
                let got = match fc.record_fix(FixSubmission {
                    actor: Actor::agent(&agent),
                    request,
                    now: at,
                }) {
                    Ok(e) => json!({
                        "accepted": e.accepted,
                        "position": e.position.as_str(),
                        "site_id": e.site_id,
                        "reasons": e.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        "location_retained": e.location_retained,
                    }),
                    Err(e) => json!({"error": error_code(&e)}),
                };
                if &got != expect {
                    mismatches.push(format!("{name} step {i}: expected {expect}, got {got}"));
                }
            }
            other => panic!("{name}: unknown action {other}"),
        }
    }
    let report = fc.verify().unwrap();
    if !report.intact {
        mismatches.push(format!("{name}: chain broken: {:?}", report.first_broken));
    }
    mismatches
}

#[test]
fn every_shared_scenario_reaches_the_expected_verdicts() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "expected at least 12 scenarios, found {}",
        files.len()
    );
    let mismatches: Vec<String> = files.iter().flat_map(run).collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_scenarios_cover_every_reason_code() {
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(scenario_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(path).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            for step in v["steps"].as_array().unwrap() {
                for r in step["expect"]["reasons"].as_array().into_iter().flatten() {
                    seen.insert(r.as_str().unwrap().to_string());
                }
            }
        }
    }
    for code in fieldcheck_core::Reason::ALL {
        assert!(seen.contains(code.as_str()), "no scenario expects {code}");
    }
}

#[test]
fn a_fixture_with_an_unknown_value_fails_naming_file_and_field() {
    let sites = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.8227, -6.1944]},
        "properties": {"id": "hq", "name": "HQ", "radius_m": 150}}]});
    let steps = |permission: &str, purpose: &str, kind: &str| {
        json!([
            {"at": "2026-03-02T01:00:00Z", "action": "consent", "agent": "a1",
             "permission": permission, "granted": true},
            {"at": "2026-03-02T01:00:00Z", "action": "flag", "scope": "everyone",
             "purpose": purpose, "reason": "r", "until": "2026-03-09T01:00:00Z"},
            {"at": "2026-03-02T01:00:00Z", "action": "fix", "agent": "a1", "kind": kind,
             "lat": -6.1944, "lon": 106.8227, "accuracy_m": 10.0,
             "expect": {"accepted": true, "position": "inside", "site_id": "hq",
                        "reasons": [], "location_retained": true}}
        ])
    };
    let dir = tempfile::TempDir::new().unwrap();
    // The well-formed fixture passes, so each failure below is the field's.
    let good = dir.path().join("good.json");
    let scenario =
        json!({"name": "good", "sites": sites, "steps": steps("location", "audit", "check_in")});
    std::fs::write(&good, scenario.to_string()).unwrap();
    assert_eq!(run(&good), Vec::<String>::new());

    for (field, bad) in [
        ("permission", steps("locaton", "audit", "check_in")),
        ("purpose", steps("location", "audits", "check_in")),
        ("kind", steps("location", "audit", "check-in")),
    ] {
        let path = dir.path().join(format!("bad-{field}.json"));
        let scenario = json!({"name": field, "sites": sites, "steps": bad});
        std::fs::write(&path, scenario.to_string()).unwrap();
        let panic =
            std::panic::catch_unwind(|| run(&path)).expect_err("an unknown value must fail");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains(&format!("bad-{field}.json"))
                && message.contains(&format!("{field:?}")),
            "{message}"
        );
    }
}
