//! An acknowledged check-in survives `kill -9` of the process that wrote
//! it, and the chain stays intact (PRODUCT.md §10, §7).

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Checks in over and over, printing each acknowledged event as a line.
const LOOP: &str = r#"while :; do
  "$FC" --db "$DB" --now "$NOW" --json check-in --agent "$AGENT" \
    --lat -6.2146 --lon 106.8229 --accuracy 10 || exit 1
done"#;

/// Runs the loop in its own process group and SIGKILLs the whole group
/// after `after`; returns the event ids on complete output lines.
fn run_and_kill(env: &Env, agent: &str, after: Duration) -> Vec<String> {
    let mut child = Command::new("sh")
        .args(["-c", LOOP])
        .env("FC", BIN)
        .env("DB", env.db())
        .env("NOW", NOW)
        .env("AGENT", agent)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).unwrap();
        bytes
    });
    thread::sleep(after);
    let group = format!("-{}", child.id());
    assert!(
        Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the loop stopped by itself: {status:?}"
    );
    // The pipe closes once every process of the group is gone.
    let bytes = reader.join().unwrap();
    let text = String::from_utf8_lossy(&bytes);
    // A line cut off by the kill was never acknowledged.
    let complete = text.rsplit_once('\n').map_or("", |(lines, _)| lines);
    complete
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            event["event_id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn acknowledged_check_ins_survive_kill_9() {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    let seed: u64 = rand::random();
    eprintln!("kill -9 schedule seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut acknowledged = Vec::new();
    for round in 0..6 {
        let agent = if round % 2 == 0 { "a1" } else { "a2" };
        let after = Duration::from_millis(rng.random_range(150..900));
        acknowledged.extend(run_and_kill(&env, agent, after));

        // The next process finds the store as the killed one left it.
        let verify = env.run(&["--json", "verify"]);
        assert_eq!(
            verify.code, 0,
            "round {round}: {}{}",
            verify.stdout, verify.stderr
        );
        assert_eq!(verify.json()["intact"], true);
        let stored: HashSet<String> = env
            .run(&["--json", "events"])
            .ok()
            .json_lines()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect();
        for id in &acknowledged {
            assert!(
                stored.contains(id),
                "round {round}: acknowledged {id} is gone"
            );
        }
        // At most the one in flight went through without being reported.
        assert!(
            stored.len() <= acknowledged.len() + round + 1,
            "round {round}"
        );
    }
    assert!(
        acknowledged.len() >= 6,
        "too few check-ins to mean anything: {}",
        acknowledged.len()
    );
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
