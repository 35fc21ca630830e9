//! Geofence decisions over 10,000 realistic sites (PRODUCT.md §11): the
//! R-tree index against a linear scan, plus one measure against a
//! 100,000-vertex polygon (country scale) and the index build.
//!
//! A decision is what step 6 of judging asks of the index: every site within
//! the fix's accuracy radius, and the nearest site when there is none.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fieldcheck_core::geofence::{
    Fence, GeoPoint, Site, SiteIndex, synthetic_fixes, synthetic_sites,
};
use geo::{LineString, MultiPolygon, Polygon};

const SITES: usize = 10_000;

fn all(_: &Site) -> bool {
    true
}

fn decide(index: &SiteIndex, p: GeoPoint, r: f64, linear: bool) -> Option<usize> {
    let near = if linear {
        index.within_linear(p, r, &all)
    } else {
        index.within(p, r, &all)
    };
    if let Some((i, _)) = near.first() {
        return Some(*i);
    }
    let nearest = if linear {
        index.nearest_linear(p, &all)
    } else {
        index.nearest(p, &all)
    };
    nearest.map(|(i, _)| i)
}

fn decisions(c: &mut Criterion) {
    let sites = synthetic_sites(SITES, 1);
    let fixes = synthetic_fixes(&sites, 4096, 2);
    let index = SiteIndex::new(sites);
    let mut group = c.benchmark_group("decision_10k_sites");
    for (name, linear) in [("index", false), ("linear", true)] {
        if linear {
            group.sample_size(20);
        }
        group.bench_function(name, |b| {
            let mut k = 0usize;
            b.iter(|| {
                let (p, r) = fixes[k % fixes.len()];
                k += 1;
                black_box(decide(&index, black_box(p), r, linear))
            })
        });
    }
    group.finish();
}

/// A country-sized wavy ring of `n` vertices (10 m edges, like a detailed
/// coastline) around Berlin, ~330 km across.
fn big_polygon(n: usize) -> Site {
    let c = GeoPoint {
        lat: 52.5,
        lon: 13.4,
    };
    let mut ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 1.5 * (1.0 + 0.2 * (7.0 * a).sin() + 0.01 * (300.0 * a).sin());
            (
                c.lon + r * a.cos() / c.lat.to_radians().cos(),
                c.lat + r * a.sin(),
            )
        })
        .collect();
    ring.push(ring[0]);
    Site {
        id: "country".into(),
        name: "country".into(),
        fence: Fence::Polygons(MultiPolygon(vec![Polygon::new(
            LineString::from(ring),
            vec![],
        )])),
        max_accuracy_m: None,
        tolerance_m: 0.0,
        agents: Vec::new(),
        reference_point: c,
    }
}

fn large_polygon(c: &mut Criterion) {
    let index = SiteIndex::new(vec![big_polygon(100_000)]);
    let points: Vec<GeoPoint> = (0..1024)
        .map(|i| {
            let a = i as f64 * 2.399_963;
            let r = 0.8 + 1.6 * ((i * 7919) % 1024) as f64 / 1024.0;
            GeoPoint {
                lat: 52.5 + r * a.sin(),
                lon: 13.4 + r * a.cos() / 52.5f64.to_radians().cos(),
            }
        })
        .collect();
    c.bench_function("measure_100k_vertex_polygon", |b| {
        let mut k = 0usize;
        b.iter(|| {
            let p = points[k % points.len()];
            k += 1;
            black_box(index.nearest(black_box(p), &all))
        })
    });
}

fn build(c: &mut Criterion) {
    let sites = synthetic_sites(SITES, 1);
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("index_10k_sites", |b| {
        b.iter(|| black_box(SiteIndex::new(sites.clone())).len())
    });
    group.finish();
}

criterion_group!(benches, decisions, large_polygon, build);
criterion_main!(benches);
