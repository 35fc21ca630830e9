//! `fieldcheck agent`: the agents a server's console knows and their
//! display names (PRODUCT.md §12.4 "Agents").

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use fieldcheck_core::{Actor, Error};
use serde_json::json;

use crate::Cli;
use crate::output::Output;

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Give an agent a display name (admins; a personal field, erasable).
    Name {
        #[arg(long)]
        agent: String,
        #[arg(long)]
        name: String,
    },
    /// Every agent the store knows, with its display name (one JSON object
    /// a line with --json: agent, name).
    List,
}

pub fn agent(
    cli: &Cli,
    out: &mut Output,
    actor: &Actor,
    cmd: &AgentCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode, Error> {
    match cmd {
        AgentCommand::Name { agent, name } => {
            let named = cli.store()?.set_agent_name(actor, agent, name, now)?;
            // The name is personal data: said back only where asked for.
            out.value(
                &json!({"agent": named.agent, "name": named.name, "seq": named.seq}),
                |w| writeln!(w, "agent {} named", named.agent),
            )?;
        }
        AgentCommand::List => {
            let agents = cli.store()?.agents(actor)?;
            if cli.json {
                for a in &agents {
                    out.json_line(a)?;
                }
            } else {
                out.lines(agents.iter().map(|a| match &a.name {
                    Some(name) => format!("{}  {name}", a.agent),
                    None => a.agent.clone(),
                }))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
