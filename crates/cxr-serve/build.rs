//! Build script: under the `torch` feature, rpath to libtorch and `torch_cuda` linked as
//! needed (see build/torch_link.rs); without it, nothing.
include!("../../build/torch_link.rs");

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_TORCH");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_some() {
        torch_link();
    }
}
