//! Data-subject rights (PRODUCT.md §8) as domain records: requests and
//! restriction.
//!
//! Requests: every access, rectification, erasure and restriction request is
//! logged with the time it was received and a due date 30 days later; open
//! requests past their due date are overdue. A request is two kinds of
//! chained event: its receipt ([`Request::EVENT_TYPE`], immutable) and, once
//! handled, its completion ([`RequestCompletion::EVENT_TYPE`]). The status is
//! derived: `done` when a completion exists, `open` otherwise. Subject ids
//! are opaque identifiers (agent or lead ids) and enter the chain directly;
//! requests hold no free text.
//!
//! Restriction: the subject's data is kept but not processed; check-ins are
//! refused with `restricted` ([`RestrictionEntry`]).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::error::Result;
use crate::types::{Actor, string_enum, validate_id};

/// Days a controller has to answer a request.
pub const RESPONSE_DAYS: i64 = 30;

string_enum!(
    /// What the data subject asked for.
    RequestKind {
        Access => "access",
        Rectification => "rectification",
        Erasure => "erasure",
        Restriction => "restriction",
        LiftRestriction => "lift_restriction",
    }
);

string_enum!(
    /// Whose data: an agent, or the customer recorded in a lead.
    SubjectKind { Agent => "agent", Lead => "lead" }
);

string_enum!(
    RequestStatus { Open => "open", Done => "done" }
);

/// A data subject: an agent (by agent id) or a lead's customer (by lead id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DataSubject {
    #[serde(rename = "subject_kind")]
    pub kind: SubjectKind,
    #[serde(rename = "subject")]
    pub id: String,
}

impl DataSubject {
    pub fn agent(id: impl Into<String>) -> Self {
        DataSubject {
            kind: SubjectKind::Agent,
            id: id.into(),
        }
    }

    pub fn lead(id: impl Into<String>) -> Self {
        DataSubject {
            kind: SubjectKind::Lead,
            id: id.into(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate_id(self.kind.as_str(), &self.id)
    }
}

impl std::fmt::Display for DataSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// The due date of a request received at `received_at`.
pub fn due_date(received_at: DateTime<Utc>) -> DateTime<Utc> {
    received_at + Duration::days(RESPONSE_DAYS)
}

/// A logged request and, once completed, who completed it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    #[serde(rename = "request_id")]
    pub id: String,
    pub seq: i64,
    #[serde(flatten)]
    pub subject: DataSubject,
    pub kind: RequestKind,
    #[serde(with = "crate::time::rfc3339")]
    pub received_at: DateTime<Utc>,
    /// `received_at` + 30 days. The request is answered in time if it is
    /// completed at or before this instant.
    #[serde(with = "crate::time::rfc3339")]
    pub due_at: DateTime<Utc>,
    pub received_by: Actor,
    pub status: RequestStatus,
    #[serde(with = "crate::time::rfc3339_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Actor>,
}

impl Request {
    pub const EVENT_TYPE: &'static str = "privacy_request";

    /// Open and past its due date: at the due instant itself a request is
    /// still on time; one second later it is overdue.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::Open && now > self.due_at
    }

    /// The receipt event's encoding (status and completion are separate
    /// events).
    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("subject_kind", json!(self.subject.kind.as_str())),
                ("subject", json!(self.subject.id)),
                ("kind", json!(self.kind.as_str())),
                ("received_at", json!(self.received_at.timestamp())),
                ("due_at", json!(self.due_at.timestamp())),
                ("actor_id", json!(self.received_by.id)),
                ("actor_role", json!(self.received_by.role.as_str())),
            ],
        )
    }
}

/// The event that closes a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestCompletion {
    pub id: String,
    pub seq: i64,
    pub request_id: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

impl RequestCompletion {
    pub const EVENT_TYPE: &'static str = "privacy_request_done";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("request_id", json!(self.request_id)),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(Request, RequestCompletion);

#[cfg(test)]
mod tests {
    use super::*;

    fn request(received: i64) -> Request {
        let received_at = DateTime::from_timestamp(received, 0).unwrap();
        Request {
            id: "r".into(),
            seq: 1,
            subject: DataSubject::agent("a1"),
            kind: RequestKind::Access,
            received_at,
            due_at: due_date(received_at),
            received_by: Actor::admin("admin"),
            status: RequestStatus::Open,
            completed_at: None,
            completed_by: None,
        }
    }

    #[test]
    fn overdue_strictly_after_thirty_days() {
        let r = request(1_700_000_000);
        let due = r.received_at + Duration::days(30);
        assert_eq!(r.due_at, due);
        assert!(!r.is_overdue(due - Duration::seconds(1)));
        assert!(!r.is_overdue(due));
        assert!(r.is_overdue(due + Duration::seconds(1)));
        let done = Request {
            status: RequestStatus::Done,
            ..r
        };
        assert!(!done.is_overdue(due + Duration::days(1)));
    }

    #[test]
    fn serialises_subject_flat() {
        let v = serde_json::to_value(request(0)).unwrap();
        assert_eq!(v["subject_kind"], "agent");
        assert_eq!(v["subject"], "a1");
        assert_eq!(v["status"], "open");
        assert_eq!(v["due_at"], "1970-01-31T00:00:00Z");
        assert!(v["completed_at"].is_null());
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestrictionEntry {
    pub id: String,
    #[serde(skip)]
    pub seq: i64,
    pub subject: String,
    pub restricted: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: Actor,
}

impl RestrictionEntry {
    pub const EVENT_TYPE: &'static str = "restriction";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("subject", json!(self.subject)),
                ("restricted", json!(self.restricted)),
                ("at", json!(self.at.timestamp())),
                ("actor_id", json!(self.actor.id)),
                ("actor_role", json!(self.actor.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(RestrictionEntry);
