//! WGS84 geodesy: Earth-centred (ECEF) coordinates, chords, geodesic distance
//! and the bounds the fence code relies on.
//!
//! Why chords: the straight 3-D distance between two surface points is a
//! lower bound on the geodesic (no surface path is shorter than a straight
//! line), and below 100 km it *is* the geodesic to 1e-7 after a tiny
//! curvature correction. It needs no special case at the poles or the
//! antimeridian, costs a handful of flops, and gives exact pruning bounds for
//! the spatial indexes. Karney's algorithm (geo's `Geodesic`, via
//! geographiclib-rs) is used beyond that.

use geo::{Distance, Geodesic, Point};

use super::GeoPoint;

pub(crate) type Vec3 = [f64; 3];

/// WGS84 semi-major axis (m) and flattening.
pub(crate) const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const E2: f64 = F * (2.0 - F);
/// Largest radius of curvature of the ellipsoid (at the poles), a/√(1−e²).
const RHO_MAX: f64 = 6_399_593.625_864;
/// Mean Earth radius, for the (≤ 1 m at 100 km) chord-to-arc correction.
const R_MEAN: f64 = 6_371_008.8;
/// Bound on |∂²X/∂φ²| along a meridian: M + |dM/dφ| (≤ 64.7 km) at worst.
const K_PHI: f64 = RHO_MAX + 65_000.0;

/// Chords below this are turned into geodesic distances by the curvature
/// correction (error < 2e-7 relative); longer ones go to Karney.
pub(crate) const NEAR_CHORD_M: f64 = 100_000.0;

/// Earth-centred, Earth-fixed coordinates (m) of a point on the ellipsoid.
#[inline]
pub(crate) fn ecef(lat_deg: f64, lon_deg: f64) -> Vec3 {
    let (sp, cp) = lat_deg.to_radians().sin_cos();
    let (sl, cl) = lon_deg.to_radians().sin_cos();
    let n = A / (1.0 - E2 * sp * sp).sqrt();
    [n * cp * cl, n * cp * sl, n * (1.0 - E2) * sp]
}

#[inline]
pub(crate) fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
pub(crate) fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub(crate) fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// Distance from `p` to the 3-D segment `a`–`b`, and the segment parameter
/// (0 at `a`, 1 at `b`) of the nearest point.
#[inline]
pub(crate) fn segment_distance(p: Vec3, a: Vec3, b: Vec3) -> (f64, f64) {
    let ab = sub(b, a);
    let ap = sub(p, a);
    let len2 = dot(ab, ab);
    let u = if len2 > 0.0 {
        (dot(ap, ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let d = [ap[0] - u * ab[0], ap[1] - u * ab[1], ap[2] - u * ab[2]];
    (norm(d), u)
}

/// Geodesic length of a chord shorter than [`NEAR_CHORD_M`]: the arc over a
/// chord c on a circle of radius ρ is c + c³/(24ρ²) + …; ρ varies between
/// 6335 and 6400 km on WGS84, which moves the ≤ 1 m correction by ≤ 2 cm.
#[inline]
pub(crate) fn near_chord_to_geodesic(c: f64) -> f64 {
    c + c * c * c / (24.0 * R_MEAN * R_MEAN)
}

/// Karney's geodesic distance (m). Inputs must be finite with |lat| ≤ 90.
pub(crate) fn karney(a: GeoPoint, b: GeoPoint) -> f64 {
    Geodesic.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

pub(crate) fn is_valid_point(p: GeoPoint) -> bool {
    p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0
}

/// Geodesic distance between two points whose ECEF coordinates are known.
#[inline]
pub(crate) fn distance_between(a: GeoPoint, ae: Vec3, b: GeoPoint, be: Vec3) -> f64 {
    let c = norm(sub(ae, be));
    if c < NEAR_CHORD_M {
        near_chord_to_geodesic(c)
    } else {
        karney(a, b)
    }
}

/// Radius of the parallel at latitude `lat_deg`: N(φ)·cos φ.
fn parallel_radius(lat_deg: f64) -> f64 {
    let (sp, cp) = lat_deg.to_radians().sin_cos();
    (A * cp / (1.0 - E2 * sp * sp).sqrt()).max(0.0)
}

/// Smallest and largest |latitude| over [lo, hi].
fn abs_lat_range(lo: f64, hi: f64) -> (f64, f64) {
    let min = if lo <= 0.0 && hi >= 0.0 {
        0.0
    } else {
        lo.abs().min(hi.abs())
    };
    (min, lo.abs().max(hi.abs()))
}

/// Upper bound (m) on how far an edge that is straight in lon/lat strays
/// from the 3-D chord between its ends (and vice versa), from the bound
/// max|E''|/8 on linear interpolation error, with
/// |E''| ≤ p·Δλ² + 2·M·|sin φ|·|Δλ·Δφ| + K·Δφ² (p: parallel radius,
/// M: meridian radius, K: meridian second-derivative bound). It includes the
/// ordinary sag of the Earth's curvature, ℓ²/8R.
pub(crate) fn edge_sag(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> f64 {
    let dl = (lon1 - lon0).to_radians().abs();
    let dp = (lat1 - lat0).to_radians().abs();
    let (min_abs, max_abs) = abs_lat_range(lat0.min(lat1), lat0.max(lat1));
    let p_max = parallel_radius(min_abs);
    let s_max = max_abs.to_radians().sin();
    let bound = p_max * dl * dl + 2.0 * RHO_MAX * s_max * dl * dp + K_PHI * dp * dp;
    // Relative slack covers rounding in the bound itself.
    bound / 8.0 * (1.0 + 1e-9)
}

/// Exact 3-D bounding box of the ellipsoid surface over the lon/lat
/// rectangle [lon0, lon1] × [lat0, lat1] (degrees, lon0 ≤ lon1, lat0 ≤ lat1).
/// Everything an edge or a polygon inside that rectangle touches lies in it.
pub(crate) fn lonlat_rect_bounds(lon0: f64, lon1: f64, lat0: f64, lat1: f64) -> (Vec3, Vec3) {
    let (min_abs, max_abs) = abs_lat_range(lat0, lat1);
    let r_max = parallel_radius(min_abs);
    let r_min = parallel_radius(max_abs);
    let z = |lat: f64| {
        let sp = lat.to_radians().sin();
        A * (1.0 - E2) * sp / (1.0 - E2 * sp * sp).sqrt()
    };
    // Range of cos λ and sin λ over [lon0, lon1]: the ends, plus the
    // extremes at 0°, ±90°, ±180° when inside.
    let ends = [lon0.to_radians(), lon1.to_radians()];
    let cos_e = [ends[0].cos(), ends[1].cos()];
    let sin_e = [ends[0].sin(), ends[1].sin()];
    let inside = |deg: f64| lon0 <= deg && deg <= lon1;
    let cos_max = if inside(0.0) {
        1.0
    } else {
        cos_e[0].max(cos_e[1])
    };
    let cos_min = if inside(-180.0) || inside(180.0) {
        -1.0
    } else {
        cos_e[0].min(cos_e[1])
    };
    let sin_max = if inside(90.0) {
        1.0
    } else {
        sin_e[0].max(sin_e[1])
    };
    let sin_min = if inside(-90.0) {
        -1.0
    } else {
        sin_e[0].min(sin_e[1])
    };
    // x = r·cos λ with r ∈ [r_min, r_max]: the extreme uses the radius that
    // pushes it furthest given the sign of the trigonometric factor.
    let hi = |t: f64| if t >= 0.0 { r_max * t } else { r_min * t };
    let lo = |t: f64| if t >= 0.0 { r_min * t } else { r_max * t };
    (
        [lo(cos_min), lo(sin_min), z(lat0)],
        [hi(cos_max), hi(sin_max), z(lat1)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gp(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    fn dist(a: GeoPoint, b: GeoPoint) -> f64 {
        distance_between(a, ecef(a.lat, a.lon), b, ecef(b.lat, b.lon))
    }

    #[test]
    fn ecef_matches_known_values() {
        let e = ecef(0.0, 0.0);
        assert!((e[0] - A).abs() < 1e-6 && e[1].abs() < 1e-6 && e[2].abs() < 1e-6);
        let n = ecef(90.0, 0.0);
        assert!((n[2] - A * (1.0 - F)).abs() < 1e-6, "{n:?}");
        // The two seams are one meridian.
        let w = ecef(12.0, -180.0);
        let e = ecef(12.0, 180.0);
        assert!(norm(sub(w, e)) < 1e-6);
    }

    #[test]
    fn chord_distance_matches_karney_near() {
        // Equator, mid latitudes, polar, antimeridian: chord path vs Karney.
        let cases = [
            (gp(0.0, 0.0), gp(0.0, 0.001)),
            (gp(45.0, 7.0), gp(45.3, 7.6)),
            (gp(78.2, 15.6), gp(78.25, 15.9)),
            (gp(-70.0, 10.0), gp(-70.5, 11.0)),
            (gp(0.0, 179.9995), gp(0.0, -179.9995)),
            (gp(89.9999, 0.0), gp(89.9999, 180.0)),
        ];
        for (a, b) in cases {
            let d = dist(a, b);
            let k = karney(a, b);
            assert!(d < NEAR_CHORD_M);
            assert!((d - k).abs() <= 1e-6 * k + 1e-6, "{a:?} {b:?}: {d} vs {k}");
        }
        // ~111 m across the antimeridian at the equator.
        let d = dist(gp(0.0, 179.9995), gp(0.0, -179.9995));
        assert!((d - 111.32).abs() < 0.01, "{d}");
    }

    #[test]
    fn sag_bound_holds_and_is_tight_enough() {
        // Sample long lon/lat-straight edges and check the true deviation
        // from the chord never exceeds the bound.
        let edges = [
            (0.0, 70.0, 60.0, 72.0),
            (-10.0, -5.0, 10.0, 5.0),
            (100.0, 89.0, -80.0, 89.0),
            (179.0, -60.0, 179.5, 60.0),
            (5.0, 45.0, 5.01, 45.01),
        ];
        for (l0, p0, l1, p1) in edges {
            let sag = edge_sag(l0, p0, l1, p1);
            let a = ecef(p0, l0);
            let b = ecef(p1, l1);
            let mut worst: f64 = 0.0;
            for i in 0..=1000 {
                let t = i as f64 / 1000.0;
                let e = ecef(p0 + t * (p1 - p0), l0 + t * (l1 - l0));
                let l = [
                    a[0] + t * (b[0] - a[0]),
                    a[1] + t * (b[1] - a[1]),
                    a[2] + t * (b[2] - a[2]),
                ];
                worst = worst.max(norm(sub(e, l)));
            }
            assert!(worst <= sag, "{l0},{p0}->{l1},{p1}: {worst} > {sag}");
            // Not uselessly loose either.
            assert!(
                sag <= 4.0 * worst + 1e-9,
                "{l0},{p0}->{l1},{p1}: {worst} vs {sag}"
            );
        }
    }

    #[test]
    fn rect_bounds_contain_the_surface() {
        let rects = [
            (-180.0, 180.0, -90.0, -60.0),
            (170.0, 180.0, -20.0, -10.0),
            (-5.0, 5.0, 40.0, 50.0),
            (80.0, 100.0, -10.0, 10.0),
        ];
        for (l0, l1, p0, p1) in rects {
            let (lo, hi) = lonlat_rect_bounds(l0, l1, p0, p1);
            for i in 0..=40 {
                for j in 0..=40 {
                    let e = ecef(
                        p0 + (p1 - p0) * j as f64 / 40.0,
                        l0 + (l1 - l0) * i as f64 / 40.0,
                    );
                    for k in 0..3 {
                        assert!(e[k] >= lo[k] - 1e-6 && e[k] <= hi[k] + 1e-6);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any pair, anywhere: within 0.5 % of Karney (much better in fact).
        #[test]
        fn any_pair_agrees_with_karney(
            lat1 in -90.0f64..=90.0, lon1 in -180.0f64..=180.0,
            lat2 in -90.0f64..=90.0, lon2 in -180.0f64..=180.0,
        ) {
            let (a, b) = (gp(lat1, lon1), gp(lat2, lon2));
            let k = karney(a, b);
            let d = dist(a, b);
            prop_assert!((d - k).abs() <= 0.005 * k + 1e-6);
        }

        /// Nearby pairs (≤ ~150 km), including polar and across the seam:
        /// the chord path is within 1e-6 of Karney.
        #[test]
        fn near_pairs_agree_with_karney(
            lat in -89.99f64..=89.99, lon in -180.0f64..=180.0,
            dlat in -1.0f64..=1.0, dlon in -1.0f64..=1.0, scale in 0.0001f64..=1.0,
        ) {
            let lat2 = (lat + dlat * scale).clamp(-90.0, 90.0);
            let mut lon2 = lon + dlon * scale;
            if lon2 > 180.0 { lon2 -= 360.0 }
            if lon2 < -180.0 { lon2 += 360.0 }
            let (a, b) = (gp(lat, lon), gp(lat2, lon2));
            let k = karney(a, b);
            let d = dist(a, b);
            prop_assert!((d - k).abs() <= 1e-6 * k + 1e-6, "{} vs {}", d, k);
        }
    }
}
