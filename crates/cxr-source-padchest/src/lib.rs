//! # cxr-source-padchest — the PadChest adapter
//!
//! Reads PadChest (BIMCV, Bustos et al. 2020) as distributed:
//! `PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv` (written by pandas, so with a
//! leading unnamed index column) and the PNGs, either flat under `images/` or in the
//! numbered folders `0` … `54` that the `ImageDir` column names (also accepted:
//! `images/<ImageDir>/`). It sits above `cxr-core` in the DAG (see
//! `docs/architecture.md`) and decodes no pixels: scanning reads the table and checks
//! that each image file exists.
//!
//! Rules (see `docs/data.md`, PadChest and format notes §3a), applied in this order,
//! the first that fails naming the row's exclusion:
//!
//! 1. a row with too few or too many fields → [`ExclusionReason::MalformedRow`];
//! 2. `Projection` ∈ {`PA`, `AP`, `AP_horizontal`} is frontal; `L`, `COSTAL`, `EXCLUDE`,
//!    `UNK` or blank → [`ExclusionReason::NotFrontal`];
//! 3. `Pediatric` = `PED` → [`ExclusionReason::Pediatric`] unless
//!    [`PadchestOptions::keep_pediatric`];
//! 4. `Labels` (a Python list literal) equal to `['normal']` → healthy; containing one of
//!    [`PadchestOptions::bacterial_labels`] (default `tuberculosis`, the paper preset's
//!    reading of its 69 bacterial PadChest patients) → bacterial; anything else, `[]`
//!    or null → [`ExclusionReason::UnknownLabel`]; a list that does not parse →
//!    [`ExclusionReason::MalformedRow`];
//! 5. `StudyDate_DICOM` (`YYYYMMDD`) that does not parse → [`ExclusionReason::UnparseableDate`];
//! 6. no image file → [`ExclusionReason::MissingFile`].
//!
//! Age = study year − `PatientBirth` (a year written as float text, `1930.0`); sex from
//! `PatientSex_DICOM`. Extras: `study_id`, `image_dir`, `projection`, `method_label`,
//! `method_projection`, `modality`, `photometric`, `labels`.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_padchest::PadchestSource;
//!
//! let scan = PadchestSource::default().scan(std::path::Path::new("/data/padchest"))?;
//! println!("{} records, {} exclusions", scan.records.len(), scan.exclusions.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

use cxr_source_util::table;

use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, StudyDate, View,
};
use serde::{Deserialize, Serialize};

use table::{Encoding, Row, Table, python_list};

/// File name of the labels table of the public release.
pub const LABELS_CSV: &str = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv";

/// Settings of a PadChest scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PadchestOptions {
    /// Keep studies flagged `Pediatric` = `PED` (default: exclude them).
    pub keep_pediatric: bool,
    /// `Labels` items that make a study bacterial (matched case-insensitively against
    /// whole items). Default `["tuberculosis"]`.
    pub bacterial_labels: Vec<String>,
}

impl Default for PadchestOptions {
    fn default() -> Self {
        PadchestOptions {
            keep_pediatric: false,
            bacterial_labels: vec!["tuberculosis".to_owned()],
        }
    }
}

/// The PadChest adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PadchestSource {
    /// Its settings.
    pub options: PadchestOptions,
}

impl PadchestSource {
    /// An adapter with the given settings.
    pub fn new(options: PadchestOptions) -> Self {
        PadchestSource { options }
    }

    /// The labels table under `root`: [`LABELS_CSV`], or else any
    /// `PADCHEST_chest_x_ray_images_labels*.csv` (another release date); each also
    /// gzipped (`.csv.gz`, as BIMCV serves it), the plain file first.
    pub fn find_table(root: &Path) -> Result<PathBuf, ScanError> {
        let exact = root.join(LABELS_CSV);
        if exact.is_file() {
            return Ok(exact);
        }
        let gzipped = root.join(format!("{LABELS_CSV}.gz"));
        if gzipped.is_file() {
            return Ok(gzipped);
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|source| ScanError::Io {
                path: root.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    let n = n.to_ascii_lowercase();
                    n.starts_with("padchest_chest_x_ray_images_labels")
                        && (n.ends_with(".csv") || n.ends_with(".csv.gz"))
                })
            })
            .collect();
        // Plain before gzipped, then by name.
        found.sort_by_key(|p| (table::is_gzip_name(p), p.clone()));
        found.into_iter().next().ok_or(ScanError::MissingLayout {
            source_id: SourceId::Padchest,
            what: LABELS_CSV,
            path: exact,
        })
    }
}

/// Column indices of the labels table.
struct Cols {
    image_id: usize,
    image_dir: Option<usize>,
    date: usize,
    study: Option<usize>,
    patient: usize,
    birth: Option<usize>,
    sex: Option<usize>,
    projection: usize,
    method_projection: Option<usize>,
    pediatric: Option<usize>,
    modality: Option<usize>,
    photometric: Option<usize>,
    method_label: Option<usize>,
    labels: usize,
}

impl Cols {
    fn find(t: &Table) -> Result<Cols, ScanError> {
        Ok(Cols {
            image_id: t.need(&["imageid"])?,
            image_dir: t.col(&["imagedir"]),
            date: t.need(&["studydate_dicom", "studydate"])?,
            study: t.col(&["studyid"]),
            patient: t.need(&["patientid"])?,
            birth: t.col(&["patientbirth"]),
            sex: t.col(&["patientsex_dicom", "patientsex"]),
            projection: t.need(&["projection"])?,
            method_projection: t.col(&["methodprojection"]),
            pediatric: t.col(&["pediatric"]),
            modality: t.col(&["modality_dicom", "modality"]),
            photometric: t.col(&["photometricinterpretation_dicom"]),
            method_label: t.col(&["methodlabel"]),
            labels: t.need(&["labels"])?,
        })
    }
}

/// Where an image may lie: `images/<id>`, `<dir>/<id>`, `images/<dir>/<id>`, `<id>`.
fn locate(root: &Path, dir: &str, id: &str) -> Option<PathBuf> {
    let dir = dir.strip_suffix(".0").unwrap_or(dir);
    let mut candidates = vec![root.join("images").join(id)];
    if !dir.is_empty() {
        candidates.push(root.join(dir).join(id));
        candidates.push(root.join("images").join(dir).join(id));
    }
    candidates.push(root.join(id));
    candidates.into_iter().find(|p| p.is_file())
}

/// Birth year from `1930.0`, `1930`; `None` for blank or `nan`.
fn birth_year(text: &str) -> Result<Option<i32>, ()> {
    if text.is_empty() || text.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    let v: f64 = text.parse().map_err(|_| ())?;
    if v.fract() != 0.0 || !(1850.0..=2100.0).contains(&v) {
        return Err(());
    }
    Ok(Some(v as i32))
}

impl PadchestSource {
    fn row(
        &self,
        root: &Path,
        t: &Table,
        c: &Cols,
        row: &Row,
    ) -> Result<ImageRecord, (ExclusionReason, Option<PathBuf>)> {
        let fail = |r| (r, None);
        if let Some(r) = t.check_width(row) {
            return Err(fail(r));
        }
        let id = row.get(c.image_id);
        if id.is_empty() {
            return Err(fail(ExclusionReason::MalformedRow {
                detail: "empty ImageID".into(),
            }));
        }
        let projection = row.get(c.projection);
        let view = match projection {
            "PA" => View::Pa,
            "AP" => View::Ap,
            "AP_horizontal" => View::ApSupine,
            other => {
                return Err(fail(ExclusionReason::NotFrontal {
                    view: other.to_owned(),
                }));
            }
        };
        if row.opt(c.pediatric).eq_ignore_ascii_case("PED") && !self.options.keep_pediatric {
            return Err(fail(ExclusionReason::Pediatric));
        }
        let labels_text = row.get(c.labels);
        let labels = python_list(labels_text).map_err(|detail| {
            fail(ExclusionReason::MalformedRow {
                detail: format!("Labels: {detail}"),
            })
        })?;
        let unknown = || {
            fail(ExclusionReason::UnknownLabel {
                finding: labels_text.to_owned(),
            })
        };
        let labels = labels.ok_or_else(unknown)?;
        let (label, reason) = if labels.len() == 1 && labels[0].eq_ignore_ascii_case("normal") {
            (Label::Healthy, "Labels=['normal']".to_owned())
        } else if let Some(b) = labels.iter().find(|l| {
            self.options
                .bacterial_labels
                .iter()
                .any(|b| b.eq_ignore_ascii_case(l))
        }) {
            (Label::Bacterial, format!("Labels contains '{b}'"))
        } else {
            return Err(unknown());
        };
        let date_text = row.get(c.date);
        let study_date = if date_text.is_empty() {
            None
        } else {
            let d: StudyDate = date_text.parse().map_err(|_| {
                fail(ExclusionReason::UnparseableDate {
                    value: date_text.to_owned(),
                })
            })?;
            Some(d)
        };
        let birth = birth_year(row.opt(c.birth)).map_err(|()| {
            fail(ExclusionReason::MalformedRow {
                detail: format!("PatientBirth `{}` is not a year", row.opt(c.birth)),
            })
        })?;
        let dir = row.opt(c.image_dir);
        let path = locate(root, dir, id).ok_or_else(|| {
            let expected = if dir.is_empty() {
                root.join("images").join(id)
            } else {
                root.join(dir.strip_suffix(".0").unwrap_or(dir)).join(id)
            };
            (ExclusionReason::MissingFile, Some(expected))
        })?;
        let patient = PatientId::new(SourceId::Padchest, row.get(c.patient));
        let mut rec = ImageRecord::new(patient, id, path, label, reason, view);
        rec.study_date = study_date;
        rec.age = match (birth, study_date) {
            (Some(b), Some(d)) => Some((d.year() - b) as f32),
            _ => None,
        };
        rec.sex = row.opt(c.sex).parse::<Sex>().ok();
        let mut extra = |k: &str, c: Option<usize>| {
            let v = row.opt(c);
            if !v.is_empty() {
                rec.extras.insert(k.to_owned(), v.to_owned());
            }
        };
        extra("study_id", c.study);
        extra("image_dir", c.image_dir);
        extra("projection", Some(c.projection));
        extra("method_projection", c.method_projection);
        extra("method_label", c.method_label);
        extra("modality", c.modality);
        extra("photometric", c.photometric);
        extra("labels", Some(c.labels));
        Ok(rec)
    }
}

impl Source for PadchestSource {
    fn id(&self) -> SourceId {
        SourceId::Padchest
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        let path = PadchestSource::find_table(root)?;
        // Row by row: the public table has 160,000 rows.
        let mut t = Table::open(&path, b',', Encoding::Utf8)?;
        let c = Cols::find(&t)?;
        let mut scan = Scan::default();
        while let Some(row) = t.next_row()? {
            if row.is_blank_line() {
                continue;
            }
            match self.row(root, &t, &c, &row) {
                Ok(r) => scan.records.push(r),
                Err((reason, image)) => scan.exclusions.push(Exclusion {
                    source: SourceId::Padchest,
                    file: Some(path.clone()),
                    row: Some(row.line),
                    path: image,
                    reason,
                }),
            }
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_years() {
        assert_eq!(birth_year("1930.0"), Ok(Some(1930)));
        assert_eq!(birth_year("1930"), Ok(Some(1930)));
        assert_eq!(birth_year(""), Ok(None));
        assert_eq!(birth_year("nan"), Ok(None));
        assert!(birth_year("1930.5").is_err());
        assert!(birth_year("abc").is_err());
    }

    #[test]
    fn default_options_are_the_papers() {
        let o = PadchestOptions::default();
        assert!(!o.keep_pediatric);
        assert_eq!(o.bacterial_labels, ["tuberculosis"]);
    }
}
