//! `fieldcheck demo --via-server`: the demo week travels through a real
//! local fieldcheck-server, one enrolled phone per agent, the server
//! deciding sites, shifts, the flag and the reviews; the supervisor's
//! reports read from the server's store equal those of the demo run on one
//! store.

mod common;

use common::cli;
use tempfile::TempDir;

#[test]
fn the_demo_week_through_the_server_reports_what_it_reports_locally() {
    let dir = TempDir::new().unwrap();
    let now = "2026-12-02T12:00:00Z";
    let plain = dir.path().join("plain.db");
    let via = dir.path().join("via.db");
    let local = cli(&plain, &["--json", "--now", now, "demo"], None)
        .ok()
        .json();
    let through = cli(
        &via,
        &["--json", "--now", now, "demo", "--via-server"],
        None,
    )
    .ok()
    .json();

    let server = &through["server"];
    assert!(
        server["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(server["server_chain_intact"], true);
    assert!(local.get("server").is_none());
    // One phone per agent, each speaking only for its agent.
    let devices = server["devices"].as_array().unwrap();
    let agents: Vec<&str> = devices
        .iter()
        .map(|d| d["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        [
            "agt-budi",
            "agt-dewi",
            "agt-eko",
            "agt-siti",
            "agt-sanne",
            "agt-lars"
        ]
    );
    let mut ids: Vec<&str> = devices
        .iter()
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    for d in devices {
        assert!(d["events"].as_u64().unwrap() > 0, "{d}");
        assert_eq!(d["events"].as_i64(), d["acked_seq"].as_i64(), "{d}");
        // The server's sites and shift, and for Eko the flag.
        assert!(d["config_changes"].as_u64().unwrap() >= 2, "{d}");
    }
    // The flag was set on the server, reached Eko's phone, and the
    // coordinates it kept reached the server.
    assert_eq!(through["flags"].as_array().unwrap().len(), 1);
    assert_eq!(through["retained_fixes"], local["retained_fixes"]);
    for part in ["attendance", "sales"] {
        // Ids are new each run, and a review's note (personal free text)
        // reaches the server as a digest only: compare the decisions.
        let strip = |v: &serde_json::Value| {
            let mut v = v[part].clone();
            v.as_object_mut().unwrap().remove("generated_at");
            for day in v["days"].as_array_mut().into_iter().flatten() {
                if let Some(review) = day["review"].as_object_mut() {
                    review.retain(|k, _| k == "decision" || k == "reviewer" || k == "at");
                }
                for review in day["event_reviews"].as_array_mut().into_iter().flatten() {
                    if let Some(review) = review.as_object_mut() {
                        review.retain(|k, _| k == "decision" || k == "reviewer" || k == "at");
                    }
                }
            }
            v
        };
        assert_eq!(strip(&through), strip(&local), "{part}");
        assert!(!local[part].as_object().unwrap().is_empty());
    }
    // The server's store is there to look at, with every attendance event
    // of every phone, each from its agent's device.
    let server_db = dir.path().join("via.db.server.db");
    let events = cli(&server_db, &["--json", "events"], None)
        .ok()
        .json_lines();
    assert!(events.iter().all(|e| e["device_id"].is_string()));
    assert_eq!(
        events.len(),
        local["totals"]["events"].as_u64().unwrap() as usize
    );
    for e in &events {
        let phone = devices
            .iter()
            .find(|d| d["device_id"] == e["device_id"])
            .unwrap();
        assert_eq!(phone["agent"], e["agent"]);
    }
    let verify = cli(&server_db, &["--json", "verify"], None).ok().json();
    assert_eq!(verify["intact"], true);
    assert!(verify["imported_events_checked"].as_u64().unwrap() > 60);
    // A second run replaces every demo store.
    cli(
        &via,
        &["--json", "--now", now, "demo", "--via-server"],
        None,
    )
    .ok();
}
