//! # cxr — covid-19 and bacterial pneumonia detection on frontal chest X-rays
//!
//! The facade over the cxr workspace: it re-exports the workspace crates and a
//! [`prelude`]. Examples (`examples/`) and benchmarks (`benches/`) live here.
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`core`] | `cxr-core` | labels, sources, records, image and mask I/O |
//! | [`synth`] | `cxr-synth` | procedural chest-radiograph phantoms |
//! | [`lungseg`] | `cxr-lungseg` | DeepLabv3+ lung segmenter, post-processing, quality gate (the network and training: `torch` feature) |
//! | [`nn`] | `cxr-nn` | libtorch glue shared by the models (`torch` feature; run-folder files without it) |
//! | [`infer`] | `cxr-infer` | the trained segmenter and classifier without libtorch (pure Rust, candle) |
//! | [`cohort`] | `cxr-cohort` | source union, sampling, duplicates, splits, Tables 1–2 |
//! | [`dicom`] | `cxr-dicom` | DICOM → 8-bit PNG, header fields, batch conversion |
//! | [`sources`] | `cxr-sources` + `cxr-source-*` | the eight source adapters, `build_cohort` |
//! | [`stats`] | `cxr-stats` | numbers only: ROC/AUC, DeLong, bootstrap, cutoffs, metrics, tests, kappa, design, missing data |
//! | [`eval`] | `cxr-eval` | the predictions CSV (written and read), patient-day units, every metric of Table 3 |
//! | [`report`] | `cxr-report` | markdown tables, plots, `metrics.json` and `report.md` of an evaluation |
//! | [`serve`] | `cxr-serve` | the HTTP service and its review page (libtorch with `torch`, else the pure-Rust path) |
//! | [`analysis`] | `cxr-analysis` | error analysis (Supplementary Table 1), power analysis, paired comparison of two models |
//!
//! ```
//! use cxr::prelude::*;
//!
//! let case = cxr::synth::CaseSpec::single(7, Label::Covid, SourceId::CovidIdc);
//! let phantom = cxr::synth::render(&case, &SynthConfig::with_size(64));
//! assert_eq!(phantom.image.dimensions(), (64, 64));
//! ```
#![warn(missing_docs)]

pub use cxr_analysis as analysis;
pub use cxr_classifier as classifier;
pub use cxr_cohort as cohort;
pub use cxr_core as core;
pub use cxr_dicom as dicom;
pub use cxr_eval as eval;
#[cfg(feature = "torch")]
pub use cxr_experiments as experiments;
pub use cxr_infer as infer;
pub use cxr_lungseg as lungseg;
pub use cxr_nn as nn;
pub use cxr_report as report;
pub use cxr_serve as serve;
pub use cxr_sources as sources;
pub use cxr_stats as stats;
pub use cxr_synth as synth;

/// The types most programs need.
pub mod prelude {
    pub use cxr_core::{
        Exclusion, ExclusionReason, GrayImage, ImageRecord, Label, LungMask, PatientId, Scan, Sex,
        Source, SourceId, StudyDate, View,
    };
    pub use cxr_synth::{Phantom, SynthConfig};
}
