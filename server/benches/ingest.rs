//! Ingest over HTTP against in-process import, one run, side by side
//! (issue 12): 1,000 simulated devices, each with its own store, key and
//! token, send 3 signed batches of 100 events to the real `fieldcheck-server`
//! (release build, its own process, on 127.0.0.1 port 0), each device for
//! its own agent; the same batches
//! are then imported in-process with `Store::sync_import` (what `fieldcheck
//! sync import` runs) into a fresh store. Prints events per second of both
//! and their ratio, request latency p50/p99, and the server's peak RSS.
//!
//!   cargo bench -p fieldcheck-server --bench ingest [-- DEVICES [CLIENTS]] [--db URL]
//!
//! With `--db postgres://…/{db}` (a URL whose database is `{db}`; the bench
//! creates its databases) it also pushes the same batches over HTTP into
//! two instances on one PostgreSQL database, devices alternating between
//! them, against the same rows (read back from the instances' database)
//! written into a new store's tables by plain multi-row INSERTs, one
//! transaction per batch, with as many clients, on the same server, in the
//! same run; and against rows of the same size in bare tables (keys only),
//! the baseline measured before. Each instance's peak RSS is printed.
//!
//! Setup (device stores, enrolment, signing) is outside the timed parts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fieldcheck_core::device::{DeviceKeystore, SoftwareKey, to_base64};
#[path = "support/master_key.rs"]
mod master_key;
use master_key::{master_key, master_key_file};
#[path = "../tests/common/new_database.rs"]
mod new_database;
use new_database::new_database;

use fieldcheck_core::{Actor, Durability, OpenOptions, Store, SyntheticAttendance};

/// Opens `db` as the server would: with the master key where it is a
/// PostgreSQL URL (or `sealed` asks for it).
fn open(db: &std::path::Path, sealed: bool) -> Store {
    let url = db.to_str().is_some_and(|d| d.starts_with("postgres"));
    Store::open_with(
        db,
        &OpenOptions {
            durability: Durability::Full,
            master_key: (url || sealed).then(master_key),
            ..Default::default()
        },
    )
    .unwrap()
}

const BATCHES_PER_DEVICE: usize = 3;
const EVENTS_PER_BATCH: usize = 100;

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let postgres = all
        .iter()
        .position(|a| a == "--db")
        .and_then(|i| all.get(i + 1).cloned());
    let args: Vec<String> = all
        .iter()
        .filter(|a| !a.starts_with('-') && Some(*a) != postgres.as_ref())
        .cloned()
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
                ..Default::default()
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
                    first_agent: i,
                },
                &|_| {},
            )
            .unwrap();
        stores.push(store);
    }

    // The devices' keys and batches, signed once, sent to every target.
    let mut signed: Vec<Signed> = Vec::with_capacity(devices);
    let mut in_process_batches: Vec<String> = Vec::new();
    for store in &stores {
        let key = SoftwareKey::generate();
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
        signed.push(Signed {
            device_id: store.device_id().unwrap(),
            agent: format!("agent-{:05}", signed.len() + 1),
            public_key: to_base64(&key.public_key().unwrap()),
            batches,
        });
    }
    drop(stores);

    let server_db = dir.path().join("server.db");
    let mut servers = vec![start_server(&server_db)];
    let pushed = push_through(&servers, &server_db, &signed, clients);
    let peak_rss_kib = peak_rss_kib(&servers[0].child);
    servers[0].stop();
    let http_elapsed = pushed.elapsed;
    let latencies = Mutex::new(pushed.latencies);

    eprintln!("importing the same batches in-process...");
    let import_into = |store: Store| {
        let started = Instant::now();
        for batch in &in_process_batches {
            store.sync_import(&admin, batch, now).unwrap();
        }
        started.elapsed()
    };
    let local_elapsed = import_into(open(&dir.path().join("in-process.db"), false));
    eprintln!("importing them again into a store that seals (issue 25)...");
    let sealed_elapsed = import_into(open(&dir.path().join("sealed.db"), true));

    let events = (devices * BATCHES_PER_DEVICE * EVENTS_PER_BATCH) as f64;
    let http_rate = events / http_elapsed.as_secs_f64();
    let local_rate = events / local_elapsed.as_secs_f64();
    let sealed_rate = events / sealed_elapsed.as_secs_f64();
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
        "  in-process, the store sealing:           {sealed_rate:>9.0} events/s  ({:.2} s, {:+.1} %; target within 5 %)",
        sealed_elapsed.as_secs_f64(),
        (sealed_rate / local_rate - 1.0) * 100.0
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
            "in_process_sealed_events_per_s": sealed_rate.round(),
            "ratio": (http_rate / local_rate * 1000.0).round() / 1000.0,
            "latency_p50_ms": (pct(0.50) * 10.0).round() / 10.0,
            "latency_p99_ms": (pct(0.99) * 10.0).round() / 10.0,
            "server_peak_rss_mib": peak_rss_kib.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0),
        })
    );
    if let Some(template) = postgres {
        on_postgres(&template, &signed, clients, events);
    }
}

/// Two instances on one PostgreSQL database against raw INSERTs.
fn on_postgres(template: &str, signed: &[Signed], clients: usize, events: f64) {
    let (url, raw_url) = (new_database(template), new_database(template));
    let db = std::path::PathBuf::from(&url);
    drop(open(&db, true));
    let mut servers = vec![start_server(&db), start_server(&db)];
    eprintln!("pushing over HTTP into two instances on PostgreSQL...");
    let pushed = push_through(&servers, &db, signed, clients);
    let rss: Vec<Option<u64>> = servers.iter().map(|s| peak_rss_kib(&s.child)).collect();
    for server in &mut servers {
        server.stop();
    }

    eprintln!("the same rows by plain multi-row INSERTs...");
    let raw = same_rows_inserted(&url, &raw_url, clients);
    eprintln!("rows of the same size into bare tables...");
    let bare = raw_inserts(&new_database(template), signed, clients);
    let http_rate = events / pushed.elapsed.as_secs_f64();
    let raw_rate = events / raw.as_secs_f64();
    let bare_rate = events / bare.as_secs_f64();
    let mut latencies = pushed.latencies;
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let mib = |k: &Option<u64>| k.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0);
    println!("PostgreSQL: two fieldcheck-server instances on one database, {clients} HTTP clients");
    println!(
        "  over HTTP, two instances:           {http_rate:>9.0} events/s  ({:.2} s)",
        pushed.elapsed.as_secs_f64()
    );
    println!(
        "  the same rows, multi-row INSERTs:   {raw_rate:>9.0} events/s  ({:.2} s)",
        raw.as_secs_f64()
    );
    println!(
        "  ratio HTTP / the same rows: {:.2} (target >= 0.5)",
        http_rate / raw_rate
    );
    println!(
        "  bare tables (keys only), multi-row: {bare_rate:>9.0} events/s  ({:.2} s; ratio {:.2})",
        bare.as_secs_f64(),
        http_rate / bare_rate
    );
    println!(
        "  request latency: p50 {:.1} ms, p99 {:.1} ms",
        pct(0.50),
        pct(0.99)
    );
    println!(
        "  instances' peak RSS: {} MiB (target <= 128 MiB each)",
        rss.iter()
            .map(|k| mib(k).map_or("?".to_string(), |m| m.to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{}",
        serde_json::json!({
            "engine": "postgres",
            "instances": 2,
            "http_events_per_s": http_rate.round(),
            "raw_insert_events_per_s": raw_rate.round(),
            "ratio": (http_rate / raw_rate * 1000.0).round() / 1000.0,
            "bare_insert_events_per_s": bare_rate.round(),
            "ratio_bare": (http_rate / bare_rate * 1000.0).round() / 1000.0,
            "latency_p50_ms": (pct(0.50) * 10.0).round() / 10.0,
            "latency_p99_ms": (pct(0.99) * 10.0).round() / 10.0,
            "instances_peak_rss_mib": rss.iter().map(mib).collect::<Vec<_>>(),
        })
    );
}

/// The rows the instances' import wrote into `source` for each event (its
/// chain row in `sync_events`, its attendance row in `sync_attendance`),
/// written again into a new store at `target` (the same tables, indexes and
/// keys) by plain multi-row INSERTs: one transaction a batch, `clients`
/// threads, the statements' text made before the clock starts.
fn same_rows_inserted(source: &str, target: &str, clients: usize) -> Duration {
    drop(open(std::path::Path::new(target), true));
    let mut from = postgres::Client::connect(source, postgres::NoTls).unwrap();
    let mut to = postgres::Client::connect(target, postgres::NoTls).unwrap();
    // The devices the events' key refers to, as the import left them.
    let devices: Vec<String> = from
        .query(
            "SELECT format('(%L, %L, %L, %L, %L, %L, %L, %L, %L)', device_id, base_seq,
                 base_hash, last_seq, last_hash, first_imported_at, last_imported_at,
                 verified_seq, verified_at) FROM sync_devices",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    to.batch_execute(&format!(
        "INSERT INTO sync_devices (device_id, base_seq, base_hash, last_seq, last_hash,
             first_imported_at, last_imported_at, verified_seq, verified_at) VALUES {}",
        devices.join(", ")
    ))
    .unwrap();
    // Each row as an SQL literal, by PostgreSQL's own quoting (%L), keyed
    // by its batch: a device's events 1-100, 101-200, ...
    let rows = |client: &mut postgres::Client, sql: &str| -> Vec<((String, i64), String)> {
        client
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| {
                (
                    (r.get(0), (r.get::<_, i64>(1) - 1) / EVENTS_PER_BATCH as i64),
                    r.get(2),
                )
            })
            .collect()
    };
    let events = rows(
        &mut from,
        "SELECT device_id, seq, format('(%L, %L, %L, %L, %L, %L, %L, %L)', device_id, seq,
             event_type, event_id, prev_hash, hash, canonical, imported_at)
         FROM sync_events ORDER BY device_id, seq",
    );
    let attendance = rows(
        &mut from,
        "SELECT device_id, seq, format('(%L, %L, %L, %L, %L, %L, %L, %L, %L, %L)', event_id,
             device_id, seq, agent, kind, accepted, reasons, site_id, captured_at, clock_skew)
         FROM sync_attendance ORDER BY device_id, seq",
    );
    let mut batches: std::collections::BTreeMap<(String, i64), (Vec<String>, Vec<String>)> =
        Default::default();
    for (key, row) in events {
        batches.entry(key).or_default().0.push(row);
    }
    for (key, row) in attendance {
        batches.entry(key).or_default().1.push(row);
    }
    let statements: Vec<String> = batches
        .into_values()
        .map(|(events, attendance)| {
            let mut sql = format!(
                "INSERT INTO sync_events (device_id, seq, event_type, event_id, prev_hash, hash,
                     canonical, imported_at) VALUES {};",
                events.join(", ")
            );
            if !attendance.is_empty() {
                sql.push_str(&format!(
                    "INSERT INTO sync_attendance (event_id, device_id, seq, agent, kind,
                         accepted, reasons, site_id, captured_at, clock_skew) VALUES {};",
                    attendance.join(", ")
                ));
            }
            sql
        })
        .collect();
    timed_clients(target, clients, |client, i| {
        let Some(sql) = statements.get(i) else {
            return false;
        };
        let mut tx = client.transaction().unwrap();
        tx.batch_execute(sql).unwrap();
        tx.commit().unwrap();
        true
    })
}

/// `work` on items 0, 1, … taken in turn by `clients` threads, each with
/// its own connection to `url`, until it answers false; the time it took.
fn timed_clients(
    url: &str,
    clients: usize,
    work: impl Fn(&mut postgres::Client, usize) -> bool + Sync,
) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                while work(&mut client, next.fetch_add(1, Ordering::Relaxed)) {}
            });
        }
    });
    started.elapsed()
}

/// Rows of about the same size as the import's (the batch's text standing
/// in for each event's), into bare tables with only their keys, by one
/// multi-row INSERT per table and one transaction per batch, from `clients`
/// threads: the figure before the same rows were measured, kept beside it.
fn raw_inserts(url: &str, signed: &[Signed], clients: usize) -> Duration {
    let mut setup = postgres::Client::connect(url, postgres::NoTls).unwrap();
    setup
        .batch_execute(
            "CREATE TABLE raw_events (device_id TEXT NOT NULL, seq BIGINT NOT NULL,
                 event_type TEXT NOT NULL, canonical TEXT NOT NULL, hash BYTEA NOT NULL,
                 PRIMARY KEY (device_id, seq));
             CREATE TABLE raw_attendance (event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL,
                 seq BIGINT NOT NULL, agent TEXT NOT NULL, captured_at BIGINT NOT NULL);",
        )
        .unwrap();
    timed_clients(url, clients, |client, i| {
        let Some(device) = signed.get(i) else {
            return false;
        };
        for (b, (bytes, _)) in device.batches.iter().enumerate() {
            let text = String::from_utf8_lossy(bytes);
            let mut events = String::new();
            let mut attendance = String::new();
            for e in 0..EVENTS_PER_BATCH {
                let seq = (b * EVENTS_PER_BATCH + e + 1) as i64;
                let sep = if e == 0 { "" } else { "," };
                let id = format!("{}-{seq}", device.device_id);
                events.push_str(&format!(
                    "{sep}('{}', {seq}, 'attendance', '{}', '\\x{}')",
                    device.device_id,
                    &text[..text.len().min(400)].replace('\'', "''"),
                    "ab".repeat(32)
                ));
                attendance.push_str(&format!(
                    "{sep}('{id}', '{}', {seq}, 'agent-00001', {seq})",
                    device.device_id
                ));
            }
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(&format!(
                "INSERT INTO raw_events VALUES {events};
                 INSERT INTO raw_attendance VALUES {attendance};"
            ))
            .unwrap();
            tx.commit().unwrap();
        }
        true
    })
}

/// A device's identity and signed batches.
struct Signed {
    device_id: String,
    agent: String,
    public_key: String,
    batches: Vec<(Vec<u8>, String)>,
}

struct Pushed {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Enrols every device on `servers`' store, then pushes each device's
/// batches to one instance (device i to instance i mod n) from `clients`
/// threads; the enrolment is outside the time.
fn push_through(
    servers: &[Server],
    db: &std::path::Path,
    signed: &[Signed],
    clients: usize,
) -> Pushed {
    let admin = Actor::admin("bench");
    let store = open(db, false);
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    eprintln!("enrolling {} devices...", signed.len());
    let tokens: Vec<String> = signed
        .iter()
        .map(|device| {
            let code = store
                .create_enrolment_code(&admin, &device.agent, 60, Utc::now())
                .unwrap();
            let body = serde_json::json!({
                "code": code.code,
                "device_id": device.device_id,
                "public_key": device.public_key,
                "platform": "cli",
            });
            let mut answer = http
                .post(format!("{}/api/v1/devices/enrol", servers[0].url))
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200);
            let enrolled: serde_json::Value =
                serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
            enrolled["device_token"].as_str().unwrap().to_string()
        })
        .collect();
    drop(store);
    eprintln!("pushing over HTTP with {clients} clients...");
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(signed.len() * BATCHES_PER_DEVICE));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(device) = signed.get(i) else { break };
                    let url = &servers[i % servers.len()].url;
                    for (bytes, signature) in &device.batches {
                        let sent = Instant::now();
                        let answer = http
                            .post(format!("{url}/api/v1/sync/batches"))
                            .header("Authorization", &format!("Bearer {}", tokens[i]))
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
    Pushed {
        elapsed: started.elapsed(),
        latencies: latencies.into_inner().unwrap(),
    }
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
    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldcheck-server"));
    if db.to_str().is_some_and(|d| d.starts_with("postgres")) {
        command.arg("--master-key-file").arg(master_key_file());
    }
    let mut child = command
        .arg("--db")
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        // FIELDCHECK_BENCH_SERVER_LOG=1 shows the servers' logs.
        .stderr(
            if std::env::var_os("FIELDCHECK_BENCH_SERVER_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            },
        )
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
