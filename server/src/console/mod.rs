//! The supervisor console (PRODUCT.md §12.4): server-rendered pages that
//! work without JavaScript. Sign-in opens a server-side session (cookie
//! `HttpOnly; SameSite=Strict`, `Secure` under TLS); every state-changing
//! form carries `csrf_token`, derived from the session's token so it is
//! bound to the session and needs no storage; a supervisor sees only the
//! agents of their team, and anything else answers 404.

mod auth;
pub mod i18n;
mod manage;
pub mod pages;
pub mod queue;
mod reports;
mod review;
pub mod throttle;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use fieldcheck_core::{Actor, ConsoleUser, UserRole};
use maud::Markup;
use sha2::{Digest, Sha256};

use self::i18n::{LANG_COOKIE, Lang, Text};
use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

const COOKIE: &str = "fieldcheck_session";
/// A working day and then some; signing in again costs one password.
const SESSION_HOURS: i64 = 12;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(review::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/agents/{agent}/days/{date}", get(review::agent_day))
        .route("/agents/{agent}/days/{date}/review", post(review::review))
        .route(
            "/agents/{agent}/days/{date}/location",
            post(review::show_location),
        )
        .route("/reviews/bulk", post(review::bulk_review))
        .route("/reports", get(reports::reports))
        .route("/reports/{kind}/{format}", get(reports::report_download))
        .route("/language/{code}", get(choose_language))
        .merge(manage::routes())
}

/// A signed-in request.
pub(super) struct Session {
    pub(super) user: ConsoleUser,
    token: String,
    lang: Lang,
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

    /// The words of the language this request is answered in.
    pub(super) fn t(&self) -> &'static Text {
        self.lang.text()
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
                self.t(),
                Some((&self.user, &self.csrf())),
                self.t().not_found,
                self.t().nothing_here,
            ),
        )
    }

    pub(super) fn refused(&self, text: &str) -> Response {
        self.page(
            StatusCode::FORBIDDEN,
            pages::message(
                self.t(),
                Some((&self.user, &self.csrf())),
                self.t().refused,
                text,
            ),
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
    cookie_value(headers, COOKIE)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
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
    let now = state.now();
    match blocking(move || store.session_user(&lookup, now)).await? {
        Ok(Some(user)) => Ok(Some(Session {
            user,
            token,
            lang: Lang::negotiate(headers),
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(internal(&e)),
    }
}

/// The signed-in session, or the answer that sends the visitor to sign in.
pub(super) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    match session(state, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(to_sign_in()),
        Err(r) => Err(r),
    }
}

/// A store call on the blocking pool; a failure is the 500 answer.
pub(super) async fn store_call<T: Send + 'static>(
    f: impl FnOnce() -> fieldcheck_core::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match blocking(f).await? {
        Ok(value) => Ok(value),
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

/// A form's or query's date: `default` when empty, `None` when not
/// YYYY-MM-DD.
fn parse_date(text: Option<&str>, default: NaiveDate) -> Option<NaiveDate> {
    match text.map(str::trim) {
        None | Some("") => Some(default),
        Some(t) => fieldcheck_core::time::parse_date("date", t).ok(),
    }
}

pub(super) fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

pub(super) fn bad_dates(session: &Session) -> Response {
    session.page(
        StatusCode::BAD_REQUEST,
        pages::message(
            session.t(),
            Some((&session.user, &session.csrf())),
            session.t().bad_dates,
            session.t().dates_help,
        ),
    )
}

/// The language switch: remembers the choice for a year (not a secret, so
/// no `HttpOnly`) and goes back to the queue.
async fn choose_language(axum::extract::Path(code): axum::extract::Path<String>) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::En);
    let mut response = see_other("/");
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.code()
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The sign-in form in the visitor's language.
pub(super) fn sign_in_form(
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&dyn Fn(&Text) -> String>,
    user: &str,
) -> Response {
    let t = Lang::negotiate(headers).text();
    let error = error.map(|e| e(t));
    html(status, pages::sign_in(t, error.as_deref(), user), None)
}
