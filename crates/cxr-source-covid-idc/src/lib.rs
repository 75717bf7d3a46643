//! # cxr-source-covid-idc — the COVID-19 Image Data Collection
//!
//! Reads `metadata.csv` of ieee8023/covid-chestxray-dataset (Cohen et al.) and checks
//! that each image it names exists under `images/` (or the row's `folder`). Sits on
//! `cxr-core` in the crate DAG; decodes no pixels.
//!
//! Every header variant of the file is accepted (columns are found by name, case- and
//! space-insensitively, a trailing empty column tolerated): 2020-03-17 (`Patientid`,
//! ` url`, no `folder`), 2020-04-05, 2020-05-14 … 2020-06-19 and the final one with
//! `RT_PCR_positive`. Both `finding` vocabularies are mapped:
//!
//! | finding | label |
//! |---|---|
//! | contains `COVID-19` (`COVID-19, ARDS`, `Pneumonia/Viral/COVID-19`) | covid |
//! | `Streptococcus`, `Klebsiella`, `Legionella`, `Chlamydophila`, `E.Coli`, `Mycoplasma Bacterial Pneumonia`, `Bacterial`, `Pneumonia/Bacterial…` | bacterial |
//! | `No Finding` | healthy |
//! | anything else (`SARS`, `ARDS`, `Pneumocystis`, `todo`, `Unknown`, …) | excluded: unknown label |
//!
//! A row is checked in this order, and the first failing check is its exclusion:
//! unreadable row (empty `patientid`/`filename`, too few fields) → modality not `X-ray`
//! → view not PA/AP/AP Supine (`AP Erect`, `AP semi erect` count as AP) → unknown label
//! → image file missing. The free-text `date` never excludes a row: full days become
//! `study_date`, coarser ones (`2020`, `March 2003`) stay in the `date` extra with
//! `date_precision`. `offset` becomes `day_offset` (blank and `?` are left empty).
//! `RT_PCR_positive` (`Y`, `N`, `Unclear`) is carried in the `rt_pcr_positive` extra: the
//! PCR policy belongs to the cohort.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_covid_idc::CovidIdcSource;
//!
//! let scan = CovidIdcSource::default().scan("covid-chestxray-dataset".as_ref())?;
//! println!("{} images kept, {} rows left out", scan.records.len(), scan.exclusions.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

pub mod date;
pub use cxr_source_util::table;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, View,
};

use crate::table::{Encoding, Table};

/// Settings of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CovidIdcOptions {
    /// The metadata table, relative to the root (or absolute). Default `metadata.csv`.
    pub metadata: PathBuf,
    /// Image folder, relative to the root, for rows without a `folder` column or value.
    /// Default `images`.
    pub default_folder: PathBuf,
}

impl Default for CovidIdcOptions {
    fn default() -> Self {
        CovidIdcOptions {
            metadata: PathBuf::from("metadata.csv"),
            default_folder: PathBuf::from("images"),
        }
    }
}

/// The COVID-19 Image Data Collection adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CovidIdcSource {
    options: CovidIdcOptions,
}

impl CovidIdcSource {
    /// An adapter with these options.
    pub fn new(options: CovidIdcOptions) -> Self {
        CovidIdcSource { options }
    }

    /// The options in use.
    pub fn options(&self) -> &CovidIdcOptions {
        &self.options
    }
}

/// Bacterial organisms of the flat (≤ 2020-06-19) `finding` vocabulary.
pub const FLAT_BACTERIAL: [&str; 7] = [
    "Streptococcus",
    "Klebsiella",
    "Legionella",
    "Chlamydophila",
    "E.Coli",
    "Mycoplasma Bacterial Pneumonia",
    "Bacterial",
];

/// Maps a `finding` value to a label, `None` for findings outside the three classes.
///
/// ```
/// use cxr_core::Label;
/// use cxr_source_covid_idc::label_of_finding;
/// assert_eq!(label_of_finding("COVID-19, ARDS"), Some(Label::Covid));
/// assert_eq!(label_of_finding("Pneumonia/Bacterial/Klebsiella"), Some(Label::Bacterial));
/// assert_eq!(label_of_finding("No Finding"), Some(Label::Healthy));
/// assert_eq!(label_of_finding("Pneumonia/Viral/SARS"), None);
/// ```
pub fn label_of_finding(finding: &str) -> Option<Label> {
    let f = finding.trim();
    if f.to_ascii_uppercase().contains("COVID-19") {
        Some(Label::Covid)
    } else if FLAT_BACTERIAL.iter().any(|b| f.eq_ignore_ascii_case(b))
        || f.to_ascii_lowercase().starts_with("pneumonia/bacterial")
    {
        Some(Label::Bacterial)
    } else if f.eq_ignore_ascii_case("No Finding") {
        Some(Label::Healthy)
    } else {
        None
    }
}

/// Reads a `view` cell: `Some` for the frontal views the paper keeps.
pub fn frontal_view(view: &str) -> Option<View> {
    view.parse::<View>().ok().filter(|v| v.is_frontal())
}

/// Columns a row must have.
const REQUIRED: [&str; 5] = ["patientid", "finding", "view", "modality", "filename"];
/// Columns copied verbatim into a record's extras when not blank.
const CARRIED: [&str; 10] = [
    "finding",
    "rt_pcr_positive",
    "survival",
    "intubated",
    "went_icu",
    "needed_supplemental_o2",
    "location",
    "doi",
    "url",
    "license",
];

/// Lists folders once and answers "does this file exist" from memory.
#[derive(Debug, Default)]
struct DirCache {
    dirs: HashMap<PathBuf, HashSet<OsString>>,
}

impl DirCache {
    fn contains(&mut self, dir: &Path, name: &str) -> bool {
        self.dirs
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                std::fs::read_dir(dir)
                    .map(|it| it.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
                    .unwrap_or_default()
            })
            .contains(std::ffi::OsStr::new(name))
    }
}

impl Source for CovidIdcSource {
    fn id(&self) -> SourceId {
        SourceId::CovidIdc
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        let path = root.join(&self.options.metadata);
        if !path.is_file() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::CovidIdc,
                what: "metadata.csv",
                path,
            });
        }
        let mut table = Table::open(&path, b',', Encoding::Utf8)?;
        let mut cols = [0usize; 5];
        for (c, name) in cols.iter_mut().zip(REQUIRED) {
            *c = table.need(&[name])?;
        }
        let [c_pid, c_finding, c_view, c_modality, c_file] = cols;
        let (c_offset, c_sex, c_age, c_date, c_folder) = (
            table.col(&["offset"]),
            table.col(&["sex"]),
            table.col(&["age"]),
            table.col(&["date"]),
            table.col(&["folder"]),
        );
        let carried: Vec<(&str, usize)> = CARRIED
            .iter()
            .filter_map(|n| table.col(&[n]).map(|i| (*n, i)))
            .collect();
        let needed = cols.iter().max().copied().unwrap_or(0) + 1;
        let header_used = table.width();

        let mut dirs = DirCache::default();
        let mut scan = Scan::default();
        while let Some(row) = table.next_row()? {
            if row.is_blank() {
                continue_blank(&mut scan, &path, row.line);
                continue;
            }
            let exclude = |scan: &mut Scan, file: Option<PathBuf>, reason| {
                scan.exclusions.push(Exclusion {
                    source: SourceId::CovidIdc,
                    file: Some(path.clone()),
                    row: Some(row.line),
                    path: file,
                    reason,
                })
            };
            if row.len() < needed {
                exclude(
                    &mut scan,
                    None,
                    ExclusionReason::MalformedRow {
                        detail: format!(
                            "truncated row: {} field(s), header has {}",
                            row.len(),
                            header_used
                        ),
                    },
                );
                continue;
            }
            let pid = row.get(c_pid);
            let filename = row.get(c_file);
            let folder = match row.opt(c_folder) {
                "" => self.options.default_folder.clone(),
                f => PathBuf::from(f),
            };
            let image = root.join(&folder).join(filename);
            if pid.is_empty() || filename.is_empty() {
                let which = if pid.is_empty() {
                    "patientid"
                } else {
                    "filename"
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
            let modality = row.get(c_modality);
            if !is_xray(modality) {
                exclude(
                    &mut scan,
                    Some(image),
                    ExclusionReason::NotXray {
                        modality: modality.into(),
                    },
                );
                continue;
            }
            let view_text = row.get(c_view);
            let Some(view) = frontal_view(view_text) else {
                exclude(
                    &mut scan,
                    Some(image),
                    ExclusionReason::NotFrontal {
                        view: view_text.into(),
                    },
                );
                continue;
            };
            let finding = row.get(c_finding);
            let Some(label) = label_of_finding(finding) else {
                exclude(
                    &mut scan,
                    Some(image),
                    ExclusionReason::UnknownLabel {
                        finding: finding.into(),
                    },
                );
                continue;
            };
            if !dirs.contains(&root.join(&folder), filename) {
                exclude(&mut scan, Some(image), ExclusionReason::MissingFile);
                continue;
            }

            let mut rec = ImageRecord::new(
                PatientId::new(SourceId::CovidIdc, pid),
                filename,
                image,
                label,
                format!("finding={finding}"),
                view,
            );
            for (name, i) in &carried {
                let v = row.get(*i);
                if !v.is_empty() {
                    rec.extras.insert((*name).to_owned(), v.to_owned());
                }
            }
            if view_text != view.as_str() {
                rec.extras.insert("view_raw".into(), view_text.into());
            }
            let offset = row.opt(c_offset);
            match parse_int(offset) {
                Some(o) => rec.day_offset = Some(o),
                None if !offset.is_empty() => {
                    rec.extras.insert("offset_raw".into(), offset.into());
                }
                None => {}
            }
            let sex = row.opt(c_sex);
            match sex.parse::<Sex>() {
                Ok(s) => rec.sex = Some(s),
                Err(_) if !sex.is_empty() => {
                    rec.extras.insert("sex_raw".into(), sex.into());
                }
                Err(_) => {}
            }
            let age = row.opt(c_age);
            match age.parse::<f32>() {
                Ok(a) if (0.0..=120.0).contains(&a) => rec.age = Some(a),
                _ if !age.is_empty() => {
                    rec.extras.insert("age_raw".into(), age.into());
                }
                _ => {}
            }
            let date_text = row.opt(c_date);
            if !date_text.is_empty() {
                let d = date::parse_lenient(date_text);
                rec.study_date = d.date;
                rec.extras.insert("date".into(), date_text.into());
                rec.extras
                    .insert("date_precision".into(), d.precision.as_str().into());
            }
            scan.records.push(rec);
        }
        Ok(scan)
    }
}

/// A row whose every field is blank (a stray `,,,,` line) is still a row seen: it is
/// excluded as malformed so that the counts add up.
fn continue_blank(scan: &mut Scan, path: &Path, line: u64) {
    scan.exclusions.push(Exclusion {
        source: SourceId::CovidIdc,
        file: Some(path.to_path_buf()),
        row: Some(line),
        path: None,
        reason: ExclusionReason::MalformedRow {
            detail: "blank row".into(),
        },
    });
}

fn is_xray(modality: &str) -> bool {
    let m: String = modality
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    m.eq_ignore_ascii_case("xray")
}

fn parse_int(text: &str) -> Option<i32> {
    text.parse::<i32>().ok().or_else(|| {
        let f: f64 = text.parse().ok()?;
        (f.fract() == 0.0 && f.abs() < 1e6).then_some(f as i32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_map_in_both_vocabularies() {
        use Label::*;
        for (f, l) in [
            ("COVID-19", Some(Covid)),
            ("COVID-19, ARDS", Some(Covid)),
            ("Pneumonia/Viral/COVID-19", Some(Covid)),
            ("Streptococcus", Some(Bacterial)),
            ("E.Coli", Some(Bacterial)),
            ("Mycoplasma Bacterial Pneumonia", Some(Bacterial)),
            ("Pneumonia/Bacterial", Some(Bacterial)),
            ("Pneumonia/Bacterial/Staphylococcus/MRSA", Some(Bacterial)),
            ("No Finding", Some(Healthy)),
            ("SARS", None),
            ("ARDS", None),
            ("Pneumocystis", None),
            ("Pneumonia/Fungal/Pneumocystis", None),
            ("Pneumonia/Viral/Herpes ", None),
            ("Pneumonia", None),
            ("Tuberculosis", None),
            ("todo", None),
            ("Unknown", None),
            ("", None),
        ] {
            assert_eq!(label_of_finding(f), l, "{f}");
        }
    }

    #[test]
    fn views_and_modalities() {
        assert_eq!(frontal_view("AP Supine"), Some(View::ApSupine));
        assert_eq!(frontal_view("AP semi erect"), Some(View::Ap));
        assert_eq!(frontal_view("AP erect"), Some(View::Ap));
        for v in ["L", "Axial", "Coronal", "", "?"] {
            assert_eq!(frontal_view(v), None, "{v}");
        }
        assert!(is_xray("X-ray") && is_xray("X-Ray") && !is_xray("CT") && !is_xray(""));
        assert_eq!(parse_int("5"), Some(5));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("4.0"), Some(4));
        assert_eq!(parse_int("?"), None);
        assert_eq!(parse_int(""), None);
    }
}
