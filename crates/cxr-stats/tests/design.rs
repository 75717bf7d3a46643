//! Study-design formulas against statsmodels, scipy and R `pwr` / `power.prop.test`
//! (fixtures from `scripts/reference/stats_reference_b.{py,R}`).

use cxr_stats::Error;
use cxr_stats::design::{
    AucVariance, MAX_SAMPLE_SIZE, Sides, auc_precision_sample_size, auc_test_sample_size,
    buderer_sensitivity, buderer_specificity, cohen_h, hanley_mcneil_variance, noncentral_t_cdf,
    obuchowski_variance, paper_power_sampling, power_prop_test_power, power_prop_test_sample_size,
    sensitivity_power_sample_size, t_test_power, t_test_sample_size, two_proportion_power,
    two_proportion_sample_size,
};
use serde_json::Value;

fn py() -> Value {
    serde_json::from_str(include_str!("reference/b_design.json")).unwrap()
}

fn r() -> Value {
    serde_json::from_str(include_str!("reference/b_r_reference.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-300),
        "{what}: got {got:.15e}, want {want:.15e}"
    );
}

#[test]
fn noncentral_t_matches_scipy_and_r() {
    for (src, rel) in [(py(), 1e-9), (r(), 1e-9)] {
        for c in src["nct_cdf"].as_array().unwrap() {
            let got = noncentral_t_cdf(f(&c["t"]), f(&c["df"]), f(&c["ncp"])).unwrap();
            assert_close(got, f(&c["cdf"]), rel, &format!("nct {c}"));
        }
    }
}

#[test]
fn t_test_power_matches_pwr_and_statsmodels() {
    for src in [py(), r()] {
        for c in src["ttest_power"].as_array().unwrap() {
            let got = t_test_power(f(&c["d"]), f(&c["n"]), f(&c["alpha"])).unwrap();
            assert_close(got, f(&c["power"]), 1e-9, &format!("power {c}"));
        }
    }
    // pwr solved to 1e-12 in the R script; statsmodels' brentq is looser.
    for (src, rel) in [(r(), 1e-9), (py(), 1e-6)] {
        for c in src["ttest_n"].as_array().unwrap() {
            let got = t_test_sample_size(f(&c["d"]), f(&c["alpha"]), f(&c["power"])).unwrap();
            assert_close(got, f(&c["n"]), rel, &format!("n {c}"));
        }
    }
    // The textbook value: d = 0.5, 80% power -> 64 per group.
    assert_eq!(t_test_sample_size(0.5, 0.05, 0.8).unwrap().ceil(), 64.0);
}

#[test]
fn two_proportions_match_pwr_statsmodels_and_power_prop_test() {
    for (src, rel_n) in [(r(), 1e-9), (py(), 1e-6)] {
        for c in src["two_proportion"].as_array().unwrap() {
            let h = cohen_h(f(&c["p1"]), f(&c["p2"])).unwrap();
            assert_close(h, f(&c["h"]), 1e-12, "h");
            let p = two_proportion_power(h, f(&c["n"]), f(&c["alpha"])).unwrap();
            assert_close(p, f(&c["power"]), 1e-9, &format!("2p power {c}"));
            let n = two_proportion_sample_size(h, f(&c["alpha"]), 0.9).unwrap();
            assert_close(n, f(&c["n_for_power_0.9"]), rel_n, &format!("2p n {c}"));
        }
    }
    for c in r()["power_prop_test"].as_array().unwrap() {
        let (p1, p2, alpha) = (f(&c["p1"]), f(&c["p2"]), f(&c["alpha"]));
        let p = power_prop_test_power(p1, p2, f(&c["n"]), alpha).unwrap();
        assert_close(p, f(&c["power"]), 1e-9, &format!("prop power {c}"));
        let n = power_prop_test_sample_size(p1, p2, alpha, 0.9).unwrap();
        assert_close(n, f(&c["n_for_power_0.9"]), 1e-9, &format!("prop n {c}"));
    }
}

#[test]
fn closed_forms_match_reference() {
    let fx = py();
    for c in fx["buderer"].as_array().unwrap() {
        let n = buderer_sensitivity(
            f(&c["se"]),
            f(&c["prevalence"]),
            f(&c["precision"]),
            f(&c["alpha"]),
        )
        .unwrap();
        assert_close(n.cases_exact, f(&c["cases_exact"]), 1e-12, "buderer cases");
        assert_close(n.total_exact, f(&c["total_exact"]), 1e-12, "buderer total");
        assert_eq!(n.cases, f(&c["cases_exact"]).ceil() as u64);
    }
    for c in fx["power_sensitivity"].as_array().unwrap() {
        let sides = if c["two_sided"].as_bool().unwrap() {
            Sides::TwoSided
        } else {
            Sides::OneSided
        };
        let n = sensitivity_power_sample_size(
            f(&c["se0"]),
            f(&c["se1"]),
            f(&c["prevalence"]),
            f(&c["alpha"]),
            f(&c["power"]),
            sides,
        )
        .unwrap();
        assert_close(n.cases_exact, f(&c["cases_exact"]), 1e-12, "power cases");
        assert_close(n.total_exact, f(&c["total_exact"]), 1e-12, "power total");
    }
    for c in fx["hanley_mcneil"].as_array().unwrap() {
        let v = hanley_mcneil_variance(f(&c["auc"]), f(&c["n_pos"]), f(&c["n_neg"])).unwrap();
        assert_close(v, f(&c["variance"]), 1e-12, "hanley-mcneil");
    }
    for c in fx["obuchowski"].as_array().unwrap() {
        let v = obuchowski_variance(f(&c["auc"]), f(&c["ratio"])).unwrap();
        assert_close(v, f(&c["variance"]), 1e-12, "obuchowski");
    }
}

#[test]
fn specificity_uses_the_non_diseased_share() {
    let sp = buderer_specificity(0.9, 0.2, 0.05, 0.05).unwrap();
    let se = buderer_sensitivity(0.9, 0.8, 0.05, 0.05).unwrap();
    assert_eq!(sp, se);
    assert_eq!(sp.cases, 139); // 1.96² · 0.09 / 0.0025 = 138.3
    assert_eq!(sp.total, 173);
}

#[test]
fn auc_sample_sizes_are_consistent() {
    // Precision: the solved n gives exactly the requested half-width.
    let n = auc_precision_sample_size(0.9, 0.05, 0.05, 1.0, AucVariance::HanleyMcNeil).unwrap();
    let se = hanley_mcneil_variance(0.9, n.n_pos_exact, n.n_pos_exact)
        .unwrap()
        .sqrt();
    assert_close(1.959963984540054 * se, 0.05, 1e-9, "half-width");
    assert!(n.n_pos >= 50 && n.n_pos <= 80, "{n:?}");
    // Obuchowski closed form: n = z² V / d².
    let o = auc_precision_sample_size(0.9, 0.05, 0.05, 2.0, AucVariance::Obuchowski).unwrap();
    let v = obuchowski_variance(0.9, 2.0).unwrap();
    assert_close(
        o.n_pos_exact,
        1.959963984540054f64.powi(2) * v / 0.0025,
        1e-12,
        "obu",
    );
    assert_eq!(o.n_neg, (2.0 * o.n_pos_exact - 1e-9).ceil() as u64);
    // Test of AUC 0.7 against 0.5: both variances agree to within ~15%.
    let hm = auc_test_sample_size(
        0.5,
        0.7,
        0.05,
        0.8,
        1.0,
        Sides::TwoSided,
        AucVariance::HanleyMcNeil,
    )
    .unwrap();
    let ob = auc_test_sample_size(
        0.5,
        0.7,
        0.05,
        0.8,
        1.0,
        Sides::TwoSided,
        AucVariance::Obuchowski,
    )
    .unwrap();
    assert!(
        (hm.n_pos_exact / ob.n_pos_exact - 1.0).abs() < 0.15,
        "{hm:?} {ob:?}"
    );
    assert!(hm.n_pos > 20 && hm.n_pos < 40, "{hm:?}");
    assert!(matches!(
        auc_test_sample_size(
            0.7,
            0.7,
            0.05,
            0.8,
            1.0,
            Sides::TwoSided,
            AucVariance::Obuchowski
        ),
        Err(Error::InvalidValue { .. })
    ));
}

#[test]
fn paper_power_sampling_candidates() {
    let p = paper_power_sampling();
    assert_eq!(p.reported, 1314);
    assert_eq!(p.buderer_rounded_prevalence.cases, 246);
    assert_eq!(p.buderer_rounded_prevalence.total, 1301);
    assert_eq!(p.buderer_exact_prevalence.total, 1299);
    assert_eq!(p.buderer_validation_prevalence.total, 1307);
    assert!((p.prevalence_for_reported - 0.18710).abs() < 5e-5);
    assert_eq!(p.power_80_vs_90.total, 864);
    assert_eq!(p.power_70_vs_80.total, 1282);
}

#[test]
fn design_rejects_bad_input() {
    assert!(matches!(
        buderer_sensitivity(1.0, 0.2, 0.05, 0.05),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        buderer_sensitivity(0.8, 0.0, 0.05, 0.05),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        t_test_sample_size(0.0, 0.05, 0.8),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        t_test_sample_size(0.5, 0.05, 0.01),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        t_test_power(0.5, 1.0, 0.05),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        noncentral_t_cdf(1.0, 0.0, 1.0),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(cohen_h(1.2, 0.5), Err(Error::InvalidValue { .. })));
    assert!(matches!(
        power_prop_test_sample_size(0.5, 0.5, 0.05, 0.8),
        Err(Error::InvalidValue { .. })
    ));
}

/// Asserts that a design was refused for needing more than `MAX_SAMPLE_SIZE` patients.
fn assert_too_large<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    match r {
        Err(Error::InvalidValue {
            what: "required sample size",
            value,
            ..
        }) => assert!(
            value.is_nan() || value > MAX_SAMPLE_SIZE,
            "{what}: value {value}"
        ),
        other => panic!("{what}: expected a too-large sample size error, got {other:?}"),
    }
}

#[test]
fn sample_sizes_past_the_cap_are_errors() {
    // Obuchowski's closed form used to saturate n_pos and n_neg to u64::MAX and overflow
    // adding them; Buderer reported 18446744073709551615 patients.
    assert_too_large(
        auc_precision_sample_size(0.9, 1e-12, 0.05, 1.0, AucVariance::Obuchowski),
        "obuchowski precision",
    );
    assert_too_large(
        auc_precision_sample_size(0.9, 0.05, 0.05, 1e300, AucVariance::Obuchowski),
        "huge ratio",
    );
    // A tiny ratio starts the Hanley-McNeil search at 1/ratio = 1e15 diseased patients.
    assert_too_large(
        auc_precision_sample_size(0.9, 0.05, 0.05, 1e-15, AucVariance::HanleyMcNeil),
        "tiny ratio",
    );
    assert_too_large(
        auc_precision_sample_size(0.9, 1e-12, 0.05, 1.0, AucVariance::HanleyMcNeil),
        "hanley-mcneil precision",
    );
    assert_too_large(
        auc_test_sample_size(
            0.5,
            0.5 + 1e-9,
            0.05,
            0.8,
            1.0,
            Sides::TwoSided,
            AucVariance::Obuchowski,
        ),
        "auc test",
    );
    assert_too_large(buderer_sensitivity(0.8, 0.2, 1e-12, 0.05), "buderer se");
    assert_too_large(buderer_specificity(0.8, 0.2, 1e-12, 0.05), "buderer sp");
    // The cases fit under the cap but the total at a tiny prevalence does not.
    assert_too_large(buderer_sensitivity(0.8, 1e-300, 0.05, 0.05), "prevalence");
    assert_too_large(
        sensitivity_power_sample_size(0.8, 0.8 + 1e-9, 0.2, 0.05, 0.8, Sides::TwoSided),
        "sensitivity test",
    );
    assert_too_large(t_test_sample_size(1e-9, 0.05, 0.8), "t test");
    assert_too_large(
        two_proportion_sample_size(1e-9, 0.05, 0.8),
        "two proportions",
    );
    assert_too_large(
        power_prop_test_sample_size(0.5, 0.5 + 1e-9, 0.05, 0.8),
        "power.prop.test",
    );
}

#[test]
fn sample_sizes_under_the_cap_are_kept() {
    // 1.96² · 0.16 / d² = 1.54e11 cases at d = 2e-6, / 0.2 = 7.7e11 in total.
    let n = buderer_sensitivity(0.8, 0.2, 2e-6, 0.05).unwrap();
    let z = 1.959963984540054f64;
    assert_close(n.cases_exact, z * z * 0.16 / 4e-12, 1e-9, "cases");
    assert_close(n.total_exact, z * z * 0.16 / 4e-12 / 0.2, 1e-9, "total");
    assert_eq!(n.total, n.total_exact.ceil() as u64);
    let o = auc_precision_sample_size(0.9, 1e-5, 0.05, 1.0, AucVariance::Obuchowski).unwrap();
    assert!(
        o.total as f64 <= MAX_SAMPLE_SIZE && o.total > 1_000_000_000,
        "{o:?}"
    );
    assert_eq!(o.total, o.n_pos + o.n_neg);
}
