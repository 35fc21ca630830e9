//! Data-subject rights: restriction, export, erasure and requests.

use crate::*;

#[uniffi::remote(Enum)]
pub enum SubjectKind {
    Agent,
    Lead,
}

/// A data subject: an agent (by agent id) or a lead's customer (by lead id).
#[uniffi::remote(Record)]
pub struct DataSubject {
    pub kind: SubjectKind,
    pub id: String,
}

#[uniffi::remote(Enum)]
pub enum RequestKind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    LiftRestriction,
}

#[uniffi::remote(Enum)]
pub enum RequestStatus {
    Open,
    Done,
}

/// A logged data-subject request; due 30 days after it was received.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PrivacyRequest {
    pub id: String,
    pub seq: i64,
    pub subject: DataSubject,
    pub kind: RequestKind,
    pub received_at: UtcDateTime,
    pub due_at: UtcDateTime,
    pub received_by: Actor,
    pub status: RequestStatus,
    pub completed_at: Option<UtcDateTime>,
    pub completed_by: Option<Actor>,
}

pub(crate) fn request_from_core(r: core::Request) -> PrivacyRequest {
    PrivacyRequest {
        id: r.id,
        seq: r.seq,
        subject: r.subject,
        kind: r.kind,
        received_at: r.received_at,
        due_at: r.due_at,
        received_by: r.received_by,
        status: r.status,
        completed_at: r.completed_at,
        completed_by: r.completed_by,
    }
}

#[uniffi::export]
impl FieldCheck {
    /// Restricts (or lifts restriction of) processing for a subject (admin).
    pub fn set_restriction(
        &self,
        actor: Actor,
        subject: String,
        restricted: bool,
        now: UtcDateTime,
    ) -> Result<()> {
        guard(|| {
            self.store
                .set_restriction(&actor, &subject, restricted, now)
                .map(|_| ())
        })
    }

    /// Everything held about `subject` as one JSON document (the access and
    /// portability copy). Admins; agents may export themselves. Logged as a
    /// completed access request.
    pub fn export_subject(
        &self,
        actor: Actor,
        subject: DataSubject,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let export = self.store.export_subject(&actor, &subject, now)?;
            Ok(serde_json::to_string_pretty(&export)?)
        })
    }

    /// Erases a subject's personal fields, keeping what legal holds keep
    /// (admins). Returns the erasure report as JSON (what was erased, what
    /// was kept, why and until when).
    pub fn erase_subject(
        &self,
        actor: Actor,
        subject: DataSubject,
        now: UtcDateTime,
    ) -> Result<String> {
        guard(|| {
            let report = self.store.erase_subject(&actor, &subject, now)?;
            Ok(serde_json::to_string_pretty(&report)?)
        })
    }

    /// Logs a data-subject request received `now` (admins); due 30 days
    /// later, open until completed.
    pub fn log_request(
        &self,
        actor: Actor,
        subject: DataSubject,
        kind: RequestKind,
        now: UtcDateTime,
    ) -> Result<PrivacyRequest> {
        guard(|| self.store.log_request(&actor, &subject, kind, now)).map(request_from_core)
    }

    /// Completes a logged request (admins).
    pub fn complete_request(
        &self,
        actor: Actor,
        request_id: String,
        now: UtcDateTime,
    ) -> Result<PrivacyRequest> {
        guard(|| self.store.complete_request(&actor, &request_id, now)).map(request_from_core)
    }

    /// Logged requests, oldest first (admins): optionally one subject's,
    /// only open ones, or only those overdue at `overdue_at`.
    pub fn requests(
        &self,
        actor: Actor,
        subject: Option<DataSubject>,
        open_only: bool,
        overdue_at: Option<UtcDateTime>,
    ) -> Result<Vec<PrivacyRequest>> {
        let filter = core::store::RequestFilter {
            subject,
            open_only,
            overdue_at,
        };
        guard(|| self.store.requests(&actor, &filter))
            .map(|list| list.into_iter().map(request_from_core).collect())
    }

    // --- Device sync --------------------------------------------------------
}
