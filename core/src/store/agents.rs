//! Agents as the console knows them (PRODUCT.md §12.4 "Agents"): the
//! directory of agent ids and their display names (`agent_names`, every
//! version chained with the name as a salted digest).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::agent_scope::AgentScope;
use super::db::{OptionalExtension, Row, Transaction, params_from_iter};
use super::sealing;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::chain;
use super::connection::Store;
use crate::agent_name::{AgentName, normalize_name};
use crate::error::{Error, Result};
use crate::personal::PersonalFields;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role, validate_id};

const COLUMNS: &str = "id, seq, agent, digests, sealed, at, actor_id, actor_role";

/// One agent of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEntry {
    pub agent: String,
    /// The current display name; `None` when none was given or it was
    /// erased.
    pub name: Option<String>,
}

impl Store {
    /// Gives `agent` a display name (admins): a new chained version.
    pub fn set_agent_name(
        &self,
        actor: &Actor,
        agent: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<AgentName> {
        actor.must_be_admin()?;
        validate_id("agent", agent)?;
        let name = normalize_name(name)?;
        self.write(|tx| {
            let named = chain::append_event(tx, |seq| {
                Ok(AgentName {
                    id: Uuid::now_v7().to_string(),
                    seq,
                    agent: agent.to_string(),
                    name: Some(name.clone()),
                    personal: PersonalFields::seal([("name", name.as_str())]),
                    at: whole_second(now),
                    set_by: actor.clone(),
                })
            })?;
            let sealed = sealing::AGENT_NAME.seal_personal(
                tx,
                sealing::Subject::agent(agent),
                &named.id,
                &named.personal,
            )?;
            tx.prepare_cached(&format!(
                "INSERT INTO agent_names ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(super::db::params![
                named.id,
                named.seq,
                named.agent,
                named.personal.digests_column(),
                sealed,
                named.at.timestamp(),
                named.set_by.id,
                named.set_by.role.as_str(),
            ])?;
            Ok(named)
        })
    }

    /// Every agent the console knows (PRODUCT.md §12.4: any id in a team,
    /// a shift, an enrolment code or device, a display name or an event:
    /// attendance, consent, leads and transactions, own or imported),
    /// by id, with the current name. Supervisors and admins.
    pub fn agents(&self, actor: &Actor) -> Result<Vec<AgentEntry>> {
        actor.may_supervise()?;
        self.read(directory)
    }

    /// The current display name of every agent that has one (what pages
    /// show beside ids). Supervisors and admins.
    pub fn agent_names(&self, actor: &Actor) -> Result<HashMap<String, String>> {
        actor.may_supervise()?;
        self.read(|tx| {
            Ok(current_names(tx, None)?
                .into_iter()
                .map(|(agent, name)| (agent, name.to_string()))
                .collect())
        })
    }

    /// The current display names of `agents` that have one (what a page
    /// of rows shows beside their ids).
    pub fn agent_names_of(
        &self,
        actor: &Actor,
        agents: &[String],
    ) -> Result<HashMap<String, String>> {
        actor.may_supervise()?;
        let mut agents = agents.to_vec();
        agents.sort_unstable();
        agents.dedup();
        self.read(|tx| {
            // A page's agents in one statement (and, where the store seals,
            // their keys in one more), at most a team's size at a time.
            let mut out = HashMap::new();
            for chunk in agents.chunks(super::agent_scope::TEAM_AT_MOST) {
                for (agent, name) in current_names_in(tx, AgentScope::Team(chunk))? {
                    out.insert(agent, name.to_string());
                }
            }
            Ok(out)
        })
    }

    /// Every naming of `agent`, oldest first (supervisors, admins; agents
    /// for themselves).
    pub fn agent_name_history(&self, actor: &Actor, agent: &str) -> Result<Vec<AgentName>> {
        if actor.role == Role::Agent && actor.id != agent {
            return Err(Error::PermissionDenied(
                "agents may read only their own name".into(),
            ));
        }
        self.read(|tx| history(tx, agent))
    }
}

/// See [`Store::agents`].
pub(super) fn directory(tx: &Transaction<'_>) -> Result<Vec<AgentEntry>> {
    let mut ids: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut stmt = tx.prepare_cached(
        "SELECT agent FROM attendance_agents
         UNION SELECT subject FROM consent_ledger
         UNION SELECT agent FROM leads
         UNION SELECT agent FROM sync_leads
         UNION SELECT agent FROM transactions
         UNION SELECT agent FROM sync_transactions
         UNION SELECT agent FROM shifts
         UNION SELECT agent FROM agent_names
         UNION SELECT agent FROM enrolment_codes
         UNION SELECT agent FROM enrolled_devices",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for id in rows {
        ids.insert(id?, None);
    }
    let mut stmt = tx.prepare_cached("SELECT team FROM console_users")?;
    let teams = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for team in teams {
        let team: Vec<String> = serde_json::from_str(&team?)
            .map_err(|e| Error::Corrupt(format!("stored team: {e}")))?;
        for id in team {
            ids.entry(id).or_insert(None);
        }
    }
    for (agent, name) in current_names(tx, None)? {
        if let Some(slot) = ids.get_mut(&agent) {
            *slot = Some(name.to_string()).filter(|n| !n.is_empty());
        }
    }
    Ok(ids
        .into_iter()
        .map(|(agent, name)| AgentEntry { agent, name })
        .collect())
}

pub(super) fn history(tx: &Transaction<'_>, agent: &str) -> Result<Vec<AgentName>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM agent_names WHERE agent = ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map([agent], |r| Ok(from_row(tx, r)))?;
    rows.map(|r| r?).collect()
}

/// The current display name of every agent (or of `agent`) that has one
/// still readable; erased names are absent.
pub(super) fn current_names(
    tx: &Transaction<'_>,
    agent: Option<&str>,
) -> Result<HashMap<String, Arc<str>>> {
    current_names_in(tx, AgentScope::of(agent))
}

/// The current display names of the agents in `scope` that have one.
pub(super) fn current_names_in(
    tx: &Transaction<'_>,
    scope: AgentScope<'_>,
) -> Result<HashMap<String, Arc<str>>> {
    let mut params = Vec::new();
    let only = scope.and_in("n.agent", &mut params);
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT n.agent, n.digests, n.sealed, n.id FROM agent_names n
         WHERE n.seq = (SELECT MAX(seq) FROM agent_names m WHERE m.agent = n.agent){only}"
    ))?;
    let mut rows = stmt.query(params_from_iter(params))?;
    // (agent, digests, sealed, id)
    let mut held: Vec<(String, String, String, String)> = Vec::new();
    while let Some(r) = rows.next()? {
        held.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
    }
    sealing::prefetch(tx, held.iter().map(|(_, _, sealed, _)| sealed.as_str()))?;
    let mut out = HashMap::new();
    for (agent, digests, sealed, id) in held {
        let personal = sealing::AGENT_NAME.open_personal(tx, &id, &digests, &sealed)?;
        if let Some(name) = personal.get("name") {
            out.insert(agent, Arc::from(name));
        }
    }
    Ok(out)
}

/// Erases every version of `agent`'s name (value and salt); returns how
/// many versions held one.
pub(super) fn erase(tx: &Transaction<'_>, agent: &str) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE agent_names SET sealed = '{}' WHERE agent = ?1 AND sealed != '{}'",
        [agent],
    )?)
}

fn from_row(tx: &Transaction<'_>, r: &Row<'_>) -> Result<AgentName> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored agent name is unreadable: {e}"));
    let id: String = r.get(0)?;
    let personal = sealing::AGENT_NAME.open_personal(
        tx,
        &id,
        &r.get::<_, String>(3)?,
        &r.get::<_, String>(4)?,
    )?;
    let role: String = r.get(7)?;
    Ok(AgentName {
        id,
        seq: r.get(1)?,
        agent: r.get(2)?,
        name: personal.get("name").map(str::to_string),
        personal,
        at: from_unix("at", r.get(5)?).map_err(corrupt)?,
        set_by: Actor::new(
            r.get::<_, String>(6)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}

pub(super) fn name_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let found = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM agent_names WHERE id = ?1"))?
        .query_row([id], |r| Ok(from_row(tx, r)))
        .optional()?
        .transpose()?;
    Ok(found.map(|n| (n.canonical(), n.personal.mismatch())))
}
