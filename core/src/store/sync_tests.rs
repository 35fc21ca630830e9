//! Sync (PRODUCT.md §9): batches out of order, replayed, truncated, forged
//! and forked are refused or absorbed exactly as specified, and imported
//! attendance shows in the importer's reports.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;
use tempfile::TempDir;

use super::*;
#[allow(unused_imports)]
use crate::error::{Error, Result};
use crate::leads::{LeadStatus, LeadUpdate, NewLead, NewTransaction, TxnKind};
use crate::privacy::DataSubject;
use crate::review::Decision;
#[allow(unused_imports)]
use crate::rules::Rules;
use crate::shift::{Shift, WeekdaySet, parse_time_zone};
use crate::sync::{SyncBatch, SyncError};
#[allow(unused_imports)]
use crate::types::Actor;
use crate::types::{EventKind, Permission};
use crate::{ConsentChange, ErrorKind, ReportQuery};
use std::path::PathBuf;

const SITES: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[106.8227,-6.1944]},
  "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"#;

const HQ: (f64, f64) = (-6.1944, 106.8227);
const FAR: (f64, f64) = (-6.1744, 106.8227);

/// Monday 2026-03-02, 08:00 in Jakarta.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

struct Device {
    dir: TempDir,
    store: Store,
}

impl Device {
    fn path(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }
}

fn open(dir: &TempDir) -> Store {
    Store::open_with(
        dir.path().join("store.db"),
        &OpenOptions {
            durability: Durability::Normal,
            ..Default::default()
        },
    )
    .unwrap()
}

fn empty_store() -> Device {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    Device { dir, store }
}

fn grant(store: &Store, agent: &str, at: DateTime<Utc>) {
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
            at,
        )
        .unwrap();
}

fn check(store: &Store, agent: &str, kind: EventKind, place: (f64, f64), at: DateTime<Utc>) {
    super::tests::fix_at(store, agent, kind, place, at).unwrap();
}

/// Device A: sites, consent, two days of check-ins (one rejected), a lead.
fn device_a() -> Device {
    let a = empty_store();
    a.store.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&a.store, "ag-1", t0());
    grant(&a.store, "ag-2", t0());
    for day in 0..2 {
        let base = t0() + Duration::days(day);
        check(&a.store, "ag-1", EventKind::CheckIn, HQ, base);
        check(&a.store, "ag-2", EventKind::CheckIn, FAR, base);
        check(
            &a.store,
            "ag-1",
            EventKind::CheckOut,
            HQ,
            base + Duration::hours(9),
        );
    }
    a.store
        .add_lead(
            &Actor::agent("ag-1"),
            &NewLead {
                agent: "ag-1".into(),
                customer_name: "Siti Rahayu".into(),
                phone: Some("+62 812 0000 1111".into()),
                email: None,
                product: Some("life".into()),
                source: None,
                note: None,
            },
            t0() + Duration::hours(3),
        )
        .unwrap();
    a
}

fn query() -> ReportQuery {
    ReportQuery {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        agent: None,
    }
}

fn days(store: &Store) -> Vec<crate::report::AttendanceDay> {
    store
        .attendance_report(
            &Actor::supervisor("sup-1"),
            &query(),
            t0() + Duration::days(7),
        )
        .unwrap()
        .days
}

fn pending(store: &Store, limit: usize) -> String {
    serde_json::to_string(&store.sync_pending(&admin(), limit).unwrap()).unwrap()
}

fn import(store: &Store, batch: &str) -> Result<crate::ImportReport> {
    store.sync_import(&admin(), batch, t0() + Duration::days(3))
}

fn sync_error(result: Result<crate::ImportReport>) -> SyncError {
    match result {
        Err(Error::Sync(e)) => {
            assert_eq!(Error::Sync(e.clone()).kind(), ErrorKind::InvalidInput);
            e
        }
        other => panic!("expected a sync error, got {other:?}"),
    }
}

fn imported_count(store: &Store) -> i64 {
    store
        .read(|tx| Ok(tx.query_row("SELECT COUNT(*) FROM sync_events", [], |r| r.get(0))?))
        .unwrap()
}

fn edit(batch: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(batch).unwrap();
    f(&mut value);
    serde_json::to_string(&value).unwrap()
}

fn assert_verified(store: &Store) {
    let report = store.verify().unwrap();
    assert!(report.intact, "{report:?}");
}

#[test]
fn a_batch_carries_the_chain_and_imports_into_the_supervisors_reports() {
    let a = device_a();
    let b = empty_store();
    let device = a.store.device_id().unwrap();
    assert_eq!(device.len(), 36, "{device}");
    assert_ne!(device, b.store.device_id().unwrap());

    let batch = a.store.sync_pending(&admin(), 1000).unwrap();
    assert_eq!(batch.format, "fieldcheck-sync");
    assert_eq!(batch.version, crate::sync::BATCH_VERSION);
    assert_eq!(batch.device_id, device);
    assert_eq!(batch.from_seq, 1);
    // Two consents, six check-ins and -outs, one lead.
    assert_eq!(batch.events.len(), 9);
    assert_eq!(batch.to_seq, 9);
    assert_eq!(batch.head_seq, Some(9));
    assert!(batch.anchor.is_none());
    // Every link as the ledger has it; no personal field in clear.
    let mut prev = crate::chain::GENESIS;
    for e in &batch.events {
        assert_eq!(e.prev_hash, hex::encode(prev));
        let canonical = e.canonical.as_deref().unwrap();
        assert_eq!(
            hex::encode(crate::chain::link(&prev, canonical.as_bytes())),
            e.hash
        );
        prev = hex::decode(&e.hash).unwrap().try_into().unwrap();
    }
    let text = serde_json::to_string(&batch).unwrap();
    assert!(!text.contains("Siti") && !text.contains("0000 1111"));

    let before = days(&a.store);
    assert!(!before.is_empty());
    assert!(days(&b.store).is_empty());
    let report = import(&b.store, &text).unwrap();
    assert_eq!(report.imported, 9);
    assert_eq!(report.skipped_replayed, 0);
    assert_eq!(report.attendance_folded, 6);
    assert_eq!(report.devices.len(), 1);
    assert_eq!(report.devices[0].device_id, device);
    assert_eq!(report.devices[0].last_seq, 9);
    assert_eq!(report.devices[0].last_hash, batch.events[8].hash);
    assert_eq!(days(&b.store), before, "B reports A's days as A does");
    assert_verified(&b.store);
    assert_verified(&a.store);

    // A replay changes nothing.
    let again = import(&b.store, &text).unwrap();
    assert_eq!((again.imported, again.skipped_replayed), (0, 9));
    assert_eq!(days(&b.store), before);
    assert_eq!(imported_count(&b.store), 9);

    // Canonical text is kept verbatim.
    let stored: String = b
        .store
        .read(|tx| {
            Ok(
                tx.query_row("SELECT canonical FROM sync_events WHERE seq = 4", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert_eq!(Some(stored.as_str()), batch.events[3].canonical.as_deref());

    // The supervisor reviews an imported event on B.
    let rejected_day = &batch.events[3];
    assert_eq!(rejected_day.event_type, "attendance");
    b.store
        .review(
            &Actor::supervisor("sup-1"),
            &rejected_day.event_id,
            Decision::Rejected,
            "outside the office",
            t0() + Duration::days(3),
        )
        .unwrap();
    assert_verified(&b.store);
}

#[test]
fn batches_out_of_order_are_refused_as_gaps_then_accepted_in_order() {
    let a = device_a();
    let b = empty_store();
    let device = a.store.device_id().unwrap();
    let first = pending(&a.store, 4);
    a.store.sync_ack(&admin(), 4).unwrap();
    let second = pending(&a.store, 4);
    a.store.sync_ack(&admin(), 8).unwrap();
    let third = pending(&a.store, 4);

    assert_eq!(
        sync_error(import(&b.store, &second)),
        SyncError::Gap {
            device: device.clone(),
            expected_seq: 1,
            found_seq: 5
        }
    );
    assert_eq!(imported_count(&b.store), 0);
    import(&b.store, &first).unwrap();
    assert_eq!(
        sync_error(import(&b.store, &third)),
        SyncError::Gap {
            device: device.clone(),
            expected_seq: 5,
            found_seq: 9
        }
    );
    assert_eq!(imported_count(&b.store), 4);
    import(&b.store, &second).unwrap();
    import(&b.store, &third).unwrap();
    // Older batches again: absorbed.
    let replay = import(&b.store, &first).unwrap();
    assert_eq!((replay.imported, replay.skipped_replayed), (0, 4));
    assert_eq!(imported_count(&b.store), 9);
    assert_eq!(days(&b.store), days(&a.store));
    assert_verified(&b.store);
}

/// An import carries a verified prefix to the chain's new end, and leaves
/// a prefix verified short of the end held before it where it was.
#[test]
fn an_import_moves_a_verified_prefix_to_the_new_end_only_from_the_end() {
    let a = device_a();
    let b = empty_store();
    let first = pending(&a.store, 4);
    a.store.sync_ack(&admin(), 4).unwrap();
    let second = pending(&a.store, 4);
    a.store.sync_ack(&admin(), 8).unwrap();
    let third = pending(&a.store, 4);
    let state = |store: &Store| -> (i64, i64, Option<i64>) {
        store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT last_seq, verified_seq, verified_at FROM sync_devices",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .unwrap()
    };
    let imported_at = (t0() + Duration::days(3)).timestamp();
    import(&b.store, &first).unwrap();
    assert_eq!(state(&b.store), (4, 4, Some(imported_at)));
    import(&b.store, &second).unwrap();
    assert_eq!(state(&b.store), (8, 8, Some(imported_at)));
    // Verified only to event 3 of the 8 held: the next import does not
    // vouch for 4 to 8.
    b.store
        .write(|tx| {
            tx.execute(
                "UPDATE sync_devices SET verified_seq = 3, verified_at = 1",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    import(&b.store, &third).unwrap();
    assert_eq!(state(&b.store), (9, 3, Some(1)));
}

#[test]
fn truncated_batches_are_refused() {
    let a = device_a();
    let b = empty_store();
    let device = a.store.device_id().unwrap();
    let batch = pending(&a.store, 1000);

    let cut_middle = edit(&batch, |v| {
        v["events"].as_array_mut().unwrap().remove(5);
    });
    assert_eq!(
        sync_error(import(&b.store, &cut_middle)),
        SyncError::Gap {
            device: device.clone(),
            expected_seq: 6,
            found_seq: 7
        }
    );
    let cut_end = edit(&batch, |v| {
        v["events"].as_array_mut().unwrap().pop();
    });
    let err = import(&b.store, &cut_end).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let cut_start = edit(&batch, |v| {
        v["events"].as_array_mut().unwrap().remove(0);
    });
    assert_eq!(
        import(&b.store, &cut_start).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    for len in [0, 1, batch.len() / 3, batch.len() / 2, batch.len() - 1] {
        let err = import(&b.store, &batch[..len]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{len}: {err:?}");
    }
    let other_format = edit(&batch, |v| v["version"] = 3.into());
    assert_eq!(
        import(&b.store, &other_format).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(imported_count(&b.store), 0);
    assert!(days(&b.store).is_empty());
    import(&b.store, &batch).unwrap();
}

#[test]
fn forged_batches_are_refused_naming_device_and_seq() {
    let a = device_a();
    let b = empty_store();
    let device = a.store.device_id().unwrap();
    let batch = pending(&a.store, 1000);
    let broken_at = |result| match sync_error(result) {
        SyncError::Broken { device: d, seq, .. } => {
            assert_eq!(d, device);
            seq
        }
        other => panic!("expected a broken chain, got {other:?}"),
    };

    // A rejection turned into an acceptance.
    let forged = edit(&batch, |v| {
        let text = v["events"][3]["canonical"].as_str().unwrap().to_string();
        assert!(text.contains(r#""accepted":false"#), "{text}");
        v["events"][3]["canonical"] = text
            .replace(r#""accepted":false"#, r#""accepted":true"#)
            .into();
    });
    assert_eq!(broken_at(import(&b.store, &forged)), 4);
    // Any one changed byte of a payload.
    let canonical = {
        let v: Value = serde_json::from_str(&batch).unwrap();
        v["events"][3]["canonical"].as_str().unwrap().to_string()
    };
    for i in 0..canonical.len() {
        let mut bytes = canonical.clone().into_bytes();
        bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
        let forged = edit(&batch, |v| {
            v["events"][3]["canonical"] = String::from_utf8(bytes).unwrap().into();
        });
        assert_eq!(broken_at(import(&b.store, &forged)), 4, "byte {i}");
    }

    // One changed byte (one hex digit) in a hash, or in a link.
    for field in ["hash", "prev_hash"] {
        let forged = edit(&batch, |v| {
            let text = v["events"][6][field].as_str().unwrap();
            let flipped = if text.starts_with('0') { "1" } else { "0" };
            v["events"][6][field] = format!("{flipped}{}", &text[1..]).into();
        });
        assert_eq!(broken_at(import(&b.store, &forged)), 7, "{field}");
    }

    // A payload changed with its hash recomputed no longer links onward.
    let rehashed = edit(&batch, |v| {
        let prev: crate::chain::Hash = hex::decode(v["events"][3]["prev_hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let text = v["events"][3]["canonical"]
            .as_str()
            .unwrap()
            .replace(r#""accepted":false"#, r#""accepted":true"#);
        v["events"][3]["hash"] = hex::encode(crate::chain::link(&prev, text.as_bytes())).into();
        v["events"][3]["canonical"] = text.into();
    });
    assert_eq!(broken_at(import(&b.store, &rehashed)), 5);

    // Relabelled: the hash covers the content, the content names the event.
    let relabelled = edit(&batch, |v| v["events"][3]["event_type"] = "review".into());
    assert_eq!(broken_at(import(&b.store, &relabelled)), 4);
    let renamed = edit(&batch, |v| {
        v["events"][3]["event_id"] = "someone-else".into()
    });
    assert_eq!(broken_at(import(&b.store, &renamed)), 4);

    assert_eq!(imported_count(&b.store), 0);
    import(&b.store, &batch).unwrap();

    // The last event of a batch altered and rehashed has nothing after it
    // to give it away, until the device's next batch: then it is a fork.
    let c = empty_store();
    let tail_forged = edit(&pending(&a.store, 10), |v| {
        let prev: crate::chain::Hash = hex::decode(v["events"][8]["prev_hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let text = v["events"][8]["canonical"].as_str().unwrap();
        assert!(text.contains("life"), "{text}");
        let text = text.replace("life", "fire");
        v["events"][8]["hash"] = hex::encode(crate::chain::link(&prev, text.as_bytes())).into();
        v["events"][8]["canonical"] = text.into();
    });
    import(&c.store, &tail_forged).unwrap();
    a.store.sync_ack(&admin(), 9).unwrap();
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::days(2),
    );
    assert_eq!(
        sync_error(import(&c.store, &pending(&a.store, 10))),
        SyncError::Fork {
            device: device.clone(),
            seq: 9
        }
    );
}

#[test]
fn a_forked_device_is_refused_naming_device_and_seq() {
    let a = device_a();
    let device = a.store.device_id().unwrap();
    // Copy A's file after event 9.
    let a = {
        let Device { dir, store } = a;
        store.checkpoint().unwrap();
        drop(store);
        Device {
            store: open(&dir),
            dir,
        }
    };
    let copy_dir = TempDir::new().unwrap();
    {
        let conn = rusqlite::Connection::open(a.path()).unwrap();
        conn.execute(
            "VACUUM INTO ?1",
            [copy_dir.path().join("store.db").to_str().unwrap()],
        )
        .unwrap();
    }
    let copy = open(&copy_dir);
    assert_eq!(copy.device_id().unwrap(), device);
    // Both append a different event 10.
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::days(2),
    );
    check(
        &copy,
        "ag-2",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::days(2),
    );
    let original = pending(&a.store, 1000);
    let forked = pending(&copy, 1000);

    let b = empty_store();
    import(&b.store, &original).unwrap();
    assert_eq!(
        sync_error(import(&b.store, &forked)),
        SyncError::Fork {
            device: device.clone(),
            seq: 10
        }
    );
    // The forked event alone: it links to the held event 9 but is not the
    // event 10 held.
    let alone = edit(&forked, |v| {
        let events = v["events"].as_array_mut().unwrap();
        events.drain(..9);
        v["from_seq"] = 10.into();
    });
    assert_eq!(
        sync_error(import(&b.store, &alone)),
        SyncError::Fork {
            device: device.clone(),
            seq: 10
        }
    );
    // The other order: the copy first, then the original is the fork.
    let c = empty_store();
    import(&c.store, &forked).unwrap();
    assert_eq!(
        sync_error(import(&c.store, &original)),
        SyncError::Fork { device, seq: 10 }
    );
    // After a fork in the past, the next event of the other history links
    // to an event 10 that is not the one imported.
    check(
        &copy,
        "ag-2",
        EventKind::CheckOut,
        HQ,
        t0() + Duration::days(2) + Duration::hours(8),
    );
    copy.sync_ack(&admin(), 10).unwrap();
    let next = pending(&copy, 1000);
    let b_err = sync_error(import(&b.store, &next));
    assert!(
        matches!(b_err, SyncError::Fork { seq: 10, .. }),
        "{b_err:?}"
    );
    assert_verified(&b.store);
}

#[test]
fn ack_releases_the_outbox_and_refuses_to_go_back_or_beyond() {
    let a = device_a();
    let status = a.store.sync_status(&admin()).unwrap();
    assert_eq!(
        (status.acked_seq, status.head_seq, status.pending),
        (0, 9, 9)
    );

    let ack = a.store.sync_ack(&admin(), 6).unwrap();
    assert_eq!((ack.acked_seq, ack.head_seq, ack.pending), (6, 9, 3));
    let batch = a.store.sync_pending(&admin(), 1000).unwrap();
    assert_eq!(
        (batch.from_seq, batch.to_seq, batch.events.len()),
        (7, 9, 3)
    );
    // Replaying an ack is harmless.
    assert_eq!(a.store.sync_ack(&admin(), 6).unwrap(), ack);
    for bad in [5, 10, -1] {
        let err = a.store.sync_ack(&admin(), bad).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "up_to"),
            "{bad}: {err:?}"
        );
    }
    a.store.sync_ack(&admin(), 9).unwrap();
    let empty = a.store.sync_pending(&admin(), 1000).unwrap();
    assert_eq!((empty.from_seq, empty.to_seq), (10, 9));
    assert!(empty.events.is_empty());
    // An empty batch imports as nothing.
    let b = empty_store();
    let report = import(&b.store, &serde_json::to_string(&empty).unwrap()).unwrap();
    assert_eq!(report.imported, 0);

    // New events wait in the outbox.
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::days(2),
    );
    let next = a.store.sync_pending(&admin(), 1000).unwrap();
    assert_eq!((next.from_seq, next.to_seq), (10, 10));
    // Resending from an earlier seq (an importer restored from a backup).
    let resend = a.store.sync_pending_from(&admin(), Some(1), 3).unwrap();
    assert_eq!((resend.from_seq, resend.to_seq), (1, 3));
    assert!(a.store.sync_pending_from(&admin(), Some(0), 3).is_err());
    assert!(a.store.sync_pending_from(&admin(), Some(13), 3).is_err());
    assert!(a.store.sync_pending(&admin(), 0).is_err());
}

#[test]
fn roles_own_batch_and_duplicates() {
    let a = device_a();
    let b = empty_store();
    let batch = pending(&a.store, 1000);
    let agent = Actor::agent("ag-1");
    let supervisor = Actor::supervisor("sup-1");
    assert!(matches!(
        a.store.sync_pending(&agent, 10),
        Err(Error::PermissionDenied(_))
    ));
    a.store.sync_pending(&supervisor, 10).unwrap();
    for actor in [&agent, &supervisor] {
        assert!(matches!(
            a.store.sync_ack(actor, 1),
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(
            b.store.sync_import(actor, &batch, t0()),
            Err(Error::PermissionDenied(_))
        ));
    }
    // A store does not import its own events.
    assert_eq!(
        import(&a.store, &batch).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    import(&b.store, &batch).unwrap();
    let before = days(&b.store);
    // The same events under another device id (a store copied before it
    // had an id of its own, say): kept, but not counted twice.
    let relabelled = edit(&batch, |v| v["device_id"] = "another-device".into());
    let report = import(&b.store, &relabelled).unwrap();
    assert_eq!(report.imported, 9);
    assert_eq!(report.attendance_folded, 0);
    assert_eq!(report.attendance_duplicates, 6);
    assert_eq!(days(&b.store), before);
    assert_eq!(
        b.store
            .sync_status(&admin())
            .unwrap()
            .imported_devices
            .len(),
        2
    );
}

#[test]
fn imported_days_survive_a_rebuild_of_the_summary() {
    let a = device_a();
    let b = empty_store();
    import(&b.store, &pending(&a.store, 1000)).unwrap();
    let before = days(&b.store);
    let shift = |tz: &str| {
        Shift::new(
            chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            WeekdaySet::parse("mon-fri").unwrap(),
            parse_time_zone(tz).unwrap(),
        )
        .unwrap()
    };
    // A zone change rebuilds the agent's days from its events, imported too.
    b.store
        .set_shift(&admin(), "ag-1", &shift("America/New_York"), t0())
        .unwrap();
    let moved = days(&b.store);
    assert!(
        moved
            .iter()
            .any(|d| &*d.agent == "ag-1" && d.time_zone == "America/New_York")
    );
    assert!(
        moved
            .iter()
            .any(|d| &*d.agent == "ag-1" && d.first_check_in.is_some())
    );
    b.store
        .set_shift(&admin(), "ag-1", &shift("Asia/Jakarta"), t0())
        .unwrap();
    let visits = |days: Vec<crate::report::AttendanceDay>| {
        days.into_iter()
            // Shift days without events are absent now: only visits count.
            .filter(|d| &*d.agent == "ag-1" && d.first_check_in.is_some())
            .map(|d| {
                (
                    d.date,
                    d.first_check_in.map(|t| t.with_timezone(&Utc)),
                    d.last_check_out.map(|t| t.with_timezone(&Utc)),
                    d.site_id,
                    d.missing_check_out,
                    d.rejected_total,
                )
            })
            .collect::<Vec<_>>()
    };
    let after = visits(days(&b.store));
    assert_eq!(after.len(), 2);
    assert_eq!(after, visits(before));
}

#[test]
fn a_device_purged_before_its_first_sync_sends_its_anchor_and_links() {
    // Attendance recorded before consent (rejected, still events), then
    // consent and a check-in two years and more later.
    let a = empty_store();
    a.store.import_sites(&admin(), SITES, t0()).unwrap();
    check(&a.store, "ag-1", EventKind::CheckIn, HQ, t0());
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::hours(1),
    );
    let later = t0() + Duration::days(800);
    grant(&a.store, "ag-1", later);
    check(&a.store, "ag-2", EventKind::CheckIn, HQ, later);
    grant(&a.store, "ag-1", later + Duration::hours(1));
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        later + Duration::hours(1),
    );
    a.store.purge(&admin(), later + Duration::hours(2)).unwrap();
    assert_verified(&a.store);

    let batch = a.store.sync_pending(&admin(), 1000).unwrap();
    let anchor = batch.anchor.clone().expect("an anchor");
    assert_eq!(anchor.event_count, 2);
    assert_eq!(batch.from_seq, 3);
    let b = empty_store();
    let report = import(&b.store, &serde_json::to_string(&batch).unwrap()).unwrap();
    assert_eq!(report.imported, 4);
    assert_eq!(report.devices[0].base_seq, 2);

    // Without the anchor a new device must start at 1.
    let c = empty_store();
    let bare = edit(&serde_json::to_string(&batch).unwrap(), |v| {
        v.as_object_mut().unwrap().remove("anchor");
    });
    assert!(matches!(
        sync_error(import(&c.store, &bare)),
        SyncError::Gap {
            expected_seq: 1,
            found_seq: 3,
            ..
        }
    ));
}

#[test]
fn events_purged_in_the_middle_travel_as_links_only() {
    let a = empty_store();
    a.store.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&a.store, "ag-1", t0());
    check(&a.store, "ag-1", EventKind::CheckIn, HQ, t0());
    check(
        &a.store,
        "ag-1",
        EventKind::CheckOut,
        HQ,
        t0() + Duration::hours(8),
    );
    let later = t0() + Duration::days(800);
    grant(&a.store, "ag-1", later);
    check(&a.store, "ag-1", EventKind::CheckIn, HQ, later);
    a.store.purge(&admin(), later + Duration::hours(1)).unwrap();
    assert_verified(&a.store);

    let batch = a.store.sync_pending(&admin(), 1000).unwrap();
    assert_eq!(batch.from_seq, 1);
    assert!(batch.events[0].canonical.is_some());
    assert!(batch.events[1].canonical.is_none());
    assert!(batch.events[2].canonical.is_none());
    let b = empty_store();
    let report = import(&b.store, &serde_json::to_string(&batch).unwrap()).unwrap();
    assert_eq!((report.imported, report.purged_on_device), (5, 2));
    assert_eq!(report.attendance_folded, 1);
    // Their links still bind: a forged link after them is refused.
    let forged = edit(&serde_json::to_string(&batch).unwrap(), |v| {
        v["events"][1]["hash"] = hex::encode([7u8; 32]).into();
    });
    let c = empty_store();
    assert!(matches!(
        sync_error(import(&c.store, &forged)),
        SyncError::Broken { seq: 3, .. }
    ));
}

#[test]
fn imported_attendance_obeys_the_importers_retention() {
    let a = device_a();
    let b = empty_store();
    import(&b.store, &pending(&a.store, 1000)).unwrap();
    let canonical_count = |store: &Store| -> i64 {
        store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT COUNT(*) FROM sync_events WHERE canonical IS NOT NULL",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    assert_eq!(canonical_count(&b.store), 9);
    let limit = t0() + Duration::days(2 * 365);
    assert_eq!(b.store.purge_imported(&admin(), limit).unwrap(), 0);
    // One day later the first day's events (3 of them) have gone.
    assert_eq!(
        b.store
            .purge_imported(&admin(), limit + Duration::days(1) - Duration::hours(1))
            .unwrap(),
        3
    );
    assert_eq!(canonical_count(&b.store), 6);
    // The device's chain still continues where it was.
    check(
        &a.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::days(2),
    );
    a.store.sync_ack(&admin(), 9).unwrap();
    assert_eq!(
        import(&b.store, &pending(&a.store, 10)).unwrap().imported,
        1
    );
    assert_verified(&b.store);
}

#[test]
fn a_batch_is_parsed_before_anything_is_touched() {
    assert!(matches!(
        SyncBatch::check("{}"),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        SyncBatch::check(
            r#"{"format":"x","version":1,"device_id":"d","from_seq":1,"to_seq":0,"events":[]}"#
        ),
        Err(Error::InvalidInput { .. })
    ));
    SyncBatch::check(
        r#"{"format":"fieldcheck-sync","version":1,"device_id":"d","from_seq":1,"to_seq":0,"events":[]}"#,
    )
    .unwrap();
}

// The device clock (issue 12): a device enrolled with a server chains the
// offset it measured with each event, and the importer flags events whose
// recorded time it cannot reconcile with that clock.

/// A device of agent `ag-1` enrolled with a server: at device time
/// `exchange_local` the server's clock read `exchange_local + offset`.
fn linked_device(offset: Duration, exchange_local: DateTime<Utc>) -> Device {
    let d = empty_store();
    d.store.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&d.store, "ag-1", exchange_local - Duration::hours(1));
    d.store
        .link_server(&crate::device::ServerLink {
            server_url: "https://fieldcheck.example".into(),
            agent: "ag-1".into(),
            device_token: "token".into(),
            signing_key: None,
            enrolled_at: exchange_local,
            clock_offset_ms: 0,
            decisions_cursor: None,
            config_cursor: None,
        })
        .unwrap();
    let server_time = crate::time::format_rfc3339(exchange_local + offset);
    let measured = d
        .store
        .note_server_time(&server_time, exchange_local)
        .unwrap();
    assert_eq!(measured, offset.num_milliseconds());
    d
}

/// Imports `device`'s outbox into `server` as received at `received_at`.
fn receive(server: &Store, device: &Store, received_at: DateTime<Utc>) -> crate::ImportReport {
    server
        .sync_import(&admin(), &pending(device, 1000), received_at)
        .unwrap()
}

fn skew_flags(server: &Store) -> Vec<bool> {
    server
        .events(&admin(), &crate::EventFilter::default())
        .unwrap()
        .iter()
        .map(|e| e.clock_skew)
        .collect()
}

#[test]
fn a_linked_device_chains_its_clock_and_an_unlinked_one_keeps_the_old_encoding() {
    let linked = linked_device(Duration::seconds(-2), t0());
    check(
        &linked.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::minutes(5),
    );
    let event = &linked
        .store
        .events(&admin(), &crate::EventFilter::default())
        .unwrap()[0];
    let clock = event
        .device_clock
        .expect("a linked device records its clock");
    assert_eq!(clock.offset_ms, -2_000);
    // 01:00:00 on the device, 00:59:58 on the server.
    assert_eq!(clock.last_exchange_server_at, t0() - Duration::seconds(2));
    let canonical = String::from_utf8(event.canonical()).unwrap();
    assert!(
        canonical.contains(r#""clock_offset_ms":-2000"#),
        "{canonical}"
    );
    assert!(canonical.contains(&format!(
        r#""last_exchange_server_at":{}"#,
        (t0() - Duration::seconds(2)).timestamp()
    )));
    // Read back from the row exactly as chained.
    assert_verified(&linked.store);
    let json = serde_json::to_value(event).unwrap();
    assert!(json.get("clock_skew").is_none(), "{json}");
    assert!(json.get("device_clock").is_none(), "{json}");

    let unlinked = device_a();
    for e in unlinked
        .store
        .events(&admin(), &crate::EventFilter::default())
        .unwrap()
    {
        assert!(e.device_clock.is_none());
        let canonical = String::from_utf8(e.canonical()).unwrap();
        assert!(!canonical.contains("clock"), "{canonical}");
    }
}

#[test]
fn the_importer_flags_a_wrong_or_moved_device_clock_and_reports_it() {
    let server = empty_store();
    let received_at = t0() + Duration::hours(2);

    // A good clock: recorded between the exchange and the receipt.
    let good = linked_device(Duration::seconds(1), t0() - Duration::hours(1));
    check(&good.store, "ag-1", EventKind::CheckIn, HQ, t0());
    let report = receive(&server.store, &good.store, received_at);
    assert_eq!(
        (report.attendance_folded, report.attendance_clock_skew),
        (1, 0)
    );

    // A phone two hours fast at its last exchange: its check-out at
    // "11:00" happened at 09:00, and the offset says so.
    let fast = linked_device(Duration::hours(-2), t0() + Duration::hours(1));
    check(
        &fast.store,
        "ag-1",
        EventKind::CheckOut,
        HQ,
        t0() + Duration::hours(3),
    );
    let report = receive(&server.store, &fast.store, received_at);
    assert_eq!(
        (report.attendance_folded, report.attendance_clock_skew),
        (1, 1)
    );

    // A clock set back after a good exchange (the check-in claims a time
    // before the exchange that preceded it).
    let set_back = linked_device(Duration::zero(), t0());
    check(
        &set_back.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() - Duration::minutes(10),
    );
    // A clock set forward past the receipt.
    let set_forward = linked_device(Duration::zero(), t0());
    check(
        &set_forward.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        received_at + Duration::seconds(31),
    );
    assert_eq!(
        receive(&server.store, &set_back.store, received_at).attendance_clock_skew,
        1
    );
    assert_eq!(
        receive(&server.store, &set_forward.store, received_at).attendance_clock_skew,
        1
    );
    // Within tolerance of the receipt: not flagged.
    let just_in = linked_device(Duration::zero(), t0());
    check(
        &just_in.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        received_at + Duration::seconds(30),
    );
    assert_eq!(
        receive(&server.store, &just_in.store, received_at).attendance_clock_skew,
        0
    );

    // Events list in capture order; the flag is on the three bad ones.
    let events = server
        .store
        .events(&admin(), &crate::EventFilter::default())
        .unwrap();
    let flagged: Vec<(DateTime<Utc>, bool)> = events
        .iter()
        .map(|e| (e.captured_at, e.clock_skew))
        .collect();
    assert_eq!(
        flagged,
        vec![
            (t0() - Duration::minutes(10), true),
            (t0(), false),
            (received_at + Duration::seconds(30), false),
            (received_at + Duration::seconds(31), true),
            (t0() + Duration::hours(3), true),
        ]
    );
    let json = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(json["clock_skew"], true);
    assert!(
        serde_json::to_value(&events[1])
            .unwrap()
            .get("clock_skew")
            .is_none()
    );
    assert_eq!(skew_flags(&server.store).iter().filter(|f| **f).count(), 3);

    // The report counts them on the agent's local day (2 March, Jakarta).
    let day = days(&server.store)
        .into_iter()
        .find(|d| {
            d.agent.as_ref() == "ag-1" && d.date == NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        })
        .unwrap();
    assert_eq!(day.clock_skew, 3);
    let report = server
        .store
        .attendance_report(
            &Actor::supervisor("sup-1"),
            &query(),
            t0() + Duration::days(7),
        )
        .unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let rows = json["days"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .filter(|d| d.get("clock_skew").is_some())
            .count(),
        1
    );
    let html = crate::report::render::attendance_html(&report);
    assert!(html.contains("clock skew ×3"), "no badge");
    assert_verified(&server.store);
}

#[test]
fn the_device_clock_is_chained_so_a_batch_cannot_clear_it() {
    let fast = linked_device(Duration::hours(-2), t0() + Duration::hours(1));
    check(
        &fast.store,
        "ag-1",
        EventKind::CheckIn,
        HQ,
        t0() + Duration::hours(2),
    );
    let batch = pending(&fast.store, 1000);
    let forged = edit(&batch, |v| {
        let events = v["events"].as_array_mut().unwrap();
        let last = events.last_mut().unwrap();
        let text = last["canonical"]
            .as_str()
            .unwrap()
            .replace(r#""clock_offset_ms":-7200000"#, r#""clock_offset_ms":0"#);
        assert!(!text.contains("-7200000"));
        last["canonical"] = Value::from(text);
    });
    let server = empty_store();
    assert!(matches!(
        sync_error(
            server
                .store
                .sync_import(&admin(), &forged, t0() + Duration::hours(3))
        ),
        SyncError::Broken { .. }
    ));
    assert!(skew_flags(&server.store).is_empty());
}

// ---- Synced sales, consent and reviews (issue 12) ----

/// Device A plus a won lead, payments and a cancellation, and a review made
/// on the device.
fn selling_device() -> Device {
    let a = device_a();
    let agent = Actor::agent("ag-1");
    let at = t0() + Duration::hours(4);
    let lead = a
        .store
        .add_lead(
            &agent,
            &NewLead {
                agent: "ag-1".into(),
                customer_name: "Bambang Wijaya".into(),
                phone: None,
                email: Some("bambang@example.com".into()),
                product: Some("health".into()),
                source: Some("referral".into()),
                note: Some("prefers mornings".into()),
            },
            at,
        )
        .unwrap();
    let txn = |kind: TxnKind, amount: &str, currency: &str, lead: Option<&str>, hours: i64| {
        a.store
            .add_transaction(
                &agent,
                &NewTransaction {
                    agent: "ag-1".into(),
                    kind,
                    policy_number: "POL-7".into(),
                    product: "health".into(),
                    amount: amount.into(),
                    currency: currency.into(),
                    lead_id: lead.map(str::to_string),
                    occurred_at: Some(at + Duration::hours(hours)),
                },
                at + Duration::hours(hours),
            )
            .unwrap();
    };
    txn(TxnKind::PolicyClosing, "1500000", "IDR", Some(&lead.id), 1);
    txn(TxnKind::PremiumPayment, "12.50", "USD", None, 2);
    txn(TxnKind::Cancellation, "200000", "IDR", None, 3);
    for status in [LeadStatus::Contacted, LeadStatus::Won] {
        a.store
            .update_lead(
                &agent,
                &lead.id,
                &LeadUpdate {
                    status: Some(status),
                    ..LeadUpdate::default()
                },
                at + Duration::hours(5),
            )
            .unwrap();
    }
    let first = a
        .store
        .events(&admin(), &Default::default())
        .unwrap()
        .into_iter()
        .find(|e| e.agent == "ag-1")
        .unwrap();
    a.store
        .review(
            &Actor::supervisor("sup-1"),
            &first.id,
            Decision::Approved,
            "seen at the office",
            t0() + Duration::days(1),
        )
        .unwrap();
    a
}

fn sales(store: &Store) -> Value {
    let report = store
        .sales_report(&admin(), &query(), t0() + Duration::days(7))
        .unwrap();
    serde_json::to_value(report.agents).unwrap()
}

#[test]
fn synced_sales_and_reviews_count_in_the_importers_reports_as_on_the_device() {
    let a = selling_device();
    let server = empty_store();
    let device_sales = sales(&a.store);
    let row = &device_sales[0];
    assert_eq!(row["agent"], "ag-1");
    assert_eq!(row["leads_total"], 2);
    assert_eq!(row["closings"], 1);
    assert_eq!(row["premium"]["USD"], "12.50");
    assert_eq!(row["cancellations"]["IDR"], "200000.00");

    import(&server.store, &pending(&a.store, 1000)).unwrap();
    assert_eq!(sales(&server.store), device_sales);
    // Each imported event has its sync time; an unknown one has none.
    let first = a.store.events(&admin(), &Default::default()).unwrap()[0]
        .id
        .clone();
    assert_eq!(
        server.store.synced_at(&admin(), &first).unwrap(),
        Some(t0() + Duration::days(3))
    );
    assert_eq!(server.store.synced_at(&admin(), "nope").unwrap(), None);
    assert!(
        server
            .store
            .synced_at(&Actor::agent("ag-1"), &first)
            .is_err()
    );
    // A replay counts nothing twice.
    import(&server.store, &pending(&a.store, 1000)).unwrap();
    assert_eq!(sales(&server.store), device_sales);

    // The device's review shows on the importer's day, without its note
    // (personal free text travels as a digest only).
    let reviewed = |store: &Store| {
        days(store)
            .into_iter()
            .flat_map(|d| {
                let (agent, date) = (d.agent.to_string(), d.date);
                d.event_reviews
                    .into_iter()
                    .map(move |r| (agent.clone(), date, r))
            })
            .collect::<Vec<_>>()
    };
    let on_device = reviewed(&a.store);
    let on_server = reviewed(&server.store);
    assert_eq!(on_device.len(), 1);
    assert_eq!(on_server.len(), 1);
    let (d, s) = (&on_device[0], &on_server[0]);
    assert_eq!(
        (&d.0, d.1, &d.2.review_id, d.2.decision),
        (&s.0, s.1, &s.2.review_id, s.2.decision)
    );
    assert_eq!(d.2.note.as_deref(), Some("seen at the office"));
    assert_eq!(s.2.note, None);

    // A later decision on the importer itself supersedes the device's.
    let event = d.2.event_id.as_deref().unwrap();
    server
        .store
        .review(
            &Actor::supervisor("sup-2"),
            event,
            Decision::Rejected,
            "no",
            t0() + Duration::days(4),
        )
        .unwrap();
    let now_server = reviewed(&server.store);
    assert_eq!(now_server[0].2.decision, Decision::Rejected);
    assert_eq!(now_server[0].2.reviewer, "sup-2");
    assert_verified(&server.store);
}

#[test]
fn a_subjects_export_on_the_importer_holds_what_devices_carried_as_digests() {
    let a = selling_device();
    let server = empty_store();
    import(&server.store, &pending(&a.store, 1000)).unwrap();
    let now = t0() + Duration::days(5);
    let export = server
        .store
        .export_subject(&admin(), &DataSubject::agent("ag-1"), now)
        .unwrap();
    let types: Vec<&str> = export
        .synced_records
        .iter()
        .map(|r| r.event_type.as_str())
        .collect();
    for t in ["consent", "lead_activity", "transaction", "review"] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    assert!(
        !types.contains(&"attendance"),
        "listed as attendance_events"
    );
    assert!(
        export
            .synced_records
            .iter()
            .all(|r| r.record["agent"] == "ag-1" || r.record["subject"] == "ag-1")
    );
    // ag-2's consent is not ag-1's.
    assert_eq!(types.iter().filter(|t| **t == "consent").count(), 1);
    assert!(!export.attendance_events.is_empty());
    let text = serde_json::to_string(&export).unwrap();
    for personal in [
        "Siti",
        "Bambang",
        "bambang@example.com",
        "prefers mornings",
        "seen at the office",
    ] {
        assert!(!text.contains(personal), "{personal} reached the importer");
    }
    assert!(text.contains("personal_digests"));

    // A lead known only from a device's chain can be exported too.
    let lead = export
        .synced_records
        .iter()
        .find(|r| r.event_type == "transaction" && r.record["lead_id"].is_string())
        .map(|r| r.record["lead_id"].as_str().unwrap().to_string())
        .unwrap();
    let lead_export = server
        .store
        .export_subject(&admin(), &DataSubject::lead(lead.clone()), now)
        .unwrap();
    assert_eq!(lead_export.profile["agent"], "ag-1");
    assert_eq!(lead_export.profile["lead"], lead.as_str());
    let lead_types: Vec<&str> = lead_export
        .synced_records
        .iter()
        .map(|r| r.event_type.as_str())
        .collect();
    assert_eq!(
        lead_types,
        [
            "lead_activity",
            "transaction",
            "lead_activity",
            "lead_activity"
        ]
    );
    // An unknown lead is still not found.
    let missing = server
        .store
        .export_subject(&admin(), &DataSubject::lead("no-such-lead"), now)
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    // On the device, nothing was imported, so nothing extra is listed.
    let own = a
        .store
        .export_subject(&admin(), &DataSubject::agent("ag-1"), now)
        .unwrap();
    assert!(own.synced_records.is_empty());
    assert!(
        !serde_json::to_value(&own)
            .unwrap()
            .as_object()
            .unwrap()
            .contains_key("synced_records")
    );
}

#[test]
fn the_v10_upgrade_folds_sales_already_imported_in_its_transaction() {
    let a = selling_device();
    let server = empty_store();
    import(&server.store, &pending(&a.store, 1000)).unwrap();
    let expected = sales(&server.store);
    let path = server.path();
    drop(server.store);
    // Back to v9: the imported events are there, their fold is not.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(crate::store::schema::UNDO_V13).unwrap();
        conn.execute_batch(crate::store::schema::UNDO_V12).unwrap();
        conn.execute_batch(crate::store::schema::UNDO_V11).unwrap();
        conn.execute_batch(
            // Everything v10 added (its reviews rebuild reruns harmlessly).
            "DROP TABLE sync_leads; DROP TABLE sync_transactions; DROP TABLE sync_reviews;
             DROP TABLE console_sessions; DROP TABLE location_views;
             DROP TABLE audit_flag_ends; PRAGMA user_version = 9;",
        )
        .unwrap();
    }
    let upgraded = open(&server.dir);
    assert_eq!(sales(&upgraded), expected);
    assert_eq!(
        days(&upgraded)
            .iter()
            .filter(|d| !d.event_reviews.is_empty())
            .count(),
        1
    );
    assert_verified(&upgraded);
}

/// A store that imports, on the engine the tests run on (a phone's store is
/// always SQLite).
fn importer(dir: &TempDir) -> Store {
    super::test_engine::open(dir.path(), "importer.db")
}

fn months(store: &Store) -> Vec<(String, i64, Vec<u8>)> {
    store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT agent, month, days FROM attendance_months ORDER BY agent, month",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let mut all = Vec::new();
            for row in rows {
                all.push(row?);
            }
            Ok(all)
        })
        .unwrap()
}

#[test]
fn a_batch_larger_than_an_import_gathers_folds_as_a_rebuild_does() {
    // 1,500 attendance events of three agents over two months, after their
    // consents: the import writes what it gathered several times over (and
    // before each consent event reads the store).
    let a = empty_store();
    let spec = crate::store::synthetic::SyntheticAttendance {
        agents: 3,
        events: 1500,
        start: t0() - Duration::days(45),
        days: 45,
        seed: 11,
        first_agent: 0,
    };
    a.store
        .load_synthetic_attendance(&admin(), &spec, &|_| {})
        .unwrap();
    let batch = pending(&a.store, 5000);
    let dir = TempDir::new().unwrap();
    let b = importer(&dir);
    let report = import(&b, &batch).unwrap();
    assert_eq!(report.attendance_folded, 1500);
    assert_eq!(report.imported, 1503);
    let imported = months(&b);
    assert!(
        imported.len() >= 6,
        "three agents, two or three months each"
    );
    let zone = super::days::parse_zone(&b.rules().time_zone).unwrap();
    b.write(|tx| super::days::rebuild_all(tx, zone)).unwrap();
    assert_eq!(months(&b), imported);
    // Every event is held once, and a replay adds nothing.
    let replay = import(&b, &batch).unwrap();
    assert_eq!((replay.imported, replay.skipped_replayed), (0, 1503));
    assert_eq!(months(&b), imported);
}

#[test]
fn an_attendance_event_repeated_within_a_batch_is_folded_once() {
    let a = device_a();
    let batch = pending(&a.store, 1000);
    let plain_dir = TempDir::new().unwrap();
    let plain = importer(&plain_dir);
    import(&plain, &batch).unwrap();
    // The device's first attendance event once more at the end of its
    // chain, correctly linked: a second event with an id already folded.
    let repeated = edit(&batch, |v| {
        let events = v["events"].as_array_mut().unwrap();
        let first = events
            .iter()
            .find(|e| e["event_type"] == "attendance")
            .unwrap()
            .clone();
        let last = events.last().unwrap().clone();
        let seq = last["seq"].as_i64().unwrap() + 1;
        // The same content, at the new seq its encoding carries.
        let first_seq = first["seq"].as_i64().unwrap();
        let canonical = first["canonical"]
            .as_str()
            .unwrap()
            .replace(&format!("\"seq\":{first_seq},"), &format!("\"seq\":{seq},"));
        assert_ne!(canonical, first["canonical"].as_str().unwrap());
        let prev: crate::chain::Hash = hex::decode(last["hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let mut copy = first;
        copy["seq"] = seq.into();
        copy["prev_hash"] = last["hash"].clone();
        copy["hash"] = hex::encode(crate::chain::link(&prev, canonical.as_bytes())).into();
        copy["canonical"] = canonical.into();
        events.push(copy);
        v["to_seq"] = seq.into();
    });
    let dir = TempDir::new().unwrap();
    let b = importer(&dir);
    let report = import(&b, &repeated).unwrap();
    assert_eq!(report.attendance_folded, 6);
    assert_eq!(report.attendance_duplicates, 1);
    assert_eq!(report.imported, 10);
    assert_eq!(days(&b), days(&plain));
    assert_eq!(months(&b), months(&plain));
}

/// A device's batch takes its three locks in one message, its ids quoted
/// into the text: ids holding quotes and backslashes lock the same keys
/// `hashtext` gives them as bound values, in the global order's modes,
/// whether the database reads backslashes in plain literals as escapes
/// (`standard_conforming_strings` off) or not.
#[cfg(feature = "postgres")]
#[test]
fn an_import_locks_its_device_and_agent_whatever_their_ids_hold() {
    use super::db::pg::{AGENT_LOCKS, DEVICE_LOCKS, WRITER_LOCK};
    super::postgres_only!("SQLite has one writer and no advisory locks");
    let dir = TempDir::new().unwrap();
    let (device, agent) = (r"dev 'one' \ back\\slash", r"O'Brien \'");
    for conforming in ["on", "off"] {
        let location = super::test_engine::location(dir.path(), "import-locks.db");
        let url = location.to_str().unwrap();
        let config: postgres::Config = url.parse().unwrap();
        let database = config.get_dbname().unwrap().to_string();
        // Set before the store's pool opens its connections.
        let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {database} SET standard_conforming_strings = {conforming}"
            ))
            .unwrap();
        drop(admin);
        let store =
            Store::open_with(&location, &super::test_engine::options_for(&location)).unwrap();
        let (setting, held, device_key, agent_key) = store
            .write_import(device, agent, |tx| {
                let setting: String =
                    tx.query_row("SHOW standard_conforming_strings", [], |r| r.get(0))?;
                let mut stmt = tx.prepare(
                    "SELECT CAST(classid AS BIGINT), CAST(objid AS BIGINT),
                            CAST(objsubid AS BIGINT), mode
                     FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                     ORDER BY classid, objid",
                )?;
                let held = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })?
                    .collect::<super::db::Result<Vec<_>>>()?;
                // `objid` is unsigned: the key's 32 bits as such.
                let (device_key, agent_key): (i64, i64) = tx.query_row(
                    "SELECT CAST(hashtext(?1) AS BIGINT) & 4294967295,
                            CAST(hashtext(?2) AS BIGINT) & 4294967295",
                    (device, agent),
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                Ok((setting, held, device_key, agent_key))
            })
            .unwrap();
        assert_eq!(setting, conforming);
        let lock =
            |class: i64, key: i64, subid: i64, mode: &str| (class, key, subid, mode.to_string());
        assert_eq!(
            held,
            vec![
                lock(0, WRITER_LOCK, 1, "ShareLock"),
                lock(AGENT_LOCKS, agent_key, 2, "ExclusiveLock"),
                lock(DEVICE_LOCKS, device_key, 2, "ExclusiveLock"),
            ],
            "standard_conforming_strings {conforming}"
        );
    }
}

/// More attendance events than one lookup of held ids carries (128): the
/// same events again under another device id are all found held, those
/// the second lookup carries too, and none is folded twice.
#[test]
fn held_attendance_is_found_past_the_first_lookup() {
    let a = empty_store();
    a.store.import_sites(&admin(), SITES, t0()).unwrap();
    grant(&a.store, "ag-1", t0());
    for i in 0..140 {
        let kind = if i % 2 == 0 {
            EventKind::CheckIn
        } else {
            EventKind::CheckOut
        };
        check(&a.store, "ag-1", kind, HQ, t0() + Duration::minutes(i));
    }
    let dir = TempDir::new().unwrap();
    let b = importer(&dir);
    let batch = pending(&a.store, 1000);
    let first = import(&b, &batch).unwrap();
    assert_eq!(
        (first.attendance_folded, first.attendance_duplicates),
        (140, 0)
    );
    let before = days(&b);
    let relabelled = edit(&batch, |v| v["device_id"] = "another-device".into());
    let again = import(&b, &relabelled).unwrap();
    assert_eq!(
        (again.attendance_folded, again.attendance_duplicates),
        (0, 140)
    );
    assert_eq!(days(&b), before);
}
