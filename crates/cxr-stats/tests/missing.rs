//! Little's MCAR test, MICE and Rubin's rules, against numpy/pyampute (Little), R mice
//! (`pool.scalar`, and the distribution of pooled estimates over seeds), a closed-form
//! case, and simulation.

use cxr_stats::Error;
use cxr_stats::hypothesis::{TTestKind, t_test};
use cxr_stats::missing::{
    EmOptions, ImputationMethod, McarEstimator, MiceOptions, PoolDf, em_mean_cov, little_mcar_test,
    mice, pool_scalar, pool_t_tests,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

#[test]
fn little_matches_numpy_em_and_pyampute() {
    let fx: Value = serde_json::from_str(include_str!("reference/b_missing.json")).unwrap();
    for c in fx["little"].as_array().unwrap() {
        let data = matrix(&c["data"]);
        let name = c["name"].as_str().unwrap();
        let em = little_mcar_test(&data, McarEstimator::default()).unwrap();
        for (j, m) in c["em_mean"].as_array().unwrap().iter().enumerate() {
            assert!(close(em.estimates.mean[j], f(m), 1e-9), "{name} mean {j}");
        }
        let cov = matrix(&c["em_cov"]);
        for (j, row) in cov.iter().enumerate() {
            for (k, want) in row.iter().enumerate() {
                assert!(
                    close(em.estimates.cov[j][k], *want, 1e-8),
                    "{name} cov {j}{k}"
                );
            }
        }
        assert!(
            close(em.statistic, f(&c["em_statistic"]), 1e-8),
            "{name} {}",
            em.statistic
        );
        assert_eq!(em.df as u64, c["em_df"].as_u64().unwrap());
        assert!(
            close(em.p_value, f(&c["em_pvalue"]), 1e-7),
            "{name} {}",
            em.p_value
        );

        let pw = little_mcar_test(&data, McarEstimator::Pairwise).unwrap();
        assert!(
            close(pw.statistic, f(&c["pairwise_statistic"]), 1e-9),
            "{name}"
        );
        assert!(close(pw.p_value, f(&c["pairwise_pvalue"]), 1e-9), "{name}");
        // pyampute computes 1 − cdf, which is 0 below ~1e-16.
        let py = f(&c["pyampute_pvalue"]);
        if py > 1e-10 {
            assert!(close(pw.p_value, py, 1e-9), "{name} pyampute");
        }
        // MCAR data: large p-value; MAR data: tiny.
        match name {
            "mcar" => assert!(em.p_value > 0.2),
            _ => assert!(em.p_value < 1e-20),
        }
    }
}

/// Two variables, `x2` missing in some rows. The ML estimates have a closed form
/// (Anderson 1957) and Little's d² reduces to `n · SSB / SST` of `x1` between the rows
/// with and without `x2` (df = 1): for pattern A = both observed, B = `x1` only,
/// `μ1 = mean(x1)`, `σ11 = SST/n`, and `Σ⁻¹ (1, β)ᵀ = (1/σ11, 0)ᵀ`.
#[test]
fn little_on_a_hand_computable_case() {
    let nan = f64::NAN;
    let x1 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let x2 = [2.0, 1.0, 4.0, 3.0, 7.0, nan, nan, nan];
    let data: Vec<Vec<f64>> = x1.iter().zip(x2).map(|(&a, b)| vec![a, b]).collect();
    let r = little_mcar_test(&data, McarEstimator::default()).unwrap();
    // mean(x1) = 4.5, SST = 42; group A mean 3 (n=5), group B mean 7 (n=3):
    // SSB = 5·1.5² + 3·2.5² = 30; d² = 8 · 30 / 42.
    assert!(
        close(r.statistic, 8.0 * 30.0 / 42.0, 1e-10),
        "{}",
        r.statistic
    );
    assert_eq!(r.df, 1);
    assert_eq!(r.patterns, 2);
    // μ2 = ȳ2A + β (μ1 − x̄1A), β = s12/s11 over A = (7.5/5·… ) computed directly:
    let (ma1, ma2) = (3.0, 17.0 / 5.0);
    let s11: f64 = x1[..5].iter().map(|v| (v - ma1) * (v - ma1)).sum();
    let s12: f64 = x1[..5]
        .iter()
        .zip(&x2[..5])
        .map(|(a, b)| (a - ma1) * (b - ma2))
        .sum();
    let mu2 = ma2 + s12 / s11 * (4.5 - ma1);
    assert!(close(r.estimates.mean[1], mu2, 1e-10));
    assert!(close(r.estimates.cov[0][0], 42.0 / 8.0, 1e-10));
}

fn simulate(n: usize, mar: bool, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            let z: [f64; 3] = [
                StandardNormal.sample(rng),
                StandardNormal.sample(rng),
                StandardNormal.sample(rng),
            ];
            let x = [z[0], 0.6 * z[0] + 0.8 * z[1], 0.5 * z[1] + 0.866 * z[2]];
            let mut row = x.to_vec();
            if mar {
                if x[0] > 0.5 {
                    row[1] = f64::NAN;
                }
                if x[1] < -0.8 && rng.random::<f64>() < 0.7 {
                    row[2] = f64::NAN;
                }
            } else {
                for v in row.iter_mut().skip(1) {
                    if rng.random::<f64>() < 0.2 {
                        *v = f64::NAN;
                    }
                }
            }
            row
        })
        .collect()
}

#[test]
fn little_p_values_are_uniform_under_mcar_and_small_under_mar() {
    let mut rng = ChaCha8Rng::seed_from_u64(1988);
    let reps = 300;
    let ps: Vec<f64> = (0..reps)
        .map(|_| {
            little_mcar_test(&simulate(80, false, &mut rng), McarEstimator::default())
                .unwrap()
                .p_value
        })
        .collect();
    let rejected = ps.iter().filter(|&&p| p < 0.05).count() as f64 / reps as f64;
    let mean = ps.iter().sum::<f64>() / reps as f64;
    // Uniform: P(p < 0.05) = 0.05 (binomial sd 0.013), E p = 0.5 (sd 0.017).
    assert!((0.015..=0.10).contains(&rejected), "size {rejected}");
    assert!((0.44..=0.56).contains(&mean), "mean p {mean}");
    // Deciles roughly flat.
    for d in 0..10 {
        let lo = d as f64 / 10.0;
        let share = ps.iter().filter(|&&p| p >= lo && p < lo + 0.1).count() as f64 / reps as f64;
        assert!((0.04..=0.17).contains(&share), "decile {d}: {share}");
    }
    let mar: Vec<f64> = (0..50)
        .map(|_| {
            little_mcar_test(&simulate(200, true, &mut rng), McarEstimator::default())
                .unwrap()
                .p_value
        })
        .collect();
    assert!(mar.iter().all(|&p| p < 0.01), "{mar:?}");
}

#[test]
fn little_errors() {
    let complete = vec![vec![1.0, 2.0], vec![2.0, 1.0], vec![3.0, 5.0]];
    assert!(matches!(
        little_mcar_test(&complete, McarEstimator::default()),
        Err(Error::TooFew { .. })
    ));
    let ragged = vec![vec![1.0, 2.0], vec![2.0]];
    assert!(matches!(
        little_mcar_test(&ragged, McarEstimator::Pairwise),
        Err(Error::BadShape { .. })
    ));
    let inf = vec![vec![1.0, f64::INFINITY], vec![2.0, 1.0]];
    assert!(matches!(
        em_mean_cov(&inf, EmOptions::default()),
        Err(Error::InvalidValue { .. })
    ));
    let nan = f64::NAN;
    let data = vec![
        vec![1.0, nan],
        vec![2.0, 3.0],
        vec![3.0, nan],
        vec![5.0, 1.0],
        vec![4.0, 2.0],
    ];
    assert!(matches!(
        em_mean_cov(
            &data,
            EmOptions {
                max_iter: 1,
                tol: 1e-15
            }
        ),
        Err(Error::NoConvergence { iterations: 1, .. })
    ));
}

#[test]
fn rubin_rules_match_mice_pool_scalar() {
    let fx: Value = serde_json::from_str(include_str!("reference/b_r_reference.json")).unwrap();
    for c in fx["rubin"].as_array().unwrap() {
        let q: Vec<f64> = c["q"].as_array().unwrap().iter().map(f).collect();
        let u: Vec<f64> = c["u"].as_array().unwrap().iter().map(f).collect();
        let df = match c.get("dfcom").and_then(Value::as_f64) {
            Some(d) => PoolDf::BarnardRubin { df_complete: d },
            None => PoolDf::Rubin1987,
        };
        let r = pool_scalar(&q, &u, df, 0.95).unwrap();
        for (got, key) in [
            (r.estimate, "qbar"),
            (r.within, "ubar"),
            (r.total, "t"),
            (r.df, "df"),
            (r.riv, "r"),
            (r.fmi, "fmi"),
        ] {
            assert!(close(got, f(&c[key]), 1e-9), "{key}: {got} vs {}", c[key]);
        }
        assert!(
            (r.between - f(&c["b"])).abs() <= 1e-12 * f(&c["b"]).max(1e-12),
            "b"
        );
        // CI and p-value follow from t and df.
        let half = (r.ci.1 - r.ci.0) / 2.0;
        assert!(half > 1.959 * r.std_error);
    }
}

#[test]
fn pool_errors() {
    assert!(matches!(
        pool_scalar(&[1.0], &[0.1], PoolDf::Rubin1987, 0.95),
        Err(Error::TooFew { .. })
    ));
    assert!(matches!(
        pool_scalar(&[1.0, 2.0], &[0.1], PoolDf::Rubin1987, 0.95),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        pool_scalar(&[1.0, 1.0], &[0.0, 0.0], PoolDf::Rubin1987, 0.95),
        Err(Error::ZeroVariance { .. })
    ));
    assert!(matches!(
        pool_scalar(&[1.0, 2.0], &[-0.1, 0.1], PoolDf::Rubin1987, 0.95),
        Err(Error::InvalidValue { .. })
    ));
}

fn r_mice_data() -> (Value, Vec<Vec<f64>>) {
    let fx: Value = serde_json::from_str(include_str!("reference/b_r_reference.json")).unwrap();
    let m = &fx["mice"]["data"];
    let col = |k: &str| -> Vec<f64> {
        m[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let (age, male, covid) = (col("age"), col("male"), col("covid"));
    let data = (0..age.len())
        .map(|i| vec![age[i], male[i], covid[i]])
        .collect();
    (fx, data)
}

/// Pooled mean difference of age (covid − other), as `pool(with(imp, lm(age ~ covid)))`,
/// and pooled proportion of males.
fn analyse(datasets: &[Vec<Vec<f64>>]) -> (f64, f64, f64, f64) {
    let tests: Vec<_> = datasets
        .iter()
        .map(|d| {
            let a: Vec<f64> = d.iter().filter(|r| r[2] == 1.0).map(|r| r[0]).collect();
            let b: Vec<f64> = d.iter().filter(|r| r[2] == 0.0).map(|r| r[0]).collect();
            t_test(&a, &b, TTestKind::Student, 0.95).unwrap()
        })
        .collect();
    let age = pool_t_tests(&tests, 0.95).unwrap();
    let (q, u): (Vec<f64>, Vec<f64>) = datasets
        .iter()
        .map(|d| {
            let n = d.len() as f64;
            let m = d.iter().map(|r| r[1]).sum::<f64>() / n;
            let s2 = d.iter().map(|r| (r[1] - m).powi(2)).sum::<f64>() / (n - 1.0);
            (m, s2 / n)
        })
        .unzip();
    let male = pool_scalar(
        &q,
        &u,
        PoolDf::BarnardRubin {
            df_complete: q.len() as f64 - 1.0,
        },
        0.95,
    )
    .unwrap();
    (age.estimate, age.std_error, male.estimate, male.std_error)
}

#[test]
fn mice_agrees_with_r_mice_in_distribution() {
    let (fx, data) = r_mice_data();
    let opts = MiceOptions {
        m: 10,
        max_iter: 10,
        ..MiceOptions::default()
    };
    let runs = 16;
    let results: Vec<_> = (0..runs)
        .map(|s| analyse(&mice(&data, &opts, 1000 + s).unwrap().datasets))
        .collect();
    let pooled = &fx["mice"]["pooled"];
    let r_runs = fx["mice"]["settings"]["runs"].as_f64().unwrap();
    let check = |get: fn(&(f64, f64, f64, f64)) -> f64, key: &str| {
        let mean = results.iter().map(get).sum::<f64>() / runs as f64;
        let (rm, rsd) = (f(&pooled[key]["mean"]), f(&pooled[key]["sd"]));
        // Difference of two run-means: sd = rsd·sqrt(1/runs + 1/r_runs); allow 4 sd.
        let tol = 4.0 * rsd * (1.0 / runs as f64 + 1.0 / r_runs).sqrt();
        eprintln!("{key}: rust {mean:.5}, R {rm:.5} (R sd over seeds {rsd:.5}, tol {tol:.5})");
        assert!(
            (mean - rm).abs() <= tol,
            "{key}: rust {mean}, R {rm} ± {tol}"
        );
    };
    check(|r| r.0, "age_covid");
    check(|r| r.1, "age_covid_se");
    check(|r| r.2, "male_mean");
    check(|r| r.3, "male_mean_se");
    // Imputation must differ from the complete-case analysis only moderately.
    let cc = f(&fx["mice"]["complete_case_age_covid"][0]);
    assert!((results[0].0 - cc).abs() < 3.0);
}

#[test]
fn mice_is_deterministic_and_keeps_observed_values() {
    let (_, data) = r_mice_data();
    let opts = MiceOptions {
        m: 3,
        max_iter: 3,
        ..MiceOptions::default()
    };
    let a = mice(&data, &opts, 7).unwrap();
    let b = mice(&data, &opts, 7).unwrap();
    let c = mice(&data, &opts, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.datasets, c.datasets);
    assert_ne!(a.datasets[0], a.datasets[1]);
    assert_eq!(
        a.methods,
        vec![
            ImputationMethod::Pmm,
            ImputationMethod::LogReg,
            ImputationMethod::Skip
        ]
    );
    let observed_ages: Vec<f64> = data.iter().map(|r| r[0]).filter(|v| !v.is_nan()).collect();
    for d in &a.datasets {
        for (row, orig) in d.iter().zip(&data) {
            for (v, o) in row.iter().zip(orig) {
                assert!(!v.is_nan());
                if !o.is_nan() {
                    assert_eq!(v, o);
                }
            }
            // PMM imputes observed values; logreg imputes 0/1.
            assert!(observed_ages.contains(&row[0]));
            assert!(row[1] == 0.0 || row[1] == 1.0);
        }
    }
}

#[test]
fn mice_errors() {
    let nan = f64::NAN;
    let data = vec![vec![1.0, nan], vec![2.0, nan], vec![3.0, 1.0]];
    assert!(matches!(
        mice(&data, &MiceOptions::default(), 1),
        Err(Error::TooFew { .. })
    ));
    let bad = MiceOptions {
        m: 0,
        ..MiceOptions::default()
    };
    assert!(matches!(
        mice(&[vec![1.0]], &bad, 1),
        Err(Error::InvalidValue {
            what: "MiceOptions.m",
            ..
        })
    ));
    let data = vec![
        vec![1.0, 0.5],
        vec![2.0, nan],
        vec![3.0, 1.0],
        vec![4.0, 0.0],
    ];
    let opts = MiceOptions {
        methods: Some(vec![ImputationMethod::Skip, ImputationMethod::LogReg]),
        ..MiceOptions::default()
    };
    assert!(matches!(
        mice(&data, &opts, 1),
        Err(Error::InvalidValue { .. })
    ));
}
