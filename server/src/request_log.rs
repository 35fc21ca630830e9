//! One JSON log line and the metrics of every request (PRODUCT.md §12.1).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, json};

use crate::AppState;
use crate::json_log;
use crate::metrics::{RefusalType, RouteLabel, RouteStatus};
use crate::problem::Refusal;

/// Put on a response by a handler that knows which device asked.
#[derive(Clone, Debug)]
pub struct LoggedDevice(pub String);

/// Put on a response by a console handler that knows who is signed in.
#[derive(Clone, Debug)]
pub struct LoggedUser(pub String);

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route template, never the path: paths can name agents and dates.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();

    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RouteStatus {
            route: route.clone(),
            status: status.to_string(),
        })
        .inc();
    metrics
        .durations
        .get_or_create(&RouteLabel {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    if let Some(Refusal(kind)) = response.extensions().get::<Refusal>() {
        metrics
            .refusals
            .get_or_create(&RefusalType {
                r#type: kind.slug().to_string(),
            })
            .inc();
    }

    let mut line = Map::new();
    line.insert("route".into(), json!(route));
    line.insert("status".into(), json!(status));
    line.insert(
        "latency_ms".into(),
        json!((elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0),
    );
    if let Some(LoggedDevice(id)) = response.extensions().get::<LoggedDevice>() {
        line.insert("device_id".into(), json!(id));
    }
    if let Some(LoggedUser(id)) = response.extensions().get::<LoggedUser>() {
        line.insert("user".into(), json!(id));
    }
    let level = if status >= 500 {
        log::Level::Error
    } else {
        log::Level::Info
    };
    json_log::emit(level, line);
    response
}
