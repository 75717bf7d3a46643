//! `--backend torch|pure`, shared by the examples that run the trained networks
//! (`predict`, `serve`, `segment`, `score_segmenter`). Included with `#[path]`.

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

/// Refuses `--backend torch` at once in a build without libtorch, before any input is
/// read (the examples whose inputs are read before the model loads).
#[allow(dead_code)]
pub fn ensure_available(backend: Backend) -> anyhow::Result<()> {
    #[cfg(not(feature = "torch"))]
    anyhow::ensure!(backend != Backend::Torch, NO_TORCH);
    let _ = backend;
    Ok(())
}
