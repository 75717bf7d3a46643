//! Multi-class evaluation: the arg-max confusion matrix, global accuracy, per-class and
//! average class accuracy, and one-vs-rest binary problems for ROC analysis.
//!
//! "Class accuracy" is the paper's term for the per-class recall (the diagonal of the
//! row-normalised confusion matrix); its average over the classes is what the paper calls
//! average class-accuracy (balanced accuracy), and its spread the sample standard
//! deviation (denominator `K − 1`, Matlab's `std` default).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The index of the largest probability (ties: the lowest index).
///
/// # Errors
/// [`Error::TooFew`] for an empty row, [`Error::InvalidValue`] for a non-finite entry.
pub fn argmax(probs: &[f64]) -> Result<usize> {
    if probs.is_empty() {
        return Err(Error::TooFew {
            what: "argmax",
            needed: 1,
            got: 0,
        });
    }
    let mut best = 0;
    for (i, &p) in probs.iter().enumerate() {
        if !p.is_finite() {
            return Err(Error::InvalidValue {
                what: "argmax",
                value: p,
                expected: "a finite probability",
            });
        }
        if p > probs[best] {
            best = i;
        }
    }
    Ok(best)
}

/// A `K × K` confusion matrix: `counts[truth][prediction]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Rows = truth, columns = prediction.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Tallies `truth` against `predicted` over `k` classes, unit `i` counted
    /// `weights[i]` times (`None`: once).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::InvalidValue`] for a class `>= k`.
    pub fn tally(
        truth: &[usize],
        predicted: &[usize],
        k: usize,
        weights: Option<&[u32]>,
    ) -> Result<Self> {
        const WHAT: &str = "confusion matrix";
        if truth.len() != predicted.len() {
            return Err(Error::LengthMismatch {
                what: WHAT,
                left: truth.len(),
                right: predicted.len(),
            });
        }
        if let Some(w) = weights
            && w.len() != truth.len()
        {
            return Err(Error::LengthMismatch {
                what: WHAT,
                left: truth.len(),
                right: w.len(),
            });
        }
        let mut counts = vec![vec![0u64; k]; k];
        for (i, (&t, &p)) in truth.iter().zip(predicted).enumerate() {
            if t >= k || p >= k {
                return Err(Error::InvalidValue {
                    what: WHAT,
                    value: t.max(p) as f64,
                    expected: "a class index below the number of classes",
                });
            }
            counts[t][p] += weights.map_or(1, |w| u64::from(w[i]));
        }
        Ok(Self { counts })
    }

    /// The arg-max confusion matrix of probability rows against `truth`.
    ///
    /// # Errors
    /// As [`ConfusionMatrix::tally`] and [`argmax`]; [`Error::LengthMismatch`] when rows
    /// differ in width.
    pub fn from_probabilities<R: AsRef<[f64]>>(truth: &[usize], probs: &[R]) -> Result<Self> {
        let k = probs.first().map_or(0, |r| r.as_ref().len());
        let mut predicted = Vec::with_capacity(probs.len());
        for row in probs {
            let row = row.as_ref();
            if row.len() != k {
                return Err(Error::LengthMismatch {
                    what: "probability rows",
                    left: k,
                    right: row.len(),
                });
            }
            predicted.push(argmax(row)?);
        }
        Self::tally(truth, &predicted, k, None)
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// All units.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Units on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.classes()).map(|i| self.counts[i][i]).sum()
    }

    /// Global accuracy (`NaN` when empty).
    pub fn global_accuracy(&self) -> f64 {
        self.correct() as f64 / self.total() as f64
    }

    /// Per-class accuracy (recall); `NaN` for a class with no unit.
    pub fn class_accuracies(&self) -> Vec<f64> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| row[i] as f64 / row.iter().sum::<u64>() as f64)
            .collect()
    }

    /// Mean of the class accuracies over the classes present.
    pub fn mean_class_accuracy(&self) -> f64 {
        let a: Vec<f64> = self
            .class_accuracies()
            .into_iter()
            .filter(|x| x.is_finite())
            .collect();
        a.iter().sum::<f64>() / a.len() as f64
    }

    /// Sample standard deviation of the class accuracies over the classes present (`NaN`
    /// with fewer than two).
    pub fn class_accuracy_sd(&self) -> f64 {
        let a: Vec<f64> = self
            .class_accuracies()
            .into_iter()
            .filter(|x| x.is_finite())
            .collect();
        let n = a.len() as f64;
        let m = a.iter().sum::<f64>() / n;
        (a.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt()
    }
}

/// The one-vs-rest binary problem of `class`: its probability as the score, "is this
/// class" as the label.
///
/// # Errors
/// [`Error::LengthMismatch`] when lengths differ, [`Error::InvalidValue`] when a row is
/// too short for `class`.
pub fn one_vs_rest<R: AsRef<[f64]>>(
    truth: &[usize],
    probs: &[R],
    class: usize,
) -> Result<(Vec<f64>, Vec<bool>)> {
    if truth.len() != probs.len() {
        return Err(Error::LengthMismatch {
            what: "one-vs-rest",
            left: truth.len(),
            right: probs.len(),
        });
    }
    let mut scores = Vec::with_capacity(probs.len());
    for row in probs {
        let v = row.as_ref().get(class).ok_or(Error::InvalidValue {
            what: "one-vs-rest class",
            value: class as f64,
            expected: "a class index below the row width",
        })?;
        scores.push(*v);
    }
    let labels = truth.iter().map(|&t| t == class).collect();
    Ok((scores, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_accuracies() {
        let truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
        let probs = [
            [0.8, 0.1, 0.1],
            [0.6, 0.3, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.2, 0.7],
            [0.1, 0.1, 0.8],
            [0.2, 0.2, 0.6],
            [0.3, 0.3, 0.4],
            [0.5, 0.2, 0.3],
        ];
        let m = ConfusionMatrix::from_probabilities(&truth, &probs).unwrap();
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 0, 3]]);
        assert_eq!(m.total(), 9);
        assert_eq!(m.correct(), 6);
        assert!((m.global_accuracy() - 6.0 / 9.0).abs() < 1e-15);
        let acc = m.class_accuracies();
        assert_eq!(acc, vec![2.0 / 3.0, 0.5, 0.75]);
        let mean = (2.0 / 3.0 + 0.5 + 0.75) / 3.0;
        assert!((m.mean_class_accuracy() - mean).abs() < 1e-15);
        let sd = (acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((m.class_accuracy_sd() - sd).abs() < 1e-15);
    }

    #[test]
    fn argmax_ties_take_lowest_index() {
        assert_eq!(argmax(&[0.4, 0.4, 0.2]).unwrap(), 0);
        assert_eq!(argmax(&[0.2, 0.4, 0.4]).unwrap(), 1);
        assert!(argmax(&[]).is_err());
        assert!(argmax(&[0.2, f64::NAN]).is_err());
    }

    #[test]
    fn one_vs_rest_extracts_column() {
        let (s, l) = one_vs_rest(
            &[0, 2, 1],
            &[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]],
            2,
        )
        .unwrap();
        assert_eq!(s, vec![0.1, 0.8, 0.1]);
        assert_eq!(l, vec![false, true, false]);
        assert!(one_vs_rest(&[0], &[[0.5, 0.5]], 2).is_err());
    }

    #[test]
    fn weighted_tally_counts_repeats() {
        let m = ConfusionMatrix::tally(&[0, 1, 1], &[0, 0, 1], 2, Some(&[3, 0, 2])).unwrap();
        assert_eq!(m.counts, vec![vec![3, 0], vec![0, 2]]);
        assert!(ConfusionMatrix::tally(&[0, 3], &[0, 0], 2, None).is_err());
    }
}
