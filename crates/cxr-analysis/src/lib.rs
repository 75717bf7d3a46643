//! # cxr-analysis — the studies that need predictions, not a model
//!
//! - [`error_analysis`]: are the classifier's errors related to the patient's age, sex or
//!   source? (the paper's Supplementary Table 1), from `records.csv` and a predictions
//!   CSV;
//! - [`power`]: how many validation patients are needed (the paper's N = 1,314);
//! - [`compare`]: two models on the same test images, paired: McNemar's test on
//!   accuracy, Cohen's kappa, and the paired DeLong test of each class's AUC.
//!
//! All work on files any model can produce, so this crate links no libtorch and its
//! examples, `error_analysis`, `power_analysis` and `compare_models` (thin wrappers),
//! build in seconds on a machine without PyTorch. `cxr-experiments` re-exports the
//! error and power analyses.
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
pub mod power;
mod text;

pub use error::{Error, Result};

use std::path::{Path, PathBuf};

/// Writes an analysis as `dir/<files[0]>` (pretty JSON of `value`), `dir/<files[1]>`
/// (`md`) and `dir/<files[2]>` (`png`), each atomically, after everything has been
/// rendered; `dir` is created if needed. Returns the paths written.
///
/// # Errors
/// [`Error::Json`] when `value` cannot be serialised (nothing is written then),
/// [`Error::Core`] from writing.
pub fn write_json_md_png<T: serde::Serialize>(
    dir: &Path,
    files: [&str; 3],
    value: &T,
    md: &str,
    png: &[u8],
) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let json = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: paths[0].clone(),
        source,
    })?;
    for (path, bytes) in paths.iter().zip([json.as_slice(), md.as_bytes(), png]) {
        cxr_core::write_bytes_atomic(path, bytes)?;
    }
    Ok(paths)
}
