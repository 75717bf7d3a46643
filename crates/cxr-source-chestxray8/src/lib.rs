//! # cxr-source-chestxray8 — NIH ChestX-ray8 / ChestX-ray14
//!
//! Reads `Data_Entry_2017_v2020.csv` or `Data_Entry_2017.csv` and checks each `Image
//! Index` against the image folders: `images/` (from `images_01.tar.gz` …) and
//! `images_001/images/` … `images_012/images/` (the Kaggle copy), all searched. Each
//! folder is listed once into a hash set, so 112,120 rows scan in well under a second
//! (see `benches/scan.rs`). Sits on `cxr-core` in the crate DAG; decodes no pixels.
//!
//! Both header spellings are read by name: the bracketed `OriginalImage[Width,Height]`
//! and `OriginalImagePixelSpacing[x,y]` headers split into two comma fields each, and the
//! 2017 release's trailing empty column. Ages `058Y` / `6M` / `20D` (2017) and plain
//! `58` (v2020) are read in years; ages above 120 years (a known data error, up to
//! `414Y`) are dropped from the record (kept as the `age_raw` extra), not excluded.
//!
//! A row is checked in this order: unreadable (too few fields, empty `Image Index`) →
//! `View Position` not PA/AP → `Finding Labels` not exactly `No Finding` (organism-less
//! `Pneumonia` and every other finding are unknown labels: this source gives healthy
//! controls only) → image file missing. `Patient ID` is written with 8 digits
//! (`00000001`) whichever release zero-padded it; `Follow-up #` is carried as the
//! `follow_up` extra, and the official split (`train_val_list.txt` / `test_list.txt`,
//! when present) as `official_split`.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_chestxray8::Chestxray8Source;
//!
//! let scan = Chestxray8Source::default().scan("ChestX-ray8".as_ref())?;
//! println!("{} healthy controls", scan.records.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

pub use cxr_source_util::table;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, View,
};

use crate::table::{Encoding, Table};

/// Names of the metadata table, in the order they are looked for.
pub const DATA_ENTRY_NAMES: [&str; 2] = ["Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"];

/// Settings of one scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Chestxray8Options {
    /// The metadata table, relative to the root (or absolute); `None` looks for
    /// [`DATA_ENTRY_NAMES`] in order.
    pub data_entry: Option<PathBuf>,
    /// Ages above this many years are treated as data errors and dropped. Default 120.
    pub max_age_years: f32,
}

impl Default for Chestxray8Options {
    fn default() -> Self {
        Chestxray8Options {
            data_entry: None,
            max_age_years: 120.0,
        }
    }
}

/// The NIH ChestX-ray8 adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chestxray8Source {
    options: Chestxray8Options,
}

impl Chestxray8Source {
    /// An adapter with these options.
    pub fn new(options: Chestxray8Options) -> Self {
        Chestxray8Source { options }
    }

    /// The options in use.
    pub fn options(&self) -> &Chestxray8Options {
        &self.options
    }

    /// The metadata table this adapter reads under `root`, if there is one.
    pub fn data_entry_path(&self, root: &Path) -> Option<PathBuf> {
        match &self.options.data_entry {
            Some(p) => Some(root.join(p)),
            None => DATA_ENTRY_NAMES
                .iter()
                .map(|n| root.join(n))
                .find(|p| p.is_file()),
        }
    }
}

/// The image folders of a ChestX-ray8 root, in search order: `images/`, then every
/// `images_*/images/` (or `images_*/` holding the PNGs directly), sorted.
pub fn image_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if root.join("images").is_dir() {
        dirs.push(root.join("images"));
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("images_"))
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    parts.sort();
    for p in parts {
        let inner = p.join("images");
        dirs.push(if inner.is_dir() { inner } else { p });
    }
    dirs
}

/// Reads `Patient Age` (`058Y`, `6M`, `20D`, `58`) → years: the adapters' shared
/// parser, [`cxr_core::age::age_years`].
pub use cxr_core::age::age_years;

/// `Patient ID` as the 8-digit form the file names use (`1` → `00000001`).
pub fn patient_local_id(text: &str) -> String {
    match text.trim().parse::<u64>() {
        Ok(n) => format!("{n:08}"),
        Err(_) => text.trim().to_owned(),
    }
}

fn read_list(path: &Path) -> Result<HashSet<String>, ScanError> {
    if !path.is_file() {
        return Ok(HashSet::new());
    }
    let text = std::fs::read_to_string(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

impl Source for Chestxray8Source {
    fn id(&self) -> SourceId {
        SourceId::Chestxray8
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        let path = self
            .data_entry_path(root)
            .ok_or_else(|| ScanError::MissingLayout {
                source_id: SourceId::Chestxray8,
                what: "Data_Entry_2017.csv or Data_Entry_2017_v2020.csv",
                path: root.to_path_buf(),
            })?;
        if !path.is_file() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::Chestxray8,
                what: "the Data_Entry table",
                path,
            });
        }
        let dirs = image_dirs(root);
        let mut where_is: HashMap<String, u16> = HashMap::new();
        for (i, d) in dirs.iter().enumerate() {
            let rd = std::fs::read_dir(d).map_err(|source| ScanError::Io {
                path: d.clone(),
                source,
            })?;
            for e in rd.filter_map(Result::ok) {
                if let Ok(name) = e.file_name().into_string() {
                    where_is.entry(name).or_insert(i as u16);
                }
            }
        }
        let test_list = read_list(&root.join("test_list.txt"))?;
        let train_list = read_list(&root.join("train_val_list.txt"))?;

        let mut table = Table::open(&path, b',', Encoding::Utf8)?;
        let mut cols = [0usize; 7];
        for (c, name) in cols.iter_mut().zip([
            "image_index",
            "finding_labels",
            "follow-up_#",
            "patient_id",
            "patient_age",
            "patient_gender",
            "view_position",
        ]) {
            *c = table.need(&[name])?;
        }
        let [c_image, c_finding, c_follow, c_pid, c_age, c_sex, c_view] = cols;
        let width = table.col(&["originalimage[width"]);
        let spacing = table.col(&["originalimagepixelspacing[x"]);
        let needed = cols.iter().max().copied().unwrap_or(0) + 1;
        let header_used = table.width();

        let mut scan = Scan::default();
        while let Some(row) = table.next_row()? {
            let exclude = |scan: &mut Scan, image: Option<PathBuf>, reason| {
                scan.exclusions.push(Exclusion {
                    source: SourceId::Chestxray8,
                    file: Some(path.clone()),
                    row: Some(row.line),
                    path: image,
                    reason,
                })
            };
            if row.len() < needed {
                let detail = if row.is_blank() {
                    "blank row".to_owned()
                } else {
                    format!(
                        "truncated row: {} field(s), header has {header_used}",
                        row.len()
                    )
                };
                exclude(&mut scan, None, ExclusionReason::MalformedRow { detail });
                continue;
            }
            let image = row.get(c_image);
            let pid = row.get(c_pid);
            if image.is_empty() || pid.is_empty() {
                let which = if image.is_empty() {
                    "Image Index"
                } else {
                    "Patient ID"
                };
                exclude(
                    &mut scan,
                    None,
                    ExclusionReason::MalformedRow {
                        detail: format!("empty `{which}`"),
                    },
                );
                continue;
            }
            let dir = where_is.get(image).map(|&i| &dirs[usize::from(i)]);
            let image_path = dir.map_or_else(
                || {
                    dirs.first()
                        .map_or_else(|| root.join("images"), Clone::clone)
                        .join(image)
                },
                |d| d.join(image),
            );
            let view_text = row.get(c_view);
            let view = match view_text {
                "PA" => View::Pa,
                "AP" => View::Ap,
                other => match other.parse::<View>() {
                    Ok(v) if v.is_frontal() => v,
                    _ => {
                        exclude(
                            &mut scan,
                            Some(image_path),
                            ExclusionReason::NotFrontal { view: other.into() },
                        );
                        continue;
                    }
                },
            };
            let finding = row.get(c_finding);
            if finding != "No Finding" {
                exclude(
                    &mut scan,
                    Some(image_path),
                    ExclusionReason::UnknownLabel {
                        finding: finding.into(),
                    },
                );
                continue;
            }
            if dir.is_none() {
                exclude(&mut scan, Some(image_path), ExclusionReason::MissingFile);
                continue;
            }
            let mut rec = ImageRecord::new(
                PatientId::new(SourceId::Chestxray8, patient_local_id(pid)),
                image,
                image_path,
                Label::Healthy,
                "Finding Labels=No Finding",
                view,
            );
            let age_text = row.get(c_age);
            match age_years(age_text) {
                Some(a) if (0.0..=self.options.max_age_years).contains(&a) => rec.age = Some(a),
                _ if !age_text.is_empty() => {
                    rec.extras.insert("age_raw".into(), age_text.into());
                }
                _ => {}
            }
            let sex = row.get(c_sex);
            match sex.parse::<Sex>() {
                Ok(s) => rec.sex = Some(s),
                Err(_) if !sex.is_empty() => {
                    rec.extras.insert("sex_raw".into(), sex.into());
                }
                Err(_) => {}
            }
            let follow = row.get(c_follow);
            if !follow.is_empty() {
                rec.extras.insert("follow_up".into(), follow.into());
            }
            for (base, keys) in [
                (width, ["original_width", "original_height"]),
                (spacing, ["pixel_spacing_x", "pixel_spacing_y"]),
            ] {
                if let Some(b) = base {
                    for (k, key) in keys.iter().enumerate() {
                        let v = row.get(b + k);
                        if !v.is_empty() {
                            rec.extras.insert((*key).into(), v.into());
                        }
                    }
                }
            }
            if test_list.contains(image) {
                rec.extras.insert("official_split".into(), "test".into());
            } else if train_list.contains(image) {
                rec.extras
                    .insert("official_split".into(), "train_val".into());
            }
            scan.records.push(rec);
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        // Ages: cxr_core::age's tests.
        assert_eq!(patient_local_id("1"), "00000001");
        assert_eq!(patient_local_id("00000001"), "00000001");
        assert_eq!(patient_local_id("000"), "00000000");
        assert_eq!(patient_local_id("x7"), "x7");
    }
}
