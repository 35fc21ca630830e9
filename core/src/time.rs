//! Time helpers: events store whole seconds since the Unix epoch.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Error, Result};

/// `t` without its fraction of a second: what events store and chain.
pub fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

pub fn from_unix(field: &str, seconds: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| Error::invalid(field, format!("timestamp {seconds} out of range")))
}

/// Parses an RFC 3339 time (with offset), naming `field` on failure.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::invalid(field, format!("{text:?} is not an RFC 3339 time: {e}")))
}

/// Parses a calendar date `YYYY-MM-DD` (report periods), naming `field`.
pub fn parse_date(field: &str, text: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| Error::invalid(field, format!("{text:?} is not a date YYYY-MM-DD: {e}")))
}

pub fn format_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `#[serde(with = "crate::time::rfc3339")]`: seconds precision, `Z`.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*t))
    }
}

/// Optional variant of [`rfc3339`].
pub mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_rfc3339(*t)),
            None => s.serialize_none(),
        }
    }
}
