//! The errors of `cxr-nn`.

/// Errors of the training kit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A device name that is not `auto`, `cpu`, `cuda` or `cuda:N`.
    #[error("unknown device `{value}` (expected auto, cpu, cuda or cuda:N){}", .origin.map(|o| format!(" in {o}")).unwrap_or_default())]
    UnknownDevice {
        /// The text given.
        value: String,
        /// Where it came from (`CXR_DEVICE`), if not from code.
        origin: Option<&'static str>,
    },
    /// CUDA was asked for explicitly but is not usable.
    #[error("CUDA device {index} requested but {available} CUDA device(s) are available")]
    CudaUnavailable {
        /// The device index asked for.
        index: usize,
        /// How many devices libtorch sees.
        available: usize,
    },
    /// A setting of the kit (augmentation) is out of range.
    #[error("invalid setting `{field}` ({detail})")]
    InvalidConfig {
        /// The field (`augment.mirror`).
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// An epoch of training had no sample to train on: the training set is empty or
    /// every sample failed to load.
    #[error("no training samples loaded in epoch {epoch} ({failed} failed to load)")]
    NoTrainingSamples {
        /// The epoch (0-based).
        epoch: usize,
        /// Samples that failed to load in it.
        failed: usize,
    },
    /// A run folder holds a run with other settings.
    #[error(
        "{path} holds a run with another configuration (differs in {}): give another \
         folder, or remove this one to start over",
        fields.join(", ")
    )]
    RunMismatch {
        /// The run's `config.json`.
        path: std::path::PathBuf,
        /// The settings that differ, as dotted paths (`model.width`, `epochs`; at most
        /// eight, then `…`).
        fields: Vec<String>,
    },
    /// Weight snapshots that cannot be averaged.
    #[error("averaging weights into {path}: {detail}")]
    Snapshot {
        /// The averaged file being written.
        path: std::path::PathBuf,
        /// What does not fit.
        detail: String,
    },
    /// A checkpoint that should exist does not.
    #[error("no checkpoint at {path}")]
    MissingCheckpoint {
        /// The weights file looked for.
        path: std::path::PathBuf,
    },
    /// A saved optimiser state does not fit the variables it is loaded into.
    #[error("optimiser state {path}: {detail} (delete the file to resume with fresh moments)")]
    OptimiserState {
        /// The state file.
        path: std::path::PathBuf,
        /// What does not fit.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("I/O error on {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be read or written.
    #[error("JSON error in {path}")]
    Json {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An error of the core (atomic writes).
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// An error raised by libtorch.
    #[cfg(feature = "torch")]
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
