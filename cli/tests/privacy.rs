//! Privacy commands end to end (PRODUCT.md §5, §8, §10): policy versions
//! and renewal, push tokens, consent receipts (validated against the Kantara
//! v1.1 schema), restriction and the data-subject request log. Each test
//! ends with `verify`.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::Value;

#[track_caller]
fn verify(env: &Env) {
    let v = env.run(&["--json", "verify"]).ok().json();
    assert_eq!(v["intact"], true, "{v}");
}

fn grant(env: &Env, agent: &str, permission: &str) -> Value {
    env.run(&[
        "--json",
        "consent",
        "grant",
        "--agent",
        agent,
        "--permission",
        permission,
    ])
    .ok()
    .json()
}

fn check_in(env: &Env, agent: &str) -> Value {
    env.check("check-in", agent, HQ, "10", &[])
}

#[track_caller]
fn assert_accepted(event: &Value) {
    assert_eq!(event["accepted"], true, "{event}");
    assert_eq!(event["position"], "inside", "{event}");
}

#[test]
fn policy_renewal_requires_a_new_grant() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let show = |env: &Env| {
        env.run(&["--json", "consent", "show", "--agent", "a1"])
            .ok()
            .json()
    };
    assert_eq!(show(&env)["location"]["policy_version"], "1");
    assert_eq!(show(&env)["renewal_required"], false);
    assert_accepted(&check_in(&env, "a1"));

    // Only admins publish.
    let denied = env.run(&[
        "--role",
        "supervisor",
        "policy",
        "publish",
        "--version",
        "2",
    ]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);

    let v2 = env
        .run(&[
            "--json",
            "policy",
            "publish",
            "--version",
            "2",
            "--requires-renewal",
        ])
        .ok()
        .json();
    assert_eq!(v2["version"], "2");
    assert_eq!(v2["requires_renewal"], true);
    let refused = check_in(&env, "a1");
    assert_eq!(reasons(&refused), ["consent_required"]);
    assert_eq!(refused["accepted"], false);
    assert_eq!(refused["location_retained"], false);
    let standing = show(&env);
    assert_eq!(standing["renewal_required"], true, "{standing}");
    assert_eq!(standing["current_policy_version"], "2");
    assert_eq!(standing["location_authorised"], false);
    let human = env.run(&["consent", "show", "--agent", "a1"]).ok().stdout;
    assert!(human.contains("must be renewed under policy 2"), "{human}");

    // Granting again (no --policy-version) records v2 and authorises.
    let g2 = grant(&env, "a1", "location");
    assert_eq!(g2["policy_version"], "2");
    assert_accepted(&check_in(&env, "a1"));
    assert_eq!(show(&env)["renewal_required"], false);

    // v3 without renewal: still authorised.
    env.run(&["policy", "publish", "--version", "3"]).ok();
    assert_accepted(&check_in(&env, "a1"));
    assert_eq!(show(&env)["current_policy_version"], "3");

    // Publishing a version twice, or granting under an unpublished one,
    // is bad input.
    let twice = env.run(&["policy", "publish", "--version", "3"]);
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    let unknown = env.run(&[
        "consent",
        "grant",
        "--agent",
        "a1",
        "--permission",
        "location",
        "--policy-version",
        "9",
    ]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);

    let list = env.run(&["--json", "policy", "list"]).ok().json_lines();
    let versions: Vec<(&str, bool)> = list
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["requires_renewal"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [("2", true), ("3", false)]);
    verify(&env);
}

/// Store files in which `needle` occurs.
fn files_holding(env: &Env, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = format!("{}{suffix}", env.db());
        if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(path);
        }
    }
    hits
}

#[test]
fn push_token_lifecycle() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let token = "apns:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let register = |env: &Env| {
        env.run(&[
            "--role", "agent", "--actor", "a1", "push", "register", "--agent", "a1", "--token",
            token,
        ])
    };
    let show = |env: &Env| {
        env.run(&["--json", "push", "show", "--agent", "a1"])
            .ok()
            .json()
    };

    // Without push consent (location consent is not enough): refused with
    // permission_denied, exit 3, nothing stored.
    let refused = register(&env);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("push consent"),
        "{}",
        refused.stderr
    );
    assert_eq!(show(&env)["registered"], false);
    assert!(files_holding(&env, token.as_bytes()).is_empty());

    grant(&env, "a1", "push");
    let ok = register(&env).ok();
    assert!(!ok.stdout.contains(token), "the token is not echoed");
    let shown = show(&env);
    assert_eq!(shown["registered"], true);
    assert_eq!(shown["token"], token);
    // Stored, in clear unless the store seals.
    assert_eq!(files_holding(&env, token.as_bytes()).is_empty(), sealing());

    // Another agent may not register for a1.
    let other = env.run(&[
        "--role", "agent", "--actor", "a2", "push", "register", "--agent", "a1", "--token", "x",
    ]);
    assert_eq!(other.code, 3);

    // Withdrawal deletes the token and its bytes.
    env.run(&[
        "--role",
        "agent",
        "--actor",
        "a1",
        "consent",
        "withdraw",
        "--agent",
        "a1",
        "--permission",
        "push",
    ])
    .ok();
    assert_eq!(show(&env)["registered"], false);
    let hits = files_holding(&env, token.as_bytes());
    assert!(hits.is_empty(), "token bytes survive withdrawal: {hits:?}");
    assert_eq!(register(&env).code, 3);
    verify(&env);
}

#[test]
fn restriction_refuses_check_ins_until_lifted() {
    let env = Env::with_sites_and_consent(&["a1"]);
    assert_accepted(&check_in(&env, "a1"));

    let denied = env.run(&[
        "--role",
        "supervisor",
        "privacy",
        "restrict",
        "--agent",
        "a1",
    ]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);
    let usage = env.run(&["privacy", "restrict"]);
    assert_eq!(usage.code, 2);

    let out = env
        .run(&["--json", "privacy", "restrict", "--agent", "a1"])
        .ok()
        .json();
    assert_eq!(out["restriction"]["restricted"], true);
    assert_eq!(out["request"]["kind"], "restriction");
    assert_eq!(out["request"]["status"], "done");
    let refused = check_in(&env, "a1");
    assert_eq!(reasons(&refused), ["restricted"]);
    assert_eq!(refused["accepted"], false);

    env.run(&["privacy", "unrestrict", "--agent", "a1"]).ok();
    assert_accepted(&check_in(&env, "a1"));

    // A lead's customer: the lead must exist.
    let missing = env.run(&["privacy", "restrict", "--lead", "no-such-lead"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    let lead = env
        .run(&[
            "--json",
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            "Budi Santoso",
        ])
        .ok()
        .json();
    let lead_id = lead["lead_id"].as_str().unwrap().to_string();
    let out = env
        .run(&["--json", "privacy", "restrict", "--lead", &lead_id])
        .ok()
        .json();
    assert_eq!(out["request"]["subject_kind"], "lead");
    assert_eq!(out["request"]["subject"], lead_id.as_str());

    let requests = env
        .run(&["--json", "privacy", "requests"])
        .ok()
        .json_lines();
    let kinds: Vec<&str> = requests
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["restriction", "lift_restriction", "restriction"]);
    assert!(requests.iter().all(|r| r["status"] == "done"));
    verify(&env);
}

fn at(offset: Duration) -> String {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(NOW).unwrap().into();
    (now + offset).to_rfc3339()
}

#[test]
fn overdue_requests_are_listed() {
    let env = Env::server();
    let log = |received: &str| -> String {
        let r = env
            .run_at(
                received,
                &[
                    "--json",
                    "privacy",
                    "log-request",
                    "--agent",
                    "a1",
                    "--kind",
                    "access",
                ],
            )
            .ok()
            .json();
        assert_eq!(r["status"], "open");
        r["request_id"].as_str().unwrap().to_string()
    };
    let day31 = log(&at(-Duration::days(31)));
    let day29 = log(&at(-Duration::days(29)));
    let just_over = log(&at(-Duration::days(30) - Duration::seconds(1)));
    let exactly = log(&at(-Duration::days(30)));
    let just_under = log(&at(-Duration::days(30) + Duration::seconds(1)));
    let answered = log(&at(-Duration::days(40)));
    env.run_at(
        &at(-Duration::days(12)),
        &["privacy", "complete-request", &answered],
    )
    .ok();

    let overdue = env
        .run(&["--json", "privacy", "requests", "--overdue"])
        .ok()
        .json_lines();
    let ids: Vec<&str> = overdue
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    // Due exactly 30 days after receipt: overdue one second later, not at
    // the due instant.
    assert_eq!(ids, [day31.as_str(), just_over.as_str()]);
    for r in &overdue {
        assert_eq!(r["overdue"], true);
        assert_eq!(r["kind"], "access");
        assert_eq!(r["subject_kind"], "agent");
        assert_eq!(r["subject"], "a1");
    }
    let first = &overdue[0];
    let received: DateTime<Utc> =
        DateTime::parse_from_rfc3339(first["received_at"].as_str().unwrap())
            .unwrap()
            .into();
    let due: DateTime<Utc> = DateTime::parse_from_rfc3339(first["due_at"].as_str().unwrap())
        .unwrap()
        .into();
    assert_eq!(due - received, Duration::days(30));

    let all = env
        .run(&["--json", "privacy", "requests"])
        .ok()
        .json_lines();
    assert_eq!(all.len(), 6);
    for id in [&day29, &exactly, &just_under, &answered] {
        let r = all.iter().find(|r| r["request_id"] == id.as_str()).unwrap();
        assert_eq!(r["overdue"], false, "{r}");
    }
    let open = env
        .run(&["--json", "privacy", "requests", "--open"])
        .ok()
        .json_lines();
    assert_eq!(open.len(), 5);

    // Human listing marks the overdue ones.
    let human = env.run(&["privacy", "requests"]).ok().stdout;
    assert_eq!(human.matches("OVERDUE").count(), 2, "{human}");

    // Admins only; completing twice is bad input.
    let denied = env.run(&["--role", "supervisor", "privacy", "requests"]);
    assert_eq!(denied.code, 3);
    let again = env.run(&["privacy", "complete-request", &answered]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    verify(&env);
}

#[test]
fn refused_privacy_calls_change_nothing() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let ledger = env.count("ledger");
    let as_a1 = ["--actor", "a1", "--role", "agent"];
    let as_sup = ["--actor", "sup", "--role", "supervisor"];
    let cases: Vec<Vec<&str>> = vec![
        [&as_a1[..], &["policy", "publish", "--version", "2"]].concat(),
        [&as_sup[..], &["policy", "publish", "--version", "2"]].concat(),
        [&as_a1[..], &["privacy", "restrict", "--agent", "a1"]].concat(),
        [&as_sup[..], &["privacy", "unrestrict", "--agent", "a1"]].concat(),
        [
            &as_a1[..],
            &[
                "privacy",
                "log-request",
                "--agent",
                "a1",
                "--kind",
                "access",
            ],
        ]
        .concat(),
        [&as_sup[..], &["privacy", "requests", "--overdue"]].concat(),
        [&as_a1[..], CONTROLLER].concat(),
        [
            &as_a1[..],
            &["push", "register", "--agent", "a1", "--token", "t"],
        ]
        .concat(),
    ];
    for args in &cases {
        let run = env.run(args);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("permission denied"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(env.count("ledger"), ledger);
    assert_eq!(env.count("privacy_requests"), 0);
    assert_eq!(env.count("policy_versions"), 0);
    assert_eq!(env.count("push_tokens"), 0);
    let settings = env.run(&["--json", "settings", "show"]).ok().json();
    assert!(settings["controller"].is_null());
    verify(&env);
}

const SCHEMA_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../core/tests/data/kantara_consent_receipt_v1.1.schema.json"
);

/// The stored Kantara v1.1 schema (draft 04) without its two leading `//`
/// comment lines (see core/tests/data/README.md).
fn kantara_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SCHEMA_FILE).expect("schema file");
    let json: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let schema: Value = serde_json::from_str(&json).expect("schema is JSON");
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

const CONTROLLER: &[&str] = &[
    "settings",
    "controller",
    "--name",
    "PT Contoh Asuransi (example data)",
    "--contact",
    "Data Protection Officer",
    "--email",
    "privacy@example.co.id",
    "--phone",
    "+62 21 555 0100",
    "--address",
    "Jl. Contoh No. 1, Jakarta",
    "--jurisdiction",
    "ID",
    "--policy-url",
    "https://example.co.id/privacy",
];

#[test]
fn consent_receipts_validate_against_the_kantara_schema() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let granted = grant(&env, "a1", "push");
    let withdrawn = env
        .run(&[
            "--json",
            "consent",
            "withdraw",
            "--agent",
            "a1",
            "--permission",
            "push",
        ])
        .ok()
        .json();
    let entry_id = granted["entry_id"].as_str().unwrap();

    // No controller yet: a complete receipt that says so (and how to set it).
    let unset = env.run(&["--json", "consent", "receipt", entry_id]).ok();
    let receipt = unset.json();
    assert_eq!(receipt["consentReceiptID"], entry_id);
    let controller = receipt["piiControllers"][0]["piiController"]
        .as_str()
        .unwrap();
    assert!(
        controller.contains("not configured") && controller.contains("settings controller"),
        "{controller}"
    );

    // Only admins set it, and only with valid values.
    let mut as_supervisor = vec!["--role", "supervisor"];
    as_supervisor.extend_from_slice(CONTROLLER);
    assert_eq!(env.run(&as_supervisor).code, 3);
    let mut bad = CONTROLLER.to_vec();
    let email = bad.iter().position(|a| *a == "--email").unwrap();
    bad[email + 1] = "not-an-address";
    assert_eq!(env.run(&bad).code, 2);
    let mut bad_url = CONTROLLER.to_vec();
    let url = bad_url.iter().position(|a| *a == "--policy-url").unwrap();
    bad_url[url + 1] = "ftp://example.co.id/privacy";
    assert_eq!(env.run(&bad_url).code, 2);
    env.run(CONTROLLER).ok();
    let settings = env.run(&["--json", "settings", "show"]).ok().json();
    assert_eq!(settings["controller"]["jurisdiction"], "ID");
    assert_eq!(settings["controller"]["language"], "en");

    let validator = kantara_validator();
    let location_entry = env
        .run(&["--json", "consent", "show", "--agent", "a1"])
        .ok()
        .json()["location"]["entry_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (id, state) in [
        (location_entry.as_str(), "given"),
        (entry_id, "given"),
        (withdrawn["entry_id"].as_str().unwrap(), "withdrawn"),
    ] {
        // Pretty without --json, one line with it: the same document.
        let pretty = env.run(&["consent", "receipt", id]).ok().json();
        let line = env.run(&["--json", "consent", "receipt", id]).ok();
        assert_eq!(line.stdout.lines().count(), 1);
        assert_eq!(line.json(), pretty);

        let errors: Vec<String> = validator
            .iter_errors(&pretty)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{pretty:#}");
        assert_eq!(pretty["consentReceiptID"], id);
        assert_eq!(pretty["piiPrincipalId"], "a1");
        assert_eq!(
            pretty["piiControllers"][0]["piiController"],
            "PT Contoh Asuransi (example data)"
        );
        assert_eq!(
            pretty["policyUrl"],
            "https://example.co.id/privacy?version=1"
        );
        assert_eq!(pretty["iso27560"]["event_state"], state);
    }

    // An agent gets receipts for their own entries only.
    env.run(&[
        "--role", "agent", "--actor", "a1", "consent", "receipt", entry_id,
    ])
    .ok();
    let other = env.run(&[
        "--role", "agent", "--actor", "a2", "consent", "receipt", entry_id,
    ]);
    assert_eq!(other.code, 3);
    let missing = env.run(&["consent", "receipt", "no-such-entry"]);
    assert_eq!(missing.code, 2);
    verify(&env);
}
