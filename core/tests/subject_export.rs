//! PRODUCT.md §8 access and portability: one JSON document with everything
//! held about a subject, which parses back and holds every category.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fieldcheck_core::leads::{LeadUpdate, NewLead, NewTransaction, TxnKind};
use fieldcheck_core::{
    Actor, ConsentChange, DataSubject, Decision, Error, EventKind, Fix, FixRequest, FlagPurpose,
    FlagRequest, FlagScope, Permission, Store,
};
use serde_json::Value;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":400}}]}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

#[test]
fn an_export_holds_every_category_and_parses_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let admin = Actor::admin("dpo");
    let agent = Actor::agent("a1");
    store.import_sites(&admin, SITES, t0()).unwrap();
    for permission in [Permission::Location, Permission::Push] {
        store
            .change_consent(
                &agent,
                &ConsentChange {
                    subject: "a1".into(),
                    permission,
                    granted: true,
                    policy_version: None,
                    source: None,
                },
                t0(),
            )
            .unwrap();
    }
    store
        .register_push_token(&agent, "a1", "tok-1", t0())
        .unwrap();
    store
        .set_flag(
            &Actor::supervisor("s1"),
            &FlagRequest {
                scope: FlagScope::Agent("a1".into()),
                purpose: FlagPurpose::Audit,
                reason: "quarterly audit".into(),
                expires_at: t0() + Duration::days(7),
            },
            t0(),
        )
        .unwrap();
    let event = store
        .record_fix(
            &agent,
            &FixRequest {
                agent: "a1".into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat: -6.1944,
                    lon: 106.8227,
                    accuracy_m: 8.0,
                    captured_at: t0() + Duration::hours(1),
                    is_mock: false,
                },
            },
            t0() + Duration::hours(1),
        )
        .unwrap();
    store
        .review(
            &Actor::supervisor("s1"),
            &event.id,
            Decision::Approved,
            "ok",
            t0() + Duration::hours(2),
        )
        .unwrap();
    let lead = store
        .add_lead(
            &agent,
            &NewLead {
                agent: "a1".into(),
                customer_name: "Sri Rahayu".into(),
                phone: Some("+62 811 000 111".into()),
                ..NewLead::default()
            },
            t0(),
        )
        .unwrap();
    store
        .update_lead(
            &agent,
            &lead.id,
            &LeadUpdate {
                phone: Some("+62 811 000 222".into()),
                ..LeadUpdate::default()
            },
            t0() + Duration::hours(3),
        )
        .unwrap();
    store
        .add_transaction(
            &agent,
            &NewTransaction {
                agent: "a1".into(),
                kind: TxnKind::PolicyClosing,
                policy_number: "P-1".into(),
                product: "life".into(),
                amount: "1000000".into(),
                currency: "IDR".into(),
                lead_id: Some(lead.id.clone()),
                occurred_at: None,
            },
            t0() + Duration::hours(4),
        )
        .unwrap();
    store
        .set_restriction(&admin, "a1", true, t0() + Duration::hours(5))
        .unwrap();

    let export = store
        .export_subject(&admin, &DataSubject::agent("a1"), t0() + Duration::days(1))
        .unwrap();
    let text = serde_json::to_string(&export).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "fieldcheck-subject-export");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["subject"]["id"], "a1");
    for category in [
        "consent_ledger",
        "attendance_events",
        "retained_locations",
        "audit_flags",
        "leads",
        "transactions",
        "reviews",
        "restrictions",
        "requests",
    ] {
        let n = doc[category].as_array().map_or(0, Vec::len);
        assert!(n > 0, "{category} is empty in {text}");
    }
    assert_eq!(doc["profile"]["push_token"], "tok-1");
    // This access request is logged, completed, and part of the copy.
    let access = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "access")
        .unwrap();
    assert_ne!(access["completed_at"], serde_json::Value::Null, "{access}");
    assert_eq!(doc["profile"]["restricted"], true);
    assert_eq!(doc["retained_locations"][0]["lat"], -6.1944);
    // Both versions of the rectified phone number, with who changed it.
    let history = doc["leads"][0]["history"].as_array().unwrap();
    assert_eq!(history[0]["phone"], "+62 811 000 111");
    assert_eq!(history[1]["phone"], "+62 811 000 222");
    assert_eq!(history[1]["actor"]["id"], "a1");

    // The customer's own copy: their lead and the policy they bought.
    let customer = store
        .export_subject(
            &admin,
            &DataSubject::lead(lead.id.clone()),
            t0() + Duration::days(1),
        )
        .unwrap();
    let doc: Value = serde_json::from_str(&serde_json::to_string(&customer).unwrap()).unwrap();
    assert_eq!(doc["profile"]["customer_name"], "Sri Rahayu");
    assert_eq!(doc["transactions"][0]["policy_number"], "P-1");

    // Agents may export themselves, not others; supervisors not at all.
    assert!(
        store
            .export_subject(&agent, &DataSubject::agent("a1"), t0())
            .is_ok()
    );
    for (actor, subject) in [
        (Actor::agent("a2"), DataSubject::agent("a1")),
        (Actor::supervisor("s1"), DataSubject::agent("a1")),
        (agent.clone(), DataSubject::lead(lead.id.clone())),
    ] {
        assert!(matches!(
            store.export_subject(&actor, &subject, t0()),
            Err(Error::PermissionDenied(_))
        ));
    }
}
