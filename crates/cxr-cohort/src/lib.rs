//! # cxr-cohort — the paper's patient-level cohort
//!
//! From source scans ([`cxr_core::Scan`]) to a cohort and its splits:
//! - [`policy`]: per-source policy (labels kept, healthy controls sampled at random,
//!   PCR window), the paper's preset, [`assemble`];
//! - [`duplicates`]: exact (SHA-256) and near (difference hash) duplicates, within and
//!   across sources, grouped;
//! - [`split`]: patient-level stratified splits at any training fraction, forced
//!   training patients, the transfer design, internal validation; duplicate groups never
//!   cross; CSV with a checked hash;
//! - [`tables`]: Table 1 and Table 2 (t-tests, chi-square, Little's MCAR test, multiple
//!   imputation).
//!
//! Sits on `cxr-core` and `cxr-stats`; no libtorch.
//!
//! ```
//! use cxr_cohort::{CohortConfig, SplitConfig, assemble, split::split};
//! use cxr_core::{ImageRecord, Label, PatientId, Scan, SourceId, View};
//!
//! let records: Vec<ImageRecord> = (0..20)
//!     .map(|i| ImageRecord::new(PatientId::new(SourceId::Qmenta, format!("p{i}")), format!("i{i}"),
//!                               format!("{i}.png"), if i % 2 == 0 { Label::Healthy } else { Label::Bacterial },
//!                               "example", View::Pa))
//!     .collect();
//! let cohort = assemble(vec![Scan { records, exclusions: vec![] }], &CohortConfig::default()).unwrap();
//! let s = split(&cohort.records, &[], &SplitConfig::default()).unwrap();
//! assert_eq!(s.patients(cxr_cohort::split::Part::Test).count(), 10);
//! ```
#![warn(missing_docs)]

pub mod duplicates;
mod error;
pub mod policy;
pub mod split;
pub mod tables;

pub use duplicates::{
    DuplicateGroup, DuplicateKind, DuplicateOptions, DuplicateReport, find_duplicates,
};
pub use error::{Error, Result};
pub use policy::{Cohort, CohortConfig, SourcePolicy, assemble};
pub use split::{Part, Split, SplitConfig, TransferSpec};
pub use tables::{Table1Row, Table2, table1, table2};
