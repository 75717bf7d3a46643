//! Where labelled lung masks come from, for the examples that train or score the
//! segmenter: generic folder pairs and the public datasets as they ship, mixed freely.
//! Included with `#[path]`.
use std::path::PathBuf;

use clap::Args;
use cxr::lungseg::masks::{Dataset, MaskSet, MaskValues, folder_pair};

/// Image/mask sources.
#[derive(Args, Debug, Default)]
pub struct MaskArgs {
    /// Folder of images (matched to `--masks` by file stem); repeatable, in pairs.
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
    /// In folder pairs, the patient is the part of the file name before this separator
    /// (e.g. `__`), so that a patient's images stay on one side of the validation split.
    #[arg(long)]
    pub patient_separator: Option<String>,
}

impl MaskArgs {
    /// Whether any source was given.
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.dataset.is_empty()
    }

    /// Every pair of every source, with a line per source on standard error.
    pub fn read(&self) -> anyhow::Result<MaskSet> {
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
        let mut all = MaskSet::default();
        for (images, masks) in self.images.iter().zip(&self.masks) {
            let mut set = folder_pair(images, masks, MaskValues::default())?;
            let patients = match &self.patient_separator {
                Some(sep) => set.group_by_name_prefix(sep),
                None => set.pairs.len(),
            };
            report(&images.display().to_string(), &set, patients);
            all.extend(set);
        }
        for (d, root) in self.dataset.iter().zip(&self.root) {
            let set = d.read(root)?;
            report(&format!("{d} ({})", root.display()), &set, set.pairs.len());
            all.extend(set);
        }
        anyhow::ensure!(!all.pairs.is_empty(), "no image/mask pair found");
        Ok(all)
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
