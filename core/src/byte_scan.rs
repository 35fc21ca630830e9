//! Looking for coordinates in a store's files, byte by byte (PRODUCT.md
//! §4): every usual encoding of each value, in the database, its WAL and
//! its shared-memory file. Test support (the privacy tests of the core and
//! the server), built with the `synthetic` feature only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every way a coordinate is commonly written down.
pub fn encodings(value: f64) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for text in [
        format!("{value}"),
        format!("{value:.4}"),
        format!("{value:.5}"),
        format!("{value:.6}"),
        format!("{value:.7}"),
    ] {
        out.push((format!("text {text}"), text.into_bytes()));
    }
    out.push(("f64 le".into(), value.to_le_bytes().to_vec()));
    out.push(("f64 be".into(), value.to_be_bytes().to_vec()));
    out.push(("f32 le".into(), (value as f32).to_le_bytes().to_vec()));
    out.push(("f32 be".into(), (value as f32).to_be_bytes().to_vec()));
    for scale in [1e5, 1e6, 1e7] {
        let scaled = (value * scale).round();
        out.push((
            format!("i32 le x{scale}"),
            (scaled as i32).to_le_bytes().to_vec(),
        ));
        out.push((
            format!("i32 be x{scale}"),
            (scaled as i32).to_be_bytes().to_vec(),
        ));
        out.push((
            format!("i64 le x{scale}"),
            (scaled as i64).to_le_bytes().to_vec(),
        ));
        out.push((
            format!("i64 be x{scale}"),
            (scaled as i64).to_be_bytes().to_vec(),
        ));
    }
    out
}

pub fn store_files(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// Which encodings of which coordinates appear in which file. One pass per
/// file: every needle is at least 4 bytes, so candidate positions are found
/// through a map keyed by the first 4 bytes.
pub fn find_coordinates(db: &Path, coords: &[(f64, f64)]) -> Vec<String> {
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for &(lat, lon) in coords {
        for value in [lat, lon] {
            for (label, bytes) in encodings(value) {
                needles.push((format!("{value} as {label}"), bytes));
            }
        }
    }
    let mut by_prefix: HashMap<[u8; 4], Vec<usize>> = HashMap::new();
    for (i, (_, bytes)) in needles.iter().enumerate() {
        let prefix: [u8; 4] = bytes[..4].try_into().expect("needles are at least 4 bytes");
        by_prefix.entry(prefix).or_default().push(i);
    }
    let mut hits = Vec::new();
    for file in store_files(db) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let mut found = vec![false; needles.len()];
        for pos in 0..bytes.len().saturating_sub(3) {
            let prefix: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
            if let Some(candidates) = by_prefix.get(&prefix) {
                for &i in candidates {
                    if bytes[pos..].starts_with(&needles[i].1) {
                        found[i] = true;
                    }
                }
            }
        }
        for (i, hit) in found.into_iter().enumerate() {
            if hit {
                hits.push(format!("{} in {}", needles[i].0, file.display()));
            }
        }
    }
    hits
}
