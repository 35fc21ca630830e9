//! Consent receipts (PRODUCT.md §5) validate against the Kantara Initiative
//! Consent Receipt v1.1 JSON schema, stored verbatim in
//! tests/data/kantara_consent_receipt_v1.1.schema.json (see
//! tests/data/README.md for its source).

use chrono::{DateTime, Utc};
use fieldcheck_core::receipt::{ReceiptContext, consent_receipt};
use fieldcheck_core::{Actor, ConsentEntry, ConsentSource, Permission};
use serde_json::Value;
use sha2::{Digest, Sha256};

const SCHEMA_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/kantara_consent_receipt_v1.1.schema.json"
);

/// SHA-256 of the upstream file, so an edit to the "verbatim" copy is noticed.
const SCHEMA_SHA256: &str = "e5ca5f6a7b7c499b00e6dc5473271ca194693546165a7191c151c615f2e68d2a";

/// The upstream file opens with two `//` comment lines, which JSON does not
/// allow. They are dropped here, leaving the stored file untouched.
fn schema() -> Value {
    let text = std::fs::read_to_string(SCHEMA_FILE).expect("schema file");
    assert_eq!(
        hex::encode(Sha256::digest(text.as_bytes())),
        SCHEMA_SHA256,
        "the stored schema is no longer the upstream copy"
    );
    let json: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).expect("schema is JSON once the comment lines are dropped")
}

fn validator() -> jsonschema::Validator {
    let schema = schema();
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-04/schema#",
        "the Kantara v1.1 schema is a draft-04 schema"
    );
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

fn errors(validator: &jsonschema::Validator, receipt: &Value) -> Vec<String> {
    validator
        .iter_errors(receipt)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn entry(
    id: &str,
    permission: Permission,
    granted: bool,
    source: ConsentSource,
    actor: Actor,
) -> ConsentEntry {
    ConsentEntry {
        id: id.into(),
        seq: 1,
        subject: "agent-7".into(),
        permission,
        granted,
        policy_version: "2026-03".into(),
        at: DateTime::<Utc>::from_timestamp(1_773_000_000, 0).unwrap(),
        source,
        actor,
    }
}

fn cases() -> Vec<(&'static str, ConsentEntry)> {
    vec![
        (
            "location granted via app",
            entry(
                "0195a1b2-0000-7000-8000-000000000001",
                Permission::Location,
                true,
                ConsentSource::App,
                Actor::agent("agent-7"),
            ),
        ),
        (
            "push withdrawn via OS settings",
            entry(
                "0195a1b2-0000-7000-8000-000000000002",
                Permission::Push,
                false,
                ConsentSource::OsSettings,
                Actor::agent("agent-7"),
            ),
        ),
        (
            "location recorded by an admin",
            entry(
                "0195a1b2-0000-7000-8000-000000000003",
                Permission::Location,
                true,
                ConsentSource::Admin,
                Actor::admin("admin-1"),
            ),
        ),
    ]
}

#[test]
fn receipts_validate_against_the_kantara_schema() {
    let validator = validator();
    let ctx = ReceiptContext::example();
    for (name, e) in cases() {
        let receipt = consent_receipt(&e, &ctx);
        let errs = errors(&validator, &receipt);
        assert!(errs.is_empty(), "{name}: {errs:#?}\n{receipt:#}");

        assert_eq!(receipt["consentReceiptID"], e.id.as_str(), "{name}");
        assert_eq!(receipt["consentTimestamp"], e.at.timestamp(), "{name}");
        assert_eq!(receipt["piiPrincipalId"], e.subject.as_str(), "{name}");
        assert_eq!(receipt["iso27560"]["privacy_notice"]["version"], "2026-03");
        assert!(
            receipt["policyUrl"]
                .as_str()
                .unwrap()
                .ends_with("version=2026-03"),
            "{name}"
        );
        let state = if e.granted { "given" } else { "withdrawn" };
        assert_eq!(receipt["iso27560"]["event_state"], state, "{name}");
    }
}

#[test]
fn receipt_without_a_receipt_id_fails_validation() {
    let validator = validator();
    let (_, e) = cases().remove(0);
    let mut receipt = consent_receipt(&e, &ReceiptContext::example());
    assert!(validator.is_valid(&receipt));

    receipt.as_object_mut().unwrap().remove("consentReceiptID");
    let errs = errors(&validator, &receipt);
    assert!(
        errs.iter().any(|e| e.contains("consentReceiptID")),
        "{errs:#?}"
    );
}

#[test]
fn schema_rejects_wrong_types_and_missing_purpose_fields() {
    let validator = validator();
    let (_, e) = cases().remove(1);
    let good = consent_receipt(&e, &ReceiptContext::example());

    let mut string_time = good.clone();
    string_time["consentTimestamp"] = Value::from("2026-03-08T20:00:00Z");
    assert!(!validator.is_valid(&string_time));

    let mut no_phone = good.clone();
    no_phone["piiControllers"][0]
        .as_object_mut()
        .unwrap()
        .remove("phone");
    assert!(!validator.is_valid(&no_phone));

    let mut no_disclosure = good;
    no_disclosure["services"][0]["purposes"][0]
        .as_object_mut()
        .unwrap()
        .remove("thirdPartyDisclosure");
    assert!(!validator.is_valid(&no_disclosure));
}
