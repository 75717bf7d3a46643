//! The error type of `cxr-stats`.

/// Errors of the statistics routines (inputs that make a quantity undefined).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer than the needed observations.
    #[error("{what}: need at least {needed} observations, got {got}")]
    TooFew {
        /// The quantity being computed.
        what: &'static str,
        /// The minimum.
        needed: usize,
        /// What was given.
        got: usize,
    },
    /// A binary quantity (ROC, AUC) was asked for with only one class present.
    #[error("{what}: only one class present ({positives} positives, {negatives} negatives)")]
    SingleClass {
        /// The quantity being computed.
        what: &'static str,
        /// Number of positives.
        positives: usize,
        /// Number of negatives.
        negatives: usize,
    },
    /// Two inputs that must have the same length do not.
    #[error("{what}: lengths differ ({left} vs {right})")]
    LengthMismatch {
        /// The quantity being computed.
        what: &'static str,
        /// First length.
        left: usize,
        /// Second length.
        right: usize,
    },
    /// A value is not finite or outside its domain.
    #[error("{what}: invalid value {value} ({expected})")]
    InvalidValue {
        /// The parameter or input concerned.
        what: &'static str,
        /// The value found.
        value: f64,
        /// What was expected.
        expected: &'static str,
    },
    /// Images grouped into one unit (patient or patient-day) carry different labels.
    #[error("{unit}: images of one unit carry different labels ({first} and {second})")]
    ConflictingLabels {
        /// The unit's key, as `patient` or `patient@date`.
        unit: String,
        /// The first label seen.
        first: &'static str,
        /// The conflicting label.
        second: &'static str,
    },
    // --- part B (hypothesis, design, missing, calibration) ---
    /// Every observation equals its group mean, so a standard error is zero and the
    /// statistic is undefined (0/0) or infinite.
    #[error("{what}: zero variance in every group, the statistic is undefined")]
    ZeroVariance {
        /// The quantity being computed.
        what: &'static str,
    },
    /// A contingency table has a row or column that sums to zero, so an expected
    /// frequency is zero.
    #[error("{what}: {axis} {index} of the table sums to zero")]
    EmptyMargin {
        /// The quantity being computed.
        what: &'static str,
        /// `"row"` or `"column"`.
        axis: &'static str,
        /// Zero-based index of the empty row or column.
        index: usize,
    },
    /// A table, matrix or row does not have the shape the routine needs.
    #[error("{what}: bad shape ({expected}), got {rows}x{cols}")]
    BadShape {
        /// The quantity being computed.
        what: &'static str,
        /// What was expected.
        expected: &'static str,
        /// Rows found.
        rows: usize,
        /// Columns found (of the offending row for ragged input).
        cols: usize,
    },
    /// A matrix that must be positive definite (a covariance, a Fisher information) is
    /// singular or indefinite.
    #[error("{what}: matrix is singular or not positive definite")]
    Singular {
        /// The quantity being computed.
        what: &'static str,
    },
    /// An iterative procedure did not converge.
    #[error("{what}: no convergence after {iterations} iterations")]
    NoConvergence {
        /// The quantity being computed.
        what: &'static str,
        /// Iterations done.
        iterations: usize,
    },
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
