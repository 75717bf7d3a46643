//! The error type of the mask readers.

use std::path::PathBuf;

/// Errors of the mask readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error("I/O error on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image or mask file could not be decoded.
    #[error("cannot read {path}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the image loader said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A generic mask holds a value that is none of the configured [`MaskValues`].
    ///
    /// [`MaskValues`]: super::MaskValues
    #[error("{path}: unexpected mask value {value} at ({x}, {y})")]
    UnexpectedValue {
        /// The mask file.
        path: PathBuf,
        /// The value found.
        value: u8,
        /// Column of the first pixel holding it.
        x: u32,
        /// Row of the first pixel holding it.
        y: u32,
    },
    /// A generic mask where too many pixels are neither background, lung nor ignore:
    /// a photograph or a probability map, not a mask.
    #[error(
        "{path}: {share:.1} % of the pixels are neither background, lung nor ignore \
         (at most {max:.0} % may be soft edges): not a lung mask"
    )]
    NotAMask {
        /// The mask file.
        path: PathBuf,
        /// Percentage of such pixels.
        share: f64,
        /// The largest percentage accepted.
        max: f64,
    },
    /// A raw JSRT file's size is not that of a square 16-bit image.
    #[error("{path}: {len} bytes is not a square 16-bit raw image (JSRT: 2048 × 2048 × 2)")]
    RawSize {
        /// The raw file.
        path: PathBuf,
        /// Its length in bytes.
        len: u64,
    },
    /// Two files that must have the same size (or aspect ratio) do not.
    #[error("{path}: size {got:?} does not match {expected:?}")]
    SizeMismatch {
        /// The file whose size is wrong.
        path: PathBuf,
        /// Its size (width, height).
        got: (u32, u32),
        /// The size expected (width, height).
        expected: (u32, u32),
    },
    /// A mask table (CheXmask's CSV) cannot be read, or lacks a column; names the file
    /// and the line.
    #[error(transparent)]
    Table(Box<cxr_core::ScanError>),
    /// The dataset's expected folder is absent.
    #[error("{path}: expected folder not found ({what})")]
    MissingFolder {
        /// The folder looked for.
        path: PathBuf,
        /// What it should hold.
        what: &'static str,
    },
}

/// `Result` with this module's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
