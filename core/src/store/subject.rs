//! Data-subject rights (PRODUCT.md §8): everything held about a person as
//! one portable document, and erasure of their personal fields with the
//! legal holds that keep the rest.
//!
//! A subject is an agent (by id) or the customer recorded in a lead (by the
//! lead's id). Ids are opaque and stay: they are what the chain links.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Transaction;
use serde::Serialize;
use serde_json::{Value, json};

use super::connection::Store;
use super::requests::RequestFilter;
use super::{checkin, leads, requests, review};
use crate::attendance::{AttendanceEvent, EventFilter, RetainedLocation};
use crate::audit::AuditFlag;
use crate::consent::ConsentEntry;
use crate::error::{Error, Result};
use crate::leads::{Lead, LeadActivity, Transaction as TxnRecord};
use crate::requests::{DataSubject, Request, RequestKind, SubjectKind};
use crate::review::Review;
use crate::time::whole_second;
use crate::types::{Actor, Role};

/// Bumped when a field of the export changes meaning or disappears.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// One lead with every version of it (personal values included: this is
/// the subject's own copy).
#[derive(Debug, Clone, Serialize)]
pub struct LeadWithHistory {
    pub lead: Lead,
    pub history: Vec<Value>,
}

/// Everything held about a subject: the access and portability copy.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    pub format: &'static str,
    pub schema_version: u32,
    #[serde(with = "crate::time::rfc3339")]
    pub generated_at: DateTime<Utc>,
    pub subject: Value,
    pub profile: Value,
    pub consent_ledger: Vec<ConsentEntry>,
    pub attendance_events: Vec<AttendanceEvent>,
    pub retained_locations: Vec<RetainedLocation>,
    pub audit_flags: Vec<AuditFlag>,
    pub leads: Vec<LeadWithHistory>,
    pub transactions: Vec<TxnRecord>,
    pub reviews: Vec<Review>,
    pub restrictions: Vec<crate::privacy::RestrictionEntry>,
    /// Data-subject requests about them, this access request included.
    pub requests: Vec<Request>,
}

/// What erasure removed, per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub category: &'static str,
    pub count: usize,
}

/// What erasure had to keep, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub category: &'static str,
    pub count: usize,
    pub reason: String,
    /// The earliest date it may go (null: as long as the reason holds).
    #[serde(with = "crate::time::rfc3339_opt")]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    pub subject: Value,
    #[serde(with = "crate::time::rfc3339")]
    pub erased_at: DateTime<Utc>,
    /// The erasure request, logged and completed with the erasure.
    pub request: Request,
    pub erased: Vec<Erased>,
    pub kept: Vec<Kept>,
}

impl Store {
    /// Everything held about `subject`, as one JSON-serialisable document.
    /// Admins answer requests; agents may export themselves. Logged as an
    /// access request, completed once the copy is made.
    pub fn export_subject(
        &self,
        actor: &Actor,
        subject: &DataSubject,
        now: DateTime<Utc>,
    ) -> Result<SubjectExport> {
        subject.validate()?;
        match (actor.role, subject.kind) {
            (Role::Admin, _) => {}
            (Role::Agent, SubjectKind::Agent) if subject.id == actor.id => {}
            _ => {
                return Err(Error::PermissionDenied(
                    "exports are made by an admin, or by agents for themselves".into(),
                ));
            }
        }
        // Everything below is done on the admin's behalf once allowed.
        let admin = Actor::admin(actor.id.clone());
        if subject.kind == SubjectKind::Lead {
            self.lead(&admin, &subject.id)?;
        }
        self.write(|tx| {
            let request = requests::log_in(tx, actor, subject, RequestKind::Access, now)?;
            requests::complete_in(tx, actor, &request.id, now)
        })?;
        let mut export = SubjectExport {
            format: "fieldcheck-subject-export",
            schema_version: EXPORT_SCHEMA_VERSION,
            generated_at: whole_second(now),
            subject: json!({"kind": subject.kind.as_str(), "id": subject.id}),
            profile: Value::Null,
            consent_ledger: Vec::new(),
            attendance_events: Vec::new(),
            retained_locations: Vec::new(),
            audit_flags: Vec::new(),
            leads: Vec::new(),
            transactions: Vec::new(),
            reviews: Vec::new(),
            restrictions: self.read(|tx| restrictions(tx, &subject.id))?,
            requests: self.requests(
                &admin,
                &RequestFilter {
                    subject: Some(subject.clone()),
                    ..RequestFilter::default()
                },
            )?,
        };
        match subject.kind {
            SubjectKind::Agent => {
                let agent = &subject.id;
                let events = self.events(
                    &admin,
                    &EventFilter {
                        agent: Some(agent.clone()),
                        ..EventFilter::default()
                    },
                )?;
                export.retained_locations = self.read(|tx| {
                    let mut out = Vec::new();
                    for e in events.iter().filter(|e| e.location_retained) {
                        out.extend(checkin::load_retained(tx, &e.id)?);
                    }
                    Ok(out)
                })?;
                export.attendance_events = events;
                export.consent_ledger = self.consent_history(&admin, agent)?;
                export.audit_flags = self.flags(&admin, Some(agent), now)?;
                export.transactions = self.transactions(&admin, Some(agent))?;
                export.reviews = self.read(|tx| reviews_of_agent(tx, agent))?;
                for lead in self.leads(
                    &admin,
                    &super::LeadFilter {
                        agent: Some(agent.clone()),
                        status: None,
                    },
                )? {
                    export.leads.push(self.lead_with_history(&admin, lead)?);
                }
                export.profile = json!({
                    "agent": agent,
                    "shift": self.shift(&admin, agent)?,
                    "consent": self.consent_state(&admin, agent)?,
                    "restricted": self.is_restricted(agent)?,
                    "push_token": self.push_token(&admin, agent)?,
                });
            }
            SubjectKind::Lead => {
                let lead_id = &subject.id;
                let lead = self.lead(&admin, lead_id)?;
                export.profile = json!({
                    "customer_name": lead.customer_name,
                    "phone": lead.phone,
                    "email": lead.email,
                    "lead": lead.id,
                    "restricted": self.is_restricted(lead_id)?,
                });
                export.transactions = self
                    .transactions(&admin, Some(&lead.agent))?
                    .into_iter()
                    .filter(|t| t.lead_id.as_deref() == Some(lead_id.as_str()))
                    .collect();
                export.leads.push(self.lead_with_history(&admin, lead)?);
            }
        }
        Ok(export)
    }

    fn lead_with_history(&self, admin: &Actor, lead: Lead) -> Result<LeadWithHistory> {
        let history = self
            .lead_history(admin, &lead.id)?
            .iter()
            .map(LeadActivity::to_json_with_values)
            .collect::<Result<_>>()?;
        Ok(LeadWithHistory { lead, history })
    }

    /// Erases the subject's personal fields (admins). Values and their salts
    /// are removed, and the WAL checkpointed, so their bytes leave every
    /// file; digests stay, so `verify` still passes. Records under a legal
    /// hold stay and are listed with the reason and the date they may go.
    pub fn erase_subject(
        &self,
        actor: &Actor,
        subject: &DataSubject,
        now: DateTime<Utc>,
    ) -> Result<ErasureReport> {
        actor.must_be_admin()?;
        subject.validate()?;
        let rules = self.rules();
        let report = self.write(|tx| {
            let request = requests::log_in(tx, actor, subject, RequestKind::Erasure, now)?;
            let mut erased = Vec::new();
            let mut kept = Vec::new();
            match subject.kind {
                SubjectKind::Lead => {
                    let lead_id = &subject.id;
                    let lead = leads::load_lead(tx, lead_id)?
                        .ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))?;
                    let fields = tx.execute(
                        "UPDATE leads SET customer_name = NULL, phone = NULL, email = NULL,
                           notes = '[]', erased = 1 WHERE id = ?1",
                        [lead_id],
                    )?;
                    let versions = tx.execute(
                        "UPDATE lead_activity SET sealed = '{}' WHERE lead_id = ?1 AND sealed != '{}'",
                        [lead_id],
                    )?;
                    erased.push(Erased {
                        category: "lead_personal_fields",
                        count: fields,
                    });
                    erased.push(Erased {
                        category: "lead_versions_personal_fields",
                        count: versions,
                    });
                    let (count, last) = count_and_last(
                        tx,
                        "SELECT COUNT(*), MAX(occurred_at) FROM transactions WHERE lead_id = ?1",
                        lead_id,
                    )?;
                    if count > 0 {
                        kept.push(Kept {
                            category: "transactions",
                            count,
                            reason: "legal hold: policy and premium records are kept 7 years"
                                .into(),
                            until: last.and_then(|t| {
                                DateTime::from_timestamp(t, 0)
                                    .map(|t| t + Duration::days(rules.transaction_retention_days))
                            }),
                        });
                    }
                    kept.push(Kept {
                        category: "lead_record",
                        count: 1,
                        reason: "pipeline record without personal fields (status, product, \
                                 dates), for reporting"
                            .into(),
                        until: Some(lead.updated_at + Duration::days(rules.lead_retention_days)),
                    });
                }
                SubjectKind::Agent => {
                    let agent = &subject.id;
                    erased.push(Erased {
                        category: "push_token",
                        count: tx.execute("DELETE FROM push_tokens WHERE agent = ?1", [agent])?,
                    });
                    erased.push(Erased {
                        category: "retained_locations",
                        count: tx.execute(
                            "DELETE FROM retained_locations WHERE event_id IN (
                               SELECT id FROM attendance_events WHERE agent = ?1)",
                            [agent],
                        )?,
                    });
                    erased.push(Erased {
                        category: "review_notes",
                        count: tx.execute(
                            "UPDATE reviews SET sealed = '{}' WHERE agent = ?1 AND sealed != '{}'",
                            [agent],
                        )?,
                    });
                    erased.push(Erased {
                        category: "flag_reasons",
                        count: tx.execute(
                            "UPDATE audit_flags SET reason = NULL, reason_salt = NULL
                             WHERE scope = 'agent' AND scope_id = ?1 AND reason IS NOT NULL",
                            [agent],
                        )?,
                    });
                    let (count, last) = count_and_last(
                        tx,
                        "SELECT COUNT(*), MAX(captured_at) FROM attendance_events WHERE agent = ?1",
                        agent,
                    )?;
                    if count > 0 {
                        kept.push(Kept {
                            category: "attendance_events",
                            count,
                            reason: "employment records under the attendance retention setting \
                                     (they hold verdicts, never positions)"
                                .into(),
                            until: last.and_then(|t| {
                                DateTime::from_timestamp(t, 0).map(|t| {
                                    t + Duration::days(rules.attendance_retention_days)
                                })
                            }),
                        });
                    }
                    let (consents, _) = count_and_last(
                        tx,
                        "SELECT COUNT(*), MAX(at) FROM consent_ledger WHERE subject = ?1",
                        agent,
                    )?;
                    if consents > 0 {
                        kept.push(Kept {
                            category: "consent_ledger",
                            count: consents,
                            reason: "proof of consent: kept while a consent stands and 5 years \
                                     after its withdrawal"
                                .into(),
                            until: None,
                        });
                    }
                    let (count, last) = count_and_last(
                        tx,
                        "SELECT COUNT(*), MAX(occurred_at) FROM transactions WHERE agent = ?1",
                        agent,
                    )?;
                    if count > 0 {
                        kept.push(Kept {
                            category: "transactions",
                            count,
                            reason: "legal hold: policy and premium records are kept 7 years"
                                .into(),
                            until: last.and_then(|t| {
                                DateTime::from_timestamp(t, 0)
                                    .map(|t| t + Duration::days(rules.transaction_retention_days))
                            }),
                        });
                    }
                }
            }
            let request = requests::complete_in(tx, actor, &request.id, now)?;
            Ok(ErasureReport {
                subject: json!({"kind": subject.kind.as_str(), "id": subject.id}),
                erased_at: whole_second(now),
                request,
                erased,
                kept,
            })
        })?;
        // Erased values were overwritten in place (secure_delete); the
        // checkpoint empties the WAL copies of the old pages.
        self.checkpoint()?;
        Ok(report)
    }
}

/// `SELECT COUNT(*), MAX(time) … WHERE … = ?1`.
fn count_and_last(tx: &Transaction<'_>, sql: &str, id: &str) -> Result<(usize, Option<i64>)> {
    let (count, last): (i64, Option<i64>) =
        tx.query_row(sql, [id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((usize::try_from(count).unwrap_or(0), last))
}

fn reviews_of_agent(tx: &Transaction<'_>, agent: &str) -> Result<Vec<Review>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM reviews WHERE agent = ?1 ORDER BY seq",
        review::review_columns()
    ))?;
    let rows = stmt.query_map([agent], |r| Ok(review::review_from_row(r)))?;
    rows.map(|r| r?).collect()
}

fn restrictions(
    tx: &Transaction<'_>,
    subject: &str,
) -> Result<Vec<crate::privacy::RestrictionEntry>> {
    let ids: Vec<String> = tx
        .prepare_cached("SELECT id FROM restriction_log WHERE subject = ?1 ORDER BY seq")?
        .query_map([subject], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for id in ids {
        out.extend(super::privacy::load_entry(tx, &id)?);
    }
    Ok(out)
}
