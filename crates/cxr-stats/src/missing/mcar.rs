//! EM and pairwise-available estimates of the mean and covariance, and Little's MCAR test.

use serde::{Deserialize, Serialize};

use super::linalg::{chol_solve, cholesky, spd_inverse, sub_matrix};
use super::{check_matrix, patterns};
use crate::hypothesis::chi2_sf;
use crate::{Error, Result};

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
