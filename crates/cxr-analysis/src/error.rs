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
    /// A plot could not be drawn or encoded.
    #[error(transparent)]
    Report(#[from] cxr_report::Error),
    /// The analysis could not be serialised as JSON.
    #[error("cannot serialise {path} as JSON")]
    Json {
        /// The file it was meant for.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing an output file failed.
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
