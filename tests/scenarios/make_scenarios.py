#!/usr/bin/env python3
"""Writes the shared scenarios (tests/scenarios/*.json).

The expected verdicts below are set by hand from PRODUCT.md §3. For every
fix whose class depends on geometry, `geo_check` recomputes the distance to
the fence independently (geographiclib geodesics; shapely for polygon
membership, densifying lon/lat-straight edges) and refuses to write the file
unless the expectation holds with a margin of at least 10 % of the accuracy
radius, so no expectation rests on a rounding accident.

    pip install geographiclib shapely && python3 tests/scenarios/make_scenarios.py
"""

import json
import math
import pathlib

from geographiclib.geodesic import Geodesic
from shapely.geometry import Point, shape

HERE = pathlib.Path(__file__).parent
WGS84 = Geodesic.WGS84


def circle(site_id, lon, lat, radius_m, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"id": site_id, "name": site_id.replace("-", " ").title(), "radius_m": radius_m, **props},
    }


def polygon(site_id, rings, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": rings},
        "properties": {"id": site_id, "name": site_id.replace("-", " ").title(), **props},
    }


def multipolygon(site_id, polys, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": polys},
        "properties": {"id": site_id, "name": site_id.replace("-", " ").title(), **props},
    }


def rect(w, s, e, n):
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def dist(lat1, lon1, lat2, lon2):
    return WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"]


def boundary_distance(feature, lat, lon):
    """(contains, metres to the boundary) by brute force: every edge is
    densified as a lon/lat-straight line and the geodesic distance to each
    point taken; edges lying on the antimeridian seam of a cut multipolygon
    are not boundary."""
    geom = feature["geometry"]
    if geom["type"] == "Point":
        clon, clat = geom["coordinates"]
        d = dist(lat, lon, clat, clon)
        r = feature["properties"]["radius_m"]
        return d <= r, abs(d - r)
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    contains = shape(geom).contains(Point(lon, lat))
    lons = [p[0] for poly in polys for ring in poly for p in ring]
    seam_cut = min(lons) == -180 and max(lons) == 180
    best = math.inf
    for poly in polys:
        for ring in poly:
            for (lon1, lat1), (lon2, lat2) in zip(ring, ring[1:]):
                if seam_cut and abs(lon1) == 180 and lon1 == lon2:
                    continue
                for i in range(401):
                    t = i / 400
                    best = min(best, dist(lat, lon, lat1 + t * (lat2 - lat1), lon1 + t * (lon2 - lon1)))
    return contains, best


def geo_check(name, feature, lat, lon, acc, expected, tolerance=0.0):
    contains, b = boundary_distance(feature, lat, lon)
    margin = 0.1 * acc
    if expected == "inside":
        ok = contains and b + tolerance >= acc + margin
    elif expected == "outside":
        ok = (not contains) and b > acc + margin
    else:
        ok = (contains and b + tolerance < acc - margin) or ((not contains) and b <= acc - margin)
    if not ok:
        raise SystemExit(f"{name}: fix {lat},{lon} acc {acc} is not clearly {expected} (contains={contains}, b={b:.1f})")
    return b


def fix(at, agent, kind, lat, lon, acc, expect, captured_at=None, is_mock=False, why=""):
    step = {"at": at, "action": "fix", "agent": agent, "kind": kind, "lat": lat, "lon": lon, "accuracy_m": acc}
    if captured_at:
        step["captured_at"] = captured_at
    if is_mock:
        step["is_mock"] = True
    step["expect"] = expect
    if why:
        step["why"] = why
    return step


def verdict(accepted, position, site_id, reasons, retained=False):
    return {"accepted": accepted, "position": position, "site_id": site_id, "reasons": reasons, "location_retained": retained}


def consent(at, agent, granted=True, permission="location"):
    return {"at": at, "action": "consent", "agent": agent, "permission": permission, "granted": granted}


REJECT = lambda reason: verdict(False, "unknown", None, [reason])  # noqa: E731

JKT = circle("jkt-hq", 106.8227, -6.1944, 150)
SBY = polygon("sby-branch", [rect(112.7370, -7.2580, 112.7400, -7.2550)])
# A campus with a courtyard that is not part of the site (hole ~220 m wide).
CAMPUS = polygon(
    "ubud-campus",
    [rect(115.2600, -8.5100, 115.2700, -8.5000), rect(115.2640, -8.5060, 115.2660, -8.5040)],
)
# Taveuni, Fiji: a circle astride the antimeridian and a site cut at ±180°.
TAVEUNI = circle("taveuni-office", 179.9998, -16.8000, 100)
SEAM = multipolygon(
    "wairiki-depot",
    [[rect(179.9900, -17.0100, 180.0, -16.9900)], [rect(-180.0, -17.0100, -179.9900, -16.9900)]],
)
TROMSO = polygon("tromso-office", [rect(18.9500, 69.6490, 18.9600, 69.6520)])
AMS = circle("ams-office", 4.8897, 52.3740, 120)

S = {}


def scenario(name, description, sites, steps):
    S[name] = {"name": name, "description": description, "sites": sites, "steps": steps}


D = "2026-03-02T"  # a Monday; all times UTC

scenario(
    "inside_circle_check_in_and_out",
    "A consented agent checks in and out 33 m from the centre of a 150 m circle with a 10 m fix.",
    fc(JKT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1941, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), why="b = 150 - 33 = 117 >= 10"),
        fix(D + "09:00:00Z", "a1", "check_out", -6.1944, 106.8230, 10, verdict(True, "inside", "jkt-hq", [])),
    ],
)
geo_check("inside", JKT, -6.1941, 106.8227, 10, "inside")
geo_check("inside", JKT, -6.1944, 106.8230, 10, "inside")

scenario(
    "consent_withdrawn_mid_day",
    "No consent, then granted, then withdrawn at noon: only the middle check-in is judged.",
    fc(JKT),
    [
        fix(D + "00:50:00Z", "a1", "check_in", -6.1941, 106.8227, 10, REJECT("consent_required"), why="no consent yet"),
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1941, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
        consent(D + "05:00:00Z", "a1", granted=False),
        fix(D + "09:00:00Z", "a1", "check_out", -6.1941, 106.8227, 10, REJECT("consent_required"), why="withdrawn at noon local time"),
        consent(D + "09:05:00Z", "a1"),
        fix(D + "09:06:00Z", "a1", "check_out", -6.1941, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), why="granted again; the visit is still open"),
    ],
)

scenario(
    "stale_and_future_fixes",
    "Fix age limit 120 s and clock skew 30 s, both inclusive.",
    fc(JKT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1941, 106.8227, 10, REJECT("stale_fix"), captured_at=D + "00:57:59Z", why="121 s old"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1941, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), captured_at=D + "00:58:00Z", why="exactly 120 s old"),
        fix(D + "09:00:00Z", "a1", "check_out", -6.1941, 106.8227, 10, REJECT("future_fix"), captured_at=D + "09:00:31Z", why="31 s ahead"),
        fix(D + "09:00:00Z", "a1", "check_out", -6.1941, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), captured_at=D + "09:00:30Z", why="exactly 30 s ahead"),
    ],
)

scenario(
    "mock_location",
    "A mock fix is rejected even at the centre of the site; a stale mock fix is stale first.",
    fc(JKT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 5, REJECT("mock_location"), is_mock=True),
        fix(D + "01:01:00Z", "a1", "check_in", -6.1944, 106.8227, 5, REJECT("stale_fix"), captured_at=D + "00:50:00Z", is_mock=True, why="step 3 before step 4"),
        fix(D + "01:02:00Z", "a1", "check_in", -6.1944, 106.8227, 500, REJECT("mock_location"), is_mock=True, why="step 4 before step 5"),
    ],
)

VAULT = circle("bank-vault", 106.8500, -6.2000, 300, max_accuracy_m=20)
scenario(
    "low_accuracy_rules_and_site_cap",
    "Above the rules' 100 m the fix is not placed; a site's own cap of 20 m makes an otherwise inside fix low_accuracy at that site.",
    fc(JKT, VAULT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 100.5, REJECT("low_accuracy"), why="100.5 > 100"),
        fix(D + "01:01:00Z", "a1", "check_in", -6.2000, 106.8500, 30, verdict(False, "uncertain", "bank-vault", ["low_accuracy"]), why="b = 300 >= 30 but the vault accepts at most 20 m"),
        fix(D + "01:02:00Z", "a1", "check_in", -6.2000, 106.8500, 15, verdict(True, "inside", "bank-vault", [])),
    ],
)
geo_check("vault", VAULT, -6.2000, 106.8500, 30, "inside")

scenario(
    "no_sites",
    "A store without sites can place nobody.",
    fc(),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 10, REJECT("no_sites")),
    ],
)

scenario(
    "outside_and_uncertain_at_a_circle",
    "The accuracy circle decides: far outside, straddling the fence from outside, and straddling it from inside.",
    fc(AMS),
    [
        consent(D + "06:55:00Z", "nl-1"),
        fix(D + "07:00:00Z", "nl-1", "check_in", 52.3770, 4.8897, 20, verdict(False, "outside", "ams-office", ["outside_geofence"]), why="334 m from the centre: b = 214 > 20"),
        fix(D + "07:01:00Z", "nl-1", "check_in", 52.3751, 4.8897, 20, verdict(False, "uncertain", "ams-office", ["uncertain_position"]), why="122 m: just outside, b = 2 <= 20"),
        fix(D + "07:02:00Z", "nl-1", "check_in", 52.3750, 4.8897, 20, verdict(False, "uncertain", "ams-office", ["uncertain_position"]), why="111 m: inside, b = 9 < 20"),
        fix(D + "07:03:00Z", "nl-1", "check_in", 52.3750, 4.8897, 5, verdict(True, "inside", "ams-office", []), why="same place, 5 m fix: b = 9 >= 5"),
    ],
)
geo_check("ams-out", AMS, 52.3770, 4.8897, 20, "outside")
geo_check("ams-unc1", AMS, 52.3751, 4.8897, 20, "uncertain")
geo_check("ams-unc2", AMS, 52.3750, 4.8897, 20, "uncertain")
geo_check("ams-in", AMS, 52.3750, 4.8897, 5, "inside")

scenario(
    "polygon_with_hole",
    "A campus whose courtyard is not part of the site: the courtyard is outside, near its edge uncertain, the grounds inside.",
    fc(CAMPUS),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -8.5050, 115.2650, 10, verdict(False, "outside", "ubud-campus", ["outside_geofence"]), why="centre of the hole, ~110 m from its edge"),
        fix(D + "01:01:00Z", "a1", "check_in", -8.5050, 115.26595, 10, verdict(False, "uncertain", "ubud-campus", ["uncertain_position"]), why="in the hole, 5.5 m from its edge"),
        fix(D + "01:02:00Z", "a1", "check_in", -8.5080, 115.2620, 10, verdict(True, "inside", "ubud-campus", []), why="on the grounds, >= 200 m from every edge"),
    ],
)
geo_check("hole", CAMPUS, -8.5050, 115.2650, 10, "outside")
geo_check("hole-edge", CAMPUS, -8.5050, 115.26595, 10, "uncertain")
geo_check("grounds", CAMPUS, -8.5080, 115.2620, 10, "inside")

scenario(
    "antimeridian",
    "A circle centred east of 180° takes a fix west of it 43 m away; a depot cut at ±180° (RFC 7946 §3.1.9) has no boundary along the cut.",
    fc(TAVEUNI, SEAM),
    [
        consent(D + "00:55:00Z", "fj-1"),
        fix(D + "01:00:00Z", "fj-1", "check_in", -16.8000, -179.9998, 10, verdict(True, "inside", "taveuni-office", []), why="0.0004 deg of longitude = 43 m: b = 57"),
        fix(D + "02:00:00Z", "fj-1", "check_out", -16.8000, -179.9990, 10, verdict(False, "outside", "taveuni-office", ["outside_geofence"]), why="128 m from the centre, across the antimeridian"),
        fix(D + "06:00:00Z", "fj-1", "check_out", -17.0000, -179.9995, 60, verdict(True, "inside", "wairiki-depot", []), why="53 m from the cut, ~1 km from any real edge"),
    ],
)
geo_check("taveuni-in", TAVEUNI, -16.8000, -179.9998, 10, "inside")
geo_check("taveuni-out", TAVEUNI, -16.8000, -179.9990, 10, "outside")
geo_check("seam", SEAM, -17.0000, -179.9995, 60, "inside")

scenario(
    "impossible_travel",
    "Jakarta to Surabaya (~660 km) in 10 minutes is impossible; in 8 hours it is not.",
    fc(JKT, SBY),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
        fix(D + "01:10:00Z", "a1", "check_out", -7.2565, 112.7385, 10, verdict(False, "inside", "sby-branch", ["impossible_travel"]), why="~3960 km/h"),
        fix(D + "01:20:00Z", "a1", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), why="same site as the previous accepted event"),
        fix(D + "09:20:00Z", "a1", "check_in", -7.2565, 112.7385, 10, verdict(True, "inside", "sby-branch", []), why="~83 km/h"),
    ],
)
assert dist(-6.1944, 106.8227, -7.2565, 112.7385) / 600 * 3.6 > 250
assert dist(-6.1944, 106.8227, -7.2565, 112.7385) / 28800 * 3.6 < 250
geo_check("sby", SBY, -7.2565, 112.7385, 10, "inside")

scenario(
    "sequence_warnings",
    "Out-of-order check-ins and check-outs are accepted with the warning `sequence`.",
    fc(JKT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", ["sequence"]), why="nothing open"),
        fix(D + "01:01:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
        fix(D + "01:02:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", ["sequence"]), why="a visit is open"),
        fix(D + "09:00:00Z", "a1", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
    ],
)

scenario(
    "audit_flag_retains_coordinates",
    "Only fixes covered by an active flag keep their coordinates, rejected (spoofed) ones included; unconsented fixes never.",
    fc(JKT),
    [
        consent(D + "00:50:00Z", "a1"),
        consent(D + "00:50:00Z", "a2"),
        fix(D + "00:55:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
        {"at": D + "01:00:00Z", "action": "flag", "scope": {"agent": "a1"}, "purpose": "security", "reason": "mock location reported by a colleague", "until": "2026-03-09T01:00:00Z"},
        fix(D + "01:05:00Z", "a1", "check_in", -6.1944, 106.8227, 5, verdict(False, "unknown", None, ["mock_location"], retained=True), is_mock=True),
        fix(D + "01:06:00Z", "a1", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [], retained=True)),
        fix(D + "01:07:00Z", "a2", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), why="a2 is not covered"),
        {"at": D + "01:10:00Z", "action": "flag", "scope": "everyone", "purpose": "audit", "reason": "quarterly attendance audit", "until": "2026-03-03T01:10:00Z"},
        fix(D + "01:11:00Z", "a2", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [], retained=True)),
        fix(D + "01:12:00Z", "a3", "check_in", -6.1944, 106.8227, 10, REJECT("consent_required"), why="never looked at, so never kept"),
        fix("2026-03-03T01:10:00Z", "a2", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", []), why="the everyone flag has just expired"),
    ],
)

scenario(
    "restricted_agent",
    "A restricted agent is not processed at all, consent or not, until the restriction is lifted.",
    fc(JKT),
    [
        consent(D + "00:50:00Z", "a1"),
        {"at": D + "00:55:00Z", "action": "restrict", "subject": "a1", "restricted": True},
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 10, REJECT("restricted")),
        fix(D + "01:01:00Z", "a2", "check_in", -6.1944, 106.8227, 10, REJECT("consent_required"), why="a2 is not restricted, but has no consent"),
        {"at": D + "01:05:00Z", "action": "restrict", "subject": "a1", "restricted": False},
        fix(D + "01:06:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
    ],
)

scenario(
    "malformed_fixes_are_refused",
    "Malformed fixes are input errors and store nothing; the next good fix is judged as if they never happened.",
    fc(JKT),
    [
        consent(D + "00:55:00Z", "a1"),
        fix(D + "01:00:00Z", "a1", "check_in", 91.0, 106.8227, 10, {"error": "invalid_input"}),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 180.5, 10, {"error": "invalid_input"}),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 0, {"error": "invalid_input"}),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, -5, {"error": "invalid_input"}),
        fix(D + "01:01:00Z", "a1", "check_out", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", ["sequence"]), why="no check-in was recorded"),
    ],
)

MINE = circle("client-site", 106.8300, -6.2100, 100, agents=["a1"])
scenario(
    "assigned_sites_only",
    "An agent assigned to a client site is judged against it alone; an unassigned agent may use any site.",
    fc(JKT, MINE),
    [
        consent(D + "00:55:00Z", "a1"),
        consent(D + "00:55:00Z", "a2"),
        fix(D + "01:00:00Z", "a1", "check_in", -6.1944, 106.8227, 10, verdict(False, "outside", "client-site", ["outside_geofence"]), why="at HQ, but HQ is not a1's site"),
        fix(D + "01:01:00Z", "a2", "check_in", -6.1944, 106.8227, 10, verdict(True, "inside", "jkt-hq", [])),
        fix(D + "02:00:00Z", "a1", "check_in", -6.2100, 106.8300, 10, verdict(True, "inside", "client-site", [])),
    ],
)

scenario(
    "high_latitude_polygon",
    "At 69.65° N a degree of longitude is 38.7 km: a fix 0.001° inside the east edge is 39 m from it, not 111 m.",
    fc(TROMSO),
    [
        consent(D + "06:55:00Z", "no-1"),
        fix(D + "07:00:00Z", "no-1", "check_in", 69.6505, 18.9590, 30, verdict(True, "inside", "tromso-office", []), why="b = 38.7 >= 30"),
        fix(D + "07:01:00Z", "no-1", "check_in", 69.6505, 18.9590, 45, verdict(False, "uncertain", "tromso-office", ["uncertain_position"]), why="b = 38.7 < 45"),
        fix(D + "07:02:00Z", "no-1", "check_in", 69.6505, 18.9610, 30, verdict(False, "outside", "tromso-office", ["outside_geofence"]), why="38.7 m east of the edge"),
    ],
)
geo_check("tromso-in", TROMSO, 69.6505, 18.9590, 30, "inside")
geo_check("tromso-unc", TROMSO, 69.6505, 18.9590, 45, "uncertain")
geo_check("tromso-out", TROMSO, 69.6505, 18.9610, 30, "outside")

for name, body in S.items():
    (HERE / f"{name}.json").write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {len(S)} scenarios")
