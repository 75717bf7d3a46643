//! The adapter on `fixtures/sources/covid-idc/`: every header variant, exact counts and
//! reasons, and the deliberately broken tables under `bad/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::{ExclusionReason, ImageRecord, Label, Scan, ScanError, Sex, Source, View};
use cxr_source_covid_idc::{CovidIdcOptions, CovidIdcSource};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources/covid-idc")
}

fn scan(metadata: &str) -> Result<Scan, ScanError> {
    CovidIdcSource::new(CovidIdcOptions {
        metadata: metadata.into(),
        ..CovidIdcOptions::default()
    })
    .scan(&root())
}

/// Data rows of a fixture table (no quoted newlines in the fixtures).
fn data_rows(metadata: &str) -> usize {
    std::fs::read_to_string(root().join(metadata))
        .unwrap()
        .lines()
        .count()
        - 1
}

fn reasons(scan: &Scan) -> BTreeMap<(u64, &'static str), String> {
    scan.exclusions
        .iter()
        .map(|e| ((e.row.unwrap(), e.reason.kind()), e.reason.to_string()))
        .collect()
}

fn by_file<'a>(scan: &'a Scan, name: &str) -> &'a ImageRecord {
    scan.records
        .iter()
        .find(|r| r.image_id == name)
        .unwrap_or_else(|| panic!("no record {name}"))
}

#[test]
fn final_header_hierarchical_findings() {
    let s = scan("metadata.csv").unwrap();
    assert_eq!(s.items(), data_rows("metadata.csv"));
    assert_eq!((s.records.len(), s.exclusions.len()), (7, 12));
    let ids: Vec<(&str, &str, Label)> = s
        .records
        .iter()
        .map(|r| (r.patient.local.as_str(), r.image_id.as_str(), r.label))
        .collect();
    assert_eq!(
        ids,
        [
            ("2", "covid-1.png", Label::Covid),
            ("2", "covid-2.png", Label::Covid),
            ("311a", "covid-3.jpeg", Label::Covid),
            ("350c", "bact-1.jpg", Label::Bacterial),
            ("425d", "bact-2.png", Label::Bacterial),
            ("8", "normal-1.png", Label::Healthy),
            ("14", "covid-4.png", Label::Covid),
        ]
    );
    let want: BTreeMap<(u64, &str), String> = [
        ((5, "not_frontal"), "not frontal: view `L`"),
        ((6, "not_xray"), "not an X-ray: modality `CT`"),
        (
            (9, "unknown_label"),
            "unknown label: finding `Pneumonia/Viral/SARS`",
        ),
        (
            (10, "unknown_label"),
            "unknown label: finding `Pneumonia/Viral/Herpes`",
        ),
        ((11, "unknown_label"), "unknown label: finding `todo`"),
        ((13, "not_frontal"), "not frontal: view `?`"),
        ((14, "not_frontal"), "not frontal: view ``"),
        ((15, "missing_file"), "missing file"),
        (
            (16, "unknown_label"),
            "unknown label: finding `Tuberculosis`",
        ),
        (
            (17, "malformed_row"),
            "malformed row: truncated row: 3 field(s), header has 29",
        ),
        ((18, "malformed_row"), "malformed row: empty `patientid`"),
        ((20, "unknown_label"), "unknown label: finding `Unknown`"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    assert_eq!(reasons(&s), want);
    let missing = s
        .exclusions
        .iter()
        .find(|e| e.reason == ExclusionReason::MissingFile)
        .unwrap();
    assert_eq!(
        missing.path.as_deref(),
        Some(&*root().join("images/missing.png"))
    );

    let r = by_file(&s, "covid-1.png");
    assert_eq!(r.patient.to_string(), "covid-idc:2");
    assert_eq!(r.label_reason, "finding=Pneumonia/Viral/COVID-19");
    assert_eq!(r.view, View::Pa);
    assert_eq!(r.day_offset, Some(0));
    assert_eq!(r.study_date.unwrap().to_string(), "2020-01-22");
    assert_eq!((r.age, r.sex), (Some(65.0), Some(Sex::Male)));
    assert_eq!(r.extras["rt_pcr_positive"], "Y");
    assert_eq!(r.extras["location"], "Seattle, WA, USA");
    assert_eq!(r.path, root().join("images/covid-1.png"));

    let r = by_file(&s, "covid-2.png");
    assert_eq!(
        (r.view, r.day_offset, r.study_date),
        (View::ApSupine, Some(3), None)
    );
    assert_eq!(r.extras["date"], "2020");
    assert_eq!(r.extras["date_precision"], "year");

    let r = by_file(&s, "covid-3.jpeg");
    assert_eq!((r.view, r.day_offset, r.age), (View::Ap, None, None));
    assert_eq!(r.extras["offset_raw"], "?");
    assert_eq!(r.extras["view_raw"], "AP Erect");
    assert_eq!(r.extras["rt_pcr_positive"], "Unclear");
    assert_eq!(r.study_date.unwrap().to_string(), "2020-03-16");

    let r = by_file(&s, "bact-1.jpg");
    assert_eq!(r.label_reason, "finding=Pneumonia/Bacterial/Klebsiella");
    assert_eq!(r.study_date.unwrap().to_string(), "2020-03-12");
    assert!(!r.extras.contains_key("rt_pcr_positive"));

    let r = by_file(&s, "bact-2.png");
    assert_eq!(
        r.label_reason,
        "finding=Pneumonia/Bacterial/Staphylococcus/MRSA"
    );
    assert_eq!(r.extras["date_precision"], "month");
    assert_eq!((r.sex, r.age), (Some(Sex::Female), Some(30.0)));

    let r = by_file(&s, "normal-1.png");
    assert_eq!(r.label_reason, "finding=No Finding");
    assert_eq!(r.extras["rt_pcr_positive"], "N");
    assert_eq!(r.study_date.unwrap().to_string(), "2020-02-13");

    let r = by_file(&s, "covid-4.png");
    assert_eq!((r.view, r.day_offset), (View::Ap, Some(7)));
    assert_eq!(r.study_date.unwrap().to_string(), "2020-03-03");
    assert_eq!(r.extras["location"], "Wuhan, Hubei, China");
}

#[test]
fn first_header_capitalised_with_space_and_trailing_comma() {
    let s = scan("metadata_2020-03-17.csv").unwrap();
    assert_eq!(s.items(), data_rows("metadata_2020-03-17.csv"));
    assert_eq!((s.records.len(), s.exclusions.len()), (3, 5));
    let labels: Vec<(&str, Label, &str)> = s
        .records
        .iter()
        .map(|r| (r.image_id.as_str(), r.label, r.label_reason.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("covid-1.png", Label::Covid, "finding=COVID-19"),
            ("covid-2.png", Label::Covid, "finding=COVID-19, ARDS"),
            ("bact-1.jpg", Label::Bacterial, "finding=Streptococcus"),
        ]
    );
    // No `folder` column: images/ is assumed.
    assert_eq!(s.records[0].path, root().join("images/covid-1.png"));
    assert_eq!(s.records[0].study_date.unwrap().to_string(), "2020-01-22");
    assert_eq!(s.records[0].extras["url"], "https://example.org/case");
    assert_eq!(s.records[1].extras["survival"], "Y");
    let kinds: Vec<(u64, &str)> = s
        .exclusions
        .iter()
        .map(|e| (e.row.unwrap(), e.reason.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            (4, "unknown_label"),
            (6, "not_frontal"),
            (7, "unknown_label"),
            (8, "unknown_label"),
            (9, "not_xray"),
        ]
    );
}

#[test]
fn april_header_flat_bacterial_names_and_semi_erect() {
    let s = scan("metadata_2020-04-05.csv").unwrap();
    assert_eq!(s.items(), data_rows("metadata_2020-04-05.csv"));
    assert_eq!((s.records.len(), s.exclusions.len()), (4, 4));
    let got: Vec<(&str, Label, View)> = s
        .records
        .iter()
        .map(|r| (r.patient.local.as_str(), r.label, r.view))
        .collect();
    assert_eq!(
        got,
        [
            ("1", Label::Covid, View::Pa),
            ("8", Label::Healthy, View::Pa),
            ("20", Label::Bacterial, View::Ap),
            ("22", Label::Bacterial, View::ApSupine),
        ]
    );
    let kinds: Vec<&str> = s.exclusions.iter().map(|e| e.reason.kind()).collect();
    assert_eq!(
        kinds,
        ["missing_file", "unknown_label", "unknown_label", "not_xray"]
    );
    assert_eq!(
        s.exclusions[3].path.as_deref(),
        Some(&*root().join("volumes/vol-1.nii.gz"))
    );
}

#[test]
fn june_header_odd_views_and_coarse_dates() {
    let s = scan("metadata_2020-06-19.csv").unwrap();
    assert_eq!(s.items(), data_rows("metadata_2020-06-19.csv"));
    assert_eq!((s.records.len(), s.exclusions.len()), (4, 5));
    let reasons: Vec<String> = s.exclusions.iter().map(|e| e.reason.to_string()).collect();
    assert_eq!(
        reasons,
        [
            "not frontal: view `?`",
            "not frontal: view ``",
            "unknown label: finding `todo`",
            "unknown label: finding `Varicella`",
            "unknown label: finding `Pneumonia`",
        ]
    );
    let last = s.records.last().unwrap();
    assert_eq!(last.patient.local, "36");
    assert_eq!((last.day_offset, last.study_date), (Some(2), None));
    assert_eq!(last.extras["date_precision"], "none");
    assert_eq!(last.extras["date"], "January 20");
    let bact: Vec<&str> = s
        .records
        .iter()
        .filter(|r| r.label == Label::Bacterial)
        .map(|r| r.label_reason.as_str())
        .collect();
    assert_eq!(
        bact,
        [
            "finding=Chlamydophila",
            "finding=Mycoplasma Bacterial Pneumonia",
            "finding=Bacterial"
        ]
    );
}

fn table_error(metadata: &str) -> (PathBuf, Option<u64>, String) {
    match scan(metadata) {
        Err(ScanError::Table {
            path,
            line,
            problem,
        }) => (path, line, problem),
        other => panic!("{metadata}: expected a table error, got {other:?}"),
    }
}

#[test]
fn broken_tables_are_named_errors() {
    let (path, line, problem) = table_error("bad/semicolon.csv");
    assert_eq!(path, root().join("bad/semicolon.csv"));
    assert_eq!(line, Some(1));
    assert!(problem.starts_with("wrong delimiter"), "{problem}");

    let (_, line, problem) = table_error("bad/missing-finding.csv");
    assert_eq!(line, Some(1));
    assert!(problem.starts_with("missing column `finding`"), "{problem}");

    let (_, line, problem) = table_error("bad/latin1.csv");
    assert_eq!(line, Some(3));
    assert!(problem.contains("column 9 (`location`)"), "{problem}");

    let (_, line, problem) = table_error("bad/empty.csv");
    assert_eq!((line, problem.as_str()), (Some(1), "empty file: no header"));

    let e = scan("no-such.csv").unwrap_err();
    assert!(matches!(e, ScanError::MissingLayout { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such.csv"));
}
