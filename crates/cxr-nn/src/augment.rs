//! Augmentations applied identically to an image and its masks.
//!
//! The paper's set: "images were randomly mirrored, cropped between 0–20 %, translated
//! from 0–10 pixels and rotated between [−15; 15] degrees"; plus optional brightness,
//! contrast and gamma on the image only. One random [`Affine`] map is drawn per sample and
//! applied to the image (bilinear) and to every mask (nearest neighbour), so they stay
//! aligned. At evaluation use [`AugmentConfig::none`]: the map is a plain resize.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What augmentation to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of a horizontal mirror.
    pub mirror: f64,
    /// Largest share of each side cropped away (then resized back), 0.2 = 20 %.
    pub max_crop: f32,
    /// Largest translation, in output pixels.
    pub max_translate_px: f32,
    /// Largest rotation, in degrees (either direction).
    pub max_rotate_deg: f32,
    /// Largest brightness offset (in 0..1 intensity units), image only.
    pub brightness: f32,
    /// Largest relative contrast change (0.1 = ×0.9..×1.1), image only.
    pub contrast: f32,
    /// Largest |log gamma| (0.2 = gamma in e^±0.2), image only.
    pub gamma: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig::paper()
    }
}

impl AugmentConfig {
    /// The paper's training augmentation.
    pub fn paper() -> Self {
        AugmentConfig {
            mirror: 0.5,
            max_crop: 0.2,
            max_translate_px: 10.0,
            max_rotate_deg: 15.0,
            brightness: 0.0,
            contrast: 0.0,
            gamma: 0.0,
        }
    }

    /// No augmentation (evaluation).
    pub fn none() -> Self {
        AugmentConfig {
            mirror: 0.0,
            max_crop: 0.0,
            max_translate_px: 0.0,
            max_rotate_deg: 0.0,
            brightness: 0.0,
            contrast: 0.0,
            gamma: 0.0,
        }
    }

    /// Largest [`AugmentConfig::max_translate_px`] accepted, in pixels.
    pub const MAX_TRANSLATE_PX: f32 = 10_000.0;
    /// Largest [`AugmentConfig::gamma`] accepted (gamma in e^±4).
    pub const MAX_GAMMA: f32 = 4.0;

    /// Checks the settings, naming the first bad field: every value finite and ≥ 0,
    /// `mirror` ≤ 1, `max_crop` < 1, `max_translate_px` ≤ [`Self::MAX_TRANSLATE_PX`],
    /// `max_rotate_deg` ≤ 180, `brightness` and `contrast` ≤ 1, `gamma` ≤
    /// [`Self::MAX_GAMMA`]. [`AugmentConfig::sample`] draws only from valid settings.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] naming the field (`augment.mirror`, …).
    ///
    /// ```
    /// use cxr_nn::AugmentConfig;
    ///
    /// assert!(AugmentConfig::paper().validate().is_ok());
    /// let bad = AugmentConfig { mirror: 1.5, ..AugmentConfig::paper() };
    /// assert!(bad.validate().unwrap_err().to_string().contains("augment.mirror"));
    /// ```
    pub fn validate(&self) -> crate::Result<()> {
        let checks: [(&'static str, f64, f64, bool); 7] = [
            ("augment.mirror", self.mirror, 1.0, true),
            ("augment.max_crop", f64::from(self.max_crop), 1.0, false),
            (
                "augment.max_translate_px",
                f64::from(self.max_translate_px),
                f64::from(Self::MAX_TRANSLATE_PX),
                true,
            ),
            (
                "augment.max_rotate_deg",
                f64::from(self.max_rotate_deg),
                180.0,
                true,
            ),
            ("augment.brightness", f64::from(self.brightness), 1.0, true),
            ("augment.contrast", f64::from(self.contrast), 1.0, true),
            (
                "augment.gamma",
                f64::from(self.gamma),
                f64::from(Self::MAX_GAMMA),
                true,
            ),
        ];
        for (field, v, max, closed) in checks {
            let ok = v.is_finite() && v >= 0.0 && if closed { v <= max } else { v < max };
            if !ok {
                let close = if closed { ']' } else { ')' };
                return Err(crate::Error::InvalidConfig {
                    field,
                    detail: format!("{v} is not in [0, {max}{close}"),
                });
            }
        }
        Ok(())
    }

    /// Draws one augmentation. The settings must be valid ([`AugmentConfig::validate`]);
    /// the trainers check them before training.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Affine {
        let sym = |rng: &mut ChaCha8Rng, m: f32| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        let crop = if self.max_crop > 0.0 {
            rng.random_range(0.0..=self.max_crop)
        } else {
            0.0
        };
        // Where the crop window sits inside the image (fractions of the free margin).
        let (cx, cy) = (
            rng.random_range(0.0..=1.0f32),
            rng.random_range(0.0..=1.0f32),
        );
        Affine {
            mirror: self.mirror > 0.0 && rng.random_bool(self.mirror),
            crop,
            crop_pos: (cx, cy),
            translate_px: (
                sym(rng, self.max_translate_px),
                sym(rng, self.max_translate_px),
            ),
            rotate_rad: sym(rng, self.max_rotate_deg).to_radians(),
            brightness: sym(rng, self.brightness),
            contrast: 1.0 + sym(rng, self.contrast),
            gamma: sym(rng, self.gamma).exp(),
        }
    }
}

/// One drawn augmentation: a geometric map shared by image and masks, and an intensity
/// change for the image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    /// Mirror left–right.
    pub mirror: bool,
    /// Share cropped away (window side = (1 − crop) × image side).
    pub crop: f32,
    /// Window position within the free margin, each in 0..1.
    pub crop_pos: (f32, f32),
    /// Translation in output pixels (x, y).
    pub translate_px: (f32, f32),
    /// Rotation about the centre, radians.
    pub rotate_rad: f32,
    /// Brightness offset.
    pub brightness: f32,
    /// Contrast factor around 0.5.
    pub contrast: f32,
    /// Gamma.
    pub gamma: f32,
}

impl Affine {
    /// The identity (resize only).
    pub fn identity() -> Self {
        Affine {
            mirror: false,
            crop: 0.0,
            crop_pos: (0.5, 0.5),
            translate_px: (0.0, 0.0),
            rotate_rad: 0.0,
            brightness: 0.0,
            contrast: 1.0,
            gamma: 1.0,
        }
    }

    /// Maps an output pixel centre to source coordinates (in source pixels).
    fn source_of(&self, x: f32, y: f32, out: (usize, usize), src: (usize, usize)) -> (f32, f32) {
        let (ow, oh) = (out.0 as f32, out.1 as f32);
        // Undo translation and rotation about the output centre.
        let (dx, dy) = (
            x + 0.5 - ow / 2.0 - self.translate_px.0,
            y + 0.5 - oh / 2.0 - self.translate_px.1,
        );
        let (s, c) = self.rotate_rad.sin_cos();
        let (rx, ry) = (c * dx + s * dy, -s * dx + c * dy);
        // Normalised position in the crop window, 0..1.
        let (mut u, v) = (rx / ow + 0.5, ry / oh + 0.5);
        if self.mirror {
            u = 1.0 - u;
        }
        let side = 1.0 - self.crop;
        let (u0, v0) = (self.crop * self.crop_pos.0, self.crop * self.crop_pos.1);
        let (su, sv) = (u0 + u * side, v0 + v * side);
        (su * src.0 as f32 - 0.5, sv * src.1 as f32 - 0.5)
    }

    /// Warps an image plane (`src` row-major, `src_size` = (w, h)) to `out_size`,
    /// bilinear, zero outside, then applies the intensity change. Values in 0..1.
    pub fn warp_image(
        &self,
        src: &[f32],
        src_size: (usize, usize),
        out_size: (usize, usize),
    ) -> Vec<f32> {
        let (w, h) = src_size;
        let at = |x: isize, y: isize| {
            if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
                0.0
            } else {
                src[y as usize * w + x as usize]
            }
        };
        let mut out = Vec::with_capacity(out_size.0 * out_size.1);
        for y in 0..out_size.1 {
            for x in 0..out_size.0 {
                let (sx, sy) = self.source_of(x as f32, y as f32, out_size, src_size);
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = (sx - x0, sy - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                    + at(x0 + 1, y0) * fx * (1.0 - fy)
                    + at(x0, y0 + 1) * (1.0 - fx) * fy
                    + at(x0 + 1, y0 + 1) * fx * fy;
                out.push(v);
            }
        }
        if self.brightness != 0.0 || self.contrast != 1.0 || self.gamma != 1.0 {
            for v in &mut out {
                let t = ((*v - 0.5) * self.contrast + 0.5 + self.brightness).clamp(0.0, 1.0);
                *v = t.powf(self.gamma);
            }
        }
        out
    }

    /// Warps a label plane (mask) with nearest neighbour; `fill` outside the source.
    pub fn warp_labels(
        &self,
        src: &[u8],
        src_size: (usize, usize),
        out_size: (usize, usize),
        fill: u8,
    ) -> Vec<u8> {
        let (w, h) = src_size;
        let mut out = Vec::with_capacity(out_size.0 * out_size.1);
        for y in 0..out_size.1 {
            for x in 0..out_size.0 {
                let (sx, sy) = self.source_of(x as f32, y as f32, out_size, src_size);
                let (xi, yi) = (sx.round() as isize, sy.round() as isize);
                out.push(
                    if xi < 0 || yi < 0 || xi >= w as isize || yi >= h as isize {
                        fill
                    } else {
                        src[yi as usize * w + xi as usize]
                    },
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn identity_is_a_resize() {
        let src: Vec<f32> = (0..16).map(|i| i as f32 / 15.0).collect();
        let out = Affine::identity().warp_image(&src, (4, 4), (4, 4));
        for (a, b) in src.iter().zip(&out) {
            assert!((a - b).abs() < 1e-6);
        }
        let labels: Vec<u8> = (0..16).collect();
        assert_eq!(
            Affine::identity().warp_labels(&labels, (4, 4), (4, 4), 0),
            labels
        );
        let m = Affine {
            mirror: true,
            ..Affine::identity()
        };
        assert_eq!(m.warp_labels(&labels, (4, 4), (4, 4), 0)[..4], [3, 2, 1, 0]);
    }

    #[test]
    fn paper_draws_stay_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = AugmentConfig::paper();
        let mut mirrored = 0;
        for _ in 0..500 {
            let a = c.sample(&mut rng);
            assert!((0.0..=0.2).contains(&a.crop));
            assert!(a.translate_px.0.abs() <= 10.0 && a.translate_px.1.abs() <= 10.0);
            assert!(a.rotate_rad.abs() <= 15f32.to_radians() + 1e-6);
            assert_eq!((a.brightness, a.contrast, a.gamma), (0.0, 1.0, 1.0));
            mirrored += usize::from(a.mirror);
        }
        assert!((200..300).contains(&mirrored), "{mirrored}");
        assert_eq!(AugmentConfig::none().sample(&mut rng).rotate_rad, 0.0);
    }

    #[test]
    fn bad_settings_are_rejected_by_field() {
        let field = |c: AugmentConfig| match c.validate() {
            Err(crate::Error::InvalidConfig { field, detail }) => (field, detail),
            other => panic!("{other:?}"),
        };
        let p = AugmentConfig::paper;
        assert!(p().validate().is_ok() && AugmentConfig::none().validate().is_ok());
        let (f, d) = field(AugmentConfig { mirror: 1.5, ..p() });
        assert_eq!((f, d.as_str()), ("augment.mirror", "1.5 is not in [0, 1]"));
        assert_eq!(
            field(AugmentConfig {
                mirror: f64::NAN,
                ..p()
            })
            .0,
            "augment.mirror"
        );
        assert_eq!(
            field(AugmentConfig {
                mirror: -0.1,
                ..p()
            })
            .0,
            "augment.mirror"
        );
        assert_eq!(
            field(AugmentConfig {
                max_crop: 1.0,
                ..p()
            })
            .0,
            "augment.max_crop"
        );
        assert_eq!(
            field(AugmentConfig {
                max_rotate_deg: f32::INFINITY,
                ..p()
            })
            .0,
            "augment.max_rotate_deg"
        );
        assert_eq!(
            field(AugmentConfig {
                max_translate_px: 3e38,
                ..p()
            })
            .0,
            "augment.max_translate_px"
        );
        assert_eq!(
            field(AugmentConfig {
                brightness: f32::NAN,
                ..p()
            })
            .0,
            "augment.brightness"
        );
        assert_eq!(
            field(AugmentConfig {
                contrast: 2.0,
                ..p()
            })
            .0,
            "augment.contrast"
        );
        assert_eq!(
            field(AugmentConfig { gamma: 1e30, ..p() }).0,
            "augment.gamma"
        );
        // The largest valid settings draw without panicking.
        let max = AugmentConfig {
            mirror: 1.0,
            max_crop: 0.99,
            max_translate_px: AugmentConfig::MAX_TRANSLATE_PX,
            max_rotate_deg: 180.0,
            brightness: 1.0,
            contrast: 1.0,
            gamma: AugmentConfig::MAX_GAMMA,
        };
        max.validate().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            assert!(max.sample(&mut rng).mirror);
        }
    }

    proptest! {
        /// Image and mask stay aligned: a bright rectangle drawn in both lands on the
        /// same output pixels (up to the bilinear edge) under any drawn augmentation.
        #[test]
        fn image_and_mask_stay_aligned(seed in 0u64..10_000, w in 24usize..64, h in 24usize..64,
                                       x0 in 2usize..10, y0 in 2usize..10, rw in 6usize..14, rh in 6usize..14) {
            let mut img = vec![0.0f32; w * h];
            let mut mask = vec![0u8; w * h];
            for y in y0..(y0 + rh).min(h) {
                for x in x0..(x0 + rw).min(w) {
                    img[y * w + x] = 1.0;
                    mask[y * w + x] = 255;
                }
            }
            let a = AugmentConfig::paper().sample(&mut ChaCha8Rng::seed_from_u64(seed));
            let out = (32, 32);
            let wi = a.warp_image(&img, (w, h), out);
            let wm = a.warp_labels(&mask, (w, h), out, 0);
            for (v, m) in wi.iter().zip(&wm) {
                if *v > 0.99 { prop_assert_eq!(*m, 255); }
                if *v < 0.01 { prop_assert_eq!(*m, 0); }
            }
        }
    }
}
