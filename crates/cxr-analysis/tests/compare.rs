//! The paired comparison of two models on a hand-computed example, and its refusals.
//! Its markdown and files (end to end from predictions files): `cxr-report`'s
//! `tests/analysis_compare.rs`.

use cxr_analysis::Error;
use cxr_analysis::compare::{CompareOptions, compare};
use cxr_core::{Label, StudyDate};

// `cxr_analysis::fixtures::compare`, compiled in (see `cxr_analysis::fixtures`).
#[path = "../src/fixtures/compare.rs"]
mod fixtures;
use fixtures::{models, one_bacterial, with_unpaired_images};

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

#[test]
fn hand_computed_example() {
    let (a, b) = models();
    let c = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap();
    assert_eq!((c.images, c.units, c.patients), (8, 8, 8));
    assert_eq!((c.only_first, c.only_second), (0, 0));
    assert_eq!((c.accuracy[0].correct, c.accuracy[1].correct), (6, 4));
    assert_eq!((c.both_right, c.both_wrong), (3, 1));
    assert_eq!((c.mcnemar.b, c.mcnemar.c), (3, 1));
    // Exact: 2 · P(X ≤ 1 | n = 4, ½) = 2 · 5/16; χ² = (|3 − 1| − 1)² / 4 (scipy: sf 0.617075…).
    close(c.mcnemar.exact_p_value, 0.625, "McNemar exact p");
    close(c.mcnemar.chi2.unwrap(), 0.25, "McNemar chi2");
    close(
        c.mcnemar.chi2_p_value.unwrap(),
        0.617_075_077_451_973_9,
        "McNemar chi2 p",
    );
    // Kappa: A against the truth, observed 6/8, expected 23/64; A against B, 4/8 and 21/64.
    let ka = c.accuracy[0].kappa.as_ref().unwrap();
    close(
        ka.kappa,
        (0.75 - 23.0 / 64.0) / (1.0 - 23.0 / 64.0),
        "kappa A",
    );
    let kab = c.agreement.as_ref().unwrap();
    close(kab.observed, 0.5, "agreement observed");
    close(
        kab.kappa,
        (0.5 - 21.0 / 64.0) / (1.0 - 21.0 / 64.0),
        "kappa A-B",
    );
    // Covid one-vs-rest: 13 of 15 pairs ranked right by A; 10 and a tie by B.
    let covid = c.per_class.covid.as_ref().unwrap();
    assert_eq!((covid.positives, covid.negatives), (3, 5));
    close(covid.auc[0], 13.0 / 15.0, "covid AUC A");
    close(covid.auc[1], 10.5 / 15.0, "covid AUC B");
    close(
        covid.delong.auc1 - covid.delong.auc2,
        2.5 / 15.0,
        "difference",
    );
    assert!(covid.delong.ci_diff[0] < 2.5 / 15.0 && 2.5 / 15.0 < covid.delong.ci_diff[1]);
    assert_eq!(c.class_counts.bacterial, 2);
    assert!(c.per_class.bacterial.is_some() && c.per_class.healthy.is_some());

    // Swapping the models mirrors every paired number.
    let r = compare(&b, &a, ["B", "A"], &CompareOptions::default()).unwrap();
    assert_eq!((r.mcnemar.b, r.mcnemar.c), (1, 3));
    close(r.mcnemar.exact_p_value, 0.625, "swapped p");
    let rc = r.per_class.covid.as_ref().unwrap();
    close(rc.delong.z, -covid.delong.z, "swapped z");
    close(rc.delong.p_value, covid.delong.p_value, "swapped DeLong p");
}

#[test]
fn a_model_against_itself_differs_in_nothing() {
    let (a, _) = models();
    let c = compare(&a, &a, ["A", "A again"], &CompareOptions::default()).unwrap();
    assert_eq!((c.mcnemar.b, c.mcnemar.c), (0, 0));
    close(c.mcnemar.exact_p_value, 1.0, "p");
    assert_eq!(c.mcnemar.chi2, None);
    close(c.agreement.as_ref().unwrap().kappa, 1.0, "kappa");
    for &label in Label::ALL {
        let x = c.per_class.get(label).as_ref().unwrap();
        assert_eq!(x.delong.z, 0.0);
        close(x.delong.p_value, 1.0, "DeLong p");
    }
}

#[test]
fn images_only_one_model_scored_are_left_out_before_averaging() {
    // A second image of p1 on the same day, scored by A only: averaged in, it would
    // turn p1's unit bacterial and A's count to 5.
    let (a, b) = with_unpaired_images();
    let c = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap();
    assert_eq!((c.only_first, c.only_second), (1, 2));
    assert_eq!((c.images, c.units), (8, 8));
    assert_eq!((c.accuracy[0].correct, c.accuracy[1].correct), (6, 4));
}

#[test]
fn different_test_sets_and_bad_inputs_are_refused() {
    let (a, mut b) = models();
    b[4].label = Label::Healthy;
    let e = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Step { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("p5/p5-1") && msg.contains("not the same test set"),
        "{msg}"
    );

    let (a, mut b) = models();
    b[0].study_date = StudyDate::from_ymd(2020, 3, 16);
    let msg = compare(&a, &b, ["A", "B"], &CompareOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("2020-03-16") && msg.contains("p1/p1-1"),
        "{msg}"
    );

    let (mut a, b) = models();
    a.push(a[2].clone());
    let msg = compare(&a, &b, ["A", "B"], &CompareOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("A: image p3/p3-1 is listed twice"), "{msg}");

    let (a, mut b) = models();
    for p in &mut b {
        p.image_id.push('x');
    }
    let msg = compare(&a, &b, ["A", "B"], &CompareOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no image is in both inputs (8 in A, 8 in B"),
        "{msg}"
    );

    let (a, b) = models();
    for level in [0.0, 1.0, f64::NAN] {
        let o = CompareOptions {
            level,
            ..CompareOptions::default()
        };
        assert!(matches!(
            compare(&a, &b, ["A", "B"], &o),
            Err(Error::Config { .. })
        ));
    }
}

#[test]
fn a_class_with_too_few_units_has_no_test() {
    // One bacterial patient left: one positive is too few for DeLong.
    let (a, b) = one_bacterial();
    let c = compare(&a, &b, ["A", "B"], &CompareOptions::default()).unwrap();
    assert!(c.per_class.bacterial.is_none());
    assert!(c.per_class.covid.is_some());
}
