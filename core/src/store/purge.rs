//! Retention (PRODUCT.md §4, §8): delete what has outlived its purpose and
//! leave no bytes of it in the main file, the WAL or free pages.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Store;
use crate::attendance::AttendanceEvent;
use crate::error::Result;
use crate::types::Actor;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub retained_locations: usize,
    pub attendance_events: usize,
    /// Ledger rows folded into the chain anchor.
    pub anchored_events: usize,
}

impl Store {
    /// Deletes retained coordinates past `retain_until` and attendance
    /// events past their retention, then checkpoints the WAL (TRUNCATE) so
    /// that, with `secure_delete`, none of their bytes remain.
    pub fn purge(&self, actor: &Actor, now: DateTime<Utc>) -> Result<PurgeReport> {
        actor.must_be_admin()?;
        let rules = self.rules();
        let events_before = now - Duration::days(rules.attendance_retention_days);
        let report = self.write(|tx| {
            let mut report = PurgeReport {
                retained_locations: tx.execute(
                    "DELETE FROM retained_locations WHERE retain_until < ?1",
                    [now.timestamp()],
                )?,
                ..PurgeReport::default()
            };
            // Keep the ledger rows (hashes only) so the chain still links;
            // mark them purged, then fold the purged prefix into the anchor.
            tx.execute(
                "UPDATE ledger SET purged_at = ?1 WHERE event_type = ?2 AND event_id IN (
                   SELECT id FROM attendance_events WHERE captured_at < ?3)",
                (
                    now.timestamp(),
                    AttendanceEvent::EVENT_TYPE,
                    events_before.timestamp(),
                ),
            )?;
            report.attendance_events = tx.execute(
                "DELETE FROM attendance_events WHERE captured_at < ?1",
                [events_before.timestamp()],
            )?;
            report.anchored_events = fold_purged_prefix(tx, now)?;
            Ok(report)
        })?;
        self.checkpoint()?;
        log::info!(
            "purged {} retained locations, {} attendance events",
            report.retained_locations,
            report.attendance_events
        );
        Ok(report)
    }
}

/// Moves the longest purged prefix of the ledger into `chain_anchor`.
fn fold_purged_prefix(tx: &rusqlite::Transaction<'_>, now: DateTime<Utc>) -> Result<usize> {
    let first_live: Option<i64> = tx.query_row(
        "SELECT MIN(seq) FROM ledger WHERE purged_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    let last_purged: Option<(i64, Vec<u8>)> = match first_live {
        Some(live) => tx.query_row(
            "SELECT seq, hash FROM ledger WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
            [live],
            |r| Ok(Some((r.get(0)?, r.get(1)?))),
        ),
        None => tx.query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok(Some((r.get(0)?, r.get(1)?))),
        ),
    }
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    })?;
    let Some((seq, hash)) = last_purged else {
        return Ok(0);
    };
    let folded = tx.execute("DELETE FROM ledger WHERE seq <= ?1", [seq])?;
    tx.execute(
        "INSERT INTO chain_anchor (id, event_count, head_hash, anchored_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET event_count = excluded.event_count,
           head_hash = excluded.head_hash, anchored_at = excluded.anchored_at",
        (seq, hash, now.timestamp()),
    )?;
    Ok(folded)
}
