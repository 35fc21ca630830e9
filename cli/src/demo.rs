//! `fieldcheck demo`: six agents at five sites through one working week,
//! judged and recorded through the core API exactly as phones would submit
//! them, then summarised for a supervisor.
//!
//! The simulation is deterministic (a seeded RNG; the week is the last full
//! week before `now`); only event ids (UUIDv7) differ between runs. The
//! demo holds no business rules: every verdict in the summary is the
//! core's.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use fieldcheck_core::report::DayStatus;
use fieldcheck_core::store::schema::APPLICATION_ID;
use fieldcheck_core::{
    Actor, AttendanceEvent, AttendanceReport, AuditFlag, ConsentChange, ConsentSource, Decision,
    Error, EventFilter, EventKind, Fix, FixRequest, FlagPurpose, FlagRequest, FlagScope,
    ImportSummary, LeadStatus, LeadUpdate, NewLead, NewTransaction, Permission, ReportQuery, Rules,
    SalesReport, Shift, Store, TxnKind, VerifyReport, WeekdaySet, shift, time,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::output::Output;

/// Five sites: a circle, a polygon, a polygon with a hole, and two
/// European offices with assigned agents.
const SITES: &str = include_str!("demo_sites.geojson");
const SEED: u64 = 0x00f1_e1dc;
const DEMO_KEY: &str = "demo";

/// Where agents usually stand at a site (at least 75 m inside its fence).
#[derive(Debug, Clone, Copy)]
struct Desk {
    /// The site the desk is in; the tests check every ordinary fix lands there.
    #[cfg_attr(not(test), allow(dead_code))]
    site: &'static str,
    lat: f64,
    lon: f64,
}

const JKT_HQ: Desk = Desk {
    site: "jkt-hq",
    lat: -6.2146,
    lon: 106.8229,
};
const SBY_BRANCH: Desk = Desk {
    site: "sby-branch",
    lat: -7.2655,
    lon: 112.7425,
};
const CLIENT_BSD: Desk = Desk {
    site: "client-bsd",
    lat: -6.3015,
    lon: 106.6520,
};
const AMS_OFFICE: Desk = Desk {
    site: "ams-office",
    lat: 52.3380,
    lon: 4.8730,
};
const STO_OFFICE: Desk = Desk {
    site: "sto-office",
    lat: 59.3326,
    lon: 18.0649,
};
/// In the plot excluded from client-bsd (its hole), 15 m from its edge.
const IN_CLIENT_HOLE: (f64, f64) = (-6.3014, 106.653_636);
/// A coffee stall about 520 m north of the Surabaya branch.
const NEAR_SBY: (f64, f64) = (-7.2600, 112.7425);

#[derive(Debug, Clone, Copy)]
struct Agent {
    id: &'static str,
    desk: Desk,
    /// The office's IANA zone: the agent's shift runs in it.
    zone: &'static str,
}

const JAKARTA: &str = "Asia/Jakarta";

const AGENTS: &[Agent] = &[
    Agent {
        id: "agt-budi",
        desk: JKT_HQ,
        zone: JAKARTA,
    },
    Agent {
        id: "agt-dewi",
        desk: CLIENT_BSD,
        zone: JAKARTA,
    },
    Agent {
        id: "agt-eko",
        desk: JKT_HQ,
        zone: JAKARTA,
    },
    Agent {
        id: "agt-siti",
        desk: SBY_BRANCH,
        zone: JAKARTA,
    },
    Agent {
        id: "agt-sanne",
        desk: AMS_OFFICE,
        zone: "Europe/Amsterdam",
    },
    Agent {
        id: "agt-lars",
        desk: STO_OFFICE,
        zone: "Europe/Stockholm",
    },
];

const SUPERVISOR: &str = "spv-rina";
const MON: i64 = 0;
const TUE: i64 = 1;
const WED: i64 = 2;
const THU: i64 = 3;
const FRI: i64 = 4;

/// One call the simulation makes, at the device's clock `at`.
#[derive(Debug, Clone)]
struct Step {
    at: DateTime<Utc>,
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    Consent {
        agent: &'static str,
        granted: bool,
        source: ConsentSource,
    },
    SecurityFlag {
        agent: &'static str,
        until: DateTime<Utc>,
    },
    Fix {
        agent: &'static str,
        kind: EventKind,
        fix: Fix,
    },
    /// A new lead; `key` names it within the demo.
    Lead {
        agent: &'static str,
        key: &'static str,
        name: &'static str,
        phone: &'static str,
        product: &'static str,
        source: &'static str,
    },
    Status {
        agent: &'static str,
        key: &'static str,
        status: LeadStatus,
    },
    Txn {
        agent: &'static str,
        key: &'static str,
        kind: TxnKind,
        policy: &'static str,
        product: &'static str,
        amount: &'static str,
        currency: &'static str,
    },
    /// The supervisor decides on the agent's first check-in of `date`.
    Review {
        agent: &'static str,
        date: NaiveDate,
        decision: Decision,
        note: &'static str,
    },
}

pub fn run(
    path: &Path,
    via_server: bool,
    out: &mut Output,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if previous_demo(path)? {
        remove_store(path)?;
    }
    let monday = last_full_week(now);
    let steps = plan(monday);
    let bar = out.progress(steps.len() as u64, "simulating");
    // With --via-server the server decides (sites, shifts, the flag, the
    // reviews), each agent's phone is its own store enrolled with it, and
    // the supervisor's reports come from the server's store.
    let (report_path, sites, server) = if via_server {
        let (sites, server) = through_server(path, monday, &steps, &|| bar.inc(1))?;
        (std::path::PathBuf::from(&server.db), sites, Some(server))
    } else {
        let store = Store::open(path)?;
        let sites = record(&store, monday, &steps, &|| bar.inc(1))?;
        (path.to_path_buf(), sites, None)
    };
    bar.finish_and_clear();

    let store = Store::open(&report_path)?;
    let admin = admin();
    let events = store.events(&admin, &EventFilter::default())?;
    let week = ReportQuery {
        from: monday,
        to: monday + Duration::days(FRI),
        agent: None,
    };
    let supervisor = Actor::supervisor(SUPERVISOR);
    let summary = Summary {
        db: path.display().to_string(),
        week: WeekRange {
            from: week.from,
            to: week.to,
        },
        sites: sites.added + sites.replaced,
        retained_fixes: events.iter().filter(|e| e.location_retained).count(),
        totals: totals(&events),
        attendance: store.attendance_report(&supervisor, &week, now)?,
        sales: store.sales_report(&supervisor, &week, now)?,
        flags: store.flags(&admin, None, now)?,
        verify: store.verify()?,
        server,
    };
    out.value(&summary, |w| render(w, &summary))?;
    if !summary.verify.intact {
        return Err(Error::Corrupt(
            "the demo store failed verification right after it was written".into(),
        ));
    }
    Ok(())
}

/// Whether `path` holds a previous demo store that may be replaced.
/// Anything else that exists is refused without being opened for writing:
/// only a file whose header says fieldcheck is opened at all, read-only.
fn previous_demo(path: &Path) -> Result<bool, Error> {
    let refuse = |why: &str| {
        Error::invalid(
            "db",
            format!(
                "{} {why}; the demo replaces only a previous demo store (choose another --db)",
                path.display()
            ),
        )
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_file() {
        return Err(refuse("exists and is not a regular file"));
    }
    // SQLite header: magic string, then application_id at offset 68.
    let mut header = [0u8; 100];
    let mut file = fs::File::open(path)?;
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..])? {
            0 => break,
            n => read += n,
        }
    }
    let app_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if read < header.len() || &header[..16] != b"SQLite format 3\0" || app_id != APPLICATION_ID {
        return Err(refuse("exists and is not a fieldcheck store"));
    }
    // Read-write without create, but query-only: a read-only connection
    // would leave -wal and -shm files behind; this one removes them on close.
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "query_only", true)?;
    let marker: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [DEMO_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    if marker.as_deref() != Some("1") {
        return Err(refuse("is a fieldcheck store that the demo did not create"));
    }
    Ok(true)
}

fn remove_store(path: &Path) -> Result<(), Error> {
    fs::remove_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match fs::remove_file(&side) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Monday of the last Monday-to-Sunday week that ended before `now` (UTC).
fn last_full_week(now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()) + 7)
}

fn at_local(date: NaiveDate, zone: &str, hour: u32, minute: u32) -> DateTime<Utc> {
    let tz = shift::parse_time_zone(zone).expect("demo zones are IANA names");
    let time = NaiveTime::from_hms_opt(hour, minute, 0).expect("demo times are valid");
    shift::local_instant(tz, date, time)
}

struct Sim {
    rng: StdRng,
    steps: Vec<Step>,
}

impl Sim {
    fn push(&mut self, at: DateTime<Utc>, action: Action) {
        self.steps.push(Step { at, action });
    }

    /// A fix captured at `captured` and submitted `delay` later.
    #[allow(clippy::too_many_arguments)]
    fn fix(
        &mut self,
        agent: &Agent,
        kind: EventKind,
        captured: DateTime<Utc>,
        delay: Duration,
        (lat, lon): (f64, f64),
        accuracy_m: f64,
        is_mock: bool,
    ) {
        let fix = Fix {
            lat,
            lon,
            accuracy_m,
            captured_at: captured,
            is_mock,
        };
        self.push(
            captured + delay,
            Action::Fix {
                agent: agent.id,
                kind,
                fix,
            },
        );
    }

    /// An ordinary fix: within 25 m of the desk, 4–25 m accuracy, sent
    /// one to six seconds after capture.
    fn ordinary(&mut self, agent: &Agent, kind: EventKind, captured: DateTime<Utc>, desk: Desk) {
        let point = self.jitter(desk, 25.0);
        let accuracy = (self.rng.random_range(4.0..25.0_f64) * 10.0).round() / 10.0;
        let delay = Duration::seconds(self.rng.random_range(1..=6));
        self.fix(agent, kind, captured, delay, point, accuracy, false);
    }

    /// A point uniformly distributed within `max_m` metres of the desk.
    fn jitter(&mut self, desk: Desk, max_m: f64) -> (f64, f64) {
        let distance = max_m * self.rng.random_range(0.0..1.0_f64).sqrt();
        let bearing = self.rng.random_range(0.0..std::f64::consts::TAU);
        let north = distance * bearing.cos();
        let east = distance * bearing.sin();
        let lat = desk.lat + north / 111_320.0;
        let lon = desk.lon + east / (111_320.0 * desk.lat.to_radians().cos());
        (lat, lon)
    }

    fn minutes(&mut self, range: std::ops::Range<i64>) -> Duration {
        Duration::seconds(self.rng.random_range(range.start * 60..range.end * 60))
    }
}

/// Where the agent works that day.
fn desk_of(agent: &Agent, day: i64) -> Desk {
    match (agent.id, day) {
        ("agt-dewi", FRI) => JKT_HQ,
        _ => agent.desk,
    }
}

/// The week, as the phones and the supervisor would live it, in the order
/// the calls happen.
fn plan(monday: NaiveDate) -> Vec<Step> {
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(SEED),
        steps: Vec::new(),
    };
    let sunday = monday - Duration::days(1);
    for (i, agent) in AGENTS.iter().enumerate() {
        let at = at_local(sunday, agent.zone, 19, 0) + Duration::minutes(i as i64 * 7);
        sim.push(
            at,
            Action::Consent {
                agent: agent.id,
                granted: true,
                source: ConsentSource::App,
            },
        );
    }
    // After Eko's first spoofed check-in, his supervisor opens a security
    // audit: from then on his fixes keep their coordinates.
    sim.push(
        at_local(monday, JAKARTA, 10, 30),
        Action::SecurityFlag {
            agent: "agt-eko",
            until: at_local(monday, JAKARTA, 10, 30) + Duration::days(21),
        },
    );

    let second = Duration::seconds;
    for day in MON..=FRI {
        let date = monday + Duration::days(day);
        for agent in AGENTS {
            let mut check_in = at_local(date, agent.zone, 7, 45) + sim.minutes(0..30);
            // Stuck behind a flooded underpass: 55 minutes past 08:00 + grace.
            if (agent.id, day) == ("agt-siti", TUE) {
                check_in = at_local(date, agent.zone, 9, 5);
            }
            let check_out = at_local(date, agent.zone, 17, 0) + sim.minutes(0..50);
            let desk = desk_of(agent, day);
            let at_desk = (desk.lat, desk.lon);
            let mut checks_out = true;
            match (agent.id, day) {
                // The app submits a fix cached since before he arrived.
                ("agt-budi", TUE) => {
                    let captured = check_in - Duration::minutes(11);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        Duration::minutes(10),
                        at_desk,
                        12.0,
                        false,
                    );
                }
                ("agt-budi", THU) => checks_out = false,
                // Deep inside the warehouse: a poor fix.
                ("agt-dewi", TUE) => {
                    let captured = check_in - Duration::minutes(5);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        second(3),
                        at_desk,
                        180.0,
                        false,
                    );
                }
                // On the neighbouring plot, the hole in the client's fence.
                ("agt-dewi", WED) => {
                    let captured = check_in - Duration::minutes(3);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        second(2),
                        IN_CLIENT_HOLE,
                        35.0,
                        false,
                    );
                }
                // A location-spoofing app, suspiciously exact.
                ("agt-eko", MON | WED) => {
                    let captured = check_in - Duration::minutes(6);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        second(1),
                        at_desk,
                        3.0,
                        true,
                    );
                }
                // From the coffee stall down the road.
                ("agt-siti", THU) => {
                    let captured = check_in - Duration::minutes(40);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        second(4),
                        NEAR_SBY,
                        12.0,
                        false,
                    );
                }
                // Inside, but less accurate than the office's own limit.
                ("agt-sanne", TUE) => {
                    let captured = check_in - Duration::minutes(3);
                    sim.fix(
                        agent,
                        EventKind::CheckIn,
                        captured,
                        second(2),
                        at_desk,
                        65.0,
                        false,
                    );
                }
                _ => {}
            }
            sim.ordinary(agent, EventKind::CheckIn, check_in, desk);
            // Her account checks in at Stockholm 75 minutes after Amsterdam.
            if (agent.id, day) == ("agt-sanne", WED) {
                let captured = check_in + Duration::minutes(75);
                let sto = (STO_OFFICE.lat, STO_OFFICE.lon);
                sim.fix(
                    agent,
                    EventKind::CheckIn,
                    captured,
                    second(2),
                    sto,
                    9.0,
                    false,
                );
            }
            if checks_out {
                sim.ordinary(agent, EventKind::CheckOut, check_out, desk);
            }
            // Lars turns location off in the OS settings; his app keeps
            // trying on Thursday and Friday.
            if (agent.id, day) == ("agt-lars", WED) {
                sim.push(
                    check_out + Duration::minutes(90),
                    Action::Consent {
                        agent: agent.id,
                        granted: false,
                        source: ConsentSource::OsSettings,
                    },
                );
            }
        }
    }
    sales(&mut sim, monday);
    // The supervisor reviews the week on Friday afternoon.
    let friday = monday + Duration::days(FRI);
    for (agent, day, decision, note) in [
        (
            "agt-siti",
            TUE,
            Decision::Approved,
            "Late: flooded underpass on Jl. Ahmad Yani, confirmed by the branch",
        ),
        (
            "agt-budi",
            THU,
            Decision::Rejected,
            "No check-out recorded; please file a correction",
        ),
    ] {
        sim.push(
            at_local(friday, JAKARTA, 16, 0),
            Action::Review {
                agent,
                date: monday + Duration::days(day),
                decision,
                note,
            },
        );
    }
    // Stable: simultaneous steps keep the order they were planned in.
    sim.steps.sort_by_key(|s| s.at);
    sim.steps
}

/// Leads through the pipeline and closings in rupiah and euro.
fn sales(sim: &mut Sim, monday: NaiveDate) {
    let at =
        |day: i64, zone: &str, hour: u32| at_local(monday + Duration::days(day), zone, hour, 15);
    let ams = "Europe/Amsterdam";
    let sto = "Europe/Stockholm";
    let leads = [
        (
            MON,
            JAKARTA,
            "agt-budi",
            "andi",
            "Andi Wijaya",
            "+62 812 5550 1234",
            "term life",
        ),
        (
            MON,
            JAKARTA,
            "agt-dewi",
            "sinar",
            "PT Sinar Jaya",
            "+62 21 555 0199",
            "group health",
        ),
        (
            TUE,
            JAKARTA,
            "agt-siti",
            "agus",
            "Agus Salim",
            "+62 31 555 0142",
            "motor",
        ),
        (
            MON,
            ams,
            "agt-sanne",
            "jan",
            "Jan de Vries",
            "+31 20 555 0170",
            "home",
        ),
        (
            TUE,
            sto,
            "agt-lars",
            "karin",
            "Karin Lindqvist",
            "+46 8 555 012 34",
            "travel",
        ),
        (
            THU,
            JAKARTA,
            "agt-dewi",
            "rina",
            "Rina Hartono",
            "+62 813 5550 7788",
            "critical illness",
        ),
    ]
    .map(|(day, zone, agent, key, name, phone, product)| {
        (day, zone, agent, key, name, phone, product, "referral")
    });
    for (day, zone, agent, key, name, phone, product, source) in leads {
        sim.push(
            at(day, zone, 11),
            Action::Lead {
                agent,
                key,
                name,
                phone,
                product,
                source,
            },
        );
    }
    use LeadStatus::*;
    let moves = [
        (TUE, JAKARTA, "agt-budi", "andi", Contacted),
        (WED, JAKARTA, "agt-budi", "andi", Qualified),
        (THU, JAKARTA, "agt-budi", "andi", Proposal),
        (WED, JAKARTA, "agt-dewi", "sinar", Contacted),
        (FRI, JAKARTA, "agt-dewi", "sinar", Lost),
        (WED, JAKARTA, "agt-siti", "agus", Proposal),
        (TUE, ams, "agt-sanne", "jan", Contacted),
        (WED, sto, "agt-lars", "karin", Contacted),
        (FRI, JAKARTA, "agt-budi", "andi", Won),
    ];
    for (day, zone, agent, key, status) in moves {
        // A lead is won after its closing (14:15) is recorded.
        let hour = if status == Won { 15 } else { 13 };
        sim.push(at(day, zone, hour), Action::Status { agent, key, status });
    }
    let txns = [
        (
            FRI,
            JAKARTA,
            "agt-budi",
            "andi",
            TxnKind::PolicyClosing,
            "JKT-TL-2026-0412",
            "term life",
            "4500000.00",
            "IDR",
        ),
        (
            THU,
            JAKARTA,
            "agt-siti",
            "agus",
            TxnKind::PolicyClosing,
            "SBY-MV-2026-0087",
            "motor",
            "1250000",
            "IDR",
        ),
        (
            FRI,
            JAKARTA,
            "agt-siti",
            "agus",
            TxnKind::PremiumPayment,
            "SBY-MV-2026-0087",
            "motor",
            "104166.67",
            "IDR",
        ),
        (
            WED,
            ams,
            "agt-sanne",
            "jan",
            TxnKind::PolicyClosing,
            "AMS-HO-2026-0031",
            "home",
            "640.00",
            "EUR",
        ),
        (
            THU,
            ams,
            "agt-sanne",
            "jan",
            TxnKind::PremiumPayment,
            "AMS-HO-2026-0031",
            "home",
            "53.34",
            "EUR",
        ),
    ];
    for (day, zone, agent, key, kind, policy, product, amount, currency) in txns {
        sim.push(
            at(day, zone, 14),
            Action::Txn {
                agent,
                key,
                kind,
                policy,
                product,
                amount,
                currency,
            },
        );
        if kind == TxnKind::PolicyClosing && key != "andi" {
            sim.push(
                at(day, zone, 15),
                Action::Status {
                    agent,
                    key,
                    status: Won,
                },
            );
        }
    }
}

fn admin() -> Actor {
    Actor::admin("demo-admin")
}

/// Marks the store as a demo store, imports the sites and makes every call
/// of the plan.
fn record(
    store: &Store,
    monday: NaiveDate,
    steps: &[Step],
    progress: &dyn Fn(),
) -> Result<ImportSummary, Error> {
    // Marked first, so that even an interrupted demo can be replaced.
    store.set_meta(&admin(), DEMO_KEY, "1")?;
    let imported_at = at_local(monday - Duration::days(7), JAKARTA, 9, 0);
    let sites = store.import_sites(&admin(), SITES, imported_at)?;
    set_shifts(store, imported_at)?;
    let mut leads = BTreeMap::new();
    for step in steps {
        apply(store, step, &mut leads)?;
        progress();
    }
    Ok(sites)
}

/// Every agent's 08:00-17:00 weekday shift in their office's zone (on the
/// device's store and, with --via-server, on the server's: shifts are the
/// organisation's settings, not synced events).
fn set_shifts(store: &Store, at: DateTime<Utc>) -> Result<(), Error> {
    for agent in AGENTS {
        let shift = Shift::new(
            NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            WeekdaySet::parse("mon-fri")?,
            shift::parse_time_zone(agent.zone)?,
        )?;
        store.set_shift(&admin(), agent.id, &shift, at)?;
    }
    Ok(())
}

fn apply(
    store: &Store,
    step: &Step,
    leads: &mut BTreeMap<&'static str, String>,
) -> Result<(), Error> {
    let lead_id = |leads: &BTreeMap<&str, String>, key: &str| {
        leads
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("demo lead {key}")))
    };
    match &step.action {
        Action::Consent {
            agent,
            granted,
            source,
        } => {
            let change = ConsentChange {
                subject: agent.to_string(),
                permission: Permission::Location,
                granted: *granted,
                policy_version: None,
                source: Some(*source),
            };
            store.change_consent(&Actor::agent(*agent), &change, step.at)?;
        }
        Action::SecurityFlag { agent, until } => {
            let request = FlagRequest {
                scope: FlagScope::Agent(agent.to_string()),
                purpose: FlagPurpose::Security,
                reason: "mock location reported at check-in".into(),
                expires_at: *until,
            };
            store.set_flag(&Actor::supervisor(SUPERVISOR), &request, step.at)?;
        }
        Action::Fix { agent, kind, fix } => {
            let request = FixRequest {
                agent: agent.to_string(),
                kind: *kind,
                fix: *fix,
            };
            store.record_fix(&Actor::agent(*agent), &request, step.at)?;
        }
        Action::Lead {
            agent,
            key,
            name,
            phone,
            product,
            source,
        } => {
            let lead = NewLead {
                agent: agent.to_string(),
                customer_name: name.to_string(),
                phone: Some(phone.to_string()),
                email: None,
                product: Some(product.to_string()),
                source: Some(source.to_string()),
                note: None,
            };
            let created = store.add_lead(&Actor::agent(*agent), &lead, step.at)?;
            leads.insert(key, created.id);
        }
        Action::Status { agent, key, status } => {
            let update = LeadUpdate {
                status: Some(*status),
                ..LeadUpdate::default()
            };
            store.update_lead(
                &Actor::agent(*agent),
                &lead_id(leads, key)?,
                &update,
                step.at,
            )?;
        }
        Action::Txn {
            agent,
            key,
            kind,
            policy,
            product,
            amount,
            currency,
        } => {
            let txn = NewTransaction {
                agent: agent.to_string(),
                kind: *kind,
                policy_number: policy.to_string(),
                product: product.to_string(),
                amount: amount.to_string(),
                currency: currency.to_string(),
                lead_id: Some(lead_id(leads, key)?),
                occurred_at: Some(step.at),
            };
            store.add_transaction(&Actor::agent(*agent), &txn, step.at)?;
        }
        Action::Review {
            agent,
            date,
            decision,
            note,
        } => {
            // A decision on the agent's whole day, as the console makes it.
            store.review_day(
                &Actor::supervisor(SUPERVISOR),
                agent,
                *date,
                *decision,
                note,
                step.at,
            )?;
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Summary {
    db: String,
    week: WeekRange,
    sites: usize,
    totals: Totals,
    /// The supervisor's attendance report for the week (the core's).
    attendance: AttendanceReport,
    /// Leads, conversion and premium for the week (the core's).
    sales: SalesReport,
    flags: Vec<AuditFlag>,
    retained_fixes: usize,
    verify: VerifyReport,
    /// With --via-server: what went over the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<ViaServer>,
}

#[derive(Debug, Serialize)]
struct ViaServer {
    url: String,
    /// The server's store (the reports above are read from it).
    db: String,
    /// One phone per agent, each its own store enrolled with the server.
    devices: Vec<ViaDevice>,
    /// Events all devices sent, in how many signed batches.
    events: u64,
    batches: u64,
    /// `verify` on the server's store afterwards: its own chain, every
    /// imported chain and the rows derived from them.
    server_chain_intact: bool,
}

#[derive(Debug, Serialize)]
struct ViaDevice {
    agent: &'static str,
    device_id: String,
    db: String,
    events: u64,
    batches: u64,
    acked_seq: i64,
    /// Configuration changes its pulls applied (sites, shifts, the flag).
    config_changes: u64,
}

/// A phone of the demo: its store, key and sync totals.
struct Phone {
    agent: &'static str,
    store: Store,
    key: fieldcheck_core::device::SoftwareKey,
    db: String,
    events: u64,
    batches: u64,
    config_changes: u64,
}

/// The clock of a replayed week, shared by the demo's phones (as their
/// device clock) and the server (through its `--clock-file`), so the
/// server sees each event arrive when it was recorded.
struct ReplayClock {
    file: std::path::PathBuf,
    now: std::sync::Mutex<DateTime<Utc>>,
}

impl ReplayClock {
    fn set(&self, at: DateTime<Utc>) -> Result<(), Error> {
        if let Ok(mut now) = self.now.lock() {
            *now = at;
        }
        fs::write(&self.file, time::format_rfc3339(at))?;
        Ok(())
    }
}

impl fieldcheck_core::sync_client::SyncClock for ReplayClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
    fn pause(&self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}

/// A file beside the demo's store: `{path}{suffix}`.
fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// A fresh demo store at `path` (a previous demo's is replaced).
fn fresh_demo_store(path: &Path) -> Result<Store, Error> {
    if previous_demo(path)? {
        remove_store(path)?;
    }
    let store = Store::open(path)?;
    store.set_meta(&admin(), DEMO_KEY, "1")?;
    Ok(store)
}

/// The week through a real local `fieldcheck-server` (found beside this
/// executable, on 127.0.0.1 port 0, its clock following the replay). The
/// server's store holds the sites and shifts; each agent's phone enrols
/// with its own one-time code and pulls them; the phones record their
/// agent's calls and push after each, while the supervisor's acts (the
/// security flag, the reviews) happen on the server, and every phone
/// pulls after them. The server stops with SIGTERM (it drains and
/// commits).
fn through_server(
    path: &Path,
    monday: NaiveDate,
    steps: &[Step],
    progress: &dyn Fn(),
) -> Result<(ImportSummary, ViaServer), Error> {
    use fieldcheck_core::Platform;
    use fieldcheck_core::device::SoftwareKey;
    use fieldcheck_core::sync_client::SyncClient;
    use std::io::BufRead;

    let exe = std::env::current_exe()?;
    let server_bin =
        exe.with_file_name(format!("fieldcheck-server{}", std::env::consts::EXE_SUFFIX));
    if !server_bin.is_file() {
        return Err(Error::invalid(
            "via-server",
            format!(
                "{} not found; build it first (cargo build --release -p fieldcheck-server)",
                server_bin.display()
            ),
        ));
    }
    let server_db = beside(path, ".server.db");
    let server_store = fresh_demo_store(&server_db)?;
    let imported_at = at_local(monday - Duration::days(7), JAKARTA, 9, 0);
    let sites = server_store.import_sites(&admin(), SITES, imported_at)?;
    set_shifts(&server_store, imported_at)?;
    let start = steps.first().map_or(imported_at, |s| s.at) - Duration::hours(1);
    let clock = ReplayClock {
        file: beside(path, ".clock"),
        now: std::sync::Mutex::new(start),
    };
    clock.set(start)?;
    let mut codes = Vec::new();
    for agent in AGENTS {
        codes.push(server_store.create_enrolment_code(&admin(), agent.id, 60, start)?);
    }

    let mut child = std::process::Command::new(&server_bin)
        // The demo's stores are a phone's kind, in clear, opened here
        // without a key: the server must not turn sealing on under them.
        .env_remove("FIELDCHECK_MASTER_KEY_FILE")
        .arg("--db")
        .arg(&server_db)
        .arg("--clock-file")
        .arg(&clock.file)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stop = |child: &mut std::process::Child| {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    };
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        io::BufReader::new(stdout).read_line(&mut first)?;
    }
    let Some(url) = first
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_string)
    else {
        stop(&mut child);
        return Err(Error::Io(io::Error::other(
            "fieldcheck-server did not start",
        )));
    };
    let transport = crate::http::HttpTransport::new();
    let week = (|| -> Result<Vec<Phone>, Error> {
        let mut phones = Vec::new();
        for (agent, code) in AGENTS.iter().zip(&codes) {
            let db = beside(path, &format!(".{}.db", agent.id));
            let store = fresh_demo_store(&db)?;
            let key = SoftwareKey::generate();
            let client = SyncClient::new(&store, &transport, &clock);
            client.enrol(
                &url,
                &code.code,
                Platform::Cli,
                &key,
                Some(key.to_pkcs8()?),
                false,
            )?;
            // As the apps do: the server's sites and shift, at once.
            let pulled = client.pull()?;
            phones.push(Phone {
                agent: agent.id,
                store,
                key,
                db: db.display().to_string(),
                events: 0,
                batches: 0,
                config_changes: pulled.config,
            });
        }
        let mut leads = BTreeMap::new();
        for step in steps {
            clock.set(step.at)?;
            match step_agent(&step.action) {
                // A phone's own act, sent as soon as it is recorded.
                Some(agent) => {
                    let phone = phones
                        .iter_mut()
                        .find(|p| p.agent == agent)
                        .ok_or_else(|| Error::NotFound(format!("demo agent {agent}")))?;
                    apply(&phone.store, step, &mut leads)?;
                    let pushed = SyncClient::new(&phone.store, &transport, &clock)
                        .push(&phone.key, DEMO_BATCH)?;
                    phone.events += pushed.events;
                    phone.batches += pushed.batches;
                }
                // The supervisor's, on the server; the phones pull it.
                None => {
                    apply(&server_store, step, &mut leads)?;
                    for phone in &mut phones {
                        let pulled = SyncClient::new(&phone.store, &transport, &clock).pull()?;
                        phone.config_changes += pulled.config;
                    }
                }
            }
            progress();
        }
        Ok(phones)
    })();
    stop(&mut child);
    let _ = fs::remove_file(&clock.file);
    let phones = week?;
    let server_chain_intact = Store::open(&server_db)?.verify()?.intact;
    let mut devices = Vec::new();
    for phone in phones {
        devices.push(ViaDevice {
            agent: phone.agent,
            device_id: phone.store.device_id()?,
            db: phone.db,
            events: phone.events,
            batches: phone.batches,
            acked_seq: phone.store.sync_status(&admin())?.acked_seq,
            config_changes: phone.config_changes,
        });
    }
    Ok((
        sites,
        ViaServer {
            url,
            db: server_db.display().to_string(),
            events: devices.iter().map(|d| d.events).sum(),
            batches: devices.iter().map(|d| d.batches).sum(),
            devices,
            server_chain_intact,
        },
    ))
}

/// The agent whose phone makes a step, or `None` for the supervisor's.
fn step_agent(action: &Action) -> Option<&'static str> {
    match action {
        Action::Consent { agent, .. }
        | Action::Fix { agent, .. }
        | Action::Lead { agent, .. }
        | Action::Status { agent, .. }
        | Action::Txn { agent, .. } => Some(agent),
        Action::SecurityFlag { .. } | Action::Review { .. } => None,
    }
}

/// Batches of the demo's push: small enough to show several round trips.
const DEMO_BATCH: usize = 50;

#[derive(Debug, Serialize)]
struct WeekRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Default, PartialEq, Serialize)]
struct Totals {
    events: usize,
    accepted: usize,
    rejected: usize,
}

fn totals(events: &[AttendanceEvent]) -> Totals {
    let accepted = events.iter().filter(|e| e.accepted).count();
    Totals {
        events: events.len(),
        accepted,
        rejected: events.len() - accepted,
    }
}

fn render(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Demo store {}: {} sites, {} agents, working week {} to {}.",
        s.db,
        s.sites,
        AGENTS.len(),
        s.week.from.format("%a %Y-%m-%d"),
        s.week.to.format("%a %Y-%m-%d")
    )?;
    writeln!(
        w,
        "\nAttendance (times local to each agent; shifts 08:00-17:00, {} min grace):",
        Rules::default().late_grace_min
    )?;
    let mut agent: Option<&str> = None;
    for d in &s.attendance.days {
        if agent != Some(&*d.agent) {
            writeln!(w, "\n{} ({})", d.agent, d.time_zone)?;
            agent = Some(&d.agent);
        }
        let hhmm = |t: &Option<DateTime<FixedOffset>>| {
            t.map(|t| t.format("%H:%M").to_string())
                .unwrap_or_else(|| "-".into())
        };
        let status = match (d.status, d.minutes_late) {
            (DayStatus::Late, Some(m)) => format!("late {m} min"),
            (status, _) => status.to_string(),
        };
        let out = if d.missing_check_out {
            "missing".to_string()
        } else {
            hhmm(&d.last_check_out)
        };
        let mut line = format!(
            "  {}  {:<12} in {:<5} at {:<10}  out {:<7}",
            d.date.format("%a %m-%d"),
            status,
            hhmm(&d.first_check_in),
            d.site_id.as_deref().unwrap_or("-"),
            out
        );
        if d.rejected_total > 0 {
            let reasons: Vec<String> = d.rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
            line += &format!("  rejected: {}", reasons.join(", "));
        }
        if let Some(review) = &d.review {
            line += &format!("  review: {} by {}", review.decision, review.reviewer);
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    let t = s.attendance.totals.iter().fold((0, 0, 0), |acc, d| {
        (acc.0 + d.on_time, acc.1 + d.late, acc.2 + d.absent)
    });
    writeln!(
        w,
        "\nAgent-days: {} on time, {} late, {} absent. Events: {} ({} accepted, {} rejected).",
        t.0, t.1, t.2, s.totals.events, s.totals.accepted, s.totals.rejected
    )?;
    writeln!(w, "\nSales:")?;
    for row in &s.sales.agents {
        let premium: Vec<String> = row
            .premium
            .iter()
            .map(|(currency, amount)| format!("{currency} {amount}"))
            .collect();
        writeln!(
            w,
            "  {:<10} {} lead(s), {} won, {} lost, conversion {}, {} closing(s), premium {}",
            row.agent,
            row.leads_total,
            row.leads_by_status
                .get(&fieldcheck_core::LeadStatus::Won)
                .copied()
                .unwrap_or(0),
            row.leads_by_status
                .get(&fieldcheck_core::LeadStatus::Lost)
                .copied()
                .unwrap_or(0),
            row.conversion_rate
                .map(|r| format!("{:.0} %", r * 100.0))
                .unwrap_or_else(|| "-".into()),
            row.closings,
            if premium.is_empty() {
                "-".into()
            } else {
                premium.join(", ")
            }
        )?;
    }
    for f in &s.flags {
        writeln!(
            w,
            "\nFlag: {} on {} {} by {} from {} until {}: {}",
            f.purpose,
            f.scope.kind(),
            f.scope.id().unwrap_or("-"),
            f.set_by.id,
            time::format_rfc3339(f.starts_at),
            time::format_rfc3339(f.expires_at),
            f.reason.as_deref().unwrap_or("(erased)")
        )?;
    }
    writeln!(
        w,
        "Coordinates retained under flags: {} fix(es); every other fix was judged and dropped.",
        s.retained_fixes
    )?;
    if let Some(v) = &s.server {
        writeln!(
            w,
            "Via server {}: {} phones, one per agent, each enrolled with its own code, pulled the server's sites, shifts and flag, and sent {} event(s) in {} signed batch(es); the reports above are the server's ({}, chain {}).",
            v.url,
            v.devices.len(),
            v.events,
            v.batches,
            v.db,
            if v.server_chain_intact {
                "intact"
            } else {
                "BROKEN"
            }
        )?;
        for d in &v.devices {
            writeln!(
                w,
                "  {:<10} device {} ({}): {} event(s), acknowledged to {}, {} configuration change(s) pulled",
                d.agent, d.device_id, d.db, d.events, d.acked_seq, d.config_changes
            )?;
        }
    }
    writeln!(
        w,
        "Reports: fieldcheck --db {} report attendance|sales --from {} --to {} --format json|csv|html",
        s.server.as_ref().map_or(s.db.as_str(), |v| v.db.as_str()),
        s.week.from,
        s.week.to
    )?;
    match &s.verify.first_broken {
        None if s.verify.imported_events_checked > 0 => writeln!(
            w,
            "Chain: intact, {} event(s) verified, and {} imported from the phones with every row derived from them.",
            s.verify.events_checked, s.verify.imported_events_checked
        ),
        None => writeln!(
            w,
            "Chain: intact, {} event(s) verified.",
            s.verify.events_checked
        ),
        Some(b) => writeln!(w, "Chain: BROKEN at event {}: {}", b.seq, b.problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};
    use fieldcheck_core::{PositionClass, Reason};

    #[test]
    fn the_week_is_the_last_full_one_before_now() {
        // Wednesday 2026-11-18 → Monday 2026-11-09.
        let wed = Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap();
        assert_eq!(
            last_full_week(wed),
            NaiveDate::from_ymd_opt(2026, 11, 9).unwrap()
        );
        // A Monday morning still points at the week before.
        let mon = Utc.with_ymd_and_hms(2026, 11, 16, 0, 5, 0).unwrap();
        assert_eq!(
            last_full_week(mon),
            NaiveDate::from_ymd_opt(2026, 11, 9).unwrap()
        );
        let sun = Utc.with_ymd_and_hms(2026, 11, 15, 23, 0, 0).unwrap();
        assert_eq!(
            last_full_week(sun),
            NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
        );
        assert_eq!(last_full_week(wed).weekday(), Weekday::Mon);
    }

    #[test]
    fn local_times_follow_each_offices_zone_and_summer_time() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let utc = |m, day, h| Utc.with_ymd_and_hms(2026, m, day, h, 0, 0).unwrap();
        assert_eq!(at_local(d(1, 5), JAKARTA, 8, 0), utc(1, 5, 1));
        // Amsterdam: CET until Sunday 29 March 2026, CEST after.
        assert_eq!(at_local(d(3, 27), "Europe/Amsterdam", 8, 0), utc(3, 27, 7));
        assert_eq!(at_local(d(3, 30), "Europe/Amsterdam", 8, 0), utc(3, 30, 6));
        assert_eq!(
            at_local(d(10, 26), "Europe/Stockholm", 8, 0),
            utc(10, 26, 7)
        );
    }

    #[test]
    fn the_plan_is_deterministic_ordered_and_inside_the_week() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        let a = plan(monday);
        let b = plan(monday);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
        let start = at_local(monday - Duration::days(1), JAKARTA, 0, 0);
        let end = at_local(monday + Duration::days(5), "Europe/Amsterdam", 0, 0);
        assert!(a.iter().all(|s| s.at > start && s.at < end));
        let fixes = a
            .iter()
            .filter(|s| matches!(s.action, Action::Fix { .. }))
            .count();
        // 6 agents × 5 days × 2, one missing check-out, 8 extra attempts.
        assert_eq!(fixes, 6 * 5 * 2 - 1 + 8);
        for s in &a {
            if let Action::Fix { fix, .. } = &s.action {
                fix.validate().unwrap();
                assert!(s.at >= fix.captured_at);
            }
        }
    }

    #[test]
    fn the_week_yields_each_scenario_and_an_intact_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("demo.db")).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 3, 23).unwrap(); // CET; CEST next week
        let steps = plan(monday);
        let sites = record(&store, monday, &steps, &|| {}).unwrap();
        assert_eq!(sites.added, 5);
        assert_eq!(store.meta(DEMO_KEY).unwrap().as_deref(), Some("1"));

        let events = store.events(&admin(), &EventFilter::default()).unwrap();
        assert_eq!(events.len(), 6 * 5 * 2 - 1 + 8);
        let mut rejected_by_reason = BTreeMap::new();
        for e in events.iter().filter(|e| !e.accepted) {
            *rejected_by_reason.entry(e.reasons[0]).or_insert(0) += 1;
        }
        use Reason::*;
        assert_eq!(
            rejected_by_reason,
            BTreeMap::from([
                (ConsentRequired, 4),
                (StaleFix, 1),
                (MockLocation, 2),
                (LowAccuracy, 2),
                (OutsideGeofence, 1),
                (UncertainPosition, 1),
                (ImpossibleTravel, 1),
            ])
        );
        // Every ordinary fix is accepted, at the site of that day's desk.
        for e in events.iter().filter(|e| e.accepted) {
            let agent = AGENTS.iter().find(|a| a.id == e.agent).unwrap();
            let tz = shift::parse_time_zone(agent.zone).unwrap();
            let day = (shift::local_date(tz, e.captured_at) - monday).num_days();
            assert_eq!(
                e.site_id.as_deref(),
                Some(desk_of(agent, day).site),
                "{e:?}"
            );
            assert_eq!(e.position, PositionClass::Inside);
        }
        let outside = events
            .iter()
            .find(|e| e.reasons == [OutsideGeofence])
            .unwrap();
        assert_eq!(outside.site_id.as_deref(), Some("sby-branch"));
        assert!(
            (500..=560).contains(&outside.distance_m.unwrap()),
            "{outside:?}"
        );
        let uncertain = events
            .iter()
            .find(|e| e.reasons == [UncertainPosition])
            .unwrap();
        assert_eq!(uncertain.site_id.as_deref(), Some("client-bsd"));
        // The one sequence warning: Friday's check-in after Thursday's
        // missing check-out.
        let warned: Vec<_> = events
            .iter()
            .filter(|e| e.accepted && !e.reasons.is_empty())
            .collect();
        assert_eq!(warned.len(), 1);
        assert_eq!(
            (warned[0].agent.as_str(), &warned[0].reasons[..]),
            ("agt-budi", &[Sequence][..])
        );

        // Only Eko's fixes after the flag keep coordinates, including the
        // second spoofing attempt; consent-less fixes never do.
        let flag_at = at_local(monday, JAKARTA, 10, 30);
        let retained: Vec<_> = events.iter().filter(|e| e.location_retained).collect();
        assert_eq!(retained.len(), 10);
        assert!(
            retained
                .iter()
                .all(|e| e.agent == "agt-eko" && e.recorded_at >= flag_at)
        );
        assert!(retained.iter().any(|e| e.reasons == [MockLocation]));
        assert!(store.verify().unwrap().intact);

        // The supervisor's report: Siti late on Tuesday (approved), Budi's
        // missing check-out on Thursday (rejected), Eko's mock fixes.
        let week = ReportQuery {
            from: monday,
            to: monday + Duration::days(FRI),
            agent: None,
        };
        let now = at_local(monday + Duration::days(7), JAKARTA, 9, 0);
        let report = store
            .attendance_report(&Actor::supervisor(SUPERVISOR), &week, now)
            .unwrap();
        assert_eq!(report.days.len(), 6 * 5);
        let day = |agent: &str, d: i64| {
            report
                .days
                .iter()
                .find(|x| &*x.agent == agent && x.date == monday + Duration::days(d))
                .unwrap()
        };
        let siti = day("agt-siti", TUE);
        assert_eq!(
            (siti.status, siti.minutes_late),
            (DayStatus::Late, Some(55))
        );
        assert_eq!(
            siti.review.as_ref().unwrap().decision,
            fieldcheck_core::Decision::Approved
        );
        let budi = day("agt-budi", THU);
        assert!(budi.missing_check_out);
        assert_eq!(
            budi.review.as_ref().unwrap().decision,
            fieldcheck_core::Decision::Rejected
        );
        assert_eq!(day("agt-eko", MON).rejected.get("mock_location"), Some(1));
        assert_eq!(day("agt-lars", FRI).status, DayStatus::Absent);

        let sales = store
            .sales_report(&Actor::supervisor(SUPERVISOR), &week, now)
            .unwrap();
        let row = |agent: &str| sales.agents.iter().find(|r| r.agent == agent).unwrap();
        assert_eq!(row("agt-budi").premium["IDR"], "4500000.00");
        assert_eq!(row("agt-siti").premium["IDR"], "1354166.67");
        assert_eq!(row("agt-sanne").premium["EUR"], "693.34");
        assert_eq!(
            row("agt-dewi").leads_by_status[&fieldcheck_core::LeadStatus::Lost],
            1
        );
        assert_eq!(row("agt-dewi").conversion_rate, Some(0.0));
        assert_eq!(row("agt-budi").conversion_rate, Some(1.0));
        assert_eq!(row("agt-lars").closings, 0);
    }
}
