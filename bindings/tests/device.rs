//! The device verbs of the bindings (PRODUCT.md §12.2) against the real
//! `fieldcheck-server` on 127.0.0.1: a transport and a keystore handed in
//! as the shells hand theirs (here implemented in Rust over ureq, and the
//! core's software key).

#[path = "../../tests/support/inner_cargo.rs"]
mod inner_cargo;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fieldcheck_core::{
    Actor, ConsentChange, Decision, EventKind, Fix, FixRequest, Permission, Platform, Store,
};
use fieldcheck_ffi::{
    FieldCheck, FieldCheckError, FixSubmission, HttpRequest, HttpResponse, HttpTransport,
    software_keystore,
};
use tempfile::TempDir;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

/// `fieldcheck-server` from this workspace, built if this run has not.
fn server_bin() -> PathBuf {
    let status = inner_cargo::inner_cargo()
        .args([
            "build",
            "-p",
            "fieldcheck-server",
            "--bin",
            "fieldcheck-server",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/device-HASH -> target/debug/fieldcheck-server
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("fieldcheck-server")
}

struct Server(Child, String);

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(server_bin())
            .arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_string();
        Server(child, url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a shell's OkHttp or URLSession transport does, over ureq.
struct UreqTransport(ureq::Agent);

impl HttpTransport for UreqTransport {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, FieldCheckError> {
        let unreachable = |e: ureq::Error| FieldCheckError::Unreachable {
            reason: e.to_string(),
        };
        let mut response = if request.method == "GET" {
            let mut call = self.0.get(&request.url);
            for h in &request.headers {
                call = call.header(&h.name, &h.value);
            }
            call.call().map_err(unreachable)?
        } else {
            let mut call = self.0.post(&request.url);
            for h in &request.headers {
                call = call.header(&h.name, &h.value);
            }
            call.send(&request.body[..]).map_err(unreachable)?
        };
        Ok(HttpResponse {
            status: response.status().as_u16(),
            retry_after_s: None,
            body: response.body_mut().read_to_vec().map_err(unreachable)?,
        })
    }
}

fn transport() -> Arc<dyn HttpTransport> {
    Arc::new(UreqTransport(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
    ))
}

#[test]
fn the_bindings_enrol_push_and_pull_through_a_foreign_transport_and_keystore() {
    let dir = TempDir::new().unwrap();
    let server_db = dir.path().join("server.db");
    let server = Server::start(&server_db);
    let admin = Actor::admin("admin");
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    let code = Store::open(&server_db)
        .unwrap()
        .create_enrolment_code(&admin, "a1", 60, Utc::now())
        .unwrap();

    let fc = FieldCheck::open(dir.path().join("device.db").display().to_string()).unwrap();
    fc.import_sites(admin.clone(), SITES.into(), now).unwrap();
    fc.change_consent(
        Actor::agent("a1"),
        ConsentChange {
            subject: "a1".into(),
            permission: Permission::Location,
            granted: true,
            policy_version: None,
            source: None,
        },
        now,
    )
    .unwrap();
    let event = fc
        .record_fix(FixSubmission {
            actor: Actor::agent("a1"),
            request: FixRequest {
                agent: "a1".into(),
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
        .unwrap();
    assert_eq!(fc.server_link().unwrap(), None);
    // Not enrolled yet: a typed refusal, nothing sent.
    assert!(matches!(
        fc.sync_push(software_keystore(), transport(), 100),
        Err(FieldCheckError::InvalidInput { .. })
    ));

    let keystore = software_keystore();
    let enrolment = fc
        .enrol_device(
            server.1.clone(),
            code.code.clone(),
            Platform::Android,
            keystore.clone(),
            transport(),
        )
        .unwrap();
    assert_eq!(enrolment.agent, "a1");
    assert_eq!(enrolment.device_id, fc.device_id().unwrap());
    assert_eq!(fc.server_link().unwrap().unwrap().server_url, server.1);
    // The code is spent.
    assert!(matches!(
        fc.enrol_device(server.1.clone(), code.code, Platform::Android, keystore.clone(), transport()),
        Err(FieldCheckError::ServerRefused { status: 400, problem: Some(p), .. }) if p == "bad-code"
    ));

    let pushed = fc.sync_push(keystore.clone(), transport(), 100).unwrap();
    assert_eq!((pushed.events, pushed.acked_seq, pushed.pending), (2, 2, 0));
    // Signed with another key: refused, nothing released.
    fc.record_fix(FixSubmission {
        actor: Actor::agent("a1"),
        request: FixRequest {
            agent: "a1".into(),
            kind: EventKind::CheckOut,
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
    .unwrap();
    assert!(matches!(
        fc.sync_push(software_keystore(), transport(), 100),
        Err(FieldCheckError::ServerRefused { status: 401, problem: Some(p), .. }) if p == "bad-signature"
    ));
    assert_eq!(fc.sync_status(admin.clone()).unwrap().pending, 1);
    assert_eq!(fc.sync_push(keystore, transport(), 100).unwrap().pending, 0);

    // The check-out was recorded after enrolment: it carries the clock the
    // device measured. The app dated it months before that exchange, so the
    // server flags it; the check-in from before enrolment carries no clock
    // and only the receipt bounds it.
    let own = fc.events(admin.clone(), None, None, None).unwrap();
    assert_eq!(own[0].device_clock, None);
    let clock = own[1].device_clock.expect("recorded after enrolment");
    assert!(clock.offset_ms.abs() < 30_000, "{clock:?}");
    assert!(clock.last_exchange_server_at > now);
    let on_server = FieldCheck::open(server_db.display().to_string())
        .unwrap()
        .events(admin.clone(), None, None, None)
        .unwrap();
    let flags: Vec<(EventKind, bool)> = on_server.iter().map(|e| (e.kind, e.clock_skew)).collect();
    assert_eq!(
        flags,
        vec![(EventKind::CheckIn, false), (EventKind::CheckOut, true)]
    );

    Store::open(&server_db)
        .unwrap()
        .review(
            &Actor::supervisor("sup-1"),
            &event.id,
            Decision::Approved,
            "fine",
            Utc::now(),
        )
        .unwrap();
    assert_eq!(fc.sync_pull(transport()).unwrap().decisions, 1);
    let reviews = fc.reviews(Actor::agent("a1"), None).unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].decision, "approved");
    assert_eq!(reviews[0].event_id.as_deref(), Some(event.id.as_str()));
}

#[test]
fn enrolment_links_from_the_console_parse_and_anything_else_is_invalid_input() {
    let link = fieldcheck_ffi::parse_enrol_link(
        "fieldcheck://enrol?server=https%3A%2F%2Ffc.example.co.id%3A8443&code=K7Q2-MX9P".into(),
    )
    .unwrap();
    assert_eq!(link.server_url, "https://fc.example.co.id:8443");
    assert_eq!(link.code, "K7Q2-MX9P");
    for bad in [
        "",
        "fieldcheck://enrol?code=x",
        "https://x/?server=a&code=b",
    ] {
        assert!(matches!(
            fieldcheck_ffi::parse_enrol_link(bad.into()),
            Err(FieldCheckError::InvalidInput { .. })
        ));
    }
}
