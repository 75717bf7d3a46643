//! # cxr-experiments — the paper's experiments end to end
//!
//! - [`config`]: an experiment's settings ([`ExperimentConfig`], TOML), with presets for
//!   `make demo`, tests and the paper's scale;
//! - [`context`] (where a run writes, progress), [`keys`] (typed image keys of
//!   duplicate groups), [`gate`] (segmentation and quality gate over a cohort),
//!   [`figures`] (saliency overlays, Figures 1–2), [`audit`] (the shortcut audit: source
//!   probes, within-source AUC, saliency inside the lungs), [`report`] (the run's
//!   `report.md`): the pieces [`run`] puts together; each depends only on those before it
//!   in this list and none on `run`;
//! - [`run`]: the steps of the main experiment — cohort → lung segmenter → segmentation
//!   and quality gate → patient-level split → classifier → prediction → patient-level
//!   evaluation → report — each writing into the run folder and skipped when its output is
//!   already there, so a run can be re-run from its folder to the same numbers;
//! - [`studies`]: the split-size (Figure 4a), transfer (Figure 4b) and
//!   leave-one-source-out studies built on those steps;
//! - [`error_analysis`] and [`power`]: re-exported from `cxr-analysis`, which holds them
//!   without libtorch (errors against age, sex and source, Supplementary Table 1; the
//!   number of validation patients needed).
//!
//! The examples `reproduce_main`, `reproduce_splits`, `reproduce_transfer` and
//! `leave_one_source_out` are thin wrappers; `error_analysis` and `power_analysis` live
//! with `cxr-analysis`.
#![warn(missing_docs)]

pub mod audit;
pub mod config;
pub mod context;
pub mod error;
pub mod figures;
pub mod gate;
pub mod keys;
pub mod report;
pub mod run;
pub mod seen;
pub mod studies;
#[cfg(test)]
mod test_support;
pub use config::ExperimentConfig;
pub use cxr_analysis::{error_analysis, power};
pub use error::{Error, Result};
