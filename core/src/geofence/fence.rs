//! Prepared fences: per-site data computed once (ECEF of centres and edges,
//! bounds, per-polygon edge indexes) and the exact measure of a fix.
//!
//! Hand-written because no crate measures what §2/§3 need: geo has no metre
//! distance to edges that are straight in lon/lat (its geodesic and
//! haversine distances assume great-circle edges, which differ a lot on long
//! edges at high latitude), and its point-in-polygon is not indexed.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, MultiPolygon};
use rstar::{AABB, RTree, RTreeNode, RTreeObject};

use super::bnb::{self, BranchAndBound, box_distance2};
use super::geodesy::{
    NEAR_CHORD_M, Vec3, distance_between, ecef, edge_sag, is_valid_point, karney,
    lonlat_rect_bounds, near_chord_to_geodesic, norm, segment_distance, sub,
};
use super::{Fence, GeoPoint, SiteMeasure};

/// Polygons with more edges than this get R-trees for both queries.
const INDEX_MIN_EDGES: usize = 48;
/// Boundary distances are resolved to max(ABS_TOL, REL_TOL·d) in chord
/// terms: far below the 0.5 % requirement, cheap (sag shrinks 4× per split).
const ABS_TOL_M: f64 = 0.01;
const REL_TOL: f64 = 1e-5;
/// Slack added to every 3-D box, covering rounding and the tolerance above.
pub(crate) const BOX_MARGIN_M: f64 = 0.05;

#[inline]
fn tolerance(d: f64) -> f64 {
    ABS_TOL_M.max(REL_TOL * d)
}

/// A fix, with its ECEF coordinates computed once per query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query {
    pub p: GeoPoint,
    pub e: Vec3,
}

impl Query {
    /// None for a non-finite or out-of-range position: it matches nothing.
    pub fn new(p: GeoPoint) -> Option<Query> {
        is_valid_point(p).then(|| Query {
            p,
            e: ecef(p.lat, p.lon),
        })
    }
}

pub(crate) enum Prepared {
    Circle {
        center: GeoPoint,
        e: Vec3,
        radius_m: f64,
    },
    Polygons(Box<Polygons>),
    /// Geometry that cannot be measured (non-finite, out of range, a
    /// negative radius…); only reachable by building a `Site` in code,
    /// as GeoJSON import rejects it. It never matches a query.
    Invalid,
}

impl Prepared {
    pub fn new(fence: &Fence) -> Prepared {
        match fence {
            Fence::Circle { center, radius_m } => {
                if is_valid_point(*center) && radius_m.is_finite() && *radius_m >= 0.0 {
                    Prepared::Circle {
                        center: *center,
                        e: ecef(center.lat, center.lon),
                        radius_m: *radius_m,
                    }
                } else {
                    Prepared::Invalid
                }
            }
            Fence::Polygons(mp) => match Polygons::new(mp) {
                Some(p) => Prepared::Polygons(Box::new(p)),
                None => Prepared::Invalid,
            },
        }
    }

    pub fn measure(&self, q: &Query) -> SiteMeasure {
        match self {
            Prepared::Circle {
                center,
                e,
                radius_m,
            } => {
                let d = distance_between(q.p, q.e, *center, *e);
                SiteMeasure {
                    contains: d <= *radius_m,
                    boundary_distance_m: (d - radius_m).abs(),
                }
            }
            Prepared::Polygons(p) => p.measure(q),
            Prepared::Invalid => SiteMeasure {
                contains: false,
                boundary_distance_m: f64::NAN,
            },
        }
    }

    /// The measure of a single point (None if the point is invalid).
    pub fn measure_point(&self, p: GeoPoint) -> Option<SiteMeasure> {
        Query::new(p).map(|q| self.measure(&q))
    }

    /// A 3-D box holding every point of the fence (inside and boundary),
    /// widened by [`BOX_MARGIN_M`]. Since a chord never exceeds the geodesic,
    /// a fix within r metres of the fence lies within r of this box.
    pub fn envelope(&self) -> Option<AABB<Vec3>> {
        match self {
            Prepared::Circle { e, radius_m, .. } => {
                let r = radius_m + BOX_MARGIN_M;
                Some(AABB::from_corners(
                    [e[0] - r, e[1] - r, e[2] - r],
                    [e[0] + r, e[1] + r, e[2] + r],
                ))
            }
            Prepared::Polygons(p) => Some(p.envelope),
            Prepared::Invalid => None,
        }
    }
}

fn widen(lo: Vec3, hi: Vec3, by: f64) -> AABB<Vec3> {
    AABB::from_corners(
        [lo[0] - by, lo[1] - by, lo[2] - by],
        [hi[0] + by, hi[1] + by, hi[2] + by],
    )
}

// ---------------------------------------------------------------------------
// Point in polygon: planar in lon/lat, exact (RFC 7946 edges are straight in
// lon/lat, so the planar test is the true one), with robust orientation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Outside,
    Inside,
    Boundary,
}

/// One edge against the rightward ray from (x, y): crossing (half-open rule,
/// so a vertex on the ray counts once), or the point lies on the edge.
#[inline]
fn ray_test(a: Coord, b: Coord, p: Coord) -> (bool, bool) {
    let (ylo, yhi) = if a.y <= b.y { (a.y, b.y) } else { (b.y, a.y) };
    if p.y < ylo || p.y > yhi {
        return (false, false);
    }
    let (xlo, xhi) = if a.x <= b.x { (a.x, b.x) } else { (b.x, a.x) };
    if p.x > xhi {
        return (false, false);
    }
    let o = RobustKernel::orient2d(a, b, p);
    if o == Orientation::Collinear {
        return (false, p.x >= xlo);
    }
    let crosses = if a.y <= p.y && p.y < b.y {
        o == Orientation::CounterClockwise
    } else if b.y <= p.y && p.y < a.y {
        o == Orientation::Clockwise
    } else {
        false
    };
    (crosses, false)
}

struct Ring {
    pts: Vec<Coord>,
    bbox: [f64; 4], // min x, min y, max x, max y
}

impl Ring {
    fn locate(&self, p: Coord) -> Location {
        if p.x < self.bbox[0] || p.y < self.bbox[1] || p.x > self.bbox[2] || p.y > self.bbox[3] {
            return Location::Outside;
        }
        let mut inside = false;
        for w in self.pts.windows(2) {
            let (c, on) = ray_test(w[0], w[1], p);
            if on {
                return Location::Boundary;
            }
            inside ^= c;
        }
        if inside {
            Location::Inside
        } else {
            Location::Outside
        }
    }
}

/// An edge in lon/lat, for the point-in-polygon R-tree.
struct PipEdge {
    a: Coord,
    b: Coord,
    ring: u32,
}

impl RTreeObject for PipEdge {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners([self.a.x, self.a.y], [self.b.x, self.b.y])
    }
}

/// Planar point-in-polygon for a set of polygon parts (exterior + holes).
pub(crate) struct Pip {
    rings: Vec<Ring>,
    /// Per part: ring index range; the first ring is the exterior.
    parts: Vec<(usize, usize)>,
    bbox: [f64; 4],
    tree: Option<RTree<PipEdge>>,
}

impl Pip {
    /// `parts`: per polygon, its rings (exterior first) as closed lon/lat
    /// coordinate lists. None if a ring is empty.
    pub fn new(parts: &[Vec<Vec<Coord>>]) -> Option<Pip> {
        let mut rings = Vec::new();
        let mut ranges = Vec::new();
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut edges = 0usize;
        for part in parts {
            let start = rings.len();
            for pts in part {
                let first = pts.first()?;
                let mut b = [first.x, first.y, first.x, first.y];
                for c in pts {
                    b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
                }
                bbox = [
                    bbox[0].min(b[0]),
                    bbox[1].min(b[1]),
                    bbox[2].max(b[2]),
                    bbox[3].max(b[3]),
                ];
                edges += pts.len().saturating_sub(1);
                rings.push(Ring {
                    pts: pts.clone(),
                    bbox: b,
                });
            }
            ranges.push((start, rings.len()));
        }
        let tree = (edges > INDEX_MIN_EDGES).then(|| {
            let mut list = Vec::with_capacity(edges);
            for (ri, ring) in rings.iter().enumerate() {
                for w in ring.pts.windows(2) {
                    list.push(PipEdge {
                        a: w[0],
                        b: w[1],
                        ring: ri as u32,
                    });
                }
            }
            RTree::bulk_load(list)
        });
        Some(Pip {
            rings,
            parts: ranges,
            bbox,
            tree,
        })
    }

    /// Inside or on the boundary (fences are closed sets).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.locate(Coord { x: lon, y: lat }) != Location::Outside
    }

    fn locate(&self, p: Coord) -> Location {
        let b = self.bbox;
        if p.x < b[0] || p.y < b[1] || p.x > b[2] || p.y > b[3] {
            return Location::Outside;
        }
        match &self.tree {
            None => {
                let mut result = Location::Outside;
                for &(start, end) in &self.parts {
                    match self.rings[start].locate(p) {
                        Location::Outside => continue,
                        Location::Boundary => return Location::Boundary,
                        Location::Inside => {}
                    }
                    let mut in_hole = false;
                    for hole in &self.rings[start + 1..end] {
                        match hole.locate(p) {
                            Location::Outside => {}
                            Location::Boundary => return Location::Boundary,
                            Location::Inside => in_hole = true,
                        }
                    }
                    if !in_hole {
                        result = Location::Inside;
                    }
                }
                result
            }
            Some(tree) => {
                // Only edges whose envelope meets the rightward ray matter.
                let ray = AABB::from_corners([p.x, p.y], [b[2], p.y]);
                let mut crossed: Vec<u32> = Vec::new();
                for e in tree.locate_in_envelope_intersecting(&ray) {
                    let (c, on) = ray_test(e.a, e.b, p);
                    if on {
                        return Location::Boundary;
                    }
                    if c {
                        crossed.push(e.ring);
                    }
                }
                crossed.sort_unstable();
                // Rings crossed an odd number of times contain the point.
                let mut odd: Vec<u32> = Vec::new();
                for run in crossed.chunk_by(|a, b| a == b) {
                    if run.len() % 2 == 1 {
                        odd.push(run[0]);
                    }
                }
                let inside_ring = |r: usize| odd.binary_search(&(r as u32)).is_ok();
                let inside = self
                    .parts
                    .iter()
                    .any(|&(start, end)| inside_ring(start) && !(start + 1..end).any(inside_ring));
                if inside {
                    Location::Inside
                } else {
                    Location::Outside
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Boundary distance.
//
// Each boundary edge E(t) (straight in lon/lat) is compared with the 3-D
// chord between its ends, which it never strays from by more than its sag
// bound. So |P − chord| ± sag brackets the least chord from the fix to the
// edge; edges or half-edges are split until the bracket is within tolerance
// (each split divides the sag by 4). The least chord then gives the
// geodesic: by the curvature correction below 100 km, else by Karney to the
// nearest boundary point (the chord minimiser; on a sphere it is the
// geodesic minimiser, on WGS84 the distance to it is larger than the least
// geodesic only at second order in the flattening).
// This has no special case at the poles or the antimeridian.

/// A boundary edge in 3-D, with its lon/lat ends for splitting.
#[derive(Debug, Clone, Copy)]
struct Seg {
    a: Vec3,
    b: Vec3,
    sag: f64,
    ll_a: [f64; 2], // lon, lat
    ll_b: [f64; 2],
}

impl Seg {
    fn new(a: [f64; 2], b: [f64; 2]) -> Seg {
        Seg {
            a: ecef(a[1], a[0]),
            b: ecef(b[1], b[0]),
            sag: edge_sag(a[0], a[1], b[0], b[1]),
            ll_a: a,
            ll_b: b,
        }
    }

    fn lonlat_at(&self, t: f64) -> [f64; 2] {
        // Clamped so rounding can never step past a pole.
        [
            self.ll_a[0] + t * (self.ll_b[0] - self.ll_a[0]),
            (self.ll_a[1] + t * (self.ll_b[1] - self.ll_a[1])).clamp(-90.0, 90.0),
        ]
    }

    /// Lower bound on the chord from `p` to any point of the edge.
    #[inline]
    fn lower_bound(&self, p: Vec3) -> f64 {
        (segment_distance(p, self.a, self.b).0 - self.sag).max(0.0)
    }
}

/// Edge entry of the boundary R-tree: its box holds the edge's chord widened
/// by its sag, so it holds the edge.
struct SegEntry {
    envelope: AABB<Vec3>,
    index: u32,
}

impl SegEntry {
    fn new(seg: &Seg, index: usize) -> SegEntry {
        let (a, b) = (seg.a, seg.b);
        SegEntry {
            envelope: widen(
                [a[0].min(b[0]), a[1].min(b[1]), a[2].min(b[2])],
                [a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2])],
                seg.sag,
            ),
            index: index as u32,
        }
    }
}

impl RTreeObject for SegEntry {
    type Envelope = AABB<Vec3>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Best boundary candidate found so far (chord metres).
struct Search {
    /// Upper bound on the least chord to the boundary.
    upper: f64,
    /// Estimate of the least chord (within tolerance) and where it is.
    best: f64,
    at: Option<(usize, f64)>,
}

impl Search {
    #[inline]
    fn offer(&mut self, d: f64, seg: usize, t: f64) {
        if d < self.best {
            self.best = d;
            self.at = Some((seg, t));
        }
    }
}

#[derive(Clone, Copy)]
struct Piece {
    t0: f64,
    t1: f64,
    x0: Vec3,
    x1: Vec3,
    sag: f64,
}

/// Branch and bound over the boundary R-tree: a node's box distance and an
/// edge's chord lower bound bound the chord to anything below them.
struct EdgeSearch<'a> {
    polygons: &'a Polygons,
    p: Vec3,
    s: Search,
}

impl BranchAndBound<SegEntry> for EdgeSearch<'_> {
    fn lower_bound(&self, node: &RTreeNode<SegEntry>) -> f64 {
        match node {
            RTreeNode::Leaf(e) => self.polygons.segs[e.index as usize].lower_bound(self.p),
            RTreeNode::Parent(n) => box_distance2(&n.envelope(), self.p).sqrt(),
        }
    }

    fn worth(&self, lower: f64) -> bool {
        lower < self.s.upper
    }

    fn leaf(&mut self, e: &SegEntry) {
        self.polygons.refine(self.p, e.index as usize, &mut self.s);
    }
}

pub(crate) struct Polygons {
    pip: Pip,
    segs: Vec<Seg>,
    seg_tree: Option<RTree<SegEntry>>,
    envelope: AABB<Vec3>,
}

/// Merged latitude intervals of edges lying on one seam meridian (or
/// longitude intervals of edges lying on one pole's parallel).
fn merge(mut v: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Parts of [lo, hi] not covered by the merged intervals `cover`.
fn uncovered(lo: f64, hi: f64, cover: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut start = lo;
    for &(a, b) in cover {
        if b <= start || a >= hi {
            continue;
        }
        if a > start {
            out.push((start, a));
        }
        start = start.max(b);
    }
    if start < hi {
        out.push((start, hi));
    }
    out
}

impl Polygons {
    /// None if any coordinate is non-finite or out of range, or a ring is
    /// empty.
    fn new(mp: &MultiPolygon<f64>) -> Option<Polygons> {
        let parts: Vec<Vec<Vec<Coord>>> =
            mp.0.iter()
                .map(|poly| {
                    std::iter::once(poly.exterior())
                        .chain(poly.interiors())
                        .map(|ring| ring.0.clone())
                        .collect()
                })
                .collect();
        let valid = |c: &Coord| is_valid_point(GeoPoint { lat: c.y, lon: c.x });
        if parts.is_empty() || !parts.iter().flatten().flatten().all(valid) {
            return None;
        }
        let pip = Pip::new(&parts)?;

        // Seams (RFC 7946 §3.1.9): a fence cut at the antimeridian has edges
        // on lon = +180 and lon = −180 that are one line on the Earth, with
        // the fence on both sides; they are no boundary where the opposite
        // seam has edges too. Likewise edges along a pole's parallel
        // (lat = ±90) collapse to the pole, which is interior when those
        // edges cover every longitude (a polar cap such as Antarctica).
        let edges = || {
            parts
                .iter()
                .flatten()
                .flat_map(|ring| ring.windows(2).map(|w| (w[0], w[1])))
        };
        let seam = |lon: f64| {
            merge(
                edges()
                    .filter(|(a, b)| a.x == lon && b.x == lon)
                    .map(|(a, b)| (a.y.min(b.y), a.y.max(b.y)))
                    .collect(),
            )
        };
        let (east, west) = (seam(180.0), seam(-180.0));
        let cap = |lat: f64| {
            let cover = merge(
                edges()
                    .filter(|(a, b)| a.y == lat && b.y == lat)
                    .map(|(a, b)| (a.x.min(b.x), a.x.max(b.x)))
                    .collect(),
            );
            uncovered(-180.0, 180.0, &cover).is_empty()
        };
        let (north_cap, south_cap) = (cap(90.0), cap(-90.0));

        let mut segs = Vec::new();
        for (a, b) in edges() {
            if a == b {
                continue; // a repeated vertex; its point belongs to the neighbours
            }
            if a.y == b.y && ((a.y == 90.0 && north_cap) || (a.y == -90.0 && south_cap)) {
                continue;
            }
            if a.x == b.x && a.x.abs() == 180.0 {
                let other = if a.x > 0.0 { &west } else { &east };
                for (lo, hi) in uncovered(a.y.min(b.y), a.y.max(b.y), other) {
                    segs.push(Seg::new([a.x, lo], [a.x, hi]));
                }
                continue;
            }
            segs.push(Seg::new([a.x, a.y], [b.x, b.y]));
        }

        let seg_tree = (segs.len() > INDEX_MIN_EDGES).then(|| {
            RTree::bulk_load(
                segs.iter()
                    .enumerate()
                    .map(|(i, s)| SegEntry::new(s, i))
                    .collect(),
            )
        });

        // Union of the parts' lon/lat rectangles lifted to 3-D: a fence cut
        // at the seam gets two small boxes side by side, not a world-wide one.
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &(start, _) in &pip.parts {
            let b = pip.rings[start].bbox;
            let (l, h) = lonlat_rect_bounds(b[0], b[2], b[1], b[3]);
            for k in 0..3 {
                lo[k] = lo[k].min(l[k]);
                hi[k] = hi[k].max(h[k]);
            }
        }
        Some(Polygons {
            pip,
            segs,
            seg_tree,
            envelope: widen(lo, hi, BOX_MARGIN_M),
        })
    }

    fn contains(&self, p: GeoPoint) -> bool {
        // lon = ±180 are one meridian: a fix on it is in a seam-cut fence
        // if either copy is.
        self.pip.contains(p.lon, p.lat)
            || (p.lon.abs() == 180.0 && self.pip.contains(-p.lon, p.lat))
    }

    fn measure(&self, q: &Query) -> SiteMeasure {
        SiteMeasure {
            contains: self.contains(q.p),
            boundary_distance_m: self.boundary_distance(q),
        }
    }

    fn boundary_distance(&self, q: &Query) -> f64 {
        let mut s = Search {
            upper: f64::INFINITY,
            best: f64::INFINITY,
            at: None,
        };
        match &self.seg_tree {
            None => {
                let mut deferred: Vec<usize> = Vec::new();
                for (i, seg) in self.segs.iter().enumerate() {
                    let (d, u) = segment_distance(q.e, seg.a, seg.b);
                    if d - seg.sag >= s.upper {
                        continue;
                    }
                    s.upper = s.upper.min(d + seg.sag);
                    if seg.sag <= tolerance(d) {
                        s.offer(d, i, u);
                    } else {
                        deferred.push(i);
                    }
                }
                // Long edges near the fix, once the short ones set the bar.
                for i in deferred {
                    self.refine(q.e, i, &mut s);
                }
            }
            Some(tree) => {
                // Branch and bound, nearest edges first.
                let mut edges = EdgeSearch {
                    polygons: self,
                    p: q.e,
                    s,
                };
                bnb::search(tree.root(), &mut edges);
                s = edges.s;
            }
        }
        let Some((seg, t)) = s.at else {
            // No boundary at all (every edge is a seam or a polar cap).
            return f64::INFINITY;
        };
        if s.best < NEAR_CHORD_M {
            near_chord_to_geodesic(s.best)
        } else {
            let ll = self.segs[seg].lonlat_at(t);
            karney(
                q.p,
                GeoPoint {
                    lat: ll[1],
                    lon: ll[0],
                },
            )
        }
    }

    /// Least chord from `p` to edge `i`, to tolerance, by splitting it.
    fn refine(&self, p: Vec3, i: usize, s: &mut Search) {
        let seg = &self.segs[i];
        // Pieces to examine; each split halves t, and pieces shorter than
        // 1e-12 are not split, so the stack never holds more than ~41.
        const DEPTH: usize = 64;
        let mut stack = [Piece {
            t0: 0.0,
            t1: 1.0,
            x0: seg.a,
            x1: seg.b,
            sag: seg.sag,
        }; DEPTH];
        let mut len = 1;
        while len > 0 {
            len -= 1;
            let pc = stack[len];
            let (d, u) = segment_distance(p, pc.x0, pc.x1);
            if d - pc.sag >= s.upper {
                continue;
            }
            s.upper = s.upper.min(d + pc.sag);
            if pc.sag <= tolerance(d) || pc.t1 - pc.t0 < 1e-12 || len + 2 > DEPTH {
                s.offer(d, i, pc.t0 + u * (pc.t1 - pc.t0));
                continue;
            }
            let tm = 0.5 * (pc.t0 + pc.t1);
            let ll = seg.lonlat_at(tm);
            let xm = ecef(ll[1], ll[0]);
            // A true boundary point: an exact upper bound and a candidate.
            let dm = norm(sub(p, xm));
            s.upper = s.upper.min(dm);
            s.offer(dm, i, tm);
            let sag = pc.sag / 4.0;
            let left = Piece {
                t1: tm,
                x1: xm,
                sag,
                ..pc
            };
            let right = Piece {
                t0: tm,
                x0: xm,
                sag,
                ..pc
            };
            // Nearer half last, so it is examined first.
            let (later, first) = if u < 0.5 {
                (right, left)
            } else {
                (left, right)
            };
            stack[len] = later;
            stack[len + 1] = first;
            len += 2;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::{Destination, Geodesic, LineString, Point, Polygon};
    use proptest::prelude::*;

    pub(crate) fn gp(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    pub(crate) fn poly(ext: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
        Polygon::new(
            LineString::from(ext.to_vec()),
            holes.iter().map(|h| LineString::from(h.to_vec())).collect(),
        )
    }

    fn measure(mp: &MultiPolygon<f64>, p: GeoPoint) -> SiteMeasure {
        Prepared::new(&Fence::Polygons(mp.clone())).measure(&Query::new(p).unwrap())
    }

    fn dest(p: GeoPoint, bearing: f64, m: f64) -> GeoPoint {
        let d = Geodesic.destination(Point::new(p.lon, p.lat), bearing, m);
        gp(d.y(), d.x())
    }

    /// Brute-force truth: Karney distance minimised along every edge by a
    /// dense scan then golden-section refinement, with no chord shortcut.
    pub(crate) fn truth_boundary(mp: &MultiPolygon<f64>, p: GeoPoint) -> f64 {
        let mut best = f64::INFINITY;
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let at = |t: f64| gp(a.y + t * (b.y - a.y), a.x + t * (b.x - a.x));
                    let f = |t: f64| karney(p, at(t));
                    let n = 200;
                    let (mut bt, mut bv) = (0.0, f64::INFINITY);
                    for k in 0..=n {
                        let t = k as f64 / n as f64;
                        let v = f(t);
                        if v < bv {
                            (bt, bv) = (t, v);
                        }
                    }
                    let (mut lo, mut hi) = (
                        (bt - 1.0 / n as f64).max(0.0),
                        (bt + 1.0 / n as f64).min(1.0),
                    );
                    let g = 0.618_033_988_749_895;
                    for _ in 0..60 {
                        let m1 = hi - g * (hi - lo);
                        let m2 = lo + g * (hi - lo);
                        if f(m1) < f(m2) { hi = m2 } else { lo = m1 }
                    }
                    best = best.min(bv).min(f(0.5 * (lo + hi)));
                }
            }
        }
        best
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        // 0.5 % is the requirement; this implementation does far better.
        assert!(
            (got - want).abs() <= 1e-4 * want + 0.01,
            "{what}: got {got}, truth {want}"
        );
    }

    /// A ~`size_m` square, a concave "C" and a square with a hole, centred
    /// at `c` (lon/lat offsets from local metres).
    pub(crate) fn shapes(c: GeoPoint, size_m: f64) -> Vec<MultiPolygon<f64>> {
        let dy = size_m / 111_000.0;
        let dx = dy / c.lat.to_radians().cos();
        let at = |x: f64, y: f64| (c.lon + x * dx, c.lat + y * dy);
        let square = [
            at(-0.5, -0.5),
            at(0.5, -0.5),
            at(0.5, 0.5),
            at(-0.5, 0.5),
            at(-0.5, -0.5),
        ];
        let concave = [
            at(-0.5, -0.5),
            at(0.5, -0.5),
            at(0.5, -0.2),
            at(-0.2, -0.2),
            at(-0.2, 0.2),
            at(0.5, 0.2),
            at(0.5, 0.5),
            at(-0.5, 0.5),
            at(-0.5, -0.5),
        ];
        let hole = [
            at(-0.2, -0.2),
            at(-0.2, 0.2),
            at(0.2, 0.2),
            at(0.2, -0.2),
            at(-0.2, -0.2),
        ];
        vec![
            MultiPolygon(vec![poly(&square, &[])]),
            MultiPolygon(vec![poly(&concave, &[])]),
            MultiPolygon(vec![poly(&square, &[&hole])]),
        ]
    }

    #[test]
    fn circle_at_many_latitudes_and_the_antimeridian() {
        for lat in [0.0, 45.0, 60.0, 78.0, -70.0] {
            for lon in [10.0, 179.9995] {
                let c = gp(lat, lon);
                let fence = Prepared::new(&Fence::Circle {
                    center: c,
                    radius_m: 100.0,
                });
                for (bearing, d) in [
                    (0.0, 20.0),
                    (90.0, 99.0),
                    (200.0, 101.0),
                    (270.0, 250.0),
                    (45.0, 3000.0),
                ] {
                    let p = dest(c, bearing, d);
                    let m = fence.measure(&Query::new(p).unwrap());
                    assert_eq!(m.contains, d <= 100.0, "lat {lat} lon {lon} d {d}");
                    assert!(
                        (m.boundary_distance_m - (d - 100.0f64).abs()).abs() < 1e-3,
                        "lat {lat} d {d}: {m:?}"
                    );
                }
            }
        }
        // Centre east of the seam, fix a few metres away west of it.
        let fence = Prepared::new(&Fence::Circle {
            center: gp(-17.0, 179.9995),
            radius_m: 200.0,
        });
        let m = fence.measure(&Query::new(gp(-17.0, -179.9995)).unwrap());
        assert!(
            m.contains && (m.boundary_distance_m - (200.0 - 106.5)).abs() < 0.5,
            "{m:?}"
        );
    }

    #[test]
    fn polygons_match_brute_force_truth_near_and_far() {
        for lat in [0.0, 45.0, 60.0, 78.0, -70.0] {
            let c = gp(lat, 20.0);
            for mp in shapes(c, 1000.0) {
                for (bearing, d) in [
                    (0.0, 0.0),
                    (10.0, 150.0),
                    (100.0, 450.0),
                    (190.0, 700.0),
                    (280.0, 2_000.0),
                    (33.0, 30_000.0),
                    (250.0, 100_000.0),
                    (123.0, 300.0),
                ] {
                    let p = dest(c, bearing, d);
                    let m = measure(&mp, p);
                    assert_close(
                        m.boundary_distance_m,
                        truth_boundary(&mp, p),
                        &format!("lat {lat} bearing {bearing} d {d}"),
                    );
                    let planar = geo::Contains::contains(&mp, &Point::new(p.lon, p.lat));
                    assert_eq!(m.contains, planar, "lat {lat} bearing {bearing} d {d}");
                }
            }
        }
    }

    #[test]
    fn contains_follows_holes_and_concavity() {
        let c = gp(45.0, 7.0);
        let shapes = shapes(c, 1000.0);
        // Centre: inside the square, outside the C (in its notch), in the hole.
        assert!(measure(&shapes[0], c).contains);
        assert!(!measure(&shapes[1], c).contains);
        assert!(!measure(&shapes[2], c).contains);
        // 350 m north: inside all three.
        let p = dest(c, 0.0, 350.0);
        assert!(shapes.iter().all(|s| measure(s, p).contains));
        // In the hole, the boundary is the hole's ring, ~200 m away.
        let b = measure(&shapes[2], c).boundary_distance_m;
        assert!((b - 200.0).abs() < 2.0, "{b}");
    }

    #[test]
    fn long_high_latitude_edges_are_lonlat_straight_not_great_circles() {
        // A band 0..60°E × 70..72°N. The top edge follows the parallel 72°N;
        // a great circle between its ends would bulge ~340 km poleward.
        let mp = MultiPolygon(vec![poly(
            &[
                (0.0, 70.0),
                (60.0, 70.0),
                (60.0, 72.0),
                (0.0, 72.0),
                (0.0, 70.0),
            ],
            &[],
        )]);
        for p in [
            gp(72.5, 30.0),
            gp(71.9, 30.0),
            gp(75.0, 30.0),
            gp(71.0, 30.0),
            gp(80.0, 50.0),
            gp(69.0, -3.0),
        ] {
            let m = measure(&mp, p);
            assert_close(
                m.boundary_distance_m,
                truth_boundary(&mp, p),
                &format!("{p:?}"),
            );
        }
        // 72.5°N above the middle: ~55.8 km north of the parallel.
        let b = measure(&mp, gp(72.5, 30.0)).boundary_distance_m;
        assert!(
            (b - karney(gp(72.5, 30.0), gp(72.0, 30.0))).abs() < 1.0,
            "{b}"
        );
    }

    #[test]
    fn seam_cut_multipolygon_has_no_boundary_at_the_cut() {
        // A ~4.3 × 2.2 km box around the antimeridian at 17°S, cut per
        // RFC 7946.
        let east = poly(
            &[
                (179.98, -17.01),
                (180.0, -17.01),
                (180.0, -16.99),
                (179.98, -16.99),
                (179.98, -17.01),
            ],
            &[],
        );
        let west = poly(
            &[
                (-180.0, -17.01),
                (-179.98, -17.01),
                (-179.98, -16.99),
                (-180.0, -16.99),
                (-180.0, -17.01),
            ],
            &[],
        );
        let mp = MultiPolygon(vec![east.clone(), west]);
        for p in [
            gp(-17.0, 179.9999),
            gp(-17.0, -179.9999),
            gp(-17.0, 180.0),
            gp(-17.0, -180.0),
        ] {
            let m = measure(&mp, p);
            assert!(m.contains, "{p:?}");
            // Nearest real boundary: the north/south edges ~1.1 km away.
            assert!(
                (m.boundary_distance_m - karney(p, gp(-16.99, p.lon))).abs() < 0.5,
                "{p:?}: {m:?}"
            );
        }
        // Outside beyond the western part's far edge.
        let p = gp(-17.0, -179.975);
        let m = measure(&mp, p);
        assert!(!m.contains);
        assert!((m.boundary_distance_m - karney(p, gp(-17.0, -179.98))).abs() < 0.5);
        // Only one half: the cut is a real boundary then.
        let half = MultiPolygon(vec![east]);
        let m = measure(&half, gp(-17.0, 179.9999));
        assert!(m.contains && m.boundary_distance_m < 11.0, "{m:?}");
    }

    #[test]
    fn polar_cap_has_no_boundary_at_the_pole() {
        // Antarctica-like cap: lat ≤ −80, cut at the seam, bottom edge on −90.
        let cap = MultiPolygon(vec![poly(
            &[
                (-180.0, -90.0),
                (180.0, -90.0),
                (180.0, -80.0),
                (-180.0, -80.0),
                (-180.0, -90.0),
            ],
            &[],
        )]);
        for p in [
            gp(-89.9, 0.0),
            gp(-90.0, 0.0),
            gp(-85.0, 180.0),
            gp(-81.0, -120.0),
        ] {
            let m = measure(&cap, p);
            assert!(m.contains, "{p:?}");
            let want = karney(p, gp(-80.0, p.lon));
            assert!(
                (m.boundary_distance_m - want).abs() <= 1e-5 * want,
                "{p:?}: {} vs {want}",
                m.boundary_distance_m
            );
        }
        let p = gp(-79.0, 33.0);
        let m = measure(&cap, p);
        assert!(!m.contains && (m.boundary_distance_m - karney(p, gp(-80.0, 33.0))).abs() < 1.0);
    }

    /// A star-shaped polygon with `n` vertices around `c` (radius ~`r_m`).
    pub(crate) fn star(c: GeoPoint, n: usize, r_m: f64, seed: u64) -> Polygon<f64> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let k = 1.0 / c.lat.to_radians().cos();
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = (i as f64 + 0.8 * next()) / n as f64 * std::f64::consts::TAU;
                let r = r_m * (0.4 + 0.6 * next()) / 111_000.0;
                (c.lon + r * a.cos() * k, c.lat + r * a.sin())
            })
            .collect();
        pts.push(pts[0]);
        poly(&pts, &[])
    }

    #[test]
    fn indexed_paths_agree_with_linear_ones() {
        // Above INDEX_MIN_EDGES both trees are built; compare with a fence
        // made of the same edges split into small parts' worth of work: the
        // linear scan over the same segments.
        let c = gp(52.0, 13.0);
        let big = MultiPolygon(vec![star(c, 3000, 5000.0, 7)]);
        let prepared = Polygons::new(&big).unwrap();
        assert!(prepared.seg_tree.is_some() && prepared.pip.tree.is_some());
        let mut linear = Polygons::new(&big).unwrap();
        linear.seg_tree = None;
        linear.pip.tree = None;
        for i in 0..400 {
            let p = dest(c, i as f64 * 37.0 % 360.0, (i as f64 * 97.0) % 9000.0);
            let q = Query::new(p).unwrap();
            let (a, b) = (prepared.measure(&q), linear.measure(&q));
            assert_eq!(a.contains, b.contains, "{p:?}");
            assert_eq!(
                a.contains,
                geo::Contains::contains(&big, &Point::new(p.lon, p.lat))
            );
            assert!(
                (a.boundary_distance_m - b.boundary_distance_m).abs()
                    <= 2.0 * tolerance(a.boundary_distance_m),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn country_scale_multipolygon_with_islands_and_lakes() {
        // Natural Earth-like: a 20,000-vertex mainland with 5 lakes (holes)
        // and 150 islands offshore; indexed answers equal the linear scans.
        let c = gp(62.0, 25.0);
        let k = 1.0 / c.lat.to_radians().cos();
        let n = 20_000;
        let mut main: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 2.0 * (1.0 + 0.15 * (5.0 * a).sin() + 0.01 * (211.0 * a).sin());
                (c.lon + r * a.cos() * k, c.lat + r * a.sin())
            })
            .collect();
        main.push(main[0]);
        let square = |x: f64, y: f64, h: f64| {
            vec![
                (x - h * k, y - h),
                (x + h * k, y - h),
                (x + h * k, y + h),
                (x - h * k, y + h),
                (x - h * k, y - h),
            ]
        };
        let lakes: Vec<Vec<(f64, f64)>> = (0..5)
            .map(|j| square(c.lon + (j as f64 - 2.0) * 0.5 * k, c.lat + 0.3, 0.1))
            .collect();
        let lake_refs: Vec<&[(f64, f64)]> = lakes.iter().map(|l| l.as_slice()).collect();
        let mut parts = vec![poly(&main, &lake_refs)];
        for j in 0..150 {
            let a = j as f64 / 150.0 * std::f64::consts::TAU;
            parts.push(poly(
                &square(c.lon + 2.9 * a.cos() * k, c.lat + 2.9 * a.sin(), 0.02),
                &[],
            ));
        }
        let mp = MultiPolygon(parts);
        let indexed = Polygons::new(&mp).unwrap();
        assert!(indexed.seg_tree.is_some() && indexed.pip.tree.is_some());
        let mut linear = Polygons::new(&mp).unwrap();
        linear.seg_tree = None;
        linear.pip.tree = None;
        let mut inside = 0;
        for i in 0..300 {
            let a = i as f64 * 2.399_963;
            let r = 3.2 * ((i * 7919) % 300) as f64 / 300.0;
            let p = gp(c.lat + r * a.sin(), c.lon + r * a.cos() * k);
            let q = Query::new(p).unwrap();
            let (x, y) = (indexed.measure(&q), linear.measure(&q));
            assert_eq!(x.contains, y.contains, "{p:?}");
            assert_eq!(
                x.contains,
                geo::Contains::contains(&mp, &Point::new(p.lon, p.lat)),
                "{p:?}"
            );
            let tol = 2.0 * tolerance(x.boundary_distance_m);
            assert!(
                (x.boundary_distance_m - y.boundary_distance_m).abs() <= tol,
                "{p:?}: {x:?} {y:?}"
            );
            inside += usize::from(x.contains);
        }
        assert!((50..250).contains(&inside), "{inside}");
        // In a lake: its shore is the boundary (its east/west shores are a
        // little nearer than its north/south ones at this latitude).
        let p = gp(c.lat + 0.3, c.lon);
        let m = indexed.measure(&Query::new(p).unwrap());
        let shore =
            karney(p, gp(c.lat + 0.4, c.lon)).min(karney(p, gp(c.lat + 0.3, c.lon + 0.1 * k)));
        assert!(
            !m.contains && (m.boundary_distance_m - shore).abs() < 1.0,
            "{m:?} vs {shore}"
        );
    }

    #[test]
    fn points_on_the_boundary_are_contained_with_zero_distance() {
        let mp = MultiPolygon(vec![poly(
            &[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)],
            &[],
        )]);
        for p in [gp(0.0, 0.5), gp(0.5, 1.0), gp(1.0, 1.0), gp(0.25, 0.0)] {
            let m = measure(&mp, p);
            assert!(m.contains && m.boundary_distance_m < 0.01, "{p:?} {m:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]

        /// Random points around random shapes anywhere (incl. high
        /// latitudes): within 1e-4 of the brute-force truth.
        #[test]
        fn random_points_match_truth(
            lat in -84.0f64..84.0, lon in -179.0f64..179.0, size in 50.0f64..20_000.0,
            shape in 0usize..3, bearing in 0.0f64..360.0, frac in 0.0f64..1.0,
        ) {
            let c = gp(lat, lon);
            let mp = &shapes(c, size)[shape];
            let p = dest(c, bearing, frac * frac * 100_000.0);
            let got = measure(mp, p).boundary_distance_m;
            let want = truth_boundary(mp, p);
            prop_assert!((got - want).abs() <= 1e-4 * want + 0.01, "{} vs {}", got, want);
        }
    }
}
