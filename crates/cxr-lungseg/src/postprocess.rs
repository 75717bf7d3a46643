//! Post-processing of a segmenter's output into the two lungs (plain Rust, no libtorch).
//!
//! From a probability map (a `w × h` slice of `f32` in `0..=1`, or an 8-bit image where
//! 255 = 1.0) [`postprocess`] / [`postprocess_gray`] produce a [`Segmentation`]:
//!
//! 1. **threshold**: a pixel is foreground when `p >= threshold` (NaN is background);
//! 2. **components**: 8-connected components of the foreground;
//! 3. **selection**: components smaller than `min_component_fraction` of the image are
//!    noise; of the rest, the two largest are the lungs (ties: the first in raster order);
//! 4. **left/right**: the lung whose centroid is further left *in the image* is the
//!    patient's right lung (radiological convention: image left = patient's right). A single
//!    lung is assigned by which half of the image holds its centroid (a centroid exactly on
//!    the middle column goes to the patient's right);
//! 5. **hole filling**: background regions (4-connected, the dual of 8-connected
//!    foreground) that do not touch the image border become lung, per lung;
//! 6. **smoothing**: a binary majority filter over a `(2r+1)²` window, per lung (pixels
//!    outside the image count as background), followed by a second hole filling, since a
//!    majority filter can seal a narrow inlet.
//!
//! `components_found` counts the components that passed the size filter (it can exceed 2);
//! the quality gate ([`crate::qc`]) counts the lungs actually kept.
//!
//! ```
//! use cxr_lungseg::postprocess::{postprocess, PostprocessOptions};
//!
//! // Two 6×10 blocks of probability 0.9 in a 20×12 map.
//! let (w, h) = (20u32, 12u32);
//! let prob: Vec<f32> = (0..w * h)
//!     .map(|i| {
//!         let (x, y) = (i % w, i / w);
//!         if (1..11).contains(&y) && ((2..8).contains(&x) || (12..18).contains(&x)) {
//!             0.9
//!         } else {
//!             0.1
//!         }
//!     })
//!     .collect();
//! let seg = postprocess(&prob, w, h, &PostprocessOptions::default()).unwrap();
//! assert_eq!(seg.components_found, 2);
//! assert!(seg.right.contains(4, 5)); // image left = patient's right
//! assert!(seg.left.contains(15, 5));
//! ```

use cxr_core::{GrayImage, LungMask};
use serde::{Deserialize, Serialize};

/// Errors of post-processing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PostprocessError {
    /// The probability map does not hold `width × height` values.
    #[error("probability map has {got} values, expected {width}×{height} = {expected}")]
    SizeMismatch {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// Values expected (`width × height`).
        expected: usize,
        /// Values found.
        got: usize,
    },
    /// An option is out of its range.
    #[error("invalid post-processing option `{field}`: {reason}")]
    InvalidOption {
        /// The option's field name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Settings of [`postprocess`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostprocessOptions {
    /// Probability at or above which a pixel is foreground (default 0.5).
    pub threshold: f32,
    /// Smallest component, as a share of the image's pixels, that counts as a lung
    /// (default 0.02).
    pub min_component_fraction: f32,
    /// Fill holes inside each lung (default true).
    pub fill_holes: bool,
    /// Radius `r` of the binary majority filter over a `(2r+1)²` window; 0 = no
    /// smoothing (default 1, a 3×3 window).
    pub smoothing_radius: u32,
}

impl Default for PostprocessOptions {
    fn default() -> Self {
        PostprocessOptions {
            threshold: 0.5,
            min_component_fraction: 0.02,
            fill_holes: true,
            smoothing_radius: 1,
        }
    }
}

impl PostprocessOptions {
    /// Checks the ranges: `threshold` and `min_component_fraction` in `[0, 1]`,
    /// `smoothing_radius` ≤ 64.
    pub fn validate(&self) -> Result<(), PostprocessError> {
        let bad = |field, reason| Err(PostprocessError::InvalidOption { field, reason });
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad("threshold", "must be in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_component_fraction) {
            return bad("min_component_fraction", "must be in [0, 1]");
        }
        if self.smoothing_radius > 64 {
            return bad("smoothing_radius", "must be at most 64");
        }
        Ok(())
    }
}

/// The two lungs found in one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    /// Patient's right lung (on the image's left); empty if not found.
    pub right: LungMask,
    /// Patient's left lung (on the image's right); empty if not found.
    pub left: LungMask,
    /// Union of both lungs.
    pub lungs: LungMask,
    /// Number of connected components at least `min_component_fraction` of the image
    /// (before keeping the two largest).
    pub components_found: usize,
}

impl Segmentation {
    /// Number of lungs kept (0, 1 or 2): the non-empty masks among `right` and `left`.
    pub fn lungs_kept(&self) -> u8 {
        u8::from(self.right.area() > 0) + u8::from(self.left.area() > 0)
    }

    /// Image width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        self.lungs.dimensions()
    }
}

/// Post-processes a probability map of `width × height` values in raster order.
pub fn postprocess(
    prob: &[f32],
    width: u32,
    height: u32,
    opts: &PostprocessOptions,
) -> Result<Segmentation, PostprocessError> {
    opts.validate()?;
    let expected = width as usize * height as usize;
    if prob.len() != expected {
        return Err(PostprocessError::SizeMismatch {
            width,
            height,
            expected,
            got: prob.len(),
        });
    }
    let fg: Vec<bool> = prob.iter().map(|&p| p >= opts.threshold).collect();
    Ok(segment_binary(fg, width, height, opts))
}

/// Post-processes an 8-bit probability image (value `v` is probability `v / 255`), e.g.
/// a saved network output or a 0/255 mask.
pub fn postprocess_gray(
    prob: &GrayImage,
    opts: &PostprocessOptions,
) -> Result<Segmentation, PostprocessError> {
    opts.validate()?;
    let (w, h) = prob.dimensions();
    let fg: Vec<bool> = prob
        .as_raw()
        .iter()
        .map(|&v| f32::from(v) / 255.0 >= opts.threshold)
        .collect();
    Ok(segment_binary(fg, w, h, opts))
}

/// Post-processes a binary mask (the threshold is irrelevant).
pub fn postprocess_mask(
    mask: &LungMask,
    opts: &PostprocessOptions,
) -> Result<Segmentation, PostprocessError> {
    opts.validate()?;
    let (w, h) = mask.dimensions();
    let fg: Vec<bool> = mask.as_image().as_raw().iter().map(|&v| v != 0).collect();
    Ok(segment_binary(fg, w, h, opts))
}

/// One connected component.
#[derive(Debug, Clone, Copy)]
struct Component {
    label: u32,
    area: usize,
    sum_x: f64,
}

impl Component {
    fn centroid_x(&self) -> f64 {
        self.sum_x / self.area as f64
    }
}

fn segment_binary(
    fg: Vec<bool>,
    width: u32,
    height: u32,
    opts: &PostprocessOptions,
) -> Segmentation {
    let (w, h) = (width as usize, height as usize);
    let (labels, comps) = label_components(&fg, w, h);
    let n = w * h;
    let min_area = (f64::from(opts.min_component_fraction) * n as f64)
        .ceil()
        .max(1.0) as usize;
    let mut big: Vec<Component> = comps.into_iter().filter(|c| c.area >= min_area).collect();
    let components_found = big.len();
    // Largest first; the stable sort keeps raster order among equals.
    big.sort_by_key(|c| std::cmp::Reverse(c.area));
    big.truncate(2);

    let mid = (w as f64 - 1.0) / 2.0;
    let (right, left) = match big.as_slice() {
        [] => (None, None),
        [one] => {
            if one.centroid_x() <= mid {
                (Some(*one), None)
            } else {
                (None, Some(*one))
            }
        }
        [a, b, ..] => {
            if a.centroid_x() <= b.centroid_x() {
                (Some(*a), Some(*b))
            } else {
                (Some(*b), Some(*a))
            }
        }
    };
    let build = |c: Option<Component>| -> Vec<bool> {
        let Some(c) = c else {
            return vec![false; n];
        };
        let mut m: Vec<bool> = labels.iter().map(|&l| l == c.label).collect();
        if opts.fill_holes {
            fill_holes(&mut m, w, h);
        }
        if opts.smoothing_radius > 0 {
            m = majority_filter(&m, w, h, opts.smoothing_radius as usize);
            if opts.fill_holes {
                fill_holes(&mut m, w, h);
            }
        }
        m
    };
    let r = build(right);
    let mut l = build(left);
    // Smoothing or hole filling may make the two lungs touch or overlap: the right lung
    // keeps the contested pixels so that the masks stay disjoint.
    for (lv, rv) in l.iter_mut().zip(&r) {
        if *rv {
            *lv = false;
        }
    }
    let to_mask =
        |m: &[bool]| LungMask::from_fn(width, height, |x, y| m[y as usize * w + x as usize]);
    let lungs: Vec<bool> = r.iter().zip(&l).map(|(a, b)| *a || *b).collect();
    Segmentation {
        right: to_mask(&r),
        left: to_mask(&l),
        lungs: to_mask(&lungs),
        components_found,
    }
}

/// 8-connected component labelling by flood fill. Labels are 1-based (0 = background).
fn label_components(fg: &[bool], w: usize, h: usize) -> (Vec<u32>, Vec<Component>) {
    let mut labels = vec![0u32; fg.len()];
    let mut comps = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..fg.len() {
        if !fg[start] || labels[start] != 0 {
            continue;
        }
        let label = comps.len() as u32 + 1;
        let mut comp = Component {
            label,
            area: 0,
            sum_x: 0.0,
        };
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            comp.area += 1;
            comp.sum_x += x as f64;
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
            for ny in y0..=y1 {
                for nx in x0..=x1 {
                    let j = ny * w + nx;
                    if fg[j] && labels[j] == 0 {
                        labels[j] = label;
                        stack.push(j);
                    }
                }
            }
        }
        comps.push(comp);
    }
    (labels, comps)
}

/// Sets to foreground every background pixel not 4-connected to the image border.
fn fill_holes(m: &mut [bool], w: usize, h: usize) {
    if w == 0 || h == 0 {
        return;
    }
    let mut outside = vec![false; m.len()];
    let mut stack = Vec::new();
    let seed = |i: usize, outside: &mut Vec<bool>, stack: &mut Vec<usize>| {
        if !m[i] && !outside[i] {
            outside[i] = true;
            stack.push(i);
        }
    };
    for x in 0..w {
        seed(x, &mut outside, &mut stack);
        seed((h - 1) * w + x, &mut outside, &mut stack);
    }
    for y in 0..h {
        seed(y * w, &mut outside, &mut stack);
        seed(y * w + w - 1, &mut outside, &mut stack);
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut push = |j: usize| {
            if !m[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            push(i - 1);
        }
        if x + 1 < w {
            push(i + 1);
        }
        if y > 0 {
            push(i - w);
        }
        if y + 1 < h {
            push(i + w);
        }
    }
    for (v, o) in m.iter_mut().zip(&outside) {
        if !*o {
            *v = true;
        }
    }
}

/// Binary majority filter over a `(2r+1)²` window (outside = background), by an
/// integral image: a pixel is foreground when more than half the window is.
fn majority_filter(m: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let iw = w + 1;
    let mut integral = vec![0u32; iw * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += u32::from(m[y * w + x]);
            integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
        }
    }
    let window = ((2 * r + 1) * (2 * r + 1)) as u32;
    let mut out = vec![false; m.len()];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let s = integral[y1 * iw + x1] + integral[y0 * iw + x0]
                - integral[y0 * iw + x1]
                - integral[y1 * iw + x0];
            out[y * w + x] = 2 * s > window;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: u32, y0: u32, x1: u32, y1: u32) -> impl Fn(u32, u32) -> bool {
        move |x, y| (x0..x1).contains(&x) && (y0..y1).contains(&y)
    }

    #[test]
    fn fill_holes_fills_enclosed_background_only() {
        // A ring with a 2×2 hole, and a bay open to the border.
        let (w, h) = (8, 8);
        let mut m: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (1..7).contains(&x)
                    && (1..7).contains(&y)
                    && !((3..5).contains(&x) && (3..5).contains(&y))
            })
            .collect();
        fill_holes(&mut m, w, h);
        assert_eq!(m.iter().filter(|v| **v).count(), 36);
        // A C-shape open to the border stays open.
        let mut c: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (1..7).contains(&x)
                    && (1..7).contains(&y)
                    && !((3..8).contains(&x) && (3..5).contains(&y))
            })
            .collect();
        let before = c.clone();
        fill_holes(&mut c, w, h);
        assert_eq!(c, before);
    }

    #[test]
    fn majority_filter_removes_spur_and_keeps_square() {
        let (w, h) = (10, 10);
        let f = rect(2, 2, 8, 8);
        let mut m: Vec<bool> = (0..w * h)
            .map(|i| f((i % w) as u32, (i / w) as u32))
            .collect();
        m[5] = true; // lone pixel at (5, 0)
        let out = majority_filter(&m, w, h, 1);
        assert!(!out[5]);
        // The square loses only its 4 corners (each sees 4 of 9).
        assert_eq!(out.iter().filter(|v| **v).count(), 36 - 4);
        assert!(!out[2 * w + 2] && out[2 * w + 3] && out[5 * w + 5]);
    }

    #[test]
    fn eight_connectivity_joins_diagonals() {
        let fg = vec![true, false, false, true];
        let (labels, comps) = label_components(&fg, 2, 2);
        assert_eq!(comps.len(), 1);
        assert_eq!(labels, vec![1, 0, 0, 1]);
    }

    #[test]
    fn options_validate_names_the_field() {
        let o = PostprocessOptions {
            threshold: 1.5,
            ..Default::default()
        };
        let e = o.validate().unwrap_err();
        assert!(e.to_string().contains("threshold"), "{e}");
        let e = postprocess(&[0.0; 5], 2, 2, &PostprocessOptions::default()).unwrap_err();
        assert!(matches!(
            e,
            PostprocessError::SizeMismatch {
                expected: 4,
                got: 5,
                ..
            }
        ));
    }

    #[test]
    fn options_serde_round_trip_and_defaults() {
        let o: PostprocessOptions = serde_json::from_str(r#"{"threshold":0.4}"#).unwrap();
        assert_eq!(o.threshold, 0.4);
        assert_eq!(o.min_component_fraction, 0.02);
        let back: PostprocessOptions =
            serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
        assert_eq!(back, o);
        assert!(serde_json::from_str::<PostprocessOptions>(r#"{"thresh":0.4}"#).is_err());
    }
}
