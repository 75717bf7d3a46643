//! The shape of one frame: the Image Pixel module's layout, checked before any
//! allocation, and the stored sample values a frame decodes to. Shared by the frame
//! reader (`pixels`), the codecs (`codec`, `jpeg12`) and the LUTs (`lut`), and below
//! all of them: it uses none of them.

use std::borrow::Cow;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::error::{Error, Result};
use crate::header::{Photometric, number_of_frames, text, ushort};

/// The most samples (rows × columns × samples per pixel) one frame may declare:
/// 2²⁸, far above any radiograph (a 4,300 × 4,300 detector has 1.8·10⁷).
pub const MAX_PIXELS: u64 = 1 << 28;

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
