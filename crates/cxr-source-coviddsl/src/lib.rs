//! # cxr-source-coviddsl — the HM Hospitales "Covid Data Save Lives" adapter
//!
//! Reads COVIDDSL as HM Hospitales releases it: DICOM studies (files named with or
//! without extension, `.dcm` or `.DC3`) under `COVID19_DICOM_STUDIES_*/…`, joined by the
//! DICOM Patient ID to the patient table of either clinical release:
//!
//! - V2 (`20_07_2020/CDSL_01.csv`): `;`-delimited, decimal comma, UTF-8 or "ANSI"
//!   (Windows-1252 read as ISO-8859-1), headers `PATIENT ID`, `EDAD/AGE`, `SEXO/SEX`,
//!   `DIAG ING/INPAT`, `F_INGRESO/ADMISSION_D_ING/INPAT`, …;
//! - V3 (`19_04_2021/COVID_DSL_01.CSV`): `|`-delimited, ISO-8859-1, headers `IDINGRESO`,
//!   `EDAD`, `SEX`, `DIAGNOSTICO_ING`, `F_INGRESO_ING`, ….
//!
//! The tables may lie anywhere up to three folders below the root; columns are matched
//! by name, case- and space-insensitively. Only DICOM headers are read (up to Pixel
//! Data), never pixels. The crate sits above `cxr-core` and `cxr-dicom` in the DAG.
//!
//! When the root holds the neutral manifest ([`NEUTRAL_MANIFEST`], for sources without a
//! usable schema; specified in `docs/data.md`, format notes §8), it is read instead.
//!
//! ## Rules, in order
//!
//! 1. a file that is not readable DICOM → [`ExclusionReason::MalformedRow`];
//! 2. Modality other than CR/DX → [`ExclusionReason::NotXray`];
//! 3. Presentation Intent Type `FOR PROCESSING` (raw detector data, not the image as
//!    read) → [`ExclusionReason::NotForPresentation`];
//! 4. View Position not PA/AP → [`ExclusionReason::NotFrontal`];
//! 5. no Patient ID → [`ExclusionReason::MalformedRow`];
//! 6. with [`CoviddslOptions::require_covid_diagnosis`] (default; an assumption, see
//!    `docs/data.md`, format notes §2): the patient's admission diagnosis must mention
//!    COVID (`COVID`, `SARS-COV-2`, case-insensitive); a patient absent from the clinical
//!    tables or with another diagnosis → [`ExclusionReason::UnknownLabel`]. Without it
//!    every patient is covid (the release is a cohort of COVID-19 inpatients).
//!
//! A clinical row with too few or too many fields is an exclusion naming its table and
//! line; so records + exclusions = DICOM candidate files + unreadable clinical rows.
//! Age and sex come from the clinical table, else from the DICOM header. Extras:
//! `modality`, `photometric`, `invert` (`true` for MONOCHROME1), `body_part`,
//! `admission_date`, `discharge`, `release` (`V2`/`V3`).
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_coviddsl::CoviddslSource;
//!
//! let scan = CoviddslSource::default().scan(std::path::Path::new("/data/coviddsl"))?;
//! println!("{} records, {} exclusions", scan.records.len(), scan.exclusions.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

use cxr_source_util::neutral;
use cxr_source_util::table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, View,
};
use cxr_dicom::{DicomHeader, Photometric};
use serde::{Deserialize, Serialize};

pub use neutral::NEUTRAL_MANIFEST;
use table::{Encoding, Table};

/// Settings of a COVIDDSL scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoviddslOptions {
    /// Require the admission diagnosis to mention COVID (default true).
    pub require_covid_diagnosis: bool,
    /// Words that make a diagnosis a COVID one (case-insensitive substrings; default
    /// `["COVID", "SARS-COV-2", "SARS COV 2"]`).
    pub covid_keywords: Vec<String>,
}

impl Default for CoviddslOptions {
    fn default() -> Self {
        CoviddslOptions {
            require_covid_diagnosis: true,
            covid_keywords: vec!["COVID".into(), "SARS-COV-2".into(), "SARS COV 2".into()],
        }
    }
}

/// The COVIDDSL adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoviddslSource {
    /// Its settings.
    pub options: CoviddslOptions,
}

impl CoviddslSource {
    /// An adapter with the given settings.
    pub fn new(options: CoviddslOptions) -> Self {
        CoviddslSource { options }
    }
}

/// One patient of the clinical tables.
#[derive(Debug, Clone)]
struct Patient {
    age: Option<f32>,
    sex: Option<Sex>,
    /// (header as written, value).
    diagnosis: (String, String),
    admission: String,
    discharge: String,
    release: &'static str,
}

/// Sex as the clinical tables write it (English or Spanish).
fn clinical_sex(s: &str) -> Option<Sex> {
    match s.trim().to_lowercase().as_str() {
        "m" | "male" | "hombre" | "varon" | "varón" | "h" | "v" => Some(Sex::Male),
        "f" | "female" | "mujer" => Some(Sex::Female),
        _ => None,
    }
}

/// An age with a decimal comma or point.
fn clinical_age(s: &str) -> Option<f32> {
    s.trim()
        .replace(',', ".")
        .parse::<f32>()
        .ok()
        .filter(|a| a.is_finite() && (0.0..150.0).contains(a))
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| ScanError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth > 0 {
                walk(&p, depth - 1, out)?;
            }
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// A file of the DICOM tree that should be a DICOM image: extension `.dcm`, `.dc3`,
/// `.dicom`, or none (but not `DICOMDIR` or hidden files).
fn dicom_candidate(p: &Path) -> bool {
    let name = file_name(p);
    if name.starts_with('.') || name.eq_ignore_ascii_case("DICOMDIR") {
        return false;
    }
    match p.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(e) => ["dcm", "dc3", "dicom"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x)),
    }
}

impl CoviddslSource {
    fn clinical(
        &self,
        root: &Path,
        scan: &mut Scan,
    ) -> Result<HashMap<String, Patient>, ScanError> {
        let mut files = Vec::new();
        walk(root, 3, &mut files)?;
        let mut patients = HashMap::new();
        for path in files {
            let lower = file_name(&path).to_ascii_lowercase();
            let (delim, enc, release) = match lower.as_str() {
                "cdsl_01.csv" => (b';', Encoding::Utf8OrLatin1, "V2"),
                "covid_dsl_01.csv" => (b'|', Encoding::Latin1, "V3"),
                _ => continue,
            };
            let t = Table::read(&path, delim, enc)?;
            let c_id = t.need(&["patientid", "idingreso"])?;
            let c_age = t.col(&["edad/age", "edad"]);
            let c_sex = t.col(&["sexo/sex", "sex", "sexo"]);
            let c_diag = t.need(&["diaging/inpat", "diagnostico_ing"])?;
            let c_adm = t.col(&["f_ingreso/admission_d_ing/inpat", "f_ingreso_ing"]);
            let c_dis = t.col(&["motivo_alta/destiny_discharge_ing", "motivo_alta_ing"]);
            for row in &t.rows {
                let bad = |reason| Exclusion {
                    source: SourceId::Coviddsl,
                    file: Some(path.clone()),
                    row: Some(row.line),
                    path: None,
                    reason,
                };
                if let Some(r) = t.check_width(row) {
                    scan.exclusions.push(bad(r));
                    continue;
                }
                let id = row.get(c_id);
                if id.is_empty() {
                    scan.exclusions.push(bad(ExclusionReason::MalformedRow {
                        detail: format!("line {}: empty patient id", row.line),
                    }));
                    continue;
                }
                patients.entry(id.to_owned()).or_insert_with(|| Patient {
                    age: clinical_age(row.opt(c_age)),
                    sex: clinical_sex(row.opt(c_sex)),
                    diagnosis: (
                        t.headers[c_diag].trim().to_owned(),
                        row.get(c_diag).to_owned(),
                    ),
                    admission: row.opt(c_adm).to_owned(),
                    discharge: row.opt(c_dis).to_owned(),
                    release,
                });
            }
        }
        Ok(patients)
    }

    fn image(
        &self,
        path: &Path,
        root: &Path,
        patients: &HashMap<String, Patient>,
    ) -> Result<ImageRecord, ExclusionReason> {
        let h = DicomHeader::read(path).map_err(|e| ExclusionReason::MalformedRow {
            detail: e.to_string(),
        })?;
        let modality = h.modality.clone().unwrap_or_default();
        if !matches!(modality.to_ascii_uppercase().as_str(), "CR" | "DX") {
            return Err(ExclusionReason::NotXray { modality });
        }
        if h.is_for_processing() {
            return Err(ExclusionReason::NotForPresentation {
                intent: h.presentation_intent.clone().unwrap_or_default(),
            });
        }
        let view = match h.view_position {
            Some(v @ (View::Pa | View::Ap)) => v,
            _ => {
                return Err(ExclusionReason::NotFrontal {
                    view: h.view_position_text.clone().unwrap_or_default(),
                });
            }
        };
        let id = h
            .patient_id
            .clone()
            .ok_or_else(|| ExclusionReason::MalformedRow {
                detail: "no Patient ID (0010,0020)".into(),
            })?;
        let patient = patients.get(&id);
        let (label, reason) = if self.options.require_covid_diagnosis {
            let p = patient.ok_or_else(|| ExclusionReason::UnknownLabel {
                finding: format!("Patient ID {id} not in the clinical tables"),
            })?;
            let (col, diag) = &p.diagnosis;
            let upper = diag.to_uppercase();
            if !self
                .options
                .covid_keywords
                .iter()
                .any(|k| upper.contains(&k.to_uppercase()))
            {
                return Err(ExclusionReason::UnknownLabel {
                    finding: diag.clone(),
                });
            }
            (Label::Covid, format!("{col}={diag}"))
        } else {
            (
                Label::Covid,
                "COVIDDSL cohort (COVID-19 inpatients)".to_owned(),
            )
        };
        let image_id = h.sop_instance_uid.clone().unwrap_or_else(|| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned()
        });
        let mut rec = ImageRecord::new(
            PatientId::new(SourceId::Coviddsl, id),
            image_id,
            path,
            label,
            reason,
            view,
        );
        rec.study_date = h.study_date;
        rec.age = patient
            .and_then(|p| p.age)
            .or_else(|| h.patient_age.map(|a| a.years() as f32));
        rec.sex = patient.and_then(|p| p.sex).or(h.patient_sex);
        let x = &mut rec.extras;
        x.insert("modality".into(), modality);
        if let Some(ph) = &h.photometric {
            x.insert("photometric".into(), ph.to_string());
            if *ph == Photometric::Monochrome1 {
                x.insert("invert".into(), "true".into());
            }
        }
        if let Some(b) = &h.body_part {
            x.insert("body_part".into(), b.clone());
        }
        if let Some(p) = patient {
            x.insert("release".into(), p.release.into());
            for (k, v) in [
                ("admission_date", &p.admission),
                ("discharge", &p.discharge),
            ] {
                if !v.is_empty() {
                    x.insert(k.into(), v.clone());
                }
            }
        }
        Ok(rec)
    }
}

impl Source for CoviddslSource {
    fn id(&self) -> SourceId {
        SourceId::Coviddsl
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        if let Some(scan) =
            neutral::manifest_or_folder(SourceId::Coviddsl, root, "the COVIDDSL folder")?
        {
            return Ok(scan);
        }
        let mut scan = Scan::default();
        let patients = self.clinical(root, &mut scan)?;
        if patients.is_empty() && self.options.require_covid_diagnosis {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::Coviddsl,
                what: "a clinical patient table (CDSL_01.csv or COVID_DSL_01.CSV)",
                path: root.to_path_buf(),
            });
        }
        let mut trees: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|source| ScanError::Io {
                path: root.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_dir()
                    && file_name(p)
                        .to_ascii_uppercase()
                        .starts_with("COVID19_DICOM_STUDIES")
            })
            .collect();
        trees.sort();
        if trees.is_empty() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::Coviddsl,
                what: "COVID19_DICOM_STUDIES_*/",
                path: root.to_path_buf(),
            });
        }
        for tree in trees {
            let mut files = Vec::new();
            walk(&tree, 16, &mut files)?;
            for f in files.into_iter().filter(|f| dicom_candidate(f)) {
                match self.image(&f, root, &patients) {
                    Ok(r) => scan.records.push(r),
                    Err(reason) => scan.exclusions.push(Exclusion {
                        source: SourceId::Coviddsl,
                        file: None,
                        row: None,
                        path: Some(f),
                        reason,
                    }),
                }
            }
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinical_values() {
        assert_eq!(clinical_sex("MALE"), Some(Sex::Male));
        assert_eq!(clinical_sex(" mujer "), Some(Sex::Female));
        assert_eq!(clinical_sex(""), None);
        assert_eq!(clinical_age("67,5"), Some(67.5));
        assert_eq!(clinical_age("85"), Some(85.0));
        assert_eq!(clinical_age("NaN"), None);
        assert_eq!(clinical_age("-3"), None);
        assert!(dicom_candidate(Path::new("a/IM000001")));
        assert!(dicom_candidate(Path::new("a/IM000001.DC3")));
        assert!(!dicom_candidate(Path::new("a/DICOMDIR")));
        assert!(!dicom_candidate(Path::new("a/readme.txt")));
    }
}
