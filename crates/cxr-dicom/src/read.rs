//! Opening a DICOM file: preamble and meta group, transfer syntax, deflate, the length
//! scan of [`crate::scan`], then the dicom-object parser for the elements before Pixel
//! Data. The pixel data stays where it was read and is decoded in place.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use dicom_encoding::{TransferSyntax, TransferSyntaxIndex};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::scan::{self, Encoding, PixelValue, ScanError};

/// Largest inflated data set accepted for the Deflated transfer syntax.
const MAX_INFLATED: u64 = 1 << 30;
/// First read in header-only mode; doubled while the scan asks for more.
const FIRST_READ: usize = 64 * 1024;

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// A parsed file.
pub(crate) struct Opened<'a> {
    pub ts_uid: String,
    /// Media Storage SOP Class UID (0002,0002) of the file meta group, trimmed.
    pub media_sop_class: String,
    /// The elements before Pixel Data.
    pub obj: InMemDicomObject,
    /// Whether a top-level Pixel Data element exists (known in both modes).
    pub has_pixel_data: bool,
    /// Where the Pixel Data value lies in [`Opened::data`] (full mode only).
    pub pixel: Option<PixelValue>,
    /// Byte order of the data set (big endian only for the retired syntax).
    pub big_endian: bool,
    /// The bytes read: the whole file, or the inflated data set of a deflated one.
    bytes: Cow<'a, [u8]>,
    /// Where the data set starts in `bytes`.
    data_start: usize,
}

impl Opened<'_> {
    /// The encoded data set (after the file meta group; inflated if it was deflated).
    pub fn data(&self) -> &[u8] {
        self.bytes.get(self.data_start..).unwrap_or_default()
    }

    /// The buffer the file was read into, for the next file.
    pub fn into_buffer(self) -> Option<Vec<u8>> {
        match self.bytes {
            Cow::Owned(v) => Some(v),
            Cow::Borrowed(_) => None,
        }
    }
}

/// How much of the file to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Everything before Pixel Data.
    Header,
    /// The whole file.
    Full,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads up to `n` more bytes of `file` into `buf`.
fn read_more(file: &mut File, buf: &mut Vec<u8>, n: usize, path: &Path) -> Result<()> {
    let start = buf.len();
    buf.resize(start + n, 0);
    let mut filled = start;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(path)(e)),
        }
    }
    buf.truncate(filled);
    Ok(())
}

pub(crate) fn open(path: &Path, mode: Mode) -> Result<Opened<'static>> {
    open_into(path, mode, Vec::new())
}

/// [`open`], reading into `bytes` (cleared first): a caller that opens many files
/// passes back the buffer of the last one ([`Opened::into_buffer`]) rather than
/// having a new one allocated and faulted in for each.
pub(crate) fn open_into(path: &Path, mode: Mode, mut bytes: Vec<u8>) -> Result<Opened<'static>> {
    bytes.clear();
    let mut file = File::open(path).map_err(io(path))?;
    let file_len = file.metadata().map_err(io(path))?.len();
    match mode {
        Mode::Full => {
            bytes
                .try_reserve_exact(usize::try_from(file_len).unwrap_or(usize::MAX))
                .map_err(|_| Error::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
                })?;
            file.read_to_end(&mut bytes).map_err(io(path))?;
        }
        Mode::Header => read_more(&mut file, &mut bytes, FIRST_READ, path)?,
    }
    let file_len = file_len.max(bytes.len() as u64);
    let mut next_read = FIRST_READ;
    loop {
        match parse(path, &bytes, file_len, mode) {
            Err(ParseStop::NeedMore) if (bytes.len() as u64) < file_len => {
                next_read = next_read.saturating_mul(2);
                read_more(&mut file, &mut bytes, next_read, path)?;
            }
            Err(ParseStop::NeedMore) => {
                return Err(Error::Malformed {
                    path: path.to_path_buf(),
                    defect: scan::Malformed {
                        offset: bytes.len() as u64,
                        tag: (0, 0),
                        declared: 0,
                        available: 0,
                        kind: scan::MalformedKind::TruncatedHeader,
                    },
                });
            }
            Err(ParseStop::Error(e)) => return Err(*e),
            Ok(p) => return Ok(p.opened(Cow::Owned(bytes))),
        }
    }
}

/// Parses DICOM bytes held in memory (the whole file). Used by the fuzz target and
/// tests; `path` only names the source in errors.
pub(crate) fn open_bytes<'a>(path: &Path, bytes: &'a [u8], mode: Mode) -> Result<Opened<'a>> {
    match parse(path, bytes, bytes.len() as u64, mode) {
        Ok(p) => Ok(p.opened(Cow::Borrowed(bytes))),
        Err(ParseStop::Error(e)) => Err(*e),
        Err(ParseStop::NeedMore) => Err(Error::Malformed {
            path: path.to_path_buf(),
            defect: scan::Malformed {
                offset: bytes.len() as u64,
                tag: (0, 0),
                declared: 0,
                available: 0,
                kind: scan::MalformedKind::TruncatedHeader,
            },
        }),
    }
}

enum ParseStop {
    NeedMore,
    Error(Box<Error>),
}

/// A scan that needs more of the file asks for it; a defect is the file's error.
fn scan_stop(path: &Path) -> impl Fn(ScanError) -> ParseStop + '_ {
    move |e| match e {
        ScanError::NeedMore => ParseStop::NeedMore,
        ScanError::Malformed(defect) => Error::Malformed {
            path: path.to_path_buf(),
            defect,
        }
        .into(),
    }
}

impl From<Error> for ParseStop {
    fn from(e: Error) -> Self {
        ParseStop::Error(Box::new(e))
    }
}

/// What [`parse`] found, apart from the bytes it parsed.
struct Parsed {
    ts_uid: String,
    media_sop_class: String,
    obj: InMemDicomObject,
    has_pixel_data: bool,
    pixel: Option<PixelValue>,
    big_endian: bool,
    /// The inflated data set of a deflated file.
    inflated: Option<Vec<u8>>,
    /// Where the data set starts in the file's bytes.
    data_start: usize,
}

impl Parsed {
    fn opened(self, file: Cow<'_, [u8]>) -> Opened<'_> {
        let (bytes, data_start) = match self.inflated {
            Some(v) => (Cow::Owned(v), 0),
            None => (file, self.data_start),
        };
        Opened {
            ts_uid: self.ts_uid,
            media_sop_class: self.media_sop_class,
            obj: self.obj,
            has_pixel_data: self.has_pixel_data,
            pixel: self.pixel,
            big_endian: self.big_endian,
            bytes,
            data_start,
        }
    }
}

fn parse(
    path: &Path,
    bytes: &[u8],
    file_len: u64,
    mode: Mode,
) -> std::result::Result<Parsed, ParseStop> {
    let not_dicom = || Error::NotDicom {
        path: path.to_path_buf(),
    };
    let meta_start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        128
    } else if bytes.len() >= 4 && &bytes[0..4] == b"DICM" {
        0
    } else if bytes.len() < 132 && (bytes.len() as u64) < file_len {
        return Err(ParseStop::NeedMore);
    } else {
        return Err(not_dicom().into());
    };
    scan::scan_meta(&bytes[meta_start + 4..], file_len - meta_start as u64 - 4)
        .map_err(scan_stop(path))?;
    let meta = FileMetaTable::from_reader(&bytes[meta_start..]).map_err(|source| {
        // A meta group cut by the end of a prefix buffer: read more.
        if (bytes.len() as u64) < file_len {
            ParseStop::NeedMore
        } else {
            Error::ReadMeta {
                path: path.to_path_buf(),
                source: Box::new(source),
            }
            .into()
        }
    })?;
    // "DICM" + (0002,0000) UL header and value = 4 + 12 bytes, then the group.
    let data_start = meta_start as u64 + 16 + u64::from(meta.information_group_length);
    if data_start > file_len {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            defect: scan::Malformed {
                offset: meta_start as u64 + 4,
                tag: (0x0002, 0x0000),
                declared: meta.information_group_length,
                available: file_len.saturating_sub(meta_start as u64 + 16),
                kind: scan::MalformedKind::ValueTooLong,
            },
        }
        .into());
    }
    let ts_uid = meta.transfer_syntax().to_owned();
    let unsupported = || Error::UnsupportedTransferSyntax {
        path: path.to_path_buf(),
        uid: ts_uid.clone(),
    };
    let registry_ts: &TransferSyntax = TransferSyntaxRegistry
        .get(&ts_uid)
        .ok_or_else(unsupported)?;
    let deflated = ts_uid == DEFLATED;
    let parse_ts: &TransferSyntax = if deflated {
        TransferSyntaxRegistry
            .get(EXPLICIT_VR_LE)
            .ok_or_else(unsupported)?
    } else {
        registry_ts
    };
    if !deflated && matches!(registry_ts.codec(), dicom_encoding::Codec::Dataset(_)) {
        return Err(unsupported().into());
    }
    let enc = Encoding {
        // Implicit VR Little Endian is the only implicit syntax of the standard.
        explicit: parse_ts.uid() != IMPLICIT_VR_LE,
        big_endian: parse_ts.endianness() == dicom_encoding::Endianness::Big,
    };
    let data_start = data_start as usize;
    let mut inflated = None;
    let (data, total): (&[u8], u64) = if deflated {
        if (bytes.len() as u64) < file_len {
            return Err(ParseStop::NeedMore);
        }
        let mut out = Vec::new();
        let body = bytes.get(data_start..).unwrap_or_default();
        flate2::read::DeflateDecoder::new(body)
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut out)
            .map_err(|source| Error::Decode {
                path: path.to_path_buf(),
                frame: 0,
                codec: "Deflate",
                source: crate::error::CodecError::Inflate(source),
            })?;
        if out.len() as u64 > MAX_INFLATED {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                rows: 0,
                columns: 0,
                samples: 0,
            }
            .into());
        }
        let n = out.len() as u64;
        (&inflated.insert(out)[..], n)
    } else {
        (
            bytes.get(data_start..).unwrap_or_default(),
            file_len - data_start as u64,
        )
    };
    let stop = mode == Mode::Header;
    let pixel_at = scan::scan(data, total, enc, stop).map_err(scan_stop(path))?;
    // The parser sees the elements before Pixel Data; the pixel data stays in `data`.
    let pixel = match (mode, pixel_at) {
        (Mode::Full, Some(at)) => Some(scan::pixel_value(data, at, enc).map_err(scan_stop(path))?),
        _ => None,
    };
    let parse_bytes = match pixel_at {
        Some(at) => &data[..at as usize],
        None => data,
    };
    let obj = InMemDicomObject::read_dataset_with_ts(parse_bytes, parse_ts).map_err(|source| {
        Error::ReadDataSet {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    })?;
    Ok(Parsed {
        ts_uid,
        media_sop_class: meta
            .media_storage_sop_class_uid()
            .trim_end_matches(['\0', ' '])
            .to_owned(),
        obj,
        has_pixel_data: pixel_at.is_some(),
        pixel,
        big_endian: enc.big_endian,
        inflated,
        data_start,
    })
}
