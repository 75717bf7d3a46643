//! The error type of `cxr-dicom`.

use std::path::PathBuf;

pub use crate::scan::{Malformed, MalformedKind};

/// Errors of reading, decoding and converting DICOM files. Every variant that concerns
/// a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no `DICM` magic (at byte 128, or at byte 0 without a preamble).
    #[error("{path} is not a DICOM file (no DICM magic code)")]
    NotDicom {
        /// The file.
        path: PathBuf,
    },
    /// The file meta group (0002,xxxx) could not be read.
    #[error("cannot read the file meta group of {path}")]
    ReadMeta {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: Box<dicom_object::meta::Error>,
    },
    /// The data set is structurally broken (a length runs past its container…); found
    /// before any allocation the length would have caused.
    #[error("malformed data set in {path}: {defect}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and what.
        defect: Malformed,
    },
    /// The data set could not be parsed.
    #[error("cannot parse the data set of {path}")]
    ReadDataSet {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: Box<dicom_object::ReadError>,
    },
    /// The transfer syntax is unknown or its pixel data cannot be decoded here.
    #[error("{path}: unsupported transfer syntax {uid}")]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// Transfer syntax UID.
        uid: String,
    },
    /// The data set has no Pixel Data (7FE0,0010), and its SOP class says it should.
    #[error("{path} has no pixel data")]
    NoPixelData {
        /// The file.
        path: PathBuf,
    },
    /// The file is a DICOM object that holds no image by its nature: the DICOMDIR, a
    /// structured report, a presentation state… ([`crate::non_image_class`]). The batch
    /// converter lists it as skipped, not failed.
    #[error("{path} is a {what} (SOP Class {sop_class}), not an image")]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// What it is, in words.
        what: &'static str,
        /// Its SOP Class UID.
        sop_class: String,
    },
    /// A required attribute is absent.
    #[error("{path}: missing attribute {name}")]
    MissingAttribute {
        /// The file.
        path: PathBuf,
        /// Attribute keyword, e.g. `BitsStored`.
        name: &'static str,
    },
    /// An attribute holds a value this crate cannot use.
    #[error("{path}: invalid {name} `{value}`")]
    BadAttribute {
        /// The file.
        path: PathBuf,
        /// Attribute keyword.
        name: &'static str,
        /// The value found, as text.
        value: String,
    },
    /// A pixel layout that is valid DICOM but not handled here (e.g. PALETTE COLOR).
    #[error("{path}: unsupported pixel layout: {what} = {value}")]
    UnsupportedLayout {
        /// The file.
        path: PathBuf,
        /// Attribute keyword.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// The image declared is larger than [`crate::MAX_PIXELS`] or overflows memory
    /// arithmetic; refused before allocating.
    #[error("{path}: declared image of {rows}x{columns}x{samples} samples is too large")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Rows declared.
        rows: u32,
        /// Columns declared.
        columns: u32,
        /// Samples per pixel declared.
        samples: u32,
    },
    /// A frame index past the last frame was requested.
    #[error("{path}: frame {frame} requested, the file has {frames}")]
    FrameOutOfRange {
        /// The file.
        path: PathBuf,
        /// Frame asked for (0-based).
        frame: u32,
        /// Number of frames in the file.
        frames: u32,
    },
    /// The pixel data holds fewer bytes than the header declares.
    #[error(
        "{path}: pixel data of frame {frame} has {found} bytes, the header declares {expected}"
    )]
    PixelDataTooShort {
        /// The file.
        path: PathBuf,
        /// Frame (0-based).
        frame: u32,
        /// Bytes the header implies.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A compressed frame could not be decoded.
    #[error("{path}: cannot decode frame {frame} ({codec})")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Frame (0-based).
        frame: u32,
        /// Codec name, e.g. `JPEG 2000`.
        codec: &'static str,
        /// What the codec said.
        #[source]
        source: CodecError,
    },
    /// A lookup table (Modality LUT or VOI LUT Sequence) is unusable.
    #[error("{path}: bad {which}: {reason}")]
    BadLut {
        /// The file.
        path: PathBuf,
        /// `Modality LUT Sequence` or `VOI LUT Sequence`.
        which: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The VOI requested by the options does not exist in the file.
    #[error("{path}: {what} {index} requested, the file has {available}")]
    NoSuchVoi {
        /// The file.
        path: PathBuf,
        /// `window` or `VOI LUT`.
        what: &'static str,
        /// Index asked for (0-based).
        index: usize,
        /// How many the file has.
        available: usize,
    },
    /// Options failed validation.
    #[error("invalid option `{field}`: {reason}")]
    InvalidOption {
        /// The field, as in the serialised options.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Writing an output (PNG, manifest) failed.
    #[error("cannot write {path}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// What cxr-core said.
        #[source]
        source: Box<cxr_core::Error>,
    },
    /// The conversion manifest could not be written.
    #[error("cannot write the manifest {path}")]
    Csv {
        /// The manifest.
        path: PathBuf,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// The thread pool for a batch could not be built.
    #[error("cannot build a thread pool")]
    ThreadPool {
        /// What rayon said.
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// A batch's journal ([`cxr_core::shard::Journal`]) could not be read or appended to,
    /// or was made with other options.
    #[error(transparent)]
    Journal(#[from] cxr_core::shard::JournalError),
}

/// The error a codec reported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// jpeg-decoder (JPEG baseline, extended 8-bit, lossless).
    #[error(transparent)]
    Jpeg(#[from] jpeg_decoder::Error),
    /// This crate's 12-bit DCT decoder (JPEG extended, process 4).
    #[error("{0}")]
    Jpeg12(&'static str),
    /// OpenJPEG via jpeg2k.
    #[error(transparent)]
    Jpeg2000(#[from] jpeg2k::error::Error),
    /// CharLS (JPEG-LS).
    #[error(transparent)]
    JpegLs(#[from] charls::Error),
    /// This crate's RLE Lossless decoder.
    #[error("{0}")]
    Rle(&'static str),
    /// Deflate (zlib raw stream) of the data set.
    #[error(transparent)]
    Inflate(#[from] std::io::Error),
    /// A codec produced something other than what the DICOM header declares.
    #[error("decoded {what} is {got}, the header declares {expected}")]
    Mismatch {
        /// What was compared (`width`, `height`, `components`, `bytes`…).
        what: &'static str,
        /// Value found in the codestream.
        got: u64,
        /// Value the DICOM header declares.
        expected: u64,
    },
    /// Encapsulated pixel data has no fragment for the frame.
    #[error("no fragment for the frame")]
    MissingFragment,
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
