//! Commands of the field sales log and supervisor review: leads,
//! transactions, shifts, reviews and reports (PRODUCT.md §6, §7, §10).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use fieldcheck_core::report::render::{self, DocumentFormat};
use fieldcheck_core::{
    Actor, Decision, Error, LeadFilter, LeadStatus, LeadUpdate, NewLead, NewTransaction,
    ReportQuery, Shift, TxnKind, WeekdaySet, shift, time,
};
use serde_json::{Value, json};

use crate::Cli;
use crate::output::Output;

#[derive(Subcommand, Debug)]
pub enum LeadCommand {
    /// Create a lead; prints its id.
    Add {
        #[arg(long)]
        agent: String,
        /// The customer's name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Product of interest.
        #[arg(long)]
        product: Option<String>,
        /// Where the lead came from.
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Change a lead's status or fields (each change is a new version).
    Update {
        id: String,
        /// new, contacted, qualified, proposal, won, lost (forward or to lost).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        product: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// List leads (one JSON object per line with --json).
    List {
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
    /// Every version of one lead: who changed what, when.
    History { id: String },
}

#[derive(Subcommand, Debug)]
pub enum TxnCommand {
    /// Record a transaction; prints its id.
    Add {
        #[arg(long)]
        agent: String,
        /// policy_closing, premium_payment, renewal, cancellation.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        policy_number: String,
        #[arg(long)]
        product: String,
        /// Decimal amount in the currency's units (e.g. 1500000.50).
        #[arg(long, allow_negative_numbers = true)]
        amount: String,
        /// ISO 4217 code (IDR, EUR, SEK, JPY, KWD, ...).
        #[arg(long)]
        currency: String,
        #[arg(long)]
        lead: Option<String>,
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
    },
    /// List transactions (one JSON object per line with --json).
    List {
        #[arg(long)]
        agent: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ShiftCommand {
    /// Set an agent's shift; days and lateness are computed in its zone.
    /// With --from it applies from that local date on and earlier days keep
    /// the shift they had; without, it applies to every day.
    Set {
        #[arg(long)]
        agent: String,
        /// First local date it applies to, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Local start, HH:MM.
        #[arg(long)]
        start: String,
        /// Local end, HH:MM (before start: ends the next day).
        #[arg(long)]
        end: String,
        /// The days this start and end apply to, e.g. mon-fri, fri, daily
        /// (default: daily). With --from, the other days keep theirs.
        #[arg(long, visible_alias = "days")]
        weekdays: Option<String>,
        /// Days off, e.g. sat,sun (taken out of --weekdays).
        #[arg(long)]
        off: Option<String>,
        /// IANA zone, e.g. Asia/Jakarta (default: the agent's zone, else the
        /// store's).
        #[arg(long)]
        tz: Option<String>,
    },
    /// Every agent's shift in force now; with --agent, that agent's versions.
    List {
        #[arg(long)]
        agent: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Html,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// First local date, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last local date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    to: String,
    #[arg(long)]
    agent: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Per agent and local day: check-in/out, lateness, rejections, reviews.
    Attendance(ReportArgs),
    /// Per agent: leads by status, conversion, closings, premium.
    Sales(ReportArgs),
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("decision").required(true).args(["approve", "reject"])))]
pub struct ReviewArgs {
    /// The attendance event reviewed (or, with --agent and --date, none:
    /// the decision is on the agent's whole day).
    #[arg(required_unless_present_all = ["agent", "date"], conflicts_with_all = ["agent", "date"])]
    event_id: Option<String>,
    /// The agent of a day decision.
    #[arg(long, requires = "date")]
    agent: Option<String>,
    /// The agent's local date (YYYY-MM-DD) of a day decision.
    #[arg(long, requires = "agent")]
    date: Option<String>,
    #[arg(long)]
    approve: bool,
    #[arg(long)]
    reject: bool,
    #[arg(long)]
    note: String,
}

/// JSON of a created record: its fields plus `id`, so scripts need not know
/// each record's id field name.
fn with_id(value: Value, id: &str) -> Value {
    match value {
        Value::Object(mut map) => {
            map.insert("id".into(), Value::from(id));
            Value::Object(map)
        }
        other => other,
    }
}

pub fn lead(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &LeadCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        LeadCommand::Add {
            agent,
            name,
            phone,
            email,
            product,
            source,
            note,
        } => {
            let lead = cli.store()?.add_lead(
                actor,
                &NewLead {
                    agent: agent.clone(),
                    customer_name: name.clone(),
                    phone: phone.clone(),
                    email: email.clone(),
                    product: product.clone(),
                    source: source.clone(),
                    note: note.clone(),
                },
                now,
            )?;
            out.value(&with_id(serde_json::to_value(&lead)?, &lead.id), |w| {
                writeln!(w, "{}", lead.id)
            })?;
        }
        LeadCommand::Update {
            id,
            status,
            name,
            phone,
            email,
            product,
            source,
            note,
        } => {
            let update = LeadUpdate {
                status: status
                    .as_deref()
                    .map(|s| LeadStatus::parse("status", s))
                    .transpose()?,
                customer_name: name.clone(),
                phone: phone.clone(),
                email: email.clone(),
                product: product.clone(),
                source: source.clone(),
                note: note.clone(),
            };
            let lead = cli.store()?.update_lead(actor, id, &update, now)?;
            out.value(&with_id(serde_json::to_value(&lead)?, &lead.id), |w| {
                writeln!(w, "lead {} is {}", lead.id, lead.status)
            })?;
        }
        LeadCommand::List { agent, status } => {
            let filter = LeadFilter {
                agent: agent.clone(),
                status: status
                    .as_deref()
                    .map(|s| LeadStatus::parse("status", s))
                    .transpose()?,
            };
            let leads = cli.store()?.leads(actor, &filter)?;
            if cli.json {
                for lead in &leads {
                    out.json_line(&with_id(serde_json::to_value(lead)?, &lead.id))?;
                }
            } else {
                out.lines(leads.iter().map(|l| {
                    format!(
                        "{}  {:<10} {:<9} {}  {}",
                        l.id,
                        l.agent,
                        l.status,
                        l.customer_name.as_deref().unwrap_or("(erased)"),
                        l.product.as_deref().unwrap_or("")
                    )
                }))?;
            }
        }
        LeadCommand::History { id } => {
            let history = cli.store()?.lead_history(actor, id)?;
            for version in &history {
                out.json_line(&version.to_json_with_values()?)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn txn(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &TxnCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        TxnCommand::Add {
            agent,
            kind,
            policy_number,
            product,
            amount,
            currency,
            lead,
            at,
        } => {
            let request = NewTransaction {
                agent: agent.clone(),
                kind: TxnKind::parse("kind", kind)?,
                policy_number: policy_number.clone(),
                product: product.clone(),
                amount: amount.clone(),
                currency: currency.clone(),
                lead_id: lead.clone(),
                occurred_at: at
                    .as_deref()
                    .map(|t| time::parse_rfc3339("at", t))
                    .transpose()?,
            };
            // Amount and currency are checked before the store is opened.
            fieldcheck_core::money::parse_amount(&request.amount, &request.currency)?;
            let txn = cli.store()?.add_transaction(actor, &request, now)?;
            out.value(&with_id(serde_json::to_value(&txn)?, &txn.id), |w| {
                writeln!(w, "{}", txn.id)
            })?;
        }
        TxnCommand::List { agent } => {
            let txns = cli.store()?.transactions(actor, agent.as_deref())?;
            if cli.json {
                for t in &txns {
                    out.json_line(&with_id(serde_json::to_value(t)?, &t.id))?;
                }
            } else {
                out.lines(txns.iter().map(|t| {
                    format!(
                        "{}  {:<10} {:<15} {} {:>14}  {}",
                        time::format_rfc3339(t.occurred_at),
                        t.agent,
                        t.kind,
                        t.currency,
                        t.amount,
                        t.policy_number
                    )
                }))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn shift(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &ShiftCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        ShiftCommand::Set {
            agent,
            from,
            start,
            end,
            weekdays,
            off,
            tz,
        } => {
            if weekdays.is_none() && off.is_none() {
                return Err(Error::invalid(
                    "weekdays",
                    "name the working days (--weekdays mon-fri) or the days off (--off sat,sun)",
                ));
            }
            let working = match weekdays {
                Some(days) => WeekdaySet::parse(days)?,
                None => WeekdaySet::daily(),
            };
            let off = off.as_deref().map(WeekdaySet::parse).transpose()?;
            let days = match off {
                Some(off) => working.without(off)?,
                None => working,
            };
            let from = from
                .as_deref()
                .map(|d| time::parse_date("from", d))
                .transpose()?;
            let store = cli.store()?;
            let tz = match tz {
                Some(tz) => shift::parse_time_zone(tz)?,
                None => match store.shift(actor, agent)? {
                    Some(current) => current.tz,
                    None => shift::parse_time_zone(&store.rules().time_zone)?,
                },
            };
            let value = Shift::new(
                shift::parse_hhmm("start", start)?,
                shift::parse_hhmm("end", end)?,
                days,
                tz,
            )?;
            store.set_shift_from(actor, agent, from, &value, off, now)?;
            out.value(
                &json!({"agent": agent, "from": from, "shift": value}),
                |w| {
                    writeln!(
                        w,
                        "{agent}: {}-{} {} ({}){}",
                        value.start.format("%H:%M"),
                        value.end.format("%H:%M"),
                        value.days,
                        value.tz.name(),
                        from.map(|d| format!(" from {d}")).unwrap_or_default()
                    )
                },
            )?;
        }
        ShiftCommand::List { agent: Some(agent) } => {
            let versions = cli
                .store()?
                .shift_schedule(actor, agent)?
                .map(|s| s.versions)
                .unwrap_or_default();
            if cli.json {
                for v in &versions {
                    out.json_line(&json!({"agent": agent, "from": v.from, "shift": v.shift}))?;
                }
            } else {
                out.lines(versions.iter().map(|v| {
                    format!(
                        "{:<10} {}-{} {:<12} {}",
                        v.from.map_or("always".to_string(), |d| d.to_string()),
                        v.shift.start.format("%H:%M"),
                        v.shift.end.format("%H:%M"),
                        v.shift.days.to_string(),
                        v.shift.tz.name()
                    )
                }))?;
            }
        }
        ShiftCommand::List { agent: None } => {
            let shifts = cli.store()?.shifts(actor)?;
            if cli.json {
                for (agent, s) in &shifts {
                    out.json_line(&json!({"agent": agent, "shift": s}))?;
                }
            } else {
                out.lines(shifts.iter().map(|(agent, s)| {
                    format!(
                        "{agent:<12} {}-{} {:<12} {}",
                        s.start.format("%H:%M"),
                        s.end.format("%H:%M"),
                        s.days.to_string(),
                        s.tz.name()
                    )
                }))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn review(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    args: &ReviewArgs,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    let decision = if args.approve {
        Decision::Approved
    } else {
        Decision::Rejected
    };
    let store = cli.store()?;
    let (review, what) = match (&args.event_id, &args.agent, &args.date) {
        (Some(event), _, _) => (
            store.review(actor, event, decision, &args.note, now)?,
            format!("event {event}"),
        ),
        (None, Some(agent), Some(date)) => {
            let date = fieldcheck_core::time::parse_date("date", date)?;
            (
                store.review_day(actor, agent, date, decision, &args.note, now)?,
                format!("day {date} of {agent}"),
            )
        }
        _ => {
            return Err(Error::invalid(
                "event_id",
                "name an event, or --agent and --date",
            ));
        }
    };
    out.value(&with_id(serde_json::to_value(&review)?, &review.id), |w| {
        writeln!(
            w,
            "{what} {} by {} (review {})",
            review.decision, review.reviewer.id, review.id
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn report(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &ReportCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    let args = match cmd {
        ReportCommand::Attendance(a) | ReportCommand::Sales(a) => a,
    };
    let query = ReportQuery {
        from: time::parse_date("from", &args.from)?,
        to: time::parse_date("to", &args.to)?,
        agent: args.agent.clone(),
    };
    let store = cli.store()?;
    let format = match args.format {
        Format::Json => DocumentFormat::Json,
        Format::Csv => DocumentFormat::Csv,
        Format::Html => DocumentFormat::Html,
    };
    let bytes = match cmd {
        ReportCommand::Attendance(_) => {
            render::attendance_document(&store.attendance_report(actor, &query, now)?, format)?
        }
        ReportCommand::Sales(_) => {
            render::sales_document(&store.sales_report(actor, &query, now)?, format)?
        }
    };
    match &args.out {
        Some(path) => {
            write_atomically(path, &bytes)?;
            if !cli.json {
                eprintln!("wrote {}", path.display());
            }
        }
        None => out.bytes(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A report file appears whole or not at all.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| Error::Io(e.error))?;
    Ok(())
}
