//! People (admins; PRODUCT.md §12.4): console users (add, disable, enable
//! again, reset a password; never the last enabled admin) and enrolment
//! codes, each shown once with a QR code of its `fieldcheck://enrol` link
//! (the server's address from `--public-url`), on a page no cache keeps.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fieldcheck_core::console_user::hash_password;
use fieldcheck_core::device::DEFAULT_CODE_VALID_MIN;
use fieldcheck_core::enrol_link::EnrolLink;
use fieldcheck_core::{ConsoleUser, EnrolmentCode, Error, UserRole};
use maud::{Markup, PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;

use super::pages::{Place, agent_label, cards_table, placed};
use super::{Session, Viewing, blocking, names, same_secret, signed_in, store_call};
use crate::AppState;
use crate::problem::internal;

fn fields(body: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The admin's checked form, or the answer refusing it.
async fn admin_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Session, Vec<(String, String)>), Response> {
    let session = signed_in(state, headers).await?;
    let fields = fields(body);
    if !same_secret(field(&fields, "csrf_token"), &session.csrf()) {
        return Err(session.refused(session.t().stale_form));
    }
    if !session.is_admin() {
        return Err(session.refused(session.t().admin_people));
    }
    Ok((session, fields))
}

pub(super) async fn page(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    _headers: HeaderMap,
) -> Response {
    if !session.is_admin() {
        return session.not_found();
    }
    people_page(&state, &session, StatusCode::OK, None).await
}

async fn people_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let store = state.store.clone();
    let actor = session.actor();
    let users = match store_call(move || store.users(&actor)).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    session.page(status, render(session, &users, error))
}

fn render(session: &Session, users: &[ConsoleUser], error: Option<&str>) -> Markup {
    let t = session.t();
    let csrf = session.csrf();
    let columns = [t.user, t.role, t.team, t.status, t.actions];
    let body = html! {
        h1 { (t.people) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        h2 { (t.console_users) }
        (cards_table(t, "users", &columns, Some(t.console_users), html! {
            @for u in users {
                tr {
                    td { (u.id) }
                    td { ((t.words.role)(u.role)) }
                    td {
                        @if u.role == UserRole::Admin { (t.everyone) }
                        @else if u.team.is_empty() { "—" }
                        @else { (u.team.join(", ")) }
                    }
                    td {
                        @if u.disabled { span.badge.bad { (t.disabled) } } @else { span.badge.ok { (t.enabled) } }
                    }
                    td {
                        form method="post" action=(format!("/people/users/{}/{}", super::pages::encode(&u.id), if u.disabled { "enable" } else { "disable" })) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            @if u.disabled {
                                button.secondary type="submit" aria-label=((t.enable_user)(&u.id)) { (t.enable) }
                            } @else {
                                button.reject type="submit" aria-label=((t.disable_user)(&u.id)) { (t.disable) }
                            }
                        }
                        details {
                            summary { (t.reset_password) }
                            form method="post" action=(format!("/people/users/{}/password", super::pages::encode(&u.id))) {
                                input type="hidden" name="csrf_token" value=(csrf);
                                label for=(format!("pw-{}", u.id)) { ((t.new_password_of)(&u.id)) }
                                input id=(format!("pw-{}", u.id)) name="password" type="password" autocomplete="new-password" required minlength="12";
                                div.actions { button.secondary type="submit" { (t.set_password) } }
                            }
                        }
                    }
                }
            }
        }))
        form.review-form method="post" action="/people/users" aria-labelledby="add-user" {
            h3 #add-user { (t.add_user) }
            input type="hidden" name="csrf_token" value=(csrf);
            label for="u-id" { (t.user) }
            input #u-id name="id" required autocomplete="off";
            label for="u-role" { (t.role) }
            select #u-role name="role" {
                option value="supervisor" { ((t.words.role)(UserRole::Supervisor)) }
                option value="admin" { ((t.words.role)(UserRole::Admin)) }
            }
            label for="u-team" { (t.team_ids) }
            input #u-team name="team" autocomplete="off";
            label for="u-password" { (t.password) }
            input #u-password name="password" type="password" autocomplete="new-password" required minlength="12";
            div.actions { button type="submit" { (t.add_user) } }
        }
        h2 { (t.enrolment_codes) }
        p.muted { (t.codes_help) }
        form.review-form method="post" action="/people/codes" aria-labelledby="mint-code" {
            h3 #mint-code { (t.mint_code) }
            input type="hidden" name="csrf_token" value=(csrf);
            label for="c-agent" { (t.agent) }
            input #c-agent name="agent" required autocomplete="off";
            label for="c-valid" { (t.valid_minutes) }
            input #c-valid name="valid_min" type="number" min="1" max="10080" value=(DEFAULT_CODE_VALID_MIN);
            div.actions { button type="submit" { (t.mint_code) } }
        }
    };
    placed(t, t.people, Place::People, Some(session.chrome()), body)
}

/// People again, saying why a change was refused (bad input), or the
/// error's own answer.
async fn refused(state: &AppState, session: &Session, error: Error) -> Response {
    match error {
        Error::InvalidInput { field, reason } => {
            let why = if reason.contains("last enabled admin") {
                session.t().last_admin.to_string()
            } else {
                format!("{field}: {reason}")
            };
            people_page(state, session, StatusCode::BAD_REQUEST, Some(&why)).await
        }
        Error::NotFound(_) => session.not_found(),
        e => internal(&e),
    }
}

pub(super) async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (session, fields) = match admin_form(&state, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = field(&fields, "id").trim().to_string();
    let role = match field(&fields, "role") {
        "admin" => UserRole::Admin,
        _ => UserRole::Supervisor,
    };
    let team: Vec<String> = field(&fields, "team")
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let password = field(&fields, "password").to_string();
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let added = blocking(move || {
        // Argon2id is slow on purpose: here, off the async workers.
        let hash = hash_password(&password)?;
        store.add_user(&actor, &id, role, &team, &hash, now)
    })
    .await;
    match added {
        Ok(Ok(user)) => {
            session
                .confirm(&state, (session.t().user_added)(&user.id))
                .await;
            session.redirect("/people")
        }
        Ok(Err(e)) => refused(&state, &session, e).await,
        Err(r) => r,
    }
}

pub(super) async fn user_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (session, fields) = match admin_form(&state, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let user = id.clone();
    let t = session.t();
    let (result, done) = match action.as_str() {
        "disable" => (
            blocking(move || store.disable_user(&actor, &user, now)).await,
            (t.user_disabled)(&id),
        ),
        "enable" => (
            blocking(move || store.enable_user(&actor, &user)).await,
            (t.user_enabled)(&id),
        ),
        "password" => {
            let password = field(&fields, "password").to_string();
            (
                blocking(move || {
                    let hash = hash_password(&password)?;
                    store.set_user_password(&actor, &user, &hash)
                })
                .await,
                (t.password_set)(&id),
            )
        }
        _ => return session.not_found(),
    };
    match result {
        Ok(Ok(())) => {
            session.confirm(&state, done).await;
            session.redirect("/people")
        }
        Ok(Err(e)) => refused(&state, &session, e).await,
        Err(r) => r,
    }
}

/// Mints a code and shows it once, with its link and QR code. No redirect:
/// the code is in this answer only (and the page, like every console page,
/// is `Cache-Control: no-store`).
pub(super) async fn mint_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (session, fields) = match admin_form(&state, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let agent = field(&fields, "agent").trim().to_string();
    let valid_min: i64 = match field(&fields, "valid_min").trim() {
        "" => DEFAULT_CODE_VALID_MIN,
        text => match text.parse() {
            Ok(n) => n,
            Err(_) => {
                let why = format!("{}: {text}", session.t().valid_minutes);
                return people_page(&state, &session, StatusCode::BAD_REQUEST, Some(&why)).await;
            }
        },
    };
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let agent_id = agent.clone();
    let minted =
        blocking(move || store.create_enrolment_code(&actor, &agent_id, valid_min, now)).await;
    let code = match minted {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => return refused(&state, &session, e).await,
        Err(r) => return r,
    };
    let names = match names(&state, &session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let link = EnrolLink {
        server: state.public_url.clone(),
        code: code.code.clone(),
    }
    .to_link();
    session.page(
        StatusCode::OK,
        code_page(
            &session,
            &code,
            names.get(&agent).map(String::as_str),
            &link,
        ),
    )
}

/// The link as a QR code in inline SVG (no image request, no script).
fn qr_svg(link: &str) -> Option<String> {
    let code = QrCode::new(link.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

fn code_page(session: &Session, code: &EnrolmentCode, name: Option<&str>, link: &str) -> Markup {
    let t = session.t();
    let svg = qr_svg(link);
    let body = html! {
        h1 { (t.enrolment_code) }
        p { ((t.code_for)) " " strong { (agent_label(&code.agent, name)) } }
        p.code aria-label=(t.enrolment_code) { (code.code) }
        p { ((t.code_expires)(&code.expires_at.format("%Y-%m-%d %H:%M UTC").to_string())) }
        p.notice role="status" { (t.shown_once) }
        @if let Some(svg) = svg {
            figure.qr role="img" aria-label=(t.qr_label) {
                // The SVG is built by the qrcode crate from the link's
                // modules alone: no user text reaches it unescaped.
                (PreEscaped(svg))
            }
        }
        p { (t.link_label) }
        p { code { (link) } }
        p { a href="/people" { (t.back_to_people) } }
    };
    placed(
        t,
        t.enrolment_code,
        Place::People,
        Some(session.chrome()),
        body,
    )
}
