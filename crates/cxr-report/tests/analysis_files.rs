//! The error and power analyses to files: a synthetic records.csv and predictions CSV
//! written to a temporary folder, read back by the readers the examples use, analysed
//! (`cxr-analysis`), written, and the written files checked against the structs. (The
//! numbers read back: `cxr-analysis`'s `tests/error_power.rs`, whose data these are.)

use std::fmt::Write as _;
use std::path::Path;

use cxr_analysis::error_analysis::ErrorAnalysis;
use cxr_analysis::power::PowerConfig;
use cxr_core::{ImageRecord, Label, PatientId, Sex, SourceId, StudyDate, View};
use cxr_report::analysis::{error_analysis, power};

mod common;
use common::assert_json_close;

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
    Synthetic { records, csv }
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
    cxr_analysis::error_analysis::error_analysis(&records, &predictions, 11).unwrap()
}

#[test]
fn error_analysis_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = synthetic(&dir.path().join("cohort"));
    let a = read_back(dir.path(), &s);

    let out = dir.path().join("errors");
    let paths = error_analysis::write(&out, &a).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, error_analysis::FILES);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
    assert_json_close(&json, &serde_json::to_value(&a).unwrap(), "error_analysis");
    let md = std::fs::read_to_string(&paths[1]).unwrap();
    assert_eq!(md, error_analysis::markdown(&a));
    assert!(md.contains(&format!(
        "| Units (patients) | {} ({}) |",
        a.misclassified.units, a.misclassified.patients
    )));
    assert!(
        md.contains(&format!(
            "1 of {} image predictions had no record",
            s.records.len() + 1
        )),
        "{md}"
    );
    let png = image::open(&paths[2]).unwrap();
    assert_eq!(png.width(), 1000);
}

#[test]
fn power_analysis_from_toml_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("power.toml");
    std::fs::write(&toml, "prevalence = 0.138\nmargins = [0.05, 0.1]\n").unwrap();
    let config = PowerConfig::load(&toml).unwrap();
    let a = cxr_analysis::power::power_analysis(&config).unwrap();
    let paths = power::write(&dir.path().join("power"), &a).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
    assert_json_close(&json, &serde_json::to_value(&a).unwrap(), "power");
    assert_eq!(json["sensitivity"]["total"], 1782);
    let md = std::fs::read_to_string(&paths[1]).unwrap();
    assert_eq!(md, power::markdown(&a));
    assert!(md.contains("**1,782**"), "{md}");
    assert!(image::open(&paths[2]).is_ok());
}
