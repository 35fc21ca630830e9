//! Privacy-policy versions, consent receipts, data-subject rights and device
//! sync through the same `FieldCheck` object the Kotlin and Swift shells
//! call.

use chrono::{DateTime, TimeZone, Utc};
use fieldcheck_core::receipt::ReceiptContext;
use fieldcheck_core::report::DayStatus;
use fieldcheck_core::{
    Actor, ConsentChange, DataSubject, EventKind, Fix, FixRequest, Permission, Reason, RequestKind,
    RequestStatus, SubjectKind,
};
use fieldcheck_ffi::{FieldCheck, FieldCheckError, FixSubmission, ReportQuery, SyncRefusal};
use serde_json::Value;
use tempfile::TempDir;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

fn open(dir: &TempDir, name: &str) -> FieldCheck {
    let fc = FieldCheck::open(dir.path().join(name).display().to_string()).unwrap();
    std::sync::Arc::into_inner(fc).unwrap()
}

fn device() -> (TempDir, FieldCheck) {
    let dir = TempDir::new().unwrap();
    let fc = open(&dir, "device.db");
    fc.import_sites(admin(), SITES.into(), at(1, 0, 0)).unwrap();
    (dir, fc)
}

fn admin() -> Actor {
    Actor::admin("admin")
}

fn agent(id: &str) -> Actor {
    Actor::agent(id)
}

fn grant(fc: &FieldCheck, who: &str, now: DateTime<Utc>) -> fieldcheck_core::ConsentEntry {
    fc.change_consent(
        agent(who),
        ConsentChange {
            subject: who.into(),
            permission: Permission::Location,
            granted: true,
            policy_version: None,
            source: None,
        },
        now,
    )
    .unwrap()
}

fn check_in(fc: &FieldCheck, who: &str, now: DateTime<Utc>) -> fieldcheck_core::AttendanceEvent {
    fc.record_fix(FixSubmission {
        actor: agent(who),
        request: FixRequest {
            agent: who.into(),
            kind: EventKind::CheckIn,
            fix: Fix {
                lat: -6.1944,
                lon: 106.8227,
                accuracy_m: 10.0,
                captured_at: now,
                is_mock: false,
            },
        },
        now,
    })
    .unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn renewal_requiring_policy_stops_check_ins_until_the_agent_grants_again() {
    let (_dir, fc) = device();
    assert!(fc.policy_versions().unwrap().is_empty());
    let first = grant(&fc, "a1", at(1, 0, 0));
    let standing = fc.consent_standing(agent("a1"), "a1".into()).unwrap();
    assert!(standing.location_authorised && !standing.renewal_required);
    assert_eq!(
        standing.location_policy_version.as_deref(),
        Some(first.policy_version.as_str())
    );

    // Only admins publish; agents read only their own standing.
    assert!(matches!(
        fc.publish_policy(agent("a1"), "2".into(), true, at(1, 1, 0)),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
    assert!(matches!(
        fc.consent_standing(agent("a2"), "a1".into()),
        Err(FieldCheckError::PermissionDenied { .. })
    ));

    let published = fc
        .publish_policy(admin(), "2".into(), true, at(1, 1, 0))
        .unwrap();
    assert_eq!(
        (published.version.as_str(), published.requires_renewal),
        ("2", true)
    );
    assert_eq!(published.published_by, admin());
    assert_eq!(fc.policy_versions().unwrap(), vec![published]);
    assert_eq!(fc.current_policy_version().unwrap(), "2");
    // Publishing a name twice is refused.
    assert!(matches!(
        fc.publish_policy(admin(), "2".into(), false, at(1, 2, 0)),
        Err(FieldCheckError::InvalidInput { field, .. }) if field == "policy_version"
    ));

    let standing = fc.consent_standing(agent("a1"), "a1".into()).unwrap();
    assert!(standing.location_granted);
    assert!(standing.renewal_required);
    assert!(!standing.location_authorised);
    assert_eq!(standing.current_policy_version, "2");

    let refused = check_in(&fc, "a1", at(2, 2, 0));
    assert!(!refused.accepted);
    assert_eq!(refused.reasons, vec![Reason::ConsentRequired]);

    let renewed = grant(&fc, "a1", at(2, 2, 5));
    assert_eq!(renewed.policy_version, "2");
    let standing = fc.consent_standing(agent("a1"), "a1".into()).unwrap();
    assert!(standing.location_authorised && !standing.renewal_required);
    let accepted = check_in(&fc, "a1", at(2, 2, 10));
    assert!(accepted.accepted, "{:?}", accepted.reasons);
}

#[test]
fn consent_receipt_is_json_named_by_the_entry_id_once_a_controller_is_set() {
    let (_dir, fc) = device();
    let entry = grant(&fc, "a1", at(1, 0, 0));
    // Before an admin sets the controller the receipt says it is not configured.
    let unset = json(&fc.consent_receipt(agent("a1"), entry.id.clone()).unwrap());
    assert!(
        unset["piiControllers"][0]["piiController"]
            .as_str()
            .unwrap()
            .contains("not configured")
    );
    assert!(fc.receipt_context().unwrap().is_none());
    assert!(matches!(
        fc.set_receipt_context(agent("a1"), ReceiptContext::example()),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
    fc.set_receipt_context(admin(), ReceiptContext::example())
        .unwrap();
    assert_eq!(
        fc.receipt_context().unwrap(),
        Some(ReceiptContext::example())
    );

    let receipt = json(&fc.consent_receipt(agent("a1"), entry.id.clone()).unwrap());
    assert_eq!(receipt["consentReceiptID"], entry.id.as_str());
    // Agents get only their own receipts; unknown entries are NotFound.
    assert!(matches!(
        fc.consent_receipt(agent("a2"), entry.id.clone()),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
    assert!(matches!(
        fc.consent_receipt(admin(), "no-such-entry".into()),
        Err(FieldCheckError::NotFound { .. })
    ));
}

#[test]
fn an_agent_exports_their_own_data_and_admins_handle_requests() {
    let (_dir, fc) = device();
    grant(&fc, "a1", at(1, 0, 0));
    let event = check_in(&fc, "a1", at(2, 2, 0));
    let me = DataSubject {
        kind: SubjectKind::Agent,
        id: "a1".into(),
    };

    let export = json(
        &fc.export_subject(agent("a1"), me.clone(), at(3, 0, 0))
            .unwrap(),
    );
    let events = export["attendance_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event_id"], event.id.as_str());
    assert_eq!(export["consent_ledger"].as_array().unwrap().len(), 1);
    assert!(matches!(
        fc.export_subject(agent("a2"), me.clone(), at(3, 0, 0)),
        Err(FieldCheckError::PermissionDenied { .. })
    ));

    // The export was logged as a completed access request.
    let logged = fc.requests(admin(), Some(me.clone()), false, None).unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].kind, logged[0].status),
        (RequestKind::Access, RequestStatus::Done)
    );
    assert!(matches!(
        fc.requests(agent("a1"), None, false, None),
        Err(FieldCheckError::PermissionDenied { .. })
    ));

    let request = fc
        .log_request(admin(), me.clone(), RequestKind::Rectification, at(3, 0, 0))
        .unwrap();
    assert_eq!(request.status, RequestStatus::Open);
    assert_eq!(request.due_at, at(3, 0, 0) + chrono::Duration::days(30));
    let overdue = fc.requests(
        admin(),
        None,
        true,
        Some(at(31, 0, 0) + chrono::Duration::days(10)),
    );
    assert_eq!(overdue.unwrap(), vec![request.clone()]);
    let done = fc
        .complete_request(admin(), request.id.clone(), at(4, 0, 0))
        .unwrap();
    assert_eq!(done.status, RequestStatus::Done);
    assert_eq!(done.completed_by, Some(admin()));
    assert!(fc.requests(admin(), None, true, None).unwrap().is_empty());

    assert!(matches!(
        fc.erase_subject(agent("a1"), me.clone(), at(5, 0, 0)),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
    let erased = json(&fc.erase_subject(admin(), me, at(5, 0, 0)).unwrap());
    assert_eq!(erased["request"]["kind"], "erasure");
    assert!(erased["kept"].is_array() && erased["erased"].is_array());
}

#[test]
fn a_device_batch_reaches_the_supervisor_store_and_is_acknowledged() {
    let (dir, phone) = device();
    let office = open(&dir, "office.db");
    assert_ne!(phone.device_id().unwrap(), office.device_id().unwrap());
    grant(&phone, "a1", at(1, 0, 0));
    let event = check_in(&phone, "a1", at(2, 2, 0));
    assert!(event.accepted);

    // The outbox holds every agent's events: not for agents.
    assert!(matches!(
        phone.sync_pending(agent("a1"), 100),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
    let before = phone.sync_status(admin()).unwrap();
    assert_eq!(before.acked_seq, 0);
    assert!(before.pending > 0);

    let batch = phone.sync_pending(admin(), 1000).unwrap();
    let parsed = json(&batch);
    assert_eq!(parsed["format"], "fieldcheck-sync");
    assert_eq!(parsed["device_id"], phone.device_id().unwrap().as_str());
    let to_seq = parsed["to_seq"].as_i64().unwrap();
    assert_eq!(to_seq, before.head_seq);

    let report = office
        .sync_import(admin(), batch.clone(), at(3, 0, 0))
        .unwrap();
    assert_eq!(report.imported, to_seq as u64);
    assert_eq!(report.attendance_folded, 1);
    assert_eq!(report.devices.len(), 1);
    assert_eq!(report.devices[0].last_seq, to_seq);
    // A replay changes nothing.
    let replay = office.sync_import(admin(), batch, at(3, 0, 0)).unwrap();
    assert_eq!(
        (replay.imported, replay.skipped_replayed),
        (0, to_seq as u64)
    );

    let ack = phone.sync_ack(admin(), to_seq).unwrap();
    assert_eq!((ack.acked_seq, ack.pending), (to_seq, 0));
    let after = phone.sync_status(admin()).unwrap();
    assert_eq!((after.acked_seq, after.pending), (to_seq, 0));
    let empty = json(&phone.sync_pending(admin(), 1000).unwrap());
    assert!(empty["events"].as_array().unwrap().is_empty());
    assert!(matches!(
        phone.sync_ack(admin(), to_seq + 1),
        Err(FieldCheckError::InvalidInput { field, .. }) if field == "up_to"
    ));
    assert!(matches!(
        phone.sync_ack(Actor::supervisor("s1"), to_seq),
        Err(FieldCheckError::PermissionDenied { .. })
    ));

    let status = office.sync_status(Actor::supervisor("s1")).unwrap();
    assert_eq!(status.imported_devices.len(), 1);
    let days = office
        .attendance_report(
            Actor::supervisor("s1"),
            ReportQuery {
                from: "2026-03-02".into(),
                to: "2026-03-02".into(),
                agent: Some("a1".into()),
            },
            at(3, 0, 0),
        )
        .unwrap()
        .days;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].date, "2026-03-02");
    assert_eq!(days[0].first_check_in, Some(at(2, 2, 0)));
    assert_eq!(days[0].status, DayStatus::Unscheduled);
}

#[test]
fn gaps_and_forged_batches_are_typed_refusals_and_store_nothing() {
    let (dir, phone) = device();
    let office = open(&dir, "office.db");
    grant(&phone, "a1", at(1, 0, 0));
    check_in(&phone, "a1", at(2, 2, 0));
    let head = phone.sync_status(admin()).unwrap().head_seq;
    assert!(head >= 2, "consent and check-in are chained");

    // A batch that skips the device's first events: a gap.
    let later = phone.sync_pending_from(admin(), 2, 1000).unwrap();
    match office.sync_import(admin(), later, at(3, 0, 0)) {
        Err(FieldCheckError::SyncRefused {
            refusal,
            device,
            seq,
            reason,
        }) => {
            assert_eq!(refusal, SyncRefusal::Gap);
            assert_eq!(device, phone.device_id().unwrap());
            assert_eq!(seq, 2);
            assert!(reason.contains("gap"), "{reason}");
        }
        other => panic!("expected a gap, got {other:?}"),
    }

    // An altered event: its content no longer matches its hash.
    let mut forged = json(&phone.sync_pending(admin(), 1000).unwrap());
    let last = forged["events"].as_array_mut().unwrap().last_mut().unwrap();
    let canonical = last["canonical"].as_str().unwrap().replace("a1", "a9");
    last["canonical"] = Value::String(canonical);
    match office.sync_import(admin(), forged.to_string(), at(3, 0, 0)) {
        Err(FieldCheckError::SyncRefused { refusal, seq, .. }) => {
            assert_eq!(refusal, SyncRefusal::Broken);
            assert_eq!(seq, head);
        }
        other => panic!("expected a broken batch, got {other:?}"),
    }
    assert!(
        office
            .sync_status(admin())
            .unwrap()
            .imported_devices
            .is_empty()
    );

    // Not a batch at all: plain invalid input.
    assert!(matches!(
        office.sync_import(admin(), "{}".into(), at(3, 0, 0)),
        Err(FieldCheckError::InvalidInput { field, .. }) if field == "batch"
    ));
    // Only admins import.
    let batch = phone.sync_pending(admin(), 1000).unwrap();
    assert!(matches!(
        office.sync_import(Actor::supervisor("s1"), batch, at(3, 0, 0)),
        Err(FieldCheckError::PermissionDenied { .. })
    ));
}
