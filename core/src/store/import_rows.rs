//! The rows an import of a device's batch writes, gathered as the batch is
//! checked and written a few statements at a time.
//!
//! Checking an event reads what the store held before the batch; nothing it
//! writes is read back while the batch goes on, except through this
//! buffer: the events it imported, the attendance ids it folded, the months
//! it folded into. So the import can write its events, attendance and
//! months in multi-row statements instead of seven statements an event: on
//! PostgreSQL each statement is a network round trip (issue 24's ingest
//! bench: about 700 a batch of 100). Anything that reads the store in
//! between (a non-attendance event's fold, say) asks for [`ImportRows::write`]
//! first. The transaction is the same, so a batch still lands whole or not
//! at all.

use std::collections::HashSet;

use rusqlite::types::Value;

use super::days::{DayInput, MonthBuffer};
use super::db::{Transaction, insert_rows};
use crate::error::Result;
use crate::sync::CheckedEvent;
use crate::zone::Zone;

const EVENT_COLUMNS: &str =
    "device_id, seq, event_type, event_id, prev_hash, hash, canonical, imported_at";
const ATTENDANCE_COLUMNS: &str = "event_id, device_id, seq, agent, kind, accepted, reasons, \
     site_id, captured_at, clock_skew";

/// Rows gathered past this are written before more are taken, so a file
/// of 100,000 events holds a bounded few in memory.
const ROWS_HELD: usize = 512;

/// Ids per held-attendance lookup: every lookup carries exactly this many
/// (the last repeated), so one statement text serves them all. A batch of
/// up to this many attendance events takes one lookup (each is a round
/// trip on PostgreSQL).
const IDS_PER_LOOKUP: usize = 128;

/// One attendance event of the batch, as `sync_attendance` keeps it.
pub(super) struct AttendanceRow<'a> {
    pub event_id: &'a str,
    pub device: &'a str,
    pub seq: i64,
    pub agent: &'a str,
    pub kind: &'a str,
    pub accepted: bool,
    pub reasons: String,
    pub site_id: Option<&'a str>,
    pub captured_at: i64,
    pub clock_skew: bool,
}

#[derive(Default)]
pub(super) struct ImportRows {
    events: Vec<Value>,
    attendance: Vec<Value>,
    /// Rows in `events` and `attendance`.
    rows: usize,
    months: MonthBuffer,
    /// Attendance ids this store held before the batch, of those the batch
    /// carries ([`ImportRows::look_up_held`]).
    held_before: HashSet<String>,
    /// Attendance ids the batch folded.
    folded: HashSet<String>,
}

impl ImportRows {
    /// Looks up which of `ids` (attendance event ids) the store already
    /// holds, recorded here or imported: one statement per
    /// [`IDS_PER_LOOKUP`] ids.
    pub fn look_up_held<'e>(
        &mut self,
        tx: &Transaction<'_>,
        ids: impl Iterator<Item = &'e str>,
    ) -> Result<()> {
        let ids: Vec<&str> = ids.collect();
        let marks: Vec<String> = (1..=IDS_PER_LOOKUP).map(|i| format!("?{i}")).collect();
        let marks = marks.join(", ");
        let sql = format!(
            "SELECT id FROM attendance_events WHERE id IN ({marks})
             UNION SELECT event_id FROM sync_attendance WHERE event_id IN ({marks})"
        );
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let last = chunk[chunk.len() - 1];
            let padded = chunk
                .iter()
                .copied()
                .chain(std::iter::repeat(last))
                .take(IDS_PER_LOOKUP);
            // Planned per call: the tables grow during the import.
            let found =
                tx.query_planned_per_call(&sql, super::db::params_from_iter(padded), |r| {
                    r.get::<_, String>(0)
                })?;
            self.held_before.extend(found);
        }
        Ok(())
    }

    /// Whether the store holds attendance event `id`: from before the
    /// batch (among those looked up) or folded by it.
    pub fn holds_attendance(&self, id: &str) -> bool {
        self.held_before.contains(id) || self.folded.contains(id)
    }

    /// An imported event, kept verbatim.
    pub fn event(
        &mut self,
        tx: &Transaction<'_>,
        device: &str,
        e: &CheckedEvent,
        imported_at: i64,
    ) -> Result<()> {
        self.events.extend([
            Value::Text(device.to_string()),
            Value::Integer(e.seq),
            Value::Text(e.event_type.clone()),
            Value::Text(e.event_id.clone()),
            Value::Blob(e.prev_hash.to_vec()),
            Value::Blob(e.hash.to_vec()),
            e.canonical.clone().map_or(Value::Null, Value::Text),
            Value::Integer(imported_at),
        ]);
        self.rows += 1;
        self.write_if_many(tx)
    }

    /// An imported attendance event, folded into its day in `tz`.
    pub fn attendance(
        &mut self,
        tx: &Transaction<'_>,
        row: AttendanceRow<'_>,
        tz: Zone,
        day: &DayInput<'_>,
    ) -> Result<()> {
        self.months.fold(tx, tz, day)?;
        self.folded.insert(row.event_id.to_string());
        self.attendance.extend([
            Value::Text(row.event_id.to_string()),
            Value::Text(row.device.to_string()),
            Value::Integer(row.seq),
            Value::Text(row.agent.to_string()),
            Value::Text(row.kind.to_string()),
            Value::Integer(row.accepted.into()),
            Value::Text(row.reasons),
            row.site_id
                .map_or(Value::Null, |s| Value::Text(s.to_string())),
            Value::Integer(row.captured_at),
            Value::Integer(row.clock_skew.into()),
        ]);
        self.rows += 1;
        self.write_if_many(tx)
    }

    fn write_if_many(&mut self, tx: &Transaction<'_>) -> Result<()> {
        if self.rows >= ROWS_HELD {
            self.write(tx)?;
        }
        Ok(())
    }

    /// Writes everything gathered: before anything reads the store, and at
    /// the end of the batch.
    pub fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
        // Events first: a reader of `sync_attendance` may join them.
        insert_rows(tx, "sync_events", EVENT_COLUMNS, &self.events)?;
        self.events.clear();
        insert_rows(tx, "sync_attendance", ATTENDANCE_COLUMNS, &self.attendance)?;
        self.attendance.clear();
        self.rows = 0;
        self.months.write(tx)
    }
}
