//! Tests of association against scipy (fixtures from `scripts/reference/stats_reference_b.py`).

use cxr_stats::Error;
use cxr_stats::hypothesis::{
    MAX_EXACT_TOTAL, TTestKind, chi2_contingency, compare_proportions, fisher_exact, t_test,
    t_test_from_summary,
};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("reference/b_hypothesis.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn vecf(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

/// Relative agreement to `rel`, or absolute agreement to `1e-300` (both zero).
fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    let tol = rel * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}"
    );
}

#[test]
fn t_tests_match_scipy() {
    let fx = fixture();
    let cases = fx["ttest"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for c in cases {
        let (a, b) = (vecf(&c["a"]), vecf(&c["b"]));
        let kind = if c["equal_var"].as_bool().unwrap() {
            TTestKind::Student
        } else {
            TTestKind::Welch
        };
        let r = t_test(&a, &b, kind, 0.95).unwrap();
        let w = format!("{kind:?} {a:?}");
        assert_close(r.statistic, f(&c["statistic"]), 1e-9, &w);
        assert_close(r.p_value, f(&c["pvalue"]), 1e-9, &w);
        assert_close(r.df, f(&c["df"]), 1e-9, &w);
        assert_close(r.ci.0, f(&c["ci95"][0]), 1e-9, &w);
        assert_close(r.ci.1, f(&c["ci95"][1]), 1e-9, &w);
        assert_close(r.mean_a, f(&c["mean_a"]), 1e-12, &w);
        assert_close(r.sd_b, f(&c["sd_b"]), 1e-12, &w);
        let r90 = t_test(&a, &b, kind, 0.90).unwrap();
        assert_close(r90.ci.0, f(&c["ci90"][0]), 1e-9, &w);
        assert_close(r90.ci.1, f(&c["ci90"][1]), 1e-9, &w);
    }
}

#[test]
fn t_tests_from_summary_match_scipy_and_the_paper() {
    let fx = fixture();
    for c in fx["ttest_summary"].as_array().unwrap() {
        let kind = if c["equal_var"].as_bool().unwrap() {
            TTestKind::Student
        } else {
            TTestKind::Welch
        };
        let r = t_test_from_summary(
            f(&c["mean_a"]),
            f(&c["sd_a"]),
            c["n_a"].as_u64().unwrap() as usize,
            f(&c["mean_b"]),
            f(&c["sd_b"]),
            c["n_b"].as_u64().unwrap() as usize,
            kind,
            0.95,
        )
        .unwrap();
        assert_close(r.statistic, f(&c["statistic"]), 1e-9, "statistic");
        assert_close(r.p_value, f(&c["pvalue"]), 1e-8, "pvalue");
    }
    // Supp Table 1: age 54.0 (16.2), n = 8134 vs 57.2 (17.5), n = 200 -> paper "0.01".
    let age =
        t_test_from_summary(54.0, 16.2, 8134, 57.2, 17.5, 200, TTestKind::Student, 0.95).unwrap();
    assert_eq!(format!("{:.2}", age.p_value), "0.01");
    // Table 2: age 65.0 (16.1), n = 3156 vs 51.8 (15.1), n = 13509 -> paper "0.00".
    let age = t_test_from_summary(
        65.0,
        16.1,
        3156,
        51.8,
        15.1,
        13509,
        TTestKind::Student,
        0.95,
    )
    .unwrap();
    assert!(age.p_value < 1e-100);
}

#[test]
fn zero_variance_is_a_typed_error() {
    let e = t_test(&[2.0, 2.0, 2.0], &[2.0, 2.0], TTestKind::Student, 0.95).unwrap_err();
    assert_eq!(e, Error::ZeroVariance { what: "t_test" });
    let e = t_test(&[1.0, 1.0], &[3.0, 3.0], TTestKind::Welch, 0.95).unwrap_err();
    assert!(matches!(e, Error::ZeroVariance { .. }));
    // One constant group is fine.
    assert!(t_test(&[1.0, 1.0], &[3.0, 4.0], TTestKind::Welch, 0.95).is_ok());
}

#[test]
fn t_test_rejects_bad_input() {
    assert!(matches!(
        t_test(&[1.0], &[1.0, 2.0], TTestKind::Student, 0.95),
        Err(Error::TooFew {
            needed: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        t_test(&[1.0, f64::NAN], &[1.0, 2.0], TTestKind::Student, 0.95),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        t_test(&[1.0, 2.0], &[1.0, 2.0], TTestKind::Student, 1.0),
        Err(Error::InvalidValue {
            what: "confidence",
            ..
        })
    ));
}

#[test]
fn chi2_matches_scipy() {
    let fx = fixture();
    let cases = fx["chi2"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for c in cases {
        let table: Vec<Vec<u64>> = c["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect()
            })
            .collect();
        let corr = c["correction"].as_bool().unwrap();
        let r = chi2_contingency(&table, corr).unwrap();
        let w = format!("{table:?} {corr}");
        assert_close(r.statistic, f(&c["statistic"]), 1e-9, &w);
        assert_close(r.p_value, f(&c["pvalue"]), 1e-9, &w);
        assert_eq!(r.df as u64, c["df"].as_u64().unwrap(), "{w}");
        for (er, ew) in r.expected.iter().zip(c["expected"].as_array().unwrap()) {
            for (x, y) in er.iter().zip(vecf(ew)) {
                assert_close(*x, y, 1e-12, &w);
            }
        }
    }
}

#[test]
fn chi2_empty_margin_and_shape_errors() {
    assert_eq!(
        chi2_contingency(&[[0u64, 0], [3, 4]], false).unwrap_err(),
        Error::EmptyMargin {
            what: "chi2_contingency",
            axis: "row",
            index: 0
        }
    );
    assert_eq!(
        chi2_contingency(&[[1u64, 0], [3, 0]], false).unwrap_err(),
        Error::EmptyMargin {
            what: "chi2_contingency",
            axis: "column",
            index: 1
        }
    );
    let ragged = vec![vec![1u64, 2], vec![3]];
    assert!(matches!(
        chi2_contingency(&ragged, false),
        Err(Error::BadShape { .. })
    ));
    let empty: Vec<Vec<u64>> = vec![];
    assert!(matches!(
        chi2_contingency(&empty, false),
        Err(Error::BadShape { .. })
    ));
}

#[test]
fn fisher_matches_scipy() {
    let fx = fixture();
    let cases = fx["fisher"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for c in cases {
        let t = &c["table"];
        let cell = |i: usize, j: usize| t[i][j].as_u64().unwrap();
        let table = [[cell(0, 0), cell(0, 1)], [cell(1, 0), cell(1, 1)]];
        let r = fisher_exact(table).unwrap();
        let w = format!("{table:?}");
        assert_close(r.p_value, f(&c["pvalue"]), 1e-9, &w);
        match &c["odds_ratio"] {
            Value::Null => assert_eq!(r.odds_ratio, None, "{w}"),
            Value::String(s) if s == "inf" => assert_eq!(r.odds_ratio, Some(f64::INFINITY)),
            v => assert_close(r.odds_ratio.unwrap(), f(v), 1e-12, &w),
        }
    }
}

#[test]
fn proportions_reproduce_paper_tables() {
    // Supp Table 1: males 4197/8134 (51.6%) vs 88/200 (44.0%), p = 0.03.
    let m = compare_proportions(4197, 8134, 88, 200, 0.95).unwrap();
    assert_eq!(format!("{:.1}", 100.0 * m.proportion_a), "51.6");
    assert_eq!(format!("{:.1}", 100.0 * m.proportion_b), "44.0");
    assert_eq!(format!("{:.2}", m.t_test.p_value), "0.03");
    assert_eq!(format!("{:.2}", m.z_p_value), "0.03");
    // The t-test on 0/1 indicators equals scipy's ttest_ind on the expanded vectors.
    let a: Vec<f64> = (0..8134)
        .map(|i| if i < 4197 { 1.0 } else { 0.0 })
        .collect();
    let b: Vec<f64> = (0..200).map(|i| if i < 88 { 1.0 } else { 0.0 }).collect();
    let direct = t_test(&a, &b, TTestKind::Student, 0.95).unwrap();
    assert_close(m.t_test.p_value, direct.p_value, 1e-9, "indicator t-test");
    // z² = uncorrected chi-square.
    let chi = chi2_contingency(&[[4197u64, 3937], [88, 112]], false).unwrap();
    assert_close(m.z_statistic * m.z_statistic, chi.statistic, 1e-9, "z^2");
    // Table 2: males 1834/3156 (58.1%) vs 6705/13509 (49.6%), p = "0.00".
    let m = compare_proportions(1834, 3156, 6705, 13509, 0.95).unwrap();
    assert_eq!(format!("{:.1}", 100.0 * m.proportion_a), "58.1");
    assert_eq!(format!("{:.1}", 100.0 * m.proportion_b), "49.6");
    assert_eq!(format!("{:.2}", m.t_test.p_value), "0.00");
    assert!(m.fisher.p_value < 1e-16);
}

#[test]
fn proportions_reject_impossible_counts() {
    assert!(matches!(
        compare_proportions(5, 4, 1, 2, 0.95),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        compare_proportions(0, 1, 1, 2, 0.95),
        Err(Error::TooFew { .. })
    ));
    assert!(matches!(
        compare_proportions(0, 5, 0, 7, 0.95),
        Err(Error::ZeroVariance { .. })
    ));
}

#[test]
fn oversized_tables_are_errors() {
    // The exact test used to allocate 2^39 + 1 weights and abort.
    let e = compare_proportions(1 << 39, 1 << 40, 1 << 39, 1 << 40, 0.95).unwrap_err();
    assert!(
        matches!(e, Error::InvalidValue { what: "compare_proportions", value, .. }
            if value == 2f64.powi(41)),
        "{e:?}"
    );
    // n_a + n_b used to overflow.
    assert!(matches!(
        compare_proportions(1, u64::MAX, 1, u64::MAX, 0.95),
        Err(Error::InvalidValue {
            what: "compare_proportions",
            ..
        })
    ));
    // One past the cap.
    assert!(matches!(
        compare_proportions(1, MAX_EXACT_TOTAL / 2, 1, MAX_EXACT_TOTAL / 2 + 1, 0.95),
        Err(Error::InvalidValue { .. })
    ));
    // The table total overflowed u64 inside fisher_exact itself.
    for table in [
        [[u64::MAX, 1], [0, 0]],
        [[1 << 39, 1 << 39], [1 << 39, 1 << 39]],
        [[0, 0], [MAX_EXACT_TOTAL, 1]],
    ] {
        assert!(
            matches!(
                fisher_exact(table),
                Err(Error::InvalidValue {
                    what: "fisher_exact",
                    ..
                })
            ),
            "{table:?}"
        );
    }
}

#[test]
fn fisher_handles_tables_up_to_the_cap() {
    // The largest symmetric table accepted: the observed table is the mode, p = 1, and the
    // walk from the mode keeps the cost at a few standard deviations.
    let q = MAX_EXACT_TOTAL / 4;
    let r = fisher_exact([[q, q], [q, q]]).unwrap();
    assert_eq!(r.odds_ratio, Some(1.0));
    assert!((r.p_value - 1.0).abs() < 1e-9, "{r:?}");
    // A table far in the tail: its probability (relative to the mode's) is 0 in f64.
    let r = fisher_exact([[1_000_000, 0], [0, 1_000_000]]).unwrap();
    assert_eq!(r.p_value, 0.0);
    assert_eq!(r.odds_ratio, Some(f64::INFINITY));
    // One off the mode the probability ties with the mode's within the 1e-7 tolerance.
    let r = fisher_exact([[q + 1, q - 1], [q - 1, q + 1]]).unwrap();
    assert_eq!(r.p_value, 1.0);
    // One standard deviation (σ² ≈ n/16, σ ≈ 7906) off: with symmetric margins the
    // exact p is the continuity-corrected normal tail, i.e. Yates' chi-square, ≈ 0.3173.
    let k = 7906;
    let t = [[q + k, q - k], [q - k, q + k]];
    let r = fisher_exact(t).unwrap();
    let chi = chi2_contingency(&t, true).unwrap();
    assert!((r.p_value - chi.p_value).abs() < 1e-5, "{r:?} {chi:?}");
    assert!((r.p_value - 0.3173).abs() < 1e-3, "{r:?}");
    // A moderately large table: the exact p summed over every table with lgamma in
    // Python is 0.004878795768754; Yates' chi-square is close (0.00488).
    let t = [[5_200u64, 4_800], [5_000, 5_000]];
    let r = fisher_exact(t).unwrap();
    assert_close(
        r.p_value,
        0.004878795768754245,
        1e-9,
        "5200/4800 vs 5000/5000",
    );
    let chi = chi2_contingency(&t, true).unwrap();
    assert!((r.p_value / chi.p_value - 1.0).abs() < 0.01, "{chi:?}");
}
