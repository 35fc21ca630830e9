//! The console's layout and shared pieces (PRODUCT.md §12.4), rendered with
//! maud: templates checked at compile time, every interpolated value
//! escaped. One embedded stylesheet; no script, no external asset. Each
//! area's pages live in its own module (today, queue, review, agents,
//! people, reports, manage).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fieldcheck_core::UserRole;
use fieldcheck_core::queue::{QueueReason, ReasonSet};
use fieldcheck_core::report::{AttendanceDay, DayStatus};
use fieldcheck_core::review::Decision;
use fieldcheck_core::zone::Zone;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Chrome;
use super::i18n::{Lang, Text};

/// Light, high-contrast (WCAG AA on every pairing), readable at 412 px:
/// text and badges wrap inside their cells, never past them.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fafafa}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#0b3d5c;color:#fff}
header a{color:#fff}
header .brand{font-weight:700;margin-right:auto}
header form{margin:0}
nav{display:flex;gap:.4rem 1rem;flex-wrap:wrap}
nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}
nav.languages{gap:.6rem;font-size:.9rem}
nav.languages span{font-weight:600}
main{padding:1rem;max-width:80rem;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
a{color:#0b4f8a}
label{display:block;font-weight:600;margin:.4rem 0 .2rem}
label.inline{display:inline-flex;gap:.3rem;align-items:center;font-weight:400;margin:.2rem .8rem .2rem 0}
input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #6b6b6b;border-radius:4px;max-width:100%;background:#fff;color:#1b1b1b}
input[type=checkbox]{width:1.2rem;height:1.2rem}
textarea{width:100%;min-height:3rem}
button,.button{font:inherit;padding:.45rem .9rem;border-radius:4px;border:1px solid #0b3d5c;background:#0b3d5c;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#0b3d5c}
button.reject{background:#a4161a;border-color:#a4161a}
:focus-visible{outline:3px solid #e07b00;outline-offset:2px}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-bottom:1rem}
.filters div{min-width:9rem;flex:1 1 9rem}
.filters input,.filters select{width:100%}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;padding:0;list-style:none;margin:0 0 1rem}
.counts li{background:#e8eef3;border-radius:999px;padding:.15rem .7rem}
.counts a{text-decoration:none;color:#0b3d5c}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.6rem;padding:0;margin:0 0 1rem;list-style:none}
.tiles a,.tiles div{display:block;background:#fff;border:1px solid #c9d3db;border-radius:6px;padding:.5rem .7rem;color:#1b1b1b;text-decoration:none;height:100%}
.tiles a[aria-current]{border:2px solid #0b3d5c}
.tiles strong{display:block;font-size:1.6rem;line-height:1.2;color:#0b3d5c}
.table-wrap{max-width:100%}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #d0d0d0;padding:.45rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef1f4;font-weight:600}
.badge{display:inline-block;max-width:100%;overflow-wrap:anywhere;white-space:normal;border-radius:4px;padding:0 .35rem;margin:.1rem .2rem .1rem 0;font-size:.85rem;background:#fff4ce;color:#5c4300;border:1px solid #c9a100}
.badge.bad{background:#fde7e7;color:#7a0d10;border-color:#c62828}
.badge.ok{background:#e6f4ea;color:#1d5e2a;border-color:#2e7d32}
.badge.info{background:#e8eef3;color:#0b3d5c;border-color:#6f8aa0}
.error{background:#fde7e7;color:#7a0d10;border:1px solid #c62828;padding:.6rem .8rem;border-radius:4px}
.notice{background:#e6f4ea;color:#1d5e2a;border:1px solid #2e7d32;padding:.6rem .8rem;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem;align-items:center}
.pager{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.8rem 0}
.review-form{background:#fff;border:1px solid #d0d0d0;border-radius:6px;padding:.8rem;margin:.5rem 0 1rem;max-width:40rem}
.signin{max-width:22rem;margin:3rem auto;background:#fff;border:1px solid #d0d0d0;border-radius:8px;padding:1.5rem}
.signin input{width:100%}
.signin button{margin-top:1rem;width:100%}
.muted{color:#555}
code{overflow-wrap:anywhere;word-break:break-all}
.sub{display:block;color:#555;font-size:.9rem}
.qr{background:#fff;padding:1rem;border:1px solid #d0d0d0;border-radius:6px;display:inline-block;max-width:100%}
.qr svg{width:min(18rem,100%);height:auto;display:block}
.code{font:600 1.4rem/1.3 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em;overflow-wrap:anywhere}
table.calendar td{width:14.28%;height:4.2rem;font-size:.85rem}
table.calendar td.outside{background:#f3f3f3}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards{background:none}
table.cards tr{background:#fff;border:1px solid #d0d0d0;border-radius:6px;margin:0 0 .6rem;padding:.3rem 0}
table.cards td{border:0;display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem .6rem;padding:.2rem .6rem;height:auto}
table.cards td::before{font-weight:600;flex:0 0 5.5rem;color:#333}
table.cards td.outside{display:none}
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

/// A table of `columns` (a card per row on a phone), its header row, and
/// the `rows` given.
pub(super) fn cards_table(
    t: &Text,
    id: &str,
    columns: &[&str],
    caption: Option<&str>,
    rows: Markup,
) -> Markup {
    table_with_class(t, id, "cards", columns, caption, rows)
}

pub(super) fn table_with_class(
    t: &Text,
    id: &str,
    class: &str,
    columns: &[&str],
    caption: Option<&str>,
    rows: Markup,
) -> Markup {
    html! {
        (card_labels(id, columns))
        div.table-wrap {
            table id=(id) class=(class) {
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

/// Where a page sits in the navigation (the link shown as current).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Today,
    Queue,
    Agents,
    Reports,
    Devices,
    Flags,
    Sites,
    People,
    Requests,
    Other,
}

pub(super) fn page(t: &Text, title: &str, chrome: Option<Chrome<'_>>, body: Markup) -> Markup {
    placed(t, title, Place::Other, chrome, body)
}

pub(super) fn placed(
    t: &Text,
    title: &str,
    place: Place,
    chrome: Option<Chrome<'_>>,
    body: Markup,
) -> Markup {
    let link = |href: &'static str, here: Place, text: &str| {
        html! {
            @if place == here {
                a href=(href) aria-current="page" { (text) }
            } @else {
                a href=(href) { (text) }
            }
        }
    };
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
                    @if let Some(c) = &chrome {
                        nav aria-label=(t.nav_label) {
                            (link("/", Place::Today, t.today))
                            (link("/queue", Place::Queue, t.review_queue))
                            (link("/agents", Place::Agents, t.agents))
                            (link("/reports", Place::Reports, t.reports))
                            (link("/devices", Place::Devices, t.devices))
                            (link("/flags", Place::Flags, t.flags))
                            (link("/sites", Place::Sites, t.sites))
                            @if c.user.role == UserRole::Admin {
                                (link("/people", Place::People, t.people))
                                (link("/requests", Place::Requests, t.requests))
                            }
                        }
                        span { (c.user.id) " (" ((t.words.role)(c.user.role)) ")" }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf_token" value=(c.csrf);
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
                main {
                    @if let Some(notice) = chrome.as_ref().and_then(|c| c.notice) {
                        p.notice role="status" { (notice) }
                    }
                    (body)
                }
            }
        }
    }
}

pub fn sign_in(t: &Text, error: Option<&str>, user: &str, csrf: &str) -> Markup {
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
                input type="hidden" name="csrf_token" value=(csrf);
                label for="user" { (t.user) }
                input #user name="user" type="text" autocomplete="username" required value=(user);
                label for="password" { (t.password) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (t.sign_in) }
            }
        },
    )
}

pub(super) fn message(t: &Text, chrome: Option<Chrome<'_>>, title: &str, text: &str) -> Markup {
    page(
        t,
        title,
        chrome,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/" { (t.back_to_today) } }
        },
    )
}

/// An agent as pages show one: the display name and, beside it, the id.
pub(super) fn agent_label(agent: &str, name: Option<&str>) -> Markup {
    html! {
        @match name.filter(|n| !n.is_empty()) {
            Some(name) => { (name) " " span.muted { "(" (agent) ")" } }
            None => { (agent) }
        }
    }
}

/// A decision as a word badge.
pub(super) fn decision_badge(t: &Text, decision: Decision) -> Markup {
    html! {
        @match decision {
            Decision::Approved => span.badge.ok { (t.approved) },
            Decision::Rejected => span.badge.bad { (t.rejected_decision) },
        }
    }
}

/// A report day's status as a word badge.
pub(super) fn status_badge(t: &Text, status: DayStatus, minutes_late: Option<u32>) -> Markup {
    html! {
        @match status {
            DayStatus::Late => span.badge { ((t.late)(minutes_late.unwrap_or(0))) },
            DayStatus::Absent => span.badge.bad { (t.absent) },
            DayStatus::OnTime => span.badge.ok { (t.on_time) },
            DayStatus::Unscheduled => span.badge.info { (t.unscheduled) },
            DayStatus::Pending => span.badge.info { (t.pending) },
        }
    }
}

/// A report day's status and what else stands out, as words.
pub(super) fn day_badges(t: &Text, day: &AttendanceDay) -> Markup {
    html! {
        (status_badge(t, day.status, day.minutes_late))
        @if day.missing_check_out { span.badge { (t.missing_check_out) } }
        @for (code, n) in day.rejected.iter() {
            @if let Ok(reason) = fieldcheck_core::Reason::parse("reason", code) {
                span.badge.bad { ((t.rejected_as)((t.words.reason)(reason), n)) }
            }
        }
        @if day.clock_skew > 0 { span.badge.bad { (t.clock_skew) " ×" (day.clock_skew) } }
    }
}

/// Why a queue item needs a decision, as words.
pub(super) fn reason_badges(t: &Text, reasons: ReasonSet, minutes_late: Option<u32>) -> Markup {
    html! {
        @for reason in reasons.iter() {
            @match reason {
                QueueReason::Late => span.badge { ((t.late)(minutes_late.unwrap_or(0))) },
                QueueReason::Absent => span.badge.bad { (t.absent) },
                QueueReason::Flagged => span.badge.info { (t.under_flag) },
                other => span.badge.bad { (t.queue_reason(other)) },
            }
        }
    }
}

/// `HH:MM` of a local time ("—" without one).
pub(super) fn clock(at: Option<DateTime<FixedOffset>>) -> String {
    at.map_or_else(|| "—".to_string(), |t| t.format("%H:%M").to_string())
}

/// `HH:MM` of an instant in `zone`.
pub(super) fn clock_in(at: DateTime<Utc>, zone: Zone) -> String {
    at.with_timezone(&zone).format("%H:%M").to_string()
}

/// `/agents/{agent}/days/{date}`, each part percent-encoded.
pub fn day_href(agent: &str, date: NaiveDate) -> String {
    format!("{}/days/{date}", agent_href(agent))
}

/// `/agents/{agent}`, percent-encoded.
pub fn agent_href(agent: &str) -> String {
    format!("/agents/{}", encode(agent))
}

/// A path or query component, percent-encoded.
pub(super) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Today's date at the server, for default periods.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::EN;
    use fieldcheck_core::ConsoleUser;

    #[test]
    fn user_text_is_escaped_in_every_place_it_appears() {
        let user = ConsoleUser {
            id: "<script>alert(1)</script>".into(),
            role: UserRole::Admin,
            team: vec![],
            disabled: false,
        };
        let sign_in = sign_in(&EN, Some("x"), "\"><img src=x onerror=alert(1)>", "t").into_string();
        assert!(!sign_in.contains("<img"));
        assert!(sign_in.contains("&quot;&gt;&lt;img"));
        let chrome = Chrome {
            user: &user,
            csrf: "t",
            notice: Some("<i>done</i>"),
        };
        let page = message(&EN, Some(chrome), "Title", "<b>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;"));
        assert!(page.contains("&lt;i&gt;done&lt;/i&gt;"));
        let label = agent_label("a<1>", Some("Siti <Ayu>")).into_string();
        assert!(label.contains("Siti &lt;Ayu&gt;") && label.contains("a&lt;1&gt;"));
    }
}
