//! Console users and agents on the command line (PRODUCT.md §12.1 and
//! §12.4): users enabled again and given a new password, the last enabled
//! admin kept, agents listed with display names.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{BIN, Env, NOW, Run};
use serde_json::Value;

/// Runs with `--db` and `--now NOW`, feeding `stdin`.
fn with_stdin(env: &Env, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(["--db", env.db(), "--now", NOW])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn users(env: &Env) -> Vec<Value> {
    env.run(&["--json", "user", "list"]).ok().json_lines()
}

#[test]
fn users_are_enabled_again_and_given_new_passwords_and_the_last_admin_stays() {
    let env = Env::server();
    let add = |id: &str, role: &str| {
        with_stdin(
            &env,
            &[
                "user",
                "add",
                "--id",
                id,
                "--user-role",
                role,
                "--team",
                "a1",
                "--password-stdin",
            ],
            "first password\n",
        )
    };
    add("boss", "admin").ok();
    add("sup-1", "supervisor").ok();

    // The only enabled admin cannot be disabled: exit 2, nothing changes.
    let refused = env.run(&["user", "disable", "--id", "boss"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("last enabled admin"),
        "{}",
        refused.stderr
    );
    assert!(users(&env).iter().all(|u| u["disabled"] == false));

    env.run(&["user", "disable", "--id", "sup-1"]).ok();
    assert_eq!(users(&env)[1]["disabled"], true);
    let enabled = env
        .run(&["--json", "user", "enable", "--id", "sup-1"])
        .ok()
        .json();
    assert_eq!(
        enabled,
        serde_json::json!({"id": "sup-1", "disabled": false})
    );
    assert_eq!(users(&env)[1]["disabled"], false);
    assert_eq!(env.run(&["user", "enable", "--id", "nobody"]).code, 2);
    // Only admins manage users.
    let denied = env.run(&["--role", "supervisor", "user", "enable", "--id", "sup-1"]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);

    // A new password: too short is refused (exit 2), a good one is stored
    // as a new Argon2id hash (never printed).
    let short = with_stdin(
        &env,
        &["user", "password", "--id", "sup-1", "--password-stdin"],
        "x\n",
    );
    assert_eq!(short.code, 2, "{}", short.stderr);
    let hash_before = stored_hash(&env, "sup-1");
    let changed = with_stdin(
        &env,
        &[
            "--json",
            "user",
            "password",
            "--id",
            "sup-1",
            "--password-stdin",
        ],
        "second password\n",
    )
    .ok();
    assert_eq!(changed.json()["password_changed"], true);
    assert!(!changed.stdout.contains("second password"));
    let hash_after = stored_hash(&env, "sup-1");
    assert_ne!(hash_before, hash_after);
    assert!(hash_after.starts_with("$argon2id$"));
    assert!(users(&env).iter().all(|u| u.get("password_hash").is_none()));
}

fn stored_hash(env: &Env, id: &str) -> String {
    // (ids here are plain words)
    env.query_one(&format!(
        "SELECT password_hash FROM console_users WHERE id = '{id}'"
    ))
}

#[test]
fn agents_are_listed_from_every_source_with_their_display_names() {
    let env = Env::with_sites_and_consent(&["a1"]);
    env.run(&[
        "shift",
        "set",
        "--agent",
        "a2",
        "--start",
        "08:00",
        "--end",
        "17:00",
        "--days",
        "mon-fri",
        "--tz",
        "Asia/Jakarta",
    ])
    .ok();
    with_stdin(
        &env,
        &[
            "user",
            "add",
            "--id",
            "sup",
            "--user-role",
            "supervisor",
            "--team",
            "a3",
            "--password-stdin",
        ],
        "first password\n",
    )
    .ok();
    let named = env
        .run(&[
            "--json",
            "agent",
            "name",
            "--agent",
            "a2",
            "--name",
            "  Rudi Hartono ",
        ])
        .ok()
        .json();
    assert_eq!(named["name"], "Rudi Hartono");
    // Names: admins only (exit 3), never empty (exit 2); nothing stored.
    let denied = env.run(&[
        "--role",
        "supervisor",
        "agent",
        "name",
        "--agent",
        "a1",
        "--name",
        "X",
    ]);
    assert_eq!(denied.code, 3);
    assert_eq!(
        env.run(&["agent", "name", "--agent", "a1", "--name", " "])
            .code,
        2
    );
    let listed = env.run(&["--json", "agent", "list"]).ok().json_lines();
    assert_eq!(
        listed,
        vec![
            serde_json::json!({"agent": "a1", "name": null}),
            serde_json::json!({"agent": "a2", "name": "Rudi Hartono"}),
            serde_json::json!({"agent": "a3", "name": null}),
        ]
    );
    // The name goes with erasure, and the list says so.
    env.run(&["privacy", "erase", "--agent", "a2"]).ok();
    let listed = env.run(&["--json", "agent", "list"]).ok().json_lines();
    assert_eq!(listed[1], serde_json::json!({"agent": "a2", "name": null}));
    env.run(&["verify"]).ok();
}

#[test]
fn a_day_decision_and_an_event_decision_stay_apart_in_the_report() {
    let env = Env::with_sites_and_consent(&["a1"]);
    env.run(&[
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
    ])
    .ok();
    let event = env.check("check-in", "a1", common::HQ, "10", &[]);
    let day = env
        .run(&[
            "--json",
            "review",
            "--agent",
            "a1",
            "--date",
            "2026-01-05",
            "--approve",
            "--note",
            "visit agreed",
        ])
        .ok()
        .json();
    assert_eq!(day["event_id"], Value::Null);
    env.run(&[
        "review",
        event["event_id"].as_str().unwrap(),
        "--reject",
        "--note",
        "wrong door",
    ])
    .ok();
    // Naming both an event and a day is bad usage.
    let both = env.run(&[
        "review",
        event["event_id"].as_str().unwrap(),
        "--agent",
        "a1",
        "--date",
        "2026-01-05",
        "--approve",
        "--note",
        "x",
    ]);
    assert_eq!(both.code, 2);
    let report = env
        .run(&[
            "report",
            "attendance",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-05",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(report["schema_version"], 2);
    let d = &report["days"][0];
    assert_eq!(d["agent"], "a1");
    assert_eq!(d["name"], "");
    assert_eq!(d["review"]["decision"], "approved");
    assert_eq!(d["review"]["event_id"], Value::Null);
    assert_eq!(d["review"]["note"], "visit agreed");
    assert_eq!(d["event_reviews"].as_array().unwrap().len(), 1);
    assert_eq!(d["event_reviews"][0]["decision"], "rejected");
    assert_eq!(d["event_reviews"][0]["event_id"], event["event_id"]);
    let csv = env
        .run(&[
            "report",
            "attendance",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-05",
            "--format",
            "csv",
        ])
        .ok()
        .stdout;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(&header[1], "name");
    assert_eq!(cell("review_decision"), "approved");
    assert_eq!(cell("review_note"), "visit agreed");
    assert_eq!(cell("events_approved"), "0");
    assert_eq!(cell("events_rejected"), "1");
}
