//! Ingest over HTTP against in-process import, one run, side by side
//! (issue 12): 1,000 simulated devices, each with its own store, key and
//! token, send 3 signed batches of 100 events to the real `fieldcheck-server`
//! (release build, its own process, on 127.0.0.1 port 0); the same batches
//! are then imported in-process with `Store::sync_import` (what `fieldcheck
//! sync import` runs) into a fresh store. Prints events per second of both
//! and their ratio, request latency p50/p99, and the server's peak RSS.
//!
//!   cargo bench -p fieldcheck-server --bench ingest [-- DEVICES [CLIENTS]]
//!
//! Setup (device stores, enrolment, signing) is outside the timed parts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fieldcheck_core::device::{DeviceKeystore, SoftwareKey, to_base64};
use fieldcheck_core::{Actor, Durability, OpenOptions, Store, SyntheticAttendance};

const BATCHES_PER_DEVICE: usize = 3;
const EVENTS_PER_BATCH: usize = 100;

/// One device's signed batches, ready to send.
struct Device {
    token: String,
    batches: Vec<(Vec<u8>, String)>,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let devices: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let dir = tempfile::tempdir().unwrap();
    let admin = Actor::admin("bench");
    let now = Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap();

    eprintln!("building {devices} device stores...");
    let mut stores = Vec::with_capacity(devices);
    for i in 0..devices {
        let store = Store::open_with(
            dir.path().join(format!("device-{i}.db")),
            &OpenOptions {
                durability: Durability::Normal,
            },
        )
        .unwrap();
        store
            .load_synthetic_attendance(
                &admin,
                &SyntheticAttendance {
                    agents: 1,
                    events: BATCHES_PER_DEVICE * EVENTS_PER_BATCH,
                    start: Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
                    days: 5,
                    seed: i as u64,
                },
                &|_| {},
            )
            .unwrap();
        stores.push(store);
    }

    let server_db = dir.path().join("server.db");
    let mut server = start_server(&server_db);
    let server_store = Store::open(&server_db).unwrap();
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();

    eprintln!("enrolling and signing...");
    let mut prepared = Vec::with_capacity(devices);
    let mut in_process_batches: Vec<String> = Vec::new();
    for store in &stores {
        let key = SoftwareKey::generate();
        let code = server_store
            .create_enrolment_code(&admin, "agent-00001", 60, Utc::now())
            .unwrap();
        let body = serde_json::json!({
            "code": code.code,
            "device_id": store.device_id().unwrap(),
            "public_key": to_base64(&key.public_key().unwrap()),
            "platform": "cli",
        });
        let mut answer = http
            .post(format!("{}/api/v1/devices/enrol", server.url))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let enrolled: serde_json::Value =
            serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
        let mut batches = Vec::new();
        for b in 0..BATCHES_PER_DEVICE {
            let from = (b * EVENTS_PER_BATCH + 1) as i64;
            let batch = store
                .sync_pending_from(&admin, Some(from), EVENTS_PER_BATCH)
                .unwrap();
            assert_eq!(batch.events.len(), EVENTS_PER_BATCH);
            let bytes = serde_json::to_vec(&batch).unwrap();
            let signature = to_base64(&key.sign(&bytes).unwrap());
            in_process_batches.push(String::from_utf8(bytes.clone()).unwrap());
            batches.push((bytes, signature));
        }
        prepared.push(Device {
            token: enrolled["device_token"].as_str().unwrap().to_string(),
            batches,
        });
    }
    drop(stores);

    eprintln!("pushing over HTTP with {clients} clients...");
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(devices * BATCHES_PER_DEVICE));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(device) = prepared.get(i) else { break };
                    for (bytes, signature) in &device.batches {
                        let sent = Instant::now();
                        let answer = http
                            .post(format!("{}/api/v1/sync/batches", server.url))
                            .header("Authorization", &format!("Bearer {}", device.token))
                            .header("Fieldcheck-Signature", signature)
                            .header("Content-Type", "application/json")
                            .send(&bytes[..])
                            .unwrap();
                        mine.push(sent.elapsed());
                        assert_eq!(answer.status().as_u16(), 200, "device {i}");
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let http_elapsed = started.elapsed();
    let peak_rss_kib = peak_rss_kib(&server.child);
    server.stop();

    eprintln!("importing the same batches in-process...");
    let local = Store::open(dir.path().join("in-process.db")).unwrap();
    let started = Instant::now();
    for batch in &in_process_batches {
        local.sync_import(&admin, batch, now).unwrap();
    }
    let local_elapsed = started.elapsed();

    let events = (devices * BATCHES_PER_DEVICE * EVENTS_PER_BATCH) as f64;
    let http_rate = events / http_elapsed.as_secs_f64();
    let local_rate = events / local_elapsed.as_secs_f64();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "ingest: {devices} devices x {BATCHES_PER_DEVICE} batches x {EVENTS_PER_BATCH} events, {clients} HTTP clients, fsync per commit in both"
    );
    println!(
        "  over HTTP (fieldcheck-server, loopback): {http_rate:>9.0} events/s  ({:.2} s)",
        http_elapsed.as_secs_f64()
    );
    println!(
        "  in-process sync import:                  {local_rate:>9.0} events/s  ({:.2} s)",
        local_elapsed.as_secs_f64()
    );
    println!(
        "  ratio HTTP / in-process: {:.2} (target >= 0.7)",
        http_rate / local_rate
    );
    println!(
        "  request latency: p50 {:.1} ms, p99 {:.1} ms",
        pct(0.50),
        pct(0.99)
    );
    match peak_rss_kib {
        Some(kib) => println!(
            "  server peak RSS: {:.1} MiB (target <= 128 MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("  server peak RSS: unavailable (no /proc)"),
    }
    println!(
        "{}",
        serde_json::json!({
            "devices": devices,
            "events": events,
            "http_events_per_s": http_rate.round(),
            "in_process_events_per_s": local_rate.round(),
            "ratio": (http_rate / local_rate * 1000.0).round() / 1000.0,
            "latency_p50_ms": (pct(0.50) * 10.0).round() / 10.0,
            "latency_p99_ms": (pct(0.99) * 10.0).round() / 10.0,
            "server_peak_rss_mib": peak_rss_kib.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0),
        })
    );
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start_server(db: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldcheck-server"))
        .arg("--db")
        .arg(db)
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
        .expect("the server's first line")
        .to_string();
    Server { child, url }
}

/// VmHWM of the process: its peak resident set.
fn peak_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
