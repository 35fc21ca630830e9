//! The server's life: stopped by a signal whatever mask it inherited,
//! killed with SIGKILL in the middle of a device's push and restarted on the
//! same address (nothing answered 200 is lost, nothing is doubled, the
//! push completes), and served over TLS.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Server, cli, device_store, enrol_code, http, server_store};
use serde_json::Value;
use tempfile::TempDir;

#[cfg(unix)]
#[test]
fn a_server_started_with_the_stop_signals_blocked_still_drains_on_sigterm() {
    let dir = TempDir::new().unwrap();
    let db = server_store(&dir);
    let server = Server::start_with_stop_signals_blocked(&db);
    // An idle keep-alive connection must not hold the drain open either.
    let agent = http();
    let health = agent.get(format!("{}/healthz", server.url)).call().unwrap();
    assert_eq!(health.status(), 200);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    drop(agent);
}

/// The device's events as the server holds them: (seq, event_id) of every
/// event imported from `device_id`.
fn imported(server_db: &std::path::Path, device_id: &str) -> Vec<(i64, String)> {
    cli(server_db, &["--json", "events"], None)
        .ok()
        .json_lines()
        .into_iter()
        .filter(|e| e["device_id"] == device_id)
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["event_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The seq up to which the server has imported the device's chain.
fn acked_on_server(server_db: &std::path::Path, device_id: &str) -> i64 {
    cli(server_db, &["--json", "device", "list"], None)
        .ok()
        .json_lines()
        .into_iter()
        .find(|d| d["device_id"] == device_id)
        .map(|d| d["acked_seq"].as_i64().unwrap_or(0))
        .unwrap()
}

#[test]
fn a_server_killed_mid_push_loses_and_doubles_nothing_and_the_push_completes() {
    let dir = TempDir::new().unwrap();
    let server_db = server_store(&dir);
    let device_db = dir.path().join("device.db");
    device_store(&device_db, "a1", 40);
    let mut server = Server::start(&server_db, &[]);
    let listen = server.url.trim_start_matches("http://").to_string();
    let code = enrol_code(&server_db, "a1");
    let enrolled = cli(
        &device_db,
        &[
            "--json",
            "device",
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
        ],
        None,
    )
    .ok()
    .json();
    assert_eq!(enrolled["agent"], "a1");
    let device_id = cli(&device_db, &["--json", "sync", "status"], None)
        .ok()
        .json()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let total = cli(&device_db, &["--json", "sync", "status"], None)
        .ok()
        .json()["pending"]
        .as_i64()
        .unwrap();
    assert!(total > 40, "{total}");

    // Three kills at different moments of the same push, each followed by a
    // restart on the same address; the push's retries reach the new server.
    let push = Command::new(common::cli_bin())
        .arg("--db")
        .arg(&device_db)
        .args(["--json", "sync", "push", "--limit", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = 0;
    let mut kills_mid_push = 0;
    for pause_ms in [5, 20, 40] {
        // Kill once this life of the server has imported something.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while acked_on_server(&server_db, &device_id) <= acked
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(pause_ms));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        // Between lives: whatever was imported is whole (a prefix of the
        // device's chain up to the seq the server acknowledges) and verifies.
        // `events` lists attendance; seq 1 is the device's consent entry.
        let held = imported(&server_db, &device_id);
        let seqs: BTreeSet<i64> = held.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs.len(), held.len(), "an event was imported twice");
        acked = acked_on_server(&server_db, &device_id);
        if acked < total {
            kills_mid_push += 1;
        }
        let expected: BTreeSet<i64> = (2..=acked).collect();
        assert_eq!(seqs, expected, "not the chain's prefix up to {acked}");
        cli(&server_db, &["verify"], None).ok();
        server = Server::start(&server_db, &["--listen", &listen]);
    }
    assert!(kills_mid_push > 0, "every kill came after the push ended");
    let out = push.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pending"], 0);
    assert_eq!(report["acked_seq"], total);

    let held = imported(&server_db, &device_id);
    assert_eq!(acked_on_server(&server_db, &device_id), total);
    assert_eq!(held.len() as i64, total - 1, "events lost or doubled");
    let device_events: BTreeSet<String> = cli(&device_db, &["--json", "events"], None)
        .ok()
        .json_lines()
        .into_iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    let server_events: BTreeSet<String> = held.into_iter().map(|(_, id)| id).collect();
    assert!(device_events.is_subset(&server_events));
    cli(&server_db, &["verify"], None).ok();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_server_speaks_tls_with_the_given_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = TempDir::new().unwrap();
    let db = server_store(&dir);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = dir.path().join("cert.pem");
    let key_pem = dir.path().join("key.pem");
    std::fs::write(&cert_pem, certified.cert.pem()).unwrap();
    std::fs::write(&key_pem, certified.signing_key.serialize_pem()).unwrap();
    let server = Server::start(
        &db,
        &[
            "--tls-cert",
            cert_pem.to_str().unwrap(),
            "--tls-key",
            key_pem.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.url.rsplit(':').next().unwrap();

    // A client that trusts this certificate gets through under its name.
    let trusted = ureq::tls::Certificate::from_der(certified.cert.der()).to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[trusted]))
                .build(),
        )
        .build()
        .into();
    let health = agent
        .get(format!("https://localhost:{port}/healthz"))
        .call()
        .unwrap();
    assert_eq!(health.status(), 200);

    // Plain HTTP on the TLS port gets no answer; a client that does not
    // trust the certificate is refused by its own TLS check.
    assert!(
        http()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .call()
            .is_err()
    );
    let untrusting: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[]))
                .build(),
        )
        .build()
        .into();
    assert!(
        untrusting
            .get(format!("https://localhost:{port}/healthz"))
            .call()
            .is_err()
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

/// A store whose schema is newer than this build (another instance was
/// upgraded first): the server listens at once, answers every request 503
/// saying to upgrade it, and serves as soon as the store is one it knows
/// (here the version is put back, as if the right build took over).
#[test]
fn a_store_from_a_newer_build_is_answered_503_until_it_can_be_served() {
    use fieldcheck_core::store::schema::VERSION;
    let dir = TempDir::new().unwrap();
    let db = server_store(&dir);
    cli(&db, &["--json", "device", "list"], None).ok();
    // Where each engine keeps the schema's version.
    let set_version = |v: u32| {
        if common::on_postgres() {
            let mut client =
                postgres::Client::connect(db.to_str().unwrap(), postgres::NoTls).unwrap();
            let sql = format!("UPDATE fieldcheck_schema SET version = {v}");
            client.batch_execute(&sql).unwrap();
        } else {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.pragma_update(None, "user_version", v).unwrap();
        }
    };
    set_version(VERSION + 1);
    let server = Server::start(&db, &[]);
    for path in ["/healthz", "/api/v1/sync/decisions", "/sign-in"] {
        let refused = common::answer(http().get(format!("{}{path}", server.url)).call());
        assert_eq!(refused.status, 503, "{path}");
        assert_eq!(refused.content_type, "application/problem+json");
        assert_eq!(refused.retry_after.as_deref(), Some("2"));
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("v{}", VERSION + 1))
                && detail.contains("upgrade fieldcheck-server"),
            "{detail}"
        );
    }
    set_version(VERSION);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let health = common::answer(http().get(format!("{}/healthz", server.url)).call());
        if health.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {}",
            health.status
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let devices = common::answer(
        http()
            .get(format!("{}/api/v1/sync/decisions", server.url))
            .call(),
    );
    assert_eq!(
        devices.status, 401,
        "the device API answers once the store is open"
    );
    let logged = server.log_lines();
    assert!(logged.iter().any(|l| l["status"] == 503));
    assert!(server.terminate().success());
}

/// A PostgreSQL database that cannot be reached: the server listens at
/// once, answers 503 saying which database (without its password) and
/// keeps trying; the log never holds the password.
#[test]
fn an_unreachable_postgres_database_is_waited_for_without_logging_its_password() {
    let url = std::path::PathBuf::from("postgresql://fc:hunter2@127.0.0.1:1/fc?password=hunter2");
    let server = Server::start(&url, &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let detail = loop {
        let refused = common::answer(http().get(format!("{}/healthz", server.url)).call());
        assert_eq!(refused.status, 503);
        let detail = refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if detail.contains("cannot reach") {
            break detail;
        }
        assert!(std::time::Instant::now() < deadline, "still: {detail}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        detail.contains("postgresql://fc:***@127.0.0.1:1/fc?password=***"),
        "{detail}"
    );
    assert_eq!(
        detail.matches("postgresql://").count(),
        1,
        "the URL once: {detail}"
    );
    assert!(!detail.contains("hunter2"), "{detail}");
    let log = server.log_lines();
    assert!(!format!("{log:?}").contains("hunter2"));
    assert!(server.terminate().success());
}
