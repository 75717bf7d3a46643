//! The studies of `cxr-analysis`, rendered: each as markdown, a PNG plot, and a `write`
//! that writes its JSON, markdown and PNG files.
//!
//! - [`error_analysis`]: Supplementary Table 1 ([`cxr_analysis::error_analysis::ErrorAnalysis`]):
//!   `error_analysis.json`, `error_analysis.md`, `errors_by_source.png`;
//! - [`power`]: the power analysis ([`cxr_analysis::power::PowerAnalysis`]): `power.json`,
//!   `power.md`, `power.png`;
//! - [`compare`]: two models on the same units ([`cxr_analysis::compare::Comparison`]):
//!   `compare.json`, `compare.md`, `compare.png`.
//!
//! `cxr-analysis` computes, this module draws; the numbers in the files are the structs'.
//!
//! ```
//! use cxr_analysis::power::{PowerConfig, power_analysis};
//! let a = power_analysis(&PowerConfig::paper())?;
//! let md = cxr_report::analysis::power::markdown(&a);
//! assert!(md.contains("**N = 1,314**"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compare;
pub mod error_analysis;
pub mod power;
mod text;

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes an analysis as `dir/<files[0]>` (pretty JSON of `value`), `dir/<files[1]>`
/// (`md`) and `dir/<files[2]>` (`png`), each atomically, after everything has been
/// rendered; `dir` is created if needed. Returns the paths written.
///
/// # Errors
/// [`Error::JsonFile`] when `value` cannot be serialised (nothing is written then),
/// [`Error::Write`] from writing.
pub fn write_json_md_png<T: serde::Serialize>(
    dir: &Path,
    files: [&str; 3],
    value: &T,
    md: &str,
    png: &[u8],
) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let json = serde_json::to_vec_pretty(value).map_err(|source| Error::JsonFile {
        path: paths[0].clone(),
        source,
    })?;
    for (path, bytes) in paths.iter().zip([json.as_slice(), md.as_bytes(), png]) {
        cxr_core::write_bytes_atomic(path, bytes)?;
    }
    Ok(paths)
}
