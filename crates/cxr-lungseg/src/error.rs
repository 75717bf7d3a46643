//! The errors of `cxr-lungseg`.

/// Errors of the segmenter's model, training and inference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid segmenter config: `{field}` ({detail})")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Training has no usable data (too few pairs for a validation set, no validation
    /// sample loaded).
    #[error("no usable data: {detail}")]
    NoData {
        /// What is missing.
        detail: String,
    },
    /// An image without pixels was given to the segmenter.
    #[error("image is {width}×{height}: nothing to segment")]
    EmptyImage {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A post-processing option is out of range, or a probability map does not fit.
    #[error(transparent)]
    Postprocess(#[from] crate::postprocess::PostprocessError),
    /// A quality-gate option is out of range.
    #[error(transparent)]
    Qc(#[from] crate::qc::QcOptionsError),
    /// Image, mask or CSV I/O.
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// A shard's journal cannot be used (`cxr_core::shard::Journal`).
    #[error(transparent)]
    Journal(#[from] cxr_core::shard::JournalError),
    /// An error of the training kit (checkpoints, JSON, I/O).
    #[error(transparent)]
    Nn(#[from] cxr_nn::Error),
    /// An error of another library running the network (the pure-Rust `cxr-infer`'s,
    /// through [`crate::LungSegmenter`]).
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// An error raised by libtorch.
    #[cfg(feature = "torch")]
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
