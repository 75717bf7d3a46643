//! An upload's bytes → an 8-bit grayscale radiograph, recognised by content (the magic
//! numbers of DICOM, PNG, JPEG, TIFF, BMP or WebP), never by file name or
//! `Content-Type`.
//!
//! Every refusal happens before the pixels are allocated where the header allows it: a
//! declared size over [`Limits::max_pixels`] (a decompression bomb), a DICOM file
//! without pixel data, with several frames or in colour. Colour raster files are
//! decoded, then refused unless their channels agree (many public radiographs are stored
//! as RGB with three equal channels; a photograph is not a radiograph).

use std::path::Path;

use cxr_core::{GrayImage, LoadOptions};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Bounds on what is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest `width × height` accepted (default 50 million: a 7,000 × 7,000 film scan).
    pub max_pixels: u64,
    /// Smallest side accepted (default 64 pixels).
    pub min_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: 50_000_000,
            min_side: 64,
        }
    }
}

/// The container an upload was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG (baseline or progressive).
    Jpeg,
    /// TIFF (strips or tiles; uncompressed, LZW, Deflate, PackBits or JPEG; 8 or 16
    /// bits; WhiteIsZero shown bone bright).
    Tiff,
    /// BMP.
    Bmp,
    /// WebP (lossy or lossless).
    Webp,
    /// DICOM Part 10 (with or without its 128-byte preamble).
    Dicom,
}

/// What the response says about the image: enough to recognise it, nothing that
/// identifies the patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageInfo {
    /// The container.
    pub format: Format,
    /// Rows (height in pixels) of the image as analysed: a raster image that an EXIF
    /// Orientation tag turns on its side is analysed, and counted, the way viewers show it.
    pub rows: u32,
    /// Columns (width in pixels), as analysed.
    pub columns: u32,
    /// DICOM Modality (0008,0060), e.g. `CR` or `DX`.
    pub modality: Option<String>,
    /// DICOM Photometric Interpretation (0028,0004).
    pub photometric_interpretation: Option<String>,
    /// What the file itself says that should make a reader of the answer careful (empty
    /// when nothing): the image is still analysed.
    pub cautions: Vec<Caution>,
}

/// Something the uploaded file declares about itself that bears on the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Caution {
    /// `for_processing` (DICOM Presentation Intent Type FOR PROCESSING: raw detector
    /// data, not the image a radiologist reads, and not what the model learned from) or
    /// `burned_in_annotation` (DICOM Burned In Annotation YES: text in the pixels, which
    /// may identify the patient and is in the returned overlays).
    pub code: String,
    /// The same in words, for a person.
    pub message: String,
}

impl Caution {
    /// The cautions a DICOM header calls for.
    fn of(h: &cxr_dicom::DicomHeader) -> Vec<Caution> {
        h.cautions()
            .into_iter()
            .map(|c| Caution {
                code: c.code().into(),
                message: c.message().into(),
            })
            .collect()
    }
}

/// A decoded upload.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The radiograph, bone bright.
    pub image: GrayImage,
    /// What it was.
    pub info: ImageInfo,
}

/// Recognises DICOM, PNG, JPEG, TIFF, BMP and WebP by their first bytes. DICOM first:
/// the standard lets a DICOM file's preamble hold a TIFF header (a dual-personality
/// file), and such a file is read through its DICOM header.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if cxr_dicom::is_dicom(bytes) {
        return Some(Format::Dicom);
    }
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Png => Some(Format::Png),
        image::ImageFormat::Jpeg => Some(Format::Jpeg),
        image::ImageFormat::Tiff => Some(Format::Tiff),
        image::ImageFormat::Bmp => Some(Format::Bmp),
        image::ImageFormat::WebP => Some(Format::Webp),
        _ => None,
    }
}

impl Format {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Bmp => "BMP",
            Format::Webp => "WebP",
            Format::Dicom => "DICOM",
        }
    }
}

/// Decodes an upload; `name` names it in messages (`upload`, or a multipart file name).
///
/// # Errors
///
/// An [`ApiError`] with its status and code: `empty_body`, `unsupported_media_type`
/// (415), `image_too_large`, `image_too_small`, `no_pixel_data`, `multi_frame`,
/// `colour_image`, `truncated_image`, `unreadable_image` (422).
pub fn decode(bytes: &[u8], name: &str, limits: &Limits) -> Result<Decoded, ApiError> {
    if bytes.is_empty() {
        return Err(
            ApiError::bad_request(format!("{name}: the body is empty")).with_code("empty_body")
        );
    }
    match sniff(bytes) {
        Some(Format::Dicom) => decode_dicom(bytes, name, limits),
        Some(f) => decode_raster(bytes, name, f, limits),
        None => Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{name}: not a {} image", cxr_dicom::IMAGE_FILES.what),
        )),
    }
}

fn check_size(name: &str, columns: u64, rows: u64, limits: &Limits) -> Result<(), ApiError> {
    if columns * rows > limits.max_pixels {
        return Err(ApiError::unprocessable(
            "image_too_large",
            format!(
                "{name}: {columns} × {rows} pixels declared, more than the {} this service decodes",
                limits.max_pixels
            ),
        ));
    }
    if columns.min(rows) < u64::from(limits.min_side) {
        return Err(ApiError::unprocessable(
            "image_too_small",
            format!(
                "{name}: {columns} × {rows} pixels, a radiograph needs at least {} on each side",
                limits.min_side
            ),
        ));
    }
    Ok(())
}

fn decode_dicom(bytes: &[u8], name: &str, limits: &Limits) -> Result<Decoded, ApiError> {
    let path = Path::new(name);
    let unreadable = |e: &dyn std::error::Error| {
        ApiError::unprocessable(
            "unreadable_image",
            format!(
                "{name}: not a readable DICOM image: {}",
                cxr_core::error_chain(e)
            ),
        )
    };
    let h = cxr_dicom::header_from_bytes(bytes, path).map_err(|e| unreadable(&e))?;
    if !h.has_pixel_data {
        let what = h
            .sop_class_uid
            .as_deref()
            .and_then(cxr_dicom::non_image_class)
            .unwrap_or("report or a structured document");
        return Err(ApiError::unprocessable(
            "no_pixel_data",
            format!("{name}: the DICOM file has no Pixel Data (7FE0,0010): a {what}, not an image"),
        ));
    }
    if h.number_of_frames > 1 {
        return Err(ApiError::unprocessable(
            "multi_frame",
            format!(
                "{name}: {} frames; a chest radiograph is one frame (send each frame as its own image)",
                h.number_of_frames
            ),
        ));
    }
    let photometric = h.photometric.as_ref().map(|p| p.as_str().to_owned());
    if h.photometric.as_ref().is_some_and(|p| !p.is_monochrome())
        || h.samples_per_pixel.is_some_and(|s| s != 1)
    {
        return Err(ApiError::unprocessable(
            "colour_image",
            format!(
                "{name}: a colour DICOM image ({}), not a radiograph",
                photometric.as_deref().unwrap_or("3 samples per pixel")
            ),
        ));
    }
    let (rows, columns) = match (h.rows, h.columns) {
        (Some(r), Some(c)) => (u32::from(r), u32::from(c)),
        _ => {
            return Err(ApiError::unprocessable(
                "unreadable_image",
                format!("{name}: the DICOM file lacks Rows (0028,0010) or Columns (0028,0011)"),
            ));
        }
    };
    check_size(name, u64::from(columns), u64::from(rows), limits)?;
    let converted = cxr_dicom::convert_bytes(bytes, path, &cxr_dicom::ConvertOptions::default())
        .map_err(|e| match e {
            cxr_dicom::Error::PixelDataTooShort { .. } => ApiError::unprocessable(
                "truncated_image",
                format!("{name}: {}", cxr_core::error_chain(&e)),
            ),
            e => unreadable(&e),
        })?;
    Ok(Decoded {
        image: converted.image,
        info: ImageInfo {
            format: Format::Dicom,
            rows,
            columns,
            cautions: Caution::of(&h),
            modality: h.modality,
            photometric_interpretation: photometric,
        },
    })
}

fn decode_raster(
    bytes: &[u8],
    name: &str,
    format: Format,
    limits: &Limits,
) -> Result<Decoded, ApiError> {
    let kind = format.name();
    let unreadable = |detail: String| {
        ApiError::unprocessable(
            "unreadable_image",
            format!("{name}: not a readable {kind}: {detail}"),
        )
    };
    let (columns, rows) = match format {
        // The PNG signature is followed by IHDR, whose first 8 bytes are the size.
        Format::Png => match (bytes.get(12..16), bytes.get(16..24)) {
            (Some(b"IHDR"), Some(wh)) => (
                u32::from_be_bytes([wh[0], wh[1], wh[2], wh[3]]),
                u32::from_be_bytes([wh[4], wh[5], wh[6], wh[7]]),
            ),
            (Some(_), Some(_)) => {
                return Err(unreadable("no IHDR chunk after the signature".into()));
            }
            _ => {
                return Err(ApiError::unprocessable(
                    "truncated_image",
                    format!("{name}: the PNG ends inside its header"),
                ));
            }
        },
        _ => image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(e.to_string()))?
            .into_dimensions()
            .map_err(|e| {
                if is_truncation(&e) {
                    ApiError::unprocessable(
                        "truncated_image",
                        format!("{name}: the {kind} ends inside its header"),
                    )
                } else {
                    unreadable(e.to_string())
                }
            })?,
    };
    check_size(name, u64::from(columns), u64::from(rows), limits)?;
    let options = LoadOptions {
        refuse_colour: true,
        ..LoadOptions::default()
    };
    let image = cxr_core::decode_gray(bytes, Path::new(name), options).map_err(|e| match e {
        cxr_core::Error::TruncatedImage { .. } => {
            ApiError::unprocessable("truncated_image", cxr_core::error_chain(&e))
        }
        cxr_core::Error::ColourImage { .. } => {
            ApiError::unprocessable("colour_image", cxr_core::error_chain(&e))
        }
        cxr_core::Error::ReadImage { ref source, .. } if is_truncation(source) => {
            ApiError::unprocessable(
                "truncated_image",
                format!("{name}: the {kind} ends early: {source}"),
            )
        }
        e => unreadable(cxr_core::error_chain(&e)),
    })?;
    Ok(Decoded {
        info: ImageInfo {
            format,
            // As analysed: an EXIF orientation may have turned the stored pixels.
            rows: image.height(),
            columns: image.width(),
            modality: None,
            photometric_interpretation: None,
            cautions: Vec::new(),
        },
        image,
    })
}

/// Whether the image crate's error says the data stopped early.
fn is_truncation(e: &image::ImageError) -> bool {
    let text = cxr_core::error_chain(e).to_ascii_lowercase();
    [
        "unexpected end",
        "eof",
        "end of file",
        "truncated",
        "no more data",
        // io::ErrorKind::UnexpectedEof from `read_exact`: a TIFF's strips or IFD cut off.
        "failed to fill whole buffer",
    ]
    .iter()
    .any(|w| text.contains(w))
}
