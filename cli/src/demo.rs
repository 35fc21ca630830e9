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

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use fieldcheck_core::store::schema::APPLICATION_ID;
use fieldcheck_core::{
    Actor, AttendanceEvent, AuditFlag, CheckInRequest, ConsentChange, ConsentSource, Error,
    EventFilter, EventKind, Fix, FlagPurpose, FlagRequest, FlagScope, ImportSummary, Permission,
    Reason, Store, VerifyReport, time,
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

/// Offices' time zones (fixed offsets; no tz database needed for two zones).
#[derive(Debug, Clone, Copy)]
enum Zone {
    /// Western Indonesia Time, UTC+7 all year.
    Wib,
    /// CET, or CEST between the last Sundays of March and October.
    CentralEurope,
}

impl Zone {
    /// The offset on a working day (a weekday, so never a switch-over day).
    fn offset(self, date: NaiveDate) -> FixedOffset {
        let hours = match self {
            Zone::Wib => 7,
            Zone::CentralEurope => {
                let summer =
                    date > last_sunday(date.year(), 3) && date < last_sunday(date.year(), 10);
                if summer { 2 } else { 1 }
            }
        };
        FixedOffset::east_opt(hours * 3600).expect("a whole-hour offset is valid")
    }
}

/// March and October both have 31 days.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month, 31).expect("March and October have 31 days");
    last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
}

#[derive(Debug, Clone, Copy)]
struct Agent {
    id: &'static str,
    desk: Desk,
    zone: Zone,
}

const AGENTS: &[Agent] = &[
    Agent {
        id: "agt-budi",
        desk: JKT_HQ,
        zone: Zone::Wib,
    },
    Agent {
        id: "agt-dewi",
        desk: CLIENT_BSD,
        zone: Zone::Wib,
    },
    Agent {
        id: "agt-eko",
        desk: JKT_HQ,
        zone: Zone::Wib,
    },
    Agent {
        id: "agt-siti",
        desk: SBY_BRANCH,
        zone: Zone::Wib,
    },
    Agent {
        id: "agt-sanne",
        desk: AMS_OFFICE,
        zone: Zone::CentralEurope,
    },
    Agent {
        id: "agt-lars",
        desk: STO_OFFICE,
        zone: Zone::CentralEurope,
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
}

pub fn run(path: &Path, out: &mut Output, now: DateTime<Utc>) -> Result<(), Error> {
    if previous_demo(path)? {
        remove_store(path)?;
    }
    let monday = last_full_week(now);
    let steps = plan(monday);

    let store = Store::open(path)?;
    let bar = out.progress(steps.len() as u64, "simulating");
    let sites = record(&store, monday, &steps, &|| bar.inc(1))?;
    bar.finish_and_clear();

    let admin = admin();
    let events = store.events(&admin, &EventFilter::default())?;
    let (agents, totals) = summarise(&events, monday);
    let summary = Summary {
        db: path.display().to_string(),
        week: WeekRange {
            from: monday,
            to: monday + Duration::days(FRI),
        },
        times: "local time of each agent's office (RFC 3339 with its UTC offset)",
        sites: sites.added + sites.replaced,
        agents,
        retained_fixes: events.iter().filter(|e| e.location_retained).count(),
        totals,
        flags: store.flags(&admin, None, now)?,
        verify: store.verify()?,
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

fn at_local(date: NaiveDate, zone: Zone, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = date
        .and_hms_opt(hour, minute, 0)
        .expect("demo times are valid wall-clock times");
    (naive - Duration::seconds(i64::from(zone.offset(date).local_minus_utc()))).and_utc()
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
        at_local(monday, Zone::Wib, 10, 30),
        Action::SecurityFlag {
            agent: "agt-eko",
            until: at_local(monday, Zone::Wib, 10, 30) + Duration::days(21),
        },
    );

    let second = Duration::seconds;
    for day in MON..=FRI {
        let date = monday + Duration::days(day);
        for agent in AGENTS {
            let check_in = at_local(date, agent.zone, 7, 45) + sim.minutes(0..30);
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
    // Stable: simultaneous steps keep the order they were planned in.
    sim.steps.sort_by_key(|s| s.at);
    sim.steps
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
    let imported_at = at_local(monday - Duration::days(7), Zone::Wib, 9, 0);
    let sites = store.import_sites(&admin(), SITES, imported_at)?;
    for step in steps {
        apply(store, step)?;
        progress();
    }
    Ok(sites)
}

fn apply(store: &Store, step: &Step) -> Result<(), Error> {
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
            let request = CheckInRequest {
                agent: agent.to_string(),
                kind: *kind,
                fix: *fix,
            };
            store.check(&Actor::agent(*agent), &request, step.at)?;
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Summary {
    db: String,
    week: WeekRange,
    times: &'static str,
    sites: usize,
    agents: Vec<AgentWeek>,
    totals: Totals,
    flags: Vec<AuditFlag>,
    retained_fixes: usize,
    verify: VerifyReport,
}

#[derive(Debug, Serialize)]
struct WeekRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, PartialEq, Serialize)]
struct AgentWeek {
    agent: String,
    utc_offset: String,
    days: Vec<Day>,
}

#[derive(Debug, PartialEq, Serialize)]
struct Day {
    date: NaiveDate,
    /// First accepted check-in, local time.
    first_check_in: Option<DateTime<FixedOffset>>,
    /// Site of that check-in.
    site: Option<String>,
    /// Last accepted check-out, local time.
    last_check_out: Option<DateTime<FixedOffset>>,
    /// The day's last accepted event is a check-in: the visit was left open.
    missing_check_out: bool,
    /// Rejected attempts, by the reason that decided them.
    rejected: BTreeMap<Reason, usize>,
    /// Warnings on accepted events (e.g. `sequence`).
    warnings: BTreeMap<Reason, usize>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
struct Totals {
    events: usize,
    accepted: usize,
    rejected: usize,
    rejected_by_reason: BTreeMap<Reason, usize>,
}

/// Per agent and working day (the agent's local date of capture), plus
/// totals over every event. `events` are in chain order.
fn summarise(events: &[AttendanceEvent], monday: NaiveDate) -> (Vec<AgentWeek>, Totals) {
    let mut totals = Totals::default();
    for e in events {
        totals.events += 1;
        if e.accepted {
            totals.accepted += 1;
        } else {
            totals.rejected += 1;
            if let Some(reason) = e.reasons.first() {
                *totals.rejected_by_reason.entry(*reason).or_default() += 1;
            }
        }
    }
    let agents = AGENTS
        .iter()
        .map(|agent| {
            let offset = agent.zone.offset(monday);
            let days = (MON..=FRI)
                .map(|d| {
                    let date = monday + Duration::days(d);
                    let today: Vec<&AttendanceEvent> = events
                        .iter()
                        .filter(|e| {
                            e.agent == agent.id
                                && e.captured_at.with_timezone(&offset).date_naive() == date
                        })
                        .collect();
                    day(date, &today, offset)
                })
                .collect();
            AgentWeek {
                agent: agent.id.to_string(),
                utc_offset: offset.to_string(),
                days,
            }
        })
        .collect();
    (agents, totals)
}

fn day(date: NaiveDate, events: &[&AttendanceEvent], offset: FixedOffset) -> Day {
    let accepted = || events.iter().filter(|e| e.accepted);
    let first_in = accepted()
        .filter(|e| e.kind == EventKind::CheckIn)
        .min_by_key(|e| e.captured_at);
    let last_out = accepted()
        .filter(|e| e.kind == EventKind::CheckOut)
        .max_by_key(|e| e.captured_at);
    let mut rejected = BTreeMap::new();
    let mut warnings = BTreeMap::new();
    for e in events {
        if e.accepted {
            for reason in &e.reasons {
                *warnings.entry(*reason).or_default() += 1;
            }
        } else if let Some(reason) = e.reasons.first() {
            *rejected.entry(*reason).or_default() += 1;
        }
    }
    Day {
        date,
        first_check_in: first_in.map(|e| e.captured_at.with_timezone(&offset)),
        site: first_in.and_then(|e| e.site_id.clone()),
        last_check_out: last_out.map(|e| e.captured_at.with_timezone(&offset)),
        missing_check_out: accepted()
            .next_back()
            .is_some_and(|e| e.kind == EventKind::CheckIn),
        rejected,
        warnings,
    }
}

fn counts(map: &BTreeMap<Reason, usize>) -> String {
    map.iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Demo store {}: {} sites, {} agents, working week {} to {}.",
        s.db,
        s.sites,
        s.agents.len(),
        s.week.from.format("%a %Y-%m-%d"),
        s.week.to.format("%a %Y-%m-%d")
    )?;
    writeln!(w, "Times are local to each agent's office.")?;
    for agent in &s.agents {
        writeln!(w, "\n{} (UTC{})", agent.agent, agent.utc_offset)?;
        for d in &agent.days {
            let hhmm = |t: &Option<DateTime<FixedOffset>>| {
                t.map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            let out = if d.missing_check_out {
                "missing".to_string()
            } else {
                hhmm(&d.last_check_out)
            };
            let mut line = format!(
                "  {}  in {:<5} at {:<10}  out {:<7}",
                d.date.format("%a %m-%d"),
                hhmm(&d.first_check_in),
                d.site.as_deref().unwrap_or("-"),
                out
            );
            if !d.rejected.is_empty() {
                line += &format!("  rejected: {}", counts(&d.rejected));
            }
            if !d.warnings.is_empty() {
                line += &format!("  warnings: {}", counts(&d.warnings));
            }
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    writeln!(
        w,
        "\nTotals: {} events, {} accepted, {} rejected ({}).",
        s.totals.events,
        s.totals.accepted,
        s.totals.rejected,
        counts(&s.totals.rejected_by_reason)
    )?;
    for f in &s.flags {
        writeln!(
            w,
            "Flag: {} on {} {} by {} from {} until {}: {}",
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
    match &s.verify.first_broken {
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
    use fieldcheck_core::{AccuracyBand, PositionClass};

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
    fn central_european_offsets_follow_summer_time() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // 2026: summer time from Sunday 29 March to Sunday 25 October.
        assert_eq!(last_sunday(2026, 3), d(3, 29));
        assert_eq!(last_sunday(2026, 10), d(10, 25));
        assert_eq!(Zone::CentralEurope.offset(d(3, 27)).local_minus_utc(), 3600);
        assert_eq!(Zone::CentralEurope.offset(d(3, 30)).local_minus_utc(), 7200);
        assert_eq!(
            Zone::CentralEurope.offset(d(10, 23)).local_minus_utc(),
            7200
        );
        assert_eq!(
            Zone::CentralEurope.offset(d(10, 26)).local_minus_utc(),
            3600
        );
        assert_eq!(Zone::Wib.offset(d(7, 1)).local_minus_utc(), 7 * 3600);
        assert_eq!(
            at_local(d(1, 5), Zone::Wib, 8, 0),
            Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_plan_is_deterministic_ordered_and_inside_the_week() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        let a = plan(monday);
        let b = plan(monday);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
        let start = at_local(monday - Duration::days(1), Zone::Wib, 0, 0);
        let end = at_local(monday + Duration::days(5), Zone::CentralEurope, 0, 0);
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

    fn event(
        agent: &str,
        kind: EventKind,
        at: DateTime<Utc>,
        accepted: bool,
        reasons: Vec<Reason>,
    ) -> AttendanceEvent {
        AttendanceEvent {
            id: format!("{agent}-{}", at.timestamp()),
            seq: 0,
            agent: agent.into(),
            kind,
            accepted,
            reasons,
            site_id: accepted.then(|| "jkt-hq".to_string()),
            position: if accepted {
                PositionClass::Inside
            } else {
                PositionClass::Unknown
            },
            distance_m: None,
            accuracy_band: AccuracyBand::Le10,
            captured_at: at,
            recorded_at: at,
            consent_entry: None,
            coords_digest: None,
            location_retained: false,
            recorded_by: Actor::agent(agent),
        }
    }

    #[test]
    fn summary_groups_by_local_day_and_spots_missing_check_outs() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        let tue = monday + Duration::days(1);
        let t = |d: NaiveDate, h, m| at_local(d, Zone::Wib, h, m);
        use EventKind::{CheckIn, CheckOut};
        let events = vec![
            // Monday 06:30 WIB is Sunday 23:30 UTC: still Monday locally.
            event(
                "agt-budi",
                CheckIn,
                t(monday, 6, 30),
                false,
                vec![Reason::StaleFix],
            ),
            event("agt-budi", CheckIn, t(monday, 8, 0), true, vec![]),
            event("agt-budi", CheckOut, t(monday, 12, 0), true, vec![]),
            event(
                "agt-budi",
                CheckIn,
                t(monday, 13, 0),
                true,
                vec![Reason::Sequence],
            ),
            event(
                "agt-budi",
                CheckOut,
                t(tue, 17, 0),
                false,
                vec![Reason::MockLocation],
            ),
            event(
                "agt-budi",
                CheckOut,
                t(tue, 17, 5),
                true,
                vec![Reason::Sequence],
            ),
        ];
        let (agents, totals) = summarise(&events, monday);
        assert_eq!(totals.events, 6);
        assert_eq!(totals.accepted, 4);
        assert_eq!(totals.rejected, 2);
        assert_eq!(totals.rejected_by_reason.len(), 2);

        let budi = &agents[0];
        assert_eq!(budi.agent, "agt-budi");
        assert_eq!(budi.utc_offset, "+07:00");
        assert_eq!(budi.days.len(), 5);
        let mon = &budi.days[0];
        assert_eq!(
            mon.first_check_in.unwrap().format("%H:%M").to_string(),
            "08:00"
        );
        assert_eq!(mon.site.as_deref(), Some("jkt-hq"));
        assert_eq!(
            mon.last_check_out.unwrap().format("%H:%M").to_string(),
            "12:00"
        );
        assert!(mon.missing_check_out, "the 13:00 visit is never closed");
        assert_eq!(mon.rejected, BTreeMap::from([(Reason::StaleFix, 1)]));
        assert_eq!(mon.warnings, BTreeMap::from([(Reason::Sequence, 1)]));
        let tue = &budi.days[1];
        assert_eq!(tue.first_check_in, None);
        assert!(!tue.missing_check_out);
        assert_eq!(tue.rejected, BTreeMap::from([(Reason::MockLocation, 1)]));
        assert!(agents[1].days.iter().all(|d| d.first_check_in.is_none()));
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
        let (_, totals) = summarise(&events, monday);
        use Reason::*;
        assert_eq!(
            totals.rejected_by_reason,
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
            let local = e.captured_at.with_timezone(&agent.zone.offset(monday));
            let day = (local.date_naive() - monday).num_days();
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
        let flag_at = at_local(monday, Zone::Wib, 10, 30);
        let retained: Vec<_> = events.iter().filter(|e| e.location_retained).collect();
        assert_eq!(retained.len(), 10);
        assert!(
            retained
                .iter()
                .all(|e| e.agent == "agt-eko" && e.recorded_at >= flag_at)
        );
        assert!(retained.iter().any(|e| e.reasons == [MockLocation]));
        assert!(store.verify().unwrap().intact);
    }
}
