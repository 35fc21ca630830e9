//! Signing in and out (PRODUCT.md §12.4): the Argon2id check on the
//! blocking pool (the store counts failed attempts), the session cookie.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Duration;
use fieldcheck_core::SignIn;
use serde::Deserialize;

use super::i18n::Text;
use super::{
    Posting, SESSION_HOURS, blocking, cookie, same_secret, see_other, session, sign_in_form,
    sign_in_token_matches,
};
use crate::AppState;
use crate::problem::internal;
use crate::request_log::LoggedUser;

#[derive(Deserialize)]
pub(super) struct SignInForm {
    user: String,
    password: String,
    #[serde(default)]
    csrf_token: String,
}

pub(super) async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session(&state, &headers).await {
        Ok(Some(_)) => see_other("/"),
        Ok(None) => sign_in_form(&state, &headers, StatusCode::OK, None, ""),
        Err(r) => r,
    }
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return sign_in_form(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some(&|t: &Text| t.enter_user.to_string()),
            "",
        );
    };
    // No login CSRF: the post must carry the token of this browser's
    // pre-session cookie, which another site can neither read nor send.
    if !sign_in_token_matches(&headers, &form.csrf_token) {
        return sign_in_form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Some(&|t: &Text| t.stale_form.to_string()),
            "",
        );
    }
    let address = connect.map(|Extension(ConnectInfo(addr))| addr.ip());
    let user_id = form.user.trim().to_string();
    let store = state.store.clone();
    let id = user_id.clone();
    let now = state.now();
    let result = blocking(move || {
        store.sign_in(
            &id,
            &form.password,
            address,
            Duration::hours(SESSION_HOURS),
            now,
        )
    })
    .await;
    match result {
        Ok(Ok(SignIn::Started { token, user })) => {
            let mut response = see_other("/");
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&state, &token, SESSION_HOURS * 3600),
            );
            response.extensions_mut().insert(LoggedUser(user.id));
            response
        }
        Ok(Ok(SignIn::Refused)) => sign_in_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some(&|t: &Text| t.wrong_password.to_string()),
            &user_id,
        ),
        Ok(Ok(SignIn::LockedOut { retry_after_s })) => {
            let minutes = retry_after_s.div_ceil(60);
            let mut response = sign_in_form(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&|t: &Text| (t.locked_out)(minutes)),
                &user_id,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s.max(1)));
            response
        }
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    Posting(session): Posting,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfForm {
        csrf_token: String::new(),
    });
    if !same_secret(&form.csrf_token, &session.csrf()) {
        return session.refused(session.t().stale_form);
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
