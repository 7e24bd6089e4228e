//! Tells the crate which memory checker it is compiled for.
//!
//! `-Zsanitizer=address` shows up in build scripts as `CARGO_CFG_SANITIZE`
//! (a comma-separated list); the crate then gets `--cfg obmalloc_asan` and
//! tells AddressSanitizer which pool bytes are free (`src/checkers/`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(obmalloc_asan)");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_SANITIZE");
    let sanitizers = std::env::var("CARGO_CFG_SANITIZE").unwrap_or_default();
    if sanitizers.split(',').any(|s| s.trim() == "address") {
        println!("cargo::rustc-cfg=obmalloc_asan");
    }
}
