//! Data-subject rights in SQLite (PRODUCT.md §8): requests with their due
//! dates (restriction requests set the `store::restriction` state), the
//! export of everything held about a subject as one portable document, and
//! erasure of their personal fields with the legal holds that keep the rest.
//!
//! A subject is an agent (by id) or the customer recorded in a lead (by the
//! lead's id). Ids are opaque and stay: they are what the chain links.
//! Retention (time-based deletion) is `store::retention`.

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing::{self, Subject};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::connection::Store;
use super::restriction::{append_restriction, load_entry};
use super::synced::{self, SyncedRecord};
use super::{agents, attendance, chain, feed, leads, review};
use crate::attendance::{AttendanceEvent, EventFilter, RetainedLocation};
use crate::audit::AuditFlag;
use crate::consent::ConsentEntry;
use crate::error::{Error, Result};
use crate::leads::{Lead, LeadActivity, Transaction as TxnRecord};
use crate::privacy::{
    DataSubject, Request, RequestCompletion, RequestKind, RequestStatus, RestrictionEntry,
    SubjectKind, due_date,
};
use crate::review::Review;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role};

const SELECT: &str = "SELECT r.id, r.seq, r.subject_kind, r.subject, r.kind, r.received_at,
       r.due_at, r.actor_id, r.actor_role, c.completed_at, c.actor_id, c.actor_role
     FROM privacy_requests r LEFT JOIN privacy_request_completions c ON c.request_id = r.id";

/// Which requests to list. The default lists all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// Only this subject's requests.
    pub subject: Option<DataSubject>,
    /// Only open requests.
    pub open_only: bool,
    /// Only requests overdue at this time (open, and `due_at` before it).
    pub overdue_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Logs a data-subject request received `now` (admins only); it is due
    /// 30 days later and stays open until [`Store::complete_request`].
    pub fn log_request(
        &self,
        actor: &Actor,
        subject: &DataSubject,
        kind: RequestKind,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        actor.must_be_admin()?;
        subject.validate()?;
        self.write(|tx| log_in(tx, actor, subject, kind, now))
    }

    /// Marks a request done (admins only). Unknown ids are `NotFound`; a
    /// request already done, or completed before it was received, is
    /// refused as invalid input.
    pub fn complete_request(
        &self,
        actor: &Actor,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        actor.must_be_admin()?;
        self.write(|tx| complete_in(tx, actor, request_id, now))
    }

    /// Logged requests in the order received (admins only).
    pub fn requests(&self, actor: &Actor, filter: &RequestFilter) -> Result<Vec<Request>> {
        actor.must_be_admin()?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{SELECT}
                 WHERE (CAST(?1 AS TEXT) IS NULL OR (r.subject_kind = ?1 AND r.subject = ?2))
                   AND (?3 = 0 OR c.id IS NULL)
                   AND (CAST(?4 AS BIGINT) IS NULL OR (c.id IS NULL AND r.due_at < ?4))
                 ORDER BY r.seq"
            ))?;
            let rows = stmt.query_map(
                super::db::params![
                    filter.subject.as_ref().map(|s| s.kind.as_str()),
                    filter.subject.as_ref().map(|s| s.id.as_str()),
                    filter.open_only,
                    filter.overdue_at.map(|t| t.timestamp()),
                ],
                |r| Ok(from_row(r)),
            )?;
            rows.map(|r| r?).collect()
        })
    }

    /// One request by id (admins only).
    pub fn request(&self, actor: &Actor, request_id: &str) -> Result<Request> {
        actor.must_be_admin()?;
        self.read(|tx| load(tx, request_id))?
            .ok_or_else(|| Error::NotFound(format!("privacy request {request_id}")))
    }

    /// Restricts (or lifts the restriction of) processing for an agent or a
    /// lead's customer, logging the request as received and done in the
    /// same transaction (admins only). A lead must exist.
    pub fn restrict(
        &self,
        actor: &Actor,
        subject: &DataSubject,
        restricted: bool,
        now: DateTime<Utc>,
    ) -> Result<(RestrictionEntry, Request)> {
        actor.must_be_admin()?;
        subject.validate()?;
        let kind = if restricted {
            RequestKind::Restriction
        } else {
            RequestKind::LiftRestriction
        };
        self.write(|tx| {
            feed::refuse_if_enrolled(tx, "restrictions of processing")?;
            if subject.kind == SubjectKind::Lead {
                let exists: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1)")?
                    .query_row([&subject.id], |r| r.get(0))?;
                if !exists {
                    return Err(Error::NotFound(format!("lead {}", subject.id)));
                }
            }
            let request = log_in(tx, actor, subject, kind, now)?;
            let agent = subject.kind == SubjectKind::Agent;
            let entry = append_restriction(tx, actor, &subject.id, restricted, agent, now)?;
            let request = complete_in(tx, actor, &request.id, now)?;
            Ok((entry, request))
        })
    }
}

/// Logs a request inside the caller's transaction. The caller has checked
/// the actor (admin) and the subject.
pub(super) fn log_in(
    tx: &Transaction<'_>,
    actor: &Actor,
    subject: &DataSubject,
    kind: RequestKind,
    now: DateTime<Utc>,
) -> Result<Request> {
    let received_at = whole_second(now);
    let request = chain::append_event(tx, |seq| {
        Ok(Request {
            id: Uuid::now_v7().to_string(),
            seq,
            subject: subject.clone(),
            kind,
            received_at,
            due_at: due_date(received_at),
            received_by: actor.clone(),
            status: RequestStatus::Open,
            completed_at: None,
            completed_by: None,
        })
    })?;
    tx.prepare_cached(
        "INSERT INTO privacy_requests (id, seq, subject_kind, subject, kind, received_at, due_at,
           actor_id, actor_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(super::db::params![
        request.id,
        request.seq,
        request.subject.kind.as_str(),
        request.subject.id,
        request.kind.as_str(),
        request.received_at.timestamp(),
        request.due_at.timestamp(),
        request.received_by.id,
        request.received_by.role.as_str(),
    ])?;
    log::info!("privacy request {} logged ({})", request.id, request.kind);
    Ok(request)
}

/// Completes a request inside the caller's transaction and returns it as
/// it now stands.
pub(super) fn complete_in(
    tx: &Transaction<'_>,
    actor: &Actor,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Request> {
    let mut request = load(tx, request_id)?
        .ok_or_else(|| Error::NotFound(format!("privacy request {request_id}")))?;
    if let Some(at) = request.completed_at {
        return Err(Error::invalid(
            "request",
            format!(
                "request {request_id} was already completed at {}",
                crate::time::format_rfc3339(at)
            ),
        ));
    }
    let at = whole_second(now);
    if at < request.received_at {
        return Err(Error::invalid(
            "request",
            format!("request {request_id} cannot be completed before it was received"),
        ));
    }
    let completion = chain::append_event(tx, |seq| {
        Ok(RequestCompletion {
            id: Uuid::now_v7().to_string(),
            seq,
            request_id: request_id.to_string(),
            at,
            actor: actor.clone(),
        })
    })?;
    tx.prepare_cached(
        "INSERT INTO privacy_request_completions (id, seq, request_id, completed_at, actor_id,
           actor_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(super::db::params![
        completion.id,
        completion.seq,
        completion.request_id,
        completion.at.timestamp(),
        completion.actor.id,
        completion.actor.role.as_str(),
    ])?;
    request.status = RequestStatus::Done;
    request.completed_at = Some(completion.at);
    request.completed_by = Some(completion.actor);
    Ok(request)
}

pub(super) fn load(tx: &Transaction<'_>, id: &str) -> Result<Option<Request>> {
    tx.prepare_cached(&format!("{SELECT} WHERE r.id = ?1"))?
        .query_row([id], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

fn corrupt(e: Error) -> Error {
    Error::Corrupt(format!("stored privacy request is unreadable: {e}"))
}

fn from_row(r: &Row<'_>) -> Result<Request> {
    let subject_kind: String = r.get(2)?;
    let kind: String = r.get(4)?;
    let role: String = r.get(8)?;
    let completed_at: Option<i64> = r.get(9)?;
    let completed_by: Option<(String, String)> = match (r.get(10)?, r.get(11)?) {
        (Some(id), Some(role)) => Some((id, role)),
        _ => None,
    };
    Ok(Request {
        id: r.get(0)?,
        seq: r.get(1)?,
        subject: DataSubject {
            kind: SubjectKind::parse("subject_kind", &subject_kind).map_err(corrupt)?,
            id: r.get(3)?,
        },
        kind: RequestKind::parse("kind", &kind).map_err(corrupt)?,
        received_at: from_unix("received_at", r.get(5)?).map_err(corrupt)?,
        due_at: from_unix("due_at", r.get(6)?).map_err(corrupt)?,
        received_by: Actor::new(
            r.get::<_, String>(7)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
        status: if completed_at.is_some() {
            RequestStatus::Done
        } else {
            RequestStatus::Open
        },
        completed_at: completed_at
            .map(|t| from_unix("completed_at", t))
            .transpose()
            .map_err(corrupt)?,
        completed_by: completed_by
            .map(|(id, role)| -> Result<Actor> {
                Ok(Actor::new(
                    id,
                    Role::parse("actor_role", &role).map_err(corrupt)?,
                ))
            })
            .transpose()?,
    })
}

pub(super) fn request_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    Ok(load(tx, id)?.map(|r| (r.canonical(), None)))
}

pub(super) fn completion_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let row: Option<(i64, String, i64, String, String)> = tx
        .prepare_cached(
            "SELECT seq, request_id, completed_at, actor_id, actor_role
             FROM privacy_request_completions WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    row.map(|(seq, request_id, at, actor_id, role)| {
        let completion = RequestCompletion {
            id: id.to_string(),
            seq,
            request_id,
            at: from_unix("completed_at", at).map_err(corrupt)?,
            actor: Actor::new(actor_id, Role::parse("actor_role", &role).map_err(corrupt)?),
        };
        Ok((completion.canonical(), None))
    })
    .transpose()
}

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
    /// On a store that imports devices' chains: what they carried about the
    /// subject besides attendance (listed above), personal fields as
    /// digests, exactly as each chain holds them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub synced_records: Vec<SyncedRecord>,
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
        // A lead known here only from a device's chain is exported from it.
        let synced_lead_agent = match subject.kind {
            SubjectKind::Lead => match self.lead(&admin, &subject.id) {
                Ok(_) => None,
                Err(Error::NotFound(what)) => Some(
                    self.read(|tx| synced::lead_agent(tx, &subject.id))?
                        .ok_or(Error::NotFound(what))?,
                ),
                Err(e) => return Err(e),
            },
            SubjectKind::Agent => None,
        };
        self.write(|tx| {
            let request = log_in(tx, actor, subject, RequestKind::Access, now)?;
            complete_in(tx, actor, &request.id, now)
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
            synced_records: self.read(|tx| synced::records_about(tx, subject))?,
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
                        out.extend(attendance::load_any_retained(tx, &e.id)?);
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
                let names = self.read(|tx| agents::history(tx, agent))?;
                export.profile = json!({
                    "agent": agent,
                    "name": names.last().and_then(|n| n.name.clone()),
                    "name_history": names,
                    "shift": self.shift(&admin, agent)?,
                    "consent": self.consent_state(&admin, agent)?,
                    "restricted": self.is_restricted(agent)?,
                    "push_token": self.push_token(&admin, agent)?,
                });
            }
            SubjectKind::Lead if synced_lead_agent.is_some() => {
                export.profile = json!({
                    "lead": subject.id,
                    "agent": synced_lead_agent,
                    "restricted": self.is_restricted(&subject.id)?,
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
            let request = log_in(tx, actor, subject, RequestKind::Erasure, now)?;
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
                    shred_keys(tx, Subject::lead(lead_id), &mut erased)?;
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
                        )? + tx.execute(
                            "DELETE FROM sync_retained_locations WHERE agent = ?1",
                            [agent],
                        )?,
                    });
                    erased.push(Erased {
                        category: "display_name",
                        count: agents::erase(tx, agent)?,
                    });
                    erased.push(Erased {
                        category: "review_notes",
                        count: tx.execute(
                            "UPDATE reviews SET sealed = '{}' WHERE agent = ?1 AND sealed != '{}'",
                            [agent],
                        )?,
                    });
                    shred_keys(tx, Subject::agent(agent), &mut erased)?;
                    erased.push(Erased {
                        category: "flag_reasons",
                        count: tx.execute(
                            "UPDATE audit_flags SET reason = NULL, reason_salt = NULL
                             WHERE scope = 'agent' AND scope_id = ?1 AND reason IS NOT NULL",
                            [agent],
                        )? + tx.execute(
                            "UPDATE applied_flags SET reason = NULL, reason_salt = NULL
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
            let request = complete_in(tx, actor, &request.id, now)?;
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
    let rows = stmt.query_map([agent], |r| Ok(review::review_from_row(tx, r)))?;
    rows.map(|r| r?).collect()
}

fn restrictions(
    tx: &Transaction<'_>,
    subject: &str,
) -> Result<Vec<crate::privacy::RestrictionEntry>> {
    let ids: Vec<String> = tx
        .prepare_cached("SELECT id FROM restriction_log WHERE subject = ?1 ORDER BY seq")?
        .query_map([subject], |r| r.get(0))?
        .collect::<super::db::Result<_>>()?;
    let mut out = Vec::new();
    for id in ids {
        out.extend(load_entry(tx, &id)?);
    }
    Ok(out)
}

/// Erasure's crypto-shredding where the store seals (PRODUCT.md §12.5):
/// the subject's data keys go in the same transaction, so any copy of a
/// value they sealed (WAL, replicas, backups) is unreadable once the master
/// key is rotated. Unsealed stores report nothing more than before.
fn shred_keys(tx: &Transaction<'_>, subject: Subject<'_>, erased: &mut Vec<Erased>) -> Result<()> {
    if tx.keyring().is_some() {
        erased.push(Erased {
            category: "data_keys",
            count: sealing::shred(tx, subject)?,
        });
    }
    Ok(())
}
