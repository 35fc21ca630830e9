//! `fieldcheck`: the command line of PRODUCT.md §10, for app developers
//! inspecting a device database and supervisors running reports.
//!
//! Exit codes: 0 success (a rejected check-in is a recorded verdict), 2 bad
//! input or usage, 3 permission denied, 1 anything else.

mod agent_cmd;
mod bench;
mod demo;
mod device_cmd;
mod field;
mod http;
mod output;
mod privacy_cmd;
mod sync_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use fieldcheck_core::seal::MasterKey;
use fieldcheck_core::{
    Actor, ConsentChange, ConsentSource, Error, ErrorKind, EventFilter, EventKind, Fix, FixRequest,
    FlagPurpose, FlagRequest, FlagScope, OpenOptions, Permission, Role, Store, time,
};
use serde_json::json;

use crate::output::Output;

#[derive(Parser, Debug)]
#[command(
    name = "fieldcheck",
    version,
    about = "Geofenced, purpose-limited attendance for field agents"
)]
struct Cli {
    /// The store (SQLite file) [default: fieldcheck.db; for demo: fieldcheck-demo.db].
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Overrides the clock (RFC 3339), for tests and replays; device
    /// commands run the clock on from it, as a phone set to that time would.
    #[arg(long, global = true, value_name = "RFC3339")]
    now: Option<String>,
    /// Who is acting.
    #[arg(long, global = true, default_value = "cli")]
    actor: String,
    /// The actor's role.
    #[arg(long, global = true, value_enum, default_value = "admin")]
    role: RoleArg,
    /// The master key (32 random bytes, `keys init`) that seals personal
    /// values in a server's store (PRODUCT.md §12.5).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "FIELDCHECK_MASTER_KEY_FILE"
    )]
    master_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Agent,
    Supervisor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Agent => Role::Agent,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Copy every row of this store (an SQLite file or a PostgreSQL
    /// database) into an empty PostgreSQL database; both then give the same
    /// reports and `verify` passes on both (PRODUCT.md §12.5).
    Copy {
        /// The target: postgres://USER@HOST/DB (created empty beforehand).
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Write a new master key (32 random bytes) to a new file, readable by
    /// its owner only; an existing path is refused.
    Init {
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Whether the store seals, the key epoch and when it began, and how
    /// many data keys are live.
    Status,
    /// Re-wrap every live data key under a new master key (every server
    /// instance stopped); the key given with --master-key-file is then a
    /// wrong key, to be destroyed once the backups made under it expire.
    Rotate {
        #[arg(long, value_name = "PATH")]
        new_master_key_file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import, list and export sites (GeoJSON).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Grant, withdraw and show consent.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Judge a fix and record a check-in.
    CheckIn(FixArgs),
    /// Judge a fix and record a check-out.
    CheckOut(FixArgs),
    /// List attendance events (one JSON object per line with --json).
    Events(EventsArgs),
    /// Audit and security flags.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Insurance leads (the pipeline).
    #[command(subcommand)]
    Lead(field::LeadCommand),
    /// Policy closings, premium payments, renewals, cancellations.
    #[command(subcommand)]
    Txn(field::TxnCommand),
    /// Agents' shifts and time zones.
    #[command(subcommand)]
    Shift(field::ShiftCommand),
    /// Attendance and sales reports (JSON, CSV or HTML).
    #[command(subcommand)]
    Report(field::ReportCommand),
    /// Approve or reject an attendance event, with a note.
    Review(field::ReviewArgs),
    /// Privacy-policy versions (admins publish).
    #[command(subcommand)]
    Policy(privacy_cmd::PolicyCommand),
    /// Push tokens (only while push consent is granted).
    #[command(subcommand)]
    Push(privacy_cmd::PushCommand),
    /// Data-subject rights: restriction and the request log.
    #[command(subcommand)]
    Privacy(privacy_cmd::PrivacyCommand),
    /// Store settings: the data controller named in consent receipts.
    #[command(subcommand)]
    Settings(privacy_cmd::SettingsCommand),
    /// Device outbox (pending, ack) and imports from devices.
    #[command(subcommand)]
    Sync(sync_cmd::SyncCommand),
    /// Devices: enrol this store with a server; on a server's store, enrolment
    /// codes, the enrolled devices and revocation.
    #[command(subcommand)]
    Device(device_cmd::DeviceCommand),
    /// Console users of a server's store (supervisors and admins).
    #[command(subcommand)]
    User(device_cmd::UserCommand),
    /// Agents and their display names.
    #[command(subcommand)]
    Agent(agent_cmd::AgentCommand),
    /// Review decisions about an agent: pulled from the server and made here
    /// (one JSON object a line with --json).
    Reviews {
        #[arg(long)]
        agent: Option<String>,
    },
    /// Move a server's store: `store copy --to postgres://…`.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The master key that seals personal values: init, status, rotate.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Delete what has outlived its retention; leaves no bytes behind.
    Purge,
    /// Recompute the hash chain; exit 1 naming the first broken link.
    Verify,
    /// Simulate a working week on an embedded database and print a report.
    Demo {
        /// Send the week through a local fieldcheck-server (started and
        /// stopped here, found beside this executable) and report from its store.
        #[arg(long)]
        via_server: bool,
    },
    /// Measure geofence and check-in throughput (PRODUCT.md §11).
    Bench(bench::BenchArgs),
    /// Internal to `bench`: build one attendance report in a fresh process.
    #[command(hide = true)]
    ReportProbe(bench::ProbeArgs),
}

#[derive(Subcommand, Debug)]
enum SiteCommand {
    /// Import a GeoJSON FeatureCollection (all or nothing).
    Import { file: PathBuf },
    /// List stored sites.
    List,
    /// Print every site as one GeoJSON FeatureCollection.
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct ConsentArgs {
    #[arg(long)]
    agent: String,
    #[arg(long, value_enum)]
    permission: PermissionArg,
    #[arg(long)]
    policy_version: Option<String>,
    /// Where the change came from (default: app, or admin for admins).
    #[arg(long, value_enum)]
    source: Option<SourceArg>,
}

#[derive(Subcommand, Debug)]
enum ConsentCommand {
    Grant(ConsentArgs),
    Withdraw(ConsentArgs),
    /// Current state and ledger of an agent's consents.
    Show {
        #[arg(long)]
        agent: String,
    },
    /// The consent receipt of one ledger entry (Kantara CR v1.1 JSON; the
    /// entry id is the receipt id). Needs `settings controller`.
    Receipt {
        entry_id: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PermissionArg {
    Location,
    Push,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SourceArg {
    App,
    OsSettings,
    Admin,
}

#[derive(Args, Debug)]
struct FixArgs {
    #[arg(long)]
    agent: String,
    #[arg(long, allow_negative_numbers = true)]
    lat: f64,
    #[arg(long, allow_negative_numbers = true)]
    lon: f64,
    /// Horizontal accuracy, metres (68 %).
    #[arg(long, allow_negative_numbers = true)]
    accuracy: f64,
    /// When the fix was captured (default: now).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// The platform reported a mock location.
    #[arg(long)]
    mock: bool,
}

#[derive(Args, Debug)]
struct EventsArgs {
    #[arg(long)]
    agent: Option<String>,
    #[arg(long, value_name = "RFC3339")]
    from: Option<String>,
    #[arg(long, value_name = "RFC3339")]
    to: Option<String>,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Set a flag; covered fixes keep their coordinates until retention ends.
    #[command(group(ArgGroup::new("scope").required(true).args(["agent", "site", "everyone"])))]
    Flag {
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        everyone: bool,
        #[arg(long, value_enum)]
        purpose: PurposeArg,
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "RFC3339")]
        until: String,
    },
    /// Flags (with --agent: those covering that agent).
    List {
        #[arg(long)]
        agent: Option<String>,
    },
    /// End a flag now, before its expiry.
    End { flag_id: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PurposeArg {
    Audit,
    Security,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Output::new(cli.json);
    match run(&cli, &mut out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::NotFound => 2,
        ErrorKind::PermissionDenied => 3,
        ErrorKind::Storage => 1,
    }
}

fn run(cli: &Cli, out: &mut Output) -> Result<ExitCode, Error> {
    // Everything the caller typed is checked before the store is touched.
    let now = match &cli.now {
        Some(text) => time::parse_rfc3339("now", text)?,
        None => Utc::now(),
    };
    fieldcheck_core::types::validate_id("actor", &cli.actor)?;
    let actor = Actor::new(cli.actor.clone(), cli.role.into());
    refuse_phone_verb_on_postgres(cli)?;

    match &cli.command {
        Command::Site(cmd) => site(cli, out, &actor, cmd, now),
        Command::Consent(cmd) => consent(cli, out, &actor, cmd, now),
        Command::CheckIn(args) => check(cli, out, &actor, EventKind::CheckIn, args, now),
        Command::CheckOut(args) => check(cli, out, &actor, EventKind::CheckOut, args, now),
        Command::Events(args) => {
            let filter = EventFilter {
                agent: args.agent.clone(),
                from: optional_time("from", &args.from)?,
                to: optional_time("to", &args.to)?,
            };
            let store = cli.store()?;
            let events = store.events(&actor, &filter)?;
            if cli.json {
                for event in &events {
                    out.json_line(event)?;
                }
            } else {
                out.events_table(&events)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(cmd) => audit(cli, out, &actor, cmd, now),
        Command::Lead(cmd) => field::lead(cli, out, &actor, cmd, now),
        Command::Txn(cmd) => field::txn(cli, out, &actor, cmd, now),
        Command::Shift(cmd) => field::shift(cli, out, &actor, cmd, now),
        Command::Report(cmd) => field::report(cli, out, &actor, cmd, now),
        Command::Review(args) => field::review(cli, out, &actor, args, now),
        Command::Policy(cmd) => privacy_cmd::policy(cli, out, &actor, cmd, now),
        Command::Push(cmd) => privacy_cmd::push(cli, out, &actor, cmd, now),
        Command::Privacy(cmd) => privacy_cmd::privacy(cli, out, &actor, cmd, now),
        Command::Settings(cmd) => privacy_cmd::settings(cli, out, &actor, cmd),
        Command::Sync(cmd) => sync_cmd::sync(cli, out, &actor, cmd, now),
        Command::Device(cmd) => device_cmd::device(cli, out, &actor, cmd, now),
        Command::User(cmd) => device_cmd::user(cli, out, &actor, cmd, now),
        Command::Agent(cmd) => agent_cmd::agent(cli, out, &actor, cmd, now),
        Command::Reviews { agent } => {
            let decisions = cli.store()?.decisions(&actor, agent.as_deref())?;
            if cli.json {
                for d in &decisions {
                    out.json_line(d)?;
                }
            } else {
                out.lines(decisions.iter().map(|d| {
                    format!(
                        "{}  {}  {}  {}  by {}  at {}{}",
                        d.date,
                        d.agent,
                        d.decision,
                        d.event_id.as_deref().unwrap_or("whole day"),
                        d.reviewer,
                        d.decided_at,
                        d.note
                            .as_deref()
                            .map(|n| format!("  \"{n}\""))
                            .unwrap_or_default()
                    )
                }))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Copy { to }) => {
            use fieldcheck_core::store_location::{StoreLocation, shown};
            if !matches!(StoreLocation::of(to), StoreLocation::Postgres(_)) {
                return Err(Error::invalid(
                    "to",
                    format!(
                        "{} is not a PostgreSQL URL: a store is copied into postgres://…",
                        to.display()
                    ),
                ));
            }
            // The source is opened with the key only if it seals: a store
            // written in clear (an SQLite file, or a PostgreSQL store from
            // before sealing) is what `store copy` moves into sealing.
            let source_path = cli.db.as_deref().unwrap_or(Path::new("fieldcheck.db"));
            let as_source = OpenOptions {
                copy_source: true,
                ..Default::default()
            };
            let source = match Store::open_with(source_path, &as_source) {
                Err(Error::MasterKey(_)) => cli.open_store(source_path)?,
                opened => opened?,
            };
            let target = cli.open_store(to)?;
            let spinner = out.spinner("copying");
            let report = source.copy_into(&actor, &target)?;
            spinner.finish_and_clear();
            out.value(
                &json!({ "to": shown(to), "tables": report.tables, "rows": report.rows }),
                |w| {
                    writeln!(
                        w,
                        "copied {} row(s) of {} table(s) into {}",
                        report.rows,
                        report.tables,
                        shown(to)
                    )
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Purge => {
            let store = cli.store()?;
            let spinner = out.spinner("purging");
            let report = store.purge(&actor, now)?;
            spinner.finish_and_clear();
            out.value(&report, |w| {
                writeln!(
                    w,
                    "purged {} retained location(s) and {} attendance event(s); {} ledger entries anchored",
                    report.retained_locations, report.attendance_events, report.anchored_events
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(cmd) => keys(cli, out, &actor, cmd, now),
        Command::Verify => {
            let store = cli.store()?;
            // Kept for the console's devices page (a store that can be read
            // but not written still gets its answer).
            let report = match store.verify_and_record(now) {
                Ok(report) => report,
                Err(e) if e.kind() == ErrorKind::Storage => store.verify()?,
                Err(e) => return Err(e),
            };
            out.value(&report, |w| match &report.first_broken {
                None => writeln!(
                    w,
                    "chain intact: {} event(s) verified{}{}",
                    report.events_checked,
                    if report.anchored_events > 0 {
                        format!(" after an anchor of {}", report.anchored_events)
                    } else {
                        String::new()
                    },
                    if report.imported_events_checked > 0 {
                        format!(
                            ", and {} imported event(s) with every row derived from them",
                            report.imported_events_checked
                        )
                    } else {
                        String::new()
                    }
                ),
                Some(b) if b.device_id.is_none() && b.table.is_none() => writeln!(
                    w,
                    "chain BROKEN at event {} ({} {}): {}",
                    b.seq,
                    b.event_type.as_deref().unwrap_or("?"),
                    b.event_id.as_deref().unwrap_or("?"),
                    b.problem
                ),
                Some(b) => writeln!(w, "BROKEN: {b}"),
            })?;
            Ok(if report.intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Demo { via_server } => {
            demo::run(&demo_path(cli), *via_server, out, now)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            bench::run(args, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ReportProbe(args) => {
            bench::probe(&cli.store()?, args, now, out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `demo` writes its own file unless `--db` names one.
fn demo_path(cli: &Cli) -> PathBuf {
    cli.db
        .clone()
        .unwrap_or_else(|| PathBuf::from("fieldcheck-demo.db"))
}

impl Cli {
    fn store(&self) -> Result<Store, Error> {
        self.open_store(self.db.as_deref().unwrap_or(Path::new("fieldcheck.db")))
    }

    /// The master key given, read before any store is touched.
    fn master_key(&self) -> Result<Option<MasterKey>, Error> {
        self.master_key_file
            .as_deref()
            .map(|path| MasterKey::read(path).map_err(|e| Error::MasterKey(e.to_string())))
            .transpose()
    }

    fn open_store(&self, location: &Path) -> Result<Store, Error> {
        Store::open_with(
            location,
            &OpenOptions {
                master_key: self.master_key()?,
                ..Default::default()
            },
        )
    }
}

/// The verb `cmd` names when only a phone's store takes it (PRODUCT.md
/// §12.5): what a phone records and sends, which a server's database never
/// holds as its own.
fn phone_verb(cmd: &Command) -> Option<&'static str> {
    use device_cmd::DeviceCommand;
    use field::{LeadCommand, TxnCommand};
    use privacy_cmd::PushCommand;
    use sync_cmd::SyncCommand;
    Some(match cmd {
        Command::CheckIn(_) => "check-in",
        Command::CheckOut(_) => "check-out",
        Command::Consent(ConsentCommand::Grant(_)) => "consent grant",
        Command::Consent(ConsentCommand::Withdraw(_)) => "consent withdraw",
        Command::Lead(LeadCommand::Add { .. }) => "lead add",
        Command::Lead(LeadCommand::Update { .. }) => "lead update",
        Command::Txn(TxnCommand::Add { .. }) => "txn add",
        Command::Push(PushCommand::Register { .. }) => "push register",
        Command::Device(DeviceCommand::Enrol { .. }) => "device enrol",
        Command::Sync(SyncCommand::Push { .. }) => "sync push",
        Command::Sync(SyncCommand::Pull) => "sync pull",
        Command::Sync(SyncCommand::Pending { .. }) => "sync pending",
        Command::Sync(SyncCommand::Ack { .. }) => "sync ack",
        Command::Demo { .. } => "demo",
        _ => return None,
    })
}

/// A phone's verb given a PostgreSQL URL: refused (exit 2) before anything
/// is opened, the URL shown without its password.
fn refuse_phone_verb_on_postgres(cli: &Cli) -> Result<(), Error> {
    use fieldcheck_core::store_location::{StoreLocation, shown};
    let (Some(db), Some(verb)) = (cli.db.as_deref(), phone_verb(&cli.command)) else {
        return Ok(());
    };
    if let StoreLocation::Postgres(_) = StoreLocation::of(db) {
        return Err(Error::invalid(
            "db",
            format!(
                "{} is a PostgreSQL database, a server's store; `{verb}` runs on a phone's \
                 store: give an SQLite file",
                shown(db)
            ),
        ));
    }
    Ok(())
}

fn optional_time(field: &str, text: &Option<String>) -> Result<Option<DateTime<Utc>>, Error> {
    text.as_deref()
        .map(|t| time::parse_rfc3339(field, t))
        .transpose()
}

fn site(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &SiteCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        SiteCommand::Import { file } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::invalid("file", format!("cannot read {}: {e}", file.display()))
            })?;
            // Validate the whole file before the store is even opened.
            fieldcheck_core::geofence::parse_sites(&text)?;
            let store = cli.store()?;
            let spinner = out.spinner("importing sites");
            let summary = store.import_sites(actor, &text, now)?;
            spinner.finish_and_clear();
            out.value(&summary, |w| {
                writeln!(
                    w,
                    "imported {} site(s): {} new, {} replaced",
                    summary.added + summary.replaced,
                    summary.added,
                    summary.replaced
                )
            })?;
        }
        SiteCommand::List => {
            let sites = cli.store()?.sites()?;
            if cli.json {
                for site in &sites {
                    out.json_line(&output::site_json(site))?;
                }
            } else {
                out.sites_table(&sites)?;
            }
        }
        SiteCommand::Export { out: file } => {
            let geojson = cli.store()?.export_sites()?;
            match file {
                Some(path) => std::fs::write(path, geojson + "\n")?,
                None => out.raw(&geojson)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn consent(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &ConsentCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        ConsentCommand::Grant(args) | ConsentCommand::Withdraw(args) => {
            let change = ConsentChange {
                subject: args.agent.clone(),
                permission: match args.permission {
                    PermissionArg::Location => Permission::Location,
                    PermissionArg::Push => Permission::Push,
                },
                granted: matches!(cmd, ConsentCommand::Grant(_)),
                policy_version: args.policy_version.clone(),
                source: args.source.map(|s| match s {
                    SourceArg::App => ConsentSource::App,
                    SourceArg::OsSettings => ConsentSource::OsSettings,
                    SourceArg::Admin => ConsentSource::Admin,
                }),
            };
            let entry = cli.store()?.change_consent(actor, &change, now)?;
            out.value(&entry, |w| {
                writeln!(
                    w,
                    "{} consent {} for {} (policy {}, entry {})",
                    entry.permission,
                    if entry.granted {
                        "granted"
                    } else {
                        "withdrawn"
                    },
                    entry.subject,
                    entry.policy_version,
                    entry.id
                )
            })?;
        }
        ConsentCommand::Show { agent } => {
            let store = cli.store()?;
            let state = store.consent_state(actor, agent)?;
            let history = store.consent_history(actor, agent)?;
            let standing = store.consent_standing(actor, agent)?;
            let value = json!({
                "agent": agent,
                "location": state.location,
                "push": state.push,
                "history": history,
                "current_policy_version": standing.current_policy_version,
                "renewal_required": standing.renewal_required,
                "location_authorised": standing.location_authorised,
            });
            out.value(&value, |w| {
                for (name, entry) in [("location", &state.location), ("push", &state.push)] {
                    match entry {
                        Some(e) => writeln!(
                            w,
                            "{name:<9} {} (policy {}, {} via {}, entry {})",
                            if e.granted { "granted" } else { "withdrawn" },
                            e.policy_version,
                            time::format_rfc3339(e.at),
                            e.source,
                            e.id
                        )?,
                        None => writeln!(w, "{name:<9} never asked")?,
                    }
                }
                if standing.renewal_required {
                    writeln!(
                        w,
                        "location consent must be renewed under policy {} before check-ins are judged",
                        standing.current_policy_version
                    )?;
                }
                writeln!(w, "{} ledger entr(ies)", history.len())
            })?;
        }
        ConsentCommand::Receipt { entry_id } => {
            return privacy_cmd::consent_receipt(cli, out, actor, entry_id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    kind: EventKind,
    args: &FixArgs,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    let captured_at = optional_time("at", &args.at)?.unwrap_or(now);
    let request = FixRequest {
        agent: args.agent.clone(),
        kind,
        fix: Fix {
            lat: args.lat,
            lon: args.lon,
            accuracy_m: args.accuracy,
            captured_at,
            is_mock: args.mock,
        },
    };
    fieldcheck_core::types::validate_id("agent", &request.agent)?;
    request.fix.validate()?;
    let event = cli.store()?.record_fix(actor, &request, now)?;
    out.value(&event, |w| {
        let verdict = if event.accepted {
            "ACCEPTED"
        } else {
            "REJECTED"
        };
        write!(w, "{verdict} {} {}", event.kind, event.position)?;
        if let Some(site) = &event.site_id {
            write!(w, " at {site}")?;
        }
        if let Some(d) = event.distance_m {
            write!(w, " ({d} m away)")?;
        }
        if !event.reasons.is_empty() {
            write!(w, " [{}]", event.reasons_text())?;
        }
        if event.location_retained {
            write!(w, " (location retained under an audit flag)")?;
        }
        writeln!(w, "\nevent {}", event.id)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn audit(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &AuditCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        AuditCommand::Flag {
            agent,
            site,
            everyone,
            purpose,
            reason,
            until,
        } => {
            let scope = match (agent, site, everyone) {
                (Some(a), None, false) => FlagScope::Agent(a.clone()),
                (None, Some(s), false) => FlagScope::Site(s.clone()),
                (None, None, true) => FlagScope::Everyone,
                _ => {
                    return Err(Error::invalid(
                        "scope",
                        "give exactly one of --agent, --site, --everyone",
                    ));
                }
            };
            let request = FlagRequest {
                scope,
                purpose: match purpose {
                    PurposeArg::Audit => FlagPurpose::Audit,
                    PurposeArg::Security => FlagPurpose::Security,
                },
                reason: reason.clone(),
                expires_at: time::parse_rfc3339("until", until)?,
            };
            let flag = cli.store()?.set_flag(actor, &request, now)?;
            out.value(&flag, |w| {
                writeln!(
                    w,
                    "{} flag {} on {}{} until {}",
                    flag.purpose,
                    flag.id,
                    flag.scope.kind(),
                    flag.scope.id().map(|s| format!(" {s}")).unwrap_or_default(),
                    time::format_rfc3339(flag.expires_at)
                )
            })?;
        }
        AuditCommand::List { agent } => {
            let flags = cli.store()?.flags(actor, agent.as_deref(), now)?;
            if cli.json {
                for flag in &flags {
                    out.json_line(flag)?;
                }
            } else {
                out.flags_table(&flags, now)?;
            }
        }
        AuditCommand::End { flag_id } => {
            let flag = cli.store()?.end_flag(actor, flag_id, now)?;
            out.value(&flag, |w| writeln!(w, "flag {flag_id} ended"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn keys(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &KeysCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        KeysCommand::Init { out: path } => {
            MasterKey::create_file(path).map_err(|e| Error::MasterKey(e.to_string()))?;
            out.value(&json!({ "written": path }), |w| {
                writeln!(
                    w,
                    "wrote a new master key to {} (mode 0600): keep a copy offline; \
                     without it the sealed values cannot be read",
                    path.display()
                )
            })?;
        }
        KeysCommand::Status => {
            let status = cli.store()?.key_status(actor)?;
            out.value(&status, |w| match (status.epoch, &status.since) {
                (Some(epoch), Some(since)) => writeln!(
                    w,
                    "sealed: key epoch {epoch} since {since}, {} live data key(s)",
                    status.data_keys
                ),
                _ => writeln!(w, "not sealed: personal values are stored in clear"),
            })?;
        }
        KeysCommand::Rotate {
            new_master_key_file,
        } => {
            let new = MasterKey::read(new_master_key_file)
                .map_err(|e| Error::MasterKey(e.to_string()))?;
            let rotation = cli.store()?.rotate_master_key(actor, &new, now)?;
            out.value(&rotation, |w| {
                writeln!(
                    w,
                    "re-wrapped {} data key(s) under key epoch {}: start every instance with the \
                     new master key; destroy the old one once the backups made under it expire",
                    rotation.rewrapped, rotation.epoch
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
