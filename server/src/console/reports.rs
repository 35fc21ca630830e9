//! The reports pages and downloads (PRODUCT.md §12.4): the CLI's documents,
//! narrowed to the user's team.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use fieldcheck_core::ReportQuery;
use fieldcheck_core::report::render::{DocumentFormat, attendance_document, sales_document};
use serde::Deserialize;

use super::review::team_attendance;

use super::{Session, bad_dates, blocking, pages, parse_date, secure_headers, signed_in};
use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn team_sales(
    state: &AppState,
    session: &Session,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<fieldcheck_core::report::SalesReport, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let query = ReportQuery {
        from,
        to,
        agent: None,
    };
    let now = state.now();
    let mut report = match blocking(move || store.sales_report(&actor, &query, now)).await? {
        Ok(r) => r,
        Err(e) => return Err(internal(&e)),
    };
    report.retain_agents(|a| session.may_see(a));
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
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some((from, to)) = period(&q, state.now()) else {
        return bad_dates(&session);
    };
    let attendance = match team_attendance(&state, &session, from, to, None).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sales = match team_sales(&state, &session, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    session.page(
        StatusCode::OK,
        pages::reports(
            session.t(),
            &session.user,
            &session.csrf(),
            &pages::ReportsView {
                from,
                to,
                attendance: &attendance,
                sales: &sales,
            },
        ),
    )
}

/// The same documents the CLI writes (`report attendance|sales --format
/// csv|json`), narrowed to the user's team.
pub(super) async fn report_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, format)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (doc_format, content_type) = match format.as_str() {
        "csv" => (DocumentFormat::Csv, "text/csv; charset=utf-8"),
        "json" => (DocumentFormat::Json, "application/json"),
        _ => return session.not_found(),
    };
    let Some((from, to)) = period(&q, state.now()) else {
        return bad_dates(&session);
    };
    let bytes = match kind.as_str() {
        "attendance" => match team_attendance(&state, &session, from, to, None).await {
            Ok(r) => attendance_document(&r, doc_format),
            Err(r) => return r,
        },
        "sales" => match team_sales(&state, &session, from, to).await {
            Ok(r) => sales_document(&r, doc_format),
            Err(r) => return r,
        },
        _ => return session.not_found(),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return internal(&e),
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
