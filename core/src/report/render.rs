//! Renders supervisor reports (PRODUCT.md §7 and §6) as CSV (RFC 4180, via
//! the `csv` crate) and as one self-contained HTML page: inline CSS and SVG
//! only, no script, no fonts, no external references, readable on a phone.
//!
//! Both renderers are linear in the size of the report: HTML is written into
//! one pre-sized `String` with `std::fmt::Write`, CSV streams row by row.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};

#[cfg(test)]
use super::RejectionCounts;
use super::{AttendanceDay, AttendanceReport, DateTotals, DayStatus, SalesReport, SalesRow};
use crate::error::{Error, Result};
use crate::leads::LeadStatus;
use crate::review::Decision;

/// The rejection columns of the attendance CSV, in order: `rejected_<code>`
/// for every reason code of `evaluation::Reason` (a test keeps the two in
/// step). Fixed so the columns do not depend on which reasons occurred.
pub const REJECTION_CODES: [&str; 11] = [
    "restricted",
    "consent_required",
    "stale_fix",
    "future_fix",
    "mock_location",
    "low_accuracy",
    "no_sites",
    "outside_geofence",
    "uncertain_position",
    "impossible_travel",
    "sequence",
];

/// Fill colours of the attendance chart's bars (the screenshot test looks
/// for them; status cells in the table use other, lighter colours).
pub const COLOUR_ON_TIME: &str = "#2e7d32";
pub const COLOUR_LATE: &str = "#f9a825";
pub const COLOUR_ABSENT: &str = "#c62828";
pub const COLOUR_UNSCHEDULED: &str = "#78909c";
/// Fill colour of the sales chart's bars.
pub const COLOUR_CLOSINGS: &str = "#1565c0";

// ---------------------------------------------------------------------------
// CSV

/// The three forms a report is delivered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// The report's JSON, pretty-printed, ending in a newline.
    Json,
    /// RFC 4180 CSV.
    Csv,
    /// One self-contained HTML page.
    Html,
}

/// The attendance report as one document (what the command line writes
/// and the bindings return).
pub fn attendance_document(report: &AttendanceReport, format: DocumentFormat) -> Result<Vec<u8>> {
    document(
        report,
        format,
        |r, out| attendance_csv(r, out),
        attendance_html,
    )
}

/// The sales report as one document.
pub fn sales_document(report: &SalesReport, format: DocumentFormat) -> Result<Vec<u8>> {
    document(report, format, |r, out| sales_csv(r, out), sales_html)
}

fn document<R: serde::Serialize>(
    report: &R,
    format: DocumentFormat,
    csv: fn(&R, &mut Vec<u8>) -> Result<()>,
    html: fn(&R) -> String,
) -> Result<Vec<u8>> {
    Ok(match format {
        DocumentFormat::Json => {
            let mut out = serde_json::to_vec_pretty(report)?;
            out.push(b'\n');
            out
        }
        DocumentFormat::Csv => {
            let mut out = Vec::new();
            csv(report, &mut out)?;
            out
        }
        DocumentFormat::Html => html(report).into_bytes(),
    })
}

/// The table a report is as rows of text cells (a header, then one record
/// per day or agent): what the CSV writes and what other tabular formats
/// (the console's XLSX) write, so they hold the same rows.
pub trait Table {
    fn header(&self) -> Vec<Cow<'static, str>>;
    /// Calls `record` with each row's cells, in order.
    fn for_each_record(&self, record: &mut dyn FnMut(&[Cow<'_, str>]) -> Result<()>) -> Result<()>;
}

impl Table for AttendanceReport {
    /// Times are RFC 3339 in the agent's local offset; `None` is an empty
    /// cell. Free-text cells are guarded against formula injection (see
    /// [`guard`]).
    fn header(&self) -> Vec<Cow<'static, str>> {
        let mut header: Vec<Cow<'static, str>> = [
            "agent",
            "name",
            "date",
            "time_zone",
            "status",
            "shift_start",
            "first_check_in",
            "site_id",
            "last_check_out",
            "check_out_site_id",
            "minutes_late",
            "missing_check_out",
            "rejected_total",
        ]
        .into_iter()
        .map(Cow::Borrowed)
        .collect();
        header.extend(
            REJECTION_CODES
                .iter()
                .map(|c| format!("rejected_{c}").into()),
        );
        header.extend(
            [
                "review_decision",
                "reviewer",
                "review_note",
                "events_approved",
                "events_rejected",
            ]
            .map(Cow::Borrowed),
        );
        header
    }

    fn for_each_record(&self, record: &mut dyn FnMut(&[Cow<'_, str>]) -> Result<()>) -> Result<()> {
        let mut row: Vec<Cow<'_, str>> = Vec::with_capacity(13 + REJECTION_CODES.len() + 5);
        for day in &self.days {
            row.clear();
            row.push(guard(&day.agent));
            row.push(guard(&day.name));
            row.push(day.date.to_string().into());
            row.push(guard(day.time_zone));
            row.push(day.status.as_str().into());
            row.push(
                day.shift_start
                    .map_or(Cow::Borrowed(""), |t| t.format("%H:%M").to_string().into()),
            );
            row.push(opt_time(day.first_check_in));
            row.push(opt_guard(day.site_id.as_deref()));
            row.push(opt_time(day.last_check_out));
            row.push(opt_guard(day.check_out_site_id.as_deref()));
            row.push(
                day.minutes_late
                    .map_or(Cow::Borrowed(""), |m| m.to_string().into()),
            );
            row.push(
                if day.missing_check_out {
                    "true"
                } else {
                    "false"
                }
                .into(),
            );
            row.push(day.rejected_total.to_string().into());
            for code in REJECTION_CODES {
                row.push(day.rejected.get(code).unwrap_or(0).to_string().into());
            }
            let review = day.review.as_ref();
            row.push(opt_guard(review.map(|r| r.decision.as_str())));
            row.push(opt_guard(review.map(|r| r.reviewer.as_str())));
            row.push(opt_guard(review.and_then(|r| r.note.as_deref())));
            let (approved, rejected) = day.event_decisions();
            row.push(approved.to_string().into());
            row.push(rejected.to_string().into());
            record(&row)?;
        }
        Ok(())
    }
}

impl Table for SalesReport {
    /// Amounts per currency are one cell, `IDR 1500000.00; EUR 20.00`,
    /// sorted by currency code.
    fn header(&self) -> Vec<Cow<'static, str>> {
        let mut header: Vec<Cow<'static, str>> = vec!["agent".into(), "leads_total".into()];
        header.extend(LeadStatus::ALL.iter().map(|s| format!("leads_{s}").into()));
        header
            .extend(["conversion_rate", "closings", "premium", "cancellations"].map(Cow::Borrowed));
        header
    }

    fn for_each_record(&self, record: &mut dyn FnMut(&[Cow<'_, str>]) -> Result<()>) -> Result<()> {
        let mut row: Vec<Cow<'_, str>> = Vec::with_capacity(6 + LeadStatus::ALL.len());
        for agent in &self.agents {
            row.clear();
            row.push(guard(&agent.agent));
            row.push(agent.leads_total.to_string().into());
            for status in LeadStatus::ALL {
                row.push(leads(agent, *status).to_string().into());
            }
            row.push(
                agent
                    .conversion_rate
                    .map_or(Cow::Borrowed(""), |r| r.to_string().into()),
            );
            row.push(agent.closings.to_string().into());
            row.push(guard_owned(amounts(&agent.premium)));
            row.push(guard_owned(amounts(&agent.cancellations)));
            record(&row)?;
        }
        Ok(())
    }
}

/// Writes one header row, then one row per day (see [`Table`]).
pub fn attendance_csv(report: &AttendanceReport, out: impl io::Write) -> Result<()> {
    table_csv(report, out)
}

/// Writes one header row, then one row per agent (see [`Table`]).
pub fn sales_csv(report: &SalesReport, out: impl io::Write) -> Result<()> {
    table_csv(report, out)
}

fn table_csv(table: &dyn Table, out: impl io::Write) -> Result<()> {
    let mut w = csv_writer(out);
    w.write_record(table.header().iter().map(|c| c.as_bytes()))
        .map_err(csv_error)?;
    table.for_each_record(&mut |row| {
        w.write_record(row.iter().map(|c| c.as_bytes()))
            .map_err(csv_error)
    })?;
    w.flush()?;
    Ok(())
}

/// RFC 4180 records: CRLF line ends, fields quoted only when they must be.
fn csv_writer<W: io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// Keeps an I/O error (a closed pipe, a full disk) as itself.
fn csv_error(e: csv::Error) -> Error {
    if e.is_io_error() {
        if let csv::ErrorKind::Io(e) = e.into_kind() {
            return Error::Io(e);
        }
        unreachable!("is_io_error() promised an I/O error");
    }
    Error::Io(io::Error::other(e))
}

/// CSV/formula injection guard (OWASP "CSV Injection"): a free-text cell
/// that a spreadsheet could read as a formula — starting with `=`, `+`, `-`,
/// `@`, tab or carriage return — gets a leading `'`. Applied to text that
/// comes from people (ids, notes), never to numbers, dates or times.
fn guard(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn guard_owned(text: String) -> Cow<'static, str> {
    match guard(&text) {
        Cow::Owned(guarded) => Cow::Owned(guarded),
        Cow::Borrowed(_) => Cow::Owned(text),
    }
}

fn opt_guard(text: Option<&str>) -> Cow<'_, str> {
    text.map_or(Cow::Borrowed(""), guard)
}

fn opt_time(t: Option<DateTime<FixedOffset>>) -> Cow<'static, str> {
    t.map_or(Cow::Borrowed(""), |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, false).into()
    })
}

fn leads(row: &SalesRow, status: LeadStatus) -> u32 {
    row.leads_by_status.get(&status).copied().unwrap_or(0)
}

/// `EUR 20.00; IDR 1500000.00`, in the map's (currency code) order.
fn amounts(map: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (i, (code, amount)) in map.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        let _ = write!(text, "{code} {amount}");
    }
    text
}

// ---------------------------------------------------------------------------
// HTML

/// HTML-escapes text for element content and quoted attribute values.
/// Hand-written rather than a crate: it is five characters.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let mut from = 0;
        // Byte offsets are char boundaries here: the five are ASCII, and
        // UTF-8 never uses ASCII bytes inside a multi-byte character.
        for (i, byte) in text.bytes().enumerate() {
            let entity = match byte {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&text[from..i])?;
            f.write_str(entity)?;
            from = i + 1;
        }
        f.write_str(&text[from..])
    }
}

const STYLE: &str = "\
:root{color-scheme:light}\
*{box-sizing:border-box}\
body{margin:0;padding:1rem;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",Arial,sans-serif;\
font-size:1rem;line-height:1.45;color:#1a1a1a;background:#fff}\
main{max-width:90rem;margin:0 auto}\
h1{font-size:1.35rem;line-height:1.25;margin:0 0 .25rem}\
h2{font-size:1.1rem;margin:1.25rem 0 .5rem}\
.meta{color:#555;font-size:.85rem;margin:0 0 1rem}\
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr));gap:.4rem;list-style:none;padding:0;margin:0 0 1rem}\
.summary li{border:1px solid #d0d0d0;border-radius:.4rem;padding:.25rem .5rem;font-size:.8rem;line-height:1.3}\
.summary b{display:block;font-size:1.15rem}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\
figure{margin:0 0 1rem}\
svg{display:block;width:100%;height:auto}\
svg text{font-family:inherit;fill:#333}\
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0 0;font-size:.85rem}\
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.35rem;vertical-align:-.1rem;border-radius:.15rem}\
table{border-collapse:collapse;font-size:.875rem;min-width:100%}\
caption{text-align:left;font-size:.85rem;color:#555;padding-bottom:.25rem}\
th,td{padding:.35rem .5rem;border-bottom:1px solid #d0d0d0;text-align:left;vertical-align:top;white-space:nowrap}\
th{background:#f1f3f4;font-weight:600;white-space:normal}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
td.wrap{white-space:pre-line;min-width:12rem;max-width:24rem}\
.sub{display:block;color:#555;font-size:.8rem}\
.st{display:inline-block;font-weight:600;border-radius:.25rem;padding:0 .35rem}\
.st-on_time{background:#e8f5e9;color:#1b5e20}\
.st-late{background:#fff3cd;color:#664d03}\
.st-absent{background:#fdecea;color:#8e1a1a}\
.st-unscheduled{background:#eceff1;color:#37474f}\
.st-pending{background:#e3f2fd;color:#0d47a1}\
.warn{font-weight:600;color:#8e1a1a}\
.skew{display:block;font-size:.8rem;font-weight:600;color:#8e1a1a}\
.rv-approved{color:#1b5e20;font-weight:600}\
.rv-rejected{color:#8e1a1a;font-weight:600}\
.empty{padding:1rem;border:1px dashed #b0b0b0;border-radius:.4rem}\
@media (max-width:40rem){\
table.cards,.cards tbody,.cards tr,.cards td{display:block;min-width:0}\
.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.cards tr{border:1px solid #d0d0d0;border-radius:.4rem;margin:0 0 .6rem;padding:.2rem .5rem}\
.cards td{display:flex;justify-content:space-between;gap:1rem;border-bottom:1px solid #eee;padding:.3rem 0;white-space:normal;text-align:right;max-width:none}\
.cards td:last-child{border-bottom:0}\
.cards td::before{font-weight:600;text-align:left;color:#333}\
}\
";

/// Opens a table of the page (`id`) up to its `<tbody>`. On a phone the
/// table turns into one card per row (CSS `.cards`); each cell is then
/// labelled with its column's header by a generated `::before`, so every
/// header stays readable without scrolling sideways.
fn table_head(out: &mut String, id: &str, columns: &[(&str, bool)]) -> fmt::Result {
    out.push_str("<style>@media (max-width:40rem){");
    for (i, (label, _)) in columns.iter().enumerate() {
        // Labels are fixed words of ours; CSS-escape quotes and backslashes anyway.
        let label = label.replace('\\', "\\\\").replace('"', "\\\"");
        write!(
            out,
            "#{id} td:nth-child({})::before{{content:\"{label}\"}}",
            i + 1
        )?;
    }
    write!(
        out,
        "}}</style>\n<div class=\"scroll\">\n<table id=\"{id}\" class=\"cards\">\n<thead><tr>"
    )?;
    for (label, numeric) in columns {
        let class = if *numeric { " class=\"num\"" } else { "" };
        write!(out, "<th scope=\"col\"{class}>{}</th>", Esc(label))?;
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    Ok(())
}

/// Opens the page: everything up to and including `<main>`.
fn head(out: &mut String, title: &str) -> fmt::Result {
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        Esc(title)
    )
}

fn foot(out: &mut String, kind: &str, schema_version: u32) -> fmt::Result {
    write!(
        out,
        "<footer class=\"meta\">fieldcheck {kind} report, schema version {schema_version}.</footer>\n\
         </main>\n</body>\n</html>\n"
    )
}

fn period(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from} – {to}")
    }
}

/// Title and the line under it.
fn heading(
    out: &mut String,
    kind: &str,
    from: NaiveDate,
    to: NaiveDate,
    agent: Option<&str>,
    generated_at: &str,
) -> fmt::Result {
    write!(out, "<h1>{kind} {}", Esc(&period(from, to)))?;
    if let Some(agent) = agent {
        write!(out, " · <bdi>{}</bdi>", Esc(agent))?;
    }
    out.push_str("</h1>\n<p class=\"meta\">");
    if let Some(agent) = agent {
        write!(out, "Agent <bdi>{}</bdi> · ", Esc(agent))?;
    }
    writeln!(out, "generated {generated_at}</p>")
}

fn summary_item(out: &mut String, value: impl fmt::Display, label: &str) -> fmt::Result {
    write!(out, "<li><b>{value}</b>{}</li>", Esc(label))
}

/// One self-contained HTML page: summary, a stacked bar chart per date
/// (`id="chart"`) and a table of the days (`id="days"`).
pub fn attendance_html(report: &AttendanceReport) -> String {
    // About 700 bytes per table row plus 600 per chart date and the frame.
    let mut out =
        String::with_capacity(8 * 1024 + report.days.len() * 700 + report.totals.len() * 600);
    write_attendance(&mut out, report).expect("writing into a String cannot fail");
    out
}

fn write_attendance(out: &mut String, report: &AttendanceReport) -> fmt::Result {
    let title = match &report.agent {
        Some(agent) => format!("Attendance {} · {agent}", period(report.from, report.to)),
        None => format!("Attendance {}", period(report.from, report.to)),
    };
    head(out, &title)?;
    let generated = crate::time::format_rfc3339(report.generated_at);
    heading(
        out,
        "Attendance",
        report.from,
        report.to,
        report.agent.as_deref(),
        &generated,
    )?;

    if report.days.is_empty() {
        out.push_str("<p class=\"empty\">No attendance recorded in this period.</p>\n");
        return foot(out, "attendance", report.schema_version);
    }

    // Summary.
    let mut counts = [0usize; STATUSES.len()];
    let (mut missing, mut rejected) = (0usize, 0u64);
    let mut agents = BTreeSet::new();
    for day in &report.days {
        counts[status_index(day.status)] += 1;
        missing += usize::from(day.missing_check_out);
        rejected += u64::from(day.rejected_total);
        agents.insert(&*day.agent);
    }
    out.push_str("<ul class=\"summary\">");
    summary_item(
        out,
        agents.len(),
        if agents.len() == 1 { "agent" } else { "agents" },
    )?;
    summary_item(out, report.days.len(), "agent-days")?;
    for (i, status) in STATUSES.iter().enumerate() {
        // "pending" only matters when a day is still to come.
        if i < CHARTED.len() || counts[i] > 0 {
            summary_item(out, counts[i], status.label)?;
        }
    }
    summary_item(out, missing, "missing check-outs")?;
    summary_item(out, rejected, "rejected attempts")?;
    out.push_str("</ul>\n");

    out.push_str("<h2>Per date</h2>\n");
    attendance_chart(out, &report.totals)?;

    out.push_str("<h2>Days</h2>\n");
    table_head(
        out,
        "days",
        &[
            ("Agent", false),
            ("Date", false),
            ("Status", false),
            ("Check-in", false),
            ("Check-out", false),
            ("Minutes late", true),
            ("Missing check-out", false),
            ("Rejected attempts", false),
            ("Review", false),
        ],
    )?;
    for day in &report.days {
        day_row(out, day)?;
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    foot(out, "attendance", report.schema_version)
}

struct StatusStyle {
    class: &'static str,
    label: &'static str,
    colour: &'static str,
}

/// Every status; the first four bottom to top in the stacked bars.
const STATUSES: [StatusStyle; 5] = [
    StatusStyle {
        class: "on_time",
        label: "on time",
        colour: COLOUR_ON_TIME,
    },
    StatusStyle {
        class: "late",
        label: "late",
        colour: COLOUR_LATE,
    },
    StatusStyle {
        class: "absent",
        label: "absent",
        colour: COLOUR_ABSENT,
    },
    StatusStyle {
        class: "unscheduled",
        label: "unscheduled",
        colour: COLOUR_UNSCHEDULED,
    },
    // Not in `DateTotals`, so never a bar: a day still to come.
    StatusStyle {
        class: "pending",
        label: "pending",
        colour: "#90caf9",
    },
];

/// The statuses that `DateTotals` counts, in bar order.
const CHARTED: &[StatusStyle] = STATUSES.split_at(4).0;

fn status_index(status: DayStatus) -> usize {
    match status {
        DayStatus::OnTime => 0,
        DayStatus::Late => 1,
        DayStatus::Absent => 2,
        DayStatus::Unscheduled => 3,
        DayStatus::Pending => 4,
    }
}

fn date_counts(t: &DateTotals) -> [u32; 4] {
    [t.on_time, t.late, t.absent, t.unscheduled]
}

/// Rounds an SVG coordinate to 0.1 so the markup stays short.
fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// 1, 2 or 5 times a power of ten, so that `max` needs at most 5 steps.
fn tick_step(max: u32) -> u32 {
    let mut step = 1u32;
    loop {
        for m in [1, 2, 5] {
            let s = step.saturating_mul(m);
            if max.div_ceil(s) <= 5 {
                return s;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Stacked bars of on-time / late / absent / unscheduled agents per date.
/// The `viewBox` lets it scale to the screen; a minimum width keeps long
/// periods legible (the wrapper then scrolls sideways).
fn attendance_chart(out: &mut String, totals: &[DateTotals]) -> fmt::Result {
    const LEFT: f64 = 40.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 12.0;
    const PLOT_H: f64 = 180.0;
    let n = totals.len();
    // Few dates: wide bars, horizontal labels. Many: narrow bars, labels
    // turned upright.
    let (pitch, bar_w, upright) = if n <= 10 {
        (56.0, 32.0, false)
    } else {
        (24.0, 16.0, true)
    };
    let bottom = if upright { 52.0 } else { 28.0 };
    let plot_w = (n as f64 * pitch).max(256.0);
    let width = LEFT + plot_w + RIGHT;
    let height = TOP + PLOT_H + bottom;
    let max = totals
        .iter()
        .map(|t| date_counts(t).iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = tick_step(max);
    let axis_max = max.div_ceil(step) * step;
    let scale = PLOT_H / f64::from(axis_max);
    let min_px = if upright { width * 0.9 } else { width * 0.75 };

    write!(
        out,
        "<figure>\n<div class=\"scroll\">\n<svg id=\"chart\" role=\"img\" \
         aria-labelledby=\"chart-title chart-desc\" viewBox=\"0 0 {} {}\" \
         style=\"min-width:{}px;max-width:{}px\">\n\
         <title id=\"chart-title\">Agents on time, late, absent and unscheduled per date</title>\n\
         <desc id=\"chart-desc\">One stacked bar per date from {} to {}; the table below lists every day.</desc>\n",
        r1(width),
        r1(height),
        r1(min_px),
        r1(width * 1.6),
        totals
            .first()
            .map(|t| t.date.to_string())
            .unwrap_or_default(),
        totals
            .last()
            .map(|t| t.date.to_string())
            .unwrap_or_default(),
    )?;
    // Grid lines and the count axis.
    let mut tick = 0;
    while tick <= axis_max {
        let y = r1(TOP + PLOT_H - f64::from(tick) * scale);
        writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">{tick}</text>",
            r1(LEFT + plot_w),
            if tick == 0 { "#888" } else { "#e3e3e3" },
            LEFT - 6.0,
        )?;
        tick += step;
    }
    writeln!(
        out,
        "<text transform=\"translate(11 {}) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">agents</text>",
        r1(TOP + PLOT_H / 2.0)
    )?;
    for (i, t) in totals.iter().enumerate() {
        let counts = date_counts(t);
        write!(
            out,
            "<g class=\"date\" data-date=\"{}\"><title>{}: {} on time, {} late, {} absent, {} unscheduled</title>",
            t.date, t.date, counts[0], counts[1], counts[2], counts[3]
        )?;
        let x = r1(LEFT + i as f64 * pitch + (pitch - bar_w) / 2.0);
        let mut base = 0u32;
        for (count, status) in counts.iter().zip(CHARTED) {
            if *count == 0 {
                continue;
            }
            let y_top = TOP + PLOT_H - f64::from(base + count) * scale;
            let h = f64::from(*count) * scale;
            write!(
                out,
                "<rect class=\"{}\" x=\"{x}\" y=\"{}\" width=\"{bar_w}\" height=\"{}\" fill=\"{}\"/>",
                status.class,
                r1(y_top),
                r1(h),
                status.colour
            )?;
            base += count;
        }
        let cx = r1(LEFT + i as f64 * pitch + pitch / 2.0);
        let label = t.date.format("%m-%d");
        if upright {
            write!(
                out,
                "<text transform=\"translate({} {}) rotate(-90)\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">{label}</text>",
                cx,
                r1(TOP + PLOT_H + 6.0)
            )?;
        } else {
            write!(
                out,
                "<text x=\"{cx}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{label}</text>",
                r1(TOP + PLOT_H + 18.0)
            )?;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n</div>\n<ul class=\"legend\">");
    for status in CHARTED {
        write!(
            out,
            "<li><span class=\"sw\" style=\"background:{}\"></span>{}</li>",
            status.colour, status.label
        )?;
    }
    out.push_str("</ul>\n</figure>\n");
    Ok(())
}

fn day_row(out: &mut String, day: &AttendanceDay) -> fmt::Result {
    let status = &STATUSES[status_index(day.status)];
    write!(out, "<tr><td><bdi>{}</bdi>", Esc(&day.agent))?;
    if !day.name.is_empty() {
        write!(out, "<bdi class=\"sub\">{}</bdi>", Esc(&day.name))?;
    }
    write!(
        out,
        "</td><td>{}</td><td><span class=\"st st-{}\">{}</span>",
        day.date,
        status.class,
        capitalised(status.label),
    )?;
    if day.clock_skew > 0 {
        // Inside the status cell: the times beside it are the device's.
        write!(
            out,
            "<span class=\"skew\" title=\"recorded time disagrees with the device's clock as the server bounds it\">clock skew ×{}</span>",
            day.clock_skew
        )?;
    }
    out.push_str("</td>");
    time_cell(out, day.date, day.first_check_in, day.site_id.as_deref())?;
    time_cell(
        out,
        day.date,
        day.last_check_out,
        day.check_out_site_id.as_deref(),
    )?;
    match day.minutes_late {
        Some(m) => write!(out, "<td class=\"num\">{m}</td>")?,
        None => out.push_str("<td class=\"num\"></td>"),
    }
    out.push_str(if day.missing_check_out {
        "<td class=\"warn\">yes</td>"
    } else {
        "<td></td>"
    });
    out.push_str("<td>");
    for (i, (code, n)) in day.rejected.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        write!(out, "{} ×{n}", Esc(code))?;
    }
    out.push_str("</td>");
    out.push_str("<td class=\"wrap\">");
    // The day's own decision first, then each event's latest.
    let decisions = day
        .review
        .as_deref()
        .map(|r| ("Day", r))
        .into_iter()
        .chain(day.event_reviews.iter().map(|r| ("Event", r)));
    for (i, (what, review)) in decisions.enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        let class = match review.decision {
            Decision::Approved => "rv-approved",
            Decision::Rejected => "rv-rejected",
        };
        write!(
            out,
            "{what}: <span class=\"{class}\">{}</span> by <bdi>{}</bdi>",
            review.decision,
            Esc(&review.reviewer)
        )?;
        if let Some(note) = &review.note {
            write!(out, "<bdi class=\"sub\">{}</bdi>", Esc(note))?;
        }
    }
    out.push_str("</td>");
    out.push_str("</tr>\n");
    Ok(())
}

fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `HH:MM` (with the date when it is not the row's date), the full time in
/// `datetime`, and the site under it.
fn time_cell(
    out: &mut String,
    day: NaiveDate,
    t: Option<DateTime<FixedOffset>>,
    site: Option<&str>,
) -> fmt::Result {
    out.push_str("<td>");
    if let Some(t) = t {
        let shown = if t.date_naive() == day {
            t.format("%H:%M")
        } else {
            t.format("%m-%d %H:%M")
        };
        write!(
            out,
            "<time datetime=\"{}\">{shown}</time>",
            t.to_rfc3339_opts(SecondsFormat::Secs, false)
        )?;
    }
    if let Some(site) = site {
        write!(out, "<bdi class=\"sub\">{}</bdi>", Esc(site))?;
    }
    out.push_str("</td>");
    Ok(())
}

/// One self-contained HTML page: summary, a bar chart of closings per agent
/// (`id="chart"`) and a table of the agents (`id="agents"`).
pub fn sales_html(report: &SalesReport) -> String {
    let mut out = String::with_capacity(8 * 1024 + report.agents.len() * 1200);
    write_sales(&mut out, report).expect("writing into a String cannot fail");
    out
}

fn write_sales(out: &mut String, report: &SalesReport) -> fmt::Result {
    let title = match &report.agent {
        Some(agent) => format!("Sales {} · {agent}", period(report.from, report.to)),
        None => format!("Sales {}", period(report.from, report.to)),
    };
    head(out, &title)?;
    let generated = crate::time::format_rfc3339(report.generated_at);
    heading(
        out,
        "Sales",
        report.from,
        report.to,
        report.agent.as_deref(),
        &generated,
    )?;
    if report.agents.is_empty() {
        out.push_str("<p class=\"empty\">No sales activity recorded in this period.</p>\n");
        return foot(out, "sales", report.schema_version);
    }

    let (mut leads_total, mut won, mut closings) = (0u64, 0u64, 0u64);
    for row in &report.agents {
        leads_total += u64::from(row.leads_total);
        won += u64::from(leads(row, LeadStatus::Won));
        closings += u64::from(row.closings);
    }
    out.push_str("<ul class=\"summary\">");
    let n = report.agents.len();
    summary_item(out, n, if n == 1 { "agent" } else { "agents" })?;
    summary_item(out, leads_total, "leads")?;
    summary_item(out, won, "won")?;
    summary_item(
        out,
        percent((leads_total > 0).then(|| won as f64 / leads_total as f64)),
        "conversion",
    )?;
    summary_item(out, closings, "closings")?;
    out.push_str("</ul>\n<h2>Closings per agent</h2>\n");
    sales_chart(out, &report.agents)?;

    out.push_str("<h2>Agents</h2>\n");
    let statuses: Vec<String> = LeadStatus::ALL
        .iter()
        .map(|s| capitalised(s.as_str()))
        .collect();
    let mut columns: Vec<(&str, bool)> = vec![("Agent", false), ("Leads", true)];
    columns.extend(statuses.iter().map(|s| (s.as_str(), true)));
    columns.extend([
        ("Conversion", true),
        ("Closings", true),
        ("Premium", false),
        ("Cancellations", false),
    ]);
    table_head(out, "agents", &columns)?;
    for row in &report.agents {
        write!(
            out,
            "<tr><td><bdi>{}</bdi></td><td class=\"num\">{}</td>",
            Esc(&row.agent),
            row.leads_total
        )?;
        for status in LeadStatus::ALL {
            write!(out, "<td class=\"num\">{}</td>", leads(row, *status))?;
        }
        write!(
            out,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
            percent(row.conversion_rate),
            row.closings,
        )?;
        amounts_cell(out, &row.premium)?;
        amounts_cell(out, &row.cancellations)?;
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    foot(out, "sales", report.schema_version)
}

/// One line per currency: `EUR 20.00<br>IDR 1500000.00`.
fn amounts_cell(out: &mut String, map: &BTreeMap<String, String>) -> fmt::Result {
    out.push_str("<td>");
    for (i, (code, amount)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        write!(out, "{} {}", Esc(code), Esc(amount))?;
    }
    out.push_str("</td>");
    Ok(())
}

/// `25.0 %`, or an en dash without leads.
fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(rate) => format!("{:.1} %", rate * 100.0),
        None => "–".to_owned(),
    }
}

/// Horizontal bars, one per agent: the agent above its bar, the count after.
fn sales_chart(out: &mut String, rows: &[SalesRow]) -> fmt::Result {
    const WIDTH: f64 = 320.0;
    const ROW: f64 = 36.0;
    const BAR_MAX: f64 = 270.0;
    let max = rows.iter().map(|r| r.closings).max().unwrap_or(0).max(1);
    let height = rows.len() as f64 * ROW + 8.0;
    write!(
        out,
        "<figure>\n<div class=\"scroll\">\n<svg id=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" \
         viewBox=\"0 0 {WIDTH} {}\" style=\"min-width:280px;max-width:40rem\">\n\
         <title id=\"chart-title\">Policy closings per agent</title>\n",
        r1(height)
    )?;
    for (i, row) in rows.iter().enumerate() {
        let y = i as f64 * ROW;
        let w = r1(f64::from(row.closings) / f64::from(max) * BAR_MAX);
        writeln!(
            out,
            "<g class=\"agent\"><title>{}: {} closings</title>\
             <text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\
             <rect x=\"0\" y=\"{}\" width=\"{w}\" height=\"14\" fill=\"{COLOUR_CLOSINGS}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text></g>",
            Esc(&row.agent),
            row.closings,
            r1(y + 13.0),
            Esc(&row.agent),
            r1(y + 17.0),
            r1(w + 4.0),
            r1(y + 28.5),
            row.closings
        )?;
    }
    out.push_str("</svg>\n</div>\n</figure>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, TimeZone, Utc};

    use super::*;
    use crate::report::{REPORT_SCHEMA_VERSION, ReviewSummary};

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 5, d).unwrap()
    }

    fn at(d: u32, h: u32, m: u32) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(7 * 3600).unwrap();
        date(d)
            .and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
            .and_local_timezone(offset)
            .unwrap()
    }

    fn day(agent: &str, d: u32, status: DayStatus) -> AttendanceDay {
        let present = status != DayStatus::Absent;
        AttendanceDay {
            agent: agent.into(),
            name: "".into(),
            date: date(d),
            time_zone: "Asia/Jakarta",
            status,
            shift_start: chrono::NaiveTime::from_hms_opt(8, 0, 0),
            first_check_in: present.then(|| at(d, 8, 5)),
            site_id: present.then(|| "site-1".into()),
            last_check_out: present.then(|| at(d, 17, 0)),
            check_out_site_id: present.then(|| "site-1".into()),
            minutes_late: present.then_some(if status == DayStatus::Late { 12 } else { 0 }),
            missing_check_out: false,
            rejected: RejectionCounts::default(),
            rejected_total: 0,
            clock_skew: 0,
            review: None,
            event_reviews: Vec::new(),
            open_visit: false,
        }
    }

    fn totals(days: &[AttendanceDay], from: u32, to: u32) -> Vec<DateTotals> {
        (from..=to)
            .map(|d| {
                let mut t = DateTotals {
                    date: date(d),
                    ..DateTotals::default()
                };
                for day in days.iter().filter(|x| x.date == date(d)) {
                    match day.status {
                        DayStatus::OnTime => t.on_time += 1,
                        DayStatus::Late => t.late += 1,
                        DayStatus::Absent => t.absent += 1,
                        DayStatus::Unscheduled => t.unscheduled += 1,
                        DayStatus::Pending => t.pending += 1,
                    }
                }
                t
            })
            .collect()
    }

    fn report(days: Vec<AttendanceDay>, from: u32, to: u32) -> AttendanceReport {
        AttendanceReport {
            report: "attendance",
            schema_version: REPORT_SCHEMA_VERSION,
            from: date(from),
            to: date(to),
            agent: None,
            generated_at: Utc.with_ymd_and_hms(2025, 5, 8, 1, 2, 3).unwrap(),
            totals: totals(&days, from, to),
            days,
        }
    }

    fn review(note: &str) -> ReviewSummary {
        ReviewSummary {
            review_id: "r1".into(),
            event_id: Some("e1".into()),
            decision: Decision::Approved,
            reviewer: "sup-1".into(),
            note: Some(note.into()),
            at: Utc.with_ymd_and_hms(2025, 5, 8, 0, 0, 0).unwrap(),
        }
    }

    const AWKWARD: &str = "Rahmat, \"Pak\" Budi\nلمياء 🙂 שָׁלוֹם";

    fn attendance_csv_string(report: &AttendanceReport) -> String {
        let mut bytes = Vec::new();
        attendance_csv(report, &mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn rejection_columns_cover_every_reason() {
        let reasons: Vec<&str> = crate::evaluation::Reason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(reasons, REJECTION_CODES);
    }

    #[test]
    fn attendance_csv_round_trips_awkward_text() {
        let mut d1 = day(AWKWARD, 1, DayStatus::Late);
        d1.rejected = [("outside_geofence", 2), ("low_accuracy", 1)]
            .into_iter()
            .collect();
        d1.rejected_total = 3;
        d1.review = Some(Box::new(review(AWKWARD)));
        d1.name = "@Rudi, \"Hartono\"".into();
        let mut rejected_event = review("no");
        rejected_event.decision = Decision::Rejected;
        d1.event_reviews = vec![review("ok"), rejected_event.clone(), rejected_event];
        let mut d2 = day("agent-2", 1, DayStatus::Absent);
        d2.review = Some(Box::new(review("=HYPERLINK(\"http://x\")")));
        d2.missing_check_out = true;
        let text = attendance_csv_string(&report(vec![d1, d2], 1, 1));
        assert!(!text.starts_with('\u{feff}'), "no byte order mark");
        assert!(text.starts_with("agent,name,date,time_zone,"));
        assert_eq!(text.matches("\r\n").count(), 3, "RFC 4180 line ends");

        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header.len(), 13 + REJECTION_CODES.len() + 5);
        assert_eq!(
            &header[..13],
            [
                "agent",
                "name",
                "date",
                "time_zone",
                "status",
                "shift_start",
                "first_check_in",
                "site_id",
                "last_check_out",
                "check_out_site_id",
                "minutes_late",
                "missing_check_out",
                "rejected_total"
            ]
        );
        assert_eq!(header[13], "rejected_restricted");
        assert_eq!(header[22], "rejected_impossible_travel");
        assert_eq!(header[23], "rejected_sequence");
        assert_eq!(
            &header[24..],
            [
                "review_decision",
                "reviewer",
                "review_note",
                "events_approved",
                "events_rejected"
            ]
        );

        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[0][col("agent")], AWKWARD);
        assert_eq!(&rows[0][col("review_note")], AWKWARD);
        assert_eq!(&rows[0][col("name")], "'@Rudi, \"Hartono\"", "guarded");
        assert_eq!(&rows[0][col("events_approved")], "1");
        assert_eq!(&rows[0][col("events_rejected")], "2");
        assert_eq!(&rows[1][col("name")], "");
        assert_eq!(&rows[1][col("events_approved")], "0");
        assert_eq!(&rows[0][col("status")], "late");
        assert_eq!(&rows[0][col("first_check_in")], "2025-05-01T08:05:00+07:00");
        assert_eq!(&rows[0][col("minutes_late")], "12");
        assert_eq!(&rows[0][col("rejected_outside_geofence")], "2");
        assert_eq!(&rows[0][col("rejected_low_accuracy")], "1");
        assert_eq!(&rows[0][col("rejected_stale_fix")], "0");
        assert_eq!(&rows[0][col("rejected_total")], "3");
        assert_eq!(&rows[1][col("first_check_in")], "");
        assert_eq!(&rows[1][col("minutes_late")], "");
        assert_eq!(&rows[1][col("missing_check_out")], "true");
        assert_eq!(
            &rows[1][col("review_note")],
            "'=HYPERLINK(\"http://x\")",
            "formula guarded"
        );
    }

    #[test]
    fn csv_guard_covers_the_owasp_prefixes_only() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(guard(bad), format!("'{bad}"));
        }
        for fine in ["agent-1", "1", "", "'quoted", " =1", "ٱ"] {
            assert_eq!(guard(fine), fine);
        }
        // Guarded free text, unguarded numbers: an agent id "-7" is guarded
        // while negative-looking numeric columns never occur.
        let text = attendance_csv_string(&report(vec![day("-7", 1, DayStatus::OnTime)], 1, 1));
        assert!(text.lines().nth(1).unwrap().starts_with("'-7,,2025-05-01,"));
    }

    #[test]
    fn empty_attendance_csv_is_just_the_header() {
        let text = attendance_csv_string(&report(vec![], 1, 3));
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with("agent,name,date,"));
    }

    /// A writer that fails like a closed pipe.
    struct Broken;

    impl io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_keep_their_kind() {
        let r = report(vec![day("a", 1, DayStatus::OnTime)], 1, 1);
        match attendance_csv(&r, Broken) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }

    fn sales_row(agent: &str, won: u32, lost: u32, closings: u32) -> SalesRow {
        let mut by_status: BTreeMap<LeadStatus, u32> =
            LeadStatus::ALL.iter().map(|s| (*s, 0)).collect();
        by_status.insert(LeadStatus::Won, won);
        by_status.insert(LeadStatus::Lost, lost);
        by_status.insert(LeadStatus::New, 2);
        let total = won + lost + 2;
        SalesRow {
            agent: agent.into(),
            leads_by_status: by_status,
            leads_total: total,
            conversion_rate: Some(f64::from(won) / f64::from(total)),
            closings,
            premium: BTreeMap::from([
                ("IDR".into(), "1500000.00".into()),
                ("EUR".into(), "20.00".into()),
            ]),
            cancellations: BTreeMap::new(),
        }
    }

    fn sales_report(agents: Vec<SalesRow>) -> SalesReport {
        SalesReport {
            report: "sales",
            schema_version: REPORT_SCHEMA_VERSION,
            from: date(1),
            to: date(31),
            agent: None,
            generated_at: Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
            agents,
        }
    }

    #[test]
    fn sales_csv_columns_and_amounts() {
        let mut none = sales_row("@agent", 0, 0, 0);
        none.leads_by_status.insert(LeadStatus::New, 0);
        none.leads_total = 0;
        none.conversion_rate = None;
        none.premium.clear();
        none.cancellations = BTreeMap::from([("IDR".into(), "-250000.00".into())]);
        let mut bytes = Vec::new();
        sales_csv(
            &sales_report(vec![sales_row(AWKWARD, 1, 1, 3), none]),
            &mut bytes,
        )
        .unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().unwrap(),
            vec![
                "agent",
                "leads_total",
                "leads_new",
                "leads_contacted",
                "leads_qualified",
                "leads_proposal",
                "leads_won",
                "leads_lost",
                "conversion_rate",
                "closings",
                "premium",
                "cancellations"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                AWKWARD,
                "4",
                "2",
                "0",
                "0",
                "0",
                "1",
                "1",
                "0.25",
                "3",
                "EUR 20.00; IDR 1500000.00",
                ""
            ]
        );
        assert_eq!(&rows[1][0], "'@agent");
        assert_eq!(&rows[1][8], "");
        assert_eq!(&rows[1][10], "");
        assert_eq!(&rows[1][11], "IDR -250000.00");
    }

    /// Every check a self-contained page must pass.
    fn assert_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            )
        );
        for external in [
            "http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link",
        ] {
            assert!(!html.contains(external), "page refers to {external}");
        }
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn attendance_html_escapes_and_is_self_contained() {
        let hostile = "<script>alert('x')</script>&\"";
        let mut d1 = day(hostile, 1, DayStatus::OnTime);
        d1.review = Some(Box::new(review(hostile)));
        d1.site_id = Some(hostile.into());
        d1.rejected = [("outside_geofence", 2)].into_iter().collect();
        d1.rejected_total = 2;
        let mut r = report(
            vec![
                d1,
                day("b", 2, DayStatus::Late),
                day("b", 3, DayStatus::Absent),
                day(AWKWARD, 3, DayStatus::Unscheduled),
            ],
            1,
            4,
        );
        r.agent = Some(hostile.into());
        let html = attendance_html(&r);
        assert_self_contained(&html);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("alert('x')"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
        assert!(html.contains("Rahmat, &quot;Pak&quot; Budi\nلمياء 🙂 שָׁלוֹם"));
        assert!(html.contains("outside_geofence ×2"));
        assert_eq!(html.matches("id=\"chart\"").count(), 1);
        assert_eq!(html.matches("id=\"days\"").count(), 1);
        assert!(html.contains("role=\"img\""));
        assert!(html.contains("viewBox=\"0 0 "));
        assert!(html.contains("<title id=\"chart-title\">"));
        // One bar group per date of the period, including the empty 4th.
        assert_eq!(html.matches("<g class=\"date\"").count(), 4);
        for d in 1..=4 {
            assert!(html.contains(&format!("data-date=\"2025-05-0{d}\"")));
        }
        assert_eq!(
            html.matches(&format!("fill=\"{COLOUR_ON_TIME}\"")).count(),
            1
        );
        assert_eq!(html.matches(&format!("fill=\"{COLOUR_LATE}\"")).count(), 1);
        assert_eq!(
            html.matches(&format!("fill=\"{COLOUR_ABSENT}\"")).count(),
            1
        );
        // Status by text as well as colour.
        for label in ["On time", "Late", "Absent", "Unscheduled"] {
            assert!(html.contains(&format!("\">{label}</span></td>")), "{label}");
        }
        assert_eq!(html.matches("<tr><td>").count(), 4);
        assert!(html.contains("<time datetime=\"2025-05-02T08:05:00+07:00\">08:05</time>"));
        assert!(html.contains("overflow-x:auto"));
        assert!(!html.contains("No attendance recorded"));
    }

    #[test]
    fn stacked_bars_add_up() {
        // 3 on time + 1 late on one date: the bars meet and reach the top.
        let days = vec![
            day("a", 1, DayStatus::OnTime),
            day("b", 1, DayStatus::OnTime),
            day("c", 1, DayStatus::OnTime),
            day("d", 1, DayStatus::Late),
        ];
        let html = attendance_html(&report(days, 1, 1));
        // Axis 0..4 over 180 units from y=12: on time 12+45..192, late 12..57.
        assert!(html.contains("class=\"on_time\" x=\"52\" y=\"57\" width=\"32\" height=\"135\""));
        assert!(html.contains("class=\"late\" x=\"52\" y=\"12\" width=\"32\" height=\"45\""));
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(5), 1);
        assert_eq!(tick_step(6), 2);
        assert_eq!(tick_step(11), 5);
        assert_eq!(tick_step(26), 10);
        assert_eq!(tick_step(150_000), 50_000);
        assert_eq!(tick_step(u32::MAX), 1_000_000_000);
    }

    #[test]
    fn long_periods_get_upright_labels_and_a_scroll_width() {
        let html = attendance_html(&report(vec![day("a", 1, DayStatus::OnTime)], 1, 31));
        assert_eq!(html.matches("<g class=\"date\"").count(), 31);
        assert!(html.contains("rotate(-90)\" font-size=\"11\" text-anchor=\"end\""));
        // 40 + 31 × 24 + 8 units, at least 0.9 px each.
        assert!(html.contains("viewBox=\"0 0 792 244\" style=\"min-width:712.8px"));
    }

    #[test]
    fn empty_reports_say_so() {
        let html = attendance_html(&report(vec![], 1, 7));
        assert_self_contained(&html);
        assert!(html.contains("No attendance recorded in this period."));
        assert!(!html.contains("<table"));
        let html = sales_html(&sales_report(vec![]));
        assert_self_contained(&html);
        assert!(html.contains("No sales activity recorded in this period."));
        assert!(!html.contains("<table"));
    }

    #[test]
    fn sales_html_has_chart_and_table() {
        let hostile = "<b onmouseover=alert(1)>";
        let mut r = sales_report(vec![
            sales_row("a", 1, 1, 3),
            sales_row(hostile, 0, 2, 0),
            sales_row(AWKWARD, 4, 0, 1),
        ]);
        r.agents[1].conversion_rate = None;
        let html = sales_html(&r);
        assert_self_contained(&html);
        assert!(!html.contains("<b "));
        assert!(html.contains("&lt;b onmouseover=alert(1)&gt;"));
        assert_eq!(html.matches("id=\"chart\"").count(), 1);
        assert_eq!(html.matches("id=\"agents\"").count(), 1);
        assert_eq!(
            html.matches(&format!("fill=\"{COLOUR_CLOSINGS}\"")).count(),
            3
        );
        assert!(html.contains("<td class=\"num\">25.0 %</td>"));
        assert!(html.contains("<td class=\"num\">66.7 %</td>"));
        assert!(html.contains("<td class=\"num\">–</td>"));
        assert!(html.contains("EUR 20.00<br>IDR 1500000.00"));
        assert_eq!(html.matches("<tr><td>").count(), 3);
    }

    #[test]
    fn large_reports_render_in_linear_time() {
        // 150,000 agent-days: 1,000 agents × 150 days.
        let mut days = Vec::with_capacity(150_000);
        for a in 0..1000 {
            for d in 0..150u32 {
                let mut x = day(&format!("agent-{a:04}"), 1, DayStatus::OnTime);
                x.date = date(1) + chrono::Days::new(u64::from(d));
                days.push(x);
            }
        }
        let r = AttendanceReport {
            totals: (0..150u32)
                .map(|d| DateTotals {
                    date: date(1) + chrono::Days::new(u64::from(d)),
                    on_time: 1000,
                    ..DateTotals::default()
                })
                .collect(),
            days,
            ..report(vec![], 1, 1)
        };
        let started = std::time::Instant::now();
        let html = attendance_html(&r);
        let html_time = started.elapsed();
        assert_eq!(html.matches("<tr><td>").count(), 150_000);
        let started = std::time::Instant::now();
        let mut csv = Vec::new();
        attendance_csv(&r, &mut csv).unwrap();
        let csv_time = started.elapsed();
        assert_eq!(csv.iter().filter(|b| **b == b'\n').count(), 150_001);
        eprintln!(
            "150,000 days: HTML {} MB in {html_time:?}, CSV {} MB in {csv_time:?}",
            html.len() / 1_000_000,
            csv.len() / 1_000_000
        );
        // Generous: quadratic building would take minutes, not seconds.
        assert!(html_time.as_secs() < 20 && csv_time.as_secs() < 20);
    }
}
