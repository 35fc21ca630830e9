//! The device side of the wire (PRODUCT.md §12.2), once for every platform:
//! enrol, push the outbox as signed batches, pull review decisions.
//!
//! The protocol lives here; the exchange of bytes does not. A [`Transport`]
//! sends one HTTP request (ureq in the CLI, OkHttp and URLSession in the
//! shells) and a [`DeviceKeystore`] signs (a software key in the CLI, the
//! platform keystore on phones). Time and waiting come from a
//! [`SyncClock`], so tests run the retry schedule without sleeping.
//!
//! Push: send the next batch after the acknowledged seq; on 200 acknowledge
//! up to `accepted_to_seq` and go on until the outbox is empty; on a 409
//! `sequence-gap` resend from `expected_from_seq`; on network errors, 5xx
//! and 429 retry the same bytes with backoff (or `Retry-After`), at most
//! [`MAX_ATTEMPTS`] attempts within [`RETRY_BUDGET`]; on 401/403 stop.
//! The outbox is released only by an acknowledgement, so nothing is lost
//! whatever happens in between, and a later push resumes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config_feed::AppliedConfig;
use crate::device::ServerLink;
use crate::device::{DeviceKeystore, Platform, to_base64};
use crate::error::{Error, Result};
use crate::sync::{SyncBatch, SyncStatus};
use crate::time::whole_second;
use crate::wire::DecisionNotice;
use crate::wire::{
    BATCHES_PATH, BatchAnswer, CONFIG_PATH, ConfigAnswer, DECISIONS_PATH, DecisionsAnswer,
    ENROL_PATH, EnrolAnswer, EnrolRequest, Problem, ProblemType, SIGNATURE_HEADER,
};

/// Attempts per request before a push or pull gives up (PRODUCT.md §12.2).
pub const MAX_ATTEMPTS: u32 = 5;
/// ...and the time they may take together.
pub const RETRY_BUDGET: Duration = Duration::from_secs(60);
/// Consecutive `sequence-gap` answers tolerated before giving up (a server
/// that keeps asking for something else is not converging).
const MAX_GAP_RESENDS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One HTTP request, fully formed: the transport only moves bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRequest {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP answer of any status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    pub status: u16,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after_s: Option<u64>,
    pub body: Vec<u8>,
}

/// Sends one request. `Err` is a network failure (no answer): refused,
/// reset, timed out, TLS failure; any HTTP status is `Ok`.
pub trait Transport: Send + Sync {
    fn exchange(&self, request: &WireRequest) -> std::result::Result<WireResponse, String>;
}

/// The device's clock and a way to wait.
pub trait SyncClock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    fn pause(&self, duration: Duration);
}

/// The system clock; waits by sleeping the calling thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SyncClock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn pause(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The system clock shifted to read `reads` now and run on from there: a
/// device whose clock is set wrong (the CLI's `--now`), so the sync client
/// measures its offset from the server as a phone's would.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    shift: chrono::Duration,
}

impl ShiftedClock {
    pub fn reading(reads: DateTime<Utc>) -> ShiftedClock {
        ShiftedClock {
            shift: reads - Utc::now(),
        }
    }
}

impl SyncClock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.shift
    }
    fn pause(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// What `sync push` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub batches: u64,
    pub events: u64,
    pub acked_seq: i64,
    pub pending: i64,
}

/// What `sync pull` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Decisions new to this device.
    pub decisions: u64,
    pub cursor: String,
    /// Configuration changes applied (PRODUCT.md §12.2).
    pub config: u64,
    /// Where the configuration feeds stand now (opaque).
    pub config_cursor: String,
    /// The kinds of configuration that changed (`sites`, `rules`, ...).
    pub config_kinds: Vec<String>,
    /// The pull replaced the whole configuration (a snapshot).
    pub config_reset: bool,
    /// The agent must grant location consent again before check-ins are
    /// judged (a policy version requiring renewal).
    pub consent_renewal_required: bool,
    /// The agent's processing is restricted: check-ins are refused.
    pub restricted: bool,
}

/// What the sync client needs of the device's store (the core's `Store`
/// implements it; the protocol stays free of storage).
pub trait DeviceStore {
    fn device_id(&self) -> Result<String>;
    fn server_link(&self) -> Result<Option<ServerLink>>;
    /// Records an enrolment, replacing an earlier one.
    fn link_server(&self, link: &ServerLink) -> Result<()>;
    /// Keeps the offset of the server's clock; returns it in milliseconds.
    fn note_server_time(&self, server_time: &str, local_now: DateTime<Utc>) -> Result<i64>;
    /// The next batch: after the acknowledged seq, or from `from_seq`;
    /// with each event's retained coordinates when `with_locations`.
    fn outbox_from(
        &self,
        from_seq: Option<i64>,
        limit: usize,
        with_locations: bool,
    ) -> Result<SyncBatch>;
    /// The first unacknowledged event the server would refuse from a device
    /// enrolled for `agent`, described, or `None` (PRODUCT.md §12.2).
    fn outbox_problem_for(&self, agent: &str) -> Result<Option<String>>;
    /// Applies a configuration answer in one transaction.
    fn apply_config(&self, answer: &ConfigAnswer, now: DateTime<Utc>) -> Result<AppliedConfig>;
    fn outbox_status(&self) -> Result<SyncStatus>;
    /// Releases the outbox up to `up_to` (the server committed it).
    fn acknowledge(&self, up_to: i64) -> Result<()>;
    /// Stores pulled decisions and the cursor after them, in one
    /// transaction; returns how many were new.
    fn store_decisions(
        &self,
        decisions: &[DecisionNotice],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<u64>;
}

pub struct SyncClient<'a> {
    store: &'a dyn DeviceStore,
    transport: &'a dyn Transport,
    clock: &'a dyn SyncClock,
}

impl<'a> SyncClient<'a> {
    pub fn new(
        store: &'a dyn DeviceStore,
        transport: &'a dyn Transport,
        clock: &'a dyn SyncClock,
    ) -> Self {
        SyncClient {
            store,
            transport,
            clock,
        }
    }

    /// Enrols this store with `server_url` using a one-time `code`, binding
    /// the keystore's public key to the store's device id. `keep_key` is
    /// the PKCS#8 of a software key to keep in the store (the CLI); `None`
    /// when a platform keystore holds it.
    /// Plain `http://` is refused for a server off the loopback address
    /// unless `insecure` (the token and, later, coordinates would cross the
    /// network in clear). Before the store is linked, its unacknowledged
    /// outbox is checked against the agent the server names: an event that
    /// server would refuse leaves the store unlinked (the code is spent).
    pub fn enrol(
        &self,
        server_url: &str,
        code: &str,
        platform: Platform,
        keystore: &dyn DeviceKeystore,
        keep_key: Option<Vec<u8>>,
        insecure: bool,
    ) -> Result<EnrolAnswer> {
        let server_url = server_url.trim_end_matches('/').to_string();
        match transport_security(&server_url) {
            None => {
                return Err(Error::invalid(
                    "server",
                    "must be an http:// or https:// URL",
                ));
            }
            Some(Security::Plain) if !insecure => {
                return Err(Error::invalid(
                    "server",
                    format!(
                        "{server_url} is plain http:// off this machine: use https://, or \
                         --insecure to send the device's token unencrypted"
                    ),
                ));
            }
            Some(_) => {}
        }
        let request = EnrolRequest {
            code: code.to_string(),
            device_id: self.store.device_id()?,
            public_key: to_base64(&keystore.public_key()?),
            platform: platform.as_str().to_string(),
        };
        let response = self.send(&WireRequest {
            method: Method::Post,
            url: format!("{server_url}{ENROL_PATH}"),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&request)?,
        })?;
        let answer: EnrolAnswer = expect_ok(&response)?;
        if let Some(problem) = self.store.outbox_problem_for(&answer.agent)? {
            return Err(Error::invalid(
                "outbox",
                format!(
                    "this store was not linked: the server enrolled it for agent {}, and {problem}; \
                     the code is spent: enrol a fresh store (one database file per agent) with a new code",
                    answer.agent
                ),
            ));
        }
        let now = self.clock.now();
        self.store.link_server(&ServerLink {
            server_url,
            agent: answer.agent.clone(),
            device_token: answer.device_token.clone(),
            signing_key: keep_key,
            enrolled_at: whole_second(now),
            clock_offset_ms: 0,
            decisions_cursor: None,
            config_cursor: None,
        })?;
        self.store.note_server_time(&answer.server_time, now)?;
        Ok(answer)
    }

    /// Sends the outbox as signed batches of at most `limit` events until
    /// it is empty, acknowledging each batch the server committed.
    pub fn push(&self, keystore: &dyn DeviceKeystore, limit: usize) -> Result<PushReport> {
        let link = self.link()?;
        // Coordinates never cross the network in clear.
        let with_locations = transport_security(&link.server_url) != Some(Security::Plain);
        let mut report = PushReport::default();
        let mut resend_from: Option<i64> = None;
        let mut gaps = 0;
        loop {
            let batch = self.store.outbox_from(resend_from, limit, with_locations)?;
            if batch.events.is_empty() {
                break;
            }
            let body = serde_json::to_vec(&batch)?;
            let signature = to_base64(&keystore.sign(&body)?);
            let response = self.send(&WireRequest {
                method: Method::Post,
                url: format!("{}{BATCHES_PATH}", link.server_url),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (
                        "Authorization".into(),
                        format!("Bearer {}", link.device_token),
                    ),
                    (SIGNATURE_HEADER.into(), signature),
                ],
                body,
            })?;
            if response.status == 409
                && let Some(problem) = problem_of(&response)
                && ProblemType::from_uri(&problem.problem_type) == Some(ProblemType::SequenceGap)
            {
                let expected = problem.expected_from_seq.ok_or_else(|| {
                    server_error(&response, "a sequence-gap without expected_from_seq")
                })?;
                gaps += 1;
                if gaps > MAX_GAP_RESENDS || expected == batch.from_seq {
                    return Err(server_error(
                        &response,
                        "the server keeps asking for another seq",
                    ));
                }
                log::info!("sync push: the server expects seq {expected}; resending from there");
                resend_from = Some(expected);
                continue;
            }
            let answer: BatchAnswer = expect_ok(&response)?;
            self.store
                .note_server_time(&answer.server_time, self.clock.now())?;
            let status = self.store.outbox_status()?;
            if answer.accepted_to_seq < batch.to_seq {
                return Err(server_error(
                    &response,
                    &format!(
                        "accepted only up to seq {} of a batch ending at {}",
                        answer.accepted_to_seq, batch.to_seq
                    ),
                ));
            }
            if answer.accepted_to_seq > status.acked_seq {
                self.store
                    .acknowledge(answer.accepted_to_seq.min(status.head_seq))?;
            }
            gaps = 0;
            report.batches += 1;
            report.events += batch.events.len() as u64;
            // Resending what the server lost: go on from where it stands
            // until it has caught up with what was acknowledged before.
            resend_from =
                (answer.accepted_to_seq < status.acked_seq).then_some(answer.accepted_to_seq + 1);
        }
        let status = self.store.outbox_status()?;
        report.acked_seq = status.acked_seq;
        report.pending = status.pending;
        Ok(report)
    }

    /// Fetches the review decisions about this device's agent made since
    /// the last pull and stores them, then the configuration its server
    /// decided (PRODUCT.md §12.2), checked and applied in one transaction.
    pub fn pull(&self) -> Result<PullReport> {
        let mut report = self.pull_decisions()?;
        let link = self.link()?;
        let answer: ConfigAnswer =
            expect_ok(&self.get_after(&link, CONFIG_PATH, link.config_cursor.as_deref())?)?;
        let now = self.clock.now();
        self.store.note_server_time(&answer.server_time, now)?;
        let applied = self.store.apply_config(&answer, now)?;
        report.config = applied.changes;
        report.config_cursor = applied.cursor;
        report.config_kinds = applied
            .kinds
            .iter()
            .map(|k| k.as_str().to_string())
            .collect();
        report.config_reset = applied.reset;
        report.consent_renewal_required = applied.consent_renewal_required;
        report.restricted = applied.restricted;
        Ok(report)
    }

    fn pull_decisions(&self) -> Result<PullReport> {
        let link = self.link()?;
        let mut cursor = link.decisions_cursor.clone();
        let mut report = PullReport::default();
        loop {
            let answer: DecisionsAnswer =
                expect_ok(&self.get_after(&link, DECISIONS_PATH, cursor.as_deref())?)?;
            let now = self.clock.now();
            self.store.note_server_time(&answer.server_time, now)?;
            report.decisions +=
                self.store
                    .store_decisions(&answer.decisions, &answer.cursor, now)?;
            report.cursor = answer.cursor.clone();
            let done = answer.decisions.is_empty() || cursor.as_deref() == Some(&answer.cursor);
            cursor = Some(answer.cursor);
            if done {
                break;
            }
        }
        Ok(report)
    }

    /// `GET path?after=CURSOR` (from the start without a cursor) with the
    /// device's token, under the retry policy.
    fn get_after(
        &self,
        link: &ServerLink,
        path: &str,
        after: Option<&str>,
    ) -> Result<WireResponse> {
        let url = match after {
            Some(c) => format!("{}{path}?after={}", link.server_url, percent_encode(c)),
            None => format!("{}{path}", link.server_url),
        };
        self.send(&WireRequest {
            method: Method::Get,
            url,
            headers: vec![(
                "Authorization".into(),
                format!("Bearer {}", link.device_token),
            )],
            body: Vec::new(),
        })
    }

    fn link(&self) -> Result<ServerLink> {
        self.store.server_link()?.ok_or_else(|| {
            Error::invalid(
                "server",
                "this store is not enrolled with a server (run `fieldcheck device enrol`)",
            )
        })
    }

    /// One request with the retry policy: network errors, 5xx and 429 are
    /// retried (after `Retry-After` when given, else 1, 2, 4, 8 s), at most
    /// [`MAX_ATTEMPTS`] attempts within [`RETRY_BUDGET`].
    fn send(&self, request: &WireRequest) -> Result<WireResponse> {
        let started = self.clock.now();
        let mut last_failure = String::new();
        for attempt in 1..=MAX_ATTEMPTS {
            let wait = match self.transport.exchange(request) {
                Ok(r) if r.status == 429 || r.status >= 500 => {
                    last_failure = format!("HTTP {}", r.status);
                    r.retry_after_s
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| backoff(attempt))
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    last_failure = e;
                    backoff(attempt)
                }
            };
            let elapsed = (self.clock.now() - started).to_std().unwrap_or_default();
            if attempt == MAX_ATTEMPTS || elapsed + wait > RETRY_BUDGET {
                break;
            }
            log::warn!(
                "sync: attempt {attempt} failed ({last_failure}); retrying in {} ms",
                wait.as_millis()
            );
            self.clock.pause(wait);
        }
        Err(Error::Unreachable(last_failure))
    }
}

/// How a server URL carries requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `https://`.
    Tls,
    /// `http://` to this machine (127.0.0.0/8, `::1`, `localhost`).
    Loopback,
    /// `http://` anywhere else.
    Plain,
}

/// `None` for anything but an http(s) URL. Parsed by hand: only the host
/// is needed, and the core takes no URL crate for it.
fn transport_security(url: &str) -> Option<Security> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        return (!rest.is_empty()).then_some(Security::Tls);
    } else {
        url.strip_prefix("http://")?
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return None;
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Some(if loopback {
        Security::Loopback
    } else {
        Security::Plain
    })
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << (attempt - 1).min(3))
}

fn problem_of(response: &WireResponse) -> Option<Problem> {
    serde_json::from_slice(&response.body).ok()
}

fn server_error(response: &WireResponse, detail: &str) -> Error {
    Error::Server {
        status: response.status,
        problem: problem_of(response).map(|p| {
            ProblemType::from_uri(&p.problem_type).map_or(p.problem_type, |t| t.slug().to_string())
        }),
        detail: detail.to_string(),
    }
}

/// The body of a 200, or the server's refusal as [`Error::Server`].
fn expect_ok<T: serde::de::DeserializeOwned>(response: &WireResponse) -> Result<T> {
    if response.status == 200 {
        return serde_json::from_slice(&response.body).map_err(|e| Error::Server {
            status: 200,
            problem: None,
            detail: format!("an answer this build cannot read: {e}"),
        });
    }
    let detail = match problem_of(response) {
        Some(p) => p.detail.unwrap_or(p.title),
        None => String::from_utf8_lossy(&response.body)
            .chars()
            .take(200)
            .collect(),
    };
    Err(server_error(response, &detail))
}

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_the_loopback_address_are_safe_for_coordinates() {
        for (url, expected) in [
            ("https://sync.example.com", Some(Security::Tls)),
            ("http://127.0.0.1:8080", Some(Security::Loopback)),
            ("http://127.3.2.1", Some(Security::Loopback)),
            ("http://localhost:9/x", Some(Security::Loopback)),
            ("http://[::1]:8080", Some(Security::Loopback)),
            ("http://user@127.0.0.1:1", Some(Security::Loopback)),
            ("http://10.0.0.5:8080", Some(Security::Plain)),
            ("http://sync.example.com", Some(Security::Plain)),
            ("http://127.0.0.1.evil.example", Some(Security::Plain)),
            ("http://localhost@evil.example", Some(Security::Plain)),
            ("ftp://127.0.0.1", None),
            ("http://", None),
        ] {
            assert_eq!(transport_security(url), expected, "{url}");
        }
    }
}
