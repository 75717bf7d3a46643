//! Unit tests of the error analysis: the numbers against hand computation, from the
//! cohorts of `crate::fixtures::error_analysis`.

use super::*;
use crate::fixtures::error_analysis::{complete, pred, rec, with_missing, with_user_source};

/// A table's rows as (category, units, errors).
fn counts(t: &CategoryTest) -> Vec<(&str, usize, usize)> {
    t.rows
        .iter()
        .map(|r| (r.category.as_str(), r.units, r.errors))
        .collect()
}

/// A source of the user's own is a row of the per-source table, after the adapters'.
#[test]
fn a_user_source_gets_its_row_after_the_adapters() {
    let (records, preds) = with_user_source();
    let a = error_analysis(&records, &preds, 1).unwrap();
    let src = counts(&a.by_source);
    assert_eq!(
        src,
        [
            ("covid-idc", 3, 0),
            ("padchest", 7, 3),
            ("my-hospital", 2, 1)
        ]
    );
    assert_eq!(a.by_source.chi2.as_ref().unwrap().df, 2);
    // Its markdown row: `cxr_report::analysis::error_analysis`'s tests.
}

#[test]
fn an_image_predicted_twice_is_refused() {
    // It would count twice in its patient's mean and in every table.
    let (records, mut preds) = complete();
    preds.push(preds[4].clone());
    let e = error_analysis(&records, &preds, 1).unwrap_err();
    assert!(e.to_string().contains("predicted twice"), "{e}");
}

#[test]
fn counts_and_tests_match_hand_computation() {
    let (records, preds) = complete();
    let a = error_analysis(&records, &preds, 1).unwrap();
    assert_eq!((a.units, a.patients, a.errors), (10, 10, 3));
    assert_eq!(a.unmatched_predictions, 0);
    assert!((a.error_rate - 0.3).abs() < 1e-12);
    // Errors: mean age 70, SD 10; correct: mean 260/7, SD² = Σ(x − x̄)²/6.
    assert_eq!(a.misclassified.age_mean, Some(70.0));
    assert!((a.misclassified.age_sd.unwrap() - 10.0).abs() < 1e-12);
    let mc = 260.0 / 7.0;
    assert!((a.correct.age_mean.unwrap() - mc).abs() < 1e-12);
    let student = a.age.student.as_ref().unwrap();
    // Pooled variance: (2·100 + Σ(x − x̄)²) / 8, SE = sp·√(1/3 + 1/7).
    let ss: f64 = [20.0, 30.0, 40.0, 50.0, 30.0, 40.0, 50.0]
        .iter()
        .map(|x: &f64| (x - mc).powi(2))
        .sum();
    let se = ((200.0 + ss) / 8.0 * (1.0 / 3.0 + 1.0 / 7.0)).sqrt();
    assert!((student.statistic - (70.0 - mc) / se).abs() < 1e-10);
    assert_eq!(student.df, 8.0);
    assert!(student.p_value < 0.01);
    assert!(a.age.welch.is_some());
    // Sex: errors 1 male / 2 female, correct 5 male / 2 female.
    assert_eq!(a.sex.table, [[1, 2], [5, 2]]);
    let fisher = fisher_exact([[1, 2], [5, 2]]).unwrap();
    assert_eq!(a.sex.fisher.as_ref().unwrap().p_value, fisher.p_value);
    // Hypergeometric by hand: margins 3 / 7, 6 males; P(a) = C(6,a)C(4,3−a)/C(10,3)
    // = 4, 36, 60, 20 (/120) for a = 0..3; the observed a = 1 has 36, so the
    // two-sided p sums 4 + 36 + 20 = 60 → 0.5.
    assert!((fisher.p_value - 0.5).abs() < 1e-12);
    assert!(a.sex.chi2_yates.as_ref().unwrap().yates);
    // Source: padchest 3/7 errors, covid-idc 0/3.
    let src = &a.by_source.rows;
    assert_eq!(src.len(), 2);
    assert_eq!(
        (src[0].category.as_str(), src[0].units, src[0].errors),
        ("covid-idc", 3, 0)
    );
    assert_eq!(
        (src[1].category.as_str(), src[1].units, src[1].errors),
        ("padchest", 7, 3)
    );
    assert_eq!(src[0].ci95.unwrap()[0], 0.0);
    // X² of [[0, 3], [3, 4]] without correction: expected [[0.9, 2.1], [2.1, 4.9]],
    // X² = 0.81/0.9 + 0.81/2.1 + 0.81/2.1 + 0.81/4.9 = 1.8367…
    let chi2 = a.by_source.chi2.as_ref().unwrap();
    let x2 = 0.81 / 0.9 + 2.0 * 0.81 / 2.1 + 0.81 / 4.9;
    assert!((chi2.statistic - x2).abs() < 1e-12);
    assert_eq!(chi2.df, 1);
    // Class: healthy 2/4, covid 0/3, bacterial 1/3.
    let cls = counts(&a.by_class);
    assert_eq!(
        cls,
        [("healthy", 4, 2), ("covid", 3, 0), ("bacterial", 3, 1)]
    );
    // Age bands: 18-39: 20, 30, 30 → 0/3; 40-59: 40, 50, 40, 50 → 0/4;
    // 60-79: 60, 70 → 2/2; 80+: 80 → 1/1.
    let bands = counts(&a.by_age_band);
    assert_eq!(
        bands,
        [
            ("18-39", 3, 0),
            ("40-59", 4, 0),
            ("60-79", 2, 2),
            ("80+", 1, 1)
        ]
    );
    // Nothing missing: no MCAR test, no imputation.
    assert_eq!(a.missing.units_incomplete, 0);
    assert!(a.missing.little_mcar.is_none() && a.missing.age_student_imputed.is_none());
}

#[test]
fn patient_days_average_images_and_unmatched_predictions_are_counted() {
    let r1 = rec(SourceId::Padchest, "p", "a", Label::Covid, Some(50.0), None);
    let r2 = rec(
        SourceId::Padchest,
        "p",
        "b",
        Label::Covid,
        None,
        Some(Sex::Female),
    );
    let r3 = rec(
        SourceId::Padchest,
        "q",
        "c",
        Label::Healthy,
        Some(30.0),
        None,
    );
    let mut p1 = pred(&r1, 1, true);
    p1.probs = [0.1, 0.3, 0.6]; // wrong alone …
    let mut p2 = pred(&r2, 1, true);
    p2.probs = [0.1, 0.8, 0.1]; // … but the day's mean [0.1, 0.55, 0.35] is right.
    let r4 = rec(SourceId::Padchest, "p", "d", Label::Covid, None, None);
    let p3 = pred(&r4, 2, false); // the next day: wrong.
    let p4 = pred(&r3, 1, true);
    let mut orphan = pred(&r3, 1, false);
    orphan.image_id = "not-in-records".into();
    let a = error_analysis(&[r1, r2, r3, r4], &[p1, p2, p3, p4, orphan], 7).unwrap();
    assert_eq!(a.predictions, 5);
    assert_eq!(a.unmatched_predictions, 1);
    assert_eq!(a.unmatched_examples, ["padchest:q/not-in-records"]);
    assert_eq!((a.units, a.patients, a.errors), (3, 2, 1));
    // Patient p: age from record a, sex from record b (first with a value).
    assert_eq!(a.misclassified.age_mean, None);
    assert_eq!(a.misclassified.age_known, 1);
    assert_eq!((a.misclassified.sex_known, a.misclassified.male), (1, 0));
    assert_eq!(a.missing.sex_missing, 1); // patient q
    // Two units per group at most: t-tests are undefined, not errors.
    assert!(a.age.student.is_none() && a.age.welch.is_none());
    assert!(a.by_source.chi2.is_none()); // one source
    assert!(a.sex.fisher.is_none()); // no male at all: empty margin
}

#[test]
fn no_matching_prediction_is_an_error() {
    let r = rec(SourceId::Padchest, "p", "a", Label::Covid, None, None);
    let mut p = pred(&r, 1, true);
    p.patient_id = "p".into(); // not namespaced by the source
    let e = error_analysis(&[r], &[p], 1).unwrap_err();
    assert!(matches!(e, Error::Step { .. }), "{e}");
}

#[test]
fn missing_demographics_run_little_and_imputation() {
    let (records, preds) = with_missing();
    let a = error_analysis(&records, &preds, 3).unwrap();
    assert_eq!((a.units, a.errors), (40, 10));
    // Ages missing for i ≡ 1 (mod 5): 8 units; sexes for i ≡ 2 (mod 6): 7 units
    // (2, 8, …, 38); both for i ∈ {26}: i ≡ 1 (mod 5) and ≡ 2 (mod 6) → 26 only.
    assert_eq!(a.missing.age_missing, 8);
    assert_eq!(a.missing.sex_missing, 7);
    assert_eq!(a.missing.units_incomplete, 8 + 7 - 1);
    let little = a.missing.little_mcar.as_ref().unwrap();
    assert!(little.p_value > 0.0 && little.p_value <= 1.0);
    let pooled = a.missing.age_student_imputed.as_ref().unwrap();
    assert_eq!(pooled.m, IMPUTATIONS);
    // Errors are ~25 years older: the pooled difference is near the complete-case one.
    let cc = a.age.student.as_ref().unwrap().mean_difference;
    assert!(
        (pooled.estimate - cc).abs() < 3.0,
        "{} vs {cc}",
        pooled.estimate
    );
    assert!(pooled.p_value < 1e-6);
    // Same seed, same numbers.
    let b = error_analysis(&records, &preds, 3).unwrap();
    assert_eq!(a, b);
}
