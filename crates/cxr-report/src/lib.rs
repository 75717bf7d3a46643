//! # cxr-report — all rendering: tables, plots and the files that hold them
//!
//! Model and analysis crates return data; this crate draws it.
//!
//! - The [`cxr_eval::evaluate::Evaluation`] of a run: `report.md` laid out like the
//!   paper's Table 3 and Figure 3 ([`markdown`]), `roc.png` (one-vs-rest ROC curves with
//!   the chosen operating points) and `confusion.png` ([`plot`]), and `metrics.json`. The
//!   [`evaluate`] module is the whole pipeline behind the workspace's `evaluate` example:
//!   read and validate the CSV, aggregate per patient-day, compute, render everything in
//!   memory, then write each file atomically (`cxr_core::write_atomic`), so a failed run
//!   writes nothing.
//! - The charts other crates draw through [`plot`]: training curves, line charts, bar
//!   charts with intervals, image grids.
//! - Transparent layers over a radiograph for a viewer ([`layers`]): the lung mask and a
//!   saliency heat map.
//! - The shortcut audit ([`audit`]): source probes, within-source AUC, saliency inside
//!   the lungs.
//! - The studies of `cxr-analysis` ([`analysis`]): the error analysis (Supplementary
//!   Table 1), the power analysis and the paired comparison of two models, each as
//!   markdown, a PNG plot and a `write` that writes the JSON, markdown and PNG files.
//!
//! Sits above `cxr-core`, `cxr-stats`, `cxr-eval` and `cxr-analysis` in the crate DAG (see
//! `docs/architecture.md`); pure Rust, no system font library: DejaVu Sans is embedded
//! ([`font`]).
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

pub mod analysis;
pub mod audit;
pub mod cohort;
pub mod error;
pub mod evaluate;
pub mod experiment;
pub mod font;
pub mod layers;
pub mod markdown;
pub mod plot;

pub use error::{Error, Result};
