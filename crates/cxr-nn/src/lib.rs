//! # cxr-nn — the libtorch glue both models share
//!
//! Device choice ([`select_device`], [`device_from_env`]): CUDA when available, else CPU,
//! overridable with the `CXR_DEVICE` environment variable (`auto`, `cpu`, `cuda`,
//! `cuda:N`) or an explicit [`DevicePreference`]. Sits on `tch`; together with
//! `cxr-lungseg` and `cxr-classifier` it is the only part of the workspace that links
//! libtorch.
//!
//! ```no_run
//! use cxr_nn::{DevicePreference, select_device};
//!
//! let device = select_device(DevicePreference::Auto).unwrap();
//! println!("training on {device:?}");
//! ```
#![warn(missing_docs)]

mod device;

pub use device::{DEVICE_ENV, DevicePreference, device_from_env, select_device};

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
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
