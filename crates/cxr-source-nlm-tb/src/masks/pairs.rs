//! Image/mask pairs and the sets of them a reader returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_core::{GrayImage, ImageFiles, load_gray};

use super::jsrt_raw::is_raw_img;
use super::{Error, LabelMask, MaskValues, PixelLabel, Result, read_jsrt_raw};

/// Where a pair's ground truth comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaskSource {
    /// The union of binary masks (value ≥ 128, or 1 in a 0/1 mask, is lung): Montgomery
    /// and SCR left + right lung, Shenzhen's single mask.
    Binary(Vec<PathBuf>),
    /// One labelled mask read strictly with these values.
    Labelled {
        /// The mask file.
        path: PathBuf,
        /// Its values.
        values: MaskValues,
    },
    /// Run-length encoded lungs from a table row (CheXmask, [`super::chexmask`]),
    /// checked when the table was read.
    Rle(Arc<RleMask>),
}

/// A lung mask stored as runs over the row-major pixels: the union of the row's lungs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RleMask {
    /// The table the row is in.
    pub table: PathBuf,
    /// Its line in the table (1 = the header).
    pub line: u64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `(start, length)` pairs, the start 0-based, each run inside the image.
    pub runs: Vec<(u32, u32)>,
}

impl RleMask {
    /// Where the mask comes from, for messages: `table.csv line 12`.
    pub fn origin(&self) -> PathBuf {
        PathBuf::from(format!("{} line {}", self.table.display(), self.line))
    }

    /// The mask: lung on the runs, background elsewhere.
    pub fn decode(&self) -> LabelMask {
        let n = self.width as usize * self.height as usize;
        let mut labels = vec![PixelLabel::Background; n];
        for &(start, len) in &self.runs {
            let (a, b) = (start as usize, start as usize + len as usize);
            labels[a.min(n)..b.min(n)].fill(PixelLabel::Lung);
        }
        LabelMask {
            width: self.width,
            height: self.height,
            labels,
        }
    }
}

impl MaskSource {
    /// The files read.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            MaskSource::Binary(p) => p.iter().map(PathBuf::as_path).collect(),
            MaskSource::Labelled { path, .. } => vec![path.as_path()],
            MaskSource::Rle(r) => vec![r.table.as_path()],
        }
    }

    /// Where the mask comes from, for messages: its file, or its table and line.
    pub fn origin(&self) -> PathBuf {
        match self {
            MaskSource::Rle(r) => r.origin(),
            other => other
                .paths()
                .first()
                .map_or_else(PathBuf::new, |p| p.to_path_buf()),
        }
    }

    /// Loads the mask.
    pub fn load(&self) -> Result<LabelMask> {
        match self {
            MaskSource::Labelled { path, values } => {
                LabelMask::from_gray(&load_mask_image(path)?, values, path)
            }
            MaskSource::Rle(r) => Ok(r.decode()),
            MaskSource::Binary(paths) => {
                let mut union: Option<(u32, u32, Vec<bool>)> = None;
                for path in paths {
                    let img = load_mask_image(path)?;
                    let dims = img.dimensions();
                    let zero_one = img.as_raw().iter().all(|&v| v <= 1);
                    let cut = if zero_one { 1 } else { 128 };
                    let lung = img.as_raw().iter().map(|&v| v >= cut);
                    match &mut union {
                        None => union = Some((dims.0, dims.1, lung.collect())),
                        Some((w, h, acc)) => {
                            if (*w, *h) != dims {
                                return Err(Error::SizeMismatch {
                                    path: path.clone(),
                                    got: dims,
                                    expected: (*w, *h),
                                });
                            }
                            for (a, l) in acc.iter_mut().zip(lung) {
                                *a |= l;
                            }
                        }
                    }
                }
                let (w, h, acc) = union.unwrap_or((0, 0, Vec::new()));
                Ok(LabelMask {
                    width: w,
                    height: h,
                    labels: acc
                        .into_iter()
                        .map(|l| {
                            if l {
                                PixelLabel::Lung
                            } else {
                                PixelLabel::Background
                            }
                        })
                        .collect(),
                })
            }
        }
    }
}

fn load_mask_image(path: &Path) -> Result<GrayImage> {
    load_gray(path).map_err(|source| Error::Image {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// One image and its ground truth, loaded on demand.
#[derive(Debug, Clone)]
pub struct MaskPair {
    /// The radiograph (a raster image, DICOM with a reader that reads it, or a JSRT raw
    /// `.IMG`).
    pub image: PathBuf,
    /// Its mask.
    pub mask: MaskSource,
    /// The patient, when a patient can have several images here: pairs of one patient
    /// stay on one side of the validation split. `None`: the image is its own patient
    /// (Montgomery, Shenzhen and JSRT have one image per patient).
    pub group: Option<String>,
    /// How the radiograph is read: [`ImageFiles::RASTER`] as the readers return
    /// pairs; [`MaskSet::read_images_with`] gives `cxr_dicom::IMAGE_FILES` to read DICOM.
    pub reader: ImageFiles,
}

impl PartialEq for MaskPair {
    /// The same files and patient, read by readers of the same kind (compared by what
    /// they read: functions have no meaningful equality).
    fn eq(&self, other: &Self) -> bool {
        self.image == other.image
            && self.mask == other.mask
            && self.group == other.group
            && self.reader.what == other.reader.what
    }
}

impl Eq for MaskPair {}

impl MaskPair {
    /// A pair read as a raster image ([`ImageFiles::RASTER`]), its own patient.
    pub fn new(image: PathBuf, mask: MaskSource) -> Self {
        MaskPair {
            image,
            mask,
            group: None,
            reader: ImageFiles::RASTER,
        }
    }

    /// Loads the image as 8-bit grayscale with bright bone: JSRT `.IMG` files through
    /// [`read_jsrt_raw`], anything else through the pair's [`reader`](Self::reader).
    pub fn load_image(&self) -> Result<GrayImage> {
        if is_raw_img(&self.image) {
            let raw = read_jsrt_raw(&self.image)?;
            let (w, h) = raw.dimensions();
            let px = raw
                .as_raw()
                .iter()
                .map(|&v| ((u32::from(v.min(4095)) * 255 + 2047) / 4095) as u8)
                .collect();
            Ok(GrayImage::from_raw(w, h, px).expect("w*h samples"))
        } else {
            (self.reader.load)(&self.image).map_err(|source| Error::Image {
                path: self.image.clone(),
                source,
            })
        }
    }

    /// Loads the mask at its own size.
    pub fn load_mask(&self) -> Result<LabelMask> {
        self.mask.load()
    }

    /// Loads image and mask, the mask scaled (nearest neighbour) to the image's size when
    /// the two differ but share the aspect ratio (SCR's 1024² masks of JSRT's 2048²
    /// images); a different aspect ratio is [`Error::SizeMismatch`].
    pub fn load(&self) -> Result<(GrayImage, LabelMask)> {
        let image = self.load_image()?;
        let mask = self.load_mask()?;
        let (iw, ih) = image.dimensions();
        let (mw, mh) = mask.dimensions();
        if (iw, ih) == (mw, mh) {
            return Ok((image, mask));
        }
        if u64::from(iw) * u64::from(mh) != u64::from(ih) * u64::from(mw) || mw == 0 || mh == 0 {
            return Err(Error::SizeMismatch {
                path: self.mask.origin(),
                got: (mw, mh),
                expected: (iw, ih),
            });
        }
        let mask = mask.resize_nearest(iw, ih);
        Ok((image, mask))
    }
}

/// The pairs a reader found and the files it could not pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaskSet {
    /// Image/mask pairs, sorted by image path.
    pub pairs: Vec<MaskPair>,
    /// Images with no (complete) mask, sorted.
    pub images_without_mask: Vec<PathBuf>,
    /// Mask files with no image, sorted.
    pub masks_without_image: Vec<PathBuf>,
}

impl MaskSet {
    /// Groups the pairs by patient: the patient is the part of the image's file name
    /// (without its image extension, [`cxr_core::names::image_stem`]) before the first
    /// `separator` (`ieee8023_226__00870a9c.png` → `ieee8023_226` with `__`); a name
    /// without it is its own patient. A pair whose reader already named its patient (a
    /// CheXpert path's `patient#####` folder) keeps it. Returns the number of patients.
    pub fn group_by_name_prefix(&mut self, separator: &str) -> usize {
        let mut patients = std::collections::BTreeSet::new();
        for p in &mut self.pairs {
            if let Some(g) = &p.group {
                patients.insert(g.clone());
                continue;
            }
            let name = cxr_core::names::image_stem(&p.image);
            let patient = match name.split_once(separator) {
                Some((prefix, _)) if !separator.is_empty() && !prefix.is_empty() => {
                    prefix.to_owned()
                }
                _ => name,
            };
            patients.insert(patient.clone());
            p.group = Some(patient);
        }
        patients.len()
    }

    /// Reads every pair's image with `reader` from now on (`cxr_dicom::IMAGE_FILES`: DICOM
    /// too). JSRT raw `.IMG` files are read as such whatever the reader.
    pub fn read_images_with(&mut self, reader: ImageFiles) {
        for p in &mut self.pairs {
            p.reader = reader;
        }
    }

    /// Appends `other`'s pairs and unmatched files (several datasets trained together).
    pub fn extend(&mut self, other: MaskSet) {
        self.pairs.extend(other.pairs);
        self.images_without_mask.extend(other.images_without_mask);
        self.masks_without_image.extend(other.masks_without_image);
    }
}
