//! Synthetic attendance for benchmarks and demos: a realistic month of
//! verdicts recorded through the same path as judged check-ins (chain link,
//! event row, day summary), each under the location consent the agent
//! granted first, without judging fixes one by one, so `fieldcheck bench`
//! can build a 1,000,000-event store in seconds.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::connection::Store;
use super::consent::ConsentChange;
use super::{attendance, consent, policy};
use crate::attendance::AttendanceEvent;
use crate::consent::ConsentSource;
use crate::error::{Error, Result};
use crate::evaluation::{AccuracyBand, PositionClass, Reason};
use crate::geofence::SplitMix64;
use crate::shift::{Shift, WeekdaySet, parse_time_zone};
use crate::types::{Actor, EventKind, Permission};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticAttendance {
    pub agents: usize,
    pub events: usize,
    /// First day (UTC midnight) of the period the events spread over.
    pub start: DateTime<Utc>,
    pub days: u32,
    pub seed: u64,
    /// The first agent's number less one: `agent-{first_agent + 1:05}`
    /// onwards (several stores, each its own agents).
    pub first_agent: usize,
}

/// Zones agents are spread over (each gets a 08:00–17:00 shift).
const ZONES: &[&str] = &[
    "Asia/Jakarta",
    "Asia/Makassar",
    "Asia/Jayapura",
    "Europe/Amsterdam",
    "Europe/Stockholm",
];

const REJECTIONS: &[Reason] = &[
    Reason::StaleFix,
    Reason::MockLocation,
    Reason::LowAccuracy,
    Reason::OutsideGeofence,
    Reason::UncertainPosition,
];

impl Store {
    /// Writes `spec.events` synthetic attendance events for `spec.agents`
    /// agents (admins only; benchmarks and demos). Agents are `agent-00001`…
    #[doc(hidden)]
    pub fn load_synthetic_attendance(
        &self,
        actor: &Actor,
        spec: &SyntheticAttendance,
        progress: &dyn Fn(usize),
    ) -> Result<()> {
        actor.must_be_admin()?;
        if spec.agents == 0 || spec.days == 0 {
            return Err(Error::invalid(
                "agents",
                "need at least one agent and one day",
            ));
        }
        let mut rng = SplitMix64::new(spec.seed);
        let per_agent_day = spec
            .events
            .div_ceil(spec.agents * spec.days as usize)
            .max(1);
        let shift_for = |i: usize| -> Result<Shift> {
            Shift::new(
                chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
                WeekdaySet::parse("mon-fri")?,
                parse_time_zone(ZONES[i % ZONES.len()])?,
            )
        };
        for i in 0..spec.agents {
            self.set_shift(
                actor,
                &agent_id(spec.first_agent + i),
                &shift_for(i)?,
                spec.start,
            )?;
        }
        // Every agent grants location consent (in the app) before their
        // first fix; each event names that entry, as judged ones do.
        let granted_at = spec.start - Duration::days(1);
        let consents: Vec<String> = self.write(|tx| {
            let version = policy::version_for_change(tx, None)?;
            (0..spec.agents)
                .map(|i| {
                    let agent = agent_id(spec.first_agent + i);
                    let change = ConsentChange {
                        subject: agent.clone(),
                        permission: Permission::Location,
                        granted: true,
                        policy_version: None,
                        source: Some(ConsentSource::App),
                    };
                    consent::append(
                        tx,
                        &Actor::agent(agent),
                        &change,
                        &version,
                        ConsentSource::App,
                        granted_at,
                    )
                    .map(|entry| entry.id)
                })
                .collect()
        })?;
        let mut written = 0usize;
        // One transaction per day keeps the WAL small.
        for day in 0..spec.days {
            if written >= spec.events {
                break;
            }
            self.write(|tx| {
                for (i, consent) in consents.iter().enumerate() {
                    let agent = agent_id(spec.first_agent + i);
                    let zone = i % ZONES.len();
                    let tz = parse_time_zone(ZONES[zone])?;
                    // Around 08:00 local: 01:00Z in Jakarta, 00:00Z in
                    // Makassar, 23:00Z the day before in Jayapura, 07:00Z
                    // in Amsterdam and Stockholm (winter).
                    let offset_h = [1i64, 0, -1, 7, 7][zone];
                    let base = spec.start
                        + Duration::days(i64::from(day))
                        + Duration::hours(offset_h)
                        + Duration::minutes(rng.below(50) as i64);
                    for k in 0..per_agent_day {
                        if written >= spec.events {
                            break;
                        }
                        let captured_at = base + Duration::minutes(80 * k as i64);
                        let rejected = rng.below(10) == 0;
                        let kind = if k % 2 == 0 {
                            EventKind::CheckIn
                        } else {
                            EventKind::CheckOut
                        };
                        let reasons = if rejected {
                            vec![REJECTIONS[rng.below(REJECTIONS.len())]]
                        } else {
                            Vec::new()
                        };
                        attendance::record_event(tx, tz, |seq| {
                            Ok(AttendanceEvent {
                                id: Uuid::now_v7().to_string(),
                                seq,
                                agent: agent.clone(),
                                kind,
                                accepted: !rejected,
                                reasons,
                                site_id: Some(format!("site-{:04}", i % 1000)),
                                position: if rejected {
                                    PositionClass::Unknown
                                } else {
                                    PositionClass::Inside
                                },
                                distance_m: None,
                                accuracy_band: AccuracyBand::Le25,
                                captured_at,
                                recorded_at: captured_at + Duration::seconds(2),
                                consent_entry: Some(consent.clone()),
                                coords_digest: None,
                                location_retained: false,
                                recorded_by: Actor::agent(agent.clone()),
                                device_id: None,
                                device_clock: None,
                                clock_skew: false,
                            })
                        })?;
                        written += 1;
                    }
                }
                Ok(())
            })?;
            progress(written);
        }
        Ok(())
    }
}

fn agent_id(i: usize) -> String {
    format!("agent-{:05}", i + 1)
}
