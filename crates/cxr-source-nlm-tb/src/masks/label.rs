//! Mask value interpretation: what a ground-truth pixel is, and the labelled mask.

use std::path::Path;

use cxr_core::image_io::Luma;
use cxr_core::{GrayImage, LungMask};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// What one ground-truth pixel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelLabel {
    /// Not lung.
    Background,
    /// Lung.
    Lung,
    /// Excluded from the loss and the metrics (devices, markings).
    Ignore,
}

/// The mask values of a generic labelled mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaskValues {
    /// Background value (default 0).
    pub background: u8,
    /// Lung value (default 255).
    pub lung: u8,
    /// "Ignore" value, if the masks use one (default 127).
    pub ignore: Option<u8>,
    /// Accept the in-between values of anti-aliased or resampled masks (default true):
    /// each goes to the nearer of `background` and `lung` (the midpoint to lung), as long
    /// as such pixels are at most [`MAX_SOFT_EDGE_FRACTION`] of the mask. `false`: any
    /// value other than the three is an error.
    pub soft_edges: bool,
}

/// The largest share of a generic mask's pixels that may hold soft-edge values (5 %;
/// the anti-aliased edge of a pair of lungs is about 1 % of the image).
pub const MAX_SOFT_EDGE_FRACTION: f64 = 0.05;

impl Default for MaskValues {
    fn default() -> Self {
        MaskValues {
            background: 0,
            lung: 255,
            ignore: Some(127),
            soft_edges: true,
        }
    }
}

impl MaskValues {
    fn label_of(&self, v: u8) -> Option<PixelLabel> {
        if v == self.lung {
            Some(PixelLabel::Lung)
        } else if v == self.background {
            Some(PixelLabel::Background)
        } else if Some(v) == self.ignore {
            Some(PixelLabel::Ignore)
        } else {
            None
        }
    }

    /// The nearer of background and lung (ties to lung), for a soft-edge value.
    fn nearest(&self, v: u8) -> PixelLabel {
        if v.abs_diff(self.lung) <= v.abs_diff(self.background) {
            PixelLabel::Lung
        } else {
            PixelLabel::Background
        }
    }
}

/// A ground-truth mask: background, lung or ignore per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMask {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) labels: Vec<PixelLabel>,
}

impl LabelMask {
    /// A mask from a function of the pixel coordinates.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> PixelLabel) -> Self {
        let labels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        LabelMask {
            width,
            height,
            labels,
        }
    }

    /// A mask with no ignore pixels from a binary lung mask.
    pub fn from_lung_mask(mask: &LungMask) -> Self {
        let (w, h) = mask.dimensions();
        LabelMask::from_fn(w, h, |x, y| {
            if mask.contains(x, y) {
                PixelLabel::Lung
            } else {
                PixelLabel::Background
            }
        })
    }

    /// Reads a labelled 8-bit image with `values` (`path` names the file in the error):
    /// soft-edge values are rounded when `values.soft_edges` allows them, else refused.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedValue`] (strict reading) and [`Error::NotAMask`] (more than
    /// [`MAX_SOFT_EDGE_FRACTION`] of soft values).
    pub fn from_gray(img: &GrayImage, values: &MaskValues, path: &Path) -> Result<Self> {
        let (w, h) = img.dimensions();
        let mut labels = Vec::with_capacity(img.as_raw().len());
        let mut soft = 0usize;
        for (i, &v) in img.as_raw().iter().enumerate() {
            match values.label_of(v) {
                Some(l) => labels.push(l),
                None if values.soft_edges => {
                    soft += 1;
                    labels.push(values.nearest(v));
                }
                None => {
                    return Err(Error::UnexpectedValue {
                        path: path.to_path_buf(),
                        value: v,
                        x: (i % w as usize) as u32,
                        y: (i / w as usize) as u32,
                    });
                }
            }
        }
        if soft as f64 > MAX_SOFT_EDGE_FRACTION * labels.len() as f64 {
            return Err(Error::NotAMask {
                path: path.to_path_buf(),
                share: 100.0 * soft as f64 / labels.len() as f64,
                max: 100.0 * MAX_SOFT_EDGE_FRACTION,
            });
        }
        Ok(LabelMask {
            width: w,
            height: h,
            labels,
        })
    }

    /// Width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The label of pixel (x, y).
    ///
    /// # Panics
    /// If (x, y) is outside the mask.
    pub fn get(&self, x: u32, y: u32) -> PixelLabel {
        assert!(
            x < self.width && y < self.height,
            "({x}, {y}) outside the mask"
        );
        self.labels[y as usize * self.width as usize + x as usize]
    }

    /// All labels in raster order.
    pub fn labels(&self) -> &[PixelLabel] {
        &self.labels
    }

    /// Number of pixels with `label`.
    pub fn count(&self, label: PixelLabel) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// The lung pixels as a binary mask.
    pub fn lung_mask(&self) -> LungMask {
        self.mask_of(PixelLabel::Lung)
    }

    /// The ignore pixels as a binary mask.
    pub fn ignore_mask(&self) -> LungMask {
        self.mask_of(PixelLabel::Ignore)
    }

    fn mask_of(&self, label: PixelLabel) -> LungMask {
        LungMask::from_fn(self.width, self.height, |x, y| self.get(x, y) == label)
    }

    /// The mask as an 8-bit image with the given values (ignore pixels become
    /// background when `values.ignore` is `None`).
    pub fn to_gray(&self, values: &MaskValues) -> GrayImage {
        GrayImage::from_fn(self.width, self.height, |x, y| {
            Luma([match self.get(x, y) {
                PixelLabel::Background => values.background,
                PixelLabel::Lung => values.lung,
                PixelLabel::Ignore => values.ignore.unwrap_or(values.background),
            }])
        })
    }

    /// Nearest-neighbour resampling to `width × height` (pixel centres mapped). A mask
    /// without pixels (a side of 0) has nothing to sample: the result is all background.
    pub fn resize_nearest(&self, width: u32, height: u32) -> LabelMask {
        let (sw, sh) = (u64::from(self.width), u64::from(self.height));
        if sw == 0 || sh == 0 {
            return LabelMask::from_fn(width, height, |_, _| PixelLabel::Background);
        }
        LabelMask::from_fn(width, height, |x, y| {
            let sx = ((2 * u64::from(x) + 1) * sw / (2 * u64::from(width))).min(sw - 1);
            let sy = ((2 * u64::from(y) + 1) * sh / (2 * u64::from(height))).min(sh - 1);
            self.get(sx as u32, sy as u32)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_nearest_doubles_and_halves_exactly() {
        let m = LabelMask::from_fn(2, 2, |x, y| match (x, y) {
            (0, 0) => PixelLabel::Lung,
            (1, 1) => PixelLabel::Ignore,
            _ => PixelLabel::Background,
        });
        let big = m.resize_nearest(4, 4);
        assert_eq!(big.count(PixelLabel::Lung), 4);
        assert_eq!(big.count(PixelLabel::Ignore), 4);
        assert_eq!(big.get(1, 1), PixelLabel::Lung);
        assert_eq!(big.get(2, 2), PixelLabel::Ignore);
        assert_eq!(big.resize_nearest(2, 2), m);
    }

    #[test]
    fn resize_nearest_of_an_empty_mask_is_background() {
        // `sw - 1` used to underflow for a 0 × 0 (or 0-wide) mask.
        for (w, h) in [(0, 0), (0, 3), (3, 0)] {
            let empty = LabelMask::from_fn(w, h, |_, _| PixelLabel::Lung);
            let r = empty.resize_nearest(3, 2);
            assert_eq!(r.dimensions(), (3, 2));
            assert_eq!(r.count(PixelLabel::Background), 6);
        }
        let m = LabelMask::from_fn(2, 2, |_, _| PixelLabel::Lung);
        assert_eq!(m.resize_nearest(0, 0).dimensions(), (0, 0));
    }

    #[test]
    fn strict_values_and_to_gray_round_trip() {
        let v = MaskValues::default();
        let img = GrayImage::from_raw(3, 1, vec![0, 127, 255]).unwrap();
        let m = LabelMask::from_gray(&img, &v, Path::new("m.png")).unwrap();
        assert_eq!(
            m.labels(),
            &[PixelLabel::Background, PixelLabel::Ignore, PixelLabel::Lung]
        );
        assert_eq!(m.to_gray(&v), img);
        let strict = MaskValues {
            soft_edges: false,
            ..v
        };
        let bad = GrayImage::from_raw(3, 1, vec![0, 128, 255]).unwrap();
        let e = LabelMask::from_gray(&bad, &strict, Path::new("m.png")).unwrap_err();
        assert_eq!(e.to_string(), "m.png: unexpected mask value 128 at (1, 0)");
        let no_ignore = MaskValues {
            ignore: None,
            ..strict
        };
        assert!(LabelMask::from_gray(&img, &no_ignore, Path::new("m.png")).is_err());
    }

    #[test]
    fn soft_edges_go_to_the_nearer_label_unless_they_are_the_image() {
        let v = MaskValues::default();
        // 40 pixels: 0, 255, 127 (ignore) and two soft ones (1 of 20 = 5 %: accepted).
        let mut px = vec![0u8; 20];
        px.extend([255u8; 16]);
        px.extend([127, 127, 100, 128]);
        let img = GrayImage::from_raw(8, 5, px).unwrap();
        let m = LabelMask::from_gray(&img, &v, Path::new("m.png")).unwrap();
        assert_eq!(m.get(4, 4), PixelLabel::Ignore);
        assert_eq!(m.get(6, 4), PixelLabel::Background);
        assert_eq!(m.get(7, 4), PixelLabel::Lung);
        assert_eq!(m.count(PixelLabel::Lung), 17);
        // One soft pixel more is over 5 %: a picture, not a mask.
        let mut px = img.into_raw();
        px[0] = 30;
        px[1] = 200;
        let img = GrayImage::from_raw(8, 5, px).unwrap();
        let e = LabelMask::from_gray(&img, &v, Path::new("photo.png")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "photo.png: 10.0 % of the pixels are neither background, lung nor ignore \
             (at most 5 % may be soft edges): not a lung mask"
        );
    }
}
