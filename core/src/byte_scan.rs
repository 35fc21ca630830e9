//! Looking for personal values in a store's files, byte by byte (PRODUCT.md
//! §4, §12.5): every usual encoding of each value, in an SQLite database,
//! its WAL and its shared-memory file, or in PostgreSQL's data directory.
//! Test support (the privacy tests of the core, the server and the CLI),
//! built with the `synthetic` feature only.

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

/// Which encodings of which coordinates appear in which file of the SQLite
/// store `db`.
pub fn find_coordinates(db: &Path, coords: &[(f64, f64)]) -> Vec<String> {
    find_in(&store_files(db), &coordinate_needles(coords))
}

/// Every encoding of every coordinate, labelled.
pub fn coordinate_needles(coords: &[(f64, f64)]) -> Vec<(String, Vec<u8>)> {
    let mut needles = Vec::new();
    for &(lat, lon) in coords {
        for value in [lat, lon] {
            for (label, bytes) in encodings(value) {
                needles.push((format!("{value} as {label}"), bytes));
            }
        }
    }
    needles
}

/// Every usual encoding of a text: UTF-8, UTF-16 little- and big-endian.
pub fn text_encodings(text: &str) -> Vec<(String, Vec<u8>)> {
    let utf16: Vec<u16> = text.encode_utf16().collect();
    vec![
        ("UTF-8".into(), text.as_bytes().to_vec()),
        (
            "UTF-16 le".into(),
            utf16.iter().flat_map(|u| u.to_le_bytes()).collect(),
        ),
        (
            "UTF-16 be".into(),
            utf16.iter().flat_map(|u| u.to_be_bytes()).collect(),
        ),
    ]
}

/// Every regular file under `dir`, recursively (PostgreSQL's `base/` and
/// `pg_wal/`).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Which of the labelled `needles` appear in which of `files` ("label in
/// file"), all needles in one pass over each file.
pub fn find_in(files: &[PathBuf], needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let Ok(matcher) = aho_corasick::AhoCorasick::new(needles.iter().map(|(_, b)| b)) else {
        return vec!["the needles could not be compiled".into()];
    };
    let mut hits = Vec::new();
    for file in files {
        // A file may vanish while PostgreSQL runs (a recycled WAL segment).
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let mut found = vec![false; needles.len()];
        for m in matcher.find_overlapping_iter(&bytes) {
            found[m.pattern().as_usize()] = true;
        }
        for (i, hit) in found.into_iter().enumerate() {
            if hit {
                hits.push(format!("{} in {}", needles[i].0, file.display()));
            }
        }
    }
    hits
}
