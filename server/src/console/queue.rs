//! The review queue at `/queue` (PRODUCT.md §12.4): agent-days needing a
//! decision, newest first, read from the store's index with the user's
//! agents in the query; counts per reason over the whole filter; pages of
//! 50 with older and newer links; `Select all`, `Approve selected`,
//! `Reject selected`, after which the page shows again where it was.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use fieldcheck_core::queue::{Direction, QueueCursor, QueuePage, QueueQuery, QueueReason};
use fieldcheck_core::review::Decision;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::pages::{
    Place, agent_label, cards_table, clock, day_href, encode, placed, reason_badges,
};
use super::{
    Posting, Session, Viewing, bad_dates, blocking, names_of, non_empty, pages, parse_date,
    resolve_agents, same_secret, store_call, visible_agents,
};
use crate::AppState;
use crate::problem::internal;

/// Items a page.
pub const PAGE_ITEMS: usize = 50;
/// The period the queue shows unless asked: the last 60 days.
const DEFAULT_DAYS: i64 = 60;

/// The queue's filters and position as the form and links send them
/// (empty fields are "any").
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub(super) struct QueueParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// A position (`QueueCursor::encode`) and the way from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    /// `all`: the page shown again with its items ticked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    select: Option<String>,
}

impl QueueParams {
    /// Without empty fields, so links stay short.
    fn tidy(mut self) -> QueueParams {
        for field in [
            &mut self.agent,
            &mut self.site,
            &mut self.from,
            &mut self.to,
            &mut self.reason,
            &mut self.at,
            &mut self.dir,
            &mut self.select,
        ] {
            *field = non_empty(field.take());
        }
        self
    }

    /// `/queue?…` for these parameters.
    fn href(&self) -> String {
        let query = serde_urlencoded::to_string(self).unwrap_or_default();
        if query.is_empty() {
            "/queue".into()
        } else {
            format!("/queue?{query}")
        }
    }

    /// The same filters at another position.
    fn at(&self, cursor: Option<&QueueCursor>, dir: Direction) -> QueueParams {
        QueueParams {
            at: cursor.map(QueueCursor::encode),
            dir: cursor.map(|_| {
                match dir {
                    Direction::Older => "older",
                    Direction::Newer => "newer",
                }
                .to_string()
            }),
            select: None,
            ..self.clone()
        }
    }
}

/// What the page shows besides the store's answer.
struct Shown {
    params: QueueParams,
    from: NaiveDate,
    to: NaiveDate,
    reason: Option<QueueReason>,
    select_all: bool,
}

pub(super) async fn page(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    Query(params): Query<QueueParams>,
) -> Response {
    let params = params.tidy();
    let now = state.now();
    let today = pages::today(now);
    let (Some(from), Some(to)) = (
        parse_date(
            params.from.as_deref(),
            today - Duration::days(DEFAULT_DAYS - 1),
        ),
        parse_date(params.to.as_deref(), today),
    ) else {
        return bad_dates(&session);
    };
    if to < from {
        return bad_dates(&session);
    }
    let reason = match params.reason.as_deref().map(QueueReason::parse) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(_)) => return session.not_found(),
    };
    let cursor = match params.at.as_deref().map(QueueCursor::decode) {
        None => None,
        Some(Ok(c)) => Some((
            c,
            if params.dir.as_deref() == Some("newer") {
                Direction::Newer
            } else {
                Direction::Older
            },
        )),
        Some(Err(_)) => return session.not_found(),
    };
    let visible = match visible_agents(&state, &session).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let agents = match resolve_agents(&state, &session, params.agent.as_deref(), visible).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = QueueQuery {
        agents,
        site: params.site.clone(),
        from,
        to,
        reason,
        from_cursor: cursor,
        limit: PAGE_ITEMS,
    };
    let store = state.store.clone();
    let queue = match store_call(move || {
        store.settle_queue_if_due(now)?;
        store.review_queue(&query)
    })
    .await
    {
        Ok(q) => q,
        Err(r) => return r,
    };
    let ids: Vec<String> = queue.items.iter().map(|i| i.agent.clone()).collect();
    let names = match names_of(&state, &session, ids).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let shown = Shown {
        select_all: params.select.as_deref() == Some("all"),
        params,
        from,
        to,
        reason,
    };
    session.page(StatusCode::OK, render(&session, &shown, &queue, &names))
}

fn render(
    session: &Session,
    s: &Shown,
    q: &QueuePage,
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    let t = session.t();
    let csrf = session.csrf();
    let p = &s.params;
    let columns = [t.select, t.date, t.agent, t.site, t.in_out, t.why];
    let with_reason = |reason: Option<QueueReason>| {
        QueueParams {
            reason: reason.map(|r| r.code()),
            at: None,
            dir: None,
            select: None,
            ..p.clone()
        }
        .href()
    };
    let count_of = |reason: QueueReason| {
        q.counts
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    };
    let here = p.at(
        p.at.as_deref()
            .and_then(|c| QueueCursor::decode(c).ok())
            .as_ref(),
        if p.dir.as_deref() == Some("newer") {
            Direction::Newer
        } else {
            Direction::Older
        },
    );
    let select_link = QueueParams {
        select: (!s.select_all).then(|| "all".to_string()),
        ..here.clone()
    }
    .href();
    let pager = |label: &str| {
        html! {
            @if q.newer.is_some() || q.older.is_some() {
                nav.pager aria-label=(label) {
                    @if let Some(c) = &q.newer {
                        a href=(p.at(Some(c), Direction::Newer).href()) rel="prev" { (t.newer_items) }
                    }
                    @if let Some(c) = &q.older {
                        a href=(p.at(Some(c), Direction::Older).href()) rel="next" { (t.older_items) }
                    }
                }
            }
        }
    };
    placed(
        t,
        t.review_queue,
        Place::Queue,
        Some(session.chrome()),
        html! {
            h1 { (t.review_queue) }
            form.filters method="get" action="/queue" {
                div { label for="f-agent" { (t.agent_or_name) } input #f-agent name="agent" value=(p.agent.as_deref().unwrap_or("")); }
                div { label for="f-site" { (t.site) } input #f-site name="site" value=(p.site.as_deref().unwrap_or("")); }
                div { label for="f-from" { (t.from) } input #f-from name="from" type="date" value=(s.from); }
                div { label for="f-to" { (t.to) } input #f-to name="to" type="date" value=(s.to); }
                div {
                    label for="f-reason" { (t.reason) }
                    select #f-reason name="reason" {
                        option value="" selected[s.reason.is_none()] { (t.any) }
                        @for reason in QueueReason::all() {
                            option value=(reason.code()) selected[s.reason == Some(reason)] {
                                (t.queue_reason(reason)) " (" (count_of(reason)) ")"
                            }
                        }
                    }
                }
                div { button type="submit" { (t.filter) } }
            }
            h2 { (t.needing_decision) (q.total) }
            ul.counts aria-label=(t.counts_label) {
                @for (reason, n) in &q.counts {
                    li { a href=(with_reason(Some(*reason))) { (t.queue_reason(*reason)) ": " (n) } }
                }
                @if s.reason.is_some() { li { a href=(with_reason(None)) { (t.any) } } }
            }
            @if q.items.is_empty() {
                p { (t.nothing_needed) }
                (pager(t.pages))
            } @else {
                p.muted { (t.queue_help) }
                (pager(t.pages))
                form method="post" action="/reviews/bulk" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    input type="hidden" name="back" value=(serde_urlencoded::to_string(&here).unwrap_or_default());
                    p.actions {
                        a.button.secondary href=(select_link) {
                            @if s.select_all { (t.clear_selection) } @else { (t.select_all) }
                        }
                    }
                    (cards_table(t, "queue", &columns, Some(t.queue_caption), html! {
                        @for item in &q.items {
                            @let id = format!("day-{}-{}", encode(&item.agent), item.date);
                            @let name = names.get(&item.agent).map(String::as_str);
                            tr {
                                td { input type="checkbox" name="day" id=(id) value=(format!("{}/{}", item.agent, item.date)) checked[s.select_all] aria-label=((t.select_day)(name.unwrap_or(&item.agent), &t.date(item.date))); }
                                td { a href=(day_href(&item.agent, item.date)) { (t.date(item.date)) } }
                                td { (agent_label(&item.agent, name)) }
                                td { (item.site_id.as_deref().unwrap_or("—")) }
                                td {
                                    (clock(item.first_check_in)) " / " (clock(item.last_check_out))
                                    span.sub { (item.time_zone) }
                                }
                                td { (reason_badges(t, item.reasons, item.minutes_late)) }
                            }
                        }
                    }))
                    div.review-form {
                        label for="bulk-note" { (t.note) }
                        textarea #bulk-note name="note" required {}
                        div.actions {
                            button type="submit" name="decision" value="approve" { (t.approve_selected) }
                            button.reject type="submit" name="decision" value="reject" { (t.reject_selected) }
                        }
                    }
                }
                (pager(t.pages_below))
            }
        },
    )
}

pub(super) async fn bulk_review(
    State(state): State<AppState>,
    Posting(session): Posting,
    body: Bytes,
) -> Response {
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
    let decision = match field("decision") {
        "reject" => Decision::Rejected,
        _ => Decision::Approved,
    };
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
        return session.message(
            StatusCode::BAD_REQUEST,
            session.t().nothing_decided,
            message,
        );
    }
    // Back where the page was: its filters and position, nothing else.
    let back = serde_urlencoded::from_str::<QueueParams>(field("back"))
        .unwrap_or_default()
        .tidy();
    let back = QueueParams {
        select: None,
        ..back
    };
    let store = state.store.clone();
    let actor = session.actor();
    let count = days.len();
    let now = state.now();
    let result = blocking(move || store.review_days(&actor, &days, decision, &note, now)).await;
    match result {
        Ok(Ok(_)) => {
            session.confirm(&state, (session.t().recorded)(count)).await;
            session.redirect(&back.href())
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}
