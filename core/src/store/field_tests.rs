//! Leads, transactions, shifts, reviews and reports against a real store.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use tempfile::TempDir;

use super::*;
use crate::consent::ConsentEntry;
use crate::error::ErrorKind;
#[allow(unused_imports)]
use crate::error::{Error, Result};
use crate::evaluation::Fix;
use crate::leads::{LeadStatus, LeadUpdate, NewLead, NewTransaction, TxnKind};
use crate::report::DayStatus;
use crate::review::Decision;
#[allow(unused_imports)]
use crate::rules::Rules;
use crate::shift::{Shift, WeekdaySet, parse_hhmm, parse_time_zone};
#[allow(unused_imports)]
use crate::types::Actor;
use crate::types::{EventKind, Permission};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[4.9041,52.3676]},
  "properties":{"id":"ams","name":"Amsterdam office","radius_m":150}}]}"#;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

fn store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = super::test_engine::open(dir.path(), "s.db");
    store
        .import_sites(&admin(), SITES, at(2026, 1, 1, 0, 0))
        .unwrap();
    (dir, store)
}

fn grant(store: &Store, agent: &str, now: DateTime<Utc>) -> ConsentEntry {
    store
        .change_consent(
            &Actor::agent(agent),
            &ConsentChange {
                subject: agent.into(),
                permission: Permission::Location,
                granted: true,
                policy_version: None,
                source: None,
            },
            now,
        )
        .unwrap()
}

fn check(
    store: &Store,
    agent: &str,
    kind: EventKind,
    place: (f64, f64),
    now: DateTime<Utc>,
) -> crate::attendance::AttendanceEvent {
    super::tests::fix_at(store, agent, kind, place, now).unwrap()
}

const JKT: (f64, f64) = (-6.1944, 106.8227);
const AMS: (f64, f64) = (52.3676, 4.9041);

fn shift(start: &str, days: &str, tz: &str) -> Shift {
    Shift::new(
        parse_hhmm("start", start).unwrap(),
        parse_hhmm("end", "17:00").unwrap(),
        WeekdaySet::parse(days).unwrap(),
        parse_time_zone(tz).unwrap(),
    )
    .unwrap()
}

fn ledger_len(store: &Store) -> i64 {
    store
        .read(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM ledger", [], |r| r.get(0))?))
        .unwrap()
}

fn new_lead(agent: &str, name: &str) -> NewLead {
    NewLead {
        agent: agent.into(),
        customer_name: name.into(),
        phone: Some("+62 812-3456-7890".into()),
        email: Some("budi@example.co.id".into()),
        product: Some("term life".into()),
        source: Some("referral".into()),
        note: None,
    }
}

#[test]
fn leads_move_forward_and_keep_every_version() {
    let (_d, store) = store();
    let agent = Actor::agent("a1");
    let t = at(2026, 3, 2, 3, 0);
    let lead = store.add_lead(&agent, &new_lead("a1", "Budi"), t).unwrap();
    assert_eq!(lead.status, LeadStatus::New);

    let step = |status: LeadStatus| LeadUpdate {
        status: Some(status),
        ..LeadUpdate::default()
    };
    store
        .update_lead(&agent, &lead.id, &step(LeadStatus::Qualified), t)
        .unwrap();
    // Backwards is a typed error and changes nothing.
    let before = ledger_len(&store);
    let err = store
        .update_lead(&agent, &lead.id, &step(LeadStatus::Contacted), t)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "status"));
    assert_eq!(ledger_len(&store), before);

    // Won needs a policy closing for this lead.
    let err = store
        .update_lead(&agent, &lead.id, &step(LeadStatus::Won), t)
        .unwrap_err();
    assert!(err.to_string().contains("policy_closing"), "{err}");
    let premium = NewTransaction {
        agent: "a1".into(),
        kind: TxnKind::PremiumPayment,
        policy_number: "POL-1".into(),
        product: "term life".into(),
        amount: "100".into(),
        currency: "IDR".into(),
        lead_id: Some(lead.id.clone()),
        occurred_at: None,
    };
    store.add_transaction(&agent, &premium, t).unwrap();
    assert!(
        store
            .update_lead(&agent, &lead.id, &step(LeadStatus::Won), t)
            .is_err(),
        "a premium payment is not a closing"
    );
    let closing = store
        .add_transaction(
            &agent,
            &NewTransaction {
                kind: TxnKind::PolicyClosing,
                amount: "1500000.50".into(),
                ..premium
            },
            t,
        )
        .unwrap();
    assert_eq!(closing.amount_minor, 150_000_050);
    let won = store
        .update_lead(&agent, &lead.id, &step(LeadStatus::Won), t)
        .unwrap();
    assert_eq!(won.status, LeadStatus::Won);
    assert!(
        store
            .update_lead(&agent, &lead.id, &step(LeadStatus::Lost), t)
            .is_err(),
        "a won lead stays won"
    );

    // Rectification: a corrected phone is a new version, the old one kept.
    let fixed = store
        .update_lead(
            &Actor::admin("dpo"),
            &lead.id,
            &LeadUpdate {
                phone: Some("+62 813 0000 1111".into()),
                ..LeadUpdate::default()
            },
            at(2026, 3, 3, 0, 0),
        )
        .unwrap();
    assert_eq!(fixed.phone.as_deref(), Some("+62 813 0000 1111"));
    let history = store.lead_history(&agent, &lead.id).unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[0].personal.get("phone"), Some("+62 812-3456-7890"));
    assert_eq!(history[3].personal.get("phone"), Some("+62 813 0000 1111"));
    assert_eq!(history[3].actor.id, "dpo");
    assert_eq!(history[2].txn_id.as_deref(), Some(closing.id.as_str()));
    assert!(store.verify().unwrap().intact);
}

#[test]
fn awkward_names_round_trip_unchanged() {
    let (_d, store) = store();
    let agent = Actor::agent("a1");
    for name in [
        "O'Brien \"Bobby\"",
        "Robert'); DROP TABLE leads;--",
        "Dewi 🌺 Lestari",
        "مريم الحسيني",
        "שרה כהן",
        "Zoë\u{200f}Łukasz",
    ] {
        let lead = store
            .add_lead(&agent, &new_lead("a1", name), at(2026, 3, 2, 3, 0))
            .unwrap();
        let back = store.lead(&agent, &lead.id).unwrap();
        assert_eq!(back.customer_name.as_deref(), Some(name));
    }
    assert_eq!(
        store.leads(&agent, &LeadFilter::default()).unwrap().len(),
        6
    );
    assert!(store.verify().unwrap().intact);
}

#[test]
fn tampering_with_a_lead_personal_field_breaks_verify() {
    super::sqlite_only!("edits a row through a second SQLite connection");
    super::clear_only!("edits a lead's name in clear (sealing_tests alters sealed values)");
    let (dir, store) = store();
    let lead = store
        .add_lead(
            &Actor::agent("a1"),
            &new_lead("a1", "Budi"),
            at(2026, 3, 2, 3, 0),
        )
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    conn.execute(
        "UPDATE lead_activity SET sealed = replace(sealed, 'Budi', 'Bude')",
        [],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let report = store.verify().unwrap();
    assert!(!report.intact);
    assert!(
        report
            .first_broken
            .unwrap()
            .problem
            .contains("customer_name")
    );
    let _ = lead;
}

#[test]
fn transactions_use_minor_units_and_reject_bad_amounts() {
    let (_d, store) = store();
    let agent = Actor::agent("a1");
    let t = at(2026, 3, 2, 3, 0);
    let txn = |amount: &str, currency: &str| NewTransaction {
        agent: "a1".into(),
        kind: TxnKind::PolicyClosing,
        policy_number: "P-9".into(),
        product: "health".into(),
        amount: amount.into(),
        currency: currency.into(),
        lead_id: None,
        occurred_at: None,
    };
    for (amount, currency, minor) in [
        ("1500000", "IDR", 150_000_000),
        ("1500", "JPY", 1500),
        ("12.345", "KWD", 12_345),
        ("20.5", "EUR", 2050),
    ] {
        let t = store
            .add_transaction(&agent, &txn(amount, currency), t)
            .unwrap();
        assert_eq!(t.amount_minor, minor, "{amount} {currency}");
    }
    let before = ledger_len(&store);
    for (amount, currency) in [
        ("-5", "IDR"),
        ("1.5", "JPY"),
        ("1.0001", "KWD"),
        ("1,000", "EUR"),
        ("abc", "EUR"),
        ("10", "XYZ"),
        ("10", ""),
    ] {
        let err = store
            .add_transaction(&agent, &txn(amount, currency), t)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{amount} {currency}");
    }
    assert_eq!(ledger_len(&store), before);
    assert!(store.verify().unwrap().intact);
}

#[test]
fn roles_are_enforced_and_denials_change_nothing() {
    let (_d, store) = store();
    let t = at(2026, 3, 2, 3, 0);
    let lead = store
        .add_lead(&Actor::agent("a1"), &new_lead("a1", "Budi"), t)
        .unwrap();
    let before = ledger_len(&store);
    let denied = |r: Result<()>| {
        assert!(matches!(r, Err(Error::PermissionDenied(_))), "{r:?}");
    };
    denied(
        store
            .add_lead(&Actor::agent("a2"), &new_lead("a1", "X"), t)
            .map(|_| ()),
    );
    denied(
        store
            .add_lead(&Actor::supervisor("s1"), &new_lead("a1", "X"), t)
            .map(|_| ()),
    );
    denied(
        store
            .update_lead(
                &Actor::agent("a2"),
                &lead.id,
                &LeadUpdate {
                    status: Some(LeadStatus::Lost),
                    ..LeadUpdate::default()
                },
                t,
            )
            .map(|_| ()),
    );
    denied(store.set_shift(
        &Actor::supervisor("s1"),
        "a1",
        &shift("08:00", "mon-fri", "Asia/Jakarta"),
        t,
    ));
    denied(
        store
            .leads(
                &Actor::agent("a2"),
                &LeadFilter {
                    agent: Some("a1".into()),
                    status: None,
                },
            )
            .map(|_| ()),
    );
    denied(
        store
            .attendance_report(
                &Actor::agent("a2"),
                &ReportQuery {
                    from: date(2026, 3, 1),
                    to: date(2026, 3, 2),
                    agent: Some("a1".into()),
                },
                t,
            )
            .map(|_| ()),
    );
    assert_eq!(ledger_len(&store), before);
    // Agents see only their own leads even without a filter.
    assert!(
        store
            .leads(&Actor::agent("a2"), &LeadFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn jakarta_day_starts_at_17_utc_and_reports_lateness_and_missing_check_outs() {
    let (_d, store) = store();
    store
        .set_shift(
            &admin(),
            "a1",
            &shift("08:00", "mon-fri", "Asia/Jakarta"),
            at(2026, 3, 1, 0, 0),
        )
        .unwrap();
    grant(&store, "a1", at(2026, 3, 1, 0, 0));
    // Mon 2 March 23:30 UTC = Tue 3 March 06:30 WIB: counts for Tuesday.
    check(
        &store,
        "a1",
        EventKind::CheckIn,
        JKT,
        at(2026, 3, 2, 23, 30),
    );
    check(
        &store,
        "a1",
        EventKind::CheckOut,
        JKT,
        at(2026, 3, 3, 10, 0),
    );
    // Wed 4 March: 08:25 WIB is 15 minutes past 08:00 + 10 min grace; no
    // check-out that day.
    let late = check(&store, "a1", EventKind::CheckIn, JKT, at(2026, 3, 4, 1, 25));
    // Thu 5 March: nothing at all (absent). Fri 6: a rejected mock fix.
    store
        .record_fix(
            &Actor::agent("a1"),
            &FixRequest {
                agent: "a1".into(),
                kind: EventKind::CheckIn,
                fix: Fix {
                    lat: JKT.0,
                    lon: JKT.1,
                    accuracy_m: 10.0,
                    captured_at: at(2026, 3, 6, 1, 0),
                    is_mock: true,
                },
            },
            at(2026, 3, 6, 1, 0),
        )
        .unwrap();
    store
        .review(
            &Actor::supervisor("s1"),
            &late.id,
            Decision::Approved,
            "traffic on the toll road",
            at(2026, 3, 5, 0, 0),
        )
        .unwrap();

    let report = store
        .attendance_report(
            &Actor::supervisor("s1"),
            &ReportQuery {
                from: date(2026, 3, 2),
                to: date(2026, 3, 6),
                agent: None,
            },
            at(2026, 3, 7, 0, 0),
        )
        .unwrap();
    let day = |d: u32| report.days.iter().find(|x| x.date == date(2026, 3, d));
    // Monday: no record at all (the 23:30 UTC check-in belongs to Tuesday).
    assert_eq!(day(2).unwrap().status, DayStatus::Absent);
    let tue = day(3).unwrap();
    assert_eq!(tue.status, DayStatus::OnTime);
    assert_eq!(tue.minutes_late, Some(0));
    assert_eq!(
        tue.first_check_in.unwrap().to_rfc3339(),
        "2026-03-03T06:30:00+07:00"
    );
    assert!(!tue.missing_check_out);
    let wed = day(4).unwrap();
    assert_eq!(wed.status, DayStatus::Late);
    assert_eq!(wed.minutes_late, Some(15));
    assert!(wed.missing_check_out);
    // A decision on one of the day's events is that event's, not the
    // day's (report schema 2).
    assert!(wed.review.is_none());
    assert_eq!(wed.event_reviews.len(), 1);
    assert_eq!(wed.event_reviews[0].decision, crate::Decision::Approved);
    assert_eq!(
        wed.event_reviews[0].note.as_deref(),
        Some("traffic on the toll road")
    );
    assert_eq!(day(5).unwrap().status, DayStatus::Absent);
    let fri = day(6).unwrap();
    assert_eq!(fri.status, DayStatus::Absent);
    assert_eq!(fri.rejected.get("mock_location"), Some(1));
    assert_eq!(fri.rejected_total, 1);
    let totals: Vec<(u32, u32, u32)> = report
        .totals
        .iter()
        .map(|t| (t.on_time, t.late, t.absent))
        .collect();
    assert_eq!(
        totals,
        [(0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)]
    );
    assert!(store.verify().unwrap().intact);
}

#[test]
fn amsterdam_lateness_follows_daylight_saving() {
    let (_d, store) = store();
    store
        .set_shift(
            &admin(),
            "nl1",
            &shift("09:00", "daily", "Europe/Amsterdam"),
            at(2026, 3, 1, 0, 0),
        )
        .unwrap();
    grant(&store, "nl1", at(2026, 3, 1, 0, 0));
    // Sat 28 March (CET, +1): 08:05Z = 09:05 local → on time.
    check(
        &store,
        "nl1",
        EventKind::CheckIn,
        AMS,
        at(2026, 3, 28, 8, 5),
    );
    // Sun 29 March (CEST, +2 from 01:00Z): 08:05Z = 10:05 local → 55 late.
    check(
        &store,
        "nl1",
        EventKind::CheckIn,
        AMS,
        at(2026, 3, 29, 8, 5),
    );
    let report = store
        .attendance_report(
            &admin(),
            &ReportQuery {
                from: date(2026, 3, 28),
                to: date(2026, 3, 29),
                agent: Some("nl1".into()),
            },
            at(2026, 3, 30, 0, 0),
        )
        .unwrap();
    let late: Vec<Option<u32>> = report.days.iter().map(|d| d.minutes_late).collect();
    assert_eq!(late, [Some(0), Some(55)]);
    // Saturday's check-in was a sequence warning (still open) and both days
    // miss their check-outs.
    assert!(report.days.iter().all(|d| d.missing_check_out));
}

#[test]
fn changing_an_agents_zone_recomputes_their_days() {
    let (_d, store) = store();
    grant(&store, "a1", at(2026, 3, 1, 0, 0));
    // Without a shift days are UTC: 23:30Z on the 2nd is the 2nd.
    check(
        &store,
        "a1",
        EventKind::CheckIn,
        JKT,
        at(2026, 3, 2, 23, 30),
    );
    let query = ReportQuery {
        from: date(2026, 3, 2),
        to: date(2026, 3, 3),
        agent: Some("a1".into()),
    };
    let dates = |store: &Store| -> Vec<NaiveDate> {
        store
            .attendance_report(&admin(), &query, at(2026, 3, 4, 0, 0))
            .unwrap()
            .days
            .iter()
            .map(|d| d.date)
            .collect()
    };
    assert_eq!(dates(&store), [date(2026, 3, 2)]);
    store
        .set_shift(
            &admin(),
            "a1",
            &shift("08:00", "sat-sun", "Asia/Jayapura"),
            at(2026, 3, 4, 0, 0),
        )
        .unwrap();
    assert_eq!(dates(&store), [date(2026, 3, 3)]);
}

#[test]
fn sales_report_counts_statuses_conversion_and_premium_per_currency() {
    let (_d, store) = store();
    let agent = Actor::agent("a1");
    let t = at(2026, 3, 2, 3, 0);
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        ids.push(store.add_lead(&agent, &new_lead("a1", name), t).unwrap().id);
    }
    let closing = |lead: &str, amount: &str, currency: &str| NewTransaction {
        agent: "a1".into(),
        kind: TxnKind::PolicyClosing,
        policy_number: format!("P-{lead}"),
        product: "life".into(),
        amount: amount.into(),
        currency: currency.into(),
        lead_id: Some(lead.into()),
        occurred_at: Some(t),
    };
    store
        .add_transaction(&agent, &closing(&ids[0], "1500000", "IDR"), t)
        .unwrap();
    store
        .add_transaction(&agent, &closing(&ids[1], "20.50", "EUR"), t)
        .unwrap();
    for id in &ids[..2] {
        store
            .update_lead(
                &agent,
                id,
                &LeadUpdate {
                    status: Some(LeadStatus::Won),
                    ..LeadUpdate::default()
                },
                t,
            )
            .unwrap();
    }
    store
        .update_lead(
            &agent,
            &ids[2],
            &LeadUpdate {
                status: Some(LeadStatus::Lost),
                ..LeadUpdate::default()
            },
            t,
        )
        .unwrap();
    // Outside the period: not counted.
    store
        .add_transaction(
            &agent,
            &NewTransaction {
                occurred_at: Some(at(2026, 4, 2, 3, 0)),
                ..closing(&ids[3], "999", "IDR")
            },
            t,
        )
        .unwrap();
    let report = store
        .sales_report(
            &Actor::supervisor("s1"),
            &ReportQuery {
                from: date(2026, 3, 1),
                to: date(2026, 3, 31),
                agent: None,
            },
            t,
        )
        .unwrap();
    assert_eq!(report.agents.len(), 1);
    let row = &report.agents[0];
    assert_eq!(row.leads_total, 4);
    assert_eq!(row.leads_by_status[&crate::LeadStatus::Won], 2);
    assert_eq!(row.leads_by_status[&crate::LeadStatus::Lost], 1);
    assert_eq!(row.leads_by_status[&crate::LeadStatus::New], 1);
    assert_eq!(row.conversion_rate, Some(0.5));
    assert_eq!(row.closings, 2);
    assert_eq!(row.premium["IDR"], "1500000.00");
    assert_eq!(row.premium["EUR"], "20.50");
}

#[test]
fn restricted_agents_are_left_out_of_reports_except_for_admins() {
    let (_d, store) = store();
    grant(&store, "a1", at(2026, 3, 1, 0, 0));
    check(&store, "a1", EventKind::CheckIn, JKT, at(2026, 3, 2, 2, 0));
    store
        .set_restriction(&admin(), "a1", true, at(2026, 3, 3, 0, 0))
        .unwrap();
    let query = ReportQuery {
        from: date(2026, 3, 2),
        to: date(2026, 3, 2),
        agent: None,
    };
    let now = at(2026, 3, 4, 0, 0);
    assert!(
        store
            .attendance_report(&Actor::supervisor("s1"), &query, now)
            .unwrap()
            .days
            .is_empty()
    );
    assert_eq!(
        store
            .attendance_report(&admin(), &query, now)
            .unwrap()
            .days
            .len(),
        1
    );
}

#[test]
fn a_restricted_lead_is_kept_but_not_worked_on() {
    let (_d, store) = store();
    let agent = Actor::agent("a1");
    let t = at(2026, 3, 2, 3, 0);
    let lead = store.add_lead(&agent, &new_lead("a1", "Budi"), t).unwrap();
    store.set_restriction(&admin(), &lead.id, true, t).unwrap();
    let before = ledger_len(&store);
    let contacted = LeadUpdate {
        status: Some(LeadStatus::Contacted),
        ..LeadUpdate::default()
    };
    assert!(matches!(
        store.update_lead(&agent, &lead.id, &contacted, t),
        Err(Error::PermissionDenied(_))
    ));
    let closing = NewTransaction {
        agent: "a1".into(),
        kind: TxnKind::PolicyClosing,
        policy_number: "P-1".into(),
        product: "life".into(),
        amount: "10".into(),
        currency: "EUR".into(),
        lead_id: Some(lead.id.clone()),
        occurred_at: None,
    };
    assert!(matches!(
        store.add_transaction(&agent, &closing, t),
        Err(Error::PermissionDenied(_))
    ));
    assert_eq!(ledger_len(&store), before);
    // Left out of reports except for admins.
    let month = ReportQuery {
        from: date(2026, 3, 1),
        to: date(2026, 3, 31),
        agent: None,
    };
    let leads_seen = |actor: &Actor| -> u32 {
        store
            .sales_report(actor, &month, t)
            .unwrap()
            .agents
            .iter()
            .map(|r| r.leads_total)
            .sum()
    };
    assert_eq!(leads_seen(&Actor::supervisor("s1")), 0);
    assert_eq!(leads_seen(&admin()), 1);
    // Kept, and an admin may still rectify it; lifting the restriction
    // lets the agent work on it again.
    let fixed = LeadUpdate {
        phone: Some("+62 811 222 333".into()),
        ..LeadUpdate::default()
    };
    store.update_lead(&admin(), &lead.id, &fixed, t).unwrap();
    store.set_restriction(&admin(), &lead.id, false, t).unwrap();
    store.update_lead(&agent, &lead.id, &contacted, t).unwrap();
}

#[test]
fn a_shift_change_applies_from_its_date_and_leaves_earlier_days_alone() {
    let (_d, store) = store();
    store
        .set_shift(
            &admin(),
            "nl1",
            &shift("09:00", "daily", "Europe/Amsterdam"),
            at(2026, 3, 1, 0, 0),
        )
        .unwrap();
    grant(&store, "nl1", at(2026, 3, 1, 0, 0));
    // 09:30 local each day: 08:30Z in CET (Thu 26, Fri 27 March), 07:30Z
    // in CEST (Sun 29, Mon 30, after the change to summer time).
    for (day, hour) in [(26, 8), (27, 8), (29, 7), (30, 7)] {
        check(
            &store,
            "nl1",
            EventKind::CheckIn,
            AMS,
            at(2026, 3, day, hour, 30),
        );
        check(
            &store,
            "nl1",
            EventKind::CheckOut,
            AMS,
            at(2026, 3, day, 15, 0),
        );
    }
    let query = ReportQuery {
        from: date(2026, 3, 26),
        to: date(2026, 3, 30),
        agent: Some("nl1".into()),
    };
    let days = |store: &Store| -> Vec<(u32, DayStatus, Option<u32>)> {
        store
            .attendance_report(&admin(), &query, at(2026, 4, 1, 0, 0))
            .unwrap()
            .days
            .iter()
            .map(|d| (d.date.day(), d.status, d.minutes_late))
            .collect()
    };
    use DayStatus::{Absent, Late, OnTime, Unscheduled};
    assert_eq!(
        days(&store),
        [
            (26, Late, Some(20)),
            (27, Late, Some(20)),
            (28, Absent, None),
            (29, Late, Some(20)),
            (30, Late, Some(20)),
        ]
    );

    // From Saturday 28 March: 09:30, Monday to Friday (weekends off).
    let later = shift("09:30", "mon-fri", "Europe/Amsterdam");
    store
        .set_shift_from(
            &admin(),
            "nl1",
            Some(date(2026, 3, 28)),
            &later,
            Some(WeekdaySet::parse("sat,sun").unwrap()),
            at(2026, 3, 31, 0, 0),
        )
        .unwrap();
    assert_eq!(
        days(&store),
        [
            // Before the change: judged by the shift then in force.
            (26, Late, Some(20)),
            (27, Late, Some(20)),
            // A day off is neither absent nor late, with or without a visit.
            (29, Unscheduled, None),
            // The new start, in summer time.
            (30, OnTime, Some(0)),
        ]
    );
    let schedule = store.shift_schedule(&admin(), "nl1").unwrap().unwrap();
    assert_eq!(schedule.versions.len(), 2);
    assert_eq!(schedule.versions[1].from, Some(date(2026, 3, 28)));
    assert_eq!(store.shift(&admin(), "nl1").unwrap(), Some(later));
    assert_eq!(schedule.on(date(2026, 3, 27)).unwrap().start.hour(), 9);
    assert_eq!(schedule.on(date(2026, 3, 28)), None, "Saturday is off");
    assert_eq!(schedule.on(date(2026, 3, 30)).unwrap().start.minute(), 30);

    // Without a date a shift replaces the whole history.
    store
        .set_shift(&admin(), "nl1", &later, at(2026, 3, 31, 0, 0))
        .unwrap();
    assert_eq!(
        days(&store),
        [
            (26, OnTime, Some(0)),
            (27, OnTime, Some(0)),
            (29, Unscheduled, None),
            (30, OnTime, Some(0)),
        ]
    );
}

#[test]
fn before_its_first_dated_version_an_agent_has_no_shift() {
    let (_d, store) = store();
    store
        .set_shift_from(
            &admin(),
            "nl2",
            Some(date(2026, 3, 27)),
            &shift("09:00", "daily", "Europe/Amsterdam"),
            None,
            at(2026, 3, 1, 0, 0),
        )
        .unwrap();
    grant(&store, "nl2", at(2026, 3, 1, 0, 0));
    check(
        &store,
        "nl2",
        EventKind::CheckIn,
        AMS,
        at(2026, 3, 26, 8, 30),
    );
    let report = store
        .attendance_report(
            &admin(),
            &ReportQuery {
                from: date(2026, 3, 26),
                to: date(2026, 3, 27),
                agent: Some("nl2".into()),
            },
            at(2026, 4, 1, 0, 0),
        )
        .unwrap();
    let days: Vec<(u32, DayStatus)> = report
        .days
        .iter()
        .map(|d| (d.date.day(), d.status))
        .collect();
    assert_eq!(
        days,
        [(26, DayStatus::Unscheduled), (27, DayStatus::Absent)]
    );
}

#[test]
fn a_dated_change_sets_some_weekdays_and_the_others_keep_their_pattern() {
    let (_d, store) = store();
    store
        .set_shift(
            &admin(),
            "nl3",
            &shift("09:00", "mon-fri", "Europe/Amsterdam"),
            at(2026, 3, 1, 0, 0),
        )
        .unwrap();
    grant(&store, "nl3", at(2026, 3, 1, 0, 0));
    // From Monday 6 April: Fridays 08:00-12:00, Wednesdays off, the rest
    // as before.
    let friday = Shift::new(
        parse_hhmm("start", "08:00").unwrap(),
        parse_hhmm("end", "12:00").unwrap(),
        WeekdaySet::parse("fri").unwrap(),
        parse_time_zone("Europe/Amsterdam").unwrap(),
    )
    .unwrap();
    store
        .set_shift_from(
            &admin(),
            "nl3",
            Some(date(2026, 4, 6)),
            &friday,
            Some(WeekdaySet::parse("wed").unwrap()),
            at(2026, 4, 1, 0, 0),
        )
        .unwrap();
    // 09:15 local (07:15Z, summer time) on Fri 3, Thu 9 and Fri 10 April.
    for day in [3, 9, 10] {
        check(
            &store,
            "nl3",
            EventKind::CheckIn,
            AMS,
            at(2026, 4, day, 7, 15),
        );
        check(
            &store,
            "nl3",
            EventKind::CheckOut,
            AMS,
            at(2026, 4, day, 11, 0),
        );
    }
    let report = store
        .attendance_report(
            &admin(),
            &ReportQuery {
                from: date(2026, 4, 3),
                to: date(2026, 4, 10),
                agent: Some("nl3".into()),
            },
            at(2026, 4, 11, 0, 0),
        )
        .unwrap();
    let days: Vec<(u32, DayStatus, Option<u32>)> = report
        .days
        .iter()
        .map(|d| (d.date.day(), d.status, d.minutes_late))
        .collect();
    use DayStatus::{Absent, Late};
    assert_eq!(
        days,
        [
            (3, Late, Some(5)),   // the old Friday: 09:00 (+10 min grace)
            (6, Absent, None),    // Monday: 09:00, kept
            (7, Absent, None),    // Tuesday: kept
            (9, Late, Some(5)),   // Thursday: kept
            (10, Late, Some(65)), // the new Friday: 08:00
        ]
    );
    let schedule = store.shift_schedule(&admin(), "nl3").unwrap().unwrap();
    let april: Vec<String> = schedule
        .version_on(date(2026, 4, 6))
        .iter()
        .map(|v| format!("{}@{}", v.shift.days, v.shift.start.format("%H:%M")))
        .collect();
    assert_eq!(april.len(), 2, "{april:?}");
    assert!(
        april.contains(&"mon,tue,thu@09:00".to_string()),
        "{april:?}"
    );
    assert!(april.contains(&"fri@08:00".to_string()), "{april:?}");
    // Wednesday is off from then on; a day off is not a shift day.
    assert_eq!(schedule.on(date(2026, 4, 8)), None);
    assert!(schedule.on(date(2026, 4, 1)).is_some());
}
