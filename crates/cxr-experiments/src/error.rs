//! Errors of the experiments: every step's error, with the step named.

use std::path::PathBuf;

/// An experiment error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file or value is wrong.
    #[error("config {path}: {detail}")]
    Config {
        /// The file (or `<built-in>`).
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A step could not run (no usable images, no test patients, …).
    #[error("{step}: {detail}")]
    Step {
        /// The step.
        step: &'static str,
        /// Why.
        detail: String,
    },
    /// Core I/O (records, images, atomic writes).
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// Synthetic cohort.
    #[error(transparent)]
    Synth(#[from] cxr_synth::Error),
    /// Cohort assembly, splits, tables.
    #[error(transparent)]
    Cohort(#[from] cxr_cohort::Error),
    /// Statistics.
    #[error(transparent)]
    Stats(#[from] cxr_stats::Error),
    /// Probabilities that do not fit the classes (a predictions row).
    #[error(transparent)]
    Prediction(#[from] cxr_eval::ClassCountError),
    /// Evaluation and report rendering.
    #[error(transparent)]
    Report(#[from] cxr_report::Error),
    /// Segmenter.
    #[error(transparent)]
    Lungseg(#[from] cxr_lungseg::Error),
    /// The segmenter's mask sources (`[[segmenter.masks]]`) could not be read.
    #[error(transparent)]
    Masks(#[from] cxr_lungseg::masks::Error),
    /// Classifier.
    #[error(transparent)]
    Classifier(#[from] cxr_classifier::Error),
    /// Training kit (checkpoints, JSON).
    #[error(transparent)]
    Nn(#[from] cxr_nn::Error),
    /// libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
