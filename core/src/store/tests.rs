use chrono::{DateTime, Duration, TimeZone};
use rusqlite::Connection;
use tempfile::TempDir;

use super::*;
use crate::attendance::{AttendanceEvent, EventFilter};
use crate::audit::{FlagPurpose, FlagRequest, FlagScope};
use crate::chain;
use crate::consent::{ConsentEntry, ConsentSource};
#[allow(unused_imports)]
use crate::error::{Error, Result};
use crate::evaluation::{Fix, PositionClass, Reason};
#[allow(unused_imports)]
use crate::rules::Rules;
#[allow(unused_imports)]
use crate::types::Actor;
use crate::types::{EventKind, Permission};
use std::path::{Path, PathBuf};

/// Jakarta head office (circle, 150 m) and a Surabaya branch (square).
const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}},
 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[112.7370,-7.2580],[112.7400,-7.2580],[112.7400,-7.2550],[112.7370,-7.2550],[112.7370,-7.2580]]]},
  "properties":{"id":"sby-branch","name":"Surabaya branch"}}]}"#;

const HQ_LAT: f64 = -6.1944;
const HQ_LON: f64 = 106.8227;

fn t0() -> DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

fn supervisor() -> Actor {
    Actor::supervisor("sup-1")
}

struct Fixture {
    _dir: TempDir,
    path: PathBuf,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().unwrap();
    let path = super::test_engine::location(dir.path(), "store.db");
    let store = Store::open_with(&path, &super::test_engine::options_for(&path)).unwrap();
    store.import_sites(&admin(), SITES, t0()).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
    }
}

fn grant(store: &Store, agent: &str, at: DateTime<chrono::Utc>) -> ConsentEntry {
    store
        .change_consent(
            &Actor::agent(agent),
            &ConsentChange {
                subject: agent.into(),
                permission: Permission::Location,
                granted: true,
                policy_version: None,
                source: None,
            },
            at,
        )
        .unwrap()
}

fn withdraw(store: &Store, agent: &str, at: DateTime<chrono::Utc>) {
    store
        .change_consent(
            &Actor::agent(agent),
            &ConsentChange {
                subject: agent.into(),
                permission: Permission::Location,
                granted: false,
                policy_version: None,
                source: None,
            },
            at,
        )
        .unwrap();
}

fn check_in_at(
    store: &Store,
    agent: &str,
    lat: f64,
    lon: f64,
    at: DateTime<chrono::Utc>,
) -> Result<AttendanceEvent> {
    fix_at(store, agent, EventKind::CheckIn, (lat, lon), at)
}

/// A check-in or check-out by `agent` with a 10 m fix taken at `at`,
/// recorded at `at` (the store tests' one way to record a fix).
pub(super) fn fix_at(
    store: &Store,
    agent: &str,
    kind: EventKind,
    (lat, lon): (f64, f64),
    at: DateTime<chrono::Utc>,
) -> Result<AttendanceEvent> {
    store.record_fix(
        &Actor::agent(agent),
        &FixRequest {
            agent: agent.into(),
            kind,
            fix: Fix {
                lat,
                lon,
                accuracy_m: 10.0,
                captured_at: at,
                is_mock: false,
            },
        },
        at,
    )
}

fn flag(store: &Store, scope: FlagScope, at: DateTime<chrono::Utc>, days: i64) -> crate::AuditFlag {
    store
        .set_flag(
            &supervisor(),
            &FlagRequest {
                scope,
                purpose: FlagPurpose::Security,
                reason: "suspected spoofing".into(),
                expires_at: at + Duration::days(days),
            },
            at,
        )
        .unwrap()
}

#[test]
fn damaged_and_foreign_files_are_refused_and_left_alone() {
    let dir = TempDir::new().unwrap();
    let garbage = dir.path().join("garbage.db");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&garbage, &bytes).unwrap();
    let err = Store::open(&garbage).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

    let foreign = dir.path().join("other.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    let before = std::fs::read(&foreign).unwrap();
    assert!(matches!(Store::open(&foreign), Err(Error::Corrupt(_))));
    assert_eq!(std::fs::read(&foreign).unwrap(), before);
}

#[test]
fn a_frozen_v1_store_with_data_upgrades_and_still_verifies() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../tests/data/schema_v1.sql"))
            .unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // One consent entry written the way v1 wrote it.
        let entry = ConsentEntry {
            id: "c-1".into(),
            seq: 1,
            subject: "a1".into(),
            permission: Permission::Location,
            granted: true,
            policy_version: "1".into(),
            at: t0(),
            source: ConsentSource::App,
            actor: Actor::agent("a1"),
        };
        let hash = chain::link(&chain::GENESIS, &entry.canonical());
        conn.execute(
            "INSERT INTO ledger (seq, event_type, event_id, prev_hash, hash) VALUES (1, 'consent', 'c-1', ?1, ?2)",
            (&chain::GENESIS[..], &hash[..]),
        )
        .unwrap();
        conn.execute(
            "INSERT INTO consent_ledger VALUES ('c-1', 1, 'a1', 'location', 1, '1', ?1, 'app', 'a1', 'agent')",
            [t0().timestamp()],
        )
        .unwrap();
    }
    let store = Store::open_with(&path, &super::test_engine::options_for(&path)).unwrap();
    assert!(store.verify().unwrap().intact);
    let state = store.consent_state(&admin(), "a1").unwrap();
    assert_eq!(state.location.map(|e| e.id), Some("c-1".into()));
    // The upgraded store keeps working and chaining.
    store.import_sites(&admin(), SITES, t0()).unwrap();
    let e = check_in_at(&store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert!(e.accepted, "{e:?}");
    assert_eq!(e.seq, 2);
    assert!(store.verify().unwrap().intact);
}

#[test]
fn no_consent_no_processing_and_withdrawal_stops_it() {
    let f = fixture();
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert_eq!(e.reasons, vec![Reason::ConsentRequired]);
    assert_eq!(e.position, PositionClass::Unknown);
    assert_eq!(e.consent_entry, None);

    let entry = grant(&f.store, "a1", t0());
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert!(e.accepted);
    assert_eq!(e.site_id.as_deref(), Some("jkt-hq"));
    assert_eq!(e.consent_entry.as_deref(), Some(entry.id.as_str()));

    withdraw(&f.store, "a1", t0() + Duration::hours(1));
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0() + Duration::hours(1)).unwrap();
    assert_eq!(e.reasons, vec![Reason::ConsentRequired]);

    let history = f.store.consent_history(&Actor::agent("a1"), "a1").unwrap();
    assert_eq!(
        history.iter().map(|e| e.granted).collect::<Vec<_>>(),
        vec![true, false]
    );
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn roles_are_enforced_and_denials_change_nothing() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let denied = f.store.record_fix(
        &Actor::agent("a2"),
        &FixRequest {
            agent: "a1".into(),
            kind: EventKind::CheckIn,
            fix: Fix {
                lat: HQ_LAT,
                lon: HQ_LON,
                accuracy_m: 10.0,
                captured_at: t0(),
                is_mock: false,
            },
        },
        t0(),
    );
    assert!(matches!(denied, Err(Error::PermissionDenied(_))));
    let flag_by_agent = f.store.set_flag(
        &Actor::agent("a1"),
        &FlagRequest {
            scope: FlagScope::Everyone,
            purpose: FlagPurpose::Audit,
            reason: "x".into(),
            expires_at: t0() + Duration::days(1),
        },
        t0(),
    );
    assert!(matches!(flag_by_agent, Err(Error::PermissionDenied(_))));
    assert!(matches!(
        f.store.import_sites(&supervisor(), SITES, t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        f.store.events(
            &Actor::agent("a2"),
            &EventFilter {
                agent: Some("a1".into()),
                ..Default::default()
            }
        ),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        f.store.purge(&supervisor(), t0()),
        Err(Error::PermissionDenied(_))
    ));
    // Only the consent entry was ever written.
    assert_eq!(f.store.verify().unwrap().events_checked, 1);
    assert!(
        f.store
            .events(&admin(), &EventFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn flag_requests_are_validated() {
    let f = fixture();
    let request = |scope, reason: &str, days| FlagRequest {
        scope,
        purpose: FlagPurpose::Audit,
        reason: reason.into(),
        expires_at: t0() + Duration::days(days),
    };
    let err = |r: FlagRequest| f.store.set_flag(&supervisor(), &r, t0()).unwrap_err();
    assert!(matches!(
        err(request(FlagScope::Everyone, "  ", 5)),
        Error::InvalidInput { .. }
    ));
    assert!(matches!(
        err(request(FlagScope::Everyone, "audit", 91)),
        Error::InvalidInput { .. }
    ));
    assert!(matches!(
        err(request(FlagScope::Everyone, "audit", -1)),
        Error::InvalidInput { .. }
    ));
    assert!(matches!(
        err(request(FlagScope::Site("nowhere".into()), "audit", 5)),
        Error::NotFound(_)
    ));
    f.store
        .set_flag(
            &supervisor(),
            &request(FlagScope::Everyone, "audit", 90),
            t0(),
        )
        .unwrap();
}

#[test]
fn coordinates_are_kept_only_under_a_covering_flag() {
    let f = fixture();
    for agent in ["a1", "a2"] {
        grant(&f.store, agent, t0());
    }
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert!(!e.location_retained);
    assert_eq!(
        f.store.retained_location(&supervisor(), &e.id).unwrap(),
        None
    );

    let agent_flag = flag(&f.store, FlagScope::Agent("a1".into()), t0(), 10);
    let t1 = t0() + Duration::minutes(5);
    let e = check_in_at(&f.store, "a1", HQ_LAT + 0.0001, HQ_LON, t1).unwrap();
    assert!(e.location_retained);
    let kept = f
        .store
        .retained_location(&supervisor(), &e.id)
        .unwrap()
        .unwrap();
    assert_eq!((kept.lat, kept.lon), (HQ_LAT + 0.0001, HQ_LON));
    assert_eq!(kept.flag_ids, vec![agent_flag.id.clone()]);
    assert_eq!(
        kept.retain_until,
        agent_flag.expires_at + Duration::days(30)
    );
    assert!(matches!(
        f.store.retained_location(&Actor::agent("a1"), &e.id),
        Err(Error::PermissionDenied(_))
    ));
    // Another agent is not covered.
    assert!(
        !check_in_at(&f.store, "a2", HQ_LAT, HQ_LON, t1)
            .unwrap()
            .location_retained
    );

    // A site flag covers fixes whose verdict names that site, rejected ones too.
    flag(&f.store, FlagScope::Site("sby-branch".into()), t1, 10);
    let far = check_in_at(&f.store, "a2", HQ_LAT, HQ_LON, t1).unwrap();
    assert!(!far.location_retained);
    let near_branch = check_in_at(&f.store, "a2", -7.2600, 112.7385, t1).unwrap();
    assert_eq!(near_branch.position, PositionClass::Outside);
    assert_eq!(near_branch.site_id.as_deref(), Some("sby-branch"));
    assert!(near_branch.location_retained);

    // Consent missing: the fix is never looked at, so never kept.
    flag(&f.store, FlagScope::Everyone, t1, 10);
    let unconsented = check_in_at(&f.store, "a3", HQ_LAT, HQ_LON, t1).unwrap();
    assert_eq!(unconsented.reasons, vec![Reason::ConsentRequired]);
    assert!(!unconsented.location_retained);
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn viewing_retained_coordinates_needs_a_reason_and_is_logged() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let plain = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    flag(&f.store, FlagScope::Agent("a1".into()), t0(), 10);
    let t1 = t0() + Duration::minutes(5);
    let kept = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t1).unwrap();
    assert!(kept.location_retained);

    let later = t1 + Duration::hours(2);
    let shown = f
        .store
        .view_retained_location(&supervisor(), &kept.id, "disputed check-in", later)
        .unwrap()
        .unwrap();
    assert_eq!((shown.lat, shown.lon), (HQ_LAT, HQ_LON));
    let views = f.store.location_views(&supervisor(), &kept.id).unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].viewer, supervisor());
    assert_eq!(views[0].reason, "disputed check-in");
    assert_eq!(views[0].at, later);

    // Nothing kept, nothing shown, nothing logged.
    assert_eq!(
        f.store
            .view_retained_location(&supervisor(), &plain.id, "curious", later)
            .unwrap(),
        None
    );
    assert!(
        f.store
            .location_views(&supervisor(), &plain.id)
            .unwrap()
            .is_empty()
    );
    // A reason is required; agents may not look; unknown events are not found.
    assert!(matches!(
        f.store
            .view_retained_location(&supervisor(), &kept.id, " ", later),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        f.store
            .view_retained_location(&Actor::agent("a1"), &kept.id, "me", later),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        f.store
            .view_retained_location(&supervisor(), "nope", "x", later),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        f.store
            .location_views(&supervisor(), &kept.id)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_flag_ended_early_keeps_nothing_more_and_lets_go_sooner() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let flag_ = flag(&f.store, FlagScope::Agent("a1".into()), t0(), 10);
    let t1 = t0() + Duration::minutes(5);
    let kept = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t1).unwrap();
    assert!(kept.location_retained);
    let before = f
        .store
        .retained_location(&supervisor(), &kept.id)
        .unwrap()
        .unwrap();
    assert_eq!(before.retain_until, flag_.expires_at + Duration::days(30));

    let t2 = t1 + Duration::hours(1);
    assert!(matches!(
        f.store.end_flag(&Actor::agent("a1"), &flag_.id, t2),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        f.store.end_flag(&supervisor(), "nope", t2),
        Err(Error::NotFound(_))
    ));
    let ended = f.store.end_flag(&supervisor(), &flag_.id, t2).unwrap();
    assert_eq!(ended.ended_at, Some(t2));
    assert!(!ended.is_active(t2));
    // Ending twice is refused; the list shows the end.
    assert!(matches!(
        f.store.end_flag(&supervisor(), &flag_.id, t2),
        Err(Error::InvalidInput { .. })
    ));
    let listed = f.store.flags(&supervisor(), None, t2).unwrap();
    assert_eq!(listed[0].ended_at, Some(t2));
    // Later fixes keep nothing; what it kept goes 30 days after the end.
    let after = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t2 + Duration::minutes(1)).unwrap();
    assert!(!after.location_retained);
    let shortened = f
        .store
        .retained_location(&supervisor(), &kept.id)
        .unwrap()
        .unwrap();
    assert_eq!(shortened.retain_until, t2 + Duration::days(30));
    // The end is a chained event: verify checks it, and tampering shows.
    assert!(f.store.verify().unwrap().intact);
    f.store
        .write(|tx| {
            tx.execute("UPDATE audit_flag_ends SET ended_at = ended_at + 60", [])?;
            Ok(())
        })
        .unwrap();
    assert!(!f.store.verify().unwrap().intact);
}

#[test]
fn agents_can_see_the_flags_that_cover_them() {
    let f = fixture();
    let mine = flag(&f.store, FlagScope::Agent("a1".into()), t0(), 10);
    let everyone = flag(&f.store, FlagScope::Everyone, t0(), 10);
    let other = flag(&f.store, FlagScope::Agent("a2".into()), t0(), 10);
    let site = flag(&f.store, FlagScope::Site("jkt-hq".into()), t0(), 10);
    let ids: Vec<String> = f
        .store
        .flags(&Actor::agent("a1"), Some("a1"), t0())
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert!(ids.contains(&mine.id) && ids.contains(&everyone.id) && ids.contains(&site.id));
    assert!(!ids.contains(&other.id));
    assert!(matches!(
        f.store.flags(&Actor::agent("a1"), Some("a2"), t0()),
        Err(Error::PermissionDenied(_))
    ));
    // Expired flags drop out unless they still hold the agent's coordinates.
    let later = t0() + Duration::days(11);
    assert!(
        f.store
            .flags(&Actor::agent("a1"), Some("a1"), later)
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.flags(&supervisor(), None, later).unwrap().len(), 4);
}

#[test]
fn purge_removes_retained_coordinates_after_retention_only() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let fl = flag(&f.store, FlagScope::Agent("a1".into()), t0(), 7);
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    let retain_until = fl.expires_at + Duration::days(30);

    let report = f.store.purge(&admin(), retain_until).unwrap();
    assert_eq!(report.retained_locations, 0);
    assert!(
        f.store
            .retained_location(&admin(), &e.id)
            .unwrap()
            .is_some()
    );

    let report = f
        .store
        .purge(&admin(), retain_until + Duration::seconds(1))
        .unwrap();
    assert_eq!(report.retained_locations, 1);
    assert!(
        f.store
            .retained_location(&admin(), &e.id)
            .unwrap()
            .is_none()
    );
    // Where the store seals, the day's data key goes once that day is
    // over: no copy of its coordinates opens after a rotation.
    if f.store.is_sealed() {
        assert_eq!(report.data_keys, Some(0), "the day is not over yet");
        let next_day = f
            .store
            .purge(&admin(), retain_until + Duration::days(1))
            .unwrap();
        assert_eq!(next_day.data_keys, Some(1));
    } else {
        assert_eq!(report.data_keys, None);
    }
    // The event stays; only its coordinates went.
    let kept = f.store.event(&e.id).unwrap().unwrap();
    assert!(!kept.location_retained);
    assert!(f.store.verify().unwrap().intact);
    // The WAL was truncated.
    let wal = f.path.with_extension("db-wal");
    assert_eq!(std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0), 0);
}

#[test]
fn purging_old_events_anchors_the_chain() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    for day in 0..3 {
        check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0() + Duration::days(day)).unwrap();
    }
    let later = t0() + Duration::days(2 * 365 + 1) + Duration::hours(12);
    // Events of day 0 and day 1 are past two years; the consent entry (seq 1)
    // is still held, so only a middle stretch is purged and nothing anchors.
    let report = f.store.purge(&admin(), later).unwrap();
    assert_eq!(report.attendance_events, 2);
    assert_eq!(report.anchored_events, 0);
    let v = f.store.verify().unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!(
        f.store
            .events(&admin(), &EventFilter::default())
            .unwrap()
            .len(),
        1
    );
    // New events keep linking after the purge.
    grant(&f.store, "a1", later);
    check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, later).unwrap();
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn a_fully_purged_prefix_is_folded_into_the_anchor() {
    let f = fixture();
    // Consent for a1 came from a1's earlier store; here the admin restricts
    // nothing and records attendance only through an admin actor.
    let entry = grant(&f.store, "a1", t0());
    let first = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    // Make the consent entry and first event purgeable by marking them the
    // way retention does, then purge: the prefix 1..=2 folds.
    f.store
        .write(|tx| {
            tx.execute(
                "UPDATE ledger SET purged_at = 1 WHERE event_id = ?1",
                [&entry.id],
            )?;
            tx.execute("DELETE FROM consent_ledger WHERE id = ?1", [&entry.id])?;
            Ok(())
        })
        .unwrap();
    let later = t0() + Duration::days(2 * 365 + 1);
    let report = f.store.purge(&admin(), later).unwrap();
    assert_eq!(report.attendance_events, 1);
    assert_eq!(report.anchored_events, 2);
    let v = f.store.verify().unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!(v.anchored_events, 2);
    assert!(f.store.event(&first.id).unwrap().is_none());
    // The chain continues from the anchor.
    let next = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, later).unwrap();
    assert_eq!(next.seq, 3);
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn restriction_refuses_processing_until_lifted() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    assert!(matches!(
        f.store.set_restriction(&supervisor(), "a1", true, t0()),
        Err(Error::PermissionDenied(_))
    ));
    f.store.set_restriction(&admin(), "a1", true, t0()).unwrap();
    let e = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert_eq!(e.reasons, vec![Reason::Restricted]);
    f.store
        .set_restriction(&admin(), "a1", false, t0())
        .unwrap();
    assert!(
        check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0())
            .unwrap()
            .accepted
    );
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn malformed_fix_stores_nothing() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let before = f.store.verify().unwrap().events_checked;
    for (lat, lon) in [(f64::NAN, 0.0), (91.0, 0.0), (0.0, 180.5)] {
        let r = check_in_at(&f.store, "a1", lat, lon, t0());
        assert!(matches!(r, Err(Error::InvalidInput { .. })));
    }
    assert!(matches!(
        check_in_at(&f.store, "", HQ_LAT, HQ_LON, t0()),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(f.store.verify().unwrap().events_checked, before);
}

#[test]
fn sequence_and_travel_use_the_stored_history() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let checkin = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0()).unwrap();
    assert!(checkin.reasons.is_empty());
    let again = check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0() + Duration::minutes(1)).unwrap();
    assert_eq!(again.reasons, vec![Reason::Sequence]);
    // Jakarta to Surabaya (~660 km) in ten minutes.
    let jump = check_in_at(
        &f.store,
        "a1",
        -7.2565,
        112.7385,
        t0() + Duration::minutes(11),
    )
    .unwrap();
    assert_eq!(jump.reasons, vec![Reason::ImpossibleTravel]);
    assert_eq!(jump.site_id.as_deref(), Some("sby-branch"));
}

#[test]
fn site_import_replaces_and_rejects_all_or_nothing() {
    let f = fixture();
    let summary = f.store.import_sites(&admin(), SITES, t0()).unwrap();
    assert_eq!((summary.added, summary.replaced), (0, 2));
    let broken = SITES.replace("\"radius_m\":150", "\"radius_m\":-1");
    assert!(f.store.import_sites(&admin(), &broken, t0()).is_err());
    let renamed = SITES.replace("Jakarta HQ", "Jakarta Head Office");
    f.store.import_sites(&admin(), &renamed, t0()).unwrap();
    let names: Vec<String> = f
        .store
        .sites()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["Jakarta Head Office", "Surabaya branch"]);
    // Export round-trips.
    let exported = f.store.export_sites().unwrap();
    let again = crate::geofence::parse_sites(&exported).unwrap();
    let stored = f.store.sites().unwrap();
    assert_eq!(again.len(), stored.len());
    for (a, b) in again.iter().zip(&stored) {
        assert_eq!(
            (&a.id, &a.name, &a.agents, a.tolerance_m),
            (&b.id, &b.name, &b.agents, b.tolerance_m)
        );
        assert_eq!(a.fence, b.fence);
        // The surface point may be recomputed from reoriented rings.
        assert!((a.reference_point.lat - b.reference_point.lat).abs() < 1e-9);
        assert!((a.reference_point.lon - b.reference_point.lon).abs() < 1e-9);
    }
}

#[test]
fn rules_persist_and_only_admins_change_them() {
    let f = fixture();
    let rules = Rules {
        max_fix_age_s: 300,
        ..Rules::default()
    };
    assert!(matches!(
        f.store.set_rules(&supervisor(), rules.clone()),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        f.store.set_rules(
            &admin(),
            Rules {
                max_accuracy_m: f64::NAN,
                ..Rules::default()
            }
        ),
        Err(Error::InvalidInput { .. })
    ));
    f.store.set_rules(&admin(), rules.clone()).unwrap();
    let path = f.path.clone();
    drop(f.store);
    assert_eq!(
        Store::open_with(&path, &super::test_engine::options_for(&path))
            .unwrap()
            .rules(),
        rules
    );
}

fn tamper(store: &Store, sql: &str) {
    store
        .write(|tx| {
            tx.execute_batch(sql)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn verify_names_the_first_altered_or_deleted_event() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let flag_ = flag(&f.store, FlagScope::Agent("a1".into()), t0(), 5);
    let events: Vec<AttendanceEvent> = (0..4)
        .map(|i| check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0() + Duration::minutes(i)).unwrap())
        .collect();
    assert!(f.store.verify().unwrap().intact);

    // Altering a retained coordinate: in clear, or (a sealing store) the
    // sealed value, here another event's moved onto it.
    let (alter, restore) = if f.store.is_sealed() {
        (
            format!(
                "UPDATE retained_locations SET sealed = (SELECT sealed FROM retained_locations
                   WHERE event_id = '{}') WHERE event_id = '{}'",
                events[2].id, events[3].id
            ),
            None,
        )
    } else {
        (
            format!(
                "UPDATE retained_locations SET lat = lat + 1 WHERE event_id = '{}'",
                events[3].id
            ),
            Some(format!(
                "UPDATE retained_locations SET lat = lat - 1 WHERE event_id = '{}'",
                events[3].id
            )),
        )
    };
    let before: Option<Vec<u8>> = f
        .store
        .read(|tx| {
            Ok(tx.query_row(
                "SELECT sealed FROM retained_locations WHERE event_id = ?1",
                [&events[3].id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    tamper(&f.store, &alter);
    let b = f.store.verify().unwrap().first_broken.unwrap();
    assert_eq!(b.event_id.as_deref(), Some(events[3].id.as_str()));
    if f.store.is_sealed() {
        assert!(b.problem.contains("does not open"), "{b:?}");
    } else {
        assert!(b.problem.contains("retained location"), "{b:?}");
    }
    match restore {
        Some(sql) => tamper(&f.store, &sql),
        None => f
            .store
            .write(|tx| {
                tx.execute(
                    "UPDATE retained_locations SET sealed = ?2 WHERE event_id = ?1",
                    (&events[3].id, &before),
                )?;
                Ok(())
            })
            .unwrap(),
    }
    assert!(f.store.verify().unwrap().intact);

    // Altering the flag's reason (on a sealing store, replacing the sealed
    // value by clear text).
    let reason_before: String = f
        .store
        .read(|tx| {
            Ok(tx.query_row(
                "SELECT reason FROM audit_flags WHERE id = ?1",
                [&flag_.id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    tamper(
        &f.store,
        &format!(
            "UPDATE audit_flags SET reason = 'routine' WHERE id = '{}'",
            flag_.id
        ),
    );
    let b = f.store.verify().unwrap().first_broken.unwrap();
    assert_eq!(b.event_id.as_deref(), Some(flag_.id.as_str()));
    f.store
        .write(|tx| {
            tx.execute(
                "UPDATE audit_flags SET reason = ?2 WHERE id = ?1",
                (&flag_.id, &reason_before),
            )?;
            Ok(())
        })
        .unwrap();

    // Altering a verdict.
    tamper(
        &f.store,
        &format!(
            "UPDATE attendance_events SET accepted = 0 WHERE id = '{}'",
            events[1].id
        ),
    );
    let v = f.store.verify().unwrap();
    assert!(!v.intact);
    let b = v.first_broken.unwrap();
    assert_eq!(
        (b.seq, b.event_id.as_deref()),
        (events[1].seq, Some(events[1].id.as_str()))
    );
    assert!(b.problem.contains("altered"));
    tamper(
        &f.store,
        &format!(
            "UPDATE attendance_events SET accepted = 1 WHERE id = '{}'",
            events[1].id
        ),
    );
    assert!(f.store.verify().unwrap().intact);

    // Deleting an event.
    tamper(
        &f.store,
        &format!(
            "DELETE FROM attendance_events WHERE id = '{}'",
            events[2].id
        ),
    );
    let b = f.store.verify().unwrap().first_broken.unwrap();
    assert_eq!(b.event_id.as_deref(), Some(events[2].id.as_str()));
    assert!(b.problem.contains("deleted"));

    // Deleting a ledger row is a gap at that sequence number.
    tamper(
        &f.store,
        &format!("DELETE FROM ledger WHERE seq = {}", events[0].seq),
    );
    let b = f.store.verify().unwrap().first_broken.unwrap();
    assert_eq!(b.seq, events[0].seq);
    assert!(b.problem.contains("missing"));
}

#[test]
fn concurrent_check_ins_from_threads_all_land_in_one_chain() {
    let f = fixture();
    let agents: Vec<String> = (0..4).map(|i| format!("agent-{i}")).collect();
    for a in &agents {
        grant(&f.store, a, t0());
    }
    std::thread::scope(|s| {
        for a in &agents {
            let store = &f.store;
            s.spawn(move || {
                for i in 0..25 {
                    let at = t0() + Duration::seconds(i);
                    check_in_at(store, a, HQ_LAT, HQ_LON, at).unwrap();
                }
            });
        }
    });
    assert_eq!(
        f.store
            .events(&admin(), &EventFilter::default())
            .unwrap()
            .len(),
        100
    );
    let v = f.store.verify().unwrap();
    assert!(v.intact);
    assert_eq!(v.events_checked, 104);
}

#[test]
fn two_stores_on_one_file_share_the_chain() {
    let f = fixture();
    grant(&f.store, "a1", t0());
    let second = Store::open_with(&f.path, &super::test_engine::options_for(&f.path)).unwrap();
    for i in 0..10 {
        let store = if i % 2 == 0 { &f.store } else { &second };
        check_in_at(store, "a1", HQ_LAT, HQ_LON, t0() + Duration::seconds(i)).unwrap();
    }
    let v = second.verify().unwrap();
    assert!(v.intact);
    assert_eq!(v.events_checked, 11);
}

#[test]
fn push_tokens_live_only_under_push_consent() {
    let f = fixture();
    let a1 = Actor::agent("a1");
    let push = |granted| ConsentChange {
        subject: "a1".into(),
        permission: Permission::Push,
        granted,
        policy_version: None,
        source: None,
    };
    assert!(matches!(
        f.store.register_push_token(&a1, "a1", "tok-123", t0()),
        Err(Error::PermissionDenied(_))
    ));
    f.store.change_consent(&a1, &push(true), t0()).unwrap();
    assert!(matches!(
        f.store.register_push_token(&a1, "a1", "", t0()),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        f.store
            .register_push_token(&Actor::agent("a2"), "a1", "tok", t0()),
        Err(Error::PermissionDenied(_))
    ));
    f.store
        .register_push_token(&a1, "a1", "fcm:tok-123", t0())
        .unwrap();
    assert_eq!(
        f.store.push_token(&a1, "a1").unwrap().as_deref(),
        Some("fcm:tok-123")
    );
    f.store.change_consent(&a1, &push(false), t0()).unwrap();
    assert_eq!(f.store.push_token(&a1, "a1").unwrap(), None);
    let needle = b"fcm:tok-123";
    for suffix in ["", "-wal"] {
        let mut name = f.path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(bytes) = std::fs::read(PathBuf::from(name)) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "token bytes left in {suffix:?}"
            );
        }
    }
}

#[test]
fn os_permission_changes_withdraw_and_restore_but_never_grant() {
    use crate::consent::OsPermission;
    let f = fixture();
    let a1 = Actor::agent("a1");
    let record = |state| {
        f.store
            .record_os_permission(&a1, "a1", Permission::Location, state, t0())
            .unwrap()
    };
    // An OS permission alone is not consent.
    for state in [
        OsPermission::Granted,
        OsPermission::ApproximateOnly,
        OsPermission::Denied,
        OsPermission::Restricted,
    ] {
        assert_eq!(record(state), None);
    }
    let given = f
        .store
        .change_consent(
            &a1,
            &ConsentChange {
                subject: "a1".into(),
                permission: Permission::Location,
                granted: true,
                policy_version: Some("2026-01".into()),
                source: None,
            },
            t0(),
        )
        .unwrap();
    assert_eq!(given.source, ConsentSource::App);
    assert_eq!(
        record(OsPermission::Granted),
        None,
        "the ledger already agrees"
    );
    // Approximate-only is useless for a geofence: withdrawn, once.
    let withdrawn = record(OsPermission::ApproximateOnly).unwrap();
    assert!(!withdrawn.granted);
    assert_eq!(withdrawn.source, ConsentSource::OsSettings);
    assert_eq!(withdrawn.policy_version, "2026-01");
    assert_eq!(record(OsPermission::Denied), None);
    assert_eq!(
        check_in_at(&f.store, "a1", HQ_LAT, HQ_LON, t0())
            .unwrap()
            .reasons,
        vec![Reason::ConsentRequired]
    );
    // Precise location back on in Settings: restored for the same policy.
    let restored = record(OsPermission::Granted).unwrap();
    assert!(restored.granted);
    assert_eq!(restored.policy_version, "2026-01");
    assert_eq!(record(OsPermission::Granted), None);
    // Restricted by device management: withdrawn too, and restored when
    // the restriction is lifted; approximate location restores nothing.
    assert!(!record(OsPermission::Restricted).unwrap().granted);
    assert_eq!(record(OsPermission::ApproximateOnly), None);
    assert!(record(OsPermission::Granted).unwrap().granted);
    // Withdrawn in the app: the OS cannot bring it back.
    withdraw(&f.store, "a1", t0());
    assert_eq!(record(OsPermission::Granted), None);
    let sources: Vec<ConsentSource> = f
        .store
        .consent_history(&a1, "a1")
        .unwrap()
        .into_iter()
        .map(|e| e.source)
        .collect();
    assert_eq!(
        sources,
        vec![
            ConsentSource::App,
            ConsentSource::OsSettings,
            ConsentSource::OsSettings,
            ConsentSource::OsSettings,
            ConsentSource::OsSettings,
            ConsentSource::App
        ]
    );
    assert!(matches!(
        f.store.record_os_permission(
            &Actor::agent("a2"),
            "a1",
            Permission::Location,
            OsPermission::Denied,
            t0()
        ),
        Err(Error::PermissionDenied(_))
    ));
}

/// A v3 store (frozen schema) holding the attendance a fresh store recorded.
fn v3_store_with_events_of(fresh: &Path, path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../../tests/data/schema_v3.sql"))
        .unwrap();
    conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
        .unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS fresh", [fresh.to_str().unwrap()])
        .unwrap();
    for table in ["sites", "ledger", "consent_ledger", "attendance_events"] {
        let columns: Vec<String> = conn
            .prepare(&format!("PRAGMA main.table_info({table})"))
            .unwrap()
            .query_map([], |r| r.get(1))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let columns = columns.join(", ");
        conn.execute(
            &format!("INSERT INTO main.{table} ({columns}) SELECT {columns} FROM fresh.{table}"),
            [],
        )
        .unwrap();
    }
}

#[test]
fn a_failed_upgrade_leaves_a_v3_store_that_upgrades_later() {
    super::sqlite_only!("upgrades a frozen older SQLite schema");
    let f = fixture();
    let days = [t0(), t0() + Duration::days(1), t0() + Duration::days(2)];
    for (i, agent) in ["a1", "a2"].into_iter().enumerate() {
        grant(&f.store, agent, t0() - Duration::hours(1));
        for (d, at) in days.iter().enumerate() {
            // Inside on most days; a rejected attempt (outside) now and then.
            let lon = if (i + d) % 3 == 2 {
                HQ_LON + 0.05
            } else {
                HQ_LON
            };
            check_in_at(
                &f.store,
                agent,
                HQ_LAT,
                lon,
                *at + Duration::minutes(i as i64),
            )
            .unwrap();
        }
    }
    let query = ReportQuery {
        from: days[0].date_naive(),
        to: days[2].date_naive(),
        agent: None,
    };
    let expected = f.store.attendance_report(&admin(), &query, t0()).unwrap();
    assert_eq!(expected.days.len(), 6, "the fixture records six agent-days");
    f.store.checkpoint().unwrap();

    let old = f._dir.path().join("v3.db");
    v3_store_with_events_of(&f.path, &old);

    schema::fail_derive::arm(true);
    let failed = Store::open(&old);
    schema::fail_derive::arm(false);
    assert!(failed.is_err(), "the injected failure must surface");
    {
        let conn = Connection::open(&old).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3, "a failed upgrade keeps the old version");
        let summary: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'attendance_months')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!summary, "nothing of the failed upgrade is left");
    }

    let upgraded = Store::open(&old).unwrap();
    let report = upgraded.attendance_report(&admin(), &query, t0()).unwrap();
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
}

#[test]
fn synthetic_attendance_is_recorded_like_judged_attendance() {
    let f = fixture();
    let spec = SyntheticAttendance {
        agents: 7,
        events: 300,
        start: t0(),
        days: 5,
        seed: 42,
        first_agent: 0,
    };
    f.store
        .load_synthetic_attendance(&admin(), &spec, &|_| {})
        .unwrap();
    let events = f.store.events(&admin(), &EventFilter::default()).unwrap();
    assert_eq!(events.len(), 300);
    for e in &events {
        // PRODUCT.md §4: every judged fix names the consent that authorised it.
        let id = e.consent_entry.as_deref().expect("a consent entry");
        let entry = f.store.consent_entry(&admin(), id).unwrap();
        assert_eq!(entry.subject, e.agent);
        assert_eq!(entry.permission, Permission::Location);
        assert!(entry.granted && entry.at <= e.captured_at);
    }
    let report = f.store.verify().unwrap();
    assert!(report.intact, "{report:?}");
    // Consent entries and events, one chain.
    assert_eq!(report.events_checked, 300 + 7);
}

// The check-in memo (`store::memo`): what the writer remembers between
// check-ins is exactly what the tables say, whoever else writes.

/// Fails on any remembered row that differs from its table; returns how
/// many rows the memo holds.
fn memo_rows_agreeing(store: &Store) -> usize {
    let (differ, held) = store.memo_disagreements().unwrap();
    assert!(
        differ.is_empty(),
        "the memo differs from the tables: {differ:?}"
    );
    held
}

#[test]
fn the_check_in_memo_agrees_with_the_tables_after_every_check_in() {
    super::sqlite_only!("the check-in memo is the SQLite writer's");
    let f = fixture();
    grant(&f.store, "a1", t0());
    grant(&f.store, "a2", t0());
    flag(&f.store, FlagScope::Agent("a2".into()), t0(), 40);
    let away = (HQ_LAT + 0.05, HQ_LON);
    let mut at = t0();
    let (mut accepted, mut rejected) = (0, 0);
    // Six weeks of two agents (into April in Jakarta), in and out, some
    // fixes 5 km from any site, one agent under a flag that keeps
    // coordinates.
    for i in 0..60 {
        at += Duration::hours(17);
        let agent = if i % 2 == 0 { "a1" } else { "a2" };
        let kind = if (i / 2) % 2 == 0 {
            EventKind::CheckIn
        } else {
            EventKind::CheckOut
        };
        let place = if i % 7 == 3 { away } else { (HQ_LAT, HQ_LON) };
        let e = fix_at(&f.store, agent, kind, place, at).unwrap();
        if e.accepted {
            accepted += 1;
        } else {
            rejected += 1;
        }
        // Two agents, the chain head, a month row, a site id, the clock,
        // the flags: the memo is in use, not empty.
        assert!(memo_rows_agreeing(&f.store) >= 6, "check-in {i}");
    }
    assert!(
        accepted > 30 && rejected > 5,
        "{accepted} accepted, {rejected} rejected"
    );
    // Any other write forgets the memo; the next check-in fills it again.
    withdraw(&f.store, "a1", at);
    assert_eq!(memo_rows_agreeing(&f.store), 0);
    let e = fix_at(&f.store, "a1", EventKind::CheckIn, (HQ_LAT, HQ_LON), at).unwrap();
    assert_eq!(e.reasons, vec![Reason::ConsentRequired]);
    assert!(memo_rows_agreeing(&f.store) > 0);
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn a_check_in_sees_what_another_connection_committed() {
    super::sqlite_only!("the check-in memo is the SQLite writer's");
    let f = fixture();
    let hq = (HQ_LAT, HQ_LON);
    grant(&f.store, "a1", t0());
    fix_at(&f.store, "a1", EventKind::CheckIn, hq, t0()).unwrap();
    assert!(memo_rows_agreeing(&f.store) > 0);

    // Another process withdraws consent: the next check-in here is refused.
    let other = Store::open_with(&f.path, &super::test_engine::options_for(&f.path)).unwrap();
    withdraw(&other, "a1", t0() + Duration::minutes(1));
    let e = fix_at(
        &f.store,
        "a1",
        EventKind::CheckOut,
        hq,
        t0() + Duration::minutes(2),
    )
    .unwrap();
    assert_eq!(e.reasons, vec![Reason::ConsentRequired]);

    // It grants again and records a check-out: the chain head, the month
    // row and the agent's last accepted event all moved underneath.
    grant(&other, "a1", t0() + Duration::minutes(3));
    let theirs = fix_at(
        &other,
        "a1",
        EventKind::CheckOut,
        hq,
        t0() + Duration::minutes(4),
    )
    .unwrap();
    assert!(theirs.accepted);
    let ours = fix_at(
        &f.store,
        "a1",
        EventKind::CheckIn,
        hq,
        t0() + Duration::minutes(5),
    )
    .unwrap();
    assert!(
        ours.accepted,
        "a check-in after their check-out: {:?}",
        ours.reasons
    );
    assert_eq!(ours.seq, theirs.seq + 1);
    memo_rows_agreeing(&f.store);
    assert!(f.store.verify().unwrap().intact);
}

#[test]
fn a_failed_check_in_forgets_the_memo() {
    super::sqlite_only!("the check-in memo is the SQLite writer's");
    let f = fixture();
    let hq = (HQ_LAT, HQ_LON);
    grant(&f.store, "a1", t0());
    grant(&f.store, "a2", t0());
    // A trigger refuses a2's events after the ledger row is written: the
    // check-in fails half way and rolls back.
    Connection::open(&f.path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_a2 AFTER INSERT ON attendance_events WHEN NEW.agent = 'a2'
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
        )
        .unwrap();
    let first = fix_at(&f.store, "a1", EventKind::CheckIn, hq, t0()).unwrap();
    assert!(fix_at(&f.store, "a2", EventKind::CheckIn, hq, t0()).is_err());
    assert_eq!(memo_rows_agreeing(&f.store), 0);
    let next = fix_at(
        &f.store,
        "a1",
        EventKind::CheckOut,
        hq,
        t0() + Duration::minutes(1),
    )
    .unwrap();
    assert!(next.accepted);
    assert_eq!(next.seq, first.seq + 1);
    assert!(f.store.verify().unwrap().intact);
}

/// The site index and the rules are cached per process; a change made by
/// another process on the same file (the CLI beside a running server, a
/// second server instance) is judged with at the next check-in.
#[test]
fn sites_and_rules_changed_by_another_process_are_judged_with_at_once() {
    let f = fixture();
    let other = Store::open_with(&f.path, &super::test_engine::options_for(&f.path)).unwrap();
    grant(&f.store, "a1", t0());
    let (lat, lon) = (-6.3000, 106.9000);
    let at = |m: i64| t0() + Duration::minutes(m);
    // Nowhere near a site: judged (and the caches filled) on this process.
    let before = check_in_at(&f.store, "a1", lat, lon, at(1)).unwrap();
    assert!(!before.accepted);
    assert_eq!(f.store.site_index().unwrap().sites().len(), 2);
    // The other process adds a site there.
    let branch = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature",
        "geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},
        "properties":{{"id":"depok","name":"Depok","radius_m":100}}}}]}}"#
    );
    other.import_sites(&admin(), &branch, at(2)).unwrap();
    let after = check_in_at(&f.store, "a1", lat, lon, at(3)).unwrap();
    assert!(after.accepted, "{:?}", after.reasons);
    assert_eq!(after.site_id.as_deref(), Some("depok"));
    assert_eq!(f.store.site_index().unwrap().sites().len(), 3);
    // The other process tightens the rules: a 10 m fix is now too coarse.
    let mut rules = other.rules();
    rules.max_accuracy_m = 5.0;
    other.set_rules(&admin(), rules).unwrap();
    assert_eq!(f.store.rules().max_accuracy_m, 5.0);
    let coarse = fix_at(&f.store, "a1", EventKind::CheckOut, (lat, lon), at(4)).unwrap();
    assert_eq!(coarse.reasons, vec![Reason::LowAccuracy]);
}

/// A read of one statement runs on PostgreSQL as its own transaction, in
/// no transaction block: a savepoint, which needs one, is refused there
/// (SQLSTATE 25P01) and taken in any other read, which runs in the store's
/// own block. (Independent of the server's default isolation and
/// read-only settings.)
#[cfg(feature = "postgres")]
#[test]
fn a_single_statement_read_runs_outside_an_explicit_transaction() {
    super::postgres_only!("SQLite reads on its reader connection either way");
    let dir = TempDir::new().unwrap();
    let store = super::test_engine::open(dir.path(), "single-statement.db");
    let savepoint = |tx: &super::db::Transaction<'_>| -> Result<usize> {
        Ok(tx.execute("SAVEPOINT probe", [])?)
    };
    let refused = store.read_single_statement(savepoint).unwrap_err();
    assert!(refused.to_string().contains("25P01"), "{refused}");
    store.read(savepoint).unwrap();
}
