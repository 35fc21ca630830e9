//! Local dates and day bounds in a zone (`shift::local_date`,
//! `shift::day_bounds`): what every fold, report day and queue row costs
//! in time zone lookups. A zone without DST (Asia/Jakarta) and one with
//! (Europe/Amsterdam), at instants spread over a year.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use fieldcheck_core::shift::{day_bounds, local_date};
use fieldcheck_core::zone::Zone;

fn instants() -> Vec<DateTime<Utc>> {
    // 2026-01-01T00:00:00Z, then every 6 h 7 min for a year.
    (0..1_430)
        .map(|i| DateTime::from_timestamp(1_767_225_600 + i * 22_020, 0).unwrap())
        .collect()
}

fn zones(c: &mut Criterion) {
    let at = instants();
    for name in ["Asia/Jakarta", "Europe/Amsterdam"] {
        let zone = Zone::named(name).unwrap();
        c.bench_function(&format!("local_date {name} (per instant)"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % at.len();
                black_box(local_date(zone, black_box(at[i])))
            })
        });
        c.bench_function(&format!("day_bounds {name} (per day)"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % at.len();
                black_box(day_bounds(zone, black_box(at[i].date_naive())))
            })
        });
    }
    c.bench_function("Zone::named (loaded before)", |b| {
        b.iter(|| black_box(Zone::named(black_box("Asia/Jakarta"))))
    });
}

criterion_group!(benches, zones);
criterion_main!(benches);
