//! # cxr-lungseg — lung segmentation and the paper's quality gate
//!
//! The paper trains "a variation of a DeepLab CNN" on hand-delineated lungs, runs it on
//! every image, and discards images where both lungs are not clearly found or the lungs
//! cover less than 30 % of the pixels. This crate holds:
//! - [`postprocess`]: threshold, two largest components, left/right, hole filling,
//!   smoothing (plain Rust);
//! - [`qc`]: the quality gate ([`qc::LungQc`]);
//! - [`metrics`]: Dice, IoU, 95th-percentile Hausdorff distance;
//! - [`masks`]: readers of lung-mask datasets (Montgomery, Shenzhen, JSRT/SCR, generic
//!   `images/` + `masks/` folders).
//!
//! - [`model`]: DeepLabv3+ with a ResNet backbone ([`SegmenterConfig`] presets);
//! - [`train`](mod@train): BCE + Dice training with the `cxr-nn` kit, and [`Segmenter`] inference.
//!
//! Sits on `cxr-core` and `cxr-nn` (libtorch) in the crate DAG.
#![warn(missing_docs)]

pub mod batch;
pub mod masks;
pub mod metrics;
pub mod model;
pub mod postprocess;
pub mod qc;
pub mod train;

pub use batch::{QcRow, ScoreRow, score_pairs, segment_dir, segment_image};
pub use model::{DeepLabV3Plus, SegmenterConfig};
pub use train::{InMemory, LabelledImages, SegTrainConfig, Segmenter, TrainSummary, train};

/// Errors of the segmenter's model, training and inference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid segmenter config: `{field}` ({detail})")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Training has no usable data (too few pairs for a validation set, no validation
    /// sample loaded).
    #[error("no usable data: {detail}")]
    NoData {
        /// What is missing.
        detail: String,
    },
    /// An image without pixels was given to the segmenter.
    #[error("image is {width}×{height}: nothing to segment")]
    EmptyImage {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A post-processing option is out of range, or a probability map does not fit.
    #[error(transparent)]
    Postprocess(#[from] crate::postprocess::PostprocessError),
    /// A quality-gate option is out of range.
    #[error(transparent)]
    Qc(#[from] crate::qc::QcOptionsError),
    /// Image, mask or CSV I/O.
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// An error of the training kit (checkpoints, JSON, I/O).
    #[error(transparent)]
    Nn(#[from] cxr_nn::Error),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
