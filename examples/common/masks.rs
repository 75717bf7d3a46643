//! Where labelled lung masks come from, for the examples that train or score the
//! segmenter: generic folder pairs, the public datasets as they ship and CheXmask's
//! tables, mixed freely; images in PNG, JPEG or DICOM.
//! Included with `#[path]`.
use std::path::PathBuf;

use clap::Args;
use cxr::lungseg::masks::{
    ChexmaskOptions, Dataset, MaskSet, MaskValues, chexmask, folder_pair_with,
};

/// Image/mask sources.
#[derive(Args, Debug, Default)]
pub struct MaskArgs {
    /// Folder of images, PNG, JPEG or DICOM (matched to `--masks` by file stem, a DICOM
    /// file's whole name when it has no image extension); repeatable, in pairs.
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
        anyhow::ensure!(
            self.images.len() == self.masks.len(),
            "give one --masks per --images ({} --images, {} --masks)",
            self.images.len(),
            self.masks.len()
        );
        anyhow::ensure!(
            self.dataset.len() == self.root.len(),
            "give one --root per --dataset ({} --dataset, {} --root)",
            self.dataset.len(),
            self.root.len()
        );
        anyhow::ensure!(
            self.chexmask.len() == self.chexmask_images.len(),
            "give one --chexmask-images per --chexmask ({} --chexmask, {} --chexmask-images)",
            self.chexmask.len(),
            self.chexmask_images.len()
        );
        let patients = |set: &mut MaskSet| match &self.patient_separator {
            Some(sep) => set.group_by_name_prefix(sep),
            None => set.pairs.len(),
        };
        let mut all = MaskSet::default();
        let mut parts = Vec::new();
        for (images, masks) in self.images.iter().zip(&self.masks) {
            let mut set = folder_pair_with(
                images,
                masks,
                MaskValues::default(),
                cxr::dicom::IMAGE_FILES,
            )?;
            let n = patients(&mut set);
            report(&images.display().to_string(), &set, n);
            parts.push((images.display().to_string(), set.pairs.len()));
            all.extend(set);
        }
        for (table, images) in self.chexmask.iter().zip(&self.chexmask_images) {
            let options = ChexmaskOptions {
                min_dice_rca: self.min_dice_rca,
                limit: self.chexmask_limit,
            };
            let (mut set, r) = chexmask(table, images, &options)?;
            let n = patients(&mut set);
            eprintln!(
                "{}: {} rows read, {} below Dice RCA {}, {} unusable{}",
                table.display(),
                r.rows,
                r.below_quality,
                self.min_dice_rca,
                r.bad_rows.len(),
                if r.not_read {
                    " (stopped at --chexmask-limit)"
                } else {
                    ""
                }
            );
            for b in r.bad_rows.iter().take(5) {
                eprintln!("  unusable: {b}");
            }
            report(&images.display().to_string(), &set, n);
            parts.push((table.display().to_string(), set.pairs.len()));
            all.extend(set);
        }
        for (d, root) in self.dataset.iter().zip(&self.root) {
            let set = d.read(root)?;
            let name = format!("{d} ({})", root.display());
            report(&name, &set, set.pairs.len());
            parts.push((name, set.pairs.len()));
            all.extend(set);
        }
        anyhow::ensure!(!all.pairs.is_empty(), "no image/mask pair found");
        // DICOM images (VinDr-CXR, a hospital's own files) read like PNG and JPEG.
        all.read_images_with(cxr::dicom::IMAGE_FILES);
        Ok((all, parts))
    }
}

fn report(what: &str, set: &MaskSet, patients: usize) {
    eprintln!(
        "{what}: {} pairs of {patients} patients ({} images without mask, {} masks without image)",
        set.pairs.len(),
        set.images_without_mask.len(),
        set.masks_without_image.len()
    );
    for p in set.images_without_mask.iter().take(3) {
        tracing::debug!(path = %p.display(), "image without mask");
    }
}
