//! Rubin's rules: pooling an estimate over imputed data sets.

use serde::{Deserialize, Serialize};

use crate::hypothesis::{TTest, TTestKind, t_ppf, t_two_sided_p};
use crate::{Error, Result};

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
