//! The neutral manifest for sources without a usable schema (specified in `docs/data.md`,
//! format notes §8): `manifest.csv` at the source root, UTF-8, comma-separated, one row
//! per image, columns `source, image_path, patient_id, study_id, study_date, day_offset,
//! view, modality, label, label_source, sex, age_years` (matched by name; only
//! `image_path`, `patient_id`, `view`, `label` are required).
//!
//! One reader for every adapter that accepts it (COVIDDSL, TB Portals, QMenta). A row
//! is checked in this order, and the first failure is its exclusion reason: field count
//! against the header → empty `image_path` or `patient_id` → a `source` naming another
//! source → `view` not PA, AP or AP_SUPINE (or the core's spellings of those) →
//! `modality` other than blank, CR or DX → `label` not healthy, covid or bacterial →
//! unreadable `study_date` → unreadable `day_offset`, `age_years` or `sex` → image file
//! missing.

use std::path::Path;

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, SourceId,
    StudyDate, View,
};

use crate::table::{Encoding, Row, Table};

/// File name of the neutral manifest, at the source root.
pub const NEUTRAL_MANIFEST: &str = "manifest.csv";

/// How a folder-layout adapter's scan starts (COVIDDSL, TB Portals): a root holding the
/// neutral manifest is read as that (`Ok(Some(scan))`); a root that is not a folder is
/// [`ScanError::MissingLayout`] naming `what` (see [`require_folder`]); otherwise
/// `Ok(None)`, and the adapter reads its own layout.
pub fn manifest_or_folder(
    source: SourceId,
    root: &Path,
    what: &'static str,
) -> Result<Option<Scan>, ScanError> {
    if root.join(NEUTRAL_MANIFEST).is_file() {
        return scan_manifest(source, root).map(Some);
    }
    require_folder(source, root, what)?;
    Ok(None)
}

/// [`ScanError::MissingLayout`] naming `what` (`"the COVIDDSL folder"`) unless `root` is
/// a folder.
pub fn require_folder(source: SourceId, root: &Path, what: &'static str) -> Result<(), ScanError> {
    if root.is_dir() {
        Ok(())
    } else {
        Err(ScanError::MissingLayout {
            source_id: source,
            what,
            path: root.to_path_buf(),
        })
    }
}

/// Scans `root/manifest.csv` as records of `source`.
pub fn scan_manifest(source: SourceId, root: &Path) -> Result<Scan, ScanError> {
    read_manifest(source, &root.join(NEUTRAL_MANIFEST), root)
}

/// Reads the neutral manifest at `path`, whose image paths are relative to `root`, as
/// records of `source`.
pub fn read_manifest(source: SourceId, path: &Path, root: &Path) -> Result<Scan, ScanError> {
    let path = path.to_path_buf();
    let t = Table::read(&path, b',', Encoding::Utf8)?;
    let c = Cols {
        source: t.col(&["source"]),
        image: t.need(&["image_path"])?,
        patient: t.need(&["patient_id"])?,
        study: t.col(&["study_id"]),
        date: t.col(&["study_date"]),
        offset: t.col(&["day_offset"]),
        view: t.need(&["view"])?,
        modality: t.col(&["modality"]),
        label: t.need(&["label"])?,
        label_source: t.col(&["label_source"]),
        sex: t.col(&["sex"]),
        age: t.col(&["age_years"]),
    };
    let mut scan = Scan::default();
    for row in &t.rows {
        match manifest_row(source, root, &t, &c, row) {
            Ok(r) => scan.records.push(r),
            Err(reason) => scan.exclusions.push(Exclusion {
                source,
                file: Some(path.clone()),
                row: Some(row.line),
                path: Some(root.join(row.get(c.image))).filter(|_| !row.get(c.image).is_empty()),
                reason,
            }),
        }
    }
    Ok(scan)
}

struct Cols {
    source: Option<usize>,
    image: usize,
    patient: usize,
    study: Option<usize>,
    date: Option<usize>,
    offset: Option<usize>,
    view: usize,
    modality: Option<usize>,
    label: usize,
    label_source: Option<usize>,
    sex: Option<usize>,
    age: Option<usize>,
}

/// The `view` column's frontal values (PA, AP, AP_SUPINE, any case), or the core's
/// spellings of a frontal view; for a user source (no adapter, no rules of its own) an
/// unrecorded view too, left to the quality gate.
fn frontal_view(text: &str, source: SourceId) -> Option<View> {
    match text.trim().to_ascii_uppercase().as_str() {
        "PA" => Some(View::Pa),
        "AP" => Some(View::Ap),
        "AP_SUPINE" => Some(View::ApSupine),
        _ => text
            .parse::<View>()
            .ok()
            .filter(|v| v.is_frontal() || (!source.has_adapter() && v.may_be_frontal())),
    }
}

fn manifest_row(
    source: SourceId,
    root: &Path,
    t: &Table,
    c: &Cols,
    row: &Row,
) -> Result<ImageRecord, ExclusionReason> {
    let malformed = |detail: String| ExclusionReason::MalformedRow { detail };
    if let Some(r) = t.check_width(row) {
        return Err(r);
    }
    let src = row.opt(c.source);
    if !src.is_empty() && src.parse::<SourceId>().ok() != Some(source) {
        return Err(malformed(format!("source `{src}` is not `{source}`")));
    }
    let (image, patient) = (row.get(c.image), row.get(c.patient));
    if image.is_empty() || patient.is_empty() {
        return Err(malformed("empty image_path or patient_id".into()));
    }
    let view_text = row.get(c.view);
    let view = frontal_view(view_text, source).ok_or_else(|| ExclusionReason::NotFrontal {
        view: view_text.to_owned(),
    })?;
    let modality = row.opt(c.modality);
    if !modality.is_empty() && !matches!(modality.to_ascii_uppercase().as_str(), "CR" | "DX") {
        return Err(ExclusionReason::NotXray {
            modality: modality.to_owned(),
        });
    }
    let label_text = row.get(c.label);
    let label: Label = label_text
        .parse()
        .map_err(|_| ExclusionReason::UnknownLabel {
            finding: label_text.to_owned(),
        })?;
    let date_text = row.opt(c.date);
    let study_date = if date_text.is_empty() {
        None
    } else {
        Some(
            date_text
                .parse::<StudyDate>()
                .map_err(|_| ExclusionReason::UnparseableDate {
                    value: date_text.to_owned(),
                })?,
        )
    };
    let offset_text = row.opt(c.offset);
    let day_offset = if offset_text.is_empty() {
        None
    } else {
        Some(
            offset_text
                .parse::<i32>()
                .map_err(|_| malformed(format!("day_offset `{offset_text}` is not an integer")))?,
        )
    };
    let age_text = row.opt(c.age);
    let age = if age_text.is_empty() {
        None
    } else {
        Some(
            cxr_core::age::age_years(age_text)
                .ok_or_else(|| malformed(format!("age_years `{age_text}` is not an age")))?,
        )
    };
    let sex_text = row.opt(c.sex);
    let sex = if sex_text.is_empty() {
        None
    } else {
        Some(
            sex_text
                .parse::<Sex>()
                .map_err(|_| malformed(format!("sex `{sex_text}` is not M or F")))?,
        )
    };
    let path = root.join(image);
    if !path.is_file() {
        return Err(ExclusionReason::MissingFile);
    }
    let reason = match row.opt(c.label_source) {
        "" => format!("manifest label={label_text}"),
        s => s.to_owned(),
    };
    let mut rec = ImageRecord::new(
        PatientId::new(source, patient),
        image,
        path,
        label,
        reason,
        view,
    );
    rec.study_date = study_date;
    rec.day_offset = day_offset;
    rec.age = age;
    rec.sex = sex;
    if !row.opt(c.study).is_empty() {
        rec.extras
            .insert("study_id".into(), row.opt(c.study).to_owned());
    }
    if !modality.is_empty() {
        rec.extras.insert("modality".into(), modality.to_owned());
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontal_views_in_the_manifest_vocabulary_and_the_cores() {
        assert_eq!(frontal_view("PA", SourceId::Qmenta), Some(View::Pa));
        assert_eq!(
            frontal_view(" ap_supine ", SourceId::Qmenta),
            Some(View::ApSupine)
        );
        assert_eq!(
            frontal_view("AP_horizontal", SourceId::Qmenta),
            Some(View::ApSupine)
        );
        assert_eq!(
            frontal_view("POSTEROANTERIOR", SourceId::Qmenta),
            Some(View::Pa)
        );
        assert_eq!(frontal_view("LATERAL", SourceId::Qmenta), None);
        assert_eq!(frontal_view("UNKNOWN", SourceId::Qmenta), None);
        assert_eq!(frontal_view("", SourceId::Qmenta), None);
        // A user source keeps an unrecorded view for the quality gate, not a lateral one.
        let mine: SourceId = "my-hospital".parse().unwrap();
        assert_eq!(frontal_view("", mine), Some(View::Unknown));
        assert_eq!(frontal_view("unknown", mine), Some(View::Unknown));
        assert_eq!(frontal_view("LATERAL", mine), None);
    }

    #[test]
    fn the_first_failing_check_names_the_row() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"").unwrap();
        std::fs::write(
            dir.path().join(NEUTRAL_MANIFEST),
            "image_path,patient_id,view,modality,label,age_years\n\
             a.png,p1,PA,CR,covid,40\n\
             a.png,p1,LATERAL,MR,other,x\n\
             a.png,p1,AP,MR,other,x\n\
             a.png,p1,AP,,other,x\n\
             a.png,p1,AP,,covid,x\n\
             b.png,p1,AP,,covid,41\n",
        )
        .unwrap();
        let scan = scan_manifest(SourceId::Coviddsl, dir.path()).unwrap();
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.records[0].age, Some(40.0));
        let reasons: Vec<String> = scan
            .exclusions
            .iter()
            .map(|e| format!("{} {}", e.row.unwrap(), e.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                "3 not frontal: view `LATERAL`",
                "4 not an X-ray: modality `MR`",
                "5 unknown label: finding `other`",
                "6 malformed row: age_years `x` is not an age",
                "7 missing file",
            ]
        );
    }
}
