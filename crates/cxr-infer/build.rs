//! Build script: an rpath to libtorch for this crate's own unit tests, and nothing else.
//!
//! cxr-infer never calls libtorch. But `cargo test --workspace` unifies features, so the
//! model crates it uses are then built with their `torch` feature, and the linker may keep
//! a piece of torch-sys's C++ glue in this crate's unit-test binary, which then needs
//! `libtorch_cpu.so` at start. The crates that use libtorch get their rpath from
//! torch-sys (`DEP_TCH_LIBTORCH_LIB`, build/torch_link.rs); that variable only reaches
//! direct dependents of torch-sys, so this crate takes the folder from `LIBTORCH`, the
//! variable torch-sys itself reads (set by .cargo/config.toml after `make setup`).
//! Link arguments of a library package apply only to its tests, benches and examples:
//! the libraries and binaries built on cxr-infer are not touched.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Some(root) = std::env::var_os("LIBTORCH") {
        let lib = std::path::Path::new(&root).join("lib");
        let torch = lib.join("libtorch_cpu.so");
        // Run again when libtorch appears there (a build before `make setup` installed
        // it would otherwise keep its missing rpath: the variable did not change).
        println!("cargo:rerun-if-changed={}", torch.display());
        if torch.exists() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
    }
}
