//! Several mask sources read into one set, as a command line or a settings file names
//! them ([`MaskSourceSpec`]): the one place `train_segmenter`, `score_segmenter` and an
//! experiment's `[[segmenter.masks]]` read lung masks from.

use std::path::PathBuf;

use cxr_core::ImageFiles;
use serde::{Deserialize, Serialize};

use super::{
    ChexmaskOptions, ChexmaskReport, Dataset, MaskSet, MaskValues, Result, chexmask,
    folder_pair_with,
};

/// One place lung masks come from. In TOML: `{ kind = "folder", images = "…", masks =
/// "…" }`, `{ kind = "dataset", dataset = "montgomery", root = "…" }`, `{ kind =
/// "chexmask", table = "…/Padchest.csv", images = "…" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum MaskSourceSpec {
    /// A folder of images (PNG, JPEG, TIFF, BMP, WebP, DICOM) and one of masks, matched by stem
    /// ([`folder_pair_with`]; masks 0 / 255 / 127 = ignore).
    Folder {
        /// The images.
        images: PathBuf,
        /// The masks.
        masks: PathBuf,
        /// The patient is the part of the file name before this (`__`), so that a
        /// patient's images stay on one side of the validation split.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        patient_separator: Option<String>,
    },
    /// A public mask dataset as it ships ([`Dataset::read`]).
    Dataset {
        /// Which.
        dataset: Dataset,
        /// Its root folder.
        root: PathBuf,
    },
    /// A CheXmask table and the database's images ([`chexmask`]).
    Chexmask {
        /// The table (`OriginalResolution/<database>.csv` or `.csv.gz`).
        table: PathBuf,
        /// The folder holding the database's images.
        images: PathBuf,
        /// Rows below this `Dice RCA (Mean)` are left out.
        #[serde(default = "default_min_dice_rca")]
        min_dice_rca: f64,
        /// At most this many pairs (the table's first usable rows).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
        /// As for a folder; a CheXpert path names its patient already.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        patient_separator: Option<String>,
    },
}

fn default_min_dice_rca() -> f64 {
    ChexmaskOptions::default().min_dice_rca
}

impl MaskSourceSpec {
    /// The name a source goes by in messages: its folder, dataset or table.
    pub fn name(&self) -> String {
        match self {
            MaskSourceSpec::Folder { images, .. } => images.display().to_string(),
            MaskSourceSpec::Dataset { dataset, root } => format!("{dataset} ({})", root.display()),
            MaskSourceSpec::Chexmask { table, .. } => table.display().to_string(),
        }
    }
}

/// What one source gave.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRead {
    /// [`MaskSourceSpec::name`].
    pub name: String,
    /// Pairs it gave (the set's pairs come in the order of the sources).
    pub pairs: usize,
    /// Patients among them (each pair its own when no patient is known).
    pub patients: usize,
    /// Images without a (complete) mask.
    pub images_without_mask: usize,
    /// Masks (or CheXmask rows) without an image.
    pub masks_without_image: usize,
    /// A CheXmask table's own account (rows read, below quality, unusable).
    pub chexmask: Option<ChexmaskReport>,
}

impl std::fmt::Display for SourceRead {
    /// `images: 62 pairs of 62 patients (0 images without mask, 0 masks without image)`;
    /// for a CheXmask table, a line of its rows before it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.chexmask {
            writeln!(
                f,
                "{}: {} rows read, {} below Dice RCA {}, {} unusable{}",
                self.name,
                r.rows,
                r.below_quality,
                r.min_dice_rca,
                r.bad_rows.len(),
                if r.not_read {
                    " (stopped at the limit)"
                } else {
                    ""
                }
            )?;
        }
        write!(
            f,
            "{}: {} pairs of {} patients ({} images without mask, {} masks without image)",
            self.name,
            self.pairs,
            self.patients,
            self.images_without_mask,
            self.masks_without_image
        )
    }
}

/// Reads every source into one set, in order, its images read by `reader`
/// (`cxr_dicom::IMAGE_FILES` for DICOM too), and what each gave.
///
/// # Errors
///
/// The first source that cannot be read (a missing folder, an unreadable table).
pub fn read_sources(
    specs: &[MaskSourceSpec],
    reader: ImageFiles,
) -> Result<(MaskSet, Vec<SourceRead>)> {
    let mut all = MaskSet::default();
    let mut reads = Vec::new();
    for spec in specs {
        let (mut set, separator, report) = match spec {
            MaskSourceSpec::Folder {
                images,
                masks,
                patient_separator,
            } => (
                folder_pair_with(images, masks, MaskValues::default(), reader)?,
                patient_separator.as_deref(),
                None,
            ),
            MaskSourceSpec::Dataset { dataset, root } => (dataset.read(root)?, None, None),
            MaskSourceSpec::Chexmask {
                table,
                images,
                min_dice_rca,
                limit,
                patient_separator,
            } => {
                let options = ChexmaskOptions {
                    min_dice_rca: *min_dice_rca,
                    limit: *limit,
                };
                let (set, report) = chexmask(table, images, &options)?;
                (set, patient_separator.as_deref(), Some(report))
            }
        };
        let patients = match separator {
            Some(sep) => set.group_by_name_prefix(sep),
            None => {
                let named: std::collections::BTreeSet<&str> = set
                    .pairs
                    .iter()
                    .filter_map(|p| p.group.as_deref())
                    .collect();
                named.len() + set.pairs.iter().filter(|p| p.group.is_none()).count()
            }
        };
        reads.push(SourceRead {
            name: spec.name(),
            pairs: set.pairs.len(),
            patients,
            images_without_mask: set.images_without_mask.len(),
            masks_without_image: set.masks_without_image.len(),
            chexmask: report,
        });
        all.extend(set);
    }
    all.read_images_with(reader);
    Ok((all, reads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_from_toml_with_defaults_and_refuse_unknown_fields() {
        #[derive(Deserialize)]
        struct File {
            masks: Vec<MaskSourceSpec>,
        }
        let f: File = toml::from_str(
            r#"
            masks = [
              { kind = "folder", images = "img", masks = "msk", patient_separator = "__" },
              { kind = "dataset", dataset = "jsrt", root = "JSRT" },
              { kind = "chexmask", table = "Padchest.csv", images = "padchest", limit = 10 },
            ]
            "#,
        )
        .unwrap();
        assert_eq!(
            f.masks[2],
            MaskSourceSpec::Chexmask {
                table: "Padchest.csv".into(),
                images: "padchest".into(),
                min_dice_rca: 0.7,
                limit: Some(10),
                patient_separator: None,
            }
        );
        assert_eq!(f.masks[1].name(), "jsrt (JSRT)");
        let bad =
            toml::from_str::<File>(r#"masks = [{ kind = "folder", images = "a", mask = "b" }]"#);
        assert!(bad.is_err());
    }

    #[test]
    fn a_missing_source_is_an_error_naming_it() {
        let spec = MaskSourceSpec::Folder {
            images: "/nowhere/images".into(),
            masks: "/nowhere/masks".into(),
            patient_separator: None,
        };
        let e = read_sources(&[spec], ImageFiles::RASTER).unwrap_err();
        assert!(e.to_string().contains("/nowhere/images"), "{e}");
    }
}
