//! `fieldcheck-server` (PRODUCT.md §12): the device API over the core's
//! SQLite store. See ARCHITECTURE.md for the life of a batch.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser;
use fieldcheck_core::seal::MasterKey;
use fieldcheck_core::store_location::shown;
use fieldcheck_core::{OpenOptions, Store};

use fieldcheck_server::clock::ServerClock;
use fieldcheck_server::readiness::{self, Gate};
use fieldcheck_server::{AppConfig, json_log, router};

#[derive(Parser, Debug)]
#[command(
    name = "fieldcheck-server",
    version,
    about = "Sync server for fieldcheck devices"
)]
struct Args {
    /// The server's store (the core's SQLite file; created if missing).
    #[arg(long)]
    db: PathBuf,
    /// HOST:PORT to listen on (port 0 picks a free port).
    #[arg(long)]
    listen: String,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body taken; larger ones get 413 too-large.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Seconds between the server's own retention purges (PRODUCT.md §4,
    /// §12.2: at least hourly).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    purge_every_s: u64,
    /// Demos and tests: read the time from this file (RFC 3339) at every
    /// request instead of the system clock.
    #[arg(long, hide = true)]
    clock_file: Option<PathBuf>,
    /// The address devices reach this server at, for the enrolment links
    /// the console shows (default: the address it listens on).
    #[arg(long)]
    public_url: Option<String>,
    /// The master key (32 random bytes, `fieldcheck keys init`) that seals
    /// personal values in the store (PRODUCT.md §12.5).
    #[arg(long, value_name = "PATH", env = "FIELDCHECK_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
}

/// Time requests in flight get to finish after SIGTERM/SIGINT.
const DRAIN: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    json_log::install();
    if let Err(e) = unblock_stop_signals() {
        log::error!("cannot unblock SIGTERM/SIGINT: {e}");
        return ExitCode::from(1);
    }
    let args = Args::parse();
    // A key that cannot be read stops the server before it listens or
    // touches the store (exit 2, as the CLI).
    let master_key = match args
        .master_key_file
        .as_deref()
        .map(MasterKey::read)
        .transpose()
    {
        Ok(key) => key,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(args, master_key)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{}", e.reason);
            ExitCode::from(e.exit_code)
        }
    }
}

/// Why the server stopped, and its exit code: 2 for a master key that
/// does not open the store (nothing written), 1 otherwise.
struct Stopped {
    reason: String,
    exit_code: u8,
}

impl From<String> for Stopped {
    fn from(reason: String) -> Self {
        Stopped {
            reason,
            exit_code: 1,
        }
    }
}

async fn serve(args: Args, master_key: Option<MasterKey>) -> Result<(), Stopped> {
    let clock = args
        .clock_file
        .clone()
        .map_or(ServerClock::System, ServerClock::File);
    // Listening before the store is open (PRODUCT.md §12.5): connections
    // wait in the backlog, and are answered 503 while the store is not
    // ready.
    let listener = std::net::TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let tls = args.tls_cert.is_some();
    let scheme = if tls { "https" } else { "http" };
    let public_url = match &args.public_url {
        Some(url) => public_url(url)?,
        None => format!("{scheme}://{addr}"),
    };
    let ready = Arc::new(Ready {
        db: args.db.clone(),
        clock,
        tls,
        max_body_bytes: args.max_body_bytes,
        public_url,
        purge_every: Duration::from_secs(args.purge_every_s),
        master_key,
        gate: Gate::new("opening the store"),
        store: OnceLock::new(),
    });
    // The first attempt before the address is announced: a store that
    // opens is served from the first request.
    match open_store(&ready).await {
        Ok(store) => ready.install(store),
        Err(e) if e.waits => {
            log::error!("{}", e.reason);
            ready.gate.waiting(e.reason);
            tokio::spawn(keep_trying(ready.clone()));
        }
        Err(e) => {
            return Err(Stopped {
                exit_code: if e.key_refused { 2 } else { 1 },
                reason: e.reason,
            });
        }
    }
    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    let service = ready
        .gate
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();

    let result = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| format!("cannot read the TLS certificate or key: {e}"))?;
            announce("https", addr);
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(service)
                .await
        }
        _ => {
            announce("http", addr);
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(service)
                .await
        }
    };
    result.map_err(|e| e.to_string())?;
    // Every request has finished: fold the WAL into the file.
    if let Some(store) = ready.store.get().cloned() {
        tokio::task::spawn_blocking(move || store.checkpoint())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    log::info!("stopped");
    Ok(())
}

/// What serving needs once the store is open.
struct Ready {
    db: PathBuf,
    clock: ServerClock,
    tls: bool,
    max_body_bytes: usize,
    public_url: String,
    purge_every: Duration,
    master_key: Option<MasterKey>,
    gate: Arc<Gate>,
    store: OnceLock<Arc<Store>>,
}

impl Ready {
    /// Serves the application on `store` and starts its jobs.
    fn install(&self, store: Store) {
        let store = Arc::new(store);
        tokio::spawn(purge_regularly(
            store.clone(),
            self.clock.clone(),
            self.purge_every,
        ));
        tokio::spawn(settle_queue_regularly(store.clone(), self.clock.clone()));
        let app = router(AppConfig {
            store: store.clone(),
            max_body_bytes: self.max_body_bytes,
            tls: self.tls,
            clock: self.clock.clone(),
            public_url: self.public_url.clone(),
        });
        let _ = self.store.set(store.clone());
        self.gate
            .close_when(move || store.retired().map(str::to_string));
        self.gate.open(app);
        log::info!("store open: serving");
    }
}

/// Why the store did not open, and whether waiting may help.
struct NotOpen {
    reason: String,
    /// A store from a newer build waits for this server to be upgraded
    /// (another instance may have upgraded the schema first): keep
    /// answering 503 and trying.
    waits: bool,
    /// The master key is missing or wrong.
    key_refused: bool,
}

async fn open_store(ready: &Ready) -> Result<Store, NotOpen> {
    let db = ready.db.clone();
    let options = OpenOptions {
        master_key: ready.master_key.clone(),
        ..Default::default()
    };
    let opened_at = ready.clock.now();
    let opened = tokio::task::spawn_blocking(move || {
        let store = Store::open_with(&db, &options)?;
        // From now on it keeps what devices send under its own flags.
        store.serve_as_server(opened_at)?;
        Ok::<_, fieldcheck_core::Error>(store)
    })
    .await
    .map_err(|e| NotOpen {
        reason: e.to_string(),
        waits: false,
        key_refused: false,
    })?;
    opened.map_err(|e| match e {
        fieldcheck_core::Error::SchemaTooNew { found, supported } => NotOpen {
            reason: format!(
                "the store's schema is v{found}, newer than this fieldcheck-server knows \
                 (v{supported}): upgrade fieldcheck-server"
            ),
            waits: true,
            key_refused: false,
        },
        fieldcheck_core::Error::MasterKey(e) => NotOpen {
            reason: format!("cannot open {}: {e}", shown(&ready.db)),
            waits: false,
            key_refused: true,
        },
        // A database server away or refusing: it may come back.
        // The core's connect errors already begin with the shown URL.
        fieldcheck_core::Error::Database(e) => NotOpen {
            reason: {
                let shown = shown(&ready.db);
                let detail = e.strip_prefix(&format!("{shown}: ")).unwrap_or(&e);
                format!("cannot reach {shown}: {detail}")
            },
            waits: true,
            key_refused: false,
        },
        e => NotOpen {
            reason: format!("cannot open {}: {e}", shown(&ready.db)),
            waits: false,
            key_refused: false,
        },
    })
}

/// Tries to open the store every few seconds until it opens.
async fn keep_trying(ready: Arc<Ready>) {
    loop {
        tokio::time::sleep(Duration::from_secs(readiness::RETRY_AFTER_S)).await;
        match open_store(&ready).await {
            Ok(store) => return ready.install(store),
            // Reachable at last, and the key does not open it: waiting
            // cannot help (exit 2, as at start).
            Err(e) if e.key_refused => {
                log::error!("{}", e.reason);
                std::process::exit(2);
            }
            Err(e) => ready.gate.waiting(e.reason),
        }
    }
}

/// The server's own retention purge (PRODUCT.md §4, §12.2): retained
/// coordinates at `retain_until`, every record past its retention, with
/// the byte guarantees of `purge`. One at a time: the store's single
/// writer serialises it with everything else.
async fn purge_regularly(store: Arc<Store>, clock: ServerClock, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = store.clone();
        let now = clock.now();
        let purged = tokio::task::spawn_blocking(move || {
            store.purge(&fieldcheck_core::Actor::admin("fieldcheck-server"), now)
        })
        .await;
        match purged {
            Ok(Ok(report)) => log::info!(
                "purge: {} retained location(s), {} attendance event(s), {} imported event(s)",
                report.retained_locations,
                report.attendance_events,
                report.imported_events
            ),
            Ok(Err(e)) => log::error!("purge failed: {e}"),
            Err(e) => log::error!("purge failed: {e}"),
        }
    }
}

/// `--public-url` as given, if it is an http(s) address with a host.
fn public_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(trimmed.to_string())
        }
        _ => Err(format!(
            "--public-url {url:?} is not an http:// or https:// address"
        )),
    }
}

/// The review queue's index kept current as days and shifts end (PRODUCT.md
/// §12.4 "Absences reach the queue"): every minute, whatever the pages do.
async fn settle_queue_regularly(store: Arc<Store>, clock: ServerClock) {
    let mut ticks = tokio::time::interval(Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = store.clone();
        let now = clock.now();
        match tokio::task::spawn_blocking(move || store.settle_queue(now)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::error!("review queue: {e}"),
            Err(e) => log::error!("review queue: {e}"),
        }
    }
}

fn announce(scheme: &str, addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
}

/// A parent may start us with SIGTERM and SIGINT blocked (XCTest's
/// `Process` does, and a blocked mask is inherited across exec): the
/// handler below would then never run and the server could not be stopped
/// gracefully. Unblocked here, before the runtime starts its threads, so
/// every thread inherits the open mask.
#[cfg(unix)]
fn unblock_stop_signals() -> nix::Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGINT);
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&stop), None)
}

#[cfg(not(unix))]
fn unblock_stop_signals() -> Result<(), std::convert::Infallible> {
    Ok(())
}

async fn shutdown_on_signal(handle: axum_server::Handle) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    log::info!("shutting down: finishing requests in flight");
    handle.graceful_shutdown(Some(DRAIN));
}
