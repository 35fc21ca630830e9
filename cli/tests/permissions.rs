//! A role that may not make a call gets exit 3 and changes nothing
//! (PRODUCT.md §1, §10).

mod common;

use common::*;

#[track_caller]
fn denied(env: &Env, args: &[&str]) {
    let run = env.run(args);
    assert_eq!(
        run.code, 3,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
}

#[test]
fn agents_and_supervisors_cannot_overstep_their_role() {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    env.check("check-in", "a2", HQ, "10", &[]);
    let before = env.snapshot();
    let (lat, lon) = HQ;
    let fix = ["--lat", lat, "--lon", lon, "--accuracy", "10"];
    let sites = env.write("more.geojson", SITES);
    let until = "2026-01-20T00:00:00Z";

    let as_a1 = ["--actor", "a1", "--role", "agent"];
    let cases: Vec<Vec<&str>> = vec![
        // An agent checking in or out for another agent.
        [&as_a1[..], &["check-in", "--agent", "a2"], &fix].concat(),
        [&as_a1[..], &["check-out", "--agent", "a2"], &fix].concat(),
        // An agent setting a flag, even on themself.
        [
            &as_a1[..],
            &[
                "audit",
                "flag",
                "--agent",
                "a1",
                "--purpose",
                "security",
                "--reason",
                "x",
                "--until",
                until,
            ],
        ]
        .concat(),
        [
            &as_a1[..],
            &[
                "audit",
                "flag",
                "--everyone",
                "--purpose",
                "audit",
                "--reason",
                "x",
                "--until",
                until,
            ],
        ]
        .concat(),
        // An agent importing sites.
        [&as_a1[..], &["site", "import", sites.to_str().unwrap()]].concat(),
        // An agent changing another agent's consent.
        [
            &as_a1[..],
            &[
                "consent",
                "withdraw",
                "--agent",
                "a2",
                "--permission",
                "location",
            ],
        ]
        .concat(),
        // An agent reading another agent's events.
        [&as_a1[..], &["events", "--agent", "a2"]].concat(),
        // Supervisors review; they do not check in for agents or import sites.
        [
            &["--actor", "spv", "--role", "supervisor"][..],
            &["check-in", "--agent", "a1"],
            &fix,
        ]
        .concat(),
        [
            &["--actor", "spv", "--role", "supervisor"][..],
            &["site", "import", sites.to_str().unwrap()],
        ]
        .concat(),
        [&["--actor", "spv", "--role", "supervisor"][..], &["purge"]].concat(),
    ];
    for args in &cases {
        denied(&env, args);
    }
    assert_eq!(env.snapshot(), before);

    // The same calls by the right role succeed, so the denials above were
    // about the role and nothing else.
    let own = env
        .run(&[&as_a1[..], &["--json", "check-in", "--agent", "a1"], &fix].concat())
        .ok()
        .json();
    assert_eq!(own["accepted"], true);
    env.run(&[
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
        "x",
        "--until",
        until,
    ])
    .ok();
    env.run(&["site", "import", sites.to_str().unwrap()]).ok();
}
