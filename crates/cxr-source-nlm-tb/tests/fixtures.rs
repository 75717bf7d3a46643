//! The adapter on `fixtures/sources/nlm-tb/`: both sets, every irregular reading form,
//! masks, stray files, exact counts.

use std::path::{Path, PathBuf};

use cxr_core::{ImageRecord, Label, Scan, ScanError, Sex, Source, View};
use cxr_source_nlm_tb::{NlmTbOptions, NlmTbSource, Subset};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources/nlm-tb")
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn rec<'a>(s: &'a Scan, id: &str) -> &'a ImageRecord {
    s.records
        .iter()
        .find(|r| r.image_id == id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

#[test]
fn both_sets_exact_counts() {
    let s = NlmTbSource::default().scan(&root()).unwrap();
    let seen = files_in(&root().join("MontgomerySet/CXR_png"))
        + files_in(&root().join("ChinaSet_AllFiles/CXR_png"));
    assert_eq!(s.items(), seen);
    assert_eq!((s.records.len(), s.exclusions.len()), (13, 3));
    let healthy = s
        .records
        .iter()
        .filter(|r| r.label == Label::Healthy)
        .count();
    assert_eq!((healthy, s.records.len() - healthy), (8, 5));
    assert!(s.records.iter().all(|r| r.view == View::Pa));

    let excl: Vec<(String, String)> = s
        .exclusions
        .iter()
        .map(|e| {
            let p = e.path.as_ref().unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, e.reason.to_string())
        })
        .collect();
    assert_eq!(
        excl,
        [
            (
                "Thumbs.db".to_owned(),
                "malformed row: not a PNG image: `Thumbs.db`".to_owned()
            ),
            (
                "CHNCXR_0330.png".to_owned(),
                "unknown label: finding `file name `CHNCXR_0330.png` has no _0/_1 suffix`"
                    .to_owned()
            ),
            (
                "Thumbs.db".to_owned(),
                "malformed row: not a PNG image: `Thumbs.db`".to_owned()
            ),
        ]
    );
}

#[test]
fn montgomery_readings_masks_and_same_patient() {
    let s = NlmTbSource::default().scan(&root()).unwrap();
    let r = rec(&s, "MCUCXR_0001_0");
    assert_eq!(r.patient.to_string(), "nlm-tb:MCUCXR_0001");
    assert_eq!(
        (r.label, r.label_reason.as_str()),
        (Label::Healthy, "file suffix _0 (normal)")
    );
    assert_eq!((r.sex, r.age), (Some(Sex::Female), Some(27.0)));
    assert_eq!(r.extras["finding"], "normal");
    assert_eq!(r.extras["subset"], "montgomery");
    let m = root().join("MontgomerySet/ManualMask");
    assert_eq!(
        r.extras["left_mask"],
        m.join("leftMask/MCUCXR_0001_0.png").to_string_lossy()
    );
    assert_eq!(
        r.extras["right_mask"],
        m.join("rightMask/MCUCXR_0001_0.png").to_string_lossy()
    );
    assert!(Path::new(&r.extras["left_mask"]).is_file());

    // `NO REPORT (same pt as MCUCXR_0104_1)`: one patient, two images.
    let r = rec(&s, "MCUCXR_0002_0");
    assert_eq!(r.patient.local, "MCUCXR_0104");
    assert_eq!(r.extras["same_patient_as"], "MCUCXR_0104_1");
    assert_eq!((r.sex, r.age), (Some(Sex::Other), Some(35.0)));
    assert!(!r.extras.contains_key("left_mask"));
    let r = rec(&s, "MCUCXR_0104_1");
    assert_eq!(r.patient.local, "MCUCXR_0104");
    assert_eq!(
        (r.label, r.label_reason.as_str()),
        (Label::Bacterial, "file suffix _1 (tuberculosis)")
    );
    assert_eq!((r.sex, r.age), (Some(Sex::Male), Some(56.0)));
    assert_eq!(r.extras["finding"], "cavitary TB right upper lobe");

    // No reading: a record without age or sex; only the left mask exists.
    let r = rec(&s, "MCUCXR_0105_1");
    assert_eq!((r.sex, r.age), (None, None));
    assert!(!r.extras.contains_key("reading"));
    assert!(r.extras.contains_key("left_mask") && !r.extras.contains_key("right_mask"));

    let no_masks = NlmTbSource::new(NlmTbOptions {
        masks: false,
        ..NlmTbOptions::default()
    })
    .scan(&root())
    .unwrap();
    assert!(
        no_masks
            .records
            .iter()
            .all(|r| !r.extras.contains_key("left_mask"))
    );
}

#[test]
fn shenzhen_irregular_first_lines() {
    let s = NlmTbSource::default().scan(&root()).unwrap();
    let want: [(&str, Option<Sex>, Option<f32>, &str); 9] = [
        ("CHNCXR_0001_0", Some(Sex::Male), Some(45.0), "normal"),
        ("CHNCXR_0002_0", Some(Sex::Female), Some(32.0), "normal"),
        ("CHNCXR_0003_0", Some(Sex::Female), Some(24.0), "normal"),
        ("CHNCXR_0004_0", Some(Sex::Male), Some(29.0), "normal"),
        (
            "CHNCXR_0005_0",
            Some(Sex::Male),
            Some(16.0 / 12.0),
            "normal",
        ),
        (
            "CHNCXR_0006_0",
            Some(Sex::Female),
            Some(64.0 / 365.25),
            "normal",
        ),
        ("CHNCXR_0327_1", Some(Sex::Male), Some(42.0), "PTB"),
        (
            "CHNCXR_0328_1",
            Some(Sex::Male),
            Some(61.0),
            "bilateral secondary PTB",
        ),
        ("CHNCXR_0329_1", None, None, ""),
    ];
    for (id, sex, age, finding) in want {
        let r = rec(&s, id);
        assert_eq!((r.sex, r.age), (sex, age), "{id}");
        assert_eq!(
            r.extras.get("finding").map_or("", String::as_str),
            finding,
            "{id}"
        );
        assert_eq!(r.extras["subset"], "shenzhen");
        assert!(!r.extras.contains_key("reading_unparsed"), "{id}");
        assert_eq!(r.patient.local, &id[..11]);
    }
}

#[test]
fn one_set_alone_and_a_set_folder_as_root() {
    let only = NlmTbSource::new(NlmTbOptions {
        subsets: vec![Subset::Shenzhen],
        ..NlmTbOptions::default()
    })
    .scan(&root())
    .unwrap();
    assert_eq!((only.records.len(), only.exclusions.len()), (9, 2));

    let s = NlmTbSource::default()
        .scan(&root().join("MontgomerySet"))
        .unwrap();
    assert_eq!((s.records.len(), s.exclusions.len()), (4, 1));
    assert!(
        s.records
            .iter()
            .all(|r| r.patient.local.starts_with("MCUCXR_"))
    );
}

#[test]
fn a_root_without_either_set_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = NlmTbSource::default().scan(dir.path()).unwrap_err();
    match e {
        ScanError::MissingLayout { path, what, .. } => {
            assert_eq!(path, dir.path());
            assert!(what.contains("CXR_png"));
        }
        other => panic!("{other:?}"),
    }
    // A set with an empty CXR_png folder scans to nothing, and says so by its counts.
    std::fs::create_dir_all(dir.path().join("MontgomerySet/CXR_png")).unwrap();
    let s = NlmTbSource::default().scan(dir.path()).unwrap();
    assert_eq!(s.items(), 0);
}
