//! Leads, transactions, shifts, reviews and reports through the same
//! `FieldCheck` object the Kotlin and Swift shells call: results, and the
//! typed errors every refusal maps to.

use chrono::{DateTime, TimeZone, Utc};
use fieldcheck_core::attendance::AttendanceEvent;
use fieldcheck_core::leads::LeadAction;
use fieldcheck_core::report::DayStatus;
use fieldcheck_core::{
    Actor, ConsentChange, Decision, EventKind, Fix, FixRequest, LeadStatus, LeadUpdate, NewLead,
    NewTransaction, Permission, Reason, TxnKind,
};
use fieldcheck_ffi::{
    FieldCheck, FieldCheckError, FixSubmission, ReportFormat, ReportQuery, Shift, ShiftVersion,
};
use serde_json::Value;
use tempfile::TempDir;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

fn open() -> (TempDir, FieldCheck) {
    let dir = TempDir::new().unwrap();
    let fc = FieldCheck::open(dir.path().join("f.db").display().to_string()).unwrap();
    let fc = std::sync::Arc::into_inner(fc).unwrap();
    fc.import_sites(admin(), SITES.into(), at(1, 0, 0)).unwrap();
    (dir, fc)
}

fn admin() -> Actor {
    Actor::admin("admin")
}

fn supervisor() -> Actor {
    Actor::supervisor("s1")
}

fn agent(id: &str) -> Actor {
    Actor::agent(id)
}

fn new_lead(agent: &str, name: &str) -> NewLead {
    NewLead {
        agent: agent.into(),
        customer_name: name.into(),
        phone: Some("+62 812-3456-7890".into()),
        email: None,
        product: Some("term life".into()),
        source: Some("referral".into()),
        note: Some("met at the fair".into()),
    }
}

fn status(s: LeadStatus) -> LeadUpdate {
    LeadUpdate {
        status: Some(s),
        ..LeadUpdate::default()
    }
}

fn closing(agent: &str, lead: Option<&str>, amount: &str, currency: &str) -> NewTransaction {
    NewTransaction {
        agent: agent.into(),
        kind: TxnKind::PolicyClosing,
        policy_number: "POL-1".into(),
        product: "term life".into(),
        amount: amount.into(),
        currency: currency.into(),
        lead_id: lead.map(str::to_string),
        occurred_at: None,
    }
}

fn invalid_field(e: FieldCheckError) -> String {
    match e {
        FieldCheckError::InvalidInput { field, reason } => {
            assert!(!reason.is_empty());
            field
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn assert_denied<T: std::fmt::Debug>(r: Result<T, FieldCheckError>) {
    match r {
        Err(FieldCheckError::PermissionDenied { reason }) => assert!(!reason.is_empty()),
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
}

fn check(
    fc: &FieldCheck,
    who: &str,
    kind: EventKind,
    mock: bool,
    now: DateTime<Utc>,
) -> AttendanceEvent {
    fc.record_fix(FixSubmission {
        actor: agent(who),
        request: FixRequest {
            agent: who.into(),
            kind,
            fix: Fix {
                lat: -6.1944,
                lon: 106.8227,
                accuracy_m: 10.0,
                captured_at: now,
                is_mock: mock,
            },
        },
        now,
    })
    .unwrap()
}

fn grant(fc: &FieldCheck, who: &str) {
    fc.change_consent(
        agent(who),
        ConsentChange {
            subject: who.into(),
            permission: Permission::Location,
            granted: true,
            policy_version: None,
            source: None,
        },
        at(1, 0, 0),
    )
    .unwrap();
}

fn query(from: &str, to: &str, agent: Option<&str>) -> ReportQuery {
    ReportQuery {
        from: from.into(),
        to: to.into(),
        agent: agent.map(str::to_string),
    }
}

#[test]
fn a_lead_moves_forward_and_is_won_only_after_a_policy_closing() {
    let (_d, fc) = open();
    let a1 = agent("a1");
    let t = at(2, 3, 0);
    let lead = fc
        .add_lead(a1.clone(), new_lead("a1", "Budi Santoso"), t)
        .unwrap();
    assert_eq!(lead.status, LeadStatus::New);
    assert_eq!(lead.customer_name.as_deref(), Some("Budi Santoso"));
    assert_eq!(lead.notes, ["met at the fair"]);
    assert_eq!(lead.created_at, t);

    let contacted = fc
        .update_lead(
            a1.clone(),
            lead.id.clone(),
            status(LeadStatus::Contacted),
            t,
        )
        .unwrap();
    assert_eq!(contacted.status, LeadStatus::Contacted);

    // `won` needs a policy closing for the lead first.
    let e = fc
        .update_lead(a1.clone(), lead.id.clone(), status(LeadStatus::Won), t)
        .unwrap_err();
    assert_eq!(invalid_field(e), "status");
    let txn = fc
        .add_transaction(
            a1.clone(),
            closing("a1", Some(&lead.id), "1500000.50", "IDR"),
            t,
        )
        .unwrap();
    assert_eq!(txn.amount_minor, 150_000_050);
    assert_eq!(txn.amount, "1500000.50");
    assert_eq!(txn.kind, TxnKind::PolicyClosing);
    assert_eq!(txn.actor, a1);
    let won = fc
        .update_lead(a1.clone(), lead.id.clone(), status(LeadStatus::Won), t)
        .unwrap();
    assert_eq!(won.status, LeadStatus::Won);

    // Closed stays closed; statuses never move back.
    for to in [LeadStatus::Contacted, LeadStatus::Lost] {
        let e = fc
            .update_lead(a1.clone(), lead.id.clone(), status(to), t)
            .unwrap_err();
        assert_eq!(invalid_field(e), "status");
    }
    let other = fc.add_lead(a1.clone(), new_lead("a1", "Siti"), t).unwrap();
    fc.update_lead(
        a1.clone(),
        other.id.clone(),
        status(LeadStatus::Proposal),
        t,
    )
    .unwrap();
    let e = fc
        .update_lead(
            a1.clone(),
            other.id.clone(),
            status(LeadStatus::Qualified),
            t,
        )
        .unwrap_err();
    assert_eq!(invalid_field(e), "status");
    let e = fc
        .update_lead(a1.clone(), other.id.clone(), LeadUpdate::default(), t)
        .unwrap_err();
    assert_eq!(invalid_field(e), "update");

    assert_eq!(fc.lead(a1.clone(), lead.id.clone()).unwrap(), won);
    let all = fc.leads(a1.clone(), None, None).unwrap();
    assert_eq!(all.len(), 2);
    let only_won = fc.leads(supervisor(), None, Some(LeadStatus::Won)).unwrap();
    assert_eq!(only_won, std::slice::from_ref(&won));
    assert_eq!(
        fc.transactions(supervisor(), Some("a1".into())).unwrap(),
        std::slice::from_ref(&txn)
    );

    let history = fc.lead_history(a1.clone(), lead.id.clone()).unwrap();
    let steps: Vec<_> = history.iter().map(|h| (h.action, h.status)).collect();
    assert_eq!(
        steps,
        [
            (LeadAction::Created, Some(LeadStatus::New)),
            (LeadAction::Updated, Some(LeadStatus::Contacted)),
            (LeadAction::Updated, Some(LeadStatus::Won)),
        ]
    );
    assert_eq!(history[0].customer_name.as_deref(), Some("Budi Santoso"));
    assert_eq!(history[0].note.as_deref(), Some("met at the fair"));
    assert_eq!(history[0].email, None);
    assert!(history[0].erased_fields.is_empty());
    assert_eq!(history[2].txn_id.as_deref(), Some(txn.id.as_str()));
    assert!(
        history
            .iter()
            .all(|h| h.actor == a1 && h.lead_id == lead.id)
    );
    assert!(fc.verify().unwrap().intact);
}

#[test]
fn leads_and_transactions_refuse_bad_input_and_other_agents() {
    let (_d, fc) = open();
    let (a1, a2) = (agent("a1"), agent("a2"));
    let t = at(2, 3, 0);
    let lead = fc.add_lead(a2.clone(), new_lead("a2", "Ayu"), t).unwrap();

    // An agent acting for another is refused, and nothing is stored.
    let before = fc.verify().unwrap().events_checked;
    assert_denied(fc.add_lead(a1.clone(), new_lead("a2", "X"), t));
    assert_denied(fc.update_lead(a1.clone(), lead.id.clone(), status(LeadStatus::Lost), t));
    assert_denied(fc.lead(a1.clone(), lead.id.clone()));
    assert_denied(fc.lead_history(a1.clone(), lead.id.clone()));
    assert_denied(fc.leads(a1.clone(), Some("a2".into()), None));
    assert_denied(fc.add_transaction(a1.clone(), closing("a2", None, "10", "IDR"), t));
    assert_denied(fc.transactions(a1.clone(), Some("a2".into())));
    // Supervisors review; they do not enter leads for agents.
    assert_denied(fc.add_lead(supervisor(), new_lead("a2", "X"), t));
    assert_eq!(fc.verify().unwrap().events_checked, before);
    // Agents see only their own.
    assert!(fc.leads(a1.clone(), None, None).unwrap().is_empty());
    // Admins may act for an agent.
    fc.add_lead(admin(), new_lead("a2", "Dewi"), t).unwrap();

    let e = fc
        .add_lead(a1.clone(), new_lead("a1", "  "), t)
        .unwrap_err();
    assert_eq!(invalid_field(e), "name");
    for (amount, currency, field) in [
        ("1.234", "IDR", "amount"),
        ("-5", "IDR", "amount"),
        ("0", "IDR", "amount"),
        ("10", "idr", "currency"),
        ("10", "XXX", "currency"),
    ] {
        let e = fc
            .add_transaction(a1.clone(), closing("a1", None, amount, currency), t)
            .unwrap_err();
        assert_eq!(invalid_field(e), field, "{amount} {currency}");
    }
    // A lead of another agent cannot carry a1's closing.
    let e = fc
        .add_transaction(a1.clone(), closing("a1", Some(&lead.id), "10", "IDR"), t)
        .unwrap_err();
    assert_eq!(invalid_field(e), "lead");
    assert!(matches!(
        fc.lead(a1.clone(), "no-such-lead".into()),
        Err(FieldCheckError::NotFound { .. })
    ));
    assert!(matches!(
        fc.update_lead(a1, "no-such-lead".into(), status(LeadStatus::Lost), t),
        Err(FieldCheckError::NotFound { .. })
    ));
    assert!(fc.verify().unwrap().intact);
}

#[test]
fn shifts_cross_as_text_parsed_by_the_core() {
    let (_d, fc) = open();
    let t = at(1, 0, 0);
    let shift = |start: &str, end: &str, days: &str, tz: &str| Shift {
        start: start.into(),
        end: end.into(),
        days: days.into(),
        tz: tz.into(),
    };
    let set = fc
        .set_shift(
            admin(),
            "a1".into(),
            shift("8:00", "17:00", "Monday-Friday", "Asia/Jakarta"),
            t,
        )
        .unwrap();
    // The canonical form comes back.
    assert_eq!(set, shift("08:00", "17:00", "mon-fri", "Asia/Jakarta"));
    assert_eq!(fc.shift(admin(), "a1".into()).unwrap(), Some(set.clone()));
    assert_eq!(fc.shift(admin(), "a2".into()).unwrap(), None);
    fc.set_shift(
        admin(),
        "a2".into(),
        shift("22:00", "06:00", "fri-mon", "Europe/Amsterdam"),
        t,
    )
    .unwrap();
    let all = fc.shifts(admin()).unwrap();
    assert_eq!(
        all.iter()
            .map(|s| (s.agent.as_str(), s.shift.days.as_str()))
            .collect::<Vec<_>>(),
        [("a1", "mon-fri"), ("a2", "fri-mon")]
    );

    for (bad, field) in [
        (shift("25:00", "17:00", "mon-fri", "Asia/Jakarta"), "start"),
        (shift("08:00", "5pm", "mon-fri", "Asia/Jakarta"), "end"),
        (shift("08:00", "08:00", "mon-fri", "Asia/Jakarta"), "end"),
        (shift("08:00", "17:00", "weekdays", "Asia/Jakarta"), "days"),
        (shift("08:00", "17:00", "", "Asia/Jakarta"), "days"),
        (shift("08:00", "17:00", "mon-fri", "Asia/Djakarta"), "tz"),
        (shift("08:00", "17:00", "mon-fri", "WIB"), "tz"),
    ] {
        let e = fc
            .set_shift(admin(), "a1".into(), bad.clone(), t)
            .unwrap_err();
        assert_eq!(invalid_field(e), field, "{bad:?}");
    }
    // Only admins set shifts.
    assert_denied(fc.set_shift(agent("a1"), "a1".into(), set.clone(), t));
    assert_denied(fc.set_shift(supervisor(), "a1".into(), set.clone(), t));
    assert_eq!(fc.shift(admin(), "a1".into()).unwrap(), Some(set));
    // Agents read their own shift only.
    assert_eq!(fc.shifts(agent("a2")).unwrap().len(), 1);
    assert_denied(fc.shift(agent("a2"), "a1".into()));
}

/// The Jakarta week of the core's own report test: Tuesday on time (its
/// check-in at 23:30 UTC on Monday), Wednesday 15 minutes late and reviewed,
/// Thursday absent, Friday a rejected mock fix.
fn jakarta_week(fc: &FieldCheck) -> AttendanceEvent {
    let day = |s: &str| Shift {
        start: s.into(),
        end: "17:00".into(),
        days: "mon-fri".into(),
        tz: "Asia/Jakarta".into(),
    };
    fc.set_shift(admin(), "a1".into(), day("08:00"), at(1, 0, 0))
        .unwrap();
    grant(fc, "a1");
    check(fc, "a1", EventKind::CheckIn, false, at(2, 23, 30));
    check(fc, "a1", EventKind::CheckOut, false, at(3, 10, 0));
    let late = check(fc, "a1", EventKind::CheckIn, false, at(4, 1, 25));
    let mock = check(fc, "a1", EventKind::CheckIn, true, at(6, 1, 0));
    assert!(!mock.accepted);
    late
}

#[test]
fn supervisors_review_events_and_agents_may_not() {
    let (_d, fc) = open();
    let late = jakarta_week(&fc);
    let review = fc
        .review(
            supervisor(),
            late.id.clone(),
            Decision::Approved,
            "traffic on the toll road".into(),
            at(5, 0, 0),
        )
        .unwrap();
    assert_eq!(review.event_id.as_deref(), Some(late.id.as_str()));
    assert_eq!(review.agent, "a1");
    assert_eq!(review.date, "2026-03-04");
    assert_eq!(review.decision, Decision::Approved);
    assert_eq!(review.note.as_deref(), Some("traffic on the toll road"));
    assert_eq!(review.reviewer, supervisor());
    assert_eq!(review.at, at(5, 0, 0));
    assert_eq!(fc.reviews_of(admin(), late.id.clone()).unwrap(), [review]);

    assert_denied(fc.review(
        agent("a1"),
        late.id.clone(),
        Decision::Approved,
        "me".into(),
        at(5, 0, 0),
    ));
    assert_denied(fc.reviews_of(agent("a1"), late.id.clone()));
    let e = fc
        .review(
            supervisor(),
            late.id.clone(),
            Decision::Rejected,
            " ".into(),
            at(5, 0, 0),
        )
        .unwrap_err();
    assert_eq!(invalid_field(e), "note");
    assert!(matches!(
        fc.review(
            supervisor(),
            "no-such-event".into(),
            Decision::Rejected,
            "x".into(),
            at(5, 0, 0)
        ),
        Err(FieldCheckError::NotFound { .. })
    ));
    assert_eq!(fc.reviews_of(supervisor(), late.id).unwrap().len(), 1);
}

#[test]
fn a_supervisor_decides_a_whole_day_and_the_report_shows_it() {
    let (_d, fc) = open();
    jakarta_week(&fc);
    let day = fc
        .review_day(
            supervisor(),
            "a1".into(),
            "2026-03-03".into(),
            Decision::Rejected,
            "left early".into(),
            at(5, 0, 0),
        )
        .unwrap();
    assert_eq!(day.event_id, None);
    assert_eq!(
        (day.agent.as_str(), day.date.as_str()),
        ("a1", "2026-03-03")
    );
    let report = fc
        .attendance_report(
            supervisor(),
            query("2026-03-02", "2026-03-06", None),
            at(6, 0, 0),
        )
        .unwrap();
    let decided = report
        .days
        .iter()
        .find(|d| d.agent == "a1" && d.date == "2026-03-03")
        .and_then(|d| d.review.clone())
        .unwrap();
    assert_eq!(decided.event_id, None);
    assert_eq!(decided.decision, Decision::Rejected);
    assert_denied(fc.review_day(
        agent("a1"),
        "a1".into(),
        "2026-03-03".into(),
        Decision::Approved,
        "me".into(),
        at(5, 0, 0),
    ));
    let e = fc
        .review_day(
            supervisor(),
            "a1".into(),
            "03/03/2026".into(),
            Decision::Approved,
            "x".into(),
            at(5, 0, 0),
        )
        .unwrap_err();
    assert_eq!(invalid_field(e), "date");
}

#[test]
fn the_attendance_report_as_records_and_as_documents() {
    let (_d, fc) = open();
    let late = jakarta_week(&fc);
    fc.review(
        supervisor(),
        late.id.clone(),
        Decision::Approved,
        "traffic".into(),
        at(5, 0, 0),
    )
    .unwrap();
    let q = query("2026-03-02", "2026-03-06", None);
    let now = at(7, 0, 0);
    let report = fc.attendance_report(supervisor(), q.clone(), now).unwrap();
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("2026-03-02", "2026-03-06")
    );
    assert_eq!(report.generated_at, now);
    let statuses: Vec<_> = report
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("2026-03-02", DayStatus::Absent),
            ("2026-03-03", DayStatus::OnTime),
            ("2026-03-04", DayStatus::Late),
            ("2026-03-05", DayStatus::Absent),
            ("2026-03-06", DayStatus::Absent),
        ]
    );
    let tue = &report.days[1];
    assert_eq!(tue.agent, "a1");
    assert_eq!(tue.time_zone, "Asia/Jakarta");
    assert_eq!(tue.shift_start.as_deref(), Some("08:00"));
    assert_eq!(tue.first_check_in, Some(at(2, 23, 30)));
    assert_eq!(tue.last_check_out, Some(at(3, 10, 0)));
    assert_eq!(tue.site_id.as_deref(), Some("jkt-hq"));
    assert_eq!(tue.minutes_late, Some(0));
    assert!(!tue.missing_check_out);
    let wed = &report.days[2];
    assert_eq!(wed.minutes_late, Some(15));
    assert!(wed.missing_check_out);
    // A decision on an event is that event's, not the day's.
    assert!(wed.review.is_none());
    let review = &wed.event_reviews[0];
    assert_eq!(
        (review.decision, review.reviewer.as_str()),
        (Decision::Approved, "s1")
    );
    assert_eq!(review.event_id, Some(late.id));
    let fri = &report.days[4];
    assert_eq!(fri.rejected_total, 1);
    assert_eq!(
        fri.rejected
            .iter()
            .map(|r| (r.reason, r.count))
            .collect::<Vec<_>>(),
        [(Reason::MockLocation, 1)]
    );
    let totals: Vec<_> = report
        .totals
        .iter()
        .map(|t| (t.on_time, t.late, t.absent))
        .collect();
    assert_eq!(
        totals,
        [(0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)]
    );

    // JSON: the core's document, holding the same days.
    let json = fc
        .attendance_report_document(supervisor(), q.clone(), ReportFormat::Json, now)
        .unwrap();
    assert!(json.ends_with("}\n"));
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["report"], "attendance");
    assert_eq!(v["schema_version"], report.schema_version);
    assert_eq!(v["days"].as_array().unwrap().len(), report.days.len());
    assert_eq!(v["days"][2]["status"], "late");
    assert_eq!(v["days"][2]["minutes_late"], 15);
    assert_eq!(v["days"][4]["rejected"]["mock_location"], 1);
    assert_eq!(v["days"][1]["first_check_in"], "2026-03-03T06:30:00+07:00");
    let csv = fc
        .attendance_report_document(supervisor(), q.clone(), ReportFormat::Csv, now)
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("agent,name,date,time_zone,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + report.days.len());
    let html = fc
        .attendance_report_document(supervisor(), q.clone(), ReportFormat::Html, now)
        .unwrap();
    assert!(html.to_ascii_lowercase().starts_with("<!doctype html>"));
    assert!(html.contains("a1") && html.contains("</html>"));

    // An agent gets their own report, and only that.
    let own = fc
        .attendance_report(agent("a1"), query("2026-03-02", "2026-03-06", None), now)
        .unwrap();
    assert_eq!(own.days, report.days);
    assert_denied(fc.attendance_report(
        agent("a2"),
        query("2026-03-02", "2026-03-06", Some("a1")),
        now,
    ));
    assert_denied(fc.attendance_report_document(
        agent("a2"),
        query("2026-03-02", "2026-03-06", Some("a1")),
        ReportFormat::Csv,
        now,
    ));
    for (bad, field) in [
        (query("2026-3-2x", "2026-03-06", None), "from"),
        (query("2026-03-02", "06/03/2026", None), "to"),
        (query("2026-03-06", "2026-03-02", None), "to"),
        (query("2026-01-01", "2027-12-31", None), "to"),
    ] {
        let e = fc
            .attendance_report(supervisor(), bad.clone(), now)
            .unwrap_err();
        assert_eq!(invalid_field(e), field, "{bad:?}");
        let e = fc
            .sales_report_document(supervisor(), bad.clone(), ReportFormat::Json, now)
            .unwrap_err();
        assert_eq!(invalid_field(e), field, "{bad:?}");
    }
}

#[test]
fn the_sales_report_as_records_and_as_documents() {
    let (_d, fc) = open();
    let a1 = agent("a1");
    let t = at(2, 3, 0);
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        ids.push(fc.add_lead(a1.clone(), new_lead("a1", name), t).unwrap().id);
    }
    fc.add_transaction(
        a1.clone(),
        closing("a1", Some(&ids[0]), "1500000", "IDR"),
        t,
    )
    .unwrap();
    fc.add_transaction(a1.clone(), closing("a1", Some(&ids[1]), "20.50", "EUR"), t)
        .unwrap();
    for id in &ids[..2] {
        fc.update_lead(a1.clone(), id.clone(), status(LeadStatus::Won), t)
            .unwrap();
    }
    fc.update_lead(a1.clone(), ids[2].clone(), status(LeadStatus::Lost), t)
        .unwrap();

    let q = query("2026-03-01", "2026-03-31", None);
    let report = fc.sales_report(supervisor(), q.clone(), t).unwrap();
    assert_eq!(report.agents.len(), 1);
    let row = &report.agents[0];
    assert_eq!(row.agent, "a1");
    assert_eq!(row.leads_total, 4);
    let by_status: Vec<_> = row
        .leads_by_status
        .iter()
        .map(|s| (s.status, s.count))
        .collect();
    assert_eq!(
        by_status,
        [
            (LeadStatus::New, 1),
            (LeadStatus::Contacted, 0),
            (LeadStatus::Qualified, 0),
            (LeadStatus::Proposal, 0),
            (LeadStatus::Won, 2),
            (LeadStatus::Lost, 1),
        ]
    );
    assert_eq!(row.conversion_rate, Some(0.5));
    assert_eq!(row.closings, 2);
    let premium: Vec<_> = row
        .premium
        .iter()
        .map(|p| (p.currency.as_str(), p.amount.as_str()))
        .collect();
    assert_eq!(premium, [("EUR", "20.50"), ("IDR", "1500000.00")]);
    assert!(row.cancellations.is_empty());

    let json = fc
        .sales_report_document(supervisor(), q.clone(), ReportFormat::Json, t)
        .unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["report"], "sales");
    assert_eq!(v["agents"][0]["premium"]["IDR"], "1500000.00");
    assert_eq!(v["agents"][0]["leads_by_status"]["won"], 2);
    let csv = fc
        .sales_report_document(supervisor(), q.clone(), ReportFormat::Csv, t)
        .unwrap();
    assert!(csv.starts_with("agent,leads_total,"), "{csv}");
    assert_eq!(csv.lines().count(), 2);
    let html = fc
        .sales_report_document(supervisor(), q.clone(), ReportFormat::Html, t)
        .unwrap();
    assert!(html.contains("</html>"));

    assert_denied(fc.sales_report(
        agent("a2"),
        query("2026-03-01", "2026-03-31", Some("a1")),
        t,
    ));
    let own = fc.sales_report(agent("a2"), q, t).unwrap();
    assert!(own.agents.iter().all(|r| r.agent == "a2"));
}

#[test]
fn purge_reports_what_it_removed_per_category() {
    let (_dir, fc) = open();
    let lead = fc
        .add_lead(agent("a1"), new_lead("a1", "Old Lead"), at(2, 3, 0))
        .unwrap();
    // Two years and a second after its last change, a lead not won goes.
    let later = at(2, 3, 0) + chrono::Duration::days(730) + chrono::Duration::seconds(1);
    assert_denied(fc.purge(agent("a1"), later));
    let report = fc.purge(admin(), later).unwrap();
    assert_eq!((report.leads, report.lead_versions), (1, 1));
    assert_eq!(report.transactions, 0);
    assert!(fc.lead(admin(), lead.id).is_err());
    assert!(fc.verify().unwrap().intact);
}

#[test]
fn shift_versions_cross_with_their_dates() {
    let (_d, fc) = open();
    let t = at(1, 0, 0);
    let shift = |start: &str, days: &str| Shift {
        start: start.into(),
        end: "17:00".into(),
        days: days.into(),
        tz: "Asia/Jakarta".into(),
    };
    fc.set_shift(admin(), "a1".into(), shift("08:00", "mon-fri"), t)
        .unwrap();
    fc.set_shift_from(
        admin(),
        "a1".into(),
        Some("2026-03-16".into()),
        shift("08:30", "mon-thu"),
        Some("fri".into()),
        t,
    )
    .unwrap();
    let history = fc.shift_history(admin(), "a1".into()).unwrap();
    assert_eq!(
        history,
        [
            ShiftVersion {
                from: None,
                shift: shift("08:00", "mon-fri")
            },
            ShiftVersion {
                from: Some("2026-03-16".into()),
                shift: shift("08:30", "mon-thu")
            },
        ]
    );
    // The shift in force from now on.
    assert_eq!(
        fc.shift(admin(), "a1".into()).unwrap(),
        Some(shift("08:30", "mon-thu"))
    );
    let e = fc
        .set_shift_from(
            admin(),
            "a1".into(),
            Some("16/03/2026".into()),
            shift("09:00", "mon-fri"),
            None,
            t,
        )
        .unwrap_err();
    assert_eq!(invalid_field(e), "from");
    let e = fc
        .set_shift_from(
            admin(),
            "a1".into(),
            Some("2026-03-16".into()),
            shift("09:00", "mon-fri"),
            Some("weekend".into()),
            t,
        )
        .unwrap_err();
    assert_eq!(invalid_field(e), "off");
    assert_eq!(fc.shift_history(admin(), "a1".into()).unwrap().len(), 2);
    assert_denied(fc.set_shift_from(
        agent("a1"),
        "a1".into(),
        None,
        shift("08:00", "daily"),
        None,
        t,
    ));
    assert_denied(fc.shift_history(agent("a2"), "a1".into()));
}

#[test]
fn a_supervisor_ends_a_flag_early_and_later_fixes_keep_nothing() {
    let (_d, fc) = open();
    jakarta_week(&fc);
    let flag = fc
        .set_flag(
            supervisor(),
            fieldcheck_ffi::FlagRequest {
                scope: fieldcheck_ffi::FlagScope::Agent { id: "a1".into() },
                purpose: fieldcheck_core::FlagPurpose::Audit,
                reason: "spot check".into(),
                expires_at: at(20, 0, 0),
            },
            at(7, 0, 0),
        )
        .unwrap();
    assert_eq!(flag.ended_at, None);
    assert_denied(fc.end_flag(agent("a1"), flag.id.clone(), at(7, 1, 0)));
    let ended = fc
        .end_flag(supervisor(), flag.id.clone(), at(7, 1, 0))
        .unwrap();
    assert_eq!(ended.ended_at, Some(at(7, 1, 0)));
    let listed = fc.flags(supervisor(), None, at(7, 2, 0)).unwrap();
    assert_eq!(listed[0].ended_at, Some(at(7, 1, 0)));
    assert!(matches!(
        fc.end_flag(supervisor(), flag.id, at(7, 2, 0)),
        Err(FieldCheckError::InvalidInput { .. })
    ));
}
