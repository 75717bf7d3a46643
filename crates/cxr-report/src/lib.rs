//! # cxr-report — the paper's Table 3 and Figure 3 from a predictions file
//!
//! Renders the [`cxr_stats::evaluate::Evaluation`] of a run: `report.md` laid out like the
//! paper's Table 3 and Figure 3 ([`markdown`]), `roc.png` (one-vs-rest ROC curves with the
//! chosen operating points) and `confusion.png` ([`plot`]), and `metrics.json`. The
//! [`evaluate`] module is the whole pipeline behind this crate's `evaluate` example: read and
//! validate the CSV, aggregate per patient-day, compute, render everything in memory, then
//! write each file atomically (`cxr_core::write_atomic`), so a failed run writes nothing.
//!
//! Sits above `cxr-core` and `cxr-stats` in the crate DAG (see `docs/architecture.md`);
//! pure Rust, no system font library: DejaVu Sans is embedded ([`font`]).
//!
//! ```no_run
//! use std::path::PathBuf;
//! let options = cxr_report::evaluate::Options {
//!     predictions: PathBuf::from("predictions.csv"),
//!     out: PathBuf::from("out/eval"),
//!     evaluate: Default::default(),
//! };
//! let outputs = cxr_report::evaluate::run(&options)?;
//! println!("global accuracy {:.3}", outputs.evaluation.global_accuracy);
//! # Ok::<(), cxr_report::Error>(())
//! ```
#![warn(missing_docs)]

pub mod error;
pub mod evaluate;
pub mod font;
pub mod markdown;
pub mod plot;

pub use error::{Error, Result};
