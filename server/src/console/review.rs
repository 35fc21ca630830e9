//! The supervisor's review job: the queue, an agent's day, single and bulk
//! decisions, and "show location" (PRODUCT.md §12.4).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use fieldcheck_core::review::Decision;
use fieldcheck_core::shift::day_bounds;
use fieldcheck_core::{Error, EventFilter, ReportQuery};
use serde::Deserialize;

use super::{
    Session, bad_dates, blocking, non_empty, pages, parse_date, queue, same_secret, see_other,
    session, sign_in_form, signed_in, store_call,
};
use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

/// Periods the queue offers by default.
const DEFAULT_QUEUE_DAYS: i64 = 14;

pub(super) async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<queue::QueueQuery>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return sign_in_form(&headers, StatusCode::OK, None, ""),
        Err(r) => return r,
    };
    let today = pages::today(state.now());
    let (Some(from), Some(to)) = (
        parse_date(
            q.from.as_deref(),
            today - Duration::days(DEFAULT_QUEUE_DAYS - 1),
        ),
        parse_date(q.to.as_deref(), today),
    ) else {
        return bad_dates(&session);
    };
    let filter = queue::QueueFilter {
        agent: non_empty(q.agent),
        site: non_empty(q.site),
        from,
        to,
        reason: non_empty(q.reason),
    };
    let notice = q
        .done
        .as_deref()
        .and_then(|n| n.parse::<usize>().ok())
        .map(session.t().recorded);
    let report = match team_attendance(&state, &session, from, to, filter.agent.clone()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let flags = match store_call(move || store.flags(&actor, None, now)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page = queue::build(report, &flags, filter);
    session.page(
        StatusCode::OK,
        pages::queue(
            session.t(),
            &session.user,
            &session.csrf(),
            &page,
            notice.as_deref(),
        ),
    )
}

/// The attendance report over a period, narrowed to what the user may see
/// (an agent outside their team gives an empty report, not an error).
pub(super) async fn team_attendance(
    state: &AppState,
    session: &Session,
    from: NaiveDate,
    to: NaiveDate,
    agent: Option<String>,
) -> Result<fieldcheck_core::report::AttendanceReport, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let query = ReportQuery { from, to, agent };
    let now = state.now();
    let mut report = match blocking(move || store.attendance_report(&actor, &query, now)).await? {
        Ok(r) => r,
        Err(Error::InvalidInput { .. }) => {
            return Err(session.page(
                StatusCode::BAD_REQUEST,
                pages::message(
                    session.t(),
                    Some((&session.user, &session.csrf())),
                    session.t().bad_period,
                    session.t().period_help,
                ),
            ));
        }
        Err(e) => return Err(internal(&e)),
    };
    report.retain_agents(|a| session.may_see(a));
    Ok(report)
}

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
        Ok(DayData {
            zone,
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
    zone: chrono_tz::Tz,
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
    session.page(
        status,
        pages::agent_day(
            session.t(),
            &session.user,
            &session.csrf(),
            &pages::DayView {
                agent,
                date,
                zone: day.zone,
                summary: day.summary.as_ref(),
                events: &day.events,
                reviews: &day.reviews,
                synced: &day.synced,
                location_views: &day.location_views,
                located,
                error,
            },
        ),
    )
}

pub(super) async fn agent_day(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
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
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
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
            let mut response = see_other(&pages::day_href(&agent, date));
            response
                .extensions_mut()
                .insert(LoggedUser(session.user.id));
            response
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
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
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

pub(super) async fn bulk_review(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return session.refused(session.t().stale_form);
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if !same_secret(field("csrf_token"), &session.csrf()) {
        return session.refused(session.t().stale_form);
    }
    let decision = decision_of(field("decision")).unwrap_or(Decision::Approved);
    let note = field("note").trim().to_string();
    let mut days: Vec<(String, NaiveDate)> = Vec::new();
    for (_, value) in fields.iter().filter(|(k, _)| k == "day") {
        // "agent/YYYY-MM-DD"; agent ids may hold '/', dates never do.
        let Some((agent, date)) = value.rsplit_once('/') else {
            return session.not_found();
        };
        let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            return session.not_found();
        };
        if !session.may_see(agent) {
            return session.not_found();
        }
        days.push((agent.to_string(), date));
    }
    let message = if days.is_empty() {
        Some(session.t().select_one)
    } else if note.is_empty() {
        Some(session.t().write_note)
    } else {
        None
    };
    if let Some(message) = message {
        return session.page(
            StatusCode::BAD_REQUEST,
            pages::message(
                session.t(),
                Some((&session.user, &session.csrf())),
                session.t().nothing_decided,
                message,
            ),
        );
    }
    let store = state.store.clone();
    let actor = session.actor();
    let count = days.len();
    let now = state.now();
    let result = blocking(move || {
        for (agent, date) in &days {
            store.review_day(&actor, agent, *date, decision, &note, now)?;
        }
        Ok(())
    })
    .await;
    match result {
        Ok(Ok(())) => {
            let mut response = see_other(&format!("/?done={count}"));
            response
                .extensions_mut()
                .insert(LoggedUser(session.user.id));
            response
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}
