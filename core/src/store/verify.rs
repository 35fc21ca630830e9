//! Verification of the stored chain (PRODUCT.md §7): every hash and link
//! recomputed from the anchor, each present personal field against its
//! digest, and no event row outside the chain.

use super::db::{OptionalExtension, Transaction};

use super::chain::{anchor, to_hash};
use super::connection::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    agents, attendance, audit, config, consent, leads, policy, privacy, restriction, review,
    verify_imports,
};
use crate::agent_name::AgentName;
use crate::attendance::AttendanceEvent;
use crate::audit::{AuditFlag, FlagEnd};
use crate::chain::{BrokenLink, GENESIS, VerifyReport, link};
use crate::config_feed::ConfigApplied;
use crate::consent::ConsentEntry;
use crate::error::{Error, Result};
use crate::leads::{LeadActivity, Transaction as TxnRecord};
use crate::policy::PolicyVersion;
use crate::privacy::RestrictionEntry;
use crate::privacy::{Request, RequestCompletion};
use crate::review::Review;
use crate::seal::KeyRotation;

/// A recorded verification (`verify_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyStatus {
    #[serde(with = "crate::time::rfc3339")]
    pub checked_at: DateTime<Utc>,
    pub intact: bool,
    pub events_checked: i64,
    pub problem: Option<String>,
}

/// An event's canonical encoding, or the reason it cannot be trusted.
enum Loaded {
    Missing,
    Found {
        canonical: Vec<u8>,
        /// A personal field that no longer matches its salted digest.
        personal_mismatch: Option<String>,
    },
}

fn load(tx: &Transaction<'_>, event_type: &str, id: &str) -> Result<Loaded> {
    let found = match event_type {
        AttendanceEvent::EVENT_TYPE => attendance::load_for_verify(tx, id)?,
        ConsentEntry::EVENT_TYPE => consent::load_entry(tx, id)?.map(|e| (e.canonical(), None)),
        AuditFlag::EVENT_TYPE => audit::load_for_verify(tx, id)?,
        FlagEnd::EVENT_TYPE => audit::end_for_verify(tx, id)?,
        RestrictionEntry::EVENT_TYPE => {
            restriction::load_entry(tx, id)?.map(|e| (e.canonical(), None))
        }
        LeadActivity::EVENT_TYPE => leads::activity_for_verify(tx, id)?,
        TxnRecord::EVENT_TYPE => leads::txn_for_verify(tx, id)?,
        Review::EVENT_TYPE => review::review_for_verify(tx, id)?,
        PolicyVersion::EVENT_TYPE => policy::load_for_verify(tx, id)?,
        Request::EVENT_TYPE => privacy::request_for_verify(tx, id)?,
        RequestCompletion::EVENT_TYPE => privacy::completion_for_verify(tx, id)?,
        ConfigApplied::EVENT_TYPE => config::applied_for_verify(tx, id)?,
        AgentName::EVENT_TYPE => agents::name_for_verify(tx, id)?,
        KeyRotation::EVENT_TYPE => super::sealing::rotation_for_verify(tx, id)?,
        other => {
            return Err(Error::Corrupt(format!(
                "ledger names an unknown event type {other:?}"
            )));
        }
    };
    Ok(match found {
        None => Loaded::Missing,
        Some((canonical, personal_mismatch)) => Loaded::Found {
            canonical,
            personal_mismatch,
        },
    })
}

/// An event's canonical encoding as its hash was computed (sync ships it
/// verbatim); `None` when the event's row is gone.
pub(super) fn canonical_of(
    tx: &Transaction<'_>,
    event_type: &str,
    id: &str,
) -> Result<Option<Vec<u8>>> {
    Ok(match load(tx, event_type, id)? {
        Loaded::Missing => None,
        Loaded::Found { canonical, .. } => Some(canonical),
    })
}

/// Tables holding chained events, for the orphan check.
const EVENT_TABLES: &[(&str, &str)] = &[
    (AttendanceEvent::EVENT_TYPE, "attendance_events"),
    (ConsentEntry::EVENT_TYPE, "consent_ledger"),
    (AuditFlag::EVENT_TYPE, "audit_flags"),
    (FlagEnd::EVENT_TYPE, "audit_flag_ends"),
    (RestrictionEntry::EVENT_TYPE, "restriction_log"),
    (LeadActivity::EVENT_TYPE, "lead_activity"),
    (TxnRecord::EVENT_TYPE, "transactions"),
    (Review::EVENT_TYPE, "reviews"),
    (PolicyVersion::EVENT_TYPE, "policy_versions"),
    (Request::EVENT_TYPE, "privacy_requests"),
    (RequestCompletion::EVENT_TYPE, "privacy_request_completions"),
    (ConfigApplied::EVENT_TYPE, "config_applied"),
    (AgentName::EVENT_TYPE, "agent_names"),
    (KeyRotation::EVENT_TYPE, "key_rotations"),
];

impl Store {
    /// Recomputes every hash and link from the anchor (or genesis) and names
    /// the first broken one.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.read(|tx| {
            let (anchored, mut prev) = anchor(tx)?.unwrap_or((0, GENESIS));
            let mut expected = anchored + 1;
            let mut checked = 0u64;
            let report = |checked: u64, first_broken| VerifyReport {
                intact: false,
                events_checked: checked,
                anchored_events: anchored as u64,
                imported_events_checked: 0,
                first_broken: Some(first_broken),
            };
            let mut stmt = tx.prepare(
                "SELECT seq, event_type, event_id, prev_hash, hash, purged_at FROM ledger ORDER BY seq",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let event_type: String = row.get(1)?;
                let event_id: String = row.get(2)?;
                let prev_hash: Vec<u8> = row.get(3)?;
                let hash: Vec<u8> = row.get(4)?;
                let purged: Option<i64> = row.get(5)?;
                let broken = |problem: String| BrokenLink {
                    seq,
                    event_type: Some(event_type.clone()),
                    event_id: Some(event_id.clone()),
                    problem,
                    ..BrokenLink::default()
                };
                if seq != expected {
                    return Ok(report(checked, BrokenLink {
                        seq: expected,
                        event_type: None,
                        event_id: None,
                        problem: format!(
                            "event {expected} is missing from the ledger (the next one is {seq})"
                        ),
                        ..BrokenLink::default()
                    }));
                }
                if prev_hash != prev {
                    return Ok(report(checked, broken(
                        "does not link to the previous event's hash".into(),
                    )));
                }
                if purged.is_none() {
                    // A row that cannot be read back (a sealed value altered
                    // or moved from another row, a damaged column) is a
                    // broken link, named like any other.
                    let loaded = match load(tx, &event_type, &event_id) {
                        Err(Error::Corrupt(problem)) => {
                            return Ok(report(checked, broken(problem)));
                        }
                        loaded => loaded?,
                    };
                    match loaded {
                        Loaded::Missing => {
                            return Ok(report(checked, broken("event has been deleted".into())));
                        }
                        Loaded::Found {
                            canonical,
                            personal_mismatch,
                        } => {
                            if link(&prev, &canonical)[..] != hash[..] {
                                return Ok(report(checked, broken(
                                    "event content does not match its hash (altered)".into(),
                                )));
                            }
                            if let Some(problem) = personal_mismatch {
                                return Ok(report(checked, broken(problem)));
                            }
                        }
                    }
                }
                prev = to_hash(&hash)?;
                expected += 1;
                checked += 1;
            }
            // Rows that never entered the chain.
            for (event_type, table) in EVENT_TABLES {
                let orphan: Option<(String, i64)> = tx
                    .query_row(
                        &format!(
                            "SELECT t.id, t.seq FROM {table} t WHERE NOT EXISTS (
                               SELECT 1 FROM ledger l WHERE l.event_type = ?1 AND l.event_id = t.id
                                 AND l.seq = t.seq AND l.purged_at IS NULL) LIMIT 1"
                        ),
                        [event_type],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((id, seq)) = orphan {
                    return Ok(report(checked, BrokenLink {
                        seq,
                        event_type: Some(event_type.to_string()),
                        event_id: Some(id),
                        problem: "event is not in the ledger (inserted outside the chain)".into(),
                        ..BrokenLink::default()
                    }));
                }
            }
            // What devices sent, what was derived from it, and the
            // configuration against its feeds.
            let (imported, broken) = verify_imports::imported_chains(tx)?;
            let broken = match broken {
                Some(b) => Some(b),
                None => match verify_imports::derived_rows(tx)? {
                    Some(b) => Some(b),
                    None => config::feeds_disagree(tx)?
                        .map(|(table, row, problem)| verify_imports::row_break(&table, &row, problem)),
                },
            };
            Ok(VerifyReport {
                intact: broken.is_none(),
                events_checked: checked,
                anchored_events: anchored as u64,
                imported_events_checked: imported,
                first_broken: broken,
            })
        })
    }

    /// [`Store::verify`], keeping its result (when and what it found) for
    /// the console's devices page; an intact result marks every imported
    /// chain verified through its last event.
    pub fn verify_and_record(&self, now: DateTime<Utc>) -> Result<VerifyReport> {
        let report = self.verify()?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO verify_status (singleton, checked_at, intact, events_checked, problem)
                 VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (singleton) DO UPDATE SET checked_at = excluded.checked_at,
                   intact = excluded.intact, events_checked = excluded.events_checked,
                   problem = excluded.problem",
                super::db::params![
                    now.timestamp(),
                    report.intact,
                    (report.events_checked + report.imported_events_checked) as i64,
                    report.first_broken.as_ref().map(ToString::to_string),
                ],
            )?;
            if report.intact {
                tx.execute(
                    "UPDATE sync_devices SET verified_seq = last_seq, verified_at = ?1",
                    [now.timestamp()],
                )?;
            }
            Ok(())
        })?;
        Ok(report)
    }

    /// The latest recorded verification, if any: when, intact or not, and
    /// the problem it named.
    pub fn last_verification(&self) -> Result<Option<VerifyStatus>> {
        self.read(|tx| {
            tx.query_row(
                "SELECT checked_at, intact, events_checked, problem FROM verify_status",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .map(
                |(at, intact, events_checked, problem)| -> Result<VerifyStatus> {
                    Ok(VerifyStatus {
                        checked_at: crate::time::from_unix("checked_at", at)?,
                        intact,
                        events_checked,
                        problem,
                    })
                },
            )
            .transpose()
        })
    }
}
