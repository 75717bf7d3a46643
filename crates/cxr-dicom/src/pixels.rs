//! Pixel data to stored sample values: the image pixel module's layout, checked before
//! any allocation, native frames, encapsulated frames and the codecs.

use std::borrow::Cow;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::codec;
use crate::error::{CodecError, Error, Result};
use crate::header::{Photometric, number_of_frames, text, ushort};
use crate::read::Opened;
use crate::scan::PixelValue;

/// The most samples (rows × columns × samples per pixel) one frame may declare:
/// 2²⁸, far above any radiograph (a 4,300 × 4,300 detector has 1.8·10⁷).
pub const MAX_PIXELS: u64 = 1 << 28;

/// Largest ratio of decoded frame bytes to encapsulated frame bytes accepted.
pub const MAX_EXPANSION: u64 = 1024;

/// The Image Pixel module attributes that shape the pixel data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub rows: u32,
    pub cols: u32,
    pub samples: u32,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    /// Planar Configuration 1 (colour by plane) — native colour only.
    pub planar: bool,
    pub frames: u32,
    pub photometric: Photometric,
}

impl Layout {
    /// Reads and checks the layout. Missing Type 1 attributes that have an obvious
    /// default (Samples per Pixel 1, Bits Stored = Bits Allocated, High Bit = Bits
    /// Stored − 1, Pixel Representation 0, MONOCHROME2) take it; Rows, Columns and Bits
    /// Allocated are required.
    pub fn read(obj: &InMemDicomObject, path: &Path) -> Result<Layout> {
        let missing = |name| Error::MissingAttribute {
            path: path.to_path_buf(),
            name,
        };
        let bad = |name, value: String| Error::BadAttribute {
            path: path.to_path_buf(),
            name,
            value,
        };
        let rows = ushort(obj, tags::ROWS).ok_or_else(|| missing("Rows"))?;
        let cols = ushort(obj, tags::COLUMNS).ok_or_else(|| missing("Columns"))?;
        if rows == 0 || cols == 0 {
            return Err(bad("Rows/Columns", format!("{rows}x{cols}")));
        }
        let samples = ushort(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        if samples != 1 && samples != 3 {
            return Err(Error::UnsupportedLayout {
                path: path.to_path_buf(),
                what: "SamplesPerPixel",
                value: samples.to_string(),
            });
        }
        let bits_allocated =
            ushort(obj, tags::BITS_ALLOCATED).ok_or_else(|| missing("BitsAllocated"))?;
        if bits_allocated != 8 && bits_allocated != 16 {
            return Err(Error::UnsupportedLayout {
                path: path.to_path_buf(),
                what: "BitsAllocated",
                value: bits_allocated.to_string(),
            });
        }
        let bits_stored = ushort(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(bad("BitsStored", bits_stored.to_string()));
        }
        let high_bit = ushort(obj, tags::HIGH_BIT).unwrap_or(bits_stored - 1);
        if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
            return Err(bad("HighBit", high_bit.to_string()));
        }
        let signed = match ushort(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) {
            0 => false,
            1 => true,
            v => return Err(bad("PixelRepresentation", v.to_string())),
        };
        let planar = samples == 3 && ushort(obj, tags::PLANAR_CONFIGURATION) == Some(1);
        let photometric = text(obj, tags::PHOTOMETRIC_INTERPRETATION)
            .map(|s| Photometric::parse(&s))
            .unwrap_or(Photometric::Monochrome2);
        match (&photometric, samples) {
            (Photometric::Monochrome1 | Photometric::Monochrome2, 1) => {}
            (
                Photometric::Rgb
                | Photometric::YbrFull
                | Photometric::YbrFull422
                | Photometric::YbrIct
                | Photometric::YbrRct
                | Photometric::YbrPartial420,
                3,
            ) => {}
            (p, _) => {
                return Err(Error::UnsupportedLayout {
                    path: path.to_path_buf(),
                    what: "PhotometricInterpretation",
                    value: format!("{p} with {samples} samples per pixel"),
                });
            }
        }
        let layout = Layout {
            rows: rows.into(),
            cols: cols.into(),
            samples: samples.into(),
            bits_allocated,
            bits_stored,
            high_bit,
            signed,
            planar,
            frames: number_of_frames(obj),
            photometric,
        };
        if layout.frame_samples() > MAX_PIXELS {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                rows: layout.rows,
                columns: layout.cols,
                samples: layout.samples,
            });
        }
        Ok(layout)
    }

    /// Samples in one frame.
    pub fn frame_samples(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.cols) * u64::from(self.samples)
    }

    /// The layout of the image with `levels` halvings of each side (rounded up), as a
    /// JPEG 2000 decoder returns it when asked to drop that many resolution levels.
    pub fn reduced(&self, levels: u32) -> Layout {
        Layout {
            rows: self.rows.div_ceil(1 << levels),
            cols: self.cols.div_ceil(1 << levels),
            ..self.clone()
        }
    }

    /// Bytes of one native frame.
    pub fn frame_bytes(&self) -> usize {
        // Bounded by MAX_PIXELS * 2, fits in usize on 32- and 64-bit targets.
        self.frame_samples() as usize * usize::from(self.bits_allocated / 8)
    }
}

/// Stored sample values of one frame, as the codec or the file gives them.
#[derive(Debug)]
pub(crate) enum Samples<'a> {
    /// One byte per sample.
    U8(Cow<'a, [u8]>),
    /// Two bytes per sample.
    U16(Cow<'a, [u16]>),
}

impl Samples<'_> {
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }
}

/// How the samples of a decoded frame are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrangement {
    /// One sample per pixel.
    Gray,
    /// RGB, pixel-interleaved.
    Rgb,
    /// RGB, colour-by-plane.
    RgbPlanar,
    /// YCbCr full range, pixel-interleaved.
    Ybr,
    /// YCbCr full range, colour-by-plane.
    YbrPlanar,
}

/// One decoded frame.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub samples: Samples<'a>,
    /// Right shift that brings the stored bits to bit 0 (`HighBit + 1 − BitsStored`
    /// for native data; codecs already return right-aligned values).
    pub shift: u32,
    pub arrangement: Arrangement,
}

/// What the transfer syntax asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Native,
    EncapsulatedUncompressed,
    Rle,
    Jpeg,
    JpegLs,
    Jpeg2000,
}

impl Syntax {
    pub fn from_uid(uid: &str) -> Option<Syntax> {
        Some(match uid {
            "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.2"
            | "1.2.840.10008.1.2.1.99" => Syntax::Native,
            "1.2.840.10008.1.2.1.98" => Syntax::EncapsulatedUncompressed,
            "1.2.840.10008.1.2.5" => Syntax::Rle,
            "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.57"
            | "1.2.840.10008.1.2.4.70" => Syntax::Jpeg,
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Syntax::JpegLs,
            "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203" => Syntax::Jpeg2000,
            _ => return None,
        })
    }
}

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
