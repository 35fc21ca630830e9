//! Looking at retained coordinates (PRODUCT.md §12.4): a supervisor sees a
//! fix's coordinates only where an audit flag kept them, by asking with a
//! reason, and every such view is logged (who, when, why) in
//! `location_views`, which is never edited.

use super::db::OptionalExtension;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::attendance::load_any_retained;
use super::connection::Store;
use super::sealing;
use crate::attendance::RetainedLocation;
use crate::error::{Error, Result};
use crate::leads::validate_text;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role};

/// One logged view of a retained location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationView {
    pub event_id: String,
    pub agent: String,
    pub viewer: Actor,
    pub reason: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

impl Store {
    /// The retained coordinates of `event_id`, if an audit flag kept them,
    /// logging the view with its `reason` in the same transaction
    /// (supervisors and admins). Nothing is logged when nothing is shown.
    pub fn view_retained_location(
        &self,
        actor: &Actor,
        event_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RetainedLocation>> {
        actor.may_supervise()?;
        validate_text("reason", reason, 1024)?;
        self.write(|tx| {
            let agent: String = tx
                .prepare_cached(
                    "SELECT agent FROM attendance_events WHERE id = ?1
                     UNION ALL SELECT agent FROM sync_attendance WHERE event_id = ?1 LIMIT 1",
                )?
                .query_row([event_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("attendance event {event_id}")))?;
            let Some(location) = load_any_retained(tx, event_id)? else {
                return Ok(None);
            };
            let id = Uuid::now_v7().to_string();
            let reason = sealing::LOCATION_VIEW_REASON.seal_text(
                tx,
                sealing::Subject::agent(&agent),
                &id,
                reason.trim(),
            )?;
            tx.prepare_cached(
                "INSERT INTO location_views (id, event_id, agent, viewer_id, viewer_role, reason, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((
                &id,
                event_id,
                &agent,
                &actor.id,
                actor.role.as_str(),
                reason,
                whole_second(now).timestamp(),
            ))?;
            Ok(Some(location))
        })
    }

    /// The logged views of an event's location, oldest first (supervisors
    /// and admins).
    pub fn location_views(&self, actor: &Actor, event_id: &str) -> Result<Vec<LocationView>> {
        actor.may_supervise()?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT event_id, agent, viewer_id, viewer_role, reason, at, id FROM location_views
                 WHERE event_id = ?1 ORDER BY at, id",
            )?;
            let rows = stmt.query_map([event_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            rows.map(|row| {
                let (event_id, agent, viewer, role, reason, at, id) = row?;
                // Empty once the agent's keys were shredded (erasure).
                let reason = sealing::LOCATION_VIEW_REASON
                    .open_text(tx, &id, &reason)?
                    .unwrap_or_default();
                let corrupt = |e: Error| Error::Corrupt(format!("stored location view: {e}"));
                Ok(LocationView {
                    event_id,
                    agent,
                    viewer: Actor::new(viewer, Role::parse("viewer_role", &role).map_err(corrupt)?),
                    reason,
                    at: from_unix("at", at).map_err(corrupt)?,
                })
            })
            .collect()
        })
    }
}
