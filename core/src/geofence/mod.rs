//! Sites and their fences (PRODUCT.md §2): geometry, distances in metres,
//! the spatial index and GeoJSON import/export.
//!
//! INTERFACE STUB — the geofence helper replaces the bodies; signatures are
//! the contract the rest of the core is written against.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Geodesic distance in metres on the WGS84 ellipsoid.
pub fn geodesic_distance_m(_a: GeoPoint, _b: GeoPoint) -> f64 {
    unimplemented!()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fence {
    Circle { center: GeoPoint, radius_m: f64 },
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
    pub fn measure(&self, _p: GeoPoint) -> SiteMeasure {
        unimplemented!()
    }

    /// One GeoJSON Feature (RFC 7946) for this site, as stored and exported.
    pub fn to_feature_json(&self) -> String {
        unimplemented!()
    }

    /// Parses one stored Feature (as written by `to_feature_json`).
    pub fn from_feature_json(_text: &str) -> Result<Site> {
        unimplemented!()
    }
}

/// Parses and validates a FeatureCollection, all-or-nothing.
pub fn parse_sites(_geojson_text: &str) -> Result<Vec<Site>> {
    unimplemented!()
}

/// A FeatureCollection of the given sites.
pub fn sites_to_geojson(_sites: &[Site]) -> String {
    unimplemented!()
}

pub struct SiteIndex {
    sites: Vec<Site>,
}

impl SiteIndex {
    pub fn new(sites: Vec<Site>) -> SiteIndex {
        SiteIndex { sites }
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

    pub fn get(&self, _id: &str) -> Option<&Site> {
        unimplemented!()
    }

    /// Every site passing `filter` whose fence is within `radius_m` of `p`
    /// (containing it, or boundary at most `radius_m` away), with its measure.
    pub fn within(
        &self,
        _p: GeoPoint,
        _radius_m: f64,
        _filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        unimplemented!()
    }

    /// The site passing `filter` nearest to `p` (distance to fence; 0 inside).
    pub fn nearest(
        &self,
        _p: GeoPoint,
        _filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        unimplemented!()
    }

    /// Same answers as `within`, by scanning every site (benchmarks, tests).
    pub fn within_linear(
        &self,
        _p: GeoPoint,
        _radius_m: f64,
        _filter: &dyn Fn(&Site) -> bool,
    ) -> Vec<(usize, SiteMeasure)> {
        unimplemented!()
    }

    /// Same answer as `nearest`, by scanning every site.
    pub fn nearest_linear(
        &self,
        _p: GeoPoint,
        _filter: &dyn Fn(&Site) -> bool,
    ) -> Option<(usize, SiteMeasure)> {
        unimplemented!()
    }
}
