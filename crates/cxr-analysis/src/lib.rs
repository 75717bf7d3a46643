//! # cxr-analysis — the studies that need predictions, not a model
//!
//! - [`error_analysis`]: are the classifier's errors related to the patient's age, sex or
//!   source? (the paper's Supplementary Table 1), from `records.csv` and a predictions
//!   CSV;
//! - [`power`]: how many validation patients are needed (the paper's N = 1,314);
//! - [`compare`]: two models on the same test images, paired: McNemar's test on
//!   accuracy, Cohen's kappa, and the paired DeLong test of each class's AUC.
//!
//! This crate computes: each study returns a serialisable struct
//! ([`error_analysis::ErrorAnalysis`], [`power::PowerAnalysis`],
//! [`compare::Comparison`]) and draws nothing. `cxr-report` renders them
//! (`cxr_report::analysis`: the markdown, the PNG plots, and the `write` functions that
//! write the JSON, markdown and PNG files).
//!
//! All work on files any model can produce, so this crate links no libtorch and the
//! examples built on it, `error_analysis`, `power_analysis` and `compare_models` (thin
//! wrappers), build in seconds on a machine without PyTorch. `cxr-experiments`
//! re-exports the error and power analyses.
//!
//! ```
//! let a = cxr_analysis::power::power_analysis(&cxr_analysis::power::PowerConfig::paper())?;
//! assert_eq!(a.reported_n, 1314);
//! # Ok::<(), cxr_analysis::Error>(())
//! ```
#![warn(missing_docs)]

pub mod compare;
pub mod error;
pub mod error_analysis;
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
pub mod power;

// The fixtures name this crate by its name, as the integration tests that compile them
// in with `#[path]` must (see `fixtures`).
#[cfg(any(test, feature = "fixtures"))]
extern crate self as cxr_analysis;

pub use error::{Error, Result};
