//! `fieldcheck bench`: the measurements of PRODUCT.md §11 in one run.
//!
//! - Geofence decisions: `within(p, r)`, then `nearest(p)` when nothing is
//!   within r, over synthetic sites, with the spatial index and with a
//!   linear scan, on the same fixes. Each decision is timed on its own,
//!   clock reads included (~2 × 20 ns, so the figures err slow); the median,
//!   90th percentile and mean are reported, throughput from the mean.
//! - Check-ins end to end (`Store::record_fix`: judge, durable write, chain),
//!   each its own transaction, alternated round by round with raw prepared
//!   SQLite inserts of a row as large as what one check-in writes, into a
//!   separate file with the same pragmas, so disk noise hits both alike.
//! - A one-month attendance report over a store of `--report-events`
//!   synthetic events (default 1,000,000, 5,000 agents): built in a child
//!   process (`fieldcheck report-probe`) so its time and peak memory are its
//!   own, not the rest of the benchmark's. Median of three runs.
//! - Peak memory (VmHWM) of the benchmark process.
//!
//! Only a release build gives meaningful figures; the output says which
//! build ran.

use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use fieldcheck_core::geofence::{SiteMeasure, sites_to_geojson, synthetic_fixes, synthetic_sites};
use fieldcheck_core::{
    Actor, ConsentChange, Durability, Error, EventKind, Fix, FixRequest, GeoPoint, OpenOptions,
    Permission, ReportQuery, Site, SiteIndex, Store, SyntheticAttendance,
};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::output::Output;

const SEED: u64 = 0x00be_1c4d;
/// Decisions per timed batch.
const BATCH: usize = 64;
/// Check-ins and raw inserts alternate in rounds of this many commits each.
const ROUND: usize = 10;
/// Rounds per block: the check-in/raw ratio is computed per block and the
/// median of the blocks reported, so one slow stretch of the disk moves one
/// block, not the figure.
const ROUNDS_PER_BLOCK: usize = 10;
const INDEXED_MEDIAN_NS_MAX: f64 = 800.0;
const SPEEDUP_MIN: f64 = 100.0;
const CHECKIN_RATIO_MIN: f64 = 0.85;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Sites in the geofence index.
    #[arg(long, default_value_t = 10_000)]
    sites: usize,
    /// Decisions timed with the index (whole batches of 64).
    #[arg(long, default_value_t = 65_536)]
    decisions: usize,
    /// Of the same fixes, how many the linear scan decides (whole batches
    /// of 64); it measures every site exactly, milliseconds per decision.
    #[arg(long, default_value_t = 128)]
    linear_decisions: usize,
    /// Of the same fixes, how many the box-pruned scan decides.
    #[arg(long, default_value_t = 640)]
    pruned_decisions: usize,
    /// Sites imported into the check-in store.
    #[arg(long, default_value_t = 1_000)]
    store_sites: usize,
    /// Check-ins timed end to end (and as many raw inserts).
    #[arg(long, default_value_t = 2_000)]
    checkins: usize,
    /// Directory for the temporary databases (default: the system's temp
    /// directory); put it on the disk you want to measure.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the temporary databases (their directory is printed).
    #[arg(long)]
    keep: bool,
    /// Attendance events in the report store (0 skips the report).
    #[arg(long, default_value_t = 1_000_000)]
    report_events: usize,
    /// Agents those events belong to.
    #[arg(long, default_value_t = 5_000)]
    report_agents: usize,
}

/// `fieldcheck report-probe`: builds one attendance report and prints its
/// build time and this process's peak memory (used by `bench`).
#[derive(Args, Debug)]
pub struct ProbeArgs {
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct ProbeResult {
    build_ms: f64,
    days: usize,
    peak_memory_bytes: Option<u64>,
}

const REPORT_MS_MAX: f64 = 100.0;
const REPORT_MEMORY_MAX: u64 = 64 * 1024 * 1024;
const REPORT_FROM: &str = "2026-06-01";
const REPORT_TO: &str = "2026-06-30";

#[derive(Debug, Serialize)]
struct Report {
    /// `release` or `debug`: debug figures are not meaningful.
    build: &'static str,
    geofence: GeofenceReport,
    checkins: CheckinReport,
    /// Median build time of the one-month attendance report; null when
    /// skipped (`--report-events 0`).
    attendance_report_ms: Option<f64>,
    attendance_report: Option<AttendanceBench>,
    /// VmHWM from /proc/self/status; null where unavailable.
    peak_memory_bytes: Option<u64>,
    targets: Targets,
    meets_targets: Meets,
}

#[derive(Debug, Serialize)]
struct AttendanceBench {
    events: usize,
    agents: usize,
    from: &'static str,
    to: &'static str,
    /// Agent-days in the report.
    days: usize,
    fill_seconds: f64,
    build_ms_runs: Vec<f64>,
    build_ms: f64,
    /// Peak resident memory of the process that built the report.
    peak_memory_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
struct GeofenceReport {
    sites: usize,
    index_build_ms: f64,
    batch: usize,
    indexed: Timing,
    /// The linear scan: every site measured exactly, as without an index.
    linear: Timing,
    /// Linear median over indexed median.
    speedup: f64,
    /// A stronger baseline: still every site, but a cheap box test before
    /// the exact measure (and nearest cut by the best so far).
    linear_box_pruned: Timing,
    /// Box-pruned scan median over indexed median.
    speedup_over_box_pruned: f64,
    /// Fixes (of those decided by both) on which a scan's answer differs
    /// from the index's.
    answers_differ: usize,
}

#[derive(Debug, Serialize)]
struct Timing {
    decisions: usize,
    /// Median of individually timed decisions (clock reads included).
    median_ns: f64,
    p90_ns: f64,
    mean_ns: f64,
    /// Throughput: 1e9 / mean_ns.
    per_second: f64,
}

#[derive(Debug, Serialize)]
struct CheckinReport {
    sites: usize,
    agents: usize,
    rounds: usize,
    durability: &'static str,
    end_to_end: Rate,
    raw_insert: Rate,
    /// End-to-end rate over raw-insert rate: the median over blocks of
    /// `ROUNDS_PER_BLOCK` interleaved rounds.
    ratio: f64,
    /// The same over the whole run.
    ratio_pooled: f64,
    ratio_per_block: Vec<f64>,
    /// Bytes of the raw row: what one check-in writes.
    row_bytes: usize,
    row_bytes_method: &'static str,
    /// Pages (WAL frames) a commit writes on each side; the raw baseline
    /// spreads its row over `raw_tables` tables to match the check-in.
    pages_per_commit: PagesPerCommit,
}

#[derive(Debug, Serialize)]
struct PagesPerCommit {
    checkin: f64,
    raw: f64,
    raw_tables: usize,
    method: &'static str,
}

#[derive(Debug, Serialize)]
struct Rate {
    count: usize,
    seconds: f64,
    per_second: f64,
}

#[derive(Debug, Serialize)]
struct Targets {
    indexed_median_ns_max: f64,
    speedup_min: f64,
    checkin_ratio_min: f64,
    attendance_report_ms_max: f64,
    attendance_report_memory_bytes_max: u64,
}

#[derive(Debug, Serialize)]
struct Meets {
    indexed_median: bool,
    speedup: bool,
    checkin_ratio: bool,
    /// Null when the report was skipped.
    attendance_report: Option<bool>,
}

pub fn run(args: &BenchArgs, out: &mut Output) -> Result<(), Error> {
    if args.sites == 0 || args.store_sites == 0 {
        return Err(Error::invalid("sites", "must be at least 1"));
    }
    if args.checkins == 0 {
        return Err(Error::invalid("checkins", "must be at least 1"));
    }
    let dir = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let geofence_batches = (whole_batches(args.decisions)
        + whole_batches(args.linear_decisions)
        + whole_batches(args.pruned_decisions))
        / BATCH;
    let bar = out.progress(geofence_batches as u64, "geofence");
    let geofence = bench_geofence(args, &bar);
    bar.finish_and_clear();
    let bar = out.progress(2 * args.checkins as u64, "check-ins");
    let checkins = bench_checkins(args, dir.path(), &bar)?;
    bar.finish_and_clear();
    let attendance = if args.report_events > 0 {
        let bar = out.progress(args.report_events as u64, "report store");
        let result = bench_report(args, dir.path(), &bar)?;
        bar.finish_and_clear();
        Some(result)
    } else {
        None
    };
    let report = Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        meets_targets: Meets {
            indexed_median: geofence.indexed.median_ns <= INDEXED_MEDIAN_NS_MAX,
            speedup: geofence.speedup >= SPEEDUP_MIN,
            checkin_ratio: checkins.ratio >= CHECKIN_RATIO_MIN,
            attendance_report: attendance.as_ref().map(|a| {
                a.build_ms <= REPORT_MS_MAX
                    && a.peak_memory_bytes.is_some_and(|m| m <= REPORT_MEMORY_MAX)
            }),
        },
        geofence,
        checkins,
        attendance_report_ms: attendance.as_ref().map(|a| a.build_ms),
        attendance_report: attendance,
        peak_memory_bytes: peak_memory_bytes(),
        targets: Targets {
            indexed_median_ns_max: INDEXED_MEDIAN_NS_MAX,
            speedup_min: SPEEDUP_MIN,
            checkin_ratio_min: CHECKIN_RATIO_MIN,
            attendance_report_ms_max: REPORT_MS_MAX,
            attendance_report_memory_bytes_max: REPORT_MEMORY_MAX,
        },
    };
    out.value(&report, |w| render(w, &report))?;
    if args.keep {
        eprintln!("kept {}", dir.keep().display());
    }
    Ok(())
}

/// Rounds up to whole batches, at least one.
fn whole_batches(n: usize) -> usize {
    n.div_ceil(BATCH).max(1) * BATCH
}

fn bench_geofence(args: &BenchArgs, bar: &ProgressBar) -> GeofenceReport {
    let started = Instant::now();
    let index = SiteIndex::new(synthetic_sites(args.sites, SEED));
    let index_build_ms = started.elapsed().as_secs_f64() * 1e3;

    let linear_n = whole_batches(args.linear_decisions);
    let pruned_n = whole_batches(args.pruned_decisions);
    let indexed_n = whole_batches(args.decisions).max(linear_n).max(pruned_n);
    let fixes = synthetic_fixes(index.sites(), indexed_n, SEED);
    let run = |scan: Scan, n: usize| {
        time_batches(&fixes[..n], &|p, r| decide(&index, p, r, scan), &|| {
            bar.inc(1)
        })
    };
    let (indexed_ns, indexed_answers) = run(Scan::Index, indexed_n);
    let (pruned_ns, pruned_answers) = run(Scan::BoxPruned, pruned_n);
    let (linear_ns, linear_answers) = run(Scan::Exhaustive, linear_n);

    let differ = |answers: &[u64]| {
        answers
            .iter()
            .zip(&indexed_answers)
            .filter(|(a, b)| a != b)
            .count()
    };
    let indexed = timing(indexed_n, &indexed_ns);
    let linear = timing(linear_n, &linear_ns);
    let linear_box_pruned = timing(pruned_n, &pruned_ns);
    GeofenceReport {
        sites: index.len(),
        index_build_ms,
        batch: BATCH,
        speedup: linear.median_ns / indexed.median_ns,
        speedup_over_box_pruned: linear_box_pruned.median_ns / indexed.median_ns,
        answers_differ: differ(&linear_answers) + differ(&pruned_answers),
        indexed,
        linear,
        linear_box_pruned,
    }
}

#[derive(Clone, Copy)]
enum Scan {
    Index,
    BoxPruned,
    Exhaustive,
}

/// One geofence decision as judging makes it (PRODUCT.md §3 step 6), over
/// every site; returns a fingerprint of the answer.
fn decide(index: &SiteIndex, p: GeoPoint, r: f64, scan: Scan) -> u64 {
    let all = |_: &Site| true;
    let within = match scan {
        Scan::Index => index.within(p, r, &all),
        Scan::BoxPruned => index.within_linear(p, r, &all),
        Scan::Exhaustive => index.within_exhaustive(p, r, &all),
    };
    if within.is_empty() {
        let nearest = match scan {
            Scan::Index => index.nearest(p, &all),
            Scan::BoxPruned => index.nearest_linear(p, &all),
            Scan::Exhaustive => index.nearest_exhaustive(p, &all),
        };
        nearest.map_or(0, |(i, m)| fingerprint(i, &m) ^ 1)
    } else {
        within
            .iter()
            .fold(0, |acc, (i, m)| acc.wrapping_add(fingerprint(*i, m)))
    }
}

/// Site index and measure, mixed (splitmix64 finaliser) into 64 bits.
fn fingerprint(i: usize, m: &SiteMeasure) -> u64 {
    let mut z =
        (i as u64) ^ m.boundary_distance_m.to_bits().rotate_left(17) ^ u64::from(m.contains);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Nanoseconds per decision of each batch of `BATCH` fixes, and each
/// fix's answer.
/// Times every decision on its own (the target is the median decision,
/// and decision times are skewed: half the fixes also need `nearest`). The
/// two clock reads stay in each figure, so medians err on the slow side.
fn time_batches(
    fixes: &[(GeoPoint, f64)],
    decide: &dyn Fn(GeoPoint, f64) -> u64,
    tick: &dyn Fn(),
) -> (Vec<f64>, Vec<u64>) {
    let mut per_decision = Vec::with_capacity(fixes.len());
    let mut answers = Vec::with_capacity(fixes.len());
    for batch in fixes.chunks_exact(BATCH) {
        for &(p, r) in batch {
            let started = Instant::now();
            answers.push(decide(black_box(p), black_box(r)));
            per_decision.push(started.elapsed().as_nanos() as f64);
        }
        tick();
    }
    (per_decision, black_box(answers))
}

fn timing(decisions: usize, per_decision: &[f64]) -> Timing {
    let mean_ns = per_decision.iter().sum::<f64>() / per_decision.len().max(1) as f64;
    Timing {
        decisions,
        median_ns: median(per_decision),
        p90_ns: percentile(per_decision, 0.9),
        mean_ns,
        per_second: 1e9 / mean_ns,
    }
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((n - 1) as f64 * q).round() as usize],
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Agents checking in and out at their own site.
struct Workload {
    agents: Vec<(String, GeoPoint)>,
    base: DateTime<Utc>,
    done: usize,
}

impl Workload {
    fn next(&mut self) -> (FixRequest, DateTime<Utc>) {
        let i = self.done;
        self.done += 1;
        let (agent, site) = &self.agents[i % self.agents.len()];
        // Each agent alternates check-in and check-out, one second apart
        // on the device clock; the fix is one second old.
        let now = self.base + chrono::Duration::seconds(i as i64 + 1);
        let kind = if (i / self.agents.len()).is_multiple_of(2) {
            EventKind::CheckIn
        } else {
            EventKind::CheckOut
        };
        let request = FixRequest {
            agent: agent.clone(),
            kind,
            fix: Fix {
                lat: site.lat,
                lon: site.lon,
                accuracy_m: 8.0,
                captured_at: now - chrono::Duration::seconds(1),
                is_mock: false,
            },
        };
        (request, now)
    }

    fn check(&mut self, store: &Store) -> Result<(), Error> {
        let (request, now) = self.next();
        let actor = Actor::agent(request.agent.clone());
        store.record_fix(&actor, &request, now)?;
        Ok(())
    }
}

fn bench_checkins(args: &BenchArgs, dir: &Path, bar: &ProgressBar) -> Result<CheckinReport, Error> {
    let admin = Actor::admin("bench");
    let base = DateTime::from_timestamp(1_767_600_000, 0).unwrap_or_default(); // 2026-01-05
    let store_path = dir.join("bench-store.db");
    let store = Store::open(&store_path)?;
    let sites = synthetic_sites(args.store_sites, SEED ^ 1);
    store.import_sites(&admin, &sites_to_geojson(&sites), base)?;
    let agents: Vec<(String, GeoPoint)> = sites
        .iter()
        .take(32)
        .enumerate()
        .map(|(i, s)| (format!("agent-{i:02}"), s.reference_point))
        .collect();
    for (agent, _) in &agents {
        let change = ConsentChange {
            subject: agent.clone(),
            permission: Permission::Location,
            granted: true,
            policy_version: None,
            source: None,
        };
        store.change_consent(&admin, &change, base)?;
    }
    let mut work = Workload {
        agents,
        base,
        done: 0,
    };
    // Warm up (caches, prepared statements, WAL), then measure what one
    // check-in writes.
    for _ in 0..args.checkins.clamp(1, 64) {
        work.check(&store)?;
    }
    let row_bytes = bytes_per_checkin(&store_path)?;

    let checkin_frames = wal_frames_per_commit(&store_path, || work.check(&store))?;

    // The baseline: commits of the same payload bytes that write the same
    // number of pages, which is what a durable commit's cost follows (a
    // check-in updates several b-trees: the event, its agent index, the
    // month summary, the ledger). One row per table, `raw_tables` tables.
    let raw_path = dir.join("bench-raw.db");
    let raw = Connection::open(&raw_path)?;
    raw.pragma_update(None, "journal_mode", "WAL")?;
    raw.pragma_update(None, "synchronous", "FULL")?;
    raw.pragma_update(None, "secure_delete", true)?;
    let raw_tables = (checkin_frames.round() as usize).max(1);
    for t in 0..raw_tables {
        raw.execute_batch(&format!(
            "CREATE TABLE raw{t} (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"
        ))?;
    }
    let chunk = row_bytes.div_ceil(raw_tables);
    let insert = |payload: &[u8]| -> Result<(), Error> {
        let tx = rusqlite::Transaction::new_unchecked(&raw, TransactionBehavior::Immediate)?;
        for (t, part) in payload.chunks(chunk).enumerate() {
            tx.prepare_cached(&format!("INSERT INTO raw{t} (payload) VALUES (?1)"))?
                .execute([part])?;
        }
        tx.commit()?;
        Ok(())
    };
    let mut rng = StdRng::seed_from_u64(SEED);
    for _ in 0..args.checkins.clamp(1, 64) {
        insert(&random_bytes(&mut rng, row_bytes))?;
    }
    let raw_frames = wal_frames_per_commit(&raw_path, || {
        insert(&random_bytes(&mut StdRng::seed_from_u64(SEED), row_bytes))
    })?;

    let mut checkin_time = Duration::ZERO;
    let mut raw_time = Duration::ZERO;
    let mut counts = (0, 0);
    let rounds = args.checkins.div_ceil(ROUND);
    // (check-in time, raw time) of the current block, and each block's ratio.
    let mut block = (Duration::ZERO, Duration::ZERO);
    let mut block_ratios = Vec::new();
    for round in 0..rounds {
        let before = (checkin_time, raw_time);
        let n = ROUND.min(args.checkins - round * ROUND);
        let payloads: Vec<Vec<u8>> = (0..n).map(|_| random_bytes(&mut rng, row_bytes)).collect();
        let mut checkins = || -> Result<(), Error> {
            let started = Instant::now();
            for _ in 0..n {
                work.check(&store)?;
                bar.inc(1);
            }
            checkin_time += started.elapsed();
            counts.0 += n;
            Ok(())
        };
        let mut inserts = || -> Result<(), Error> {
            let started = Instant::now();
            for payload in &payloads {
                insert(payload)?;
                bar.inc(1);
            }
            raw_time += started.elapsed();
            counts.1 += n;
            Ok(())
        };
        if round % 2 == 0 {
            checkins()?;
            inserts()?;
        } else {
            inserts()?;
            checkins()?;
        }
        block.0 += checkin_time - before.0;
        block.1 += raw_time - before.1;
        if (round + 1) % ROUNDS_PER_BLOCK == 0 || round + 1 == rounds {
            // Same number of commits on both sides: the ratio of rates is
            // the inverse ratio of times.
            if !block.0.is_zero() {
                block_ratios.push(block.1.as_secs_f64() / block.0.as_secs_f64());
            }
            block = (Duration::ZERO, Duration::ZERO);
        }
    }

    let end_to_end = rate(counts.0, checkin_time);
    let raw_insert = rate(counts.1, raw_time);
    Ok(CheckinReport {
        sites: args.store_sites,
        agents: work.agents.len(),
        rounds,
        durability: "WAL, synchronous=FULL, secure_delete=ON, one transaction per row",
        ratio: median(&block_ratios),
        ratio_pooled: end_to_end.per_second / raw_insert.per_second,
        ratio_per_block: block_ratios,
        end_to_end,
        raw_insert,
        row_bytes,
        row_bytes_method: "dbstat: mean record payload of one attendance_events row, one \
                           ledger row and one attendance_by_agent index entry",
        pages_per_commit: PagesPerCommit {
            checkin: checkin_frames,
            raw: raw_frames,
            raw_tables,
            method: "WAL frames appended by 16 commits after a TRUNCATE checkpoint",
        },
    })
}

/// Pages one commit of `commit` writes: WAL frames appended by 16 commits
/// after a TRUNCATE checkpoint, through a second connection to `db`.
fn wal_frames_per_commit(
    db: &Path,
    mut commit: impl FnMut() -> Result<(), Error>,
) -> Result<f64, Error> {
    const COMMITS: usize = 16;
    let side = Connection::open(db)?;
    let page_size: i64 = side.pragma_query_value(None, "page_size", |r| r.get(0))?;
    side.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    for _ in 0..COMMITS {
        commit()?;
    }
    let wal = std::fs::metadata(db.with_extension("db-wal"))?.len();
    const WAL_HEADER: u64 = 32;
    const FRAME_HEADER: u64 = 24;
    let frame = page_size.unsigned_abs() + FRAME_HEADER;
    Ok(wal.saturating_sub(WAL_HEADER) as f64 / frame as f64 / COMMITS as f64)
}

/// Bytes one check-in adds to the b-trees it writes: the mean record
/// payload (as SQLite stores it) of each, summed.
fn bytes_per_checkin(store: &Path) -> Result<usize, Error> {
    let conn = Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut total = 0.0;
    for (btree, table) in [
        ("attendance_events", "attendance_events"),
        ("ledger", "ledger"),
        ("attendance_by_agent", "attendance_events"),
    ] {
        let payload: f64 = conn.query_row(
            "SELECT total(payload) FROM dbstat WHERE name = ?1",
            [btree],
            |r| r.get(0),
        )?;
        let rows: f64 =
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        if rows > 0.0 {
            total += payload / rows;
        }
    }
    Ok(total.round() as usize)
}

fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    rng.fill(&mut bytes[..]);
    bytes
}

fn rate(count: usize, time: Duration) -> Rate {
    let seconds = time.as_secs_f64();
    Rate {
        count,
        seconds,
        per_second: count as f64 / seconds,
    }
}

fn bench_report(args: &BenchArgs, dir: &Path, bar: &ProgressBar) -> Result<AttendanceBench, Error> {
    let path = dir.join("report-store.db");
    let started = Instant::now();
    {
        let store = Store::open_with(
            &path,
            &OpenOptions {
                durability: Durability::Normal,
                ..Default::default()
            },
        )?;
        let spec = SyntheticAttendance {
            agents: args.report_agents,
            events: args.report_events,
            start: DateTime::from_timestamp(1_780_272_000, 0).unwrap_or_default(), // 2026-06-01
            days: 30,
            seed: SEED,
            first_agent: 0,
        };
        store.load_synthetic_attendance(&Actor::admin("bench"), &spec, &|n| {
            bar.set_position(n as u64)
        })?;
        store.checkpoint()?;
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    let exe = std::env::current_exe()?;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let output = std::process::Command::new(&exe)
            .arg("--db")
            .arg(&path)
            .args(["--json", "--now", "2026-07-01T00:00:00Z", "report-probe"])
            .args(["--from", REPORT_FROM, "--to", REPORT_TO])
            .output()?;
        if !output.status.success() {
            return Err(Error::Io(io::Error::other(format!(
                "report probe failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))));
        }
        let result: ProbeResult = serde_json::from_slice(&output.stdout)?;
        runs.push(result);
    }
    let mut times: Vec<f64> = runs.iter().map(|r| r.build_ms).collect();
    let build_ms = median(&times);
    times
        .iter_mut()
        .for_each(|t| *t = (*t * 10.0).round() / 10.0);
    Ok(AttendanceBench {
        events: args.report_events,
        agents: args.report_agents,
        from: REPORT_FROM,
        to: REPORT_TO,
        days: runs[0].days,
        fill_seconds,
        build_ms_runs: times,
        build_ms,
        peak_memory_bytes: runs.iter().filter_map(|r| r.peak_memory_bytes).max(),
    })
}

/// Builds the report once, in this (fresh) process.
pub fn probe(
    store: &Store,
    args: &ProbeArgs,
    now: DateTime<Utc>,
    out: &mut Output,
) -> Result<(), Error> {
    let query = ReportQuery {
        from: fieldcheck_core::time::parse_date("from", &args.from)?,
        to: fieldcheck_core::time::parse_date("to", &args.to)?,
        agent: None,
    };
    let started = Instant::now();
    let report = store.attendance_report(&Actor::supervisor("bench"), &query, now)?;
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let result = ProbeResult {
        build_ms,
        days: black_box(&report).days.len(),
        peak_memory_bytes: peak_memory_bytes(),
    };
    out.value(&result, |w| {
        writeln!(w, "{} agent-days in {build_ms:.1} ms", result.days)
    })
}

/// Peak resident set size (VmHWM), where /proc offers it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

fn human_ns(ns: f64) -> String {
    match ns {
        n if n < 1e3 => format!("{n:.0} ns"),
        n if n < 1e6 => format!("{:.2} µs", n / 1e3),
        n => format!("{:.2} ms", n / 1e6),
    }
}

fn render(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let g = &r.geofence;
    let c = &r.checkins;
    let yes = |ok: bool| if ok { "met" } else { "NOT met" };
    if r.build == "debug" {
        writeln!(w, "debug build: figures are not meaningful; use --release")?;
    }
    writeln!(
        w,
        "geofence decisions over {} sites (index built in {:.0} ms)",
        g.sites, g.index_build_ms
    )?;
    writeln!(w, "  {:<22} {:>14} {:>14}", "", "indexed", "linear scan")?;
    writeln!(
        w,
        "  {:<22} {:>14} {:>14}",
        "median per decision",
        human_ns(g.indexed.median_ns),
        human_ns(g.linear.median_ns)
    )?;
    writeln!(
        w,
        "  {:<22} {:>14.0} {:>14.0}",
        "decisions per second", g.indexed.per_second, g.linear.per_second
    )?;
    writeln!(
        w,
        "  {:<22} {:>14} {:>14}",
        "decisions timed", g.indexed.decisions, g.linear.decisions
    )?;
    writeln!(
        w,
        "  speedup {:.0}× (target ≥ {SPEEDUP_MIN}×: {}); indexed median target ≤ 1 µs: {}; answers differ on {} fix(es)",
        g.speedup,
        yes(r.meets_targets.speedup),
        yes(r.meets_targets.indexed_median),
        g.answers_differ
    )?;
    writeln!(
        w,
        "check-ins over {} sites, {} agents, {} alternating rounds of {ROUND} commits ({})",
        c.sites, c.agents, c.rounds, c.durability
    )?;
    writeln!(w, "  {:<22} {:>14} {:>14}", "", "end to end", "raw insert")?;
    writeln!(
        w,
        "  {:<22} {:>14.0} {:>14.0}",
        "per second", c.end_to_end.per_second, c.raw_insert.per_second
    )?;
    writeln!(
        w,
        "  {:<22} {:>14} {:>14}",
        "commits timed", c.end_to_end.count, c.raw_insert.count
    )?;
    writeln!(
        w,
        "  {:<22} {:>14.1} {:>14.1}",
        "pages per commit", c.pages_per_commit.checkin, c.pages_per_commit.raw
    )?;
    writeln!(
        w,
        "  ratio {:.2}, median of {} blocks of {ROUNDS_PER_BLOCK} interleaved rounds (target ≥ {CHECKIN_RATIO_MIN}: {}); whole run {:.2}; raw row {} bytes ({})",
        c.ratio,
        c.ratio_per_block.len(),
        yes(r.meets_targets.checkin_ratio),
        c.ratio_pooled,
        c.row_bytes,
        c.row_bytes_method
    )?;
    match &r.attendance_report {
        Some(a) => {
            writeln!(
                w,
                "attendance report {}..{} over {} events, {} agents ({} agent-days; store filled in {:.1} s)",
                a.from, a.to, a.events, a.agents, a.days, a.fill_seconds
            )?;
            writeln!(
                w,
                "  built in {:.1} ms (median of {:?}; target ≤ {REPORT_MS_MAX} ms), peak memory {} (target ≤ 64 MiB): {}",
                a.build_ms,
                a.build_ms_runs,
                a.peak_memory_bytes
                    .map(|b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)))
                    .unwrap_or_else(|| "unavailable".into()),
                yes(r.meets_targets.attendance_report == Some(true))
            )?;
        }
        None => writeln!(w, "attendance report: skipped (--report-events 0)")?,
    }
    match r.peak_memory_bytes {
        Some(b) => writeln!(w, "peak memory {:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        None => writeln!(w, "peak memory: unavailable on this platform"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status =
            "Name:\tfieldcheck\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS:\t 1000 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t 12 MB\n"), None);
    }

    #[test]
    fn whole_batches_round_up() {
        assert_eq!(whole_batches(0), BATCH);
        assert_eq!(whole_batches(1), BATCH);
        assert_eq!(whole_batches(BATCH), BATCH);
        assert_eq!(whole_batches(BATCH + 1), 2 * BATCH);
    }

    #[test]
    fn indexed_and_linear_decisions_agree() {
        let index = SiteIndex::new(synthetic_sites(300, 7));
        let fixes = synthetic_fixes(index.sites(), 256, 7);
        let mut within = 0;
        for &(p, r) in &fixes {
            let a = decide(&index, p, r, Scan::Index);
            assert_eq!(a, decide(&index, p, r, Scan::BoxPruned));
            assert_eq!(a, decide(&index, p, r, Scan::Exhaustive));
            within += usize::from(!index.within(p, r, &|_| true).is_empty());
        }
        // Both branches of a decision are exercised.
        assert!(within > 0 && within < fixes.len(), "{within}");
    }

    #[test]
    fn a_checkin_writes_a_few_hundred_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let args = BenchArgs {
            sites: 10,
            decisions: 1,
            linear_decisions: 1,
            pruned_decisions: 1,
            store_sites: 5,
            checkins: 25,
            dir: None,
            keep: false,
            report_events: 0,
            report_agents: 1,
        };
        let report = bench_checkins(&args, dir.path(), &ProgressBar::hidden()).unwrap();
        assert_eq!(report.end_to_end.count, 25);
        assert_eq!(report.raw_insert.count, 25);
        assert_eq!(report.rounds, 3);
        assert_eq!(report.agents, 5);
        // An event row alone holds a UUID, agent, times and a consent
        // entry id; the ledger row two 32-byte hashes.
        assert!(
            (150..1_000).contains(&report.row_bytes),
            "{}",
            report.row_bytes
        );
        // A check-in writes a handful of pages, and the baseline as many.
        let pages = &report.pages_per_commit;
        assert!((2.0..12.0).contains(&pages.checkin), "{pages:?}");
        assert!((pages.raw - pages.checkin).abs() <= 1.5, "{pages:?}");
        let raw = Connection::open(dir.path().join("bench-raw.db")).unwrap();
        let (mut rows, mut bytes) = (0, 0);
        for t in 0..pages.raw_tables {
            let (n, len): (i64, i64) = raw
                .query_row(
                    &format!("SELECT count(*), total(length(payload)) FROM raw{t}"),
                    [],
                    |r| Ok((r.get(0)?, r.get::<_, f64>(1)? as i64)),
                )
                .unwrap();
            rows += n;
            bytes += len;
        }
        // warm-up, the page count's 16 commits and the timed ones, on each table
        assert_eq!(rows as usize, (25 + 16 + 25) * pages.raw_tables);
        assert_eq!(bytes as usize, (25 + 16 + 25) * report.row_bytes);
    }
}
