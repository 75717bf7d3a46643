//! The error type of `cxr-core`.

use std::path::PathBuf;

/// Errors of image I/O, atomic writes and manifest parsing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image file could not be opened or decoded.
    #[error("cannot read image {path}")]
    ReadImage {
        /// The image file.
        path: PathBuf,
        /// What the decoder said.
        #[source]
        source: image::ImageError,
    },
    /// An image file declares more pixels than [`crate::image_io::MAX_IMAGE_PIXELS`].
    #[error(
        "{path}: declares {width} × {height} pixels ({:.1} million), over the limit of \
         {:.1} million",
        megapixels(u64::from(*.width) * u64::from(*.height)),
        megapixels(*.max_pixels)
    )]
    ImageTooLarge {
        /// The image file.
        path: PathBuf,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit, in pixels.
        max_pixels: u64,
    },
    /// An image file ends before its pixels do (a download or copy cut short).
    #[error("{path}: truncated {format} file ({detail})")]
    TruncatedImage {
        /// The image file.
        path: PathBuf,
        /// Its format.
        format: &'static str,
        /// What is missing.
        detail: &'static str,
    },
    /// An image could not be encoded.
    #[error("cannot encode image {path}")]
    EncodeImage {
        /// The file being written.
        path: PathBuf,
        /// What the encoder said.
        #[source]
        source: image::ImageError,
    },
    /// A colour image where a radiograph was asked for ([`crate::LoadOptions::refuse_colour`]).
    #[error("{path}: a colour image ({:.0} % of its pixels are coloured), not a radiograph", coloured_share * 100.0)]
    ColourImage {
        /// The image file.
        path: PathBuf,
        /// Share of pixels whose channels differ by more than 24 levels.
        coloured_share: f64,
    },
    /// An image has a pixel layout this crate does not handle.
    #[error("unsupported pixel layout {layout} in {path}")]
    UnsupportedImage {
        /// The image file.
        path: PathBuf,
        /// The layout found, as the image crate names it.
        layout: String,
    },
    /// A file system operation failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file could not be read or written.
    #[error("CSV error in {path}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// The underlying error (it carries the line when it has one).
        #[source]
        source: csv::Error,
    },
    /// A required column is absent from a table's header.
    #[error("{path}: missing column `{column}`")]
    MissingColumn {
        /// The table file.
        path: PathBuf,
        /// The column name expected.
        column: String,
    },
    /// A field holds a value that cannot be parsed.
    #[error("{path}: line {line}, column `{column}`: {source}")]
    BadField {
        /// The table file.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// Column name.
        column: String,
        /// Why the value was refused.
        #[source]
        source: ParseError,
    },
    /// Two images that must have the same size do not.
    #[error("size mismatch: {what} is {got:?}, expected {expected:?}")]
    SizeMismatch {
        /// What was compared.
        what: &'static str,
        /// Size found (width, height).
        got: (u32, u32),
        /// Size expected (width, height).
        expected: (u32, u32),
    },
}

fn megapixels(n: u64) -> f64 {
    n as f64 / 1e6
}

/// A value of the shared vocabulary (label, source, view, sex, date…) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`{}", expected_suffix(.expected))]
pub struct ParseError {
    /// What was being parsed (`label`, `date`, …).
    pub kind: &'static str,
    /// The offending text.
    pub value: String,
    /// The accepted forms, if short enough to list.
    pub expected: &'static str,
}

fn expected_suffix(expected: &str) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!(" (expected {expected})")
    }
}

impl ParseError {
    pub(crate) fn new(kind: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
            expected,
        }
    }
}

/// `Result` with this crate's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error and its chain of sources on one line, `outer: cause: root cause`, so that a
/// table cell or a log line keeps why something failed ("cannot read x.png: truncated
/// file: unexpected end of file", not just "cannot read x.png"). A source whose text the
/// previous one already ends with is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
