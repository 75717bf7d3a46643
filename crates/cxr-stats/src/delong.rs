//! DeLong's variance of the AUC, its confidence interval, and the paired DeLong test of
//! two models scored on the same units.
//!
//! Uses the `O(n log n)` algorithm of Sun & Xu (2014, *IEEE Signal Processing Letters*
//! 21(11)): the placement values ("structural components") come from three mid-rankings
//! (positives, negatives, all) instead of the `O(P·N)` pairwise kernel. The estimator is
//! the one of DeLong, DeLong & Clarke-Pearson (1988) as pROC implements it (sample
//! variances with `m − 1` and `n − 1` denominators); the interval is
//! `AUC ± z·SE`, clipped to `[0, 1]` as pROC's `ci.auc(method = "delong")` does.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{Error, Result};
use crate::proportion::{Interval, z_for_level};
use crate::roc::{check_binary, midranks};

/// An AUC with its DeLong variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DelongAuc {
    /// The AUC (Mann–Whitney, ties ½).
    pub auc: f64,
    /// DeLong's variance estimate.
    pub variance: f64,
    /// Number of positives.
    pub positives: usize,
    /// Number of negatives.
    pub negatives: usize,
}

impl DelongAuc {
    /// Standard error (`√variance`).
    pub fn se(&self) -> f64 {
        self.variance.sqrt()
    }

    /// `AUC ± z·SE` at confidence `level`, clipped to `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] unless `0 < level < 1`.
    pub fn ci(&self, level: f64) -> Result<Interval> {
        let z = z_for_level(level)?;
        let h = z * self.se();
        Ok([(self.auc - h).max(0.0), (self.auc + h).min(1.0)])
    }
}

/// The placement values of one model: `v10[i]` for each positive (fraction of negatives
/// it beats, ties ½) and `v01[j]` for each negative (fraction of positives that beat it).
struct Placements {
    auc: f64,
    v10: Vec<f64>,
    v01: Vec<f64>,
}

fn placements(scores: &[f64], labels: &[bool]) -> Placements {
    let pos: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| *s)
        .collect();
    let (m, n) = (pos.len(), neg.len());
    let mut all = pos.clone();
    all.extend_from_slice(&neg);
    let tx = midranks(&pos);
    let ty = midranks(&neg);
    let tz = midranks(&all);
    let (mf, nf) = (m as f64, n as f64);
    let v10: Vec<f64> = (0..m).map(|i| (tz[i] - tx[i]) / nf).collect();
    let v01: Vec<f64> = (0..n).map(|j| 1.0 - (tz[m + j] - ty[j]) / mf).collect();
    let rank_sum: f64 = tz[..m].iter().sum();
    let auc = (rank_sum - mf * (mf + 1.0) / 2.0) / (mf * nf);
    Placements { auc, v10, v01 }
}

/// Sample covariance (denominator `len − 1`).
fn cov(a: &[f64], b: &[f64]) -> f64 {
    let k = a.len() as f64;
    let ma = a.iter().sum::<f64>() / k;
    let mb = b.iter().sum::<f64>() / k;
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / (k - 1.0)
}

fn check_delong(what: &'static str, scores: &[f64], labels: &[bool]) -> Result<(usize, usize)> {
    let (p, n) = check_binary(what, scores, labels)?;
    if p < 2 || n < 2 {
        return Err(Error::TooFew {
            what,
            needed: 2,
            got: p.min(n),
        });
    }
    Ok((p, n))
}

/// AUC and DeLong variance of one model.
///
/// # Errors
/// As [`crate::roc::roc_curve`], plus [`Error::TooFew`] with fewer than two positives or
/// two negatives (the variance needs both).
pub fn delong(scores: &[f64], labels: &[bool]) -> Result<DelongAuc> {
    let (positives, negatives) = check_delong("DeLong variance", scores, labels)?;
    let p = placements(scores, labels);
    let variance = cov(&p.v10, &p.v10) / positives as f64 + cov(&p.v01, &p.v01) / negatives as f64;
    Ok(DelongAuc {
        auc: p.auc,
        variance,
        positives,
        negatives,
    })
}

/// AUCs of several models on the same units and their DeLong covariance matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelongCovariance {
    /// AUC of each model.
    pub aucs: Vec<f64>,
    /// `covariance[r][s]` between the AUCs of models `r` and `s`.
    pub covariance: Vec<Vec<f64>>,
}

/// DeLong covariance of the AUCs of `models` (each a score per unit) against `labels`.
///
/// # Errors
/// As [`delong`] for each model.
pub fn delong_covariance(models: &[&[f64]], labels: &[bool]) -> Result<DelongCovariance> {
    let mut ps = Vec::with_capacity(models.len());
    let (mut m, mut n) = (0, 0);
    for scores in models {
        (m, n) = check_delong("DeLong covariance", scores, labels)?;
        ps.push(placements(scores, labels));
    }
    let k = ps.len();
    let mut covariance = vec![vec![0.0; k]; k];
    for r in 0..k {
        for s in r..k {
            let c = cov(&ps[r].v10, &ps[s].v10) / m as f64 + cov(&ps[r].v01, &ps[s].v01) / n as f64;
            covariance[r][s] = c;
            covariance[s][r] = c;
        }
    }
    Ok(DelongCovariance {
        aucs: ps.iter().map(|p| p.auc).collect(),
        covariance,
    })
}

/// The paired DeLong test of `H₀: AUC₁ = AUC₂` (pROC's `roc.test(method = "delong",
/// paired = TRUE)`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDelong {
    /// AUC of the first model.
    pub auc1: f64,
    /// AUC of the second model.
    pub auc2: f64,
    /// Standard error of `auc1 − auc2`.
    pub se_diff: f64,
    /// `(auc1 − auc2) / se_diff`. `0` when both the difference and its SE are zero
    /// (identical rankings); `±inf` when only the SE is zero.
    pub z: f64,
    /// Two-sided p-value `2·Φ(−|z|)`.
    pub p_value: f64,
    /// Interval of `auc1 − auc2` at the requested level.
    pub ci_diff: Interval,
}

/// Paired DeLong test of two models scored on the same units, at confidence `level` for
/// the difference's interval.
///
/// # Errors
/// As [`delong`], [`Error::LengthMismatch`] if the models differ in length.
pub fn delong_paired_test(
    scores1: &[f64],
    scores2: &[f64],
    labels: &[bool],
    level: f64,
) -> Result<PairedDelong> {
    if scores1.len() != scores2.len() {
        return Err(Error::LengthMismatch {
            what: "paired DeLong test",
            left: scores1.len(),
            right: scores2.len(),
        });
    }
    let zq = z_for_level(level)?;
    let c = delong_covariance(&[scores1, scores2], labels)?;
    let diff = c.aucs[0] - c.aucs[1];
    let var = (c.covariance[0][0] + c.covariance[1][1] - 2.0 * c.covariance[0][1]).max(0.0);
    let se = var.sqrt();
    let z = if se == 0.0 {
        if diff == 0.0 {
            0.0
        } else {
            diff.signum() * f64::INFINITY
        }
    } else {
        diff / se
    };
    let normal = Normal::standard();
    let p_value = 2.0 * normal.cdf(-z.abs());
    Ok(PairedDelong {
        auc1: c.aucs[0],
        auc2: c.aucs[1],
        se_diff: se,
        z,
        p_value,
        ci_diff: [diff - zq * se, diff + zq * se],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive `O(P·N)` DeLong with the pairwise kernel, to check the fast algorithm.
    fn naive(scores: &[f64], labels: &[bool]) -> (f64, f64) {
        let pos: Vec<f64> = scores
            .iter()
            .zip(labels)
            .filter(|x| *x.1)
            .map(|x| *x.0)
            .collect();
        let neg: Vec<f64> = scores
            .iter()
            .zip(labels)
            .filter(|x| !*x.1)
            .map(|x| *x.0)
            .collect();
        let psi = |x: f64, y: f64| {
            if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            }
        };
        let (m, n) = (pos.len() as f64, neg.len() as f64);
        let v10: Vec<f64> = pos
            .iter()
            .map(|&x| neg.iter().map(|&y| psi(x, y)).sum::<f64>() / n)
            .collect();
        let v01: Vec<f64> = neg
            .iter()
            .map(|&y| pos.iter().map(|&x| psi(x, y)).sum::<f64>() / m)
            .collect();
        let auc = v10.iter().sum::<f64>() / m;
        (auc, cov(&v10, &v10) / m + cov(&v01, &v01) / n)
    }

    #[test]
    fn fast_algorithm_equals_pairwise_kernel() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.65, 0.3];
        let l = [
            false, false, true, true, true, true, false, false, true, false,
        ];
        let d = delong(&s, &l).unwrap();
        let (auc, var) = naive(&s, &l);
        assert!((d.auc - auc).abs() < 1e-15);
        assert!((d.variance - var).abs() < 1e-15);
        assert!(d.variance > 0.0);
    }

    #[test]
    fn perfect_separation_has_zero_variance_and_degenerate_ci() {
        let d = delong(&[0.9, 0.8, 0.2, 0.1], &[true, true, false, false]).unwrap();
        assert_eq!(d.auc, 1.0);
        assert_eq!(d.variance, 0.0);
        assert_eq!(d.ci(0.95).unwrap(), [1.0, 1.0]);
    }

    #[test]
    fn too_few_for_variance() {
        assert!(matches!(
            delong(&[0.9, 0.2, 0.1], &[true, false, false]),
            Err(Error::TooFew {
                needed: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            delong(&[0.9, 0.2], &[true, true]),
            Err(Error::SingleClass { .. })
        ));
    }

    #[test]
    fn identical_models_test_is_not_significant() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.2, 0.7];
        let l = [false, false, true, true, false, true];
        let t = delong_paired_test(&s, &s, &l, 0.95).unwrap();
        assert_eq!(t.z, 0.0);
        assert_eq!(t.p_value, 1.0);
    }
}
