//! This store as a device of a server (PRODUCT.md §12.2): the server it is
//! enrolled with, its token and (on the CLI) its software key, the clock
//! offset measured at the last exchange, and the review decisions pulled
//! from the server.

use super::db::{OptionalExtension, Transaction};
use super::sealing;
use chrono::{DateTime, Utc};

use super::connection::Store;
use super::review::{review_columns, review_from_row};
use crate::config_feed::AppliedConfig;
use crate::device::ServerLink;
use crate::device_clock::DeviceClock;
use crate::error::{Error, Result};
use crate::review::Decision;
use crate::sync::{SyncBatch, SyncStatus};
use crate::sync_client::DeviceStore;
use crate::time::{format_rfc3339, from_unix, parse_date, parse_rfc3339};
use crate::types::{Actor, validate_id};
use crate::wire::{ConfigAnswer, DecisionNotice};

impl Store {
    /// The server this store is enrolled with, if any.
    pub fn server_link(&self) -> Result<Option<ServerLink>> {
        self.read(|tx| {
            tx.query_row(
                "SELECT server_url, agent, device_token, signing_key, enrolled_at,
                        clock_offset_ms, decisions_cursor, config_cursor FROM server_link",
                [],
                |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<Vec<u8>>>(3)?,
                        ),
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()?
            .map(
                |((server_url, agent, device_token, signing_key), at, offset, cursor, config)| {
                    Ok(ServerLink {
                        server_url,
                        agent,
                        device_token,
                        signing_key,
                        enrolled_at: from_unix("enrolled_at", at)?,
                        clock_offset_ms: offset,
                        decisions_cursor: cursor,
                        config_cursor: config,
                    })
                },
            )
            .transpose()
        })
    }

    /// Records an enrolment (replacing an earlier one: a device belongs to
    /// one server at a time). Pulled decisions of an earlier link stay; the
    /// configuration in force stays until the first pull replaces it.
    pub fn link_server(&self, link: &ServerLink) -> Result<()> {
        validate_id("agent", &link.agent)?;
        self.write(|tx| {
            tx.execute("DELETE FROM server_link", [])?;
            tx.execute(
                "INSERT INTO server_link (singleton, server_url, agent, device_token, signing_key,
                   enrolled_at, clock_offset_ms, decisions_cursor, config_cursor)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                super::db::params![
                    link.server_url,
                    link.agent,
                    link.device_token,
                    link.signing_key,
                    link.enrolled_at.timestamp(),
                    link.clock_offset_ms,
                    link.decisions_cursor,
                    link.config_cursor,
                ],
            )?;
            Ok(())
        })
    }

    /// Keeps the offset between the server's clock and this device's,
    /// measured when an answer arrived.
    pub fn note_server_time(&self, server_time: &str, local_now: DateTime<Utc>) -> Result<i64> {
        let server = parse_rfc3339("server_time", server_time)?;
        let offset = (server - local_now).num_milliseconds();
        self.write(|tx| {
            tx.execute(
                "UPDATE server_link SET clock_offset_ms = ?1, last_exchange_at = ?2",
                (offset, local_now.timestamp()),
            )?;
            Ok(())
        })?;
        Ok(offset)
    }

    /// Stores decisions pulled from the server and the cursor after them,
    /// in one transaction. Returns how many were new.
    pub fn store_decisions(
        &self,
        decisions: &[DecisionNotice],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        for d in decisions {
            validate_id("review_id", &d.review_id)?;
            validate_id("agent", &d.agent)?;
            parse_date("date", &d.date)?;
            Decision::parse("decision", &d.decision)?;
            parse_rfc3339("decided_at", &d.decided_at)?;
        }
        self.write(|tx| {
            let mut new = 0;
            for d in decisions {
                let note = sealing::RECEIVED_NOTE.seal_optional(
                    tx,
                    sealing::Subject::agent(&d.agent),
                    &d.review_id,
                    d.note.as_deref(),
                )?;
                new += tx
                    .prepare_cached(
                        "INSERT INTO received_decisions (review_id, event_id, agent,
                           date, decision, note, reviewer, decided_at, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                    )?
                    .execute(super::db::params![
                        d.review_id,
                        d.event_id,
                        d.agent,
                        d.date,
                        d.decision,
                        note,
                        d.reviewer,
                        parse_rfc3339("decided_at", &d.decided_at)?.timestamp(),
                        now.timestamp(),
                    ])? as u64;
            }
            tx.execute("UPDATE server_link SET decisions_cursor = ?1", [cursor])?;
            Ok(new)
        })
    }

    /// Review decisions about `agent` (or everyone an actor may see): those
    /// pulled from a server and those made on this store, oldest first.
    /// Agents see their own.
    pub fn decisions(&self, actor: &Actor, agent: Option<&str>) -> Result<Vec<DecisionNotice>> {
        let agent = actor.own_scope(agent, "review decisions")?;
        self.read(|tx| {
            let mut found = Vec::new();
            let mut stmt = tx.prepare(
                "SELECT review_id, event_id, agent, date, decision, note, reviewer, decided_at
                 FROM received_decisions WHERE CAST(?1 AS TEXT) IS NULL OR agent = ?1",
            )?;
            let mut rows = stmt.query([&agent])?;
            while let Some(r) = rows.next()? {
                let review_id: String = r.get(0)?;
                found.push(DecisionNotice {
                    note: sealing::RECEIVED_NOTE.open_optional(tx, &review_id, r.get(5)?)?,
                    review_id,
                    event_id: r.get(1)?,
                    agent: r.get(2)?,
                    date: r.get(3)?,
                    decision: r.get(4)?,
                    reviewer: r.get(6)?,
                    decided_at: format_rfc3339(
                        from_unix("decided_at", r.get(7)?)
                            .map_err(|e| Error::Corrupt(e.to_string()))?,
                    ),
                });
            }
            let mut stmt = tx.prepare(&format!(
                "SELECT {} FROM reviews WHERE CAST(?1 AS TEXT) IS NULL OR agent = ?1",
                review_columns()
            ))?;
            let rows = stmt.query_map([&agent], |r| Ok(review_from_row(tx, r)))?;
            for review in rows {
                found.push(DecisionNotice::from(review??));
            }
            found.sort_by(|a, b| (&a.decided_at, &a.review_id).cmp(&(&b.decided_at, &b.review_id)));
            Ok(found)
        })
    }
}

/// The protocol's own actor on the device's store: it reads the outbox and
/// acknowledges what the server committed, for no person.
fn sync_client_actor() -> Actor {
    Actor::admin("sync-client")
}

impl DeviceStore for Store {
    fn device_id(&self) -> Result<String> {
        Store::device_id(self)
    }
    fn server_link(&self) -> Result<Option<ServerLink>> {
        Store::server_link(self)
    }
    fn link_server(&self, link: &ServerLink) -> Result<()> {
        Store::link_server(self, link)
    }
    fn note_server_time(&self, server_time: &str, local_now: DateTime<Utc>) -> Result<i64> {
        Store::note_server_time(self, server_time, local_now)
    }
    fn outbox_from(
        &self,
        from_seq: Option<i64>,
        limit: usize,
        with_locations: bool,
    ) -> Result<SyncBatch> {
        self.sync_pending_with(&sync_client_actor(), from_seq, limit, with_locations)
    }
    fn outbox_problem_for(&self, agent: &str) -> Result<Option<String>> {
        Store::outbox_problem_for(self, agent)
    }
    fn apply_config(&self, answer: &ConfigAnswer, now: DateTime<Utc>) -> Result<AppliedConfig> {
        Store::apply_config(self, answer, now)
    }
    fn outbox_status(&self) -> Result<SyncStatus> {
        self.sync_status(&sync_client_actor())
    }
    fn acknowledge(&self, up_to: i64) -> Result<()> {
        self.sync_ack(&sync_client_actor(), up_to).map(|_| ())
    }
    fn store_decisions(
        &self,
        decisions: &[DecisionNotice],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        Store::store_decisions(self, decisions, cursor, now)
    }
}

/// What this device knows of its clock, for the events it records: the
/// offset and the server's time at the last exchange. `None` before
/// enrolment (or on a store that is not a device).
pub(super) fn device_clock(tx: &Transaction<'_>) -> Result<Option<DeviceClock>> {
    let row: Option<(i64, Option<i64>)> = tx
        .prepare_cached("SELECT clock_offset_ms, last_exchange_at FROM server_link")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((offset_ms, Some(local_at))) = row else {
        return Ok(None);
    };
    // The exchange on the server's clock, in whole seconds (the chained
    // encoding's unit), rounded down so the bound never moves later.
    let server_at = (local_at * 1000 + offset_ms).div_euclid(1000);
    Ok(Some(DeviceClock {
        offset_ms,
        last_exchange_server_at: from_unix("last_exchange_server_at", server_at)?,
    }))
}
