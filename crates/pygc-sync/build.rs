//! Declares the `loom` cfg, under which only the protocol modules are built
//! (the model checker's tests in `tests/loom.rs`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
