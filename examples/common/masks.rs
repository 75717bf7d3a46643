//! Where labelled lung masks come from, for the examples that train or score the
//! segmenter: generic folder pairs, the public datasets as they ship and CheXmask's
//! tables, mixed freely; images in PNG, JPEG, TIFF, BMP, WebP or DICOM.
//! Included with `#[path]`.
use std::path::PathBuf;

use clap::Args;
use cxr::lungseg::masks::{Dataset, MaskSet, MaskSourceSpec, read_sources};

/// Image/mask sources.
#[derive(Args, Debug, Default)]
pub struct MaskArgs {
    /// Folder of images, PNG, JPEG, TIFF, BMP, WebP or DICOM (matched to `--masks` by
    /// file stem, a DICOM file's whole name when it has no image extension); repeatable,
    /// in pairs.
    #[arg(long)]
    pub images: Vec<PathBuf>,
    /// Folder of masks: 0 background, 255 lung, 127 ignore (anti-aliased edges allowed).
    #[arg(long)]
    pub masks: Vec<PathBuf>,
    /// A public mask dataset as it ships: montgomery, shenzhen or jsrt (with its SCR
    /// masks); repeatable, each with its `--root`.
    #[arg(long)]
    pub dataset: Vec<Dataset>,
    /// Root folder of the `--dataset` at the same position.
    #[arg(long)]
    pub root: Vec<PathBuf>,
    /// A CheXmask table (`OriginalResolution/<database>.csv` or `.csv.gz`, PhysioNet):
    /// lung masks for ChestX-ray8, CheXpert, MIMIC-CXR-JPG, PadChest or VinDr-CXR images;
    /// repeatable, each with its `--chexmask-images`.
    #[arg(long)]
    pub chexmask: Vec<PathBuf>,
    /// Folder holding the images of the `--chexmask` table at the same position (the
    /// database as it ships; searched through, sub-folders included).
    #[arg(long)]
    pub chexmask_images: Vec<PathBuf>,
    /// CheXmask rows whose `Dice RCA (Mean)` is below this are left out (CheXmask's
    /// advice: 0.7).
    #[arg(long, default_value_t = 0.7)]
    pub min_dice_rca: f64,
    /// Take at most this many pairs from each `--chexmask` table (its first rows).
    #[arg(long)]
    pub chexmask_limit: Option<usize>,
    /// The patient is the part of the file name before this separator (e.g. `__`, or `_`
    /// for ChestX-ray8's `00000001_000.png`), so that a patient's images stay on one side
    /// of the validation split: folder pairs and CheXmask rows (a CheXpert path names its
    /// patient already).
    #[arg(long)]
    pub patient_separator: Option<String>,
}

impl MaskArgs {
    /// Whether any source was given.
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.dataset.is_empty() && self.chexmask.is_empty()
    }

    /// Every pair of every source, with a line per source on standard error.
    #[allow(dead_code)]
    pub fn read(&self) -> anyhow::Result<MaskSet> {
        Ok(self.read_parts()?.0)
    }

    /// [`read`](Self::read), and each source's name with its number of pairs, in the
    /// order of the set's pairs.
    pub fn read_parts(&self) -> anyhow::Result<(MaskSet, Vec<(String, usize)>)> {
        let (set, reads) = read_sources(&self.specs()?, cxr::dicom::IMAGE_FILES)?;
        for r in &reads {
            eprintln!("{r}");
            for b in r.chexmask.iter().flat_map(|c| c.bad_rows.iter().take(5)) {
                eprintln!("  unusable: {b}");
            }
        }
        anyhow::ensure!(!set.pairs.is_empty(), "no image/mask pair found");
        Ok((set, reads.into_iter().map(|r| (r.name, r.pairs)).collect()))
    }

    /// The sources the flags name: folder pairs, CheXmask tables, then datasets.
    pub fn specs(&self) -> anyhow::Result<Vec<MaskSourceSpec>> {
        let pairs = |a: usize, b: usize, what: &str, with: &str| {
            anyhow::ensure!(
                a == b,
                "give one --{with} per --{what} ({a} --{what}, {b} --{with})"
            );
            Ok(())
        };
        pairs(self.images.len(), self.masks.len(), "images", "masks")?;
        pairs(self.dataset.len(), self.root.len(), "dataset", "root")?;
        pairs(
            self.chexmask.len(),
            self.chexmask_images.len(),
            "chexmask",
            "chexmask-images",
        )?;
        let separator = self.patient_separator.clone();
        let folders = self
            .images
            .iter()
            .zip(&self.masks)
            .map(|(i, m)| MaskSourceSpec::Folder {
                images: i.clone(),
                masks: m.clone(),
                patient_separator: separator.clone(),
            });
        let tables = self
            .chexmask
            .iter()
            .zip(&self.chexmask_images)
            .map(|(t, i)| MaskSourceSpec::Chexmask {
                table: t.clone(),
                images: i.clone(),
                min_dice_rca: self.min_dice_rca,
                limit: self.chexmask_limit,
                patient_separator: separator.clone(),
            });
        let datasets = self
            .dataset
            .iter()
            .zip(&self.root)
            .map(|(d, r)| MaskSourceSpec::Dataset {
                dataset: *d,
                root: r.clone(),
            });
        Ok(folders.chain(tables).chain(datasets).collect())
    }
}
