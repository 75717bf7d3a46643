// Shared body of the build scripts of every package that links libtorch
// (`include!`d by their `build.rs`). See docs/architecture.md, "libtorch".
//
// torch-sys declares `links = "tch"`, so its libtorch folder reaches the build script of
// each package that depends on it directly as `DEP_TCH_LIBTORCH_LIB`.
// - An rpath to that folder lets tests, examples and benches run without LD_LIBRARY_PATH.
// - `libtorch_cuda.so` is linked with `--no-as-needed`: with the default `--as-needed` the
//   linker drops it (no symbol of ours refers to it), and `tch::Cuda::is_available()` is
//   then false even on a GPU machine.
#[allow(dead_code)]
fn torch_link() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        if std::path::Path::new(&dir).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
