//! The error type of `cxr-report`.

use std::path::PathBuf;

/// Errors of rendering, of writing the rendered files, and of the evaluate pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The predictions file could not be read or has bad rows.
    #[error(transparent)]
    Read(#[from] cxr_eval::ReadError),
    /// A statistic is undefined for these data.
    #[error("evaluating {path}")]
    Stats {
        /// The predictions file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: cxr_stats::Error,
    },
    /// A plot could not be drawn.
    #[error("cannot draw {what}")]
    Plot {
        /// Which plot.
        what: &'static str,
        /// What plotters said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A PNG could not be encoded.
    #[error("cannot encode {what} as PNG")]
    Encode {
        /// Which plot.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: image::ImageError,
    },
    /// `metrics.json` could not be serialised.
    #[error("cannot serialise metrics")]
    Json(#[from] serde_json::Error),
    /// An analysis's JSON file ([`crate::analysis`]) could not be serialised.
    #[error("cannot serialise {path} as JSON")]
    JsonFile {
        /// The file it was meant for.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// Data to draw that does not fit the picture (a map of the wrong size).
    #[error("cannot draw {what}: {detail}")]
    Shape {
        /// What was to be drawn.
        what: &'static str,
        /// How the data and the picture differ.
        detail: String,
    },
    /// The embedded font was refused.
    #[error("the embedded font is invalid")]
    Font,
    /// Writing an output file failed.
    #[error(transparent)]
    Write(#[from] cxr_core::Error),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
