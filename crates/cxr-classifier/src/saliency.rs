//! Where the network looks: vanilla gradients (Simonyan et al., 2014 — the paper's
//! reference 31), SmoothGrad (Smilkov et al., 2017) and Grad-CAM (Selvaraju et al.,
//! 2017), and the share of saliency mass inside the lung mask.
//!
//! Gradients are taken with respect to the *network input* (the masked image), not the
//! raw pixels: the raw-pixel gradient is zero outside the mask by construction
//! (input = image × mask), which would make the lung share trivially 1. The input
//! gradient shows what the network would react to anywhere, so a share well below 1
//! flags a network that relies on what lies outside the lungs (which, for a masked
//! input, can only be the mask's shape itself — a shortcut worth knowing about).
//! Grad-CAM maps come from `Mixed_7c` and are upsampled bilinearly.
//!
//! The methods, the map type, the request checks and SmoothGrad's noise build without
//! libtorch: the pure-Rust path (`cxr-infer`) computes the same maps with them; the
//! libtorch [`saliency`] needs the `torch` feature.

#[cfg(feature = "torch")]
use cxr_core::GrayImage;
use cxr_core::{Label, LungMask};
use serde::Serialize;
#[cfg(feature = "torch")]
use tch::{Kind, Tensor};

#[cfg(feature = "torch")]
use crate::infer::Classifier;
use crate::{Error, Result};

/// Which saliency method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Method {
    /// |∂ score / ∂ input|, maximum over input channels.
    Vanilla,
    /// Mean of vanilla maps over `samples` copies of the input with Gaussian noise of
    /// standard deviation `noise` × (max − min of the input). Fixed seed: deterministic.
    SmoothGrad {
        /// Noisy copies.
        samples: usize,
        /// Noise level relative to the input's range (0.15 in the paper of SmoothGrad).
        noise: f64,
    },
    /// ReLU of the gradient-weighted sum of `Mixed_7c` feature maps.
    GradCam,
}

impl Method {
    /// Stable name (`vanilla`, `smoothgrad`, `gradcam`).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Vanilla => "vanilla",
            Method::SmoothGrad { .. } => "smoothgrad",
            Method::GradCam => "gradcam",
        }
    }
}

/// A saliency map at the image's size, values ≥ 0 (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct SaliencyMap {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Values, ≥ 0.
    pub values: Vec<f32>,
}

impl SaliencyMap {
    /// Share of the total saliency inside the mask (0..1; 0 for an all-zero map).
    pub fn share_inside(&self, mask: &LungMask) -> f64 {
        let bin = mask.to_binary();
        let (mut inside, mut total) = (0.0f64, 0.0f64);
        for (v, m) in self.values.iter().zip(bin) {
            total += f64::from(*v);
            if m != 0 {
                inside += f64::from(*v);
            }
        }
        if total > 0.0 { inside / total } else { 0.0 }
    }
}

#[cfg(feature = "torch")]
fn input_gradient(clf: &Classifier, x: &Tensor, class: i64) -> Tensor {
    let x = x.detach().set_requires_grad(true);
    let logits = clf.net().forward_all(&x, false).logits;
    let score = logits.select(1, class).sum(Kind::Float);
    let g = Tensor::run_backward(&[score], &[&x], false, false);
    g[0].abs().amax([1i64].as_slice(), false)
}

/// Checks a saliency request: a class of the label set, and for SmoothGrad at least one
/// noisy copy and a noise level that is finite and ≥ 0.
///
/// # Errors
///
/// [`Error::Classes`], [`Error::InvalidConfig`].
pub fn check_request(class: usize, method: Method) -> Result<()> {
    // A loaded classifier has exactly `Label::COUNT` outputs (`Classifier::load`).
    if class >= Label::COUNT {
        return Err(Error::Classes {
            what: format!("class {class}"),
            expected: Label::COUNT,
        });
    }
    if let Method::SmoothGrad { samples, noise } = method {
        if samples == 0 {
            return Err(Error::InvalidConfig {
                field: "samples",
                detail: "SmoothGrad needs at least one noisy copy".into(),
            });
        }
        if !(noise.is_finite() && noise >= 0.0) {
            return Err(Error::InvalidConfig {
                field: "noise",
                detail: format!("{noise}: must be finite and ≥ 0"),
            });
        }
    }
    Ok(())
}

/// SmoothGrad's noise: `copies` draws of `len` values, standard deviation `sigma`, from a
/// private generator with a fixed seed, so that a map is the same on every call and on
/// both backends.
pub fn smoothgrad_noise(copies: usize, len: usize, sigma: f64) -> Vec<Vec<f32>> {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0x5A11_E4C7);
    (0..copies)
        .map(|_| {
            (0..len)
                .map(|_| gaussian(&mut rng) * sigma as f32)
                .collect()
        })
        .collect()
}

/// Saliency of `class` ([`Label::index`]) for an image and its lung mask, at the image's
/// size.
///
/// # Errors
///
/// [`Error::Classes`] for a class outside the label set; [`Error::InvalidConfig`] for
/// SmoothGrad with no samples or a noise level that is not finite and ≥ 0;
/// [`Error::MaskSize`] when the mask's size differs from the image's; libtorch errors.
#[cfg(feature = "torch")]
pub fn saliency(
    clf: &Classifier,
    img: &GrayImage,
    mask: &LungMask,
    class: usize,
    method: Method,
) -> Result<SaliencyMap> {
    check_request(class, method)?;
    let x = clf.input(img, mask)?;
    let class = class as i64;
    let map = match method {
        Method::Vanilla => input_gradient(clf, &x, class),
        Method::SmoothGrad { samples, noise } => {
            let range = (x.max() - x.min()).double_value(&[]);
            let mut acc = x.select(1, 0).zeros_like();
            for noise in smoothgrad_noise(samples, x.numel(), noise * range) {
                let n = Tensor::from_slice(&noise)
                    .view(x.size().as_slice())
                    .to_device(x.device());
                acc += input_gradient(clf, &(&x + n), class);
            }
            acc / samples as f64
        }
        Method::GradCam => {
            // The input carries the graph: folded inference weights do not require grad.
            let x = x.detach().set_requires_grad(true);
            let out = clf.net().forward_all(&x, false);
            let score = out.logits.select(1, class).sum(Kind::Float);
            let g = Tensor::run_backward(&[score], &[&out.features], false, false);
            let weights = g[0].mean_dim([2i64, 3].as_slice(), true, Kind::Float);
            let cam = (&out.features * weights)
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                .relu();
            let s = x.size();
            cam.unsqueeze(1)
                .upsample_bilinear2d([s[2], s[3]], false, None, None)
                .squeeze_dim(1)
        }
    };
    // [1, S, S] at the model's size → the image's size.
    let (w, h) = img.dimensions();
    let up = map
        .detach()
        .unsqueeze(1)
        .upsample_bilinear2d([i64::from(h), i64::from(w)], false, None, None)
        .clamp_min(0.0)
        .to_device(tch::Device::Cpu)
        .flatten(0, -1);
    Ok(SaliencyMap {
        width: w,
        height: h,
        values: Vec::<f32>::try_from(&up).expect("float tensor"),
    })
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut rand_chacha::ChaCha8Rng) -> f32 {
    use rand::Rng;
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_inside_counts_mass_under_the_mask() {
        let map = SaliencyMap {
            width: 4,
            height: 1,
            values: vec![1.0, 3.0, 0.0, 4.0],
        };
        let mask = LungMask::from_fn(4, 1, |x, _| x == 1 || x == 2);
        assert!((map.share_inside(&mask) - 3.0 / 8.0).abs() < 1e-12);
        let zero = SaliencyMap {
            values: vec![0.0; 4],
            ..map.clone()
        };
        assert_eq!(zero.share_inside(&mask), 0.0);
    }
}
