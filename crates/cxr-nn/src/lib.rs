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

#[cfg(feature = "torch")]
pub mod amp;
pub mod augment;
#[cfg(feature = "torch")]
pub mod checkpoint;
#[cfg(feature = "torch")]
mod device;
pub mod error;
pub mod files;
#[cfg(feature = "torch")]
pub mod fit;
#[cfg(feature = "torch")]
pub mod layers;
#[cfg(feature = "torch")]
pub mod loader;
#[cfg(feature = "torch")]
pub mod optim;
pub mod schedule;

#[cfg(feature = "torch")]
pub use amp::{Precision, Stepper, autocast};
pub use augment::{Affine, AugmentConfig};
#[cfg(feature = "torch")]
pub use checkpoint::{
    append_jsonl, average_weights, load_best, load_checkpoint, load_for_inference, open_run,
    save_checkpoint, save_weights, snapshot_path, write_tensors_atomic,
};
#[cfg(feature = "torch")]
pub use device::{DEVICE_ENV, DevicePreference, compute, device_from_env, select_device};
pub use error::{Error, Result};
pub use files::AVERAGED;
#[cfg(feature = "torch")]
pub use fit::{EpochDone, FitPlan, Validated, fit, resume_or_start};
#[cfg(feature = "torch")]
pub use loader::{Batch, DataLoader, Dataset, LoaderConfig, Sample};
#[cfg(feature = "torch")]
pub use optim::{AdamW, Optimise};
pub use schedule::{CosineSchedule, Decision, EarlyStopping, Goal, GradScaler, TrainState};
