//! The supervisor console (PRODUCT.md §12.4): server-rendered pages that
//! work without JavaScript. Sign-in opens a server-side session (cookie
//! `HttpOnly; SameSite=Strict`, `Secure` under TLS); every state-changing
//! form carries `csrf_token`, derived from the session's token (the
//! sign-in form's from a pre-session cookie), so any instance can check it
//! without storage; confirmations after an action wait with the session in
//! the store; a supervisor sees only the agents of their team, and anything
//! else answers 404.

mod agents;
mod auth;
pub mod i18n;
mod manage;
pub mod pages;
mod people;
mod queue;
mod reports;
mod review;
mod today;
pub mod xlsx;

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
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
        .route("/", get(today::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/queue", get(queue::page))
        .route("/reviews/bulk", post(queue::bulk_review))
        .route("/agents", get(agents::list))
        .route("/agents/{agent}", get(agents::agent))
        .route("/agents/{agent}/name", post(agents::set_name))
        .route("/agents/{agent}/shift", post(agents::set_shift))
        .route("/agents/{agent}/days/{date}", get(review::agent_day))
        .route("/agents/{agent}/days/{date}/review", post(review::review))
        .route(
            "/agents/{agent}/days/{date}/location",
            post(review::show_location),
        )
        .route("/people", get(people::page))
        .route("/people/users", post(people::add_user))
        .route("/people/users/{id}/{action}", post(people::user_action))
        .route("/people/codes", post(people::mint_code))
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
    csrf: String,
    /// The confirmation of the last action, shown on this page (GET pages
    /// take it out of the store; see [`signed_in_page`]).
    notice: Option<String>,
}

/// What every signed-in page wears: the user, the form token, the notice.
pub(super) struct Chrome<'a> {
    pub user: &'a ConsoleUser,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
}

impl Session {
    pub(super) fn csrf(&self) -> String {
        self.csrf.clone()
    }

    pub(super) fn chrome(&self) -> Chrome<'_> {
        Chrome {
            user: &self.user,
            csrf: &self.csrf,
            notice: self.notice.as_deref(),
        }
    }

    /// Keeps a confirmation for the session's next page.
    pub(super) async fn confirm(&self, state: &AppState, text: String) {
        let store = state.store.clone();
        let token = self.token.clone();
        // A lost confirmation is no reason to fail the action it confirms.
        match blocking(move || store.set_session_notice(&token, Some(&text))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::warn!("confirmation not kept: {e}"),
            Err(_) => log::warn!("confirmation not kept: the blocking pool failed"),
        }
    }

    /// The agents this user may see: `None` for admins (everyone), the
    /// team for supervisors.
    pub(super) fn team(&self) -> Option<&[String]> {
        match self.user.role {
            UserRole::Admin => None,
            UserRole::Supervisor => Some(&self.user.team),
        }
    }

    pub(super) fn is_admin(&self) -> bool {
        self.user.role == UserRole::Admin
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

    /// A redirect after this user's action (logged with the user).
    pub(super) fn redirect(&self, location: &str) -> Response {
        let mut response = see_other(location);
        response
            .extensions_mut()
            .insert(LoggedUser(self.user.id.clone()));
        response
    }

    /// A page of one message.
    pub(super) fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.page(
            status,
            pages::message(self.t(), Some(self.chrome()), title, text),
        )
    }

    /// 404 that says no more than an unknown address would.
    pub(super) fn not_found(&self) -> Response {
        self.message(
            StatusCode::NOT_FOUND,
            self.t().not_found,
            self.t().nothing_here,
        )
    }

    pub(super) fn refused(&self, text: &str) -> Response {
        self.message(StatusCode::FORBIDDEN, self.t().refused, text)
    }
}

/// A form token: SHA-256 over a label and a secret cookie's value
/// (unguessable without the cookie, which scripts cannot read and other
/// sites cannot send: `SameSite=Strict`).
fn token_digest(label: &[u8], secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(label);
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

/// The session's CSRF token.
fn csrf_of(token: &str) -> String {
    token_digest(b"fieldcheck-console-csrf\0", token)
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
    match blocking(move || store.session(&lookup, now)).await? {
        Ok(Some((user, notice))) => Ok(Some(Session {
            user,
            csrf: csrf_of(&token),
            token,
            lang: Lang::negotiate(headers),
            notice,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(internal(&e)),
    }
}

/// The signed-in session of a form post (its notice stays for the page the
/// post leads to), or the answer that sends the visitor to sign in.
pub(super) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    match session(state, headers).await {
        Ok(Some(mut s)) => {
            s.notice = None;
            Ok(s)
        }
        Ok(None) => Err(to_sign_in()),
        Err(r) => Err(r),
    }
}

/// The signed-in session of a page: a waiting confirmation is shown on this
/// page and taken out of the store.
pub(super) async fn signed_in_page(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Session, Response> {
    let session = match session(state, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(to_sign_in()),
        Err(r) => return Err(r),
    };
    if session.notice.is_some() {
        let store = state.store.clone();
        let token = session.token.clone();
        if let Ok(Err(e)) = blocking(move || store.set_session_notice(&token, None)).await {
            return Err(internal(&e));
        }
    }
    Ok(session)
}

/// The signed-in session of a form post, as an extractor: the handler
/// runs only for a signed-in user; anyone else is sent to sign in.
pub(super) struct Posting(pub(super) Session);

impl FromRequestParts<AppState> for Posting {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        signed_in(state, &parts.headers).await.map(Posting)
    }
}

/// The signed-in session of a page, as an extractor (see
/// [`signed_in_page`]: a waiting confirmation is shown and taken out).
pub(super) struct Viewing(pub(super) Session);

impl FromRequestParts<AppState> for Viewing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        signed_in_page(state, &parts.headers).await.map(Viewing)
    }
}

/// Display names by agent id, for pages that show agents.
pub(super) async fn names(
    state: &AppState,
    session: &Session,
) -> Result<HashMap<String, String>, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    store_call(move || store.agent_names(&actor)).await
}

/// Display names of `agents`, for a page of rows.
pub(super) async fn names_of(
    state: &AppState,
    session: &Session,
    agents: Vec<String>,
) -> Result<HashMap<String, String>, Response> {
    let store = state.store.clone();
    let actor = session.actor();
    store_call(move || store.agent_names_of(&actor, &agents)).await
}

/// The agents `session` may see now, or `None` for everyone (admins): the
/// team, less restricted agents (PRODUCT.md §8: reports omit them except
/// for admins).
pub(super) async fn visible_agents(
    state: &AppState,
    session: &Session,
) -> Result<Option<Vec<String>>, Response> {
    let Some(team) = session.team() else {
        return Ok(None);
    };
    let store = state.store.clone();
    let actor = session.actor();
    let hidden: HashSet<String> = store_call(move || store.hidden_from(&actor)).await?;
    Ok(Some(
        team.iter()
            .filter(|a| !hidden.contains(*a))
            .cloned()
            .collect(),
    ))
}

/// The agents a filter text finds (PRODUCT.md §12.4: an id exactly or part
/// of a name in any case), among `within` (`None`: everyone), resolved
/// before any query; an empty text is no filter (`within` as given).
pub(super) async fn resolve_agents(
    state: &AppState,
    session: &Session,
    text: Option<&str>,
    within: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, Response> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(within);
    };
    let store = state.store.clone();
    let actor = session.actor();
    let directory = store_call(move || store.agents(&actor)).await?;
    let allowed: Option<HashSet<&String>> = within.as_ref().map(|w| w.iter().collect());
    Ok(Some(
        directory
            .iter()
            .filter(|e| allowed.as_ref().is_none_or(|a| a.contains(&e.agent)))
            .filter(|e| fieldcheck_core::agent_name::matches(text, &e.agent, e.name.as_deref()))
            .map(|e| e.agent.clone())
            .collect(),
    ))
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
    see_other("/sign-in")
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
    session.message(
        StatusCode::BAD_REQUEST,
        session.t().bad_dates,
        session.t().dates_help,
    )
}

/// The language switch: remembers the choice for a year (not a secret, so
/// no `HttpOnly`) and goes back to Today.
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

/// The pre-session cookie the sign-in form's token is derived from (no
/// login CSRF: another site can neither read nor send it).
const PRE_SESSION: &str = "fieldcheck_pre";

/// The sign-in form's token for the pre-session cookie's value.
fn sign_in_token(pre_session: &str) -> String {
    token_digest(b"fieldcheck-sign-in\0", pre_session)
}

/// The pre-session cookie of the request, if well formed.
fn pre_session(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, PRE_SESSION)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The sign-in form in the visitor's language, with its token; a visitor
/// without a pre-session cookie gets one.
pub(super) fn sign_in_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&dyn Fn(&Text) -> String>,
    user: &str,
) -> Response {
    let t = Lang::negotiate(headers).text();
    let error = error.map(|e| e(t));
    let (pre, fresh) = match pre_session(headers) {
        Some(value) => (value.to_string(), false),
        None => {
            let mut bytes = [0u8; 32];
            rand_bytes(&mut bytes);
            (hex::encode(bytes), true)
        }
    };
    let mut response = html(
        status,
        pages::sign_in(t, error.as_deref(), user, &sign_in_token(&pre)),
        None,
    );
    if fresh {
        let secure = if state.tls { "; Secure" } else { "" };
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{PRE_SESSION}={pre}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400{secure}"
        )) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Whether a sign-in post carries the token of its pre-session cookie.
pub(super) fn sign_in_token_matches(headers: &HeaderMap, token: &str) -> bool {
    pre_session(headers).is_some_and(|pre| same_secret(token, &sign_in_token(pre)))
}

/// Random bytes from the operating system's generator.
fn rand_bytes(out: &mut [u8]) {
    use rand::RngCore;
    rand::rng().fill_bytes(out);
}
