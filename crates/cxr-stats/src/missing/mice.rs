//! Multiple imputation by chained equations: predictive mean matching and Bayesian
//! logistic regression.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_matrix;
use super::linalg::{chol_solve, cholesky, spd_inverse};
use crate::{Error, Result};

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
