//! PRODUCT.md §8 erasure, tested byte by byte: after a lead customer and an
//! agent are erased, no encoding of the customer's name, phone, e-mail, the
//! agent's push token or the notes written about them remains in the
//! database, its WAL, its shared memory or free pages — and `verify` still
//! passes, because personal fields entered the chain only as salted digests.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use fieldcheck_core::leads::{LeadUpdate, NewLead, NewTransaction, TxnKind};
use fieldcheck_core::{
    Actor, ConsentChange, DataSubject, Decision, EventKind, Fix, FixRequest, FlagPurpose,
    FlagRequest, FlagScope, Permission, Store,
};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":400}}]}"#;

const NAME: &str = "Xaverius Qorib Wulandari";
const NAME_FIXED: &str = "Xaverius Qorib Wulandari-Halim";
const PHONE: &str = "+62 899 7351 2468";
const EMAIL: &str = "xaverius.q@contoh.example";
const NOTE: &str = "Prefers calls after Zuhr prayers";
const TOKEN: &str = "fcm-tok-9f8e7d6c5b4a39281706";
const REVIEW_NOTE: &str = "Confirmed by Pak Harjono at the gate";
const FLAG_REASON: &str = "Spoofing suspected by Bu Kartika";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn files(db: &Path) -> Vec<PathBuf> {
    let mut out = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        out.push(PathBuf::from(name));
    }
    out
}

/// UTF-8, UTF-16 (both byte orders) and JSON-escaped forms of each value,
/// its longest word alone when that is long enough to identify anyone, and
/// its digits run together (a phone number stored normalised). A shorter
/// word is left out: a 4-digit one ("2468") turns up by chance in the
/// kilobytes of hex ids and digests a store holds (it failed a CI run so).
fn needles(values: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for value in values {
        out.push((format!("{value:?} utf-8"), value.as_bytes().to_vec()));
        let le: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
        out.push((format!("{value:?} utf-16le"), le));
        out.push((format!("{value:?} utf-16be"), be));
        let json = serde_json::to_string(value).unwrap();
        out.push((format!("{value:?} json"), json.into_bytes()));
        if let Some(word) = value
            .split([' ', '@', '.'])
            .max_by_key(|w| w.len())
            .filter(|w| w.len() >= 6)
        {
            out.push((format!("{value:?} word {word:?}"), word.as_bytes().to_vec()));
        }
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 8 {
            out.push((format!("{value:?} digits {digits:?}"), digits.into_bytes()));
        }
    }
    out
}

fn find(db: &Path, values: &[&str]) -> Vec<String> {
    let needles = needles(values);
    let mut hits = Vec::new();
    for file in files(db) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for (label, needle) in &needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                hits.push(format!("{label} in {}", file.display()));
            }
        }
    }
    hits
}

#[test]
fn erased_personal_fields_leave_no_bytes_and_the_chain_verifies() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("device.db");
    let store = Store::open(&db).unwrap();
    let admin = Actor::admin("dpo");
    let agent = Actor::agent("agent-7");
    store.import_sites(&admin, SITES, t0()).unwrap();
    for permission in [Permission::Location, Permission::Push] {
        store
            .change_consent(
                &agent,
                &ConsentChange {
                    subject: "agent-7".into(),
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
        .register_push_token(&agent, "agent-7", TOKEN, t0())
        .unwrap();
    store
        .set_flag(
            &Actor::supervisor("sup"),
            &FlagRequest {
                scope: FlagScope::Agent("agent-7".into()),
                purpose: FlagPurpose::Security,
                reason: FLAG_REASON.into(),
                expires_at: t0() + Duration::days(10),
            },
            t0(),
        )
        .unwrap();
    let event = store
        .record_fix(
            &agent,
            &FixRequest {
                agent: "agent-7".into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat: -6.19431,
                    lon: 106.82277,
                    accuracy_m: 9.0,
                    captured_at: t0() + Duration::hours(1),
                    is_mock: false,
                },
            },
            t0() + Duration::hours(1),
        )
        .unwrap();
    assert!(event.location_retained);
    store
        .review(
            &Actor::supervisor("sup"),
            &event.id,
            Decision::Approved,
            REVIEW_NOTE,
            t0() + Duration::hours(2),
        )
        .unwrap();
    let lead = store
        .add_lead(
            &agent,
            &NewLead {
                agent: "agent-7".into(),
                customer_name: NAME.into(),
                phone: Some(PHONE.into()),
                email: Some(EMAIL.into()),
                product: Some("term life".into()),
                source: Some("walk-in".into()),
                note: Some(NOTE.into()),
            },
            t0(),
        )
        .unwrap();
    // Rectification: a corrected name is a new version; both exist.
    store
        .update_lead(
            &admin,
            &lead.id,
            &LeadUpdate {
                customer_name: Some(NAME_FIXED.into()),
                ..LeadUpdate::default()
            },
            t0() + Duration::hours(3),
        )
        .unwrap();
    store
        .add_transaction(
            &agent,
            &NewTransaction {
                agent: "agent-7".into(),
                kind: TxnKind::PolicyClosing,
                policy_number: "POL-77".into(),
                product: "term life".into(),
                amount: "2500000".into(),
                currency: "IDR".into(),
                lead_id: Some(lead.id.clone()),
                occurred_at: None,
            },
            t0() + Duration::hours(4),
        )
        .unwrap();
    store.checkpoint().unwrap();
    let personal = [
        NAME,
        NAME_FIXED,
        PHONE,
        EMAIL,
        NOTE,
        TOKEN,
        REVIEW_NOTE,
        FLAG_REASON,
    ];
    // Self-check: before erasure the search finds every value.
    let before = find(&db, &personal);
    for value in personal {
        assert!(
            before
                .iter()
                .any(|h| h.starts_with(&format!("{value:?} utf-8"))),
            "{value} should be stored before erasure: {before:?}"
        );
    }

    let customer = store
        .erase_subject(
            &admin,
            &DataSubject::lead(lead.id.clone()),
            t0() + Duration::days(1),
        )
        .unwrap();
    assert!(customer.kept.iter().any(|k| k.category == "transactions"
        && k.until == Some(t0() + Duration::hours(4) + Duration::days(7 * 365 + 2))));
    let agent_report = store
        .erase_subject(
            &admin,
            &DataSubject::agent("agent-7"),
            t0() + Duration::days(1),
        )
        .unwrap();
    let erased = |category: &str| {
        agent_report
            .erased
            .iter()
            .find(|e| e.category == category)
            .map(|e| e.count)
    };
    assert_eq!(erased("push_token"), Some(1));
    assert_eq!(erased("retained_locations"), Some(1));
    assert_eq!(erased("review_notes"), Some(1));
    assert_eq!(erased("flag_reasons"), Some(1));
    assert!(
        agent_report
            .kept
            .iter()
            .any(|k| k.category == "attendance_events")
    );

    let hits = find(&db, &personal);
    assert!(hits.is_empty(), "erased values still on disk: {hits:#?}");
    let report = store.verify().unwrap();
    assert!(report.intact, "{report:?}");
    // What stays is the record without its personal fields.
    let after = store.lead(&admin, &lead.id).unwrap();
    assert!(after.erased && after.customer_name.is_none() && after.phone.is_none());
    assert_eq!(store.push_token(&admin, "agent-7").unwrap(), None);
    drop(store);
    let hits = find(&db, &personal);
    assert!(
        hits.is_empty(),
        "erased values on disk after close: {hits:#?}"
    );
}
