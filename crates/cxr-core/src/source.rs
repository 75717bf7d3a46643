//! The [`Source`] trait: one public dataset's on-disk layout turned into records and
//! exclusions, without decoding a pixel.

use std::path::{Path, PathBuf};

use crate::record::{Exclusion, ImageRecord};
use crate::vocab::SourceId;

/// What scanning a source's root folder yields. Every row or file the source lists ends
/// up in exactly one of `records` and `exclusions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Usable images.
    pub records: Vec<ImageRecord>,
    /// Everything else, with the reason.
    pub exclusions: Vec<Exclusion>,
}

impl Scan {
    /// Number of items seen (records plus exclusions).
    pub fn items(&self) -> usize {
        self.records.len() + self.exclusions.len()
    }

    /// Adds another scan's results (e.g. a second subset of the same source).
    pub fn extend(&mut self, other: Scan) {
        self.records.extend(other.records);
        self.exclusions.extend(other.exclusions);
    }
}

/// Errors that stop a scan as a whole (a row-level problem is an exclusion instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The root folder, or a file the layout requires, is not there.
    #[error("{source_id}: expected {what} at {path}")]
    MissingLayout {
        /// The source.
        source_id: SourceId,
        /// What was expected (`metadata.csv`, `CXR_png/`).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A metadata table is malformed as a whole (wrong delimiter, missing column, bad
    /// encoding).
    #[error("{path}: {problem}{}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Table {
        /// The table.
        path: PathBuf,
        /// 1-based line, when the problem has one.
        line: Option<u64>,
        /// What is wrong.
        problem: String,
    },
    /// An error from a lower layer (CSV, DICOM, core I/O), kept as its source.
    #[error("{path}")]
    Other {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// A public data source: knows its on-disk layout and metadata vocabulary.
///
/// Required: [`id`](Source::id) and [`scan`](Source::scan). Implementations read
/// metadata and check that image files exist; they never decode pixels.
pub trait Source: Send + Sync {
    /// Which source this adapter reads.
    fn id(&self) -> SourceId;

    /// Reads the source laid out under `root`.
    fn scan(&self, root: &Path) -> Result<Scan, ScanError>;

    /// Human-readable name.
    fn name(&self) -> &'static str {
        self.id().display_name()
    }
}
