//! Sites and their fences (PRODUCT.md §2): geometry, distances in metres,
//! the spatial index and GeoJSON import/export.
//!
//! - Distances are geodesic on WGS84: from the 3-D chord below 100 km
//!   (within 2e-7 of Karney), Karney's algorithm beyond (`geodesy.rs`).
//! - A polygon contains a fix by the planar test in lon/lat (RFC 7946 edges
//!   are straight in lon/lat, so that is exact); its boundary distance is in
//!   metres to those lon/lat-straight edges, not to great circles
//!   (`fence.rs`). A fence is closed: a fix on the boundary is contained.
//! - Fences cut at the antimeridian (RFC 7946 §3.1.9) have no boundary along
//!   the cut, and a polar cap none at its pole.
//! - [`SiteIndex`] answers `within`/`nearest` from an R-tree of 3-D boxes,
//!   exactly as the linear scans do.
//! - Nothing here logs, and no error message quotes a coordinate.

use serde::{Deserialize, Serialize};

use crate::error::Result;

mod bnb;
mod fence;
mod geodesy;
mod geojson_io;
mod index;
#[cfg(any(test, feature = "synthetic"))]
mod synthetic;
#[cfg(any(test, feature = "synthetic"))]
pub(crate) use synthetic::SplitMix64;
mod validate;

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Geodesic distance in metres on the WGS84 ellipsoid. NaN if a latitude
/// is outside [−90, 90] or a coordinate is not finite.
pub fn geodesic_distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let ok = |p: GeoPoint| p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0;
    if !ok(a) || !ok(b) {
        return f64::NAN;
    }
    geodesy::distance_between(
        a,
        geodesy::ecef(a.lat, a.lon),
        b,
        geodesy::ecef(b.lat, b.lon),
    )
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fence {
    Circle {
        center: GeoPoint,
        radius_m: f64,
    },
    /// Edges are straight lines in lon/lat (RFC 7946 §3.1.1); holes allowed.
    Polygons(geo::MultiPolygon<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub fence: Fence,
    pub max_accuracy_m: Option<f64>,
    pub tolerance_m: f64,
    /// Empty: no agent is specifically assigned.
    pub agents: Vec<String>,
    /// Circle centre, or a point on a polygon's surface, fixed at import.
    pub reference_point: GeoPoint,
}

/// How one fix relates to one site's fence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteMeasure {
    pub contains: bool,
    /// Distance in metres from the fix to the fence's boundary (b in §3).
    pub boundary_distance_m: f64,
}

impl SiteMeasure {
    /// 0 when the fix is in the fence, else the distance to it.
    pub fn distance_to_fence_m(&self) -> f64 {
        if self.contains {
            0.0
        } else {
            self.boundary_distance_m
        }
    }
}

impl Site {
    /// How `p` relates to this site's fence. Prepares the fence on each
    /// call; [`SiteIndex`] prepares once and gives the same answers. An
    /// invalid `p` (or fence) gives `contains: false` and a NaN distance.
    pub fn measure(&self, p: GeoPoint) -> SiteMeasure {
        fence::Prepared::new(&self.fence)
            .measure_point(p)
            .unwrap_or(SiteMeasure {
                contains: false,
                boundary_distance_m: f64::NAN,
            })
    }

    /// One GeoJSON Feature (RFC 7946) for this site, as stored and exported.
    /// A polygon's reference point is kept as `properties.reference_point`.
    pub fn to_feature_json(&self) -> String {
        geojson_io::feature_value(self).to_string()
    }

    /// Parses one stored Feature (as written by `to_feature_json`).
    pub fn from_feature_json(text: &str) -> Result<Site> {
        geojson_io::parse_feature(text)
    }
}

/// Parses and validates a FeatureCollection, all-or-nothing.
pub fn parse_sites(geojson_text: &str) -> Result<Vec<Site>> {
    geojson_io::parse_collection(geojson_text)
}

/// A FeatureCollection of the given sites.
pub fn sites_to_geojson(sites: &[Site]) -> String {
    geojson_io::collection_string(sites)
}

/// `count` realistic sites (mostly 50–300 m circles, some 5–40-vertex
/// polygons, around Indonesian and European cities), the same for the same
/// seed. For benchmarks, `fieldcheck bench` and tests.
#[cfg(any(test, feature = "synthetic"))]
pub fn synthetic_sites(count: usize, seed: u64) -> Vec<Site> {
    synthetic::synthetic_sites(count, seed)
}

/// `count` fixes (position, accuracy in metres) near `sites`, the same for
/// the same seed: mostly at or near a site, some up to 30 km away.
#[cfg(any(test, feature = "synthetic"))]
pub fn synthetic_fixes(sites: &[Site], count: usize, seed: u64) -> Vec<(GeoPoint, f64)> {
    synthetic::synthetic_fixes(sites, count, seed)
}

/// Sites with their fences prepared once and indexed for `within` and
/// `nearest`. A fix that is not finite or out of range matches nothing.
pub struct SiteIndex {
    sites: Vec<Site>,
    index: index::Index,
    /// Agents named in some site's `agents` list, so judging knows in O(1)
    /// whether an agent is restricted to assigned sites.
    assigned_agents: std::collections::HashSet<String>,
}

impl SiteIndex {
    pub fn new(sites: Vec<Site>) -> SiteIndex {
        let index = index::Index::new(&sites);
        let assigned_agents = sites
            .iter()
            .flat_map(|s| s.agents.iter().cloned())
            .collect();
        SiteIndex {
            sites,
            index,
            assigned_agents,
        }
    }

    /// Whether any site lists `agent` among its assigned agents.
    pub fn has_assigned_sites(&self, agent: &str) -> bool {
        self.assigned_agents.contains(agent)
    }

    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Site> {
        self.index.get(id).and_then(|i| self.sites.get(i))
    }

    /// Every site passing `filter` whose fence is within `radius_m` of `p`
    /// (containing it, or boundary at most `radius_m` away), with its measure,
    /// in ascending site index.
    pub fn within(
        &self,
        p: GeoPoint,
        radius_m: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        self.index.within(&self.sites, p, radius_m, filter)
    }

    /// The site passing `filter` nearest to `p` (distance to fence; 0 inside).
    /// Ties go to the lowest index.
    pub fn nearest(
        &self,
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        self.index.nearest(&self.sites, p, filter)
    }

    /// Same answers as `within`, by scanning every site with a cheap box
    /// test before the exact measure (a strong linear baseline).
    pub fn within_linear(
        &self,
        p: GeoPoint,
        radius_m: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        self.index.within_linear(&self.sites, p, radius_m, filter)
    }

    /// Same answer as `nearest`, by scanning every site.
    pub fn nearest_linear(
        &self,
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        self.index.nearest_linear(&self.sites, p, filter)
    }

    /// Same answers as `within`, measuring every site exactly with no
    /// bound at all: what a decision costs without any index.
    pub fn within_exhaustive(
        &self,
        p: GeoPoint,
        radius_m: f64,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        self.index
            .within_exhaustive(&self.sites, p, radius_m, filter)
    }

    /// Same answer as `nearest`, measuring every site exactly.
    pub fn nearest_exhaustive(
        &self,
        p: GeoPoint,
        filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        self.index.nearest_exhaustive(&self.sites, p, filter)
    }
}
