//! The binding of a device to its agent (`crate::binding`), over what a
//! store holds: who owns a lead and whom a request was about, whether
//! recorded here or imported from a device.
//!
//! Used three ways: an enrolled device store refuses to record an event it
//! could not push (`check_local`, from `store::chain`), `device enrol`
//! looks at the unacknowledged outbox before linking the store, and an
//! import judges a batch from an enrolled device (`store::sync`).

use super::db::{OptionalExtension, Transaction};

use crate::binding::{Binding, Holdings};
use crate::error::{Error, Result};
use crate::privacy::{DataSubject, SubjectKind};

/// Leads and requests as one store holds them.
pub(super) struct StoreHoldings<'a, 'c>(pub &'a Transaction<'c>);

impl Holdings for StoreHoldings<'_, '_> {
    fn lead_owner(&self, lead_id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT agent FROM leads WHERE id = ?1
                 UNION ALL SELECT agent FROM sync_leads WHERE lead_id = ?1 LIMIT 1",
            )?
            .query_row([lead_id], |r| r.get(0))
            .optional()?)
    }

    fn request_subject(&self, request_id: &str) -> Result<Option<DataSubject>> {
        let own: Option<(String, String)> = self
            .0
            .prepare_cached("SELECT subject_kind, subject FROM privacy_requests WHERE id = ?1")?
            .query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (kind, subject) = match own {
            Some(found) => found,
            None => {
                // A request the device sent in an earlier batch.
                let imported: Option<(String, String)> = self
                    .0
                    .prepare_cached(
                        "SELECT s.subject_kind, s.subject FROM sync_events e
                         JOIN sync_subjects s ON s.device_id = e.device_id AND s.seq = e.seq
                         WHERE e.event_id = ?1 AND e.event_type = 'privacy_request'
                         ORDER BY s.subject_kind LIMIT 1",
                    )?
                    .query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match imported {
                    Some(found) => found,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(DataSubject {
            kind: SubjectKind::parse("subject_kind", &kind)
                .map_err(|e| Error::Corrupt(e.to_string()))?,
            id: subject,
        }))
    }
}

/// The agent this store is enrolled for, when it is a device of a server.
pub(super) fn bound_agent(tx: &Transaction<'_>) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT agent FROM server_link")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// On an enrolled device store, refuses (`PermissionDenied`, nothing
/// stored) an event its server would refuse: the outbox must never hold
/// an event that cannot be pushed.
pub(super) fn check_local(
    tx: &Transaction<'_>,
    agent: &str,
    event_type: &str,
    canonical: &[u8],
) -> Result<()> {
    let text = std::str::from_utf8(canonical)
        .map_err(|_| Error::Corrupt("an event's encoding is not UTF-8".into()))?;
    match Binding::new(agent).judge(event_type, Some(text), &StoreHoldings(tx))? {
        None => Ok(()),
        Some(why) => Err(Error::PermissionDenied(format!(
            "this store is a device enrolled for agent {agent}, and its server would refuse this {event_type} event: {why}"
        ))),
    }
}
