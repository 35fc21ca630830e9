//! The server as a library: the router the binary serves and the tests
//! drive in-process.

pub mod clock;
pub mod console;
pub mod device_api;
pub mod json_log;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod readiness;
pub mod request_log;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use fieldcheck_core::Store;
use fieldcheck_core::wire::{BATCHES_PATH, CONFIG_PATH, DECISIONS_PATH, ENROL_PATH};
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::clock::ServerClock;
use crate::device_api::DeviceLimiter;
use crate::metrics::Metrics;

/// How long a request may take before it is answered 408 and dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub struct AppConfig {
    pub store: Arc<Store>,
    pub max_body_bytes: usize,
    /// Served over TLS (cookies get `Secure`).
    pub tls: bool,
    pub clock: ServerClock,
    /// The address devices reach the server at (enrolment links).
    pub public_url: String,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<DeviceLimiter>,
    pub max_body_bytes: usize,
    pub tls: bool,
    pub clock: Arc<ServerClock>,
    /// The address devices reach the server at (`--public-url`).
    pub public_url: String,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

pub fn router(config: AppConfig) -> Router {
    let state = AppState {
        store: config.store,
        metrics: Arc::new(Metrics::new()),
        limiter: Arc::new(device_api::new_limiter()),
        max_body_bytes: config.max_body_bytes,
        tls: config.tls,
        clock: Arc::new(config.clock),
        public_url: config.public_url,
    };
    Router::new()
        .route("/healthz", get(device_api::healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route(ENROL_PATH, post(device_api::enrol))
        .route(BATCHES_PATH, post(device_api::receive_batch))
        .route(DECISIONS_PATH, get(device_api::decisions))
        .route(CONFIG_PATH, get(device_api::config))
        .merge(console::routes())
        .fallback(device_api::not_found)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::observe,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}
