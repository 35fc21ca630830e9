//! GeoJSON (RFC 7946) import and export of sites, all-or-nothing, with
//! errors naming the feature index and a human reason. Error messages name
//! positions by index and never quote coordinates.

use std::collections::HashMap;

use geo::{Coord, InteriorPoint, LineString, MultiPolygon, Polygon};
use geojson::{Feature, GeometryValue, JsonObject, Position};
use serde_json::{Map, Value, json};

use super::fence::Prepared;
use super::{Fence, GeoPoint, Site, validate};
use crate::error::{Error, Result};

/// Parses and validates a FeatureCollection.
pub(crate) fn parse_collection(text: &str) -> Result<Vec<Site>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::geojson(None, format!("not valid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(Error::geojson(None, "expected a FeatureCollection object"));
    };
    match top.get("type") {
        Some(Value::String(t)) if t == "FeatureCollection" => {}
        Some(Value::String(t)) => {
            return Err(Error::geojson(
                None,
                format!("expected a FeatureCollection, found type {t:?}"),
            ));
        }
        _ => {
            return Err(Error::geojson(
                None,
                "expected a FeatureCollection (missing \"type\")",
            ));
        }
    }
    let Some(Value::Array(features)) = top.remove("features") else {
        return Err(Error::geojson(
            None,
            "FeatureCollection has no \"features\" array",
        ));
    };
    let mut sites = Vec::with_capacity(features.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(features.len());
    for (i, value) in features.into_iter().enumerate() {
        let feature: Feature = serde_json::from_value(value)
            .map_err(|e| Error::geojson(Some(i), format!("not a valid GeoJSON Feature: {e}")))?;
        let site = site_from_feature(feature).map_err(|reason| Error::geojson(Some(i), reason))?;
        if let Some(first) = seen.insert(site.id.clone(), i) {
            return Err(Error::geojson(
                Some(i),
                format!("duplicate id {:?} (also feature {first})", site.id),
            ));
        }
        sites.push(site);
    }
    Ok(sites)
}

/// Parses one Feature, as written by [`feature_value`].
pub(crate) fn parse_feature(text: &str) -> Result<Site> {
    let feature: Feature = serde_json::from_str(text)
        .map_err(|e| Error::geojson(None, format!("not a valid GeoJSON Feature: {e}")))?;
    site_from_feature(feature).map_err(|reason| Error::geojson(None, reason))
}

fn optional_number(props: &JsonObject, key: &str) -> std::result::Result<Option<f64>, String> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(format!("properties.{key} must be a finite number")),
        },
        Some(_) => Err(format!("properties.{key} must be a number")),
    }
}

/// A lon/lat position checked for finiteness and range. `at` names it.
fn coord(pos: &Position, at: &dyn Fn() -> String) -> std::result::Result<Coord, String> {
    let [lon, lat, ..] = pos.as_slice() else {
        return Err(format!("{}: a position needs longitude and latitude", at()));
    };
    if !lon.is_finite() || !lat.is_finite() {
        return Err(format!("{}: coordinates must be finite numbers", at()));
    }
    if !(-90.0..=90.0).contains(lat) {
        return Err(format!("{}: latitude out of range [-90, 90]", at()));
    }
    if !(-180.0..=180.0).contains(lon) {
        return Err(format!("{}: longitude out of range [-180, 180]", at()));
    }
    Ok(Coord { x: *lon, y: *lat })
}

/// One GeoJSON polygon (rings of positions), validated. `part` is its index
/// in a MultiPolygon.
fn polygon(
    rings: &[Vec<Position>],
    part: Option<usize>,
) -> std::result::Result<Polygon<f64>, String> {
    let prefix = || part.map(|k| format!("polygon {k}, ")).unwrap_or_default();
    let mut coords: Vec<Vec<Coord>> = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let mut out = Vec::with_capacity(ring.len());
        for (k, pos) in ring.iter().enumerate() {
            let at = || {
                let ring_name = if r == 0 {
                    "exterior ring".to_string()
                } else {
                    format!("hole {r}")
                };
                format!("{}{ring_name}, position {k}", prefix())
            };
            out.push(coord(pos, &at)?);
        }
        coords.push(out);
    }
    validate::polygon(&coords).map_err(|e| format!("{}{e}", prefix()))?;
    let mut rings = coords.into_iter().map(LineString::new);
    let exterior = rings.next().ok_or("polygon has no rings")?;
    Ok(Polygon::new(exterior, rings.collect()))
}

fn site_from_feature(feature: Feature) -> std::result::Result<Site, String> {
    let props = feature.properties.unwrap_or_default();
    let id = match props.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => return Err("properties.id is empty".into()),
        Some(_) => return Err("properties.id must be a string".into()),
        None => return Err("missing properties.id".into()),
    };
    let name = match props.get("name") {
        None | Some(Value::Null) => id.clone(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("properties.name must be a string".into()),
    };
    let max_accuracy_m = optional_number(&props, "max_accuracy_m")?;
    if matches!(max_accuracy_m, Some(x) if x <= 0.0) {
        return Err("properties.max_accuracy_m must be > 0".into());
    }
    let tolerance_m = optional_number(&props, "tolerance_m")?.unwrap_or(0.0);
    if tolerance_m < 0.0 {
        return Err("properties.tolerance_m must be >= 0".into());
    }
    let agents = match props.get("agents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| a.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("properties.agents must be an array of strings")?,
        Some(_) => return Err("properties.agents must be an array of strings".into()),
    };
    let radius_m = optional_number(&props, "radius_m")?;

    let Some(geometry) = feature.geometry else {
        return Err("missing geometry".into());
    };
    let (fence, reference_point) = match &geometry.value {
        GeometryValue::Point { coordinates } => {
            let c = coord(coordinates, &|| "point".to_string())?;
            let radius_m = match radius_m {
                None => {
                    return Err("missing properties.radius_m (a Point feature is a circle)".into());
                }
                Some(r) if r <= 0.0 => return Err("properties.radius_m must be > 0".into()),
                Some(r) => r,
            };
            // A circle's reference point is its centre (any
            // `reference_point` property is ignored).
            let center = GeoPoint { lat: c.y, lon: c.x };
            (Fence::Circle { center, radius_m }, center)
        }
        GeometryValue::Polygon { coordinates } => {
            no_radius(radius_m)?;
            polygon_fence(&props, vec![polygon(coordinates, None)?])?
        }
        GeometryValue::MultiPolygon { coordinates } => {
            no_radius(radius_m)?;
            if coordinates.is_empty() {
                return Err("MultiPolygon has no polygons".into());
            }
            let parts = coordinates
                .iter()
                .enumerate()
                .map(|(k, p)| polygon(p, Some(k)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            polygon_fence(&props, parts)?
        }
        other => {
            return Err(format!(
                "unsupported geometry type {}; expected Point, Polygon or MultiPolygon",
                other.type_name()
            ));
        }
    };
    Ok(Site {
        id,
        name,
        fence,
        max_accuracy_m,
        tolerance_m,
        agents,
        reference_point,
    })
}

fn no_radius(radius_m: Option<f64>) -> std::result::Result<(), String> {
    match radius_m {
        Some(_) => Err("properties.radius_m applies only to Point features".into()),
        None => Ok(()),
    }
}

fn polygon_fence(
    props: &JsonObject,
    parts: Vec<Polygon<f64>>,
) -> std::result::Result<(Fence, GeoPoint), String> {
    let mp = MultiPolygon(parts);
    let reference = reference_point(props, &mp)?;
    Ok((Fence::Polygons(mp), reference))
}

/// A polygon's reference point: the stored `reference_point` property when
/// present (so export → import keeps it), else a point on its surface.
fn reference_point(
    props: &JsonObject,
    mp: &MultiPolygon<f64>,
) -> std::result::Result<GeoPoint, String> {
    match props.get("reference_point") {
        None | Some(Value::Null) => mp
            .interior_point()
            .map(|p| GeoPoint {
                lat: p.y(),
                lon: p.x(),
            })
            .ok_or_else(|| "polygon has no interior point".to_string()),
        Some(Value::Array(v)) => {
            let nums: Option<Vec<f64>> = v.iter().map(Value::as_f64).collect();
            let c = match nums.as_deref() {
                Some(&[lon, lat]) => coord(&Position::from([lon, lat]), &|| {
                    "properties.reference_point".into()
                })?,
                _ => return Err("properties.reference_point must be [longitude, latitude]".into()),
            };
            let p = GeoPoint { lat: c.y, lon: c.x };
            let inside = Prepared::new(&Fence::Polygons(mp.clone()))
                .measure_point(p)
                .is_some_and(|m| m.contains);
            if !inside {
                return Err("properties.reference_point lies outside the polygon".into());
            }
            Ok(p)
        }
        Some(_) => Err("properties.reference_point must be [longitude, latitude]".into()),
    }
}

fn ring_json(ring: &LineString<f64>) -> Value {
    Value::Array(ring.0.iter().map(|c| json!([c.x, c.y])).collect())
}

fn polygon_json(p: &Polygon<f64>) -> Value {
    Value::Array(
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(ring_json)
            .collect(),
    )
}

/// One site as a GeoJSON Feature. Every property import reads is written,
/// so export → import gives the same site.
pub(crate) fn feature_value(site: &Site) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!(site.id));
    props.insert("name".into(), json!(site.name));
    if let Some(m) = site.max_accuracy_m {
        props.insert("max_accuracy_m".into(), json!(m));
    }
    props.insert("tolerance_m".into(), json!(site.tolerance_m));
    props.insert("agents".into(), json!(site.agents));
    let geometry = match &site.fence {
        Fence::Circle { center, radius_m } => {
            props.insert("radius_m".into(), json!(radius_m));
            json!({"type": "Point", "coordinates": [center.lon, center.lat]})
        }
        Fence::Polygons(mp) => {
            let r = site.reference_point;
            props.insert("reference_point".into(), json!([r.lon, r.lat]));
            match mp.0.as_slice() {
                [single] => json!({"type": "Polygon", "coordinates": polygon_json(single)}),
                parts => json!({
                    "type": "MultiPolygon",
                    "coordinates": parts.iter().map(polygon_json).collect::<Vec<_>>(),
                }),
            }
        }
    };
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

pub(crate) fn collection_string(sites: &[Site]) -> String {
    json!({
        "type": "FeatureCollection",
        "features": sites.iter().map(feature_value).collect::<Vec<_>>(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geofence::{parse_sites, sites_to_geojson, synthetic_sites};

    fn good(i: usize) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"id":"s{i}","radius_m":50}},"geometry":{{"type":"Point","coordinates":[106.8,-6.2]}}}}"#
        )
    }

    /// Two valid features, then `bad` as feature 2.
    fn with_bad(bad: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{},{},{bad}]}}"#,
            good(0),
            good(1)
        )
    }

    fn rejection(text: &str) -> (Option<usize>, String) {
        match parse_sites(text) {
            Err(Error::InvalidGeoJson { feature, reason }) => (feature, reason),
            other => panic!("expected a GeoJSON error, got {other:?}"),
        }
    }

    const SQUARE: &str = "[[[10,50],[10.01,50],[10.01,50.01],[10,50.01],[10,50]]]";

    fn poly_feature(props: &str, coords: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"id":"p",{props}}},"geometry":{{"type":"Polygon","coordinates":{coords}}}}}"#
        )
    }

    #[test]
    fn document_level_errors_name_no_feature() {
        for (text, needle) in [
            ("{not json", "not valid JSON"),
            ("[1, 2]", "FeatureCollection"),
            (
                r#"{"type":"Feature","geometry":null,"properties":{}}"#,
                "found type \"Feature\"",
            ),
            (r#"{"type":"FeatureCollection"}"#, "features"),
        ] {
            let (feature, reason) = rejection(text);
            assert_eq!(feature, None, "{text}");
            assert!(reason.contains(needle), "{text}: {reason}");
        }
    }

    #[test]
    fn each_rejection_names_the_feature_and_reason() {
        let point = |props: &str| {
            format!(
                r#"{{"type":"Feature","properties":{{{props}}},"geometry":{{"type":"Point","coordinates":[106.8,-6.2]}}}}"#
            )
        };
        let cases: Vec<(String, &str)> = vec![
            (point(r#""radius_m":10"#), "missing properties.id"),
            (point(r#""id":7,"radius_m":10"#), "id must be a string"),
            (point(r#""id":"s0","radius_m":10"#), "duplicate id"),
            (point(r#""id":"x","name":3,"radius_m":10"#), "name must be a string"),
            (point(r#""id":"x""#), "missing properties.radius_m"),
            (point(r#""id":"x","radius_m":0"#), "radius_m must be > 0"),
            (point(r#""id":"x","radius_m":"10""#), "radius_m must be a number"),
            (point(r#""id":"x","radius_m":10,"max_accuracy_m":0"#), "max_accuracy_m must be > 0"),
            (point(r#""id":"x","radius_m":10,"tolerance_m":-1"#), "tolerance_m must be >= 0"),
            (point(r#""id":"x","radius_m":10,"agents":"a1""#), "agents must be an array of strings"),
            (point(r#""id":"x","radius_m":10,"agents":["a1",2]"#), "agents must be an array of strings"),
            (
                r#"{"type":"Feature","properties":{"id":"x","radius_m":10},"geometry":{"type":"Point","coordinates":[106.8,-96.2]}}"#.into(),
                "latitude out of range",
            ),
            (
                r#"{"type":"Feature","properties":{"id":"x","radius_m":10},"geometry":{"type":"Point","coordinates":[186.8,-6.2]}}"#.into(),
                "longitude out of range",
            ),
            (r#"{"type":"Feature","properties":{"id":"x","radius_m":10},"geometry":null}"#.into(), "missing geometry"),
            (
                r#"{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]}}"#.into(),
                "unsupported geometry type LineString",
            ),
            (r#"{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Point"}}"#.into(), "not a valid GeoJSON Feature"),
            (poly_feature(r#""radius_m":5"#, SQUARE), "radius_m applies only to Point"),
            (poly_feature(r#""n":1"#, "[[[10,50],[10.01,50],[10,50]]]"), "at least 4"),
            (poly_feature(r#""n":1"#, "[[[10,50],[10.01,50],[10.01,50.01],[10,50.01]]]"), "not closed"),
            (poly_feature(r#""n":1"#, "[[[10,50],[10.01,50.01],[10.01,50],[10,50.01],[10,50]]]"), "self-intersecting"),
            (
                poly_feature(r#""n":1"#, "[[[10,50],[10.01,50],[10.01,50.01],[10,50.01],[10,50]],[[10.005,50.005],[10.02,50.005],[10.02,50.006],[10.005,50.005]]]"),
                "hole 1 crosses exterior ring",
            ),
            (poly_feature(r#""n":1"#, "[[[10,50],[10.01,50],[10.01,95],[10,50.01],[10,50]]]"), "exterior ring, position 2: latitude out of range"),
            (
                r#"{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,6],[6,5],[5,6],[5,5]]]]}}"#.into(),
                "polygon 1, exterior ring is self-intersecting",
            ),
            (poly_feature(r#""reference_point":[11,51]"#, SQUARE), "reference_point lies outside"),
        ];
        for (bad, needle) in cases {
            let (feature, reason) = rejection(&with_bad(&bad));
            assert_eq!(feature, Some(2), "{bad}: {reason}");
            assert!(
                reason.contains(needle),
                "{bad}: {reason:?} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn accepts_defaults_and_vertex_touching_rings() {
        let text = with_bad(&poly_feature(
            r#""name":null"#,
            // Hole touching the exterior at one vertex.
            "[[[10,50],[10.01,50],[10.01,50.01],[10,50.01],[10,50]],[[10,50.005],[10.005,50.002],[10.005,50.008],[10,50.005]]]",
        ));
        let sites = parse_sites(&text).unwrap();
        assert_eq!(sites.len(), 3);
        let s = &sites[2];
        assert_eq!(
            (s.name.as_str(), s.tolerance_m, s.max_accuracy_m),
            ("p", 0.0, None)
        );
        assert!(s.agents.is_empty());
        // The reference point is on the surface.
        let m = s.measure(s.reference_point);
        assert!(m.contains);
        let c = &sites[0];
        assert_eq!(
            c.reference_point,
            GeoPoint {
                lat: -6.2,
                lon: 106.8
            }
        );
        assert_eq!(
            c.fence,
            Fence::Circle {
                center: c.reference_point,
                radius_m: 50.0
            }
        );
    }

    #[test]
    fn export_import_round_trips_exactly() {
        let mut sites = synthetic_sites(300, 42);
        sites[0].max_accuracy_m = Some(35.5);
        sites[0].tolerance_m = 2.25;
        sites[0].agents = vec!["agent-1".into(), "agent-2".into()];
        sites[1].name = "Kantor \"Pusat\" — Jakarta".into();
        // Full-precision coordinates (these need serde_json's
        // `float_roundtrip` to come back bit for bit).
        sites[2].fence = Fence::Circle {
            center: GeoPoint {
                lat: 56.105647314462004,
                lon: 127.54680923923047,
            },
            radius_m: 94.75006784609405,
        };
        sites[2].reference_point = GeoPoint {
            lat: 56.105647314462004,
            lon: 127.54680923923047,
        };
        // A seam-cut multipolygon with a hole in one part.
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"fiji","agents":["a"],"max_accuracy_m":50,"tolerance_m":1},"geometry":{"type":"MultiPolygon","coordinates":[
            [[[179.9,-17.1],[180,-17.1],[180,-16.9],[179.9,-16.9],[179.9,-17.1]],[[179.95,-17.0],[179.96,-17.0],[179.96,-16.99],[179.95,-17.0]]],
            [[[-180,-17.1],[-179.9,-17.1],[-179.9,-16.9],[-180,-16.9],[-180,-17.1]]]]}}]}"#;
        sites.extend(parse_sites(text).unwrap());
        let exported = sites_to_geojson(&sites);
        let back = parse_sites(&exported).unwrap();
        assert_eq!(back.len(), sites.len());
        for (b, s) in back.iter().zip(&sites) {
            assert!(b == s, "{} changed on the way: {b:?} vs {s:?}", s.id);
        }
        assert_eq!(sites_to_geojson(&back), exported);
        for s in &sites {
            assert_eq!(&Site::from_feature_json(&s.to_feature_json()).unwrap(), s);
        }
    }

    #[test]
    fn from_feature_json_rejects_without_index() {
        match Site::from_feature_json(
            r#"{"type":"Feature","properties":{"id":"x"},"geometry":null}"#,
        ) {
            Err(Error::InvalidGeoJson {
                feature: None,
                reason,
            }) => assert!(reason.contains("missing geometry")),
            other => panic!("{other:?}"),
        }
    }
}
