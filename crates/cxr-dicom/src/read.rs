//! Opening a DICOM file: preamble and meta group, transfer syntax, deflate, the length
//! scan of [`crate::scan`], then the dicom-object parser.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use dicom_encoding::{TransferSyntax, TransferSyntaxIndex};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::scan::{self, Encoding, ScanError};

/// Largest inflated data set accepted for the Deflated transfer syntax.
const MAX_INFLATED: u64 = 1 << 30;
/// First read in header-only mode; doubled while the scan asks for more.
const FIRST_READ: usize = 64 * 1024;

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// A parsed file.
pub(crate) struct Opened {
    pub ts_uid: String,
    pub obj: InMemDicomObject,
    /// Whether a top-level Pixel Data element exists (known in both modes).
    pub has_pixel_data: bool,
    /// Byte order of the data set (big endian only for the retired syntax).
    pub big_endian: bool,
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

pub(crate) fn open(path: &Path, mode: Mode) -> Result<Opened> {
    let mut file = File::open(path).map_err(io(path))?;
    let file_len = file.metadata().map_err(io(path))?.len();
    let mut bytes = Vec::new();
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
            Ok(o) => return Ok(o),
        }
    }
}

/// Parses DICOM bytes held in memory (the whole file). Used by the fuzz target and
/// tests; `path` only names the source in errors.
pub(crate) fn open_bytes(path: &Path, bytes: &[u8], mode: Mode) -> Result<Opened> {
    match parse(path, bytes, bytes.len() as u64, mode) {
        Ok(o) => Ok(o),
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

impl From<Error> for ParseStop {
    fn from(e: Error) -> Self {
        ParseStop::Error(Box::new(e))
    }
}

fn parse(
    path: &Path,
    bytes: &[u8],
    file_len: u64,
    mode: Mode,
) -> std::result::Result<Opened, ParseStop> {
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
    match scan::scan_meta(&bytes[meta_start + 4..], file_len - meta_start as u64 - 4) {
        Ok(()) => {}
        Err(ScanError::NeedMore) => return Err(ParseStop::NeedMore),
        Err(ScanError::Malformed(defect)) => {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                defect,
            }
            .into());
        }
    }
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
    let inflated;
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
        inflated = out;
        (&inflated[..], inflated.len() as u64)
    } else {
        (
            bytes.get(data_start..).unwrap_or_default(),
            file_len - data_start as u64,
        )
    };
    let stop = mode == Mode::Header;
    let pixel_at = match scan::scan(data, total, enc, stop) {
        Ok(p) => p,
        Err(ScanError::NeedMore) => return Err(ParseStop::NeedMore),
        Err(ScanError::Malformed(defect)) => {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                defect,
            }
            .into());
        }
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
    let has_pixel_data =
        pixel_at.is_some() || obj.get(dicom_dictionary_std::tags::PIXEL_DATA).is_some();
    Ok(Opened {
        ts_uid,
        obj,
        has_pixel_data,
        big_endian: enc.big_endian,
    })
}
