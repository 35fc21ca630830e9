//! The device side of the wire (PRODUCT.md §12.2) for the shells: enrol
//! with a server, push the outbox, pull review decisions. The protocol is
//! the core's `SyncClient`; the shells bring the two platform capabilities
//! as foreign traits: an [`HttpTransport`] (OkHttp, URLSession) and a
//! [`DeviceKeystore`] (Android Keystore, the Secure Enclave).

use crate::*;
use fieldcheck_core::device::SoftwareKey;
use fieldcheck_core::sync_client::{
    Method, SyncClient, SystemClock, Transport, WireRequest, WireResponse,
};

/// A device's platform (`platform` of the enrolment).
#[uniffi::remote(Enum)]
pub enum Platform {
    Android,
    Ios,
    Cli,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// One request, fully formed: send it as is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// An answer of any status (a 4xx or 5xx is an answer, not a failure).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after_s: Option<u64>,
    pub body: Vec<u8>,
}

/// Moves one request's bytes. Throw `Unreachable` for a network failure
/// (refused, reset, timed out, TLS); return any HTTP status as an answer.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse>;
}

/// The device's P-256 signing key, kept by the platform (never exported).
#[uniffi::export(with_foreign)]
pub trait DeviceKeystore: Send + Sync {
    /// DER SubjectPublicKeyInfo.
    fn public_key(&self) -> Result<Vec<u8>>;
    /// DER ECDSA P-256 SHA-256 signature over `message`.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>>;
}

/// A key held in memory by the core: for tests and platforms without a
/// hardware keystore. It is lost with the process, so a device using it
/// must enrol again after a restart.
struct SoftwareKeystore(SoftwareKey);

impl DeviceKeystore for SoftwareKeystore {
    fn public_key(&self) -> Result<Vec<u8>> {
        guard(|| core::DeviceKeystore::public_key(&self.0))
    }
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        guard(|| core::DeviceKeystore::sign(&self.0, &message))
    }
}

/// A new in-memory software key (tests; the shells use the platform's).
#[uniffi::export]
pub fn software_keystore() -> Arc<dyn DeviceKeystore> {
    Arc::new(SoftwareKeystore(SoftwareKey::generate()))
}

/// A parsed enrolment link (`fieldcheck://enrol?server=URL&code=CODE`, the
/// console's QR code).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrolLink {
    pub server_url: String,
    pub code: String,
}

/// Reads an enrolment link the camera scanned; anything else is an
/// `InvalidInput` error. Pass its parts to `enrol_device`.
#[uniffi::export]
pub fn parse_enrol_link(link: String) -> Result<EnrolLink> {
    guard(|| {
        let parsed = core::enrol_link::EnrolLink::parse(&link)?;
        Ok(EnrolLink {
            server_url: parsed.server,
            code: parsed.code,
        })
    })
}

/// The foreign transport seen from the core.
struct ForeignTransport(Arc<dyn HttpTransport>);

impl Transport for ForeignTransport {
    fn exchange(&self, request: &WireRequest) -> std::result::Result<WireResponse, String> {
        let request = HttpRequest {
            method: match request.method {
                Method::Get => "GET",
                Method::Post => "POST",
            }
            .into(),
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| HttpHeader {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            body: request.body.clone(),
        };
        match self.0.exchange(request) {
            Ok(r) => Ok(WireResponse {
                status: r.status,
                retry_after_s: r.retry_after_s,
                body: r.body,
            }),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The foreign keystore seen from the core.
struct ForeignKeystore(Arc<dyn DeviceKeystore>);

impl core::DeviceKeystore for ForeignKeystore {
    fn public_key(&self) -> core::Result<Vec<u8>> {
        self.0.public_key().map_err(keystore_error)
    }
    fn sign(&self, message: &[u8]) -> core::Result<Vec<u8>> {
        self.0.sign(message.to_vec()).map_err(keystore_error)
    }
}

fn keystore_error(e: FieldCheckError) -> core::Error {
    core::Error::Io(std::io::Error::other(format!("device keystore: {e}")))
}

/// What an enrolment gave.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    pub device_id: String,
    pub agent: String,
    pub server_url: String,
}

/// What a push did.
#[uniffi::remote(Record)]
pub struct PushReport {
    pub batches: u64,
    pub events: u64,
    pub acked_seq: i64,
    pub pending: i64,
}

/// What a pull did: decisions, and the configuration the server decided
/// (PRODUCT.md §12.2), for the app to tell the agent what changed.
#[uniffi::remote(Record)]
pub struct PullReport {
    /// Decisions new to this device.
    pub decisions: u64,
    pub cursor: String,
    /// Configuration changes applied (0: nothing changed).
    pub config: u64,
    pub config_cursor: String,
    /// The kinds that changed: `sites`, `rules`, `controller`, `policy`,
    /// `flag`, `flag_end`, `shift`, `restriction`.
    pub config_kinds: Vec<String>,
    /// The whole configuration was replaced (the first pull, or a server
    /// restored from a backup).
    pub config_reset: bool,
    /// The agent must grant location consent again before check-ins are
    /// judged (a privacy-policy version requiring renewal).
    pub consent_renewal_required: bool,
    /// The agent's processing is restricted: check-ins are refused.
    pub restricted: bool,
}

/// A review decision about an agent (pulled from the server or made here).
#[uniffi::remote(Record)]
pub struct DecisionNotice {
    pub review_id: String,
    /// `None` for a decision on a whole day.
    pub event_id: Option<String>,
    pub agent: String,
    /// The agent's local date, `YYYY-MM-DD`.
    pub date: String,
    /// `approved` or `rejected`.
    pub decision: String,
    pub note: Option<String>,
    pub reviewer: String,
    /// RFC 3339.
    pub decided_at: String,
}

/// The server this store is enrolled with.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServerLinkInfo {
    pub server_url: String,
    pub agent: String,
    pub enrolled_at: UtcDateTime,
    /// Server time minus this device's, measured at the last exchange.
    pub clock_offset_ms: i64,
}

#[uniffi::export]
impl FieldCheck {
    /// Enrols this store with `server_url` using a one-time code; the
    /// keystore's public key is bound to this store's device id.
    pub fn enrol_device(
        &self,
        server_url: String,
        code: String,
        platform: Platform,
        keystore: Arc<dyn DeviceKeystore>,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Enrolment> {
        guard(|| {
            let transport = ForeignTransport(transport);
            let answer = SyncClient::new(&self.store, &transport, &SystemClock).enrol(
                &server_url,
                &code,
                platform,
                &ForeignKeystore(keystore),
                None,
                false,
            )?;
            let link = self
                .store
                .server_link()?
                .ok_or_else(|| core::Error::NotFound("server link".into()))?;
            Ok(Enrolment {
                device_id: self.store.device_id()?,
                agent: answer.agent,
                server_url: link.server_url,
            })
        })
    }

    /// Sends the outbox as signed batches of at most `limit` events until
    /// it is empty. Blocks (retries wait on this thread): call it from a
    /// background worker.
    pub fn sync_push(
        &self,
        keystore: Arc<dyn DeviceKeystore>,
        transport: Arc<dyn HttpTransport>,
        limit: u32,
    ) -> Result<PushReport> {
        guard(|| {
            let transport = ForeignTransport(transport);
            SyncClient::new(&self.store, &transport, &SystemClock)
                .push(&ForeignKeystore(keystore), limit as usize)
        })
    }

    /// Fetches and stores the review decisions about this device's agent.
    pub fn sync_pull(&self, transport: Arc<dyn HttpTransport>) -> Result<PullReport> {
        guard(|| {
            let transport = ForeignTransport(transport);
            SyncClient::new(&self.store, &transport, &SystemClock).pull()
        })
    }

    /// Review decisions about `agent` (agents: their own), oldest first.
    pub fn reviews(&self, actor: Actor, agent: Option<String>) -> Result<Vec<DecisionNotice>> {
        guard(|| self.store.decisions(&actor, agent.as_deref()))
    }

    /// The server this store is enrolled with, if any.
    pub fn server_link(&self) -> Result<Option<ServerLinkInfo>> {
        guard(|| {
            Ok(self.store.server_link()?.map(|l| ServerLinkInfo {
                server_url: l.server_url,
                agent: l.agent,
                enrolled_at: l.enrolled_at,
                clock_offset_ms: l.clock_offset_ms,
            }))
        })
    }
}
