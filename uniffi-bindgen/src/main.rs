//! `cargo run -p fieldcheck-uniffi-bindgen -- generate --library <cdylib> --language kotlin|swift --out-dir <dir>`
//! Built from this workspace so the generator always matches the runtime.
fn main() {
    uniffi::uniffi_bindgen_main()
}
