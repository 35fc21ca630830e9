//! What devices' chains carry besides attendance, on an importing store
//! (issue 12): lead activity, transactions and reviews are folded into the
//! `sync_leads`, `sync_transactions` and `sync_reviews` tables the reports
//! read beside this store's own; consent entries, privacy requests and the
//! rest stay as imported (`sync_events`) and reach a subject's export from
//! there. Personal fields stay as the chain carries them (digests).
//!
//! An event this store already holds under the same id (its own, or one
//! imported before from another device) is not counted twice.

use super::db::{OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::leads::{LeadAction, LeadActivity, LeadStatus, Transaction as Txn, TxnKind};
use crate::privacy::DataSubject;
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

/// What one imported event contributes to the tables reports read.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SyncedFact {
    LeadCreated {
        lead_id: String,
        agent: String,
        status: String,
        at: i64,
    },
    LeadStatus {
        lead_id: String,
        status: String,
        at: i64,
    },
    Txn {
        txn_id: String,
        agent: String,
        lead_id: Option<String>,
        kind: String,
        amount_minor: i64,
        currency: String,
        occurred_at: i64,
    },
    Review {
        review_id: String,
        seq: i64,
        event_id: Option<String>,
        agent: String,
        day: i64,
        decision: String,
        at: i64,
        actor_id: String,
    },
}

/// What an imported event of `device` (its type and canonical encoding)
/// contributes, if anything: nothing for types other than lead activity,
/// transactions and reviews, or for a record this store holds as its own.
pub(super) fn fact_of(
    tx: &Transaction<'_>,
    device: &str,
    seq: i64,
    event_type: &str,
    canonical: &str,
) -> Result<Option<SyncedFact>> {
    let unreadable = |reason: String| {
        Error::invalid(
            "batch",
            format!(
                "device {device} event {seq}: {event_type} content this build cannot read: {reason}"
            ),
        )
    };
    Ok(match event_type {
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
                return Ok(None);
            }
            match (action, status) {
                (LeadAction::Created, Some(status)) => Some(SyncedFact::LeadCreated {
                    lead_id: a.lead_id,
                    agent: a.agent,
                    status: status.as_str().into(),
                    at: a.at,
                }),
                (LeadAction::Created, None) => {
                    return Err(unreadable("a created lead without a status".into()));
                }
                (_, Some(status)) => Some(SyncedFact::LeadStatus {
                    lead_id: a.lead_id,
                    status: status.as_str().into(),
                    at: a.at,
                }),
                (_, None) => None,
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
                return Ok(None);
            }
            Some(SyncedFact::Txn {
                txn_id: t.id,
                agent: t.agent,
                lead_id: t.lead_id,
                kind: t.kind,
                amount_minor: t.amount_minor,
                currency: t.currency,
                occurred_at: t.occurred_at,
            })
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
                return Ok(None);
            }
            Some(SyncedFact::Review {
                review_id: r.id,
                seq: r.seq,
                event_id: r.event_id,
                agent: r.agent,
                day: day_number(r.date),
                decision: r.decision,
                at: r.at,
                actor_id: r.actor_id,
            })
        }
        _ => None,
    })
}

/// Folds one imported event of `device` into the tables reports read.
pub(super) fn fold(
    tx: &Transaction<'_>,
    device: &str,
    seq: i64,
    event_type: &str,
    canonical: &str,
) -> Result<()> {
    let Some(fact) = fact_of(tx, device, seq, event_type, canonical)? else {
        return Ok(());
    };
    match fact {
        SyncedFact::LeadCreated {
            lead_id,
            agent,
            status,
            at,
        } => {
            tx.prepare_cached(
                "INSERT INTO sync_leads
                   (lead_id, device_id, agent, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING",
            )?
            .execute((&lead_id, device, &agent, &status, at))?;
        }
        SyncedFact::LeadStatus {
            lead_id,
            status,
            at,
        } => {
            tx.prepare_cached(
                "UPDATE sync_leads SET status = ?2, updated_at = ?3 WHERE lead_id = ?1",
            )?
            .execute((&lead_id, &status, at))?;
        }
        SyncedFact::Txn {
            txn_id,
            agent,
            lead_id,
            kind,
            amount_minor,
            currency,
            occurred_at,
        } => {
            tx.prepare_cached(
                "INSERT INTO sync_transactions
                   (txn_id, device_id, agent, lead_id, kind, amount_minor, currency, occurred_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?
            .execute(super::db::params![
                txn_id,
                device,
                agent,
                lead_id,
                kind,
                amount_minor,
                currency,
                occurred_at
            ])?;
        }
        SyncedFact::Review {
            review_id,
            seq,
            event_id,
            agent,
            day,
            decision,
            at,
            actor_id,
        } => {
            tx.prepare_cached(
                "INSERT INTO sync_reviews
                   (review_id, device_id, seq, event_id, agent, day, decision, at, actor_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
            )?
            .execute(super::db::params![
                review_id, device, seq, event_id, agent, day, decision, at, actor_id
            ])?;
        }
    }
    Ok(())
}

/// The rows of `sync_leads`, `sync_transactions` and `sync_reviews` as
/// comparable text, keyed by table and id: what the facts of the imported
/// events give ([`SyncedRows::add`], the fold's rules in memory), or what
/// the tables hold ([`SyncedRows::stored`]). `verify` compares the two.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SyncedRows(pub std::collections::BTreeMap<(&'static str, String), String>);

impl SyncedRows {
    pub(super) fn add(&mut self, device: &str, fact: SyncedFact) {
        use std::collections::btree_map::Entry;
        let (key, row) = match fact {
            SyncedFact::LeadCreated {
                lead_id,
                agent,
                status,
                at,
            } => (
                ("sync_leads", lead_id),
                format!("{device}|{agent}|{status}|{at}|{at}"),
            ),
            SyncedFact::LeadStatus {
                lead_id,
                status,
                at,
            } => {
                if let Some(row) = self.0.get_mut(&("sync_leads", lead_id)) {
                    let fields: Vec<&str> = row.split('|').collect();
                    *row = format!("{}|{}|{status}|{}|{at}", fields[0], fields[1], fields[3]);
                }
                return;
            }
            SyncedFact::Txn {
                txn_id,
                agent,
                lead_id,
                kind,
                amount_minor,
                currency,
                occurred_at,
            } => (
                ("sync_transactions", txn_id),
                format!(
                    "{device}|{agent}|{}|{kind}|{amount_minor}|{currency}|{occurred_at}",
                    lead_id.unwrap_or_default()
                ),
            ),
            SyncedFact::Review {
                review_id,
                seq,
                event_id,
                agent,
                day,
                decision,
                at,
                actor_id,
            } => (
                ("sync_reviews", review_id),
                format!(
                    "{device}|{seq}|{}|{agent}|{day}|{decision}|{at}|{actor_id}",
                    event_id.unwrap_or_default()
                ),
            ),
        };
        if let Entry::Vacant(slot) = self.0.entry(key) {
            slot.insert(row);
        }
    }

    pub(super) fn stored(tx: &Transaction<'_>) -> Result<SyncedRows> {
        let mut rows = SyncedRows::default();
        let mut read = |table: &'static str, sql: &str| -> Result<()> {
            let mut stmt = tx.prepare(sql)?;
            let mut found = stmt.query([])?;
            while let Some(r) = found.next()? {
                rows.0.insert((table, r.get(0)?), r.get(1)?);
            }
            Ok(())
        };
        read(
            "sync_leads",
            "SELECT lead_id, device_id || '|' || agent || '|' || status || '|' || created_at
               || '|' || updated_at FROM sync_leads",
        )?;
        read(
            "sync_transactions",
            "SELECT txn_id, device_id || '|' || agent || '|' || COALESCE(lead_id, '') || '|' || kind
               || '|' || amount_minor || '|' || currency || '|' || occurred_at
             FROM sync_transactions",
        )?;
        read(
            "sync_reviews",
            "SELECT review_id, device_id || '|' || seq || '|' || COALESCE(event_id, '') || '|'
               || agent || '|' || day || '|' || decision || '|' || at || '|' || actor_id
             FROM sync_reviews",
        )?;
        Ok(rows)
    }
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

/// The subjects an imported event (attendance aside) concerns, as its
/// canonical text names them: its `agent`, its `lead_id`, and its
/// `subject` (of `subject_kind`, an agent when it names none).
pub(super) fn subjects_of(canonical: &str) -> Result<Vec<DataSubject>> {
    let value: Value = serde_json::from_str(canonical)
        .map_err(|e| Error::Corrupt(format!("imported event unreadable: {e}")))?;
    let text = |field: &str| value.get(field).and_then(Value::as_str);
    let mut subjects = Vec::new();
    if let Some(agent) = text("agent") {
        subjects.push(DataSubject::agent(agent));
    }
    if let Some(lead) = text("lead_id") {
        subjects.push(DataSubject::lead(lead));
    }
    if let Some(subject) = text("subject") {
        subjects.push(match text("subject_kind") {
            Some("lead") => DataSubject::lead(subject),
            _ => DataSubject::agent(subject),
        });
    }
    subjects.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    subjects.dedup();
    Ok(subjects)
}

/// Indexes an imported event under the subjects it concerns
/// (`sync_subjects`), for a subject's export and for `verify`.
pub(super) fn index_subjects(
    tx: &Transaction<'_>,
    device: &str,
    seq: i64,
    canonical: &str,
) -> Result<()> {
    for subject in subjects_of(canonical)? {
        tx.prepare_cached(
            "INSERT INTO sync_subjects (device_id, seq, subject_kind, subject)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute((device, seq, subject.kind.as_str(), &subject.id))?;
    }
    Ok(())
}

/// Indexes every imported event still holding content (the v11 upgrade).
pub(super) fn index_all_subjects(tx: &Transaction<'_>) -> Result<()> {
    let mut stmt = tx.prepare(
        "SELECT device_id, seq, canonical FROM sync_events
         WHERE canonical IS NOT NULL AND event_type != 'attendance'",
    )?;
    let rows: Vec<(String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<super::db::Result<_>>()?;
    for (device, seq, canonical) in rows {
        index_subjects(tx, &device, seq, &canonical)?;
    }
    Ok(())
}

/// Every imported event (attendance aside, which `events` lists) about
/// `subject`: an agent's own records, or a lead customer's, in each
/// device's chain order.
pub(super) fn records_about(
    tx: &Transaction<'_>,
    subject: &DataSubject,
) -> Result<Vec<SyncedRecord>> {
    let mut stmt = tx.prepare(
        "SELECT e.device_id, e.seq, e.event_type, e.canonical FROM sync_subjects s
         JOIN sync_events e ON e.device_id = s.device_id AND e.seq = s.seq
         WHERE s.subject_kind = ?2 AND s.subject = ?1 AND e.canonical IS NOT NULL
         ORDER BY e.device_id, e.seq",
    )?;
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
