//! `--backend torch|pure`, shared by the examples that run the trained networks
//! (`predict`, `serve`). Included with `#[path]`.

/// Which library runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// libtorch (CPU or CUDA, `CXR_DEVICE`): the default when built with it.
    Torch,
    /// Pure Rust on candle (CPU), no libtorch.
    Pure,
}

/// libtorch when the example is built with it, else the pure-Rust path.
pub const DEFAULT_BACKEND: Backend = if cfg!(feature = "torch") {
    Backend::Torch
} else {
    Backend::Pure
};

/// Why `--backend torch` cannot run in a build without libtorch.
#[cfg(not(feature = "torch"))]
pub const NO_TORCH: &str = "built without libtorch (--no-default-features): use --backend pure";
