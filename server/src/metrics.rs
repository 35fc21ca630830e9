//! Prometheus metrics (PRODUCT.md §12.1), one registry per server (so tests
//! can run many servers in one process).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteStatus, Counter>,
    pub durations: Family<RouteLabel, Histogram>,
    pub batches_imported: Counter,
    pub events_imported: Counter,
    pub refusals: Family<RefusalType, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalType {
    pub r#type: String,
}

fn duration_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RouteStatus, Counter>::default();
        let durations =
            Family::<RouteLabel, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        let batches_imported = Counter::default();
        let events_imported = Counter::default();
        let refusals = Family::<RefusalType, Counter>::default();
        registry.register(
            "fieldcheck_http_requests",
            "HTTP requests by route template and status",
            requests.clone(),
        );
        registry.register(
            "fieldcheck_http_request_duration_seconds",
            "Time to answer, by route template",
            durations.clone(),
        );
        registry.register(
            "fieldcheck_sync_batches_imported",
            "Batches committed (replays included)",
            batches_imported.clone(),
        );
        registry.register(
            "fieldcheck_sync_events_imported",
            "Events newly stored from devices",
            events_imported.clone(),
        );
        registry.register(
            "fieldcheck_sync_refusals",
            "Refused requests by problem type",
            refusals.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            batches_imported,
            events_imported,
            refusals,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &state.metrics.registry) {
        return crate::problem::internal(&e);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
