//! The paired comparison of two models on a hand-computed example, and its refusals.
//! Its markdown and files (end to end from predictions files): `cxr-report`'s
//! `tests/analysis_compare.rs`.

use cxr_analysis::Error;
use cxr_analysis::compare::{CompareOptions, compare};
use cxr_core::{Label, StudyDate};
use cxr_eval::aggregate::ImagePrediction;

fn image(patient: &str, image: &str, label: Label, p: [f64; 3]) -> ImagePrediction {
    ImagePrediction {
        patient_id: patient.into(),
        study_date: StudyDate::from_ymd(2020, 3, 15),
        image_id: image.into(),
        label,
        probs: p,
    }
}

/// Eight patients, one image each. Model A gets 6 right, B 4; both right on p1, p4, p7,
/// both wrong on p3, only A right on p2, p5, p6, only B on p8.
fn models() -> (Vec<ImagePrediction>, Vec<ImagePrediction>) {
    use Label::{Bacterial as B, Covid as C, Healthy as H};
    let rows = [
        ("p1", H, [0.7, 0.2, 0.1], [0.6, 0.3, 0.1]),
        ("p2", H, [0.5, 0.4, 0.1], [0.3, 0.6, 0.1]),
        ("p3", H, [0.2, 0.7, 0.1], [0.4, 0.5, 0.1]),
        ("p4", C, [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]),
        ("p5", C, [0.3, 0.6, 0.1], [0.5, 0.4, 0.1]),
        ("p6", C, [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]),
        ("p7", B, [0.1, 0.2, 0.7], [0.1, 0.1, 0.8]),
        ("p8", B, [0.5, 0.1, 0.4], [0.2, 0.2, 0.6]),
    ];
    let a = rows
        .iter()
        .map(|(p, l, pa, _)| image(p, &format!("{p}-1"), *l, *pa))
        .collect();
    let b = rows
        .iter()
        .map(|(p, l, _, pb)| image(p, &format!("{p}-1"), *l, *pb))
        .collect();
    (a, b)
}

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
    let (mut a, mut b) = models();
    // A second image of p1 on the same day, scored by A only: averaged in, it would
    // turn p1's unit bacterial ((0.7, 0.2, 0.1) + (0, 0, 1)) / 2 and A's count to 5.
    a.push(image("p1", "p1-2", Label::Healthy, [0.0, 0.0, 1.0]));
    b.push(image("p9", "p9-1", Label::Covid, [0.1, 0.8, 0.1]));
    b.push(image("p10", "p10-1", Label::Covid, [0.1, 0.8, 0.1]));
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
    let (a, b) = models();
    // Keep one bacterial patient: one positive is too few for DeLong.
    let keep = |v: Vec<ImagePrediction>| -> Vec<ImagePrediction> {
        v.into_iter().filter(|p| p.patient_id != "p8").collect()
    };
    let c = compare(&keep(a), &keep(b), ["A", "B"], &CompareOptions::default()).unwrap();
    assert!(c.per_class.bacterial.is_none());
    assert!(c.per_class.covid.is_some());
}
