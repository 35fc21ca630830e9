//! `fieldcheck sync`: a device's outbox and a supervisor's or backend's
//! imports (PRODUCT.md §9).
//!
//! Roles: `pending` and `status` by supervisors and admins (a batch holds
//! every agent's events, personal fields only as digests); `ack` and
//! `import` by admins only (§1: admins make imports; an acknowledgement
//! decides what the device will no longer send).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use fieldcheck_core::sync_client::{ShiftedClock, SyncClient};
use fieldcheck_core::{Actor, Error, SoftwareKey};

use crate::Cli;
use crate::http::HttpTransport;
use crate::output::Output;

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Print the next batch of the outbox: versioned JSON with chain links.
    Pending {
        /// At most this many events.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Start here instead of after the acknowledged seq (resend to an
        /// importer that lost events, e.g. restored from a backup).
        #[arg(long, value_name = "SEQ")]
        from: Option<i64>,
        /// Write the batch to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Put beside each attendance event the coordinates an audit flag
        /// kept (what `sync push` sends to the server).
        #[arg(long)]
        with_locations: bool,
    },
    /// Release the outbox up to SEQ once the importer has taken it.
    Ack {
        #[arg(long, value_name = "SEQ", allow_negative_numbers = true)]
        up_to: i64,
    },
    /// Import a batch from a device (all or nothing; a replay is absorbed).
    Import { file: PathBuf },
    /// This store's device id and outbox, and the devices it imported from.
    Status,
    /// Send the outbox to the enrolled server as signed batches until it is
    /// empty (retries network errors, 5xx and 429; resumes after a gap).
    Push {
        /// At most this many events per batch.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Fetch the review decisions made on the server about this device's
    /// agent, and the configuration the server decided (sites, rules,
    /// policy, flags, shift, restriction), applied in one transaction.
    Pull,
}

pub fn sync(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &SyncCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        SyncCommand::Pending {
            limit,
            from,
            out: file,
            with_locations,
        } => {
            let batch = cli
                .store()?
                .sync_pending_with(actor, *from, *limit, *with_locations)?;
            let text = serde_json::to_string(&batch)?;
            match file {
                Some(path) => {
                    std::fs::write(path, text + "\n")?;
                    if !cli.json {
                        eprintln!(
                            "{} event(s), {}..={} of {} ({})",
                            batch.events.len(),
                            batch.from_seq,
                            batch.to_seq,
                            batch.head_seq.unwrap_or(batch.to_seq),
                            path.display()
                        );
                    }
                }
                None => out.raw(&text)?,
            }
        }
        SyncCommand::Ack { up_to } => {
            let report = cli.store()?.sync_ack(actor, *up_to)?;
            out.value(&report, |w| {
                writeln!(
                    w,
                    "acknowledged up to {} of {}; {} event(s) pending",
                    report.acked_seq, report.head_seq, report.pending
                )
            })?;
        }
        SyncCommand::Import { file } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::invalid("file", format!("cannot read {}: {e}", file.display()))
            })?;
            let store = cli.store()?;
            // One transaction: the bar shows progress, the commit is at the
            // end. Each event has one top-level "seq" key (the canonical
            // texts inside are escaped).
            let events = text.matches("\"seq\":").count() as u64;
            let bar = out.progress(events, "importing");
            let report = store.sync_import_with(actor, &text, now, &|n| {
                bar.set_position(n as u64);
            })?;
            bar.finish_and_clear();
            out.value(&report, |w| {
                writeln!(
                    w,
                    "imported {} event(s), {} already held (replay); {} attendance event(s) added to reports",
                    report.imported, report.skipped_replayed, report.attendance_folded
                )?;
                if report.attendance_duplicates > 0 {
                    writeln!(
                        w,
                        "{} attendance event(s) were already held (recorded here or imported from another device) and not counted again",
                        report.attendance_duplicates
                    )?;
                }
                if report.retained_kept > 0 {
                    writeln!(
                        w,
                        "{} retained location(s) kept under this server's flags",
                        report.retained_kept
                    )?;
                }
                if report.retained_dropped > 0 {
                    writeln!(
                        w,
                        "{} retained location(s) dropped (only a server keeps them, under its own flags)",
                        report.retained_dropped
                    )?;
                }
                if report.purged_on_device > 0 {
                    writeln!(
                        w,
                        "{} event(s) arrived as links only (purged on the device before sync)",
                        report.purged_on_device
                    )?;
                }
                for d in &report.devices {
                    writeln!(w, "device {} now at event {}", d.device_id, d.last_seq)?;
                }
                Ok(())
            })?;
        }
        SyncCommand::Status => {
            let status = cli.store()?.sync_status(actor)?;
            out.value(&status, |w| {
                writeln!(
                    w,
                    "device {}: {} event(s), acknowledged up to {}, {} pending",
                    status.device_id, status.head_seq, status.acked_seq, status.pending
                )?;
                for d in &status.imported_devices {
                    writeln!(
                        w,
                        "imported from {}: up to event {} ({} held)",
                        d.device_id, d.last_seq, d.events
                    )?;
                }
                Ok(())
            })?;
        }
        SyncCommand::Push { limit } => {
            let store = cli.store()?;
            let link = store.server_link()?.ok_or_else(not_enrolled)?;
            let key = SoftwareKey::from_pkcs8(link.signing_key.as_deref().ok_or_else(|| {
                Error::invalid("key", "this store's key is held by a platform keystore")
            })?)?;
            let transport = HttpTransport::new();
            let report = SyncClient::new(&store, &transport, &ShiftedClock::reading(now))
                .push(&key, *limit)?;
            out.value(&report, |w| {
                writeln!(
                    w,
                    "sent {} event(s) in {} batch(es); acknowledged up to {}, {} pending",
                    report.events, report.batches, report.acked_seq, report.pending
                )
            })?;
        }
        SyncCommand::Pull => {
            let store = cli.store()?;
            let transport = HttpTransport::new();
            let report = SyncClient::new(&store, &transport, &ShiftedClock::reading(now)).pull()?;
            out.value(&report, |w| {
                writeln!(w, "{} new decision(s)", report.decisions)?;
                if report.config_reset {
                    writeln!(
                        w,
                        "configuration replaced by the server's ({} change(s))",
                        report.config
                    )?;
                } else if report.config > 0 {
                    writeln!(
                        w,
                        "{} configuration change(s): {}",
                        report.config,
                        report.config_kinds.join(", ")
                    )?;
                }
                if report.consent_renewal_required {
                    writeln!(
                        w,
                        "location consent must be granted again under the new privacy policy"
                    )?;
                }
                if report.restricted {
                    writeln!(w, "processing is restricted: check-ins are refused")?;
                }
                Ok(())
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn not_enrolled() -> Error {
    Error::invalid(
        "server",
        "this store is not enrolled with a server (run `fieldcheck device enrol`)",
    )
}
