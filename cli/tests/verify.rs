//! `verify`: exit 0 on an intact chain, 1 naming the first broken event
//! after the file is edited behind the store's back (PRODUCT.md §7, §10).

mod common;

use common::*;
use serde_json::Value;

/// A store with four attendance events after sites and two consents;
/// returns it with the events' (id, seq).
fn store_with_events() -> (Env, Vec<(String, i64)>) {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    let events = [
        env.check("check-in", "a1", HQ, "10", &[]),
        env.check("check-in", "a2", HQ_1KM, "10", &[]),
        env.check("check-out", "a1", HQ, "10", &[]),
        env.check("check-in", "a2", HQ, "10", &[]),
    ];
    let ids = events
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str().unwrap().to_string(),
                e["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    (env, ids)
}

fn tamper(env: &Env, sql: &str, param: &dyn rusqlite::ToSql) {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    assert_eq!(conn.execute(sql, [param]).unwrap(), 1, "{sql}");
}

#[track_caller]
fn broken(env: &Env) -> Value {
    let run = env.run(&["--json", "verify"]);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let report = run.json();
    assert_eq!(report["intact"], false, "{report}");
    let human = env.run(&["verify"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.contains("BROKEN"), "{}", human.stdout);
    report["first_broken"].clone()
}

#[test]
fn an_intact_store_verifies() {
    let (env, _) = store_with_events();
    let run = env.run(&["--json", "verify"]).ok();
    let report = run.json();
    assert_eq!(report["intact"], true);
    assert_eq!(report["first_broken"], Value::Null);
    // 2 sites are not events; 2 consents + 4 attendance events are.
    assert_eq!(report["events_checked"], 6);
    assert_eq!(env.count("ledger"), 6);
    assert!(env.run(&["verify"]).ok().stdout.contains("intact"));
}

#[test]
fn an_altered_site_is_named() {
    let (env, events) = store_with_events();
    let (id, seq) = &events[1];
    tamper(
        &env,
        "UPDATE attendance_events SET site_id = 'branch' WHERE id = ?1",
        id,
    );
    let first = broken(&env);
    assert_eq!(first["event_id"], id.as_str());
    assert_eq!(first["seq"], *seq);
    assert_eq!(first["event_type"], "attendance");
}

#[test]
fn an_altered_verdict_is_named() {
    let (env, events) = store_with_events();
    let (id, seq) = &events[1];
    tamper(
        &env,
        "UPDATE attendance_events SET accepted = 1 - accepted WHERE id = ?1",
        id,
    );
    let first = broken(&env);
    assert_eq!(first["event_id"], id.as_str());
    assert_eq!(first["seq"], *seq);
}

#[test]
fn a_deleted_event_is_named() {
    let (env, events) = store_with_events();
    let (id, seq) = &events[2];
    tamper(&env, "DELETE FROM attendance_events WHERE id = ?1", id);
    let first = broken(&env);
    assert_eq!(first["event_id"], id.as_str());
    assert_eq!(first["seq"], *seq);
    // The other events are still listed.
    assert_eq!(env.run(&["--json", "events"]).ok().json_lines().len(), 3);
}

#[test]
fn a_deleted_ledger_row_is_named() {
    let (env, events) = store_with_events();
    let (_, seq) = &events[1];
    tamper(&env, "DELETE FROM ledger WHERE seq = ?1", seq);
    let first = broken(&env);
    assert_eq!(first["seq"], *seq);
}

#[test]
fn a_deleted_last_ledger_row_leaves_an_orphan_event() {
    let (env, events) = store_with_events();
    let (id, seq) = events.last().unwrap();
    tamper(&env, "DELETE FROM ledger WHERE seq = ?1", seq);
    let first = broken(&env);
    assert_eq!(first["event_id"], id.as_str());
    assert_eq!(first["seq"], *seq);
}
