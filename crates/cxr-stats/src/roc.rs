//! Binary ROC curves and the area under them.
//!
//! Conventions (the same as scikit-learn's `roc_curve` and pROC):
//!
//! - labels are `bool`, `true` = positive (diseased); a higher score means "more positive";
//! - a unit is predicted positive iff `score >= threshold`;
//! - the curve has **one point per distinct score**, in decreasing order of threshold,
//!   preceded by the point `(0, 0)` at threshold `+inf`. This is scikit-learn's
//!   `roc_curve(..., drop_intermediate=False)`: no collinear point is dropped, so every
//!   distinct cutoff can be chosen as an operating point, and tied scores form one point
//!   (a diagonal segment of the curve);
//! - the AUC is the trapezoid area under that curve, which is exactly the Mann–Whitney
//!   statistic `P(score⁺ > score⁻) + ½ P(score⁺ = score⁻)`.
//!
//! A single class present makes these quantities undefined: every function returns
//! [`Error::SingleClass`] rather than `NaN` or `0.0`.
//!
//! The sort is done once in [`RankedScores`]; curves for any weighting of the units (the
//! bootstrap's resampling counts) are then swept in `O(n)` without sorting again.

use crate::diagnostic::ConfusionCounts;
use crate::error::{Error, Result};

/// Checks a binary problem: equal lengths, finite scores, both classes present.
/// Returns `(positives, negatives)`.
pub(crate) fn check_binary(
    what: &'static str,
    scores: &[f64],
    labels: &[bool],
) -> Result<(usize, usize)> {
    if scores.len() != labels.len() {
        return Err(Error::LengthMismatch {
            what,
            left: scores.len(),
            right: labels.len(),
        });
    }
    if scores.is_empty() {
        return Err(Error::TooFew {
            what,
            needed: 2,
            got: 0,
        });
    }
    if let Some(&bad) = scores.iter().find(|s| !s.is_finite()) {
        return Err(Error::InvalidValue {
            what,
            value: bad,
            expected: "a finite score",
        });
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(Error::SingleClass {
            what,
            positives,
            negatives,
        });
    }
    Ok((positives, negatives))
}

/// Scores sorted once, in decreasing order, with runs of tied scores identified.
///
/// Building it costs `O(n log n)`; each [`RankedScores::curve`] afterwards is `O(n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedScores {
    /// Unit indices by decreasing score (ties in index order).
    order: Vec<usize>,
    /// Exclusive end, in `order`, of each run of equal scores.
    group_ends: Vec<usize>,
    /// The distinct scores, decreasing (one per run).
    distinct: Vec<f64>,
}

impl RankedScores {
    /// Sorts `scores` (all must be finite; at least one).
    pub fn new(scores: &[f64]) -> Result<Self> {
        const WHAT: &str = "ranking scores";
        if scores.is_empty() {
            return Err(Error::TooFew {
                what: WHAT,
                needed: 1,
                got: 0,
            });
        }
        if let Some(&bad) = scores.iter().find(|s| !s.is_finite()) {
            return Err(Error::InvalidValue {
                what: WHAT,
                value: bad,
                expected: "a finite score",
            });
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // All finite, so `partial_cmp` is total here; -0.0 and 0.0 compare equal (one run).
        order.sort_by(|&a, &b| {
            scores[b]
                .partial_cmp(&scores[a])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut group_ends = Vec::new();
        let mut distinct = Vec::new();
        for (pos, &i) in order.iter().enumerate() {
            let s = scores[i];
            if distinct.last() != Some(&s) {
                if pos > 0 {
                    group_ends.push(pos);
                }
                distinct.push(s);
            }
        }
        group_ends.push(order.len());
        Ok(Self {
            order,
            group_ends,
            distinct,
        })
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always `false` (construction needs at least one score).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The distinct scores, decreasing.
    pub fn distinct_scores(&self) -> &[f64] {
        &self.distinct
    }

    /// Unit indices by decreasing score.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The ROC curve of these scores against `labels`, each unit counted `weights[i]`
    /// times (`None`: once). Weighted curves are how the bootstrap evaluates a resample
    /// without sorting it.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `labels` or `weights` do not have one entry per unit;
    /// [`Error::SingleClass`] if the (weighted) positives or negatives are zero.
    pub fn curve(&self, labels: &[bool], weights: Option<&[u32]>) -> Result<RocCurve> {
        const WHAT: &str = "ROC curve";
        if labels.len() != self.len() {
            return Err(Error::LengthMismatch {
                what: WHAT,
                left: self.len(),
                right: labels.len(),
            });
        }
        if let Some(w) = weights
            && w.len() != self.len()
        {
            return Err(Error::LengthMismatch {
                what: WHAT,
                left: self.len(),
                right: w.len(),
            });
        }
        let n = self.distinct.len() + 1;
        let mut thresholds = Vec::with_capacity(n);
        let mut tps = Vec::with_capacity(n);
        let mut fps = Vec::with_capacity(n);
        thresholds.push(f64::INFINITY);
        tps.push(0u64);
        fps.push(0u64);
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut start = 0;
        for (g, &end) in self.group_ends.iter().enumerate() {
            for &i in &self.order[start..end] {
                let w = weights.map_or(1, |w| u64::from(w[i]));
                if labels[i] {
                    tp += w;
                } else {
                    fp += w;
                }
            }
            start = end;
            thresholds.push(self.distinct[g]);
            tps.push(tp);
            fps.push(fp);
        }
        if tp == 0 || fp == 0 {
            return Err(Error::SingleClass {
                what: WHAT,
                positives: tp as usize,
                negatives: fp as usize,
            });
        }
        Ok(RocCurve {
            thresholds,
            tps,
            fps,
        })
    }
}

/// A ROC curve: cumulative true and false positives at each threshold.
///
/// Point `i` predicts positive every unit with `score >= thresholds[i]`. Point 0 is
/// `(+inf, 0, 0)`; the last point predicts everything positive. Counts are `u64` so that
/// weighted (bootstrap) curves are exact.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// Thresholds, decreasing; the first is `+inf`.
    pub thresholds: Vec<f64>,
    /// True positives at each threshold (non-decreasing).
    pub tps: Vec<u64>,
    /// False positives at each threshold (non-decreasing).
    pub fps: Vec<u64>,
}

impl RocCurve {
    /// Number of points (distinct scores + 1).
    pub fn len(&self) -> usize {
        self.thresholds.len()
    }

    /// Always `false` for a curve built by this crate.
    pub fn is_empty(&self) -> bool {
        self.thresholds.is_empty()
    }

    /// Number of positives.
    pub fn positives(&self) -> u64 {
        self.tps.last().copied().unwrap_or(0)
    }

    /// Number of negatives.
    pub fn negatives(&self) -> u64 {
        self.fps.last().copied().unwrap_or(0)
    }

    /// True-positive rate (sensitivity) at point `i`.
    pub fn tpr(&self, i: usize) -> f64 {
        self.tps[i] as f64 / self.positives() as f64
    }

    /// False-positive rate (1 − specificity) at point `i`.
    pub fn fpr(&self, i: usize) -> f64 {
        self.fps[i] as f64 / self.negatives() as f64
    }

    /// All true-positive rates.
    pub fn tprs(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.tpr(i)).collect()
    }

    /// All false-positive rates.
    pub fn fprs(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.fpr(i)).collect()
    }

    /// The confusion counts at point `i`.
    pub fn counts(&self, i: usize) -> ConfusionCounts {
        ConfusionCounts {
            tp: self.tps[i],
            fp: self.fps[i],
            tn: self.negatives() - self.fps[i],
            fn_: self.positives() - self.tps[i],
        }
    }

    /// Area under the curve by the trapezoid rule, computed exactly in integers:
    /// `Σ Δfp·(tp₋ + tp)/2 / (P·N)`; equal to the Mann–Whitney statistic with ties ½.
    pub fn auc(&self) -> f64 {
        let mut twice: u128 = 0;
        for i in 1..self.len() {
            let dfp = u128::from(self.fps[i] - self.fps[i - 1]);
            twice += dfp * u128::from(self.tps[i] + self.tps[i - 1]);
        }
        let denom = 2.0 * self.positives() as f64 * self.negatives() as f64;
        twice as f64 / denom
    }

    /// Raw partial area under the curve for `FPR ∈ [0, max_fpr]` (not standardised), the
    /// curve linearly interpolated at `max_fpr` as scikit-learn does.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] unless `0 < max_fpr <= 1`.
    pub fn partial_auc(&self, max_fpr: f64) -> Result<f64> {
        if !(max_fpr > 0.0 && max_fpr <= 1.0) {
            return Err(Error::InvalidValue {
                what: "partial AUC max_fpr",
                value: max_fpr,
                expected: "0 < max_fpr <= 1",
            });
        }
        let mut area = 0.0;
        for i in 1..self.len() {
            let (x0, x1) = (self.fpr(i - 1), self.fpr(i));
            if x0 >= max_fpr {
                break;
            }
            let (y0, y1) = (self.tpr(i - 1), self.tpr(i));
            if x1 <= max_fpr {
                area += (x1 - x0) * (y0 + y1) / 2.0;
            } else {
                let y = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0);
                area += (max_fpr - x0) * (y0 + y) / 2.0;
                break;
            }
        }
        Ok(area)
    }

    /// McClish-standardised partial AUC, as scikit-learn's `roc_auc_score(max_fpr=…)`:
    /// `½·(1 + (pAUC − min)/(max − min))` with `min = max_fpr²/2` (the chance diagonal)
    /// and `max = max_fpr`. At `max_fpr = 1` it is the full AUC.
    pub fn standardized_partial_auc(&self, max_fpr: f64) -> Result<f64> {
        if max_fpr == 1.0 {
            return Ok(self.auc());
        }
        let pauc = self.partial_auc(max_fpr)?;
        let min_area = 0.5 * max_fpr * max_fpr;
        let max_area = max_fpr;
        Ok(0.5 * (1.0 + (pauc - min_area) / (max_area - min_area)))
    }
}

/// The full ROC curve of `scores` against `labels` (see the module docs for conventions).
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::InvalidValue`] for a non-finite score,
/// [`Error::SingleClass`] when only one class is present (this includes `n = 1`).
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Result<RocCurve> {
    check_binary("ROC curve", scores, labels)?;
    RankedScores::new(scores)?.curve(labels, None)
}

/// Area under the ROC curve (trapezoid = Mann–Whitney with ties ½), `O(n log n)`.
///
/// # Errors
/// As [`roc_curve`].
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    Ok(roc_curve(scores, labels)?.auc())
}

/// Mid-ranks (1-based, ties get the average of their ranks) of `values` in increasing
/// order. All values must be comparable (finite).
pub(crate) fn midranks(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        values[a]
            .partial_cmp(&values[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// The Mann–Whitney `U` statistic of the positives: the number of (positive, negative)
/// pairs where the positive scores higher, ties counting ½. Computed from mid-ranks,
/// independently of the ROC sweep; `U / (P·N)` is the AUC.
///
/// # Errors
/// As [`roc_curve`].
pub fn mann_whitney_u(scores: &[f64], labels: &[bool]) -> Result<f64> {
    let (p, _) = check_binary("Mann-Whitney U", scores, labels)?;
    let ranks = midranks(scores);
    let rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    Ok(rank_sum - (p * (p + 1)) as f64 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_matches_hand_computation_with_ties() {
        // Scores 0.9(P) 0.8(N) 0.8(P) 0.3(N): three distinct scores → 4 points.
        let s = [0.9, 0.8, 0.8, 0.3];
        let l = [true, false, true, false];
        let c = roc_curve(&s, &l).unwrap();
        assert_eq!(c.thresholds, vec![f64::INFINITY, 0.9, 0.8, 0.3]);
        assert_eq!(c.tps, vec![0, 1, 2, 2]);
        assert_eq!(c.fps, vec![0, 0, 1, 2]);
        // Pairs: (0.9>0.8) (0.9>0.3) (0.8=0.8 → ½) (0.8>0.3) = 3.5 of 4.
        assert_eq!(c.auc(), 0.875);
        assert_eq!(mann_whitney_u(&s, &l).unwrap(), 3.5);
    }

    #[test]
    fn single_class_and_n1_are_typed_errors() {
        assert_eq!(
            roc_auc(&[0.3], &[true]),
            Err(Error::SingleClass {
                what: "ROC curve",
                positives: 1,
                negatives: 0
            })
        );
        assert!(matches!(
            roc_auc(&[0.1, 0.2, 0.3], &[false; 3]),
            Err(Error::SingleClass { positives: 0, .. })
        ));
        assert!(matches!(roc_auc(&[], &[]), Err(Error::TooFew { .. })));
        assert!(matches!(
            roc_auc(&[0.1, f64::NAN], &[true, false]),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            roc_auc(&[0.1], &[true, false]),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn all_equal_scores_give_half_and_perfect_separation_one() {
        let l = [true, false, true, false, false];
        let c = roc_curve(&[0.5; 5], &l).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.auc(), 0.5);
        assert_eq!(roc_auc(&[0.9, 0.1, 0.8, 0.2, 0.3], &l).unwrap(), 1.0);
        assert_eq!(roc_auc(&[0.1, 0.9, 0.2, 0.8, 0.7], &l).unwrap(), 0.0);
    }

    #[test]
    fn weighted_curve_equals_curve_of_repeated_units() {
        let s = [0.9, 0.8, 0.8, 0.3, 0.1];
        let l = [true, false, true, false, true];
        let w = [2u32, 0, 3, 1, 1];
        let ranked = RankedScores::new(&s).unwrap();
        let weighted = ranked.curve(&l, Some(&w)).unwrap();
        let mut rs = vec![];
        let mut rl = vec![];
        for i in 0..s.len() {
            for _ in 0..w[i] {
                rs.push(s[i]);
                rl.push(l[i]);
            }
        }
        let expanded = roc_curve(&rs, &rl).unwrap();
        assert_eq!(weighted.auc(), expanded.auc());
        assert_eq!(weighted.positives(), 6);
        assert_eq!(weighted.negatives(), 1);
    }

    #[test]
    fn partial_auc_interpolates() {
        // Perfect classifier: pAUC over [0, 0.2] is 0.2 and standardised is 1.
        let s = [0.9, 0.8, 0.2, 0.1];
        let l = [true, true, false, false];
        let c = roc_curve(&s, &l).unwrap();
        assert!((c.partial_auc(0.2).unwrap() - 0.2).abs() < 1e-15);
        assert!((c.standardized_partial_auc(0.2).unwrap() - 1.0).abs() < 1e-15);
        // Chance (all tied): the diagonal; pAUC(0.5) = 0.125, standardised 0.5.
        let c = roc_curve(&[0.5; 4], &l).unwrap();
        assert!((c.partial_auc(0.5).unwrap() - 0.125).abs() < 1e-15);
        assert!((c.standardized_partial_auc(0.5).unwrap() - 0.5).abs() < 1e-15);
        assert!(c.partial_auc(0.0).is_err());
    }

    #[test]
    fn midranks_average_ties() {
        assert_eq!(midranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }
}
