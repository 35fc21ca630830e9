//! The reports pages and downloads (PRODUCT.md §12.4): the CLI's documents
//! (CSV and JSON byte for byte the CLI's), XLSX with the CSV's rows,
//! of the user's team (the team read, not the whole store narrowed).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use fieldcheck_core::report::render::{DocumentFormat, Table, attendance_document, sales_document};
use fieldcheck_core::report::{AttendanceReport, SalesReport};
use fieldcheck_core::{Error, ReportQuery};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{Place, agent_label, cards_table, clock, day_badges, day_href, placed};
use super::{
    Posting, Session, Viewing, bad_dates, blocking, names, pages, parse_date, secure_headers, xlsx,
};
use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A report of the user's team, the team pushed into the store's reads (an
/// agent outside it gives an empty report, not an error).
trait TeamReport: Send + 'static {
    fn build(
        store: &fieldcheck_core::Store,
        actor: &fieldcheck_core::Actor,
        query: &ReportQuery,
        team: Option<&[String]>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> fieldcheck_core::Result<Self>
    where
        Self: Sized;
    /// The CLI's document of the report (CSV or JSON, byte for byte).
    fn document(&self, format: DocumentFormat) -> fieldcheck_core::Result<Vec<u8>>;
}

impl TeamReport for AttendanceReport {
    fn build(
        store: &fieldcheck_core::Store,
        actor: &fieldcheck_core::Actor,
        query: &ReportQuery,
        team: Option<&[String]>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> fieldcheck_core::Result<Self> {
        store.attendance_report_of(actor, query, team, now)
    }
    fn document(&self, format: DocumentFormat) -> fieldcheck_core::Result<Vec<u8>> {
        attendance_document(self, format)
    }
}

impl TeamReport for SalesReport {
    fn build(
        store: &fieldcheck_core::Store,
        actor: &fieldcheck_core::Actor,
        query: &ReportQuery,
        team: Option<&[String]>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> fieldcheck_core::Result<Self> {
        store.sales_report_of(actor, query, team, now)
    }
    fn document(&self, format: DocumentFormat) -> fieldcheck_core::Result<Vec<u8>> {
        sales_document(self, format)
    }
}

async fn team_report<R: TeamReport>(
    state: &AppState,
    session: &Session,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<R, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let query = ReportQuery {
        from,
        to,
        agent: None,
    };
    let now = state.now();
    let team = session.team().map(<[String]>::to_vec);
    let report =
        match blocking(move || R::build(&store, &actor, &query, team.as_deref(), now)).await? {
            Ok(r) => r,
            Err(Error::InvalidInput { .. }) => {
                return Err(session.message(
                    StatusCode::BAD_REQUEST,
                    session.t().bad_period,
                    session.t().period_help,
                ));
            }
            Err(e) => return Err(internal(&e)),
        };
    Ok(report)
}

/// The period asked for, by default the last seven days.
fn period(q: &PeriodQuery, now: chrono::DateTime<chrono::Utc>) -> Option<(NaiveDate, NaiveDate)> {
    let today = pages::today(now);
    Some((
        parse_date(q.from.as_deref(), today - Duration::days(6))?,
        parse_date(q.to.as_deref(), today)?,
    ))
}

pub(super) async fn reports(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let Some((from, to)) = period(&q, state.now()) else {
        return bad_dates(&session);
    };
    let attendance = match team_report::<AttendanceReport>(&state, &session, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sales = match team_report::<SalesReport>(&state, &session, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let names = match names(&state, &session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    session.page(
        StatusCode::OK,
        render(&session, from, to, &attendance, &sales, &names),
    )
}

fn render(
    session: &Session,
    from: NaiveDate,
    to: NaiveDate,
    attendance: &AttendanceReport,
    sales: &SalesReport,
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    let t = session.t();
    let period = format!("from={from}&to={to}");
    let attendance_columns = [t.date, t.agent, t.site, t.in_out, t.status, t.decision];
    let sales_columns = [t.agent, t.leads, t.conversion, t.closings, t.premium];
    let downloads = |kind: &str| {
        html! {
            p.actions {
                a href=(format!("/reports/{kind}/csv?{period}")) download { (t.download_csv) }
                a href=(format!("/reports/{kind}/json?{period}")) download { (t.download_json) }
                a href=(format!("/reports/{kind}/xlsx?{period}")) download { (t.download_xlsx) }
            }
        }
    };
    let body = html! {
        h1 { (t.reports) }
        form.filters method="get" action="/reports" {
            div { label for="r-from" { (t.from) } input #r-from name="from" type="date" value=(from); }
            div { label for="r-to" { (t.to) } input #r-to name="to" type="date" value=(to); }
            div { button type="submit" { (t.show) } }
        }
        h2 { (t.attendance) }
        (downloads("attendance"))
        p.muted { (t.report_times_help) }
        (cards_table(t, "attendance", &attendance_columns, None, html! {
            @for day in &attendance.days {
                tr {
                    td { a href=(day_href(&day.agent, day.date)) { (t.date(day.date)) } }
                    td { (agent_label(&day.agent, Some(&day.name).filter(|n| !n.is_empty()).map(|n| &**n))) }
                    td { (day.site_id.as_deref().unwrap_or("—")) }
                    td { (clock(day.first_check_in)) " / " (clock(day.last_check_out)) span.sub { (day.time_zone) } }
                    td { (day_badges(t, day)) }
                    td {
                        @match &day.review {
                            Some(r) => { (t.whole_day) ": " (super::pages::decision_badge(t, r.decision)) }
                            None => { (t.no_day_decision_short) }
                        }
                        @let (approved, rejected) = day.event_decisions();
                        @if approved + rejected > 0 {
                            span.sub { ((t.event_decisions)(approved, rejected)) }
                        }
                    }
                }
            }
        }))
        h2 { (t.sales) }
        (downloads("sales"))
        (cards_table(t, "sales", &sales_columns, None, html! {
            @for row in &sales.agents {
                tr {
                    td { (agent_label(&row.agent, names.get(&row.agent).map(String::as_str))) }
                    td { (row.leads_total) }
                    td { (row.conversion_rate.map_or("—".to_string(), |r| t.percent(r))) }
                    td { (row.closings) }
                    td { @for (currency, amount) in &row.premium { (t.decimal(amount)) " " (currency) br; } }
                }
            }
        }))
    };
    placed(t, t.reports, Place::Reports, Some(session.chrome()), body)
}

/// The team's report as the file asked for: the CLI's CSV or JSON, or
/// XLSX with the CSV's rows (built on the blocking pool).
async fn download<R: TeamReport + Table>(
    state: &AppState,
    session: &Session,
    (from, to): (NaiveDate, NaiveDate),
    format: &str,
    sheet: &'static str,
) -> Result<fieldcheck_core::Result<Vec<u8>>, Response> {
    let report = team_report::<R>(state, session, from, to).await?;
    Ok(match format {
        "csv" => report.document(DocumentFormat::Csv),
        "json" => report.document(DocumentFormat::Json),
        _ => blocking(move || xlsx::workbook(&report, sheet))
            .await
            .unwrap_or_else(|_| Err(Error::Corrupt("the blocking pool failed".into()))),
    })
}

/// The same documents the CLI writes (`report attendance|sales --format
/// csv|json`), narrowed to the user's team, and XLSX with the CSV's rows.
pub(super) async fn report_download(
    State(state): State<AppState>,
    Posting(session): Posting,
    _headers: HeaderMap,
    Path((kind, format)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let content_type = match format.as_str() {
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => return session.not_found(),
    };
    let Some((from, to)) = period(&q, state.now()) else {
        return bad_dates(&session);
    };
    let bytes = match kind.as_str() {
        "attendance" => {
            download::<AttendanceReport>(&state, &session, (from, to), &format, "attendance").await
        }
        "sales" => download::<SalesReport>(&state, &session, (from, to), &format, "sales").await,
        _ => return session.not_found(),
    };
    let bytes = match bytes {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return internal(&e),
        Err(refused) => return refused,
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{kind}-{from}-{to}.{format}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    secure_headers(headers);
    response
        .extensions_mut()
        .insert(LoggedUser(session.user.id));
    response
}
