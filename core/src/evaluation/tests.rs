use chrono::{Duration, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::geofence::Fence;

const JAKARTA: GeoPoint = GeoPoint {
    lat: -6.2088,
    lon: 106.8456,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).unwrap()
}

/// A point `metres` north of `p` (1 degree of latitude is ~110.6 km at 6° S;
/// the geodesic distance is what the tests then measure, not this).
fn north_of(p: GeoPoint, metres: f64) -> GeoPoint {
    // Walk in small steps using the library's own distance so the target
    // distance is exact to the millimetre regardless of the ellipsoid.
    let mut lo = 0.0;
    let mut hi = metres / 100_000.0 + 0.01;
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        let d = geodesic_distance_m(
            p,
            GeoPoint {
                lat: p.lat + mid,
                lon: p.lon,
            },
        );
        if d < metres { lo = mid } else { hi = mid }
    }
    GeoPoint {
        lat: p.lat + (lo + hi) / 2.0,
        lon: p.lon,
    }
}

fn circle(id: &str, center: GeoPoint, radius_m: f64) -> Site {
    Site {
        id: id.into(),
        name: id.into(),
        fence: Fence::Circle { center, radius_m },
        max_accuracy_m: None,
        tolerance_m: 0.0,
        agents: vec![],
        reference_point: center,
    }
}

fn fix_at(p: GeoPoint, accuracy_m: f64) -> Fix {
    Fix {
        lat: p.lat,
        lon: p.lon,
        accuracy_m,
        captured_at: now(),
        is_mock: false,
    }
}

fn consenting(agent: &str) -> AgentContext {
    AgentContext {
        agent: agent.into(),
        restricted: false,
        location_consent: Some("consent-1".into()),
        consent_renewal_required: false,
        previous_accepted: None,
    }
}

fn judge_in(sites: Vec<Site>, fix: Fix, ctx: &AgentContext) -> Verdict {
    judge_fix(
        EventKind::CheckIn,
        &fix,
        &SiteIndex::new(sites),
        ctx,
        &Rules::default(),
        now(),
    )
    .expect("well-formed fix")
}

fn office() -> Vec<Site> {
    vec![circle("office", JAKARTA, 100.0)]
}

#[test]
fn malformed_fixes_are_input_errors() {
    let good = fix_at(JAKARTA, 10.0);
    let bad = [
        Fix {
            lat: f64::NAN,
            ..good
        },
        Fix { lat: 90.5, ..good },
        Fix {
            lat: -90.0001,
            ..good
        },
        Fix {
            lon: f64::INFINITY,
            ..good
        },
        Fix {
            lon: -180.01,
            ..good
        },
        Fix {
            accuracy_m: 0.0,
            ..good
        },
        Fix {
            accuracy_m: -3.0,
            ..good
        },
        Fix {
            accuracy_m: f64::NAN,
            ..good
        },
    ];
    for fix in bad {
        let err = judge_fix(
            EventKind::CheckIn,
            &fix,
            &SiteIndex::new(office()),
            &consenting("a1"),
            &Rules::default(),
            now(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{fix:?}: {err}");
    }
}

#[test]
fn restriction_comes_before_consent_and_hides_the_fix() {
    let mut ctx = consenting("a1");
    ctx.restricted = true;
    ctx.location_consent = None;
    let v = judge_in(office(), fix_at(JAKARTA, 10.0), &ctx);
    assert_eq!(v.reasons, vec![Reason::Restricted]);
    assert!(!v.accepted && !v.examined);
    assert_eq!(v.position, PositionClass::Unknown);
    assert_eq!(v.site_id, None);
}

#[test]
fn no_consent_no_judging_even_for_a_mock_stale_fix() {
    let mut ctx = consenting("a1");
    ctx.location_consent = None;
    let mut fix = fix_at(JAKARTA, 500.0);
    fix.is_mock = true;
    fix.captured_at = now() - Duration::hours(3);
    let v = judge_in(office(), fix, &ctx);
    assert_eq!(v.reasons, vec![Reason::ConsentRequired]);
    assert!(!v.examined);
    assert_eq!(v.consent_entry, None);
}

#[test]
fn consent_needing_renewal_is_no_consent() {
    let mut ctx = consenting("a1");
    ctx.consent_renewal_required = true;
    let v = judge_in(office(), fix_at(JAKARTA, 10.0), &ctx);
    assert_eq!(v.reasons, vec![Reason::ConsentRequired]);
    assert!(!v.accepted && !v.examined);
    assert_eq!(v.consent_entry, None);
    // Restriction still comes first.
    ctx.restricted = true;
    let v = judge_in(office(), fix_at(JAKARTA, 10.0), &ctx);
    assert_eq!(v.reasons, vec![Reason::Restricted]);
}

#[test]
fn rule_order_stale_future_mock_accuracy() {
    let ctx = consenting("a1");
    // Stale and mock and inaccurate: stale decides.
    let mut fix = fix_at(JAKARTA, 500.0);
    fix.is_mock = true;
    fix.captured_at = now() - Duration::seconds(121);
    assert_eq!(
        judge_in(office(), fix, &ctx).reasons,
        vec![Reason::StaleFix]
    );
    // Future and mock: future decides.
    fix.captured_at = now() + Duration::seconds(31);
    assert_eq!(
        judge_in(office(), fix, &ctx).reasons,
        vec![Reason::FutureFix]
    );
    // Mock and inaccurate: mock decides.
    fix.captured_at = now();
    assert_eq!(
        judge_in(office(), fix, &ctx).reasons,
        vec![Reason::MockLocation]
    );
    // Inaccurate, and no site at all: accuracy decides before sites.
    fix.is_mock = false;
    let v = judge_in(vec![], fix, &ctx);
    assert_eq!(v.reasons, vec![Reason::LowAccuracy]);
    assert_eq!(v.position, PositionClass::Unknown);
    assert!(v.examined);
}

#[test]
fn age_and_skew_limits_are_inclusive() {
    let ctx = consenting("a1");
    let mut fix = fix_at(JAKARTA, 10.0);
    fix.captured_at = now() - Duration::seconds(120);
    assert!(judge_in(office(), fix, &ctx).accepted);
    fix.captured_at = now() + Duration::seconds(30);
    assert!(judge_in(office(), fix, &ctx).accepted);
    fix.accuracy_m = 100.0;
    fix.captured_at = now();
    // r = 100 fits only if the boundary is >= 100 m away: make a big site.
    let big = vec![circle("hq", JAKARTA, 1_000.0)];
    assert!(judge_in(big, fix, &ctx).accepted);
}

#[test]
fn no_sites() {
    let v = judge_in(vec![], fix_at(JAKARTA, 10.0), &consenting("a1"));
    assert_eq!(v.reasons, vec![Reason::NoSites]);
    assert!(!v.accepted);
}

#[test]
fn accuracy_circle_inside_uncertain_outside() {
    let ctx = consenting("a1");
    // d = 50 from the centre of a 100 m circle: b = 50.
    let v = judge_in(office(), fix_at(north_of(JAKARTA, 50.0), 20.0), &ctx);
    assert_eq!((v.accepted, v.position), (true, PositionClass::Inside));
    assert_eq!(v.site_id.as_deref(), Some("office"));
    assert!(v.reasons.is_empty());
    // d = 90: b = 10 < r = 20, in the fence: uncertain.
    let v = judge_in(office(), fix_at(north_of(JAKARTA, 90.0), 20.0), &ctx);
    assert_eq!(v.position, PositionClass::Uncertain);
    assert_eq!(v.reasons, vec![Reason::UncertainPosition]);
    assert_eq!(v.site_id.as_deref(), Some("office"));
    // d = 115: b = 15 <= r, outside the fence: still uncertain.
    let v = judge_in(office(), fix_at(north_of(JAKARTA, 115.0), 20.0), &ctx);
    assert_eq!(v.position, PositionClass::Uncertain);
    // d = 149.5: b = 49.5 > r: outside, distance rounded up to 10 m.
    let v = judge_in(office(), fix_at(north_of(JAKARTA, 149.5), 20.0), &ctx);
    assert_eq!(v.position, PositionClass::Outside);
    assert_eq!(v.reasons, vec![Reason::OutsideGeofence]);
    assert_eq!(v.distance_m, Some(50));
    let v = judge_in(office(), fix_at(north_of(JAKARTA, 151.5), 20.0), &ctx);
    assert_eq!(v.distance_m, Some(60));
    assert_eq!(v.site_id.as_deref(), Some("office"));
}

#[test]
fn tolerance_widens_inside() {
    let ctx = consenting("a1");
    let mut site = circle("office", JAKARTA, 100.0);
    site.tolerance_m = 15.0;
    // b = 10, r = 20: 10 + 15 >= 20.
    let v = judge_in(vec![site], fix_at(north_of(JAKARTA, 90.0), 20.0), &ctx);
    assert_eq!(v.position, PositionClass::Inside);
    assert!(v.accepted);
}

#[test]
fn site_accuracy_cap_yields_low_accuracy_at_that_site() {
    let ctx = consenting("a1");
    let mut site = circle("vault", JAKARTA, 500.0);
    site.max_accuracy_m = Some(15.0);
    let v = judge_in(vec![site.clone()], fix_at(JAKARTA, 20.0), &ctx);
    assert_eq!(v.reasons, vec![Reason::LowAccuracy]);
    assert_eq!(v.position, PositionClass::Uncertain);
    assert_eq!(v.site_id.as_deref(), Some("vault"));
    // Another site that does take the fix wins.
    let lobby = circle("lobby", JAKARTA, 300.0);
    let v = judge_in(vec![site, lobby], fix_at(JAKARTA, 20.0), &ctx);
    assert!(v.accepted);
    assert_eq!(v.site_id.as_deref(), Some("lobby"));
}

#[test]
fn largest_margin_wins_among_overlapping_sites() {
    let ctx = consenting("a1");
    let p = north_of(JAKARTA, 80.0);
    let sites = vec![
        circle("small", JAKARTA, 100.0), // b = 20
        circle("large", JAKARTA, 400.0), // b = 320
    ];
    let v = judge_in(sites, fix_at(p, 10.0), &ctx);
    assert_eq!(v.site_id.as_deref(), Some("large"));
}

#[test]
fn nearest_uncertain_and_nearest_outside_sites_are_named() {
    let ctx = consenting("a1");
    let far = north_of(JAKARTA, 5_000.0);
    let sites = vec![circle("far", far, 100.0), circle("office", JAKARTA, 100.0)];
    let v = judge_in(sites.clone(), fix_at(north_of(JAKARTA, 399.5), 10.0), &ctx);
    assert_eq!(v.site_id.as_deref(), Some("office"));
    assert_eq!(v.distance_m, Some(300));
    let v = judge_in(sites, fix_at(north_of(JAKARTA, 4_500.0), 10.0), &ctx);
    assert_eq!(v.site_id.as_deref(), Some("far"));
}

#[test]
fn assigned_agents_only_see_their_sites() {
    let ctx = consenting("a1");
    let open = circle("open", JAKARTA, 100.0);
    let mut mine = circle("mine", north_of(JAKARTA, 2_000.0), 100.0);
    mine.agents = vec!["a1".into()];
    let sites = vec![open, mine];
    let v = judge_in(sites.clone(), fix_at(JAKARTA, 10.0), &ctx);
    assert_eq!(v.position, PositionClass::Outside);
    assert_eq!(v.site_id.as_deref(), Some("mine"));
    // An agent with no assignment may use every site.
    let v = judge_in(sites, fix_at(JAKARTA, 10.0), &consenting("a2"));
    assert_eq!(v.site_id.as_deref(), Some("open"));
    assert!(v.accepted);
}

fn previous(kind: EventKind, site: &Site, ago: Duration) -> PreviousAccepted {
    PreviousAccepted {
        kind,
        site_id: Some(site.id.clone()),
        site_reference: Some(site.reference_point),
        captured_at: now() - ago,
    }
}

#[test]
fn impossible_travel_between_sites() {
    let a = circle("a", JAKARTA, 100.0);
    let b_center = north_of(JAKARTA, 10_000.0);
    let b = circle("b", b_center, 100.0);
    let mut ctx = consenting("a1");
    // 10 km in 60 s is 600 km/h.
    ctx.previous_accepted = Some(previous(EventKind::CheckOut, &a, Duration::seconds(60)));
    let v = judge_in(vec![a.clone(), b.clone()], fix_at(b_center, 10.0), &ctx);
    assert_eq!(v.reasons, vec![Reason::ImpossibleTravel]);
    assert!(!v.accepted);
    assert_eq!(v.position, PositionClass::Inside);
    assert_eq!(v.site_id.as_deref(), Some("b"));
    // 10 km in 10 minutes is 60 km/h.
    ctx.previous_accepted = Some(previous(EventKind::CheckOut, &a, Duration::minutes(10)));
    let v = judge_in(vec![a.clone(), b.clone()], fix_at(b_center, 10.0), &ctx);
    assert!(v.accepted, "{v:?}");
    // Same site: no travel at all, however quick.
    ctx.previous_accepted = Some(previous(EventKind::CheckOut, &b, Duration::seconds(0)));
    assert!(judge_in(vec![a, b], fix_at(b_center, 10.0), &ctx).accepted);
}

#[test]
fn out_of_sequence_is_accepted_with_a_warning() {
    let site = circle("office", JAKARTA, 100.0);
    let sites = SiteIndex::new(vec![site.clone()]);
    let fix = fix_at(JAKARTA, 10.0);
    let rules = Rules::default();
    let mut ctx = consenting("a1");
    let out = judge_fix(EventKind::CheckOut, &fix, &sites, &ctx, &rules, now()).unwrap();
    assert!(out.accepted);
    assert_eq!(out.reasons, vec![Reason::Sequence]);
    ctx.previous_accepted = Some(previous(EventKind::CheckIn, &site, Duration::hours(1)));
    let again = judge_fix(EventKind::CheckIn, &fix, &sites, &ctx, &rules, now()).unwrap();
    assert_eq!(again.reasons, vec![Reason::Sequence]);
    let out = judge_fix(EventKind::CheckOut, &fix, &sites, &ctx, &rules, now()).unwrap();
    assert!(out.accepted && out.reasons.is_empty());
}

#[test]
fn accuracy_bands() {
    assert_eq!(AccuracyBand::of(10.0), AccuracyBand::Le10);
    assert_eq!(AccuracyBand::of(10.01), AccuracyBand::Le25);
    assert_eq!(AccuracyBand::of(50.0), AccuracyBand::Le50);
    assert_eq!(AccuracyBand::of(100.0), AccuracyBand::Le100);
    assert_eq!(AccuracyBand::of(100.5), AccuracyBand::Gt100);
}

fn sample_sites() -> Vec<Site> {
    let mut sites = vec![
        circle("office", JAKARTA, 100.0),
        circle("branch", north_of(JAKARTA, 600.0), 250.0),
    ];
    let mut capped = circle("vault", north_of(JAKARTA, 1_500.0), 300.0);
    capped.max_accuracy_m = Some(30.0);
    sites.push(capped);
    let mut tolerant = circle("market", north_of(JAKARTA, 3_000.0), 80.0);
    tolerant.tolerance_m = 25.0;
    sites.push(tolerant);
    sites
}

proptest! {
    /// Any numbers at all: a verdict or a typed error, never a panic.
    #[test]
    fn random_fixes_never_panic(
        lat in proptest::num::f64::ANY,
        lon in proptest::num::f64::ANY,
        accuracy_m in proptest::num::f64::ANY,
        age_s in -10_000i64..10_000,
        is_mock: bool,
        kind_in: bool,
    ) {
        let fix = Fix { lat, lon, accuracy_m, captured_at: now() - Duration::seconds(age_s), is_mock };
        let kind = if kind_in { EventKind::CheckIn } else { EventKind::CheckOut };
        let sites = SiteIndex::new(sample_sites());
        match judge_fix(kind, &fix, &sites, &consenting("a1"), &Rules::default(), now()) {
            Ok(v) => prop_assert!(!v.reasons.is_empty() || v.accepted),
            Err(e) => {
                let typed = matches!(e, Error::InvalidInput { .. });
                prop_assert!(typed, "unexpected error {}", e);
            }
        }
    }

    /// A more accurate fix at the same point never moves the agent from
    /// inside to outside, nor from a site-accepted verdict to a rejection
    /// on geometric grounds.
    #[test]
    fn better_accuracy_never_loses_inside(
        metres_north in 0.0f64..3_500.0,
        r_good in 1.0f64..100.0,
        extra in 0.0f64..100.0,
    ) {
        let p = north_of(JAKARTA, metres_north);
        let r_bad = (r_good + extra).min(100.0);
        let sites = sample_sites();
        let worse = judge_in(sites.clone(), fix_at(p, r_bad), &consenting("a1"));
        let better = judge_in(sites, fix_at(p, r_good), &consenting("a1"));
        if worse.position == PositionClass::Inside {
            prop_assert_eq!(better.position, PositionClass::Inside);
            prop_assert!(better.accepted);
        }
        if worse.position == PositionClass::Outside {
            prop_assert_eq!(better.position, PositionClass::Outside);
        }
        // And the other way round: a worse fix never turns outside into inside.
        prop_assert!(!(better.position == PositionClass::Outside && worse.position == PositionClass::Inside));
    }
}
