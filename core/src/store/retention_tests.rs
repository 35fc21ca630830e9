//! Each retention category at its boundary (PRODUCT.md §8): kept one second
//! before its limit, purged one second after, and the chain still verifies.

use chrono::{DateTime, Duration, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::attendance::EventFilter;
use crate::audit::{FlagPurpose, FlagRequest, FlagScope};
#[allow(unused_imports)]
use crate::error::{Error, Result};
use crate::evaluation::Fix;
use crate::leads::{LeadStatus, LeadUpdate, NewLead, NewTransaction, TxnKind};
#[allow(unused_imports)]
use crate::rules::Rules;
#[allow(unused_imports)]
use crate::types::Actor;
use crate::types::{EventKind, Permission};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":400}}]}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("dpo")
}

fn agent() -> Actor {
    Actor::agent("a1")
}

fn store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = super::test_engine::open(dir.path(), "s.db");
    store.import_sites(&admin(), SITES, t0()).unwrap();
    (dir, store)
}

fn consent(store: &Store, permission: Permission, granted: bool, at: DateTime<Utc>) {
    store
        .change_consent(
            &agent(),
            &ConsentChange {
                subject: "a1".into(),
                permission,
                granted,
                policy_version: None,
                source: None,
            },
            at,
        )
        .unwrap();
}

fn check_in(store: &Store, at: DateTime<Utc>) {
    store
        .record_fix(
            &agent(),
            &FixRequest {
                agent: "a1".into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat: -6.1944,
                    lon: 106.8227,
                    accuracy_m: 10.0,
                    captured_at: at,
                    is_mock: false,
                },
            },
            at,
        )
        .unwrap();
}

/// Purges one second before and one second after `limit`; returns the
/// category's counts from both reports.
fn around(store: &Store, limit: DateTime<Utc>, pick: fn(&PurgeReport) -> usize) -> (usize, usize) {
    let before = pick(&store.purge(&admin(), limit - Duration::seconds(1)).unwrap());
    let at = pick(&store.purge(&admin(), limit).unwrap());
    assert_eq!(at, 0, "a record at exactly its limit is kept");
    let after = pick(&store.purge(&admin(), limit + Duration::seconds(1)).unwrap());
    let report = store.verify().unwrap();
    assert!(report.intact, "{report:?}");
    (before, after)
}

#[test]
fn attendance_events_go_two_years_after_capture() {
    let (_d, store) = store();
    consent(&store, Permission::Location, true, t0());
    check_in(&store, t0());
    let limit = t0() + Duration::days(Rules::default().attendance_retention_days);
    assert_eq!(around(&store, limit, |r| r.attendance_events), (0, 1));
    assert!(
        store
            .events(&admin(), &EventFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn retained_coordinates_go_thirty_days_after_their_flag() {
    let (_d, store) = store();
    consent(&store, Permission::Location, true, t0());
    let expiry = t0() + Duration::days(5);
    store
        .set_flag(
            &Actor::supervisor("s"),
            &FlagRequest {
                scope: FlagScope::Agent("a1".into()),
                purpose: FlagPurpose::Audit,
                reason: "random audit".into(),
                expires_at: expiry,
            },
            t0(),
        )
        .unwrap();
    check_in(&store, t0() + Duration::hours(1));
    let limit = expiry + Duration::days(30);
    assert_eq!(around(&store, limit, |r| r.retained_locations), (0, 1));
}

#[test]
fn leads_go_two_years_after_their_last_change_unless_won() {
    let (_d, store) = store();
    let lead = |name: &str| {
        store
            .add_lead(
                &agent(),
                &NewLead {
                    agent: "a1".into(),
                    customer_name: name.into(),
                    ..NewLead::default()
                },
                t0(),
            )
            .unwrap()
    };
    let open = lead("Open Lead Person");
    let won = lead("Won Lead Person");
    let changed = t0() + Duration::days(3);
    store
        .update_lead(
            &agent(),
            &open.id,
            &LeadUpdate {
                status: Some(LeadStatus::Contacted),
                ..LeadUpdate::default()
            },
            changed,
        )
        .unwrap();
    store
        .add_transaction(
            &agent(),
            &NewTransaction {
                agent: "a1".into(),
                kind: TxnKind::PolicyClosing,
                policy_number: "P-1".into(),
                product: "life".into(),
                amount: "10".into(),
                currency: "EUR".into(),
                lead_id: Some(won.id.clone()),
                occurred_at: Some(changed),
            },
            changed,
        )
        .unwrap();
    store
        .update_lead(
            &agent(),
            &won.id,
            &LeadUpdate {
                status: Some(LeadStatus::Won),
                ..LeadUpdate::default()
            },
            changed,
        )
        .unwrap();
    let limit = changed + Duration::days(Rules::default().lead_retention_days);
    assert_eq!(around(&store, limit, |r| r.leads), (0, 1));
    let left: Vec<String> = store
        .leads(&admin(), &LeadFilter::default())
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(left, [won.id], "the won lead stays with its closing");
}

#[test]
fn transactions_go_seven_years_after_they_occurred() {
    let (_d, store) = store();
    store
        .add_transaction(
            &agent(),
            &NewTransaction {
                agent: "a1".into(),
                kind: TxnKind::PremiumPayment,
                policy_number: "P-2".into(),
                product: "health".into(),
                amount: "150000".into(),
                currency: "IDR".into(),
                lead_id: None,
                occurred_at: Some(t0()),
            },
            t0(),
        )
        .unwrap();
    let limit = t0() + Duration::days(Rules::default().transaction_retention_days);
    assert_eq!(limit, Utc.with_ymd_and_hms(2033, 3, 2, 1, 0, 0).unwrap());
    assert_eq!(around(&store, limit, |r| r.transactions), (0, 1));
}

#[test]
fn consent_entries_go_five_years_after_withdrawal_and_standing_consent_stays() {
    let (_d, store) = store();
    consent(&store, Permission::Push, true, t0());
    let withdrawn = t0() + Duration::days(10);
    consent(&store, Permission::Push, false, withdrawn);
    consent(&store, Permission::Location, true, t0());
    let limit =
        withdrawn + Duration::days(Rules::default().consent_retention_days_after_withdrawal);
    assert_eq!(around(&store, limit, |r| r.consent_entries), (0, 2));
    let history = store.consent_history(&admin(), "a1").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].permission, Permission::Location);
}
