//! Bad input exits 2 with a message on stderr and stores nothing
//! (PRODUCT.md §2, §3 step 1, §10).

mod common;

use common::*;
use serde_json::Value;

/// Runs `args`, expects exit 2 with a message on stderr and nothing on
/// stdout, and returns stderr.
#[track_caller]
fn refused(env: &Env, args: &[&str]) -> String {
    let run = env.run(args);
    assert_eq!(
        run.code, 2,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    assert!(!run.stderr.trim().is_empty(), "{args:?}: no message");
    run.stderr
}

#[test]
fn malformed_fixes_are_refused_and_nothing_is_stored() {
    let env = Env::with_sites_and_consent(&["a1"]);
    env.check("check-in", "a1", HQ, "10", &[]);
    let before = env.snapshot();
    let (lat, lon) = HQ;
    let cases: &[(&[&str], &str)] = &[
        (
            &["--lat", "91", "--lon", lon, "--accuracy", "10"],
            "latitude",
        ),
        (
            &["--lat", "-90.5", "--lon", lon, "--accuracy", "10"],
            "latitude",
        ),
        (
            &["--lat", lat, "--lon", "-181", "--accuracy", "10"],
            "longitude",
        ),
        (
            &["--lat", lat, "--lon=180.01", "--accuracy", "10"],
            "longitude",
        ),
        (
            &["--lat", "NaN", "--lon", lon, "--accuracy", "10"],
            "latitude",
        ),
        (
            &["--lat", lat, "--lon", "inf", "--accuracy", "10"],
            "longitude",
        ),
        (
            &["--lat", lat, "--lon=-inf", "--accuracy", "10"],
            "longitude",
        ),
        (&["--lat", lat, "--lon", lon, "--accuracy", "0"], "accuracy"),
        (
            &["--lat", lat, "--lon", lon, "--accuracy", "-5"],
            "accuracy",
        ),
        (
            &["--lat", lat, "--lon", lon, "--accuracy", "NaN"],
            "accuracy",
        ),
        (
            &[
                "--lat",
                lat,
                "--lon",
                lon,
                "--accuracy",
                "10",
                "--at",
                "yesterday",
            ],
            "at",
        ),
        (
            &[
                "--lat",
                lat,
                "--lon",
                lon,
                "--accuracy",
                "10",
                "--at",
                "2026-13-01T00:00:00Z",
            ],
            "at",
        ),
        // Not a number at all: a usage error from the parser.
        (&["--lat", "north", "--lon", lon, "--accuracy", "10"], "lat"),
        (&["--lon", lon, "--accuracy", "10"], "lat"),
    ];
    for (fix, field) in cases {
        for kind in ["check-in", "check-out"] {
            let mut args = vec![kind, "--agent", "a1"];
            args.extend_from_slice(fix);
            let stderr = refused(&env, &args);
            assert!(
                stderr.contains(field),
                "{args:?} should name {field}: {stderr}"
            );
            // A coordinate never appears in a message.
            assert!(!stderr.contains("106.8229"), "{stderr}");
        }
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_unparseable_clock_is_refused_before_the_store_is_touched() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let before = env.snapshot();
    let (lat, lon) = HQ;
    for now in ["tomorrow", "2026-01-05 02:00", ""] {
        let run = fieldcheck(
            env.dir.path(),
            &[
                "--db",
                env.db(),
                "--now",
                now,
                "check-in",
                "--agent",
                "a1",
                "--lat",
                lat,
                "--lon",
                lon,
                "--accuracy",
                "10",
            ],
        );
        assert_eq!(run.code, 2, "{now:?}: {}", run.stderr);
        assert!(run.stderr.contains("now"), "{}", run.stderr);
    }
    // Nor is a store created where none was.
    let fresh = env.dir.path().join("never.db");
    let run = fieldcheck(
        env.dir.path(),
        &["--db", fresh.to_str().unwrap(), "--now", "soon", "events"],
    );
    assert_eq!(run.code, 2);
    assert!(!fresh.exists());
    assert_eq!(env.snapshot(), before);
}

#[test]
fn errors_are_json_on_stderr_with_json() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let (lat, lon) = HQ;
    let run = env.run(&[
        "--json",
        "check-in",
        "--agent",
        "a1",
        "--lat",
        lat,
        "--lon",
        lon,
        "--accuracy",
        "0",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let error: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "invalid_input");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("accuracy")
    );
}

/// A valid first feature (a new site) followed by `bad`, so a failure
/// names feature 1 and proves the first was not stored either.
fn collection(bad: &str) -> String {
    format!(
        r#"{{"type": "FeatureCollection", "features": [
          {{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [4.873, 52.338]}},
            "properties": {{"id": "new-site", "name": "Amsterdam", "radius_m": 80}}}},
          {bad}
        ]}}"#
    )
}

fn polygon(id: &str, ring: &str) -> String {
    format!(
        r#"{{"type": "Feature", "geometry": {{"type": "Polygon", "coordinates": [{ring}]}},
            "properties": {{"id": "{id}", "name": "Broken"}}}}"#
    )
}

fn point(coordinates: &str, properties: &str) -> String {
    format!(
        r#"{{"type": "Feature", "geometry": {{"type": "Point", "coordinates": {coordinates}}},
            "properties": {properties}}}"#
    )
}

#[test]
fn broken_geojson_names_the_feature_and_stores_nothing() {
    let env = Env::with_sites_and_consent(&[]);
    let before = env.snapshot();
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong type of radius",
            collection(&point(
                "[4.9, 52.3]",
                r#"{"id": "x", "name": "X", "radius_m": "big"}"#,
            )),
        ),
        (
            "wrong type of id",
            collection(&point(
                "[4.9, 52.3]",
                r#"{"id": 42, "name": "X", "radius_m": 50}"#,
            )),
        ),
        (
            "wrong type of coordinates",
            collection(&point(
                r#"["4.9", "52.3"]"#,
                r#"{"id": "x", "name": "X", "radius_m": 50}"#,
            )),
        ),
        (
            "unclosed ring",
            collection(&polygon(
                "x",
                "[[4.90, 52.30], [4.91, 52.30], [4.91, 52.31], [4.90, 52.31]]",
            )),
        ),
        (
            "self-intersecting ring",
            collection(&polygon(
                "x",
                "[[4.90, 52.30], [4.91, 52.31], [4.91, 52.30], [4.90, 52.31], [4.90, 52.30]]",
            )),
        ),
        (
            "longitude out of range",
            collection(&point(
                "[200.0, 52.3]",
                r#"{"id": "x", "name": "X", "radius_m": 50}"#,
            )),
        ),
        (
            "latitude out of range",
            collection(&polygon(
                "x",
                "[[4.90, 91.0], [4.91, 91.0], [4.91, 89.0], [4.90, 91.0]]",
            )),
        ),
        (
            "duplicate id",
            collection(&point(
                "[4.9, 52.3]",
                r#"{"id": "new-site", "name": "Again", "radius_m": 50}"#,
            )),
        ),
        (
            "missing radius",
            collection(&point("[4.9, 52.3]", r#"{"id": "x", "name": "X"}"#)),
        ),
        (
            "zero radius",
            collection(&point(
                "[4.9, 52.3]",
                r#"{"id": "x", "name": "X", "radius_m": 0}"#,
            )),
        ),
        (
            "missing id",
            collection(&point("[4.9, 52.3]", r#"{"name": "X", "radius_m": 50}"#)),
        ),
    ];
    for (i, (what, text)) in cases.iter().enumerate() {
        let file = env.write(&format!("bad-{i}.geojson"), text);
        let stderr = refused(&env, &["site", "import", file.to_str().unwrap()]);
        assert!(stderr.contains("feature 1"), "{what}: {stderr}");
    }
    // Not even JSON: no feature to name, still refused.
    let file = env.write(
        "bad.geojson",
        r#"{"type": "FeatureCollection", "features": ["#,
    );
    refused(&env, &["site", "import", file.to_str().unwrap()]);
    let file = env.write("missing.geojson", "");
    refused(&env, &["site", "import", file.to_str().unwrap()]);
    refused(&env, &["site", "import", "/nonexistent/sites.geojson"]);

    assert_eq!(env.snapshot(), before);
    let ids: Vec<String> = env
        .run(&["--json", "site", "list"])
        .ok()
        .json_lines()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["branch", "hq"]);

    // The fixture itself is fine: the failures above came from the broken
    // feature, not from feature 0.
    let good = env.write(
        "good.geojson",
        &collection(&point(
            "[4.9, 52.3]",
            r#"{"id": "x", "name": "X", "radius_m": 50}"#,
        )),
    );
    env.run(&["site", "import", good.to_str().unwrap()]).ok();
    assert_eq!(
        env.run(&["--json", "site", "list"]).ok().json_lines().len(),
        4
    );
}

/// A PostgreSQL URL as `--db` of a phone's verb is refused with exit 2,
/// named without its password, and creates nothing where a file would have
/// gone.
#[test]
fn a_postgres_url_is_refused_by_phone_verbs_without_showing_its_password() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = "postgres://fc:hunter2@db.example:5432/fc?sslmode=verify-full";
    for args in [
        &["--db", url, "sync", "pull"][..],
        &[
            "--db",
            url,
            "consent",
            "grant",
            "--agent",
            "a1",
            "--permission",
            "location",
        ],
        &[
            "--db",
            url,
            "check-in",
            "--agent",
            "a1",
            "--lat",
            "-6.2",
            "--lon",
            "106.8",
            "--accuracy",
            "10",
        ],
    ] {
        let run = fieldcheck(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("phone's store"), "{}", run.stderr);
        assert!(
            run.stderr.contains("postgres://fc:***@db.example:5432/fc"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created"
    );
}
