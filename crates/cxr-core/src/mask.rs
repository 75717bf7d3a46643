//! [`LungMask`]: a binary lung mask (0 = background, 255 = lung) with the measures the
//! paper's quality gate uses.

use std::path::Path;

use image::{GrayImage, Luma};

use crate::error::{Error, Result};
use crate::image_io::{load_gray, save_png};

/// A binary mask the size of its image: 255 inside the lungs, 0 outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LungMask(GrayImage);

impl LungMask {
    /// An empty mask.
    pub fn empty(width: u32, height: u32) -> Self {
        LungMask(GrayImage::new(width, height))
    }

    /// A mask from any grayscale image: pixels `>= threshold` are lung.
    pub fn from_gray(img: &GrayImage, threshold: u8) -> Self {
        let mut m = img.clone();
        for p in m.pixels_mut() {
            p.0[0] = if p.0[0] >= threshold { 255 } else { 0 };
        }
        LungMask(m)
    }

    /// A mask from a predicate over pixel coordinates.
    pub fn from_fn(width: u32, height: u32, mut inside: impl FnMut(u32, u32) -> bool) -> Self {
        LungMask(GrayImage::from_fn(width, height, |x, y| {
            Luma([if inside(x, y) { 255 } else { 0 }])
        }))
    }

    /// Loads a mask PNG (values ≥ 128 are lung).
    pub fn load(path: &Path) -> Result<Self> {
        Ok(LungMask::from_gray(&load_gray(path)?, 128))
    }

    /// Saves the mask as a 0/255 PNG, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_png(path, &self.0)
    }

    /// Width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        self.0.dimensions()
    }

    /// Whether pixel (x, y) is lung.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        self.0.get_pixel(x, y).0[0] != 0
    }

    /// Number of lung pixels.
    pub fn area(&self) -> usize {
        self.0.as_raw().iter().filter(|&&v| v != 0).count()
    }

    /// Share of the image's pixels that are lung (the paper's gate wants ≥ 0.30).
    pub fn fraction(&self) -> f64 {
        let n = self.0.as_raw().len();
        if n == 0 {
            0.0
        } else {
            self.area() as f64 / n as f64
        }
    }

    /// The union of two masks of the same size.
    pub fn union(&self, other: &LungMask) -> Result<LungMask> {
        self.check_same_size(other)?;
        let mut out = self.0.clone();
        for (a, b) in out.as_mut().iter_mut().zip(other.0.as_raw()) {
            *a = (*a).max(*b);
        }
        Ok(LungMask(out))
    }

    /// Number of pixels lung in both masks.
    pub fn intersection_area(&self, other: &LungMask) -> Result<usize> {
        self.check_same_size(other)?;
        Ok(self
            .0
            .as_raw()
            .iter()
            .zip(other.0.as_raw())
            .filter(|(a, b)| **a != 0 && **b != 0)
            .count())
    }

    fn check_same_size(&self, other: &LungMask) -> Result<()> {
        if self.dimensions() == other.dimensions() {
            Ok(())
        } else {
            Err(Error::SizeMismatch {
                what: "mask",
                got: other.dimensions(),
                expected: self.dimensions(),
            })
        }
    }

    /// The mask as a 0/1 label plane, row-major (the training target of a segmenter).
    pub fn to_binary(&self) -> Vec<u8> {
        self.0.as_raw().iter().map(|&v| u8::from(v != 0)).collect()
    }

    /// The underlying 0/255 image.
    pub fn as_image(&self) -> &GrayImage {
        &self.0
    }

    /// Consumes the mask, returning the 0/255 image.
    pub fn into_image(self) -> GrayImage {
        self.0
    }

    /// Zeroes every pixel of `img` outside the mask (the classifier's masked input).
    pub fn apply(&self, img: &GrayImage) -> Result<GrayImage> {
        if img.dimensions() != self.dimensions() {
            return Err(Error::SizeMismatch {
                what: "image",
                got: img.dimensions(),
                expected: self.dimensions(),
            });
        }
        let mut out = img.clone();
        for (p, m) in out.as_mut().iter_mut().zip(self.0.as_raw()) {
            if *m == 0 {
                *p = 0;
            }
        }
        Ok(out)
    }
}

impl LungMask {
    /// The mask on the grid of [`crate::shrink_gray`]`(_, k)`: each pixel is lung when most of its
    /// block is (ties count as lung), so image and mask stay aligned.
    pub fn shrink(&self, k: u32) -> LungMask {
        if k <= 1 {
            return self.clone();
        }
        let (w, h) = self.dimensions();
        // Lung (any nonzero pixel, as `contains` reads it) is first, so ties go to lung.
        let plane: Vec<u8> = self.0.as_raw().iter().map(|&v| u8::from(v != 0)).collect();
        let k = k as usize;
        let small = crate::resample::shrink_labels(&plane, (w as usize, h as usize), k, &[1, 0]);
        let (ow, oh) = (w.div_ceil(k as u32), h.div_ceil(k as u32));
        LungMask::from_fn(ow, oh, |x, y| small[(y * ow + x) as usize] == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_union_and_apply() {
        let a = LungMask::from_fn(10, 10, |x, _| x < 3);
        let b = LungMask::from_fn(10, 10, |x, _| x >= 7);
        assert_eq!(a.area(), 30);
        assert_eq!(
            a.to_binary().iter().map(|&v| usize::from(v)).sum::<usize>(),
            30
        );
        assert_eq!(a.to_binary()[..4], [1, 1, 1, 0]);
        assert!((a.fraction() - 0.3).abs() < 1e-12);
        let u = a.union(&b).unwrap();
        assert_eq!(u.area(), 60);
        assert_eq!(a.intersection_area(&u).unwrap(), 30);
        assert_eq!(a.intersection_area(&b).unwrap(), 0);
        let img = GrayImage::from_pixel(10, 10, Luma([200]));
        let masked = u.apply(&img).unwrap();
        assert_eq!(masked.get_pixel(0, 0).0[0], 200);
        assert_eq!(masked.get_pixel(5, 5).0[0], 0);
        let small = LungMask::empty(3, 3);
        assert!(matches!(a.union(&small), Err(Error::SizeMismatch { .. })));
    }
}
