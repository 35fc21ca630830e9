//! Today, the landing page (PRODUCT.md §12.4): for the user's agents, each
//! on the current date in their own zone, the counts over all of them and
//! the agents 50 a page, each linking to their day.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use fieldcheck_core::queue::QueueQuery;
use fieldcheck_core::today::{AgentToday, TodayCounts, TodayStatus, counts};
use fieldcheck_core::zone::Zone;
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{Place, agent_label, cards_table, clock, clock_in, day_href, placed};
use super::{Session, session, sign_in_form, signed_in_page, store_call, visible_agents};
use crate::AppState;

/// Agents a page.
pub const PAGE_AGENTS: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct TodayQuery {
    /// 1-based page.
    page: Option<usize>,
    /// One of [`Show`]'s codes: only those agents.
    show: Option<String>,
}

/// Which agents the list shows (the counts' links).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    All,
    Present,
    Late,
    Absent,
    NotYetDue,
    StillIn,
    NotScheduled,
    Decision,
}

impl Show {
    const ALL: [Show; 8] = [
        Show::All,
        Show::Present,
        Show::Late,
        Show::Absent,
        Show::NotYetDue,
        Show::StillIn,
        Show::NotScheduled,
        Show::Decision,
    ];

    fn code(self) -> &'static str {
        match self {
            Show::All => "all",
            Show::Present => "present",
            Show::Late => "late",
            Show::Absent => "absent",
            Show::NotYetDue => "not_yet_due",
            Show::StillIn => "still_checked_in",
            Show::NotScheduled => "not_scheduled",
            Show::Decision => "needing_decision",
        }
    }

    fn parse(code: Option<&str>) -> Show {
        Show::ALL
            .into_iter()
            .find(|s| Some(s.code()) == code)
            .unwrap_or(Show::All)
    }

    fn keeps(self, row: &AgentToday) -> bool {
        match self {
            Show::All => true,
            Show::Present => matches!(row.status, TodayStatus::OnTime | TodayStatus::Late),
            Show::Late => row.status == TodayStatus::Late,
            Show::Absent => row.status == TodayStatus::Absent,
            Show::NotYetDue => row.status == TodayStatus::NotYetDue,
            Show::StillIn => row.still_checked_in,
            Show::NotScheduled => row.status == TodayStatus::NotScheduled,
            Show::Decision => row.needs_decision,
        }
    }

    fn count(self, c: &TodayCounts) -> u32 {
        match self {
            Show::All => c.agents,
            Show::Present => c.present,
            Show::Late => c.late,
            Show::Absent => c.absent,
            Show::NotYetDue => c.not_yet_due,
            Show::StillIn => c.still_checked_in,
            Show::NotScheduled => c.not_scheduled,
            Show::Decision => c.needing_decision,
        }
    }
}

pub(super) async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TodayQuery>,
) -> Response {
    // Signed out, `/` is the sign-in form.
    match session(&state, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return sign_in_form(&state, &headers, StatusCode::OK, None, ""),
        Err(r) => return r,
    }
    let session = match signed_in_page(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let visible = match visible_agents(&state, &session).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let loaded = store_call(move || {
        store.settle_queue_if_due(now)?;
        let rows = store.agents_today(&actor, visible.as_deref(), now)?;
        // Every undecided day of these agents (the queue's own total).
        let waiting = store
            .review_queue(&QueueQuery {
                agents: visible,
                site: None,
                from: NaiveDate::MIN,
                to: now.date_naive() + Duration::days(1),
                reason: None,
                from_cursor: None,
                limit: 1,
            })?
            .total;
        Ok((rows, waiting))
    })
    .await;
    let (rows, waiting) = match loaded {
        Ok(v) => v,
        Err(r) => return r,
    };
    let totals = counts(&rows);
    let show = Show::parse(q.show.as_deref());
    let shown: Vec<&AgentToday> = rows.iter().filter(|r| show.keeps(r)).collect();
    let pages = shown.len().div_ceil(PAGE_AGENTS).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let on_page: Vec<&AgentToday> = shown
        .iter()
        .skip((page_no - 1) * PAGE_AGENTS)
        .take(PAGE_AGENTS)
        .copied()
        .collect();
    let ids: Vec<String> = on_page.iter().map(|r| r.agent.clone()).collect();
    let store = state.store.clone();
    let actor = session.actor();
    let last = match store_call(move || store.last_events(&actor, &ids)).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let view = View {
        totals,
        waiting,
        show,
        page_no,
        pages,
        shown: shown.len(),
        rows: &on_page,
        last: &last,
    };
    session.page(StatusCode::OK, render(&session, &view))
}

struct View<'a> {
    totals: TodayCounts,
    waiting: u64,
    show: Show,
    page_no: usize,
    pages: usize,
    shown: usize,
    rows: &'a [&'a AgentToday],
    last: &'a std::collections::HashMap<String, fieldcheck_core::today::LastEvent>,
}

fn href(show: Show, page: usize) -> String {
    match (show, page) {
        (Show::All, 1) => "/".to_string(),
        (Show::All, p) => format!("/?page={p}"),
        (s, 1) => format!("/?show={}", s.code()),
        (s, p) => format!("/?show={}&page={p}", s.code()),
    }
}

fn render(session: &Session, v: &View<'_>) -> Markup {
    let t = session.t();
    let columns = [
        t.agent,
        t.status,
        t.first_check_in,
        t.site,
        t.last_event,
        t.decision,
    ];
    let label = |s: Show| match s {
        Show::All => t.all_agents,
        Show::Present => t.present,
        Show::Late => t.late_count,
        Show::Absent => t.absent_count,
        Show::NotYetDue => t.not_yet_due,
        Show::StillIn => t.still_checked_in,
        Show::NotScheduled => t.not_scheduled,
        Show::Decision => t.needing_decision_today,
    };
    let first = (v.page_no - 1) * PAGE_AGENTS + 1;
    placed(
        t,
        t.today,
        Place::Today,
        Some(session.chrome()),
        html! {
            h1 { (t.today) }
            p.muted { (t.today_help) }
            ul.tiles aria-label=(t.today_counts) {
                @for s in Show::ALL {
                    li {
                        @if s == v.show {
                            a href=(href(s, 1)) aria-current="true" { strong { (s.count(&v.totals)) } (label(s)) }
                        } @else {
                            a href=(href(s, 1)) { strong { (s.count(&v.totals)) } (label(s)) }
                        }
                    }
                }
                li { a href="/queue" { strong { (v.waiting) } (t.all_days_needing_decision) } }
            }
            h2 { (label(v.show)) }
            @if v.rows.is_empty() {
                p { (t.no_agents_here) }
            } @else {
                p.muted { ((t.items_of)(first, first + v.rows.len() - 1, v.shown)) }
                (cards_table(t, "today", &columns, Some(t.today), html! {
                    @for row in v.rows {
                        tr {
                            td { a href=(day_href(&row.agent, row.date)) { (agent_label(&row.agent, row.name.as_deref())) } }
                            td {
                                (status_badge(session, row))
                                @if row.still_checked_in { span.badge.info { (t.still_checked_in) } }
                            }
                            td {
                                (clock(row.first_check_in))
                                span.sub { (row.time_zone) }
                            }
                            td { (row.site_id.as_deref().unwrap_or("—")) }
                            td {
                                @match v.last.get(&row.agent) {
                                    Some(e) => {
                                        ((t.words.kind)(e.kind)) " · "
                                        @if e.accepted { (t.accepted) } @else { (t.rejected) }
                                        span.sub { (last_when(session, e, row)) }
                                    }
                                    None => (t.no_events_yet),
                                }
                            }
                            td {
                                @if row.needs_decision {
                                    a.badge href=(day_href(&row.agent, row.date)) { (t.needs_decision) }
                                } @else { "—" }
                            }
                        }
                    }
                }))
                @if v.pages > 1 {
                    nav.pager aria-label=(t.pages) {
                        @if v.page_no > 1 { a href=(href(v.show, v.page_no - 1)) rel="prev" { (t.previous_page) } }
                        span { ((t.page_of)(v.page_no, v.pages)) }
                        @if v.page_no < v.pages { a href=(href(v.show, v.page_no + 1)) rel="next" { (t.next_page) } }
                    }
                }
            }
        },
    )
}

fn status_badge(session: &Session, row: &AgentToday) -> Markup {
    let t = session.t();
    let word = (t.words.today)(row.status);
    html! {
        @match row.status {
            TodayStatus::OnTime => span.badge.ok { (word) },
            TodayStatus::Late => span.badge { ((t.late)(row.minutes_late.unwrap_or(0))) },
            TodayStatus::Absent => span.badge.bad { (word) },
            TodayStatus::NotYetDue | TodayStatus::NotScheduled => span.badge.info { (word) },
        }
    }
}

/// When the last event was, in the agent's zone: the time, and the date
/// when it is not today.
fn last_when(session: &Session, e: &fieldcheck_core::today::LastEvent, row: &AgentToday) -> String {
    let t = session.t();
    let zone = Zone::named(&row.time_zone).unwrap_or(Zone::UTC);
    let local = e.at.with_timezone(&zone).date_naive();
    if local == row.date {
        clock_in(e.at, zone)
    } else {
        format!("{} {}", t.date(local), clock_in(e.at, zone))
    }
}
