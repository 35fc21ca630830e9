//! Privacy-policy versions, push tokens, restriction, data-subject requests
//! and consent receipts against a real store (PRODUCT.md §3 step 2, §5, §8).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::*;
use crate::attendance::AttendanceEvent;
use crate::consent::{ConsentEntry, ConsentSource, OsPermission};
#[allow(unused_imports)]
use crate::error::{Error, Result};
use crate::evaluation::{Fix, Reason};
use crate::leads::NewLead;
use crate::privacy::{DataSubject, RequestKind, RequestStatus};
use crate::receipt::ReceiptContext;
#[allow(unused_imports)]
use crate::rules::Rules;
#[allow(unused_imports)]
use crate::types::Actor;
use crate::types::{EventKind, Permission};
use std::path::PathBuf;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
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

fn consent(
    store: &Store,
    agent: &str,
    permission: Permission,
    granted: bool,
    version: Option<&str>,
    at: DateTime<Utc>,
) -> Result<ConsentEntry> {
    store.change_consent(
        &Actor::agent(agent),
        &ConsentChange {
            subject: agent.into(),
            permission,
            granted,
            policy_version: version.map(str::to_string),
            source: None,
        },
        at,
    )
}

fn grant(store: &Store, agent: &str, at: DateTime<Utc>) -> ConsentEntry {
    consent(store, agent, Permission::Location, true, None, at).unwrap()
}

fn check_in(store: &Store, agent: &str, at: DateTime<Utc>) -> AttendanceEvent {
    store
        .record_fix(
            &Actor::agent(agent),
            &FixRequest {
                agent: agent.into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat: -6.1944,
                    lon: 106.8227,
                    accuracy_m: 10.0,
                    captured_at: at,
                    is_mock: false,
                },
            },
            at,
        )
        .unwrap()
}

#[track_caller]
fn assert_accepted(e: &AttendanceEvent) {
    assert!(e.accepted, "{:?}", e.reasons);
    assert!(
        !e.reasons
            .iter()
            .any(|r| matches!(r, Reason::ConsentRequired | Reason::Restricted)),
        "{:?}",
        e.reasons
    );
}

#[track_caller]
fn assert_refused(e: &AttendanceEvent, reason: Reason) {
    assert!(!e.accepted);
    assert_eq!(e.reasons, vec![reason]);
    assert_eq!(e.consent_entry, None);
    assert!(!e.location_retained);
}

#[track_caller]
fn assert_intact(store: &Store) {
    let report = store.verify().unwrap();
    assert!(report.intact, "{:?}", report.first_broken);
}

#[test]
fn policy_renewal_requires_a_new_grant() {
    let f = fixture();
    let s = &f.store;
    let mut t = t0();
    let mut next = || {
        t += Duration::hours(1);
        t
    };

    // v1: nothing published yet, so a grant records the default version.
    assert_eq!(s.current_policy_version().unwrap(), "1");
    let g1 = grant(s, "a1", next());
    assert_eq!(g1.policy_version, "1");
    s.publish_policy(&admin(), "1", false, next()).unwrap();
    let e = check_in(s, "a1", next());
    assert_accepted(&e);
    assert_eq!(e.consent_entry.as_deref(), Some(g1.id.as_str()));

    // v2 requires renewal: the v1 grant no longer authorises.
    let v2 = s.publish_policy(&admin(), "2", true, next()).unwrap();
    assert!(v2.requires_renewal);
    assert_eq!(s.current_policy_version().unwrap(), "2");
    assert_refused(&check_in(s, "a1", next()), Reason::ConsentRequired);
    let standing = s.consent_standing(&Actor::agent("a1"), "a1").unwrap();
    assert!(standing.location_granted && standing.renewal_required);
    assert!(!standing.location_authorised);
    assert_eq!(standing.location_policy_version.as_deref(), Some("1"));
    assert_eq!(standing.current_policy_version, "2");

    // Granting again records v2 and authorises.
    let g2 = grant(s, "a1", next());
    assert_eq!(g2.policy_version, "2");
    let e = check_in(s, "a1", next());
    assert_accepted(&e);
    assert_eq!(e.consent_entry.as_deref(), Some(g2.id.as_str()));
    let standing = s.consent_standing(&admin(), "a1").unwrap();
    assert!(!standing.renewal_required && standing.location_authorised);

    // v3 without renewal: the v2 grant still authorises.
    s.publish_policy(&admin(), "3", false, next()).unwrap();
    assert_accepted(&check_in(s, "a1", next()));
    assert!(!s.consent_standing(&admin(), "a1").unwrap().renewal_required);

    let versions: Vec<_> = s
        .policy_versions()
        .unwrap()
        .into_iter()
        .map(|p| (p.version, p.requires_renewal))
        .collect();
    assert_eq!(
        versions,
        [
            ("1".to_string(), false),
            ("2".to_string(), true),
            ("3".to_string(), false)
        ]
    );
    assert_intact(s);
}

#[test]
fn grants_under_old_or_unpublished_versions() {
    let f = fixture();
    let s = &f.store;
    // Before any publication any version name is recorded as given.
    let e = consent(s, "a1", Permission::Location, true, Some("draft-7"), t0()).unwrap();
    assert_eq!(e.policy_version, "draft-7");

    s.publish_policy(&admin(), "2026-01", false, t0()).unwrap();
    // A version never published predates every published one, but only a
    // renewal-requiring publication makes that matter.
    assert_accepted(&check_in(s, "a1", t0() + Duration::minutes(1)));

    // Once versions are published, a named one must be one of them.
    let err = consent(s, "a1", Permission::Location, true, Some("draft-8"), t0()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "policy_version"),
        "{err}"
    );
    s.publish_policy(&admin(), "2026-06", true, t0()).unwrap();
    assert_refused(
        &check_in(s, "a1", t0() + Duration::minutes(2)),
        Reason::ConsentRequired,
    );
    // Granting under the superseded version is recorded but does not
    // authorise.
    let old = consent(s, "a1", Permission::Location, true, Some("2026-01"), t0()).unwrap();
    assert_eq!(old.policy_version, "2026-01");
    assert_refused(
        &check_in(s, "a1", t0() + Duration::minutes(3)),
        Reason::ConsentRequired,
    );
    assert!(s.consent_standing(&admin(), "a1").unwrap().renewal_required);

    // The OS giving back a permission it took keeps the old version: no
    // renewal by the back door.
    grant(s, "a2", t0());
    s.publish_policy(&admin(), "2026-09", false, t0()).unwrap();
    assert_accepted(&check_in(s, "a2", t0() + Duration::minutes(4)));
    let a2 = Actor::agent("a2");
    s.record_os_permission(&a2, "a2", Permission::Location, OsPermission::Denied, t0())
        .unwrap()
        .unwrap();
    s.publish_policy(&admin(), "2027-01", true, t0()).unwrap();
    let restored = s
        .record_os_permission(&a2, "a2", Permission::Location, OsPermission::Granted, t0())
        .unwrap()
        .unwrap();
    assert_eq!(restored.source, ConsentSource::OsSettings);
    assert_eq!(restored.policy_version, "2026-06");
    assert_refused(
        &check_in(s, "a2", t0() + Duration::minutes(5)),
        Reason::ConsentRequired,
    );
    assert_intact(s);
}

#[test]
fn publishing_is_for_admins_and_once_per_version() {
    let f = fixture();
    let s = &f.store;
    for actor in [Actor::agent("a1"), Actor::supervisor("sup")] {
        assert!(matches!(
            s.publish_policy(&actor, "2", true, t0()),
            Err(Error::PermissionDenied(_))
        ));
    }
    assert!(matches!(
        s.publish_policy(&admin(), "", true, t0()),
        Err(Error::InvalidInput { .. })
    ));
    s.publish_policy(&admin(), "2", false, t0()).unwrap();
    assert!(matches!(
        s.publish_policy(&admin(), "2", true, t0()),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(s.policy_versions().unwrap().len(), 1);
    assert!(matches!(
        s.consent_standing(&Actor::agent("a2"), "a1"),
        Err(Error::PermissionDenied(_))
    ));
}

/// Files of the store whose bytes a removed value must leave.
fn files_holding(path: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(bytes) = std::fs::read(PathBuf::from(&name))
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(name.to_string_lossy().into_owned());
        }
    }
    hits
}

#[test]
fn push_token_lifecycle_leaves_no_bytes() {
    super::sqlite_only!(
        "scans the SQLite files for erased bytes (on PostgreSQL erasure reaches the disk by sealing, issue 25)"
    );
    let f = fixture();
    let s = &f.store;
    let a1 = Actor::agent("a1");
    let token = "fcm:APA91bH-privacy-test-token-7f3c2a9e41d0b5";

    // Refused without push consent: a typed permission error, nothing stored.
    assert!(matches!(
        s.register_push_token(&a1, "a1", token, t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert_eq!(s.push_token(&a1, "a1").unwrap(), None);
    // Location consent is not push consent.
    grant(s, "a1", t0());
    assert!(matches!(
        s.register_push_token(&a1, "a1", token, t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert!(files_holding(&f.path, token.as_bytes()).is_empty());

    consent(s, "a1", Permission::Push, true, None, t0()).unwrap();
    s.register_push_token(&a1, "a1", token, t0()).unwrap();
    assert_eq!(s.push_token(&a1, "a1").unwrap().as_deref(), Some(token));
    // Self-check: the search finds the token while it is stored (in the
    // WAL, and in the main file after a checkpoint); a sealing store never
    // holds it in clear.
    let clear = !s.is_sealed();
    assert_eq!(!files_holding(&f.path, token.as_bytes()).is_empty(), clear);
    s.checkpoint().unwrap();
    assert_eq!(!files_holding(&f.path, token.as_bytes()).is_empty(), clear);

    // Withdrawal deletes the token and its bytes (secure_delete + the
    // checkpoint that the withdrawal runs).
    consent(s, "a1", Permission::Push, false, None, t0()).unwrap();
    assert_eq!(s.push_token(&a1, "a1").unwrap(), None);
    let hits = files_holding(&f.path, token.as_bytes());
    assert!(hits.is_empty(), "token bytes survive withdrawal: {hits:?}");
    // And a new registration is refused again.
    assert!(matches!(
        s.register_push_token(&a1, "a1", "fcm:other", t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert_intact(s);
    drop(f.store);
    let hits = files_holding(&f.path, token.as_bytes());
    assert!(hits.is_empty(), "token bytes found after close: {hits:?}");
}

#[test]
fn restriction_refuses_check_ins_and_logs_requests() {
    let f = fixture();
    let s = &f.store;
    grant(s, "a1", t0());
    assert_accepted(&check_in(s, "a1", t0() + Duration::minutes(1)));

    let (entry, request) = s
        .restrict(&admin(), &DataSubject::agent("a1"), true, t0())
        .unwrap();
    assert!(entry.restricted);
    assert_eq!(request.kind, RequestKind::Restriction);
    assert_eq!(request.status, RequestStatus::Done);
    assert_eq!(request.completed_at, Some(t0()));
    assert!(s.is_restricted("a1").unwrap());
    assert_refused(
        &check_in(s, "a1", t0() + Duration::minutes(2)),
        Reason::Restricted,
    );

    let (entry, request) = s
        .restrict(
            &admin(),
            &DataSubject::agent("a1"),
            false,
            t0() + Duration::minutes(3),
        )
        .unwrap();
    assert!(!entry.restricted);
    assert_eq!(request.kind, RequestKind::LiftRestriction);
    assert_accepted(&check_in(s, "a1", t0() + Duration::minutes(4)));

    // Only admins; a lead must exist.
    assert!(matches!(
        s.restrict(
            &Actor::supervisor("sup"),
            &DataSubject::agent("a1"),
            true,
            t0()
        ),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        s.restrict(&admin(), &DataSubject::lead("no-such-lead"), true, t0()),
        Err(Error::NotFound(_))
    ));
    let lead = s
        .add_lead(
            &Actor::agent("a1"),
            &NewLead {
                agent: "a1".into(),
                customer_name: "Budi Santoso".into(),
                phone: None,
                email: None,
                product: None,
                source: None,
                note: None,
            },
            t0(),
        )
        .unwrap();
    s.restrict(&admin(), &DataSubject::lead(lead.id.clone()), true, t0())
        .unwrap();
    assert!(s.is_restricted(&lead.id).unwrap());

    let logged = s.requests(&admin(), &RequestFilter::default()).unwrap();
    assert_eq!(logged.len(), 3);
    assert!(logged.iter().all(|r| r.status == RequestStatus::Done));
    assert_eq!(logged[2].subject, DataSubject::lead(lead.id));
    assert_intact(s);
}

#[test]
fn requests_fall_due_after_thirty_days() {
    let f = fixture();
    let s = &f.store;
    let now = t0() + Duration::days(60);
    let log = |received: DateTime<Utc>| {
        s.log_request(
            &admin(),
            &DataSubject::agent("a1"),
            RequestKind::Access,
            received,
        )
        .unwrap()
    };
    let day31 = log(now - Duration::days(31));
    let day29 = log(now - Duration::days(29));
    let just_over = log(now - Duration::days(30) - Duration::seconds(1));
    let exactly = log(now - Duration::days(30));
    let just_under = log(now - Duration::days(30) + Duration::seconds(1));
    let answered = log(now - Duration::days(45));
    assert_eq!(day31.due_at, day31.received_at + Duration::days(30));
    assert_eq!(day31.status, RequestStatus::Open);
    s.complete_request(&admin(), &answered.id, now - Duration::days(1))
        .unwrap();

    let overdue: Vec<String> = s
        .requests(
            &admin(),
            &RequestFilter {
                overdue_at: Some(now),
                ..RequestFilter::default()
            },
        )
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    // Due at received + 30 days: on time at that instant, overdue a second
    // later.
    assert_eq!(overdue, [day31.id.clone(), just_over.id.clone()]);
    for r in [&day29, &exactly, &just_under] {
        assert!(!overdue.contains(&r.id));
        assert!(!s.request(&admin(), &r.id).unwrap().is_overdue(now));
    }
    assert!(s.request(&admin(), &day31.id).unwrap().is_overdue(now));

    let all = s.requests(&admin(), &RequestFilter::default()).unwrap();
    assert_eq!(all.len(), 6);
    let open = s
        .requests(
            &admin(),
            &RequestFilter {
                open_only: true,
                ..RequestFilter::default()
            },
        )
        .unwrap();
    assert_eq!(open.len(), 5);
    let done = s.request(&admin(), &answered.id).unwrap();
    assert_eq!(done.status, RequestStatus::Done);
    assert_eq!(done.completed_by, Some(admin()));
    let by_subject = s
        .requests(
            &admin(),
            &RequestFilter {
                subject: Some(DataSubject::agent("a2")),
                ..RequestFilter::default()
            },
        )
        .unwrap();
    assert!(by_subject.is_empty());

    // Completing twice, completing the unknown, and non-admins are refused.
    assert!(matches!(
        s.complete_request(&admin(), &answered.id, now),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        s.complete_request(&admin(), "nope", now),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        s.complete_request(
            &admin(),
            &day29.id,
            day29.received_at - Duration::seconds(1)
        ),
        Err(Error::InvalidInput { .. })
    ));
    for actor in [Actor::agent("a1"), Actor::supervisor("sup")] {
        assert!(matches!(
            s.log_request(&actor, &DataSubject::agent("a1"), RequestKind::Erasure, now),
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(
            s.requests(&actor, &RequestFilter::default()),
            Err(Error::PermissionDenied(_))
        ));
    }
    assert_intact(s);
}

#[test]
fn verify_detects_altered_policy_and_request_rows() {
    super::sqlite_only!("edits rows through a second SQLite connection");
    for (table, change) in [
        (
            "policy_versions",
            "UPDATE policy_versions SET requires_renewal = 0",
        ),
        (
            "privacy_requests",
            "UPDATE privacy_requests SET due_at = due_at + 86400",
        ),
        (
            "privacy_request_completions",
            "UPDATE privacy_request_completions SET completed_at = completed_at - 86400",
        ),
        (
            "privacy_request_completions",
            "DELETE FROM privacy_request_completions",
        ),
    ] {
        let f = fixture();
        let s = &f.store;
        s.publish_policy(&admin(), "2", true, t0()).unwrap();
        let r = s
            .log_request(
                &admin(),
                &DataSubject::agent("a1"),
                RequestKind::Erasure,
                t0(),
            )
            .unwrap();
        s.complete_request(&admin(), &r.id, t0() + Duration::days(2))
            .unwrap();
        assert_intact(s);
        let conn = Connection::open(&f.path).unwrap();
        conn.execute_batch(change).unwrap();
        drop(conn);
        let report = s.verify().unwrap();
        assert!(!report.intact, "{table}: {change}");
    }
}

#[test]
fn receipts_name_an_unset_controller_as_not_configured() {
    let f = fixture();
    let s = &f.store;
    let entry = grant(s, "a1", t0());
    let receipt = s.consent_receipt(&admin(), &entry.id).unwrap();
    assert_eq!(receipt["consentReceiptID"], entry.id.as_str());
    assert!(
        receipt["piiControllers"][0]["piiController"]
            .as_str()
            .unwrap()
            .contains("not configured"),
        "{receipt}"
    );
    assert_eq!(s.receipt_context().unwrap(), None);

    let mut bad = ReceiptContext::example();
    bad.controller_email = "nobody".into();
    assert!(matches!(
        s.set_receipt_context(&admin(), &bad),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        s.set_receipt_context(&Actor::supervisor("sup"), &ReceiptContext::example()),
        Err(Error::PermissionDenied(_))
    ));
    s.set_receipt_context(&admin(), &ReceiptContext::example())
        .unwrap();
    assert_eq!(
        s.receipt_context().unwrap(),
        Some(ReceiptContext::example())
    );

    let receipt = s.consent_receipt(&Actor::agent("a1"), &entry.id).unwrap();
    assert_eq!(receipt["consentReceiptID"], entry.id.as_str());
    assert_eq!(receipt["piiPrincipalId"], "a1");
    assert_eq!(receipt["iso27560"]["privacy_notice"]["version"], "1");
    assert!(matches!(
        s.consent_receipt(&Actor::agent("a2"), &entry.id),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        s.consent_receipt(&admin(), "missing"),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn display_names_are_versioned_reported_exported_and_erased_to_the_last_byte() {
    super::sqlite_only!(
        "scans the SQLite files for erased bytes (on PostgreSQL erasure reaches the disk by sealing, issue 25)"
    );
    let f = fixture();
    let s = &f.store;
    let name = "Rudi Hartono-Privacy 7c1e";
    // Admins name agents; nobody else does, and bad names change nothing.
    assert!(matches!(
        s.set_agent_name(&Actor::supervisor("sup"), "rudi", name, t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        s.set_agent_name(&admin(), "rudi", "   ", t0()),
        Err(Error::InvalidInput { .. })
    ));
    s.set_agent_name(&admin(), "rudi", "Rudi H", t0()).unwrap();
    s.set_agent_name(
        &admin(),
        "rudi",
        &format!("  {name} "),
        t0() + Duration::minutes(1),
    )
    .unwrap();
    let listed = s.agents(&admin()).unwrap();
    assert_eq!(
        listed,
        vec![crate::store::AgentEntry {
            agent: "rudi".into(),
            name: Some(name.into())
        }]
    );
    // Rectification keeps the history: both versions, who and when.
    let history = s.agent_name_history(&admin(), "rudi").unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| h.name.as_deref())
            .collect::<Vec<_>>(),
        [Some("Rudi H"), Some(name)]
    );
    // The report names the agent beside the id.
    grant(s, "rudi", t0());
    check_in(s, "rudi", t0() + Duration::minutes(2));
    let name_in_report = |at: DateTime<Utc>| {
        s.attendance_report(
            &admin(),
            &ReportQuery {
                from: t0().date_naive(),
                to: t0().date_naive(),
                agent: None,
            },
            at,
        )
        .unwrap()
        .days[0]
            .name
            .to_string()
    };
    assert_eq!(name_in_report(t0() + Duration::hours(1)), name);
    // Exported with the subject.
    let export = s
        .export_subject(&admin(), &DataSubject::agent("rudi"), t0())
        .unwrap();
    assert_eq!(export.profile["name"], name);
    assert_eq!(export.profile["name_history"].as_array().unwrap().len(), 2);
    assert_intact(s);
    s.checkpoint().unwrap();
    // Self-check: found while stored in clear; never, where the store seals.
    assert_eq!(
        !files_holding(&f.path, name.as_bytes()).is_empty(),
        !s.is_sealed(),
        "self-check"
    );

    // Erasure: every version's value and salt, to the last byte; the chain
    // still verifies and the report shows an empty name.
    let erased = s
        .erase_subject(
            &admin(),
            &DataSubject::agent("rudi"),
            t0() + Duration::hours(2),
        )
        .unwrap();
    assert!(
        erased
            .erased
            .iter()
            .any(|e| e.category == "display_name" && e.count == 2)
    );
    assert_eq!(s.agents(&admin()).unwrap()[0].name, None);
    let hits = files_holding(&f.path, name.as_bytes());
    assert!(hits.is_empty(), "name bytes survive erasure: {hits:?}");
    assert_eq!(name_in_report(t0() + Duration::hours(3)), "");
    assert_intact(s);
}
