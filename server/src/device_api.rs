//! The device API (PRODUCT.md §12.2): enrolment, signed batches, review
//! decisions. Every store call runs on the blocking pool, never on the
//! async workers; the store's single writer queues concurrent uploads.

// Helpers here return axum's `Response` as their error, as extractors do;
// boxing it would only add an allocation to the refusal paths.
#![allow(clippy::result_large_err)]

use std::num::NonZeroU32;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fieldcheck_core::device::DeviceCredential;
use fieldcheck_core::time::format_rfc3339;
use fieldcheck_core::wire::{
    BatchAnswer, ConfigAnswer, DECISIONS_PAGE, DecisionsAnswer, EnrolAnswer, EnrolRequest, Problem,
    ProblemType, SIGNATURE_HEADER,
};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use crate::AppState;
use crate::problem::{ProblemResponse, internal};
use crate::request_log::LoggedDevice;

/// Requests a device may make per minute (PRODUCT.md §12.3).
pub const DEVICE_REQUESTS_PER_MINUTE: u32 = 120;

pub type DeviceLimiter = DefaultKeyedRateLimiter<String>;

pub fn new_limiter() -> DeviceLimiter {
    RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(DEVICE_REQUESTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
    ))
}

/// Runs a store call on the blocking pool. A panic inside becomes a 500
/// for this request only.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> fieldcheck_core::Result<T> + Send + 'static,
) -> Result<fieldcheck_core::Result<T>, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(&e))
}

fn read_body(
    body: Result<Bytes, BytesRejection>,
    malformed: ProblemType,
) -> Result<Bytes, Response> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ProblemResponse::new(
                ProblemType::TooLarge,
                "the body is larger than this server takes",
            )
            .into_response()
        } else {
            ProblemResponse::new(malformed, rejection.body_text()).into_response()
        }
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn with_device(mut response: Response, device_id: &str) -> Response {
    response
        .extensions_mut()
        .insert(LoggedDevice(device_id.to_string()));
    response
}

/// The device behind the request's token, counted against its rate.
async fn device_of(state: &AppState, headers: &HeaderMap) -> Result<DeviceCredential, Response> {
    let token = bearer(headers);
    let store = state.store.clone();
    let device = blocking(move || store.authorised_device(token.as_deref()))
        .await?
        .map_err(|e| ProblemResponse::from_error(&e, ProblemType::MalformedRequest))?;
    if let Err(not_until) = state.limiter.check_key(&device.device_id) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut refusal = ProblemResponse::new(
            ProblemType::RateLimited,
            format!("more than {DEVICE_REQUESTS_PER_MINUTE} requests a minute"),
        );
        refusal.retry_after_s = Some(wait.as_secs() + 1);
        return Err(with_device(refusal.into_response(), &device.device_id));
    }
    Ok(device)
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The store is open", body = String)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match blocking(move || store.device_id()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => internal(&e),
        Err(r) => r,
    }
}

#[utoipa::path(post, path = "/api/v1/devices/enrol", tag = "devices",
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled", body = EnrolAnswer),
        (status = 400, description = "malformed-request or bad-code", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "revoked-device", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "too-large", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match read_body(body, ProblemType::MalformedRequest) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: EnrolRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ProblemResponse::new(ProblemType::MalformedRequest, e.to_string())
                .into_response();
        }
    };
    let device_id = request.device_id.clone();
    let store = state.store.clone();
    let now = state.now();
    let response = match blocking(move || store.enrol_device(&request, now)).await {
        Ok(Ok((device_token, agent))) => Json(EnrolAnswer {
            device_token,
            agent,
            server_time: format_rfc3339(state.now()),
        })
        .into_response(),
        Ok(Err(e)) => ProblemResponse::from_error(&e, ProblemType::MalformedRequest),
        Err(r) => r,
    };
    with_device(response, &device_id)
}

#[utoipa::path(post, path = "/api/v1/sync/batches", tag = "sync",
    request_body(content = fieldcheck_core::SyncBatch, description = "The batch JSON of `sync pending`; the signature covers these exact bytes"),
    params(("Fieldcheck-Signature" = String, Header, description = "Base64 of the DER ECDSA P-256 SHA-256 signature over the body")),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Committed (or a replay, counted in duplicates)", body = BatchAnswer),
        (status = 400, description = "malformed-batch", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "unknown-device or bad-signature", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "device-mismatch, revoked-device or agent-mismatch (an event this device may not send: about another agent, or a supervisor's or admin's act)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sequence-gap (with expected_from_seq) or chain-fork", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "too-large", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate-limited, with Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let device = match device_of(&state, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let device_id = device.device_id.clone();
    let body = match read_body(body, ProblemType::MalformedBatch) {
        Ok(b) => b,
        Err(r) => return with_device(r, &device_id),
    };
    let token = bearer(&headers);
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let store = state.store.clone();
    let now = state.now();
    let result = blocking(move || {
        store.receive_batch_of(device, token.as_deref(), signature.as_deref(), &body, now)
    })
    .await;
    let response = match result {
        Ok(Ok(received)) => {
            state.metrics.batches_imported.inc();
            state
                .metrics
                .events_imported
                .inc_by(received.report.imported);
            Json(BatchAnswer {
                device_id: received.device_id,
                accepted_to_seq: received.accepted_to_seq,
                imported: received.report.imported,
                duplicates: received.report.skipped_replayed,
                retained_dropped: (received.version >= 2)
                    .then_some(received.report.retained_dropped),
                server_time: format_rfc3339(state.now()),
            })
            .into_response()
        }
        Ok(Err(e)) => ProblemResponse::from_error(&e, ProblemType::MalformedBatch),
        Err(r) => r,
    };
    with_device(response, &device_id)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DecisionsQuery {
    /// The cursor of an earlier answer; omitted: from the beginning.
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sync/decisions", tag = "sync",
    params(DecisionsQuery),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Decisions about the device's agent after the cursor, oldest first", body = DecisionsAnswer),
        (status = 400, description = "malformed-request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "unknown-device", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "revoked-device", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate-limited, with Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decisions(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DecisionsQuery>, QueryRejection>,
) -> Response {
    let after = query.map(|Query(q)| q.after);
    device_get(&state, &headers, after, move |store, agent, after, now| {
        let (decisions, cursor) = store.decisions_after(agent, after, DECISIONS_PAGE)?;
        Ok(Json(DecisionsAnswer {
            decisions,
            cursor,
            server_time: format_rfc3339(now),
        }))
    })
    .await
}

/// A device's `GET …?after=CURSOR`: the token (and its rate), the query,
/// then `answer` with the device's agent on the blocking pool.
async fn device_get<T: IntoResponse + Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    after: Result<Option<String>, QueryRejection>,
    answer: impl FnOnce(
        &fieldcheck_core::Store,
        &str,
        Option<&str>,
        chrono::DateTime<Utc>,
    ) -> fieldcheck_core::Result<T>
    + Send
    + 'static,
) -> Response {
    let device_id = match device_of(state, headers).await {
        Ok(d) => d.device_id,
        Err(r) => return r,
    };
    let after = match after {
        Ok(after) => after,
        Err(e) => {
            return with_device(
                ProblemResponse::new(ProblemType::MalformedRequest, e.body_text()).into_response(),
                &device_id,
            );
        }
    };
    let token = bearer(headers);
    let store = state.store.clone();
    let now = state.now();
    let result = blocking(move || {
        let device = store.authorised_device(token.as_deref())?;
        answer(&store, &device.agent, after.as_deref(), now)
    })
    .await;
    let response = match result {
        Ok(Ok(answer)) => answer.into_response(),
        Ok(Err(e)) => ProblemResponse::from_error(&e, ProblemType::MalformedRequest),
        Err(r) => r,
    };
    with_device(response, &device_id)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConfigQuery {
    /// The cursor of an earlier answer; omitted (or one this server never
    /// gave): a snapshot from the start of both feeds.
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sync/config", tag = "sync",
    params(ConfigQuery),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "The configuration feeds (global and the device's agent's) after the cursor, in commit order, or a snapshot", body = ConfigAnswer),
        (status = 400, description = "malformed-request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "unknown-device", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "revoked-device", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate-limited, with Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn config(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ConfigQuery>, QueryRejection>,
) -> Response {
    let after = query.map(|Query(q)| q.after);
    device_get(&state, &headers, after, |store, agent, after, now| {
        store.config_for_device(agent, after, now).map(Json)
    })
    .await
}

/// Unknown paths: a problem document, like every other refusal.
pub async fn not_found() -> Response {
    crate::problem::json_problem(
        StatusCode::NOT_FOUND,
        &Problem {
            problem_type: "about:blank".into(),
            title: "Not found".into(),
            status: 404,
            detail: None,
            expected_from_seq: None,
            server_time: Some(format_rfc3339(Utc::now())),
        },
    )
}
