//! # cxr-dicom — DICOM to 8-bit PNG, as the standard says
//!
//! Sits above `cxr-core` in the workspace DAG (see `docs/architecture.md`); the dataset
//! adapters of DICOM sources use it. It reads a DICOM file, decodes one frame and maps
//! stored values to 8 bits in the order of PS3.3 C.11:
//!
//! 1. **decode** — native (little/big endian, deflated), RLE, JPEG baseline/extended
//!    (8- and 12-bit)/lossless, JPEG-LS, JPEG 2000 and HTJ2K; Bits Allocated/Stored,
//!    High Bit, Pixel Representation, Planar Configuration and multi-frame honoured;
//! 2. **Modality LUT** — the Modality LUT Sequence, else Rescale Slope/Intercept;
//! 3. **VOI** — the VOI LUT Sequence, else the first Window Center/Width with its VOI
//!    LUT Function (LINEAR, LINEAR_EXACT, SIGMOID) onto 0..255, else min–max of the
//!    modality values (optionally percentile-clipped); [`VoiChoice`] picks another;
//! 4. **inversion** — MONOCHROME1 (or Presentation LUT Shape INVERSE) is inverted
//!    after VOI, so lungs are always dark;
//! 5. **8 bits** — round to nearest, clamp to 0..255. Colour images (RGB, YBR) become
//!    Rec. 709 luma, `0.2126 R + 0.7152 G + 0.0722 B`, as `cxr_core::load_gray` does.
//!
//! [`DicomHeader::read`] reads the attributes the adapters need without reading the
//! pixel data. Every declared length and size is checked before anything is
//! allocated, and broken input is a typed [`Error`] naming the file, never a panic.
//! [`convert_tree`] converts a folder in parallel and writes a manifest.
//!
//! ```no_run
//! use std::path::Path;
//! use cxr_dicom::{convert_file, ConvertOptions, DicomHeader, VoiChoice};
//!
//! let header = DicomHeader::read(Path::new("study/IM0001"))?;
//! println!("{:?} {:?}", header.patient_id, header.view_position);
//!
//! let c = convert_file(Path::new("study/IM0001"), &ConvertOptions::default())?;
//! cxr_core::save_png(Path::new("IM0001.png"), &c.image)?;
//!
//! // The second window of the file instead of the first.
//! let opts = ConvertOptions { voi: VoiChoice::Window { index: 1 }, ..Default::default() };
//! let c2 = convert_file(Path::new("study/IM0001"), &opts)?;
//! assert_eq!(c2.info.window_center.is_some(), true);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod batch;
mod codec;
pub mod convert;
pub mod error;
mod frame;
pub mod header;
mod jpeg12;
pub mod lut;
pub mod options;
pub mod pixels;
mod read;
mod scan;

pub use batch::{BatchOptions, BatchReport, BatchRow, Status, convert_tree, convert_tree_shard};
pub use convert::{
    ConversionInfo, Converted, Converter, IMAGE_FILES, LoadError, convert_bytes, convert_file,
    convert_to_png, decode_image, file_cautions, header_from_bytes, is_dicom, is_dicom_file,
    is_image_file, is_not_an_image, load_image, load_image_with, load_record_image,
};
pub use error::{CodecError, Error, Result};
pub use header::{AgeUnit, Caution, DicomHeader, PatientAge, Photometric, non_image_class};
pub use lut::VoiSource;
pub use options::{ConvertOptions, MAX_REDUCE, VoiChoice, VoiFunction};
pub use pixels::MAX_PIXELS;
