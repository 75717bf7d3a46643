//! One file to one 8-bit grayscale image.

use std::path::Path;

use cxr_core::GrayImage;

use crate::error::{Error, Result};
use crate::frame::{Arrangement, Layout};
use crate::header::{Caution, DicomHeader};
use crate::lut::{self, VoiSource};
use crate::options::{ConvertOptions, VoiFunction};
use crate::pixels;
use crate::read::{self, Mode, Opened};

/// What a conversion did, beside the image.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConversionInfo {
    /// The file's header attributes.
    pub header: DicomHeader,
    /// Frame converted (0-based).
    pub frame: u32,
    /// Where the VOI came from.
    pub voi_source: VoiSource,
    /// Window center applied (for min–max: the centre of the range mapped).
    pub window_center: Option<f64>,
    /// Window width applied (for min–max: the range mapped).
    pub window_width: Option<f64>,
    /// Function applied inside the window (min–max is LINEAR_EXACT).
    pub voi_function: Option<VoiFunction>,
    /// Whether the output was inverted (MONOCHROME1 or Presentation LUT Shape INVERSE).
    pub inverted: bool,
}

/// An 8-bit image and how it was made.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The image: 0 black, 255 white, lungs dark.
    pub image: GrayImage,
    /// What was applied.
    pub info: ConversionInfo,
}

/// Converts one DICOM file to an 8-bit grayscale image (see the crate documentation
/// for the order of operations). To convert many files in a loop, a [`Converter`]
/// reuses its read buffer from one to the next.
pub fn convert_file(path: &Path, options: &ConvertOptions) -> Result<Converted> {
    convert_file_reusing(path, options, &mut Vec::new())
}

/// Largest read buffer [`convert_file_reusing`] keeps for the next file.
const KEEP_BUFFER_MAX: usize = 256 << 20;

/// Converts many files with the same options, reading each into the buffer the one
/// before was read into. Files of similar size (one source's radiographs) then cost
/// one buffer's page faults rather than one per file, which matters most when several
/// threads convert at once: give each thread its own `Converter`
/// ([`convert_tree`](crate::convert_tree) keeps one buffer per worker the same way). A
/// buffer over 256 MiB is not kept.
///
/// ```no_run
/// use std::path::Path;
/// use cxr_dicom::{ConvertOptions, Converter};
///
/// let mut converter = Converter::new(ConvertOptions::default())?;
/// for name in ["IM0001", "IM0002", "IM0003"] {
///     let c = converter.convert(Path::new("study").join(name).as_path())?;
///     cxr_core::save_png(&Path::new("png").join(name).with_extension("png"), &c.image)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Converter {
    options: ConvertOptions,
    buffer: Vec<u8>,
}

impl Converter {
    /// A converter applying `options` (checked here, once).
    pub fn new(options: ConvertOptions) -> Result<Converter> {
        options.validate()?;
        Ok(Converter {
            options,
            buffer: Vec::new(),
        })
    }

    /// The options applied.
    pub fn options(&self) -> &ConvertOptions {
        &self.options
    }

    /// [`convert_file`] with this converter's options and buffer.
    pub fn convert(&mut self, path: &Path) -> Result<Converted> {
        convert_file_reusing(path, &self.options, &mut self.buffer)
    }
}

/// [`convert_file`], reading into `buffer` and leaving it there for the next file: a
/// batch worker that converts many files then faults in one read buffer rather than
/// one per file (with two threads, glibc's malloc returned each file's buffer to the
/// kernel and the page faults serialised the threads; see `docs/performance.md`).
pub(crate) fn convert_file_reusing(
    path: &Path,
    options: &ConvertOptions,
    buffer: &mut Vec<u8>,
) -> Result<Converted> {
    options.validate()?;
    let opened = read::open_into(path, Mode::Full, std::mem::take(buffer))?;
    let converted = convert_opened(&opened, options, path);
    if let Some(b) = opened
        .into_buffer()
        .filter(|b| b.capacity() <= KEEP_BUFFER_MAX)
    {
        *buffer = b;
    }
    converted
}

/// Converts a DICOM file held in memory; `name` only names it in errors. This is the
/// entry point of the fuzz target.
pub fn convert_bytes(bytes: &[u8], name: &Path, options: &ConvertOptions) -> Result<Converted> {
    options.validate()?;
    let opened = read::open_bytes(name, bytes, Mode::Full)?;
    convert_opened(&opened, options, name)
}

/// Reads only the header of a DICOM file held in memory (fuzz target, tests).
pub fn header_from_bytes(bytes: &[u8], name: &Path) -> Result<DicomHeader> {
    let opened = read::open_bytes(name, bytes, Mode::Header)?;
    Ok(DicomHeader::from_opened(&opened))
}

/// Converts `input` and writes `output` as an 8-bit grayscale PNG (atomically, no
/// metadata chunks).
pub fn convert_to_png(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
) -> Result<ConversionInfo> {
    let c = convert_file(input, options)?;
    cxr_core::save_png(output, &c.image).map_err(|source| Error::Write {
        path: output.to_path_buf(),
        source: Box::new(source),
    })?;
    Ok(c.info)
}

fn convert_opened(o: &Opened, options: &ConvertOptions, path: &Path) -> Result<Converted> {
    let header = DicomHeader::from_opened(o);
    if !o.has_pixel_data {
        let class = header.sop_class_uid.as_deref().unwrap_or_default();
        return Err(match crate::header::non_image_class(class) {
            Some(what) => Error::NotAnImage {
                path: path.to_path_buf(),
                what,
                sop_class: class.to_owned(),
            },
            None => Error::NoPixelData {
                path: path.to_path_buf(),
            },
        });
    }
    let full = Layout::read(&o.obj, path)?;
    let reduce = u32::from(options.reduce);
    let (frame, dropped) = pixels::decode_frame(o, &full, options.frame, reduce, path)?;
    let layout = full.reduced(dropped);
    let (data, info) = if frame.arrangement == Arrangement::Gray {
        let (data, report, inverted) = lut::gray_to_u8(&o.obj, &layout, &frame, options, path)?;
        (
            data,
            ConversionInfo {
                header,
                frame: options.frame,
                voi_source: report.source,
                window_center: report.center,
                window_width: report.width,
                voi_function: report.function,
                inverted,
            },
        )
    } else {
        (
            lut::color_to_u8(&layout, &frame),
            ConversionInfo {
                header,
                frame: options.frame,
                voi_source: VoiSource::None,
                window_center: None,
                window_width: None,
                voi_function: None,
                inverted: false,
            },
        )
    };
    let image = GrayImage::from_raw(layout.cols, layout.rows, data).ok_or_else(|| {
        Error::PixelDataTooShort {
            path: path.to_path_buf(),
            frame: options.frame,
            expected: layout.frame_bytes(),
            found: 0,
        }
    })?;
    Ok(Converted {
        // Levels the codec did not drop: 2^n × 2^n block means of the 8-bit output.
        image: if reduce > dropped {
            cxr_core::shrink_gray(&image, 1 << (reduce - dropped))
        } else {
            image
        },
        info,
    })
}

/// Why [`load_image`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file is DICOM and could not be converted.
    #[error(transparent)]
    Dicom(#[from] crate::Error),
    /// The file is not DICOM and could not be read as a raster image
    /// ([`cxr_core::RASTER_FORMATS`]).
    #[error(transparent)]
    Image(#[from] cxr_core::Error),
}

/// Loads any image the sources ship as 8-bit grayscale: DICOM (recognised by its `DICM`
/// magic, converted with default options) or whatever [`cxr_core::load_gray`] reads.
pub fn load_image(path: &Path) -> std::result::Result<GrayImage, LoadError> {
    load_image_with(path, cxr_core::LoadOptions::default())
}

/// Loads a record's image with bright bone whatever its source stored: a DICOM file
/// through its own Photometric Interpretation, a raster image inverted when its adapter
/// marked it MONOCHROME1 ([`cxr_core::ImageRecord::load_options`]). The one function
/// every step that reads a record's pixels goes through.
pub fn load_record_image(
    record: &cxr_core::ImageRecord,
) -> std::result::Result<GrayImage, LoadError> {
    load_image_with(&record.path, record.load_options())
}

/// Whether bytes (a file's first 132 at least) start a DICOM Part 10 file: `DICM` after
/// the 128-byte preamble, or at the very start (a file written without its preamble).
pub fn is_dicom(head: &[u8]) -> bool {
    head.get(128..132) == Some(b"DICM") || head.get(0..4) == Some(b"DICM")
}

/// An image from its bytes, as [`load_image_with`] reads a file: DICOM (recognised by
/// [`is_dicom`]) through the converter, anything else as a raster image with `options`.
///
/// # Errors
///
/// [`LoadError`] when the bytes are neither, or cannot be decoded.
pub fn decode_image(
    bytes: &[u8],
    options: cxr_core::LoadOptions,
) -> std::result::Result<GrayImage, LoadError> {
    let name = std::path::Path::new("<bytes>");
    if is_dicom(bytes) {
        Ok(convert_bytes(bytes, name, &ConvertOptions::default())?.image)
    } else {
        Ok(cxr_core::decode_gray(bytes, name, options)?)
    }
}

/// [`load_image`] with options for raster images ([`cxr_core::LoadOptions`]: the
/// 16-to-8-bit mapping and `invert`). A DICOM file ignores them: its header says how to
/// display it (VOI LUT, MONOCHROME1), and the converter applies that.
pub fn load_image_with(
    path: &Path,
    options: cxr_core::LoadOptions,
) -> std::result::Result<GrayImage, LoadError> {
    if is_dicom_file(path)? {
        Ok(convert_file(path, &ConvertOptions::default())?.image)
    } else {
        Ok(cxr_core::load_gray_with(path, options)?)
    }
}

/// What the file at `path` calls for a reader's caution about ([`Caution`]): a DICOM
/// file's from its header (read up to Pixel Data, not decoded), none for a raster image.
///
/// # Errors
///
/// [`LoadError`] when the file cannot be read or its DICOM header parsed.
pub fn file_cautions(path: &Path) -> std::result::Result<Vec<Caution>, LoadError> {
    if is_dicom_file(path)? {
        Ok(DicomHeader::read(path)?.cautions())
    } else {
        Ok(Vec::new())
    }
}

/// Whether the file at `path` starts as DICOM Part 10 does ([`is_dicom`] on its first
/// 132 bytes).
///
/// # Errors
///
/// [`cxr_core::Error::Io`] when it cannot be opened or read.
pub fn is_dicom_file(path: &Path) -> std::result::Result<bool, cxr_core::Error> {
    use std::io::Read;
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .and_then(|f| f.take(132).read_to_end(&mut head))
        .map_err(|source| cxr_core::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(is_dicom(&head))
}

/// The images a folder tool takes: raster images ([`cxr_core::RASTER_FORMATS`]) and
/// DICOM by their extension
/// ([`cxr_core::names::IMAGE_EXTENSIONS`]), files without one, files named by a DICOM
/// UID (an all-digit last part: `1.2.840.113619.2.55.3.868`), and any other file that
/// starts as DICOM does (read to its 132nd byte). A README or a table beside the images
/// is not taken.
pub fn is_image_file(path: &Path) -> bool {
    let Some(ext) = path
        .extension()
        .map(|x| x.to_string_lossy().to_ascii_lowercase())
    else {
        return true;
    };
    cxr_core::names::IMAGE_EXTENSIONS.contains(&ext.as_str())
        || ext.bytes().all(|b| b.is_ascii_digit())
        || is_dicom_file(path).unwrap_or(false)
}

/// Raster and DICOM files, as [`is_image_file`] takes them, read by [`load_image`]: what
/// a folder tool below this crate in the DAG is given to read DICOM too.
pub const IMAGE_FILES: cxr_core::ImageFiles = cxr_core::ImageFiles {
    what: "PNG, JPEG, TIFF, BMP, WebP or DICOM",
    is_image: is_image_file,
    load: load_image_boxed,
    not_an_image: is_not_an_image,
};

/// Whether a failure is [`Error::NotAnImage`] (a DICOM object whose SOP class holds no
/// image: a DICOMDIR, a structured report, a presentation state), anywhere in its chain.
pub fn is_not_an_image(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |e| e.source()).any(|e| {
        matches!(e.downcast_ref(), Some(Error::NotAnImage { .. }))
            || matches!(
                e.downcast_ref(),
                Some(LoadError::Dicom(Error::NotAnImage { .. }))
            )
    })
}

fn load_image_boxed(
    path: &Path,
) -> std::result::Result<GrayImage, Box<dyn std::error::Error + Send + Sync>> {
    Ok(load_image(path)?)
}
