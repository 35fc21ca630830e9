//! Data-subject requests in SQLite (see [`crate::requests`]): insert-only
//! receipts and completions, both chained.
//!
//! For other store modules (erasure, export): call [`log_in`] and
//! [`complete_in`] inside your own `Store::write` transaction so the request,
//! the work and its completion commit together; from outside the store use
//! [`Store::log_request`] / [`Store::complete_request`].

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction};
use uuid::Uuid;

use super::connection::Store;
use super::{chain, privacy};
use crate::error::{Error, Result};
use crate::privacy::RestrictionEntry;
use crate::requests::{
    DataSubject, Request, RequestCompletion, RequestKind, RequestStatus, SubjectKind, due_date,
};
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
                 WHERE (?1 IS NULL OR (r.subject_kind = ?1 AND r.subject = ?2))
                   AND (?3 = 0 OR c.id IS NULL)
                   AND (?4 IS NULL OR (c.id IS NULL AND r.due_at < ?4))
                 ORDER BY r.seq"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![
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
            if subject.kind == SubjectKind::Lead {
                let exists: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM leads WHERE id = ?1)")?
                    .query_row([&subject.id], |r| r.get(0))?;
                if !exists {
                    return Err(Error::NotFound(format!("lead {}", subject.id)));
                }
            }
            let request = log_in(tx, actor, subject, kind, now)?;
            let entry = privacy::append_restriction(tx, actor, &subject.id, restricted, now)?;
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
    .execute(rusqlite::params![
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
    .execute(rusqlite::params![
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
