//! Serving before the store is ready (PRODUCT.md §12.5): the server listens
//! at once, and until its store is open with a schema this build knows,
//! every request (the health check included) is answered 503 with the
//! reason, while the server keeps trying by itself. Once the store is
//! ready the whole application answers.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use tower::ServiceExt;

pub use crate::problem::RETRY_AFTER_S;

/// The application once the store is ready, and until then why it is not.
/// Why an open gate closes again, asked at every request.
type Closing = Box<dyn Fn() -> Option<String> + Send + Sync>;

#[derive(Default)]
pub struct Gate {
    app: OnceLock<Router>,
    reason: Mutex<String>,
    /// Once open, the gate answers 503 again whenever this gives a
    /// reason: the store's master key was rotated under this instance
    /// (PRODUCT.md §12.5), which must then neither write nor serve.
    closing: OnceLock<Closing>,
}

impl Gate {
    pub fn new(reason: impl Into<String>) -> Arc<Gate> {
        Arc::new(Gate {
            app: OnceLock::new(),
            reason: Mutex::new(reason.into()),
            closing: OnceLock::new(),
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

    /// Once open, answer 503 with `reason`'s text whenever it gives one.
    pub fn close_when(&self, reason: impl Fn() -> Option<String> + Send + Sync + 'static) {
        let _ = self.closing.set(Box::new(reason));
    }

    pub fn is_open(&self) -> bool {
        self.app.get().is_some() && self.closed().is_none()
    }

    fn closed(&self) -> Option<String> {
        self.closing.get().and_then(|reason| reason())
    }

    /// The router to serve: the application once open, 503 before.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().fallback(pass).with_state(self.clone())
    }
}

async fn pass(State(gate): State<Arc<Gate>>, request: Request) -> Response {
    let closed = gate.closed();
    match gate.app.get() {
        Some(app) if closed.is_none() => {
            let response = match app.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // The request that found the store's master key rotated away
            // (its write refused, nothing stored) is answered like every
            // later one.
            match gate.closed() {
                Some(reason) => crate::problem::unavailable(&reason),
                None => response,
            }
        }
        _ => {
            // Logged like every request (`request_log`), routes unmatched:
            // no router has looked at the path yet.
            let mut line = serde_json::Map::new();
            line.insert("route".into(), "unmatched".into());
            line.insert("status".into(), 503.into());
            line.insert("latency_ms".into(), 0.into());
            crate::json_log::emit(log::Level::Warn, line);
            let reason =
                closed.unwrap_or_else(|| gate.reason.lock().map(|r| r.clone()).unwrap_or_default());
            crate::problem::unavailable(&reason)
        }
    }
}
