//! Several server instances on one store (PRODUCT.md §12.5), as an
//! insurer runs them behind a load balancer: two `fieldcheck-server`
//! processes on one database, forty phones pushing and pulling through a
//! round-robin balancer (some sending the same batch to both instances at
//! once), a supervisor deciding on both instances while the phones pull,
//! and the instances killed with SIGKILL in the middle of uploads and
//! restarted, one at a time. Afterwards: every batch answered 200 is held,
//! each device's chain is held exactly once with no gap, every phone holds
//! every decision about its agent, and `verify` passes (its recount of
//! every derived row and day summary included).
//!
//! The database is the embedded SQLite file here; the test speaks to the
//! instances only over HTTP and reads the store through the CLI and the
//! core's public API (and one table, `sync_events`, read directly to list
//! each device's seqs).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Browser, SITES, Server, add_user, cli};
use fieldcheck_core::sync_client::{
    Method, SyncClient, SystemClock, Transport, WireRequest, WireResponse,
};
use fieldcheck_core::{
    Actor, ConsentChange, EventKind, Fix, FixRequest, Permission, Platform, Rules, SoftwareKey,
    Store,
};
use tempfile::TempDir;

const DEVICES: usize = 40;
/// Rounds every phone goes through, at the least (more while kills go on).
const ROUNDS: usize = 6;
const KILLS: usize = 10;
/// Every fifth phone sends each batch to both instances at once.
const DOUBLED_EVERY: usize = 5;

/// The instances' addresses and how many requests each has in flight (so
/// a kill lands mid-upload).
struct Instances {
    urls: Vec<String>,
    in_flight: Vec<AtomicUsize>,
}

/// A load balancer in the phone: each request goes to the next instance,
/// nothing sticky; a doubling phone sends its batches to both at once.
struct Balancer {
    /// The address the phone was enrolled at (instance 0's), replaced by
    /// the chosen instance's.
    home: String,
    instances: Arc<Instances>,
    next: AtomicUsize,
    doubled: bool,
    http: ureq::Agent,
    /// (device batch `to_seq` answered 200, `accepted_to_seq`) per answer.
    answered: Arc<Mutex<Vec<i64>>>,
}

impl Balancer {
    fn send(&self, instance: usize, request: &WireRequest) -> Result<WireResponse, String> {
        let url = request
            .url
            .replacen(&self.home, &self.instances.urls[instance], 1);
        let flight = &self.instances.in_flight[instance];
        flight.fetch_add(1, Ordering::SeqCst);
        let result = match request.method {
            Method::Get => {
                let mut call = self.http.get(&url);
                for (name, value) in &request.headers {
                    call = call.header(name, value);
                }
                call.call()
            }
            Method::Post => {
                let mut call = self.http.post(&url);
                for (name, value) in &request.headers {
                    call = call.header(name, value);
                }
                call.send(&request.body[..])
            }
        };
        let answer = result.map_err(|e| e.to_string()).and_then(|mut response| {
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            Ok(WireResponse {
                status,
                retry_after_s: None,
                body,
            })
        });
        flight.fetch_sub(1, Ordering::SeqCst);
        if let Ok(answer) = &answer
            && answer.status == 200
            && url.ends_with("/api/v1/sync/batches")
        {
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            self.answered
                .lock()
                .unwrap()
                .push(body["accepted_to_seq"].as_i64().unwrap());
        }
        answer
    }
}

impl Transport for Balancer {
    fn exchange(&self, request: &WireRequest) -> Result<WireResponse, String> {
        let first = self.next.fetch_add(1, Ordering::SeqCst) % 2;
        if self.doubled && request.method == Method::Post && request.url.ends_with("/batches") {
            // The same signed batch to both instances at the same moment.
            let (one, other) = std::thread::scope(|s| {
                let other = s.spawn(|| self.send(1 - first, request));
                (self.send(first, request), other.join().unwrap())
            });
            for answer in [&one, &other].into_iter().flatten() {
                // 429: the per-device rate limit is each instance's own.
                assert!(
                    matches!(answer.status, 200 | 429) || answer.status >= 500,
                    "a batch sent to both instances at once was refused: {} {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            }
            return match (one, other) {
                (Ok(a), _) if a.status == 200 => Ok(a),
                (_, Ok(b)) if b.status == 200 => Ok(b),
                (a, _) => a,
            };
        }
        self.send(first, request)
    }
}

struct Phone {
    agent: String,
    store: Store,
    key: SoftwareKey,
    balancer: Balancer,
}

impl Phone {
    fn client<'a>(&'a self, clock: &'a SystemClock) -> SyncClient<'a> {
        SyncClient::new(&self.store, &self.balancer, clock)
    }

    /// A check-in or check-out at the head office, now.
    fn record(&self, kind: EventKind) -> String {
        let now = Utc::now();
        self.store
            .record_fix(
                &Actor::agent(&self.agent),
                &FixRequest {
                    agent: self.agent.clone(),
                    kind,
                    fix: Fix {
                        lat: -6.2146,
                        lon: 106.8229,
                        accuracy_m: 10.0,
                        captured_at: now,
                        is_mock: false,
                    },
                },
                now,
            )
            .unwrap()
            .id
    }
}

fn restart(db: &Path, server: &mut Server, url: &str) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let listen = url.trim_start_matches("http://");
    *server = Server::start(db, &["--listen", listen]);
}

#[test]
fn two_instances_on_one_store_survive_kills_and_keep_every_device_whole() {
    let dir = TempDir::new().unwrap();
    // One SQLite file, or, in the PostgreSQL pass, one database.
    let db = common::postgres_database().unwrap_or_else(|| dir.path().join("server.db"));
    let sites = dir.path().join("sites.geojson");
    std::fs::write(&sites, SITES).unwrap();
    cli(&db, &["site", "import", sites.to_str().unwrap()], None).ok();
    add_user(&db, "boss", "admin", "");
    let servers: Vec<Server> = (0..2).map(|_| Server::start(&db, &[])).collect();
    let instances = Arc::new(Instances {
        urls: servers.iter().map(|s| s.url.clone()).collect(),
        in_flight: (0..2).map(|_| AtomicUsize::new(0)).collect(),
    });
    let servers = Mutex::new(servers);
    let clock = SystemClock;
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();

    // Forty phones, each enrolled for its own agent (codes minted on the
    // store, enrolment through the balancer), with the server's site.
    let minting = common::open_store(&db);
    let phones: Vec<Phone> = (0..DEVICES)
        .map(|i| {
            let agent = format!("a{i:02}");
            let path: PathBuf = dir.path().join(format!("{agent}.db"));
            // Phones' durability is not what this test is about.
            let store = Store::open_with(&path, &common::open_options()).unwrap();
            store
                .change_consent(
                    &Actor::agent(&agent),
                    &ConsentChange {
                        subject: agent.clone(),
                        permission: Permission::Location,
                        granted: true,
                        policy_version: None,
                        source: None,
                    },
                    Utc::now(),
                )
                .unwrap();
            let phone = Phone {
                key: SoftwareKey::generate(),
                balancer: Balancer {
                    home: instances.urls[0].clone(),
                    instances: instances.clone(),
                    next: AtomicUsize::new(i),
                    doubled: i.is_multiple_of(DOUBLED_EVERY),
                    http: http.clone(),
                    answered: Arc::default(),
                },
                agent,
                store,
            };
            let code = minting
                .create_enrolment_code(&Actor::admin("boss"), &phone.agent, 60, Utc::now())
                .unwrap()
                .code;
            phone
                .client(&clock)
                .enrol(
                    &instances.urls[0],
                    &code,
                    Platform::Cli,
                    &phone.key,
                    None,
                    false,
                )
                .unwrap();
            phone.client(&clock).pull().unwrap();
            phone
        })
        .collect();
    drop(minting);

    // Events the server acknowledged, for the supervisor to decide on:
    // (agent, event id, local date).
    let decidable: Mutex<Vec<(String, String, String)>> = Mutex::default();
    let zone: fieldcheck_core::zone::Zone = Rules::default().time_zone.parse().unwrap();
    let killing_done = AtomicBool::new(false);
    let phones_done = AtomicBool::new(false);
    let decisions_answered = AtomicUsize::new(0);
    let kills_mid_upload = AtomicUsize::new(0);
    let started = Instant::now();

    std::thread::scope(|s| {
        // The killer: SIGKILL one instance while it has requests in flight,
        // restart it on its address, the other one next time.
        s.spawn(|| {
            let mut victim = 0;
            while kills_mid_upload.load(Ordering::SeqCst) < KILLS {
                assert!(
                    started.elapsed() < Duration::from_secs(240),
                    "no upload in flight to kill into"
                );
                if instances.in_flight[victim].load(Ordering::SeqCst) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let mut servers = servers.lock().unwrap();
                restart(&db, &mut servers[victim], &instances.urls[victim]);
                kills_mid_upload.fetch_add(1, Ordering::SeqCst);
                drop(servers);
                victim = 1 - victim;
                std::thread::sleep(Duration::from_millis(150));
            }
            killing_done.store(true, Ordering::SeqCst);
        });

        // The supervisor, deciding on both instances in turn while the
        // phones pull; a decision whose instance died unanswered is simply
        // made again later.
        s.spawn(|| {
            let mut browser = Browser::new(&servers.lock().unwrap()[0]);
            let mut signed_in = false;
            let mut turn = 0usize;
            while !phones_done.load(Ordering::SeqCst) {
                turn += 1;
                browser.base = instances.urls[turn % 2].clone();
                if !signed_in {
                    let form = browser.try_get("/sign-in");
                    let token = form.as_ref().map(|f| f.csrf()).unwrap_or_default();
                    let answer = browser.try_post(
                        "/sign-in",
                        &[
                            ("user", "boss"),
                            ("password", "correct horse battery"),
                            ("csrf_token", &token),
                        ],
                    );
                    signed_in = answer.is_some_and(|a| a.status == 303);
                    continue;
                }
                let pick = {
                    let list = decidable.lock().unwrap();
                    (!list.is_empty()).then(|| list[turn * 7919 % list.len()].clone())
                };
                let Some((agent, event_id, date)) = pick else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let day = format!("/agents/{agent}/days/{date}");
                let Some(page) = browser.try_get(&day).filter(|p| p.status == 200) else {
                    continue;
                };
                let decision = if turn.is_multiple_of(3) {
                    "approve"
                } else {
                    "reject"
                };
                let answer = browser.try_post(
                    &format!("{day}/review"),
                    &[
                        ("csrf_token", &page.csrf()),
                        ("decision", decision),
                        ("note", "checked against the visit log"),
                        ("event_id", &event_id),
                    ],
                );
                if answer.is_some_and(|a| a.status == 303) {
                    decisions_answered.fetch_add(1, Ordering::SeqCst);
                }
            }
        });

        // The phones: four workers, ten phones each, round after round of
        // a check-in and a check-out, a push in batches of two, a pull.
        let workers: Vec<_> = phones
            .chunks(DEVICES / 4)
            .map(|chunk| {
                let decidable = &decidable;
                let killing_done = &killing_done;
                let clock = &clock;
                s.spawn(move || {
                    let mut round = 0;
                    while round < ROUNDS || !killing_done.load(Ordering::SeqCst) {
                        assert!(
                            started.elapsed() < Duration::from_secs(300),
                            "rounds ran long"
                        );
                        for phone in chunk {
                            let ids = [
                                phone.record(EventKind::CheckIn),
                                phone.record(EventKind::CheckOut),
                            ];
                            // A push that ran out of retries while both
                            // instances were away resumes next round.
                            if phone.client(clock).push(&phone.key, 2).is_ok() {
                                let date = Utc::now().with_timezone(&zone).date_naive();
                                let mut list = decidable.lock().unwrap();
                                for id in ids {
                                    list.push((phone.agent.clone(), id, date.to_string()));
                                }
                            }
                            let _ = phone.client(clock).pull();
                        }
                        round += 1;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        phones_done.store(true, Ordering::SeqCst);
    });
    assert_eq!(kills_mid_upload.load(Ordering::SeqCst), KILLS);
    assert!(
        decisions_answered.load(Ordering::SeqCst) >= 10,
        "too few decisions were made to prove anything: {}",
        decisions_answered.load(Ordering::SeqCst)
    );

    // Quiet now: every phone sends what is left and pulls once more.
    for phone in &phones {
        let pushed = phone.client(&clock).push(&phone.key, 50).unwrap();
        assert_eq!(pushed.pending, 0);
        phone.client(&clock).pull().unwrap();
    }
    for server in servers.into_inner().unwrap() {
        assert!(server.terminate().success());
    }

    // Every device's chain is held whole: seqs 1..=head, each once, and
    // every answer 200 is within what is held.
    let server = common::open_store(&db);
    let admin = Actor::admin("boss");
    let held: BTreeMap<String, i64> = server
        .sync_status(&admin)
        .unwrap()
        .imported_devices
        .into_iter()
        .map(|d| (d.device_id, d.last_seq))
        .collect();
    let events = events_per_device(&db);
    for phone in &phones {
        let status = phone.store.sync_status(&admin).unwrap();
        assert_eq!(status.pending, 0);
        let device = &status.device_id;
        assert_eq!(held.get(device), Some(&status.head_seq), "{}", phone.agent);
        let seqs = events.get(device).cloned().unwrap_or_default();
        assert_eq!(
            seqs,
            (1..=status.head_seq).collect::<Vec<_>>(),
            "{}: the server's copy of the chain has a gap or a double",
            phone.agent
        );
        for accepted in phone.balancer.answered.lock().unwrap().iter() {
            assert!(*accepted <= status.head_seq);
        }

        // Every decision about the agent reached the phone, none skipped.
        let (made, _) = server.decisions_after(&phone.agent, None, 100_000).unwrap();
        let made: BTreeSet<String> = made.into_iter().map(|d| d.review_id).collect();
        let pulled: BTreeSet<String> = phone
            .store
            .decisions(&Actor::agent(&phone.agent), Some(&phone.agent))
            .unwrap()
            .into_iter()
            .map(|d| d.review_id)
            .collect();
        assert_eq!(
            pulled, made,
            "{}: decisions missed by the phone",
            phone.agent
        );
    }
    let decided: usize = phones
        .iter()
        .map(|p| {
            server
                .decisions_after(&p.agent, None, 100_000)
                .unwrap()
                .0
                .len()
        })
        .sum();
    assert!(decided >= decisions_answered.load(Ordering::SeqCst));
    let events: i64 = held.values().sum();
    println!(
        "{DEVICES} devices, {events} events held, {KILLS} kills mid-upload, {decided} decisions \
         ({} answered) in {:.0?}",
        decisions_answered.load(Ordering::SeqCst),
        started.elapsed()
    );
    drop(server);
    let verified = cli(&db, &["--json", "verify"], None).ok().json();
    assert_eq!(verified["intact"], true, "{verified}");
}

/// The seqs the server holds of each device's chain, in order (the CLI's
/// event listing leaves out events other than attendance, so the table
/// itself is read).
fn events_per_device(db: &Path) -> BTreeMap<String, Vec<i64>> {
    let url = db.to_string_lossy();
    if url.starts_with("postgres") {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for row in client
            .query(
                "SELECT device_id, seq FROM sync_events ORDER BY device_id, seq",
                &[],
            )
            .unwrap()
        {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        return out;
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT device_id, seq FROM sync_events ORDER BY device_id, seq")
        .unwrap();
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap();
    for row in rows {
        let (device, seq) = row.unwrap();
        out.entry(device).or_default().push(seq);
    }
    out
}
