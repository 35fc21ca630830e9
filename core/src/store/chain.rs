//! The chain as stored: the `ledger` table (one row per event: seq, type,
//! id, previous hash, hash) and the anchor of a purged prefix. This is the
//! one place events enter the chain ([`append_event`]); the ledger is also
//! the sync outbox, since `sync pending` ships the rows after the acked seq.
//! Checking it is `store::verify`.

use super::db::{OptionalExtension, Transaction};

use crate::chain::{Chained, GENESIS, Hash, link};
use crate::error::{Error, Result};

/// Appends one event to the chain: takes the next sequence number, builds
/// the event with it (`make`), links its canonical encoding to the previous
/// hash and writes the ledger row, in the caller's transaction. Every
/// chained writer goes through here and then inserts the event's own row
/// (its module owns that table) in the same transaction.
pub(super) fn append_event<E: Chained>(
    tx: &Transaction<'_>,
    make: impl FnOnce(i64) -> Result<E>,
) -> Result<E> {
    append_event_after(tx, &mut ChainMemo::default(), make)
}

/// What appending remembers between check-ins (`store::memo`): the chain
/// head, and the agent this store is enrolled for (`None` inside when it
/// is no device of a server).
#[derive(Default)]
pub(super) struct ChainMemo {
    pub head: Option<(i64, Hash)>,
    pub bound_agent: Option<Option<String>>,
}

/// [`append_event`] with what the previous append remembered: the head is
/// read from the ledger when unknown, and set to the new head. On a store
/// enrolled with a server, an event the server would refuse is refused
/// here (`store::binding`), before anything is written.
pub(super) fn append_event_after<E: Chained>(
    tx: &Transaction<'_>,
    memo: &mut ChainMemo,
    make: impl FnOnce(i64) -> Result<E>,
) -> Result<E> {
    let (seq, prev) = match memo.head {
        Some((seq, hash)) => (seq + 1, hash),
        None => next_link(tx)?,
    };
    let event = make(seq)?;
    let canonical = event.canonical();
    let bound = match &memo.bound_agent {
        Some(bound) => bound,
        None => memo.bound_agent.insert(super::binding::bound_agent(tx)?),
    };
    if let Some(agent) = bound {
        super::binding::check_local(tx, agent, E::EVENT_TYPE, &canonical)?;
    }
    let hash = append(tx, seq, &prev, E::EVENT_TYPE, event.id(), &canonical)?;
    memo.head = Some((seq, hash));
    Ok(event)
}

/// The sequence number and previous hash the next event links to.
fn next_link(tx: &Transaction<'_>) -> Result<(i64, Hash)> {
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, hash) = match last {
        Some(found) => found,
        None => match anchor(tx)? {
            Some((count, head)) => (count, head.to_vec()),
            None => return Ok((1, GENESIS)),
        },
    };
    Ok((seq + 1, to_hash(&hash)?))
}

/// Links an event into the chain; the caller inserts the event row in the
/// same transaction.
fn append(
    tx: &Transaction<'_>,
    seq: i64,
    prev: &Hash,
    event_type: &str,
    event_id: &str,
    canonical: &[u8],
) -> Result<Hash> {
    let hash = link(prev, canonical);
    tx.prepare_cached(
        "INSERT INTO ledger (seq, event_type, event_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((seq, event_type, event_id, &prev[..], &hash[..]))?;
    Ok(hash)
}

pub(super) fn anchor(tx: &Transaction<'_>) -> Result<Option<(i64, Hash)>> {
    let row: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT event_count, head_hash FROM chain_anchor WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(count, head)| Ok((count, to_hash(&head)?)))
        .transpose()
}

pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt("a ledger hash is not 32 bytes".into()))
}
