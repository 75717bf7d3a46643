//! Missing data: Little's MCAR test, multiple imputation by chained equations (MICE) and
//! Rubin's rules — what the paper did before its t-tests ("Missing information on these
//! variables was first tested using Little's test, and then blanks were filled using
//! multiple imputation").
//!
//! Data are row-major `&[Vec<f64>]` (one `Vec` per patient, all of equal length) with
//! `NaN` marking a missing value; any other non-finite value is an error.
//!
//! * [`little_mcar_test`] — Little (1988), with maximum-likelihood (EM, [`em_mean_cov`])
//!   estimates of the mean and covariance as in R `naniar::mcar_test`, or the
//!   pairwise-available estimates used by the Python `pyampute` package.
//! * [`mice`] — chained equations: predictive mean matching for numeric columns
//!   (mice's `pmm`, type-1 matching, Bayesian linear-regression draw) and Bayesian
//!   logistic regression for binary 0/1 columns (mice's `logreg`); `m` imputations,
//!   each on its own ChaCha8 stream of the caller's seed, so the result is
//!   deterministic and independent of thread scheduling.
//! * [`pool_scalar`] — Rubin's rules (mice's `pool.scalar`), with the classic Rubin
//!   (1987) or the Barnard–Rubin (1999) degrees of freedom; [`pool_t_tests`] pools
//!   two-sample t-tests run on each imputed data set.
//!
//! ```
//! use cxr_stats::missing::{mice, MiceOptions, pool_t_tests};
//! use cxr_stats::hypothesis::{t_test, TTestKind};
//! let nan = f64::NAN;
//! // columns: age, male (0/1), covid (0/1)
//! let data: Vec<Vec<f64>> = (0..60)
//!     .map(|i| {
//!         let covid = (i % 3 == 0) as u8 as f64;
//!         let age = if i % 7 == 0 { nan } else { 40.0 + 10.0 * covid + (i % 11) as f64 };
//!         let male = if i % 5 == 0 { nan } else { (i % 2) as f64 };
//!         vec![age, male, covid]
//!     })
//!     .collect();
//! let imp = mice(&data, &MiceOptions::default(), 42).unwrap();
//! let tests: Vec<_> = imp
//!     .datasets
//!     .iter()
//!     .map(|d| {
//!         let (a, b): (Vec<_>, Vec<_>) = d.iter().partition(|r| r[2] == 1.0);
//!         let age = |g: Vec<&Vec<f64>>| g.iter().map(|r| r[0]).collect::<Vec<_>>();
//!         t_test(&age(a), &age(b), TTestKind::Student, 0.95).unwrap()
//!     })
//!     .collect();
//! let pooled = pool_t_tests(&tests, 0.95).unwrap();
//! assert!(pooled.estimate > 5.0);
//! ```

// Small dense matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::hypothesis::{TTest, TTestKind, chi2_sf, t_ppf, t_two_sided_p};
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------
// Small dense linear algebra (symmetric positive definite systems of a few variables).
// ---------------------------------------------------------------------------------------

/// Lower Cholesky factor of a symmetric positive definite matrix.
fn cholesky(a: &[Vec<f64>], what: &'static str) -> Result<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return Err(Error::Singular { what });
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Ok(l)
}

/// Solves `L Lᵀ x = b`.
fn chol_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = l.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i][i];
    }
    x
}

/// Inverse of a symmetric positive definite matrix.
fn spd_inverse(a: &[Vec<f64>], what: &'static str) -> Result<Vec<Vec<f64>>> {
    let n = a.len();
    let l = cholesky(a, what)?;
    let mut inv = vec![vec![0.0; n]; n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = chol_solve(&l, &e);
        for i in 0..n {
            inv[i][j] = col[i];
        }
    }
    // symmetrise
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (inv[i][j] + inv[j][i]);
            inv[i][j] = v;
            inv[j][i] = v;
        }
    }
    Ok(inv)
}

fn sub_matrix(a: &[Vec<f64>], rows: &[usize], cols: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|&i| cols.iter().map(|&j| a[i][j]).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Input checks and missingness patterns
// ---------------------------------------------------------------------------------------

/// Checks a row-major matrix: non-empty, rectangular, values finite or NaN. Returns the
/// number of columns.
fn check_matrix(what: &'static str, data: &[Vec<f64>]) -> Result<usize> {
    let p = data.first().map_or(0, Vec::len);
    if data.is_empty() || p == 0 {
        return Err(Error::BadShape {
            what,
            expected: "at least one row and one column",
            rows: data.len(),
            cols: p,
        });
    }
    for row in data {
        if row.len() != p {
            return Err(Error::BadShape {
                what,
                expected: "rows of equal length",
                rows: data.len(),
                cols: row.len(),
            });
        }
        if let Some(&v) = row.iter().find(|v| v.is_infinite()) {
            return Err(Error::InvalidValue {
                what,
                value: v,
                expected: "finite values or NaN",
            });
        }
    }
    Ok(p)
}

/// Rows grouped by missingness pattern: `(observed column indices, row indices)`, in
/// order of first appearance.
fn patterns(data: &[Vec<f64>]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut out: Vec<(Vec<bool>, Vec<usize>, Vec<usize>)> = Vec::new();
    for (i, row) in data.iter().enumerate() {
        let key: Vec<bool> = row.iter().map(|v| !v.is_nan()).collect();
        match out.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, rows)) => rows.push(i),
            None => {
                let obs = key
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| **o)
                    .map(|(j, _)| j)
                    .collect();
                out.push((key, obs, vec![i]));
            }
        }
    }
    out.into_iter().map(|(_, o, r)| (o, r)).collect()
}

// ---------------------------------------------------------------------------------------
// EM estimates and Little's test
// ---------------------------------------------------------------------------------------

/// Settings of the EM algorithm for a multivariate normal with missing values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmOptions {
    /// Most iterations before [`Error::NoConvergence`].
    pub max_iter: usize,
    /// Stop when no mean or covariance entry moves by more than `tol · (1 + |value|)`.
    pub tol: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        Self {
            max_iter: 10_000,
            tol: 1e-12,
        }
    }
}

/// Mean vector and covariance matrix estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanCov {
    /// Mean of each column.
    pub mean: Vec<f64>,
    /// Covariance matrix (row-major, symmetric).
    pub cov: Vec<Vec<f64>>,
    /// EM iterations used (0 for the pairwise estimate).
    pub iterations: usize,
}

/// Maximum-likelihood mean and covariance of a multivariate normal sample with values
/// missing at random, by the EM algorithm (Dempster, Laird & Rubin 1977; Little & Rubin
/// 2002, §11.2). The covariance has the ML (`1/n`) denominator, as R `norm::em.norm`.
/// Rows with every value missing carry no information and are ignored. Starts from the
/// available-case means and variances.
///
/// # Errors
/// [`Error::BadShape`] / [`Error::InvalidValue`] for a malformed matrix,
/// [`Error::TooFew`] for a column with fewer than 2 observed values,
/// [`Error::Singular`] for a degenerate covariance,
/// [`Error::NoConvergence`] after `max_iter` iterations.
pub fn em_mean_cov(data: &[Vec<f64>], opts: EmOptions) -> Result<MeanCov> {
    const WHAT: &str = "em_mean_cov";
    let p = check_matrix(WHAT, data)?;
    let pats: Vec<(Vec<usize>, Vec<usize>)> = patterns(data)
        .into_iter()
        .filter(|(o, _)| !o.is_empty())
        .collect();
    let n: usize = pats.iter().map(|(_, r)| r.len()).sum();
    let (mut mean, var) = available_mean_var(WHAT, data, p)?;
    let mut cov = vec![vec![0.0; p]; p];
    for j in 0..p {
        cov[j][j] = var[j];
    }
    for it in 1..=opts.max_iter {
        let mut t1 = vec![0.0; p];
        let mut t2 = vec![vec![0.0; p]; p];
        for (obs, rows) in &pats {
            let mis: Vec<usize> = (0..p).filter(|j| !obs.contains(j)).collect();
            // Regression of the missing on the observed: B = Σ_mo Σ_oo⁻¹, C = Σ_mm − B Σ_om.
            let (b, c) = if mis.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                let soo_inv = spd_inverse(&sub_matrix(&cov, obs, obs), WHAT)?;
                let smo = sub_matrix(&cov, &mis, obs);
                let b: Vec<Vec<f64>> = smo
                    .iter()
                    .map(|r| {
                        (0..obs.len())
                            .map(|k| r.iter().zip(&soo_inv).map(|(x, col)| x * col[k]).sum())
                            .collect()
                    })
                    .collect();
                let c: Vec<Vec<f64>> = (0..mis.len())
                    .map(|a| {
                        (0..mis.len())
                            .map(|d| {
                                cov[mis[a]][mis[d]]
                                    - (0..obs.len()).map(|k| b[a][k] * smo[d][k]).sum::<f64>()
                            })
                            .collect()
                    })
                    .collect();
                (b, c)
            };
            for &i in rows {
                let mut x = data[i].clone();
                for (a, &jm) in mis.iter().enumerate() {
                    x[jm] = mean[jm]
                        + obs
                            .iter()
                            .enumerate()
                            .map(|(k, &jo)| b[a][k] * (data[i][jo] - mean[jo]))
                            .sum::<f64>();
                }
                for j in 0..p {
                    t1[j] += x[j];
                    for k in 0..=j {
                        t2[j][k] += x[j] * x[k];
                    }
                }
                for (a, &ja) in mis.iter().enumerate() {
                    for (d, &jd) in mis.iter().enumerate() {
                        if jd <= ja {
                            t2[ja][jd] += c[a][d];
                        }
                    }
                }
            }
        }
        let nf = n as f64;
        let new_mean: Vec<f64> = t1.iter().map(|v| v / nf).collect();
        let mut new_cov = vec![vec![0.0; p]; p];
        for j in 0..p {
            for k in 0..=j {
                let v = t2[j][k] / nf - new_mean[j] * new_mean[k];
                new_cov[j][k] = v;
                new_cov[k][j] = v;
            }
        }
        let moved = |a: f64, b: f64| (a - b).abs() > opts.tol * (1.0 + b.abs());
        let changed = (0..p).any(|j| {
            moved(new_mean[j], mean[j]) || (0..p).any(|k| moved(new_cov[j][k], cov[j][k]))
        });
        mean = new_mean;
        cov = new_cov;
        if !changed {
            return Ok(MeanCov {
                mean,
                cov,
                iterations: it,
            });
        }
    }
    Err(Error::NoConvergence {
        what: WHAT,
        iterations: opts.max_iter,
    })
}

/// Available-case means and ML variances (`1/n`) of each column.
fn available_mean_var(
    what: &'static str,
    data: &[Vec<f64>],
    p: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut mean = vec![0.0; p];
    let mut var = vec![0.0; p];
    for j in 0..p {
        let col: Vec<f64> = data.iter().map(|r| r[j]).filter(|v| !v.is_nan()).collect();
        if col.len() < 2 {
            return Err(Error::TooFew {
                what,
                needed: 2,
                got: col.len(),
            });
        }
        let m = col.iter().sum::<f64>() / col.len() as f64;
        mean[j] = m;
        var[j] = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / col.len() as f64;
    }
    Ok((mean, var))
}

/// Pairwise-available estimates: column means over observed values, covariances over
/// rows where both columns are observed (each pair with its own means, `n − 1`
/// denominator), as pandas' `DataFrame.mean()` / `DataFrame.cov()`.
///
/// # Errors
/// As [`em_mean_cov`]; [`Error::TooFew`] for a pair of columns observed together in
/// fewer than 2 rows.
pub fn pairwise_mean_cov(data: &[Vec<f64>]) -> Result<MeanCov> {
    const WHAT: &str = "pairwise_mean_cov";
    let p = check_matrix(WHAT, data)?;
    let (mean, _) = available_mean_var(WHAT, data, p)?;
    let mut cov = vec![vec![0.0; p]; p];
    for j in 0..p {
        for k in 0..=j {
            let pairs: Vec<(f64, f64)> = data
                .iter()
                .filter(|r| !r[j].is_nan() && !r[k].is_nan())
                .map(|r| (r[j], r[k]))
                .collect();
            if pairs.len() < 2 {
                return Err(Error::TooFew {
                    what: WHAT,
                    needed: 2,
                    got: pairs.len(),
                });
            }
            let n = pairs.len() as f64;
            let mj = pairs.iter().map(|x| x.0).sum::<f64>() / n;
            let mk = pairs.iter().map(|x| x.1).sum::<f64>() / n;
            let c = pairs.iter().map(|(a, b)| (a - mj) * (b - mk)).sum::<f64>() / (n - 1.0);
            cov[j][k] = c;
            cov[k][j] = c;
        }
    }
    Ok(MeanCov {
        mean,
        cov,
        iterations: 0,
    })
}

/// Which mean and covariance estimates Little's statistic is built on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum McarEstimator {
    /// Maximum likelihood by EM (Little 1988; R `naniar::mcar_test`). The default.
    Em(EmOptions),
    /// Pairwise-available estimates (Python `pyampute` / `mcartest`).
    Pairwise,
}

impl Default for McarEstimator {
    fn default() -> Self {
        McarEstimator::Em(EmOptions::default())
    }
}

/// Result of Little's MCAR test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LittleMcar {
    /// `d² = Σ_j n_j (ȳ_j − μ_j)ᵀ Σ_j⁻¹ (ȳ_j − μ_j)` over missingness patterns `j`.
    pub statistic: f64,
    /// `Σ_j p_j − p`, with `p_j` the observed variables of pattern `j`.
    pub df: usize,
    /// Upper-tail chi-square p-value; small values speak against MCAR.
    pub p_value: f64,
    /// Missingness patterns with at least one observed value.
    pub patterns: usize,
    /// Rows used (rows with every value missing are dropped).
    pub rows_used: usize,
    /// The mean and covariance estimates used.
    pub estimates: MeanCov,
}

/// Little's (1988, *JASA* 83:1198) chi-square test of the hypothesis that data are
/// missing completely at random.
///
/// Rows with every value missing are dropped (they have no observed mean to compare).
///
/// # Errors
/// Those of the estimator; [`Error::TooFew`] when there is only one missingness pattern
/// (nothing missing, or every row missing the same columns): `df = 0` and the test is
/// undefined.
pub fn little_mcar_test(data: &[Vec<f64>], estimator: McarEstimator) -> Result<LittleMcar> {
    const WHAT: &str = "little_mcar_test";
    let p = check_matrix(WHAT, data)?;
    let estimates = match estimator {
        McarEstimator::Em(opts) => em_mean_cov(data, opts)?,
        McarEstimator::Pairwise => pairwise_mean_cov(data)?,
    };
    let pats: Vec<(Vec<usize>, Vec<usize>)> = patterns(data)
        .into_iter()
        .filter(|(o, _)| !o.is_empty())
        .collect();
    let df_sum: usize = pats.iter().map(|(o, _)| o.len()).sum();
    if pats.len() < 2 || df_sum <= p {
        return Err(Error::TooFew {
            what: "little_mcar_test (missingness patterns)",
            needed: 2,
            got: pats.len(),
        });
    }
    let mut d2 = 0.0;
    for (obs, rows) in &pats {
        let nj = rows.len() as f64;
        let diff: Vec<f64> = obs
            .iter()
            .map(|&j| rows.iter().map(|&i| data[i][j]).sum::<f64>() / nj - estimates.mean[j])
            .collect();
        let l = cholesky(&sub_matrix(&estimates.cov, obs, obs), WHAT)?;
        let sol = chol_solve(&l, &diff);
        d2 += nj * diff.iter().zip(&sol).map(|(a, b)| a * b).sum::<f64>();
    }
    let df = df_sum - p;
    Ok(LittleMcar {
        statistic: d2,
        df,
        p_value: chi2_sf(d2, df as f64),
        patterns: pats.len(),
        rows_used: pats.iter().map(|(_, r)| r.len()).sum(),
        estimates,
    })
}

// ---------------------------------------------------------------------------------------
// Rubin's rules
// ---------------------------------------------------------------------------------------

/// Degrees of freedom for a pooled estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PoolDf {
    /// Rubin (1987): `ν = (m − 1) / λ²` (infinite complete-data df).
    Rubin1987,
    /// Barnard & Rubin (1999) small-sample df with the complete-data df
    /// `df_complete` (e.g. `n − k` for a regression with `k` coefficients):
    /// `ν_obs = (ν_com + 1)/(ν_com + 3) · ν_com (1 − λ)`, `ν = ν_old ν_obs / (ν_old + ν_obs)`.
    /// What R `mice::pool` uses.
    BarnardRubin {
        /// Complete-data degrees of freedom.
        df_complete: f64,
    },
}

/// An estimate pooled over `m` imputations by Rubin's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PooledEstimate {
    /// Number of imputations.
    pub m: usize,
    /// Pooled estimate `q̄`, the mean of the estimates.
    pub estimate: f64,
    /// Within-imputation variance `ū`, the mean of the variances.
    pub within: f64,
    /// Between-imputation variance `b` (`m − 1` denominator).
    pub between: f64,
    /// Total variance `t = ū + (1 + 1/m) b`.
    pub total: f64,
    /// Standard error `√t`.
    pub std_error: f64,
    /// Relative increase in variance `r = (1 + 1/m) b / ū`.
    pub riv: f64,
    /// Proportion of variance due to missingness `λ = (1 + 1/m) b / t` (before the floor
    /// used for the df).
    pub lambda: f64,
    /// Fraction of missing information `(r + 2/(ν + 3)) / (r + 1)`.
    pub fmi: f64,
    /// Degrees of freedom `ν`.
    pub df: f64,
    /// Confidence interval `q̄ ± t_{ν, 1−α/2} √t`.
    pub ci: (f64, f64),
    /// Confidence level of `ci`.
    pub confidence: f64,
    /// Two-sided p-value of `q̄ = 0` on `ν` df.
    pub p_value: f64,
}

/// Pools `m ≥ 2` point estimates and their squared standard errors by Rubin's rules,
/// exactly as R `mice::pool.scalar(Q, U, n, k)` (with `PoolDf::BarnardRubin
/// { df_complete: n − k }`; `PoolDf::Rubin1987` is `n = Inf`). As in mice, `λ` is floored
/// at 1e-4 inside the df formula, so `b = 0` gives a large finite df instead of ∞.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::TooFew`] for `m < 2`, [`Error::InvalidValue`] for
/// a non-finite estimate, a negative variance, a non-positive `df_complete`, a
/// confidence outside (0, 1); [`Error::ZeroVariance`] when the total variance is zero.
pub fn pool_scalar(
    estimates: &[f64],
    variances: &[f64],
    df: PoolDf,
    confidence: f64,
) -> Result<PooledEstimate> {
    const WHAT: &str = "pool_scalar";
    if estimates.len() != variances.len() {
        return Err(Error::LengthMismatch {
            what: WHAT,
            left: estimates.len(),
            right: variances.len(),
        });
    }
    let m = estimates.len();
    if m < 2 {
        return Err(Error::TooFew {
            what: WHAT,
            needed: 2,
            got: m,
        });
    }
    if let Some(&v) = estimates.iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidValue {
            what: WHAT,
            value: v,
            expected: "finite estimates",
        });
    }
    if let Some(&v) = variances.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::InvalidValue {
            what: WHAT,
            value: v,
            expected: "finite variances >= 0",
        });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::InvalidValue {
            what: "confidence",
            value: confidence,
            expected: "(0, 1)",
        });
    }
    let mf = m as f64;
    let qbar = estimates.iter().sum::<f64>() / mf;
    let ubar = variances.iter().sum::<f64>() / mf;
    let b = estimates
        .iter()
        .map(|q| (q - qbar) * (q - qbar))
        .sum::<f64>()
        / (mf - 1.0);
    let t = ubar + (1.0 + 1.0 / mf) * b;
    if t <= 0.0 {
        return Err(Error::ZeroVariance { what: WHAT });
    }
    let lambda = (1.0 + 1.0 / mf) * b / t;
    let lam = lambda.max(1e-4);
    let df_old = (mf - 1.0) / (lam * lam);
    let nu = match df {
        PoolDf::Rubin1987 => df_old,
        PoolDf::BarnardRubin { df_complete } => {
            if df_complete.is_nan() || df_complete <= 0.0 {
                return Err(Error::InvalidValue {
                    what: "df_complete",
                    value: df_complete,
                    expected: "complete-data df > 0",
                });
            }
            if df_complete.is_infinite() {
                df_old
            } else {
                let df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam);
                df_old * df_obs / (df_old + df_obs)
            }
        }
    };
    let riv = if ubar > 0.0 {
        (1.0 + 1.0 / mf) * b / ubar
    } else {
        f64::INFINITY
    };
    let fmi = if riv.is_finite() {
        (riv + 2.0 / (nu + 3.0)) / (riv + 1.0)
    } else {
        1.0
    };
    let se = t.sqrt();
    let q = t_ppf(0.5 + confidence / 2.0, nu);
    Ok(PooledEstimate {
        m,
        estimate: qbar,
        within: ubar,
        between: b,
        total: t,
        std_error: se,
        riv,
        lambda,
        fmi,
        df: nu,
        ci: (qbar - q * se, qbar + q * se),
        confidence,
        p_value: t_two_sided_p(qbar / se, nu),
    })
}

/// Pools the mean differences of two-sample t-tests run on each imputed data set
/// (estimate `mean_a − mean_b`, variance `se²`), with Barnard–Rubin df on the
/// complete-data df of the first test (`n_a + n_b − 2` for Student's test; for Welch's,
/// its Welch–Satterthwaite df). Equivalent to pooling the `covid` coefficient of
/// `lm(age ~ covid)` in mice for Student's test.
///
/// # Errors
/// As [`pool_scalar`]; [`Error::InvalidValue`] if the tests mix kinds.
pub fn pool_t_tests(tests: &[TTest], confidence: f64) -> Result<PooledEstimate> {
    let first = tests.first().ok_or(Error::TooFew {
        what: "pool_t_tests",
        needed: 2,
        got: 0,
    })?;
    if tests.iter().any(|t| t.kind != first.kind) {
        return Err(Error::InvalidValue {
            what: "pool_t_tests",
            value: f64::NAN,
            expected: "t-tests of one kind",
        });
    }
    let df_complete = match first.kind {
        TTestKind::Student => (first.n_a + first.n_b) as f64 - 2.0,
        TTestKind::Welch => first.df,
    };
    let q: Vec<f64> = tests.iter().map(|t| t.mean_difference).collect();
    let u: Vec<f64> = tests.iter().map(|t| t.std_error * t.std_error).collect();
    pool_scalar(&q, &u, PoolDf::BarnardRubin { df_complete }, confidence)
}

// ---------------------------------------------------------------------------------------
// MICE
// ---------------------------------------------------------------------------------------

/// How a column is imputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImputationMethod {
    /// Predictive mean matching (mice `pmm`): numeric columns.
    Pmm,
    /// Bayesian logistic regression (mice `logreg`): 0/1 columns.
    LogReg,
    /// Not imputed (complete columns, or columns left as they are; their NaNs stay and
    /// they are then not used as predictors).
    Skip,
}

/// Settings of [`mice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiceOptions {
    /// Number of imputed data sets.
    pub m: usize,
    /// Iterations of the chained equations.
    pub max_iter: usize,
    /// Donors per missing value in predictive mean matching.
    pub donors: usize,
    /// Ridge penalty, relative to the diagonal of `XᵀX` (mice default 1e-5); also keeps
    /// the logistic fit finite under separation.
    pub ridge: f64,
    /// Method per column; `None` chooses: complete → `Skip`, observed values all 0/1 →
    /// `LogReg`, otherwise `Pmm`.
    pub methods: Option<Vec<ImputationMethod>>,
}

impl Default for MiceOptions {
    fn default() -> Self {
        Self {
            m: 5,
            max_iter: 10,
            donors: 5,
            ridge: 1e-5,
            methods: None,
        }
    }
}

impl MiceOptions {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |what, value: f64, expected| {
            Err(Error::InvalidValue {
                what,
                value,
                expected,
            })
        };
        if self.m < 1 {
            return bad("MiceOptions.m", self.m as f64, "at least 1 imputation");
        }
        if self.max_iter < 1 {
            return bad(
                "MiceOptions.max_iter",
                self.max_iter as f64,
                "at least 1 iteration",
            );
        }
        if self.donors < 1 {
            return bad("MiceOptions.donors", self.donors as f64, "at least 1 donor");
        }
        if !(self.ridge >= 0.0 && self.ridge.is_finite()) {
            return bad("MiceOptions.ridge", self.ridge, "a finite ridge >= 0");
        }
        Ok(())
    }
}

/// The `m` completed data sets of [`mice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiceResult {
    /// Completed data sets, row-major as the input.
    pub datasets: Vec<Vec<Vec<f64>>>,
    /// Method used per column.
    pub methods: Vec<ImputationMethod>,
}

/// Multiple imputation by chained equations (van Buuren & Groothuis-Oudshoorn 2011).
///
/// For each of the `m` imputations (on ChaCha8 stream `i` of `seed`): missing values
/// start as random draws from the column's observed values; then, `max_iter` times,
/// each incomplete column is regressed on all other imputed/complete columns (plus an
/// intercept) over its observed rows and its missing values re-drawn:
///
/// * `Pmm`: `β̂` by ridge-stabilised least squares, `σ*² = RSS / χ²_{n_obs − k}`,
///   `β* = β̂ + σ* L z` (`L Lᵀ = (XᵀX)⁻¹`); each missing value takes the observed value
///   of a donor chosen at random among the `donors` observed rows whose `Xβ̂` is closest
///   to its `Xβ*` (type-1 matching); ties are broken by a random order drawn once per
///   column update, as mice's `matchindex` does.
/// * `LogReg`: `β̂` and its covariance `V` by IRLS (ridge-penalised), `β* = β̂ + L z`
///   (`L Lᵀ = V`), `y = 1` with probability `logistic(Xβ*)`. The penalty is
///   `max(ridge, 1e-4) · diag(XᵀX)/4`; mice instead augments the data to handle
///   separation, the penalty plays that role here.
///
/// # Errors
/// Malformed data ([`Error::BadShape`], [`Error::InvalidValue`]); invalid options;
/// [`Error::TooFew`] for a column to impute with fewer than 2 observed values;
/// [`Error::InvalidValue`] for a `LogReg` column with a value other than 0/1;
/// [`Error::Singular`] / [`Error::NoConvergence`] from a degenerate fit.
pub fn mice(data: &[Vec<f64>], opts: &MiceOptions, seed: u64) -> Result<MiceResult> {
    const WHAT: &str = "mice";
    let p = check_matrix(WHAT, data)?;
    opts.validate()?;
    let methods = match &opts.methods {
        Some(m) if m.len() != p => {
            return Err(Error::LengthMismatch {
                what: "MiceOptions.methods",
                left: m.len(),
                right: p,
            });
        }
        Some(m) => m.clone(),
        None => (0..p)
            .map(|j| {
                let obs = data.iter().map(|r| r[j]).filter(|v| !v.is_nan());
                if data.iter().all(|r| !r[j].is_nan()) {
                    ImputationMethod::Skip
                } else if obs.clone().all(|v| v == 0.0 || v == 1.0) {
                    ImputationMethod::LogReg
                } else {
                    ImputationMethod::Pmm
                }
            })
            .collect(),
    };
    let mut targets = Vec::new();
    for (j, &method) in methods.iter().enumerate() {
        let observed: Vec<usize> = (0..data.len()).filter(|&i| !data[i][j].is_nan()).collect();
        if method == ImputationMethod::Skip || observed.len() == data.len() {
            continue;
        }
        if observed.len() < 2 {
            return Err(Error::TooFew {
                what: "mice (observed values of a column)",
                needed: 2,
                got: observed.len(),
            });
        }
        if method == ImputationMethod::LogReg
            && let Some(&i) = observed
                .iter()
                .find(|&&i| data[i][j] != 0.0 && data[i][j] != 1.0)
        {
            return Err(Error::InvalidValue {
                what: "mice (logreg column)",
                value: data[i][j],
                expected: "0/1 values",
            });
        }
        targets.push(j);
    }
    // Predictors of column j: every other column that is complete after imputation.
    let usable: Vec<bool> = (0..p)
        .map(|j| targets.contains(&j) || data.iter().all(|r| !r[j].is_nan()))
        .collect();
    let datasets = (0..opts.m)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            impute_once(data, &methods, &targets, &usable, opts, &mut rng)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MiceResult { datasets, methods })
}

fn impute_once(
    data: &[Vec<f64>],
    methods: &[ImputationMethod],
    targets: &[usize],
    usable: &[bool],
    opts: &MiceOptions,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<f64>>> {
    let n = data.len();
    let p = usable.len();
    let mut x: Vec<Vec<f64>> = data.to_vec();
    let miss: Vec<Vec<usize>> = (0..p)
        .map(|j| (0..n).filter(|&i| data[i][j].is_nan()).collect())
        .collect();
    let obs: Vec<Vec<usize>> = (0..p)
        .map(|j| (0..n).filter(|&i| !data[i][j].is_nan()).collect())
        .collect();
    // Initial fill: random draws from the observed values.
    for &j in targets {
        for &i in &miss[j] {
            let donor = obs[j][rng.random_range(0..obs[j].len())];
            x[i][j] = data[donor][j];
        }
    }
    for _ in 0..opts.max_iter {
        for &j in targets {
            let preds: Vec<usize> = (0..p).filter(|&k| k != j && usable[k]).collect();
            let design = |i: usize| {
                let mut row = Vec::with_capacity(preds.len() + 1);
                row.push(1.0);
                row.extend(preds.iter().map(|&k| x[i][k]));
                row
            };
            let xo: Vec<Vec<f64>> = obs[j].iter().map(|&i| design(i)).collect();
            let yo: Vec<f64> = obs[j].iter().map(|&i| data[i][j]).collect();
            let xm: Vec<Vec<f64>> = miss[j].iter().map(|&i| design(i)).collect();
            let draws = match methods[j] {
                ImputationMethod::Pmm => pmm(&xo, &yo, &xm, opts, rng)?,
                ImputationMethod::LogReg => logreg(&xo, &yo, &xm, opts.ridge, rng)?,
                ImputationMethod::Skip => continue,
            };
            for (&i, v) in miss[j].iter().zip(draws) {
                x[i][j] = v;
            }
        }
    }
    Ok(x)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `XᵀX` (or `XᵀWX`) with mice's ridge on the diagonal.
fn gram(x: &[Vec<f64>], w: Option<&[f64]>, ridge: f64) -> Vec<Vec<f64>> {
    let k = x[0].len();
    let mut g = vec![vec![0.0; k]; k];
    for (i, row) in x.iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        for a in 0..k {
            for b in 0..=a {
                g[a][b] += wi * row[a] * row[b];
            }
        }
    }
    for a in 0..k {
        for b in 0..a {
            g[b][a] = g[a][b];
        }
        g[a][a] += ridge * g[a][a] + 1e-12;
    }
    g
}

fn standard_normals(k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..k).map(|_| StandardNormal.sample(rng)).collect()
}

/// `beta + L z · scale`, `L` the Cholesky factor of `v`.
fn perturb(beta: &[f64], v: &[Vec<f64>], scale: f64, rng: &mut ChaCha8Rng) -> Result<Vec<f64>> {
    let l = cholesky(v, "mice (coefficient draw)")?;
    let z = standard_normals(beta.len(), rng);
    Ok(beta
        .iter()
        .enumerate()
        .map(|(a, b)| b + scale * (0..=a).map(|c| l[a][c] * z[c]).sum::<f64>())
        .collect())
}

fn pmm(
    xo: &[Vec<f64>],
    yo: &[f64],
    xm: &[Vec<f64>],
    opts: &MiceOptions,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>> {
    let k = xo[0].len();
    let g = gram(xo, None, opts.ridge);
    let v = spd_inverse(&g, "mice (pmm normal equations)")?;
    let xty: Vec<f64> = (0..k)
        .map(|a| xo.iter().zip(yo).map(|(r, y)| r[a] * y).sum())
        .collect();
    let beta: Vec<f64> = (0..k).map(|a| dot(&v[a], &xty)).collect();
    let rss: f64 = xo
        .iter()
        .zip(yo)
        .map(|(r, y)| (y - dot(r, &beta)).powi(2))
        .sum();
    let df = (yo.len() as f64 - k as f64).max(1.0);
    let chi: f64 = ChiSquared::new(df)
        .map_err(|_| Error::InvalidValue {
            what: "mice (pmm df)",
            value: df,
            expected: "> 0",
        })?
        .sample(rng);
    let sigma = (rss / chi).sqrt();
    let beta_star = perturb(&beta, &v, sigma, rng)?;
    let yhat_obs: Vec<f64> = xo.iter().map(|r| dot(r, &beta)).collect();
    let d = opts.donors.min(yo.len());
    // Ties in the predicted means (common with categorical predictors) are broken by a
    // random rank drawn once per call, as mice's `matchindex` shuffles the donors first;
    // a fixed tie order would always pick the same donors and shrink the
    // between-imputation variance.
    let mut rank: Vec<usize> = (0..yo.len()).collect();
    for i in (1..rank.len()).rev() {
        rank.swap(i, rng.random_range(0..=i));
    }
    let mut order: Vec<usize> = (0..yo.len()).collect();
    Ok(xm
        .iter()
        .map(|r| {
            let target = dot(r, &beta_star);
            order.select_nth_unstable_by(d - 1, |&a, &b| {
                (yhat_obs[a] - target)
                    .abs()
                    .total_cmp(&(yhat_obs[b] - target).abs())
                    .then(rank[a].cmp(&rank[b]))
            });
            yo[order[rng.random_range(0..d)]]
        })
        .collect())
}

fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn logreg(
    xo: &[Vec<f64>],
    yo: &[f64],
    xm: &[Vec<f64>],
    ridge: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>> {
    const WHAT: &str = "mice (logistic regression)";
    let k = xo[0].len();
    // Penalty fixed from XᵀX/4 (the information at p = 1/2) so the objective is fixed.
    let pen: Vec<f64> = {
        let g = gram(xo, None, 0.0);
        (0..k).map(|a| ridge.max(1e-4) * 0.25 * g[a][a]).collect()
    };
    let mut beta = vec![0.0; k];
    let mut converged = false;
    let mut info = Vec::new();
    for _ in 0..100 {
        let mu: Vec<f64> = xo.iter().map(|r| logistic(dot(r, &beta))).collect();
        let w: Vec<f64> = mu.iter().map(|m| (m * (1.0 - m)).max(1e-10)).collect();
        let mut h = gram(xo, Some(&w), 0.0);
        for a in 0..k {
            h[a][a] += pen[a];
        }
        let grad: Vec<f64> = (0..k)
            .map(|a| {
                xo.iter()
                    .zip(yo)
                    .zip(&mu)
                    .map(|((r, y), m)| r[a] * (y - m))
                    .sum::<f64>()
                    - pen[a] * beta[a]
            })
            .collect();
        let l = cholesky(&h, WHAT)?;
        let step = chol_solve(&l, &grad);
        for a in 0..k {
            beta[a] += step[a];
        }
        info = h;
        if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-10 {
            converged = true;
            break;
        }
    }
    if !converged {
        return Err(Error::NoConvergence {
            what: WHAT,
            iterations: 100,
        });
    }
    let v = spd_inverse(&info, WHAT)?;
    let beta_star = perturb(&beta, &v, 1.0, rng)?;
    Ok(xm
        .iter()
        .map(|r| {
            if rng.random::<f64>() < logistic(dot(r, &beta_star)) {
                1.0
            } else {
                0.0
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_inverse_inverts() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let inv = spd_inverse(&a, "t").unwrap();
        assert!((inv[0][0] - 3.0 / 11.0).abs() < 1e-15);
        assert!((inv[0][1] + 1.0 / 11.0).abs() < 1e-15);
        assert!(matches!(
            spd_inverse(&[vec![1.0, 2.0], vec![2.0, 1.0]], "t"),
            Err(Error::Singular { .. })
        ));
    }

    #[test]
    fn patterns_group_rows() {
        let nan = f64::NAN;
        let d = vec![vec![1.0, nan], vec![2.0, 3.0], vec![4.0, nan]];
        let p = patterns(&d);
        assert_eq!(p, vec![(vec![0], vec![0, 2]), (vec![0, 1], vec![1])]);
    }
}
