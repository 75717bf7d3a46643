//! Diagnostic metrics at one operating point: confusion counts, rates, predictive values,
//! likelihood ratios, F1, accuracy, and their analytic confidence intervals.
//!
//! Undefined ratios (`0/0`, e.g. PPV when nothing is predicted positive) are `NaN`; a
//! likelihood ratio with a zero denominator is `+inf`. Intervals are `None` when the
//! quantity or its interval is undefined. Proportions get Wilson intervals
//! ([`crate::proportion::wilson`]), likelihood ratios the log method of Simel, Samsa &
//! Matchar (1991); F1 and prevalence-adjusted predictive values have no closed form here
//! and take their interval from the bootstrap ([`crate::bootstrap`](mod@crate::bootstrap);
//! the evaluate pipeline in `cxr-eval` does this).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::proportion::{Interval, wilson, z_for_level};

/// Counts of a binary decision against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
pub struct ConfusionCounts {
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives (`fn` in JSON).
    #[serde(rename = "fn")]
    pub fn_: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

impl ConfusionCounts {
    /// Counts of predictions `score >= threshold` against `labels`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the slices differ in length.
    pub fn at_threshold(scores: &[f64], labels: &[bool], threshold: f64) -> Result<Self> {
        if scores.len() != labels.len() {
            return Err(Error::LengthMismatch {
                what: "confusion counts",
                left: scores.len(),
                right: labels.len(),
            });
        }
        let mut c = Self::default();
        for (&s, &l) in scores.iter().zip(labels) {
            match (s >= threshold, l) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        Ok(c)
    }

    /// Positives (`tp + fn`).
    pub fn positives(&self) -> u64 {
        self.tp + self.fn_
    }

    /// Negatives (`fp + tn`).
    pub fn negatives(&self) -> u64 {
        self.fp + self.tn
    }

    /// All units.
    pub fn total(&self) -> u64 {
        self.positives() + self.negatives()
    }

    /// Sensitivity = detection rate = recall = TPR = `tp / (tp + fn)`.
    pub fn sensitivity(&self) -> f64 {
        ratio(self.tp, self.positives())
    }

    /// Specificity = `tn / (tn + fp)`.
    pub fn specificity(&self) -> f64 {
        ratio(self.tn, self.negatives())
    }

    /// False-positive rate = `fp / (fp + tn)`.
    pub fn fpr(&self) -> f64 {
        ratio(self.fp, self.negatives())
    }

    /// Positive predictive value = precision = `tp / (tp + fp)`.
    pub fn ppv(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Negative predictive value = `tn / (tn + fn)`.
    pub fn npv(&self) -> f64 {
        ratio(self.tn, self.tn + self.fn_)
    }

    /// Accuracy = `(tp + tn) / n`.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }

    /// F1 = `2tp / (2tp + fp + fn)`.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// Youden's J = sensitivity + specificity − 1.
    pub fn youden(&self) -> f64 {
        self.sensitivity() + self.specificity() - 1.0
    }

    /// Positive likelihood ratio = sensitivity / FPR (`+inf` when FPR = 0 < sensitivity).
    pub fn lr_pos(&self) -> f64 {
        self.sensitivity() / self.fpr()
    }

    /// Negative likelihood ratio = (1 − sensitivity) / specificity.
    pub fn lr_neg(&self) -> f64 {
        (1.0 - self.sensitivity()) / self.specificity()
    }

    /// PPV at another `prevalence` (Bayes):
    /// `se·π / (se·π + (1−sp)·(1−π))`.
    pub fn ppv_at_prevalence(&self, prevalence: f64) -> f64 {
        let (se, sp) = (self.sensitivity(), self.specificity());
        let a = se * prevalence;
        a / (a + (1.0 - sp) * (1.0 - prevalence))
    }

    /// NPV at another `prevalence`: `sp·(1−π) / (sp·(1−π) + (1−se)·π)`.
    pub fn npv_at_prevalence(&self, prevalence: f64) -> f64 {
        let (se, sp) = (self.sensitivity(), self.specificity());
        let a = sp * (1.0 - prevalence);
        a / (a + (1.0 - se) * prevalence)
    }
}

/// A point estimate and its confidence interval (`None` when undefined).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// The interval at the requested level.
    pub ci: Option<Interval>,
}

/// Log-method interval for the positive likelihood ratio:
/// `exp(ln LR+ ± z·√(1/tp − 1/(tp+fn) + 1/fp − 1/(fp+tn)))`. `None` when `tp` or `fp`
/// is zero (the log is undefined).
///
/// # Errors
/// [`Error::InvalidValue`] for a bad `level`.
pub fn lr_pos_ci(c: &ConfusionCounts, level: f64) -> Result<Option<Interval>> {
    let z = z_for_level(level)?;
    if c.tp == 0 || c.fp == 0 {
        return Ok(None);
    }
    let se = (1.0 / c.tp as f64 - 1.0 / c.positives() as f64 + 1.0 / c.fp as f64
        - 1.0 / c.negatives() as f64)
        .sqrt();
    let l = c.lr_pos().ln();
    Ok(Some([(l - z * se).exp(), (l + z * se).exp()]))
}

/// Log-method interval for the negative likelihood ratio:
/// `exp(ln LR− ± z·√(1/fn − 1/(tp+fn) + 1/tn − 1/(tn+fp)))`. `None` when `fn` or `tn`
/// is zero.
///
/// # Errors
/// [`Error::InvalidValue`] for a bad `level`.
pub fn lr_neg_ci(c: &ConfusionCounts, level: f64) -> Result<Option<Interval>> {
    let z = z_for_level(level)?;
    if c.fn_ == 0 || c.tn == 0 {
        return Ok(None);
    }
    let se = (1.0 / c.fn_ as f64 - 1.0 / c.positives() as f64 + 1.0 / c.tn as f64
        - 1.0 / c.negatives() as f64)
        .sqrt();
    let l = c.lr_neg().ln();
    Ok(Some([(l - z * se).exp(), (l + z * se).exp()]))
}

/// The metrics of the paper's Table 3 (and a few more) at one operating point, with the
/// analytic intervals. `f1` carries no interval here (the evaluate pipeline of `cxr-eval`
/// fills it from the bootstrap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// The counts.
    pub counts: ConfusionCounts,
    /// Detection rate (sensitivity), Wilson.
    pub detection_rate: Estimate,
    /// False-positive rate, Wilson.
    pub fpr: Estimate,
    /// Specificity, Wilson.
    pub specificity: Estimate,
    /// Positive predictive value, Wilson.
    pub ppv: Estimate,
    /// Negative predictive value, Wilson.
    pub npv: Estimate,
    /// Accuracy, Wilson.
    pub accuracy: Estimate,
    /// Positive likelihood ratio, log method.
    pub lr_pos: Estimate,
    /// Negative likelihood ratio, log method.
    pub lr_neg: Estimate,
    /// F1 score (interval: bootstrap, filled by the caller).
    pub f1: Estimate,
}

impl Diagnostics {
    /// Metrics and analytic intervals of `counts` at confidence `level`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a bad `level`.
    pub fn from_counts(counts: ConfusionCounts, level: f64) -> Result<Self> {
        z_for_level(level)?;
        let prop = |k: u64, n: u64| Estimate {
            value: ratio(k, n),
            ci: wilson(k, n, level).ok(),
        };
        let c = counts;
        Ok(Self {
            counts: c,
            detection_rate: prop(c.tp, c.positives()),
            fpr: prop(c.fp, c.negatives()),
            specificity: prop(c.tn, c.negatives()),
            ppv: prop(c.tp, c.tp + c.fp),
            npv: prop(c.tn, c.tn + c.fn_),
            accuracy: prop(c.tp + c.tn, c.total()),
            lr_pos: Estimate {
                value: c.lr_pos(),
                ci: lr_pos_ci(&c, level)?,
            },
            lr_neg: Estimate {
                value: c.lr_neg(),
                ci: lr_neg_ci(&c, level)?,
            },
            f1: Estimate {
                value: c.f1(),
                ci: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's Table 3, covid-19 row: 1440/1568 detected, 72/6766 false positives.
    fn paper_covid() -> ConfusionCounts {
        ConfusionCounts {
            tp: 1440,
            fp: 72,
            tn: 6766 - 72,
            fn_: 128,
        }
    }

    #[test]
    fn paper_table3_covid_row() {
        let c = paper_covid();
        assert_eq!(c.total(), 8334);
        assert!((c.sensitivity() - 0.918).abs() < 5e-4);
        assert!((c.fpr() - 0.011).abs() < 5e-4);
        assert!((c.ppv() - 0.952).abs() < 5e-4);
        assert!((c.npv() - 0.981).abs() < 5e-4);
        assert!((c.accuracy() - 8134.0 / 8334.0).abs() < 1e-12);
        assert!((c.f1() - 0.935).abs() < 5e-4);
        // The paper prints LR+ = 86.3 and LR− = 0.1.
        assert!((c.lr_pos() - 86.3).abs() < 0.05, "{}", c.lr_pos());
        assert!((c.lr_neg() - 0.0822).abs() < 5e-4, "{}", c.lr_neg());
    }

    #[test]
    fn lr_log_interval_matches_formula_and_contains_estimate() {
        let c = paper_covid();
        let [lo, hi] = lr_pos_ci(&c, 0.95).unwrap().unwrap();
        let se: f64 = (1.0_f64 / 1440.0 - 1.0 / 1568.0 + 1.0 / 72.0 - 1.0 / 6766.0).sqrt();
        let z = 1.959_963_984_540_054;
        assert!((lo - (c.lr_pos().ln() - z * se).exp()).abs() < 1e-9);
        assert!((hi - (c.lr_pos().ln() + z * se).exp()).abs() < 1e-9);
        assert!(lo < c.lr_pos() && c.lr_pos() < hi);
        // Zero false positives: LR+ infinite, no interval.
        let perfect = ConfusionCounts {
            tp: 5,
            fp: 0,
            tn: 5,
            fn_: 0,
        };
        assert_eq!(perfect.lr_pos(), f64::INFINITY);
        assert_eq!(lr_pos_ci(&perfect, 0.95).unwrap(), None);
        assert_eq!(lr_neg_ci(&perfect, 0.95).unwrap(), None);
        assert_eq!(perfect.lr_neg(), 0.0);
    }

    #[test]
    fn undefined_ratios_are_nan_with_no_interval() {
        let none_predicted = ConfusionCounts {
            tp: 0,
            fp: 0,
            tn: 7,
            fn_: 3,
        };
        let d = Diagnostics::from_counts(none_predicted, 0.95).unwrap();
        assert!(d.ppv.value.is_nan());
        assert_eq!(d.ppv.ci, None);
        assert_eq!(d.npv.value, 0.7);
        assert!(d.npv.ci.is_some());
    }

    #[test]
    fn prevalence_adjustment_at_sample_prevalence_is_identity() {
        let c = paper_covid();
        let prev = c.positives() as f64 / c.total() as f64;
        assert!((c.ppv_at_prevalence(prev) - c.ppv()).abs() < 1e-12);
        assert!((c.npv_at_prevalence(prev) - c.npv()).abs() < 1e-12);
    }

    #[test]
    fn counts_at_threshold_use_greater_or_equal() {
        let c =
            ConfusionCounts::at_threshold(&[0.5, 0.4, 0.5], &[true, false, false], 0.5).unwrap();
        assert_eq!(
            c,
            ConfusionCounts {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 0
            }
        );
    }
}
