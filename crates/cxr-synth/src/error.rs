//! The error type of `cxr-synth`.

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid synth config: `{field}` = {value}")]
    InvalidConfig {
        /// The field's path (`difficulty.occult_fraction`).
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A cohort plan is unusable (a source listed twice, no patients, counts or images
    /// per patient out of range).
    #[error("invalid cohort plan: `{field}` ({detail})")]
    InvalidPlan {
        /// The field (`images_per_patient`, `covid`, `sources`).
        field: &'static str,
        /// What is wrong, naming the source.
        detail: String,
    },
    /// Writing the cohort failed.
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
}
