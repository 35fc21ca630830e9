//! The enrolment link a console shows as a QR code (PRODUCT.md §12.4
//! "People"): `fieldcheck://enrol?server=URL&code=CODE`, the server's
//! address percent-encoded. The shells read it from the camera and hand it
//! to the core, which parses it here, once.
//!
//! Two query parameters with percent-encoding do not need a URL crate:
//! `percent-encoding` (already a dependency) encodes and decodes them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::{Error, Result};

const PREFIX: &str = "fieldcheck://enrol?";

/// Everything but the unreserved characters of RFC 3986 is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A parsed enrolment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolLink {
    /// The server's base address, `http://` or `https://`.
    pub server: String,
    pub code: String,
}

impl EnrolLink {
    /// The link for `server` and `code`.
    pub fn to_link(&self) -> String {
        format!(
            "{PREFIX}server={}&code={}",
            utf8_percent_encode(&self.server, COMPONENT),
            utf8_percent_encode(&self.code, COMPONENT)
        )
    }

    /// Reads a link; anything else (another scheme, a missing or repeated
    /// parameter, a server that is not an http(s) address) is refused.
    pub fn parse(link: &str) -> Result<EnrolLink> {
        let bad = |why: &str| Error::invalid("link", why.to_string());
        let trimmed = link.trim();
        let query = trimmed
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &trimmed[PREFIX.len()..])
            .ok_or_else(|| bad("not a fieldcheck://enrol link"))?;
        let mut server = None;
        let mut code = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| bad("a parameter is not UTF-8"))?
                .into_owned();
            let slot = match key {
                "server" => &mut server,
                "code" => &mut code,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(bad(&format!("{key} is given twice")));
            }
        }
        let server = server
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("the link names no server"))?;
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("the link holds no code"))?;
        let lower = server.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| bad("the server is not an http:// or https:// address"))?;
        if rest.is_empty() || rest.starts_with('/') || server.chars().any(char::is_whitespace) {
            return Err(bad("the server address has no host"));
        }
        if code.len() > 128 || code.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("the code is not an enrolment code"));
        }
        Ok(EnrolLink { server, code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_with_the_server_percent_encoded() {
        let link = EnrolLink {
            server: "https://fc.example.co.id:8443/fc/v1?x=1&y".into(),
            code: "K7Q2-MX9P".into(),
        };
        let text = link.to_link();
        assert_eq!(
            text,
            "fieldcheck://enrol?server=https%3A%2F%2Ffc.example.co.id%3A8443%2Ffc%2Fv1%3Fx%3D1%26y&code=K7Q2-MX9P"
        );
        assert_eq!(EnrolLink::parse(&text).unwrap(), link);
        assert_eq!(
            EnrolLink::parse(
                "FIELDCHECK://enrol?code=abc&server=http%3A%2F%2F127.0.0.1%3A9&extra=1"
            )
            .unwrap(),
            EnrolLink {
                server: "http://127.0.0.1:9".into(),
                code: "abc".into()
            }
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "https://example.com/?server=x&code=y",
            "fieldcheck://enrol?code=abc",
            "fieldcheck://enrol?server=http%3A%2F%2Fa",
            "fieldcheck://enrol?server=ftp%3A%2F%2Fa&code=x",
            "fieldcheck://enrol?server=http%3A%2F%2F&code=x",
            "fieldcheck://enrol?server=http%3A%2F%2Fa&code=x&code=y",
            "fieldcheck://enrol?server=http%3A%2F%2Fa&code=%FF",
            "fieldcheck://enrol?server=http%3A%2F%2Fa&code=a%20b",
        ] {
            assert!(EnrolLink::parse(bad).is_err(), "{bad}");
        }
    }
}
