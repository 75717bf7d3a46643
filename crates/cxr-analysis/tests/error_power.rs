//! The error and power analyses from files: a synthetic records.csv and predictions CSV
//! written to a temporary folder, read back by the readers the examples use, and
//! analysed; a power config read from TOML. Writing the results and checking the written
//! files against the structs: `cxr-report`'s `tests/analysis_files.rs`.

use cxr_analysis::power::{self, PowerConfig};

// `cxr_analysis::fixtures::files`, compiled in (see `cxr_analysis::fixtures`).
#[path = "../src/fixtures/files.rs"]
mod fixtures;
use fixtures::{power_toml, read_back, synthetic};

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
    let toml = power_toml(dir.path());
    let config = PowerConfig::load(&toml).unwrap();
    let a = power::power_analysis(&config).unwrap();
    // Bacterial prevalence: 245.853 / 0.138 = 1781.55 → 1782 patients.
    assert_eq!(a.sensitivity.cases, 246);
    assert_eq!(a.sensitivity.total, 1782);
    assert_eq!(a.grid.len(), 2 * config.prevalences.len());
}
