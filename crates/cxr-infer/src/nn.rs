//! The few layers both networks are made of, on candle tensors: a convolution with its
//! batch norm folded in at load (as `cxr_nn::layers::ConvBn::fold` folds it for
//! libtorch), zero padding per side, and the pools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, Device, Tensor};

use crate::Error;

/// The tensors of one safetensors file, by name (`backbone.layer1.0.conv1.weight`, …).
pub(crate) struct Weights {
    map: HashMap<String, Tensor>,
    path: PathBuf,
}

impl Weights {
    /// Reads every tensor of `path` (f32, as training writes them).
    pub(crate) fn load(path: &Path) -> Result<Weights, Error> {
        let map = candle_core::safetensors::load(path, &Device::Cpu).map_err(|source| {
            Error::Weights {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Weights {
            map,
            path: path.to_path_buf(),
        })
    }

    /// The tensor `name`.
    pub(crate) fn get(&self, name: &str) -> Result<Tensor, Error> {
        self.map
            .get(name)
            .cloned()
            .ok_or_else(|| Error::MissingWeight {
                path: self.path.clone(),
                name: name.to_owned(),
            })
    }

    /// The tensor `name`, checked to have `shape`.
    pub(crate) fn shaped(&self, name: &str, shape: &[usize]) -> Result<Tensor, Error> {
        let t = self.get(name)?;
        if t.dims() != shape {
            return Err(Error::WeightShape {
                path: self.path.clone(),
                name: name.to_owned(),
                expected: shape.to_vec(),
                found: t.dims().to_vec(),
            });
        }
        Ok(t)
    }
}

/// Geometry of a convolution: kernel, stride, padding per side (rows, columns), dilation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub kernel: [usize; 2],
    pub stride: usize,
    pub pad: [usize; 2],
    pub dilation: usize,
}

impl Geometry {
    /// A square kernel with "same" padding for its dilation at stride 1.
    pub(crate) fn same(k: usize, stride: usize, dilation: usize) -> Geometry {
        Geometry {
            kernel: [k, k],
            stride,
            pad: [dilation * (k - 1) / 2; 2],
            dilation,
        }
    }

    /// A kernel of `kernel` with `pad` and `stride`, no dilation.
    pub(crate) fn new(kernel: [usize; 2], stride: usize, pad: [usize; 2]) -> Geometry {
        Geometry {
            kernel,
            stride,
            pad,
            dilation: 1,
        }
    }
}

/// A convolution with a bias (a batch norm folded into it, or its own).
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    w: Tensor,
    /// `[1, C, 1, 1]`.
    b: Option<Tensor>,
    g: Geometry,
}

impl Conv {
    /// Convolution `conv` (no bias) followed by batch norm `bn` (ε = `eps`), folded:
    /// `w · γ/√(σ²+ε)` and `β − μ · γ/√(σ²+ε)`, in f32 as libtorch folds them.
    pub(crate) fn folded(
        ws: &Weights,
        conv: &str,
        bn: &str,
        cin: usize,
        cout: usize,
        g: Geometry,
        eps: f64,
    ) -> Result<Conv, Error> {
        let w = ws.shaped(
            &format!("{conv}.weight"),
            &[cout, cin, g.kernel[0], g.kernel[1]],
        )?;
        let v = |n: &str| ws.shaped(&format!("{bn}.{n}"), &[cout]);
        let (gamma, beta, mean, var) = (
            v("weight")?,
            v("bias")?,
            v("running_mean")?,
            v("running_var")?,
        );
        let scale = (gamma / (var + eps)?.sqrt()?)?;
        let w = w.broadcast_mul(&scale.reshape((cout, 1, 1, 1))?)?;
        let b = (beta - (mean * &scale)?)?;
        Ok(Conv {
            w,
            b: Some(b.reshape((1, cout, 1, 1))?),
            g,
        })
    }

    /// Convolution `name` with its own bias (`name.bias`).
    pub(crate) fn plain(
        ws: &Weights,
        name: &str,
        cin: usize,
        cout: usize,
        g: Geometry,
    ) -> Result<Conv, Error> {
        let w = ws.shaped(
            &format!("{name}.weight"),
            &[cout, cin, g.kernel[0], g.kernel[1]],
        )?;
        let b = ws.shaped(&format!("{name}.bias"), &[cout])?;
        Ok(Conv {
            w,
            b: Some(b.reshape((1, cout, 1, 1))?),
            g,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let [ph, pw] = self.g.pad;
        let y = if ph == pw {
            x.conv2d(&self.w, ph, self.g.stride, self.g.dilation, 1)?
        } else {
            pad(x, ph, pw)?.conv2d(&self.w, 0, self.g.stride, self.g.dilation, 1)?
        };
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    /// [`Conv::forward`] then ReLU.
    pub(crate) fn relu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward(x)?.relu()
    }
}

/// Zeros around an `[B, C, H, W]` map: `ph` rows above and below, `pw` columns left and
/// right.
pub(crate) fn pad(x: &Tensor, ph: usize, pw: usize) -> candle_core::Result<Tensor> {
    let x = if ph > 0 {
        x.pad_with_zeros(2, ph, ph)?
    } else {
        x.clone()
    };
    if pw > 0 {
        x.pad_with_zeros(3, pw, pw)
    } else {
        Ok(x)
    }
}

/// 3 × 3 max pooling, stride 2, padding 1 (libtorch's padding: never the maximum).
pub(crate) fn max3s2p1(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(Pool3 {
        max: true,
        stride: 2,
        pad: 1,
    })
}

/// 3 × 3 max pooling, stride 2, no padding.
pub(crate) fn max3s2(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(Pool3 {
        max: true,
        stride: 2,
        pad: 0,
    })
}

/// 3 × 3 average pooling, stride 1, padding 1, the padding counted (libtorch's
/// `count_include_pad = true`, torchvision's Inception).
pub(crate) fn avg3(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(Pool3 {
        max: false,
        stride: 1,
        pad: 1,
    })
}

/// A 3 × 3 pool of an `[B, C, H, W]` f32 map with its gradient, which candle's own pools
/// lack when the stride differs from the kernel (saliency needs it). As libtorch: the
/// padding is never a maximum, the first of equal maxima (row by row) takes the
/// gradient, and an average divides by 9 wherever the window lies.
#[derive(Debug, Clone, Copy)]
struct Pool3 {
    max: bool,
    stride: usize,
    pad: usize,
}

impl Pool3 {
    fn out_size(&self, n: usize) -> candle_core::Result<usize> {
        (n + 2 * self.pad)
            .checked_sub(3)
            .map(|d| d / self.stride + 1)
            .ok_or_else(|| candle_core::Error::Msg(format!("a 3 × 3 pool of a map of side {n}")))
    }

    /// The in-bounds input positions of output `(i, j)`'s window, row by row.
    fn window(
        &self,
        (h, w): (usize, usize),
        (i, j): (usize, usize),
    ) -> impl Iterator<Item = usize> + use<> {
        let (y0, x0) = ((i * self.stride) as isize, (j * self.stride) as isize);
        let p = self.pad as isize;
        (0..3isize).flat_map(move |dy| {
            (0..3isize).filter_map(move |dx| {
                let (y, x) = (y0 + dy - p, x0 + dx - p);
                (y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w)
                    .then(|| y as usize * w + x as usize)
            })
        })
    }

    /// For each output of one plane: the input position of its maximum.
    fn argmax(&self, plane: &[f32], hw: (usize, usize), (oh, ow): (usize, usize)) -> Vec<usize> {
        let mut at = Vec::with_capacity(oh * ow);
        for i in 0..oh {
            for j in 0..ow {
                let mut best: Option<usize> = None;
                for k in self.window(hw, (i, j)) {
                    let v = plane[k];
                    if best.is_none_or(|b| v > plane[b] || v.is_nan()) {
                        best = Some(k);
                    }
                }
                // Every window holds at least one input position (pad ≤ 1 < 3).
                at.push(best.unwrap_or(0));
            }
        }
        at
    }

    fn dims(&self, shape: &candle_core::Shape) -> candle_core::Result<[usize; 6]> {
        let (b, c, h, w) = shape.dims4()?;
        Ok([b, c, h, w, self.out_size(h)?, self.out_size(w)?])
    }
}

impl candle_core::CustomOp1 for Pool3 {
    fn name(&self) -> &'static str {
        if self.max { "max-pool-3" } else { "avg-pool-3" }
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let [b, c, h, w, oh, ow] = self.dims(layout.shape())?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{}: the input must be contiguous", self.name());
        };
        let x = &storage.as_slice::<f32>()?[start..end];
        let mut y = vec![0f32; b * c * oh * ow];
        y.par_chunks_mut(oh * ow)
            .zip(x.par_chunks(h * w))
            .for_each(|(out, plane)| {
                if self.max {
                    let at = self.argmax(plane, (h, w), (oh, ow));
                    for (o, k) in out.iter_mut().zip(at) {
                        *o = plane[k];
                    }
                } else {
                    for i in 0..oh {
                        for j in 0..ow {
                            let sum: f32 = self.window((h, w), (i, j)).map(|k| plane[k]).sum();
                            out[i * ow + j] = sum / 9.0;
                        }
                    }
                }
            });
        Ok((candle_core::CpuStorage::F32(y), (b, c, oh, ow).into()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        use rayon::prelude::*;
        let [_, _, h, w, oh, ow] = self.dims(arg.shape())?;
        let x = arg.flatten_all()?.to_vec1::<f32>()?;
        let g = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let mut dx = vec![0f32; x.len()];
        dx.par_chunks_mut(h * w)
            .zip(x.par_chunks(h * w).zip(g.par_chunks(oh * ow)))
            .for_each(|(d, (plane, grad))| {
                if self.max {
                    for (k, gv) in self.argmax(plane, (h, w), (oh, ow)).into_iter().zip(grad) {
                        d[k] += gv;
                    }
                } else {
                    for i in 0..oh {
                        for j in 0..ow {
                            let gv = grad[i * ow + j] / 9.0;
                            for k in self.window((h, w), (i, j)) {
                                d[k] += gv;
                            }
                        }
                    }
                }
            });
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

/// Global average pooling: `[B, C, H, W]` → `[B, C]`.
pub(crate) fn global_mean(x: &Tensor) -> candle_core::Result<Tensor> {
    x.mean(D::Minus1)?.mean(D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn naive_conv(
        x: &[f32],
        (c, h, w): (usize, usize, usize),
        k: &[f32],
        (o, kh, kw): (usize, usize, usize),
        pad: usize,
        dil: usize,
        stride: usize,
    ) -> Vec<f32> {
        let oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
        let ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
        let mut y = vec![0f32; o * oh * ow];
        for oc in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = 0f32;
                    for ic in 0..c {
                        for a in 0..kh {
                            for b in 0..kw {
                                let ii = (i * stride + a * dil) as isize - pad as isize;
                                let jj = (j * stride + b * dil) as isize - pad as isize;
                                if ii >= 0 && jj >= 0 && (ii as usize) < h && (jj as usize) < w {
                                    s += x[ic * h * w + ii as usize * w + jj as usize]
                                        * k[((oc * c + ic) * kh + a) * kw + b];
                                }
                            }
                        }
                    }
                    y[oc * oh * ow + i * ow + j] = s;
                }
            }
        }
        y
    }

    #[test]
    fn dilated_convolutions_match_a_direct_sum() {
        let (c, h, w, o) = (3, 9, 11, 2);
        let x: Vec<f32> = (0..c * h * w)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
            .collect();
        let k: Vec<f32> = (0..o * c * 9)
            .map(|i| ((i * 13 % 11) as f32 - 5.0) / 5.0)
            .collect();
        for dil in [1, 2, 3, 6] {
            let xt = Tensor::from_vec(x.clone(), (1, c, h, w), &Device::Cpu).unwrap();
            let kt = Tensor::from_vec(k.clone(), (o, c, 3, 3), &Device::Cpu).unwrap();
            let y = xt.conv2d(&kt, dil, 1, dil, 1).unwrap();
            let got = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want = naive_conv(&x, (c, h, w), &k, (o, 3, 3), dil, dil, 1);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert_eq!(y.dims(), &[1, o, h, w]);
            assert!(worst < 1e-4, "dilation {dil}: {worst}");
        }
    }

    #[test]
    fn strided_convolutions_match_a_direct_sum() {
        let (c, h, w, o) = (2, 17, 16, 3);
        let x: Vec<f32> = (0..c * h * w)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
            .collect();
        for (k, pad) in [(7, 3), (1, 0), (3, 1), (3, 0)] {
            let kv: Vec<f32> = (0..o * c * k * k)
                .map(|i| ((i * 13 % 11) as f32 - 5.0) / 5.0)
                .collect();
            let xt = Tensor::from_vec(x.clone(), (1, c, h, w), &Device::Cpu).unwrap();
            let kt = Tensor::from_vec(kv.clone(), (o, c, k, k), &Device::Cpu).unwrap();
            let y = xt.conv2d(&kt, pad, 2, 1, 1).unwrap();
            let got = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want = naive_conv(&x, (c, h, w), &kv, (o, k, k), pad, 1, 2);
            assert_eq!(got.len(), want.len(), "k {k}");
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "k {k} pad {pad}: {worst}");
        }
    }

    #[test]
    fn pools_and_resizes_match_libtorch_semantics() {
        let x = Tensor::from_vec(
            (0..2 * 5 * 6).map(|i| i as f32).collect::<Vec<_>>(),
            (1, 2, 5, 6),
            &Device::Cpu,
        )
        .unwrap();
        let m = max3s2p1(&x).unwrap();
        assert_eq!(m.dims(), &[1, 2, 3, 3]);
        // Window rows 0-1, columns 0-1 of channel 0 at (0, 0): max 7; rows 1-3, cols 3-5 at (1, 2): 23.
        let v = m.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!((v[0], v[5]), (7.0, 23.0));
        let a = avg3(&x).unwrap();
        assert_eq!(a.dims(), &[1, 2, 5, 6]);
        let v = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // Corner: (0 + 1 + 6 + 7) / 9, the padding counted.
        assert!((v[0] - 14.0 / 9.0).abs() < 1e-6, "{}", v[0]);
        let u = x.upsample_bilinear2d(10, 12, false).unwrap();
        let v = u.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // PyTorch (align_corners = False): out (0, 1) samples source x = 0.25 → 0.25.
        assert!((v[1] - 0.25).abs() < 1e-6, "{}", v[1]);
    }

    #[test]
    fn pool_gradients_go_where_libtorch_sends_them() {
        // One 4 × 4 plane with a tie (two 9s) in the first window.
        #[rustfmt::skip]
        let v = vec![
            9.0, 1.0, 9.0, 0.0,
            2.0, 3.0, 4.0, 5.0,
            6.0, 7.0, 8.0, 0.5,
            1.0, 1.0, 1.0, 1.0f32,
        ];
        let x = candle_core::Var::from_vec(v, (1, 1, 4, 4), &Device::Cpu).unwrap();
        // Max 3 × 3 / 2, no padding: one window (rows 0-2, columns 0-2); the first 9 wins.
        let y = max3s2(x.as_tensor()).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![9.0]
        );
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        let mut want = vec![0f32; 16];
        want[0] = 1.0;
        assert_eq!(g.to_vec1::<f32>().unwrap(), want);
        // Padding 1: 2 × 2 outputs; window (1, 1) covers rows 1-3, columns 1-3: max 8.
        let y = max3s2p1(x.as_tensor()).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![9.0, 9.0, 7.0, 8.0]
        );
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        let mut want = vec![0f32; 16];
        (want[0], want[2], want[9], want[10]) = (1.0, 1.0, 1.0, 1.0);
        assert_eq!(g.to_vec1::<f32>().unwrap(), want);
        // Average with the padding counted: each input gets 1/9 per window it lies in
        // (4 windows at a corner, 6 on an edge, 9 inside).
        let y = avg3(x.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        let g = g.to_vec1::<f32>().unwrap();
        for (k, n) in [(0, 4.0), (1, 6.0), (5, 9.0), (15, 4.0)] {
            assert!((g[k] - n / 9.0).abs() < 1e-6, "{k}: {}", g[k]);
        }
    }

    #[test]
    fn convolutions_of_many_shapes_match_a_direct_sum() {
        for (c, h, w, o, k, pad) in [
            (16, 16, 16, 16, 3, 1),
            (24, 16, 16, 16, 3, 1),
            (16, 8, 8, 16, 3, 1),
            (32, 16, 16, 32, 3, 1),
        ] {
            let x: Vec<f32> = (0..c * h * w)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let kv: Vec<f32> = (0..o * c * k * k)
                .map(|i| ((i * 13 % 11) as f32 - 5.0) / 5.0)
                .collect();
            let xt = Tensor::from_vec(x.clone(), (1, c, h, w), &Device::Cpu).unwrap();
            let kt = Tensor::from_vec(kv.clone(), (o, c, k, k), &Device::Cpu).unwrap();
            let y = xt.conv2d(&kt, pad, 1, 1, 1).unwrap();
            let got = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want = naive_conv(&x, (c, h, w), &kv, (o, k, k), pad, 1, 1);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-3, "{c}x{h}x{w} -> {o}: {worst}");
        }
    }
}
