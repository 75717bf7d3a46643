//! # cxr-stats — evaluation statistics of the paper, done right
//!
//! Pure Rust (no libtorch), `f64` throughout, every random procedure seeded by the caller.
//! Sits beside `cxr-core` at the bottom of the crate DAG (see `docs/architecture.md`).
#![warn(missing_docs)]

pub mod error;

// part A: ROC/AUC, DeLong, bootstrap, operating points, diagnostic metrics, multi-class,
// patient-level aggregation, the evaluate pipeline
pub mod aggregate;
pub mod bootstrap;
pub mod cutoff;
pub mod delong;
pub mod diagnostic;
pub mod evaluate;
pub mod multiclass;
pub mod proportion;
pub mod roc;

// part B: tests of association, study design, missing data, calibration
pub mod calibration;
pub mod design;
pub mod hypothesis;
pub mod missing;

// part C: agreement of paired classifications (kappa; McNemar's test is in `hypothesis`)
pub mod agreement;

pub use error::{Error, Result};

pub use aggregate::{
    Aggregated, Grouping, ImagePrediction, LabelConflict, UnitPrediction, aggregate,
};
pub use bootstrap::{Bootstrap, BootstrapOptions, IntervalMethod, Resample, Resampler, bootstrap};
pub use cutoff::{Criterion, OperatingPoint};
pub use delong::{DelongAuc, PairedDelong, delong, delong_paired_test};
pub use diagnostic::{ConfusionCounts, Diagnostics, Estimate};
pub use multiclass::ConfusionMatrix;
pub use proportion::{Interval, wilson};
pub use roc::{RankedScores, RocCurve, roc_auc, roc_curve};
