//! The error and power analyses to files: a synthetic records.csv and predictions CSV
//! written to a temporary folder, read back by the readers the examples use, analysed
//! (`cxr-analysis`), written, and the written files checked against the structs. (The
//! numbers read back: `cxr-analysis`'s `tests/error_power.rs`; the data:
//! `cxr_analysis::fixtures::files`.)

use cxr_analysis::fixtures::files::{power_toml, read_back, synthetic};
use cxr_analysis::power::PowerConfig;
use cxr_report::analysis::{error_analysis, power};

mod common;
use common::assert_json_close;

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
    let toml = power_toml(dir.path());
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
