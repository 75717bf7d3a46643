//! Saliency maps on the pure-Rust path: the same three methods and the same maps as
//! `cxr_classifier::saliency` (vanilla gradients, SmoothGrad with the same noise,
//! Grad-CAM on `Mixed_7c`), by candle's automatic differentiation; the convolution and
//! the pools supply their own gradients (`nn.rs`). The request checks, the noise and the
//! map type are the libtorch path's own.

use candle_core::{D, Device, Tensor, Var};
use cxr_classifier::saliency::{Method, SaliencyMap, check_request, smoothgrad_noise};
use cxr_core::{GrayImage, LungMask};

use crate::{Classifier, Result};

/// |∂ logit(class) / ∂ input|, the maximum over input channels: `[1, S, S]`.
fn input_gradient(clf: &Classifier, x: &Tensor, class: usize) -> Result<Tensor> {
    let x = Var::from_tensor(x)?;
    let logits = clf.net().forward(x.as_tensor())?;
    let grads = logits.narrow(1, class, 1)?.sum_all()?.backward()?;
    let g = grads
        .get(x.as_tensor())
        .ok_or_else(|| candle_core::Error::Msg("no gradient reached the input".into()))?;
    Ok(g.abs()?.max_keepdim(1)?.squeeze(1)?)
}

/// Saliency of `class` ([`cxr_core::Label::index`]) for an image and its lung mask, at
/// the image's size, as `cxr_classifier::saliency::saliency` computes it with libtorch.
///
/// # Errors
///
/// The libtorch path's request errors (a class outside the label set, SmoothGrad
/// settings); a mask of another size than the image; tensor errors.
pub fn saliency(
    clf: &Classifier,
    img: &GrayImage,
    mask: &LungMask,
    class: usize,
    method: Method,
) -> Result<SaliencyMap> {
    check_request(class, method)?;
    let x = clf.input(img, mask)?;
    let map = match method {
        Method::Vanilla => input_gradient(clf, &x, class)?,
        Method::SmoothGrad { samples, noise } => {
            let range =
                f64::from(x.max_all()?.to_scalar::<f32>()? - x.min_all()?.to_scalar::<f32>()?);
            let mut acc: Option<Tensor> = None;
            for n in smoothgrad_noise(samples, x.elem_count(), noise * range) {
                let n = Tensor::from_vec(n, x.shape(), &Device::Cpu)?;
                let g = input_gradient(clf, &(&x + n)?, class)?;
                acc = Some(match acc {
                    Some(a) => (a + g)?,
                    None => g,
                });
            }
            // check_request has made sure of at least one copy.
            (acc.ok_or_else(|| candle_core::Error::Msg("no SmoothGrad copies".into()))?
                / samples as f64)?
        }
        Method::GradCam => {
            // Only the head lies between the feature maps and the score: they are the
            // variable, the trunk runs without a graph.
            let features = Var::from_tensor(&clf.net().features(&x)?)?;
            let logits = clf.net().head(features.as_tensor())?;
            let grads = logits.narrow(1, class, 1)?.sum_all()?.backward()?;
            let g = grads
                .get(features.as_tensor())
                .ok_or_else(|| candle_core::Error::Msg("no gradient reached Mixed_7c".into()))?;
            let weights = g.mean_keepdim(D::Minus1)?.mean_keepdim(D::Minus2)?;
            let cam = features
                .as_tensor()
                .broadcast_mul(&weights)?
                .sum(1)?
                .relu()?;
            let s = x.dim(D::Minus1)?;
            cam.unsqueeze(1)?
                .upsample_bilinear2d(s, s, false)?
                .squeeze(1)?
        }
    };
    // [1, S, S] at the model's size → the image's size.
    let (w, h) = img.dimensions();
    let up = map
        .detach()
        .unsqueeze(1)?
        .upsample_bilinear2d(h as usize, w as usize, false)?
        .relu()?;
    Ok(SaliencyMap {
        width: w,
        height: h,
        values: up.flatten_all()?.to_vec1::<f32>()?,
    })
}
