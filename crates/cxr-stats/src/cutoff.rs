//! Choosing an operating point (cutoff) on a ROC curve.
//!
//! Candidates are the points of a [`RocCurve`]: a cutoff is one of the distinct scores
//! (or `+inf`, nothing positive), and a unit is predicted positive iff
//! `score >= cutoff`. pROC reports the midpoint between two consecutive scores instead;
//! both describe the same split of the units, so sensitivity and specificity agree.
//!
//! Ties between candidates are broken toward the **higher threshold** (fewer positive
//! calls), after any criterion-specific rule (the paper's accuracy criterion breaks ties
//! on Youden's J first). Accuracy and Youden's J are compared in exact integer
//! arithmetic, so ties are real ties and not rounding noise.

use serde::{Deserialize, Serialize};

use crate::diagnostic::ConfusionCounts;
use crate::error::{Error, Result};
use crate::roc::RocCurve;

/// How to pick the operating point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Criterion {
    /// The paper's rule: maximise accuracy `(tp + tn) / n`; ties → higher Youden J →
    /// higher threshold.
    #[default]
    MaxAccuracy,
    /// Maximise Youden's J = sensitivity + specificity − 1 (pROC `best.method =
    /// "youden"`).
    Youden,
    /// Minimise `(1 − se)² + (1 − sp)²` (pROC `"closest.topleft"`).
    ClosestTopLeft,
    /// pROC `best.weights = c(cost, prevalence)` with `best.method = "youden"`: maximise
    /// `se + r·sp`, `r = (1 − prevalence) / (cost · prevalence)`.
    WeightedYouden {
        /// Cost of a false negative relative to a false positive.
        cost: f64,
        /// Prevalence of the positive class.
        prevalence: f64,
    },
    /// pROC `best.weights` with `"closest.topleft"`: minimise `(1 − se)² + r·(1 − sp)²`.
    WeightedClosestTopLeft {
        /// Cost of a false negative relative to a false positive.
        cost: f64,
        /// Prevalence of the positive class.
        prevalence: f64,
    },
    /// The highest sensitivity with `FPR <= max_fpr`.
    FixedFpr {
        /// The largest false-positive rate allowed.
        max_fpr: f64,
    },
    /// The lowest FPR (highest threshold) with `sensitivity >= min_sensitivity`.
    FixedSensitivity {
        /// The smallest sensitivity allowed.
        min_sensitivity: f64,
    },
}

impl Criterion {
    /// A short name (`max_accuracy`, `youden`, …) for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Criterion::MaxAccuracy => "max_accuracy",
            Criterion::Youden => "youden",
            Criterion::ClosestTopLeft => "closest_topleft",
            Criterion::WeightedYouden { .. } => "weighted_youden",
            Criterion::WeightedClosestTopLeft { .. } => "weighted_closest_topleft",
            Criterion::FixedFpr { .. } => "fixed_fpr",
            Criterion::FixedSensitivity { .. } => "fixed_sensitivity",
        }
    }

    /// Checks the parameters, naming the bad one.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a cost `<= 0`, a prevalence outside `(0, 1)` or a rate
    /// outside `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        let weights = |cost: f64, prevalence: f64| {
            if !(cost > 0.0 && cost.is_finite()) {
                return Err(Error::InvalidValue {
                    what: "cutoff weight cost",
                    value: cost,
                    expected: "a positive finite cost",
                });
            }
            if !(prevalence > 0.0 && prevalence < 1.0) {
                return Err(Error::InvalidValue {
                    what: "cutoff weight prevalence",
                    value: prevalence,
                    expected: "0 < prevalence < 1",
                });
            }
            Ok(())
        };
        let rate = |what, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidValue {
                    what,
                    value: v,
                    expected: "a rate in [0, 1]",
                })
            }
        };
        match *self {
            Criterion::WeightedYouden { cost, prevalence }
            | Criterion::WeightedClosestTopLeft { cost, prevalence } => weights(cost, prevalence),
            Criterion::FixedFpr { max_fpr } => rate("cutoff max_fpr", max_fpr),
            Criterion::FixedSensitivity { min_sensitivity } => {
                rate("cutoff min_sensitivity", min_sensitivity)
            }
            _ => Ok(()),
        }
    }
}

/// A chosen point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Predicted positive iff `score >= threshold`.
    pub threshold: f64,
    /// Index of the point on the curve.
    pub index: usize,
    /// The counts there.
    pub counts: ConfusionCounts,
}

/// Picks the operating point of `curve` by `criterion`.
///
/// # Errors
/// [`Criterion::validate`]'s errors.
pub fn select(curve: &RocCurve, criterion: Criterion) -> Result<OperatingPoint> {
    criterion.validate()?;
    let p = curve.positives();
    let n = curve.negatives();
    let (pf, nf) = (p as f64, n as f64);
    // Youden's J scaled by P·N, exact: tp·N − fp·P.
    let j_exact = |i: usize| {
        i128::from(curve.tps[i]) * i128::from(n) - i128::from(curve.fps[i]) * i128::from(p)
    };
    let best = match criterion {
        Criterion::MaxAccuracy => argmax_by(curve.len(), |i| {
            // tp + tn = tp + (N − fp)
            (
                i128::from(curve.tps[i]) - i128::from(curve.fps[i]),
                j_exact(i),
            )
        }),
        Criterion::Youden => argmax_by(curve.len(), j_exact),
        Criterion::ClosestTopLeft => argmax_by(curve.len(), |i| {
            let fnr = (p - curve.tps[i]) as f64 / pf;
            let fpr = curve.fps[i] as f64 / nf;
            Key(-(fnr * fnr + fpr * fpr))
        }),
        Criterion::WeightedYouden { cost, prevalence } => {
            let r = (1.0 - prevalence) / (cost * prevalence);
            argmax_by(curve.len(), |i| {
                let se = curve.tps[i] as f64 / pf;
                let sp = (n - curve.fps[i]) as f64 / nf;
                Key(se + r * sp)
            })
        }
        Criterion::WeightedClosestTopLeft { cost, prevalence } => {
            let r = (1.0 - prevalence) / (cost * prevalence);
            argmax_by(curve.len(), |i| {
                let fnr = (p - curve.tps[i]) as f64 / pf;
                let fpr = curve.fps[i] as f64 / nf;
                Key(-(fnr * fnr + r * fpr * fpr))
            })
        }
        Criterion::FixedFpr { max_fpr } => {
            // tpr is non-decreasing along the curve: the first point reaching the largest
            // tpr among those with fpr <= max_fpr.
            let allowed = (0..curve.len()).filter(|&i| curve.fps[i] as f64 <= max_fpr * nf);
            let mut best = 0;
            for i in allowed {
                if curve.tps[i] > curve.tps[best] {
                    best = i;
                }
            }
            best
        }
        Criterion::FixedSensitivity { min_sensitivity } => (0..curve.len())
            .find(|&i| curve.tps[i] as f64 >= min_sensitivity * pf)
            .unwrap_or(curve.len() - 1),
    };
    Ok(OperatingPoint {
        threshold: curve.thresholds[best],
        index: best,
        counts: curve.counts(best),
    })
}

/// A float made totally ordered for `argmax_by` (NaN is never produced by the callers,
/// whose denominators are non-zero).
#[derive(PartialEq, PartialOrd)]
struct Key(f64);

/// First index (highest threshold) with the strictly greatest key.
fn argmax_by<K: PartialOrd>(len: usize, key: impl Fn(usize) -> K) -> usize {
    let mut best = 0;
    let mut best_key = key(0);
    for i in 1..len {
        let k = key(i);
        if k > best_key {
            best = i;
            best_key = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roc::roc_curve;

    fn curve() -> RocCurve {
        // P: 0.9 0.7 0.6 0.3   N: 0.8 0.5 0.4 0.2 0.1 0.05
        let s = [0.9, 0.7, 0.6, 0.3, 0.8, 0.5, 0.4, 0.2, 0.1, 0.05];
        let l = [
            true, true, true, true, false, false, false, false, false, false,
        ];
        roc_curve(&s, &l).unwrap()
    }

    #[test]
    fn max_accuracy_picks_best_split() {
        let op = select(&curve(), Criterion::MaxAccuracy).unwrap();
        // At 0.6: tp 3, fp 1 → acc 8/10; at 0.3: tp 4, fp 3 → 7/10; at 0.9: 7/10.
        assert_eq!(op.threshold, 0.6);
        assert_eq!(
            op.counts,
            ConfusionCounts {
                tp: 3,
                fp: 1,
                tn: 5,
                fn_: 1
            }
        );
    }

    #[test]
    fn max_accuracy_ties_go_to_higher_youden_then_higher_threshold() {
        // P = 2, N = 6. At 0.9: tp 1 fp 0 → acc 7/8, J 0.5.
        // At 0.5: tp 2 fp 1 → acc 7/8, J = 1 − 1/6 = 0.833: the tie goes to J.
        let s = [0.9, 0.5, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1];
        let l = [true, true, false, false, false, false, false, false];
        let op = select(&roc_curve(&s, &l).unwrap(), Criterion::MaxAccuracy).unwrap();
        assert_eq!(op.threshold, 0.5);
        // Equal accuracy and equal J: the higher threshold wins.
        let s = [0.9, 0.8, 0.7, 0.6];
        let l = [true, false, true, false];
        let c = roc_curve(&s, &l).unwrap();
        // 0.9: tp1 fp0 (acc 3/4, J .5); 0.7: tp2 fp1 (acc 3/4, J .5).
        assert_eq!(select(&c, Criterion::MaxAccuracy).unwrap().threshold, 0.9);
        assert_eq!(select(&c, Criterion::Youden).unwrap().threshold, 0.9);
    }

    #[test]
    fn youden_and_topleft() {
        let c = curve();
        // J at 0.6 = 3/4 − 1/6 = 0.583; at 0.3 = 1 − 3/6 = 0.5; at 0.9 = 0.25.
        assert_eq!(select(&c, Criterion::Youden).unwrap().threshold, 0.6);
        assert_eq!(
            select(&c, Criterion::ClosestTopLeft).unwrap().threshold,
            0.6
        );
        // Heavy false-negative cost pushes the cutoff down to catch every positive.
        let w = Criterion::WeightedYouden {
            cost: 10.0,
            prevalence: 0.4,
        };
        assert_eq!(select(&c, w).unwrap().threshold, 0.3);
        // cost 1, prevalence ½ is plain Youden.
        let w = Criterion::WeightedYouden {
            cost: 1.0,
            prevalence: 0.5,
        };
        assert_eq!(select(&c, w).unwrap().threshold, 0.6);
    }

    #[test]
    fn fixed_rates() {
        let c = curve();
        let op = select(&c, Criterion::FixedFpr { max_fpr: 0.0 }).unwrap();
        assert_eq!((op.threshold, op.counts.tp), (0.9, 1));
        let op = select(&c, Criterion::FixedFpr { max_fpr: 0.2 }).unwrap();
        assert_eq!((op.threshold, op.counts.tp, op.counts.fp), (0.6, 3, 1));
        let op = select(
            &c,
            Criterion::FixedSensitivity {
                min_sensitivity: 1.0,
            },
        )
        .unwrap();
        assert_eq!((op.threshold, op.counts.fp), (0.3, 3));
        let op = select(
            &c,
            Criterion::FixedSensitivity {
                min_sensitivity: 0.0,
            },
        )
        .unwrap();
        assert_eq!(op.threshold, f64::INFINITY);
        assert!(select(&c, Criterion::FixedFpr { max_fpr: 1.5 }).is_err());
        assert!(
            select(
                &c,
                Criterion::WeightedYouden {
                    cost: 1.0,
                    prevalence: 1.0
                }
            )
            .is_err()
        );
    }
}
