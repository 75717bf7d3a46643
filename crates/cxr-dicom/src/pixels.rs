//! Pixel data to stored sample values: native frames read in place, encapsulated
//! frames split into fragments and handed to the codecs. The layout and the decoded
//! frame types live in the crate's `frame` module, below this one and the codecs.

use std::borrow::Cow;
use std::path::Path;

use crate::codec::{self, Syntax};
use crate::error::{CodecError, Error, Result};
pub use crate::frame::MAX_PIXELS;
use crate::frame::{Arrangement, Frame, Layout, Samples};
use crate::header::Photometric;
use crate::read::Opened;
use crate::scan::PixelValue;

/// Largest ratio of decoded frame bytes to encapsulated frame bytes accepted.
pub const MAX_EXPANSION: u64 = 1024;

/// Native pixel data: grayscale, RGB or YBR_FULL (the subsampled and JPEG 2000
/// colour spaces only occur with compression, where the codec converts them).
fn native_arrangement(layout: &Layout, path: &Path) -> Result<Arrangement> {
    Ok(match (&layout.photometric, layout.planar) {
        (p, _) if p.is_monochrome() => Arrangement::Gray,
        (Photometric::YbrFull, false) => Arrangement::Ybr,
        (Photometric::YbrFull, true) => Arrangement::YbrPlanar,
        (Photometric::Rgb, false) => Arrangement::Rgb,
        (Photometric::Rgb, true) => Arrangement::RgbPlanar,
        (p, _) => {
            return Err(Error::UnsupportedLayout {
                path: path.to_path_buf(),
                what: "PhotometricInterpretation",
                value: format!("{p} in native pixel data"),
            });
        }
    })
}

/// Decodes frame `frame` of an opened data set. A JPEG 2000 frame drops up to `reduce`
/// resolution levels; returns the frame and the levels dropped (its size is
/// `layout.reduced(levels)`). Native samples are read in place where their byte order
/// and alignment allow.
pub(crate) fn decode_frame<'a>(
    opened: &'a Opened<'_>,
    layout: &Layout,
    frame: u32,
    reduce: u32,
    path: &Path,
) -> Result<(Frame<'a>, u32)> {
    let ts_uid = opened.ts_uid.as_str();
    let big_endian = opened.big_endian;
    let syntax = Syntax::from_uid(ts_uid).ok_or_else(|| Error::UnsupportedTransferSyntax {
        path: path.to_path_buf(),
        uid: ts_uid.to_owned(),
    })?;
    if frame >= layout.frames {
        return Err(Error::FrameOutOfRange {
            path: path.to_path_buf(),
            frame,
            frames: layout.frames,
        });
    }
    let pixel = opened.pixel.as_ref().ok_or_else(|| Error::NoPixelData {
        path: path.to_path_buf(),
    })?;
    let data = opened.data();
    let frame_bytes = layout.frame_bytes();
    let too_short = |found: usize| Error::PixelDataTooShort {
        path: path.to_path_buf(),
        frame,
        expected: frame_bytes,
        found,
    };
    match (pixel, syntax) {
        (PixelValue::Native(value), Syntax::Native) => {
            let value = &data[value.clone()];
            let start = frame_bytes * frame as usize;
            let b = value
                .get(start..start + frame_bytes)
                .ok_or_else(|| too_short(value.len().saturating_sub(start)))?;
            let samples = if layout.bits_allocated == 8 {
                // One byte per sample, in file order whatever the VR (OB or OW).
                Samples::U8(Cow::Borrowed(b))
            } else {
                Samples::U16(u16_samples(b, big_endian))
            };
            Ok((
                Frame {
                    samples,
                    shift: u32::from(layout.high_bit + 1 - layout.bits_stored),
                    arrangement: native_arrangement(layout, path)?,
                },
                0,
            ))
        }
        (
            PixelValue::Encapsulated {
                offset_table,
                fragments,
            },
            s,
        ) if s != Syntax::Native => {
            let offsets: Vec<u32> = data[offset_table.clone()]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let fragments: Vec<&[u8]> = fragments.iter().map(|r| &data[r.clone()]).collect();
            let data =
                frame_fragments(&fragments, &offsets, layout, frame, s).ok_or_else(|| {
                    Error::Decode {
                        path: path.to_path_buf(),
                        frame,
                        codec: codec::name(s),
                        source: CodecError::MissingFragment,
                    }
                })?;
            // Decompression-bomb guard: a frame may expand at most 1024-fold, with a
            // 64 MiB floor so that blank or near-blank frames (which JPEG-LS and
            // JPEG 2000 squeeze to a few hundred bytes) of any radiograph size pass.
            let bound = (data.len() as u64)
                .saturating_mul(MAX_EXPANSION)
                .max(64 << 20);
            if frame_bytes as u64 > bound {
                return Err(Error::TooLarge {
                    path: path.to_path_buf(),
                    rows: layout.rows,
                    columns: layout.cols,
                    samples: layout.samples,
                });
            }
            let levels = match s {
                Syntax::Jpeg2000 => reduce.min(codec::j2k_levels(&data)),
                _ => 0,
            };
            let decoded =
                codec::decode(&data, layout, s, levels).map_err(|source| Error::Decode {
                    path: path.to_path_buf(),
                    frame,
                    codec: codec::name(s),
                    source,
                })?;
            let layout = &layout.reduced(levels);
            if decoded.samples.len() as u64 != layout.frame_samples() {
                return Err(Error::Decode {
                    path: path.to_path_buf(),
                    frame,
                    codec: codec::name(s),
                    source: CodecError::Mismatch {
                        what: "sample count",
                        got: decoded.samples.len() as u64,
                        expected: layout.frame_samples(),
                    },
                });
            }
            Ok((decoded, levels))
        }
        _ => Err(Error::BadAttribute {
            path: path.to_path_buf(),
            name: "PixelData",
            value: format!(
                "{} pixel data under transfer syntax {ts_uid}",
                if matches!(pixel, PixelValue::Encapsulated { .. }) {
                    "encapsulated"
                } else {
                    "native"
                }
            ),
        }),
    }
}

/// 16-bit samples: borrowed when the data and this machine are both little endian and
/// the bytes are 2-aligned (as a value at an even offset of a heap buffer is),
/// else copied.
fn u16_samples(b: &[u8], big_endian: bool) -> Cow<'_, [u16]> {
    if !big_endian
        && cfg!(target_endian = "little")
        && let Ok(w) = bytemuck::try_cast_slice(b)
    {
        return Cow::Borrowed(w);
    }
    Cow::Owned(words(b, big_endian))
}

fn words(b: &[u8], big_endian: bool) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| {
            if big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect()
}

/// The bytes of one frame of encapsulated pixel data: one fragment per frame, all
/// fragments for a single frame, the Basic Offset Table, or (without one) a split at
/// fragments that start a new codestream.
fn frame_fragments<'a>(
    fragments: &[&'a [u8]],
    offsets: &[u32],
    layout: &Layout,
    frame: u32,
    syntax: Syntax,
) -> Option<Cow<'a, [u8]>> {
    let f = frame as usize;
    let n = layout.frames as usize;
    if fragments.is_empty() {
        return None;
    }
    if fragments.len() == n {
        return Some(Cow::Borrowed(fragments[f]));
    }
    if n == 1 {
        return Some(Cow::Owned(fragments.concat()));
    }
    if offsets.len() == n {
        let start = u64::from(offsets[f]);
        let end = offsets.get(f + 1).map_or(u64::MAX, |&o| u64::from(o));
        let mut pos = 0u64;
        let mut out = Vec::new();
        for frag in fragments {
            if pos >= start && pos < end {
                out.extend_from_slice(frag);
            }
            pos += 8 + frag.len() as u64;
        }
        return (!out.is_empty()).then_some(Cow::Owned(out));
    }
    let starts = |frag: &[u8]| match syntax {
        Syntax::Jpeg | Syntax::JpegLs => frag.starts_with(&[0xFF, 0xD8]),
        Syntax::Jpeg2000 => {
            frag.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) || frag.get(4..8) == Some(b"jP  ")
        }
        _ => false,
    };
    let mut current: Option<Vec<u8>> = None;
    let mut index = 0usize;
    for frag in fragments {
        if starts(frag) {
            if let Some(done) = current.take() {
                if index == f {
                    return Some(Cow::Owned(done));
                }
                index += 1;
            }
            current = Some(frag.to_vec());
        } else if let Some(c) = current.as_mut() {
            c.extend_from_slice(frag);
        }
    }
    (index == f).then_some(current.map(Cow::Owned)).flatten()
}
