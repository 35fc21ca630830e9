//! Audit and security flags (PRODUCT.md §4): the only thing that lets the
//! store keep a fix's coordinates, and only until their retention ends.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::chain;
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::types::{Actor, string_enum, validate_id};

string_enum!(
    /// Why a flag was set.
    FlagPurpose { Audit => "audit", Security => "security" }
);

/// Whom a flag covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum FlagScope {
    Agent(String),
    /// Fixes whose verdict names this site.
    Site(String),
    Everyone,
}

impl FlagScope {
    pub fn kind(&self) -> &'static str {
        match self {
            FlagScope::Agent(_) => "agent",
            FlagScope::Site(_) => "site",
            FlagScope::Everyone => "everyone",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            FlagScope::Agent(id) | FlagScope::Site(id) => Some(id),
            FlagScope::Everyone => None,
        }
    }

    pub fn from_parts(kind: &str, id: Option<String>) -> Result<FlagScope> {
        match (kind, id) {
            ("agent", Some(id)) => Ok(FlagScope::Agent(id)),
            ("site", Some(id)) => Ok(FlagScope::Site(id)),
            ("everyone", None) => Ok(FlagScope::Everyone),
            (kind, _) => Err(Error::Corrupt(format!("bad flag scope {kind:?}"))),
        }
    }
}

/// What a supervisor asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRequest {
    pub scope: FlagScope,
    pub purpose: FlagPurpose,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
}

impl FlagRequest {
    pub fn validate(&self, rules: &Rules, now: DateTime<Utc>) -> Result<()> {
        if let Some(id) = self.scope.id() {
            validate_id("scope", id)?;
        }
        if self.reason.trim().is_empty() {
            return Err(Error::invalid("reason", "a flag needs a reason"));
        }
        if self.expires_at <= now {
            return Err(Error::invalid("until", "must be in the future"));
        }
        if self.expires_at > now + Duration::days(rules.max_flag_days) {
            return Err(Error::invalid(
                "until",
                format!("a flag may run for at most {} days", rules.max_flag_days),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditFlag {
    #[serde(rename = "flag_id")]
    pub id: String,
    #[serde(skip)]
    pub seq: i64,
    pub scope: FlagScope,
    pub purpose: FlagPurpose,
    /// Free text: personal data, chained only as `reason_digest`.
    pub reason: Option<String>,
    #[serde(skip)]
    pub reason_digest: String,
    pub set_by: Actor,
    #[serde(with = "crate::time::rfc3339")]
    pub starts_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// Set when a supervisor ended the flag before it expired (a separate
    /// chained event, [`FlagEnd`]; not part of this flag's encoding).
    #[serde(
        with = "crate::time::rfc3339_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_at: Option<DateTime<Utc>>,
}

impl AuditFlag {
    pub const EVENT_TYPE: &'static str = "flag";

    /// When the flag stops covering fixes: its expiry, or an earlier end.
    pub fn effective_end(&self) -> DateTime<Utc> {
        self.ended_at
            .map_or(self.expires_at, |end| end.min(self.expires_at))
    }

    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.effective_end()
    }

    /// Whether a fix by `agent`, judged at `at` with a verdict naming
    /// `site_id`, falls under this flag.
    pub fn covers(&self, agent: &str, site_id: Option<&str>, at: DateTime<Utc>) -> bool {
        self.is_active(at)
            && match &self.scope {
                FlagScope::Everyone => true,
                FlagScope::Agent(a) => a == agent,
                FlagScope::Site(s) => site_id == Some(s.as_str()),
            }
    }

    /// Coordinates kept under this flag go at this moment.
    pub fn retain_until(&self, rules: &Rules) -> DateTime<Utc> {
        self.effective_end() + Duration::days(rules.audit_retention_days)
    }

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("scope", json!(self.scope.kind())),
                ("scope_id", json!(self.scope.id())),
                ("purpose", json!(self.purpose.as_str())),
                ("reason_digest", json!(self.reason_digest)),
                ("set_by_id", json!(self.set_by.id)),
                ("set_by_role", json!(self.set_by.role.as_str())),
                ("starts_at", json!(self.starts_at.timestamp())),
                ("expires_at", json!(self.expires_at.timestamp())),
            ],
        )
    }
}

crate::chain::chained!(AuditFlag);

/// A flag ended before its expiry ("expire early"): from `ended_at` it
/// covers no fix, and what it kept goes `audit_retention_days` later.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagEnd {
    #[serde(rename = "flag_end_id")]
    pub id: String,
    #[serde(skip)]
    pub seq: i64,
    pub flag_id: String,
    #[serde(with = "crate::time::rfc3339")]
    pub ended_at: DateTime<Utc>,
    pub ended_by: Actor,
}

impl FlagEnd {
    pub const EVENT_TYPE: &'static str = "flag_end";

    pub fn canonical(&self) -> Vec<u8> {
        chain::canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("flag_id", json!(self.flag_id)),
                ("ended_at", json!(self.ended_at.timestamp())),
                ("actor_id", json!(self.ended_by.id)),
                ("actor_role", json!(self.ended_by.role.as_str())),
            ],
        )
    }
}

crate::chain::chained!(FlagEnd);
