//! Serving before the store is ready (PRODUCT.md §12.5): the server listens
//! at once, and until its store is open with a schema this build knows,
//! every request (the health check included) is answered 503 with the
//! reason, while the server keeps trying by itself. Once the store is
//! ready the whole application answers.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcheck_core::time::format_rfc3339;
use fieldcheck_core::wire::Problem;
use tower::ServiceExt;

use crate::problem::json_problem;

/// Seconds a client is told to wait before asking again.
pub const RETRY_AFTER_S: u64 = 2;

/// The application once the store is ready, and until then why it is not.
#[derive(Default)]
pub struct Gate {
    app: OnceLock<Router>,
    reason: Mutex<String>,
}

impl Gate {
    pub fn new(reason: impl Into<String>) -> Arc<Gate> {
        Arc::new(Gate {
            app: OnceLock::new(),
            reason: Mutex::new(reason.into()),
        })
    }

    /// Why the store is not ready yet (shown to clients, logged).
    pub fn waiting(&self, reason: impl Into<String>) {
        if let Ok(mut slot) = self.reason.lock() {
            *slot = reason.into();
        }
    }

    /// From now on every request goes to `app`.
    pub fn open(&self, app: Router) {
        let _ = self.app.set(app);
    }

    pub fn is_open(&self) -> bool {
        self.app.get().is_some()
    }

    /// The router to serve: the application once open, 503 before.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().fallback(pass).with_state(self.clone())
    }
}

async fn pass(State(gate): State<Arc<Gate>>, request: Request) -> Response {
    match gate.app.get() {
        Some(app) => match app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => {
            // Logged like every request (`request_log`), routes unmatched:
            // no router has looked at the path yet.
            let mut line = serde_json::Map::new();
            line.insert("route".into(), "unmatched".into());
            line.insert("status".into(), 503.into());
            line.insert("latency_ms".into(), 0.into());
            crate::json_log::emit(log::Level::Warn, line);
            let reason = gate.reason.lock().map(|r| r.clone()).unwrap_or_default();
            let problem = Problem {
                problem_type: "about:blank".into(),
                title: "Service unavailable".into(),
                status: 503,
                detail: Some(reason),
                expected_from_seq: None,
                server_time: Some(format_rfc3339(chrono::Utc::now())),
            };
            let mut response = json_problem(StatusCode::SERVICE_UNAVAILABLE, &problem);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
            response.into_response()
        }
    }
}
