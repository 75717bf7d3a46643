//! The BIMCV-COVID19+ adapter over `fixtures/sources/bimcv-covid` (written by
//! `scripts/fixtures/make_source_fixtures.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, Scan, ScanError, Sex, Source, View,
};
use cxr_source_bimcv_covid::{BimcvCovidSource, BimcvOptions};

fn fixture(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sources/bimcv-covid")
        .join(sub)
}

fn name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

fn rec<'a>(scan: &'a Scan, part: &str) -> &'a ImageRecord {
    scan.records
        .iter()
        .find(|r| name(&r.path).contains(part))
        .unwrap_or_else(|| panic!("no record {part}"))
}

fn excl<'a>(scan: &'a Scan, part: &str) -> &'a ExclusionReason {
    &scan
        .exclusions
        .iter()
        .find(|e| e.path.as_deref().is_some_and(|p| name(p).contains(part)))
        .unwrap_or_else(|| panic!("no exclusion {part}"))
        .reason
}

fn kinds(ex: &[Exclusion]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in ex {
        *m.entry(e.reason.kind()).or_default() += 1;
    }
    m
}

/// Copies the iteration-1 fixture to a temporary folder.
fn copy_iter1() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dst = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &dst);
            } else {
                std::fs::copy(e.path(), dst).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture("iter1"), dir.path());
    dir
}

#[test]
fn iteration1_with_image_table() {
    let scan = BimcvCovidSource::default().scan(&fixture("iter1")).unwrap();
    // 13 image files + 1 image-table row without a file + 2 unreadable test rows.
    assert_eq!(scan.items(), 16);
    assert_eq!(scan.records.len(), 4);
    assert_eq!(scan.exclusions.len(), 12);
    assert_eq!(
        kinds(&scan.exclusions),
        BTreeMap::from([
            ("flagged_by_source", 1),
            ("malformed_row", 2),
            ("missing_file", 1),
            ("no_positive_pcr", 2),
            ("not_frontal", 1),
            ("not_xray", 1),
            ("pcr_outside_window", 2),
            ("unparseable_date", 2),
        ])
    );
    // PCR exactly 14 days before the image: inside the window.
    let r = rec(&scan, "S03809_ses-E08956_run-1_bp-chest_vp-pa");
    assert_eq!(r.label, Label::Covid);
    assert_eq!(r.label_reason, "PCR POSITIVO 2020-03-05");
    assert_eq!(r.extras["pcr_days"], "14");
    assert_eq!(r.view, View::Pa);
    assert_eq!(r.study_date.unwrap().to_string(), "2020-03-19");
    assert_eq!(r.age, Some(69.0));
    assert_eq!(r.sex, Some(Sex::Female));
    assert_eq!(r.patient.to_string(), "bimcv-covid:sub-S03809");
    assert_eq!(r.image_id, "sub-S03809_ses-E08956_run-1_bp-chest_vp-pa_cr");
    assert_eq!(r.extras["invert"], "true");
    assert_eq!(r.extras["photometric"], "MONOCHROME1");
    assert_eq!(r.extras["report_labels"], "COVID 19|pneumonia");
    assert_eq!(r.extras["view_from"], "file vp- entity");
    // 15 days: outside; PCR 2 days after the image: outside by default.
    assert_eq!(
        excl(&scan, "S03810"),
        &ExclusionReason::PcrOutsideWindow { days: 15 }
    );
    assert_eq!(
        excl(&scan, "ses-E08969"),
        &ExclusionReason::PcrOutsideWindow { days: -2 }
    );
    // PCR the same day.
    let r = rec(&scan, "S03811_ses-E08970");
    assert_eq!((r.view, r.extras["pcr_days"].as_str()), (View::Ap, "0"));
    assert_eq!(r.age, Some(39.0));
    assert_eq!(r.extras["modality"], "DX");
    // No vp entity: the sidecar's View Position; date from the sessions table; age from
    // participants.tsv; gender `None`.
    let r = rec(&scan, "S03813");
    assert_eq!(r.view, View::Ap);
    assert_eq!(r.extras["view_from"], "DICOM View Position");
    assert_eq!(r.study_date.unwrap().to_string(), "2020-04-02");
    assert_eq!(r.label_reason, "PCR POSITIVO 2020-03-30");
    assert_eq!((r.age, r.sex), (Some(71.0), None));
    // The image table's Position_Manual decides where the file says nothing.
    let r = rec(&scan, "S03815_ses-E09010_run-1");
    assert_eq!(
        (r.view, r.extras["view_from"].as_str()),
        (View::Pa, "Position_Manual")
    );
    assert_eq!(
        excl(&scan, "S03815_ses-E09010_run-2"),
        &ExclusionReason::FlaggedBySource {
            reason: "burned in information".into()
        }
    );
    assert_eq!(excl(&scan, "ses-E09011"), &ExclusionReason::MissingFile);
    assert_eq!(
        excl(&scan, "vp-ll"),
        &ExclusionReason::NotFrontal {
            view: "vp-ll".into()
        }
    );
    assert_eq!(
        excl(&scan, "ct.nii.gz"),
        &ExclusionReason::NotXray {
            modality: "CT".into()
        }
    );
    assert!(
        matches!(excl(&scan, "ses-E09001"), ExclusionReason::MalformedRow { detail } if detail.contains("invalid JSON"))
    );
    assert_eq!(excl(&scan, "S03812"), &ExclusionReason::NoPositivePcr);
    assert_eq!(excl(&scan, "S03816"), &ExclusionReason::NoPositivePcr);
    assert_eq!(
        excl(&scan, "S03817"),
        &ExclusionReason::UnparseableDate {
            value: "20200231".into()
        }
    );
    // Unreadable rows of the tests table name it and their line.
    let tests: Vec<(u64, &str)> = scan
        .exclusions
        .iter()
        .filter(|e| {
            e.file
                .as_deref()
                .is_some_and(|f| f.ends_with("sil_reg_covid.tsv"))
        })
        .map(|e| (e.row.unwrap(), e.reason.kind()))
        .collect();
    assert_eq!(tests, [(12, "unparseable_date"), (13, "malformed_row")]);
}

#[test]
fn without_image_table_the_file_entities_decide() {
    let dir = copy_iter1();
    std::fs::remove_file(dir.path().join("derivatives/COVID19_POSI_v1.0.csv")).unwrap();
    let scan = BimcvCovidSource::default().scan(dir.path()).unwrap();
    assert_eq!(scan.items(), 15);
    assert_eq!(scan.records.len(), 4);
    assert_eq!(
        excl(&scan, "S03815_ses-E09010_run-1"),
        &ExclusionReason::NotFrontal {
            view: "unknown".into()
        }
    );
    let r = rec(&scan, "S03815_ses-E09010_run-2");
    assert_eq!(r.extras["pcr_days"], "1");
    assert_eq!(r.age, Some(80.0));
}

#[test]
fn window_options() {
    let late = BimcvCovidSource::new(BimcvOptions {
        pcr_days_after: 2,
        ..Default::default()
    });
    let scan = late.scan(&fixture("iter1")).unwrap();
    assert_eq!(scan.records.len(), 5);
    assert_eq!(rec(&scan, "ses-E08969").extras["pcr_days"], "-2");
    let short = BimcvCovidSource::new(BimcvOptions {
        pcr_days_before: 13,
        trust_dicom_view: false,
        ..Default::default()
    });
    let scan = short.scan(&fixture("iter1")).unwrap();
    assert_eq!(scan.records.len(), 2);
    assert_eq!(
        excl(&scan, "S03809_ses-E08956_run-1_bp-chest_vp-pa"),
        &ExclusionReason::PcrOutsideWindow { days: 14 }
    );
    assert_eq!(
        excl(&scan, "S03813"),
        &ExclusionReason::NotFrontal {
            view: "unknown".into()
        }
    );
}

#[test]
fn iterations_1_and_2_spelling_nested_in_covid19_posi() {
    let scan = BimcvCovidSource::default()
        .scan(&fixture("iter12"))
        .unwrap();
    assert_eq!(scan.items(), 3);
    assert_eq!(scan.records.len(), 1);
    let r = &scan.records[0];
    assert_eq!(r.patient.local, "sub-S04001");
    assert_eq!(r.label_reason, "PCR POSITIVO 2020-04-08");
    assert_eq!(r.age, Some(50.0));
    assert_eq!(
        excl(&scan, "S04002"),
        &ExclusionReason::PcrOutsideWindow { days: -1 }
    );
    assert_eq!(
        excl(&scan, "S04001_ses-E10001_run-1_bp-chest_vp-ll"),
        &ExclusionReason::NotFrontal {
            view: "vp-ll".into()
        }
    );
}

#[test]
fn malformed_layouts_are_named_errors() {
    let empty = tempfile::tempdir().unwrap();
    let e = BimcvCovidSource::default().scan(empty.path()).unwrap_err();
    assert!(matches!(e, ScanError::MissingLayout { .. }), "{e}");
    let dir = copy_iter1();
    let tests = dir.path().join("derivatives/EHR/sil_reg_covid.tsv");
    std::fs::write(
        &tests,
        "participant,fecha,prueba,resultado\nsub-S1,01.01.2020,PCR,POSITIVO\n",
    )
    .unwrap();
    let e = BimcvCovidSource::default().scan(dir.path()).unwrap_err();
    assert!(e.to_string().contains("wrong delimiter"), "{e}");
    std::fs::write(
        &tests,
        "participant\tfecha\tprueba\nsub-S1\t01.01.2020\tPCR\n",
    )
    .unwrap();
    let e = BimcvCovidSource::default().scan(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("sil_reg_covid.tsv")
            && msg.contains("missing column `resultado`")
            && msg.contains("line 1"),
        "{msg}"
    );
}
