//! The console's pages (PRODUCT.md §12.4), rendered with maud: templates
//! checked at compile time, every interpolated value escaped. One embedded
//! stylesheet; no script, no external asset.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use fieldcheck_core::report::{AttendanceDay, AttendanceReport, DayStatus, SalesReport};
use fieldcheck_core::review::Review;
use fieldcheck_core::{AttendanceEvent, ConsoleUser, UserRole};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::i18n::{Lang, Text};
use super::queue::QueuePage;
use fieldcheck_core::review::Decision;

/// Light, high-contrast (WCAG AA on every pairing), readable at 412 px.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fafafa}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#0b3d5c;color:#fff}
header a{color:#fff}
header .brand{font-weight:700;margin-right:auto}
header form{margin:0}
nav{display:flex;gap:1rem;flex-wrap:wrap}
nav.languages{gap:.6rem;font-size:.9rem}
nav.languages span{font-weight:600}
main{padding:1rem;max-width:80rem;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
a{color:#0b4f8a}
label{display:block;font-weight:600;margin:.4rem 0 .2rem}
input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #6b6b6b;border-radius:4px;max-width:100%;background:#fff;color:#1b1b1b}
textarea{width:100%;min-height:3rem}
button{font:inherit;padding:.45rem .9rem;border-radius:4px;border:1px solid #0b3d5c;background:#0b3d5c;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b3d5c}
button.reject{background:#a4161a;border-color:#a4161a}
:focus-visible{outline:3px solid #e07b00;outline-offset:2px}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-bottom:1rem}
.filters div{min-width:9rem;flex:1 1 9rem}
.filters input,.filters select{width:100%}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;padding:0;list-style:none;margin:0 0 1rem}
.counts li{background:#e8eef3;border-radius:999px;padding:.15rem .7rem}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #d0d0d0;padding:.45rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 .35rem;margin:.1rem .2rem .1rem 0;font-size:.85rem;background:#fff4ce;color:#5c4300;border:1px solid #c9a100}
.badge.bad{background:#fde7e7;color:#7a0d10;border-color:#c62828}
.badge.ok{background:#e6f4ea;color:#1d5e2a;border-color:#2e7d32}
.error{background:#fde7e7;color:#7a0d10;border:1px solid #c62828;padding:.6rem .8rem;border-radius:4px}
.notice{background:#e6f4ea;color:#1d5e2a;border:1px solid #2e7d32;padding:.6rem .8rem;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem}
.review-form{background:#fff;border:1px solid #d0d0d0;border-radius:6px;padding:.8rem;margin:.5rem 0 1rem;max-width:40rem}
.signin{max-width:22rem;margin:3rem auto;background:#fff;border:1px solid #d0d0d0;border-radius:8px;padding:1.5rem}
.signin input{width:100%}
.signin button{margin-top:1rem;width:100%}
.muted{color:#555}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards{background:none}
table.cards tr{background:#fff;border:1px solid #d0d0d0;border-radius:6px;margin:0 0 .6rem;padding:.3rem 0}
table.cards td{border:0;display:flex;gap:.6rem;padding:.2rem .6rem}
table.cards td::before{font-weight:600;flex:0 0 5.5rem;color:#333}
}
"#;

/// On a phone a `cards` table shows each row as a card whose cells carry
/// their column's name (generated, so the header text stays the one source).
fn card_labels(table_id: &str, labels: &[&str]) -> Markup {
    let mut css = String::from("@media (max-width:40rem){");
    for (i, label) in labels.iter().enumerate() {
        css.push_str(&format!(
            "#{table_id} td:nth-child({})::before{{content:\"{}\"}}",
            i + 1,
            label
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('<', "\\3c ")
        ));
    }
    css.push('}');
    html! { style { (PreEscaped(css)) } }
}

fn queue_columns(t: &Text) -> [&'static str; 6] {
    [t.select, t.date, t.agent, t.site, t.in_out, t.why]
}

fn timeline_columns(t: &Text) -> [&'static str; 8] {
    [
        t.time, t.kind, t.verdict, t.site, t.position, t.accuracy, t.reasons, t.source,
    ]
}

fn attendance_columns(t: &Text) -> [&'static str; 6] {
    [t.date, t.agent, t.site, t.in_out, t.status, t.review]
}

fn sales_columns(t: &Text) -> [&'static str; 5] {
    [t.agent, t.leads, t.conversion, t.closings, t.premium]
}

/// A table of `columns` (a card per row on a phone), its header row, and
/// the `rows` given.
pub(super) fn cards_table(
    t: &Text,
    id: &str,
    columns: &[&str],
    caption: Option<&str>,
    rows: Markup,
) -> Markup {
    html! {
        (card_labels(id, columns))
        div.table-wrap {
            table id=(id) .cards {
                @if let Some(caption) = caption { caption.visually-hidden { (caption) } }
                (header_row(t, columns))
                tbody { (rows) }
            }
        }
    }
}

/// A header row of `columns`; the selection column (`t.select`) is read by
/// screen readers only.
fn header_row(t: &Text, columns: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for c in columns {
                @if *c == t.select {
                    th scope="col" { span.visually-hidden { (c) } }
                } @else {
                    th scope="col" { (c) }
                }
            }
        } }
    }
}

pub(super) fn page(
    t: &Text,
    title: &str,
    user: Option<(&ConsoleUser, &str)>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldcheck" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    span.brand { (t.console) }
                    @if let Some((user, csrf)) = user {
                        nav aria-label=(t.nav_label) {
                            a href="/" { (t.review_queue) }
                            a href="/reports" { (t.reports) }
                            a href="/devices" { (t.devices) }
                            a href="/flags" { (t.flags) }
                            a href="/sites" { (t.sites) }
                            @if user.role == UserRole::Admin {
                                a href="/requests" { (t.requests) }
                            }
                        }
                        span { (user.id) " (" (user.role.as_str()) ")" }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { (t.sign_out) }
                        }
                    }
                    nav.languages aria-label=(t.language) {
                        @for lang in Lang::ALL {
                            @if lang == t.lang {
                                span aria-current="true" { (lang.text().language_name) }
                            } @else {
                                a href=(format!("/language/{}", lang.code())) lang=(lang.code()) hreflang=(lang.code()) { (lang.text().language_name) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn sign_in(t: &Text, error: Option<&str>, user: &str) -> Markup {
    page(
        t,
        t.sign_in,
        None,
        html! {
            form.signin method="post" action="/sign-in" {
                h1 { (t.sign_in) }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                label for="user" { (t.user) }
                input #user name="user" type="text" autocomplete="username" required value=(user);
                label for="password" { (t.password) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (t.sign_in) }
            }
        },
    )
}

pub fn message(t: &Text, user: Option<(&ConsoleUser, &str)>, title: &str, text: &str) -> Markup {
    page(
        t,
        title,
        user,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { (t.back_to_queue) } }
        },
    )
}

fn status_badges(t: &Text, day: &AttendanceDay) -> Markup {
    html! {
        @match day.status {
            DayStatus::Late => span.badge { ((t.late)(day.minutes_late.unwrap_or(0))) },
            DayStatus::Absent => span.badge.bad { (t.absent) },
            DayStatus::OnTime => span.badge.ok { (t.on_time) },
            DayStatus::Unscheduled => span.badge { (t.unscheduled) },
            DayStatus::Pending => span.badge { (t.pending) },
        }
        @if day.missing_check_out { span.badge { (t.missing_check_out) } }
        @for (code, n) in day.rejected.iter() {
            span.badge.bad { (t.rejected_reason) (code) " ×" (n) }
        }
        @if day.clock_skew > 0 { span.badge.bad { (t.clock_skew) " ×" (day.clock_skew) } }
    }
}

fn local_time(at: Option<DateTime<chrono::FixedOffset>>) -> String {
    at.map_or_else(|| "—".to_string(), |t| t.format("%H:%M").to_string())
}

pub fn queue(
    t: &Text,
    user: &ConsoleUser,
    csrf: &str,
    q: &QueuePage,
    notice: Option<&str>,
) -> Markup {
    let f = &q.filter;
    let columns = queue_columns(t);
    page(
        t,
        t.review_queue,
        Some((user, csrf)),
        html! {
            h1 { (t.review_queue) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            form.filters method="get" action="/" {
                div { label for="f-agent" { (t.agent) } input #f-agent name="agent" value=(f.agent.as_deref().unwrap_or("")); }
                div { label for="f-site" { (t.site) } input #f-site name="site" value=(f.site.as_deref().unwrap_or("")); }
                div { label for="f-from" { (t.from) } input #f-from name="from" type="date" value=(f.from); }
                div { label for="f-to" { (t.to) } input #f-to name="to" type="date" value=(f.to); }
                div {
                    label for="f-reason" { (t.reason) }
                    select #f-reason name="reason" {
                        option value="" selected[f.reason.is_none()] { (t.any) }
                        @for (code, _) in &q.counts {
                            option value=(code) selected[f.reason.as_deref() == Some(code.as_str())] { (code) }
                        }
                    }
                }
                div { button type="submit" { (t.filter) } }
            }
            h2 { (t.needing_decision) (q.total) }
            ul.counts aria-label=(t.counts_label) {
                @for (code, n) in &q.counts { li { (code) ": " (n) } }
            }
            @if q.rows.is_empty() {
                p { (t.nothing_needed) }
            } @else {
                form method="post" action="/reviews/bulk" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    (cards_table(t, "queue", &columns, Some(t.queue_caption), html! {
                                @for (day, under_flag) in q.rows.iter().zip(&q.flagged) {
                                    @let id = format!("day-{}-{}", day.agent, day.date);
                                    tr {
                                        td { input type="checkbox" name="day" id=(id) value=(format!("{}/{}", day.agent, day.date)) aria-label=((t.select_day)(&day.agent, &day.date.to_string())); }
                                        td { a href=(day_href(&day.agent, day.date)) { (t.date(day.date)) } }
                                        td { (day.agent.as_ref()) }
                                        td { (day.site_id.as_deref().unwrap_or("—")) }
                                        td { (local_time(day.first_check_in)) " / " (local_time(day.last_check_out)) }
                                        td {
                                            (status_badges(t, day))
                                            @if *under_flag { span.badge { (t.under_flag) } }
                                        }
                                    }
                                }
                            }))
                    @if q.total > q.rows.len() {
                        p.muted { ((t.showing_newest)(q.rows.len(), q.total)) }
                    }
                    div.review-form {
                        label for="bulk-note" { (t.note) }
                        textarea #bulk-note name="note" required {}
                        div.actions { button type="submit" name="decision" value="approve" { (t.approve_selected) } }
                    }
                }
            }
        },
    )
}

/// `/agents/{agent}/days/{date}`, each part percent-encoded.
pub fn day_href(agent: &str, date: NaiveDate) -> String {
    format!(
        "/agents/{}/days/{date}",
        percent_encoding::utf8_percent_encode(agent, percent_encoding::NON_ALPHANUMERIC)
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

pub struct DayView<'a> {
    pub agent: &'a str,
    pub date: NaiveDate,
    pub zone: Tz,
    pub summary: Option<&'a AttendanceDay>,
    pub events: &'a [AttendanceEvent],
    pub reviews: &'a [Review],
    pub synced: &'a std::collections::HashMap<String, DateTime<Utc>>,
    pub location_views: &'a [fieldcheck_core::store::LocationView],
    /// Coordinates asked for with "Show location" (this answer only).
    pub located: Option<&'a fieldcheck_core::RetainedLocation>,
    pub error: Option<&'a str>,
}

pub fn agent_day(t: &Text, user: &ConsoleUser, csrf: &str, v: &DayView<'_>) -> Markup {
    let action = format!("{}/review", day_href(v.agent, v.date));
    let columns = timeline_columns(t);
    let clock = |at: &DateTime<Utc>| at.with_timezone(&v.zone).format("%H:%M:%S").to_string();
    let when = |at: &DateTime<Utc>| {
        let local = at.with_timezone(&v.zone);
        format!("{} {}", t.date(local.date_naive()), local.format("%H:%M"))
    };
    page(
        t,
        &format!("{} {}", v.agent, t.date(v.date)),
        Some((user, csrf)),
        html! {
            h1 { ((t.agent_day)(v.agent, &t.date(v.date))) }
            p.muted { ((t.times_in)(v.zone.name())) }
            @if let Some(e) = v.error { p.error role="alert" { (e) } }
            @if let Some(day) = v.summary {
                p { (status_badges(t, day)) }
            }
            h2 { (t.timeline) }
            @if v.events.is_empty() {
                p { (t.no_events) }
            } @else {
                (cards_table(t, "timeline", &columns, None, html! {
                            @for e in v.events {
                                tr {
                                    td { (clock(&e.captured_at)) }
                                    td { (e.kind.as_str()) }
                                    td {
                                        @if e.accepted { span.badge.ok { (t.accepted) } } @else { span.badge.bad { (t.rejected) } }
                                        @if e.clock_skew { span.badge.bad { (t.clock_skew) } }
                                    }
                                    td { (e.site_id.as_deref().unwrap_or("—")) }
                                    td { (e.position.as_str()) }
                                    td { (e.accuracy_band.as_str()) }
                                    td { @for r in &e.reasons { span.badge { (r.as_str()) } } }
                                    td {
                                        (e.device_id.as_deref().map_or(t.this_server.to_string(), t.device_n))
                                        @if let Some(at) = v.synced.get(&e.id) { br; span.muted { ((t.synced_at)(&when(at))) } }
                                    }
                                }
                            }
                        }))
            }
            @if let Some(l) = v.located {
                p.notice role="status" {
                    ((t.location_shown)(&clock(&l.captured_at), &format!("{:.6}, {:.6}", l.lat, l.lon), l.accuracy_m))
                }
            }
            @let retained: Vec<&AttendanceEvent> = v.events.iter().filter(|e| e.location_retained).collect();
            @if !retained.is_empty() {
                h2 { (t.retained_locations) }
                p.muted { (t.retained_help) }
                @for e in &retained {
                    form.review-form method="post" action=(format!("{}/location", day_href(v.agent, v.date))) aria-label=((t.show_location_of)(e.kind.as_str(), &clock(&e.captured_at))) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="event_id" value=(e.id);
                        label for=(format!("why-{}", e.id)) { ((t.reason_for)(e.kind.as_str(), &clock(&e.captured_at))) }
                        input id=(format!("why-{}", e.id)) name="reason" required;
                        div.actions { button.secondary type="submit" { (t.show_location) } }
                    }
                }
                @if !v.location_views.is_empty() {
                    h3 { (t.views_logged) }
                    ul {
                        @for view in v.location_views {
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
                    @for r in v.reviews {
                        li {
                            strong { (match r.decision { Decision::Approved => t.approved, Decision::Rejected => t.rejected_decision }) }
                            " · " (r.event_id.as_deref().map_or(t.whole_day.to_string(), t.event_n))
                            " · " ((t.by_at)(&r.reviewer.id, &when(&r.at)))
                            @if let Some(note) = &r.note { " · “" (note) "”" }
                        }
                    }
                }
            }
            h2 { (t.decide_day) }
            (review_form(t, &action, csrf, None, "note-day", t.decide_whole_day))
            @for e in v.events {
                details {
                    summary { ((t.decide_the)(e.kind.as_str(), &clock(&e.captured_at))) }
                    (review_form(t, &action, csrf, Some(&e.id), &format!("note-{}", e.id), t.decide_event))
                }
            }
        },
    )
}

pub struct ReportsView<'a> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub attendance: &'a AttendanceReport,
    pub sales: &'a SalesReport,
}

pub fn reports(t: &Text, user: &ConsoleUser, csrf: &str, v: &ReportsView<'_>) -> Markup {
    let period = format!("from={}&to={}", v.from, v.to);
    let attendance = attendance_columns(t);
    let sales = sales_columns(t);
    page(
        t,
        t.reports,
        Some((user, csrf)),
        html! {
            h1 { (t.reports) }
            form.filters method="get" action="/reports" {
                div { label for="r-from" { (t.from) } input #r-from name="from" type="date" value=(v.from); }
                div { label for="r-to" { (t.to) } input #r-to name="to" type="date" value=(v.to); }
                div { button type="submit" { (t.show) } }
            }
            h2 { (t.attendance) }
            p.actions {
                a href=(format!("/reports/attendance/csv?{period}")) download { (t.download_csv) }
                a href=(format!("/reports/attendance/json?{period}")) download { (t.download_json) }
            }
            (cards_table(t, "attendance", &attendance, None, html! {
                        @for day in &v.attendance.days {
                            tr {
                                td { a href=(day_href(&day.agent, day.date)) { (t.date(day.date)) } }
                                td { (day.agent.as_ref()) }
                                td { (day.site_id.as_deref().unwrap_or("—")) }
                                td { (local_time(day.first_check_in)) " / " (local_time(day.last_check_out)) }
                                td { (status_badges(t, day)) }
                                td { (day.review.as_ref().map_or("—", |r| match r.decision { Decision::Approved => t.approved, Decision::Rejected => t.rejected_decision })) }
                            }
                        }
                    }))
            h2 { (t.sales) }
            p.actions {
                a href=(format!("/reports/sales/csv?{period}")) download { (t.download_csv) }
                a href=(format!("/reports/sales/json?{period}")) download { (t.download_json) }
            }
            (cards_table(t, "sales", &sales, None, html! {
                        @for row in &v.sales.agents {
                            tr {
                                td { (row.agent) }
                                td { (row.leads_total) }
                                td { (row.conversion_rate.map_or("—".to_string(), |r| t.percent(r))) }
                                td { (row.closings) }
                                td { @for (currency, amount) in &row.premium { (t.decimal(amount)) " " (currency) br; } }
                            }
                        }
                    }))
        },
    )
}

/// Today's date at the server, for default periods.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::EN;
    use fieldcheck_core::UserRole;

    #[test]
    fn user_text_is_escaped_in_every_place_it_appears() {
        let user = ConsoleUser {
            id: "<script>alert(1)</script>".into(),
            role: UserRole::Admin,
            team: vec![],
            disabled: false,
        };
        let sign_in = sign_in(&EN, Some("x"), "\"><img src=x onerror=alert(1)>").into_string();
        assert!(!sign_in.contains("<img"));
        assert!(sign_in.contains("&quot;&gt;&lt;img"));
        let page = message(&EN, Some((&user, "t")), "Title", "<b>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;"));
    }
}
