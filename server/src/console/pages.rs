//! The console's pages (PRODUCT.md §12.4), rendered with maud: templates
//! checked at compile time, every interpolated value escaped. One embedded
//! stylesheet; no script, no external asset.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use fieldcheck_core::report::{AttendanceDay, AttendanceReport, DayStatus, SalesReport};
use fieldcheck_core::review::Review;
use fieldcheck_core::{AttendanceEvent, ConsoleUser, UserRole};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::queue::QueuePage;

/// Light, high-contrast (WCAG AA on every pairing), readable at 412 px.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fafafa}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#0b3d5c;color:#fff}
header a{color:#fff}
header .brand{font-weight:700;margin-right:auto}
header form{margin:0}
nav{display:flex;gap:1rem;flex-wrap:wrap}
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
pub(super) fn card_labels(table_id: &str, labels: &[&str]) -> Markup {
    let mut css = String::from("@media (max-width:40rem){");
    for (i, label) in labels.iter().enumerate() {
        css.push_str(&format!(
            "#{table_id} td:nth-child({})::before{{content:\"{label}\"}}",
            i + 1
        ));
    }
    css.push('}');
    html! { style { (PreEscaped(css)) } }
}

const QUEUE_COLUMNS: [&str; 6] = ["Select", "Date", "Agent", "Site", "In / out", "Why"];
const TIMELINE_COLUMNS: [&str; 8] = [
    "Time", "Kind", "Verdict", "Site", "Position", "Accuracy", "Reasons", "Source",
];
const ATTENDANCE_COLUMNS: [&str; 6] = ["Date", "Agent", "Site", "In / out", "Status", "Review"];
const SALES_COLUMNS: [&str; 5] = ["Agent", "Leads", "Conversion", "Closings", "Premium"];

/// A header row of `columns`; "Select" is read by screen readers only.
pub(super) fn header_row(columns: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for c in columns {
                @if *c == "Select" {
                    th scope="col" { span.visually-hidden { (c) } }
                } @else {
                    th scope="col" { (c) }
                }
            }
        } }
    }
}

pub(super) fn page(title: &str, user: Option<(&ConsoleUser, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldcheck" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    span.brand { "fieldcheck console" }
                    @if let Some((user, csrf)) = user {
                        nav aria-label="Console" {
                            a href="/" { "Review queue" }
                            a href="/reports" { "Reports" }
                            a href="/devices" { "Devices" }
                            a href="/flags" { "Flags" }
                            a href="/sites" { "Sites" }
                            @if user.role == UserRole::Admin {
                                a href="/requests" { "Requests" }
                            }
                        }
                        span { (user.id) " (" (user.role.as_str()) ")" }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn sign_in(error: Option<&str>, user: &str) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            form.signin method="post" action="/sign-in" {
                h1 { "Sign in" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                label for="user" { "User" }
                input #user name="user" type="text" autocomplete="username" required value=(user);
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn message(user: Option<(&ConsoleUser, &str)>, title: &str, text: &str) -> Markup {
    page(
        title,
        user,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { "Back to the review queue" } }
        },
    )
}

fn status_badges(day: &AttendanceDay) -> Markup {
    html! {
        @match day.status {
            DayStatus::Late => span.badge { "late " (day.minutes_late.unwrap_or(0)) " min" },
            DayStatus::Absent => span.badge.bad { "absent" },
            DayStatus::OnTime => span.badge.ok { "on time" },
            DayStatus::Unscheduled => span.badge { "unscheduled" },
            DayStatus::Pending => span.badge { "pending" },
        }
        @if day.missing_check_out { span.badge { "missing check-out" } }
        @for (code, n) in day.rejected.iter() {
            span.badge.bad { "rejected: " (code) " ×" (n) }
        }
        @if day.clock_skew > 0 { span.badge.bad { "clock skew ×" (day.clock_skew) } }
    }
}

fn local_time(at: Option<DateTime<chrono::FixedOffset>>) -> String {
    at.map_or_else(|| "—".to_string(), |t| t.format("%H:%M").to_string())
}

pub fn queue(user: &ConsoleUser, csrf: &str, q: &QueuePage, notice: Option<&str>) -> Markup {
    let f = &q.filter;
    page(
        "Review queue",
        Some((user, csrf)),
        html! {
            h1 { "Review queue" }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            form.filters method="get" action="/" {
                div { label for="f-agent" { "Agent" } input #f-agent name="agent" value=(f.agent.as_deref().unwrap_or("")); }
                div { label for="f-site" { "Site" } input #f-site name="site" value=(f.site.as_deref().unwrap_or("")); }
                div { label for="f-from" { "From" } input #f-from name="from" type="date" value=(f.from); }
                div { label for="f-to" { "To" } input #f-to name="to" type="date" value=(f.to); }
                div {
                    label for="f-reason" { "Reason" }
                    select #f-reason name="reason" {
                        option value="" selected[f.reason.is_none()] { "Any" }
                        @for (code, _) in &q.counts {
                            option value=(code) selected[f.reason.as_deref() == Some(code.as_str())] { (code) }
                        }
                    }
                }
                div { button type="submit" { "Filter" } }
            }
            h2 { "Needing a decision: " (q.total) }
            ul.counts aria-label="Counts per reason" {
                @for (code, n) in &q.counts { li { (code) ": " (n) } }
            }
            @if q.rows.is_empty() {
                p { "Nothing needs a decision for these filters." }
            } @else {
                form method="post" action="/reviews/bulk" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    (card_labels("queue", &QUEUE_COLUMNS))
                    div.table-wrap {
                        table #queue .cards {
                            caption.visually-hidden { "Agent-days needing a decision, newest first" }
                            (header_row(&QUEUE_COLUMNS))
                            tbody {
                                @for day in &q.rows {
                                    @let id = format!("day-{}-{}", day.agent, day.date);
                                    tr {
                                        td { input type="checkbox" name="day" id=(id) value=(format!("{}/{}", day.agent, day.date)) aria-label=(format!("Select {} {}", day.agent, day.date)); }
                                        td { a href=(day_href(&day.agent, day.date)) { (day.date) } }
                                        td { (day.agent.as_ref()) }
                                        td { (day.site_id.as_deref().unwrap_or("—")) }
                                        td { (local_time(day.first_check_in)) " / " (local_time(day.last_check_out)) }
                                        td { (status_badges(day)) }
                                    }
                                }
                            }
                        }
                    }
                    @if q.total > q.rows.len() {
                        p.muted { "Showing the newest " (q.rows.len()) " of " (q.total) "; narrow the filters to see the rest." }
                    }
                    div.review-form {
                        label for="bulk-note" { "Note" }
                        textarea #bulk-note name="note" required {}
                        div.actions { button type="submit" name="decision" value="approve" { "Approve selected" } }
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

fn review_form(action: &str, csrf: &str, event_id: Option<&str>, id: &str, what: &str) -> Markup {
    html! {
        form.review-form method="post" action=(action) aria-label=(what) {
            input type="hidden" name="csrf_token" value=(csrf);
            @if let Some(event) = event_id { input type="hidden" name="event_id" value=(event); }
            label for=(id) { "Note" }
            textarea id=(id) name="note" required {}
            div.actions {
                button type="submit" name="decision" value="approve" { "Approve" }
                button.reject type="submit" name="decision" value="reject" { "Reject" }
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
    pub location_views: &'a [fieldcheck_core::store::LocationView],
    /// Coordinates asked for with "Show location" (this answer only).
    pub located: Option<&'a fieldcheck_core::RetainedLocation>,
    pub error: Option<&'a str>,
}

pub fn agent_day(user: &ConsoleUser, csrf: &str, v: &DayView<'_>) -> Markup {
    let action = format!("{}/review", day_href(v.agent, v.date));
    page(
        &format!("{} {}", v.agent, v.date),
        Some((user, csrf)),
        html! {
            h1 { "Agent " (v.agent) ", " (v.date) }
            p.muted { "Times in " (v.zone.name()) "." }
            @if let Some(e) = v.error { p.error role="alert" { (e) } }
            @if let Some(day) = v.summary {
                p { (status_badges(day)) }
            }
            h2 { "Timeline" }
            @if v.events.is_empty() {
                p { "No check-in or check-out recorded on this day." }
            } @else {
                (card_labels("timeline", &TIMELINE_COLUMNS))
                div.table-wrap {
                    table #timeline .cards {
                        (header_row(&TIMELINE_COLUMNS))
                        tbody {
                            @for e in v.events {
                                tr {
                                    td { (e.captured_at.with_timezone(&v.zone).format("%H:%M:%S")) }
                                    td { (e.kind.as_str()) }
                                    td {
                                        @if e.accepted { span.badge.ok { "accepted" } } @else { span.badge.bad { "rejected" } }
                                        @if e.clock_skew { span.badge.bad { "clock skew" } }
                                    }
                                    td { (e.site_id.as_deref().unwrap_or("—")) }
                                    td { (e.position.as_str()) }
                                    td { (e.accuracy_band.as_str()) }
                                    td { @for r in &e.reasons { span.badge { (r.as_str()) } } }
                                    td { (e.device_id.as_deref().map_or("this server".to_string(), |d| format!("device {d}"))) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(l) = v.located {
                p.notice role="status" {
                    "Location kept under an audit flag for the fix at "
                    (l.captured_at.with_timezone(&v.zone).format("%H:%M:%S")) ": "
                    (format!("{:.6}, {:.6}", l.lat, l.lon)) " (±" (l.accuracy_m.round()) " m). "
                    "This view is logged."
                }
            }
            @let retained: Vec<&AttendanceEvent> = v.events.iter().filter(|e| e.location_retained).collect();
            @if !retained.is_empty() {
                h2 { "Retained locations" }
                p.muted { "An audit flag kept the coordinates of these fixes. Seeing them needs a reason, and every view is logged." }
                @for e in &retained {
                    form.review-form method="post" action=(format!("{}/location", day_href(v.agent, v.date))) aria-label=(format!("Show the location of the {} at {}", e.kind.as_str(), e.captured_at.with_timezone(&v.zone).format("%H:%M:%S"))) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="event_id" value=(e.id);
                        label for=(format!("why-{}", e.id)) { "Reason for the " (e.kind.as_str()) " at " (e.captured_at.with_timezone(&v.zone).format("%H:%M:%S")) }
                        input id=(format!("why-{}", e.id)) name="reason" required;
                        div.actions { button.secondary type="submit" { "Show location" } }
                    }
                }
                @if !v.location_views.is_empty() {
                    h3 { "Views logged" }
                    ul {
                        @for view in v.location_views {
                            li { (view.viewer.id) " at " (view.at.with_timezone(&v.zone).format("%Y-%m-%d %H:%M")) ": “" (view.reason) "”" }
                        }
                    }
                }
            }
            h2 { "Decisions" }
            @if v.reviews.is_empty() {
                p { "No decision yet." }
            } @else {
                ul {
                    @for r in v.reviews {
                        li {
                            strong { (r.decision.as_str()) }
                            " · " (r.event_id.as_deref().map_or("whole day".to_string(), |e| format!("event {e}")))
                            " · by " (r.reviewer.id) " at " (r.at.with_timezone(&v.zone).format("%Y-%m-%d %H:%M"))
                            @if let Some(note) = &r.note { " · “" (note) "”" }
                        }
                    }
                }
            }
            h2 { "Decide the day" }
            (review_form(&action, csrf, None, "note-day", "Decide the whole day"))
            @for e in v.events {
                details {
                    summary { "Decide the " (e.kind.as_str()) " at " (e.captured_at.with_timezone(&v.zone).format("%H:%M:%S")) }
                    (review_form(&action, csrf, Some(&e.id), &format!("note-{}", e.id), "Decide this event"))
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

pub fn reports(user: &ConsoleUser, csrf: &str, v: &ReportsView<'_>) -> Markup {
    let period = format!("from={}&to={}", v.from, v.to);
    page(
        "Reports",
        Some((user, csrf)),
        html! {
            h1 { "Reports" }
            form.filters method="get" action="/reports" {
                div { label for="r-from" { "From" } input #r-from name="from" type="date" value=(v.from); }
                div { label for="r-to" { "To" } input #r-to name="to" type="date" value=(v.to); }
                div { button type="submit" { "Show" } }
            }
            h2 { "Attendance" }
            p.actions {
                a href=(format!("/reports/attendance/csv?{period}")) download { "Download CSV" }
                a href=(format!("/reports/attendance/json?{period}")) download { "Download JSON" }
            }
            (card_labels("attendance", &ATTENDANCE_COLUMNS))
            div.table-wrap {
                table #attendance .cards {
                    (header_row(&ATTENDANCE_COLUMNS))
                    tbody {
                        @for day in &v.attendance.days {
                            tr {
                                td { a href=(day_href(&day.agent, day.date)) { (day.date) } }
                                td { (day.agent.as_ref()) }
                                td { (day.site_id.as_deref().unwrap_or("—")) }
                                td { (local_time(day.first_check_in)) " / " (local_time(day.last_check_out)) }
                                td { (status_badges(day)) }
                                td { (day.review.as_ref().map_or("—", |r| r.decision.as_str())) }
                            }
                        }
                    }
                }
            }
            h2 { "Sales" }
            p.actions {
                a href=(format!("/reports/sales/csv?{period}")) download { "Download CSV" }
                a href=(format!("/reports/sales/json?{period}")) download { "Download JSON" }
            }
            (card_labels("sales", &SALES_COLUMNS))
            div.table-wrap {
                table #sales .cards {
                    (header_row(&SALES_COLUMNS))
                    tbody {
                        @for row in &v.sales.agents {
                            tr {
                                td { (row.agent) }
                                td { (row.leads_total) }
                                td { (row.conversion_rate.map_or("—".to_string(), |r| format!("{:.0} %", r * 100.0))) }
                                td { (row.closings) }
                                td { @for (currency, amount) in &row.premium { (amount) " " (currency) br; } }
                            }
                        }
                    }
                }
            }
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
    use fieldcheck_core::UserRole;

    #[test]
    fn user_text_is_escaped_in_every_place_it_appears() {
        let user = ConsoleUser {
            id: "<script>alert(1)</script>".into(),
            role: UserRole::Admin,
            team: vec![],
            disabled: false,
        };
        let sign_in = sign_in(Some("x"), "\"><img src=x onerror=alert(1)>").into_string();
        assert!(!sign_in.contains("<img"));
        assert!(sign_in.contains("&quot;&gt;&lt;img"));
        let page = message(Some((&user, "t")), "Title", "<b>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;"));
    }
}
