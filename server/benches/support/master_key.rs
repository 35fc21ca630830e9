//! The benches' master key (PostgreSQL stores always seal; a bench may
//! seal an SQLite store too): one new key file per run, in the temporary
//! directory, given to the servers the bench starts.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fieldcheck_core::seal::MasterKey;

pub fn master_key_file() -> &'static Path {
    static KEY: OnceLock<PathBuf> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("fc-bench-{}.key", std::process::id()));
        let _ = std::fs::remove_file(&path);
        MasterKey::create_file(&path).unwrap();
        path
    })
}

pub fn master_key() -> MasterKey {
    MasterKey::read(master_key_file()).unwrap()
}
