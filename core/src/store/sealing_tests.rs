//! Sealed personal values against a real store, on the engine under test
//! (PRODUCT.md §12.5): what is stored never holds the clear value, a wrong
//! or missing master key is refused before anything is written, a value
//! moved or altered does not open, and erasure shreds the subject's keys.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::error::Error;
use crate::leads::NewLead;
use crate::privacy::DataSubject;
use crate::review::Decision;
use crate::seal::MasterKey;
use crate::types::Actor;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn admin() -> Actor {
    Actor::admin("admin-1")
}

fn open(path: &std::path::Path, key: Option<&MasterKey>) -> Result<Store> {
    Store::open_with(
        path,
        &OpenOptions {
            durability: Durability::Normal,
            master_key: key.cloned(),
            ..Default::default()
        },
    )
}

/// A sealing store with a review note, a display name and a lead for two
/// agents each.
fn sealed_store(dir: &TempDir) -> (std::path::PathBuf, MasterKey, Store) {
    let path = test_engine::location(dir.path(), "sealed.db");
    let key = MasterKey::generate();
    let store = open(&path, Some(&key)).unwrap();
    assert!(store.is_sealed());
    for (agent, name) in [("siti", "Siti Rahayu"), ("rudi", "Rudi Hartono")] {
        store.set_agent_name(&admin(), agent, name, t0()).unwrap();
        store
            .review_day(
                &admin(),
                agent,
                day(),
                Decision::Approved,
                &format!("note about {name}: met at the client's office"),
                t0(),
            )
            .unwrap();
        store
            .add_lead(
                &Actor::agent(agent),
                &NewLead {
                    agent: agent.into(),
                    customer_name: format!("customer of {name}"),
                    phone: Some("+62 812 5550 1234".into()),
                    email: None,
                    product: None,
                    source: None,
                    note: Some(format!("lead note of {name}")),
                },
                t0(),
            )
            .unwrap();
    }
    (path, key, store)
}

fn stored(store: &Store, sql: &str) -> Vec<String> {
    store
        .read(|tx| {
            let mut stmt = tx.prepare(sql)?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(r.get::<_, String>(0)?);
            }
            Ok(out)
        })
        .unwrap()
}

#[test]
fn personal_fields_are_stored_sealed_and_read_in_clear() {
    let dir = TempDir::new().unwrap();
    let (_, _, store) = sealed_store(&dir);

    let names = store.agent_names(&admin()).unwrap();
    assert_eq!(names["siti"], "Siti Rahayu");
    let reviews = store.reviews_of_day(&admin(), "rudi", day()).unwrap();
    assert_eq!(
        reviews[0].note.as_deref(),
        Some("note about Rudi Hartono: met at the client's office")
    );
    let leads = store.leads(&admin(), &LeadFilter::default()).unwrap();
    let history = store.lead_history(&admin(), &leads[0].id).unwrap();
    assert!(history[0].personal.get("customer_name").is_some());

    for sql in [
        "SELECT sealed FROM reviews",
        "SELECT sealed FROM agent_names",
        "SELECT sealed FROM lead_activity",
    ] {
        let values = stored(&store, sql);
        assert_eq!(values.len(), 2, "{sql}");
        for value in values {
            for clear in ["Siti", "Rudi", "salt", "note", "customer"] {
                assert!(
                    !value.contains(clear),
                    "{sql} holds {clear:?} in clear: {value}"
                );
            }
        }
    }
    assert!(store.verify().unwrap().intact);
    let status = store.key_status(&admin()).unwrap();
    assert_eq!((status.sealed, status.epoch), (true, Some(1)));
    // Per agent and category, per lead: 2 × (name, review) + 2 leads.
    assert_eq!(status.data_keys, 6);
}

#[test]
fn a_missing_or_wrong_master_key_is_refused_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let (path, key, store) = sealed_store(&dir);
    drop(store);

    let missing = open(&path, None).unwrap_err();
    assert!(matches!(missing, Error::MasterKey(_)), "{missing}");
    assert!(
        missing.to_string().contains("--master-key-file"),
        "{missing}"
    );
    let wrong = open(&path, Some(&MasterKey::generate())).unwrap_err();
    assert!(matches!(wrong, Error::MasterKey(_)), "{wrong}");
    assert_eq!(wrong.kind(), crate::error::ErrorKind::InvalidInput);

    let again = open(&path, Some(&key)).unwrap();
    assert_eq!(again.agent_names(&admin()).unwrap()["rudi"], "Rudi Hartono");
}

#[test]
fn a_store_holding_clear_personal_values_stays_in_clear() {
    let dir = TempDir::new().unwrap();
    let path = test_engine::location(dir.path(), "clear.db");
    if test_engine::on_postgres() {
        // PostgreSQL stores always seal: without a key nothing opens.
        let refused = open(&path, None).unwrap_err();
        assert!(matches!(refused, Error::MasterKey(_)), "{refused}");
        assert!(refused.to_string().contains("keys init"), "{refused}");
        return;
    }
    let store = open(&path, None).unwrap();
    assert!(!store.is_sealed());
    store
        .set_agent_name(&admin(), "siti", "Siti Rahayu", t0())
        .unwrap();
    drop(store);
    // A key given later leaves it in clear (sealing is chosen at creation).
    let keyed = open(&path, Some(&MasterKey::generate())).unwrap();
    assert!(!keyed.is_sealed());
    drop(keyed);
    // Unchanged: still opens without a key, unsealed.
    let store = open(&path, None).unwrap();
    assert!(!store.is_sealed());
    assert_eq!(store.key_status(&admin()).unwrap().data_keys, 0);
}

#[test]
fn a_sealed_value_moved_to_another_row_or_altered_does_not_open() {
    let dir = TempDir::new().unwrap();
    let (_, _, store) = sealed_store(&dir);
    // Rudi's review note, moved onto Siti's review row.
    store
        .write(|tx| {
            tx.execute(
                "UPDATE reviews SET sealed = (SELECT sealed FROM reviews WHERE agent = 'rudi')
                 WHERE agent = 'siti'",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    let moved = store.reviews_of_day(&admin(), "siti", day()).unwrap_err();
    assert!(matches!(moved, Error::Corrupt(_)), "{moved}");
    assert!(moved.to_string().contains("does not open"), "{moved}");

    // One character of Rudi's name changed.
    let sealed = stored(
        &store,
        "SELECT sealed FROM agent_names WHERE agent = 'rudi'",
    );
    let mut altered = sealed[0].clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    store
        .write(|tx| {
            tx.execute(
                "UPDATE agent_names SET sealed = ?1 WHERE agent = 'rudi'",
                [String::from_utf8(altered).unwrap()],
            )?;
            Ok(())
        })
        .unwrap();
    let broken = store.agent_names(&admin()).unwrap_err();
    assert!(matches!(broken, Error::Corrupt(_)), "{broken}");
}

#[test]
fn erasure_shreds_the_subjects_keys_and_leaves_the_others() {
    let dir = TempDir::new().unwrap();
    let (path, key, store) = sealed_store(&dir);
    let report = store
        .erase_subject(&admin(), &DataSubject::agent("rudi"), t0())
        .unwrap();
    let shredded = report
        .erased
        .iter()
        .find(|e| e.category == "data_keys")
        .map(|e| e.count);
    assert_eq!(shredded, Some(2), "{report:?}");
    let keys_left = stored(
        &store,
        "SELECT subject_kind || ':' || subject || ':' || bucket FROM data_keys ORDER BY 1",
    );
    assert!(
        keys_left.iter().all(|k| !k.contains(":rudi:")),
        "{keys_left:?}"
    );
    assert!(keys_left.contains(&"agent:siti:name".to_string()));

    // A copy of Rudi's sealed note made before erasure (what a backup or
    // WAL segment holds) no longer opens: its key is gone.
    drop(store);
    let store = open(&path, Some(&key)).unwrap();
    assert_eq!(
        store.reviews_of_day(&admin(), "siti", day()).unwrap()[0]
            .note
            .as_deref(),
        Some("note about Siti Rahayu: met at the client's office")
    );
    assert!(
        store.reviews_of_day(&admin(), "rudi", day()).unwrap()[0]
            .note
            .is_none()
    );
    assert!(store.verify().unwrap().intact);
}

#[test]
fn a_copy_of_a_sealed_value_reads_as_erased_once_its_key_is_shredded() {
    let dir = TempDir::new().unwrap();
    let (_, _, store) = sealed_store(&dir);
    let note = stored(&store, "SELECT sealed FROM reviews WHERE agent = 'rudi'");
    store
        .write(|tx| sealing::shred(tx, sealing::Subject::agent("rudi")))
        .unwrap();
    // The old sealed text written back, as a restored backup would hold it.
    store
        .write(|tx| {
            tx.execute(
                "UPDATE reviews SET sealed = ?1 WHERE agent = 'rudi'",
                [&note[0]],
            )?;
            Ok(())
        })
        .unwrap();
    let reviews = store.reviews_of_day(&admin(), "rudi", day()).unwrap();
    assert_eq!(reviews[0].note, None);
    assert!(reviews[0].personal.is_erased("note"));
}

#[test]
fn a_v13_store_upgrades_without_sealing_and_keeps_its_names() {
    crate::store::sqlite_only!("rewinds an SQLite file's schema to v13");
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("v13.db");
    let store = open(&path, None).unwrap();
    store
        .set_agent_name(&admin(), "siti", "Siti Rahayu", t0())
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(schema::UNDO_V14).unwrap();
    drop(conn);

    let store = open(&path, None).unwrap();
    let version: u32 = store
        .read(|tx| Ok(tx.query_row("PRAGMA user_version", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(version, schema::VERSION);
    assert!(!store.is_sealed());
    assert_eq!(store.agent_names(&admin()).unwrap()["siti"], "Siti Rahayu");
    assert_eq!(
        store.key_status(&admin()).unwrap(),
        KeyStatus {
            sealed: false,
            epoch: None,
            since: None,
            data_keys: 0
        }
    );
}

/// `store copy` seals as it writes: from a store in clear, and from a
/// sealing store under another master key.
#[cfg(feature = "postgres")]
#[test]
fn store_copy_seals_as_it_writes() {
    crate::store::postgres_only!("store copy writes into PostgreSQL");
    let dir = TempDir::new().unwrap();
    // A store in clear, with every sealed kind of value.
    let clear_path = dir.path().join("clear.db");
    let clear = open(&clear_path, None).unwrap();
    clear
        .set_agent_name(&admin(), "siti", "Siti Rahayu", t0())
        .unwrap();
    clear
        .review_day(
            &admin(),
            "siti",
            day(),
            Decision::Rejected,
            "seen elsewhere",
            t0(),
        )
        .unwrap();
    clear
        .add_lead(
            &Actor::agent("siti"),
            &NewLead {
                agent: "siti".into(),
                customer_name: "Dewi Lestari".into(),
                phone: None,
                email: None,
                product: None,
                source: None,
                note: None,
            },
            t0(),
        )
        .unwrap();
    let (_, source_key, sealed) = sealed_store(&dir);

    for (source, key_given) in [(&clear, None), (&sealed, Some(source_key.clone()))] {
        let key = MasterKey::generate();
        let target = open(&test_engine::location(dir.path(), "copy"), Some(&key)).unwrap();
        assert!(target.is_sealed());
        source.copy_into(&admin(), &target).unwrap();
        assert_eq!(
            target.agent_names(&admin()).unwrap(),
            source.agent_names(&admin()).unwrap()
        );
        let agent = if key_given.is_some() { "rudi" } else { "siti" };
        assert_eq!(
            target.reviews_of_day(&admin(), agent, day()).unwrap()[0].note,
            source.reviews_of_day(&admin(), agent, day()).unwrap()[0].note
        );
        for sql in [
            "SELECT sealed FROM reviews",
            "SELECT sealed FROM agent_names",
        ] {
            for value in stored(&target, sql) {
                assert!(
                    !value.contains("Siti") && !value.contains("salt"),
                    "{value}"
                );
            }
        }
        assert!(target.verify().unwrap().intact);
        // Sealed under the target's key, not the source's.
        drop(target);
    }
}

#[test]
fn a_rotation_rewraps_every_live_key_is_chained_and_retires_the_old_key() {
    let dir = TempDir::new().unwrap();
    let (path, old, store) = sealed_store(&dir);
    let new = MasterKey::generate();
    assert!(matches!(
        store.rotate_master_key(&Actor::supervisor("sup-1"), &new, t0()),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        store.rotate_master_key(&admin(), &old, t0()),
        Err(Error::InvalidInput { .. })
    ));
    let rotation = store.rotate_master_key(&admin(), &new, t0()).unwrap();
    assert_eq!((rotation.epoch, rotation.rewrapped), (2, 6));
    // This process holds the retired key: it writes no more.
    let refused = store.set_agent_name(&admin(), "siti", "Someone", t0());
    assert!(matches!(refused, Err(Error::MasterKey(_))), "{refused:?}");
    assert!(store.retired().is_some());
    // Nor does it read what is wrapped under the new key.
    let unread = store.agent_names(&admin());
    assert!(matches!(unread, Err(Error::MasterKey(_))), "{unread:?}");
    drop(store);

    assert!(matches!(open(&path, Some(&old)), Err(Error::MasterKey(_))));
    let store = open(&path, Some(&new)).unwrap();
    assert_eq!(store.agent_names(&admin()).unwrap()["siti"], "Siti Rahayu");
    let status = store.key_status(&admin()).unwrap();
    assert_eq!((status.epoch, status.data_keys), (Some(2), 6));
    assert!(store.verify().unwrap().intact);
    // The rotation is a chained event: an edit of it breaks the chain.
    store
        .write(|tx| {
            tx.execute("UPDATE key_rotations SET rewrapped = 7", [])?;
            Ok(())
        })
        .unwrap();
    let broken = store.verify().unwrap().first_broken.unwrap();
    assert_eq!(
        broken.event_type.as_deref(),
        Some("key_rotation"),
        "{broken:?}"
    );
}

#[test]
fn a_page_of_names_opens_in_a_few_statements_and_a_shredded_one_reads_as_none() {
    let dir = TempDir::new().unwrap();
    let (_, _, store) = sealed_store(&dir);
    let page: Vec<String> = ["siti", "nobody", "rudi", "siti"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let names = store.agent_names_of(&admin(), &page).unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(names["rudi"], "Rudi Hartono");
    store
        .write(|tx| sealing::shred(tx, sealing::Subject::agent("rudi")))
        .unwrap();
    let names = store.agent_names_of(&admin(), &page).unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names["siti"], "Siti Rahayu");
}

#[test]
fn a_purged_leads_keys_go_with_it() {
    let dir = TempDir::new().unwrap();
    let (_, _, store) = sealed_store(&dir);
    let count = |kind: &str| {
        stored(
            &store,
            &format!("SELECT key_id FROM data_keys WHERE subject_kind = '{kind}'"),
        )
        .len()
    };
    assert_eq!(count("lead"), 2);
    let report = store
        .purge(&admin(), t0() + chrono::Duration::days(10 * 365))
        .unwrap();
    assert_eq!(report.leads, 2);
    assert_eq!(count("lead"), 0);
    assert!(report.data_keys.unwrap() >= 2, "{report:?}");
}

/// A PostgreSQL store written before sealing (in clear) opens only as the
/// source of `store copy`, which moves it into a sealing store.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_store_written_before_sealing_is_copied_out() {
    crate::store::postgres_only!("a PostgreSQL store's way out");
    let dir = TempDir::new().unwrap();
    let old = test_engine::location(dir.path(), "old");
    let as_source = OpenOptions {
        copy_source: true,
        ..Default::default()
    };
    // What an older build left: personal values in clear.
    let legacy = Store::open_with(&old, &as_source).unwrap();
    assert!(!legacy.is_sealed());
    legacy
        .set_agent_name(&admin(), "siti", "Siti Rahayu", t0())
        .unwrap();
    drop(legacy);
    let key = MasterKey::generate();
    let refused = open(&old, Some(&key)).unwrap_err();
    assert!(refused.to_string().contains("store copy"), "{refused}");
    assert!(matches!(open(&old, None), Err(Error::MasterKey(_))));

    let source = Store::open_with(&old, &as_source).unwrap();
    let target = open(&test_engine::location(dir.path(), "new"), Some(&key)).unwrap();
    source.copy_into(&admin(), &target).unwrap();
    assert_eq!(target.agent_names(&admin()).unwrap()["siti"], "Siti Rahayu");
    for value in stored(&target, "SELECT sealed FROM agent_names") {
        assert!(!value.contains("Siti"), "{value}");
    }
    assert!(target.verify().unwrap().intact);
}

/// Without its master key a PostgreSQL store is refused before anything is
/// written: a new database is left empty, not given a schema first.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_store_without_its_key_is_left_untouched() {
    crate::store::postgres_only!("an SQLite store may be opened in clear");
    let dir = TempDir::new().unwrap();
    let location = test_engine::location(dir.path(), "untouched");
    let refused = open(&location, None).unwrap_err();
    assert!(matches!(refused, Error::MasterKey(_)), "{refused}");
    assert!(refused.to_string().contains("master key"), "{refused}");
    let mut client =
        postgres::Client::connect(location.to_str().unwrap(), postgres::NoTls).unwrap();
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    // With its key the same database opens, and seals; without it, it is
    // refused naming its key epoch, not told to make a new key.
    assert!(
        open(&location, Some(&MasterKey::generate()))
            .unwrap()
            .is_sealed()
    );
    let refused = open(&location, None).unwrap_err();
    assert!(refused.to_string().contains("(key epoch 1)"), "{refused}");
    assert!(!refused.to_string().contains("keys init"), "{refused}");
}
