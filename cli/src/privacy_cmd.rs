//! Privacy commands (PRODUCT.md §5, §8, §10): privacy-policy versions, push
//! tokens, consent receipts and their controller settings, restriction of
//! processing and the data-subject request log.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use fieldcheck_core::receipt::ReceiptContext;
use fieldcheck_core::store::RequestFilter;
use fieldcheck_core::{Actor, DataSubject, Error, Request, RequestKind, time};
use serde_json::json;

use crate::Cli;
use crate::output::Output;

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Publish a privacy-policy version (admins). With --requires-renewal,
    /// location consents given under older versions stop authorising
    /// check-ins until the agent grants again.
    Publish {
        #[arg(long)]
        version: String,
        #[arg(long)]
        requires_renewal: bool,
    },
    /// Published versions, oldest first (one JSON object per line with --json).
    List,
}

#[derive(Subcommand, Debug)]
pub enum PushCommand {
    /// Store the agent's push token; refused unless push consent is granted.
    Register {
        #[arg(long)]
        agent: String,
        #[arg(long)]
        token: String,
    },
    /// Whether a push token is registered for the agent.
    Show {
        #[arg(long)]
        agent: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SettingsCommand {
    /// Set the data controller that consent receipts name (admins).
    Controller(Box<ControllerArgs>),
    /// Tune the rules fixes are judged by (admins); the ones not given keep
    /// their value. Without options: show the rules. On a server's store
    /// they reach every enrolled device with its next pull.
    Rules(RulesArgs),
    /// Show the stored settings.
    Show,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// A fix captured longer ago than this is `stale_fix`.
    #[arg(long, value_name = "N")]
    max_fix_age_s: Option<i64>,
    /// A fix captured further ahead than this is `future_fix`.
    #[arg(long, value_name = "N")]
    max_clock_skew_s: Option<i64>,
    /// Fixes less accurate than this (metres, 68 %) are `low_accuracy`.
    #[arg(long, value_name = "N")]
    max_accuracy_m: Option<f64>,
    /// Faster apparent travel between two sites is `impossible_travel`.
    #[arg(long, value_name = "N")]
    max_travel_speed_kmh: Option<f64>,
    /// Minutes after shift start before an agent counts as late.
    #[arg(long, value_name = "N")]
    late_grace_min: Option<i64>,
    /// Days retained coordinates outlive their flag.
    #[arg(long, value_name = "N")]
    audit_retention_days: Option<i64>,
    /// IANA zone days are counted in for agents without a shift.
    #[arg(long, value_name = "ZONE")]
    time_zone: Option<String>,
}

#[derive(Args, Debug)]
pub struct ControllerArgs {
    /// Legal name of the data (PII) controller.
    #[arg(long)]
    name: String,
    /// Person or office to contact, e.g. "Data Protection Officer".
    #[arg(long)]
    contact: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    phone: String,
    /// Postal address, one line.
    #[arg(long)]
    address: String,
    /// Legal territory, e.g. ID.
    #[arg(long)]
    jurisdiction: String,
    /// Where the privacy policy is published (receipts add ?version=V).
    #[arg(long)]
    policy_url: String,
    /// The controller's web site.
    #[arg(long)]
    url: Option<String>,
    /// Language of the receipts' texts (BCP 47).
    #[arg(long, default_value = "en")]
    language: String,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("subject").required(true).args(["agent", "lead"])))]
pub struct SubjectArgs {
    #[arg(long)]
    agent: Option<String>,
    /// A lead id: the customer recorded in that lead.
    #[arg(long)]
    lead: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Result<DataSubject, Error> {
        match (&self.agent, &self.lead) {
            (Some(a), None) => Ok(DataSubject::agent(a.clone())),
            (None, Some(l)) => Ok(DataSubject::lead(l.clone())),
            _ => Err(Error::invalid(
                "subject",
                "give exactly one of --agent, --lead",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RequestKindArg {
    Access,
    Rectification,
    Erasure,
    Restriction,
    LiftRestriction,
}

impl From<RequestKindArg> for RequestKind {
    fn from(k: RequestKindArg) -> RequestKind {
        match k {
            RequestKindArg::Access => RequestKind::Access,
            RequestKindArg::Rectification => RequestKind::Rectification,
            RequestKindArg::Erasure => RequestKind::Erasure,
            RequestKindArg::Restriction => RequestKind::Restriction,
            RequestKindArg::LiftRestriction => RequestKind::LiftRestriction,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum PrivacyCommand {
    /// Everything held about a subject as one JSON document (access and
    /// portability). Admins, or agents for themselves; logged as a request.
    Export {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Erase a subject's personal fields (admins); answers what was erased
    /// and what is kept under a legal hold, with the reason and the date.
    Erase(SubjectArgs),
    /// Restrict processing for a subject: kept but not processed (check-ins
    /// refused with `restricted`). Logged as a request, done at once.
    Restrict(SubjectArgs),
    /// Lift a restriction. Logged as a request, done at once.
    Unrestrict(SubjectArgs),
    /// Data-subject requests with their due dates (admins; NDJSON with --json).
    Requests {
        /// Only open requests past their due date (30 days after receipt).
        #[arg(long)]
        overdue: bool,
        /// Only open requests.
        #[arg(long)]
        open: bool,
    },
    /// Log a request received now (admins); due in 30 days.
    LogRequest {
        #[command(flatten)]
        subject: SubjectArgs,
        #[arg(long, value_enum)]
        kind: RequestKindArg,
    },
    /// Mark a request done (admins).
    CompleteRequest { request_id: String },
}

pub fn policy(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &PolicyCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        PolicyCommand::Publish {
            version,
            requires_renewal,
        } => {
            let published = cli
                .store()?
                .publish_policy(actor, version, *requires_renewal, now)?;
            out.value(&published, |w| {
                writeln!(
                    w,
                    "privacy policy {} published{} (event {})",
                    published.version,
                    if published.requires_renewal {
                        "; location consents under older versions must be renewed"
                    } else {
                        ""
                    },
                    published.id
                )
            })?;
        }
        PolicyCommand::List => {
            let versions = cli.store()?.policy_versions()?;
            if cli.json {
                for v in &versions {
                    out.json_line(v)?;
                }
            } else if versions.is_empty() {
                out.raw(&format!(
                    "no privacy policy published; consents record version {}",
                    fieldcheck_core::consent::DEFAULT_POLICY_VERSION
                ))?;
            } else {
                out.lines(versions.iter().map(|v| {
                    format!(
                        "{:<16} {} by {}{}",
                        v.version,
                        time::format_rfc3339(v.published_at),
                        v.published_by.id,
                        if v.requires_renewal {
                            "  requires renewal"
                        } else {
                            ""
                        }
                    )
                }))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn push(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &PushCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        PushCommand::Register { agent, token } => {
            let store = cli.store()?;
            store.register_push_token(actor, agent, token, now)?;
            // The token is personal data: it is not echoed.
            let value = json!({"agent": agent, "registered": true});
            out.value(&value, |w| writeln!(w, "push token registered for {agent}"))?;
        }
        PushCommand::Show { agent } => {
            let token = cli.store()?.push_token(actor, agent)?;
            let value = json!({
                "agent": agent,
                "registered": token.is_some(),
                "token": token,
            });
            out.value(&value, |w| match &token {
                Some(t) => writeln!(w, "{agent}: push token {t}"),
                None => writeln!(w, "{agent}: no push token"),
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn settings(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &SettingsCommand,
) -> Result<ExitCode, Error> {
    match cmd {
        SettingsCommand::Controller(args) => {
            let ctx = ReceiptContext {
                controller_name: args.name.clone(),
                controller_contact: args.contact.clone(),
                controller_email: args.email.clone(),
                controller_phone: args.phone.clone(),
                controller_address: args.address.clone(),
                controller_url: args.url.clone(),
                jurisdiction: args.jurisdiction.clone(),
                policy_url: args.policy_url.clone(),
                language: args.language.clone(),
            };
            // Checked before the store is opened.
            actor.must_be_admin()?;
            ctx.validate()?;
            cli.store()?.set_receipt_context(actor, &ctx)?;
            out.value(&json!({"controller": ctx}), |w| {
                writeln!(w, "receipt controller set: {}", ctx.controller_name)
            })?;
        }
        SettingsCommand::Rules(args) => {
            let store = cli.store()?;
            let mut rules = store.rules();
            let before = rules.clone();
            let set = |slot: &mut i64, value: Option<i64>| {
                if let Some(v) = value {
                    *slot = v;
                }
            };
            set(&mut rules.max_fix_age_s, args.max_fix_age_s);
            set(&mut rules.max_clock_skew_s, args.max_clock_skew_s);
            set(&mut rules.late_grace_min, args.late_grace_min);
            set(&mut rules.audit_retention_days, args.audit_retention_days);
            if let Some(v) = args.max_accuracy_m {
                rules.max_accuracy_m = v;
            }
            if let Some(v) = args.max_travel_speed_kmh {
                rules.max_travel_speed_kmh = v;
            }
            if let Some(zone) = &args.time_zone {
                rules.time_zone = zone.clone();
            }
            if rules != before {
                actor.must_be_admin()?;
                rules.validate()?;
                store.set_rules(actor, rules.clone())?;
            }
            out.value(&json!({"rules": rules}), |w| {
                writeln!(
                    w,
                    "max_fix_age_s {}  max_clock_skew_s {}  max_accuracy_m {}  max_travel_speed_kmh {}  \
                     late_grace_min {}  audit_retention_days {}  max_flag_days {}  time_zone {}",
                    rules.max_fix_age_s,
                    rules.max_clock_skew_s,
                    rules.max_accuracy_m,
                    rules.max_travel_speed_kmh,
                    rules.late_grace_min,
                    rules.audit_retention_days,
                    rules.max_flag_days,
                    rules.time_zone
                )
            })?;
        }
        SettingsCommand::Show => {
            let ctx = cli.store()?.receipt_context()?;
            out.value(&json!({"controller": ctx}), |w| match &ctx {
                Some(c) => writeln!(
                    w,
                    "controller: {} ({}, {}, {}; {}), jurisdiction {}, policy {}, language {}",
                    c.controller_name,
                    c.controller_contact,
                    c.controller_email,
                    c.controller_phone,
                    c.controller_address,
                    c.jurisdiction,
                    c.policy_url,
                    c.language
                ),
                None => writeln!(
                    w,
                    "controller: not set (consent receipts need it: `fieldcheck settings controller`)"
                ),
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `consent receipt ENTRY_ID`: the Kantara / ISO 27560 receipt, always JSON
/// (pretty without --json, one line with it).
pub fn consent_receipt(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    entry_id: &str,
) -> Result<ExitCode, Error> {
    let receipt = cli.store()?.consent_receipt(actor, entry_id)?;
    let pretty = serde_json::to_string_pretty(&receipt)?;
    out.value(&receipt, |w| writeln!(w, "{pretty}"))?;
    Ok(ExitCode::SUCCESS)
}

pub fn privacy(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &PrivacyCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        PrivacyCommand::Export { subject, out: file } => {
            let subject = subject.subject()?;
            subject.validate()?;
            let export = cli.store()?.export_subject(actor, &subject, now)?;
            let mut text = serde_json::to_string_pretty(&export)?;
            text.push('\n');
            match file {
                Some(path) => {
                    std::fs::write(path, &text)?;
                    if !cli.json {
                        eprintln!("wrote {}", path.display());
                    }
                }
                None => out.bytes(text.as_bytes())?,
            }
        }
        PrivacyCommand::Erase(args) => {
            let subject = args.subject()?;
            subject.validate()?;
            let report = cli.store()?.erase_subject(actor, &subject, now)?;
            out.value(&report, |w| {
                writeln!(
                    w,
                    "erased personal data of {subject} (request {})",
                    report.request.id
                )?;
                for e in &report.erased {
                    writeln!(w, "  erased {:<32} {}", e.category, e.count)?;
                }
                for k in &report.kept {
                    writeln!(
                        w,
                        "  kept   {:<32} {} until {}: {}",
                        k.category,
                        k.count,
                        k.until
                            .map(time::format_rfc3339)
                            .unwrap_or_else(|| "the reason ends".into()),
                        k.reason
                    )?;
                }
                Ok(())
            })?;
        }
        PrivacyCommand::Restrict(args) | PrivacyCommand::Unrestrict(args) => {
            let restricted = matches!(cmd, PrivacyCommand::Restrict(_));
            let subject = args.subject()?;
            subject.validate()?;
            let (entry, request) = cli.store()?.restrict(actor, &subject, restricted, now)?;
            let value = json!({"restriction": entry, "request": request});
            out.value(&value, |w| {
                writeln!(
                    w,
                    "processing {} for {subject} (request {} done)",
                    if restricted {
                        "restricted"
                    } else {
                        "no longer restricted"
                    },
                    request.id
                )
            })?;
        }
        PrivacyCommand::Requests { overdue, open } => {
            let filter = RequestFilter {
                subject: None,
                open_only: *open,
                overdue_at: overdue.then_some(now),
            };
            let requests = cli.store()?.requests(actor, &filter)?;
            if cli.json {
                for r in &requests {
                    out.json_line(&request_json(r, now))?;
                }
            } else {
                out.lines(
                    std::iter::once(format!(
                        "{:<36} {:<16} {:<24} {:<20} {:<20} status",
                        "request", "kind", "subject", "received", "due"
                    ))
                    .chain(requests.iter().map(|r| {
                        format!(
                            "{:<36} {:<16} {:<24} {:<20} {:<20} {}",
                            r.id,
                            r.kind.as_str(),
                            r.subject.to_string(),
                            time::format_rfc3339(r.received_at),
                            time::format_rfc3339(r.due_at),
                            match r.completed_at {
                                Some(at) => format!("done {}", time::format_rfc3339(at)),
                                None if r.is_overdue(now) => "OVERDUE".to_string(),
                                None => "open".to_string(),
                            }
                        )
                    })),
                )?;
            }
        }
        PrivacyCommand::LogRequest { subject, kind } => {
            let subject = subject.subject()?;
            subject.validate()?;
            let request = cli
                .store()?
                .log_request(actor, &subject, (*kind).into(), now)?;
            out.value(&request_json(&request, now), |w| {
                writeln!(
                    w,
                    "{} request {} for {subject} logged; due {}",
                    request.kind,
                    request.id,
                    time::format_rfc3339(request.due_at)
                )
            })?;
        }
        PrivacyCommand::CompleteRequest { request_id } => {
            let request = cli.store()?.complete_request(actor, request_id, now)?;
            out.value(&request_json(&request, now), |w| {
                writeln!(w, "request {} done", request.id)
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A request as listed: its fields plus whether it is overdue now.
fn request_json(r: &Request, now: DateTime<Utc>) -> serde_json::Value {
    let mut value = serde_json::to_value(r).unwrap_or_default();
    value["overdue"] = json!(r.is_overdue(now));
    value
}
