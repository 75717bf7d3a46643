//! The neutral manifest proposed in `shared/sources/FORMATS.md` for sources without a
//! usable public schema: UTF-8 CSV, comma, one row per image, columns `source`,
//! `image_path` (relative to the source root), `patient_id`, `study_id`, `study_date`
//! (`YYYY-MM-DD` or blank), `day_offset`, `view` (`PA|AP|AP_SUPINE|LATERAL|UNKNOWN`),
//! `modality` (`CR|DX|OTHER`), `label` (`healthy|covid|bacterial|other`),
//! `label_source`, `sex` (`M|F|blank`), `age_years`. Required: `image_path`,
//! `patient_id`, `label`; the others may be absent.
//!
//! A row is checked in this order: unreadable (too few fields, empty path or patient,
//! a `source` naming another source) → modality `OTHER` → view not PA/AP/AP_SUPINE →
//! label not healthy/covid/bacterial → `study_date` unreadable → image file missing.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Sex, SourceId,
    StudyDate, View,
};

use crate::table::Table;

/// Reads the view column's vocabulary (and the core's spellings).
fn neutral_view(text: &str) -> Option<View> {
    match text.trim().to_ascii_uppercase().as_str() {
        "PA" => Some(View::Pa),
        "AP" => Some(View::Ap),
        "AP_SUPINE" => Some(View::ApSupine),
        _ => text.parse::<View>().ok().filter(|v| v.is_frontal()),
    }
}

/// Reads a neutral manifest at `path` whose image paths are relative to `root`, for
/// `source`.
pub fn read_neutral_manifest(
    path: &Path,
    root: &Path,
    source: SourceId,
) -> Result<Scan, ScanError> {
    let mut table = Table::open(path)?;
    let h = &table.header;
    let c_path = h.require(path, "image_path")?;
    let c_pid = h.require(path, "patient_id")?;
    let c_label = h.require(path, "label")?;
    let opt = |n: &str| h.find(n);
    let (c_source, c_view, c_mod, c_reason, c_sex, c_age, c_date, c_offset, c_study) = (
        opt("source"),
        opt("view"),
        opt("modality"),
        opt("label_source"),
        opt("sex"),
        opt("age_years"),
        opt("study_date"),
        opt("day_offset"),
        opt("study_id"),
    );
    let needed = c_path.max(c_pid).max(c_label) + 1;
    let header_used = h.used_len();
    let mut dirs: HashMap<PathBuf, HashSet<OsString>> = HashMap::new();
    let mut scan = Scan::default();
    while let Some(row) = table.next_row()? {
        let exclude = |scan: &mut Scan, image: Option<PathBuf>, reason| {
            scan.exclusions.push(Exclusion {
                source,
                file: Some(path.to_path_buf()),
                row: Some(row.line),
                path: image,
                reason,
            })
        };
        let malformed = |scan: &mut Scan, image: Option<PathBuf>, detail: String| {
            exclude(scan, image, ExclusionReason::MalformedRow { detail })
        };
        if row.len() < needed {
            malformed(
                &mut scan,
                None,
                format!(
                    "truncated row: {} field(s), header has {header_used}",
                    row.len()
                ),
            );
            continue;
        }
        let get = |i: Option<usize>| i.map_or(Ok(""), |i| row.get(&table, i));
        let rel = get(Some(c_path))?;
        let pid = get(Some(c_pid))?;
        if rel.is_empty() || pid.is_empty() {
            let which = if rel.is_empty() {
                "image_path"
            } else {
                "patient_id"
            };
            malformed(&mut scan, None, format!("empty `{which}`"));
            continue;
        }
        let image = root.join(rel);
        let src = get(c_source)?;
        if !src.is_empty() && src.parse::<SourceId>().ok() != Some(source) {
            malformed(
                &mut scan,
                Some(image),
                format!("`source` is `{src}`, expected `{source}`"),
            );
            continue;
        }
        let modality = get(c_mod)?;
        if modality.eq_ignore_ascii_case("OTHER") {
            exclude(
                &mut scan,
                Some(image),
                ExclusionReason::NotXray {
                    modality: modality.into(),
                },
            );
            continue;
        }
        let view_text = get(c_view)?;
        let Some(view) = neutral_view(view_text) else {
            exclude(
                &mut scan,
                Some(image),
                ExclusionReason::NotFrontal {
                    view: view_text.into(),
                },
            );
            continue;
        };
        let label_text = get(Some(c_label))?;
        let Ok(label) = label_text.parse::<Label>() else {
            exclude(
                &mut scan,
                Some(image),
                ExclusionReason::UnknownLabel {
                    finding: label_text.into(),
                },
            );
            continue;
        };
        let date_text = get(c_date)?;
        let study_date = if date_text.is_empty() {
            None
        } else if let Ok(d) = date_text.parse::<StudyDate>() {
            Some(d)
        } else {
            exclude(
                &mut scan,
                Some(image),
                ExclusionReason::UnparseableDate {
                    value: date_text.into(),
                },
            );
            continue;
        };
        let (dir, name) = match (image.parent(), image.file_name()) {
            (Some(d), Some(n)) => (d.to_path_buf(), n.to_os_string()),
            _ => {
                malformed(&mut scan, Some(image), "`image_path` names no file".into());
                continue;
            }
        };
        let present = dirs
            .entry(dir)
            .or_insert_with_key(|d| {
                std::fs::read_dir(d)
                    .map(|it| it.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
                    .unwrap_or_default()
            })
            .contains(&name);
        if !present {
            exclude(&mut scan, Some(image), ExclusionReason::MissingFile);
            continue;
        }
        let reason = match get(c_reason)? {
            "" => format!("manifest label={label_text}"),
            r => r.to_owned(),
        };
        let image_id = rel.to_owned();
        let mut rec = ImageRecord::new(
            PatientId::new(source, pid),
            image_id,
            image,
            label,
            reason,
            view,
        );
        rec.study_date = study_date;
        let offset = get(c_offset)?;
        if !offset.is_empty() {
            match offset.parse::<i32>() {
                Ok(o) => rec.day_offset = Some(o),
                Err(_) => {
                    rec.extras.insert("day_offset_raw".into(), offset.into());
                }
            }
        }
        rec.sex = get(c_sex)?.parse::<Sex>().ok();
        let age = get(c_age)?;
        match age.parse::<f32>() {
            Ok(a) if (0.0..=120.0).contains(&a) => rec.age = Some(a),
            _ if !age.is_empty() => {
                rec.extras.insert("age_raw".into(), age.into());
            }
            _ => {}
        }
        for (key, col) in [("study_id", c_study), ("modality", c_mod)] {
            let v = get(col)?;
            if !v.is_empty() {
                rec.extras.insert(key.into(), v.into());
            }
        }
        scan.records.push(rec);
    }
    Ok(scan)
}
