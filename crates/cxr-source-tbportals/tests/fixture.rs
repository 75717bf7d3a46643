//! The TB Portals adapter over `fixtures/sources/tbportals` (written by
//! `scripts/fixtures/make_source_fixtures.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::{ExclusionReason, Label, ScanError, Sex, Source, View};
use cxr_source_tbportals::{TbPortalsOptions, TbPortalsSource};

fn fixture(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sources/tbportals")
        .join(sub)
}

const P: &str = "0a1b2c3d-000";

#[test]
fn cxr_table_and_dicom_tree() {
    let scan = TbPortalsSource::default().scan(&fixture("niaid")).unwrap();
    // 11 CXR rows + 1 truncated row.
    assert_eq!(scan.items(), 12);
    assert_eq!(scan.records.len(), 4);
    let by_line: BTreeMap<u64, &ExclusionReason> = scan
        .exclusions
        .iter()
        .map(|e| (e.row.unwrap(), &e.reason))
        .collect();
    assert_eq!(by_line.len(), 8);
    assert_eq!(
        by_line[&4],
        &ExclusionReason::NotXray {
            modality: "XC".into()
        }
    );
    assert_eq!(
        by_line[&5],
        &ExclusionReason::NotFrontal { view: "LL".into() }
    );
    assert_eq!(
        by_line[&6],
        &ExclusionReason::FlaggedBySource {
            reason: "cxr_outlier".into()
        }
    );
    assert_eq!(by_line[&7], &ExclusionReason::MissingFile);
    assert!(
        matches!(by_line[&9], ExclusionReason::MalformedRow { detail } if detail.contains("6 fields"))
    );
    assert!(
        matches!(by_line[&11], ExclusionReason::MalformedRow { detail } if detail.contains("not a DICOM file"))
    );
    assert_eq!(
        by_line[&12],
        &ExclusionReason::UnparseableDate {
            value: "abc".into()
        }
    );
    // A frontal DX, but raw detector data.
    assert_eq!(
        by_line[&13],
        &ExclusionReason::NotForPresentation {
            intent: "FOR PROCESSING".into()
        }
    );
    let r = &scan.records;
    assert_eq!(
        r.iter()
            .map(|r| r.patient.local[..P.len() + 1].to_owned())
            .collect::<Vec<_>>(),
        [
            format!("{P}1"),
            format!("{P}1"),
            format!("{P}4"),
            format!("{P}6")
        ]
    );
    assert!(r.iter().all(|r| r.label == Label::Bacterial));
    assert!(r.iter().all(|r| r.view == View::Pa));
    assert_eq!(
        r[0].label_reason,
        "TB Portals case (type_of_resistance=MDR non XDR)"
    );
    assert_eq!(
        r[0].patient.to_string(),
        format!("tbportals:{P}1-4e5f-8a9b-000000000001")
    );
    assert_eq!(r[0].image_id, "1.2.826.0.1.3680043.8.498.77.3.101");
    assert_eq!(
        r.iter().map(|r| r.day_offset).collect::<Vec<_>>(),
        [Some(120), Some(-7307), Some(120), Some(120)]
    );
    assert_eq!(
        r.iter().map(|r| r.age).collect::<Vec<_>>(),
        [Some(45.0), Some(45.0), Some(29.0), Some(36.0)]
    );
    assert_eq!(
        r.iter().map(|r| r.sex).collect::<Vec<_>>(),
        [
            Some(Sex::Male),
            Some(Sex::Male),
            Some(Sex::Female),
            Some(Sex::Female)
        ]
    );
    assert!(!r[0].extras.contains_key("view_assumed"));
    assert_eq!(r[1].extras["view_assumed"], "true");
    assert!(r[2].path.extension().unwrap() == "png");
    assert_eq!(r[2].extras["view_assumed"], "true");
    assert_eq!(r[0].extras["outcome"], "Cured");
    assert!(r.iter().all(|r| r.study_date.is_none() && r.path.is_file()));
}

#[test]
fn unknown_views_can_be_excluded() {
    let source = TbPortalsSource::new(TbPortalsOptions {
        keep_unknown_view: false,
        ..Default::default()
    });
    let scan = source.scan(&fixture("niaid")).unwrap();
    assert_eq!(scan.items(), 12);
    assert_eq!(scan.records.len(), 2);
    assert_eq!(
        scan.exclusions
            .iter()
            .filter(|e| e.reason
                == ExclusionReason::NotFrontal {
                    view: "unknown".into()
                })
            .count(),
        2
    );
}

#[test]
fn neutral_manifest() {
    let scan = TbPortalsSource::default()
        .scan(&fixture("manifest"))
        .unwrap();
    assert_eq!(scan.items(), 9);
    assert_eq!(scan.records.len(), 2);
    assert_eq!(scan.records[1].label, Label::Bacterial);
    assert_eq!(scan.records[0].patient.to_string(), "tbportals:1001");
    let src = scan.exclusions.iter().find(|e| e.row == Some(9)).unwrap();
    assert_eq!(
        src.reason,
        ExclusionReason::MalformedRow {
            detail: "source `nlm-tb` is not `tbportals`".into()
        }
    );
}

#[test]
fn malformed_tables_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = TbPortalsSource::default().scan(dir.path()).unwrap_err();
    assert!(matches!(e, ScanError::MissingLayout { .. }), "{e}");
    let table = dir.path().join("TB_Portals_CXRs_August_2023.csv");
    std::fs::write(&table, "patient_id;series_instance_content_url\na;b\n").unwrap();
    let e = TbPortalsSource::default().scan(dir.path()).unwrap_err();
    assert!(e.to_string().contains("wrong delimiter"), "{e}");
    std::fs::write(&table, "patient_id,imaging_date\na,1\n").unwrap();
    let e = TbPortalsSource::default().scan(dir.path()).unwrap_err();
    assert!(
        e.to_string()
            .contains("missing column `series_instance_content_url`"),
        "{e}"
    );
    std::fs::write(
        &table,
        b"patient_id,series_instance_content_url\na,b\n\"c\xff\",d\n",
    )
    .unwrap();
    let e = TbPortalsSource::default().scan(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("line 3") && e.to_string().contains("column 3"),
        "{e}"
    );
    // An unterminated quote swallows the rest of the file: a short row, not a panic.
    std::fs::write(
        &table,
        "patient_id,series_instance_content_url,gender\n\"a,b\nc,d,e\n",
    )
    .unwrap();
    let scan = TbPortalsSource::default().scan(dir.path()).unwrap();
    assert_eq!(scan.items(), 1);
    assert_eq!(scan.exclusions[0].reason.kind(), "malformed_row");
}

/// The images are found whatever folders the archive was unpacked into, up to three
/// levels below the root: copies whose entries start with `GlobalBucket/`, and later
/// releases' folders of part archives. The archive is linked in (symbolic link), as
/// data kept on another disk often is.
#[cfg(unix)]
#[test]
fn archives_unpacked_under_other_folder_names() {
    let plain = TbPortalsSource::default().scan(&fixture("niaid")).unwrap();
    let ids = |s: &cxr_core::Scan| {
        s.records
            .iter()
            .map(|r| (r.image_id.clone(), r.label, r.view))
            .collect::<Vec<_>>()
    };
    for layout in [
        "TB_Portals_Published_CXRs_August_2023_Amended/GlobalBucket",
        "TB_Portals_CXRs_March_2025/part_07",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for table in [
            "TB_Portals_CXRs_August_2023.csv",
            "TB_Portals_Patient_Cases_January_2022.csv",
        ] {
            std::fs::copy(fixture("niaid").join(table), root.join(table)).unwrap();
        }
        let to = root.join(layout);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(
            fixture("niaid/TB_Portals_Published_CXRs_August_2023_Amended"),
            &to,
        )
        .unwrap();

        let scan = TbPortalsSource::default().scan(root).unwrap();
        assert_eq!(scan.records.len(), 4, "{layout}");
        assert_eq!(ids(&scan), ids(&plain), "{layout}");
        assert!(
            scan.records.iter().all(|r| r.path.starts_with(&to)),
            "{layout}"
        );
    }
}
