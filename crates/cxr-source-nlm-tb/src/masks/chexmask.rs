//! CheXmask (Gaggion et al., PhysioNet 2023): lung masks for ChestX-ray8, CheXpert,
//! MIMIC-CXR-JPG, PadChest and VinDr-CXR images, drawn by HybridGNet and scored by
//! Reverse Classification Accuracy, one CSV per database; the images come from the
//! databases themselves.
//!
//! A table (`OriginalResolution/<database>.csv`, or `.csv.gz`) has one row per image:
//! the image id in its first column (named after the database: `Image Index`, `Path`,
//! `dicom_id`, `ImageID`, `image_id`), `Dice RCA (Mean)`, `Dice RCA (Max)`, `Landmarks`,
//! `Left Lung`, `Right Lung`, `Heart` (run-length encodings) and the mask's `Height` and
//! `Width`. An encoding is `start length start length …` over the row-major pixels with
//! 1-based starts (CheXmask's `get_mask_from_RLE`). The lung mask of a pair is the union
//! of both lungs; the heart is not used.
//!
//! Masks are estimates, not hand drawings: CheXmask's authors advise using only rows with
//! `Dice RCA (Mean)` ≥ 0.7 ([`ChexmaskOptions::min_dice_rca`], the default here). Use the
//! `OriginalResolution` tables: the `Preprocessed` ones are 1024 × 1024 masks of padded
//! images, which no image on disk matches (their pairs fail with a size mismatch).
//!
//! Rows find their image under a root folder walked once: an id that is a path
//! (CheXpert's `CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg`) by that path
//! or its tail under the root; any other id by file name without its image extension
//! (`00000001_000.png`, a PadChest `ImageID`, a VinDr `image_id` stored as
//! `<id>.dicom`, a MIMIC `dicom_id` stored as `<id>.jpg`). VinDr-CXR's images are DICOM:
//! read them with [`MaskSet::read_images_with`]`(cxr_dicom::IMAGE_FILES)`. A CheXpert
//! path names its patient (`patient00001`), which becomes the pair's group; other ids
//! name none ([`MaskSet::group_by_name_prefix`] groups ChestX-ray8's `00000001_000`
//! names by the part before `_`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_source_util::table::{Encoding, Table};

use super::pairs::RleMask;
use super::{Error, MaskPair, MaskSet, MaskSource, Result};

/// What [`chexmask`] takes from a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ChexmaskOptions {
    /// Rows whose `Dice RCA (Mean)` is below this are left out (default 0.7, the
    /// threshold CheXmask's authors give; 0 keeps every row).
    pub min_dice_rca: f64,
    /// Stop after this many pairs (the table's first ones; `None`: all). A pair holds
    /// its runs in memory, about 16 bytes per image row, so a whole database (MIMIC's
    /// 240,000 rows) is for a machine with the memory to train on it.
    pub limit: Option<usize>,
}

impl Default for ChexmaskOptions {
    fn default() -> Self {
        ChexmaskOptions {
            min_dice_rca: 0.7,
            limit: None,
        }
    }
}

/// What a table held besides its pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChexmaskReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows left out by [`ChexmaskOptions::min_dice_rca`].
    pub below_quality: usize,
    /// The threshold they were below.
    pub min_dice_rca: f64,
    /// Rows left unread once [`ChexmaskOptions::limit`] pairs were found.
    pub not_read: bool,
    /// Rows that could not be used, each with its line and why (a number that does
    /// not parse, a run outside the image, no lung at all, an id matching two files).
    pub bad_rows: Vec<String>,
}

/// Reads the CheXmask `table` and pairs its rows with the images under `images`
/// (see the module docs). Rows whose image is not there are listed in
/// [`MaskSet::masks_without_image`] by id.
///
/// # Errors
///
/// [`Error::Table`] when the table cannot be read or lacks a column;
/// [`Error::MissingFolder`] / [`Error::Io`] for the image folder. A bad row is not an
/// error: it goes to [`ChexmaskReport::bad_rows`] and the rest are read.
pub fn chexmask(
    table: &Path,
    images: &Path,
    options: &ChexmaskOptions,
) -> Result<(MaskSet, ChexmaskReport)> {
    if !images.is_dir() {
        return Err(Error::MissingFolder {
            path: images.to_path_buf(),
            what: "the database's images",
        });
    }
    let scan = |e| Error::Table(Box::new(e));
    let mut t = Table::open(table, b',', Encoding::Utf8).map_err(scan)?;
    let col = |t: &Table, name: &str| t.need(&[name]).map_err(scan);
    let (rca, left, right, height, width) = (
        col(&t, "Dice RCA (Mean)")?,
        col(&t, "Left Lung")?,
        col(&t, "Right Lung")?,
        col(&t, "Height")?,
        col(&t, "Width")?,
    );
    let index = ImageIndex::build(images)?;
    let mut set = MaskSet::default();
    let mut report = ChexmaskReport {
        min_dice_rca: options.min_dice_rca,
        ..ChexmaskReport::default()
    };
    while let Some(row) = t.next_row().map_err(scan)? {
        if row.is_blank_line() {
            continue;
        }
        if options.limit.is_some_and(|n| set.pairs.len() >= n) {
            report.not_read = true;
            break;
        }
        report.rows += 1;
        let id = row.get(0);
        let bad = |why: String| format!("line {} ({id}): {why}", row.line);
        let quality: f64 = match row.get(rca).parse() {
            Ok(q) => q,
            Err(_) => {
                report.bad_rows.push(bad(format!(
                    "Dice RCA (Mean) `{}` is no number",
                    row.get(rca)
                )));
                continue;
            }
        };
        if quality < options.min_dice_rca {
            report.below_quality += 1;
            continue;
        }
        let mask = (|| -> std::result::Result<RleMask, String> {
            let dim = |c: usize, name: &str| -> std::result::Result<u32, String> {
                row.get(c)
                    .parse::<u32>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| format!("{name} `{}` is no positive whole number", row.get(c)))
            };
            let (w, h) = (dim(width, "Width")?, dim(height, "Height")?);
            let pixels = u64::from(w) * u64::from(h);
            if pixels > cxr_core::MAX_IMAGE_PIXELS {
                return Err(format!("{w} × {h} is larger than any radiograph"));
            }
            let mut runs =
                parse_rle(row.get(left), pixels).map_err(|e| format!("Left Lung: {e}"))?;
            runs.extend(parse_rle(row.get(right), pixels).map_err(|e| format!("Right Lung: {e}"))?);
            if runs.is_empty() {
                return Err("no lung in either encoding".into());
            }
            Ok(RleMask {
                table: table.to_path_buf(),
                line: row.line,
                width: w,
                height: h,
                runs,
            })
        })();
        let mask = match mask {
            Ok(m) => m,
            Err(why) => {
                report.bad_rows.push(bad(why));
                continue;
            }
        };
        match index.find(id) {
            Found::One(path) => {
                let mut pair = MaskPair::new(path.clone(), MaskSource::Rle(Arc::new(mask)));
                pair.group = patient_of(id);
                set.pairs.push(pair);
            }
            Found::None => set.masks_without_image.push(PathBuf::from(id)),
            Found::Several(paths) => report.bad_rows.push(bad(format!(
                "{} files go by this id ({}, …): name the image by its path",
                paths.len(),
                paths[0].display()
            ))),
        }
    }
    Ok((set, report))
}

/// `start length …` with 1-based starts into 0-based `(start, length)` runs, each inside
/// `pixels`; an empty field is no run (a lung CheXmask did not draw).
fn parse_rle(text: &str, pixels: u64) -> std::result::Result<Vec<(u32, u32)>, String> {
    let numbers: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| format!("`{t}` is no whole number"))
        })
        .collect::<std::result::Result<_, _>>()?;
    if !numbers.len().is_multiple_of(2) {
        return Err(format!(
            "{} numbers: starts and lengths come in pairs",
            numbers.len()
        ));
    }
    numbers
        .chunks_exact(2)
        .map(|p| {
            let (start, len) = (p[0], p[1]);
            if start == 0 || start - 1 + len > pixels {
                Err(format!("run {start} + {len} is outside the image's {pixels} pixels (starts count from 1)"))
            } else {
                // Both fit in u32: pixels ≤ MAX_IMAGE_PIXELS.
                Ok(((start - 1) as u32, len as u32))
            }
        })
        .collect()
}

/// The patient a CheXpert-style path names: the folder holding the study folder
/// (`train/patient00001/study1/view1_frontal.jpg` → `patient00001`).
fn patient_of(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    (parts.len() >= 3).then(|| parts[parts.len() - 3].to_owned())
}

/// Every file under a root, by relative path (also without its first folder, so that a
/// root holding each database in a folder of its own, or CheXpert's `-small` copy,
/// still finds a path id) and by name without image extension.
struct ImageIndex {
    by_path: BTreeMap<String, Vec<PathBuf>>,
    by_stem: BTreeMap<String, Vec<PathBuf>>,
}

enum Found<'a> {
    One(&'a PathBuf),
    None,
    Several(&'a [PathBuf]),
}

impl<'a> Found<'a> {
    fn of(paths: Option<&'a Vec<PathBuf>>) -> Self {
        match paths.map(Vec::as_slice) {
            None | Some([]) => Found::None,
            Some([one]) => Found::One(one),
            Some(several) => Found::Several(several),
        }
    }
}

impl ImageIndex {
    fn build(root: &Path) -> Result<ImageIndex> {
        let mut index = ImageIndex {
            by_path: BTreeMap::new(),
            by_stem: BTreeMap::new(),
        };
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let io = |source| Error::Io {
                path: dir.clone(),
                source,
            };
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                let path = entry.path();
                if entry.file_type().map_err(io)?.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !path.is_file() {
                    continue;
                }
                let rel: Vec<String> = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                for k in 0..rel.len().min(2) {
                    if rel.len() - k >= 2 || k == 0 {
                        index
                            .by_path
                            .entry(rel[k..].join("/"))
                            .or_default()
                            .push(path.clone());
                    }
                }
                index
                    .by_stem
                    .entry(cxr_core::names::image_stem(&path))
                    .or_default()
                    .push(path);
            }
        }
        for paths in index.by_path.values_mut().chain(index.by_stem.values_mut()) {
            paths.sort();
        }
        Ok(index)
    }

    fn find(&self, id: &str) -> Found<'_> {
        let parts: Vec<&str> = id.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 {
            // The id's path, or its tail when the root is further down (at least the
            // file and its folder).
            return (0..parts.len() - 1)
                .map(|k| Found::of(self.by_path.get(&parts[k..].join("/"))))
                .find(|f| !matches!(f, Found::None))
                .unwrap_or(Found::None);
        }
        Found::of(
            self.by_stem
                .get(&cxr_core::names::image_stem(Path::new(id))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_one_based_and_checked() {
        assert_eq!(parse_rle("1 3 10 2", 12).unwrap(), vec![(0, 3), (9, 2)]);
        assert_eq!(parse_rle("  ", 12).unwrap(), vec![]);
        assert!(
            parse_rle("0 3", 12)
                .unwrap_err()
                .contains("starts count from 1")
        );
        assert!(parse_rle("11 3", 12).unwrap_err().contains("outside"));
        assert!(parse_rle("1 3 5", 12).unwrap_err().contains("pairs"));
        assert!(parse_rle("1 x", 12).unwrap_err().contains("`x`"));
    }

    #[test]
    fn a_chexpert_path_names_its_patient() {
        assert_eq!(
            patient_of("CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg").as_deref(),
            Some("patient00001")
        );
        assert_eq!(patient_of("00000001_000.png"), None);
    }
}
