//! The per-agent month of the attendance summary, packed into one BLOB.
//!
//! A report over a month of 5,000 agents then reads 5,000 small rows
//! instead of 150,000 (PRODUCT.md §11: 1,000,000 events in at most 100 ms):
//! SQLite's per-row cost and the pages read bounded the per-day layout.
//! The encoding is hand-written because it is tiny (LEB128 varints) and
//! must stay compact and stable; a general serialisation crate would add
//! field tags and a dependency for no gain.
//!
//! For each day of the month, in order: a flags byte (0 = nothing that day);
//! then, if `HAS_IN`, the first accepted check-in as a zigzag varint of
//! seconds from the month's base and its site number; if `HAS_OUT`, the same
//! for the last accepted check-out; if `HAS_REJECTIONS`, a count and that
//! many (reason index, count) pairs.

use crate::evaluation::Reason;

pub(super) const DAYS: usize = 31;

pub(super) const PRESENT: u8 = 1;
pub(super) const OPEN: u8 = 2;
pub(super) const UNCLOSED: u8 = 4;
const HAS_IN: u8 = 8;
const HAS_OUT: u8 = 16;
const HAS_REJECTIONS: u8 = 32;

/// One local day of one agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Day {
    /// PRESENT, OPEN, UNCLOSED.
    pub flags: u8,
    pub first_in: Option<(i64, u32)>,
    pub last_out: Option<(i64, u32)>,
    /// Per `Reason::ALL` entry.
    pub rejections: [u32; Reason::ALL.len()],
}

impl Day {
    /// An accepted check-in: opens a visit (an open one stays unclosed).
    pub fn check_in(&mut self, at: i64, site: u32) {
        if self.flags & OPEN != 0 {
            self.flags |= UNCLOSED;
        }
        self.flags |= PRESENT | OPEN;
        if self.first_in.is_none_or(|(first, _)| at < first) {
            self.first_in = Some((at, site));
        }
    }

    /// An accepted check-out: closes the open visit, if any.
    pub fn check_out(&mut self, at: i64, site: u32) {
        self.flags = (self.flags | PRESENT) & !OPEN;
        if self.last_out.is_none_or(|(last, _)| at >= last) {
            self.last_out = Some((at, site));
        }
    }

    pub fn reject(&mut self, reason: Reason) {
        self.flags |= PRESENT;
        if let Some(i) = Reason::ALL.iter().position(|r| *r == reason) {
            self.rejections[i] = self.rejections[i].saturating_add(1);
        }
    }

    pub fn rejection_counts(&self) -> impl Iterator<Item = (Reason, u32)> + '_ {
        Reason::ALL
            .iter()
            .zip(self.rejections)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| (*r, n))
    }
}

/// A decoded month: day d of the month is `days[d - 1]`.
pub(super) type Month = [Day; DAYS];

/// The month key of a local date: months since year 0.
pub(super) fn month_key(date: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// Times are stored relative to this (the key's rough start, in seconds):
/// small numbers, few bytes.
fn base(key: i64) -> i64 {
    // 2629746 s is the mean Gregorian month; exactness does not matter.
    (key - 1970 * 12) * 2_629_746
}

pub(super) fn encode(key: i64, month: &Month) -> Vec<u8> {
    let base = base(key);
    let mut out = Vec::with_capacity(DAYS * 12);
    for day in month {
        let mut flags = day.flags & (PRESENT | OPEN | UNCLOSED);
        if flags & PRESENT == 0 {
            out.push(0);
            continue;
        }
        let rejections = day.rejection_counts().count();
        if day.first_in.is_some() {
            flags |= HAS_IN;
        }
        if day.last_out.is_some() {
            flags |= HAS_OUT;
        }
        if rejections > 0 {
            flags |= HAS_REJECTIONS;
        }
        out.push(flags);
        for (at, site) in [day.first_in, day.last_out].into_iter().flatten() {
            put_varint(&mut out, zigzag(at.wrapping_sub(base)));
            put_varint(&mut out, u64::from(site));
        }
        if rejections > 0 {
            out.push(rejections as u8);
            for (i, n) in day.rejections.iter().enumerate().filter(|(_, n)| **n > 0) {
                out.push(i as u8);
                put_varint(&mut out, u64::from(*n));
            }
        }
    }
    out
}

/// Decodes a stored month; `None` when the bytes are damaged.
pub(super) fn decode(key: i64, bytes: &[u8]) -> Option<Month> {
    let base = base(key);
    let mut month = [Day::default(); DAYS];
    let mut at = 0usize;
    for day in month.iter_mut() {
        let flags = *bytes.get(at)?;
        at += 1;
        if flags == 0 {
            continue;
        }
        day.flags = flags & (PRESENT | OPEN | UNCLOSED);
        let mut time_and_site = || -> Option<(i64, u32)> {
            let t = unzigzag(get_varint(bytes, &mut at)?).wrapping_add(base);
            let site = u32::try_from(get_varint(bytes, &mut at)?).ok()?;
            Some((t, site))
        };
        if flags & HAS_IN != 0 {
            day.first_in = Some(time_and_site()?);
        }
        if flags & HAS_OUT != 0 {
            day.last_out = Some(time_and_site()?);
        }
        if flags & HAS_REJECTIONS != 0 {
            let n = *bytes.get(at)?;
            at += 1;
            for _ in 0..n {
                let i = usize::from(*bytes.get(at)?);
                at += 1;
                let count = u32::try_from(get_varint(bytes, &mut at)?).ok()?;
                *day.rejections.get_mut(i)? = count;
            }
        }
    }
    (at == bytes.len()).then_some(month)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_keep_first_in_last_out_visits_and_rejections() {
        let mut day = Day::default();
        day.check_in(1_000, 7);
        day.check_in(900, 8); // earlier, recorded later: becomes first
        day.check_out(2_000, 7);
        day.check_out(1_500, 9); // earlier than the last: ignored
        day.reject(Reason::MockLocation);
        day.reject(Reason::MockLocation);
        assert_eq!(day.first_in, Some((900, 8)));
        assert_eq!(day.last_out, Some((2_000, 7)));
        // The first visit was replaced by a second check-in: unclosed.
        assert_eq!(day.flags, PRESENT | UNCLOSED);
        assert_eq!(
            day.rejection_counts().collect::<Vec<_>>(),
            [(Reason::MockLocation, 2)]
        );
    }

    #[test]
    fn months_round_trip_and_damage_is_detected() {
        let key = month_key(chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        let mut month = [Day::default(); DAYS];
        month[0].check_in(1_772_323_200, 1);
        month[0].check_out(1_772_355_600, 2);
        month[14].reject(Reason::StaleFix);
        month[30].check_in(-5, u32::MAX); // far from the base, negative
        month[30].reject(Reason::Sequence);
        let bytes = encode(key, &month);
        assert!(bytes.len() < 60, "{} bytes", bytes.len());
        assert_eq!(decode(key, &bytes), Some(month));
        assert_eq!(decode(key, &bytes[..bytes.len() - 1]), None);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(key, &longer), None);
        assert_eq!(decode(key, &[]), None);
    }
}
