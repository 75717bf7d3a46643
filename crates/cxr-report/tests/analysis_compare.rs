//! The paired comparison of two models rendered: its markdown, and from predictions
//! files to `compare.json`, `compare.md` and `compare.png`. (Its numbers: `cxr-analysis`'s
//! `tests/compare.rs`; the example: `cxr_analysis::fixtures::compare`.)

use std::fmt::Write as _;

use cxr_analysis::compare::{CompareOptions, compare};
use cxr_analysis::fixtures::compare::{models, one_bacterial, with_unpaired_images};
use cxr_eval::aggregate::ImagePrediction;
use cxr_report::analysis::compare;

mod common;
use common::assert_json_close;

#[test]
fn images_only_one_model_scored_are_named_in_the_markdown() {
    let (a, b) = with_unpaired_images();
    let c = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap();
    assert!(compare::markdown(&c).contains("1 image(s) only `A` scored and 2 only `B` scored"));
}

#[test]
fn a_class_with_too_few_units_says_so_in_the_markdown() {
    // One bacterial patient left: one positive is too few for DeLong.
    let (a, b) = one_bacterial();
    let c = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap();
    assert!(compare::markdown(&c).contains("| Bacterial pneumonia | too few units |"));
}

fn csv(preds: &[ImagePrediction]) -> String {
    let mut s =
        String::from("patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n");
    for p in preds {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            p.patient_id,
            p.study_date.map(|d| d.to_string()).unwrap_or_default(),
            p.image_id,
            p.label,
            p.probs[0],
            p.probs[1],
            p.probs[2]
        );
    }
    s
}

#[test]
fn from_files_to_files() {
    let (a, b) = models();
    let dir = tempfile::tempdir().unwrap();
    let (fa, fb) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&fa, csv(&a)).unwrap();
    std::fs::write(&fb, csv(&b)).unwrap();
    let ra = cxr_eval::read_predictions(&fa).unwrap();
    let rb = cxr_eval::read_predictions(&fb).unwrap();
    let c = compare(&ra, &rb, ["A", "B"], &CompareOptions::default()).unwrap();
    let out = dir.path().join("out");
    let paths = compare::write(&out, &c).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, compare::FILES);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
    assert_json_close(&json, &serde_json::to_value(&c).unwrap(), "compare");
    assert_eq!(json["mcnemar"]["b"], 3);
    assert_eq!(json["accuracy"][1]["correct"], 4);
    let md = std::fs::read_to_string(&paths[1]).unwrap();
    assert_eq!(md, compare::markdown(&c));
    assert!(md.contains("| `A` | 6/8 | 75.0% ("), "{md}");
    assert!(md.contains("only `A` right: 3; only `B` right: 1"), "{md}");
    assert!(md.contains("McNemar's test: exact p = 0.625"), "{md}");
    assert!(
        md.contains("| Covid-19 | 3 / 5 | 0.8667 (") && md.contains("| +0.1667 ("),
        "{md}"
    );
    let png = image::open(&paths[2]).unwrap();
    assert_eq!((png.width(), png.height()), (900, 800));
}
