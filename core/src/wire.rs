//! The device API's wire format (PRODUCT.md §12.2–§12.3): request and
//! answer bodies and the problem types, shared by the server, the sync
//! client and the OpenAPI description (feature `openapi`).

use serde::{Deserialize, Serialize};

use crate::error::{DeviceError, Error, SyncError};
use crate::review::Review;
use crate::time::format_rfc3339;

/// Path prefix of the device API.
pub const API: &str = "/api/v1";
pub const ENROL_PATH: &str = "/api/v1/devices/enrol";
pub const BATCHES_PATH: &str = "/api/v1/sync/batches";
pub const DECISIONS_PATH: &str = "/api/v1/sync/decisions";
pub const CONFIG_PATH: &str = "/api/v1/sync/config";
/// Header carrying base64 of the DER ECDSA signature over the body bytes.
pub const SIGNATURE_HEADER: &str = "Fieldcheck-Signature";
/// At most this many decisions per answer; the device asks again after the
/// cursor until an answer is empty.
pub const DECISIONS_PAGE: usize = 500;

/// `POST /api/v1/devices/enrol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The one-time code from `fieldcheck device enrol-code`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[ -~]{1,128}$"))]
    pub code: String,
    /// The device store's sync device id (PRODUCT.md §9). The document
    /// names the printable ASCII ids devices make (UUIDs); the server also
    /// takes any id of at most 128 bytes without control characters.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[ -~]{1,128}$"))]
    pub device_id: String,
    /// Base64 of the DER SubjectPublicKeyInfo of the device's P-256 key.
    #[cfg_attr(feature = "openapi", schema(format = Byte, min_length = 1))]
    pub public_key: String,
    /// `android`, `ios` or `cli`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(android|ios|cli)$"))]
    pub platform: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolAnswer {
    /// Bearer token for every later request of this device.
    pub device_token: String,
    /// The agent the code was minted for.
    pub agent: String,
    /// RFC 3339, the server's clock.
    pub server_time: String,
}

/// The answer to `POST /api/v1/sync/batches`, sent only after the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAnswer {
    pub device_id: String,
    /// The device may acknowledge its outbox up to here.
    pub accepted_to_seq: i64,
    /// Events newly stored.
    pub imported: u64,
    /// Events already held (a replayed batch).
    pub duplicates: u64,
    /// Retained coordinates of a version 2 batch that the server did not
    /// keep (no covering flag of its own, captured after the flag's end, or
    /// already past retention). Absent for version 1 batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_dropped: Option<u64>,
    pub server_time: String,
}

/// One review decision about the device's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionNotice {
    pub review_id: String,
    /// Null for a decision on a whole day.
    pub event_id: Option<String>,
    pub agent: String,
    /// The agent's local date, `YYYY-MM-DD`.
    pub date: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub note: Option<String>,
    pub reviewer: String,
    /// RFC 3339.
    pub decided_at: String,
}

impl From<Review> for DecisionNotice {
    fn from(review: Review) -> Self {
        DecisionNotice {
            review_id: review.id,
            event_id: review.event_id,
            agent: review.agent,
            date: review.date.to_string(),
            decision: review.decision.as_str().to_string(),
            note: review.note,
            reviewer: review.reviewer.id,
            decided_at: format_rfc3339(review.at),
        }
    }
}

/// `GET /api/v1/sync/decisions?after=CURSOR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionsAnswer {
    pub decisions: Vec<DecisionNotice>,
    /// Pass back as `after` to get what came later.
    pub cursor: String,
    pub server_time: String,
}

/// `GET /api/v1/sync/config?after=CURSOR` (PRODUCT.md §12.2): the changes
/// of both configuration feeds after the cursor, in the server's commit
/// order, or a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigAnswer {
    /// The answer starts from the beginning of both feeds: the device
    /// replaces what it held (a first pull, or a cursor the server does not
    /// know).
    pub snapshot: bool,
    /// Sites, rules, policy versions, the receipts' controller, flags by
    /// site or for everyone.
    pub global: FeedAnswer,
    /// The device's agent: shifts and zone, flags on the agent, restriction.
    pub agent: FeedAnswer,
    /// Opaque: pass back as `after`.
    pub cursor: String,
    pub server_time: String,
}

/// One feed's changes after the cursor and where the feed stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedAnswer {
    pub changes: Vec<ConfigChange>,
    pub head: FeedHeadWire,
}

/// One change: its place in the feed's hash chain and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigChange {
    pub seq: i64,
    /// `sites`, `rules`, `controller`, `policy`, `flag`, `flag_end`, `shift`
    /// or `restriction`.
    pub kind: String,
    /// The exact canonical JSON text hashed. `null` for a change a later
    /// one in the same answer supersedes (the whole site list, the rules,
    /// the controller, a shift, a restriction): only its links travel.
    pub body: Option<String>,
    /// Hex.
    pub prev_hash: String,
    /// Hex SHA-256(prev_hash ‖ body).
    pub hash: String,
    /// Personal text beside the body, never in what is hashed (the body
    /// holds its salted digest): a flag's reason (only on the feed of the
    /// agent it concerns) or the receipts' controller, with the salt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub personal: Option<serde_json::Value>,
}

/// A feed's last change (seq 0 and the zero hash when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedHeadWire {
    pub seq: i64,
    /// Hex.
    pub hash: String,
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// One of the `/problems/...` types of PRODUCT.md §12.3.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// With `sequence-gap`: resend from this seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_from_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<String>,
}

/// The refusals of PRODUCT.md §12.3, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    MalformedBatch,
    MalformedRequest,
    BadSignature,
    UnknownDevice,
    DeviceMismatch,
    RevokedDevice,
    SequenceGap,
    ChainFork,
    TooLarge,
    RateLimited,
    BadCode,
    AgentMismatch,
}

impl ProblemType {
    pub const ALL: &'static [ProblemType] = &[
        ProblemType::MalformedBatch,
        ProblemType::MalformedRequest,
        ProblemType::BadSignature,
        ProblemType::UnknownDevice,
        ProblemType::DeviceMismatch,
        ProblemType::RevokedDevice,
        ProblemType::SequenceGap,
        ProblemType::ChainFork,
        ProblemType::TooLarge,
        ProblemType::RateLimited,
        ProblemType::BadCode,
        ProblemType::AgentMismatch,
    ];

    /// The type's last segment (also the `type` label of the refusal metric).
    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::MalformedBatch => "malformed-batch",
            ProblemType::MalformedRequest => "malformed-request",
            ProblemType::BadSignature => "bad-signature",
            ProblemType::UnknownDevice => "unknown-device",
            ProblemType::DeviceMismatch => "device-mismatch",
            ProblemType::RevokedDevice => "revoked-device",
            ProblemType::SequenceGap => "sequence-gap",
            ProblemType::ChainFork => "chain-fork",
            ProblemType::TooLarge => "too-large",
            ProblemType::RateLimited => "rate-limited",
            ProblemType::BadCode => "bad-code",
            ProblemType::AgentMismatch => "agent-mismatch",
        }
    }

    /// `/problems/<slug>`.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    pub fn from_uri(uri: &str) -> Option<ProblemType> {
        let slug = uri.rsplit('/').next()?;
        ProblemType::ALL.iter().copied().find(|p| p.slug() == slug)
    }

    pub fn status(self) -> u16 {
        match self {
            ProblemType::MalformedBatch | ProblemType::MalformedRequest | ProblemType::BadCode => {
                400
            }
            ProblemType::BadSignature | ProblemType::UnknownDevice => 401,
            ProblemType::DeviceMismatch
            | ProblemType::RevokedDevice
            | ProblemType::AgentMismatch => 403,
            ProblemType::SequenceGap | ProblemType::ChainFork => 409,
            ProblemType::TooLarge => 413,
            ProblemType::RateLimited => 429,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemType::MalformedBatch => "The body is not a valid sync batch",
            ProblemType::MalformedRequest => "The body is not what this endpoint takes",
            ProblemType::BadSignature => "The batch signature is missing or wrong",
            ProblemType::UnknownDevice => "The device token is missing or unknown",
            ProblemType::DeviceMismatch => "The batch belongs to another device",
            ProblemType::RevokedDevice => "This device was revoked",
            ProblemType::SequenceGap => "The batch does not continue the device's chain",
            ProblemType::ChainFork => "The batch diverges from the chain already imported",
            ProblemType::TooLarge => "The body is larger than this server takes",
            ProblemType::RateLimited => "Too many requests from this device",
            ProblemType::BadCode => "The enrolment code is unknown, used or expired",
            ProblemType::AgentMismatch => {
                "The batch holds an event this device may not send for its agent"
            }
        }
    }

    pub fn problem(self, detail: impl Into<String>) -> Problem {
        Problem {
            problem_type: self.uri(),
            title: self.title().into(),
            status: self.status(),
            detail: Some(detail.into()),
            expected_from_seq: None,
            server_time: None,
        }
    }
}

/// The refusal an error of the core is answered with, or `None` for a
/// failure of the server itself (a 500). `malformed` is the type for input
/// the endpoint cannot read: `MalformedBatch` for batches,
/// `MalformedRequest` for the rest.
pub fn problem_for(error: &Error, malformed: ProblemType) -> Option<Problem> {
    let (kind, expected_from_seq) = match error {
        Error::Device(e) => (
            match e {
                DeviceError::BadCode => ProblemType::BadCode,
                DeviceError::UnknownDevice => ProblemType::UnknownDevice,
                DeviceError::Revoked(_) => ProblemType::RevokedDevice,
                DeviceError::Mismatch { .. } => ProblemType::DeviceMismatch,
                DeviceError::BadSignature(_) => ProblemType::BadSignature,
                DeviceError::AgentMismatch(_) => ProblemType::AgentMismatch,
            },
            None,
        ),
        Error::Sync(SyncError::Gap { expected_seq, .. }) => {
            (ProblemType::SequenceGap, Some(*expected_seq))
        }
        Error::Sync(SyncError::Fork { .. }) => (ProblemType::ChainFork, None),
        Error::Sync(SyncError::Broken { .. })
        | Error::InvalidInput { .. }
        | Error::InvalidGeoJson { .. }
        | Error::Json(_) => (malformed, None),
        _ => return None,
    };
    let mut problem = kind.problem(error.to_string());
    problem.expected_from_seq = expected_from_seq;
    Some(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_round_trips_through_its_uri() {
        for p in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&p.uri()), Some(*p));
            assert!(p.uri().starts_with("/problems/"));
        }
        assert_eq!(ProblemType::from_uri("/problems/nonsense"), None);
    }
}
