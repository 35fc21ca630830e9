//! Judging one fix (PRODUCT.md §3): a pure function of the fix, the sites,
//! the agent's consent and history, the rules and the device clock. It
//! touches no storage, so every platform and the simulator judge alike.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geofence::{GeoPoint, Site, SiteIndex, SiteMeasure, geodesic_distance_m};
use crate::rules::Rules;
use crate::types::{EventKind, string_enum};

/// A position fix as the platform reports it. It lives only for the
/// duration of a judgement (and, under an audit flag, in the retention
/// table); it is never part of an attendance event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy, metres, 68 % confidence radius.
    pub accuracy_m: f64,
    pub captured_at: DateTime<Utc>,
    pub is_mock: bool,
}

impl Fix {
    pub fn point(&self) -> GeoPoint {
        GeoPoint {
            lat: self.lat,
            lon: self.lon,
        }
    }

    /// Step 1: a malformed fix is an input error, never a verdict.
    pub fn validate(&self) -> Result<()> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(Error::invalid("latitude", "must be a number in [-90, 90]"));
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(Error::invalid(
                "longitude",
                "must be a number in [-180, 180]",
            ));
        }
        if !self.accuracy_m.is_finite() || self.accuracy_m <= 0.0 {
            return Err(Error::invalid(
                "accuracy",
                "must be a positive number of metres",
            ));
        }
        Ok(())
    }
}

string_enum!(
    /// Stable reason codes (PRODUCT.md §3).
    Reason {
        Restricted => "restricted",
        ConsentRequired => "consent_required",
        StaleFix => "stale_fix",
        FutureFix => "future_fix",
        MockLocation => "mock_location",
        LowAccuracy => "low_accuracy",
        NoSites => "no_sites",
        OutsideGeofence => "outside_geofence",
        UncertainPosition => "uncertain_position",
        ImpossibleTravel => "impossible_travel",
        Sequence => "sequence",
    }
);

string_enum!(
    /// Where the fix stands relative to the verdict's site.
    PositionClass {
        Inside => "inside",
        Outside => "outside",
        Uncertain => "uncertain",
        Unknown => "unknown",
    }
);

string_enum!(
    /// Coarse accuracy kept instead of the accuracy itself (PRODUCT.md §4).
    AccuracyBand {
        Le10 => "le10",
        Le25 => "le25",
        Le50 => "le50",
        Le100 => "le100",
        Gt100 => "gt100",
    }
);

impl AccuracyBand {
    pub fn of(accuracy_m: f64) -> AccuracyBand {
        match accuracy_m {
            a if a <= 10.0 => AccuracyBand::Le10,
            a if a <= 25.0 => AccuracyBand::Le25,
            a if a <= 50.0 => AccuracyBand::Le50,
            a if a <= 100.0 => AccuracyBand::Le100,
            _ => AccuracyBand::Gt100,
        }
    }
}

/// The agent's previous accepted event, as step 7 needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousAccepted {
    pub kind: EventKind,
    pub site_id: Option<String>,
    /// Where that site was (its reference point) when the event was judged.
    pub site_reference: Option<GeoPoint>,
    pub captured_at: DateTime<Utc>,
}

/// Everything about the agent that judging needs, read by the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentContext {
    pub agent: String,
    /// Processing restricted (data-subject request, PRODUCT.md §8).
    pub restricted: bool,
    /// The ledger entry that currently grants location consent, if any.
    pub location_consent: Option<String>,
    /// That grant was given under a privacy-policy version superseded by a
    /// published version requiring renewal (see [`crate::policy`]): it no
    /// longer authorises processing.
    pub consent_renewal_required: bool,
    pub previous_accepted: Option<PreviousAccepted>,
}

/// The outcome of judging one fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub accepted: bool,
    pub position: PositionClass,
    pub site_id: Option<String>,
    pub reasons: Vec<Reason>,
    /// Distance to the site's fence rounded up to 10 m; outside only.
    pub distance_m: Option<u32>,
    pub accuracy_band: AccuracyBand,
    /// The consent entry that authorised looking at the fix.
    pub consent_entry: Option<String>,
    /// True when the fix got past consent and restriction (steps 3 to 8):
    /// only such fixes may be retained under an audit flag.
    pub examined: bool,
    /// Reference point of the verdict's site, for the next step 7.
    #[serde(skip)]
    pub site_reference: Option<GeoPoint>,
}

impl Verdict {
    fn rejected(reason: Reason, fix: &Fix, ctx: &AgentContext, examined: bool) -> Verdict {
        Verdict {
            accepted: false,
            position: PositionClass::Unknown,
            site_id: None,
            reasons: vec![reason],
            distance_m: None,
            accuracy_band: AccuracyBand::of(fix.accuracy_m),
            consent_entry: if examined {
                ctx.location_consent.clone()
            } else {
                None
            },
            examined,
            site_reference: None,
        }
    }

    fn at_site(mut self, position: PositionClass, site: &Site) -> Verdict {
        self.position = position;
        self.site_id = Some(site.id.clone());
        self.site_reference = Some(site.reference_point);
        self
    }
}

/// Sites an agent may check in at: the ones assigned to them, or every site
/// when none is (PRODUCT.md §3 step 6).
pub fn candidate_filter<'a>(sites: &'a SiteIndex, agent: &'a str) -> impl Fn(&Site) -> bool + 'a {
    let assigned = sites.has_assigned_sites(agent);
    move |site: &Site| !assigned || site.agents.iter().any(|a| a == agent)
}

/// Judges one fix. `Err` only for a malformed fix (step 1); every other
/// outcome is a verdict to record.
pub fn judge_fix(
    kind: EventKind,
    fix: &Fix,
    sites: &SiteIndex,
    ctx: &AgentContext,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    fix.validate()?;

    // Step 2: without the right to process, the fix is not looked at.
    if ctx.restricted {
        return Ok(Verdict::rejected(Reason::Restricted, fix, ctx, false));
    }
    if ctx.location_consent.is_none() || ctx.consent_renewal_required {
        return Ok(Verdict::rejected(Reason::ConsentRequired, fix, ctx, false));
    }

    // Step 3.
    let age_s = (now - fix.captured_at).num_seconds();
    if age_s > rules.max_fix_age_s {
        return Ok(Verdict::rejected(Reason::StaleFix, fix, ctx, true));
    }
    if -age_s > rules.max_clock_skew_s {
        return Ok(Verdict::rejected(Reason::FutureFix, fix, ctx, true));
    }
    // Step 4.
    if fix.is_mock {
        return Ok(Verdict::rejected(Reason::MockLocation, fix, ctx, true));
    }
    // Step 5.
    let r = fix.accuracy_m;
    if r > rules.max_accuracy_m {
        return Ok(Verdict::rejected(Reason::LowAccuracy, fix, ctx, true));
    }

    // Step 6.
    let mut verdict = locate(fix, sites, ctx)?;
    if !verdict.accepted {
        return Ok(verdict);
    }

    // Step 7: compare with the previous accepted event at another site.
    if let Some(prev) = &ctx.previous_accepted
        && let (Some(prev_site), Some(prev_ref), Some(here_ref)) =
            (&prev.site_id, prev.site_reference, verdict.site_reference)
        && verdict.site_id.as_deref() != Some(prev_site.as_str())
    {
        let metres = geodesic_distance_m(prev_ref, here_ref);
        let seconds = (fix.captured_at - prev.captured_at)
            .num_seconds()
            .unsigned_abs()
            .max(1) as f64;
        let speed_kmh = metres / seconds * 3.6;
        if speed_kmh > rules.max_travel_speed_kmh {
            verdict.accepted = false;
            verdict.reasons = vec![Reason::ImpossibleTravel];
            return Ok(verdict);
        }
    }

    // Step 8: out-of-order check-in/out is accepted with a warning.
    let open_visit = matches!(
        &ctx.previous_accepted,
        Some(PreviousAccepted {
            kind: EventKind::CheckIn,
            ..
        })
    );
    let in_sequence = match kind {
        EventKind::CheckIn => !open_visit,
        EventKind::CheckOut => open_visit,
    };
    if !in_sequence {
        verdict.reasons.push(Reason::Sequence);
    }
    Ok(verdict)
}

/// Step 6: which site, if any, the accuracy circle puts the agent in.
fn locate(fix: &Fix, sites: &SiteIndex, ctx: &AgentContext) -> Result<Verdict> {
    let r = fix.accuracy_m;
    let filter = candidate_filter(sites, &ctx.agent);
    let base = Verdict {
        accepted: false,
        position: PositionClass::Unknown,
        site_id: None,
        reasons: Vec::new(),
        distance_m: None,
        accuracy_band: AccuracyBand::of(r),
        consent_entry: ctx.location_consent.clone(),
        examined: true,
        site_reference: None,
    };
    let p = fix.point();

    // Only fences within r of the fix can be inside or uncertain.
    let near = sites.within(p, r, &filter);
    let mut best_inside: Option<(f64, &Site)> = None;
    let mut best_capped: Option<(f64, &Site)> = None;
    let mut nearest_uncertain: Option<(f64, &Site)> = None;
    for (index, measure) in &near {
        let site = &sites.sites()[*index];
        match classify(site, measure, r) {
            SiteClass::Inside { margin } => keep_max(&mut best_inside, margin, site),
            SiteClass::InsideButCapped { margin } => keep_max(&mut best_capped, margin, site),
            SiteClass::Uncertain => {
                keep_min(&mut nearest_uncertain, measure.distance_to_fence_m(), site)
            }
            SiteClass::Outside => {}
        }
    }

    if let Some((_, site)) = best_inside {
        let mut v = base.at_site(PositionClass::Inside, site);
        v.accepted = true;
        return Ok(v);
    }
    if let Some((_, site)) = best_capped {
        // The site's own accuracy limit is the only thing between the agent
        // and an accepted check-in.
        let mut v = base.at_site(PositionClass::Uncertain, site);
        v.reasons.push(Reason::LowAccuracy);
        return Ok(v);
    }
    if let Some((_, site)) = nearest_uncertain {
        let mut v = base.at_site(PositionClass::Uncertain, site);
        v.reasons.push(Reason::UncertainPosition);
        return Ok(v);
    }
    match sites.nearest(p, &filter) {
        None => {
            let mut v = base;
            v.reasons.push(Reason::NoSites);
            Ok(v)
        }
        Some((index, measure)) => {
            let site = &sites.sites()[index];
            let mut v = base.at_site(PositionClass::Outside, site);
            v.reasons.push(Reason::OutsideGeofence);
            v.distance_m = Some(round_up_to_10(measure.distance_to_fence_m()));
            Ok(v)
        }
    }
}

enum SiteClass {
    Inside { margin: f64 },
    InsideButCapped { margin: f64 },
    Uncertain,
    Outside,
}

/// The accuracy-circle rule of step 6 for one site.
fn classify(site: &Site, m: &SiteMeasure, r: f64) -> SiteClass {
    let b = m.boundary_distance_m;
    if m.contains && b + site.tolerance_m >= r {
        let margin = b + site.tolerance_m - r;
        match site.max_accuracy_m {
            Some(cap) if cap < r => SiteClass::InsideButCapped { margin },
            _ => SiteClass::Inside { margin },
        }
    } else if !m.contains && b > r {
        SiteClass::Outside
    } else {
        SiteClass::Uncertain
    }
}

fn keep_max<'a>(slot: &mut Option<(f64, &'a Site)>, value: f64, site: &'a Site) {
    if slot.is_none_or(|(best, _)| value > best) {
        *slot = Some((value, site));
    }
}

fn keep_min<'a>(slot: &mut Option<(f64, &'a Site)>, value: f64, site: &'a Site) {
    if slot.is_none_or(|(best, _)| value < best) {
        *slot = Some((value, site));
    }
}

fn round_up_to_10(metres: f64) -> u32 {
    let tens = (metres / 10.0).ceil();
    if tens.is_finite() && tens >= 0.0 {
        (tens * 10.0).min(u32::MAX as f64) as u32
    } else {
        0
    }
}

#[cfg(test)]
mod tests;
