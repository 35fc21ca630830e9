//! What the writers tell the review queue (`store::queue`): in the
//! transaction of each change that can alter the queue (an import, a day
//! decision, a flag set or ended, a shift version, the rules), a mark of
//! the agent and dates it touched (`queue_dirty`), on a server's store
//! only. The queue settles the marks before any page reads it and every
//! minute; the marks live in the database, so any instance may settle
//! them. Kept apart from the queue so that the writers, which the queue
//! reads through the report, need not know it.

use super::db::Transaction;
use chrono::NaiveDate;

use super::server_role::is_server;
use crate::error::Result;
use crate::shift::day_number;

/// The last local date whose items time can no longer change (meta).
pub(super) const SETTLED_KEY: &str = "queue_settled_through";
/// When the queue last advanced (meta, unix seconds).
pub(super) const ADVANCED_KEY: &str = "queue_advanced_at";
/// While the index is built whole, step by step: the last date built so
/// far (meta; absent once built).
pub(super) const BUILDING_KEY: &str = "queue_built_through";

/// Marks `agent`'s days (everyone's when `None`) in `from..=to` for the
/// queue to settle.
pub(super) fn mark(
    tx: &Transaction<'_>,
    agent: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<()> {
    if !is_server(tx)? {
        return Ok(());
    }
    mark_known_server(tx, agent, from, to)
}

/// [`mark`] on a store already known to be a server's.
pub(super) fn mark_known_server(
    tx: &Transaction<'_>,
    agent: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<()> {
    tx.prepare_cached("INSERT INTO queue_dirty (agent, from_day, to_day) VALUES (?1, ?2, ?3)")?
        .execute((agent.unwrap_or(""), day_number(from), day_number(to)))?;
    Ok(())
}

/// Forgets that the index was built: the queue builds it whole on its
/// next advance (after a change of the rules every day depends on).
pub(super) fn invalidate(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "DELETE FROM meta WHERE key IN (?1, ?2, ?3)",
        [SETTLED_KEY, ADVANCED_KEY, BUILDING_KEY],
    )?;
    Ok(())
}
