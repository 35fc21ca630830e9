//! The shared scenarios (tests/scenarios/*.json), run through the same
//! `FieldCheck` object the Kotlin and Swift shells call. The three suites
//! must reach exactly the expected verdicts.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use fieldcheck_core::{
    Actor, CheckInRequest, ConsentChange, EventKind, Fix, FlagPurpose, Permission,
};
use fieldcheck_ffi::{FieldCheck, FieldCheckError, FlagRequest, FlagScope};
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
    }
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
                        permission: match step["permission"].as_str().unwrap() {
                            "location" => Permission::Location,
                            _ => Permission::Push,
                        },
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
                        purpose: match step["purpose"].as_str().unwrap() {
                            "audit" => FlagPurpose::Audit,
                            _ => FlagPurpose::Security,
                        },
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
                let request = CheckInRequest {
                    agent: agent.clone(),
                    kind: match step["kind"].as_str().unwrap() {
                        "check_in" => EventKind::CheckIn,
                        _ => EventKind::CheckOut,
                    },
                    fix: Fix {
                        lat: step["lat"].as_f64().unwrap(),
                        lon: step["lon"].as_f64().unwrap(),
                        accuracy_m: step["accuracy_m"].as_f64().unwrap(),
                        captured_at: step.get("captured_at").map(time).unwrap_or(at),
                        is_mock: step["is_mock"].as_bool().unwrap_or(false),
                    },
                };
                let expect = &step["expect"];
                let got = match fc.check(Actor::agent(&agent), request, at) {
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
