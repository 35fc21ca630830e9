//! Supervisor reviews: chained decisions on attendance events.

use super::db::{OptionalExtension, Row, Transaction};
use super::sealing;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::{chain, days, queue_marks};
use crate::error::{Error, Result};
use crate::leads::validate_text;
use crate::personal::PersonalFields;
use crate::review::{Decision, Review};
use crate::shift::{date_from_day_number, day_number, local_date};
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role, validate_id};

const COLUMNS: &str =
    "id, seq, event_id, agent, day, decision, digests, sealed, at, actor_id, actor_role";

impl Store {
    /// A supervisor approves or rejects an attendance event, with a note.
    pub fn review(
        &self,
        actor: &Actor,
        event_id: &str,
        decision: Decision,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        actor.may_supervise()?;
        validate_text("note", note, 4096)?;
        let default_zone = self.default_zone()?;
        self.write(|tx| {
            let (agent, captured_at): (String, i64) = tx
                .prepare_cached(
                    "SELECT agent, captured_at FROM attendance_events WHERE id = ?1
                     UNION ALL SELECT agent, captured_at FROM sync_attendance WHERE event_id = ?1
                     LIMIT 1",
                )?
                .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("attendance event {event_id}")))?;
            let tz = days::zone_of(tx, &agent, default_zone)?;
            let date = local_date(tz, from_unix("captured_at", captured_at)?);
            append_review(tx, actor, Some(event_id), agent, date, decision, note, now)
        })
    }

    /// A supervisor approves or rejects an agent's whole day (the agent's
    /// local date), with a note: the console's day decision.
    pub fn review_day(
        &self,
        actor: &Actor,
        agent: &str,
        date: NaiveDate,
        decision: Decision,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        actor.may_supervise()?;
        validate_id("agent", agent)?;
        validate_text("note", note, 4096)?;
        self.write(|tx| day_decision(tx, actor, agent, date, decision, note, now))
    }

    /// [`Store::review_day`] for several days in one transaction: all are
    /// decided or none (the console's `Approve selected`).
    pub fn review_days(
        &self,
        actor: &Actor,
        days: &[(String, NaiveDate)],
        decision: Decision,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Review>> {
        actor.may_supervise()?;
        validate_text("note", note, 4096)?;
        for (agent, _) in days {
            validate_id("agent", agent)?;
        }
        self.write(|tx| {
            days.iter()
                .map(|(agent, date)| day_decision(tx, actor, agent, *date, decision, note, now))
                .collect()
        })
    }

    /// Every review of an agent's local day, on the day or on one of its
    /// events, oldest first (supervisors, admins).
    pub fn reviews_of_day(
        &self,
        actor: &Actor,
        agent: &str,
        date: NaiveDate,
    ) -> Result<Vec<Review>> {
        actor.may_supervise()?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reviews WHERE day = ?1 AND agent = ?2 ORDER BY seq"
            ))?;
            let rows = stmt.query_map((day_number(date), agent), |r| Ok(review_from_row(tx, r)))?;
            rows.map(|r| r?).collect()
        })
    }

    /// Reviews of one event, oldest first.
    pub fn reviews_of(&self, actor: &Actor, event_id: &str) -> Result<Vec<Review>> {
        actor.may_supervise()?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reviews WHERE event_id = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([event_id], |r| Ok(review_from_row(tx, r)))?;
            rows.map(|r| r?).collect()
        })
    }
}

/// A decision on a whole day, and the review queue without that day.
fn day_decision(
    tx: &Transaction<'_>,
    actor: &Actor,
    agent: &str,
    date: NaiveDate,
    decision: Decision,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Review> {
    let review = append_review(
        tx,
        actor,
        None,
        agent.to_string(),
        date,
        decision,
        note,
        now,
    )?;
    queue_marks::mark(tx, Some(agent), date, date)?;
    Ok(review)
}

/// Chains one review and stores it (the one write path of both kinds).
#[allow(clippy::too_many_arguments)]
fn append_review(
    tx: &Transaction<'_>,
    actor: &Actor,
    event_id: Option<&str>,
    agent: String,
    date: NaiveDate,
    decision: Decision,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Review> {
    let review = chain::append_event(tx, |seq| {
        Ok(Review {
            id: Uuid::now_v7().to_string(),
            seq,
            event_id: event_id.map(str::to_string),
            agent,
            date,
            decision,
            note: Some(note.to_string()),
            personal: PersonalFields::seal([("note", note)]),
            at: whole_second(now),
            reviewer: actor.clone(),
        })
    })?;
    let sealed = sealing::REVIEW_NOTE.seal_personal(
        tx,
        sealing::Subject::agent(&review.agent),
        &review.id,
        &review.personal,
    )?;
    tx.prepare_cached(&format!(
        "INSERT INTO reviews ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(super::db::params![
        review.id,
        review.seq,
        review.event_id,
        review.agent,
        day_number(review.date),
        review.decision.as_str(),
        review.personal.digests_column(),
        sealed,
        review.at.timestamp(),
        review.reviewer.id,
        review.reviewer.role.as_str(),
    ])?;
    Ok(review)
}

pub(super) fn review_columns() -> &'static str {
    COLUMNS
}

pub(super) fn review_from_row(tx: &Transaction<'_>, r: &Row<'_>) -> Result<Review> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored review is unreadable: {e}"));
    let decision: String = r.get(5)?;
    let role: String = r.get(10)?;
    let digests: String = r.get(6)?;
    let sealed: String = r.get(7)?;
    let id: String = r.get(0)?;
    let personal = sealing::REVIEW_NOTE.open_personal(tx, &id, &digests, &sealed)?;
    let day: i64 = r.get(4)?;
    Ok(Review {
        id,
        seq: r.get(1)?,
        event_id: r.get(2)?,
        agent: r.get(3)?,
        date: date_from_day_number(day)
            .ok_or_else(|| Error::Corrupt(format!("stored review day {day} out of range")))?,
        decision: Decision::parse("decision", &decision).map_err(corrupt)?,
        note: personal.get("note").map(str::to_string),
        personal,
        at: from_unix("at", r.get(8)?).map_err(corrupt)?,
        reviewer: Actor::new(
            r.get::<_, String>(9)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}

pub(super) fn review_for_verify(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let found = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM reviews WHERE id = ?1"))?
        .query_row([id], |r| Ok(review_from_row(tx, r)))
        .optional()?
        .transpose()?;
    Ok(found.map(|r| (r.canonical(), r.personal.mismatch())))
}
