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

use super::db::{OptionalExtension, Transaction};
use super::sealing;
use chrono::{DateTime, Datelike, Utc};

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
    /// Where a device's chain was picked up and how far it was imported.
    struct Held {
        device: String,
        base_seq: i64,
        base_hash: Vec<u8>,
        last_seq: i64,
        last_hash: Vec<u8>,
    }
    let devices: Vec<Held> = {
        let mut stmt = tx.prepare(
            "SELECT device_id, base_seq, base_hash, last_seq, last_hash FROM sync_devices
             ORDER BY device_id",
        )?;
        stmt.query_map([], |r| {
            Ok(Held {
                device: r.get(0)?,
                base_seq: r.get(1)?,
                base_hash: r.get(2)?,
                last_seq: r.get(3)?,
                last_hash: r.get(4)?,
            })
        })?
        .collect::<super::db::Result<_>>()?
    };
    let mut checked = 0u64;
    let mut stmt = tx.prepare(
        "SELECT seq, event_type, event_id, prev_hash, hash, canonical FROM sync_events
         WHERE device_id = ?1 ORDER BY seq",
    )?;
    for Held {
        device,
        base_seq,
        base_hash,
        last_seq,
        last_hash,
    } in devices
    {
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

/// Recomputes every row derived from an imported event and compares,
/// streaming: a server's store holds millions of imported events.
pub(super) fn derived_rows(tx: &Transaction<'_>) -> Result<Option<BrokenLink>> {
    if let Some(broken) = imported_attendance(tx)? {
        return Ok(Some(broken));
    }
    // Sales, reviews and the subjects index, folded again from the other
    // imported events (far fewer than attendance).
    let mut stmt = tx.prepare(
        "SELECT device_id, seq, event_type, canonical FROM sync_events
         WHERE canonical IS NOT NULL AND event_type != 'attendance' ORDER BY device_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut synced_rows = SyncedRows::default();
    let mut subjects: BTreeSet<(String, i64, String, String)> = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let device: String = r.get(0)?;
        let seq: i64 = r.get(1)?;
        let event_type: String = r.get(2)?;
        let canonical: String = r.get(3)?;
        if let Some(fact) = synced::fact_of(tx, &device, seq, &event_type, &canonical)? {
            synced_rows.add(&device, fact);
        }
        for s in synced::subjects_of(&canonical)? {
            subjects.insert((device.clone(), seq, s.kind.as_str().to_string(), s.id));
        }
    }
    drop(rows);
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
    let stored_subjects: BTreeSet<(String, i64, String, String)> = {
        let mut stmt =
            tx.prepare("SELECT device_id, seq, subject_kind, subject FROM sync_subjects")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<super::db::Result<_>>()?
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
    if let Some(broken) = retained_from_devices(tx)? {
        return Ok(Some(broken));
    }
    day_summary(tx)
}

/// `sync_attendance`: each row the fields of the imported event it names,
/// and every imported attendance event with content in it (or recorded
/// here: held once).
fn imported_attendance(tx: &Transaction<'_>) -> Result<Option<BrokenLink>> {
    let mut stmt = tx.prepare(
        "SELECT a.event_id, a.device_id, a.seq, a.agent || '|' || a.kind || '|' || a.accepted
                  || '|' || a.reasons || '|' || COALESCE(a.site_id, '') || '|' || a.captured_at,
                e.event_type, e.canonical
         FROM sync_attendance a
         LEFT JOIN sync_events e ON e.device_id = a.device_id AND e.seq = a.seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let event_id: String = r.get(0)?;
        let device: String = r.get(1)?;
        let seq: i64 = r.get(2)?;
        let row: String = r.get(3)?;
        let event_type: Option<String> = r.get(4)?;
        let canonical: Option<String> = r.get(5)?;
        let matches = match (event_type.as_deref(), canonical) {
            (Some("attendance"), Some(text)) => {
                let event = AttendanceEvent::from_canonical(&text, &device).map_err(|e| {
                    Error::Corrupt(format!("imported event {device} {seq} is unreadable: {e}"))
                })?;
                event.id == event_id && attendance_row(&event) == row
            }
            _ => false,
        };
        if !matches {
            return Ok(Some(row_break(
                "sync_attendance",
                &event_id,
                format!("differs from imported event {seq} of device {device}, or it has none"),
            )));
        }
    }
    let missing: Option<(String, String, i64)> = tx
        .query_row(
            "SELECT e.event_id, e.device_id, e.seq FROM sync_events e
             WHERE e.event_type = 'attendance' AND e.canonical IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM sync_attendance a WHERE a.event_id = e.event_id)
               AND NOT EXISTS (SELECT 1 FROM attendance_events o WHERE o.id = e.event_id)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(missing.map(|(event_id, device, seq)| {
        row_break(
            "sync_attendance",
            &event_id,
            format!("missing: imported event {seq} of device {device} is in no report"),
        )
    }))
}

/// Coordinates kept from devices: each the one its event's digest names.
fn retained_from_devices(tx: &Transaction<'_>) -> Result<Option<BrokenLink>> {
    let mut stmt = tx.prepare(
        "SELECT r.event_id, r.device_id, r.seq, r.agent, r.lat, r.lon, r.accuracy_m,
                r.captured_at, r.salt, r.flag_ids, r.retain_until, e.canonical, r.sealed
         FROM sync_retained_locations r
         LEFT JOIN sync_events e ON e.device_id = r.device_id AND e.seq = r.seq
           AND e.event_type = 'attendance'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let event_id: String = r.get(0)?;
        let device: String = r.get(1)?;
        let seq: i64 = r.get(2)?;
        let agent: String = r.get(3)?;
        let sealed: Option<Vec<u8>> = r.get(12)?;
        // Shredded coordinates are skipped, as erased values are.
        let opened = sealing::open_coordinates(
            tx,
            &sealing::SYNC_RETAINED,
            &event_id,
            (r.get(4)?, r.get(5)?, r.get(8)?),
            sealed.as_deref(),
        );
        let Some((lat, lon, salt)) = (match opened {
            Err(Error::Corrupt(problem)) => {
                return Ok(Some(row_break(
                    "sync_retained_locations",
                    &event_id,
                    problem,
                )));
            }
            opened => opened?,
        }) else {
            continue;
        };
        let location = RetainedLocation {
            event_id: event_id.clone(),
            lat,
            lon,
            accuracy_m: r.get(6)?,
            captured_at: from_unix(r.get(7)?)?,
            salt,
            flag_ids: r
                .get::<_, String>(9)?
                .split(',')
                .map(str::to_string)
                .collect(),
            retain_until: from_unix(r.get(10)?)?,
        };
        let canonical: Option<String> = r.get(11)?;
        let ok = canonical
            .and_then(|text| AttendanceEvent::from_canonical(&text, &device).ok())
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
    Ok(None)
}

fn from_unix(t: i64) -> Result<DateTime<Utc>> {
    crate::time::from_unix("time", t).map_err(|e| Error::Corrupt(e.to_string()))
}

/// One month as the summary should hold it, with who contributed.
struct ExpectedMonth {
    month: Month,
    /// Per day: the sources of its events (`""` for this store's own, else
    /// the device).
    sources: Vec<HashSet<String>>,
}

/// An attendance row of either source, as the summary folds it.
struct DayRow {
    agent: String,
    kind: EventKind,
    accepted: bool,
    reasons: Vec<crate::evaluation::Reason>,
    site: Option<String>,
    captured_at: i64,
    source: String,
}

fn day_row(r: &super::db::Row<'_>) -> Result<DayRow> {
    let corrupt = |e: Error| Error::Corrupt(format!("stored event is unreadable: {e}"));
    let kind: String = r.get(1)?;
    Ok(DayRow {
        agent: r.get(0)?,
        kind: EventKind::parse("kind", &kind).map_err(corrupt)?,
        accepted: r.get(2)?,
        reasons: AttendanceEvent::parse_reasons(&r.get::<_, String>(3)?).map_err(corrupt)?,
        site: r.get(4)?,
        captured_at: r.get(5)?,
        source: r.get(6)?,
    })
}

/// Recomputes the day summary from the attendance it summarises and
/// compares it with what is stored, one agent at a time (own events in
/// chain order, then imported ones by device and seq, as a rebuild folds
/// them). Months at or before the last retention cutoff are left out
/// (their purged days stay counted). Whether a visit is still open or was
/// left unclosed depends on the order events arrived in; it is compared
/// only for days fed by one source.
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
    let site_names: HashMap<u32, String> = {
        let mut stmt = tx.prepare("SELECT id, site FROM summary_sites")?;
        stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?)))?
            .collect::<super::db::Result<_>>()?
    };
    let site_numbers: HashMap<&str, u32> =
        site_names.iter().map(|(n, s)| (s.as_str(), *n)).collect();
    // Both sources in agent order (byte order on both sides), merged.
    let mut own_stmt = tx.prepare(
        "SELECT agent, kind, accepted, reasons, site_id, captured_at, '' FROM attendance_events
         ORDER BY agent, seq",
    )?;
    let mut imported_stmt = tx.prepare(
        "SELECT agent, kind, accepted, reasons, site_id, captured_at, device_id
         FROM sync_attendance ORDER BY agent, device_id, seq",
    )?;
    let mut own = own_stmt.query([])?;
    let mut imported = imported_stmt.query([])?;
    let mut next_own = own.next()?.map(|r| day_row(&r)).transpose()?;
    let mut next_imported = imported.next()?.map(|r| day_row(&r)).transpose()?;
    let mut agents_seen: HashSet<String> = HashSet::new();
    loop {
        let agent = match (&next_own, &next_imported) {
            (None, None) => break,
            (Some(a), None) => a.agent.clone(),
            (None, Some(b)) => b.agent.clone(),
            (Some(a), Some(b)) => a.agent.clone().min(b.agent.clone()),
        };
        let tz = days::zone_of(tx, &agent, default_zone)?;
        let mut expected: BTreeMap<i64, ExpectedMonth> = BTreeMap::new();
        let mut fold = |row: &DayRow| -> Result<()> {
            let input = DayInput {
                agent: &row.agent,
                kind: row.kind,
                accepted: row.accepted,
                reasons: &row.reasons,
                site_id: row.site.as_deref(),
                captured_at: row.captured_at,
            };
            let (date, key) = days::day_of(tz, row.captured_at)?;
            // Sites numbered as the summary numbers them; one it never
            // interned gets a number it cannot have, so it differs.
            let number = match (&row.site, row.accepted) {
                (Some(s), true) => site_numbers.get(s.as_str()).copied().unwrap_or(u32::MAX),
                _ => 0,
            };
            let slot = expected.entry(key).or_insert_with(|| ExpectedMonth {
                month: [month::Day::default(); month::DAYS],
                sources: vec![HashSet::new(); month::DAYS],
            });
            let day = date.day0() as usize;
            days::apply_to_day(&mut slot.month[day], &input, number)?;
            slot.sources[day].insert(row.source.clone());
            Ok(())
        };
        while let Some(row) = next_own.take_if(|r| r.agent == agent) {
            fold(&row)?;
            next_own = own.next()?.map(|r| day_row(&r)).transpose()?;
        }
        while let Some(row) = next_imported.take_if(|r| r.agent == agent) {
            fold(&row)?;
            next_imported = imported.next()?.map(|r| day_row(&r)).transpose()?;
        }
        if let Some(broken) = compare_months(tx, &agent, &expected, skip_through)? {
            return Ok(Some(broken));
        }
        agents_seen.insert(agent);
    }
    // Months of agents with no attendance at all.
    let mut stmt = tx.prepare("SELECT DISTINCT agent FROM attendance_months")?;
    let stored_agents: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<super::db::Result<_>>()?;
    for agent in stored_agents {
        if !agents_seen.contains(&agent)
            && let Some(broken) = compare_months(tx, &agent, &BTreeMap::new(), skip_through)?
        {
            return Ok(Some(broken));
        }
    }
    Ok(None)
}

/// One agent's stored months against the expected ones.
fn compare_months(
    tx: &Transaction<'_>,
    agent: &str,
    expected: &BTreeMap<i64, ExpectedMonth>,
    skip_through: Option<i64>,
) -> Result<Option<BrokenLink>> {
    let mut stored: BTreeMap<i64, Month> = BTreeMap::new();
    let mut stmt =
        tx.prepare_cached("SELECT month, days FROM attendance_months WHERE agent = ?1")?;
    let mut rows = stmt.query([agent])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let bytes: Vec<u8> = r.get(1)?;
        let Some(decoded) = month::decode(key, &bytes) else {
            return Ok(Some(row_break(
                "attendance_months",
                &format!("{agent} {}", month_label(key)),
                "is damaged".into(),
            )));
        };
        stored.insert(key, decoded);
    }
    let empty = [month::Day::default(); month::DAYS];
    let keys: BTreeSet<i64> = expected.keys().chain(stored.keys()).copied().collect();
    let order_bits = |day: &month::Day| day.flags & (month::OPEN | month::UNCLOSED);
    let facts = |day: &month::Day| {
        (
            day.flags & month::PRESENT,
            day.first_in,
            day.last_out,
            day.rejections,
        )
    };
    for key in keys {
        if skip_through.is_some_and(|limit| key <= limit) {
            continue;
        }
        let want = expected.get(&key);
        let want_month = want.map_or(&empty, |w| &w.month);
        let have = stored.get(&key).unwrap_or(&empty);
        for d in 0..month::DAYS {
            let single_source = want.is_none_or(|w| w.sources[d].len() <= 1);
            let differs = facts(&want_month[d]) != facts(&have[d])
                || (single_source && order_bits(&want_month[d]) != order_bits(&have[d]));
            if differs {
                return Ok(Some(row_break(
                    "attendance_months",
                    &format!("{agent} {}-{:02}", month_label(key), d + 1),
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
