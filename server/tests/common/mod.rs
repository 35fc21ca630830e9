//! Starts the real `fieldcheck-server` on 127.0.0.1, port 0, and drives the
//! real `fieldcheck` CLI beside it.
#![allow(dead_code)] // each test file uses its own subset

#[path = "../../../tests/support/inner_cargo.rs"]
mod inner_cargo;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

pub const SERVER: &str = env!("CARGO_BIN_EXE_fieldcheck-server");

pub const SITES: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature",
   "geometry": {"type": "Point", "coordinates": [106.8229, -6.2146]},
   "properties": {"id": "hq", "name": "Jakarta head office", "radius_m": 100}}]}"#;

/// The `fieldcheck` binary next to the server's, built if this test run
/// did not build it (`cargo test -p fieldcheck-server`).
pub fn cli_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = Path::new(SERVER).with_file_name("fieldcheck");
        let status = inner_cargo::inner_cargo()
            .args(["build", "-p", "fieldcheck-cli", "--bin", "fieldcheck"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the CLI failed");
        assert!(bin.exists(), "{} missing", bin.display());
        bin
    })
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs the CLI on `db` with `args` (and `stdin` when given).
pub fn cli(db: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = Command::new(cli_bin());
    command
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("fieldcheck runs");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        Self::launch(Self::command(db, extra))
    }

    /// The server started with SIGTERM and SIGINT blocked, as some parents
    /// (XCTest's `Process`) start their children.
    #[cfg(unix)]
    pub fn start_with_stop_signals_blocked(db: &Path) -> Server {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
        use std::os::unix::process::CommandExt;
        let mut command = Self::command(db, &[]);
        // SAFETY: the closure runs in the forked child before exec and only
        // calls pthread_sigmask, which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                let mut stop = SigSet::empty();
                stop.add(Signal::SIGTERM);
                stop.add(Signal::SIGINT);
                pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&stop), None)
                    .map_err(std::io::Error::from)
            });
        }
        Self::launch(command)
    }

    fn command(db: &Path, extra: &[&str]) -> Command {
        // (the log goes beside a file store, or to the temporary directory
        // for a database URL)
        let mut command = Command::new(SERVER);
        command
            .arg("--db")
            .arg(db)
            .args(if extra.contains(&"--listen") {
                &[][..]
            } else {
                &["--listen", "127.0.0.1:0"][..]
            })
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log_path(db)).unwrap());
        command
    }

    fn launch(mut command: Command) -> Server {
        let mut child = command.spawn().expect("fieldcheck-server runs");
        let log = log_path(Path::new(command.get_args().nth(1).expect("--db FILE")));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line was {line:?}"))
            .to_string();
        Server { child, url, log }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }

    pub fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status, headers' content type and `Retry-After`, and body JSON.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.expect("an HTTP answer");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    Answer {
        status,
        content_type,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// A device store with a site, location consent and `check_ins` check-ins
/// of agent `agent`.
pub fn device_store(db: &Path, agent: &str, check_ins: usize) {
    let sites = db.with_extension("geojson");
    std::fs::write(&sites, SITES).unwrap();
    cli(db, &["site", "import", sites.to_str().unwrap()], None).ok();
    cli(
        db,
        &[
            "consent",
            "grant",
            "--agent",
            agent,
            "--permission",
            "location",
        ],
        None,
    )
    .ok();
    for i in 0..check_ins {
        let at = format!("2026-01-05T02:{:02}:00Z", i % 60);
        let kind = if i % 2 == 0 { "check-in" } else { "check-out" };
        check(db, agent, kind, &at);
    }
}

/// A `kind` ("check-in"/"check-out") at the test site, captured and
/// recorded at `at` on the device's clock.
pub fn check(db: &Path, agent: &str, kind: &str, at: &str) {
    cli(
        db,
        &[
            kind,
            "--agent",
            agent,
            "--lat",
            "-6.2146",
            "--lon",
            "106.8229",
            "--accuracy",
            "10",
            "--at",
            at,
            "--now",
            at,
        ],
        None,
    )
    .ok();
}

pub fn enrol_code(server_db: &Path, agent: &str) -> String {
    cli(
        server_db,
        &["--json", "device", "enrol-code", "--agent", agent],
        None,
    )
    .ok()
    .json()["code"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A browser without JavaScript: a cookie jar of one cookie, no redirects
/// followed (the tests look at them).
pub struct Browser {
    pub base: String,
    pub agent: ureq::Agent,
    pub cookie: Option<String>,
    /// The pre-session cookie the sign-in form's token is derived from.
    pub pre: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// The page's CSRF token (every state-changing form carries one).
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a csrf_token field") + marker.len();
        self.body[start..start + 64].to_string()
    }
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        Browser {
            base: server.url.clone(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into(),
            cookie: None,
            pre: None,
        }
    }

    /// The `Cookie` header this browser sends.
    fn cookies(&self) -> Option<String> {
        let jar: Vec<&str> = [self.cookie.as_deref(), self.pre.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!jar.is_empty()).then(|| jar.join("; "))
    }

    pub fn read(&mut self, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
        let mut response = result.expect("an HTTP answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let value = set.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, token) = pair.split_once('=').unwrap();
            let kept = (!token.is_empty()).then(|| pair.to_string());
            match name {
                "fieldcheck_pre" => self.pre = kept,
                "fieldcheck_session" => self.cookie = kept,
                _ => {}
            }
        }
        let body = response.body_mut().read_to_string().unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = self.cookies() {
            request = request.header("Cookie", c);
        }
        let result = request.call();
        self.read(result)
    }

    pub fn get_with(&mut self, path: &str, header: (&str, &str)) -> Page {
        let mut request = self
            .agent
            .get(format!("{}{path}", self.base))
            .header(header.0, header.1);
        if let Some(c) = self.cookies() {
            request = request.header("Cookie", c);
        }
        let result = request.call();
        self.read(result)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(c) = self.cookies() {
            request = request.header("Cookie", c);
        }
        let result = request.send_form(form.iter().copied());
        self.read(result)
    }

    /// Signs in as a person does: the form first (its token comes from
    /// the pre-session cookie it sets), then the post.
    /// A GET that may find no server (one being restarted): `None` then.
    pub fn try_get(&mut self, path: &str) -> Option<Page> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = self.cookies() {
            request = request.header("Cookie", c);
        }
        let result = request.call();
        result.is_ok().then(|| self.read(result))
    }

    /// A form POST that may find no server: `None` then.
    pub fn try_post(&mut self, path: &str, form: &[(&str, &str)]) -> Option<Page> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(c) = self.cookies() {
            request = request.header("Cookie", c);
        }
        let result = request.send_form(form.iter().copied());
        result.is_ok().then(|| self.read(result))
    }

    pub fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/sign-in");
        let token = if form.body.contains("name=\"csrf_token\"") {
            form.csrf()
        } else {
            String::new()
        };
        self.post(
            "/sign-in",
            &[
                ("user", user),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
    }
}

pub fn add_user(db: &Path, id: &str, role: &str, team: &str) {
    add_user_with(db, &[], id, role, team);
}

/// [`add_user`] with global options first (a master key file, say).
pub fn add_user_with(db: &Path, global: &[&str], id: &str, role: &str, team: &str) {
    let mut args = global.to_vec();
    args.extend(["user", "add", "--id", id, "--user-role", role]);
    if !team.is_empty() {
        args.extend(["--team", team]);
    }
    args.push("--password-stdin");
    cli(db, &args, Some("correct horse battery\n")).ok();
}

/// Where a server's log goes: beside its store file, or, for a PostgreSQL
/// URL, in the temporary directory under a hash of the URL (its text may
/// hold a password, which no file name should show).
fn log_path(db: &Path) -> PathBuf {
    let text = db.to_string_lossy();
    if text.starts_with("postgres") {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        std::env::temp_dir().join(format!(
            "fc-server-{}-{:016x}.log",
            std::process::id(),
            hasher.finish()
        ))
    } else {
        db.with_extension("log")
    }
}

/// Opens a store in the test process as the server and CLI do: with the
/// master key `FIELDCHECK_MASTER_KEY_FILE` names, when set (the PostgreSQL
/// pass, where every store seals).
#[allow(dead_code)] // not every test binary opens a store itself
pub fn open_store(db: &Path) -> fieldcheck_core::Store {
    fieldcheck_core::Store::open_with(db, &open_options()).unwrap()
}

#[allow(dead_code)]
pub fn open_options() -> fieldcheck_core::OpenOptions {
    fieldcheck_core::OpenOptions {
        durability: fieldcheck_core::Durability::Normal,
        master_key: std::env::var_os("FIELDCHECK_MASTER_KEY_FILE").map(|path| {
            fieldcheck_core::seal::MasterKey::read(Path::new(&path)).expect("the test master key")
        }),
        ..Default::default()
    }
}

/// The server's store for a test: a new PostgreSQL database in the
/// PostgreSQL pass (`FIELDCHECK_TEST_PG` set), else `server.db` in `dir`.
#[allow(dead_code)] // not every test binary starts a server
pub fn server_store(dir: &tempfile::TempDir) -> PathBuf {
    postgres_database().unwrap_or_else(|| dir.path().join("server.db"))
}

/// Whether this is the PostgreSQL pass: tests that read a SQLite store's
/// files say so and skip there.
#[allow(dead_code)]
pub fn on_postgres() -> bool {
    std::env::var_os("FIELDCHECK_TEST_PG").is_some()
}

/// A new, empty PostgreSQL database on the server `FIELDCHECK_TEST_PG`
/// names (a URL whose database is `{db}`), as a `--db` URL; `None` when the
/// variable is unset (the SQLite pass).
#[allow(dead_code)] // not every test binary runs on PostgreSQL
pub fn postgres_database() -> Option<PathBuf> {
    let template = std::env::var("FIELDCHECK_TEST_PG").ok()?;
    Some(PathBuf::from(new_database::new_database(&template)))
}

#[path = "new_database.rs"]
mod new_database;
#[allow(unused_imports)] // used by the tests that copy a store
pub use new_database::copy_database;
