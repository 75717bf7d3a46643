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
//! - [`calibrate`]: temperature scaling fitted on the validation patients;
//! - [`probe`]: the same network trained to predict something else (the source, for
//!   the shortcut audit);
//! - [`saliency`]: vanilla gradients, SmoothGrad, Grad-CAM, and the share of saliency
//!   inside the lungs.
//!
//! Without its `torch` feature (default on) only the libtorch-free parts build:
//! [`config`], [`preprocess::input_values`], [`calibrate`]'s reading and scaling, and
//! [`run`] (a run folder's settings and the probabilities' last steps), which the
//! pure-Rust inference crate `cxr-infer` shares.
//!
//! Sits on `cxr-nn` (libtorch), `cxr-lungseg` and `cxr-dicom` in the crate DAG.
#![warn(missing_docs)]

pub mod batch;
pub mod calibrate;
pub mod config;
#[cfg(feature = "torch")]
pub mod data;
pub mod error;
#[cfg(feature = "torch")]
pub mod infer;
#[cfg(feature = "torch")]
pub mod model;
pub mod preprocess;
#[cfg(feature = "torch")]
pub mod probe;
pub mod run;
pub mod saliency;
#[cfg(feature = "torch")]
pub mod train;
#[cfg(feature = "torch")]
pub mod transfer;

pub use config::{ClassifierConfig, InputMode};
#[cfg(feature = "torch")]
pub use data::Example;
pub use error::{Error, Result};
#[cfg(feature = "torch")]
pub use infer::{Classifier, Pipeline};
#[cfg(feature = "torch")]
pub use model::{InceptionV3, Outputs};
pub use run::PipelineOutput;
#[cfg(feature = "torch")]
pub use train::{ClassWeighting, TrainConfig, TrainSummary, train, train_with_validation};
#[cfg(feature = "torch")]
pub use transfer::{ImportReport, import_torchvision};
