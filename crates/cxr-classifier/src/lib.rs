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
//! Sits on `cxr-nn` (libtorch), `cxr-lungseg` and `cxr-dicom` in the crate DAG.
#![warn(missing_docs)]

pub mod batch;
pub mod calibrate;
pub mod data;
pub mod error;
pub mod infer;
pub mod model;
pub mod preprocess;
pub mod probe;
pub mod saliency;
pub mod train;
pub mod transfer;

pub use data::Example;
pub use error::{Error, Result};
pub use infer::{Classifier, Pipeline, PipelineOutput};
pub use model::{ClassifierConfig, InceptionV3, InputMode, Outputs};
pub use train::{ClassWeighting, TrainConfig, TrainSummary, train, train_with_validation};
pub use transfer::{ImportReport, import_torchvision};
