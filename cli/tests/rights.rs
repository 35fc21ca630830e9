//! Data-subject rights through the command line (PRODUCT.md §8, §10):
//! `privacy export` and `privacy erase`, their roles, and that an erased
//! name leaves no bytes while `verify` still passes.

mod common;

use common::*;

fn files_contain(env: &Env, needle: &str) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        std::fs::read(format!("{}{suffix}", env.db()))
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[test]
fn export_then_erase_a_lead_customer_and_an_agent() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let name = "Zulkarnaen Oktaviani Purbaya";
    let lead = env
        .run(&[
            "--actor",
            "a1",
            "--role",
            "agent",
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            name,
            "--phone",
            "+62 877 1234 9876",
            "--email",
            "zop@contoh.example",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    env.run(&[
        "txn",
        "add",
        "--agent",
        "a1",
        "--kind",
        "policy_closing",
        "--policy-number",
        "P-9",
        "--product",
        "life",
        "--amount",
        "2500000",
        "--currency",
        "IDR",
        "--lead",
        &lead,
    ])
    .ok();
    env.run(&[
        "--json",
        "check-in",
        "--agent",
        "a1",
        "--lat",
        HQ.0,
        "--lon",
        HQ.1,
        "--accuracy",
        "10",
    ])
    .ok();

    // Export: one JSON document, every category present.
    let export = env
        .run(&["--json", "privacy", "export", "--agent", "a1"])
        .ok()
        .json();
    assert_eq!(export["subject"]["id"], "a1");
    for category in [
        "consent_ledger",
        "attendance_events",
        "leads",
        "transactions",
        "requests",
    ] {
        assert!(
            !export[category].as_array().unwrap().is_empty(),
            "{category}"
        );
    }
    let customer = env
        .run(&["--json", "privacy", "export", "--lead", &lead])
        .ok()
        .json();
    assert_eq!(customer["profile"]["customer_name"], name);
    // Agents export themselves only; supervisors do not export.
    env.run(&[
        "--actor", "a1", "--role", "agent", "privacy", "export", "--agent", "a1",
    ])
    .ok();
    let denied = env.run(&[
        "--actor", "a2", "--role", "agent", "privacy", "export", "--agent", "a1",
    ]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);
    let denied = env.run(&[
        "--actor",
        "s",
        "--role",
        "supervisor",
        "privacy",
        "erase",
        "--lead",
        &lead,
    ]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);
    assert!(
        files_contain(&env, name),
        "the name is stored before erasure"
    );

    // Erase: the answer lists kept categories with reason and date.
    let report = env
        .run(&["--json", "privacy", "erase", "--lead", &lead])
        .ok()
        .json();
    let kept = report["kept"].as_array().unwrap();
    let txns = kept
        .iter()
        .find(|k| k["category"] == "transactions")
        .unwrap();
    assert_eq!(txns["until"], "2033-01-05T02:00:00Z", "{txns}");
    assert!(txns["reason"].as_str().unwrap().contains("7 years"));
    assert_eq!(report["request"]["kind"], "erasure");
    assert!(
        !files_contain(&env, name),
        "the erased name is still on disk"
    );
    assert!(!files_contain(&env, "zop@contoh.example"));
    let verify = env.run(&["--json", "verify"]).ok().json();
    assert_eq!(verify["intact"], true, "{verify}");
    let listed = env.run(&["--json", "lead", "list"]).ok().json_lines();
    assert_eq!(listed[0]["customer_name"], serde_json::Value::Null);
    assert_eq!(listed[0]["erased"], true);

    // The erasure and the exports are logged requests.
    let requests = env
        .run(&["--json", "privacy", "requests"])
        .ok()
        .json_lines();
    let kinds: Vec<&str> = requests
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"erasure") && kinds.contains(&"access"),
        "{kinds:?}"
    );
    // Unknown subjects are bad input.
    assert_eq!(
        env.run(&["privacy", "erase", "--lead", "no-such-lead"])
            .code,
        2
    );
}
