//! Agents (PRODUCT.md §12.4): `/agents` lists the user's agents with their
//! display names, devices and shift; `/agents/{agent}` shows a month
//! calendar of day statuses and decisions, the agent's shift versions and
//! a new version from a date (admins, and supervisors for their team; it
//! flows down to the phone with the next pull), and the display name
//! (admins).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use fieldcheck_core::report::AttendanceDay;
use fieldcheck_core::shift::{Shift, WeekdaySet, parse_hhmm, parse_time_zone};
use fieldcheck_core::{EnrolledDevice, Error, ReportQuery, ShiftSchedule};
use maud::{Markup, html};
use serde::Deserialize;

use super::i18n::Text;
use super::pages::{
    Place, agent_href, agent_label, cards_table, day_href, decision_badge, encode, placed,
    status_badge, table_with_class,
};
use super::{
    Posting, Session, Viewing, blocking, names, non_empty, same_secret, store_call, visible_agents,
};
use crate::AppState;
use crate::problem::internal;

/// Agents a page of the list.
const PAGE_AGENTS: usize = 50;

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    page: Option<usize>,
}

/// A shift in words: "08:00–17:00, Mon Tue Wed Thu Fri".
fn shift_words(t: &Text, shift: &Shift) -> String {
    let days: Vec<&str> = WEEK
        .iter()
        .filter(|d| shift.days.contains(**d))
        .map(|d| (t.words.weekday)(*d))
        .collect();
    format!(
        "{}–{}, {}",
        shift.start.format("%H:%M"),
        shift.end.format("%H:%M"),
        days.join(" ")
    )
}

fn devices_words(t: &Text, devices: &[&EnrolledDevice]) -> String {
    let active: Vec<&str> = devices
        .iter()
        .filter(|d| !d.revoked)
        .map(|d| (t.words.platform)(d.platform))
        .collect();
    if active.is_empty() {
        t.no_device.to_string()
    } else {
        active.join(", ")
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    Query(q): Query<ListQuery>,
) -> Response {
    let visible = match visible_agents(&state, &session).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let store = state.store.clone();
    let actor = session.actor();
    let admin = fieldcheck_core::Actor::admin(session.user.id.clone());
    let loaded = store_call(move || {
        Ok((
            store.agents(&actor)?,
            store.shifts(&actor)?,
            store.enrolled_devices(&admin)?,
        ))
    })
    .await;
    let (directory, shifts, devices) = match loaded {
        Ok(v) => v,
        Err(r) => return r,
    };
    let names: HashMap<&str, Option<&str>> = directory
        .iter()
        .map(|e| (e.agent.as_str(), e.name.as_deref()))
        .collect();
    // A supervisor's list is the team (known or not yet); an admin's, all.
    let mut ids: Vec<String> = match &visible {
        Some(team) => team.clone(),
        None => directory.iter().map(|e| e.agent.clone()).collect(),
    };
    let query = non_empty(q.q.clone());
    if let Some(text) = &query {
        ids.retain(|a| {
            fieldcheck_core::agent_name::matches(text, a, names.get(a.as_str()).copied().flatten())
        });
    }
    ids.sort_by_cached_key(|a| {
        (
            names
                .get(a.as_str())
                .copied()
                .flatten()
                .unwrap_or(a)
                .to_lowercase(),
            a.clone(),
        )
    });
    let pages = ids.len().div_ceil(PAGE_AGENTS).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let shifts: HashMap<&str, &Shift> = shifts.iter().map(|(a, s)| (a.as_str(), s)).collect();
    let mut by_agent: HashMap<&str, Vec<&EnrolledDevice>> = HashMap::new();
    for d in &devices {
        by_agent.entry(d.agent.as_str()).or_default().push(d);
    }
    let t = session.t();
    let columns = [t.name, t.agent, t.devices, t.shift];
    let href = |page: usize| match &query {
        Some(text) => format!("/agents?q={}&page={page}", encode(text)),
        None => format!("/agents?page={page}"),
    };
    let shown: Vec<&String> = ids
        .iter()
        .skip((page_no - 1) * PAGE_AGENTS)
        .take(PAGE_AGENTS)
        .collect();
    let body = html! {
        h1 { (t.agents) }
        form.filters method="get" action="/agents" role="search" {
            div { label for="a-q" { (t.agent_or_name) } input #a-q name="q" value=(query.as_deref().unwrap_or("")); }
            div { button type="submit" { (t.find) } }
        }
        @if shown.is_empty() {
            p { (t.no_agents_here) }
        } @else {
            p.muted { ((t.items_of)((page_no - 1) * PAGE_AGENTS + 1, (page_no - 1) * PAGE_AGENTS + shown.len(), ids.len())) }
            (cards_table(t, "agents", &columns, Some(t.agents), html! {
                @for a in &shown {
                    @let name = names.get(a.as_str()).copied().flatten();
                    tr {
                        td { a href=(agent_href(a)) { (name.unwrap_or("—")) } }
                        td { a href=(agent_href(a)) { (a) } }
                        td { (devices_words(t, by_agent.get(a.as_str()).map(Vec::as_slice).unwrap_or(&[]))) }
                        td {
                            @match shifts.get(a.as_str()) {
                                Some(s) => { (shift_words(t, s)) span.sub { (s.tz.name()) } }
                                None => (t.no_shift),
                            }
                        }
                    }
                }
            }))
            @if pages > 1 {
                nav.pager aria-label=(t.pages) {
                    @if page_no > 1 { a href=(href(page_no - 1)) rel="prev" { (t.previous_page) } }
                    span { ((t.page_of)(page_no, pages)) }
                    @if page_no < pages { a href=(href(page_no + 1)) rel="next" { (t.next_page) } }
                }
            }
        }
    };
    session.page(
        StatusCode::OK,
        placed(t, t.agents, Place::Agents, Some(session.chrome()), body),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MonthQuery {
    month: Option<String>,
}

/// The first day of `YYYY-MM`.
fn month_start(text: &str) -> Option<NaiveDate> {
    let (y, m) = text.trim().split_once('-')?;
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map_or(first, |n| n - Duration::days(1))
}

pub(super) async fn agent(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    Path(agent): Path<String>,
    Query(q): Query<MonthQuery>,
) -> Response {
    agent_page(
        &state,
        &session,
        &agent,
        q.month.as_deref(),
        StatusCode::OK,
        None,
    )
    .await
}

async fn agent_page(
    state: &AppState,
    session: &Session,
    agent: &str,
    month: Option<&str>,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    if !session.may_see(agent) {
        return session.not_found();
    }
    let now = state.now();
    let store = state.store.clone();
    let agent_id = agent.to_string();
    let zone = match store_call(move || store.agent_zone(&agent_id)).await {
        Ok(z) => z,
        Err(r) => return r,
    };
    let today = now.with_timezone(&zone).date_naive();
    let first = match month {
        None => today.with_day(1).unwrap_or(today),
        Some(m) => match month_start(m) {
            Some(d) => d,
            None => return super::bad_dates(session),
        },
    };
    let last = last_of_month(first);
    let store = state.store.clone();
    let actor = session.actor();
    let admin = fieldcheck_core::Actor::admin(session.user.id.clone());
    let agent_id = agent.to_string();
    let loaded = store_call(move || {
        let report = store.attendance_report(
            &actor,
            &ReportQuery {
                from: first,
                to: last,
                agent: Some(agent_id.clone()),
            },
            now,
        )?;
        let schedule = store.shift_schedule(&actor, &agent_id)?;
        let devices: Vec<EnrolledDevice> = store
            .enrolled_devices(&admin)?
            .into_iter()
            .filter(|d| d.agent == agent_id)
            .collect();
        Ok((report, schedule, devices))
    })
    .await;
    let (report, schedule, devices) = match loaded {
        Ok(v) => v,
        Err(r) => return r,
    };
    let names = match names(state, session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let days: HashMap<NaiveDate, &AttendanceDay> =
        report.days.iter().map(|d| (d.date, d)).collect();
    let view = AgentView {
        agent,
        name: names.get(agent).map(String::as_str),
        first,
        last,
        today,
        zone: zone.name(),
        days: &days,
        schedule: schedule.as_ref(),
        devices: &devices,
        error,
    };
    session.page(status, render_agent(session, &view))
}

struct AgentView<'a> {
    agent: &'a str,
    name: Option<&'a str>,
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
    zone: &'a str,
    days: &'a HashMap<NaiveDate, &'a AttendanceDay>,
    schedule: Option<&'a ShiftSchedule>,
    devices: &'a [EnrolledDevice],
    error: Option<&'a str>,
}

fn render_agent(session: &Session, v: &AgentView<'_>) -> Markup {
    let t = session.t();
    let csrf = session.csrf();
    let base = agent_href(v.agent);
    let prev = v.first - Duration::days(1);
    let next = v.last + Duration::days(1);
    // Weeks of the calendar, Monday first.
    let grid_start = v.first - Duration::days(i64::from(v.first.weekday().num_days_from_monday()));
    let mut weeks: Vec<[NaiveDate; 7]> = Vec::new();
    let mut day = grid_start;
    while day <= v.last {
        let week = std::array::from_fn(|i| day + Duration::days(i as i64));
        weeks.push(week);
        day += Duration::days(7);
    }
    let weekday_labels: Vec<&str> = WEEK.iter().map(|d| (t.words.weekday)(*d)).collect();
    let title = v.name.unwrap_or(v.agent);
    let body = html! {
        h1 { (agent_label(v.agent, v.name)) }
        @if let Some(e) = v.error { p.error role="alert" { (e) } }
        p.actions {
            a href=(format!("/queue?agent={}", encode(v.agent))) { (t.their_queue) }
            a href=(day_href(v.agent, v.today)) { (t.their_today) }
        }
        h2 { ((t.month_title)((t.words.month)(v.first.month()), v.first.year())) }
        p.muted { ((t.times_in)(v.zone)) }
        nav.pager aria-label=(t.months_nav) {
            a href=(format!("{base}?month={}", prev.format("%Y-%m"))) rel="prev" { (t.previous_month) }
            a href=(format!("{base}?month={}", next.format("%Y-%m"))) rel="next" { (t.next_month) }
        }
        (table_with_class(t, "calendar", "cards calendar", &weekday_labels, Some(t.calendar_caption), html! {
            @for week in &weeks {
                tr {
                    @for date in week {
                        @if *date < v.first || *date > v.last {
                            td.outside aria-hidden="true" {}
                        } @else {
                            td {
                                a href=(day_href(v.agent, *date)) { (date.day()) span.visually-hidden { " " (t.date(*date)) } }
                                @match v.days.get(date) {
                                    Some(d) => {
                                        " " (status_badge(t, d.status, d.minutes_late))
                                        @if let Some(r) = &d.review { (decision_badge(t, r.decision)) }
                                        @let (approved, rejected) = d.event_decisions();
                                        @if approved + rejected > 0 && d.review.is_none() {
                                            span.badge.info { ((t.events_decided)(approved + rejected)) }
                                        }
                                    }
                                    None => {}
                                }
                            }
                        }
                    }
                }
            }
        }))
        h2 { (t.shift) }
        @match v.schedule {
            Some(schedule) => {
                (cards_table(t, "shifts", &[t.from, t.shift, t.time_zone], None, html! {
                    @for version in &schedule.versions {
                        tr {
                            td { (version.from.map_or(t.always.to_string(), |d| t.date(d))) }
                            td { (shift_words(t, &version.shift)) }
                            td { (version.shift.tz.name()) }
                        }
                    }
                }))
            }
            None => p { (t.no_shift) },
        }
        // A visible agent: an admin's, or one of this supervisor's team.
        {
            form.review-form method="post" action=(format!("{base}/shift")) aria-labelledby="new-shift" {
                h3 #new-shift { (t.new_shift_from) }
                input type="hidden" name="csrf_token" value=(csrf);
                label for="s-from" { (t.from) }
                input #s-from name="from" type="date" required value=(v.today);
                label for="s-start" { (t.start) }
                input #s-start name="start" type="time" required value="08:00";
                label for="s-end" { (t.end) }
                input #s-end name="end" type="time" required value="17:00";
                fieldset {
                    legend { (t.working_days) }
                    @for (i, d) in WEEK.iter().enumerate() {
                        label.inline { input type="checkbox" name="day" value=(d.to_string().to_lowercase()) checked[i < 5]; ((t.words.weekday)(*d)) }
                    }
                }
                fieldset {
                    legend { (t.days_off) }
                    @for (i, d) in WEEK.iter().enumerate() {
                        label.inline { input type="checkbox" name="off" value=(d.to_string().to_lowercase()) checked[i >= 5]; ((t.words.weekday)(*d)) }
                    }
                }
                label for="s-zone" { (t.time_zone) }
                input #s-zone name="tz" required value=(v.zone);
                p.muted { (t.shift_help) }
                div.actions { button type="submit" { (t.save_shift) } }
            }
        }
        @if session.is_admin() {
            form.review-form method="post" action=(format!("{base}/name")) aria-labelledby="set-name" {
                h3 #set-name { (t.display_name) }
                input type="hidden" name="csrf_token" value=(csrf);
                label for="n-name" { (t.name) }
                input #n-name name="name" required maxlength="120" value=(v.name.unwrap_or(""));
                p.muted { (t.name_help) }
                div.actions { button type="submit" { (t.save_name) } }
            }
        }
        h2 { (t.devices) }
        @if v.devices.is_empty() {
            p { (t.no_device) }
        } @else {
            ul {
                @for d in v.devices {
                    li {
                        ((t.words.platform)(d.platform)) " · " code { (d.device_id) }
                        @if d.revoked { " " span.badge.bad { (t.revoked) } }
                    }
                }
            }
        }
    };
    placed(t, title, Place::Agents, Some(session.chrome()), body)
}

/// The form's fields if its CSRF token is the session's.
fn checked_form(session: &Session, body: &Bytes) -> Option<Vec<(String, String)>> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map_or("", |(_, v)| v.as_str());
    same_secret(token, &session.csrf()).then_some(fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The weekdays ticked under `name`, as `WeekdaySet` text ("mon,tue").
fn ticked(fields: &[(String, String)], name: &str) -> Option<String> {
    let days: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    (!days.is_empty()).then(|| days.join(","))
}

pub(super) async fn set_shift(
    State(state): State<AppState>,
    Posting(session): Posting,
    Path(agent): Path<String>,
    body: Bytes,
) -> Response {
    let Some(fields) = checked_form(&session, &body) else {
        return session.refused(session.t().stale_form);
    };
    if !session.may_see(&agent) {
        return session.not_found();
    }
    let parsed = (|| -> fieldcheck_core::Result<(NaiveDate, Shift, Option<WeekdaySet>)> {
        let from = fieldcheck_core::time::parse_date("from", field(&fields, "from"))?;
        let days = ticked(&fields, "day")
            .ok_or_else(|| Error::invalid("days", "tick at least one working day"))?;
        let days = WeekdaySet::parse(&days)?;
        let off = ticked(&fields, "off")
            .map(|text| WeekdaySet::parse(&text))
            .transpose()?;
        if let Some(off) = off
            && off.bits() & days.bits() != 0
        {
            return Err(Error::invalid("off", "a day cannot be both worked and off"));
        }
        let shift = Shift::new(
            parse_hhmm("start", field(&fields, "start"))?,
            parse_hhmm("end", field(&fields, "end"))?,
            days,
            parse_time_zone(field(&fields, "tz").trim())?,
        )?;
        Ok((from, shift, off))
    })();
    let (from, shift, off) = match parsed {
        Ok(v) => v,
        Err(e) => return answer(&state, &session, &agent, Err(e), String::new()).await,
    };
    let store = state.store.clone();
    let user = session.user.id.clone();
    let agent_id = agent.clone();
    let now = state.now();
    let result =
        blocking(move || store.set_shift_as_user(&user, &agent_id, Some(from), &shift, off, now))
            .await;
    let done = (session.t().shift_saved)(&session.t().date(from));
    match result {
        Ok(result) => answer(&state, &session, &agent, result, done).await,
        Err(r) => r,
    }
}

/// The answer to a change on an agent's page: back to the page with the
/// confirmation `done`, or the page again saying what was wrong.
async fn answer(
    state: &AppState,
    session: &Session,
    agent: &str,
    result: fieldcheck_core::Result<()>,
    done: String,
) -> Response {
    match result {
        Ok(()) => {
            session.confirm(state, done).await;
            session.redirect(&agent_href(agent))
        }
        Err(Error::PermissionDenied(_)) => session.not_found(),
        Err(Error::InvalidInput { field, reason }) => {
            let why = format!("{field}: {reason}");
            agent_page(
                state,
                session,
                agent,
                None,
                StatusCode::BAD_REQUEST,
                Some(&why),
            )
            .await
        }
        Err(e) => internal(&e),
    }
}

pub(super) async fn set_name(
    State(state): State<AppState>,
    Posting(session): Posting,
    Path(agent): Path<String>,
    body: Bytes,
) -> Response {
    let Some(fields) = checked_form(&session, &body) else {
        return session.refused(session.t().stale_form);
    };
    if !session.is_admin() {
        return session.refused(session.t().admin_names);
    }
    let name = field(&fields, "name").to_string();
    let store = state.store.clone();
    let actor = session.actor();
    let agent_id = agent.clone();
    let now = state.now();
    let result = blocking(move || store.set_agent_name(&actor, &agent_id, &name, now)).await;
    let done = session.t().name_saved.to_string();
    match result {
        Ok(result) => answer(&state, &session, &agent, result.map(|_| ()), done).await,
        Err(r) => r,
    }
}
