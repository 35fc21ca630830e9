//! The supervisor console (PRODUCT.md §12.4): server-rendered pages that
//! work without JavaScript. Sign-in opens a server-side session (cookie
//! `HttpOnly; SameSite=Strict`, `Secure` under TLS); every state-changing
//! form carries `csrf_token`, derived from the session's token so it is
//! bound to the session and needs no storage; a supervisor sees only the
//! agents of their team, and anything else answers 404.

mod manage;
pub mod pages;
pub mod queue;
pub mod throttle;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate, Utc};
use fieldcheck_core::report::render::{DocumentFormat, attendance_document, sales_document};
use fieldcheck_core::review::Decision;
use fieldcheck_core::shift::day_bounds;
use fieldcheck_core::{Actor, ConsoleUser, Error, EventFilter, ReportQuery, SignIn, UserRole};
use maud::Markup;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

const COOKIE: &str = "fieldcheck_session";
/// A working day and then some; signing in again costs one password.
const SESSION_HOURS: i64 = 12;
/// Periods the console offers by default.
const DEFAULT_QUEUE_DAYS: i64 = 14;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/agents/{agent}/days/{date}", get(agent_day))
        .route("/agents/{agent}/days/{date}/review", post(review))
        .route("/agents/{agent}/days/{date}/location", post(show_location))
        .route("/reviews/bulk", post(bulk_review))
        .route("/reports", get(reports))
        .route("/reports/{kind}/{format}", get(report_download))
        .merge(manage::routes())
}

/// A signed-in request.
pub(super) struct Session {
    pub(super) user: ConsoleUser,
    token: String,
}

impl Session {
    pub(super) fn csrf(&self) -> String {
        csrf_of(&self.token)
    }

    pub(super) fn actor(&self) -> Actor {
        match self.user.role {
            UserRole::Admin => Actor::admin(self.user.id.clone()),
            UserRole::Supervisor => Actor::supervisor(self.user.id.clone()),
        }
    }

    pub(super) fn may_see(&self, agent: &str) -> bool {
        self.user.role == UserRole::Admin || self.user.team.iter().any(|a| a == agent)
    }

    pub(super) fn page(&self, status: StatusCode, markup: Markup) -> Response {
        html(status, markup, Some(&self.user.id))
    }

    /// 404 that says no more than an unknown address would.
    pub(super) fn not_found(&self) -> Response {
        self.page(
            StatusCode::NOT_FOUND,
            pages::message(
                Some((&self.user, &self.csrf())),
                "Not found",
                "There is nothing here you can see.",
            ),
        )
    }

    pub(super) fn refused(&self, text: &str) -> Response {
        self.page(
            StatusCode::FORBIDDEN,
            pages::message(Some((&self.user, &self.csrf())), "Refused", text),
        )
    }
}

/// The session's CSRF token: SHA-256 over a label and the session token
/// (unguessable without the cookie, which scripts cannot read).
fn csrf_of(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"fieldcheck-console-csrf\0");
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compares in time independent of where the strings differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session cookie's value. Parsed by hand: one `name=value` split of
/// the `Cookie` header is all the console needs.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> fieldcheck_core::Result<T> + Send + 'static,
) -> Result<fieldcheck_core::Result<T>, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(&e))
}

pub(super) async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, Response> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    let store = state.store.clone();
    let lookup = token.clone();
    match blocking(move || store.session_user(&lookup, Utc::now())).await? {
        Ok(Some(user)) => Ok(Some(Session { user, token })),
        Ok(None) => Ok(None),
        Err(e) => Err(internal(&e)),
    }
}

pub(super) fn html(status: StatusCode, markup: Markup, user: Option<&str>) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    if let Some(user) = user {
        response
            .extensions_mut()
            .insert(LoggedUser(user.to_string()));
    }
    response
}

/// No script may run, nothing is framed or cached, nothing leaks in a
/// Referer.
fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(response.headers_mut());
    response
}

fn cookie(state: &AppState, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if state.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("fieldcheck_session=; Max-Age=0"))
}

/// Signed-out visitors of a page meet the sign-in form.
pub(super) fn to_sign_in() -> Response {
    see_other("/")
}

// ---------------------------------------------------------------------------
// Sign-in and sign-out

#[derive(Deserialize)]
struct SignInForm {
    user: String,
    password: String,
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session(&state, &headers).await {
        Ok(Some(_)) => see_other("/"),
        Ok(None) => html(StatusCode::OK, pages::sign_in(None, ""), None),
        Err(r) => r,
    }
}

async fn sign_in(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::sign_in(Some("Enter a user and a password."), ""),
            None,
        );
    };
    let address = connect.map(|Extension(ConnectInfo(addr))| addr.ip());
    let user_id = form.user.trim().to_string();
    let wait = state
        .sign_in_throttle
        .lock()
        .map(|mut t| t.locked(&user_id, address, Instant::now()))
        .unwrap_or(None);
    if let Some(wait) = wait {
        let minutes = wait.as_secs().div_ceil(60);
        let mut response = html(
            StatusCode::TOO_MANY_REQUESTS,
            pages::sign_in(
                Some(&format!(
                    "Too many failed sign-ins. Try again in {minutes} minutes."
                )),
                &user_id,
            ),
            None,
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    let store = state.store.clone();
    let id = user_id.clone();
    let result = blocking(move || {
        store.sign_in(
            &id,
            &form.password,
            Duration::hours(SESSION_HOURS),
            Utc::now(),
        )
    })
    .await;
    match result {
        Ok(Ok(SignIn::Started { token, user })) => {
            if let Ok(mut t) = state.sign_in_throttle.lock() {
                t.succeeded(&user.id);
            }
            let mut response = see_other("/");
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&state, &token, SESSION_HOURS * 3600),
            );
            response.extensions_mut().insert(LoggedUser(user.id));
            response
        }
        Ok(Ok(SignIn::Refused)) => {
            if let Ok(mut t) = state.sign_in_throttle.lock() {
                t.failed(&user_id, address, Instant::now());
            }
            html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Wrong user or password."), &user_id),
                None,
            )
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfForm {
        csrf_token: String::new(),
    });
    if !same_secret(&form.csrf_token, &session.csrf()) {
        return session.refused("The form was out of date. Reload the page and try again.");
    }
    let store = state.store.clone();
    let token = session.token.clone();
    match blocking(move || store.end_session(&token)).await {
        Ok(Ok(())) => {
            let mut response = see_other("/");
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&state, "", 0));
            response
                .extensions_mut()
                .insert(LoggedUser(session.user.id));
            response
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------
// The review queue

fn parse_date(text: Option<&str>, default: NaiveDate) -> Option<NaiveDate> {
    match text.map(str::trim) {
        None | Some("") => Some(default),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
    }
}

pub(super) fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<queue::QueueQuery>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return html(StatusCode::OK, pages::sign_in(None, ""), None),
        Err(r) => return r,
    };
    let today = pages::today(Utc::now());
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
        .map(|n| format!("Recorded {n} decision{}.", if n == 1 { "" } else { "s" }));
    let report = match team_attendance(&state, &session, from, to, filter.agent.clone()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let page = queue::build(report, filter);
    session.page(
        StatusCode::OK,
        pages::queue(&session.user, &session.csrf(), &page, notice.as_deref()),
    )
}

/// The attendance report over a period, narrowed to what the user may see
/// (an agent outside their team gives an empty report, not an error).
async fn team_attendance(
    state: &AppState,
    session: &Session,
    from: NaiveDate,
    to: NaiveDate,
    agent: Option<String>,
) -> Result<fieldcheck_core::report::AttendanceReport, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let query = ReportQuery { from, to, agent };
    let mut report =
        match blocking(move || store.attendance_report(&actor, &query, Utc::now())).await? {
            Ok(r) => r,
            Err(Error::InvalidInput { .. }) => {
                return Err(session.page(
                    StatusCode::BAD_REQUEST,
                    pages::message(
                        Some((&session.user, &session.csrf())),
                        "Bad period",
                        "Choose a period of at most a year, the first date not after the last.",
                    ),
                ));
            }
            Err(e) => return Err(internal(&e)),
        };
    report.retain_agents(|a| session.may_see(a));
    Ok(report)
}

// ---------------------------------------------------------------------------
// An agent's day

async fn load_day(
    state: &AppState,
    session: &Session,
    agent: &str,
    date: NaiveDate,
) -> Result<DayData, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    let agent_id = agent.to_string();
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
            Utc::now(),
        )?;
        Ok(DayData {
            zone,
            events,
            reviews,
            location_views,
            summary: report.days.into_iter().next(),
        })
    })
    .await?;
    loaded.map_err(|e| internal(&e))
}

struct DayData {
    zone: chrono_tz::Tz,
    events: Vec<fieldcheck_core::AttendanceEvent>,
    reviews: Vec<fieldcheck_core::review::Review>,
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
            &session.user,
            &session.csrf(),
            &pages::DayView {
                agent,
                date,
                zone: day.zone,
                summary: day.summary.as_ref(),
                events: &day.events,
                reviews: &day.reviews,
                location_views: &day.location_views,
                located,
                error,
            },
        ),
    )
}

async fn agent_day(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
        return session.not_found();
    };
    if !session.may_see(&agent) {
        return session.not_found();
    }
    match load_day(&state, &session, &agent, date).await {
        Ok(day) => render_day(&session, &agent, date, &day, StatusCode::OK, None),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ReviewForm {
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

async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let Ok(form) = serde_urlencoded::from_bytes::<ReviewForm>(&body) else {
        return session.refused("The form was out of date. Reload the page and try again.");
    };
    if !same_secret(&form.csrf_token, &session.csrf()) {
        return session.refused("The form was out of date. Reload the page and try again.");
    }
    let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
        return session.not_found();
    };
    if !session.may_see(&agent) {
        return session.not_found();
    }
    let day = match load_day(&state, &session, &agent, date).await {
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
        return render_day(
            &session,
            &agent,
            date,
            &day,
            StatusCode::BAD_REQUEST,
            Some("Choose Approve or Reject."),
        );
    };
    let note = form.note.trim().to_string();
    if note.is_empty() {
        return render_day(
            &session,
            &agent,
            date,
            &day,
            StatusCode::BAD_REQUEST,
            Some("Write a note for the decision."),
        );
    }
    let store = state.store.clone();
    let actor = session.actor();
    let agent_id = agent.clone();
    let result = blocking(move || match event_id {
        Some(event) => store.review(&actor, &event, decision, &note, Utc::now()),
        None => store.review_day(&actor, &agent_id, date, decision, &note, Utc::now()),
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
        Ok(Err(Error::InvalidInput { field, reason })) => render_day(
            &session,
            &agent,
            date,
            &day,
            StatusCode::BAD_REQUEST,
            Some(&format!("{field}: {reason}")),
        ),
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct LocationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    reason: String,
}

/// "Show location": the coordinates an audit flag kept for one event of the
/// day, shown once on this answer and logged with who asked and why.
async fn show_location(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((agent, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let form = serde_urlencoded::from_bytes::<LocationForm>(&body).ok();
    let Some(form) = form.filter(|f| same_secret(&f.csrf_token, &session.csrf())) else {
        return session.refused("The form was out of date. Reload the page and try again.");
    };
    let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
        return session.not_found();
    };
    if !session.may_see(&agent) {
        return session.not_found();
    }
    let day = match load_day(&state, &session, &agent, date).await {
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
        return render_day(
            &session,
            &agent,
            date,
            &day,
            StatusCode::BAD_REQUEST,
            Some("Say why you need to see the location."),
        );
    }
    let store = state.store.clone();
    let actor = session.actor();
    let event_id = form.event_id.clone();
    let reason = form.reason.clone();
    let shown =
        blocking(move || store.view_retained_location(&actor, &event_id, &reason, Utc::now()))
            .await;
    let location = match shown {
        Ok(Ok(Some(location))) => location,
        Ok(Ok(None)) => return session.not_found(),
        Ok(Err(Error::InvalidInput { field, reason })) => {
            return render_day(
                &session,
                &agent,
                date,
                &day,
                StatusCode::BAD_REQUEST,
                Some(&format!("{field}: {reason}")),
            );
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

async fn bulk_review(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return session.refused("The form was out of date. Reload the page and try again.");
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if !same_secret(field("csrf_token"), &session.csrf()) {
        return session.refused("The form was out of date. Reload the page and try again.");
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
        Some("Select at least one day.")
    } else if note.is_empty() {
        Some("Write a note for the decision.")
    } else {
        None
    };
    if let Some(message) = message {
        return session.page(
            StatusCode::BAD_REQUEST,
            pages::message(
                Some((&session.user, &session.csrf())),
                "Nothing decided",
                message,
            ),
        );
    }
    let store = state.store.clone();
    let actor = session.actor();
    let count = days.len();
    let result = blocking(move || {
        for (agent, date) in &days {
            store.review_day(&actor, agent, *date, decision, &note, Utc::now())?;
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

// ---------------------------------------------------------------------------
// Reports

#[derive(Deserialize, Default)]
struct PeriodQuery {
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
    let mut report = match blocking(move || store.sales_report(&actor, &query, Utc::now())).await? {
        Ok(r) => r,
        Err(e) => return Err(internal(&e)),
    };
    report.retain_agents(|a| session.may_see(a));
    Ok(report)
}

/// The period asked for, by default the last seven days.
fn period(q: &PeriodQuery) -> Option<(NaiveDate, NaiveDate)> {
    let today = pages::today(Utc::now());
    Some((
        parse_date(q.from.as_deref(), today - Duration::days(6))?,
        parse_date(q.to.as_deref(), today)?,
    ))
}

fn bad_dates(session: &Session) -> Response {
    session.page(
        StatusCode::BAD_REQUEST,
        pages::message(
            Some((&session.user, &session.csrf())),
            "Bad dates",
            "Dates are YYYY-MM-DD.",
        ),
    )
}

async fn reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let Some((from, to)) = period(&q) else {
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
async fn report_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, format)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(),
        Err(r) => return r,
    };
    let (doc_format, content_type) = match format.as_str() {
        "csv" => (DocumentFormat::Csv, "text/csv; charset=utf-8"),
        "json" => (DocumentFormat::Json, "application/json"),
        _ => return session.not_found(),
    };
    let Some((from, to)) = period(&q) else {
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
