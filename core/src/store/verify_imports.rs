//! What `verify` checks beyond this store's own chain (PRODUCT.md §12.2,
//! "The server's verify covers what it imported"): every imported device
//! chain (dense seqs from the device's base, links, hashes, each event's
//! names), then every row derived from an imported event, recomputed from
//! the canonical texts and compared (a derived row is a cache of the
//! chain, never a second truth), then the day summary, recomputed from the
//! attendance it summarises. A derived row may be missing only where the
//! event's content was purged (on the device, or here by retention).
//!
//! Findings name the device and seq, or the table and row, of the first
//! difference.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, Utc};
use rusqlite::{OptionalExtension, Transaction};

use super::chain::to_hash;
use super::days::{self, DayInput};
use super::month::{self, Month};
use super::settings;
use super::synced::{self, SyncedRows};
use crate::attendance::{AttendanceEvent, RetainedLocation};
use crate::chain::{BrokenLink, link};
use crate::error::{Error, Result};
use crate::types::EventKind;

/// A finding about an imported chain: the device, seq and what is wrong.
fn chain_break(device: &str, seq: i64, event: Option<(&str, &str)>, problem: String) -> BrokenLink {
    BrokenLink {
        seq,
        event_type: event.map(|(t, _)| t.to_string()),
        event_id: event.map(|(_, id)| id.to_string()),
        problem,
        device_id: Some(device.to_string()),
        ..BrokenLink::default()
    }
}

/// A finding about a derived row: its table, which row, what is wrong.
pub(super) fn row_break(table: &str, row: &str, problem: String) -> BrokenLink {
    BrokenLink {
        problem,
        table: Some(table.to_string()),
        row: Some(row.to_string()),
        ..BrokenLink::default()
    }
}

/// Walks every imported device chain. Returns the events checked and the
/// first break.
pub(super) fn imported_chains(tx: &Transaction<'_>) -> Result<(u64, Option<BrokenLink>)> {
    let devices: Vec<(String, i64, Vec<u8>, i64, Vec<u8>)> = {
        let mut stmt = tx.prepare(
            "SELECT device_id, base_seq, base_hash, last_seq, last_hash FROM sync_devices
             ORDER BY device_id",
        )?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    let mut checked = 0u64;
    let mut stmt = tx.prepare(
        "SELECT seq, event_type, event_id, prev_hash, hash, canonical FROM sync_events
         WHERE device_id = ?1 ORDER BY seq",
    )?;
    for (device, base_seq, base_hash, last_seq, last_hash) in devices {
        let mut expected = base_seq + 1;
        let mut prev = to_hash(&base_hash)?;
        let mut rows = stmt.query([&device])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let event_type: String = r.get(1)?;
            let event_id: String = r.get(2)?;
            let prev_hash = to_hash(&r.get::<_, Vec<u8>>(3)?)?;
            let hash = to_hash(&r.get::<_, Vec<u8>>(4)?)?;
            let canonical: Option<String> = r.get(5)?;
            let at = Some((event_type.as_str(), event_id.as_str()));
            if seq != expected {
                return Ok((
                    checked,
                    Some(chain_break(
                        &device,
                        expected,
                        None,
                        format!(
                            "imported event {expected} is missing (the next one held is {seq})"
                        ),
                    )),
                ));
            }
            if prev_hash != prev {
                return Ok((
                    checked,
                    Some(chain_break(
                        &device,
                        seq,
                        at,
                        "does not link to the previous imported event".into(),
                    )),
                ));
            }
            if let Some(text) = &canonical {
                if link(&prev, text.as_bytes()) != hash {
                    return Ok((
                        checked,
                        Some(chain_break(
                            &device,
                            seq,
                            at,
                            "imported content does not match its hash (altered)".into(),
                        )),
                    ));
                }
                if let Err(why) = crate::sync::check_names(text, &event_type, &event_id, seq) {
                    return Ok((checked, Some(chain_break(&device, seq, at, why))));
                }
            }
            prev = hash;
            expected += 1;
            checked += 1;
        }
        if expected - 1 != last_seq || prev[..] != last_hash[..] {
            return Ok((
                checked,
                Some(chain_break(
                    &device,
                    (expected).min(last_seq),
                    None,
                    format!(
                        "the device's chain was imported up to event {last_seq}, and {} is the last held",
                        expected - 1
                    ),
                )),
            ));
        }
    }
    Ok((checked, None))
}

/// An imported attendance event's fields as `sync_attendance` keeps them.
fn attendance_row(e: &AttendanceEvent) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        e.agent,
        e.kind.as_str(),
        u8::from(e.accepted),
        e.reasons_text(),
        e.site_id.as_deref().unwrap_or_default(),
        e.captured_at.timestamp()
    )
}

/// Recomputes every row derived from an imported event and compares.
pub(super) fn derived_rows(tx: &Transaction<'_>) -> Result<Option<BrokenLink>> {
    // The imported events with content, in each device's chain order.
    let mut stmt = tx.prepare(
        "SELECT device_id, seq, event_type, event_id, canonical FROM sync_events
         WHERE canonical IS NOT NULL ORDER BY device_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    // event id -> the (device, seq, row) of every imported copy.
    let mut attendance: BTreeMap<String, Vec<(String, i64, String)>> = BTreeMap::new();
    let mut events_by_position: HashMap<(String, i64), AttendanceEvent> = HashMap::new();
    let mut synced_rows = SyncedRows::default();
    let mut subjects: BTreeSet<(String, i64, String, String)> = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let device: String = r.get(0)?;
        let seq: i64 = r.get(1)?;
        let event_type: String = r.get(2)?;
        let event_id: String = r.get(3)?;
        let canonical: String = r.get(4)?;
        let unreadable =
            |e: Error| Error::Corrupt(format!("imported event {device} {seq} is unreadable: {e}"));
        if event_type == AttendanceEvent::EVENT_TYPE {
            let event = AttendanceEvent::from_canonical(&canonical, &device).map_err(unreadable)?;
            attendance.entry(event_id).or_default().push((
                device.clone(),
                seq,
                attendance_row(&event),
            ));
            events_by_position.insert((device, seq), event);
        } else {
            if let Some(fact) = synced::fact_of(tx, &device, seq, &event_type, &canonical)? {
                synced_rows.add(&device, fact);
            }
            for s in synced::subjects_of(&canonical)? {
                subjects.insert((device.clone(), seq, s.kind.as_str().to_string(), s.id));
            }
        }
    }
    drop(rows);

    // sync_attendance: one row per imported event id not recorded here.
    let mut stored: BTreeMap<String, (String, i64, String)> = BTreeMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT event_id, device_id, seq, agent || '|' || kind || '|' || accepted || '|'
                    || reasons || '|' || IFNULL(site_id, '') || '|' || captured_at
             FROM sync_attendance",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            stored.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?));
        }
    }
    for (event_id, (device, seq, row)) in &stored {
        let matches = attendance.get(event_id).is_some_and(|copies| {
            copies
                .iter()
                .any(|(d, s, r)| d == device && s == seq && r == row)
        });
        if !matches {
            return Ok(Some(row_break(
                "sync_attendance",
                event_id,
                format!("differs from imported event {seq} of device {device}, or it has none"),
            )));
        }
    }
    let mut own =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM attendance_events WHERE id = ?1)")?;
    for (event_id, copies) in &attendance {
        if !stored.contains_key(event_id) && !own.query_row([event_id], |r| r.get::<_, bool>(0))? {
            let (device, seq, _) = &copies[0];
            return Ok(Some(row_break(
                "sync_attendance",
                event_id,
                format!("missing: imported event {seq} of device {device} is in no report"),
            )));
        }
    }
    drop(own);

    // Sales and reviews folded from devices' chains.
    let stored_synced = SyncedRows::stored(tx)?;
    if stored_synced != synced_rows {
        let first = stored_synced
            .0
            .iter()
            .find(|(k, v)| synced_rows.0.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .or_else(|| {
                synced_rows
                    .0
                    .keys()
                    .find(|k| !stored_synced.0.contains_key(*k))
                    .cloned()
            })
            .unwrap_or(("sync_leads", String::new()));
        return Ok(Some(row_break(
            first.0,
            &first.1,
            "differs from what the imported events say, or is missing or extra".into(),
        )));
    }

    // The subjects index.
    let stored_subjects: BTreeSet<(String, i64, String, String)> = {
        let mut stmt =
            tx.prepare("SELECT device_id, seq, subject_kind, subject FROM sync_subjects")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    if let Some((device, seq, kind, subject)) =
        stored_subjects.symmetric_difference(&subjects).next()
    {
        return Ok(Some(row_break(
            "sync_subjects",
            &format!("{device} {seq} {kind} {subject}"),
            "differs from what the imported events name".into(),
        )));
    }

    // Coordinates kept from devices: each the one its event's digest names.
    {
        let mut stmt = tx.prepare(
            "SELECT event_id, device_id, seq, agent, lat, lon, accuracy_m, captured_at, salt,
                    flag_ids, retain_until FROM sync_retained_locations",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let event_id: String = r.get(0)?;
            let device: String = r.get(1)?;
            let seq: i64 = r.get(2)?;
            let agent: String = r.get(3)?;
            let location = RetainedLocation {
                event_id: event_id.clone(),
                lat: r.get(4)?,
                lon: r.get(5)?,
                accuracy_m: r.get(6)?,
                captured_at: from_unix(r.get(7)?)?,
                salt: r.get(8)?,
                flag_ids: r
                    .get::<_, String>(9)?
                    .split(',')
                    .map(str::to_string)
                    .collect(),
                retain_until: from_unix(r.get(10)?)?,
            };
            let ok = events_by_position
                .get(&(device.clone(), seq))
                .is_some_and(|e| {
                    e.id == event_id
                        && e.agent == agent
                        && e.coords_digest.as_deref() == Some(location.digest().as_str())
                });
            if !ok {
                return Ok(Some(row_break(
                    "sync_retained_locations",
                    &event_id,
                    format!(
                        "does not match the digest of imported event {seq} of device {device}, or that event"
                    ),
                )));
            }
        }
    }
    day_summary(tx)
}

fn from_unix(t: i64) -> Result<DateTime<Utc>> {
    crate::time::from_unix("time", t).map_err(|e| Error::Corrupt(e.to_string()))
}

/// One day as the summary should hold it, with who contributed.
#[derive(Default)]
struct ExpectedMonth {
    month: Month,
    /// Per day: the sources of its events (`""` for this store's own, else
    /// the device).
    sources: Vec<HashSet<String>>,
}

/// Recomputes the day summary from the attendance it summarises (own
/// events in chain order, then imported ones by device and seq) and
/// compares it with what is stored. Months at or before the last
/// retention cutoff are left out (their purged days stay counted).
/// Whether a visit is still open or was left unclosed depends on the order
/// events arrived in; it is compared only for days fed by one source.
fn day_summary(tx: &Transaction<'_>) -> Result<Option<BrokenLink>> {
    let rules = settings::stored_rules(tx)?.unwrap_or_default();
    let default_zone = days::parse_zone(&rules.time_zone)?;
    let skip_through: Option<i64> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'attendance_purged_before'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|t| month::month_key(t.date_naive()) + 1);
    let mut zones: HashMap<String, chrono_tz::Tz> = HashMap::new();
    let mut sites: HashMap<String, u32> = HashMap::new();
    let mut expected: BTreeMap<(String, i64), ExpectedMonth> = BTreeMap::new();
    for sql in [
        "SELECT agent, kind, accepted, reasons, site_id, captured_at, '' FROM attendance_events
         ORDER BY seq",
        "SELECT agent, kind, accepted, reasons, site_id, captured_at, device_id
         FROM sync_attendance ORDER BY device_id, seq",
    ] {
        let mut stmt = tx.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let corrupt = |e: Error| Error::Corrupt(format!("stored event is unreadable: {e}"));
            let agent: String = r.get(0)?;
            let kind: String = r.get(1)?;
            let reasons =
                AttendanceEvent::parse_reasons(&r.get::<_, String>(3)?).map_err(corrupt)?;
            let site: Option<String> = r.get(4)?;
            let input = DayInput {
                agent: &agent,
                kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
                accepted: r.get(2)?,
                reasons: &reasons,
                site_id: site.as_deref(),
                captured_at: r.get(5)?,
            };
            let from: String = r.get(6)?;
            let tz = days::zone_cached(tx, &mut zones, &agent, default_zone)?;
            let (date, key) = days::day_of(tz, input.captured_at)?;
            let number = match (&site, input.accepted) {
                (Some(s), true) => {
                    let next = sites.len() as u32 + 1;
                    *sites.entry(s.clone()).or_insert(next)
                }
                _ => 0,
            };
            let slot = expected
                .entry((agent.clone(), key))
                .or_insert_with(|| ExpectedMonth {
                    month: [month::Day::default(); month::DAYS],
                    sources: vec![HashSet::new(); month::DAYS],
                });
            let day = date.day0() as usize;
            days::apply_to_day(&mut slot.month[day], &input, number)?;
            slot.sources[day].insert(from);
        }
    }
    let expected_names: HashMap<u32, String> = sites.into_iter().map(|(s, n)| (n, s)).collect();
    let stored_names: HashMap<u32, String> = {
        let mut stmt = tx.prepare("SELECT id, site FROM summary_sites")?;
        stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let named = |day: &month::Day, names: &HashMap<u32, String>| {
        let name = |s: u32| names.get(&s).cloned().unwrap_or_default();
        (
            day.flags & month::PRESENT,
            day.first_in.map(|(t, s)| (t, name(s))),
            day.last_out.map(|(t, s)| (t, name(s))),
            day.rejections,
        )
    };
    let mut stored: BTreeMap<(String, i64), Month> = BTreeMap::new();
    {
        let mut stmt = tx.prepare("SELECT agent, month, days FROM attendance_months")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let agent: String = r.get(0)?;
            let key: i64 = r.get(1)?;
            let bytes: Vec<u8> = r.get(2)?;
            let Some(decoded) = month::decode(key, &bytes) else {
                return Ok(Some(row_break(
                    "attendance_months",
                    &format!("{agent} {}", month_label(key)),
                    "is damaged".into(),
                )));
            };
            stored.insert((agent, key), decoded);
        }
    }
    let keys: BTreeSet<&(String, i64)> = expected.keys().chain(stored.keys()).collect();
    let empty = [month::Day::default(); month::DAYS];
    for key in keys {
        if skip_through.is_some_and(|limit| key.1 <= limit) {
            continue;
        }
        let want = expected.get(key);
        let have = stored.get(key).unwrap_or(&empty);
        let want_month = want.map_or(&empty, |w| &w.month);
        for d in 0..month::DAYS {
            let single_source = want.is_none_or(|w| w.sources[d].len() <= 1);
            let order_bits = |day: &month::Day| day.flags & (month::OPEN | month::UNCLOSED);
            let differs = named(&want_month[d], &expected_names) != named(&have[d], &stored_names)
                || (single_source && order_bits(&want_month[d]) != order_bits(&have[d]));
            if differs {
                return Ok(Some(row_break(
                    "attendance_months",
                    &format!("{} {}-{:02}", key.0, month_label(key.1), d + 1),
                    "the day's summary differs from the attendance it summarises".into(),
                )));
            }
        }
    }
    Ok(None)
}

/// `YYYY-MM` of a month key.
fn month_label(key: i64) -> String {
    format!("{}-{:02}", key.div_euclid(12), key.rem_euclid(12) + 1)
}
