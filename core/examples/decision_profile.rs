//! Where does a geofence decision spend its time? (diagnostic, not a test)
use fieldcheck_core::geofence::{Fence, SiteIndex, synthetic_fixes, synthetic_sites};
use std::time::Instant;

fn main() {
    let sites = synthetic_sites(10_000, 42);
    let index = SiteIndex::new(sites.clone());
    let fixes = synthetic_fixes(&sites, 200_000, 7);
    let all = |_: &fieldcheck_core::Site| true;
    let mut within_ns = Vec::new();
    let mut nearest_ns = Vec::new();
    let mut nearest_poly = 0usize;
    for (p, r) in &fixes {
        let t = Instant::now();
        let w = index.within(*p, *r, &all);
        within_ns.push(t.elapsed().as_nanos() as f64);
        if w.is_empty() {
            let t = Instant::now();
            let n = index.nearest(*p, &all);
            nearest_ns.push(t.elapsed().as_nanos() as f64);
            if let Some((i, _)) = n {
                if matches!(sites[i].fence, Fence::Polygons(_)) {
                    nearest_poly += 1;
                }
            }
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    println!(
        "within: n={} median/p90 {:?} ns",
        within_ns.len(),
        med(&mut within_ns)
    );
    println!(
        "nearest: n={} median/p90 {:?} ns (winner polygon {})",
        nearest_ns.len(),
        med(&mut nearest_ns),
        nearest_poly
    );
    let p = sites
        .iter()
        .position(|s| matches!(s.fence, Fence::Polygons(_)))
        .unwrap();
    let (pt, _) = fixes[0];
    let t = Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(sites[p].measure(pt));
    }
    println!(
        "Site::measure polygon (prepares each call): {} ns",
        t.elapsed().as_nanos() / 1000
    );
}
