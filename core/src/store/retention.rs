//! Retention (PRODUCT.md §4, §8): delete what has outlived its purpose and
//! leave no bytes of it in the main file, the WAL or free pages.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::connection::Store;
use super::month::month_key;
use crate::attendance::AttendanceEvent;
use crate::consent::ConsentEntry;
use crate::error::Result;
use crate::leads::{LeadActivity, Transaction as TxnRecord};
use crate::review::Review;
use crate::types::Actor;

/// What `purge` removed, per category (PRODUCT.md §8 retention).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Coordinates past their flag's expiry + `audit_retention_days`.
    pub retained_locations: usize,
    /// Attendance events older than `attendance_retention_days`.
    pub attendance_events: usize,
    /// Reviews of purged attendance events.
    pub reviews: usize,
    /// Leads not won, unchanged for `lead_retention_days` (with their
    /// versions); won leads once their transactions are gone too.
    pub leads: usize,
    pub lead_versions: usize,
    /// Transactions older than `transaction_retention_days`.
    pub transactions: usize,
    /// Consent entries of permissions withdrawn more than
    /// `consent_retention_days_after_withdrawal` ago.
    pub consent_entries: usize,
    /// Imported (synced) attendance events past retention, reduced to their
    /// links.
    pub imported_events: usize,
    /// Ledger rows folded into the chain anchor.
    pub anchored_events: usize,
    /// Enrolment codes a day past their expiry (used or not).
    pub enrolment_codes: usize,
    /// Where the store seals: data keys of retained coordinates whose day
    /// has passed, deleted (crypto-shredding: no copy of what they sealed
    /// opens once the master key is rotated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_keys: Option<usize>,
}

impl Store {
    /// Deletes every record past its category's retention (retained
    /// coordinates, attendance events and their reviews, leads,
    /// transactions, consent entries), then checkpoints the WAL (TRUNCATE)
    /// so that, with `secure_delete`, none of their bytes remain. A record
    /// is kept at exactly its retention limit and goes one second later.
    pub fn purge(&self, actor: &Actor, now: DateTime<Utc>) -> Result<PurgeReport> {
        actor.must_be_admin()?;
        let rules = self.rules();
        let events_before = now - Duration::days(rules.attendance_retention_days);
        let leads_before = (now - Duration::days(rules.lead_retention_days)).timestamp();
        let txns_before = (now - Duration::days(rules.transaction_retention_days)).timestamp();
        let consents_before =
            (now - Duration::days(rules.consent_retention_days_after_withdrawal)).timestamp();
        let mut report = self.write(|tx| {
            let mut report = PurgeReport {
                retained_locations: tx.execute(
                    "DELETE FROM retained_locations WHERE retain_until < ?1",
                    [now.timestamp()],
                )? + tx.execute(
                    "DELETE FROM sync_retained_locations WHERE retain_until < ?1",
                    [now.timestamp()],
                )?,
                enrolment_codes: super::devices::purge_spent_codes(tx, now)?,
                data_keys: super::sealing::shred_expired(tx, now)?,
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
            report.reviews = purge_rows(
                tx,
                now,
                Review::EVENT_TYPE,
                "reviews",
                "event_id IN (SELECT id FROM attendance_events WHERE captured_at < ?1)",
                events_before.timestamp(),
            )?;
            report.attendance_events = tx.execute(
                "DELETE FROM attendance_events WHERE captured_at < ?1",
                [events_before.timestamp()],
            )?;
            // Summary months whose every event is gone (the month before
            // the cutoff's, in any zone).
            let cutoff_month = month_key(events_before.date_naive()) - 1;
            tx.execute(
                "DELETE FROM attendance_months WHERE month < ?1",
                [cutoff_month],
            )?;
            // The review queue keeps no day whose events may be gone.
            super::queue::forget_before(tx, events_before.date_naive() - Duration::days(1))?;
            report.transactions = purge_rows(
                tx,
                now,
                TxnRecord::EVENT_TYPE,
                "transactions",
                "occurred_at < ?1",
                txns_before,
            )?;
            let stale_leads = "SELECT id FROM leads WHERE updated_at < ?1 AND (status != 'won'
                 OR NOT EXISTS (SELECT 1 FROM transactions t WHERE t.lead_id = leads.id))";
            report.lead_versions = purge_rows(
                tx,
                now,
                LeadActivity::EVENT_TYPE,
                "lead_activity",
                &format!("lead_id IN ({stale_leads})"),
                leads_before,
            )?;
            // Where the store seals, a purged lead's keys go with it.
            let lead_keys = super::sealing::shred_leads(tx, stale_leads, leads_before)?;
            report.data_keys = report.data_keys.map(|n| n + lead_keys);
            report.leads = tx.execute(
                &format!("DELETE FROM leads WHERE id IN ({stale_leads})"),
                [leads_before],
            )?;
            // Every entry of a permission up to a withdrawal older than the
            // limit (the current state of a permission is never touched:
            // only entries before a withdrawal are).
            report.consent_entries = purge_rows(
                tx,
                now,
                ConsentEntry::EVENT_TYPE,
                "consent_ledger",
                "seq <= (SELECT MAX(w.seq) FROM consent_ledger w
                   WHERE w.subject = consent_ledger.subject
                     AND w.permission = consent_ledger.permission
                     AND w.granted = 0 AND w.at < ?1)",
                consents_before,
            )?;
            report.anchored_events = fold_purged_prefix(tx, now)?;
            // Summary months up to here may still count purged days
            // (`verify` leaves them out).
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('attendance_purged_before', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [events_before.timestamp().to_string()],
            )?;
            Ok(report)
        })?;
        report.imported_events = self.purge_imported(actor, now)?;
        self.checkpoint()?;
        log::info!("purged {report:?}");
        Ok(report)
    }
}

/// Marks the ledger rows of `table`'s rows matching `condition` (with ?1 =
/// `limit`) purged, then deletes those rows.
fn purge_rows(
    tx: &super::db::Transaction<'_>,
    now: DateTime<Utc>,
    event_type: &str,
    table: &str,
    condition: &str,
    limit: i64,
) -> Result<usize> {
    tx.execute(
        &format!(
            "UPDATE ledger SET purged_at = ?2 WHERE event_type = ?3 AND event_id IN (
               SELECT id FROM {table} WHERE {condition})"
        ),
        (limit, now.timestamp(), event_type),
    )?;
    Ok(tx.execute(&format!("DELETE FROM {table} WHERE {condition}"), [limit])?)
}

/// Moves the longest purged prefix of the ledger into `chain_anchor`.
fn fold_purged_prefix(tx: &super::db::Transaction<'_>, now: DateTime<Utc>) -> Result<usize> {
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
    .or_else(|e| if e.is_no_rows() { Ok(None) } else { Err(e) })?;
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
