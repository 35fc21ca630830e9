//! What the writer connection remembers between check-ins.
//!
//! A check-in reads about ten rows it read on the previous check-in: the
//! agent's consent, restriction and last accepted event, the chain head,
//! the month summary it is about to rewrite. Each is a b-tree descent, and
//! on a durable store the CPU runs cold after every fsync, so these reads
//! cost about as much as the check-in's own inserts (perf and per-phase
//! timings in the closing note of issue 11). The memo keeps those rows
//! beside the writer connection, exactly as they are stored.
//!
//! It is only ever used while nothing but check-ins has written:
//! `Store::write` forgets it before any other write, a commit by another
//! connection (the pager's data version, read inside the check-in's
//! transaction) forgets it, and so does a check-in that fails (its rollback
//! may undo what it remembered). Each store module fills and reads its own
//! part.

use std::collections::HashMap;
use std::sync::Arc;

use crate::zone::Zone;
use chrono::{DateTime, Utc};

use super::chain::ChainMemo;
use super::month::Month;
use crate::audit::AuditFlag;
use crate::device_clock::DeviceClock;
use crate::evaluation::AgentContext;
use crate::geofence::SiteIndex;
use crate::rules::Rules;

/// Agents remembered at most (a phone has one; a store recording for a
/// whole team keeps the busiest): past it a map starts again empty, which
/// costs a re-read and nothing else. About 3 KB per agent.
pub(super) const AGENTS_REMEMBERED: usize = 1024;

/// Inserts into a per-agent map, first emptying it when it is full.
pub(super) fn remember<'m, V>(map: &'m mut HashMap<String, V>, agent: &str, value: V) -> &'m mut V {
    if map.len() >= AGENTS_REMEMBERED && !map.contains_key(agent) {
        map.clear();
    }
    match map.entry(agent.to_string()) {
        std::collections::hash_map::Entry::Occupied(mut slot) => {
            slot.insert(value);
            slot.into_mut()
        }
        std::collections::hash_map::Entry::Vacant(slot) => slot.insert(value),
    }
}

#[derive(Default)]
pub(super) struct WriterMemo {
    /// The writer's data version (`SQLITE_FCNTL_DATA_VERSION`) after the
    /// last check-in's commit.
    pub data_version: Option<u32>,
    pub events: EventMemo,
    /// The device's last clock exchange (`server_link`).
    pub device_clock: Option<Option<DeviceClock>>,
    /// Every audit flag not expired at the instant given, in seq order.
    pub flags: Option<(DateTime<Utc>, Vec<AuditFlag>)>,
    pub agents: HashMap<String, AgentMemo>,
    /// Whether this store is a server's (`server_role`).
    pub is_server: Option<bool>,
    /// The site index and rules the check-ins judge with.
    pub config: Option<(Arc<SiteIndex>, Rules)>,
}

/// What recording an event rereads: the chain head and the month rows of
/// the summary.
#[derive(Default)]
pub(super) struct EventMemo {
    /// The last ledger row (its seq and hash) and the agent the store is
    /// enrolled for.
    pub chain: ChainMemo,
    /// Per agent, the month row last written and its key.
    pub months: HashMap<String, (i64, Month)>,
    /// Site ids interned in `summary_sites`.
    pub summary_sites: HashMap<String, u32>,
}

/// One agent's judging context and time zone.
pub(super) struct AgentMemo {
    pub context: AgentContext,
    pub zone: Zone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_starts_again_rather_than_growing() {
        let mut map = HashMap::new();
        for i in 0..AGENTS_REMEMBERED {
            remember(&mut map, &format!("a{i}"), i);
        }
        // Known agents are replaced in place.
        *remember(&mut map, "a0", 7) += 1;
        assert_eq!((map.len(), map["a0"]), (AGENTS_REMEMBERED, 8));
        remember(&mut map, "new", 1);
        assert_eq!(map.len(), 1);
        assert_eq!(map["new"], 1);
    }
}
