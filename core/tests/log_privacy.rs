//! PRODUCT.md §4: no coordinate and no personal data is ever written to the
//! log. Every record the core logs at any level is captured while fixes are
//! judged (with and without an audit flag), consent changes and purges run,
//! and searched for the coordinates and the flag's free-text reason.

use std::sync::Mutex;

use chrono::{Duration, TimeZone, Utc};
use fieldcheck_core::{
    Actor, ConsentChange, EventKind, Fix, FixRequest, FlagPurpose, FlagRequest, FlagScope,
    Permission, Store,
};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(format!("{} {}", record.target(), record.args()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[4.8897,52.3740]},
  "properties":{"id":"ams","name":"Amsterdam office","radius_m":120}}]}"#;

#[test]
fn nothing_positional_or_personal_is_logged() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let dir = tempfile::TempDir::new().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 7, 0, 0).unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let admin = Actor::admin("admin");
    store.import_sites(&admin, SITES, t0).unwrap();
    let agent = Actor::agent("nl-17");
    let consent = |granted| ConsentChange {
        subject: "nl-17".into(),
        permission: Permission::Location,
        granted,
        policy_version: None,
        source: None,
    };
    store.change_consent(&agent, &consent(true), t0).unwrap();
    let reason = "Tip from Jan de Vries: badge sharing";
    store
        .set_flag(
            &Actor::supervisor("sup"),
            &FlagRequest {
                scope: FlagScope::Everyone,
                purpose: FlagPurpose::Security,
                reason: reason.into(),
                expires_at: t0 + Duration::days(3),
            },
            t0,
        )
        .unwrap();
    let fixes = [
        (52.374123, 4.889754),
        (52.380987, 4.901234),
        (52.374456, 4.889321),
    ];
    for (i, (lat, lon)) in fixes.iter().enumerate() {
        let at = t0 + Duration::minutes(i as i64 * 30);
        for kind in [EventKind::CheckIn, EventKind::CheckOut] {
            store
                .record_fix(
                    &agent,
                    &FixRequest {
                        agent: "nl-17".into(),
                        kind,
                        fix: Fix {
                            lat: *lat,
                            lon: *lon,
                            accuracy_m: 8.0,
                            captured_at: at,
                            is_mock: i == 2,
                        },
                    },
                    at,
                )
                .unwrap();
        }
    }
    store.change_consent(&agent, &consent(false), t0).unwrap();
    store.purge(&admin, t0 + Duration::days(40)).unwrap();
    assert!(store.verify().unwrap().intact);

    let lines = CAPTURE.0.lock().unwrap().clone();
    assert!(
        !lines.is_empty(),
        "the core logged nothing: the test would prove nothing"
    );
    for line in &lines {
        for (lat, lon) in fixes {
            for needle in [
                format!("{lat}"),
                format!("{lon}"),
                format!("{lat:.4}"),
                format!("{lon:.4}"),
            ] {
                assert!(
                    !line.contains(&needle),
                    "coordinate {needle} logged: {line}"
                );
            }
        }
        assert!(
            !line.contains("Jan de Vries") && !line.contains(reason),
            "flag reason logged: {line}"
        );
    }
}
