//! The error type of `cxr-analysis`.

use std::path::PathBuf;

/// An analysis error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A settings file or value is wrong.
    #[error("config {path}: {detail}")]
    Config {
        /// The file (or `<built-in>`).
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The inputs cannot be analysed (no predictions matched a record, an image
    /// predicted twice, …).
    #[error("{step}: {detail}")]
    Step {
        /// The analysis.
        step: &'static str,
        /// Why.
        detail: String,
    },
    /// A statistic is undefined or its arguments are out of range.
    #[error(transparent)]
    Stats(#[from] cxr_stats::Error),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
