//! The error type of `cxr-cohort`.

use std::path::PathBuf;

/// Errors of cohort assembly, splitting and table writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid cohort config: `{field}` ({detail})")]
    InvalidConfig {
        /// The field's path.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A configuration file cannot be parsed.
    #[error("cannot parse {path}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: toml::de::Error,
    },
    /// A split file is damaged or does not match its recorded hash.
    #[error("{path}: {problem}")]
    BadSplit {
        /// The split file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A split puts one patient, or one duplicate group, in two parts.
    #[error("split leaks: {0}")]
    Leak(String),
    /// An error of the core (I/O, CSV).
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
