//! Test data builders shared by this crate's tests and `cxr-report`'s: not for
//! production use, and no part of the crate's API (hidden from its documentation).
//!
//! Each builder stands here once; the tests that check numbers computed by hand from its
//! data name it, and its doc comment names those tests, so that a change to the data is
//! seen to change them.
//!
//! - [`error_analysis`]: small hand-made cohorts for the error analysis's unit tests
//!   (`cxr_analysis::error_analysis`'s and `cxr_report::analysis::error_analysis`'s);
//! - [`files`]: a 90-patient cohort written as `records.csv` and a predictions CSV and
//!   read back, and a power config as TOML, for the integration tests
//!   `cxr-analysis/tests/error_power.rs` and `cxr-report/tests/analysis_files.rs`;
//! - [`compare`]: two models' predictions on eight patients, for
//!   `cxr-analysis/tests/compare.rs` and `cxr-report/tests/analysis_compare.rs`.
//!
//! Compiled for this crate's unit tests (`cfg(test)`) and, with the `fixtures` feature,
//! for other crates' tests: `cxr-report` turns the feature on in its dev-dependency on
//! this crate. This crate's own integration tests cannot turn on a feature of the crate
//! they test (a package may not dev-depend on itself, and a test target with
//! `required-features` would be skipped by a plain `cargo test -p cxr-analysis`), so
//! they compile the submodule they need into themselves with `#[path]`. The submodules
//! therefore name what they use by crate path only (`cxr_core`, `cxr_eval`,
//! `cxr_analysis`), never by `crate::` or `super::`.

pub mod compare;
pub mod error_analysis;
pub mod files;
