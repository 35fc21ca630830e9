//! Deterministic synthetic sites and fixes for benchmarks (criterion and
//! `fieldcheck bench`) and tests. A hand-rolled splitmix64 keeps the library
//! free of a random-number dependency and the output stable across versions.

use geo::{LineString, MultiPolygon, Polygon};

use super::{Fence, GeoPoint, Site, geodesic_distance_m};

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, good enough here.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// Where field agents work: Indonesian and European cities (and one in the
/// Arctic, to keep high latitudes in every run).
const CITIES: &[(f64, f64)] = &[
    (-6.2088, 106.8456), // Jakarta
    (-6.2088, 106.8456), // (twice: the biggest market)
    (-7.2575, 112.7521), // Surabaya
    (-6.9175, 107.6191), // Bandung
    (3.5952, 98.6722),   // Medan
    (-6.9667, 110.4167), // Semarang
    (-5.1477, 119.4327), // Makassar
    (-2.9761, 104.7754), // Palembang
    (-8.6705, 115.2126), // Denpasar
    (-7.7956, 110.3695), // Yogyakarta
    (-1.2379, 116.8529), // Balikpapan
    (48.8566, 2.3522),   // Paris
    (52.5200, 13.4050),  // Berlin
    (40.4168, -3.7038),  // Madrid
    (41.9028, 12.4964),  // Rome
    (52.2297, 21.0122),  // Warsaw
    (52.3676, 4.9041),   // Amsterdam
    (48.2082, 16.3738),  // Vienna
    (59.3293, 18.0686),  // Stockholm
    (38.7223, -9.1393),  // Lisbon
    (69.6492, 18.9553),  // Tromsø
];

/// Sites are spread over a disc of this radius around each city.
const CITY_RADIUS_M: f64 = 20_000.0;

/// `p` moved by local east/north metres (a flat approximation: fine for
/// generating data, never used for measuring).
pub(crate) fn offset(p: GeoPoint, east_m: f64, north_m: f64) -> GeoPoint {
    const M_PER_DEG: f64 = 111_320.0;
    GeoPoint {
        lat: p.lat + north_m / M_PER_DEG,
        lon: p.lon + east_m / (M_PER_DEG * p.lat.to_radians().cos()),
    }
}

/// Rounded to 1e-7° (~1 cm), as real site data is.
fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn polar(rng: &mut SplitMix64, max_m: f64) -> (f64, f64) {
    let r = max_m * rng.unit().sqrt();
    let a = rng.range(0.0, std::f64::consts::TAU);
    (r * a.cos(), r * a.sin())
}

/// `count` realistic sites, the same for the same seed: mostly 50–300 m
/// circles, one in five a star-shaped (so simple) polygon of 5–40 vertices
/// spanning 80–500 m, around the cities above. No agents are assigned.
pub fn synthetic_sites(count: usize, seed: u64) -> Vec<Site> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|i| {
            let (lat, lon) = CITIES[rng.below(CITIES.len())];
            let (e, n) = polar(&mut rng, CITY_RADIUS_M);
            let c = offset(GeoPoint { lat, lon }, e, n);
            let c = GeoPoint {
                lat: round7(c.lat),
                lon: round7(c.lon),
            };
            let fence = if rng.unit() < 0.8 {
                Fence::Circle {
                    center: c,
                    radius_m: (rng.range(50.0, 300.0)).round(),
                }
            } else {
                let k = 5 + rng.below(36);
                let size = rng.range(40.0, 250.0);
                let step = std::f64::consts::TAU / k as f64;
                let mut ring: Vec<(f64, f64)> = (0..k)
                    .map(|j| {
                        // Strictly increasing angles around the centre keep
                        // the ring star-shaped, hence simple, with c inside.
                        let a = (j as f64 + rng.range(0.0, 0.8)) * step;
                        let r = size * rng.range(0.5, 1.0);
                        let v = offset(c, r * a.cos(), r * a.sin());
                        (round7(v.lon), round7(v.lat))
                    })
                    .collect();
                ring.push(ring[0]);
                Fence::Polygons(MultiPolygon(vec![Polygon::new(
                    LineString::from(ring),
                    vec![],
                )]))
            };
            let id = format!("site-{i:05}");
            Site {
                name: format!("Site {i}"),
                id,
                fence,
                max_accuracy_m: None,
                tolerance_m: 0.0,
                agents: Vec::new(),
                reference_point: c,
            }
        })
        .collect()
}

/// How far a fence reaches from its reference point (m).
fn extent_m(site: &Site) -> f64 {
    match &site.fence {
        Fence::Circle { radius_m, .. } => *radius_m,
        Fence::Polygons(mp) => {
            mp.0.iter()
                .flat_map(|p| p.exterior().0.iter())
                .map(|c| geodesic_distance_m(site.reference_point, GeoPoint { lat: c.y, lon: c.x }))
                .fold(0.0, f64::max)
        }
    }
}

/// `count` fixes (position, accuracy in metres) near the given sites, the
/// same for the same seed: two thirds within 1.3× a site's extent of its
/// reference point (mostly inside), a quarter 0.4–3 km away, the rest
/// 3–30 km away; accuracy 3–60 m, mostly small.
pub fn synthetic_fixes(sites: &[Site], count: usize, seed: u64) -> Vec<(GeoPoint, f64)> {
    let mut rng = SplitMix64::new(seed ^ 0x5EED_F1C5);
    if sites.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|_| {
            let site = &sites[rng.below(sites.len())];
            let u = rng.unit();
            let max = if u < 0.65 {
                1.3 * extent_m(site)
            } else if u < 0.9 {
                rng.range(400.0, 3_000.0)
            } else {
                rng.range(3_000.0, 30_000.0)
            };
            let (e, n) = polar(&mut rng, max);
            let mut p = offset(site.reference_point, e, n);
            p.lat = p.lat.clamp(-90.0, 90.0);
            if p.lon > 180.0 {
                p.lon -= 360.0;
            } else if p.lon < -180.0 {
                p.lon += 360.0;
            }
            let a = rng.unit();
            (p, 3.0 + 57.0 * a * a)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geofence::{SiteIndex, parse_sites, sites_to_geojson};

    #[test]
    fn deterministic_valid_and_realistic() {
        let a = synthetic_sites(2000, 9);
        assert_eq!(a, synthetic_sites(2000, 9));
        assert_ne!(a, synthetic_sites(2000, 10));
        assert_eq!(a.len(), 2000);
        let polygons = a
            .iter()
            .filter(|s| matches!(s.fence, Fence::Polygons(_)))
            .count();
        assert!((300..500).contains(&polygons), "{polygons}");
        // Every site passes import validation, ids are unique, and each
        // reference point is inside its fence.
        assert_eq!(parse_sites(&sites_to_geojson(&a)).unwrap(), a);
        for s in &a {
            assert!(s.measure(s.reference_point).contains, "{}", s.id);
        }
        let fixes = synthetic_fixes(&a, 500, 3);
        assert_eq!(fixes, synthetic_fixes(&a, 500, 3));
        let index = SiteIndex::new(a);
        let all = |_: &Site| true;
        let near = fixes
            .iter()
            .filter(|(p, r)| !index.within(*p, *r, &all).is_empty())
            .count();
        // Most fixes are near a site, some are not: both paths get exercised.
        assert!((200..450).contains(&near), "{near}");
    }
}
