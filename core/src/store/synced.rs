//! What devices' chains carry besides attendance, on an importing store
//! (issue 12): lead activity, transactions and reviews are folded into the
//! `sync_leads`, `sync_transactions` and `sync_reviews` tables the reports
//! read beside this store's own; consent entries, privacy requests and the
//! rest stay as imported (`sync_events`) and reach a subject's export from
//! there. Personal fields stay as the chain carries them (digests).
//!
//! An event this store already holds under the same id (its own, or one
//! imported before from another device) is not counted twice.

use rusqlite::{OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::leads::{LeadAction, LeadActivity, LeadStatus, Transaction as Txn, TxnKind};
use crate::privacy::{DataSubject, SubjectKind};
use crate::review::{Decision, Review};
use crate::shift::day_number;

/// An imported event as a subject's export shows it: where it came from and
/// its content exactly as the device's chain carries it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncedRecord {
    pub device_id: String,
    pub seq: i64,
    pub event_type: String,
    pub record: Value,
}

#[derive(Deserialize)]
struct ActivityFacts {
    lead_id: String,
    agent: String,
    action: String,
    status: Option<String>,
    at: i64,
}

#[derive(Deserialize)]
struct TxnFacts {
    id: String,
    agent: String,
    lead_id: Option<String>,
    kind: String,
    amount_minor: i64,
    currency: String,
    occurred_at: i64,
}

#[derive(Deserialize)]
struct ReviewFacts {
    id: String,
    seq: i64,
    event_id: Option<String>,
    agent: String,
    date: chrono::NaiveDate,
    decision: String,
    at: i64,
    actor_id: String,
}

/// Folds one imported event of `device` (its type and canonical encoding)
/// into the tables reports read. Types other than lead activity,
/// transactions and reviews are left as imported.
pub(super) fn fold(
    tx: &Transaction<'_>,
    device: &str,
    seq: i64,
    event_type: &str,
    canonical: &str,
) -> Result<()> {
    let unreadable = |reason: String| {
        Error::invalid(
            "batch",
            format!(
                "device {device} event {seq}: {event_type} content this build cannot read: {reason}"
            ),
        )
    };
    match event_type {
        LeadActivity::EVENT_TYPE => {
            let a: ActivityFacts =
                serde_json::from_str(canonical).map_err(|e| unreadable(e.to_string()))?;
            let action =
                LeadAction::parse("action", &a.action).map_err(|e| unreadable(e.to_string()))?;
            let status = a
                .status
                .as_deref()
                .map(|s| LeadStatus::parse("status", s))
                .transpose()
                .map_err(|e| unreadable(e.to_string()))?;
            if held(
                tx,
                "SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1)",
                &a.lead_id,
            )? {
                return Ok(());
            }
            match (action, status) {
                (LeadAction::Created, Some(status)) => {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO sync_leads
                           (lead_id, device_id, agent, status, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )?
                    .execute((
                        &a.lead_id,
                        device,
                        &a.agent,
                        status.as_str(),
                        a.at,
                    ))?;
                }
                (LeadAction::Created, None) => {
                    return Err(unreadable("a created lead without a status".into()));
                }
                (_, Some(status)) => {
                    tx.prepare_cached(
                        "UPDATE sync_leads SET status = ?2, updated_at = ?3 WHERE lead_id = ?1",
                    )?
                    .execute((&a.lead_id, status.as_str(), a.at))?;
                }
                (_, None) => {}
            }
        }
        Txn::EVENT_TYPE => {
            let t: TxnFacts =
                serde_json::from_str(canonical).map_err(|e| unreadable(e.to_string()))?;
            TxnKind::parse("kind", &t.kind).map_err(|e| unreadable(e.to_string()))?;
            if held(
                tx,
                "SELECT EXISTS (SELECT 1 FROM transactions WHERE id = ?1)",
                &t.id,
            )? {
                return Ok(());
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO sync_transactions
                   (txn_id, device_id, agent, lead_id, kind, amount_minor, currency, occurred_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(rusqlite::params![
                t.id,
                device,
                t.agent,
                t.lead_id,
                t.kind,
                t.amount_minor,
                t.currency,
                t.occurred_at
            ])?;
        }
        Review::EVENT_TYPE => {
            let r: ReviewFacts =
                serde_json::from_str(canonical).map_err(|e| unreadable(e.to_string()))?;
            Decision::parse("decision", &r.decision).map_err(|e| unreadable(e.to_string()))?;
            if held(
                tx,
                "SELECT EXISTS (SELECT 1 FROM reviews WHERE id = ?1)",
                &r.id,
            )? {
                return Ok(());
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO sync_reviews
                   (review_id, device_id, seq, event_id, agent, day, decision, at, actor_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(rusqlite::params![
                r.id,
                device,
                r.seq,
                r.event_id,
                r.agent,
                day_number(r.date),
                r.decision,
                r.at,
                r.actor_id
            ])?;
        }
        _ => {}
    }
    Ok(())
}

fn held(tx: &Transaction<'_>, sql: &str, id: &str) -> Result<bool> {
    Ok(tx.prepare_cached(sql)?.query_row([id], |r| r.get(0))?)
}

/// Refolds every imported event still holding content, in each device's
/// chain order (the v10 upgrade, inside its transaction).
pub(super) fn rebuild_all(tx: &Transaction<'_>) -> Result<()> {
    for table in ["sync_leads", "sync_transactions", "sync_reviews"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut stmt = tx.prepare(
        "SELECT device_id, seq, event_type, canonical FROM sync_events
         WHERE canonical IS NOT NULL AND event_type IN (?1, ?2, ?3)
         ORDER BY device_id, seq",
    )?;
    let mut rows = stmt.query([
        LeadActivity::EVENT_TYPE,
        Txn::EVENT_TYPE,
        Review::EVENT_TYPE,
    ])?;
    while let Some(r) = rows.next()? {
        let (device, seq, event_type, canonical): (String, i64, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        fold(tx, &device, seq, &event_type, &canonical)
            .map_err(|e| Error::Corrupt(format!("imported event unreadable: {e}")))?;
    }
    Ok(())
}

/// The agent owning an imported lead, if this store imported it.
pub(super) fn lead_agent(tx: &Transaction<'_>, lead_id: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT agent FROM sync_leads WHERE lead_id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?)
}

/// Every imported event (attendance aside, which `events` lists) about
/// `subject`: an agent's own records, or a lead customer's, in each
/// device's chain order. A scan of the imported events: exports are rare,
/// and no index on a JSON field pays for itself on the import path.
pub(super) fn records_about(
    tx: &Transaction<'_>,
    subject: &DataSubject,
) -> Result<Vec<SyncedRecord>> {
    let field = match subject.kind {
        SubjectKind::Agent => "agent",
        SubjectKind::Lead => "lead_id",
    };
    let mut stmt = tx.prepare(&format!(
        "SELECT device_id, seq, event_type, canonical FROM sync_events
         WHERE canonical IS NOT NULL AND event_type != 'attendance'
           AND (json_extract(canonical, '$.{field}') = ?1
                OR (json_extract(canonical, '$.subject') = ?1
                    AND coalesce(json_extract(canonical, '$.subject_kind'), 'agent') = ?2))
         ORDER BY device_id, seq"
    ))?;
    let rows = stmt.query_map((&subject.id, subject.kind.as_str()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (device_id, seq, event_type, canonical) = row?;
        out.push(SyncedRecord {
            device_id,
            seq,
            event_type,
            record: serde_json::from_str(&canonical)
                .map_err(|e| Error::Corrupt(format!("imported event unreadable: {e}")))?,
        });
    }
    Ok(out)
}
