//! A length check over the encoded data set, run before the DICOM parser sees it.
//!
//! The parser trusts the value length each element header declares and reserves that
//! many bytes before reading them, so a 200-byte file that declares a 4 GiB value makes
//! it allocate 4 GiB. This walk visits every element header (descending into sequences,
//! items and encapsulated pixel data) and refuses any defined length that runs past the
//! end of its container, without reading or copying a value.
//!
//! The check is only as good as its agreement with the parser on where each header is
//! and how it reads: the walk follows dicom-rs's own tokeniser state by state (which
//! headers open and close sequences and items, the VR it gives each element under
//! implicit VR, how many bytes it consumes for a value) and refuses what would make the
//! two disagree, such as a UL of 6 bytes, of which dicom-rs reads 4.
//!
//! It also locates the Pixel Data value ([`pixel_value`]), which is then read in place
//! rather than copied by the parser.
//!
//! One concern per file: [`element`] reads one element header as dicom-rs does (and
//! holds the [`Encoding`] and the tags the walks look for), [`walk`] walks the data set
//! ([`scan`]), [`meta`] the file meta group ([`scan_meta`]), [`pixel`] locates the
//! Pixel Data value, and [`malformed`] says why a data set was refused.

mod element;
mod malformed;
mod meta;
mod pixel;
#[cfg(test)]
mod test_support;
mod walk;

pub(crate) use element::Encoding;
pub(crate) use malformed::ScanError;
pub use malformed::{Malformed, MalformedKind};
pub(crate) use meta::scan_meta;
pub(crate) use pixel::{PixelValue, pixel_value};
pub(crate) use walk::scan;
