//! The codecs, called directly (not through dicom-rs's adapters) so that every
//! codestream's declared size is checked against the DICOM header before decoding and
//! nothing indexes past a buffer on bad input.
//! [`Syntax`] names the codec a transfer syntax asks for.
//!
//! | syntax | codec |
//! |---|---|
//! | RLE Lossless | this module (PackBits), pure Rust |
//! | JPEG baseline, extended 8-bit, lossless (process 14, SV1) | `jpeg-decoder`, pure Rust |
//! | JPEG extended 12-bit (process 4) | [`crate::jpeg12`], pure Rust |
//! | JPEG-LS lossless / near-lossless | CharLS (C++, built from source by `charls-sys`) |
//! | JPEG 2000 (lossless, lossy, HTJ2K) | `jpeg2k` over `openjpeg-sys` (C OpenJPEG, vendored; see `docs/dicom.md` for why not the Rust port) |

use std::borrow::Cow;

use crate::error::CodecError;
use crate::frame::{Arrangement, Frame, Layout, Samples};

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

/// Human-readable codec name for errors.
pub(crate) fn name(s: Syntax) -> &'static str {
    match s {
        Syntax::Native => "native",
        Syntax::EncapsulatedUncompressed => "encapsulated uncompressed",
        Syntax::Rle => "RLE Lossless",
        Syntax::Jpeg => "JPEG",
        Syntax::JpegLs => "JPEG-LS",
        Syntax::Jpeg2000 => "JPEG 2000",
    }
}

fn mismatch(what: &'static str, got: u64, expected: u64) -> CodecError {
    CodecError::Mismatch {
        what,
        got,
        expected,
    }
}

/// Decodes one encapsulated frame into right-aligned samples. `levels` resolution levels
/// are dropped (JPEG 2000 only; the caller takes at most [`j2k_levels`]), so the frame
/// has the size of `layout.reduced(levels)`.
pub(crate) fn decode(
    data: &[u8],
    layout: &Layout,
    syntax: Syntax,
    levels: u32,
) -> Result<Frame<'static>, CodecError> {
    match syntax {
        Syntax::Native => unreachable_native(),
        Syntax::EncapsulatedUncompressed => {
            let need = layout.frame_bytes();
            let b = data
                .get(..need)
                .ok_or(mismatch("bytes", data.len() as u64, need as u64))?;
            let samples = if layout.bits_allocated == 8 {
                Samples::U8(Cow::Owned(b.to_vec()))
            } else {
                Samples::U16(Cow::Owned(
                    b.chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect(),
                ))
            };
            Ok(Frame {
                samples,
                shift: u32::from(layout.high_bit + 1 - layout.bits_stored),
                arrangement: color(layout, false),
            })
        }
        Syntax::Rle => rle(data, layout),
        Syntax::Jpeg => jpeg(data, layout),
        Syntax::JpegLs => jpeg_ls(data, layout),
        Syntax::Jpeg2000 => jpeg2000(data, layout, levels),
    }
}

#[cold]
fn unreachable_native() -> Result<Frame<'static>, CodecError> {
    Err(CodecError::MissingFragment)
}

/// Arrangement of decoded colour samples. Codecs that apply the colour transform
/// themselves (JPEG, JPEG 2000) return RGB; RLE and JPEG-LS keep the declared space.
fn color(layout: &Layout, transformed: bool) -> Arrangement {
    use crate::header::Photometric as P;
    if layout.samples == 1 {
        return Arrangement::Gray;
    }
    if transformed {
        return Arrangement::Rgb;
    }
    match layout.photometric {
        P::YbrFull | P::YbrFull422 => Arrangement::Ybr,
        _ => Arrangement::Rgb,
    }
}

// ---------------------------------------------------------------------------- RLE

/// RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15 segment offsets, one
/// PackBits segment per byte plane, most significant byte plane first.
fn rle(data: &[u8], layout: &Layout) -> Result<Frame<'static>, CodecError> {
    let header = data
        .get(..64)
        .ok_or(CodecError::Rle("fragment shorter than the RLE header"))?;
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let n_segments = word(0) as usize;
    let bytes_per_sample = usize::from(layout.bits_allocated / 8);
    let samples = layout.samples as usize;
    let expected = bytes_per_sample * samples;
    if n_segments != expected {
        return Err(mismatch(
            "RLE segment count",
            n_segments as u64,
            expected as u64,
        ));
    }
    let mut offsets: Vec<usize> = (0..n_segments).map(|i| word(4 + 4 * i) as usize).collect();
    offsets.push(data.len());
    let pixels = layout.rows as usize * layout.cols as usize;
    let mut planes: Vec<Vec<u8>> = Vec::with_capacity(n_segments);
    for s in 0..n_segments {
        let (a, b) = (offsets[s], offsets[s + 1]);
        if a < 64 || b < a || b > data.len() {
            return Err(CodecError::Rle(
                "RLE segment offsets out of order or out of range",
            ));
        }
        planes.push(packbits(&data[a..b], pixels)?);
    }
    let out = if bytes_per_sample == 1 {
        if samples == 1 {
            Samples::U8(Cow::Owned(planes.pop().unwrap_or_default()))
        } else {
            let mut v = vec![0u8; pixels * samples];
            for (c, plane) in planes.iter().enumerate() {
                for (i, &x) in plane.iter().enumerate() {
                    v[i * samples + c] = x;
                }
            }
            Samples::U8(Cow::Owned(v))
        }
    } else {
        let mut v = vec![0u16; pixels * samples];
        for c in 0..samples {
            let (hi, lo) = (&planes[2 * c], &planes[2 * c + 1]);
            for i in 0..pixels {
                v[i * samples + c] = u16::from(hi[i]) << 8 | u16::from(lo[i]);
            }
        }
        Samples::U16(Cow::Owned(v))
    };
    Ok(Frame {
        samples: out,
        shift: u32::from(layout.high_bit + 1 - layout.bits_stored),
        arrangement: color(layout, false),
    })
}

/// Decodes one PackBits segment into exactly `n` bytes (extra output is ignored, as
/// segments are padded to even length).
fn packbits(src: &[u8], n: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let Some(&h) = src.get(i) else {
            return Err(CodecError::Rle(
                "RLE segment decodes to fewer bytes than the frame",
            ));
        };
        i += 1;
        let h = h as i8;
        if h >= 0 {
            let len = h as usize + 1;
            let lit = src
                .get(i..i + len)
                .ok_or(CodecError::Rle("RLE literal run past the segment end"))?;
            out.extend_from_slice(lit);
            i += len;
        } else if h != -128 {
            let len = 1 - isize::from(h);
            let &b = src
                .get(i)
                .ok_or(CodecError::Rle("RLE replicate run past the segment end"))?;
            out.resize(out.len() + len as usize, b);
            i += 1;
        }
    }
    out.truncate(n);
    Ok(out)
}

// --------------------------------------------------------------------------- JPEG

fn jpeg(data: &[u8], layout: &Layout) -> Result<Frame<'static>, CodecError> {
    let mut dec = jpeg_decoder::Decoder::new(data);
    // Bounded by the DICOM header (checked against MAX_PIXELS) with room for colour.
    dec.set_max_decoding_buffer_size(layout.frame_samples() as usize * 2 + 1024);
    match dec.read_info() {
        Ok(()) => {}
        Err(jpeg_decoder::Error::Unsupported(
            jpeg_decoder::UnsupportedFeature::SamplePrecision(12),
        )) => return crate::jpeg12::decode(data, layout),
        Err(e) => return Err(e.into()),
    }
    let info = dec.info().ok_or(mismatch("JPEG header", 0, 1))?;
    check_dims(u32::from(info.width), u32::from(info.height), layout)?;
    let comps: u32 = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::L16 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        jpeg_decoder::PixelFormat::CMYK32 => 4,
    };
    if comps != layout.samples {
        return Err(mismatch("components", comps.into(), layout.samples.into()));
    }
    let pixels = dec.decode()?;
    let samples = match info.pixel_format {
        jpeg_decoder::PixelFormat::L16 => Samples::U16(Cow::Owned(
            pixels
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .collect(),
        )),
        _ => Samples::U8(Cow::Owned(pixels)),
    };
    Ok(Frame {
        samples,
        shift: 0,
        arrangement: color(layout, true),
    })
}

fn check_dims(width: u32, height: u32, layout: &Layout) -> Result<(), CodecError> {
    if width != layout.cols {
        return Err(mismatch("width", width.into(), layout.cols.into()));
    }
    if height != layout.rows {
        return Err(mismatch("height", height.into(), layout.rows.into()));
    }
    Ok(())
}

// ------------------------------------------------------------------------ JPEG-LS

fn jpeg_ls(data: &[u8], layout: &Layout) -> Result<Frame<'static>, CodecError> {
    let info = charls::CharLS::default().get_frame_info(data)?;
    check_dims(info.width, info.height, layout)?;
    if info.component_count as u32 != layout.samples {
        return Err(mismatch(
            "components",
            info.component_count.max(0) as u64,
            layout.samples.into(),
        ));
    }
    if !(2..=16).contains(&info.bits_per_sample) {
        return Err(mismatch(
            "bits per sample",
            info.bits_per_sample.max(0) as u64,
            16,
        ));
    }
    let out = charls::CharLS::default().decode(data)?;
    let n = layout.frame_samples() as usize;
    let samples = if info.bits_per_sample <= 8 {
        if out.len() < n {
            return Err(mismatch("bytes", out.len() as u64, n as u64));
        }
        Samples::U8(Cow::Owned(out[..n].to_vec()))
    } else {
        if out.len() < 2 * n {
            return Err(mismatch("bytes", out.len() as u64, 2 * n as u64));
        }
        Samples::U16(Cow::Owned(
            out[..2 * n]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect(),
        ))
    };
    Ok(Frame {
        samples,
        shift: 0,
        arrangement: color(layout, false),
    })
}

// ----------------------------------------------------------------------- JPEG 2000

/// Width, height and component count from the SIZ marker segment of a J2K codestream
/// (inside a JP2 wrapper if there is one), read before OpenJPEG allocates anything.
fn j2k_siz(data: &[u8]) -> Option<(u32, u32, u32)> {
    let start = data
        .windows(4)
        .take(4096)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    let s = data.get(start + 4..start + 4 + 38)?;
    let be32 = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    // Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2)
    let (x, y, xo, yo) = (be32(4), be32(8), be32(12), be32(16));
    let c = u32::from(u16::from_be_bytes([s[36], s[37]]));
    Some((x.checked_sub(xo)?, y.checked_sub(yo)?, c))
}

/// Wavelet decomposition levels of the main header's COD segment: how many resolution
/// levels a decoder can drop. 0 when there is no COD before the first tile.
pub(crate) fn j2k_levels(data: &[u8]) -> u32 {
    let Some(start) = data
        .windows(4)
        .take(4096)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
    else {
        return 0;
    };
    // Marker segments after SOC: marker(2) length(2, counting itself) body.
    let mut p = start + 2;
    while let Some(&[0xFF, m, l0, l1]) = data.get(p..p + 4) {
        match m {
            // COD: Scod(1) progression(1) layers(2) MCT(1), then NL.
            0x52 => return data.get(p + 9).map_or(0, |&nl| u32::from(nl)),
            0x90 | 0x93 | 0xD9 => return 0, // SOT, SOD, EOC: main header over
            _ => p += 2 + usize::from(u16::from_be_bytes([l0, l1])),
        }
    }
    0
}

fn jpeg2000(data: &[u8], layout: &Layout, levels: u32) -> Result<Frame<'static>, CodecError> {
    let (w, h, c) = j2k_siz(data).ok_or(mismatch("J2K SIZ marker", 0, 1))?;
    check_dims(w, h, layout)?;
    if c != layout.samples {
        return Err(mismatch("components", c.into(), layout.samples.into()));
    }
    let image = if levels == 0 {
        jpeg2k::Image::from_bytes(data)?
    } else {
        jpeg2k::Image::from_bytes_with(data, jpeg2k::DecodeParameters::new().reduce(levels))?
    };
    let layout = &layout.reduced(levels);
    let comps = image.components();
    if comps.len() != layout.samples as usize {
        return Err(mismatch(
            "components",
            comps.len() as u64,
            layout.samples.into(),
        ));
    }
    let pixels = layout.rows as usize * layout.cols as usize;
    for comp in comps {
        check_dims(comp.width(), comp.height(), layout)?;
        if comp.data().len() != pixels {
            return Err(mismatch("samples", comp.data().len() as u64, pixels as u64));
        }
    }
    let spp = comps.len();
    // Two's complement bit patterns, truncated to the allocated width; the stored
    // value is recovered by masking to Bits Stored and sign-extending.
    let samples = if layout.bits_allocated == 8 {
        let mut v = vec![0u8; pixels * spp];
        for (ci, comp) in comps.iter().enumerate() {
            for (i, &x) in comp.data().iter().enumerate() {
                v[i * spp + ci] = x as u8;
            }
        }
        Samples::U8(Cow::Owned(v))
    } else {
        let mut v = vec![0u16; pixels * spp];
        for (ci, comp) in comps.iter().enumerate() {
            for (i, &x) in comp.data().iter().enumerate() {
                v[i * spp + ci] = x as u16;
            }
        }
        Samples::U16(Cow::Owned(v))
    };
    Ok(Frame {
        samples,
        shift: 0,
        arrangement: color(layout, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_replicate() {
        // literal 3 bytes, replicate 4x 9, no-op, literal 1
        let src = [2, 1, 2, 3, 0xFD, 9, 0x80, 0, 7];
        assert_eq!(packbits(&src, 8).unwrap(), [1, 2, 3, 9, 9, 9, 9, 7]);
        assert!(packbits(&src, 9).is_err());
        assert!(packbits(&[5, 1, 2], 6).is_err());
    }

    #[test]
    fn siz_is_read_from_the_codestream() {
        let mut cs = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [128u32, 96, 0, 0, 128, 96, 0, 0] {
            cs.extend(v.to_be_bytes());
        }
        cs.extend([0, 1, 11, 1, 1]);
        assert_eq!(j2k_siz(&cs), Some((128, 96, 1)));
        assert_eq!(j2k_siz(&cs[..20]), None);
        // No COD before the end of the data: nothing can be dropped.
        assert_eq!(j2k_levels(&cs), 0);
        // A COM segment, then COD with 3 decomposition levels, then SOT.
        let siz_len = cs.len();
        cs.extend([0xFF, 0x64, 0, 5, 0, 1, b'x']);
        cs.extend([0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 3, 4, 4, 0, 0]);
        cs.extend([0xFF, 0x90, 0, 10]);
        assert_eq!(j2k_levels(&cs), 3);
        // COD after the first tile part belongs to a tile, not to the main header.
        cs.truncate(siz_len);
        cs.extend([0xFF, 0x90, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1]);
        cs.extend([0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 3, 4, 4, 0, 0]);
        assert_eq!(j2k_levels(&cs), 0);
    }
}
