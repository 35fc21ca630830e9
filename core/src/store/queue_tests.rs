//! The review queue's index (PRODUCT.md §12.4) against a real server
//! store: what enters it and when, what leaves it, its counts, its pages,
//! and its upgrade. Every test also checks the index against the queue
//! recomputed from the attendance report, and the kept counts against
//! counting the rows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::EventFilter;
use crate::audit::{FlagPurpose, FlagRequest, FlagScope};
use crate::queue::{Direction, QueueCursor, QueueQuery, QueueReason, reasons_of};
use crate::report::DayStatus;
use crate::review::Decision;
use crate::shift::{Shift, WeekdaySet, day_bounds, parse_hhmm, parse_time_zone};
use crate::types::{Actor, EventKind};

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8456,-6.2088]},
  "properties":{"id":"jkt-south","name":"Jakarta South","radius_m":150}}]}"#;
const HQ: (f64, f64) = (-6.1944, 106.8227);
const SOUTH: (f64, f64) = (-6.2088, 106.8456);

fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

/// 2026-03-02 is a Monday; Jakarta is UTC+7.
fn jakarta(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    utc(d, h, mi) - Duration::hours(7)
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

fn shift(days: &str) -> Shift {
    Shift::new(
        parse_hhmm("start", "08:00").unwrap(),
        parse_hhmm("end", "17:00").unwrap(),
        WeekdaySet::parse(days).unwrap(),
        parse_time_zone("Asia/Jakarta").unwrap(),
    )
    .unwrap()
}

/// A server's store with two sites, `agents` granted location consent.
fn server(agents: &[&str]) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = open_at(&dir);
    store.serve_as_server(utc(1, 0, 0)).unwrap();
    store.import_sites(&admin(), SITES, utc(1, 0, 0)).unwrap();
    for agent in agents {
        store
            .change_consent(
                &Actor::agent(*agent),
                &ConsentChange {
                    subject: (*agent).into(),
                    permission: crate::types::Permission::Location,
                    granted: true,
                    policy_version: None,
                    source: None,
                },
                utc(1, 0, 0),
            )
            .unwrap();
    }
    (dir, store)
}

fn open_at(dir: &TempDir) -> Store {
    super::test_engine::open(dir.path(), "server.db")
}

fn check(store: &Store, agent: &str, kind: EventKind, place: (f64, f64), at: DateTime<Utc>) {
    super::tests::fix_at(store, agent, kind, place, at).unwrap();
}

fn month(agents: Option<Vec<&str>>) -> QueueQuery {
    QueueQuery {
        agents: agents.map(|a| a.into_iter().map(String::from).collect()),
        site: None,
        from: date(1),
        to: date(31),
        reason: None,
        from_cursor: None,
        limit: 50,
    }
}

/// The queue's items as (agent, date, reason codes).
fn listed(store: &Store, query: &QueueQuery) -> Vec<(String, NaiveDate, Vec<String>)> {
    store
        .review_queue(query)
        .unwrap()
        .items
        .into_iter()
        .map(|i| {
            (
                i.agent,
                i.date,
                i.reasons.iter().map(|r| r.code()).collect(),
            )
        })
        .collect()
}

/// The queue recomputed from the report at `now`, independently of the
/// index: every day without a day decision whose reasons are not empty.
fn recomputed(
    store: &Store,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> BTreeMap<(String, NaiveDate), u32> {
    let report = store
        .attendance_report(
            &admin(),
            &ReportQuery {
                from,
                to: date(31),
                agent: None,
            },
            now,
        )
        .unwrap();
    let flags = store.flags(&admin(), None, now).unwrap();
    let mut out = BTreeMap::new();
    for day in report.days.iter().filter(|d| d.review.is_none()) {
        let tz: crate::zone::Zone = day.time_zone.parse().unwrap();
        let (start, end) = day_bounds(tz, day.date);
        let shift_ended = day.status == DayStatus::Absent
            && store
                .shift_schedule(&admin(), &day.agent)
                .unwrap()
                .and_then(|s| s.on(day.date).map(|s| s.end_instant(day.date)))
                .is_some_and(|end| end <= now);
        let flagged = flags
            .iter()
            .any(|f| crate::queue::flag_covers_day(f, day, start, end));
        let reasons = reasons_of(day, shift_ended, flagged);
        if !reasons.is_empty() {
            out.insert((day.agent.to_string(), day.date), reasons.0);
        }
    }
    out
}

/// The index equals the recomputed queue, and every kept count equals
/// counting the index's rows for its scope.
fn assert_consistent(store: &Store, from: NaiveDate, now: DateTime<Utc>) {
    let index: BTreeMap<(String, NaiveDate), u32> = store
        .read(|tx| {
            let mut stmt = tx.prepare("SELECT agent, day, reasons FROM queue_days")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        crate::shift::date_from_day_number(r.get(1)?).unwrap(),
                    ),
                    r.get::<_, u32>(2)?,
                ))
            })?;
            Ok(rows.collect::<crate::store::db::Result<_>>()?)
        })
        .unwrap();
    assert_eq!(
        index,
        recomputed(store, from, now),
        "the index is the report's queue"
    );
    let mismatched: Vec<(String, String, i64, i64, i64)> = store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "WITH items AS (
                   SELECT agent, day, reasons, site AS s FROM queue_days
                   UNION SELECT agent, day, reasons, out_site FROM queue_days),
                 scoped AS (
                   SELECT '' AS a, '' AS st, day, reasons FROM queue_days
                   UNION ALL SELECT agent, '', day, reasons FROM queue_days
                   UNION ALL SELECT '', s, day, reasons FROM items WHERE s IS NOT NULL
                   UNION ALL SELECT agent, s, day, reasons FROM items WHERE s IS NOT NULL),
                 counted AS (
                   SELECT a, st, day, -1 AS reason, COUNT(*) AS n FROM scoped GROUP BY a, st, day
                   UNION ALL
                   SELECT a, st, day, b.bit, COUNT(*) FROM scoped
                     JOIN (WITH RECURSIVE bits(bit) AS (SELECT 0 UNION ALL SELECT bit + 1
                           FROM bits WHERE bit < 31) SELECT bit FROM bits) b
                     ON (reasons >> b.bit) & 1 = 1
                   GROUP BY a, st, day, b.bit)
                 SELECT c.a, c.st, c.day, c.reason, c.n - COALESCE(t.items, 0) FROM counted c
                   LEFT JOIN queue_tally t ON t.agent = c.a AND t.site = c.st AND t.day = c.day
                                          AND t.reason = c.reason
                   WHERE c.n != COALESCE(t.items, 0)
                 UNION ALL
                 SELECT t.agent, t.site, t.day, t.reason, -t.items FROM queue_tally t
                   WHERE NOT EXISTS (SELECT 1 FROM counted c WHERE c.a = t.agent
                     AND c.st = t.site AND c.day = t.day AND c.reason = t.reason)",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            Ok(rows.collect::<crate::store::db::Result<_>>()?)
        })
        .unwrap();
    assert!(mismatched.is_empty(), "kept counts differ: {mismatched:?}");
}

fn total(store: &Store, query: &QueueQuery) -> u64 {
    store.review_queue(query).unwrap().total
}

#[test]
fn absences_lateness_and_open_visits_enter_when_due_and_leave_with_a_day_decision() {
    let (_dir, store) = server(&["ani", "budi", "citra"]);
    for agent in ["ani", "budi"] {
        store
            .set_shift(&admin(), agent, &shift("mon-fri"), utc(1, 0, 0))
            .unwrap();
    }
    // Monday: ani late at HQ and out again; budi nothing; citra (no
    // shift) in at the south office and never out.
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(2, 8, 30));
    check(&store, "ani", EventKind::CheckOut, HQ, jakarta(2, 16, 0));
    check(&store, "citra", EventKind::CheckIn, SOUTH, jakarta(2, 9, 0));

    let noon = jakarta(2, 12, 0);
    store.settle_queue(noon).unwrap();
    assert_consistent(&store, date(1), noon);
    assert_eq!(
        listed(&store, &month(None)),
        vec![("ani".into(), date(2), vec!["late".into()])],
        "budi's absence waits for the shift's end, citra's visit for the day's"
    );

    let evening = jakarta(2, 17, 30);
    store.settle_queue(evening).unwrap();
    assert_consistent(&store, date(1), evening);
    assert_eq!(
        listed(&store, &month(None)),
        vec![
            ("ani".into(), date(2), vec!["late".into()]),
            ("budi".into(), date(2), vec!["absent".into()]),
        ]
    );

    // citra has no shift: her days are in the default zone (UTC), which
    // ends Monday at 07:00 in Jakarta on Tuesday.
    let night = jakarta(3, 7, 30);
    store.settle_queue(night).unwrap();
    assert_consistent(&store, date(1), night);
    let page = store.review_queue(&month(None)).unwrap();
    assert_eq!(page.total, 3);
    let counts: BTreeMap<String, u64> = page.counts.iter().map(|(r, n)| (r.code(), *n)).collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("absent".into(), 1),
            ("late".into(), 1),
            ("missing_check_out".into(), 1)
        ])
    );

    // Filters: a reason, agents (already resolved from names), a site.
    let mut absent = month(None);
    absent.reason = Some(QueueReason::Absent);
    assert_eq!(total(&store, &absent), 1);
    assert_eq!(listed(&store, &absent)[0].0, "budi");
    assert_eq!(total(&store, &month(Some(vec!["ani", "budi"]))), 2);
    assert_eq!(total(&store, &month(Some(vec![]))), 0);
    // A team of three is summed in one statement, its list padded to four
    // by repeating the last agent: nobody is counted twice.
    let team = store
        .review_queue(&month(Some(vec!["ani", "budi", "citra"])))
        .unwrap();
    assert_eq!(
        (team.total, team.counts.clone()),
        (page.total, page.counts.clone())
    );
    let mut team_absent = month(Some(vec!["citra", "budi", "ani"]));
    team_absent.reason = Some(QueueReason::Absent);
    assert_eq!(total(&store, &team_absent), 1);
    let mut south = month(None);
    south.site = Some("jkt-south".into());
    assert_eq!(listed(&store, &south)[0].0, "citra");
    assert_eq!(total(&store, &south), 1);
    let mut ani_at_hq = month(Some(vec!["ani"]));
    ani_at_hq.site = Some("jkt-hq".into());
    assert_eq!(total(&store, &ani_at_hq), 1);
    ani_at_hq.site = Some("jkt-south".into());
    assert_eq!(total(&store, &ani_at_hq), 0);

    // A decision on one of citra's events is not the day's: the day stays.
    let citra_event = store
        .events(
            &admin(),
            &EventFilter {
                agent: Some("citra".into()),
                ..EventFilter::default()
            },
        )
        .unwrap()
        .remove(0);
    store
        .review(
            &admin(),
            &citra_event.id,
            Decision::Rejected,
            "not here",
            night,
        )
        .unwrap();
    // A day decision takes ani's day out at once (the page settles first).
    store
        .review_day(
            &admin(),
            "ani",
            date(2),
            Decision::Approved,
            "traffic",
            night,
        )
        .unwrap();
    store.settle_queue_if_due(night).unwrap();
    assert_consistent(&store, date(1), night);
    assert_eq!(
        listed(&store, &month(None))
            .into_iter()
            .map(|(a, ..)| a)
            .collect::<Vec<_>>(),
        ["budi", "citra"]
    );
    assert_eq!(total(&store, &month(None)), 2);
}

#[test]
fn every_item_is_reachable_page_by_page_both_ways() {
    let (_dir, store) = server(&["a1", "a2", "a3"]);
    for agent in ["a1", "a2", "a3"] {
        store
            .set_shift(&admin(), agent, &shift("daily"), utc(1, 0, 0))
            .unwrap();
    }
    // 45 days of absences each, from mid-January: 135 items.
    store
        .set_shift_from(
            &admin(),
            "a1",
            Some(date(1) - Duration::days(45)),
            &shift("daily"),
            None,
            utc(1, 0, 0),
        )
        .unwrap();
    let now = jakarta(31, 23, 0);
    store.settle_queue(now).unwrap();
    let first = date(1) - Duration::days(45);
    assert_consistent(&store, first, now);
    let mut query = month(None);
    query.from = first;
    let everything: BTreeSet<(String, NaiveDate)> =
        recomputed(&store, first, now).into_keys().collect();
    assert!(everything.len() > 120, "{}", everything.len());
    assert_eq!(total(&store, &query), everything.len() as u64);

    let mut seen: Vec<(String, NaiveDate)> = Vec::new();
    let mut pages = Vec::new();
    let mut at: Option<QueueCursor> = None;
    loop {
        query.from_cursor = at.clone().map(|c| (c, Direction::Older));
        let page = store.review_queue(&query).unwrap();
        assert!(page.items.len() <= 50);
        assert_eq!(
            page.newer.is_some(),
            at.is_some(),
            "a newer link after the first page"
        );
        seen.extend(page.items.iter().map(|i| (i.agent.clone(), i.date)));
        pages.push(
            page.items
                .iter()
                .map(|i| (i.agent.clone(), i.date))
                .collect::<Vec<_>>(),
        );
        match page.older {
            Some(next) => at = Some(next),
            None => break,
        }
    }
    // Newest first, then by agent; nothing twice, nothing left out.
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(seen, sorted);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), everything);
    assert_eq!(seen.len(), everything.len());

    // Back from the oldest page, newer link by newer link.
    let last = pages.len() - 1;
    let first_of_last = &pages[last][0];
    let mut at = QueueCursor {
        date: first_of_last.1,
        agent: first_of_last.0.clone(),
    };
    for expected in pages[..last].iter().rev() {
        query.from_cursor = Some((at.clone(), Direction::Newer));
        let page = store.review_queue(&query).unwrap();
        let got: Vec<(String, NaiveDate)> = page
            .items
            .iter()
            .map(|i| (i.agent.clone(), i.date))
            .collect();
        assert_eq!(&got, expected);
        assert!(page.older.is_some());
        match page.newer {
            Some(c) => at = c,
            None => assert!(std::ptr::eq(expected, &pages[0])),
        }
    }
}

#[test]
fn flags_shift_versions_and_rules_move_the_queue() {
    let (_dir, store) = server(&["ani"]);
    store
        .set_shift(&admin(), "ani", &shift("mon-fri"), utc(1, 0, 0))
        .unwrap();
    // Tuesday on time at HQ, out at 17:00.
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(3, 7, 55));
    check(&store, "ani", EventKind::CheckOut, HQ, jakarta(3, 17, 0));
    let now = jakarta(3, 18, 0);
    store.settle_queue(now).unwrap();
    assert_eq!(
        listed(&store, &month(None)),
        vec![("ani".into(), date(2), vec!["absent".into()])],
        "Monday only: Tuesday was on time"
    );

    // A flag on ani, set Tuesday evening, covers Tuesday: it is flagged.
    let flag = store
        .set_flag(
            &admin(),
            &FlagRequest {
                scope: FlagScope::Agent("ani".into()),
                purpose: FlagPurpose::Audit,
                reason: "spot check".into(),
                expires_at: now + Duration::days(7),
            },
            now,
        )
        .unwrap();
    store.settle_queue_if_due(now).unwrap();
    assert_consistent(&store, date(1), now);
    assert!(listed(&store, &month(None)).contains(&(
        "ani".into(),
        date(3),
        vec!["flagged".into()]
    )));
    // Ended at once it still covered part of Tuesday.
    store.end_flag(&admin(), &flag.id, now).unwrap();
    store.settle_queue_if_due(now).unwrap();
    assert_consistent(&store, date(1), now);
    assert_eq!(total(&store, &month(None)), 2);

    // From Monday on, Mondays are days off: the absence goes.
    store
        .set_shift_from(
            &admin(),
            "ani",
            Some(date(2)),
            &shift("tue-fri"),
            Some(WeekdaySet::parse("mon").unwrap()),
            now,
        )
        .unwrap();
    store.settle_queue_if_due(now).unwrap();
    assert_consistent(&store, date(1), now);
    assert_eq!(
        listed(&store, &month(None)),
        vec![("ani".into(), date(3), vec!["flagged".into()])]
    );

    // A rules change (here the grace) forgets the index; the next settle
    // builds it whole, and it still equals the report's queue.
    let mut rules = store.rules();
    rules.late_grace_min = 0;
    store.set_rules(&admin(), rules).unwrap();
    let held: i64 = store
        .read(|tx| {
            Ok(tx.query_row(
                "SELECT COUNT(*) FROM meta WHERE key LIKE 'queue_%'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(held, 0, "the rules change forgot the built index");
    store.settle_queue_if_due(now).unwrap();
    assert_consistent(&store, date(1), now);
}

#[test]
fn a_phone_keeps_no_queue_and_an_upgraded_server_builds_it_whole() {
    super::sqlite_only!("upgrades a frozen older SQLite schema");
    // A phone's store: check-ins mark nothing, settling does nothing.
    let dir = TempDir::new().unwrap();
    let phone = open_at(&dir);
    phone.import_sites(&admin(), SITES, utc(1, 0, 0)).unwrap();
    phone
        .set_shift(&admin(), "ani", &shift("mon-fri"), utc(1, 0, 0))
        .unwrap();
    let rows = |store: &Store| -> (i64, i64, i64) {
        store
            .read(|tx| {
                Ok((
                    tx.query_row("SELECT COUNT(*) FROM queue_days", [], |r| r.get(0))?,
                    tx.query_row("SELECT COUNT(*) FROM queue_tally", [], |r| r.get(0))?,
                    tx.query_row("SELECT COUNT(*) FROM queue_dirty", [], |r| r.get(0))?,
                ))
            })
            .unwrap()
    };
    phone.settle_queue(jakarta(9, 0, 0)).unwrap();
    assert_eq!(rows(&phone), (0, 0, 0));

    // A server's store at v11 with a week of attendance, upgraded.
    let (dir, store) = server(&["ani", "budi"]);
    for agent in ["ani", "budi"] {
        store
            .set_shift(&admin(), agent, &shift("mon-fri"), utc(1, 0, 0))
            .unwrap();
    }
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(2, 8, 45));
    check(&store, "budi", EventKind::CheckIn, SOUTH, jakarta(4, 7, 30));
    let now = jakarta(6, 20, 0);
    store.settle_queue(now).unwrap();
    let before = listed(&store, &month(None));
    assert!(before.len() >= 5, "{before:?}");
    drop(store);
    {
        let conn = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
        conn.execute_batch(super::schema::UNDO_V13).unwrap();
        conn.execute_batch(super::schema::UNDO_V12).unwrap();
    }
    let upgraded = open_at(&dir);
    assert_eq!(
        rows(&upgraded),
        (0, 0, 0),
        "built by the server's clock, not at open"
    );
    upgraded.settle_queue_if_due(now).unwrap();
    assert_consistent(&upgraded, date(1), now);
    assert_eq!(listed(&upgraded, &month(None)), before);
    assert!(upgraded.verify().unwrap().intact);
}

#[test]
fn today_puts_each_agent_on_their_own_date_and_its_counts_are_the_reports() {
    let (_dir, store) = server(&["ani", "budi", "citra", "dodi"]);
    let jayapura = |days: &str| {
        let mut s = shift(days);
        s.tz = parse_time_zone("Asia/Jayapura").unwrap();
        s
    };
    store
        .set_shift(&admin(), "ani", &shift("mon-fri"), utc(1, 0, 0))
        .unwrap();
    store
        .set_shift(&admin(), "budi", &shift("mon-fri"), utc(1, 0, 0))
        .unwrap();
    store
        .set_shift(&admin(), "citra", &jayapura("mon-fri"), utc(1, 0, 0))
        .unwrap();
    store
        .set_agent_name(&admin(), "budi", "Budi Santoso", utc(1, 0, 0))
        .unwrap();
    // Monday in Jakarta: ani late and still in; budi never came.
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(2, 8, 40));
    // 16:30 UTC: 23:30 Monday in Jakarta, 01:30 Tuesday in Jayapura.
    let now = utc(2, 16, 30);
    store.settle_queue(now).unwrap();
    let rows = store.agents_today(&admin(), None, now).unwrap();
    let by_agent: BTreeMap<&str, &crate::today::AgentToday> =
        rows.iter().map(|r| (r.agent.as_str(), r)).collect();
    assert_eq!(by_agent["ani"].date, date(2));
    assert_eq!(by_agent["citra"].date, date(3));
    assert_eq!(by_agent["citra"].time_zone, "Asia/Jayapura");
    assert_eq!(by_agent["budi"].name.as_deref(), Some("Budi Santoso"));
    assert!(by_agent["ani"].still_checked_in);
    assert!(by_agent["ani"].needs_decision);
    // Sorted by name, else id: ani, Budi Santoso, citra, dodi.
    assert_eq!(
        rows.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>(),
        ["ani", "budi", "citra", "dodi"]
    );
    let counts = crate::today::counts(&rows);
    // The report's totals for each agent's own date.
    let mut expected = crate::today::TodayCounts {
        agents: 4,
        ..Default::default()
    };
    for row in &rows {
        let report = store
            .attendance_report(
                &admin(),
                &ReportQuery {
                    from: row.date,
                    to: row.date,
                    agent: Some(row.agent.clone()),
                },
                now,
            )
            .unwrap();
        let t = &report.totals[0];
        expected.present += t.on_time + t.late;
        expected.late += t.late;
        expected.absent += t.absent;
        expected.not_yet_due += t.pending;
        expected.not_scheduled += t.unscheduled + u32::from(report.days.is_empty());
    }
    expected.still_checked_in = 1;
    expected.needing_decision = 2; // ani late, budi absent past the shift end
    assert_eq!(counts, expected);
    assert_eq!(
        (
            counts.present,
            counts.late,
            counts.absent,
            counts.not_yet_due,
            counts.not_scheduled
        ),
        (1, 1, 1, 1, 1),
        "ani late, budi absent, citra not yet due, dodi (a name only) not scheduled"
    );
    let last = store
        .last_events(&admin(), &["ani".into(), "dodi".into()])
        .unwrap();
    assert_eq!(last["ani"].kind, EventKind::CheckIn);
    assert!(!last.contains_key("dodi"));
    // A team's rows, read as a team (zones, names, days and queue marks a
    // statement each), are everyone's rows narrowed to it: citra is on
    // Jayapura's Tuesday, the others on Jakarta's Monday.
    let team: Vec<String> = ["dodi", "citra", "ani", "budi"].map(String::from).to_vec();
    for members in [&team[..], &team[..1], &team[1..]] {
        let narrowed: Vec<_> = rows
            .iter()
            .filter(|r| members.contains(&r.agent))
            .cloned()
            .collect();
        assert_eq!(
            store.agents_today(&admin(), Some(members), now).unwrap(),
            narrowed
        );
    }
    // The latest of own accepted, own rejected and imported events, read
    // for a team at once: a later check-out from far away (rejected) is
    // ani's; budi's check-in and a rejected check-out in the same second,
    // the check-out (recorded later); dodi has none.
    let far = (-6.9175, 107.6191);
    check(&store, "ani", EventKind::CheckOut, far, jakarta(2, 18, 0));
    check(&store, "budi", EventKind::CheckIn, HQ, jakarta(2, 9, 0));
    check(&store, "budi", EventKind::CheckOut, far, jakarta(2, 9, 0));
    let last = store
        .last_events(
            &admin(),
            &["ani".into(), "budi".into(), "ani".into(), "dodi".into()],
        )
        .unwrap();
    assert_eq!(
        (last["ani"].kind, last["ani"].accepted, last["ani"].at),
        (EventKind::CheckOut, false, jakarta(2, 18, 0))
    );
    assert_eq!(
        (last["budi"].kind, last["budi"].accepted),
        (EventKind::CheckOut, false)
    );
    assert!(!last.contains_key("dodi"));
    // A supervisor's rows are the team's, restricted agents left out.
    store
        .restrict(
            &admin(),
            &crate::privacy::DataSubject::agent("ani"),
            true,
            now,
        )
        .unwrap();
    let team = store
        .agents_today(
            &Actor::supervisor("sup"),
            Some(&["ani".into(), "budi".into()]),
            now,
        )
        .unwrap();
    assert_eq!(
        team.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>(),
        ["budi"]
    );
}

/// A team's reports, read one agent at a time, are exactly the whole
/// reports narrowed to the team: absences, pending days, leads and premium
/// alike; an agent asked for outside the team gives an empty report.
#[test]
fn a_teams_reports_read_agent_by_agent_are_the_whole_reports_narrowed() {
    use crate::leads::{NewLead, NewTransaction, TxnKind};
    let (_dir, store) = server(&["ani", "budi", "citra", "dodi"]);
    for agent in ["ani", "budi", "citra"] {
        store
            .set_shift(&admin(), agent, &shift("mon-fri"), utc(1, 0, 0))
            .unwrap();
    }
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(2, 8, 40));
    check(&store, "ani", EventKind::CheckOut, HQ, jakarta(2, 17, 5));
    check(
        &store,
        "citra",
        EventKind::CheckIn,
        SOUTH,
        jakarta(3, 7, 55),
    );
    check(&store, "dodi", EventKind::CheckIn, HQ, jakarta(3, 9, 0));
    for (agent, name) in [("ani", "Wati"), ("budi", "Joko"), ("dodi", "Sri")] {
        let lead = store
            .add_lead(
                &Actor::agent(agent),
                &NewLead {
                    agent: agent.into(),
                    customer_name: name.into(),
                    phone: None,
                    email: None,
                    product: Some("term life".into()),
                    source: None,
                    note: None,
                },
                jakarta(2, 10, 0),
            )
            .unwrap();
        store
            .add_transaction(
                &Actor::agent(agent),
                &NewTransaction {
                    agent: agent.into(),
                    kind: TxnKind::PolicyClosing,
                    policy_number: format!("POL-{agent}"),
                    product: "term life".into(),
                    amount: "1500000".into(),
                    currency: "IDR".into(),
                    lead_id: Some(lead.id),
                    occurred_at: Some(jakarta(3, 11, 0)),
                },
                jakarta(3, 11, 0),
            )
            .unwrap();
    }
    let now = utc(4, 3, 0);
    let query = ReportQuery {
        from: date(1),
        to: date(6),
        agent: None,
    };
    let team: Vec<String> = ["dodi", "ani", "budi", "ani", "nobody"]
        .map(String::from)
        .to_vec();
    let in_team = |a: &str| team.iter().any(|t| t == a);
    let mut whole = store.attendance_report(&admin(), &query, now).unwrap();
    whole.retain_agents(in_team);
    let read = store
        .attendance_report_of(&admin(), &query, Some(&team), now)
        .unwrap();
    assert_eq!(read.days, whole.days);
    assert_eq!(read.totals, whole.totals);
    assert!(
        read.days.iter().any(|d| &*d.agent == "budi"),
        "budi's absences"
    );
    assert!(!read.days.iter().any(|d| &*d.agent == "citra"));
    let mut sales = store.sales_report(&admin(), &query, now).unwrap();
    sales.retain_agents(in_team);
    let read = store
        .sales_report_of(&admin(), &query, Some(&team), now)
        .unwrap();
    assert_eq!(read.agents, sales.agents);
    assert_eq!(read.agents.len(), 3);
    // One agent asked for: in the team, theirs; outside it, nothing.
    let citra = ReportQuery {
        agent: Some("citra".into()),
        ..query.clone()
    };
    let outside = store
        .attendance_report_of(&admin(), &citra, Some(&team), now)
        .unwrap();
    assert!(outside.days.is_empty());
    assert!(
        outside
            .totals
            .iter()
            .all(|t| t.on_time + t.late + t.absent == 0)
    );
    let ani = ReportQuery {
        agent: Some("ani".into()),
        ..query
    };
    assert_eq!(
        store
            .attendance_report_of(&admin(), &ani, Some(&team), now)
            .unwrap()
            .days,
        store.attendance_report(&admin(), &ani, now).unwrap().days
    );
}

/// The whole build goes a day per transaction, so uploads and decisions go
/// between its steps: a decision on a day already built and a check-in on
/// a day still to build, both made mid-build, are in the finished index
/// exactly as a build without them in between would have it.
#[test]
fn the_whole_build_goes_step_by_step_and_keeps_what_is_written_between_steps() {
    let (_dir, store) = server(&["ani", "budi"]);
    for agent in ["ani", "budi"] {
        store
            .set_shift(&admin(), agent, &shift("mon-fri"), utc(1, 0, 0))
            .unwrap();
    }
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(2, 8, 45));
    let now = jakarta(6, 20, 0);
    let step = || {
        store
            .write(|tx| super::queue::settle(tx, now, true))
            .unwrap()
    };
    let built_through = || -> NaiveDate {
        let text: String = store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT value FROM meta WHERE key = 'queue_built_through'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        crate::time::parse_date("d", &text).unwrap()
    };
    // Step by step, a day each, until Monday and Tuesday are built.
    let mut steps = 0;
    loop {
        assert!(!step(), "built whole before Tuesday");
        steps += 1;
        if built_through() >= date(3) {
            break;
        }
    }
    assert_eq!(built_through(), date(3));
    // Between steps: budi's Monday absence (built) is decided, and ani
    // checks in late on Thursday (not built yet).
    store
        .review_day(
            &admin(),
            "budi",
            date(2),
            crate::review::Decision::Approved,
            "sick note",
            jakarta(3, 9, 0),
        )
        .unwrap();
    check(&store, "ani", EventKind::CheckIn, HQ, jakarta(5, 9, 30));
    while !step() {
        steps += 1;
    }
    assert!(steps >= 5, "built in {steps} steps");
    assert_consistent(&store, date(1), now);
    let items = listed(&store, &month(None));
    assert!(!items.iter().any(|(a, d, _)| a == "budi" && *d == date(2)));
    assert!(items.iter().any(|(a, d, _)| a == "ani" && *d == date(5)));
    // Built: the next settle is the ordinary one.
    assert!(step());
}
