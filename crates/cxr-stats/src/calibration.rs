//! Calibration of predicted probabilities: Brier score, reliability diagrams with
//! expected / maximum calibration error, decision-curve net benefit, and temperature
//! scaling ([`fit_temperature`]).
//!
//! Bins follow scikit-learn's `calibration_curve` exactly, so that the diagrams agree
//! with it (checked in `tests/calibration.rs`):
//!
//! * [`BinStrategy::EqualWidth`]: edges `0, 1/k, …, 1` (`strategy="uniform"`);
//! * [`BinStrategy::EqualCount`]: edges at the `0, 1/k, …, 1` quantiles of the
//!   predictions with linear interpolation (`strategy="quantile"`, numpy's default
//!   percentile);
//! * bin `i` holds the predictions `p` with `edge[i] < p ≤ edge[i+1]`, the first bin also
//!   `p = edge[0]` (numpy `searchsorted(edges[1:-1], p)`); with equal-count edges, ties
//!   can leave a bin empty.
//!
//! ```
//! use cxr_stats::calibration::{brier_score, reliability_diagram, BinStrategy};
//! let y = [false, false, true, true];
//! let p = [0.1, 0.4, 0.35, 0.8];
//! assert!((brier_score(&y, &p).unwrap() - 0.158125).abs() < 1e-12);
//! let d = reliability_diagram(&y, &p, 2, BinStrategy::EqualWidth).unwrap();
//! assert_eq!(d.bins[0].count, 3);
//! ```

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The most bins [`reliability_diagram`] and the most thresholds [`threshold_grid`]
/// build; more is refused with [`Error::InvalidValue`] instead of attempting a gigantic
/// allocation.
pub const MAX_GRID_POINTS: usize = 1_000_000;

fn check_inputs(what: &'static str, y: &[bool], p: &[f64]) -> Result<()> {
    if y.len() != p.len() {
        return Err(Error::LengthMismatch {
            what,
            left: y.len(),
            right: p.len(),
        });
    }
    if y.is_empty() {
        return Err(Error::TooFew {
            what,
            needed: 1,
            got: 0,
        });
    }
    if let Some(&v) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(Error::InvalidValue {
            what,
            value: v,
            expected: "probabilities in [0, 1]",
        });
    }
    Ok(())
}

/// Brier score, `mean((p − y)²)`, with `y` in {0, 1} (scikit-learn `brier_score_loss`).
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::TooFew`] for no observations,
/// [`Error::InvalidValue`] for a probability outside [0, 1] (NaN included).
pub fn brier_score(y_true: &[bool], y_prob: &[f64]) -> Result<f64> {
    check_inputs("brier_score", y_true, y_prob)?;
    let s: f64 = y_true
        .iter()
        .zip(y_prob)
        .map(|(&y, &p)| {
            let d = p - if y { 1.0 } else { 0.0 };
            d * d
        })
        .sum();
    Ok(s / y_true.len() as f64)
}

/// How a reliability diagram's bins are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BinStrategy {
    /// `k` bins of width `1/k` over [0, 1].
    #[default]
    EqualWidth,
    /// Edges at the quantiles of the predictions (about `n/k` predictions per bin).
    EqualCount,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Predictions in the bin.
    pub count: usize,
    /// Mean predicted probability, `None` for an empty bin.
    pub mean_predicted: Option<f64>,
    /// Fraction of positives, `None` for an empty bin.
    pub observed_frequency: Option<f64>,
}

/// A reliability diagram with its summary errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityDiagram {
    /// Bins in increasing order, empty ones included.
    pub bins: Vec<ReliabilityBin>,
    /// Expected calibration error, `Σ_b (n_b / n) |observed_b − predicted_b|` over
    /// non-empty bins.
    pub ece: f64,
    /// Maximum calibration error, `max_b |observed_b − predicted_b|` over non-empty bins.
    pub mce: f64,
}

/// Linear-interpolation quantile of sorted data (numpy's default `percentile`).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Builds a reliability diagram with `n_bins` bins and its ECE and MCE.
///
/// # Errors
/// As [`brier_score`]; [`Error::TooFew`] for `n_bins == 0`, [`Error::InvalidValue`] for
/// `n_bins` above [`MAX_GRID_POINTS`].
pub fn reliability_diagram(
    y_true: &[bool],
    y_prob: &[f64],
    n_bins: usize,
    strategy: BinStrategy,
) -> Result<ReliabilityDiagram> {
    const WHAT: &str = "reliability_diagram";
    check_inputs(WHAT, y_true, y_prob)?;
    if n_bins == 0 {
        return Err(Error::TooFew {
            what: "reliability_diagram (bins)",
            needed: 1,
            got: 0,
        });
    }
    if n_bins > MAX_GRID_POINTS {
        return Err(Error::InvalidValue {
            what: "reliability_diagram (bins)",
            value: n_bins as f64,
            expected: "at most 1,000,000 bins (MAX_GRID_POINTS)",
        });
    }
    let edges: Vec<f64> = match strategy {
        BinStrategy::EqualWidth => (0..=n_bins).map(|i| i as f64 / n_bins as f64).collect(),
        BinStrategy::EqualCount => {
            let mut sorted = y_prob.to_vec();
            sorted.sort_by(f64::total_cmp);
            (0..=n_bins)
                .map(|i| quantile_sorted(&sorted, i as f64 / n_bins as f64))
                .collect()
        }
    };
    let inner = &edges[1..n_bins];
    let mut count = vec![0usize; n_bins];
    let mut sum_p = vec![0.0f64; n_bins];
    let mut sum_y = vec![0.0f64; n_bins];
    for (&y, &p) in y_true.iter().zip(y_prob) {
        // number of inner edges strictly below p (numpy searchsorted, side = "left")
        let b = inner.partition_point(|&e| e < p);
        count[b] += 1;
        sum_p[b] += p;
        sum_y[b] += if y { 1.0 } else { 0.0 };
    }
    let n = y_true.len() as f64;
    let (mut ece, mut mce) = (0.0f64, 0.0f64);
    let bins = (0..n_bins)
        .map(|b| {
            let (mean_predicted, observed_frequency) = if count[b] > 0 {
                let c = count[b] as f64;
                let (mp, of) = (sum_p[b] / c, sum_y[b] / c);
                let gap = (of - mp).abs();
                ece += c / n * gap;
                mce = mce.max(gap);
                (Some(mp), Some(of))
            } else {
                (None, None)
            };
            ReliabilityBin {
                lower: edges[b],
                upper: edges[b + 1],
                count: count[b],
                mean_predicted,
                observed_frequency,
            }
        })
        .collect();
    Ok(ReliabilityDiagram { bins, ece, mce })
}

/// Net benefit of one decision strategy at one threshold probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetBenefitPoint {
    /// Threshold probability `t` (a patient is treated when `p ≥ t`).
    pub threshold: f64,
    /// Net benefit of the model, `TP/n − FP/n · t/(1 − t)`.
    pub model: f64,
    /// Treat everyone: `prevalence − (1 − prevalence) · t/(1 − t)`.
    pub treat_all: f64,
    /// Treat no one: always 0.
    pub treat_none: f64,
}

/// Decision-curve analysis (Vickers & Elkin 2006): net benefit of the model, of treating
/// all and of treating none at each threshold. A prediction `p` counts as positive when
/// `p ≥ t`, as in the `dcurves` package.
///
/// # Errors
/// As [`brier_score`]; [`Error::InvalidValue`] for a threshold outside (0, 1) (at 1 the
/// weight `t/(1 − t)` is infinite).
pub fn net_benefit(
    y_true: &[bool],
    y_prob: &[f64],
    thresholds: &[f64],
) -> Result<Vec<NetBenefitPoint>> {
    check_inputs("net_benefit", y_true, y_prob)?;
    if let Some(&t) = thresholds.iter().find(|t| !(**t > 0.0 && **t < 1.0)) {
        return Err(Error::InvalidValue {
            what: "net_benefit threshold",
            value: t,
            expected: "a threshold in (0, 1)",
        });
    }
    let n = y_true.len() as f64;
    let prevalence = y_true.iter().filter(|&&y| y).count() as f64 / n;
    Ok(thresholds
        .iter()
        .map(|&t| {
            let (mut tp, mut fp) = (0usize, 0usize);
            for (&y, &p) in y_true.iter().zip(y_prob) {
                if p >= t {
                    if y { tp += 1 } else { fp += 1 }
                }
            }
            let w = t / (1.0 - t);
            NetBenefitPoint {
                threshold: t,
                model: tp as f64 / n - fp as f64 / n * w,
                treat_all: prevalence - (1.0 - prevalence) * w,
                treat_none: 0.0,
            }
        })
        .collect())
}

/// An evenly spaced threshold grid `start, start + step, …` up to `stop` (inclusive
/// within 1e-9), the usual input of [`net_benefit`] (e.g. `0.01..=0.99` by `0.01`).
///
/// # Errors
/// [`Error::InvalidValue`] unless `0 < start ≤ stop < 1` and `step > 0`, or when the
/// grid would have more than [`MAX_GRID_POINTS`] thresholds (a tiny `step`).
pub fn threshold_grid(start: f64, stop: f64, step: f64) -> Result<Vec<f64>> {
    if !(start > 0.0 && start <= stop && stop < 1.0) {
        return Err(Error::InvalidValue {
            what: "threshold_grid",
            value: if start > 0.0 { stop } else { start },
            expected: "0 < start <= stop < 1",
        });
    }
    if !(step > 0.0 && step.is_finite()) {
        return Err(Error::InvalidValue {
            what: "threshold_grid step",
            value: step,
            expected: "> 0",
        });
    }
    // number of steps; checked as a float so that a tiny step cannot saturate the cast
    let k = ((stop - start) / step + 1e-9).floor();
    if k.is_nan() || k >= MAX_GRID_POINTS as f64 {
        return Err(Error::InvalidValue {
            what: "threshold_grid step",
            value: step,
            expected: "a step giving at most 1,000,000 thresholds (MAX_GRID_POINTS)",
        });
    }
    let k = k as usize;
    Ok((0..=k).map(|i| start + i as f64 * step).collect())
}

/// The temperatures [`fit_temperature`] searches, `[MIN_TEMPERATURE, MAX_TEMPERATURE]`;
/// an optimum outside is returned at the nearer bound.
pub const MIN_TEMPERATURE: f64 = 0.01;
/// See [`MIN_TEMPERATURE`].
pub const MAX_TEMPERATURE: f64 = 100.0;

/// A temperature fitted by likelihood ([`fit_temperature`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The temperature `T`: probabilities become `softmax(z / T)`.
    pub temperature: f64,
    /// Mean negative log-likelihood at `T = 1` (the model as it is).
    pub nll_before: f64,
    /// Mean negative log-likelihood at the fitted `T`.
    pub nll_after: f64,
    /// Observations it was fitted on.
    pub n: usize,
}

fn check_logits(what: &'static str, logits: &[Vec<f64>], labels: &[usize]) -> Result<usize> {
    if logits.len() != labels.len() {
        return Err(Error::LengthMismatch {
            what,
            left: logits.len(),
            right: labels.len(),
        });
    }
    let k = logits.first().map_or(0, Vec::len);
    if logits.is_empty() || k < 2 {
        return Err(Error::TooFew {
            what,
            needed: if logits.is_empty() { 1 } else { 2 },
            got: if logits.is_empty() { 0 } else { k },
        });
    }
    for row in logits {
        if row.len() != k {
            return Err(Error::BadShape {
                what,
                expected: "the same number of classes in every row",
                rows: logits.len(),
                cols: row.len(),
            });
        }
        if let Some(&v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidValue {
                what,
                value: v,
                expected: "finite logits (log-probabilities floored above 0)",
            });
        }
    }
    if let Some(&c) = labels.iter().find(|&&c| c >= k) {
        return Err(Error::InvalidValue {
            what,
            value: c as f64,
            expected: "a class index below the number of columns",
        });
    }
    Ok(k)
}

/// `log Σ exp(b·z)` and the softmax-weighted mean and variance of `z` at `b`.
fn scaled_moments(z: &[f64], b: f64) -> (f64, f64, f64) {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(b * v));
    let w: Vec<f64> = z.iter().map(|&v| (b * v - m).exp()).collect();
    let s: f64 = w.iter().sum();
    let mean = z.iter().zip(&w).map(|(v, w)| v * w).sum::<f64>() / s;
    let var = z
        .iter()
        .zip(&w)
        .map(|(v, w)| (v - mean).powi(2) * w)
        .sum::<f64>()
        / s;
    (m + s.ln(), mean, var)
}

/// Mean negative log-likelihood of `labels` under `softmax(logits / temperature)`.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::TooFew`] (no rows, fewer than 2 classes),
/// [`Error::BadShape`] (ragged rows), [`Error::InvalidValue`] (a non-finite logit, a
/// label out of range, a temperature that is not positive and finite).
pub fn temperature_nll(logits: &[Vec<f64>], labels: &[usize], temperature: f64) -> Result<f64> {
    check_logits("temperature_nll", logits, labels)?;
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::InvalidValue {
            what: "temperature_nll temperature",
            value: temperature,
            expected: "a positive temperature",
        });
    }
    Ok(nll_at(logits, labels, 1.0 / temperature).0)
}

/// Mean NLL and its first two derivatives in `b = 1/T` (convex in `b`).
fn nll_at(logits: &[Vec<f64>], labels: &[usize], b: f64) -> (f64, f64, f64) {
    let (mut f, mut d1, mut d2) = (0.0, 0.0, 0.0);
    for (z, &y) in logits.iter().zip(labels) {
        let (lse, mean, var) = scaled_moments(z, b);
        f += lse - b * z[y];
        d1 += mean - z[y];
        d2 += var;
    }
    let n = logits.len() as f64;
    (f / n, d1 / n, d2 / n)
}

/// Temperature scaling (Guo et al. 2017): the one temperature `T` that minimises the mean
/// negative log-likelihood of `labels` under `softmax(logits / T)`. Dividing every logit
/// by the same `T` keeps each row's order, so the predicted class never changes; in two
/// classes the ranking (and AUC) of the scores does not change either.
///
/// The likelihood is convex in `b = 1/T`, so Newton's method on `b`, kept inside a
/// shrinking bracket by bisection, converges to the optimum (checked against scipy's
/// root of the same derivative in `tests/calibration.rs`). Log-probabilities work as
/// logits (`softmax(log p / T) ∝ p^(1/T)`).
///
/// # Errors
/// As [`temperature_nll`].
pub fn fit_temperature(logits: &[Vec<f64>], labels: &[usize]) -> Result<TemperatureFit> {
    check_logits("fit_temperature", logits, labels)?;
    let (mut lo, mut hi) = (1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE);
    let nll_before = nll_at(logits, labels, 1.0).0;
    // Convex in b: an optimum beyond a bound is at that bound.
    let b = if nll_at(logits, labels, hi).1 <= 0.0 {
        hi
    } else if nll_at(logits, labels, lo).1 >= 0.0 {
        lo
    } else {
        let mut b = 1.0;
        for _ in 0..200 {
            let (_, d1, d2) = nll_at(logits, labels, b);
            if d1 > 0.0 {
                hi = b;
            } else {
                lo = b;
            }
            let newton = b - d1 / d2;
            let next = if d2 > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            let done = (next - b).abs() <= 1e-15 * b.max(1.0) || hi - lo <= 1e-15 * hi;
            b = next;
            if done {
                break;
            }
        }
        b
    };
    let temperature = if b == 1.0 / MIN_TEMPERATURE {
        MIN_TEMPERATURE
    } else if b == 1.0 / MAX_TEMPERATURE {
        MAX_TEMPERATURE
    } else {
        1.0 / b
    };
    Ok(TemperatureFit {
        temperature,
        nll_before,
        nll_after: nll_at(logits, labels, b).0,
        n: logits.len(),
    })
}

/// `softmax(logits / temperature)`, one row (for log-probabilities: `p^(1/T)` rescaled to
/// sum to 1).
pub fn apply_temperature(logits: &[f64], temperature: f64) -> Vec<f64> {
    let b = 1.0 / temperature;
    let m = logits.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(b * v));
    let w: Vec<f64> = logits.iter().map(|&v| (b * v - m).exp()).collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|v| v / s).collect()
}

/// Log-probabilities below this floor (a probability that underflowed to 0) are raised to
/// it by [`log_probabilities`], so that every logit is finite (`ln 1e-30`).
pub const LOG_PROBABILITY_FLOOR: f64 = -69.077_552_789_821_37;

/// `ln p`, floored at [`LOG_PROBABILITY_FLOOR`]: probabilities as the logits of
/// [`fit_temperature`] (`softmax(ln p) = p` for a probability vector).
pub fn log_probabilities(p: &[f64]) -> Vec<f64> {
    p.iter()
        .map(|&v| v.ln().max(LOG_PROBABILITY_FLOOR))
        .collect()
}

/// Probabilities after temperature scaling: `softmax(ln p / T)`, i.e. `p^(1/T)` rescaled
/// to sum to 1. With `1/T` it undoes a scaling by `T` (up to the floor).
pub fn temper_probabilities(p: &[f64], temperature: f64) -> Vec<f64> {
    apply_temperature(&log_probabilities(p), temperature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempering_is_undone_by_the_inverse_temperature() {
        let p = [0.7, 0.2, 0.1];
        let t = temper_probabilities(&p, 2.5);
        assert!(t[0] < 0.7 && t[2] > 0.1);
        let back = temper_probabilities(&t, 1.0 / 2.5);
        for (a, b) in back.iter().zip(p) {
            assert!((a - b).abs() < 1e-12, "{back:?}");
        }
        assert_eq!(log_probabilities(&[0.0])[0], LOG_PROBABILITY_FLOOR);
        assert!((LOG_PROBABILITY_FLOOR - 1e-30f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        let s = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        assert_eq!(quantile_sorted(&s, 1.0), 8.0);
        assert!((quantile_sorted(&s, 0.5) - 3.0).abs() < 1e-15);
    }
}
