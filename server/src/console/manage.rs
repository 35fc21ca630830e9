//! The console's management pages (PRODUCT.md §12.4): devices (revoke),
//! audit flags (set, list), sites (import GeoJSON with per-feature errors,
//! list, export) and, for admins, data-subject requests with due and
//! overdue dates. Supervisors see their team's devices and agent flags.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use fieldcheck_core::privacy::{RequestStatus, SubjectKind};
use fieldcheck_core::store::RequestFilter;
use fieldcheck_core::{AuditFlag, Error, FlagPurpose, FlagRequest, FlagScope, UserRole};
use maud::{Markup, html};

use super::i18n::Text;
use super::pages::{Place, agent_label, cards_table, placed};
use super::{Posting, Session, Viewing, blocking, names, same_secret, signed_in, store_call};
use crate::AppState;
use crate::problem::internal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices))
        .route("/devices/revoke", post(revoke))
        .route("/devices/verify", post(verify_now))
        .route("/flags", get(flags).post(set_flag))
        .route("/flags/end", post(end_flag))
        .route("/sites", get(sites).post(import_sites))
        .route("/sites/export", get(export_sites))
        .route("/requests", get(requests))
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The form's fields if its CSRF token is the session's.
fn checked_form(session: &Session, body: &Bytes) -> Option<Vec<(String, String)>> {
    let fields = form_fields(body);
    same_secret(field(&fields, "csrf_token"), &session.csrf()).then_some(fields)
}

fn stale_form(session: &Session) -> Response {
    session.refused(session.t().stale_form)
}

fn notice(text: Option<&str>, error: bool) -> Markup {
    html! {
        @if let Some(t) = text {
            @if error { p.error role="alert" { (t) } } @else { p.notice role="status" { (t) } }
        }
    }
}

// ---------------------------------------------------------------------------
// Devices

fn device_columns(t: &Text) -> [&'static str; 8] {
    [
        t.device,
        t.agent,
        t.platform,
        t.enrolled,
        t.last_sync,
        t.acked_seq,
        t.chain,
        t.status,
    ]
}

async fn devices(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    _headers: HeaderMap,
) -> Response {
    devices_page(&state, &session, StatusCode::OK, None).await
}

async fn devices_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let store = state.store.clone();
    // Devices are listed by the admin's authority, then narrowed to the team.
    let admin = fieldcheck_core::Actor::admin(session.user.id.clone());
    let listed =
        store_call(move || Ok((store.enrolled_devices(&admin)?, store.last_verification()?))).await;
    let (mut list, checked) = match listed {
        Ok(d) => d,
        Err(r) => return r,
    };
    list.retain(|d| session.may_see(&d.agent));
    let names = match names(state, session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let is_admin = session.user.role == UserRole::Admin;
    let csrf = session.csrf();
    let t = session.t();
    let columns = device_columns(t);
    session.page(
        status,
        placed(
            t,
            t.devices,
            Place::Devices,
            Some(session.chrome()),
            html! {
                h1 { (t.devices) }
                (notice(message, status != StatusCode::OK))
                section.verify-status aria-label=(t.chain) {
                    @match &checked {
                        None => p { (t.never_verified) },
                        Some(c) if c.intact => p.notice role="status" {
                            ((t.last_check_intact)(&when(c.checked_at), c.events_checked))
                        },
                        Some(c) => div.error role="alert" {
                            p { ((t.last_check_broken)(&when(c.checked_at))) }
                            @if let Some(problem) = &c.problem { p { code { (problem) } } }
                        },
                    }
                    @if is_admin {
                        form method="post" action="/devices/verify" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { (t.verify_now) }
                        }
                    }
                }
                p.muted { (t.devices_help) }
                @if list.is_empty() {
                    p { (t.no_devices) }
                } @else {
                    (cards_table(t, "devices", &columns, None, html! {
                                @for d in &list {
                                    tr {
                                        td { code { (d.device_id) } }
                                        td { (agent_label(&d.agent, names.get(&d.agent).map(String::as_str))) }
                                        td { ((t.words.platform)(d.platform)) }
                                        td { (when(d.enrolled_at)) }
                                        td { (d.last_sync_at.map_or(t.never.to_string(), when)) }
                                        td { (d.acked_seq) }
                                        td {
                                            @match d.verified_at {
                                                Some(at) if d.verified_seq > 0 => ((t.verified_through)(d.verified_seq, &when(at))),
                                                _ => (t.not_verified_yet),
                                            }
                                        }
                                        td {
                                            @if d.revoked {
                                                span.badge.bad { (t.revoked) }
                                            } @else if is_admin {
                                                form method="post" action="/devices/revoke" {
                                                    input type="hidden" name="csrf_token" value=(csrf);
                                                    input type="hidden" name="device_id" value=(d.device_id);
                                                    button.reject type="submit" aria-label=((t.revoke_device)(&d.device_id)) { (t.revoke) }
                                                }
                                            } @else {
                                                span.badge.ok { (t.active) }
                                            }
                                        }
                                    }
                                }
                            }))
                }
            },
        ),
    )
}

async fn revoke(State(state): State<AppState>, Posting(session): Posting, body: Bytes) -> Response {
    let Some(fields) = checked_form(&session, &body) else {
        return stale_form(&session);
    };
    if session.user.role != UserRole::Admin {
        return session.refused(session.t().admin_revokes);
    }
    let device = field(&fields, "device_id").to_string();
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    match blocking(move || store.revoke_device(&actor, &device, now)).await {
        Ok(Ok(())) => session.redirect("/devices"),
        Ok(Err(Error::NotFound(_))) => session.not_found(),
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

/// `Verify now` (admins): the full check, kept for this page.
async fn verify_now(
    State(state): State<AppState>,
    Posting(session): Posting,
    body: Bytes,
) -> Response {
    if checked_form(&session, &body).is_none() {
        return stale_form(&session);
    }
    if session.user.role != UserRole::Admin {
        return session.refused(session.t().admin_verifies);
    }
    let store = state.store.clone();
    let now = state.now();
    match blocking(move || store.verify_and_record(now)).await {
        Ok(Ok(_)) => session.redirect("/devices"),
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------
// Audit flags

fn flag_columns(t: &Text) -> [&'static str; 6] {
    [t.purpose, t.scope, t.reason, t.set_by, t.from, t.until]
}

fn flag_visible(session: &Session, flag: &AuditFlag) -> bool {
    match &flag.scope {
        FlagScope::Agent(agent) => session.may_see(agent),
        FlagScope::Site(_) | FlagScope::Everyone => true,
    }
}

async fn flags(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    _headers: HeaderMap,
) -> Response {
    flags_page(&state, &session, StatusCode::OK, None).await
}

async fn flags_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    let mut list = match store_call(move || store.flags(&actor, None, now)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    list.retain(|f| flag_visible(session, f));
    let names = match names(state, session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let now = state.now();
    let csrf = session.csrf();
    let t = session.t();
    let columns = flag_columns(t);
    session.page(
        status,
        placed(
            t,
            t.audit_flags,
            Place::Flags,
            Some(session.chrome()),
            html! {
                h1 { (t.audit_flags) }
                (notice(message, status != StatusCode::OK))
                p.muted { (t.flags_help) }
                @if list.is_empty() {
                    p { (t.no_flags) }
                } @else {
                    (cards_table(t, "flags", &columns, None, html! {
                                @for f in &list {
                                    tr {
                                        td { ((t.words.purpose)(f.purpose)) }
                                        td {
                                            @match &f.scope {
                                                FlagScope::Agent(a) => { (t.agent) ": " (agent_label(a, names.get(a).map(String::as_str))) }
                                                FlagScope::Site(s) => { (t.site) ": " (s) }
                                                FlagScope::Everyone => (t.everyone),
                                            }
                                        }
                                        td { (f.reason.as_deref().unwrap_or(t.erased)) }
                                        td { (f.set_by.id) }
                                        td { (when(f.starts_at)) }
                                        td {
                                            (when(f.effective_end()))
                                            @if f.ended_at.is_some() {
                                                " " span.badge { (t.ended) }
                                            } @else if f.is_active(now) {
                                                form method="post" action="/flags/end" {
                                                    input type="hidden" name="csrf_token" value=(csrf);
                                                    input type="hidden" name="flag_id" value=(f.id);
                                                    button.secondary type="submit" aria-label=((t.end_flag_of)(f.scope.id().unwrap_or(f.scope.kind()))) { (t.end_now) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }))
                }
                h2 { (t.set_a_flag) }
                form.review-form method="post" action="/flags" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label for="flag-agent" { (t.agent) }
                    input #flag-agent name="agent" required;
                    label for="flag-purpose" { (t.purpose) }
                    select #flag-purpose name="purpose" {
                        option value="audit" { "audit" }
                        option value="security" { "security" }
                    }
                    label for="flag-reason" { (t.reason) }
                    textarea #flag-reason name="reason" required {}
                    label for="flag-until" { (t.until_utc) }
                    input #flag-until name="until" type="datetime-local" required;
                    div.actions { button type="submit" { (t.set_flag) } }
                }
            },
        ),
    )
}

async fn set_flag(
    State(state): State<AppState>,
    Posting(session): Posting,
    body: Bytes,
) -> Response {
    let Some(fields) = checked_form(&session, &body) else {
        return stale_form(&session);
    };
    let agent = field(&fields, "agent").trim().to_string();
    if agent.is_empty() || !session.may_see(&agent) {
        return session.not_found();
    }
    let purpose = match field(&fields, "purpose") {
        "security" => FlagPurpose::Security,
        _ => FlagPurpose::Audit,
    };
    // `datetime-local` sends local wall time without a zone: read as UTC,
    // which the page says.
    let until = field(&fields, "until");
    let expires_at = NaiveDateTime::parse_from_str(until, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(until, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| t.and_utc())
        .ok();
    let Some(expires_at) = expires_at else {
        return flags_page(
            &state,
            &session,
            StatusCode::BAD_REQUEST,
            Some(session.t().until_help),
        )
        .await;
    };
    let request = FlagRequest {
        scope: FlagScope::Agent(agent),
        purpose,
        reason: field(&fields, "reason").to_string(),
        expires_at,
    };
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    match blocking(move || store.set_flag(&actor, &request, now)).await {
        Ok(Ok(_)) => session.redirect("/flags"),
        Ok(Err(Error::InvalidInput { field, reason })) => {
            flags_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some(&format!("{field}: {reason}")),
            )
            .await
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

/// "End now": the flag covers no later fix (a chained end; see
/// `Store::end_flag`).
async fn end_flag(
    State(state): State<AppState>,
    Posting(session): Posting,
    body: Bytes,
) -> Response {
    let Some(fields) = checked_form(&session, &body) else {
        return stale_form(&session);
    };
    let flag_id = field(&fields, "flag_id").to_string();
    let store = state.store.clone();
    let actor = session.actor();
    let id = flag_id.clone();
    let now = state.now();
    let listed = match store_call(move || store.flags(&actor, None, now)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !listed
        .iter()
        .any(|f| f.id == id && flag_visible(&session, f))
    {
        return session.not_found();
    }
    let store = state.store.clone();
    let actor = session.actor();
    let now = state.now();
    match blocking(move || store.end_flag(&actor, &flag_id, now)).await {
        Ok(Ok(_)) => session.redirect("/flags"),
        Ok(Err(Error::InvalidInput { field, reason })) => {
            flags_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some(&format!("{field}: {reason}")),
            )
            .await
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------
// Sites

fn site_columns(t: &Text) -> [&'static str; 4] {
    [t.site, t.name, t.fence, t.agents]
}

async fn sites(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    _headers: HeaderMap,
) -> Response {
    sites_page(&state, &session, StatusCode::OK, None, "").await
}

async fn sites_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    message: Option<&str>,
    draft: &str,
) -> Response {
    let store = state.store.clone();
    let list = match store_call(move || store.sites()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = session.csrf();
    let is_admin = session.user.role == UserRole::Admin;
    let t = session.t();
    let columns = site_columns(t);
    session.page(
        status,
        placed(
            t,
            t.sites,
            Place::Sites,
            Some(session.chrome()),
            html! {
                h1 { (t.sites) }
                (notice(message, status != StatusCode::OK))
                p { a href="/sites/export" download { (t.export_geojson) } }
                @if list.is_empty() {
                    p { (t.no_sites) }
                } @else {
                    (cards_table(t, "sites", &columns, None, html! {
                                @for s in &list {
                                    tr {
                                        td { (s.id) }
                                        td { (s.name) }
                                        td {
                                            @match &s.fence {
                                                fieldcheck_core::Fence::Circle { radius_m, .. } => { ((t.circle)(*radius_m)) }
                                                fieldcheck_core::Fence::Polygons(p) => { ((t.polygons)(p.0.len())) }
                                            }
                                        }
                                        td { (if s.agents.is_empty() { t.any_agent.to_string() } else { s.agents.join(", ") }) }
                                    }
                                }
                            }))
                }
                @if is_admin {
                    h2 { (t.import_sites) }
                    form.review-form method="post" action="/sites" enctype="multipart/form-data" {
                        input type="hidden" name="csrf_token" value=(csrf);
                        label for="sites-file" { (t.geojson_file) }
                        input #sites-file name="file" type="file" accept=".geojson,.json,application/geo+json,application/json";
                        label for="geojson" { (t.geojson_label) }
                        textarea #geojson name="geojson" rows="8" { (draft) }
                        div.actions { button type="submit" { (t.import) } }
                    }
                }
            },
        ),
    )
}

/// The import form's fields: a multipart upload (the file, or the pasted
/// text) or, from clients without files, an urlencoded form.
async fn site_form_fields(request: Request, state: &AppState) -> Option<Vec<(String, String)>> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let body = axum::body::to_bytes(request.into_body(), state.max_body_bytes)
            .await
            .ok()?;
        return Some(form_fields(&body));
    }
    let mut parts = Multipart::from_request(request, state).await.ok()?;
    let mut fields = Vec::new();
    while let Some(part) = parts.next_field().await.ok()? {
        let name = part.name().unwrap_or("").to_string();
        let text = part.text().await.ok()?;
        fields.push((name, text));
    }
    Some(fields)
}

async fn import_sites(
    State(state): State<AppState>,
    Posting(session): Posting,
    request: Request,
) -> Response {
    let fields = site_form_fields(request, &state).await.unwrap_or_default();
    if !same_secret(field(&fields, "csrf_token"), &session.csrf()) {
        return stale_form(&session);
    }
    if session.user.role != UserRole::Admin {
        return session.refused(session.t().admin_imports);
    }
    // The chosen file wins over the text box.
    let file = field(&fields, "file");
    let geojson = if file.trim().is_empty() {
        field(&fields, "geojson").to_string()
    } else {
        file.to_string()
    };
    let store = state.store.clone();
    let actor = session.actor();
    let text = geojson.clone();
    let now = state.now();
    match blocking(move || store.import_sites(&actor, &text, now)).await {
        Ok(Ok(summary)) => {
            let message = (session.t().imported)(summary.added, summary.replaced);
            sites_page(&state, &session, StatusCode::OK, Some(&message), "").await
        }
        // The per-feature error of §2, the text kept for correcting.
        Ok(Err(e @ (Error::InvalidGeoJson { .. } | Error::InvalidInput { .. }))) => {
            sites_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some(&format!("{}{e}", session.t().nothing_imported)),
                &geojson,
            )
            .await
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

async fn export_sites(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = signed_in(&state, &headers).await {
        return r;
    }
    let store = state.store.clone();
    match blocking(move || store.export_sites()).await {
        Ok(Ok(text)) => {
            let mut response = (StatusCode::OK, text).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"sites.geojson\""),
            );
            response
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------------------
// Data-subject requests (admins)

fn request_columns(t: &Text) -> [&'static str; 6] {
    [
        t.subject,
        t.kind,
        t.received,
        t.due,
        t.status,
        t.answered_col,
    ]
}

async fn requests(
    State(state): State<AppState>,
    Viewing(session): Viewing,
    _headers: HeaderMap,
) -> Response {
    if session.user.role != UserRole::Admin {
        return session.not_found();
    }
    let store = state.store.clone();
    let actor = session.actor();
    let list = match store_call(move || store.requests(&actor, &RequestFilter::default())).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = state.now();
    let overdue =
        |r: &fieldcheck_core::privacy::Request| r.status == RequestStatus::Open && r.due_at < now;
    let overdue_count = list.iter().filter(|r| overdue(r)).count();
    let due_soon = list
        .iter()
        .filter(|r| {
            r.status == RequestStatus::Open && !overdue(r) && r.due_at < now + Duration::days(7)
        })
        .count();
    let names = match names(&state, &session).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let t = session.t();
    let columns = request_columns(t);
    session.page(
        StatusCode::OK,
        placed(
            t,
            t.requests,
            Place::Requests,
            Some(session.chrome()),
            html! {
                h1 { (t.subject_requests) }
                p { ((t.request_counts)(overdue_count, due_soon, list.len())) }
                @if list.is_empty() {
                    p { (t.no_requests) }
                } @else {
                    (cards_table(t, "requests", &columns, None, html! {
                                @for r in &list {
                                    tr {
                                        td {
                                            @match r.subject.kind {
                                                SubjectKind::Agent => { (t.agent) ": " (agent_label(&r.subject.id, names.get(&r.subject.id).map(String::as_str))) }
                                                SubjectKind::Lead => { (t.lead) ": " (r.subject.id) }
                                            }
                                        }
                                        td { ((t.words.request)(r.kind)) }
                                        td { (when(r.received_at)) }
                                        td { (when(r.due_at)) }
                                        td {
                                            @if overdue(r) { span.badge.bad { (t.overdue) } }
                                            @else if r.status == RequestStatus::Open { span.badge { (t.open) } }
                                            @else { span.badge.ok { (t.answered) } }
                                        }
                                        td { (r.completed_at.map_or("—".to_string(), when)) }
                                    }
                                }
                            }))
                }
            },
        ),
    )
}
