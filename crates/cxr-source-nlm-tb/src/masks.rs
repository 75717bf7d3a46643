//! Readers of lung-mask datasets: image/mask pairs for training and evaluating the
//! segmenter.
//!
//! Each reader walks a dataset's folders once and returns a [`MaskSet`]: the
//! [`MaskPair`]s found (sorted by image path) and the files left unmatched. Pixels are
//! read only on demand ([`MaskPair::load_image`], [`MaskPair::load_mask`],
//! [`MaskPair::load`]); a bad file gives an [`Error`] naming it, never a panic.
//!
//! | reader | layout | mask |
//! |---|---|---|
//! | [`montgomery`] | `CXR_png/MCUCXR_####_{0,1}.png`, `ManualMask/{leftMask,rightMask}/<same name>` | union of left and right |
//! | [`shenzhen`] | `CXR_png/CHNCXR_####_{0,1}.png`, `mask/` (or `masks/`) `CHNCXR_####_{0,1}_mask.png` | one file; missing masks tolerated |
//! | [`jsrt_scr`] | JSRT `JPC?N###.IMG` (or `.png`), SCR `masks/{left lung,right lung}/<stem>.gif` (or `.png`) | union of left and right |
//! | [`folder_pair`] | `images/<stem>.*`, `masks/<stem>.*` | [`MaskValues`]: 0 / 255 / 127 = ignore by default |
//!
//! Dataset masks (Montgomery, Shenzhen, SCR) are binary: a value ≥ 128 is lung, and a
//! mask whose only values are 0 and 1 is read as 0 = background, 1 = lung. Generic masks
//! are read with [`MaskValues`]: by default 0 = background, 255 = lung, 127 = ignore, and
//! the in-between values of an anti-aliased or resampled mask (its edge pixels, about 1 %
//! of a real mask) go to the nearer of background and lung; a file where more than
//! [`MAX_SOFT_EDGE_FRACTION`] of the pixels hold such values is no mask
//! ([`Error::NotAMask`]). With `soft_edges = false` any other value is an error naming
//! the file, the value and the first pixel holding it.
//!
//! # JSRT raw images
//! The JSRT `.IMG` files have no header: 2048 × 2048 unsigned 16-bit samples, big-endian,
//! 12 bits used (0..=4095), 0.175 mm pixels. A higher raw value is *darker* (film optical
//! density): the usual conversion (e.g. `preprocess_JSRT.py` of imlab-uiip's
//! `lung-segmentation-2d`) is `1 − raw / 4096`. [`read_jsrt_raw`] therefore returns
//! `4095 − raw`, higher = brighter as in every other source, and
//! [`MaskPair::load_image`] maps that to 8 bits with `round(v × 255 / 4095)`. The side
//! is taken from the file size (a square image of `side² × 2` bytes), so small test
//! files work too. SCR masks are distributed at 1024 × 1024: [`MaskPair::load`] scales a
//! mask whose size differs from its image's by nearest neighbour when the aspect ratios
//! agree.
//!
//! # GIF
//! SCR distributes its masks as GIF; they are decoded by the `image` crate's `gif` codec
//! (enabled in the workspace). PNG conversions with the same stem are also accepted.
//!
//! ```no_run
//! use std::path::Path;
//! use cxr_source_nlm_tb::masks::montgomery;
//!
//! let set = montgomery(Path::new("data/MontgomerySet")).unwrap();
//! println!("{} pairs, {} images without masks", set.pairs.len(), set.images_without_mask.len());
//! let (image, mask) = set.pairs[0].load().unwrap();
//! assert_eq!(image.dimensions(), mask.dimensions());
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::image_io::{ImageBuffer, Luma};
use cxr_core::{GrayImage, LungMask, load_gray};
use serde::{Deserialize, Serialize};

/// Errors of the mask readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error("I/O error on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image or mask file could not be decoded.
    #[error("cannot read {path}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the image loader said (boxed: it is large).
        #[source]
        source: Box<cxr_core::Error>,
    },
    /// A generic mask holds a value that is none of the configured [`MaskValues`].
    #[error("{path}: unexpected mask value {value} at ({x}, {y})")]
    UnexpectedValue {
        /// The mask file.
        path: PathBuf,
        /// The value found.
        value: u8,
        /// Column of the first pixel holding it.
        x: u32,
        /// Row of the first pixel holding it.
        y: u32,
    },
    /// A generic mask where too many pixels are neither background, lung nor ignore:
    /// a photograph or a probability map, not a mask.
    #[error(
        "{path}: {share:.1} % of the pixels are neither background, lung nor ignore \
         (at most {max:.0} % may be soft edges): not a lung mask"
    )]
    NotAMask {
        /// The mask file.
        path: PathBuf,
        /// Percentage of such pixels.
        share: f64,
        /// The largest percentage accepted.
        max: f64,
    },
    /// A raw JSRT file's size is not that of a square 16-bit image.
    #[error("{path}: {len} bytes is not a square 16-bit raw image (JSRT: 2048 × 2048 × 2)")]
    RawSize {
        /// The raw file.
        path: PathBuf,
        /// Its length in bytes.
        len: u64,
    },
    /// Two files that must have the same size (or aspect ratio) do not.
    #[error("{path}: size {got:?} does not match {expected:?}")]
    SizeMismatch {
        /// The file whose size is wrong.
        path: PathBuf,
        /// Its size (width, height).
        got: (u32, u32),
        /// The size expected (width, height).
        expected: (u32, u32),
    },
    /// The dataset's expected folder is absent.
    #[error("{path}: expected folder not found ({what})")]
    MissingFolder {
        /// The folder looked for.
        path: PathBuf,
        /// What it should hold.
        what: &'static str,
    },
}

/// `Result` with this module's [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What one ground-truth pixel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelLabel {
    /// Not lung.
    Background,
    /// Lung.
    Lung,
    /// Excluded from the loss and the metrics (devices, markings).
    Ignore,
}

/// The mask values of a generic labelled mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaskValues {
    /// Background value (default 0).
    pub background: u8,
    /// Lung value (default 255).
    pub lung: u8,
    /// "Ignore" value, if the masks use one (default 127).
    pub ignore: Option<u8>,
    /// Accept the in-between values of anti-aliased or resampled masks (default true):
    /// each goes to the nearer of `background` and `lung` (the midpoint to lung), as long
    /// as such pixels are at most [`MAX_SOFT_EDGE_FRACTION`] of the mask. `false`: any
    /// value other than the three is an error.
    pub soft_edges: bool,
}

/// The largest share of a generic mask's pixels that may hold soft-edge values (5 %;
/// the anti-aliased edge of a pair of lungs is about 1 % of the image).
pub const MAX_SOFT_EDGE_FRACTION: f64 = 0.05;

impl Default for MaskValues {
    fn default() -> Self {
        MaskValues {
            background: 0,
            lung: 255,
            ignore: Some(127),
            soft_edges: true,
        }
    }
}

impl MaskValues {
    fn label_of(&self, v: u8) -> Option<PixelLabel> {
        if v == self.lung {
            Some(PixelLabel::Lung)
        } else if v == self.background {
            Some(PixelLabel::Background)
        } else if Some(v) == self.ignore {
            Some(PixelLabel::Ignore)
        } else {
            None
        }
    }

    /// The nearer of background and lung (ties to lung), for a soft-edge value.
    fn nearest(&self, v: u8) -> PixelLabel {
        if v.abs_diff(self.lung) <= v.abs_diff(self.background) {
            PixelLabel::Lung
        } else {
            PixelLabel::Background
        }
    }
}

/// A ground-truth mask: background, lung or ignore per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMask {
    width: u32,
    height: u32,
    labels: Vec<PixelLabel>,
}

impl LabelMask {
    /// A mask from a function of the pixel coordinates.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> PixelLabel) -> Self {
        let labels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        LabelMask {
            width,
            height,
            labels,
        }
    }

    /// A mask with no ignore pixels from a binary lung mask.
    pub fn from_lung_mask(mask: &LungMask) -> Self {
        let (w, h) = mask.dimensions();
        LabelMask::from_fn(w, h, |x, y| {
            if mask.contains(x, y) {
                PixelLabel::Lung
            } else {
                PixelLabel::Background
            }
        })
    }

    /// Reads a labelled 8-bit image with `values` (`path` names the file in the error):
    /// soft-edge values are rounded when `values.soft_edges` allows them, else refused.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedValue`] (strict reading) and [`Error::NotAMask`] (more than
    /// [`MAX_SOFT_EDGE_FRACTION`] of soft values).
    pub fn from_gray(img: &GrayImage, values: &MaskValues, path: &Path) -> Result<Self> {
        let (w, h) = img.dimensions();
        let mut labels = Vec::with_capacity(img.as_raw().len());
        let mut soft = 0usize;
        for (i, &v) in img.as_raw().iter().enumerate() {
            match values.label_of(v) {
                Some(l) => labels.push(l),
                None if values.soft_edges => {
                    soft += 1;
                    labels.push(values.nearest(v));
                }
                None => {
                    return Err(Error::UnexpectedValue {
                        path: path.to_path_buf(),
                        value: v,
                        x: (i % w as usize) as u32,
                        y: (i / w as usize) as u32,
                    });
                }
            }
        }
        if soft as f64 > MAX_SOFT_EDGE_FRACTION * labels.len() as f64 {
            return Err(Error::NotAMask {
                path: path.to_path_buf(),
                share: 100.0 * soft as f64 / labels.len() as f64,
                max: 100.0 * MAX_SOFT_EDGE_FRACTION,
            });
        }
        Ok(LabelMask {
            width: w,
            height: h,
            labels,
        })
    }

    /// Width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The label of pixel (x, y).
    ///
    /// # Panics
    /// If (x, y) is outside the mask.
    pub fn get(&self, x: u32, y: u32) -> PixelLabel {
        assert!(
            x < self.width && y < self.height,
            "({x}, {y}) outside the mask"
        );
        self.labels[y as usize * self.width as usize + x as usize]
    }

    /// All labels in raster order.
    pub fn labels(&self) -> &[PixelLabel] {
        &self.labels
    }

    /// Number of pixels with `label`.
    pub fn count(&self, label: PixelLabel) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// The lung pixels as a binary mask.
    pub fn lung_mask(&self) -> LungMask {
        self.mask_of(PixelLabel::Lung)
    }

    /// The ignore pixels as a binary mask.
    pub fn ignore_mask(&self) -> LungMask {
        self.mask_of(PixelLabel::Ignore)
    }

    fn mask_of(&self, label: PixelLabel) -> LungMask {
        LungMask::from_fn(self.width, self.height, |x, y| self.get(x, y) == label)
    }

    /// The mask as an 8-bit image with the given values (ignore pixels become
    /// background when `values.ignore` is `None`).
    pub fn to_gray(&self, values: &MaskValues) -> GrayImage {
        GrayImage::from_fn(self.width, self.height, |x, y| {
            Luma([match self.get(x, y) {
                PixelLabel::Background => values.background,
                PixelLabel::Lung => values.lung,
                PixelLabel::Ignore => values.ignore.unwrap_or(values.background),
            }])
        })
    }

    /// Nearest-neighbour resampling to `width × height` (pixel centres mapped). A mask
    /// without pixels (a side of 0) has nothing to sample: the result is all background.
    pub fn resize_nearest(&self, width: u32, height: u32) -> LabelMask {
        let (sw, sh) = (u64::from(self.width), u64::from(self.height));
        if sw == 0 || sh == 0 {
            return LabelMask::from_fn(width, height, |_, _| PixelLabel::Background);
        }
        LabelMask::from_fn(width, height, |x, y| {
            let sx = ((2 * u64::from(x) + 1) * sw / (2 * u64::from(width))).min(sw - 1);
            let sy = ((2 * u64::from(y) + 1) * sh / (2 * u64::from(height))).min(sh - 1);
            self.get(sx as u32, sy as u32)
        })
    }
}

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
}

impl MaskSource {
    /// The files read.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            MaskSource::Binary(p) => p.iter().map(PathBuf::as_path).collect(),
            MaskSource::Labelled { path, .. } => vec![path.as_path()],
        }
    }

    /// Loads the mask.
    pub fn load(&self) -> Result<LabelMask> {
        match self {
            MaskSource::Labelled { path, values } => {
                LabelMask::from_gray(&load_mask_image(path)?, values, path)
            }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskPair {
    /// The radiograph (PNG/JPEG, or a JSRT raw `.IMG`).
    pub image: PathBuf,
    /// Its mask.
    pub mask: MaskSource,
    /// The patient, when a patient can have several images here: pairs of one patient
    /// stay on one side of the validation split. `None`: the image is its own patient
    /// (Montgomery, Shenzhen and JSRT have one image per patient).
    pub group: Option<String>,
}

impl MaskPair {
    /// Loads the image as 8-bit grayscale (JSRT `.IMG` files through [`read_jsrt_raw`]).
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
            load_gray(&self.image).map_err(|source| Error::Image {
                path: self.image.clone(),
                source: Box::new(source),
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
                path: self
                    .mask
                    .paths()
                    .first()
                    .map_or_else(PathBuf::new, |p| p.to_path_buf()),
                got: (mw, mh),
                expected: (iw, ih),
            });
        }
        let mask = mask.resize_nearest(iw, ih);
        Ok((image, mask))
    }
}

fn is_raw_img(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("img"))
}

/// Reads a JSRT raw image (see the module docs): returns `4095 − raw`, higher = brighter.
pub fn read_jsrt_raw(path: &Path) -> Result<ImageBuffer<Luma<u16>, Vec<u16>>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let len = bytes.len() as u64;
    let side = (len / 2).isqrt();
    if len == 0 || side * side * 2 != len {
        return Err(Error::RawSize {
            path: path.to_path_buf(),
            len,
        });
    }
    let px: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| 4095u16.saturating_sub(u16::from_be_bytes([b[0], b[1]]).min(4095)))
        .collect();
    let side = side as u32;
    Ok(ImageBuffer::from_raw(side, side, px).expect("side² samples"))
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
    /// before the first `separator` (`ieee8023_226__00870a9c.png` → `ieee8023_226` with
    /// `__`); a name without it is its own patient. Returns the number of patients.
    pub fn group_by_name_prefix(&mut self, separator: &str) -> usize {
        let mut patients = std::collections::BTreeSet::new();
        for p in &mut self.pairs {
            let name = p
                .image
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
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

    /// Appends `other`'s pairs and unmatched files (several datasets trained together).
    pub fn extend(&mut self, other: MaskSet) {
        self.pairs.extend(other.pairs);
        self.images_without_mask.extend(other.images_without_mask);
        self.masks_without_image.extend(other.masks_without_image);
    }
}

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "img"];
const MASK_EXTENSIONS: [&str; 3] = ["png", "gif", "bmp"];

/// Files of `dir` with one of `exts` (case-insensitive), by stem; for a stem present with
/// several extensions, the earliest in `exts` wins.
/// Images matched by stem with a left and a right lung mask (Montgomery, JSRT/SCR); an
/// image missing either mask, and a mask without its image, are listed.
fn pair_left_right(
    images: &BTreeMap<String, PathBuf>,
    left: &BTreeMap<String, PathBuf>,
    right: &BTreeMap<String, PathBuf>,
) -> MaskSet {
    let mut set = MaskSet::default();
    for (stem, image) in images {
        match (left.get(stem), right.get(stem)) {
            (Some(l), Some(r)) => set.pairs.push(MaskPair {
                image: image.clone(),
                mask: MaskSource::Binary(vec![l.clone(), r.clone()]),
                group: None,
            }),
            _ => set.images_without_mask.push(image.clone()),
        }
    }
    for (stem, p) in left.iter().chain(right) {
        if !images.contains_key(stem) {
            set.masks_without_image.push(p.clone());
        }
    }
    set.masks_without_image.sort();
    set
}

fn files_by_stem(dir: &Path, exts: &[&str]) -> Result<BTreeMap<String, PathBuf>> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out: BTreeMap<String, (usize, PathBuf)> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !path.is_file() {
            continue;
        }
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let Some(rank) = exts.iter().position(|e| e.eq_ignore_ascii_case(ext)) else {
            continue;
        };
        let stem = stem.to_owned();
        if out.get(&stem).is_none_or(|(r, _)| rank < *r) {
            out.insert(stem, (rank, path));
        }
    }
    Ok(out.into_iter().map(|(k, (_, p))| (k, p)).collect())
}

fn require_dir(path: PathBuf, what: &'static str) -> Result<PathBuf> {
    if path.is_dir() {
        Ok(path)
    } else {
        Err(Error::MissingFolder { path, what })
    }
}

/// The dataset folder: `root` itself if it holds `marker`, else `root/<nested>`.
fn dataset_root(root: &Path, marker: &str, nested: &str) -> PathBuf {
    if root.join(marker).is_dir() || !root.join(nested).join(marker).is_dir() {
        root.to_path_buf()
    } else {
        root.join(nested)
    }
}

/// Montgomery County set: `root` is `MontgomerySet/` (or its parent). An image is paired
/// when both its left and right masks exist.
pub fn montgomery(root: &Path) -> Result<MaskSet> {
    let root = dataset_root(root, "CXR_png", "MontgomerySet");
    let images = files_by_stem(
        &require_dir(root.join("CXR_png"), "Montgomery images")?,
        &IMAGE_EXTENSIONS,
    )?;
    let left_dir = require_dir(
        root.join("ManualMask").join("leftMask"),
        "Montgomery left masks",
    )?;
    let right_dir = require_dir(
        root.join("ManualMask").join("rightMask"),
        "Montgomery right masks",
    )?;
    let left = files_by_stem(&left_dir, &MASK_EXTENSIONS)?;
    let right = files_by_stem(&right_dir, &MASK_EXTENSIONS)?;
    Ok(pair_left_right(&images, &left, &right))
}

/// Shenzhen set with the commonly distributed masks: `root` holds `CXR_png/` and
/// `mask/` (or `masks/`), masks named `<image stem>_mask.png` (or `<image stem>.png`).
/// Images without a mask are counted, not an error.
pub fn shenzhen(root: &Path) -> Result<MaskSet> {
    let images = files_by_stem(
        &require_dir(root.join("CXR_png"), "Shenzhen images")?,
        &IMAGE_EXTENSIONS,
    )?;
    let mask_dir = if root.join("mask").is_dir() {
        root.join("mask")
    } else {
        require_dir(root.join("masks"), "Shenzhen masks (`mask/` or `masks/`)")?
    };
    let masks = files_by_stem(&mask_dir, &MASK_EXTENSIONS)?;
    let mut used = std::collections::BTreeSet::new();
    let mut set = MaskSet::default();
    for (stem, image) in &images {
        let key = [format!("{stem}_mask"), stem.clone()]
            .into_iter()
            .find(|k| masks.contains_key(k));
        match key {
            Some(k) => {
                set.pairs.push(MaskPair {
                    image: image.clone(),
                    mask: MaskSource::Binary(vec![masks[&k].clone()]),
                    group: None,
                });
                used.insert(k);
            }
            None => set.images_without_mask.push(image.clone()),
        }
    }
    set.masks_without_image = masks
        .into_iter()
        .filter(|(k, _)| !used.contains(k))
        .map(|(_, p)| p)
        .collect();
    Ok(set)
}

/// JSRT images with SCR lung masks: `images` holds `JPCLN001.IMG`… (or PNG conversions),
/// `scr_masks` holds `left lung/` and `right lung/` with `<stem>.gif` (or `.png`). An
/// image is paired when both lung masks exist.
pub fn jsrt_scr(images: &Path, scr_masks: &Path) -> Result<MaskSet> {
    let imgs = files_by_stem(
        &require_dir(images.to_path_buf(), "JSRT images")?,
        &["img", "png"],
    )?;
    let mask_exts = ["png", "gif"];
    let left = files_by_stem(
        &require_dir(scr_masks.join("left lung"), "SCR left lung masks")?,
        &mask_exts,
    )?;
    let right = files_by_stem(
        &require_dir(scr_masks.join("right lung"), "SCR right lung masks")?,
        &mask_exts,
    )?;
    Ok(pair_left_right(&imgs, &left, &right))
}

/// JSRT with SCR masks under one folder, as the two are usually unpacked side by side:
/// the images in `root/All247images/` (or `root/images/`, or `root` itself), the SCR
/// masks in the first of `root/scr/masks/`, `root/SCR/masks/`, `root/masks/`, `root/scr/`
/// that holds `left lung/` and `right lung/`. SCR's two-fold distribution
/// (`fold1/masks/…`, `fold2/masks/…` under `root/scr/` or `root`) is read as one set.
pub fn jsrt(root: &Path) -> Result<MaskSet> {
    let images = ["All247images", "images"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root.to_path_buf());
    let has_lungs = |d: &Path| d.join("left lung").is_dir() && d.join("right lung").is_dir();
    let single = [
        root.join("scr").join("masks"),
        root.join("SCR").join("masks"),
        root.join("masks"),
        root.join("scr"),
    ]
    .into_iter()
    .find(|d| has_lungs(d));
    if let Some(masks) = single {
        return jsrt_scr(&images, &masks);
    }
    let folds: Vec<PathBuf> = [root.join("scr"), root.join("SCR"), root.to_path_buf()]
        .iter()
        .flat_map(|base| ["fold1", "fold2"].map(|f| base.join(f).join("masks")))
        .filter(|d| has_lungs(d))
        .collect();
    if folds.is_empty() {
        return Err(Error::MissingFolder {
            path: root.join("scr").join("masks"),
            what: "SCR lung masks (`left lung/` and `right lung/`)",
        });
    }
    let mut set = MaskSet::default();
    let mut paired = std::collections::BTreeSet::new();
    for masks in folds {
        let part = jsrt_scr(&images, &masks)?;
        for p in part.pairs {
            if paired.insert(p.image.clone()) {
                set.pairs.push(p);
            }
        }
        set.masks_without_image.extend(part.masks_without_image);
    }
    set.pairs.sort_by(|a, b| a.image.cmp(&b.image));
    let imgs = files_by_stem(&images, &["img", "png"])?;
    set.images_without_mask = imgs.into_values().filter(|p| !paired.contains(p)).collect();
    Ok(set)
}

/// The public lung-mask datasets with a reader here, by name (`montgomery`, `shenzhen`,
/// `jsrt`), for command lines and settings files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// Montgomery County ([`montgomery`]).
    Montgomery,
    /// Shenzhen ([`shenzhen`]).
    Shenzhen,
    /// JSRT with SCR masks ([`jsrt`]).
    Jsrt,
}

impl Dataset {
    /// Every dataset.
    pub const ALL: [Dataset; 3] = [Dataset::Montgomery, Dataset::Shenzhen, Dataset::Jsrt];

    /// The name used on command lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dataset::Montgomery => "montgomery",
            Dataset::Shenzhen => "shenzhen",
            Dataset::Jsrt => "jsrt",
        }
    }

    /// Reads the dataset as it ships under `root` (see each reader for the layout).
    pub fn read(self, root: &Path) -> Result<MaskSet> {
        match self {
            Dataset::Montgomery => montgomery(root),
            Dataset::Shenzhen => shenzhen(root),
            Dataset::Jsrt => jsrt(root),
        }
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown dataset `{s}` (expected montgomery, shenzhen or jsrt)"))
    }
}

/// A generic `images/` + `masks/` pair of folders matched by file stem; masks are read
/// strictly with `values`.
pub fn folder_pair(images: &Path, masks: &Path, values: MaskValues) -> Result<MaskSet> {
    let imgs = files_by_stem(
        &require_dir(images.to_path_buf(), "images")?,
        &IMAGE_EXTENSIONS,
    )?;
    let msks = files_by_stem(
        &require_dir(masks.to_path_buf(), "masks")?,
        &MASK_EXTENSIONS,
    )?;
    let mut set = MaskSet::default();
    for (stem, image) in &imgs {
        match msks.get(stem) {
            Some(m) => set.pairs.push(MaskPair {
                image: image.clone(),
                mask: MaskSource::Labelled {
                    path: m.clone(),
                    values,
                },
                group: None,
            }),
            None => set.images_without_mask.push(image.clone()),
        }
    }
    set.masks_without_image = msks
        .into_iter()
        .filter(|(k, _)| !imgs.contains_key(k))
        .map(|(_, p)| p)
        .collect();
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_nearest_doubles_and_halves_exactly() {
        let m = LabelMask::from_fn(2, 2, |x, y| match (x, y) {
            (0, 0) => PixelLabel::Lung,
            (1, 1) => PixelLabel::Ignore,
            _ => PixelLabel::Background,
        });
        let big = m.resize_nearest(4, 4);
        assert_eq!(big.count(PixelLabel::Lung), 4);
        assert_eq!(big.count(PixelLabel::Ignore), 4);
        assert_eq!(big.get(1, 1), PixelLabel::Lung);
        assert_eq!(big.get(2, 2), PixelLabel::Ignore);
        assert_eq!(big.resize_nearest(2, 2), m);
    }

    #[test]
    fn resize_nearest_of_an_empty_mask_is_background() {
        // `sw - 1` used to underflow for a 0 × 0 (or 0-wide) mask.
        for (w, h) in [(0, 0), (0, 3), (3, 0)] {
            let empty = LabelMask::from_fn(w, h, |_, _| PixelLabel::Lung);
            let r = empty.resize_nearest(3, 2);
            assert_eq!(r.dimensions(), (3, 2));
            assert_eq!(r.count(PixelLabel::Background), 6);
        }
        let m = LabelMask::from_fn(2, 2, |_, _| PixelLabel::Lung);
        assert_eq!(m.resize_nearest(0, 0).dimensions(), (0, 0));
    }

    #[test]
    fn strict_values_and_to_gray_round_trip() {
        let v = MaskValues::default();
        let img = GrayImage::from_raw(3, 1, vec![0, 127, 255]).unwrap();
        let m = LabelMask::from_gray(&img, &v, Path::new("m.png")).unwrap();
        assert_eq!(
            m.labels(),
            &[PixelLabel::Background, PixelLabel::Ignore, PixelLabel::Lung]
        );
        assert_eq!(m.to_gray(&v), img);
        let strict = MaskValues {
            soft_edges: false,
            ..v
        };
        let bad = GrayImage::from_raw(3, 1, vec![0, 128, 255]).unwrap();
        let e = LabelMask::from_gray(&bad, &strict, Path::new("m.png")).unwrap_err();
        assert_eq!(e.to_string(), "m.png: unexpected mask value 128 at (1, 0)");
        let no_ignore = MaskValues {
            ignore: None,
            ..strict
        };
        assert!(LabelMask::from_gray(&img, &no_ignore, Path::new("m.png")).is_err());
    }

    #[test]
    fn soft_edges_go_to_the_nearer_label_unless_they_are_the_image() {
        let v = MaskValues::default();
        // 40 pixels: 0, 255, 127 (ignore) and two soft ones (1 of 20 = 5 %: accepted).
        let mut px = vec![0u8; 20];
        px.extend([255u8; 16]);
        px.extend([127, 127, 100, 128]);
        let img = GrayImage::from_raw(8, 5, px).unwrap();
        let m = LabelMask::from_gray(&img, &v, Path::new("m.png")).unwrap();
        assert_eq!(m.get(4, 4), PixelLabel::Ignore);
        assert_eq!(m.get(6, 4), PixelLabel::Background);
        assert_eq!(m.get(7, 4), PixelLabel::Lung);
        assert_eq!(m.count(PixelLabel::Lung), 17);
        // One soft pixel more is over 5 %: a picture, not a mask.
        let mut px = img.into_raw();
        px[0] = 30;
        px[1] = 200;
        let img = GrayImage::from_raw(8, 5, px).unwrap();
        let e = LabelMask::from_gray(&img, &v, Path::new("photo.png")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "photo.png: 10.0 % of the pixels are neither background, lung nor ignore \
             (at most 5 % may be soft edges): not a lung mask"
        );
    }
}
