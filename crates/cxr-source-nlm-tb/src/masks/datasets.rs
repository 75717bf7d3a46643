//! The dataset walkers: each reads one dataset's folder layout into a [`MaskSet`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use cxr_core::ImageFiles;

use super::jsrt_raw::is_raw_img;
use super::{Error, MaskPair, MaskSet, MaskSource, MaskValues, Result};

/// The images of the public mask datasets: the raster formats
/// ([`cxr_core::names::RASTER_EXTENSIONS`], PNG first) and JSRT's raw `.IMG`.
const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "img"];
/// Masks: PNG, GIF (SCR ships GIF), TIFF and BMP; lossless formats only, so a lossy
/// JPEG or WebP mask (whose edges are no longer two values) is listed as unmatched
/// rather than paired and failing at training time.
const MASK_EXTENSIONS: [&str; 5] = ["png", "gif", "tif", "tiff", "bmp"];

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
            (Some(l), Some(r)) => set.pairs.push(MaskPair::new(
                image.clone(),
                MaskSource::Binary(vec![l.clone(), r.clone()]),
            )),
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

/// Files of `dir` with one of `exts` (case-insensitive), by stem; for a stem present with
/// several extensions, the earliest in `exts` wins.
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
                set.pairs.push(MaskPair::new(
                    image.clone(),
                    MaskSource::Binary(vec![masks[&k].clone()]),
                ));
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
/// strictly with `values`. Images are raster ([`cxr_core::RASTER_FORMATS`]) or JSRT raw
/// `.IMG` files
/// ([`folder_pair_with`] reads DICOM too).
pub fn folder_pair(images: &Path, masks: &Path, values: MaskValues) -> Result<MaskSet> {
    folder_pair_with(images, masks, values, ImageFiles::RASTER)
}

/// [`folder_pair`] with the images `reader` takes (`cxr_dicom::IMAGE_FILES`: DICOM files
/// too, by extension, UID-like name or content), read by it. An image named by its UID
/// (`1.2.840.113619.2.55.3.868`) is paired with `1.2.840.113619.2.55.3.868.png`
/// ([`cxr_core::names::image_stem`]); JSRT raw `.IMG` files are taken as well.
pub fn folder_pair_with(
    images: &Path,
    masks: &Path,
    values: MaskValues,
    reader: ImageFiles,
) -> Result<MaskSet> {
    let images = require_dir(images.to_path_buf(), "images")?;
    let imgs = image_files_by_stem(&images, &reader)?;
    let msks = files_by_stem(
        &require_dir(masks.to_path_buf(), "masks")?,
        &MASK_EXTENSIONS,
    )?;
    let mut set = MaskSet::default();
    for (stem, image) in &imgs {
        match msks.get(stem) {
            Some(m) => set.pairs.push(MaskPair {
                reader,
                ..MaskPair::new(
                    image.clone(),
                    MaskSource::Labelled {
                        path: m.clone(),
                        values,
                    },
                )
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

/// The images of `dir` that `reader` takes (or JSRT raw `.IMG` files), by stem without
/// the image extension; of two files of one stem (`a.png`, `a.jpg`), the one whose
/// extension comes first in [`IMAGE_EXTENSIONS`] is kept (a DICOM file after those).
fn image_files_by_stem(dir: &Path, reader: &ImageFiles) -> Result<BTreeMap<String, PathBuf>> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    let rank = |p: &Path| {
        p.extension()
            .and_then(|e| {
                IMAGE_EXTENSIONS
                    .iter()
                    .position(|x| e.eq_ignore_ascii_case(x))
            })
            .unwrap_or(IMAGE_EXTENSIONS.len())
    };
    files.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    let mut out = BTreeMap::new();
    for path in files {
        let stem = if is_raw_img(&path) {
            path.file_stem().map(|s| s.to_string_lossy().into_owned())
        } else if (reader.is_image)(&path) {
            Some(cxr_core::names::image_stem(&path))
        } else {
            None
        };
        if let Some(stem) = stem {
            out.entry(stem).or_insert(path);
        }
    }
    Ok(out)
}
