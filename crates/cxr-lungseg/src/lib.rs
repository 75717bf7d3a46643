//! # cxr-lungseg — lung segmentation and the paper's quality gate
//!
//! The paper trains "a variation of a DeepLab CNN" on hand-delineated lungs, runs it on
//! every image, and discards images where both lungs are not clearly found or the lungs
//! cover less than 30 % of the pixels. This crate holds:
//! - [`postprocess`]: threshold, two largest components, left/right, hole filling,
//!   smoothing (plain Rust);
//! - [`qc`]: the quality gate ([`qc::LungQc`]);
//! - [`metrics`]: Dice, IoU, 95th-percentile Hausdorff distance;
//! - [`masks`]: readers of lung-mask datasets (Montgomery, Shenzhen, JSRT/SCR, CheXmask's
//!   tables, generic `images/` + `masks/` folders);
//! - [`batch`]: a folder segmented (masks, overlays, `qc.csv`) and a segmenter scored on
//!   labelled pairs, with any [`LungSegmenter`] (this crate's libtorch one, or
//!   `cxr-infer`'s pure-Rust one).
//!
//! - [`model`]: DeepLabv3+ with a ResNet backbone ([`SegmenterConfig`] presets);
//! - [`train`](mod@train): BCE + Dice training with the `cxr-nn` kit, and [`Segmenter`] inference.
//!
//! Sits on `cxr-core` and `cxr-nn` (libtorch) in the crate DAG.
#![warn(missing_docs)]

pub mod batch;
pub mod config;
pub mod error;
pub mod metrics;
#[cfg(feature = "torch")]
pub mod model;
pub mod postprocess;
pub mod qc;
#[cfg(feature = "torch")]
pub mod train;
pub mod training_images;

pub use batch::{
    DrawLungs, LungSegmenter, QC_COLUMNS, QcRow, ScoreRow, ScoreSummary, ShardRun, WorstCase,
    score_pairs, segment_dir, segment_dir_shard, segment_image, worst_cases,
};
pub use config::SegmenterConfig;
/// The lung-mask dataset readers, re-exported from `cxr-source-nlm-tb` (where they live,
/// with no libtorch).
pub use cxr_source_nlm_tb::masks;
pub use error::Error;
#[cfg(feature = "torch")]
pub use model::DeepLabV3Plus;
#[cfg(feature = "torch")]
pub use train::{InMemory, LabelledImages, SegTrainConfig, Segmenter, TrainSummary, train};
