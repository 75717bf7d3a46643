//! # cxr-stats — evaluation statistics of the paper, done right
//!
//! Pure Rust (no libtorch), `f64` throughout, every random procedure seeded by the caller.
//! Numbers only: it depends on no other workspace crate, and sits beside `cxr-core` at the
//! bottom of the crate DAG (see `docs/architecture.md`). Reading predictions, aggregating
//! them per patient and the evaluate pipeline live in `cxr-eval`.
#![warn(missing_docs)]

pub mod error;

// ROC and AUC: the empirical ROC curve, DeLong's variance and paired test
pub mod delong;
pub mod roc;

// Intervals and bootstrap: binomial proportions, percentile/BCa bootstrap
pub mod bootstrap;
pub mod proportion;

// Diagnostic metrics: confusion counts, operating points, multi-class, calibration,
// agreement of paired classifications (kappa; McNemar's test is in `hypothesis`)
pub mod agreement;
pub mod calibration;
pub mod cutoff;
pub mod diagnostic;
pub mod multiclass;

// Hypothesis tests: t-tests, chi-square, Fisher, McNemar, two proportions
pub mod hypothesis;

// Missing data: Little's MCAR test, MICE, Rubin's rules
pub mod missing;

// Design and power: sample sizes and power of the study's tests
pub mod design;

pub use error::{Error, Result};

pub use bootstrap::{Bootstrap, BootstrapOptions, IntervalMethod, Resample, Resampler, bootstrap};
pub use cutoff::{Criterion, OperatingPoint};
pub use delong::{DelongAuc, PairedDelong, delong, delong_paired_test};
pub use diagnostic::{ConfusionCounts, Diagnostics, Estimate};
pub use multiclass::ConfusionMatrix;
pub use proportion::{Interval, wilson};
pub use roc::{RankedScores, RocCurve, roc_auc, roc_curve};
