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
//! * [`mice`](fn@mice) — chained equations: predictive mean matching for numeric columns
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

// Small dense matrix code reads best with explicit indices (inherited by the submodules).
#![allow(clippy::needless_range_loop)]

mod linalg;
mod mcar;
mod mice;
mod pooling;

pub use mcar::{
    EmOptions, LittleMcar, McarEstimator, MeanCov, em_mean_cov, little_mcar_test, pairwise_mean_cov,
};
pub use mice::{ImputationMethod, MiceOptions, MiceResult, mice};
pub use pooling::{PoolDf, PooledEstimate, pool_scalar, pool_t_tests};

use crate::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_group_rows() {
        let nan = f64::NAN;
        let d = vec![vec![1.0, nan], vec![2.0, 3.0], vec![4.0, nan]];
        let p = patterns(&d);
        assert_eq!(p, vec![(vec![0], vec![0, 2]), (vec![0, 1], vec![1])]);
    }
}
