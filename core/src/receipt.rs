//! Consent receipts (PRODUCT.md §5): one JSON document per consent-ledger
//! entry, in the field set of the Kantara Initiative Consent Receipt
//! Specification v1.1 (`KI-CR-v1.1.0`), with the ISO/IEC TS 27560 names in an
//! `iso27560` extension object.
//!
//! # Schema
//!
//! Receipts validate against the Kantara CIS WG's v1.1 JSON schema, kept
//! verbatim in `tests/data/kantara_consent_receipt_v1.1.schema.json` (source
//! and licence in `tests/data/README.md`). What that schema decides here:
//!
//! - `consentTimestamp` is an integer ≥ 0: whole seconds since the Unix epoch.
//! - Every PII controller needs `piiController`, `contact`, `address` (an
//!   object), `email` and `phone`, so all five are required in
//!   [`ReceiptContext`].
//! - Every purpose needs `consentType`, `purposeCategory`, `piiCategory`,
//!   `termination` and `thirdPartyDisclosure` (with `thirdPartyName` when it is
//!   true). `publicKey` and `language` are optional: no key is published, so
//!   `publicKey` is left out; `language` is always written.
//! - No object in the schema sets `additionalProperties`, so (JSON Schema
//!   draft 4) extra members are allowed. The ISO/IEC TS 27560 view is added as
//!   one top-level member, `iso27560`, rather than by renaming Kantara fields.
//!
//! # Withdrawals
//!
//! Kantara v1.1 has no field for the state of consent: a v1.1 receipt reads
//! as consent given. A withdrawal still gets a receipt (it is a ledger event),
//! and it says so twice: in the Kantara `termination` text of the purpose,
//! which starts with `"Withdrawn at <RFC 3339 time>"`, and in
//! `iso27560.event_state = "withdrawn"` (`"given"` for a grant).
//!
//! # Policy version
//!
//! Kantara v1.1 has `policyUrl` but no policy version. The version is put in
//! the URL as a `version` query parameter (`…/privacy?version=2026-01`) and
//! stated explicitly in `iso27560.privacy_notice.version`.
//!
//! # Field mapping
//!
//! ISO/IEC TS 27560:2023 is not freely available; its field names below are
//! taken from the clause list in the W3C DPVCG guide "Consent Records and
//! Receipts as per ISO/IEC TS 27560:2023 using DPV" (§8.3). Values are
//! fieldcheck's own.
//!
//! | Kantara v1.1 | ISO/IEC TS 27560 | fieldcheck value |
//! |---|---|---|
//! | `version` | `schema_version` | `KI-CR-v1.1.0`; `iso27560.schema_version` names the extension's layout |
//! | `consentReceiptID` | `receipt_id`, `record_id` | [`ConsentEntry::id`] (the entry id is the receipt id) |
//! | `consentTimestamp` (Unix s) | `event_time` (RFC 3339) | [`ConsentEntry::at`] |
//! | `collectionMethod` | `collection_method` | from [`ConsentEntry::source`] |
//! | `jurisdiction` | `jurisdiction` | [`ReceiptContext::jurisdiction`] |
//! | `language` | `language` | [`ReceiptContext::language`] |
//! | `piiPrincipalId` | `pii_principal_id` | [`ConsentEntry::subject`] |
//! | `piiControllers[]` | `pii_controllers` (`party_name`, `party_contact`, `party_address`, …) | [`ReceiptContext`] |
//! | `policyUrl` | `privacy_notice` | [`ReceiptContext::policy_url`] + [`ConsentEntry::policy_version`] |
//! | `services[].purposes[].purpose` | `purposes` / `purpose` | from [`ConsentEntry::permission`] |
//! | `purposeCategory` | `purpose_type` | Kantara purpose category |
//! | `piiCategory` | `pii_information` / `pii_type` | per permission |
//! | `consentType` | `event_type` | `EXPLICIT` / `explicit` |
//! | `termination` | `withdrawal_method` | per permission |
//! | `thirdPartyDisclosure` | `recipient_third_parties` | `false` / none |
//! | `sensitive`, `spiCat` | `sensitive_pii_category` | `false`, none |
//! | — | `event_state` | `given` / `withdrawn` from [`ConsentEntry::granted`] |
//! | — | `entity_id` | [`ConsentEntry::actor`]'s id (who recorded the event) |
//! | — | `lawful_basis` | `consent` |

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::consent::{ConsentEntry, ConsentSource};
use crate::error::{Error, Result};
use crate::types::Permission;

/// The Kantara `version` value for receipts of this specification.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// Layout of the `iso27560` extension object; bump when it changes.
pub const ISO27560_SCHEMA_VERSION: &str = "fieldcheck-iso27560-receipt/1";

/// Who controls the data and under which policy: the part of a receipt that
/// the ledger does not know. The store fills it from its settings; every
/// field is required because the Kantara schema requires it (phone and
/// address included) or because a receipt without it is not useful.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptContext {
    /// Legal name of the PII controller (Kantara `piiController`).
    pub controller_name: String,
    /// Person or office to contact, e.g. "Data Protection Officer".
    pub controller_contact: String,
    pub controller_email: String,
    /// Required by the Kantara schema.
    pub controller_phone: String,
    /// Postal address on one line; written as `{"streetAddress": …}`.
    pub controller_address: String,
    /// Optional web site (Kantara `piiControllerUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_url: Option<String>,
    /// Legal territory, e.g. an ISO 3166-1 alpha-2 code such as "ID".
    pub jurisdiction: String,
    /// Where the privacy policy is published, without the version; the
    /// receipt appends `version=<policy version>` as a query parameter.
    pub policy_url: String,
    /// Language of the receipt's texts (BCP 47). The purpose and termination
    /// texts built in here are English, so this is "en" unless they are
    /// translated.
    pub language: String,
}

impl ReceiptContext {
    /// A fictional controller for tests and demos. Not for real receipts.
    /// What a receipt names before an admin has set the controller: says
    /// so in every field rather than inventing a controller, so the receipt
    /// is still complete and valid (and visibly unfinished).
    pub fn unconfigured() -> Self {
        let unset = "not configured (an admin sets it: fieldcheck settings controller)";
        ReceiptContext {
            controller_name: format!("Data controller {unset}"),
            controller_contact: unset.into(),
            controller_email: "controller@unconfigured.invalid".into(),
            controller_phone: unset.into(),
            controller_address: unset.into(),
            controller_url: None,
            jurisdiction: unset.into(),
            policy_url: "https://unconfigured.invalid/privacy-policy".into(),
            language: "en".into(),
        }
    }

    pub fn example() -> Self {
        ReceiptContext {
            controller_name: "Example Insurance Ltd (example data)".into(),
            controller_contact: "Data Protection Officer".into(),
            controller_email: "privacy@example.com".into(),
            controller_phone: "+1 555 0100".into(),
            controller_address: "1 Example Street, Example City".into(),
            controller_url: Some("https://example.com".into()),
            jurisdiction: "ID".into(),
            policy_url: "https://example.com/privacy".into(),
            language: "en".into(),
        }
    }

    /// Checks what a receipt needs: no empty or control-character values, an
    /// e-mail with an `@`, and http(s) URLs. Call before storing settings.
    pub fn validate(&self) -> Result<()> {
        let required = [
            ("controller_name", &self.controller_name),
            ("controller_contact", &self.controller_contact),
            ("controller_email", &self.controller_email),
            ("controller_phone", &self.controller_phone),
            ("controller_address", &self.controller_address),
            ("jurisdiction", &self.jurisdiction),
            ("policy_url", &self.policy_url),
            ("language", &self.language),
        ];
        for (field, value) in required {
            check_text(field, value)?;
        }
        if !self.controller_email.contains('@') {
            return Err(Error::invalid(
                "controller_email",
                "is not an e-mail address",
            ));
        }
        check_url("policy_url", &self.policy_url)?;
        if let Some(url) = &self.controller_url {
            check_text("controller_url", url)?;
            check_url("controller_url", url)?;
        }
        Ok(())
    }
}

fn check_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !url.contains(char::is_whitespace) => Ok(()),
        _ => Err(Error::invalid(field, "must be an http:// or https:// URL")),
    }
}

/// What a permission is asked for, in receipt terms.
struct PurposeSpec {
    service: &'static str,
    purpose: &'static str,
    /// From the Kantara v1.1 purpose-category list.
    purpose_category: &'static str,
    /// Kantara's PII-category list has no location category, so these are
    /// plain descriptions.
    pii_category: &'static str,
    primary_purpose: bool,
    termination: &'static str,
}

fn purpose_spec(permission: Permission) -> PurposeSpec {
    match permission {
        Permission::Location => PurposeSpec {
            service: "Attendance verification",
            purpose: "Verify that the agent is at a work site when checking in or out",
            purpose_category: "1 - Core Function",
            pii_category: "Location (GPS fix, discarded after verification)",
            primary_purpose: true,
            termination: "Withdraw at any time in the app or in the operating-system settings; \
                 a new privacy-policy version that requires renewal also ends it. \
                 Coordinates are not kept unless an audit flag covers the agent.",
        },
        Permission::Push => PurposeSpec {
            service: "Push notifications",
            purpose: "Send work notifications to the agent's device",
            purpose_category: "4 - Contact Requested",
            pii_category: "Device push token",
            primary_purpose: false,
            termination: "Withdraw at any time in the app or in the operating-system settings; \
                 withdrawal deletes the stored push token.",
        },
    }
}

/// Kantara `collectionMethod` for a ledger source.
pub fn collection_method(source: ConsentSource) -> &'static str {
    match source {
        ConsentSource::App => "in-app toggle",
        ConsentSource::OsSettings => "operating-system settings",
        ConsentSource::Admin => "recorded by an administrator on the subject's behalf",
    }
}

/// `base` with `version=<version>` added to its query (before any fragment),
/// the version percent-encoded.
pub fn versioned_policy_url(base: &str, version: &str) -> String {
    let (head, fragment) = match base.find('#') {
        Some(i) => base.split_at(i),
        None => (base, ""),
    };
    let separator = if !head.contains('?') {
        "?"
    } else if head.ends_with('?') || head.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!(
        "{head}{separator}version={}{fragment}",
        percent_encode(version)
    )
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The consent receipt for one ledger entry (grant or withdrawal).
///
/// Infallible: every value comes from the entry or the context. Validate the
/// context once with [`ReceiptContext::validate`] when it is stored. An entry
/// time before 1970 would give a negative `consentTimestamp`, which the
/// schema rejects; the ledger never records one.
pub fn consent_receipt(entry: &ConsentEntry, ctx: &ReceiptContext) -> Value {
    let spec = purpose_spec(entry.permission);
    let policy_url = versioned_policy_url(&ctx.policy_url, &entry.policy_version);
    let event_time = crate::time::format_rfc3339(entry.at);
    let method = collection_method(entry.source);

    let termination = if entry.granted {
        spec.termination.to_string()
    } else {
        format!(
            "Withdrawn at {event_time} ({method}); this consent ended then. \
             Terms while it was given: {}",
            spec.termination
        )
    };

    let mut controller = json!({
        "piiController": ctx.controller_name,
        "contact": ctx.controller_contact,
        "address": { "streetAddress": ctx.controller_address },
        "email": ctx.controller_email,
        "phone": ctx.controller_phone,
    });
    if let Some(url) = &ctx.controller_url {
        controller["piiControllerUrl"] = json!(url);
    }

    json!({
        "version": KANTARA_VERSION,
        "jurisdiction": ctx.jurisdiction,
        "consentTimestamp": entry.at.timestamp(),
        "collectionMethod": method,
        "consentReceiptID": entry.id,
        "language": ctx.language,
        "piiPrincipalId": entry.subject,
        "piiControllers": [controller],
        "policyUrl": policy_url,
        "services": [{
            "service": spec.service,
            "purposes": [{
                "purpose": spec.purpose,
                "purposeCategory": [spec.purpose_category],
                "consentType": "EXPLICIT",
                "piiCategory": [spec.pii_category],
                "primaryPurpose": spec.primary_purpose,
                "termination": termination,
                "thirdPartyDisclosure": false,
            }],
        }],
        "sensitive": false,
        "spiCat": [],
        "iso27560": {
            "schema_version": ISO27560_SCHEMA_VERSION,
            "receipt_id": entry.id,
            "record_id": entry.id,
            "pii_principal_id": entry.subject,
            "privacy_notice": {
                "url": policy_url,
                "version": entry.policy_version,
            },
            "lawful_basis": "consent",
            "event_time": event_time,
            "event_type": "explicit",
            "event_state": if entry.granted { "given" } else { "withdrawn" },
            "entity_id": entry.actor.id,
            "collection_method": entry.source.as_str(),
        },
    })
}

/// [`consent_receipt`] as pretty-printed JSON text (what
/// `consent receipt ENTRY_ID` prints).
pub fn consent_receipt_json(entry: &ConsentEntry, ctx: &ReceiptContext) -> Result<String> {
    Ok(serde_json::to_string_pretty(&consent_receipt(entry, ctx))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Actor;
    use chrono::{DateTime, Utc};

    fn entry(permission: Permission, granted: bool, source: ConsentSource) -> ConsentEntry {
        ConsentEntry {
            id: "0190d4c2-7b1e-7a00-8000-000000000001".into(),
            seq: 7,
            subject: "agent-17".into(),
            permission,
            granted,
            policy_version: "2026-01".into(),
            at: DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap(),
            source,
            actor: match source {
                ConsentSource::Admin => Actor::admin("admin-1"),
                _ => Actor::agent("agent-17"),
            },
        }
    }

    #[test]
    fn grant_maps_entry_fields() {
        let e = entry(Permission::Location, true, ConsentSource::App);
        let r = consent_receipt(&e, &ReceiptContext::example());
        assert_eq!(r["version"], "KI-CR-v1.1.0");
        assert_eq!(r["consentReceiptID"], e.id);
        assert_eq!(r["consentTimestamp"], 1_767_225_600);
        assert_eq!(r["piiPrincipalId"], "agent-17");
        assert_eq!(r["collectionMethod"], "in-app toggle");
        assert_eq!(
            r["policyUrl"],
            "https://example.com/privacy?version=2026-01"
        );
        assert_eq!(r["iso27560"]["privacy_notice"]["version"], "2026-01");
        assert_eq!(r["iso27560"]["event_time"], "2026-01-01T00:00:00Z");
        assert_eq!(r["iso27560"]["event_state"], "given");
        assert!(r.get("publicKey").is_none());
        let purpose = &r["services"][0]["purposes"][0];
        assert_eq!(r["services"][0]["service"], "Attendance verification");
        assert_eq!(purpose["primaryPurpose"], true);
        assert_eq!(purpose["thirdPartyDisclosure"], false);
        assert!(
            !purpose["termination"]
                .as_str()
                .unwrap()
                .starts_with("Withdrawn")
        );
    }

    #[test]
    fn withdrawal_says_so_in_kantara_and_27560_fields() {
        let e = entry(Permission::Push, false, ConsentSource::OsSettings);
        let r = consent_receipt(&e, &ReceiptContext::example());
        assert_eq!(r["iso27560"]["event_state"], "withdrawn");
        assert_eq!(r["collectionMethod"], "operating-system settings");
        assert_eq!(r["services"][0]["service"], "Push notifications");
        let termination = r["services"][0]["purposes"][0]["termination"]
            .as_str()
            .unwrap();
        assert!(
            termination.starts_with("Withdrawn at 2026-01-01T00:00:00Z"),
            "{termination}"
        );
    }

    #[test]
    fn admin_entry_names_the_recording_actor() {
        let e = entry(Permission::Location, true, ConsentSource::Admin);
        let r = consent_receipt(&e, &ReceiptContext::example());
        assert_eq!(
            r["collectionMethod"],
            "recorded by an administrator on the subject's behalf"
        );
        assert_eq!(r["iso27560"]["entity_id"], "admin-1");
        assert_eq!(r["piiPrincipalId"], "agent-17");
    }

    #[test]
    fn policy_url_keeps_query_and_fragment() {
        assert_eq!(
            versioned_policy_url("https://x.test/p", "1"),
            "https://x.test/p?version=1"
        );
        assert_eq!(
            versioned_policy_url("https://x.test/p?lang=id", "1"),
            "https://x.test/p?lang=id&version=1"
        );
        assert_eq!(
            versioned_policy_url("https://x.test/p?#s2", "v 2/β"),
            "https://x.test/p?version=v%202%2F%CE%B2#s2"
        );
    }

    #[test]
    fn context_validation() {
        assert!(ReceiptContext::example().validate().is_ok());
        let mut ctx = ReceiptContext::example();
        ctx.controller_phone = " ".into();
        assert!(ctx.validate().is_err());
        let mut ctx = ReceiptContext::example();
        ctx.policy_url = "ftp://example.com/p".into();
        assert!(ctx.validate().is_err());
        let mut ctx = ReceiptContext::example();
        ctx.controller_email = "nobody".into();
        assert!(ctx.validate().is_err());
    }

    #[test]
    fn json_text_round_trips() {
        let e = entry(Permission::Location, true, ConsentSource::App);
        let ctx = ReceiptContext::example();
        let text = consent_receipt_json(&e, &ctx).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, consent_receipt(&e, &ctx));
    }
}
