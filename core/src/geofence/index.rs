//! The site index: one 3-D box per site in an R-tree.
//!
//! Boxes live in Earth-centred coordinates, so the poles and the
//! antimeridian need no special case, and the straight-line distance from a
//! fix to a box is a lower bound on the geodesic distance to anything in it
//! (a chord is never longer than the geodesic). That makes `within` a box
//! query of half-size r and `nearest` an exact branch and bound.

use std::collections::HashMap;

use rstar::{AABB, ParentNode, RTree, RTreeNode, RTreeObject, RTreeParams};

use super::bnb::{self, BranchAndBound, box_distance2};
use super::fence::{BOX_MARGIN_M, Prepared, Query};
use super::geodesy::Vec3;
use super::{GeoPoint, Site, SiteMeasure};

/// Node size: 8 did at least as well as 6 (rstar's default), 16 and 32 in
/// measurements of point-sized queries over 10^4 small boxes.
pub(crate) struct Params;

impl RTreeParams for Params {
    const MIN_SIZE: usize = 3;
    const MAX_SIZE: usize = 8;
    const REINSERTION_COUNT: usize = 2;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

pub(crate) struct SiteBox {
    envelope: AABB<Vec3>,
    index: usize,
}

impl RTreeObject for SiteBox {
    type Envelope = AABB<Vec3>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

#[inline]
fn meets(lo: Vec3, hi: Vec3, window: &(Vec3, Vec3)) -> bool {
    (0..3).all(|k| lo[k] <= window.1[k] && hi[k] >= window.0[k])
}

/// Indices of the boxes meeting `window`, by a direct walk of rstar's nodes
/// (a little cheaper than its generic selection iterator).
fn collect_meeting(node: &ParentNode<SiteBox>, window: &(Vec3, Vec3), out: &mut Vec<usize>) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(b) => {
                if meets(b.envelope.lower(), b.envelope.upper(), window) {
                    out.push(b.index);
                }
            }
            RTreeNode::Parent(p) => {
                let env = p.envelope();
                if meets(env.lower(), env.upper(), window) {
                    collect_meeting(p, window, out);
                }
            }
        }
    }
}

/// Branch and bound for `nearest`: the squared box distance bounds the
/// chord, hence the distance, to any fence inside; subtrees beyond the best
/// distance found (plus slack, so ties at equal distance are still visited
/// and the lowest index wins) are cut.
struct Nearest<'a> {
    sites: &'a [Site],
    prepared: &'a [Prepared],
    filter: &'a dyn Fn(&Site) -> bool,
    q: Query,
    best: Option<(usize, SiteMeasure)>,
    bound2: f64,
}

impl BranchAndBound<SiteBox> for Nearest<'_> {
    fn lower_bound(&self, node: &RTreeNode<SiteBox>) -> f64 {
        box_distance2(&node.envelope(), self.q.e)
    }

    fn worth(&self, lower2: f64) -> bool {
        lower2 <= self.bound2
    }

    fn leaf(&mut self, b: &SiteBox) {
        self.offer(b.index);
    }
}

impl Nearest<'_> {
    fn offer(&mut self, i: usize) {
        if !(self.filter)(&self.sites[i]) {
            return;
        }
        let m = self.prepared[i].measure(&self.q);
        let d = m.distance_to_fence_m();
        if better(d, i, &self.best) {
            self.best = Some((i, m));
            self.bound2 = reach(d).powi(2);
        }
    }
}

pub(crate) struct Index {
    prepared: Vec<Prepared>,
    /// Each site's box (None: unmeasurable), for the linear scans.
    boxes: Vec<Option<AABB<Vec3>>>,
    tree: RTree<SiteBox, Params>,
    by_id: HashMap<String, usize>,
}

/// Slack on query radii: measured distances are exact to a few mm, the
/// boxes are widened by more than that, and this keeps the comparison safe
/// for large radii too.
fn reach(r: f64) -> f64 {
    r + BOX_MARGIN_M + 1e-6 * r
}

/// (distance, index) order: least distance, then lowest index.
fn better(d: f64, i: usize, best: &Option<(usize, SiteMeasure)>) -> bool {
    match best {
        None => true,
        Some((j, m)) => {
            let bd = m.distance_to_fence_m();
            d < bd || (d == bd && i < *j)
        }
    }
}

impl Index {
    pub fn new(sites: &[Site]) -> Index {
        let prepared: Vec<Prepared> = sites.iter().map(|s| Prepared::new(&s.fence)).collect();
        let entries = prepared
            .iter()
            .enumerate()
            .filter_map(|(index, p)| p.envelope().map(|envelope| SiteBox { envelope, index }))
            .collect();
        let boxes = prepared.iter().map(Prepared::envelope).collect();
        let mut by_id = HashMap::with_capacity(sites.len());
        for (i, s) in sites.iter().enumerate() {
            // Import rejects duplicate ids; for sites built in code the
            // first one wins.
            by_id.entry(s.id.clone()).or_insert(i);
        }
        Index {
            prepared,
            boxes,
            tree: RTree::bulk_load_with_params(entries),
            by_id,
        }
    }

    pub fn get(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Squared lower bound on the chord from `q` to site `i`'s fence
    /// (None: unmeasurable site).
    fn lower_bound2(&self, i: usize, q: &Query) -> Option<f64> {
        self.boxes[i].as_ref().map(|b| box_distance2(b, q.e))
    }

    /// Measures the candidates (ascending) and keeps those within `r`.
    fn within_of(
        &self,
        sites: &[Site],
        q: &Query,
        r: f64,
        filter: &dyn Fn(&Site) -> bool,
        candidates: impl Iterator<Item = usize>,
    ) -> Vec<(usize, SiteMeasure)> {
        candidates
            .filter(|&i| filter(&sites[i]))
            .filter_map(|i| {
                let m = self.prepared[i].measure(q);
                (m.distance_to_fence_m() <= r).then_some((i, m))
            })
            .collect()
    }

    pub fn within(
        &self,
        sites: &[Site],
        p: GeoPoint,
        r: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        // A NaN or negative radius, or an invalid fix, matches nothing.
        let Some(q) = Query::new(p).filter(|_| r >= 0.0) else {
            return Vec::new();
        };
        let h = reach(r);
        let e = q.e;
        let window = (
            [e[0] - h, e[1] - h, e[2] - h],
            [e[0] + h, e[1] + h, e[2] + h],
        );
        let mut hits: Vec<usize> = Vec::new();
        collect_meeting(self.tree.root(), &window, &mut hits);
        hits.sort_unstable();
        self.within_of(sites, &q, r, filter, hits.into_iter())
    }

    pub fn within_linear(
        &self,
        sites: &[Site],
        p: GeoPoint,
        r: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        // A NaN or negative radius, or an invalid fix, matches nothing.
        let Some(q) = Query::new(p).filter(|_| r >= 0.0) else {
            return Vec::new();
        };
        // A linear scan with the same per-site test as the index: the box
        // bound first (a few flops), the exact measure only when it passes.
        let reach2 = reach(r).powi(2);
        let candidates =
            (0..sites.len()).filter(|&i| self.lower_bound2(i, &q).is_some_and(|d2| d2 <= reach2));
        self.within_of(sites, &q, r, filter, candidates)
    }

    pub fn nearest(
        &self,
        sites: &[Site],
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        let q = Query::new(p)?;
        let mut search = Nearest {
            sites,
            prepared: &self.prepared,
            filter,
            q,
            best: None,
            bound2: f64::INFINITY,
        };
        bnb::search(self.tree.root(), &mut search);
        search.best
    }

    pub fn nearest_linear(
        &self,
        sites: &[Site],
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        let q = Query::new(p)?;
        let mut best: Option<(usize, SiteMeasure)> = None;
        let mut bound2 = f64::INFINITY;
        for (i, site) in sites.iter().enumerate() {
            // Same bound as the index: sites whose box is beyond the best
            // distance so far cannot win and are not measured.
            match self.lower_bound2(i, &q) {
                Some(d2) if d2 <= bound2 => {}
                _ => continue,
            }
            if !filter(site) {
                continue;
            }
            let m = self.prepared[i].measure(&q);
            let d = m.distance_to_fence_m();
            if better(d, i, &best) {
                best = Some((i, m));
                bound2 = reach(d).powi(2);
            }
        }
        best
    }

    /// The plain linear scan, as a decision without any index costs:
    /// every site passing the filter measured exactly, no bound, no
    /// pruning. The benchmark's baseline; same answers as `within`.
    pub fn within_exhaustive(
        &self,
        sites: &[Site],
        p: GeoPoint,
        r: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        match Query::new(p).filter(|_| r >= 0.0) {
            Some(q) => self.within_of(sites, &q, r, filter, 0..sites.len()),
            None => Vec::new(),
        }
    }

    /// The plain linear scan for `nearest`: every site measured exactly.
    pub fn nearest_exhaustive(
        &self,
        sites: &[Site],
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        let q = Query::new(p)?;
        let mut best: Option<(usize, SiteMeasure)> = None;
        for (i, site) in sites.iter().enumerate() {
            if !filter(site) {
                continue;
            }
            let m = self.prepared[i].measure(&q);
            if better(m.distance_to_fence_m(), i, &best) {
                best = Some((i, m));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::fence::tests::{gp, poly, star};
    use super::super::synthetic::offset;
    use super::super::{Fence, SiteIndex};
    use super::*;
    use geo::MultiPolygon;
    use proptest::prelude::*;

    /// Places where the geometry is hardest: the equator, Jakarta,
    /// Svalbard, the antimeridian at Fiji, near the North Pole, Antarctica.
    const BASES: &[(f64, f64)] = &[
        (0.0, 0.0),
        (-6.2, 106.8),
        (78.2, 15.6),
        (-17.0, 179.99),
        (89.9, 40.0),
        (-70.0, -60.0),
    ];

    fn wrap(p: GeoPoint) -> GeoPoint {
        let mut lon = p.lon;
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        GeoPoint {
            lat: p.lat.clamp(-90.0, 90.0),
            lon,
        }
    }

    fn site(i: usize, fence: Fence, reference_point: GeoPoint) -> Site {
        Site {
            id: format!("s{i}"),
            name: format!("s{i}"),
            fence,
            max_accuracy_m: None,
            tolerance_m: 0.0,
            agents: Vec::new(),
            reference_point,
        }
    }

    /// (kind, base, east km, north km, size m)
    fn make_sites(spec: &[(u8, usize, f64, f64, f64)]) -> Vec<Site> {
        spec.iter()
            .enumerate()
            .map(|(i, &(kind, base, e, n, size))| {
                let (lat, lon) = BASES[base];
                let c = wrap(offset(gp(lat, lon), e * 1000.0, n * 1000.0));
                // Polygons must not cross the seam (RFC 7946 cuts them), so
                // those near it stay circles.
                let near_seam = c.lon.abs() > 179.0;
                let fence = if kind == 0 || near_seam || c.lat.abs() > 89.0 {
                    Fence::Circle {
                        center: c,
                        radius_m: size,
                    }
                } else {
                    Fence::Polygons(MultiPolygon(vec![star(c, 5 + (i % 30), size, i as u64)]))
                };
                site(i, fence, c)
            })
            .collect()
    }

    fn spec() -> impl Strategy<Value = Vec<(u8, usize, f64, f64, f64)>> {
        prop::collection::vec(
            (
                0u8..2,
                0..BASES.len(),
                -8.0f64..8.0,
                -8.0f64..8.0,
                20.0f64..1500.0,
            ),
            1..50,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        #[test]
        fn index_answers_equal_linear_answers(
            spec in spec(),
            base in 0..BASES.len(), e in -12.0f64..12.0, n in -12.0f64..12.0,
            r in prop_oneof![Just(0.0), 0.0f64..100.0, 0.0f64..5000.0],
            modulus in 1usize..4,
            far in any::<bool>(), far_lat in -90.0f64..=90.0, far_lon in -180.0f64..=180.0,
        ) {
            let sites = make_sites(&spec);
            let index = SiteIndex::new(sites);
            let (lat, lon) = BASES[base];
            let p = if far { gp(far_lat, far_lon) } else { wrap(offset(gp(lat, lon), e * 1000.0, n * 1000.0)) };
            // Drops every `modulus`-th site (none when modulus is 1).
            let filter = |s: &Site| {
                modulus == 1 || !s.id[1..].parse::<usize>().unwrap_or(0).is_multiple_of(modulus)
            };
            prop_assert_eq!(index.within(p, r, &filter), index.within_linear(p, r, &filter));
            prop_assert_eq!(index.nearest(p, &filter), index.nearest_linear(p, &filter));
            let all = |_: &Site| true;
            let near = index.within(p, r, &all);
            prop_assert_eq!(&near, &index.within_linear(p, r, &all));
            prop_assert_eq!(index.nearest(p, &all), index.nearest_linear(p, &all));
            // Brute force through `Site::measure`, independent of any box.
            let brute: Vec<(usize, SiteMeasure)> = index
                .sites()
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.measure(p)))
                .filter(|(i, m)| m.distance_to_fence_m() <= r && filter(&index.sites()[*i]))
                .collect();
            prop_assert_eq!(index.within(p, r, &filter), brute);
            let brute_nearest = index
                .sites()
                .iter()
                .enumerate()
                .filter(|(_, s)| filter(s))
                .map(|(i, s)| (i, s.measure(p)))
                .min_by(|a, b| a.1.distance_to_fence_m().total_cmp(&b.1.distance_to_fence_m()).then(a.0.cmp(&b.0)));
            prop_assert_eq!(index.nearest(p, &filter), brute_nearest);
            prop_assert_eq!(index.within(p, r, &filter), index.within_exhaustive(p, r, &filter));
            prop_assert_eq!(index.nearest(p, &filter), index.nearest_exhaustive(p, &filter));
        }
    }

    #[test]
    fn ties_go_to_the_lowest_index_and_results_are_sorted() {
        let c = gp(-6.2, 106.8);
        let circle = |r: f64| Fence::Circle {
            center: c,
            radius_m: r,
        };
        let sites: Vec<Site> = (0..40)
            .map(|i| site(i, circle(if i % 2 == 0 { 100.0 } else { 50.0 }), c))
            .rev()
            .collect();
        let index = SiteIndex::new(sites);
        let all = |_: &Site| true;
        // All contain the centre: distance 0 everywhere, lowest index wins.
        assert_eq!(index.nearest(c, &all).map(|x| x.0), Some(0));
        let hits = index.within(c, 0.0, &all);
        assert_eq!(
            hits.iter().map(|h| h.0).collect::<Vec<_>>(),
            (0..40).collect::<Vec<_>>()
        );
        // 70 m out: only the 100 m circles (odd positions after reversal).
        let p = wrap(offset(c, 70.0, 0.0));
        let hits = index.within(p, 0.0, &all);
        assert_eq!(hits.len(), 20);
        assert!(hits.iter().all(|(i, m)| i % 2 == 1 && m.contains));
        assert_eq!(index.nearest(p, &all).map(|x| x.0), Some(1));
    }

    #[test]
    fn get_invalid_queries_and_invalid_sites() {
        let c = gp(52.52, 13.405);
        let bad = Fence::Circle {
            center: gp(f64::NAN, 0.0),
            radius_m: 10.0,
        };
        let bad_poly = Fence::Polygons(MultiPolygon(vec![poly(
            &[(0.0, 95.0), (1.0, 95.0), (1.0, 96.0), (0.0, 95.0)],
            &[],
        )]));
        let sites = vec![
            site(0, bad, c),
            site(
                1,
                Fence::Circle {
                    center: c,
                    radius_m: 100.0,
                },
                c,
            ),
            site(2, bad_poly, c),
        ];
        let index = SiteIndex::new(sites);
        assert_eq!(index.get("s1").map(|s| s.id.as_str()), Some("s1"));
        assert!(index.get("nope").is_none());
        let all = |_: &Site| true;
        // Unmeasurable sites never match.
        assert_eq!(
            index
                .within(c, 1e9, &all)
                .iter()
                .map(|h| h.0)
                .collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(
            index.within(c, f64::INFINITY, &all),
            index.within_linear(c, f64::INFINITY, &all)
        );
        assert_eq!(index.nearest(c, &all).map(|h| h.0), Some(1));
        // Invalid fixes and radii match nothing and do not panic.
        for p in [
            gp(f64::NAN, 0.0),
            gp(91.0, 0.0),
            gp(0.0, 181.0),
            gp(0.0, f64::INFINITY),
        ] {
            assert!(index.within(p, 100.0, &all).is_empty());
            assert!(index.nearest(p, &all).is_none());
            assert!(index.nearest_linear(p, &all).is_none());
        }
        assert!(index.within(c, f64::NAN, &all).is_empty());
        assert!(index.within(c, -1.0, &all).is_empty());
        assert!(index.within_linear(c, -1.0, &all).is_empty());
        // The filter is honoured.
        assert!(index.nearest(c, &|s: &Site| s.id != "s1").is_none());
    }
}
