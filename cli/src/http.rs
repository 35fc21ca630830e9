//! The CLI's transport for the sync client: blocking HTTP(S) with ureq on
//! rustls. The protocol (what to send, retries, acknowledgements) is the
//! core's; this only moves bytes.

use std::sync::Once;
use std::time::Duration;

use fieldcheck_core::sync_client::{Method, Transport, WireRequest, WireResponse};

/// Connect, send and read, each request.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Answers are small (a batch answer, a page of decisions).
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

pub struct HttpTransport {
    agent: ureq::Agent,
}

impl HttpTransport {
    pub fn new() -> HttpTransport {
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .user_agent(concat!("fieldcheck/", env!("CARGO_PKG_VERSION")))
            // The system's trust store (and SSL_CERT_FILE), as browsers do.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .into();
        HttpTransport { agent }
    }
}

impl Transport for HttpTransport {
    fn exchange(&self, request: &WireRequest) -> Result<WireResponse, String> {
        let result = match request.method {
            Method::Get => {
                let mut call = self.agent.get(&request.url);
                for (name, value) in &request.headers {
                    call = call.header(name, value);
                }
                call.call()
            }
            Method::Post => {
                let mut call = self.agent.post(&request.url);
                for (name, value) in &request.headers {
                    call = call.header(name, value);
                }
                call.send(&request.body[..])
            }
        };
        let mut response = result.map_err(|e| e.to_string())?;
        let retry_after_s = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok(WireResponse {
            status,
            retry_after_s,
            body,
        })
    }
}
