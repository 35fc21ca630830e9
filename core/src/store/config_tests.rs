//! One system across the wire (PRODUCT.md §12.2), store to store: what a
//! server decides reaches an enrolled device and changes what it does; a
//! device speaks only for its agent; the server keeps coordinates only
//! under its own flags; and the server's verify covers what it imported.
//! The HTTP layer is tested over the real server (server/tests).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::attendance::AttendanceEvent;
use crate::audit::{FlagPurpose, FlagRequest, FlagScope};
use crate::config_feed::ChangeKind;
use crate::device::{DeviceKeystore, ServerLink, SoftwareKey};
use crate::error::{DeviceError, Error, ErrorKind, Result};
use crate::evaluation::Reason;
use crate::privacy::DataSubject;
use crate::review::Decision;
use crate::rules::Rules;
use crate::shift::{Shift, WeekdaySet, parse_hhmm, parse_time_zone};
use crate::types::{Actor, EventKind, Permission};
use crate::wire::{ConfigAnswer, EnrolRequest};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;
const BRANCH: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[112.7385,-7.2565]},
  "properties":{"id":"sby","name":"Surabaya branch","radius_m":200}}]}"#;
const HQ: (f64, f64) = (-6.1944, 106.8227);

/// Monday 2026-03-02, 08:00 in Jakarta.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

fn controller() -> crate::receipt::ReceiptContext {
    crate::receipt::ReceiptContext {
        controller_name: "PT Asuransi Contoh".into(),
        controller_contact: "Data Protection Officer".into(),
        controller_email: "dpo@asuransi.example".into(),
        controller_phone: "+62 21 555 0100".into(),
        controller_address: "Jl. Sudirman 1, Jakarta".into(),
        controller_url: None,
        jurisdiction: "ID".into(),
        policy_url: "https://asuransi.example/privacy".into(),
        language: "en".into(),
    }
}

fn open(dir: &TempDir, name: &str) -> Store {
    // Servers' stores on the engine under test; phones' always on SQLite.
    let path = if name.starts_with("server") {
        super::test_engine::location(dir.path(), name)
    } else {
        dir.path().join(name)
    };
    let options = super::test_engine::options_for(&path);
    Store::open_with(path, &options).unwrap()
}

/// A server's store and a device store enrolled with it for `ag-1`.
struct Pair {
    _dir: TempDir,
    server: Store,
    device: Store,
    key: SoftwareKey,
    token: String,
}

fn pair() -> Pair {
    let dir = TempDir::new().unwrap();
    let server = open(&dir, "server.db");
    let device = open(&dir, "device.db");
    let key = SoftwareKey::generate();
    let code = server
        .create_enrolment_code(&admin(), "ag-1", 60, t0())
        .unwrap();
    let (token, agent) = server
        .enrol_device(
            &EnrolRequest {
                code: code.code,
                device_id: device.device_id().unwrap(),
                public_key: crate::device::to_base64(&key.public_key().unwrap()),
                platform: "cli".into(),
            },
            t0(),
        )
        .unwrap();
    device
        .link_server(&ServerLink {
            server_url: "https://server.example".into(),
            agent,
            device_token: token.clone(),
            signing_key: None,
            enrolled_at: t0(),
            clock_offset_ms: 0,
            decisions_cursor: None,
            config_cursor: None,
        })
        .unwrap();
    Pair {
        _dir: dir,
        server,
        device,
        key,
        token,
    }
}

impl Pair {
    fn answer(&self, at: DateTime<Utc>) -> ConfigAnswer {
        let cursor = self.device.server_link().unwrap().unwrap().config_cursor;
        self.server
            .config_for_device("ag-1", cursor.as_deref(), at)
            .unwrap()
    }

    fn pull(&self, at: DateTime<Utc>) -> crate::config_feed::AppliedConfig {
        self.device.apply_config(&self.answer(at), at).unwrap()
    }

    /// Signs and sends the outbox (with coordinates) as one batch.
    fn push(&self, at: DateTime<Utc>) -> Result<ReceivedBatch, Error> {
        let batch = self
            .device
            .sync_pending_with(&admin(), None, 1000, true)
            .unwrap();
        let body = serde_json::to_vec(&batch).unwrap();
        let signature = crate::device::to_base64(&self.key.sign(&body).unwrap());
        let received =
            self.server
                .receive_device_batch(Some(&self.token), Some(&signature), &body, at)?;
        self.device
            .sync_ack(&admin(), received.accepted_to_seq)
            .unwrap();
        Ok(received)
    }

    fn check(&self, kind: EventKind, place: (f64, f64), at: DateTime<Utc>) -> AttendanceEventOut {
        let event = super::tests::fix_at(&self.device, "ag-1", kind, place, at).unwrap();
        AttendanceEventOut {
            accepted: event.accepted,
            reasons: event.reasons,
            retained: event.location_retained,
            id: event.id,
        }
    }
}

struct AttendanceEventOut {
    id: String,
    accepted: bool,
    reasons: Vec<Reason>,
    retained: bool,
}

fn grant(store: &Store, at: DateTime<Utc>) {
    store
        .change_consent(
            &Actor::agent("ag-1"),
            &ConsentChange {
                subject: "ag-1".into(),
                permission: Permission::Location,
                granted: true,
                policy_version: None,
                source: None,
            },
            at,
        )
        .unwrap();
}

fn flag_on(store: &Store, scope: FlagScope, at: DateTime<Utc>, until: DateTime<Utc>) -> String {
    store
        .set_flag(
            &Actor::supervisor("sup-1"),
            &FlagRequest {
                scope,
                purpose: FlagPurpose::Security,
                reason: "mock location suspected near the branch".into(),
                expires_at: until,
            },
            at,
        )
        .unwrap()
        .id
}

#[test]
fn a_server_flag_reaches_the_device_keeps_coordinates_there_and_on_the_server() {
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&p.device, t0());
    // Before the pull the device knows no site and no flag.
    assert_eq!(
        p.check(EventKind::CheckIn, HQ, t0()).reasons,
        vec![Reason::NoSites]
    );
    let flag = flag_on(
        &p.server,
        FlagScope::Agent("ag-1".into()),
        t0(),
        t0() + Duration::days(10),
    );
    let applied = p.pull(t0() + Duration::minutes(1));
    assert!(applied.reset, "the first pull is a snapshot");
    assert!(applied.kinds.contains(&ChangeKind::Sites));
    assert!(applied.kinds.contains(&ChangeKind::Flag));
    // The agent sees the flag and its reason (transparency).
    let mine = p
        .device
        .flags(
            &Actor::agent("ag-1"),
            Some("ag-1"),
            t0() + Duration::minutes(2),
        )
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, flag);
    assert_eq!(
        mine[0].reason.as_deref(),
        Some("mock location suspected near the branch")
    );

    let under = p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(5));
    assert!(under.accepted && under.retained);
    let received = p.push(t0() + Duration::minutes(6)).unwrap();
    assert_eq!(received.version, crate::sync::BATCH_VERSION);
    assert_eq!(received.report.retained_kept, 1);
    // A supervisor sees it on the server, and the view is logged.
    let seen = p
        .server
        .view_retained_location(
            &Actor::supervisor("sup-1"),
            &under.id,
            "checking the spoofing report",
            t0() + Duration::minutes(7),
        )
        .unwrap()
        .expect("kept on the server");
    assert_eq!((seen.lat, seen.lon), HQ);
    assert_eq!(
        p.server.location_views(&admin(), &under.id).unwrap().len(),
        1
    );
    assert!(p.server.verify().unwrap().intact);

    // Ended on the server at 09:00; the phone, offline, kept a fix at 09:30.
    let late = p.check(EventKind::CheckOut, HQ, t0() + Duration::minutes(90));
    assert!(late.retained);
    p.server
        .end_flag(
            &Actor::supervisor("sup-1"),
            &flag,
            t0() + Duration::minutes(60),
        )
        .unwrap();
    let applied = p.pull(t0() + Duration::minutes(95));
    assert_eq!(applied.kinds, vec![ChangeKind::FlagEnd]);
    assert!(!applied.reset);
    // What came after the end is gone from the phone; what came before stays.
    assert!(
        p.device
            .retained_location(&admin(), &late.id)
            .unwrap()
            .is_none()
    );
    assert!(
        p.device
            .retained_location(&admin(), &under.id)
            .unwrap()
            .is_some()
    );
    let next = p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(100));
    assert!(!next.retained, "an ended flag keeps nothing");
    assert!(p.device.verify().unwrap().intact);
    assert!(p.server.verify().unwrap().intact);
    // A pull that changes nothing chains nothing.
    let head = p.device.sync_status(&admin()).unwrap().head_seq;
    assert_eq!(p.pull(t0() + Duration::minutes(101)).changes, 0);
    assert_eq!(p.device.sync_status(&admin()).unwrap().head_seq, head);
}

#[test]
fn coordinates_the_server_must_not_keep_are_dropped_and_counted() {
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    p.server.import_sites(&admin(), BRANCH, t0()).unwrap();
    grant(&p.device, t0());
    // A site flag on the branch: a check-in at the HQ is not covered by it
    // on the server, though the (lying) device says it kept it under it.
    let everyone = flag_on(
        &p.server,
        FlagScope::Everyone,
        t0(),
        t0() + Duration::hours(1),
    );
    p.pull(t0());
    let first = p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(10));
    assert!(first.retained);
    // Past its end on the server (the flag expired at 09:00).
    let second = p.check(EventKind::CheckOut, HQ, t0() + Duration::minutes(50));
    assert!(second.retained);
    p.device
        .write(|tx| {
            // The device (tampered) names a flag the server does not have.
            tx.execute(
                "UPDATE retained_locations SET flag_ids = 'no-such-flag' WHERE event_id = ?1",
                [&first.id],
            )?;
            Ok(())
        })
        .unwrap();
    p.server
        .end_flag(
            &Actor::supervisor("sup-1"),
            &everyone,
            t0() + Duration::minutes(30),
        )
        .unwrap();
    let received = p.push(t0() + Duration::minutes(55)).unwrap();
    assert_eq!(received.report.retained_kept, 0);
    assert_eq!(received.report.retained_dropped, 2);
    // Already past retain_until when it arrives.
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&p.device, t0());
    p.server
        .set_rules(
            &admin(),
            Rules {
                audit_retention_days: 0,
                ..Rules::default()
            },
        )
        .unwrap();
    flag_on(
        &p.server,
        FlagScope::Everyone,
        t0(),
        t0() + Duration::hours(1),
    );
    p.pull(t0());
    assert!(
        p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(1))
            .retained
    );
    let received = p.push(t0() + Duration::hours(2)).unwrap();
    assert_eq!(
        (
            received.report.retained_kept,
            received.report.retained_dropped
        ),
        (0, 1)
    );
}

#[test]
fn retained_coordinates_must_match_the_chained_digest_and_versions_are_checked() {
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&p.device, t0());
    flag_on(
        &p.server,
        FlagScope::Everyone,
        t0(),
        t0() + Duration::hours(8),
    );
    p.pull(t0());
    p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(1));
    let batch = p
        .device
        .sync_pending_with(&admin(), None, 1000, true)
        .unwrap();
    let send = |value: serde_json::Value| {
        let body = serde_json::to_vec(&value).unwrap();
        let signature = crate::device::to_base64(&p.key.sign(&body).unwrap());
        p.server.receive_device_batch(
            Some(&p.token),
            Some(&signature),
            &body,
            t0() + Duration::minutes(2),
        )
    };
    let mut moved = serde_json::to_value(&batch).unwrap();
    let events = moved["events"].as_array_mut().unwrap();
    let with = events
        .iter_mut()
        .find(|e| e.get("retained").is_some())
        .unwrap();
    with["retained"]["lat"] = serde_json::json!(-6.2);
    let err = send(moved).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("digest"), "{err}");
    let mut v1 = serde_json::to_value(&batch).unwrap();
    v1["version"] = 1.into();
    assert!(send(v1).unwrap_err().to_string().contains("version 1"));
    let mut v9 = serde_json::to_value(&batch).unwrap();
    v9["version"] = 9.into();
    assert!(send(v9).unwrap_err().to_string().contains("version 9"));
    assert_eq!(
        p.server
            .sync_status(&admin())
            .unwrap()
            .imported_devices
            .len(),
        0,
        "nothing stored"
    );
    // A version 1 batch (an older device) still imports.
    let plain = p.device.sync_pending(&admin(), 1000).unwrap();
    let mut v1 = serde_json::to_value(&plain).unwrap();
    v1["version"] = 1.into();
    let received = send(v1).unwrap();
    assert_eq!(received.version, 1);
    assert_eq!(received.report.imported, plain.events.len() as u64);
}

#[test]
fn sites_shifts_rules_policy_and_restriction_flow_down_and_change_verdicts() {
    let p = pair();
    grant(&p.device, t0());
    p.pull(t0());
    // A site imported on the server: accepted only after the pull.
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    assert!(!p.check(EventKind::CheckIn, HQ, t0()).accepted);
    let applied = p.pull(t0() + Duration::minutes(1));
    assert_eq!(applied.kinds, vec![ChangeKind::Sites]);
    assert!(
        p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(2))
            .accepted
    );

    // A shift in Jakarta from 07:30 and a grace of 5 minutes: both sides
    // count the 08:02 check-in as 27 minutes late.
    let tz = parse_time_zone("Asia/Jakarta").unwrap();
    p.server
        .set_shift(
            &admin(),
            "ag-1",
            &Shift::new(
                parse_hhmm("start", "07:30").unwrap(),
                parse_hhmm("end", "16:00").unwrap(),
                WeekdaySet::parse("mon-fri").unwrap(),
                tz,
            )
            .unwrap(),
            t0(),
        )
        .unwrap();
    p.server
        .set_rules(
            &admin(),
            Rules {
                late_grace_min: 5,
                ..Rules::default()
            },
        )
        .unwrap();
    let applied = p.pull(t0() + Duration::minutes(3));
    assert_eq!(applied.kinds, vec![ChangeKind::Rules, ChangeKind::Shift]);
    assert_eq!(p.device.rules().late_grace_min, 5);
    p.push(t0() + Duration::minutes(4)).unwrap();
    let late = |store: &Store| {
        store
            .attendance_report(
                &admin(),
                &ReportQuery {
                    from: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    to: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    agent: Some("ag-1".into()),
                },
                t0() + Duration::hours(12),
            )
            .unwrap()
            .days[0]
            .minutes_late
    };
    assert_eq!(late(&p.device), Some(27));
    assert_eq!(late(&p.server), late(&p.device));

    // A policy requiring renewal: consent_required until the agent grants again.
    p.server
        .publish_policy(&admin(), "2026-03", true, t0() + Duration::minutes(5))
        .unwrap();
    let applied = p.pull(t0() + Duration::minutes(6));
    assert!(applied.consent_renewal_required);
    assert_eq!(
        p.check(EventKind::CheckOut, HQ, t0() + Duration::minutes(7))
            .reasons,
        vec![Reason::ConsentRequired]
    );
    grant(&p.device, t0() + Duration::minutes(8));
    assert!(
        p.check(EventKind::CheckOut, HQ, t0() + Duration::minutes(9))
            .accepted
    );

    // A restriction: refused `restricted` until lifted.
    p.server
        .restrict(
            &admin(),
            &DataSubject::agent("ag-1"),
            true,
            t0() + Duration::minutes(10),
        )
        .unwrap();
    assert!(p.pull(t0() + Duration::minutes(11)).restricted);
    assert_eq!(
        p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(12))
            .reasons,
        vec![Reason::Restricted]
    );
    p.server
        .restrict(
            &admin(),
            &DataSubject::agent("ag-1"),
            false,
            t0() + Duration::minutes(13),
        )
        .unwrap();
    assert!(!p.pull(t0() + Duration::minutes(14)).restricted);
    assert!(
        p.check(EventKind::CheckIn, HQ, t0() + Duration::minutes(15))
            .accepted
    );
    assert!(p.device.verify().unwrap().intact);
    p.push(t0() + Duration::minutes(16)).unwrap();
    assert!(p.server.verify().unwrap().intact);
}

#[test]
fn an_enrolled_store_leaves_the_servers_configuration_to_the_server() {
    let p = pair();
    let named = |e: Error| {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("https://server.example"), "{e}");
    };
    named(p.device.import_sites(&admin(), SITES, t0()).unwrap_err());
    named(p.device.set_rules(&admin(), Rules::default()).unwrap_err());
    named(
        p.device
            .set_flag(
                &admin(),
                &FlagRequest {
                    scope: FlagScope::Everyone,
                    purpose: FlagPurpose::Audit,
                    reason: "x".into(),
                    expires_at: t0() + Duration::days(1),
                },
                t0(),
            )
            .unwrap_err(),
    );
    named(
        p.device
            .publish_policy(&admin(), "v2", true, t0())
            .unwrap_err(),
    );
    named(
        p.device
            .restrict(&admin(), &DataSubject::agent("ag-1"), true, t0())
            .unwrap_err(),
    );
    named(
        p.device
            .set_shift(
                &admin(),
                "ag-1",
                &Shift::new(
                    parse_hhmm("start", "08:00").unwrap(),
                    parse_hhmm("end", "17:00").unwrap(),
                    WeekdaySet::parse("mon-fri").unwrap(),
                    parse_time_zone("Asia/Jakarta").unwrap(),
                )
                .unwrap(),
                t0(),
            )
            .unwrap_err(),
    );
    named(
        p.device
            .set_receipt_context(&admin(), &controller())
            .unwrap_err(),
    );
    assert_eq!(p.device.sync_status(&admin()).unwrap().head_seq, 0);
}

#[test]
fn an_enrolled_store_refuses_to_record_what_its_server_would_refuse() {
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    p.pull(t0());
    for agent in ["ag-1", "ag-2"] {
        p.device
            .change_consent(
                &admin(),
                &ConsentChange {
                    subject: agent.into(),
                    permission: Permission::Location,
                    granted: true,
                    policy_version: None,
                    source: None,
                },
                t0(),
            )
            .map(|_| ())
            .unwrap_or_else(|e| {
                assert_eq!((agent, e.kind()), ("ag-2", ErrorKind::PermissionDenied))
            });
    }
    let denied = |result: Result<AttendanceEvent>| {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    };
    denied(super::tests::fix_at(
        &p.device,
        "ag-2",
        EventKind::CheckIn,
        HQ,
        t0(),
    ));
    let own = super::tests::fix_at(&p.device, "ag-1", EventKind::CheckIn, HQ, t0()).unwrap();
    let e = p
        .device
        .review(
            &Actor::supervisor("sup"),
            &own.id,
            Decision::Approved,
            "ok",
            t0(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let head = p.device.sync_status(&admin()).unwrap().head_seq;
    // Config applied + consent + the own check-in: nothing refused was stored.
    assert_eq!(head, 3);
    p.push(t0()).unwrap();
}

/// Events recorded on the device's store as if it were not enrolled (an
/// old build, or a tampered one), then pushed.
fn unbound<T>(store: &Store, f: impl FnOnce(&Store) -> T) -> T {
    let link = store.server_link().unwrap().unwrap();
    store
        .write(|tx| {
            tx.execute("DELETE FROM server_link", [])?;
            Ok(())
        })
        .unwrap();
    let out = f(store);
    store.link_server(&link).unwrap();
    out
}

#[test]
fn the_server_refuses_a_whole_batch_holding_what_the_device_may_not_send() {
    let new_lead = |agent: &str| crate::leads::NewLead {
        agent: agent.into(),
        customer_name: "Budi".into(),
        phone: None,
        email: None,
        product: None,
        source: None,
        note: None,
    };
    type Record = Box<dyn Fn(&Store)>;
    let cases: Vec<(&str, Record)> = vec![
        (
            "another agent's attendance",
            Box::new(|s| {
                super::tests::fix_at(s, "ag-2", EventKind::CheckIn, HQ, t0()).unwrap();
            }),
        ),
        (
            "another agent's consent",
            Box::new(|s| {
                s.change_consent(
                    &admin(),
                    &ConsentChange {
                        subject: "ag-2".into(),
                        permission: Permission::Push,
                        granted: true,
                        policy_version: None,
                        source: None,
                    },
                    t0(),
                )
                .unwrap();
            }),
        ),
        (
            "another agent's lead",
            Box::new(move |s| {
                s.add_lead(&admin(), &new_lead("ag-2"), t0()).unwrap();
            }),
        ),
        (
            "a review made on the phone",
            Box::new(|s| {
                let own = super::tests::fix_at(s, "ag-1", EventKind::CheckIn, HQ, t0()).unwrap();
                s.review(
                    &Actor::supervisor("me"),
                    &own.id,
                    Decision::Approved,
                    "fine",
                    t0(),
                )
                .unwrap();
            }),
        ),
        (
            "a flag made on the phone",
            Box::new(|s| {
                flag_on(
                    s,
                    FlagScope::Agent("ag-1".into()),
                    t0(),
                    t0() + Duration::days(1),
                );
            }),
        ),
        (
            "a policy published on the phone",
            Box::new(|s| {
                s.publish_policy(&admin(), "mine", false, t0()).unwrap();
            }),
        ),
    ];
    for (what, make) in cases {
        let p = pair();
        p.server.import_sites(&admin(), SITES, t0()).unwrap();
        grant(&p.device, t0());
        p.pull(t0());
        p.push(t0()).unwrap();
        let before = p.server.sync_status(&admin()).unwrap().imported_devices[0].clone();
        unbound(&p.device, |s| {
            super::tests::fix_at(s, "ag-1", EventKind::CheckIn, HQ, t0()).unwrap();
            make(s);
        });
        match p.push(t0() + Duration::minutes(1)) {
            Err(Error::Device(DeviceError::AgentMismatch(_))) => {}
            other => panic!("{what}: {other:?}"),
        }
        let after = p.server.sync_status(&admin()).unwrap().imported_devices[0].clone();
        assert_eq!(before, after, "{what}: nothing stored");
    }
}

#[test]
fn feeds_link_and_a_broken_answer_applies_nothing() {
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    p.pull(t0());
    p.server.import_sites(&admin(), BRANCH, t0()).unwrap();
    flag_on(
        &p.server,
        FlagScope::Everyone,
        t0(),
        t0() + Duration::days(1),
    );
    let good = p.answer(t0());
    assert!(!good.snapshot);
    assert_eq!(good.global.changes.len(), 2);
    let state = |s: &Store| {
        (
            s.sites().unwrap().len(),
            s.sync_status(&admin()).unwrap().head_seq,
        )
    };
    let before = state(&p.device);
    let mut altered = good.clone();
    let body = altered.global.changes[0].body.take().unwrap();
    altered.global.changes[0].body = Some(body.replace("Surabaya", "Sidoarjo"));
    let mut dropped_last = good.clone();
    dropped_last.global.changes.pop();
    let mut reordered = good.clone();
    reordered.global.changes.reverse();
    for (what, bad) in [
        ("altered", altered),
        ("last dropped", dropped_last),
        ("reordered", reordered),
    ] {
        let e = p.device.apply_config(&bad, t0()).unwrap_err();
        assert!(matches!(e, Error::ConfigFeed(_)), "{what}: {e}");
        assert_eq!(state(&p.device), before, "{what}: nothing applied");
    }
    p.device.apply_config(&good, t0()).unwrap();
    assert_eq!(p.device.sites().unwrap().len(), 2);
}

#[test]
fn a_server_restored_from_an_older_backup_answers_with_a_snapshot() {
    super::sqlite_only!("restores a backup by copying the SQLite file");
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    let backup = p._dir.path().join("backup.db");
    p.server.checkpoint().unwrap();
    std::fs::copy(p._dir.path().join("server.db"), &backup).unwrap();
    p.server.import_sites(&admin(), BRANCH, t0()).unwrap();
    p.pull(t0());
    assert_eq!(p.device.sites().unwrap().len(), 2);
    // The restored server never gave the device's cursor.
    let restored = Store::open_with(&backup, &super::test_engine::options_for(&backup)).unwrap();
    let cursor = p.device.server_link().unwrap().unwrap().config_cursor;
    let answer = restored
        .config_for_device("ag-1", cursor.as_deref(), t0())
        .unwrap();
    assert!(answer.snapshot);
    let applied = p.device.apply_config(&answer, t0()).unwrap();
    assert!(applied.reset);
    assert_eq!(p.device.sites().unwrap().len(), 1);
    assert!(p.device.verify().unwrap().intact);
    // The same snapshot again changes nothing and chains nothing.
    let head = p.device.sync_status(&admin()).unwrap().head_seq;
    let again = p.device.apply_config(&answer, t0()).unwrap();
    assert_eq!((again.changes, again.reset), (0, false));
    assert_eq!(p.device.sync_status(&admin()).unwrap().head_seq, head);
}

#[test]
fn verify_names_any_edit_of_imported_data_and_of_the_configuration() {
    super::sqlite_only!("edits rows of a copied SQLite file through a second connection");
    let p = pair();
    p.server.import_sites(&admin(), SITES, t0()).unwrap();
    p.server
        .set_shift(
            &admin(),
            "ag-1",
            &Shift::new(
                parse_hhmm("start", "08:00").unwrap(),
                parse_hhmm("end", "17:00").unwrap(),
                WeekdaySet::parse("mon-fri").unwrap(),
                parse_time_zone("Asia/Jakarta").unwrap(),
            )
            .unwrap(),
            t0(),
        )
        .unwrap();
    let flag = flag_on(
        &p.server,
        FlagScope::Agent("ag-1".into()),
        t0(),
        t0() + Duration::days(3),
    );
    grant(&p.device, t0());
    p.pull(t0());
    p.check(EventKind::CheckIn, HQ, t0());
    p.check(
        EventKind::CheckIn,
        (HQ.0 + 0.05, HQ.1),
        t0() + Duration::minutes(5),
    );
    p.check(EventKind::CheckOut, HQ, t0() + Duration::hours(8));
    p.device
        .add_lead(
            &admin(),
            &crate::leads::NewLead {
                agent: "ag-1".into(),
                customer_name: "Siti".into(),
                phone: None,
                email: None,
                product: Some("life".into()),
                source: None,
                note: None,
            },
            t0(),
        )
        .unwrap();
    p.push(t0() + Duration::hours(9)).unwrap();
    let report = p.server.verify().unwrap();
    assert!(report.intact, "{report:?}");
    assert!(report.imported_events_checked >= 6);
    let path = p._dir.path().join("server.db");
    // In clear, or (a sealing store) the sealed value's last bytes.
    let coordinates_edit = if p.server.is_sealed() {
        "UPDATE sync_retained_locations
         SET sealed = CAST(substr(CAST(sealed AS TEXT), 1, length(sealed) - 4) || 'AAAA' AS BLOB)"
    } else {
        "UPDATE sync_retained_locations SET lat = lat + 0.001"
    };
    let edits: &[(&str, &str, &str)] = &[
        (
            "verdict",
            "UPDATE sync_attendance SET accepted = 1 - accepted
             WHERE event_id = (SELECT MIN(event_id) FROM sync_attendance)",
            "sync_attendance",
        ),
        (
            "reasons",
            "UPDATE sync_attendance SET reasons = 'mock_location' WHERE accepted = 0",
            "sync_attendance",
        ),
        (
            "site",
            "UPDATE sync_attendance SET site_id = 'elsewhere'",
            "sync_attendance",
        ),
        (
            "kind",
            "UPDATE sync_attendance SET kind = 'check_out' WHERE kind = 'check_in'",
            "sync_attendance",
        ),
        (
            "agent",
            "UPDATE sync_attendance SET agent = 'ag-9'",
            "sync_attendance",
        ),
        (
            "time",
            "UPDATE sync_attendance SET captured_at = captured_at + 60",
            "sync_attendance",
        ),
        (
            "derived row deleted",
            "DELETE FROM sync_attendance WHERE accepted = 0",
            "sync_attendance",
        ),
        (
            "event content",
            "UPDATE sync_events SET canonical = replace(canonical, '\"accepted\":false', '\"accepted\":true')",
            "device",
        ),
        (
            "event deleted",
            "DELETE FROM sync_events WHERE seq = 3",
            "device",
        ),
        (
            "last event deleted",
            "DELETE FROM sync_events WHERE seq = (SELECT MAX(seq) FROM sync_events)",
            "device",
        ),
        ("lead", "UPDATE sync_leads SET status = 'won'", "sync_leads"),
        ("subjects", "DELETE FROM sync_subjects", "sync_subjects"),
        ("coordinates", coordinates_edit, "sync_retained_locations"),
        (
            "day summary",
            "UPDATE attendance_months SET days = zeroblob(length(days))",
            "attendance_months",
        ),
        (
            "day summary deleted",
            "DELETE FROM attendance_months",
            "attendance_months",
        ),
        (
            "site behind the feed's back",
            "UPDATE sites SET feature = replace(feature, '150', '900')",
            "sites",
        ),
        (
            "shift behind the feed's back",
            "UPDATE shift_versions SET start_min = 600",
            "shifts",
        ),
        (
            "rules behind the feed's back",
            "INSERT INTO meta (key, value) VALUES ('rules', '{\"late_grace_min\": 90}')",
            "meta",
        ),
        (
            "feed body",
            "UPDATE config_feed SET body = replace(body, 'Jakarta', 'Bandung')",
            "config_feed",
        ),
    ];
    for (what, sql, names) in edits {
        let copy = p._dir.path().join("tampered.db");
        p.server.checkpoint().unwrap();
        std::fs::copy(&path, &copy).unwrap();
        let _ = std::fs::remove_file(copy.with_extension("db-wal"));
        {
            let conn = rusqlite::Connection::open(&copy).unwrap();
            let changed = conn.execute(sql, []).unwrap();
            assert!(changed > 0, "{what}: the edit changed nothing");
        }
        let report = Store::open_with(&copy, &super::test_engine::options_for(&copy))
            .unwrap()
            .verify()
            .unwrap();
        let broken = report
            .first_broken
            .unwrap_or_else(|| panic!("{what}: verify found nothing"));
        let text = broken.to_string();
        assert!(
            text.contains(names) || broken.table.as_deref() == Some(*names),
            "{what}: {text}"
        );
        std::fs::remove_file(&copy).unwrap();
    }
    let _ = flag;
    // Purge and erasure keep it verifiable.
    p.server
        .erase_subject(
            &admin(),
            &DataSubject::agent("ag-1"),
            t0() + Duration::days(1),
        )
        .unwrap();
    p.server
        .purge(&admin(), t0() + Duration::days(3 * 365))
        .unwrap();
    let report = p.server.verify().unwrap();
    assert!(report.intact, "{report:?}");
}

#[test]
fn a_v10_store_gets_feeds_for_what_it_holds_and_still_verifies() {
    super::clear_only!("rewinds a store to v10, before sealing existed");
    let dir = TempDir::new().unwrap();
    let store = open(&dir, "old.db");
    store.import_sites(&admin(), SITES, t0()).unwrap();
    store
        .set_rules(
            &admin(),
            Rules {
                late_grace_min: 3,
                ..Rules::default()
            },
        )
        .unwrap();
    flag_on(
        &store,
        FlagScope::Agent("ag-1".into()),
        t0(),
        t0() + Duration::days(2),
    );
    store
        .restrict(&admin(), &DataSubject::agent("ag-1"), true, t0())
        .unwrap();
    store.publish_policy(&admin(), "v2", false, t0()).unwrap();
    store.set_receipt_context(&admin(), &controller()).unwrap();
    drop(store);
    {
        let conn = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
        conn.execute_batch(super::schema::UNDO_V13).unwrap();
        conn.execute_batch(super::schema::UNDO_V12).unwrap();
        conn.execute_batch(super::schema::UNDO_V11).unwrap();
    }
    let upgraded = open(&dir, "old.db");
    let report = upgraded.verify().unwrap();
    assert!(report.intact, "{report:?}");
    let answer = upgraded.config_for_device("ag-1", None, t0()).unwrap();
    let kinds = |feed: &crate::wire::FeedAnswer| {
        feed.changes
            .iter()
            .map(|c| c.kind.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&answer.global),
        ["sites", "rules", "controller", "policy"]
    );
    assert_eq!(kinds(&answer.agent), ["flag", "restriction"]);
}
