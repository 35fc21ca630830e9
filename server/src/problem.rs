//! RFC 9457 answers (PRODUCT.md §12.3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcheck_core::Error;
use fieldcheck_core::time::format_rfc3339;
use fieldcheck_core::wire::{Problem, ProblemType, problem_for};

/// A refusal on its way out; the request log and the refusal metric read
/// the type from the response's extensions.
pub struct ProblemResponse {
    pub problem: Problem,
    pub retry_after_s: Option<u64>,
}

/// Put on a refused response so the metrics count it by type.
#[derive(Clone, Copy, Debug)]
pub struct Refusal(pub ProblemType);

impl ProblemResponse {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        ProblemResponse {
            problem: kind.problem(detail),
            retry_after_s: None,
        }
    }

    /// The answer to a core error: its refusal type, or a 500 that says
    /// nothing of the cause (which goes to the log).
    pub fn from_error(error: &Error, malformed: ProblemType) -> Response {
        if let Error::MasterKey(reason) = error {
            // This instance's master key was rotated away: it writes no
            // more, and every later request is answered 503 by the gate.
            return unavailable(reason);
        }
        match problem_for(error, malformed) {
            Some(problem) => ProblemResponse {
                problem,
                retry_after_s: None,
            }
            .into_response(),
            None => internal(error),
        }
    }
}

/// Seconds a client is told to wait before asking again.
pub const RETRY_AFTER_S: u64 = 2;

/// 503 with `reason` and a Retry-After.
pub fn unavailable(reason: &str) -> Response {
    let problem = Problem {
        problem_type: "about:blank".into(),
        title: "Service unavailable".into(),
        status: 503,
        detail: Some(reason.to_string()),
        expected_from_seq: None,
        server_time: Some(format_rfc3339(chrono::Utc::now())),
    };
    let mut response = json_problem(StatusCode::SERVICE_UNAVAILABLE, &problem);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    response
}

pub fn internal(error: &dyn std::fmt::Display) -> Response {
    log::error!("internal error: {error}");
    let problem = Problem {
        problem_type: "about:blank".into(),
        title: "Internal server error".into(),
        status: 500,
        detail: None,
        expected_from_seq: None,
        server_time: Some(format_rfc3339(chrono::Utc::now())),
    };
    json_problem(StatusCode::INTERNAL_SERVER_ERROR, &problem)
}

impl IntoResponse for ProblemResponse {
    fn into_response(mut self) -> Response {
        self.problem.server_time = Some(format_rfc3339(chrono::Utc::now()));
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json_problem(status, &self.problem);
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(kind) = ProblemType::from_uri(&self.problem.problem_type) {
            response.extensions_mut().insert(Refusal(kind));
        }
        response
    }
}

pub fn json_problem(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}
