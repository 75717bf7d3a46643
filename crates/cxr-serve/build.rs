//! Build script: rpath to libtorch and `torch_cuda` linked as needed (see build/torch_link.rs).
include!("../../build/torch_link.rs");

fn main() {
    torch_link();
}
