//! The console under a month's load (issue 13), one run: a server store
//! with 5,000 agents, 200 sites and a month of synthetic attendance (about
//! 1,000,000 events), served by the real `fieldcheck-server` (release, its
//! own process, 127.0.0.1 port 0). Times, as a signed-in admin over
//! loopback, the review queue's first page for the month, an agent-day
//! timeline, and the month's attendance CSV for every agent; prints p50
//! and p95 (targets: queue and timeline p95 <= 200 ms, CSV <= 2 s).
//!
//!   cargo bench -p fieldcheck-server --bench console [-- AGENTS EVENTS]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fieldcheck_core::console_user::hash_password;
use fieldcheck_core::geofence::{sites_to_geojson, synthetic_sites};
use fieldcheck_core::{Actor, Durability, OpenOptions, Store, SyntheticAttendance, UserRole};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let agents: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let events: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let admin = Actor::admin("bench");
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();

    eprintln!("building the store: {agents} agents, 200 sites, {events} events...");
    let built = Instant::now();
    {
        let store = Store::open_with(
            &db,
            &OpenOptions {
                durability: Durability::Normal,
            },
        )
        .unwrap();
        store
            .import_sites(&admin, &sites_to_geojson(&synthetic_sites(200, 7)), start)
            .unwrap();
        store
            .load_synthetic_attendance(
                &admin,
                &SyntheticAttendance {
                    agents,
                    events,
                    start,
                    days: 30,
                    seed: 7,
                },
                &|_| {},
            )
            .unwrap();
        let hash = hash_password("bench password").unwrap();
        store
            .add_user(&admin, "boss", UserRole::Admin, &[], &hash, start)
            .unwrap();
    }
    eprintln!("built in {:.1} s", built.elapsed().as_secs_f64());

    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldcheck-server"))
        .arg("--db")
        .arg(&db)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let signed = http
        .post(format!("{url}/sign-in"))
        .send_form([("user", "boss"), ("password", "bench password")])
        .unwrap();
    let cookie = signed
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let time = |path: &str, runs: usize| -> Vec<Duration> {
        let mut out = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let mut answer = http
                .get(format!("{url}{path}"))
                .header("Cookie", &cookie)
                .call()
                .unwrap();
            // The month's CSV runs to tens of MiB.
            let body = answer
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .unwrap();
            out.push(started.elapsed());
            assert_eq!(answer.status().as_u16(), 200, "{path}: {body}");
        }
        out.sort();
        out
    };
    let month = "from=2026-03-02&to=2026-03-31";
    let queue = time(&format!("/?{month}"), 20);
    let queue_week = time("/?from=2026-03-24&to=2026-03-31", 20);
    let timeline = time("/agents/agent-00042/days/2026-03-11", 50);
    let csv = time(&format!("/reports/attendance/csv?{month}"), 3);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |v: &[Duration], p: f64| {
        ms(v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1])
    };
    println!(
        "console: {agents} agents, 200 sites, {events} events over 30 days (release server, loopback)"
    );
    println!(
        "  review queue, first page, the month:  p50 {:>7.1} ms  p95 {:>7.1} ms (target p95 <= 200)",
        pct(&queue, 0.5),
        pct(&queue, 0.95)
    );
    println!(
        "  review queue, first page, one week:   p50 {:>7.1} ms  p95 {:>7.1} ms",
        pct(&queue_week, 0.5),
        pct(&queue_week, 0.95)
    );
    println!(
        "  agent-day timeline:                   p50 {:>7.1} ms  p95 {:>7.1} ms (target p95 <= 200)",
        pct(&timeline, 0.5),
        pct(&timeline, 0.95)
    );
    println!(
        "  month CSV, every agent:               p50 {:>7.1} ms  max {:>7.1} ms (target <= 2000)",
        pct(&csv, 0.5),
        ms(csv[csv.len() - 1])
    );
}
