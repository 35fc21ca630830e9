//! A `cargo` command run from inside a test, without the variables
//! `cargo test` set to describe the test's own package.

use std::process::Command;

/// `cargo` for use inside a test. `cargo test` describes this binary's
/// package in `CARGO_PKG_*`, `CARGO_MANIFEST_*` and the like; ring's build
/// script reads them, so passing them on would rebuild ring and everything
/// above it here, and again in the next plain `cargo` run.
pub fn inner_cargo() -> Command {
    let mut cargo = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let Some(text) = name.to_str() else { continue };
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_TARGET_TMPDIR",
        ]
        .iter()
        .any(|prefix| text.starts_with(prefix))
            || text == "CARGO_PRIMARY_PACKAGE"
        {
            cargo.env_remove(&name);
        }
    }
    cargo
}
