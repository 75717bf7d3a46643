//! # cxr-classifier — the paper's masked-input Inception v3
//!
//! "An Inception CNN pretrained on ImageNet, the first convolution adapted to grayscale
//! images and to use only the pixels inside the lung masks, three outputs (healthy,
//! covid-19, bacterial), fully retrained." This crate holds:
//! - [`model`]: Inception v3 with torchvision's variable names ([`ClassifierConfig`]
//!   presets `v3_299`, `small`, `tiny`);
//! - [`transfer`]: importing torchvision's ImageNet weights (safetensors), with the RGB →
//!   gray adaptation of `Conv2d_1a_3x3`;
//! - [`preprocess`]: image + lung mask → network input;
//! - [`train`](mod@train): the paper's recipe ([`TrainConfig`]) on the `cxr-nn` kit;
//! - [`infer`]: [`Classifier`] (a trained run) and [`Pipeline`] (raw image → segment →
//!   quality gate → classify);
//! - [`saliency`]: vanilla gradients, SmoothGrad, Grad-CAM, and the share of saliency
//!   inside the lungs.
//!
//! Sits on `cxr-nn` (libtorch), `cxr-lungseg` and `cxr-dicom` in the crate DAG.
#![warn(missing_docs)]

pub mod data;
pub mod infer;
pub mod model;
pub mod preprocess;
pub mod saliency;
pub mod train;
pub mod transfer;

pub use data::Example;
pub use infer::{Classifier, Pipeline, PipelineOutput};
pub use model::{ClassifierConfig, InceptionV3, InputMode, Outputs};
pub use train::{ClassWeighting, TrainConfig, TrainSummary, train, train_with_validation};
pub use transfer::{ImportReport, import_torchvision};

/// Errors of the classifier's model, weights, training and inference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid classifier config: `{field}` ({detail})")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A weights file does not fit the network.
    #[error("weights {path}: {detail}")]
    Weights {
        /// The weights file.
        path: std::path::PathBuf,
        /// What does not fit (names the tensor).
        detail: String,
    },
    /// An image and its lung mask do not have the same size.
    #[error("{path}: lung mask is {mask:?} but the image is {image:?}")]
    MaskSize {
        /// The image (or mask) file.
        path: std::path::PathBuf,
        /// Image width and height.
        image: (u32, u32),
        /// Mask width and height.
        mask: (u32, u32),
    },
    /// An input file could not be read.
    #[error("{path}: {source}")]
    Input {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Training has no usable data (no training examples, no validation sample loaded).
    #[error("no usable data: {detail}")]
    NoData {
        /// What is missing.
        detail: String,
    },
    /// A class index or a probability vector does not fit the label set (healthy, covid,
    /// bacterial).
    #[error("{what} does not fit the {expected} classes (healthy, covid, bacterial)")]
    Classes {
        /// What was given (`class 5`, `2 probabilities`).
        what: String,
        /// Classes of the label set (3).
        expected: usize,
    },
    /// An error of the core (image and manifest I/O).
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// An error of the training kit (checkpoints, JSON, I/O).
    #[error(transparent)]
    Nn(#[from] cxr_nn::Error),
    /// An error of the segmenter.
    #[error(transparent)]
    Lungseg(#[from] cxr_lungseg::Error),
    /// An error drawing a plot.
    #[error(transparent)]
    Report(#[from] cxr_report::Error),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
