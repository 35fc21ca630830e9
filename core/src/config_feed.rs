//! What the server decides flows down (PRODUCT.md §12.2): the two
//! hash-linked configuration feeds, as the server writes them and as a
//! device checks and reads them.
//!
//! The global feed carries the site list, the rules, the policy versions,
//! the receipts' controller and the flags by site or for everyone; each
//! agent's feed carries that agent's shift (with the zone), the flags on
//! the agent and their restriction. A feed is a chain like the event
//! chain: `hash = SHA-256(prev_hash ‖ body)`, `body` the canonical text of
//! one change. The chained kinds (policy, flag, flag end, restriction)
//! carry exactly the canonical encoding of the server's chained event; the
//! others carry the whole state of their kind (a phone needs the list, not
//! a diff), so only the latest change of such a kind matters and older
//! ones may travel as links without a body.
//!
//! Personal text never enters a body: a flag's reason and the controller's
//! contact details are in it as salted digests, and travel beside it
//! (`personal`), checked against the digest on arrival.

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit::{AuditFlag, FlagEnd, FlagPurpose, FlagScope};
use crate::chain::{GENESIS, Hash, canonical, link, salted_digest};
use crate::error::{Error, Result};
use crate::policy::PolicyVersion;
use crate::privacy::RestrictionEntry;
use crate::receipt::ReceiptContext;
use crate::rules::Rules;
use crate::shift::{
    Shift, ShiftSchedule, ShiftVersion, WeekdaySet, date_from_day_number, day_number,
    parse_time_zone,
};
use crate::time::from_unix;
use crate::types::{Actor, Role, string_enum, validate_id};
use crate::wire::{FeedAnswer, FeedHeadWire};

/// The storage key of the global feed (an agent's feed is keyed by the
/// agent id, which is never empty).
pub const GLOBAL_FEED: &str = "";

string_enum!(
    /// What one change of a feed is about.
    ChangeKind {
        Sites => "sites",
        Rules => "rules",
        Controller => "controller",
        Policy => "policy",
        Flag => "flag",
        FlagEnd => "flag_end",
        Shift => "shift",
        Restriction => "restriction",
    }
);

impl ChangeKind {
    /// A change of this kind states the whole of it, so a later change of
    /// the same kind (in the same feed) makes it irrelevant.
    pub fn supersedes(self) -> bool {
        matches!(
            self,
            ChangeKind::Sites
                | ChangeKind::Rules
                | ChangeKind::Controller
                | ChangeKind::Shift
                | ChangeKind::Restriction
        )
    }
}

/// Where a feed stands: its last seq and that change's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedHead {
    pub seq: i64,
    pub hash: Hash,
}

impl FeedHead {
    pub const EMPTY: FeedHead = FeedHead {
        seq: 0,
        hash: GENESIS,
    };

    pub fn to_wire(self) -> FeedHeadWire {
        FeedHeadWire {
            seq: self.seq,
            hash: hex::encode(self.hash),
        }
    }
}

/// The device's cursor: where both feeds stood when it last applied them.
/// Opaque to the device; the hashes let the server tell a cursor it gave
/// from one it never gave (a server restored from an older backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigCursor {
    pub global: FeedHead,
    pub agent: FeedHead,
}

impl ConfigCursor {
    pub fn encode(&self) -> String {
        format!(
            "c1.{}.{}.{}.{}",
            self.global.seq,
            hex::encode(self.global.hash),
            self.agent.seq,
            hex::encode(self.agent.hash)
        )
    }

    /// `None` for anything this build did not make.
    pub fn decode(text: &str) -> Option<ConfigCursor> {
        let mut parts = text.split('.');
        if parts.next()? != "c1" {
            return None;
        }
        let mut head = || -> Option<FeedHead> {
            let seq: i64 = parts.next()?.parse().ok().filter(|s| *s >= 0)?;
            let hash = hex::decode(parts.next()?).ok()?.try_into().ok()?;
            Some(FeedHead { seq, hash })
        };
        let cursor = ConfigCursor {
            global: head()?,
            agent: head()?,
        };
        parts.next().is_none().then_some(cursor)
    }
}

/// A stored site as the feed carries it: the GeoJSON feature as stored and
/// the reference point fixed at its import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub id: String,
    pub feature: String,
    pub ref_lat: f64,
    pub ref_lon: f64,
}

/// One pattern of an agent's shift history, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftPatternRow {
    /// Local day number (days since 1970-01-01); `None`: from the beginning.
    pub from_day: Option<i64>,
    pub start_min: i64,
    pub end_min: i64,
    pub days: u8,
    pub set_at: i64,
    pub actor_id: String,
    pub actor_role: String,
}

/// An agent's whole shift as the feed carries it: the zone their days are
/// counted in, the shift last set, and every version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftRows {
    pub agent: String,
    pub tz: String,
    pub current: ShiftPatternRow,
    pub versions: Vec<ShiftPatternRow>,
}

impl ShiftRows {
    /// The schedule these rows describe (checked: times, weekdays, zone).
    pub fn schedule(&self) -> Result<ShiftSchedule> {
        let tz = parse_time_zone(&self.tz)?;
        let mut versions = Vec::with_capacity(self.versions.len());
        for v in &self.versions {
            versions.push(ShiftVersion {
                from: v
                    .from_day
                    .map(|d| {
                        date_from_day_number(d)
                            .ok_or_else(|| Error::invalid("from_day", "out of range"))
                    })
                    .transpose()?,
                shift: pattern_shift(v, tz)?,
            });
        }
        if versions.is_empty() {
            return Err(Error::invalid("shift", "a shift has at least one version"));
        }
        pattern_shift(&self.current, tz)?;
        Role::parse("actor_role", &self.current.actor_role)?;
        Ok(ShiftSchedule { versions })
    }
}

fn pattern_shift(p: &ShiftPatternRow, tz: crate::zone::Zone) -> Result<Shift> {
    Shift::new(
        time_of(p.start_min)?,
        time_of(p.end_min)?,
        WeekdaySet::from_bits(p.days)?,
        tz,
    )
}

fn time_of(minutes: i64) -> Result<NaiveTime> {
    u32::try_from(minutes)
        .ok()
        .and_then(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0))
        .ok_or_else(|| Error::invalid("shift", format!("time {minutes} is out of range")))
}

/// Minutes past midnight, as shifts are stored.
pub fn minutes_of(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

/// The day number a shift version applies from, as stored.
pub fn from_day_of(from: Option<NaiveDate>) -> Option<i64> {
    from.map(day_number)
}

/// A flag's reason beside its body: the clear text and its salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagPersonal {
    pub reason: String,
    /// Hex.
    pub salt: String,
}

/// The receipts' controller beside its body, with the salt of its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerPersonal {
    pub controller: ReceiptContext,
    /// Hex.
    pub salt: String,
}

/// The salted digest of a controller setting (what its body holds).
pub fn controller_digest(ctx: &ReceiptContext, salt: &[u8]) -> String {
    // Field order is the struct's: the same bytes for the same value.
    let bytes = serde_json::to_vec(ctx).unwrap_or_default();
    salted_digest(salt, &bytes)
}

/// What one change says.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigBody {
    Sites(Vec<SiteRow>),
    Rules(Rules),
    /// The salted digest of the controller setting.
    Controller(String),
    Policy(PolicyVersion),
    Flag(AuditFlag),
    FlagEnd(FlagEnd),
    Shift(ShiftRows),
    Restriction(RestrictionEntry),
}

impl ConfigBody {
    pub fn kind(&self) -> ChangeKind {
        match self {
            ConfigBody::Sites(_) => ChangeKind::Sites,
            ConfigBody::Rules(_) => ChangeKind::Rules,
            ConfigBody::Controller(_) => ChangeKind::Controller,
            ConfigBody::Policy(_) => ChangeKind::Policy,
            ConfigBody::Flag(_) => ChangeKind::Flag,
            ConfigBody::FlagEnd(_) => ChangeKind::FlagEnd,
            ConfigBody::Shift(_) => ChangeKind::Shift,
            ConfigBody::Restriction(_) => ChangeKind::Restriction,
        }
    }

    /// The canonical text that is hashed.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ConfigBody::Sites(sites) => canonical("sites", vec![("sites", json!(sites))]),
            ConfigBody::Rules(rules) => canonical("rules", vec![("rules", json!(rules))]),
            ConfigBody::Controller(digest) => {
                canonical("controller", vec![("digest", json!(digest))])
            }
            ConfigBody::Policy(p) => p.canonical(),
            ConfigBody::Flag(f) => f.canonical(),
            ConfigBody::FlagEnd(e) => e.canonical(),
            ConfigBody::Shift(rows) => canonical(
                "shift",
                vec![
                    ("agent", json!(rows.agent)),
                    ("tz", json!(rows.tz)),
                    ("current", json!(rows.current)),
                    ("versions", json!(rows.versions)),
                ],
            ),
            ConfigBody::Restriction(r) => r.canonical(),
        }
    }

    /// Reads a body of `kind`; it must be exactly the canonical text of
    /// what it says (re-encoding gives the same bytes), so nothing a device
    /// applies can differ from what was hashed.
    pub fn decode(kind: ChangeKind, text: &str) -> Result<ConfigBody> {
        let bad = |why: String| Error::invalid("config", format!("a {kind} change: {why}"));
        let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if value.get("type").and_then(Value::as_str) != Some(kind.as_str()) {
            return Err(bad("its body is of another kind".into()));
        }
        let get = |field: &str| value.get(field).cloned().unwrap_or(Value::Null);
        let body = match kind {
            ChangeKind::Sites => ConfigBody::Sites(field_of(kind, get("sites"))?),
            ChangeKind::Rules => {
                let rules: Rules = field_of(kind, get("rules"))?;
                rules.validate()?;
                ConfigBody::Rules(rules)
            }
            ChangeKind::Controller => ConfigBody::Controller(field_of(kind, get("digest"))?),
            ChangeKind::Policy => {
                let f: PolicyFacts = field_of(kind, value.clone())?;
                validate_id("policy_version", &f.version)?;
                ConfigBody::Policy(PolicyVersion {
                    id: f.id,
                    seq: f.seq,
                    version: f.version,
                    requires_renewal: f.requires_renewal,
                    published_at: from_unix("published_at", f.published_at)?,
                    published_by: actor(f.actor_id, &f.actor_role)?,
                })
            }
            ChangeKind::Flag => {
                let f: FlagFacts = field_of(kind, value.clone())?;
                ConfigBody::Flag(AuditFlag {
                    id: f.id,
                    seq: f.seq,
                    scope: FlagScope::from_parts(&f.scope, f.scope_id)
                        .map_err(|e| bad(e.to_string()))?,
                    purpose: FlagPurpose::parse("purpose", &f.purpose)?,
                    reason: None,
                    reason_digest: f.reason_digest,
                    set_by: actor(f.set_by_id, &f.set_by_role)?,
                    starts_at: from_unix("starts_at", f.starts_at)?,
                    expires_at: from_unix("expires_at", f.expires_at)?,
                    ended_at: None,
                })
            }
            ChangeKind::FlagEnd => {
                let f: FlagEndFacts = field_of(kind, value.clone())?;
                ConfigBody::FlagEnd(FlagEnd {
                    id: f.id,
                    seq: f.seq,
                    flag_id: f.flag_id,
                    ended_at: from_unix("ended_at", f.ended_at)?,
                    ended_by: actor(f.actor_id, &f.actor_role)?,
                })
            }
            ChangeKind::Shift => {
                let rows = ShiftRows {
                    agent: field_of(kind, get("agent"))?,
                    tz: field_of(kind, get("tz"))?,
                    current: field_of(kind, get("current"))?,
                    versions: field_of(kind, get("versions"))?,
                };
                validate_id("agent", &rows.agent)?;
                rows.schedule()?;
                ConfigBody::Shift(rows)
            }
            ChangeKind::Restriction => {
                let f: RestrictionFacts = field_of(kind, value.clone())?;
                ConfigBody::Restriction(RestrictionEntry {
                    id: f.id,
                    seq: f.seq,
                    subject: f.subject,
                    restricted: f.restricted,
                    at: from_unix("at", f.at)?,
                    actor: actor(f.actor_id, &f.actor_role)?,
                })
            }
        };
        if body.encode() != text.as_bytes() {
            return Err(bad("its body is not in canonical form".into()));
        }
        Ok(body)
    }
}

fn field_of<T: serde::de::DeserializeOwned>(kind: ChangeKind, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::invalid("config", format!("a {kind} change: {e}")))
}

fn actor(id: String, role: &str) -> Result<Actor> {
    Ok(Actor::new(id, Role::parse("actor_role", role)?))
}

#[derive(Deserialize)]
struct PolicyFacts {
    id: String,
    seq: i64,
    version: String,
    requires_renewal: bool,
    published_at: i64,
    actor_id: String,
    actor_role: String,
}

#[derive(Deserialize)]
struct FlagFacts {
    id: String,
    seq: i64,
    scope: String,
    scope_id: Option<String>,
    purpose: String,
    reason_digest: String,
    set_by_id: String,
    set_by_role: String,
    starts_at: i64,
    expires_at: i64,
}

#[derive(Deserialize)]
struct FlagEndFacts {
    id: String,
    seq: i64,
    flag_id: String,
    ended_at: i64,
    actor_id: String,
    actor_role: String,
}

#[derive(Deserialize)]
struct RestrictionFacts {
    id: String,
    seq: i64,
    subject: String,
    restricted: bool,
    at: i64,
    actor_id: String,
    actor_role: String,
}

/// The event a device chains when it applies its server's configuration:
/// the cursor it reached, a digest of the changes it applied
/// ([`applied_digest`]), how many, and whether it replaced everything (a
/// snapshot). Every later verdict can be traced to the configuration in
/// force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigApplied {
    pub id: String,
    pub seq: i64,
    pub agent: String,
    pub cursor: String,
    pub digest: String,
    pub changes: u64,
    pub reset: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

impl ConfigApplied {
    pub const EVENT_TYPE: &'static str = crate::binding::CONFIG_APPLIED;

    pub fn canonical(&self) -> Vec<u8> {
        canonical(
            Self::EVENT_TYPE,
            vec![
                ("id", json!(self.id)),
                ("seq", json!(self.seq)),
                ("agent", json!(self.agent)),
                ("cursor", json!(self.cursor)),
                ("digest", json!(self.digest)),
                ("changes", json!(self.changes)),
                ("reset", json!(self.reset)),
                ("at", json!(self.at.timestamp())),
            ],
        )
    }
}

crate::chain::chained!(ConfigApplied);

/// What a device's pull changed, for the app (PRODUCT.md §12.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppliedConfig {
    /// Changes applied (0: nothing changed, nothing chained).
    pub changes: u64,
    /// The kinds of what changed, each once.
    pub kinds: Vec<ChangeKind>,
    /// The answer replaced everything the device held (a snapshot).
    pub reset: bool,
    pub cursor: String,
    /// The agent's location consent no longer authorises check-ins until
    /// they grant it again (a policy version requiring renewal).
    pub consent_renewal_required: bool,
    /// The agent's processing is restricted: check-ins are refused.
    pub restricted: bool,
}

/// A change of an answer, checked: its links, and its body when sent.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedChange {
    pub seq: i64,
    pub kind: ChangeKind,
    /// The exact text hashed, when the answer carried it.
    pub text: Option<String>,
    pub body: Option<ConfigBody>,
    pub prev_hash: Hash,
    pub hash: Hash,
    pub personal: Option<Value>,
}

/// Checks one feed of an answer: its changes must link, one after the
/// other, from `from` (where the device stood, or the start for a
/// snapshot) to the stated head, and every body must hash to its change.
/// A change altered without its hash, dropped (the last one included) or
/// moved fails here, naming the feed and seq, before anything is applied.
pub fn check_feed(name: &str, from: FeedHead, answer: &FeedAnswer) -> Result<Vec<CheckedChange>> {
    let broken = |seq: i64, why: &str| {
        Error::ConfigFeed(format!(
            "the {name} configuration feed is broken at change {seq}: {why}"
        ))
    };
    let mut at = from;
    let mut checked = Vec::with_capacity(answer.changes.len());
    for change in &answer.changes {
        let seq = change.seq;
        if seq != at.seq + 1 {
            return Err(broken(
                seq,
                &format!(
                    "expected change {} (a change is missing or out of order)",
                    at.seq + 1
                ),
            ));
        }
        let prev_hash = decode_hash(&change.prev_hash)
            .ok_or_else(|| broken(seq, "prev_hash is not 32 hex bytes"))?;
        let hash =
            decode_hash(&change.hash).ok_or_else(|| broken(seq, "hash is not 32 hex bytes"))?;
        if prev_hash != at.hash {
            return Err(broken(seq, "it does not link to the change before it"));
        }
        let kind = ChangeKind::parse("kind", &change.kind)
            .map_err(|_| broken(seq, &format!("unknown kind {:?}", change.kind)))?;
        let body = match &change.body {
            Some(text) => {
                if link(&prev_hash, text.as_bytes()) != hash {
                    return Err(broken(seq, "its body does not match its hash (altered)"));
                }
                Some(ConfigBody::decode(kind, text).map_err(|e| broken(seq, &e.to_string()))?)
            }
            None if kind.supersedes() => None,
            None => return Err(broken(seq, "a change of this kind must carry its body")),
        };
        checked.push(CheckedChange {
            seq,
            kind,
            text: change.body.clone(),
            body,
            prev_hash,
            hash,
            personal: change.personal.clone(),
        });
        at = FeedHead { seq, hash };
    }
    let head_hash = decode_hash(&answer.head.hash)
        .ok_or_else(|| broken(answer.head.seq, "the head's hash is not 32 hex bytes"))?;
    if (answer.head.seq, head_hash) != (at.seq, at.hash) {
        return Err(broken(
            at.seq + 1,
            &format!(
                "the feed's head is change {}, the answer ends at {} (changes are missing)",
                answer.head.seq, at.seq
            ),
        ));
    }
    // A superseding kind's latest change must come with its body: it is
    // what the device will hold.
    for (i, c) in checked.iter().enumerate() {
        if c.body.is_none() && !checked[i + 1..].iter().any(|later| later.kind == c.kind) {
            return Err(broken(c.seq, "the latest change of its kind has no body"));
        }
    }
    Ok(checked)
}

/// What a device chains in `config_applied`: SHA-256 over each applied
/// change's feed, seq and hash, in the order applied.
pub fn applied_digest<'a>(
    changes: impl IntoIterator<Item = (&'a str, &'a CheckedChange)>,
) -> String {
    let mut hasher = Sha256::new();
    for (feed, change) in changes {
        hasher.update(feed.as_bytes());
        hasher.update([0]);
        hasher.update(change.seq.to_be_bytes());
        hasher.update(change.hash);
    }
    hex::encode(hasher.finalize())
}

pub fn decode_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ConfigChange;

    fn answer(bodies: &[(ChangeKind, Vec<u8>)]) -> FeedAnswer {
        let mut prev = GENESIS;
        let mut changes = Vec::new();
        for (i, (kind, body)) in bodies.iter().enumerate() {
            let hash = link(&prev, body);
            changes.push(ConfigChange {
                seq: i as i64 + 1,
                kind: kind.as_str().into(),
                body: Some(String::from_utf8(body.clone()).unwrap()),
                prev_hash: hex::encode(prev),
                hash: hex::encode(hash),
                personal: None,
            });
            prev = hash;
        }
        FeedAnswer {
            head: FeedHeadWire {
                seq: changes.len() as i64,
                hash: hex::encode(prev),
            },
            changes,
        }
    }

    fn rules(grace: i64) -> Vec<u8> {
        ConfigBody::Rules(Rules {
            late_grace_min: grace,
            ..Rules::default()
        })
        .encode()
    }

    #[test]
    fn a_linked_feed_checks_and_any_alteration_drop_or_move_fails() {
        let good = answer(&[
            (ChangeKind::Rules, rules(5)),
            (
                ChangeKind::Controller,
                ConfigBody::Controller("d".into()).encode(),
            ),
            (ChangeKind::Rules, rules(7)),
        ]);
        let checked = check_feed("global", FeedHead::EMPTY, &good).unwrap();
        assert_eq!(checked.len(), 3);
        assert!(matches!(&checked[2].body, Some(ConfigBody::Rules(r)) if r.late_grace_min == 7));

        let mut altered = good.clone();
        altered.changes[1].body =
            Some(String::from_utf8(ConfigBody::Controller("e".into()).encode()).unwrap());
        let mut dropped_last = good.clone();
        dropped_last.changes.pop();
        let mut dropped_middle = good.clone();
        dropped_middle.changes.remove(1);
        let mut moved = good.clone();
        moved.changes.swap(0, 1);
        for (what, bad) in [
            ("altered", altered),
            ("last dropped", dropped_last),
            ("middle dropped", dropped_middle),
            ("moved", moved),
        ] {
            let e = check_feed("global", FeedHead::EMPTY, &bad).unwrap_err();
            assert!(matches!(e, Error::ConfigFeed(_)), "{what}: {e}");
        }
        // From a position the answer does not continue.
        let e = check_feed(
            "global",
            FeedHead {
                seq: 1,
                hash: [7; 32],
            },
            &FeedAnswer {
                changes: good.changes[1..].to_vec(),
                head: good.head.clone(),
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not link"), "{e}");
    }

    #[test]
    fn superseded_changes_may_travel_as_links_but_the_latest_needs_its_body() {
        let mut feed = answer(&[(ChangeKind::Rules, rules(5)), (ChangeKind::Rules, rules(7))]);
        feed.changes[0].body = None;
        assert_eq!(
            check_feed("global", FeedHead::EMPTY, &feed).unwrap().len(),
            2
        );
        feed.changes[1].body = None;
        assert!(check_feed("global", FeedHead::EMPTY, &feed).is_err());
        let mut flags = answer(&[(ChangeKind::Rules, rules(5))]);
        flags.changes[0].kind = "flag".into();
        flags.changes[0].body = None;
        assert!(check_feed("global", FeedHead::EMPTY, &flags).is_err());
    }

    #[test]
    fn bodies_must_be_canonical_and_of_their_kind() {
        let text = String::from_utf8(rules(5)).unwrap();
        assert!(ConfigBody::decode(ChangeKind::Rules, &text).is_ok());
        assert!(ConfigBody::decode(ChangeKind::Sites, &text).is_err());
        let spaced = text.replacen(':', ": ", 1);
        assert!(ConfigBody::decode(ChangeKind::Rules, &spaced).is_err());
    }

    #[test]
    fn cursors_round_trip_and_foreign_text_is_none() {
        let c = ConfigCursor {
            global: FeedHead {
                seq: 4,
                hash: [1; 32],
            },
            agent: FeedHead::EMPTY,
        };
        assert_eq!(ConfigCursor::decode(&c.encode()), Some(c));
        for junk in [
            "",
            "12",
            "c1.4",
            "c2.0.00.0.00",
            &format!("{}.x", c.encode()),
        ] {
            assert_eq!(ConfigCursor::decode(junk), None, "{junk}");
        }
    }
}
