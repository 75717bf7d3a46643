//! Grayscale image loading and saving.
//!
//! Loading accepts the raster formats radiographs are exported in ([`RASTER_FORMATS`]:
//! PNG, JPEG, TIFF, BMP and WebP; 8- and 16-bit grayscale, RGB(A) and palette images)
//! and returns an 8-bit [`GrayImage`] with **bright bone**, the way every model here was
//! trained. A TIFF stored WhiteIsZero (its Photometric Interpretation 0, the TIFF form
//! of DICOM's MONOCHROME1) declares its polarity and is shown bone bright by its
//! decoder. A PNG or JPEG has no such field: one kept with MONOCHROME1 polarity (as
//! BIMCV-COVID19+ ships some) is inverted when [`LoadOptions::invert`] says so; the
//! adapters record that per image (the `invert` extra, read by
//! [`crate::ImageRecord::load_options`]). DICOM files carry their own Photometric
//! Interpretation and are converted by `cxr-dicom`, which applies it.
//!
//! An EXIF Orientation tag (a JPEG's APP1 segment, a PNG's eXIf chunk, a TIFF's own
//! Orientation tag: what a phone or a viewer's export writes when it stores the pixels
//! sideways) is applied, so that the image comes back the way browsers, PACS viewers
//! and Pillow's `ImageOps.exif_transpose` show it, and the way its reader saw it;
//! [`LoadOptions::ignore_exif_orientation`] keeps the stored layout.
//!
//! The file's header is read before its pixels: an image declaring more than
//! [`MAX_IMAGE_PIXELS`] pixels is refused ([`Error::ImageTooLarge`]) before any
//! allocation, so a 60,000 × 60,000 "decompression bomb" costs nothing.
//!
//! Saving writes an 8-bit grayscale PNG atomically, with no metadata chunks.

use std::io::Write;
use std::path::Path;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader};
pub use image::{GrayImage, ImageBuffer, Luma};

use crate::atomic::{Staged, stage, write_atomic};
use crate::error::{Error, Result};

/// How 16-bit samples become 8-bit ones.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SixteenToEight {
    /// Stretch the image's own minimum..maximum to 0..255. PadChest's 16-bit PNGs use
    /// varying parts of the range (often 12 bits), so this is the default.
    #[default]
    MinMax,
    /// Map 0..65535 linearly to 0..255 (`round(v / 257)`), as torchxrayvision does.
    FullRange,
}

/// Options for [`load_gray_with`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadOptions {
    /// 16-bit to 8-bit mapping.
    pub sixteen_bit: SixteenToEight,
    /// The file stores MONOCHROME1 polarity (bright = air): invert it (`255 − v` after
    /// the 8-bit mapping), so that bone is bright.
    pub invert: bool,
    /// Refuse a colour image ([`Error::ColourImage`]) instead of converting it to luma.
    /// An RGB file whose three channels agree (within JPEG's chroma noise: a spread
    /// over 24 levels on fewer than 1 % of the pixels, which lets a coloured
    /// annotation pass) is gray and accepted: many public radiographs are stored so.
    pub refuse_colour: bool,
    /// Keep the pixels as stored, ignoring an EXIF Orientation tag. By default the image
    /// is turned and mirrored as the tag says, the way viewers show it.
    pub ignore_exif_orientation: bool,
}

impl LoadOptions {
    /// Default options, inverting when `invert`.
    pub fn inverted(invert: bool) -> Self {
        LoadOptions {
            invert,
            ..LoadOptions::default()
        }
    }
}

/// The largest image [`load_gray`] decodes: 100 million pixels (10,000 × 10,000; the
/// largest radiographs, scanned films included, are under 60 million).
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;

/// The raster formats [`load_gray`] reads, in words, for messages.
pub const RASTER_FORMATS: &str = "PNG, JPEG, TIFF, BMP or WebP";

/// Which files of a folder a tool takes as images, and how it reads them: what a folder
/// tool (`cxr_lungseg::segment_dir_shard`) is given, so that a crate below `cxr-dicom`
/// in the DAG can read DICOM when its caller can. [`ImageFiles::RASTER`] is this
/// crate's; `cxr_dicom::IMAGE_FILES` adds DICOM (by extension, UID-like name or content).
#[derive(Debug, Clone, Copy)]
pub struct ImageFiles {
    /// What they are, in words, for messages ([`RASTER_FORMATS`]).
    pub what: &'static str,
    /// Whether the file at a path is one.
    pub is_image: fn(&Path) -> bool,
    /// Reads one as 8-bit grayscale with bright bone.
    pub load: fn(&Path) -> std::result::Result<GrayImage, Box<dyn std::error::Error + Send + Sync>>,
    /// Whether a failure of `load` means the file holds no image at all (the DICOMDIR of
    /// a disc, a structured report): something to skip, not a failure.
    pub not_an_image: fn(&(dyn std::error::Error + 'static)) -> bool,
}

impl ImageFiles {
    /// Raster images ([`RASTER_FORMATS`]) by their extension (any case), read by
    /// [`load_gray`].
    pub const RASTER: ImageFiles = ImageFiles {
        what: RASTER_FORMATS,
        is_image: is_raster_image,
        load: load_gray_boxed,
        not_an_image: |_| false,
    };
}

/// Whether `path` ends in one of [`crate::names::RASTER_EXTENSIONS`] (`.png`, `.jpg`,
/// `.jpeg`, `.tif`, `.tiff`, `.bmp`, `.webp`; any case).
pub fn is_raster_image(path: &Path) -> bool {
    path.extension().and_then(|x| x.to_str()).is_some_and(|x| {
        crate::names::RASTER_EXTENSIONS
            .iter()
            .any(|e| x.eq_ignore_ascii_case(e))
    })
}

fn load_gray_boxed(
    path: &Path,
) -> std::result::Result<GrayImage, Box<dyn std::error::Error + Send + Sync>> {
    Ok(load_gray(path)?)
}

/// Loads an image as 8-bit grayscale with default options.
///
/// Colour images are converted with the Rec. 709 luma weights
/// (0.2126 R + 0.7152 G + 0.0722 B), alpha is dropped.
pub fn load_gray(path: &Path) -> Result<GrayImage> {
    load_gray_with(path, LoadOptions::default())
}

/// Loads an image as 8-bit grayscale.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::ImageTooLarge`] for a header
/// declaring more than [`MAX_IMAGE_PIXELS`], [`Error::TruncatedImage`] for a JPEG cut
/// short (its decoder would fill the rest with gray), [`Error::ReadImage`] (with the
/// decoder's reason as its source: "unexpected end of file" for a truncated PNG, "format
/// could not be determined" for a file that is no image) and [`Error::UnsupportedImage`].
pub fn load_gray_with(path: &Path, options: LoadOptions) -> Result<GrayImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_gray(&bytes, path, options)
}

/// [`load_gray_with`] on the bytes of a file (`path` names it in errors): an upload, a
/// file read once for hashing and decoding.
pub fn decode_gray(bytes: &[u8], path: &Path, options: LoadOptions) -> Result<GrayImage> {
    let read_err = |source| Error::ReadImage {
        path: path.to_path_buf(),
        source,
    };
    let reader = || {
        ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })
    };
    let probe = reader()?;
    if probe.format() == Some(image::ImageFormat::Jpeg) && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills what is missing with gray and reports no error.
        return Err(Error::TruncatedImage {
            path: path.to_path_buf(),
            format: "JPEG",
            detail: "no end-of-image marker after its last scan",
        });
    }
    let (w, h) = probe.into_dimensions().map_err(read_err)?;
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        return Err(Error::ImageTooLarge {
            path: path.to_path_buf(),
            width: w,
            height: h,
            max_pixels: MAX_IMAGE_PIXELS,
        });
    }
    let mut r = reader()?;
    let mut limits = image::Limits::default();
    // The size was checked above; allow what such an image needs (RGBA, 16 bits).
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 8 + (64 << 20));
    r.limits(limits);
    let mut decoder = r.into_decoder().map_err(read_err)?;
    // A malformed tag reads as "as stored", as viewers treat it.
    let orientation = if options.ignore_exif_orientation {
        Orientation::NoTransforms
    } else {
        decoder.orientation().map_err(read_err)?
    };
    let img = DynamicImage::from_decoder(decoder).map_err(read_err)?;
    let mut gray = match img {
        DynamicImage::ImageLuma8(g) => g,
        DynamicImage::ImageLuma16(g) => sixteen_to_eight(&g, options.sixteen_bit),
        DynamicImage::ImageLumaA16(_) => sixteen_to_eight(&img.to_luma16(), options.sixteen_bit),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) => {
            if options.refuse_colour {
                check_gray(&img.to_rgb8(), path)?;
            }
            sixteen_to_eight(&img.to_luma16(), options.sixteen_bit)
        }
        DynamicImage::ImageLumaA8(_) => img.to_luma8(),
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            if options.refuse_colour {
                check_gray(&img.to_rgb8(), path)?;
            }
            img.to_luma8()
        }
        other => {
            return Err(Error::UnsupportedImage {
                path: path.to_path_buf(),
                layout: format!("{:?}", other.color()),
            });
        }
    };
    if orientation != Orientation::NoTransforms {
        let mut turned = DynamicImage::ImageLuma8(gray);
        turned.apply_orientation(orientation);
        gray = turned.into_luma8();
    }
    if options.invert {
        invert(&mut gray);
    }
    Ok(gray)
}

/// [`LoadOptions::refuse_colour`]'s test: at most 1 % of the pixels have channels more
/// than 24 levels apart.
fn check_gray(img: &image::RgbImage, path: &Path) -> Result<()> {
    let pixels = img.pixels().len();
    let coloured = img
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0;
            r.max(g).max(b) - r.min(g).min(b) > 24
        })
        .count();
    if coloured * 100 > pixels {
        return Err(Error::ColourImage {
            path: path.to_path_buf(),
            coloured_share: coloured as f64 / pixels as f64,
        });
    }
    Ok(())
}

/// Whether a JPEG stream ends its last scan: an end-of-image marker (`FF D9`) after the
/// last start-of-scan marker (`FF DA`). Inside entropy-coded data every `FF` is followed
/// by `00` or a restart marker, so `FF D9` there can only be the end; an EXIF thumbnail's
/// own end marker comes before the main image's scans.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |b: u8| bytes.windows(2).rposition(|w| w == [0xFF, b]);
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
}

/// Inverts an 8-bit image in place (`v → 255 − v`): MONOCHROME1 to MONOCHROME2.
pub fn invert(img: &mut GrayImage) {
    for v in img.iter_mut() {
        *v = 255 - *v;
    }
}

/// Maps a 16-bit grayscale image to 8 bits.
pub fn sixteen_to_eight(img: &ImageBuffer<Luma<u16>, Vec<u16>>, how: SixteenToEight) -> GrayImage {
    let (w, h) = img.dimensions();
    let raw = img.as_raw();
    let out: Vec<u8> = match how {
        SixteenToEight::FullRange => raw
            .iter()
            .map(|&v| ((u32::from(v) + 128) / 257) as u8)
            .collect(),
        SixteenToEight::MinMax => {
            let (lo, hi) = raw
                .iter()
                .fold((u16::MAX, 0u16), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            if hi <= lo {
                vec![0; raw.len()]
            } else {
                let span = f64::from(hi - lo);
                raw.iter()
                    .map(|&v| (f64::from(v - lo) * 255.0 / span).round() as u8)
                    .collect()
            }
        }
    };
    GrayImage::from_raw(w, h, out).expect("buffer has w*h samples")
}

/// Encodes an 8-bit grayscale PNG (no metadata chunks) into `w`.
pub fn encode_png<W: Write>(w: W, img: &GrayImage) -> image::ImageResult<()> {
    PngEncoder::new_with_quality(w, CompressionType::Fast, FilterType::Adaptive).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )
}

/// Saves an 8-bit grayscale PNG atomically (temporary file, then rename).
pub fn save_png(path: &Path, img: &GrayImage) -> Result<()> {
    stage_png(path, img)?.commit()
}

/// Writes an 8-bit grayscale PNG to its temporary name, for [`Staged::commit`] later.
pub fn stage_png(path: &Path, img: &GrayImage) -> Result<Staged> {
    stage(path, |w| {
        encode_png(w, img).map_err(|source| Error::EncodeImage {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Saves an 8-bit RGB PNG (overlays, saliency maps) atomically.
pub fn save_rgb_png(path: &Path, img: &image::RgbImage) -> Result<()> {
    write_atomic(path, |w| {
        PngEncoder::new_with_quality(w, CompressionType::Fast, FilterType::Adaptive)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|source| Error::EncodeImage {
                path: path.to_path_buf(),
                source,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_8_bit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        let img = GrayImage::from_fn(7, 5, |x, y| Luma([(x * 30 + y) as u8]));
        save_png(&p, &img).unwrap();
        assert_eq!(load_gray(&p).unwrap(), img);
        // No text/time chunks: only IHDR, IDAT(s), IEND.
        let bytes = std::fs::read(&p).unwrap();
        let mut pos = 8;
        let mut chunks = vec![];
        while pos + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            chunks.push(String::from_utf8_lossy(&bytes[pos + 4..pos + 8]).into_owned());
            pos += 12 + len;
        }
        chunks.dedup();
        assert_eq!(chunks, ["IHDR", "IDAT", "IEND"]);
    }

    #[test]
    fn sixteen_bit_png_is_stretched_or_scaled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.png");
        let img: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_raw(4, 1, vec![1000, 2000, 3000, 4095]).unwrap();
        img.save(&p).unwrap();
        let g = load_gray(&p).unwrap();
        assert_eq!(g.as_raw(), &[0, 82, 165, 255]);
        let g = load_gray_with(
            &p,
            LoadOptions {
                sixteen_bit: SixteenToEight::FullRange,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        assert_eq!(g.as_raw(), &[4, 8, 12, 16]);
    }

    #[test]
    fn rgb_uses_rec709_luma() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.png");
        let img = image::RgbImage::from_raw(3, 1, vec![255, 0, 0, 0, 255, 0, 0, 0, 255]).unwrap();
        img.save(&p).unwrap();
        let g = load_gray(&p).unwrap();
        assert_eq!(g.as_raw(), &[54, 182, 18]);
    }

    #[test]
    fn an_inverted_sixteen_bit_png_comes_back_with_bright_bone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mono1.png");
        // MONOCHROME1 as BIMCV stores it: the bone (first pixel) is the lowest value.
        let img: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_raw(4, 1, vec![1000, 2000, 3000, 4095]).unwrap();
        img.save(&p).unwrap();
        let as_stored = load_gray(&p).unwrap();
        assert_eq!(as_stored.as_raw(), &[0, 82, 165, 255]);
        let g = load_gray_with(&p, LoadOptions::inverted(true)).unwrap();
        assert_eq!(g.as_raw(), &[255, 173, 90, 0]);
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bomb.png");
        // A valid PNG header declaring 60,000 × 60,000 8-bit gray pixels, and no pixels.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(60_000u32.to_be_bytes());
        ihdr.extend(60_000u32.to_be_bytes());
        ihdr.extend([8, 0, 0, 0, 0]);
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc32(&ihdr).to_be_bytes());
        // An IDAT holding an empty zlib stream, then IEND: a header the decoder reads.
        for (kind, data) in [
            (
                &b"IDAT"[..],
                &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 1][..],
            ),
            (&b"IEND"[..], &[][..]),
        ] {
            let chunk = [kind, data].concat();
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(&chunk);
            png.extend(crc32(&chunk).to_be_bytes());
        }
        std::fs::write(&p, &png).unwrap();
        let e = load_gray(&p).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ImageTooLarge {
                    width: 60_000,
                    height: 60_000,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{}: declares 60000 × 60000 pixels (3600.0 million), over the limit of \
                 100.0 million",
                p.display()
            )
        );
    }

    #[test]
    fn truncated_and_garbage_files_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let img = GrayImage::from_fn(64, 64, |x, y| Luma([(x * 3 + y * 5) as u8]));
        let full = dir.path().join("full.png");
        save_png(&full, &img).unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let cut = dir.path().join("cut.png");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = crate::error_chain(&load_gray(&cut).unwrap_err());
        assert!(e.contains("cut.png") && e.contains("end of file"), "{e}");
        // A JPEG cut in the middle of its entropy-coded data.
        let jpg = dir.path().join("full.jpg");
        image::DynamicImage::ImageLuma8(img.clone())
            .save(&jpg)
            .unwrap();
        let bytes = std::fs::read(&jpg).unwrap();
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let e = crate::error_chain(&load_gray(&cut).unwrap_err());
        assert!(e.contains("cut.jpg") && e.contains("truncated"), "{e}");
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"this is not an image at all").unwrap();
        let e = crate::error_chain(&load_gray(&junk).unwrap_err());
        assert!(
            e.contains("junk.png") && e.contains("could not be determined"),
            "{e}"
        );
    }

    /// CRC-32 of a PNG chunk (type + data).
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn bad_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broken.png");
        std::fs::write(&p, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let e = load_gray(&p).unwrap_err();
        assert!(e.to_string().contains("broken.png"), "{e}");
        let missing = dir.path().join("missing.png");
        let e = load_gray(&missing).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().contains("missing.png"));
    }

    #[test]
    fn colour_is_refused_only_when_asked_and_gray_rgb_passes() {
        let dir = tempfile::tempdir().unwrap();
        let refuse = LoadOptions {
            refuse_colour: true,
            ..LoadOptions::default()
        };
        // Gray stored as RGB, with JPEG-like chroma noise of a few levels: accepted.
        let gray = image::RgbImage::from_fn(20, 10, |x, y| {
            let v = (x * 10 + y) as u8;
            image::Rgb([v, v.saturating_add(3), v.saturating_sub(2)])
        });
        let p = dir.path().join("gray.png");
        gray.save(&p).unwrap();
        assert_eq!(load_gray_with(&p, refuse).unwrap().dimensions(), (20, 10));
        // A red annotation on 1 pixel in 200 (0.5 %) passes; a photograph does not.
        let mut marked = gray.clone();
        marked.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        marked.save(&p).unwrap();
        assert!(load_gray_with(&p, refuse).is_ok());
        let photo = image::RgbImage::from_fn(20, 10, |x, _| image::Rgb([200, (x * 12) as u8, 40]));
        photo.save(&p).unwrap();
        let e = load_gray_with(&p, refuse).unwrap_err();
        match &e {
            Error::ColourImage { coloured_share, .. } => assert!(*coloured_share > 0.9),
            other => panic!("expected ColourImage, got {other:?}"),
        }
        assert!(e.to_string().contains("gray.png"), "{e}");
        // Without the option it is converted as before.
        assert!(load_gray(&p).is_ok());
    }
}
