//! PRODUCT.md §4, tested byte by byte: without an audit flag no encoding of
//! a fix's coordinates reaches the database, its WAL or its shared-memory
//! file; under a flag they are kept; after purge past retention they are
//! gone from every file, free pages included.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fieldcheck_core::byte_scan::find_coordinates;
use fieldcheck_core::{
    Actor, ConsentChange, EventKind, Fix, FixRequest, FlagPurpose, FlagRequest, FlagScope,
    Permission, Store,
};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":400}}]}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

/// Distinctive positions inside and around the site, none equal to the
/// site's own coordinates.
fn fixes(seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = ((x >> 20) % 100_000) as f64 / 1e7; // up to 0.01 deg
            let b = ((x >> 40) % 100_000) as f64 / 1e7;
            (
                -6.1944 + 0.0016 + a * 0.3 + 0.000_012_3,
                106.8227 + 0.0012 + b * 0.3 + 0.000_045_6,
            )
        })
        .collect()
}

fn check_in(
    store: &Store,
    lat: f64,
    lon: f64,
    at: DateTime<Utc>,
) -> fieldcheck_core::AttendanceEvent {
    check_in_with(store, lat, lon, at, at, false)
}

fn check_in_with(
    store: &Store,
    lat: f64,
    lon: f64,
    captured_at: DateTime<Utc>,
    now: DateTime<Utc>,
    is_mock: bool,
) -> fieldcheck_core::AttendanceEvent {
    store
        .record_fix(
            &Actor::agent("agent-7"),
            &FixRequest {
                agent: "agent-7".into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat,
                    lon,
                    accuracy_m: 12.5,
                    captured_at,
                    is_mock,
                },
            },
            now,
        )
        .unwrap()
}

#[test]
fn coordinates_leave_no_bytes_unless_flagged_and_none_after_purge() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("device.db");
    let store = Store::open(&db).unwrap();
    let admin = Actor::admin("admin");
    store.import_sites(&admin, SITES, t0()).unwrap();
    store
        .change_consent(
            &Actor::agent("agent-7"),
            &ConsentChange {
                subject: "agent-7".into(),
                permission: Permission::Location,
                granted: true,
                policy_version: None,
                source: None,
            },
            t0(),
        )
        .unwrap();

    // Self-check: the search does find a value we know is stored (the
    // site's centre, which is not a fix and not personal).
    assert!(!find_coordinates(&db, &[(-6.1944, 106.8227)]).is_empty());

    // 1. No flag: accepted, rejected, mock and stale fixes leave nothing.
    let unflagged = fixes(1, 40);
    let mut reasons = std::collections::BTreeSet::new();
    for (i, &(lat, lon)) in unflagged.iter().enumerate() {
        let now = t0() + Duration::minutes(i as i64);
        let captured = if i % 7 == 3 {
            now - Duration::minutes(10)
        } else {
            now
        };
        let e = check_in_with(&store, lat, lon, captured, now, i % 5 == 1);
        reasons.extend(e.reasons.iter().map(|r| r.as_str()));
        reasons.insert(e.position.as_str());
    }
    for expected in ["mock_location", "stale_fix", "inside", "outside"] {
        assert!(
            reasons.contains(expected),
            "scenario lacks {expected}: {reasons:?}"
        );
    }
    let hits = find_coordinates(&db, &unflagged);
    assert!(
        hits.is_empty(),
        "coordinates stored without a flag: {hits:?}"
    );
    drop(store);
    let hits = find_coordinates(&db, &unflagged);
    assert!(hits.is_empty(), "coordinates found after close: {hits:?}");

    // 2. Under a security flag the coordinates are kept.
    let store = Store::open(&db).unwrap();
    let t1 = t0() + Duration::hours(2);
    let flag = store
        .set_flag(
            &Actor::supervisor("sup"),
            &FlagRequest {
                scope: FlagScope::Agent("agent-7".into()),
                purpose: FlagPurpose::Security,
                reason: "mock location suspected".into(),
                expires_at: t1 + Duration::days(14),
            },
            t1,
        )
        .unwrap();
    let flagged = fixes(2, 10);
    for (i, &(lat, lon)) in flagged.iter().enumerate() {
        let e = check_in(&store, lat, lon, t1 + Duration::minutes(i as i64));
        assert!(e.location_retained);
    }
    for &(lat, lon) in &flagged {
        let hits = find_coordinates(&db, &[(lat, lon)]);
        assert!(
            hits.iter().any(|h| h.contains("f64 be")),
            "flagged fix {lat},{lon} not found: {hits:?}"
        );
    }

    // 3. Purge past retention: gone from the main file, WAL and free pages.
    let retain_until = flag.expires_at + Duration::days(30);
    let report = store
        .purge(&admin, retain_until + Duration::seconds(1))
        .unwrap();
    assert_eq!(report.retained_locations, flagged.len());
    let hits = find_coordinates(&db, &flagged);
    assert!(hits.is_empty(), "coordinates survive purge: {hits:?}");
    assert!(store.verify().unwrap().intact);
    drop(store);
    let hits = find_coordinates(&db, &flagged);
    assert!(hits.is_empty(), "coordinates found after close: {hits:?}");
    assert!(find_coordinates(&db, &unflagged).is_empty());
}
