//! An agent's day (PRODUCT.md §12.4): the timeline of verdicts in words and
//! in the agent's zone, the day's current decision and each event's, the
//! decisions themselves, and "show location" (coordinates an audit flag
//! kept, each view logged).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use fieldcheck_core::review::{Decision, Review};
use fieldcheck_core::shift::day_bounds;
use fieldcheck_core::{AttendanceEvent, Error, EventFilter, PositionClass, ReportQuery};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::Text;
use super::pages::{
    Place, agent_href, agent_label, cards_table, day_badges, day_href, decision_badge, placed,
};
use super::{Posting, Session, Viewing, blocking, non_empty, same_secret};
use crate::AppState;
use crate::problem::internal;

async fn load_day(
    state: &AppState,
    session: &Session,
    agent: &str,
    date: NaiveDate,
) -> Result<DayData, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let agent_id = agent.to_string();
    let now = state.now();
    let loaded = blocking(move || {
        let zone = store.agent_zone(&agent_id)?;
        let (start, end) = day_bounds(zone, date);
        let mut events = store.events(
            &actor,
            &EventFilter {
                agent: Some(agent_id.clone()),
                from: Some(start),
                to: Some(end),
            },
        )?;
        events.retain(|e| e.captured_at >= start && e.captured_at < end);
        events.sort_by_key(|e| e.captured_at);
        let reviews = store.reviews_of_day(&actor, &agent_id, date)?;
        let mut synced = std::collections::HashMap::new();
        for e in events.iter().filter(|e| e.device_id.is_some()) {
            if let Some(at) = store.synced_at(&actor, &e.id)? {
                synced.insert(e.id.clone(), at);
            }
        }
        let mut location_views = Vec::new();
        for e in events.iter().filter(|e| e.location_retained) {
            location_views.extend(store.location_views(&actor, &e.id)?);
        }
        let report = store.attendance_report(
            &actor,
            &ReportQuery {
                from: date,
                to: date,
                agent: Some(agent_id.clone()),
            },
            now,
        )?;
        let name = store
            .agent_names_of(&actor, std::slice::from_ref(&agent_id))?
            .remove(&agent_id);
        Ok(DayData {
            zone,
            name,
            events,
            reviews,
            synced,
            location_views,
            summary: report.days.into_iter().next(),
        })
    })
    .await?;
    loaded.map_err(|e| internal(&e))
}

/// The day `date` ("YYYY-MM-DD") of `agent`, loaded, if the user may see
/// that agent; otherwise (or for a malformed date) the 404 answer.
async fn visible_day(
    state: &AppState,
    session: &Session,
    agent: &str,
    date: &str,
) -> Result<(NaiveDate, DayData), Response> {
    let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        return Err(session.not_found());
    };
    if !session.may_see(agent) {
        return Err(session.not_found());
    }
    Ok((date, load_day(state, session, agent, date).await?))
}

struct DayData {
    zone: fieldcheck_core::zone::Zone,
    name: Option<String>,
    events: Vec<fieldcheck_core::AttendanceEvent>,
    reviews: Vec<fieldcheck_core::review::Review>,
    /// Imported events' sync times.
    synced: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>,
    location_views: Vec<fieldcheck_core::store::LocationView>,
    summary: Option<fieldcheck_core::report::AttendanceDay>,
}

fn render_day(
    session: &Session,
    agent: &str,
    date: NaiveDate,
    day: &DayData,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    render_day_with(session, agent, date, day, status, error, None)
}

/// The day page again, answering 400 with why the action was refused.
fn refuse_day(
    session: &Session,
    agent: &str,
    date: NaiveDate,
    day: &DayData,
    why: &str,
) -> Response {
    render_day(
        session,
        agent,
        date,
        day,
        StatusCode::BAD_REQUEST,
        Some(why),
    )
}

fn render_day_with(
    session: &Session,
    agent: &str,
    date: NaiveDate,
    day: &DayData,
    status: StatusCode,
    error: Option<&str>,
    located: Option<&fieldcheck_core::RetainedLocation>,
) -> Response {
    session.page(status, day_page(session, agent, date, day, error, located))
}

/// The latest decision on the day itself, and on each event (reviews come
/// oldest first).
fn current_decisions(reviews: &[Review]) -> (Option<&Review>, HashMap<&str, &Review>) {
    let mut day = None;
    let mut events = HashMap::new();
    for review in reviews {
        match review.event_id.as_deref() {
            None => day = Some(review),
            Some(event) => {
                events.insert(event, review);
            }
        }
    }
    (day, events)
}

/// What the position of a verdict was, in words, with the distance to the
/// fence of an attempt outside it.
fn position_words(t: &Text, e: &AttendanceEvent) -> String {
    let word = (t.words.position)(e.position);
    match (e.position, e.distance_m) {
        (PositionClass::Outside, Some(m)) => format!("{word} · {}", (t.metres_from_fence)(m)),
        _ => word.to_string(),
    }
}

fn day_page(
    session: &Session,
    agent: &str,
    date: NaiveDate,
    v: &DayData,
    error: Option<&str>,
    located: Option<&fieldcheck_core::RetainedLocation>,
) -> Markup {
    let t = session.t();
    let csrf = session.csrf();
    let action = format!("{}/review", day_href(agent, date));
    let columns = [
        t.time, t.kind, t.verdict, t.site, t.position, t.accuracy, t.reasons, t.decision, t.source,
    ];
    let zone = v.zone;
    let clock = |at: &DateTime<Utc>| at.with_timezone(&zone).format("%H:%M:%S").to_string();
    let when = |at: &DateTime<Utc>| {
        let local = at.with_timezone(&zone);
        format!("{} {}", t.date(local.date_naive()), local.format("%H:%M"))
    };
    let (day_decision, event_decisions) = current_decisions(&v.reviews);
    let kind = |e: &AttendanceEvent| (t.words.kind)(e.kind);
    let who = v.name.as_deref().unwrap_or(agent);
    placed(
        t,
        &format!("{who} {}", t.date(date)),
        Place::Other,
        Some(session.chrome()),
        html! {
            h1 { ((t.day_of)(&t.date(date))) " · " (agent_label(agent, v.name.as_deref())) }
            p.muted { ((t.times_in)(zone.name())) }
            nav.pager aria-label=(t.days_nav) {
                a href=(day_href(agent, date - Duration::days(1))) rel="prev" { (t.previous_day) }
                a href=(format!("{}?month={}", agent_href(agent), date.format("%Y-%m"))) { (t.month_of_agent) }
                a href=(day_href(agent, date + Duration::days(1))) rel="next" { (t.next_day) }
            }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if let Some(day) = &v.summary {
                p { (day_badges(t, day)) }
            }
            section aria-labelledby="day-decision" {
                h2 #day-decision { (t.decision_on_day) }
                @match day_decision {
                    Some(r) => p {
                        (decision_badge(t, r.decision)) " "
                        ((t.by_at)(&r.reviewer.id, &when(&r.at)))
                        @if let Some(note) = &r.note { " · “" (note) "”" }
                    },
                    None => p { (t.no_day_decision) },
                }
            }
            h2 { (t.timeline) }
            @if v.events.is_empty() {
                p { (t.no_events) }
            } @else {
                (cards_table(t, "timeline", &columns, None, html! {
                    @for e in &v.events {
                        tr {
                            td { (clock(&e.captured_at)) }
                            td { (kind(e)) }
                            td {
                                @if e.accepted { span.badge.ok { (t.accepted) } } @else { span.badge.bad { (t.rejected) } }
                                @if e.clock_skew { span.badge.bad { (t.clock_skew) } }
                            }
                            td { (e.site_id.as_deref().unwrap_or("—")) }
                            td { (position_words(t, e)) }
                            td { ((t.words.band)(e.accuracy_band)) }
                            td {
                                @for r in &e.reasons { span.badge { ((t.words.reason)(*r)) } }
                                @if e.reasons.is_empty() { "—" }
                            }
                            td {
                                @match event_decisions.get(e.id.as_str()) {
                                    Some(r) => { (decision_badge(t, r.decision)) span.sub { ((t.by_at)(&r.reviewer.id, &when(&r.at))) } }
                                    None => (t.undecided),
                                }
                            }
                            td {
                                (e.device_id.as_deref().map_or(t.this_server.to_string(), t.device_n))
                                @if let Some(at) = v.synced.get(&e.id) { span.sub { ((t.synced_at)(&when(at))) } }
                            }
                        }
                    }
                }))
            }
            @if let Some(l) = located {
                p.notice role="status" {
                    ((t.location_shown)(&clock(&l.captured_at), &format!("{:.6}, {:.6}", l.lat, l.lon), l.accuracy_m))
                }
            }
            @let retained: Vec<&AttendanceEvent> = v.events.iter().filter(|e| e.location_retained).collect();
            @if !retained.is_empty() {
                h2 { (t.retained_locations) }
                p.muted { (t.retained_help) }
                @for e in &retained {
                    form.review-form method="post" action=(format!("{}/location", day_href(agent, date))) aria-label=((t.show_location_of)(kind(e), &clock(&e.captured_at))) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="event_id" value=(e.id);
                        label for=(format!("why-{}", e.id)) { ((t.reason_for)(kind(e), &clock(&e.captured_at))) }
                        input id=(format!("why-{}", e.id)) name="reason" required;
                        div.actions { button.secondary type="submit" { (t.show_location) } }
                    }
                }
                @if !v.location_views.is_empty() {
                    h3 { (t.views_logged) }
                    ul {
                        @for view in &v.location_views {
                            li { ((t.by_at)(&view.viewer.id, &when(&view.at))) ": “" (view.reason) "”" }
                        }
                    }
                }
            }
            h2 { (t.decisions) }
            @if v.reviews.is_empty() {
                p { (t.no_decision) }
            } @else {
                ul {
                    @for r in &v.reviews {
                        li {
                            (decision_badge(t, r.decision))
                            " · " (r.event_id.as_deref().map_or(t.whole_day.to_string(), |id| {
                                v.events.iter().find(|e| e.id == id).map_or_else(
                                    || (t.event_n)(id),
                                    |e| (t.event_at)(kind(e), &clock(&e.captured_at)),
                                )
                            }))
                            " · " ((t.by_at)(&r.reviewer.id, &when(&r.at)))
                            @if let Some(note) = &r.note { " · “" (note) "”" }
                        }
                    }
                }
            }
            h2 { (t.decide_day) }
            (review_form(t, &action, &csrf, None, "note-day", t.decide_whole_day))
            @for e in &v.events {
                details {
                    summary { ((t.decide_the)(kind(e), &clock(&e.captured_at))) }
                    (review_form(t, &action, &csrf, Some(&e.id), &format!("note-{}", e.id), t.decide_event))
                }
            }
        },
    )
}

fn review_form(
    t: &Text,
    action: &str,
    csrf: &str,
    event_id: Option<&str>,
    id: &str,
    what: &str,
) -> Markup {
    html! {
        form.review-form method="post" action=(action) aria-label=(what) {
            input type="hidden" name="csrf_token" value=(csrf);
            @if let Some(event) = event_id { input type="hidden" name="event_id" value=(event); }
            label for=(id) { (t.note) }
            textarea id=(id) name="note" required {}
            div.actions {
                button type="submit" name="decision" value="approve" { (t.approve) }
                button.reject type="submit" name="decision" value="reject" { (t.reject) }
            }
        }
    }
}

pub(super) async fn agent_day(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    Path((agent, date)): Path<(String, String)>,
) -> Response {
    match visible_day(&state, &session, &agent, &date).await {
        Ok((date, day)) => render_day(&session, &agent, date, &day, StatusCode::OK, None),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    event_id: Option<String>,
}

fn decision_of(text: &str) -> Option<Decision> {
    match text {
        "approve" | "approved" => Some(Decision::Approved),
        "reject" | "rejected" => Some(Decision::Rejected),
        _ => None,
    }
}

pub(super) async fn review(
    State(state): State<AppState>,
    Posting(session): Posting,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<ReviewForm>(&body) else {
        return session.refused(session.t().stale_form);
    };
    if !same_secret(&form.csrf_token, &session.csrf()) {
        return session.refused(session.t().stale_form);
    }
    let (date, day) = match visible_day(&state, &session, &agent, &date).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let event_id = non_empty(form.event_id);
    if event_id
        .as_deref()
        .is_some_and(|id| !day.events.iter().any(|e| e.id == id))
    {
        return session.not_found();
    }
    let Some(decision) = decision_of(&form.decision) else {
        return refuse_day(&session, &agent, date, &day, session.t().choose_decision);
    };
    let note = form.note.trim().to_string();
    if note.is_empty() {
        return refuse_day(&session, &agent, date, &day, session.t().write_note);
    }
    let store = state.store.clone();
    let actor = session.actor();
    let agent_id = agent.clone();
    let now = state.now();
    let result = blocking(move || match event_id {
        Some(event) => store.review(&actor, &event, decision, &note, now),
        None => store.review_day(&actor, &agent_id, date, decision, &note, now),
    })
    .await;
    match result {
        Ok(Ok(_)) => {
            session
                .confirm(&state, session.t().decision_recorded.to_string())
                .await;
            session.redirect(&day_href(&agent, date))
        }
        Ok(Err(Error::InvalidInput { field, reason })) => {
            refuse_day(&session, &agent, date, &day, &format!("{field}: {reason}"))
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub(super) struct LocationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    reason: String,
}

/// "Show location": the coordinates an audit flag kept for one event of the
/// day, shown once on this answer and logged with who asked and why.
pub(super) async fn show_location(
    State(state): State<AppState>,
    Posting(session): Posting,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = serde_urlencoded::from_bytes::<LocationForm>(&body).ok();
    let Some(form) = form.filter(|f| same_secret(&f.csrf_token, &session.csrf())) else {
        return session.refused(session.t().stale_form);
    };
    let (date, day) = match visible_day(&state, &session, &agent, &date).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if !day
        .events
        .iter()
        .any(|e| e.id == form.event_id && e.location_retained)
    {
        return session.not_found();
    }
    if form.reason.trim().is_empty() {
        return refuse_day(&session, &agent, date, &day, session.t().say_why);
    }
    let store = state.store.clone();
    let actor = session.actor();
    let event_id = form.event_id.clone();
    let reason = form.reason.clone();
    let now = state.now();
    let shown =
        blocking(move || store.view_retained_location(&actor, &event_id, &reason, now)).await;
    let location = match shown {
        Ok(Ok(Some(location))) => location,
        Ok(Ok(None)) => return session.not_found(),
        Ok(Err(Error::InvalidInput { field, reason })) => {
            return refuse_day(&session, &agent, date, &day, &format!("{field}: {reason}"));
        }
        Ok(Err(e)) => return internal(&e),
        Err(r) => return r,
    };
    // Reloaded so the page lists this view among the logged ones.
    let day = match load_day(&state, &session, &agent, date).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    render_day_with(
        &session,
        &agent,
        date,
        &day,
        StatusCode::OK,
        None,
        Some(&location),
    )
}
