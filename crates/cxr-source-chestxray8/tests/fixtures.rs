//! The adapter on `fixtures/sources/chestxray8/`: both Data_Entry variants, images in
//! several folders, exact counts and reasons, broken tables.

use std::path::{Path, PathBuf};

use cxr_core::{ImageRecord, Label, Scan, ScanError, Sex, Source, View};
use cxr_source_chestxray8::{Chestxray8Options, Chestxray8Source};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources/chestxray8")
}

fn scan_table(name: &str) -> Result<Scan, ScanError> {
    Chestxray8Source::new(Chestxray8Options {
        data_entry: Some(name.into()),
        ..Chestxray8Options::default()
    })
    .scan(&root())
}

fn rec<'a>(s: &'a Scan, id: &str) -> &'a ImageRecord {
    s.records
        .iter()
        .find(|r| r.image_id == id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

/// Both variants list the same 14 rows; the answers must agree.
fn check_common(s: &Scan, table: &str) {
    assert_eq!(s.items(), 14);
    assert_eq!((s.records.len(), s.exclusions.len()), (5, 9));
    let ids: Vec<(&str, &str, View)> = s
        .records
        .iter()
        .map(|r| (r.patient.local.as_str(), r.image_id.as_str(), r.view))
        .collect();
    assert_eq!(
        ids,
        [
            ("00000002", "00000002_000.png", View::Pa),
            ("00000003", "00000003_001.png", View::Ap),
            ("00000005", "00000005_000.png", View::Pa),
            ("00000006", "00000006_000.png", View::Pa),
            ("00000010", "00000010_000.png", View::Ap),
        ]
    );
    assert!(
        s.records
            .iter()
            .all(|r| r.label == Label::Healthy && r.label_reason == "Finding Labels=No Finding")
    );
    let excl: Vec<(u64, String)> = s
        .exclusions
        .iter()
        .map(|e| (e.row.unwrap(), e.reason.to_string()))
        .collect();
    assert_eq!(
        excl,
        [
            (2, "unknown label: finding `Cardiomegaly`".to_owned()),
            (
                3,
                "unknown label: finding `Cardiomegaly|Emphysema`".to_owned()
            ),
            (5, "unknown label: finding `Hernia`".to_owned()),
            (7, "unknown label: finding `Mass|Nodule`".to_owned()),
            (9, "unknown label: finding `Pneumonia`".to_owned()),
            (11, "not frontal: view `LL`".to_owned()),
            (12, "missing file".to_owned()),
            (
                13,
                "malformed row: truncated row: 4 field(s), header has 11".to_owned()
            ),
            (15, "malformed row: empty `Image Index`".to_owned()),
        ]
    );
    assert!(
        s.exclusions
            .iter()
            .all(|e| e.file.as_deref() == Some(&*root().join(table)))
    );

    // Images found in every folder layout.
    assert_eq!(
        rec(s, "00000002_000.png").path,
        root().join("images_001/images/00000002_000.png")
    );
    assert_eq!(
        rec(s, "00000006_000.png").path,
        root().join("images_002/images/00000006_000.png")
    );
    assert_eq!(
        rec(s, "00000010_000.png").path,
        root().join("images/00000010_000.png")
    );

    let r = rec(s, "00000002_000.png");
    assert_eq!((r.age, r.sex), (Some(80.0), Some(Sex::Male)));
    assert_eq!(r.extras["original_width"], "2500");
    assert_eq!(r.extras["original_height"], "2048");
    assert_eq!(r.extras["pixel_spacing_x"], "0.168");
    assert_eq!(r.extras["pixel_spacing_y"], "0.168");
    assert_eq!(r.extras["official_split"], "train_val");
    let r = rec(s, "00000003_001.png");
    assert_eq!(r.sex, Some(Sex::Female));
    // 414 years is a data error: the age is dropped, the row kept.
    let r = rec(s, "00000006_000.png");
    assert_eq!(r.age, None);
    assert_eq!(r.extras["official_split"], "test");
    assert!(r.extras["age_raw"].starts_with("414"));
    assert_eq!(r.study_date, None);
}

#[test]
fn v2020_table_is_the_default() {
    let s = Chestxray8Source::default().scan(&root()).unwrap();
    check_common(&s, "Data_Entry_2017_v2020.csv");
    assert_eq!(s, scan_table("Data_Entry_2017_v2020.csv").unwrap());
    let r = rec(&s, "00000005_000.png");
    assert_eq!(r.age, Some(0.0));
    assert_eq!(r.extras["follow_up"], "0");
    assert_eq!(rec(&s, "00000003_001.png").extras["follow_up"], "1");
}

#[test]
fn original_2017_table_crlf_padded_ids_and_unit_ages() {
    let s = scan_table("Data_Entry_2017.csv").unwrap();
    check_common(&s, "Data_Entry_2017.csv");
    let r = rec(&s, "00000005_000.png");
    assert_eq!(r.age, Some(0.5)); // `006M`
    assert_eq!(r.extras["follow_up"], "000");
    assert_eq!(rec(&s, "00000003_001.png").age, Some(75.0)); // `075Y`
    assert_eq!(rec(&s, "00000006_000.png").extras["age_raw"], "414Y");
}

#[test]
fn broken_tables_are_named_errors() {
    match scan_table("bad/semicolon.csv") {
        Err(ScanError::Table {
            path,
            line,
            problem,
        }) => {
            assert_eq!(path, root().join("bad/semicolon.csv"));
            assert_eq!(line, Some(1));
            assert!(problem.starts_with("wrong delimiter"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
    match scan_table("bad/no-view.csv") {
        Err(ScanError::Table { line, problem, .. }) => {
            assert_eq!(line, Some(1));
            assert!(
                problem.starts_with("missing column `view_position`"),
                "{problem}"
            );
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let e = Chestxray8Source::default().scan(dir.path()).unwrap_err();
    assert!(matches!(e, ScanError::MissingLayout { .. }), "{e:?}");
}
