//! The error and power analyses from files: a synthetic records.csv and predictions CSV
//! written to a temporary folder, read back by the readers the examples use, and
//! analysed; a power config read from TOML. Writing the results and checking the written
//! files against the structs: `cxr-report`'s `tests/analysis_files.rs`.

use std::fmt::Write as _;
use std::path::Path;

use cxr_analysis::error_analysis::{self, ErrorAnalysis};
use cxr_analysis::power::{self, PowerConfig};
use cxr_core::{ImageRecord, Label, PatientId, Sex, SourceId, StudyDate, View};

/// Truth of synthetic patient `i`: whether the classifier gets it wrong. Older patients
/// and TB Portals are wrong more often.
fn is_error(i: u32, age: Option<f32>, source: SourceId) -> bool {
    i.is_multiple_of(7)
        || age.is_some_and(|a| a >= 70.0 && i.is_multiple_of(2))
        || (source == SourceId::TbPortals && i % 5 == 1)
}

struct Synthetic {
    records: Vec<ImageRecord>,
    csv: String,
    errors: usize,
    units: usize,
}

/// 90 patients over three sources, one study day each; every fourth has two images
/// that day; some ages and sexes missing; one prediction of an unknown image. Image
/// paths lie under `base`, the folder of the records file, so they read back equal.
fn synthetic(base: &Path) -> Synthetic {
    let sources = [SourceId::CovidIdc, SourceId::Padchest, SourceId::TbPortals];
    let day = StudyDate::from_ymd(2020, 5, 4).unwrap();
    let mut records = Vec::new();
    let mut csv =
        String::from("patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source\n");
    let mut errors = 0;
    for i in 0..90u32 {
        let source = sources[(i % 3) as usize];
        let label = match source {
            SourceId::CovidIdc => Label::Covid,
            SourceId::Padchest => [Label::Healthy, Label::Covid][(i % 2) as usize],
            _ => Label::Bacterial,
        };
        let age = (i % 9 != 4).then_some(18.0 + ((i * 37) % 70) as f32);
        let sex = (i % 8 != 5).then_some(if (i / 3).is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        });
        let error = is_error(i, age, source);
        errors += usize::from(error);
        let guess = if error {
            (label.index() + 1) % 3
        } else {
            label.index()
        };
        let mut p = [0.15; 3];
        p[guess] = 0.7;
        for k in 0..(if i.is_multiple_of(4) { 2 } else { 1 }) {
            let mut r = ImageRecord::new(
                PatientId::new(source, format!("p{i}")),
                format!("img{i}-{k}"),
                base.join(format!("images/{i}-{k}.png")),
                label,
                "synthetic",
                View::Pa,
            );
            r.study_date = Some(day);
            r.age = age;
            r.sex = sex;
            let _ = writeln!(
                csv,
                "{},{day},{},{},{},{},{},{}",
                r.patient, r.image_id, label, p[0], p[1], p[2], source
            );
            records.push(r);
        }
    }
    csv.push_str("padchest:ghost,2020-05-04,ghost-0,healthy,0.7,0.15,0.15,padchest\n");
    Synthetic {
        records,
        csv,
        errors,
        units: 90,
    }
}

fn read_back(dir: &Path, s: &Synthetic) -> ErrorAnalysis {
    let records_csv = dir.join("cohort/records.csv");
    cxr_core::manifest::write_records(&records_csv, &s.records).unwrap();
    let predictions_csv = dir.join("predictions.csv");
    std::fs::write(&predictions_csv, &s.csv).unwrap();
    let records = cxr_core::manifest::read_records(&records_csv).unwrap();
    assert_eq!(records, s.records);
    let predictions = cxr_eval::read_predictions(&predictions_csv).unwrap();
    assert_eq!(predictions.len(), s.records.len() + 1);
    error_analysis::error_analysis(&records, &predictions, 11).unwrap()
}

#[test]
fn error_analysis_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = synthetic(&dir.path().join("cohort"));
    let a = read_back(dir.path(), &s);
    assert_eq!(a.units, s.units);
    assert_eq!(a.errors, s.errors);
    assert_eq!(a.unmatched_predictions, 1);
    assert_eq!(a.unmatched_examples, ["padchest:ghost/ghost-0"]);
    assert_eq!(a.label_mismatches, 0);
    // Missing: ages for i ≡ 4 (mod 9) → 10 patients, sexes for i ≡ 5 (mod 8) → 11.
    assert_eq!(a.missing.age_missing, 10);
    assert_eq!(a.missing.sex_missing, 11);
    assert!(a.missing.little_mcar.is_some());
    assert!(a.missing.age_student_imputed.is_some());
    assert!(a.age.student.is_some() && a.age.welch.is_some());
    assert_eq!(a.by_source.rows.len(), 3);
    assert_eq!(
        a.by_source.rows.iter().map(|r| r.units).sum::<usize>(),
        s.units
    );
    assert_eq!(
        a.by_source.rows.iter().map(|r| r.errors).sum::<usize>(),
        s.errors
    );
}

#[test]
fn power_analysis_from_toml() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("power.toml");
    std::fs::write(&toml, "prevalence = 0.138\nmargins = [0.05, 0.1]\n").unwrap();
    let config = PowerConfig::load(&toml).unwrap();
    let a = power::power_analysis(&config).unwrap();
    // Bacterial prevalence: 245.853 / 0.138 = 1781.55 → 1782 patients.
    assert_eq!(a.sensitivity.cases, 246);
    assert_eq!(a.sensitivity.total, 1782);
    assert_eq!(a.grid.len(), 2 * config.prevalences.len());
}
