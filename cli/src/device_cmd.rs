//! `fieldcheck device` and `fieldcheck user` (PRODUCT.md §12.1–§12.2):
//! enrolment codes, devices and console users on a server's store, and a
//! device store's enrolment with its server.

use std::io::BufRead;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use fieldcheck_core::console_user::hash_password;
use fieldcheck_core::device::DEFAULT_CODE_VALID_MIN;
use fieldcheck_core::sync_client::{ShiftedClock, SyncClient};
use fieldcheck_core::{Actor, Error, Platform, SoftwareKey, UserRole};
use serde_json::json;

use crate::Cli;
use crate::http::HttpTransport;
use crate::output::Output;

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// On a device store: enrol with a server using a one-time code.
    Enrol {
        /// The server's base URL, e.g. https://sync.example.com
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        /// Allow a plain http:// server off this machine (the device token
        /// then crosses the network unencrypted; coordinates never do).
        #[arg(long)]
        insecure: bool,
    },
    /// On the server's store: mint a one-time enrolment code for an agent.
    EnrolCode {
        #[arg(long)]
        agent: String,
        /// Minutes the code stays valid.
        #[arg(long, default_value_t = DEFAULT_CODE_VALID_MIN)]
        valid_min: i64,
    },
    /// On the server's store: enrolled devices (one JSON object a line).
    List,
    /// On the server's store: revoke a device; its token stops working.
    Revoke {
        #[arg(long)]
        device: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a console user; the password is read from stdin.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long, value_enum)]
        user_role: UserRoleArg,
        /// The agents a supervisor sees (comma-separated).
        #[arg(long, value_delimiter = ',')]
        team: Vec<String>,
        /// Read the password from the first line of stdin.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Console users (one JSON object a line; never a hash).
    List,
    /// Disable a user: no more sign-ins, their sessions end (never the last
    /// enabled admin).
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        id: String,
    },
    /// Set a user's password (read from stdin); their sessions end.
    Password {
        #[arg(long)]
        id: String,
        /// Read the password from the first line of stdin.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// The first line of stdin, without its line end.
fn password_from_stdin() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum UserRoleArg {
    Supervisor,
    Admin,
}

pub fn device(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &DeviceCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        DeviceCommand::Enrol {
            server,
            code,
            insecure,
        } => {
            let store = cli.store()?;
            let key = SoftwareKey::generate();
            let transport = HttpTransport::new();
            let clock = ShiftedClock::reading(now);
            let client = SyncClient::new(&store, &transport, &clock);
            let answer = client.enrol(
                server,
                code,
                Platform::Cli,
                &key,
                Some(key.to_pkcs8()?),
                *insecure,
            )?;
            let device_id = store.device_id()?;
            let shown = json!({
                "device_id": device_id,
                "agent": answer.agent,
                "server": server.trim_end_matches('/'),
                "server_time": answer.server_time,
            });
            out.value(&shown, |w| {
                writeln!(
                    w,
                    "device {device_id} enrolled with {} for agent {}",
                    server.trim_end_matches('/'),
                    answer.agent
                )
            })?;
        }
        DeviceCommand::EnrolCode { agent, valid_min } => {
            let code = cli
                .store()?
                .create_enrolment_code(actor, agent, *valid_min, now)?;
            out.value(&code, |w| {
                writeln!(
                    w,
                    "{}\n(one-time code for agent {}, valid until {})",
                    code.code,
                    code.agent,
                    fieldcheck_core::time::format_rfc3339(code.expires_at)
                )
            })?;
        }
        DeviceCommand::List => {
            let devices = cli.store()?.enrolled_devices(actor)?;
            if cli.json {
                for d in &devices {
                    out.json_line(d)?;
                }
            } else {
                out.lines(devices.iter().map(|d| {
                    format!(
                        "{}  agent {}  {}  enrolled {}  last sync {}  seq {}{}",
                        d.device_id,
                        d.agent,
                        d.platform,
                        fieldcheck_core::time::format_rfc3339(d.enrolled_at),
                        d.last_sync_at
                            .map_or("never".into(), fieldcheck_core::time::format_rfc3339),
                        d.acked_seq,
                        if d.revoked { "  REVOKED" } else { "" }
                    )
                }))?;
            }
        }
        DeviceCommand::Revoke { device } => {
            cli.store()?.revoke_device(actor, device, now)?;
            out.value(&json!({"device_id": device, "revoked": true}), |w| {
                writeln!(w, "device {device} revoked")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn user(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &UserCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        UserCommand::Add {
            id,
            user_role,
            team,
            password_stdin: _,
        } => {
            actor.must_be_admin()?;
            let password = password_from_stdin()?;
            let role = match user_role {
                UserRoleArg::Supervisor => UserRole::Supervisor,
                UserRoleArg::Admin => UserRole::Admin,
            };
            let team: Vec<String> = team
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            let hash = hash_password(&password)?;
            let user = cli.store()?.add_user(actor, id, role, &team, &hash, now)?;
            out.value(&user, |w| {
                writeln!(w, "user {} added ({})", user.id, user.role)
            })?;
        }
        UserCommand::List => {
            let users = cli.store()?.users(actor)?;
            if cli.json {
                for u in &users {
                    out.json_line(u)?;
                }
            } else {
                out.lines(users.iter().map(|u| {
                    format!(
                        "{}  {}  team [{}]{}",
                        u.id,
                        u.role,
                        u.team.join(","),
                        if u.disabled { "  DISABLED" } else { "" }
                    )
                }))?;
            }
        }
        UserCommand::Disable { id } => {
            cli.store()?.disable_user(actor, id, now)?;
            out.value(&json!({"id": id, "disabled": true}), |w| {
                writeln!(w, "user {id} disabled")
            })?;
        }
        UserCommand::Enable { id } => {
            cli.store()?.enable_user(actor, id)?;
            out.value(&json!({"id": id, "disabled": false}), |w| {
                writeln!(w, "user {id} enabled")
            })?;
        }
        UserCommand::Password {
            id,
            password_stdin: _,
        } => {
            actor.must_be_admin()?;
            let hash = hash_password(&password_from_stdin()?)?;
            cli.store()?.set_user_password(actor, id, &hash)?;
            out.value(&json!({"id": id, "password_changed": true}), |w| {
                writeln!(w, "password of {id} changed; their sessions ended")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
