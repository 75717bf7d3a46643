//! # cxr-nn — the libtorch glue both models share
//!
//! - device choice ([`select_device`], [`device_from_env`]): CUDA when available, else
//!   CPU, overridable with `CXR_DEVICE` (`auto`, `cpu`, `cuda`, `cuda:N`);
//! - [`augment`]: the paper's augmentations, identical on an image and its masks;
//! - [`loader`]: worker threads with a bounded prefetch queue, deterministic per seed and
//!   epoch whatever the number of workers;
//! - [`schedule`]: cosine decay with warm-up, early stopping;
//! - [`amp`]: fp16 autocast with dynamic loss scaling on CUDA, gradient accumulation;
//! - [`layers`]: convolution + batch norm that folds for inference, used by both models;
//! - [`checkpoint`]: safetensors + JSON checkpoints (`best`, `last`), `metrics.jsonl`;
//! - [`optim`]: AdamW whose moments are saved with `last`, so a resumed run continues
//!   exactly;
//! - [`fit`](mod@fit): the epoch loop both trainers run (optimiser, schedule, validation, early
//!   stopping, checkpoints, progress bars), with the model-specific parts as closures.
//!
//! Sits on `tch`; together with `cxr-lungseg` and `cxr-classifier` it is the only part of
//! the workspace that links libtorch.
//!
//! ```no_run
//! use cxr_nn::{DevicePreference, select_device};
//!
//! let device = select_device(DevicePreference::Auto).unwrap();
//! println!("training on {device:?}");
//! ```
#![warn(missing_docs)]

pub mod amp;
pub mod augment;
pub mod checkpoint;
mod device;
pub mod fit;
pub mod layers;
pub mod loader;
pub mod optim;
mod progress;
pub mod schedule;

pub use amp::{GradScaler, Precision, Stepper, autocast};
pub use augment::{Affine, AugmentConfig};
pub use checkpoint::{
    AVERAGED, append_jsonl, average_weights, load_best, load_checkpoint, load_for_inference,
    open_run, save_checkpoint, save_weights, snapshot_path, write_tensors_atomic,
};
pub use device::{DEVICE_ENV, DevicePreference, device_from_env, select_device};
pub use fit::{EpochDone, FitPlan, Validated, fit, resume_or_start};
pub use loader::{Batch, DataLoader, Dataset, LoaderConfig, Sample};
pub use optim::{AdamW, Optimise};
pub use progress::progress_bar;
pub use schedule::{CosineSchedule, Decision, EarlyStopping, Goal, TrainState};

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
    #[error("{path} holds a run with another configuration")]
    RunMismatch {
        /// The run's `config.json`.
        path: std::path::PathBuf,
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
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
