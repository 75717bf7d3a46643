//! The errors of `cxr-eval`: reading a predictions file ([`ReadError`], every bad row
//! with its line and column) and building a row ([`ClassCountError`]). The metrics
//! return `cxr_stats::Error`.

use std::path::PathBuf;

use cxr_core::Label;

use crate::predictions::{REQUIRED_COLUMNS, SUM_TOLERANCE};

/// Probabilities that are not one per class.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{got} probabilities for {} does not fit the {} classes (healthy, covid, bacterial)", path.display(), Label::COUNT)]
pub struct ClassCountError {
    /// The image.
    pub path: PathBuf,
    /// How many values came.
    pub got: usize,
}

/// What is wrong with one row of a predictions CSV.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RowProblemKind {
    /// The field is empty or the row is too short.
    #[error("missing value")]
    Missing,
    /// The field cannot be parsed (label, date).
    #[error("{0}")]
    Parse(#[from] cxr_core::ParseError),
    /// A probability is not a number.
    #[error("`{0}` is not a number")]
    NotANumber(String),
    /// A probability is outside `[0, 1]` (or not finite).
    #[error("probability {0} outside [0, 1]")]
    OutOfRange(f64),
    /// The three probabilities do not sum to 1.
    #[error("probabilities sum to {0}, not 1 (tolerance {SUM_TOLERANCE})")]
    BadSum(f64),
    /// The image id was already seen on an earlier line.
    #[error("image `{image}` already listed on line {first_line}")]
    DuplicateImage {
        /// The image id.
        image: String,
        /// Where it was first seen.
        first_line: u64,
    },
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}{}: {kind}", column.map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct RowProblem {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The column, when the problem is in one field.
    pub column: Option<&'static str>,
    /// What is wrong.
    #[source]
    pub kind: RowProblemKind,
}

/// Why a predictions CSV could not be read.
///
/// Separate from `cxr_stats::Error`, which is `Clone + PartialEq` for the pure statistics
/// and cannot hold an I/O error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or is not valid CSV.
    #[error("cannot read predictions {path}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error (with its position when it has one).
        #[source]
        source: csv::Error,
    },
    /// A required column is absent from the header.
    #[error("{path}: missing column `{column}` (required: {})", REQUIRED_COLUMNS.join(","))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// The file has a header but no rows.
    #[error("{path}: no prediction rows")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Some rows are bad; nothing was evaluated.
    #[error("{path}: {} bad row(s): {}", problems.len(), summarize(problems))]
    BadRows {
        /// The file.
        path: PathBuf,
        /// Every bad row, in file order.
        problems: Vec<RowProblem>,
    },
}

fn summarize(problems: &[RowProblem]) -> String {
    let mut s: Vec<String> = problems.iter().take(5).map(ToString::to_string).collect();
    if problems.len() > 5 {
        s.push(format!("… and {} more", problems.len() - 5));
    }
    s.join("; ")
}
