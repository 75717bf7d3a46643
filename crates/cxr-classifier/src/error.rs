//! The errors of `cxr-classifier`.

/// Errors of the classifier's model, weights, training and inference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field is out of range.
    #[error("invalid classifier config: `{field}` ({detail})")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A weights file does not fit the network.
    #[error("weights {path}: {detail}")]
    Weights {
        /// The weights file.
        path: std::path::PathBuf,
        /// What does not fit (names the tensor).
        detail: String,
    },
    /// An image and its lung mask do not have the same size.
    #[error("{path}: lung mask is {mask:?} but the image is {image:?}")]
    MaskSize {
        /// The image (or mask) file.
        path: std::path::PathBuf,
        /// Image width and height.
        image: (u32, u32),
        /// Mask width and height.
        mask: (u32, u32),
    },
    /// An input file could not be read.
    #[error("{path}: {source}")]
    Input {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Training has no usable data (no training examples, no validation sample loaded).
    #[error("no usable data: {detail}")]
    NoData {
        /// What is missing.
        detail: String,
    },
    /// A class index or a probability vector does not fit the label set (healthy, covid,
    /// bacterial).
    #[error("{what} does not fit the {expected} classes (healthy, covid, bacterial)")]
    Classes {
        /// What was given (`class 5`, `2 probabilities`).
        what: String,
        /// Classes of the label set (3).
        expected: usize,
    },
    /// An example whose record is not in the list it should be matched against.
    #[error("{key} ({}) has no record", path.display())]
    MissingRecord {
        /// The example's key.
        key: cxr_core::ImageKey,
        /// Its image.
        path: std::path::PathBuf,
    },
    /// An error of the core (image and manifest I/O).
    #[error(transparent)]
    Core(#[from] cxr_core::Error),
    /// An error of the training kit (checkpoints, JSON, I/O).
    #[error(transparent)]
    Nn(#[from] cxr_nn::Error),
    /// An error of the segmenter.
    #[error(transparent)]
    Lungseg(#[from] cxr_lungseg::Error),
    /// A batch's journal ([`cxr_core::shard::Journal`]) could not be read or appended to,
    /// or was made with another model or gate.
    #[error(transparent)]
    Journal(#[from] cxr_core::shard::JournalError),
    /// An error raised by libtorch.
    #[cfg(feature = "torch")]
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl From<cxr_eval::ClassCountError> for Error {
    fn from(e: cxr_eval::ClassCountError) -> Self {
        Error::Classes {
            what: format!("{} probabilities for {}", e.got, e.path.display()),
            expected: cxr_core::Label::COUNT,
        }
    }
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
