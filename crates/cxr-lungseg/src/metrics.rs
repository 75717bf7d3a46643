//! Segmentation metrics: Dice, IoU and the 95th-percentile symmetric Hausdorff distance,
//! per image ([`evaluate`]) and summarized over images ([`Summary`]).
//!
//! # Definitions
//! - Pixels set in the optional *ignore* mask (devices, markings: the mask datasets'
//!   "127 = ignore" value) are excluded from every metric.
//! - **Dice** = 2|P∩T| / (|P| + |T|), **IoU** = |P∩T| / |P∪T| over non-ignored pixels.
//!   Both masks empty → 1 (perfect agreement on "no lung"); exactly one empty → 0.
//! - **HD95**: the boundary of a mask is its foreground pixels with a background
//!   4-neighbour or on the image edge; boundary pixels inside the ignore mask are dropped
//!   (the boundary itself is taken on the unmodified mask, so an ignore region creates no
//!   artificial edge). For each boundary pixel of P, its exact Euclidean distance (in
//!   pixels) to the nearest boundary pixel of T, and vice versa; HD95 = the larger of the
//!   two directed 95th percentiles (linear interpolation between order statistics, as
//!   `numpy.percentile`), i.e. MedPy's and MONAI's `hd95`. Both boundaries empty →
//!   `Some(0.0)`; exactly one empty → `None` (undefined, infinitely far).
//!
//! Distances come from an exact Euclidean distance transform (Felzenszwalb &
//! Huttenlocher, 2012) of the other mask's boundary, O(width × height).
//!
//! ```
//! use cxr_core::LungMask;
//! use cxr_lungseg::metrics::evaluate;
//!
//! let a = LungMask::from_fn(64, 64, |x, y| (10..30).contains(&x) && (10..30).contains(&y));
//! let b = LungMask::from_fn(64, 64, |x, y| (13..33).contains(&x) && (10..30).contains(&y));
//! let m = evaluate(&a, &b, None).unwrap();
//! assert!((m.dice - 2.0 * 340.0 / 800.0).abs() < 1e-12); // overlap 17 × 20
//! assert_eq!(m.hd95, Some(3.0));
//! ```

use cxr_core::LungMask;
use serde::{Deserialize, Serialize};

use crate::masks::LabelMask;

/// Errors of metric computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Two masks that must have the same size do not.
    #[error("size mismatch: {what} is {got:?}, prediction is {expected:?}")]
    SizeMismatch {
        /// Which mask differs (`truth` or `ignore`).
        what: &'static str,
        /// Its size (width, height).
        got: (u32, u32),
        /// The prediction's size (width, height).
        expected: (u32, u32),
    },
}

/// Metrics of one predicted mask against its ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SegMetrics {
    /// Dice coefficient in `[0, 1]`.
    pub dice: f64,
    /// Intersection over union in `[0, 1]`.
    pub iou: f64,
    /// 95th-percentile symmetric Hausdorff distance in pixels; `None` when exactly one
    /// of the two masks is empty.
    pub hd95: Option<f64>,
}

/// Compares a prediction with the ground truth, leaving out the pixels set in `ignore`.
pub fn evaluate(
    pred: &LungMask,
    truth: &LungMask,
    ignore: Option<&LungMask>,
) -> Result<SegMetrics, MetricsError> {
    let dims = pred.dimensions();
    if truth.dimensions() != dims {
        return Err(MetricsError::SizeMismatch {
            what: "truth",
            got: truth.dimensions(),
            expected: dims,
        });
    }
    if let Some(ig) = ignore
        && ig.dimensions() != dims
    {
        return Err(MetricsError::SizeMismatch {
            what: "ignore",
            got: ig.dimensions(),
            expected: dims,
        });
    }
    let (w, h) = (dims.0 as usize, dims.1 as usize);
    let p: Vec<bool> = pred.as_image().as_raw().iter().map(|&v| v != 0).collect();
    let t: Vec<bool> = truth.as_image().as_raw().iter().map(|&v| v != 0).collect();
    let ig: Vec<bool> = match ignore {
        Some(m) => m.as_image().as_raw().iter().map(|&v| v != 0).collect(),
        None => vec![false; w * h],
    };
    let (mut np, mut nt, mut tp) = (0usize, 0usize, 0usize);
    for i in 0..w * h {
        if ig[i] {
            continue;
        }
        np += usize::from(p[i]);
        nt += usize::from(t[i]);
        tp += usize::from(p[i] && t[i]);
    }
    let (dice, iou) = if np + nt == 0 {
        (1.0, 1.0)
    } else {
        (
            2.0 * tp as f64 / (np + nt) as f64,
            tp as f64 / (np + nt - tp) as f64,
        )
    };
    Ok(SegMetrics {
        dice,
        iou,
        hd95: hd95_raw(&p, &t, &ig, w, h),
    })
}

/// Compares a prediction with a labelled ground truth (its ignore pixels left out).
pub fn evaluate_labels(pred: &LungMask, truth: &LabelMask) -> Result<SegMetrics, MetricsError> {
    let ignore = truth.ignore_mask();
    let any_ignored = ignore.area() > 0;
    evaluate(pred, &truth.lung_mask(), any_ignored.then_some(&ignore))
}

/// The 95th-percentile symmetric Hausdorff distance alone (see the module docs).
pub fn hausdorff95(a: &LungMask, b: &LungMask) -> Result<Option<f64>, MetricsError> {
    Ok(evaluate(a, b, None)?.hd95)
}

fn hd95_raw(p: &[bool], t: &[bool], ig: &[bool], w: usize, h: usize) -> Option<f64> {
    let bp = boundary(p, ig, w, h);
    let bt = boundary(t, ig, w, h);
    let (np, nt) = (
        bp.iter().filter(|v| **v).count(),
        bt.iter().filter(|v| **v).count(),
    );
    match (np, nt) {
        (0, 0) => return Some(0.0),
        (0, _) | (_, 0) => return None,
        _ => {}
    }
    let directed = |from: &[bool], to: &[bool]| -> f64 {
        let dt = edt_squared(to, w, h);
        let mut d: Vec<f64> = from
            .iter()
            .zip(&dt)
            .filter(|(f, _)| **f)
            .map(|(_, d2)| d2.sqrt())
            .collect();
        percentile(&mut d, 95.0)
    };
    Some(directed(&bp, &bt).max(directed(&bt, &bp)))
}

/// Foreground pixels with a background 4-neighbour or on the image edge, minus ignored ones.
fn boundary(m: &[bool], ig: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut b = vec![false; m.len()];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !m[i] || ig[i] {
                continue;
            }
            b[i] = x == 0
                || y == 0
                || x + 1 == w
                || y + 1 == h
                || !m[i - 1]
                || !m[i + 1]
                || !m[i - w]
                || !m[i + w];
        }
    }
    b
}

/// Stand-in for "no target" in the distance transform (finite, so the parabola
/// intersections stay well defined).
const FAR: f64 = 1e20;

/// Exact squared Euclidean distance from every pixel to the nearest `true` pixel.
fn edt_squared(targets: &[bool], w: usize, h: usize) -> Vec<f64> {
    let mut grid: Vec<f64> = targets.iter().map(|&t| if t { 0.0 } else { FAR }).collect();
    let n = w.max(h);
    let mut f = vec![0.0; n];
    let mut d = vec![0.0; n];
    let mut v = vec![0usize; n];
    let mut z = vec![0.0; n + 1];
    for x in 0..w {
        for y in 0..h {
            f[y] = grid[y * w + x];
        }
        dt_1d(&f[..h], &mut d[..h], &mut v, &mut z);
        for y in 0..h {
            grid[y * w + x] = d[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&grid[y * w..(y + 1) * w]);
        dt_1d(&f[..w], &mut d[..w], &mut v, &mut z);
        grid[y * w..(y + 1) * w].copy_from_slice(&d[..w]);
    }
    grid
}

/// 1-D squared distance transform of a sampled function (lower envelope of parabolas).
fn dt_1d(f: &[f64], d: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    if n == 0 {
        return;
    }
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        let qf = q as f64;
        let intersect = |p: usize| {
            let pf = p as f64;
            ((f[q] + qf * qf) - (f[p] + pf * pf)) / (2.0 * (qf - pf))
        };
        // z[0] = -inf stops the loop at k = 0.
        let mut s = intersect(v[k]);
        while s <= z[k] {
            k -= 1;
            s = intersect(v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, dq) in d.iter_mut().enumerate() {
        let qf = q as f64;
        while z[k + 1] < qf {
            k += 1;
        }
        let p = v[k] as f64;
        *dq = (qf - p) * (qf - p) + f[v[k]];
    }
}

/// Percentile with linear interpolation between order statistics (numpy's default).
/// Sorts `values`; NaN for an empty slice.
fn percentile(values: &mut [f64], pct: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = pct / 100.0 * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
}

/// Descriptive statistics of one metric over images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator; 0 for a single value).
    pub sd: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Stat {
    /// Statistics of `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let mut sorted = values.to_vec();
        let median = percentile(&mut sorted, 50.0);
        Some(Stat {
            n,
            mean,
            sd,
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// Metrics summarized over images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of images.
    pub images: usize,
    /// Dice over all images (`None` with no images).
    pub dice: Option<Stat>,
    /// IoU over all images.
    pub iou: Option<Stat>,
    /// HD95 over the images where it is defined.
    pub hd95: Option<Stat>,
    /// Images where HD95 is undefined (exactly one mask empty).
    pub hd95_undefined: usize,
}

impl Summary {
    /// Summarizes per-image metrics.
    pub fn of(per_image: &[SegMetrics]) -> Summary {
        let dice: Vec<f64> = per_image.iter().map(|m| m.dice).collect();
        let iou: Vec<f64> = per_image.iter().map(|m| m.iou).collect();
        let hd: Vec<f64> = per_image.iter().filter_map(|m| m.hd95).collect();
        Summary {
            images: per_image.len(),
            dice: Stat::of(&dice),
            iou: Stat::of(&iou),
            hd95: Stat::of(&hd),
            hd95_undefined: per_image.len() - hd.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force_sq(targets: &[bool], w: usize, h: usize) -> Vec<f64> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                targets
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| **t)
                    .map(|(j, _)| {
                        let (tx, ty) = ((j % w) as f64, (j / w) as f64);
                        (x - tx).powi(2) + (y - ty).powi(2)
                    })
                    .fold(FAR, f64::min)
            })
            .collect()
    }

    #[test]
    fn edt_matches_brute_force() {
        let (w, h) = (23, 17);
        // A pseudo-random sparse target set.
        let t: Vec<bool> = (0..w * h).map(|i| (i * 2654435761usize) % 97 < 4).collect();
        assert!(t.iter().any(|v| *v));
        assert_eq!(edt_squared(&t, w, h), brute_force_sq(&t, w, h));
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], 95) = 8.8
        let mut v = vec![10.0, 1.0, 3.0, 2.0, 4.0];
        assert!((percentile(&mut v, 95.0) - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&mut v, 50.0), 3.0);
    }

    #[test]
    fn stat_of_known_values() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.median, s.min, s.max),
            (4, 2.5, 2.5, 1.0, 4.0)
        );
        assert!((s.sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[]), None);
        assert_eq!(Stat::of(&[7.0]).unwrap().sd, 0.0);
    }
}
