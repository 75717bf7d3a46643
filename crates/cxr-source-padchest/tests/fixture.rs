//! The PadChest adapter over `fixtures/sources/padchest` (written by
//! `scripts/fixtures/make_source_fixtures.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::{ExclusionReason, Label, ScanError, Sex, Source, View};
use cxr_source_padchest::{LABELS_CSV, PadchestOptions, PadchestSource};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources/padchest")
}

fn counts(reasons: impl Iterator<Item = &'static str>) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in reasons {
        *m.entry(r).or_default() += 1;
    }
    m
}

#[test]
fn fixture_counts_reasons_and_values() {
    let scan = PadchestSource::default().scan(&fixture()).unwrap();
    // 18 data rows plus one truncated row.
    assert_eq!(scan.items(), 19);
    assert_eq!(scan.records.len(), 5);
    assert_eq!(scan.exclusions.len(), 14);
    assert_eq!(
        counts(scan.exclusions.iter().map(|e| e.reason.kind())),
        BTreeMap::from([
            ("malformed_row", 2),
            ("missing_file", 1),
            ("not_frontal", 4),
            ("pediatric", 1),
            ("unknown_label", 4),
            ("unparseable_date", 2),
        ])
    );
    let by_line: BTreeMap<u64, &ExclusionReason> = scan
        .exclusions
        .iter()
        .map(|e| (e.row.unwrap(), &e.reason))
        .collect();
    assert_eq!(
        by_line[&8],
        &ExclusionReason::NotFrontal { view: "L".into() }
    );
    assert_eq!(
        by_line[&9],
        &ExclusionReason::NotFrontal {
            view: "COSTAL".into()
        }
    );
    assert_eq!(
        by_line[&11],
        &ExclusionReason::NotFrontal { view: "UNK".into() }
    );
    assert_eq!(by_line[&13], &ExclusionReason::Pediatric);
    assert_eq!(by_line[&14], &ExclusionReason::MissingFile);
    assert_eq!(
        by_line[&15],
        &ExclusionReason::UnparseableDate {
            value: "2015061".into()
        }
    );
    assert!(
        matches!(by_line[&16], ExclusionReason::MalformedRow { detail } if detail.contains("line 16")),
        "{:?}",
        by_line[&16]
    );
    assert!(
        matches!(by_line[&17], ExclusionReason::MalformedRow { detail } if detail.starts_with("Labels"))
    );
    assert_eq!(
        by_line[&18],
        &ExclusionReason::UnknownLabel {
            finding: "['tuberculosis sequelae']".into()
        }
    );
    assert_eq!(
        by_line[&19],
        &ExclusionReason::UnparseableDate {
            value: "20140229".into()
        }
    );
    assert_eq!(
        by_line[&7],
        &ExclusionReason::UnknownLabel {
            finding: String::new()
        }
    );
    let missing = scan
        .exclusions
        .iter()
        .find(|e| e.reason == ExclusionReason::MissingFile)
        .unwrap();
    assert!(
        missing
            .path
            .as_ref()
            .unwrap()
            .ends_with("0/216840111366964012819207061112010307142600013_04-014-084.png")
    );
    assert!(
        scan.exclusions
            .iter()
            .all(|e| e.file.as_ref().unwrap().ends_with(LABELS_CSV))
    );

    let r = &scan.records;
    let ids: Vec<&str> = r.iter().map(|r| &r.image_id[40..45]).collect();
    assert_eq!(ids, ["00001", "00002", "00003", "00011", "00019"]);
    assert_eq!(
        r.iter().map(|r| r.label).collect::<Vec<_>>(),
        [
            Label::Healthy,
            Label::Healthy,
            Label::Bacterial,
            Label::Healthy,
            Label::Healthy
        ]
    );
    assert_eq!(r[0].label_reason, "Labels=['normal']");
    assert_eq!(r[2].label_reason, "Labels contains 'tuberculosis'");
    assert_eq!(
        r.iter().map(|r| r.view).collect::<Vec<_>>(),
        [View::Pa, View::Ap, View::Pa, View::ApSupine, View::Pa]
    );
    assert_eq!(
        r.iter().map(|r| r.age).collect::<Vec<_>>(),
        [Some(85.0), None, Some(54.0), Some(26.0), Some(65.0)]
    );
    assert_eq!(
        r.iter().map(|r| r.sex).collect::<Vec<_>>(),
        [
            Some(Sex::Male),
            Some(Sex::Female),
            Some(Sex::Male),
            Some(Sex::Male),
            None
        ]
    );
    assert_eq!(r[0].patient.to_string(), "padchest:12345678900001");
    assert_eq!(r[0].study_date.unwrap().to_string(), "2015-06-12");
    assert!(
        r[1].path
            .ends_with("54/216840111366964012819207061112010307142600002_04-014-084.png")
    );
    assert!(
        r[4].path
            .ends_with("images/216840111366964012819207061112010307142600019_04-014-084.png")
    );
    assert_eq!(r[1].extras["method_label"], "RNN_model");
    assert_eq!(r[0].extras["method_label"], "Physician");
    assert_eq!(r[3].extras["projection"], "AP_horizontal");
    assert!(r.iter().all(|r| r.path.is_file()));
}

#[test]
fn options_keep_pediatric_and_change_bacterial_labels() {
    let source = PadchestSource::new(PadchestOptions {
        keep_pediatric: true,
        bacterial_labels: vec!["Tuberculosis".into(), "tuberculosis sequelae".into()],
    });
    let scan = source.scan(&fixture()).unwrap();
    assert_eq!(scan.records.len(), 7);
    assert_eq!(scan.items(), 19);
    let ped = scan
        .records
        .iter()
        .find(|r| r.image_id.contains("00012_"))
        .unwrap();
    assert_eq!(ped.age, Some(5.0));
    assert_eq!(
        scan.records
            .iter()
            .filter(|r| r.label == Label::Bacterial)
            .count(),
        2
    );
}

fn copy_with_table(text: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LABELS_CSV), text).unwrap();
    dir
}

#[test]
fn malformed_tables_are_named_errors() {
    let original = std::fs::read(fixture().join(LABELS_CSV)).unwrap();
    // Wrong delimiter.
    let semi = String::from_utf8(original.clone())
        .unwrap()
        .replace(',', ";");
    let dir = copy_with_table(semi.as_bytes());
    let e = PadchestSource::default().scan(dir.path()).unwrap_err();
    assert!(
        matches!(e, ScanError::Table { line: Some(1), ref problem, .. } if problem.contains("wrong delimiter")),
        "{e}"
    );
    // Missing column.
    let renamed = String::from_utf8(original.clone())
        .unwrap()
        .replacen("Projection,", "Proj,", 1);
    let dir = copy_with_table(renamed.as_bytes());
    let e = PadchestSource::default().scan(dir.path()).unwrap_err();
    assert!(e.to_string().contains("missing column `projection`"), "{e}");
    // Bad encoding on line 3.
    let mut bad = original.clone();
    let pos = bad
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0;
    bad.insert(pos + 5, 0xE9);
    let dir = copy_with_table(&bad);
    let e = PadchestSource::default().scan(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(LABELS_CSV) && msg.contains("line 3") && msg.contains("column 5"),
        "{msg}"
    );
    // No table at all.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        PadchestSource::default().scan(empty.path()),
        Err(ScanError::MissingLayout { .. })
    ));
    // Header only: no rows, no panic.
    let dir = copy_with_table(&original[..original.iter().position(|b| *b == b'\n').unwrap()]);
    assert_eq!(
        PadchestSource::default().scan(dir.path()).unwrap().items(),
        0
    );
}

/// BIMCV serves the table gzipped: `….csv.gz` scans exactly like the unpacked table,
/// and a damaged one is an error naming it. (The image folders are linked in.)
#[cfg(unix)]
#[test]
fn the_gzipped_table_scans_like_the_plain_one() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            std::os::unix::fs::symlink(e.path(), root.join(e.file_name())).unwrap();
        }
    }
    let gz_path = root.join(format!("{LABELS_CSV}.gz"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture().join(LABELS_CSV)).unwrap())
        .unwrap();
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
    assert_eq!(PadchestSource::find_table(root).unwrap(), gz_path);

    let key = |s: &cxr_core::Scan| {
        (
            s.records
                .iter()
                .map(|r| (r.image_id.clone(), r.label, r.view, r.patient.to_string()))
                .collect::<Vec<_>>(),
            s.exclusions
                .iter()
                .map(|e| (e.row, e.reason.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let from_gz = PadchestSource::default().scan(root).unwrap();
    let from_plain = PadchestSource::default().scan(&fixture()).unwrap();
    assert_eq!(from_gz.records.len(), 5);
    assert_eq!(key(&from_gz), key(&from_plain));
    assert!(
        from_gz
            .exclusions
            .iter()
            .all(|e| e.file.as_deref().is_none_or(|f| f == gz_path))
    );

    std::fs::write(&gz_path, b"\x1f\x8b\x08\x00 not gzip at all").unwrap();
    match PadchestSource::default().scan(root) {
        Err(ScanError::Table { path, problem, .. }) => {
            assert_eq!(path, gz_path);
            assert!(problem.contains("gzip"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
}
