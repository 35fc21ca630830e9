//! Polygon validity at import: closed rings of ≥ 4 positions, no edge
//! crossing or collinearly overlapping another (touching at a single point
//! is allowed, as real data such as Natural Earth has it), holes inside
//! their exterior. Edge pairs come from an R-tree, so rings of 10^5 vertices
//! cost O(n log n), and the predicates are exact (robust orientation).
//!
//! Hand-written because geo's `Validation` is not in the geo version/feature
//! set used here for this purpose, reports self-touching rings as invalid,
//! and is quadratic on large rings.

use geo::Coord;
use geo::kernels::{Kernel, Orientation, RobustKernel};
use rstar::{AABB, RTree, RTreeObject};

use super::fence::Pip;

struct Edge {
    a: Coord,
    b: Coord,
    ring: usize,
    /// Index of the edge in its ring.
    k: usize,
}

impl RTreeObject for Edge {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners([self.a.x, self.a.y], [self.b.x, self.b.y])
    }
}

fn orient(a: Coord, b: Coord, c: Coord) -> Orientation {
    RobustKernel::orient2d(a, b, c)
}

/// Lexicographic order, which orders points along any common line.
fn lex_lt(a: Coord, b: Coord) -> bool {
    (a.x, a.y) < (b.x, b.y)
}

#[derive(Debug, PartialEq, Eq)]
enum Contact {
    /// Disjoint, or touching at a single point.
    None,
    Cross,
    Overlap,
}

fn contact(p1: Coord, p2: Coord, q1: Coord, q2: Coord) -> Contact {
    let o1 = orient(p1, p2, q1);
    let o2 = orient(p1, p2, q2);
    let o3 = orient(q1, q2, p1);
    let o4 = orient(q1, q2, p2);
    use Orientation::Collinear as C;
    if o1 != C && o2 != C && o1 != o2 && o3 != C && o4 != C && o3 != o4 {
        return Contact::Cross;
    }
    if o1 == C && o2 == C && p1 != p2 && q1 != q2 {
        // Same line: overlap of positive length?
        let (pa, pb) = if lex_lt(p1, p2) { (p1, p2) } else { (p2, p1) };
        let (qa, qb) = if lex_lt(q1, q2) { (q1, q2) } else { (q2, q1) };
        let lo = if lex_lt(pa, qa) { qa } else { pa };
        let hi = if lex_lt(pb, qb) { pb } else { qb };
        if lex_lt(lo, hi) {
            return Contact::Overlap;
        }
    }
    Contact::None
}

/// Validates one polygon's rings (exterior first), given as lon/lat
/// coordinates already checked for range. `Err` is a human reason.
pub(crate) fn polygon(rings: &[Vec<Coord>]) -> Result<(), String> {
    let name = |r: usize| {
        if r == 0 {
            "exterior ring".to_string()
        } else {
            format!("hole {r}")
        }
    };
    if rings.is_empty() {
        return Err("polygon has no rings".into());
    }
    for (r, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(format!(
                "{} has {} positions; a ring needs at least 4",
                name(r),
                ring.len()
            ));
        }
        if ring.first() != ring.last() {
            return Err(format!(
                "{} is not closed (first and last positions differ)",
                name(r)
            ));
        }
    }

    let mut edges = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        for (k, w) in ring.windows(2).enumerate() {
            edges.push(Edge {
                a: w[0],
                b: w[1],
                ring: r,
                k,
            });
        }
    }
    let tree = RTree::bulk_load(edges);
    for e in tree.iter() {
        let n = rings[e.ring].len() - 1; // edges in the ring
        for f in tree.locate_in_envelope_intersecting(&e.envelope()) {
            // Each unordered pair once.
            if (f.ring, f.k) <= (e.ring, e.k) {
                continue;
            }
            let same_ring = f.ring == e.ring;
            let adjacent = same_ring && (f.k == e.k + 1 || (e.k == 0 && f.k == n - 1));
            if adjacent {
                // Consecutive edges share a vertex; they may not fold back
                // onto each other (a spike).
                let (a, b, c) = if f.k == e.k + 1 {
                    (e.a, e.b, f.b)
                } else {
                    (f.a, f.b, e.b)
                };
                if a != b
                    && b != c
                    && orient(a, b, c) == Orientation::Collinear
                    && (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y) < 0.0
                {
                    return Err(format!(
                        "{} folds back on itself at position {}",
                        name(e.ring),
                        if f.k == e.k + 1 { f.k } else { 0 }
                    ));
                }
                continue;
            }
            match contact(e.a, e.b, f.a, f.b) {
                Contact::None => {}
                Contact::Cross if same_ring => {
                    return Err(format!(
                        "{} is self-intersecting: edges {} and {} cross",
                        name(e.ring),
                        e.k,
                        f.k
                    ));
                }
                Contact::Overlap if same_ring => {
                    return Err(format!(
                        "{} is self-intersecting: edges {} and {} overlap",
                        name(e.ring),
                        e.k,
                        f.k
                    ));
                }
                Contact::Cross | Contact::Overlap => {
                    return Err(format!("{} crosses {}", name(f.ring), name(e.ring)));
                }
            }
        }
    }

    // Rings do not cross, so a hole is inside the exterior iff any of its
    // vertices off the exterior's boundary is.
    if rings.len() > 1 {
        let exterior = Pip::new(&[vec![rings[0].clone()]]).ok_or("empty exterior ring")?;
        for (r, hole) in rings.iter().enumerate().skip(1) {
            let outside = hole.iter().any(|c| !exterior.contains(c.x, c.y));
            if outside {
                return Err(format!("{} lies outside the exterior ring", name(r)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> Vec<Coord> {
        pts.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    const SQUARE: &[(f64, f64)] = &[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)];

    #[test]
    fn accepts_simple_and_touching_rings() {
        assert_eq!(polygon(&[ring(SQUARE)]), Ok(()));
        // Hole touching the exterior at one vertex.
        let hole = ring(&[(0.0, 2.0), (1.0, 1.0), (1.0, 3.0), (0.0, 2.0)]);
        assert_eq!(polygon(&[ring(SQUARE), hole]), Ok(()));
        // A ring touching itself at a single vertex (two lobes).
        let lobes = ring(&[
            (0.0, 0.0),
            (2.0, 1.0),
            (4.0, 0.0),
            (4.0, 2.0),
            (2.0, 1.0),
            (0.0, 2.0),
            (0.0, 0.0),
        ]);
        assert_eq!(polygon(&[lobes]), Ok(()));
        // A repeated vertex is harmless.
        let dup = ring(&[(0.0, 0.0), (4.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 0.0)]);
        assert_eq!(polygon(&[dup]), Ok(()));
    }

    #[test]
    fn rejects_bad_rings() {
        let short = ring(&[(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)]);
        assert!(polygon(&[short]).unwrap_err().contains("at least 4"));
        let open = ring(&[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]);
        assert!(polygon(&[open]).unwrap_err().contains("not closed"));
        let bowtie = ring(&[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)]);
        assert!(polygon(&[bowtie]).unwrap_err().contains("cross"));
        let spike = ring(&[
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 4.0),
            (4.0, 6.0),
            (4.0, 5.0),
            (0.0, 4.0),
            (0.0, 0.0),
        ]);
        assert!(polygon(&[spike]).unwrap_err().contains("folds back"));
        // Non-adjacent edges overlapping along a line.
        let overlap = ring(&[
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 2.0),
            (2.0, 2.0),
            (2.0, 0.0),
            (1.0, 0.0),
            (1.0, -1.0),
            (0.0, -1.0),
            (0.0, 0.0),
        ]);
        assert!(polygon(&[overlap]).unwrap_err().contains("overlap"));
        let degenerate = ring(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.0)]);
        assert!(polygon(&[degenerate]).is_err());
        let crossing_hole = ring(&[(1.0, 1.0), (5.0, 1.0), (5.0, 2.0), (1.0, 2.0), (1.0, 1.0)]);
        assert!(
            polygon(&[ring(SQUARE), crossing_hole])
                .unwrap_err()
                .contains("crosses")
        );
        let outside_hole = ring(&[(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 5.0)]);
        assert!(
            polygon(&[ring(SQUARE), outside_hole])
                .unwrap_err()
                .contains("outside")
        );
    }

    #[test]
    fn large_rings_are_checked_quickly() {
        // A 100,000-vertex star ring: valid; then with one crossing added.
        let n = 100_000;
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                // A slightly wavy circle: edges ~6e-5 long, like real coasts.
                let r = 1.0 + 1e-5 * (i % 3) as f64;
                (r * a.cos(), r * a.sin())
            })
            .collect();
        pts.push(pts[0]);
        let start = std::time::Instant::now();
        assert_eq!(polygon(&[ring(&pts)]), Ok(()));
        pts.swap(500, 50_000);
        assert!(polygon(&[ring(&pts)]).unwrap_err().contains("cross"));
        // Generous for debug builds; quadratic would take minutes.
        assert!(start.elapsed().as_secs() < 30);
    }
}
