//! McNemar's test and Cohen's kappa against statsmodels, scikit-learn and mpmath
//! (fixtures from `scripts/reference/stats_reference_c.py`).

use cxr_stats::Error;
use cxr_stats::agreement::{Kappa, cohen_kappa, cohen_kappa_from_labels};
use cxr_stats::hypothesis::{MAX_EXACT_TOTAL, mcnemar};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("reference/c_agreement.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn table(v: &Value) -> Vec<Vec<u64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(u).collect())
        .collect()
}

/// Relative agreement to `rel`, or absolute agreement to `1e-300` (both zero).
fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    let tol = (rel * want.abs()).max(1e-300);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}"
    );
}

/// The label sequences of a table, row-major, as the fixture script expands them.
fn expand(t: &[Vec<u64>]) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, row) in t.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            a.extend(std::iter::repeat_n(i, v as usize));
            b.extend(std::iter::repeat_n(j, v as usize));
        }
    }
    (a, b)
}

// ---------------------------------------------------------------------------------------
// McNemar
// ---------------------------------------------------------------------------------------

#[test]
fn mcnemar_matches_statsmodels_and_mpmath() {
    let fx = fixture();
    let cases = fx["mcnemar"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    let mut tiny = 0;
    for c in cases {
        let (b, cc) = (u(&c["b"]), u(&c["c"]));
        let r = mcnemar(b, cc).unwrap();
        let w = format!("({b}, {cc})");
        assert_eq!((r.b, r.c), (b, cc));
        let want = f(&c["exact_pvalue"]);
        assert_close(r.exact_p_value, want, 1e-9, &w);
        // 50-digit sum: much closer than scipy's own ~1e-12 at n ~ 1e9.
        assert_close(
            r.exact_p_value,
            f(&c["exact_pvalue_mpmath"]),
            1e-12,
            &format!("{w} mpmath"),
        );
        if want < 1e-30 {
            tiny += 1;
        }
        if b + cc == 0 {
            // statsmodels divides 1 by 0: statistic inf, p-value 0. Here: no statistic.
            assert_eq!(c["chi2"], "inf");
            assert_eq!(f(&c["chi2_pvalue"]), 0.0);
            assert_eq!((r.chi2, r.chi2_p_value), (None, None), "{w}");
            assert_eq!(r.exact_p_value, 1.0);
        } else {
            assert_close(r.chi2.unwrap(), f(&c["chi2"]), 1e-12, &w);
            assert_close(r.chi2_p_value.unwrap(), f(&c["chi2_pvalue"]), 1e-9, &w);
        }
    }
    assert_eq!(tiny, 2, "cases with p < 1e-30");
}

#[test]
fn mcnemar_small_cases_by_hand() {
    // (0, 5): 2 · 2^-5; X² = (5 − 1)² / 5.
    let r = mcnemar(0, 5).unwrap();
    assert_eq!(r.exact_p_value, 0.0625);
    assert_eq!(r.chi2, Some(3.2));
    // Symmetric in b and c.
    assert_eq!(mcnemar(5, 0).unwrap().exact_p_value, r.exact_p_value);
    assert_eq!(mcnemar(5, 0).unwrap().chi2, r.chi2);
    // b = c: the exact p is capped at 1; the corrected statistic is 1/(b + c), not 0, as
    // statsmodels (R's mcnemar.test drops the correction when b = c and gives 0).
    let r = mcnemar(3, 3).unwrap();
    assert_eq!(r.exact_p_value, 1.0);
    assert_eq!(r.chi2, Some(1.0 / 6.0));
    // |b − c| = 1: statistic 0, p-value 1.
    let r = mcnemar(7, 8).unwrap();
    assert_eq!((r.chi2, r.chi2_p_value), (Some(0.0), Some(1.0)));
    // (10, 2): 2 · (1 + 12 + 66) / 4096 = 0.03857421875 exactly.
    assert_close(
        mcnemar(10, 2).unwrap().exact_p_value,
        0.03857421875,
        1e-14,
        "(10, 2)",
    );
    // (0, 1100): 2^-1099 underflows to 0.
    assert_eq!(mcnemar(0, 1100).unwrap().exact_p_value, 0.0);
    // (0, 1070): 2^-1069, a subnormal, still nearly exact.
    assert_close(
        mcnemar(0, 1070).unwrap().exact_p_value,
        2f64.powi(-1069),
        1e-9,
        "(0, 1070)",
    );
}

#[test]
fn mcnemar_without_discordant_pairs() {
    let r = mcnemar(0, 0).unwrap();
    assert_eq!(r.exact_p_value, 1.0);
    assert_eq!(r.chi2, None);
    assert_eq!(r.chi2_p_value, None);
}

#[test]
fn mcnemar_refuses_more_pairs_than_the_exact_cap() {
    // At the cap: fine, and fast (the walk is a few standard deviations long).
    let half = MAX_EXACT_TOTAL / 2;
    let r = mcnemar(half, half).unwrap();
    assert_eq!(r.exact_p_value, 1.0);
    assert!(mcnemar(MAX_EXACT_TOTAL, 0).is_ok());
    for (b, c) in [(MAX_EXACT_TOTAL, 1), (half + 1, half), (u64::MAX, 1)] {
        let e = mcnemar(b, c).unwrap_err();
        assert!(
            matches!(e, Error::InvalidValue { what: "mcnemar", value, .. }
                if value == b as f64 + c as f64),
            "({b}, {c}): {e:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Cohen's kappa
// ---------------------------------------------------------------------------------------

fn check_kappa(r: &Kappa, c: &Value, w: &str) {
    assert_eq!(r.n, u(&c["n"]), "{w}");
    assert_close(r.kappa, f(&c["kappa"]), 1e-9, w);
    assert_close(r.se, f(&c["std_kappa"]), 1e-9, &format!("{w} se"));
    assert_close(r.se0, f(&c["std_kappa0"]), 1e-9, &format!("{w} se0"));
    assert_close(r.ci[0], f(&c["kappa_low"]), 1e-9, &format!("{w} low"));
    assert_close(r.ci[1], f(&c["kappa_upp"]), 1e-9, &format!("{w} upp"));
    assert_close(r.z.unwrap(), f(&c["z_value"]), 1e-9, &format!("{w} z"));
    assert_close(
        r.p_value.unwrap(),
        f(&c["pvalue_two_sided"]),
        1e-9,
        &format!("{w} p"),
    );
    assert_close(
        (r.observed - r.expected) / (1.0 - r.expected),
        r.kappa,
        1e-12,
        &format!("{w} definition"),
    );
}

#[test]
fn kappa_matches_statsmodels() {
    let fx = fixture();
    let cases = fx["kappa"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for c in cases {
        let t = table(&c["table"]);
        let w = c["name"].as_str().unwrap();
        let r = cohen_kappa(&t, 0.95).unwrap();
        check_kappa(&r, c, w);
        let trace: u64 = (0..t.len()).map(|i| t[i][i]).sum();
        assert_eq!(r.observed, trace as f64 / r.n as f64, "{w}");
        let r90 = cohen_kappa(&t, 0.90).unwrap();
        assert_close(r90.ci[0], f(&c["ci90"][0]), 1e-9, &format!("{w} ci90"));
        assert_close(r90.ci[1], f(&c["ci90"][1]), 1e-9, &format!("{w} ci90"));
        assert_eq!((r90.kappa, r90.z, r90.p_value), (r.kappa, r.z, r.p_value));
    }
}

#[test]
fn kappa_from_labels_matches_sklearn() {
    let fx = fixture();
    for c in fx["kappa"].as_array().unwrap() {
        let t = table(&c["table"]);
        let w = c["name"].as_str().unwrap();
        let (a, b) = expand(&t);
        let r = cohen_kappa_from_labels(&a, &b, t.len(), 0.95).unwrap();
        assert_close(r.kappa, f(&c["sklearn_kappa"]), 1e-9, w);
        check_kappa(&r, c, w);
        // Unused extra classes change nothing (the labels path does not allocate k × k).
        let r_wide = cohen_kappa_from_labels(&a, &b, 1 << 40, 0.95).unwrap();
        assert_close(r_wide.kappa, r.kappa, 1e-15, w);
        assert_close(r_wide.se, r.se, 1e-12, w);
        assert_close(r_wide.se0, r.se0, 1e-12, w);
    }
}

#[test]
fn kappa_special_values() {
    let fx = fixture();
    let cases = fx["kappa"].as_array().unwrap();
    let by_name = |name: &str| {
        let c = cases.iter().find(|c| c["name"] == name).unwrap();
        cohen_kappa(&table(&c["table"]), 0.95).unwrap()
    };
    let perfect = by_name("perfect agreement");
    assert_eq!((perfect.kappa, perfect.se), (1.0, 0.0));
    assert_eq!(perfect.ci, [1.0, 1.0]);
    assert!(by_name("kappa < 0").kappa < 0.0);
    let clf = by_name("classifier vs truth");
    assert_eq!(clf.n, 500);
    // se under the alternative and under H0 differ: using one for the other is caught.
    assert!((clf.se0 / clf.se - 1.0).abs() > 0.3);
    // Swapping the raters (transposing) leaves every statistic unchanged.
    let t = [[230u64, 18, 4], [22, 131, 9], [3, 8, 75]];
    let tt = [[230u64, 22, 3], [18, 131, 8], [4, 9, 75]];
    let (r, rt) = (
        cohen_kappa(&t, 0.95).unwrap(),
        cohen_kappa(&tt, 0.95).unwrap(),
    );
    assert_close(rt.kappa, r.kappa, 1e-15, "transposed kappa");
    assert_close(rt.se, r.se, 1e-12, "transposed se");
    assert_close(rt.se0, r.se0, 1e-12, "transposed se0");
}

#[test]
fn kappa_degenerate_tables_say_what_the_peers_leave_nan() {
    let fx = fixture();
    let cases = fx["kappa_degenerate"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let t = table(&c["table"]);
        let w = c["name"].as_str().unwrap();
        // Both peers leave z undefined (NaN, written as null) in every one of these.
        assert!(c["statsmodels_z_value"].is_null(), "{w}");
        let (a, b) = expand(&t);
        let from_labels = cohen_kappa_from_labels(&a, &b, t.len(), 0.95);
        if c["statsmodels_kappa"].is_null() {
            // Both raters use one class: kappa itself is 0/0 for both peers.
            assert!(c["sklearn_kappa"].is_null(), "{w}");
            let e = cohen_kappa(&t, 0.95).unwrap_err();
            assert_eq!(
                e,
                Error::ZeroVariance {
                    what: "cohen_kappa"
                },
                "{w}"
            );
            assert_eq!(from_labels.unwrap_err(), e, "{w}");
        } else {
            // kappa = 0 for the peers, the null variance is 0 and z = 0/0; statsmodels'
            // standard error and interval are 0 up to rounding.
            let k = cohen_kappa(&t, 0.95).unwrap();
            assert_eq!(f(&c["statsmodels_kappa"]), 0.0, "{w}");
            assert_eq!(f(&c["sklearn_kappa"]), 0.0, "{w}");
            assert_eq!((k.kappa, k.se, k.se0), (0.0, 0.0, 0.0), "{w}");
            assert_eq!((k.z, k.p_value), (None, None), "{w}");
            for (ours, theirs) in [
                (k.se, "statsmodels_std_kappa"),
                (k.ci[0], "statsmodels_kappa_low"),
                (k.ci[1], "statsmodels_kappa_upp"),
            ] {
                assert!((ours - f(&c[theirs])).abs() < 1e-7, "{w} {theirs}");
            }
            assert_eq!(from_labels.unwrap(), k, "{w}");
        }
    }
}

#[test]
fn kappa_rejects_bad_tables() {
    let empty: Vec<Vec<u64>> = vec![];
    assert_eq!(
        cohen_kappa(&empty, 0.95).unwrap_err(),
        Error::BadShape {
            what: "cohen_kappa",
            expected: "a non-empty square table",
            rows: 0,
            cols: 0
        }
    );
    // 2 × 3.
    assert_eq!(
        cohen_kappa(&[[1u64, 2, 3], [4, 5, 6]], 0.95).unwrap_err(),
        Error::BadShape {
            what: "cohen_kappa",
            expected: "a square table",
            rows: 2,
            cols: 3
        }
    );
    // Ragged.
    let ragged = vec![vec![1u64, 2], vec![3]];
    assert!(matches!(
        cohen_kappa(&ragged, 0.95),
        Err(Error::BadShape {
            rows: 2,
            cols: 1,
            ..
        })
    ));
    // 1 × 0 rows are not square either.
    let hollow: Vec<Vec<u64>> = vec![vec![]];
    assert!(matches!(
        cohen_kappa(&hollow, 0.95),
        Err(Error::BadShape { .. })
    ));
    // n = 0.
    assert_eq!(
        cohen_kappa(&[[0u64, 0], [0, 0]], 0.95).unwrap_err(),
        Error::TooFew {
            what: "cohen_kappa",
            needed: 1,
            got: 0
        }
    );
    // Total past u64::MAX.
    assert!(matches!(
        cohen_kappa(&[[u64::MAX, 1], [0, 0]], 0.95),
        Err(Error::InvalidValue {
            what: "cohen_kappa",
            ..
        })
    ));
}

#[test]
fn kappa_rejects_levels_outside_zero_one() {
    let t = [[20u64, 5], [10, 15]];
    for level in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        assert!(
            matches!(
                cohen_kappa(&t, level),
                Err(Error::InvalidValue {
                    what: "confidence level",
                    ..
                })
            ),
            "{level}"
        );
        assert!(matches!(
            cohen_kappa_from_labels(&[0, 1], &[0, 1], 2, level),
            Err(Error::InvalidValue {
                what: "confidence level",
                ..
            })
        ));
    }
    // The level only moves the interval, and a wider level gives a wider interval.
    let (a, b) = (
        cohen_kappa(&t, 0.80).unwrap(),
        cohen_kappa(&t, 0.99).unwrap(),
    );
    assert!(b.ci[0] < a.ci[0] && a.ci[1] < b.ci[1]);
}

#[test]
fn kappa_from_labels_rejects_bad_labels() {
    assert_eq!(
        cohen_kappa_from_labels(&[0, 1, 2], &[0, 1], 3, 0.95).unwrap_err(),
        Error::LengthMismatch {
            what: "cohen_kappa_from_labels",
            left: 3,
            right: 2
        }
    );
    assert_eq!(
        cohen_kappa_from_labels(&[0, 1, 3], &[0, 1, 1], 3, 0.95).unwrap_err(),
        Error::InvalidValue {
            what: "cohen_kappa_from_labels (first)",
            value: 3.0,
            expected: "class labels in 0..k"
        }
    );
    assert!(matches!(
        cohen_kappa_from_labels(&[0, 1, 1], &[0, 7, 1], 3, 0.95),
        Err(Error::InvalidValue {
            what: "cohen_kappa_from_labels (second)",
            value: 7.0,
            ..
        })
    ));
    assert!(matches!(
        cohen_kappa_from_labels(&[], &[], 0, 0.95),
        Err(Error::BadShape { .. })
    ));
    assert_eq!(
        cohen_kappa_from_labels(&[], &[], 3, 0.95).unwrap_err(),
        Error::TooFew {
            what: "cohen_kappa",
            needed: 1,
            got: 0
        }
    );
}
