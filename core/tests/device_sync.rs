//! The device side of the wire (PRODUCT.md §12.2) against a server store,
//! through an in-process loopback transport that can fail on purpose:
//! enrolment codes are one-time and expire, batches are signed and checked,
//! replays change nothing, a server that lost events gets them resent, the
//! retry policy keeps to its budget, decisions reach the device, and a
//! configuration answer changed on the way applies nothing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use fieldcheck_core::device::{DeviceCredential, DeviceKeystore, SoftwareKey, to_base64};
use fieldcheck_core::sync_client::{
    Method, SyncClient, SyncClock, Transport, WireRequest, WireResponse,
};
use fieldcheck_core::wire::{
    BatchAnswer, ConfigAnswer, DecisionsAnswer, EnrolAnswer, EnrolRequest, ProblemType, problem_for,
};
use fieldcheck_core::{
    Actor, ConsentChange, Decision, DeviceError, Error, EventKind, Fix, FixRequest, Permission,
    Platform, Store,
};
use tempfile::TempDir;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

/// A fault the loopback answers with instead of serving the request.
#[derive(Debug, Clone)]
enum Fault {
    Network,
    Status(u16, Option<u64>),
    /// Serve the request, then drop the answer (the server committed).
    LoseAnswer,
    /// Serve the next configuration request and change its answer on the
    /// way (other requests pass untouched).
    Config(fn(&mut ConfigAnswer)),
}

/// Routes requests to a server store as `fieldcheck-server` does, through
/// the core's own `problem_for` mapping.
struct Loopback<'a> {
    server: &'a Store,
    faults: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<(Method, String)>>,
}

impl<'a> Loopback<'a> {
    fn new(server: &'a Store) -> Self {
        Loopback {
            server,
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn fail_next(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults.iter().cloned());
    }

    fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn serve(&self, request: &WireRequest) -> WireResponse {
        let now = t0();
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let token =
            header("Authorization").and_then(|v| v.strip_prefix("Bearer ").map(String::from));
        let path = request.url.trim_start_matches("http://server");
        let answer = |result: Result<Vec<u8>, Error>, malformed| match result {
            Ok(body) => WireResponse {
                status: 200,
                retry_after_s: None,
                body,
            },
            Err(e) => {
                let problem = problem_for(&e, malformed).expect("a refusal, not a server failure");
                WireResponse {
                    status: problem.status,
                    retry_after_s: None,
                    body: serde_json::to_vec(&problem).unwrap(),
                }
            }
        };
        if path == "/api/v1/devices/enrol" {
            let result = serde_json::from_slice::<EnrolRequest>(&request.body)
                .map_err(Error::from)
                .and_then(|r| self.server.enrol_device(&r, now))
                .map(|(device_token, agent)| {
                    serde_json::to_vec(&EnrolAnswer {
                        device_token,
                        agent,
                        server_time: "2026-03-02T01:00:05Z".into(),
                    })
                    .unwrap()
                });
            answer(result, ProblemType::MalformedRequest)
        } else if path == "/api/v1/sync/batches" {
            let result = self
                .server
                .receive_device_batch(
                    token.as_deref(),
                    header("Fieldcheck-Signature").as_deref(),
                    &request.body,
                    now,
                )
                .map(|r| {
                    serde_json::to_vec(&BatchAnswer {
                        device_id: r.device_id,
                        accepted_to_seq: r.accepted_to_seq,
                        imported: r.report.imported,
                        duplicates: r.report.skipped_replayed,
                        retained_dropped: Some(r.report.retained_dropped),
                        server_time: "2026-03-02T01:00:05Z".into(),
                    })
                    .unwrap()
                });
            answer(result, ProblemType::MalformedBatch)
        } else if let Some(query) = path.strip_prefix("/api/v1/sync/decisions") {
            let after = query.strip_prefix("?after=");
            let result = self
                .server
                .authorised_device(token.as_deref())
                .and_then(|d| self.server.decisions_after(&d.agent, after, 2))
                .map(|(decisions, cursor)| {
                    serde_json::to_vec(&DecisionsAnswer {
                        decisions,
                        cursor,
                        server_time: "2026-03-02T01:00:05Z".into(),
                    })
                    .unwrap()
                });
            answer(result, ProblemType::MalformedRequest)
        } else if let Some(query) = path.strip_prefix("/api/v1/sync/config") {
            let after = query.strip_prefix("?after=").map(percent_decode);
            let result = self
                .server
                .authorised_device(token.as_deref())
                .and_then(|d| {
                    self.server
                        .config_for_device(&d.agent, after.as_deref(), now)
                })
                .map(|answer| serde_json::to_vec(&answer).unwrap());
            answer(result, ProblemType::MalformedRequest)
        } else {
            WireResponse {
                status: 404,
                retry_after_s: None,
                body: Vec::new(),
            }
        }
    }
}

impl Transport for Loopback<'_> {
    fn exchange(&self, request: &WireRequest) -> Result<WireResponse, String> {
        self.requests
            .lock()
            .unwrap()
            .push((request.method, request.url.clone()));
        let mut faults = self.faults.lock().unwrap();
        if matches!(faults.front(), Some(Fault::Config(_))) && !request.url.contains("/sync/config")
        {
            drop(faults);
            return Ok(self.serve(request));
        }
        let fault = faults.pop_front();
        drop(faults);
        match fault {
            None => Ok(self.serve(request)),
            Some(Fault::Config(mangle)) => {
                let mut served = self.serve(request);
                let mut answer: ConfigAnswer = serde_json::from_slice(&served.body).unwrap();
                mangle(&mut answer);
                served.body = serde_json::to_vec(&answer).unwrap();
                Ok(served)
            }
            Some(Fault::Network) => Err("connection refused".into()),
            Some(Fault::Status(status, retry_after_s)) => Ok(WireResponse {
                status,
                retry_after_s,
                body: Vec::new(),
            }),
            Some(Fault::LoseAnswer) => {
                self.serve(request);
                Err("connection reset".into())
            }
        }
    }
}

/// A clock that advances only by the pauses asked of it.
struct TestClock {
    now: Mutex<DateTime<Utc>>,
    pauses: Mutex<Vec<Duration>>,
}

impl TestClock {
    fn new() -> Self {
        TestClock {
            now: Mutex::new(t0()),
            pauses: Mutex::new(Vec::new()),
        }
    }
    fn pauses(&self) -> Vec<Duration> {
        self.pauses.lock().unwrap().clone()
    }
}

impl SyncClock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
    fn pause(&self, d: Duration) {
        *self.now.lock().unwrap() += chrono::Duration::from_std(d).unwrap();
        self.pauses.lock().unwrap().push(d);
    }
}

struct Stores {
    _dir: TempDir,
    server: Store,
    device: Store,
}

fn stores() -> Stores {
    let dir = TempDir::new().unwrap();
    let server = Store::open(dir.path().join("server.db")).unwrap();
    let device = Store::open(dir.path().join("device.db")).unwrap();
    device.import_sites(&admin(), SITES, t0()).unwrap();
    device
        .change_consent(
            &Actor::agent("a1"),
            &ConsentChange {
                subject: "a1".into(),
                permission: Permission::Location,
                granted: true,
                policy_version: None,
                source: None,
            },
            t0(),
        )
        .unwrap();
    Stores {
        _dir: dir,
        server,
        device,
    }
}

fn check_in(store: &Store, minutes: i64) -> String {
    let at = t0() + chrono::Duration::minutes(minutes);
    store
        .record_fix(
            &Actor::agent("a1"),
            &FixRequest {
                agent: "a1".into(),
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
        .id
}

fn enrol(s: &Stores, transport: &Loopback<'_>, clock: &TestClock, key: &SoftwareKey) {
    let code = s
        .server
        .create_enrolment_code(&admin(), "a1", 60, t0())
        .unwrap();
    SyncClient::new(&s.device, transport, clock)
        .enrol("http://server", &code.code, Platform::Cli, key, None, true)
        .unwrap();
}

#[test]
fn a_code_enrols_once_and_only_before_it_expires() {
    let s = stores();
    let key = SoftwareKey::generate();
    let request = |code: &str, device: &str| EnrolRequest {
        code: code.into(),
        device_id: device.into(),
        public_key: to_base64(&key.public_key().unwrap()),
        platform: "android".into(),
    };
    let code = s
        .server
        .create_enrolment_code(&admin(), "a1", 10, t0())
        .unwrap();
    let lower = code.code.to_lowercase();
    let (token, agent) = s.server.enrol_device(&request(&lower, "d1"), t0()).unwrap();
    assert_eq!(agent, "a1");
    assert_eq!(
        s.server.authorised_device(Some(&token)).unwrap().device_id,
        "d1"
    );
    let again = s.server.enrol_device(&request(&code.code, "d2"), t0());
    assert!(
        matches!(again, Err(Error::Device(DeviceError::BadCode))),
        "{again:?}"
    );

    let late = s
        .server
        .create_enrolment_code(&admin(), "a1", 10, t0())
        .unwrap();
    let expired = s.server.enrol_device(
        &request(&late.code, "d3"),
        t0() + chrono::Duration::minutes(10),
    );
    assert!(matches!(expired, Err(Error::Device(DeviceError::BadCode))));
    // The refused attempt spent nothing: the code still works in time.
    s.server
        .enrol_device(
            &request(&late.code, "d3"),
            t0() + chrono::Duration::minutes(9),
        )
        .unwrap();

    let devices = s.server.enrolled_devices(&admin()).unwrap();
    assert_eq!(
        devices
            .iter()
            .map(|d| d.device_id.as_str())
            .collect::<Vec<_>>(),
        ["d1", "d3"]
    );
    assert!(matches!(
        s.server
            .create_enrolment_code(&Actor::supervisor("s1"), "a1", 10, t0()),
        Err(Error::PermissionDenied(_))
    ));
    let bad_key = EnrolRequest {
        public_key: to_base64(b"not a key"),
        ..request(
            &s.server
                .create_enrolment_code(&admin(), "a1", 10, t0())
                .unwrap()
                .code,
            "d4",
        )
    };
    assert!(matches!(
        s.server.enrol_device(&bad_key, t0()),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn a_push_delivers_the_outbox_signed_and_a_replay_changes_nothing() {
    let s = stores();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    for m in 0..5 {
        check_in(&s.device, m);
    }
    let client = SyncClient::new(&s.device, &transport, &clock);
    let report = client.push(&key, 2).unwrap();
    // Consent entry + 5 check-ins, two events a batch.
    assert_eq!(
        (
            report.batches,
            report.events,
            report.acked_seq,
            report.pending
        ),
        (3, 6, 6, 0)
    );
    assert_eq!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        5
    );
    let device_id = s.device.device_id().unwrap();
    assert!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .iter()
            .all(|e| e.device_id.as_deref() == Some(device_id.as_str()))
    );
    let listed = s.server.enrolled_devices(&admin()).unwrap();
    assert_eq!(listed[0].acked_seq, 6);
    assert!(listed[0].last_sync_at.is_some());

    // The same bytes again (a lost answer): 200, nothing new.
    let link = s.device.server_link().unwrap().unwrap();
    let batch = s.device.sync_pending_from(&admin(), Some(1), 100).unwrap();
    let body = serde_json::to_vec(&batch).unwrap();
    let signature = to_base64(&key.sign(&body).unwrap());
    let replay = s
        .server
        .receive_device_batch(Some(&link.device_token), Some(&signature), &body, t0())
        .unwrap();
    assert_eq!(
        (replay.report.imported, replay.report.skipped_replayed),
        (0, 6)
    );
    assert_eq!(replay.accepted_to_seq, 6);
    assert_eq!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn the_server_refuses_forged_foreign_and_revoked_batches_and_stores_nothing() {
    let s = stores();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    check_in(&s.device, 0);
    let link = s.device.server_link().unwrap().unwrap();
    let token = link.device_token.as_str();
    let batch = s.device.sync_pending(&admin(), 100).unwrap();
    let body = serde_json::to_vec(&batch).unwrap();
    let signed = |bytes: &[u8]| to_base64(&key.sign(bytes).unwrap());
    let problem = |received: Result<_, Error>| {
        let e = received.unwrap_err();
        ProblemType::from_uri(
            &problem_for(&e, ProblemType::MalformedBatch)
                .unwrap()
                .problem_type,
        )
        .unwrap()
    };
    let refusal = |token: Option<&str>, signature: Option<&str>, body: &[u8]| {
        problem(s.server.receive_device_batch(token, signature, body, t0()))
    };

    assert_eq!(
        refusal(None, Some(&signed(&body)), &body),
        ProblemType::UnknownDevice
    );
    assert_eq!(
        refusal(Some("nope"), Some(&signed(&body)), &body),
        ProblemType::UnknownDevice
    );
    assert_eq!(refusal(Some(token), None, &body), ProblemType::BadSignature);
    // Signed by another key, or the body altered after signing.
    let other = SoftwareKey::generate();
    assert_eq!(
        refusal(
            Some(token),
            Some(&to_base64(&other.sign(&body).unwrap())),
            &body
        ),
        ProblemType::BadSignature
    );
    let mut altered = body.clone();
    let at = altered.iter().position(|b| *b == b'1').unwrap();
    altered[at] = b'2';
    assert_eq!(
        refusal(Some(token), Some(&signed(&body)), &altered),
        ProblemType::BadSignature
    );
    // Validly signed, but not a batch; or another device's batch.
    assert_eq!(
        refusal(Some(token), Some(&signed(b"{}")), b"{}"),
        ProblemType::MalformedBatch
    );
    let mut foreign = batch.clone();
    foreign.device_id = "someone-else".into();
    let foreign = serde_json::to_vec(&foreign).unwrap();
    assert_eq!(
        refusal(Some(token), Some(&signed(&foreign)), &foreign),
        ProblemType::DeviceMismatch
    );
    // A credential looked up before the import (as the server does, for
    // the request's rate) is checked again against the token inside it.
    let looked_up = s.server.authorised_device(Some(token)).unwrap();
    let refused_for = |credential: DeviceCredential, signature: &str, body: &[u8]| {
        problem(
            s.server
                .receive_batch_of(credential, Some(token), Some(signature), body, t0()),
        )
    };
    let mut not_the_tokens = looked_up.clone();
    not_the_tokens.device_id = "someone-else".into();
    assert_eq!(
        refused_for(not_the_tokens, &signed(&foreign), &foreign),
        ProblemType::DeviceMismatch
    );
    // Nor may it carry another key than the token's device's (a body
    // signed by that key), or another agent.
    let mut another_key = looked_up.clone();
    another_key.public_key = other.public_key().unwrap();
    let by_other = to_base64(&other.sign(&body).unwrap());
    assert_eq!(
        refused_for(another_key, &by_other, &body),
        ProblemType::BadSignature
    );
    let mut another_agent = looked_up.clone();
    another_agent.agent = "someone-else".into();
    assert_eq!(
        refused_for(another_agent, &signed(&body), &body),
        ProblemType::BadSignature
    );
    // A batch that skips events: a gap naming where to resume.
    let later = s.device.sync_pending_from(&admin(), Some(2), 100).unwrap();
    let later = serde_json::to_vec(&later).unwrap();
    let e = s
        .server
        .receive_device_batch(Some(token), Some(&signed(&later)), &later, t0())
        .unwrap_err();
    let problem = problem_for(&e, ProblemType::MalformedBatch).unwrap();
    assert_eq!(problem.problem_type, "/problems/sequence-gap");
    assert_eq!((problem.status, problem.expected_from_seq), (409, Some(1)));
    assert!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .is_empty()
    );

    s.server
        .revoke_device(&admin(), &s.device.device_id().unwrap(), t0())
        .unwrap();
    assert_eq!(
        refusal(Some(token), Some(&signed(&body)), &body),
        ProblemType::RevokedDevice
    );
    // Looked up before the revocation, imported after it.
    assert_eq!(
        refused_for(looked_up, &signed(&body), &body),
        ProblemType::RevokedDevice
    );
    let e = SyncClient::new(&s.device, &transport, &clock)
        .push(&key, 100)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Server { status: 403, problem: Some(p), .. } if p == "revoked-device"),
        "{e:?}"
    );
    assert_eq!(e.kind(), fieldcheck_core::ErrorKind::PermissionDenied);
    assert!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.device.sync_status(&admin()).unwrap().pending,
        2,
        "nothing released"
    );
}

#[test]
fn network_errors_5xx_and_429_are_retried_within_the_budget_then_nothing_is_lost() {
    let s = stores();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    check_in(&s.device, 0);
    let client = SyncClient::new(&s.device, &transport, &clock);

    transport.fail_next(&[
        Fault::Network,
        Fault::Status(503, None),
        Fault::Status(429, Some(7)),
    ]);
    let report = client.push(&key, 100).unwrap();
    assert_eq!((report.events, report.pending), (2, 0));
    assert_eq!(
        clock.pauses(),
        [
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(7)
        ]
    );

    // Five failures: give up, keep everything for the next push.
    check_in(&s.device, 1);
    let before = transport.requests();
    transport.fail_next(&[
        Fault::Network,
        Fault::Network,
        Fault::Status(500, None),
        Fault::Network,
        Fault::Network,
    ]);
    let e = client.push(&key, 100).unwrap_err();
    assert!(matches!(e, Error::Unreachable(_)), "{e:?}");
    assert_eq!(transport.requests() - before, 5);
    assert_eq!(s.device.sync_status(&admin()).unwrap().pending, 1);
    // A Retry-After beyond the 60 s budget is not waited for.
    let before = transport.requests();
    transport.fail_next(&[Fault::Status(429, Some(3600))]);
    assert!(matches!(client.push(&key, 100), Err(Error::Unreachable(_))));
    assert_eq!(transport.requests() - before, 1);

    // The server committed but the answer was lost: the retry is a replay.
    transport.fail_next(&[Fault::LoseAnswer]);
    let report = client.push(&key, 100).unwrap();
    assert_eq!((report.acked_seq, report.pending), (3, 0));
    assert_eq!(
        s.server
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_server_restored_from_an_older_copy_gets_the_lost_events_resent() {
    let dir = TempDir::new().unwrap();
    let s = stores();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    check_in(&s.device, 0);
    let client = SyncClient::new(&s.device, &transport, &clock);
    client.push(&key, 100).unwrap();
    // Back up the server after the first push.
    let backup = dir.path().join("backup.db");
    s.server.checkpoint().unwrap();
    std::fs::copy(s.server.path(), &backup).unwrap();
    for m in 1..4 {
        check_in(&s.device, m);
    }
    client.push(&key, 100).unwrap();
    assert_eq!(s.device.sync_status(&admin()).unwrap().acked_seq, 5);

    let restored = Store::open(&backup).unwrap();
    assert_eq!(
        restored
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        1
    );
    let transport = Loopback::new(&restored);
    check_in(&s.device, 5);
    let report = SyncClient::new(&s.device, &transport, &clock)
        .push(&key, 2)
        .unwrap();
    assert_eq!((report.acked_seq, report.pending), (6, 0));
    assert_eq!(
        restored
            .events(&admin(), &Default::default())
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn decisions_made_on_the_server_reach_the_device_once() {
    let s = stores();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    let events: Vec<String> = (0..3).map(|m| check_in(&s.device, m)).collect();
    let client = SyncClient::new(&s.device, &transport, &clock);
    client.push(&key, 100).unwrap();
    let supervisor = Actor::supervisor("sup-1");
    for (i, e) in events.iter().enumerate() {
        let decision = if i == 1 {
            Decision::Rejected
        } else {
            Decision::Approved
        };
        s.server
            .review(&supervisor, e, decision, &format!("note {i}"), t0())
            .unwrap();
    }
    // Pages of two: the client follows the cursor to the end.
    let first = client.pull().unwrap();
    assert_eq!(first.decisions, 3);
    assert_eq!(client.pull().unwrap().decisions, 0);
    let seen = s.device.decisions(&Actor::agent("a1"), Some("a1")).unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].decision, "rejected");
    assert_eq!(seen[1].event_id.as_deref(), Some(events[1].as_str()));
    assert_eq!(seen[1].note.as_deref(), Some("note 1"));
    assert_eq!(seen[1].reviewer, "sup-1");
    assert!(matches!(
        s.device.decisions(&Actor::agent("a2"), Some("a1")),
        Err(Error::PermissionDenied(_))
    ));
    s.server
        .review(
            &supervisor,
            &events[0],
            Decision::Rejected,
            "changed my mind",
            t0(),
        )
        .unwrap();
    assert_eq!(client.pull().unwrap().decisions, 1);
    assert_eq!(
        s.device.decisions(&Actor::agent("a1"), None).unwrap().len(),
        4
    );
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[test]
fn a_configuration_answer_altered_cut_or_reordered_on_the_way_applies_nothing() {
    let s = stores();
    s.server.import_sites(&admin(), SITES, t0()).unwrap();
    let transport = Loopback::new(&s.server);
    let clock = TestClock::new();
    let key = SoftwareKey::generate();
    enrol(&s, &transport, &clock, &key);
    let client = SyncClient::new(&s.device, &transport, &clock);
    let first = client.pull().unwrap();
    assert!(first.config_reset);
    assert_eq!(first.config_kinds, ["sites"]);

    // Three changes on the server, one feed.
    s.server
        .set_rules(
            &admin(),
            fieldcheck_core::Rules {
                late_grace_min: 5,
                ..Default::default()
            },
        )
        .unwrap();
    s.server.publish_policy(&admin(), "2", true, t0()).unwrap();
    s.server
        .set_flag(
            &Actor::supervisor("sup"),
            &fieldcheck_core::FlagRequest {
                scope: fieldcheck_core::FlagScope::Everyone,
                purpose: fieldcheck_core::FlagPurpose::Audit,
                reason: "quarterly audit".into(),
                expires_at: t0() + chrono::Duration::days(1),
            },
            t0(),
        )
        .unwrap();
    let state = |store: &Store| {
        (
            store.rules().late_grace_min,
            store.policy_versions().unwrap().len(),
            store.sync_status(&admin()).unwrap().head_seq,
            store.server_link().unwrap().unwrap().config_cursor,
        )
    };
    let before = state(&s.device);
    type Mangle = fn(&mut ConfigAnswer);
    let faults: [(&str, Mangle); 5] = [
        ("a body altered without its hash", |a| {
            let body = a.global.changes[1].body.take().unwrap();
            a.global.changes[1].body = Some(body.replace("true", "false"));
        }),
        ("the last change dropped", |a| {
            a.global.changes.pop();
        }),
        ("the first change dropped", |a| {
            a.global.changes.remove(0);
        }),
        ("two changes swapped", |a| a.global.changes.swap(0, 2)),
        ("the head moved", |a| a.global.head.seq += 1),
    ];
    for (what, mangle) in faults {
        transport.fail_next(&[Fault::Config(mangle)]);
        let e = client.pull().unwrap_err();
        assert!(matches!(e, Error::ConfigFeed(_)), "{what}: {e}");
        assert_eq!(e.kind(), fieldcheck_core::ErrorKind::Storage, "{what}");
        assert_eq!(state(&s.device), before, "{what}: nothing applied");
    }
    let honest = client.pull().unwrap();
    assert_eq!(honest.config, 3);
    assert_eq!(honest.config_kinds, ["rules", "policy", "flag"]);
    // Location consent was given before policy 2, which requires renewal.
    assert!(honest.consent_renewal_required);
    assert!(!honest.restricted);
    assert_eq!(s.device.rules().late_grace_min, 5);
    assert!(s.device.verify().unwrap().intact);
}
