//! # cxr-source-bimcv-covid — the BIMCV-COVID19+ (PadChest-covid) adapter
//!
//! Reads the BIMCV-COVID19+ positive cohort in its BIDS-like layout:
//! `sub-S…/ses-E…/mod-rx/<entities>_<modality>.png` with same-stem DICOM-JSON sidecars
//! (`{"00080020": {"vr": "DA", "Value": ["20200319"]}}`), `participants.tsv`,
//! `sub-S…/sub-S…_sessions.tsv`, the report labels under `derivatives/labels/` and the
//! PCR/antibody tests under `derivatives/EHR/` in both spellings (iteration 1
//! `sil_reg_covid.tsv`: `participant, fecha, prueba, resultado`; iterations 1+2
//! `sil_reg_covid_posi.tsv`: `participant, date, test, result`). The layout may sit
//! directly under the root or in `covid19_posi/`. It sits above `cxr-core` in the DAG and
//! decodes no pixels.
//!
//! When `COVID19_POSI_v1.0.csv` (a CSV export of the `COVID19_POSI_v1.0.xlsx` image
//! table, at the root or in `derivatives/`) is present, its `Position_Manual` and
//! `Exclude` columns are used, and its rows whose file is absent become
//! [`ExclusionReason::MissingFile`].
//!
//! ## Rules, in order (the first that fails names the exclusion)
//!
//! 1. an unreadable sidecar → [`ExclusionReason::MalformedRow`];
//! 2. modality = the file name's last token (`cr`, `dx`, `ct`), else the sidecar's
//!    Modality; anything but CR/DX → [`ExclusionReason::NotXray`];
//! 3. `Exclude` = True in the image table → [`ExclusionReason::FlaggedBySource`];
//! 4. view: the image table's `Position_Manual` when present (`PA`, which covers PA and
//!    AP, read as AP when the sidecar says AP); else the file's `vp-` entity (`vp-pa`,
//!    `vp-ap`, `vp-ll`); else, when [`BimcvOptions::trust_dicom_view`], the sidecar's
//!    View Position, which is blank or wrong for many images (`docs/data.md`, format
//!    notes §3b), so it only ever decides when nothing better exists. Lateral, other or
//!    unknown → [`ExclusionReason::NotFrontal`];
//! 5. study date: the sidecar's Study Date, else the session's `study_date`; none or
//!    unparseable → [`ExclusionReason::UnparseableDate`];
//! 6. covid needs a `POSITIVO` PCR whose date lies in
//!    `[study − pcr_days_before, study + pcr_days_after]` (default `[study − 14, study]`:
//!    the paper's "positive PCR within the two weeks before the image"; a PCR taken after
//!    the image does not count unless [`BimcvOptions::pcr_days_after`] is raised). No
//!    positive PCR → [`ExclusionReason::NoPositivePcr`]; positive PCRs only outside the
//!    window → [`ExclusionReason::PcrOutsideWindow`] with the days (image − PCR) of the
//!    one nearest the window.
//!
//! Test-table rows that cannot be read (bad date, short row) are exclusions too, naming
//! the table and line, so records + exclusions = image files + table rows without a file
//! plus unreadable test rows. The label reason cites the PCR used (`PCR POSITIVO 2020-03-05`);
//! extras carry `pcr_days` (image − PCR), `session`, `modality`, `photometric` and
//! `invert` = `true` for MONOCHROME1 images (the loader must invert them), `view_from`,
//! and `report_labels`.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_bimcv_covid::{BimcvCovidSource, BimcvOptions};
//!
//! let source = BimcvCovidSource::new(BimcvOptions { pcr_days_after: 2, ..Default::default() });
//! let scan = source.scan(std::path::Path::new("/data/bimcv_covid19_posi"))?;
//! println!("{} covid images", scan.records.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

pub mod sidecar;
use cxr_source_util::table;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, Source,
    SourceId, StudyDate, View,
};
use serde::{Deserialize, Serialize};

use cxr_core::age::age_years;
pub use sidecar::Sidecar;
use table::{Encoding, Table, python_list};

/// Settings of a BIMCV-COVID19+ scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BimcvOptions {
    /// A positive PCR counts when taken at most this many days before the image
    /// (default 14, the paper's rule).
    pub pcr_days_before: u32,
    /// … or at most this many days after it (default 0: never after).
    pub pcr_days_after: u32,
    /// Test names that count as PCR (case-insensitive; default `["PCR"]`).
    pub pcr_tests: Vec<String>,
    /// Use the sidecar's View Position when neither the image table nor the file name
    /// says the view (default true).
    pub trust_dicom_view: bool,
}

impl Default for BimcvOptions {
    fn default() -> Self {
        BimcvOptions {
            pcr_days_before: 14,
            pcr_days_after: 0,
            pcr_tests: vec!["PCR".to_owned()],
            trust_dicom_view: true,
        }
    }
}

/// The BIMCV-COVID19+ adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BimcvCovidSource {
    /// Its settings.
    pub options: BimcvOptions,
}

/// One positive PCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pcr {
    date: StudyDate,
}

/// What the PCR rule decided for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PcrDecision {
    /// A positive PCR in the window: its date and the days image − PCR.
    Covid {
        /// Date of the PCR used.
        pcr_date: StudyDate,
        /// Days from the PCR to the image (negative: PCR after the image).
        days: i64,
    },
    /// Positive PCRs exist, none in the window; days of the one nearest to it.
    OutsideWindow {
        /// Days from that PCR to the image.
        days: i64,
    },
    /// No positive PCR at all.
    NoPositive,
}

impl BimcvOptions {
    /// Applies the window rule to the positive PCR dates of a subject for an image taken
    /// on `study`.
    pub fn decide(&self, study: StudyDate, positive_pcrs: &[StudyDate]) -> PcrDecision {
        let before = i64::from(self.pcr_days_before);
        let after = i64::from(self.pcr_days_after);
        let mut best_in: Option<(StudyDate, i64)> = None;
        let mut best_out: Option<(i64, i64)> = None; // (distance to window, days)
        for &p in positive_pcrs {
            let days = p.days_until(study);
            if (-after..=before).contains(&days) {
                // Prefer the latest PCR not after the image, then the nearest after it.
                let key = |d: i64| if d >= 0 { (0, d) } else { (1, -d) };
                if best_in.is_none_or(|(_, b)| key(days) < key(b)) {
                    best_in = Some((p, days));
                }
            } else {
                let dist = if days > before {
                    days - before
                } else {
                    -after - days
                };
                if best_out.is_none_or(|(d, _)| dist < d) {
                    best_out = Some((dist, days));
                }
            }
        }
        match (best_in, best_out) {
            (Some((pcr_date, days)), _) => PcrDecision::Covid { pcr_date, days },
            (None, Some((_, days))) => PcrDecision::OutsideWindow { days },
            (None, None) => PcrDecision::NoPositive,
        }
    }
}

impl BimcvCovidSource {
    /// An adapter with the given settings.
    pub fn new(options: BimcvOptions) -> Self {
        BimcvCovidSource { options }
    }
}

/// The folder holding `sub-*`, `participants.tsv` and `derivatives/`: the root, or its
/// `covid19_posi/` when the root has no `derivatives/`.
fn base_dir(root: &Path) -> PathBuf {
    let nested = root.join("covid19_posi");
    if !root.join("derivatives").is_dir() && nested.is_dir() {
        nested
    } else {
        root.to_path_buf()
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ScanError + '_ {
    move |source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Sorted entries of `dir` whose name starts with `prefix` and that are directories.
fn subdirs(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, ScanError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Image file extensions of the layout (the rest — sidecars, tsv — are not items).
fn image_stem(name: &str) -> Option<&str> {
    let lower = name.to_ascii_lowercase();
    for ext in [".nii.gz", ".nii", ".png", ".jpg", ".jpeg"] {
        if lower.ends_with(ext) {
            return Some(&name[..name.len() - ext.len()]);
        }
    }
    None
}

/// BIDS entities of a file stem: `key-value` pairs and the final suffix (modality).
fn entities(stem: &str) -> (HashMap<&str, &str>, &str) {
    let mut map = HashMap::new();
    let mut suffix = "";
    for tok in stem.split('_') {
        match tok.split_once('-') {
            Some((k, v)) => {
                map.insert(k, v);
            }
            None => suffix = tok,
        }
    }
    (map, suffix)
}

/// The PCR tests tables found under `base/derivatives/EHR/`.
fn test_tables(base: &Path) -> Vec<PathBuf> {
    let ehr = base.join("derivatives").join("EHR");
    [
        "sil_reg_covid.tsv",
        "sil_reg_covid_posi.tsv",
        "SIL_REG_COVID_POSI_iter123.txt",
    ]
    .iter()
    .map(|n| ehr.join(n))
    .filter(|p| p.is_file())
    .collect()
}

/// A test date: `DD.MM.YYYY` (both iterations), also ISO or `YYYYMMDD`.
fn test_date(text: &str) -> Option<StudyDate> {
    let t = text.trim();
    let parts: Vec<&str> = t.split(['.', '/']).collect();
    if let [d, m, y] = parts[..]
        && y.len() == 4
    {
        return StudyDate::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    t.get(..10.min(t.len()))?.parse().ok()
}

/// Everything known per subject and session, read from the tables.
#[derive(Default)]
struct Tables {
    /// Positive PCR dates by subject.
    positive: HashMap<String, Vec<Pcr>>,
    /// Subjects with any test on record.
    tested: HashMap<String, usize>,
    /// Session study dates by (subject, session).
    session_dates: HashMap<(String, String), String>,
    /// participants.tsv: (age, sex) by subject.
    participants: HashMap<String, (Option<f32>, Option<Sex>)>,
    /// Report labels by (subject, session).
    report_labels: HashMap<(String, String), String>,
    /// Image table rows by file name.
    posi: BTreeMap<String, PosiRow>,
}

/// A row of the COVID19_POSI_v1.0 image table.
#[derive(Debug, Clone)]
struct PosiRow {
    file: PathBuf,
    line: u64,
    subject: String,
    session: String,
    position_manual: String,
    exclude: Option<String>,
    view_position: String,
    study_date: String,
    seen: bool,
}

impl BimcvCovidSource {
    fn read_tests(&self, base: &Path, t: &mut Tables, scan: &mut Scan) -> Result<(), ScanError> {
        let paths = test_tables(base);
        if paths.is_empty() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::BimcvCovid,
                what: "derivatives/EHR/sil_reg_covid.tsv (or sil_reg_covid_posi.tsv)",
                path: base.join("derivatives/EHR/sil_reg_covid.tsv"),
            });
        }
        for path in paths {
            let tab = Table::read(&path, b'\t', Encoding::Utf8OrLatin1)?;
            let c_sub = tab.need(&["participant", "patientid", "subject"])?;
            let c_date = tab.need(&["fecha", "date"])?;
            let c_test = tab.need(&["prueba", "test"])?;
            let c_res = tab.need(&["resultado", "result"])?;
            for row in &tab.rows {
                let bad = |reason| Exclusion {
                    source: SourceId::BimcvCovid,
                    file: Some(path.clone()),
                    row: Some(row.line),
                    path: None,
                    reason,
                };
                if let Some(r) = tab.check_width(row) {
                    scan.exclusions.push(bad(r));
                    continue;
                }
                let sub = row.get(c_sub).to_owned();
                let Some(date) = test_date(row.get(c_date)) else {
                    scan.exclusions.push(bad(ExclusionReason::UnparseableDate {
                        value: row.get(c_date).to_owned(),
                    }));
                    continue;
                };
                *t.tested.entry(sub.clone()).or_default() += 1;
                let is_pcr = self
                    .options
                    .pcr_tests
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(row.get(c_test)));
                let positive = matches!(
                    row.get(c_res).to_ascii_uppercase().as_str(),
                    "POSITIVO" | "POSITIVE"
                );
                if is_pcr && positive {
                    t.positive.entry(sub).or_default().push(Pcr { date });
                }
            }
        }
        Ok(())
    }

    fn read_side_tables(&self, base: &Path, t: &mut Tables) -> Result<(), ScanError> {
        let participants = base.join("participants.tsv");
        if participants.is_file() {
            let tab = Table::read(&participants, b'\t', Encoding::Utf8OrLatin1)?;
            let c_sub = tab.need(&["participant", "participant_id"])?;
            let (c_age, c_sex) = (tab.col(&["age"]), tab.col(&["gender", "sex"]));
            for row in &tab.rows {
                let age = python_list(row.opt(c_age))
                    .ok()
                    .flatten()
                    .and_then(|v| v.first().and_then(|a| age_years(a)))
                    .or_else(|| age_years(row.opt(c_age)));
                let sex = row.opt(c_sex).parse::<Sex>().ok();
                t.participants.insert(row.get(c_sub).to_owned(), (age, sex));
            }
        }
        for sub in subdirs(base, "sub-")? {
            let name = sub.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let path = sub.join(format!("{name}_sessions.tsv"));
            if !path.is_file() {
                continue;
            }
            let tab = Table::read(&path, b'\t', Encoding::Utf8OrLatin1)?;
            let c_ses = tab.need(&["session_id"])?;
            let c_date = tab.need(&["study_date"])?;
            for row in &tab.rows {
                let date = row.get(c_date);
                let date = date.strip_suffix(".0").unwrap_or(date);
                t.session_dates.insert(
                    (name.to_owned(), row.get(c_ses).to_owned()),
                    date.to_owned(),
                );
            }
        }
        let labels_dir = base.join("derivatives").join("labels");
        for n in [
            "labels_covid19_posi.tsv",
            "labels_covid_posi.tsv",
            "Labels_covid_123.tsv",
        ] {
            let path = labels_dir.join(n);
            if !path.is_file() {
                continue;
            }
            let tab = Table::read(&path, b'\t', Encoding::Utf8OrLatin1)?;
            let c_sub = tab.need(&["patientid", "participant"])?;
            let c_ses = tab.need(&["reportid", "session"])?;
            let c_lab = tab.need(&["labels"])?;
            for row in &tab.rows {
                if let Ok(Some(l)) = python_list(row.get(c_lab)) {
                    t.report_labels.insert(
                        (row.get(c_sub).to_owned(), row.get(c_ses).to_owned()),
                        l.join("|"),
                    );
                }
            }
        }
        for p in [
            base.join("COVID19_POSI_v1.0.csv"),
            base.join("derivatives").join("COVID19_POSI_v1.0.csv"),
        ] {
            if !p.is_file() {
                continue;
            }
            let tab = Table::read(&p, b',', Encoding::Utf8OrLatin1)?;
            let c_file = tab.need(&["file"])?;
            let c_sub = tab.need(&["subject"])?;
            let c_ses = tab.need(&["session"])?;
            let c_pos = tab.need(&["position_manual"])?;
            let c_ex = tab.col(&["exclude"]);
            let c_exr = tab.col(&["excludereason"]);
            let c_vp = tab.col(&["viewposition"]);
            let c_date = tab.col(&["studydate"]);
            for row in &tab.rows {
                let exclude = row.opt(c_ex).eq_ignore_ascii_case("true").then(|| {
                    let r = row.opt(c_exr);
                    if r.is_empty() { "Exclude=True" } else { r }.to_owned()
                });
                t.posi.insert(
                    row.get(c_file).to_owned(),
                    PosiRow {
                        file: p.clone(),
                        line: row.line,
                        subject: row.get(c_sub).to_owned(),
                        session: row.get(c_ses).to_owned(),
                        position_manual: row.get(c_pos).to_owned(),
                        exclude,
                        view_position: row.opt(c_vp).to_owned(),
                        study_date: row.opt(c_date).to_owned(),
                        seen: false,
                    },
                );
            }
        }
        Ok(())
    }

    /// Decides one image file.
    fn image(
        &self,
        path: &Path,
        sub: &str,
        ses: &str,
        t: &mut Tables,
    ) -> Result<ImageRecord, ExclusionReason> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let stem = image_stem(name).unwrap_or(name);
        let (ents, suffix) = entities(stem);
        let posi = t.posi.get_mut(name).map(|r| {
            r.seen = true;
            r.clone()
        });
        let json = path.with_file_name(format!("{stem}.json"));
        let side = if json.is_file() {
            Sidecar::read(&json).map_err(|detail| ExclusionReason::MalformedRow { detail })?
        } else {
            Sidecar::default()
        };
        // 2. modality
        let modality = if matches!(suffix.to_ascii_lowercase().as_str(), "cr" | "dx" | "ct") {
            suffix.to_ascii_uppercase()
        } else {
            side.text("00080060").unwrap_or_else(|| suffix.to_owned())
        };
        if !matches!(modality.as_str(), "CR" | "DX") {
            return Err(ExclusionReason::NotXray { modality });
        }
        // 3. flagged
        if let Some(reason) = posi.as_ref().and_then(|p| p.exclude.clone()) {
            return Err(ExclusionReason::FlaggedBySource { reason });
        }
        // 4. view
        let dicom_vp = side
            .text("00185101")
            .or_else(|| posi.as_ref().map(|p| p.view_position.clone()))
            .filter(|s| !s.is_empty());
        let (view, from) = if let Some(p) = posi.as_ref().filter(|p| !p.position_manual.is_empty())
        {
            let v = match p.position_manual.to_ascii_uppercase().as_str() {
                "PA" if dicom_vp.as_deref() == Some("AP") => Ok(View::Ap),
                "PA" => Ok(View::Pa),
                _ => Err(p.position_manual.clone()),
            };
            (v, "Position_Manual")
        } else if let Some(vp) = ents.get("vp") {
            let v = match vp.to_ascii_lowercase().as_str() {
                "pa" => Ok(View::Pa),
                "ap" => Ok(View::Ap),
                _ => Err(format!("vp-{vp}")),
            };
            (v, "file vp- entity")
        } else if let (true, Some(vp)) = (self.options.trust_dicom_view, dicom_vp.as_deref()) {
            let v = match vp.parse::<View>() {
                Ok(v) if v.is_frontal() => Ok(v),
                _ => Err(vp.to_owned()),
            };
            (v, "DICOM View Position")
        } else {
            (Err("unknown".to_owned()), "")
        };
        let view = view.map_err(|view| ExclusionReason::NotFrontal { view })?;
        // 5. date
        let date_text = side
            .text("00080020")
            .or_else(|| posi.as_ref().map(|p| p.study_date.clone()))
            .filter(|s| !s.is_empty())
            .or_else(|| {
                t.session_dates
                    .get(&(sub.to_owned(), ses.to_owned()))
                    .cloned()
            })
            .unwrap_or_default();
        let study: StudyDate = date_text
            .parse()
            .map_err(|_| ExclusionReason::UnparseableDate { value: date_text })?;
        // 6. PCR
        let pcrs: Vec<StudyDate> = t
            .positive
            .get(sub)
            .map(|v| v.iter().map(|p| p.date).collect())
            .unwrap_or_default();
        let (pcr_date, days) = match self.options.decide(study, &pcrs) {
            PcrDecision::Covid { pcr_date, days } => (pcr_date, days),
            PcrDecision::OutsideWindow { days } => {
                return Err(ExclusionReason::PcrOutsideWindow { days });
            }
            PcrDecision::NoPositive => return Err(ExclusionReason::NoPositivePcr),
        };
        let patient = PatientId::new(SourceId::BimcvCovid, sub);
        let mut rec = ImageRecord::new(
            patient,
            stem,
            path,
            Label::Covid,
            format!("PCR POSITIVO {pcr_date}"),
            view,
        );
        rec.study_date = Some(study);
        let (p_age, p_sex) = t.participants.get(sub).copied().unwrap_or((None, None));
        rec.age = side.age_at(study).or(p_age);
        rec.sex = side.text("00100040").and_then(|s| s.parse().ok()).or(p_sex);
        let x = &mut rec.extras;
        x.insert("pcr_days".into(), days.to_string());
        x.insert("session".into(), ses.to_owned());
        x.insert("modality".into(), modality);
        x.insert("view_from".into(), from.to_owned());
        if let Some(ph) = side.text("00280004") {
            if ph == "MONOCHROME1" {
                x.insert("invert".into(), "true".into());
            }
            x.insert("photometric".into(), ph);
        }
        if let Some(l) = t.report_labels.get(&(sub.to_owned(), ses.to_owned())) {
            x.insert("report_labels".into(), l.clone());
        }
        Ok(rec)
    }
}

impl Source for BimcvCovidSource {
    fn id(&self) -> SourceId {
        SourceId::BimcvCovid
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        cxr_source_util::neutral::require_folder(
            SourceId::BimcvCovid,
            root,
            "the BIMCV-COVID19+ folder",
        )?;
        let base = base_dir(root);
        let mut scan = Scan::default();
        let mut t = Tables::default();
        self.read_tests(&base, &mut t, &mut scan)?;
        self.read_side_tables(&base, &mut t)?;
        for sub_dir in subdirs(&base, "sub-")? {
            let sub = sub_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            for ses_dir in subdirs(&sub_dir, "ses-")? {
                let ses = ses_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                for mod_dir in subdirs(&ses_dir, "mod-")? {
                    let mut files: Vec<PathBuf> = std::fs::read_dir(&mod_dir)
                        .map_err(io_err(&mod_dir))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.is_file()
                                && p.file_name()
                                    .and_then(|n| n.to_str())
                                    .and_then(image_stem)
                                    .is_some()
                        })
                        .collect();
                    files.sort();
                    for f in files {
                        match self.image(&f, &sub, &ses, &mut t) {
                            Ok(r) => scan.records.push(r),
                            Err(reason) => scan.exclusions.push(Exclusion {
                                source: SourceId::BimcvCovid,
                                file: None,
                                row: None,
                                path: Some(f),
                                reason,
                            }),
                        }
                    }
                }
            }
        }
        for (name, row) in &t.posi {
            if !row.seen {
                scan.exclusions.push(Exclusion {
                    source: SourceId::BimcvCovid,
                    file: Some(row.file.clone()),
                    row: Some(row.line),
                    path: Some(
                        base.join(&row.subject)
                            .join(&row.session)
                            .join("mod-rx")
                            .join(name),
                    ),
                    reason: ExclusionReason::MissingFile,
                });
            }
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> StudyDate {
        s.parse().unwrap()
    }

    #[test]
    fn window_edges() {
        let o = BimcvOptions::default();
        let img = d("2020-03-19");
        assert_eq!(
            o.decide(img, &[d("2020-03-05")]),
            PcrDecision::Covid {
                pcr_date: d("2020-03-05"),
                days: 14
            }
        );
        assert_eq!(
            o.decide(img, &[d("2020-03-04")]),
            PcrDecision::OutsideWindow { days: 15 }
        );
        assert_eq!(
            o.decide(img, &[d("2020-03-20")]),
            PcrDecision::OutsideWindow { days: -1 }
        );
        assert_eq!(o.decide(img, &[]), PcrDecision::NoPositive);
        // The nearest PCR to the window is reported.
        assert_eq!(
            o.decide(img, &[d("2020-01-01"), d("2020-03-21")]),
            PcrDecision::OutsideWindow { days: -2 }
        );
        let late = BimcvOptions {
            pcr_days_after: 1,
            ..o.clone()
        };
        assert_eq!(
            late.decide(img, &[d("2020-03-20")]),
            PcrDecision::Covid {
                pcr_date: d("2020-03-20"),
                days: -1
            }
        );
        // A PCR before the image wins over one after it.
        assert_eq!(
            late.decide(img, &[d("2020-03-20"), d("2020-03-10")]),
            PcrDecision::Covid {
                pcr_date: d("2020-03-10"),
                days: 9
            }
        );
    }

    #[test]
    fn file_entities() {
        let (e, m) = entities("sub-S03427_ses-E06828_acq-2_run-1_bp-chest_vp-ll_dx");
        assert_eq!(e["vp"], "ll");
        assert_eq!(e["acq"], "2");
        assert_eq!(m, "dx");
        assert_eq!(
            image_stem("sub-S1_ses-E1_run-3_bp-chest_ct.nii.gz"),
            Some("sub-S1_ses-E1_run-3_bp-chest_ct")
        );
        assert_eq!(image_stem("x.json"), None);
    }

    #[test]
    fn test_dates() {
        assert_eq!(test_date("05.03.2020"), Some(d("2020-03-05")));
        assert_eq!(test_date("2020-03-05"), Some(d("2020-03-05")));
        assert_eq!(test_date("32.13.2020"), None);
        assert_eq!(test_date(""), None);
    }
}
