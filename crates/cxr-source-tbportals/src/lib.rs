//! # cxr-source-tbportals — the NIAID TB Portals adapter
//!
//! Reads TB Portals as NIAID distributes it: the CXR table
//! (`TB_Portals_CXRs_<release>.csv`, one row per image: `patient_id, condition_id,
//! age_of_onset, gender, type_of_resistance, country, outcome, imagingstudy_id,
//! imaging_date, series_instance_content_url, series_modality_cd, cxr_outlier`), the
//! patient cases table (`TB_Portals_Patient_Cases_<release>.csv` or
//! `TB Portals Patient Cases_<date>.csv`, used for age and sex when the CXR row lacks
//! them) and the image tree `<patient_id>/<StudyUID>/<SeriesUID>/<InstanceUID>.dcm`
//! that `series_instance_content_url` names, found directly under the root, under a
//! `TB_Portals_Published_CXRs_*` folder (the unzipped archive) or under `images/`; a
//! tree converted to PNG (same path, `.png`) is accepted too. Scanning reads DICOM
//! headers only (up to Pixel Data). The crate sits above `cxr-core` and `cxr-dicom`.
//!
//! When the root holds the neutral manifest ([`NEUTRAL_MANIFEST`], for sources without a
//! usable schema; specified in `docs/data.md`, format notes §8), it is read instead.
//!
//! ## Rules, in order
//!
//! 1. a row with too few or too many fields → [`ExclusionReason::MalformedRow`];
//! 2. `series_modality_cd` not in [`TbPortalsOptions::xray_modalities`] (default CR,
//!    DX, RG; XC photographs and XA are not radiographs) → [`ExclusionReason::NotXray`];
//! 3. `cxr_outlier` true (`True`, `1`, `yes`) → [`ExclusionReason::FlaggedBySource`];
//! 4. `imaging_date` (an integer day offset, not a calendar date) that is not an
//!    integer → [`ExclusionReason::UnparseableDate`];
//! 5. no image file → [`ExclusionReason::MissingFile`]; a `.dcm` that is not readable
//!    DICOM → [`ExclusionReason::MalformedRow`]; one whose Presentation Intent Type is
//!    `FOR PROCESSING` (raw detector data) → [`ExclusionReason::NotForPresentation`];
//! 6. the table does not record the view: the DICOM View Position decides (PA/AP kept,
//!    anything else → [`ExclusionReason::NotFrontal`]); when it is absent (or the image
//!    is a PNG), [`TbPortalsOptions::keep_unknown_view`] (default true) keeps the image
//!    as PA with extra `view_assumed` = `true`, since TB Portals CXRs are frontal
//!    studies; otherwise → [`ExclusionReason::NotFrontal`].
//!
//! Every TB Portals patient is a tuberculosis case: label bacterial, reason
//! `TB Portals case (type_of_resistance=…)` (`docs/data.md`, format notes §5; the
//! paper's Table 1 counts 417 bacterial of 497 patients without saying what the other 80
//! were). Age = `age_of_onset`; `day_offset` = `imaging_date`. Extras: `condition_id`,
//! `imagingstudy_id`, `type_of_resistance`, `outcome`, `country`, `modality`.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_tbportals::TbPortalsSource;
//!
//! let scan = TbPortalsSource::default().scan(std::path::Path::new("/data/tbportals"))?;
//! println!("{} records, {} exclusions", scan.records.len(), scan.exclusions.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

use cxr_source_util::neutral;
use cxr_source_util::table;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, View,
};
use cxr_dicom::DicomHeader;
use serde::{Deserialize, Serialize};

pub use neutral::NEUTRAL_MANIFEST;
use table::{Encoding, Row, Table};

/// Settings of a TB Portals scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TbPortalsOptions {
    /// `series_modality_cd` values that are radiographs (default CR, DX, RG).
    pub xray_modalities: Vec<String>,
    /// Keep images whose view is not recorded, as PA (default true).
    pub keep_unknown_view: bool,
}

impl Default for TbPortalsOptions {
    fn default() -> Self {
        TbPortalsOptions {
            xray_modalities: vec!["CR".into(), "DX".into(), "RG".into()],
            keep_unknown_view: true,
        }
    }
}

/// The TB Portals adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TbPortalsSource {
    /// Its settings.
    pub options: TbPortalsOptions,
}

impl TbPortalsSource {
    /// An adapter with the given settings.
    pub fn new(options: TbPortalsOptions) -> Self {
        TbPortalsSource { options }
    }
}

/// Sorted files of `root` whose lower-cased, space-to-underscore name starts with
/// `prefix` and ends with `.csv`.
fn tables(root: &Path, prefix: &str) -> Result<Vec<PathBuf>, ScanError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|source| ScanError::Io {
            path: root.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    let n = n.to_ascii_lowercase().replace(' ', "_");
                    n.starts_with(prefix) && n.ends_with(".csv")
                })
        })
        .collect();
    v.sort();
    Ok(v)
}

/// How deep below the root a folder an image URL starts from may sit: the root itself,
/// `images/`, an unpacked archive (`TB_Portals_Published_CXRs_*`), or an archive whose
/// entries carry a prefix folder (`…/GlobalBucket/`).
const MAX_BASE_DEPTH: usize = 3;

/// Where image URLs (`<patient_id>/<study>/<series>/<instance>.dcm`) may start: every
/// folder up to [`MAX_BASE_DEPTH`] levels below the root, by name, so that an archive
/// unpacked under any folder name or prefix is found without knowing that name.
struct ImageBases {
    root: PathBuf,
    /// Folder name → the folders holding a folder of that name, in sorted order.
    parents: HashMap<OsString, Vec<PathBuf>>,
}

impl ImageBases {
    fn index(root: &Path) -> ImageBases {
        let mut parents: HashMap<OsString, Vec<PathBuf>> = HashMap::new();
        let mut level = vec![root.to_path_buf()];
        for _ in 0..MAX_BASE_DEPTH {
            let mut next = Vec::new();
            for dir in &level {
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                // `is_dir` follows symbolic links (data folders are often linked in
                // from another disk); the depth limit bounds any link cycle.
                let mut subdirs: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect();
                subdirs.sort();
                for sub in subdirs {
                    if let Some(name) = sub.file_name() {
                        parents
                            .entry(name.to_os_string())
                            .or_default()
                            .push(dir.clone());
                    }
                    next.push(sub);
                }
            }
            level = next;
        }
        ImageBases {
            root: root.to_path_buf(),
            parents,
        }
    }

    /// The image file of `url` (or the same path converted to `.png`), under whichever
    /// folder holds the URL's first folder; else the path it was expected at.
    fn find(&self, url: &str) -> Result<PathBuf, PathBuf> {
        let rel = Path::new(url);
        let png = rel.with_extension("png");
        let first = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_os_string());
        first
            .and_then(|f| self.parents.get(&f))
            .into_iter()
            .flatten()
            .flat_map(|b| [b.join(rel), b.join(&png)])
            .find(|p| p.is_file())
            .ok_or_else(|| self.root.join(rel))
    }
}

/// Age and sex of the patient cases table, by patient id.
type Cases = HashMap<String, (Option<f32>, Option<Sex>)>;

fn age(s: &str) -> Option<f32> {
    s.parse::<f32>().ok().filter(|a| a.is_finite() && *a >= 0.0)
}

struct Cols {
    patient: usize,
    condition: Option<usize>,
    age: Option<usize>,
    gender: Option<usize>,
    resistance: Option<usize>,
    country: Option<usize>,
    outcome: Option<usize>,
    study: Option<usize>,
    date: Option<usize>,
    url: usize,
    modality: Option<usize>,
    outlier: Option<usize>,
}

impl TbPortalsSource {
    fn row(
        &self,
        t: &Table,
        c: &Cols,
        row: &Row,
        bases: &ImageBases,
        cases: &Cases,
    ) -> Result<ImageRecord, (ExclusionReason, Option<PathBuf>)> {
        let fail = |r| (r, None);
        if let Some(r) = t.check_width(row) {
            return Err(fail(r));
        }
        let (patient, url) = (row.get(c.patient), row.get(c.url));
        if patient.is_empty() || url.is_empty() {
            return Err(fail(ExclusionReason::MalformedRow {
                detail: "empty patient_id or series_instance_content_url".into(),
            }));
        }
        let modality = row.opt(c.modality);
        if !modality.is_empty()
            && !self
                .options
                .xray_modalities
                .iter()
                .any(|m| m.eq_ignore_ascii_case(modality))
        {
            return Err(fail(ExclusionReason::NotXray {
                modality: modality.to_owned(),
            }));
        }
        if matches!(
            row.opt(c.outlier).to_ascii_lowercase().as_str(),
            "true" | "1" | "1.0" | "yes" | "y"
        ) {
            return Err(fail(ExclusionReason::FlaggedBySource {
                reason: "cxr_outlier".into(),
            }));
        }
        let date = row.opt(c.date);
        let day_offset = if date.is_empty() {
            None
        } else {
            Some(date.parse::<i32>().map_err(|_| {
                fail(ExclusionReason::UnparseableDate {
                    value: date.to_owned(),
                })
            })?)
        };
        let path = bases
            .find(url)
            .map_err(|expected| (ExclusionReason::MissingFile, Some(expected)))?;
        let is_dicom = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("dcm"));
        let (view, assumed) = if is_dicom {
            let h = DicomHeader::read(&path).map_err(|e| {
                (
                    ExclusionReason::MalformedRow {
                        detail: e.to_string(),
                    },
                    Some(path.clone()),
                )
            })?;
            if h.is_for_processing() {
                let intent = h.presentation_intent.clone().unwrap_or_default();
                return Err((ExclusionReason::NotForPresentation { intent }, Some(path)));
            }
            match (h.view_position, h.view_position_text) {
                (Some(v @ (View::Pa | View::Ap)), _) => (Some(v), false),
                (_, Some(text)) => {
                    return Err((ExclusionReason::NotFrontal { view: text }, Some(path)));
                }
                (_, None) => (None, true),
            }
        } else {
            (None, true)
        };
        let view = match view {
            Some(v) => v,
            None if self.options.keep_unknown_view => View::Pa,
            None => {
                return Err((
                    ExclusionReason::NotFrontal {
                        view: "unknown".into(),
                    },
                    Some(path),
                ));
            }
        };
        let resistance = row.opt(c.resistance);
        let reason = if resistance.is_empty() {
            "TB Portals case".to_owned()
        } else {
            format!("TB Portals case (type_of_resistance={resistance})")
        };
        let image_id = Path::new(url)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(url)
            .to_owned();
        let mut rec = ImageRecord::new(
            PatientId::new(SourceId::TbPortals, patient),
            image_id,
            path,
            Label::Bacterial,
            reason,
            view,
        );
        rec.day_offset = day_offset;
        let (case_age, case_sex) = cases.get(patient).copied().unwrap_or((None, None));
        rec.age = age(row.opt(c.age)).or(case_age);
        rec.sex = row.opt(c.gender).parse().ok().or(case_sex);
        if assumed {
            rec.extras.insert("view_assumed".into(), "true".into());
        }
        for (k, col) in [
            ("condition_id", c.condition),
            ("imagingstudy_id", c.study),
            ("type_of_resistance", c.resistance),
            ("outcome", c.outcome),
            ("country", c.country),
            ("modality", c.modality),
        ] {
            let v = row.opt(col);
            if !v.is_empty() {
                rec.extras.insert(k.into(), v.to_owned());
            }
        }
        Ok(rec)
    }
}

impl Source for TbPortalsSource {
    fn id(&self) -> SourceId {
        SourceId::TbPortals
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        if let Some(scan) =
            neutral::manifest_or_folder(SourceId::TbPortals, root, "the TB Portals folder")?
        {
            return Ok(scan);
        }
        let cxr_tables = tables(root, "tb_portals_cxrs")?;
        if cxr_tables.is_empty() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::TbPortals,
                what: "TB_Portals_CXRs_<release>.csv",
                path: root.to_path_buf(),
            });
        }
        let mut cases = Cases::new();
        for p in tables(root, "tb_portals_patient_cases")? {
            let t = Table::read(&p, b',', Encoding::Utf8OrLatin1)?;
            let c_id = t.need(&["patient_id"])?;
            let (c_age, c_sex) = (t.col(&["age_of_onset"]), t.col(&["gender"]));
            for row in &t.rows {
                cases
                    .entry(row.get(c_id).to_owned())
                    .or_insert((age(row.opt(c_age)), row.opt(c_sex).parse().ok()));
            }
        }
        let bases = ImageBases::index(root);
        let mut scan = Scan::default();
        for path in cxr_tables {
            let t = Table::read(&path, b',', Encoding::Utf8)?;
            let c = Cols {
                patient: t.need(&["patient_id"])?,
                condition: t.col(&["condition_id"]),
                age: t.col(&["age_of_onset"]),
                gender: t.col(&["gender"]),
                resistance: t.col(&["type_of_resistance"]),
                country: t.col(&["country"]),
                outcome: t.col(&["outcome"]),
                study: t.col(&["imagingstudy_id"]),
                date: t.col(&["imaging_date"]),
                url: t.need(&["series_instance_content_url"])?,
                modality: t.col(&["series_modality_cd"]),
                outlier: t.col(&["cxr_outlier"]),
            };
            for row in &t.rows {
                match self.row(&t, &c, row, &bases, &cases) {
                    Ok(r) => scan.records.push(r),
                    Err((reason, image)) => scan.exclusions.push(Exclusion {
                        source: SourceId::TbPortals,
                        file: Some(path.clone()),
                        row: Some(row.line),
                        path: image,
                        reason,
                    }),
                }
            }
        }
        Ok(scan)
    }
}
