//! The adapter on `fixtures/sources/qmenta/` (Kermany layout) and
//! `fixtures/sources/qmenta-manifest/` (neutral manifest): exact counts and reasons.

use std::path::{Path, PathBuf};

use cxr_core::{ExclusionReason, Label, Scan, ScanError, Sex, Source, View};
use cxr_source_qmenta::{QmentaOptions, QmentaSource};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources")
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

fn kermany() -> Scan {
    QmentaSource::default()
        .scan(&fixtures().join("qmenta"))
        .unwrap()
}

#[test]
fn kermany_layout_exact_counts_and_labels() {
    let s = kermany();
    assert_eq!(
        s.items(),
        files_under(&fixtures().join("qmenta/chest_xray"))
    );
    assert_eq!((s.records.len(), s.exclusions.len()), (10, 6));
    let got: Vec<(&str, &str, Label, &str)> = s
        .records
        .iter()
        .map(|r| {
            (
                r.patient.local.as_str(),
                r.image_id.as_str(),
                r.label,
                r.label_reason.as_str(),
            )
        })
        .collect();
    use Label::*;
    assert_eq!(
        got,
        [
            (
                "test/IM-0001",
                "test/NORMAL/IM-0001-0001.jpeg",
                Healthy,
                "folder NORMAL"
            ),
            (
                "test/person1",
                "test/PNEUMONIA/person1_bacteria_1.jpeg",
                Bacterial,
                "file name _bacteria_"
            ),
            (
                "IM-0115",
                "train/NORMAL/IM-0115-0001.jpeg",
                Healthy,
                "folder NORMAL"
            ),
            (
                "IM-0117",
                "train/NORMAL/IM-0117-0001.jpeg",
                Healthy,
                "folder NORMAL"
            ),
            (
                "NORMAL2-IM-1427",
                "train/NORMAL/NORMAL2-IM-1427-0001.jpeg",
                Healthy,
                "folder NORMAL"
            ),
            (
                "person10",
                "train/PNEUMONIA/person10_bacteria_30.jpeg",
                Bacterial,
                "file name _bacteria_"
            ),
            (
                "person1",
                "train/PNEUMONIA/person1_bacteria_1.jpeg",
                Bacterial,
                "file name _bacteria_"
            ),
            (
                "person1",
                "train/PNEUMONIA/person1_bacteria_2.jpeg",
                Bacterial,
                "file name _bacteria_"
            ),
            (
                "NORMAL2-IM-1430",
                "val/NORMAL/NORMAL2-IM-1430-0001.jpeg",
                Healthy,
                "folder NORMAL"
            ),
            (
                "person1946",
                "val/PNEUMONIA/person1946_bacteria_4874.jpeg",
                Bacterial,
                "file name _bacteria_"
            ),
        ]
    );
    assert!(s.records.iter().all(|r| r.view == View::Ap
        && r.extras["pediatric"] == "true"
        && r.age.is_none()
        && r.study_date.is_none()));
    assert_eq!(s.records[0].extras["split"], "test");
    assert_eq!(
        s.records[0].path,
        fixtures().join("qmenta/chest_xray/test/NORMAL/IM-0001-0001.jpeg")
    );

    let excl: Vec<(String, String)> = s
        .exclusions
        .iter()
        .map(|e| {
            let p = e.path.as_ref().unwrap();
            let rel = p
                .strip_prefix(fixtures().join("qmenta/chest_xray"))
                .unwrap();
            (rel.to_string_lossy().into_owned(), e.reason.to_string())
        })
        .collect();
    let want = [
        (
            "test/PNEUMONIA/person100_virus_184.jpeg",
            "unknown label: finding `viral pneumonia (file name _virus_)`",
        ),
        (
            "test/PNEUMONIA/pneumonia-odd.jpeg",
            "unknown label: finding `folder PNEUMONIA, file name without _bacteria_/_virus_`",
        ),
        (
            "train/NORMAL/.DS_Store",
            "malformed row: not a JPEG/PNG image: `.DS_Store`",
        ),
        (
            "train/PNEUMONIA/person1_virus_6.jpeg",
            "unknown label: finding `viral pneumonia (file name _virus_)`",
        ),
        (
            "train/PNEUMONIA/person3_virus_15.jpeg",
            "unknown label: finding `viral pneumonia (file name _virus_)`",
        ),
        (
            "val/NORMAL/person2_bacteria_3.jpeg",
            "unknown label: finding `folder NORMAL, file name _bacteria_`",
        ),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(excl, want);
}

#[test]
fn pediatric_policy_turns_records_into_exclusions() {
    let s = QmentaSource::new(QmentaOptions {
        exclude_pediatric: true,
        ..QmentaOptions::default()
    })
    .scan(&fixtures().join("qmenta"))
    .unwrap();
    assert_eq!((s.records.len(), s.exclusions.len()), (0, 16));
    let pediatric = s
        .exclusions
        .iter()
        .filter(|e| e.reason == ExclusionReason::Pediatric)
        .count();
    assert_eq!(pediatric, 10);
}

#[test]
fn splits_directly_under_the_root_work_too() {
    let s = QmentaSource::default()
        .scan(&fixtures().join("qmenta/chest_xray"))
        .unwrap();
    assert_eq!(s, kermany());
}

#[test]
fn neutral_manifest_exact_counts_and_reasons() {
    let root = fixtures().join("qmenta-manifest");
    let s = QmentaSource::default().scan(&root).unwrap();
    let rows = std::fs::read_to_string(root.join("manifest.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(s.items(), rows);
    assert_eq!((s.records.len(), s.exclusions.len()), (2, 8));
    let a = &s.records[0];
    assert_eq!(a.patient.to_string(), "qmenta:p1");
    assert_eq!(
        (a.label, a.label_reason.as_str()),
        (Label::Bacterial, "filename:_bacteria_")
    );
    assert_eq!(a.view, View::Pa);
    assert_eq!(a.study_date.unwrap().to_string(), "2020-03-01");
    assert_eq!((a.sex, a.age), (Some(Sex::Male), Some(5.0)));
    assert_eq!(a.extras["study_id"], "s1");
    assert_eq!(a.path, root.join("images/a.jpeg"));
    let b = &s.records[1];
    assert_eq!(
        (b.view, b.label, b.age),
        (View::ApSupine, Label::Healthy, Some(3.5))
    );
    let excl: Vec<(u64, String)> = s
        .exclusions
        .iter()
        .map(|e| (e.row.unwrap(), e.reason.to_string()))
        .collect();
    let want = [
        (4, "not frontal: view `LATERAL`"),
        (5, "not an X-ray: modality `OTHER`"),
        (6, "unknown label: finding `other`"),
        (7, "unparseable date `03/01/2020`"),
        (8, "missing file"),
        (9, "malformed row: source `padchest` is not `qmenta`"),
        (10, "malformed row: line 10: 2 fields, the header has 12"),
        (11, "malformed row: empty image_path or patient_id"),
    ]
    .map(|(l, r)| (l, r.to_owned()));
    assert_eq!(excl, want);
}

#[test]
fn a_root_without_the_layout_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    match QmentaSource::default().scan(dir.path()) {
        Err(ScanError::MissingLayout { path, what, .. }) => {
            assert_eq!(path, dir.path());
            assert!(what.contains("chest_xray"));
        }
        other => panic!("{other:?}"),
    }
}
