//! The few layers both networks are made of, on candle tensors: a convolution with its
//! batch norm folded in at load (as `cxr_nn::layers::ConvBn::fold` folds it for
//! libtorch), zero padding per side, and the pools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    gemm: ConvGemm,
}

impl Conv {
    /// Weights `[cout, cin, kh, kw]` and a bias `[1, cout, 1, 1]`.
    fn new(w: Tensor, b: Option<Tensor>, g: Geometry) -> Result<Conv, Error> {
        let (cout, cin, _, _) = w.dims4()?;
        let gemm = ConvGemm {
            w: Arc::new(w.flatten_all()?.to_vec1::<f32>()?),
            b: match &b {
                Some(b) => Some(Arc::new(b.flatten_all()?.to_vec1::<f32>()?)),
                None => None,
            },
            cin,
            cout,
            g,
            relu: false,
        };
        Ok(Conv { gemm })
    }

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
        Conv::new(w, Some(b.reshape((1, cout, 1, 1))?), g)
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
        Conv::new(w, Some(b.reshape((1, cout, 1, 1))?), g)
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.run(x, false)
    }

    /// [`Conv::forward`] then ReLU.
    pub(crate) fn relu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.run(x, true)
    }

    /// The convolution by [`ConvGemm`] (bias and ReLU inside the kernel), differentiable
    /// with respect to its input (saliency).
    fn run(&self, x: &Tensor, relu: bool) -> candle_core::Result<Tensor> {
        let op = ConvGemm {
            relu,
            ..self.gemm.clone()
        };
        x.contiguous()?.apply_op1(op)
    }
}

/// The inference convolution: per image, the input unfolded into columns (im2col; a
/// 1 × 1 convolution at stride 1 uses the map itself), one matrix product into an output
/// that starts as the bias, then ReLU in place. candle's own `conv2d` converts the input
/// to channels-last and back, unfolds it in tiles it scatters by column, and adds the bias
/// in another pass over the output: 36 % and 12 % of the time of a pure `predict`
/// (docs/inference.md). The product is `ndarray`'s (matrixmultiply, AVX-512 where the CPU
/// has it), split by output columns (or rows, for small maps) over rayon's threads at
/// batch 1, one image per thread in a batch. Its backward pass gives the input's gradient
/// (saliency): `Wᵀ · dY` per image, folded back by [`ConvGemm::col2im`].
#[derive(Debug, Clone)]
struct ConvGemm {
    /// `[cout, cin · kh · kw]`, row-major (OIHW as stored).
    w: Arc<Vec<f32>>,
    b: Option<Arc<Vec<f32>>>,
    cin: usize,
    cout: usize,
    g: Geometry,
    relu: bool,
}

impl ConvGemm {
    /// The input row of output row `oy` under kernel row `i`, if inside the image.
    fn input_row(&self, oy: usize, i: usize, h: usize) -> Option<usize> {
        let iy = (oy * self.g.stride + i * self.g.dilation) as isize - self.g.pad[0] as isize;
        (iy >= 0 && iy < h as isize).then_some(iy as usize)
    }

    /// The output columns `lo..hi` whose input column under kernel column `j`,
    /// `ox · s + j · d − pw`, lies inside the image (`lo ≤ hi ≤ ow`).
    fn column_span(&self, j: usize, w: usize, ow: usize) -> (usize, usize) {
        let (s, shift, pw) = (self.g.stride, j * self.g.dilation, self.g.pad[1]);
        let lo = pw.saturating_sub(shift).div_ceil(s).min(ow);
        let hi = (w + pw).saturating_sub(shift).div_ceil(s).clamp(lo, ow);
        (lo, hi)
    }

    /// Unfolds one `[cin, h, w]` image into `cols` (`[cin · kh · kw, oh · ow]`).
    fn im2col(
        &self,
        img: &[f32],
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        cols: &mut [f32],
        parallel: bool,
    ) {
        use rayon::prelude::*;
        let [kh, kw] = self.g.kernel;
        let pw = self.g.pad[1];
        let (s, d) = (self.g.stride, self.g.dilation);
        let fill = |(r, row): (usize, &mut [f32])| {
            let (c, i, j) = (r / (kh * kw), r / kw % kh, r % kw);
            let plane = &img[c * h * w..(c + 1) * h * w];
            let (lo, hi) = self.column_span(j, w, ow);
            for oy in 0..oh {
                let out = &mut row[oy * ow..(oy + 1) * ow];
                let Some(iy) = self.input_row(oy, i, h) else {
                    out.fill(0.0);
                    continue;
                };
                out[..lo].fill(0.0);
                out[hi..].fill(0.0);
                if hi == lo {
                    continue;
                }
                let src = &plane[iy * w..(iy + 1) * w];
                let first = lo * s + j * d - pw;
                if s == 1 {
                    out[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                } else {
                    for (o, v) in out[lo..hi].iter_mut().zip(src[first..].iter().step_by(s)) {
                        *o = *v;
                    }
                }
            }
        };
        if parallel {
            cols.par_chunks_mut(oh * ow).enumerate().for_each(fill);
        } else {
            cols.chunks_mut(oh * ow).enumerate().for_each(fill);
        }
    }

    /// The reverse of [`ConvGemm::im2col`]: adds each column back onto the input
    /// position it was copied from (the gradient of the unfolding). One channel per task:
    /// a channel's rows of `cols` all land on its own plane.
    fn col2im(
        &self,
        cols: &[f32],
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        dx: &mut [f32],
    ) {
        use rayon::prelude::*;
        let [kh, kw] = self.g.kernel;
        let [s, d, pw] = [self.g.stride, self.g.dilation, self.g.pad[1]];
        let n = oh * ow;
        dx.par_chunks_mut(h * w).enumerate().for_each(|(c, plane)| {
            for i in 0..kh {
                for j in 0..kw {
                    let r = (c * kh + i) * kw + j;
                    let row = &cols[r * n..(r + 1) * n];
                    let (lo, hi) = self.column_span(j, w, ow);
                    for oy in 0..oh {
                        let Some(iy) = self.input_row(oy, i, h) else {
                            continue;
                        };
                        let src = &row[oy * ow..(oy + 1) * ow];
                        for ox in lo..hi {
                            plane[iy * w + ox * s + j * d - pw] += src[ox];
                        }
                    }
                }
            }
        });
    }
}

impl candle_core::CustomOp1 for ConvGemm {
    fn name(&self) -> &'static str {
        "conv-gemm"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use ndarray::{ArrayView2, ArrayViewMut2, Axis, Slice, linalg::general_mat_mul};
        use rayon::prelude::*;
        let (b, c, h, w) = layout.shape().dims4()?;
        if c != self.cin {
            candle_core::bail!(
                "conv-gemm: {c} input channels, the weights take {}",
                self.cin
            );
        }
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("conv-gemm: the input must be contiguous");
        };
        let x = &storage.as_slice::<f32>()?[start..end];
        let [kh, kw] = self.g.kernel;
        let [ph, pw] = self.g.pad;
        let (s, d) = (self.g.stride, self.g.dilation);
        let size = |n: usize, k: usize, p: usize| {
            (n + 2 * p)
                .checked_sub(d * (k - 1) + 1)
                .map(|e| e / s + 1)
                .ok_or_else(|| {
                    candle_core::Error::Msg(format!(
                        "conv-gemm: a map of {h} × {w} is smaller than the kernel"
                    ))
                })
        };
        let (oh, ow) = (size(h, kh, ph)?, size(w, kw, pw)?);
        let (k, n) = (self.cin * kh * kw, oh * ow);
        let direct = kh == 1 && kw == 1 && s == 1 && ph == 0 && pw == 0;
        // The output starts as the bias (written once: no zeroing first).
        let mut out = Vec::with_capacity(b * self.cout * n);
        for _ in 0..b {
            match &self.b {
                Some(bias) => bias
                    .iter()
                    .for_each(|&v| out.extend(std::iter::repeat_n(v, n))),
                None => out.resize(out.len() + self.cout * n, 0.0),
            }
        }
        let lhs = ArrayView2::from_shape((self.cout, k), &self.w[..])
            .map_err(|e| candle_core::Error::Msg(format!("conv-gemm weights: {e}")))?;
        let threads = rayon::current_num_threads().max(1);
        let shape_err = |e: ndarray::ShapeError| candle_core::Error::Msg(format!("conv-gemm: {e}"));
        // One image: unfolded (unless 1 × 1), the product added to the bias, ReLU.
        // `blocks` > 1 splits the product over that many threads.
        let one = |img: &[f32], dst: &mut [f32], cols: &mut Vec<f32>, blocks: usize| {
            let rhs: &[f32] = if direct {
                img
            } else {
                cols.resize(k * n, 0.0);
                self.im2col(img, (h, w), (oh, ow), cols, blocks > 1);
                cols
            };
            let rhs = ArrayView2::from_shape((k, n), rhs).map_err(shape_err)?;
            let mut dst = ArrayViewMut2::from_shape((self.cout, n), dst).map_err(shape_err)?;
            let product = |(i, mut block): (usize, ArrayViewMut2<f32>), axis: Axis, len: usize| {
                let range = i * len..i * len + block.len_of(axis);
                if axis == Axis(1) {
                    let r = rhs.slice_axis(Axis(1), Slice::from(range));
                    general_mat_mul(1.0, &lhs, &r, 1.0, &mut block);
                } else {
                    let l = lhs.slice_axis(Axis(0), Slice::from(range));
                    general_mat_mul(1.0, &l, &rhs, 1.0, &mut block);
                }
                if self.relu {
                    // As libtorch: negatives to zero, NaN kept.
                    block.mapv_inplace(|v| if v < 0.0 { 0.0 } else { v });
                }
            };
            if blocks <= 1 {
                let whole = dst.view_mut();
                product((0, whole), Axis(0), self.cout);
            } else {
                // By columns when the map is wide enough, else by rows.
                let axis = if n >= 64 * blocks { Axis(1) } else { Axis(0) };
                let len = dst.len_of(axis).div_ceil(blocks).max(1);
                let parts: Vec<(usize, ArrayViewMut2<f32>)> =
                    dst.axis_chunks_iter_mut(axis, len).enumerate().collect();
                parts
                    .into_par_iter()
                    .for_each(|part| product(part, axis, len));
            }
            Ok::<(), candle_core::Error>(())
        };
        let per_image = c * h * w;
        if b >= threads {
            // A batch: one image per thread, each product on its own thread.
            x.par_chunks(per_image)
                .zip(out.par_chunks_mut(self.cout * n))
                .try_for_each_init(Vec::new, |cols, (img, dst)| one(img, dst, cols, 1))?;
        } else {
            let mut cols = Vec::new();
            for (img, dst) in x.chunks(per_image).zip(out.chunks_mut(self.cout * n)) {
                one(img, dst, &mut cols, threads)?;
            }
        }
        Ok((
            candle_core::CpuStorage::F32(out),
            (b, self.cout, oh, ow).into(),
        ))
    }

    /// The gradient with respect to the input (the weights are constants here): the
    /// output's gradient through the ReLU (where the output is > 0, as libtorch), then
    /// `Wᵀ · dY` folded back onto the image.
    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        use ndarray::{Array2, ArrayView2, linalg::general_mat_mul};
        let (b, c, h, w) = arg.dims4()?;
        let (_, cout, oh, ow) = res.dims4()?;
        let [kh, kw] = self.g.kernel;
        let (k, n) = (c * kh * kw, oh * ow);
        let mut g = grad_res.flatten_all()?.to_vec1::<f32>()?;
        if self.relu {
            let r = res.flatten_all()?.to_vec1::<f32>()?;
            for (gv, rv) in g.iter_mut().zip(&r) {
                if *rv <= 0.0 {
                    *gv = 0.0;
                }
            }
        }
        let shape_err = |e: ndarray::ShapeError| candle_core::Error::Msg(format!("conv-gemm: {e}"));
        let wt = ArrayView2::from_shape((cout, k), &self.w[..])
            .map_err(shape_err)?
            .reversed_axes();
        let mut dx = vec![0f32; b * c * h * w];
        let mut dcols = Array2::<f32>::zeros((k, n));
        for (gi, dxi) in g.chunks(cout * n).zip(dx.chunks_mut(c * h * w)) {
            let gy = ArrayView2::from_shape((cout, n), gi).map_err(shape_err)?;
            general_mat_mul(1.0, &wt, &gy, 0.0, &mut dcols);
            let cols = dcols
                .as_slice()
                .ok_or_else(|| candle_core::Error::Msg("conv-gemm: strided columns".into()))?;
            self.col2im(cols, (h, w), (oh, ow), dxi);
        }
        Ok(Some(Tensor::from_vec(dx, (b, c, h, w), arg.device())?))
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

    /// The input rows (or columns) of output row (or column) `o`'s window, clipped to
    /// the image's `n`.
    fn span(&self, o: usize, n: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride) as isize - self.pad as isize;
        start.max(0) as usize..((start + 3).max(0) as usize).min(n)
    }

    /// For each output of one plane: the input position of its maximum.
    fn argmax(
        &self,
        plane: &[f32],
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
    ) -> Vec<usize> {
        let mut at = Vec::with_capacity(oh * ow);
        for i in 0..oh {
            let rows = self.span(i, h);
            for j in 0..ow {
                let cols = self.span(j, w);
                // Every window holds at least one input position (pad ≤ 1 < 3).
                let mut best = rows.start * w + cols.start;
                for y in rows.clone() {
                    for k in y * w + cols.start..y * w + cols.end {
                        let v = plane[k];
                        if v > plane[best] || v.is_nan() {
                            best = k;
                        }
                    }
                }
                at.push(best);
            }
        }
        at
    }

    /// For each output of one plane: the sum of its window.
    fn sums(&self, plane: &[f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
        let mut out = Vec::with_capacity(oh * ow);
        for i in 0..oh {
            let rows = self.span(i, h);
            for j in 0..ow {
                let cols = self.span(j, w);
                let mut sum = 0f32;
                for y in rows.clone() {
                    sum += plane[y * w + cols.start..y * w + cols.end]
                        .iter()
                        .sum::<f32>();
                }
                out.push(sum);
            }
        }
        out
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
                    for (o, sum) in out.iter_mut().zip(self.sums(plane, (h, w), (oh, ow))) {
                        *o = sum / 9.0;
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
                        let rows = self.span(i, h);
                        for j in 0..ow {
                            let cols = self.span(j, w);
                            let gv = grad[i * ow + j] / 9.0;
                            for y in rows.clone() {
                                for v in &mut d[y * w + cols.start..y * w + cols.end] {
                                    *v += gv;
                                }
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

    /// Zeros around an `[B, C, H, W]` map: `ph` rows above and below, `pw` columns left and
    /// right.
    fn pad(x: &Tensor, ph: usize, pw: usize) -> candle_core::Result<Tensor> {
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

    /// candle's own convolution, bias and ReLU: the reference for [`ConvGemm`].
    fn reference(
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        g: Geometry,
        relu: bool,
    ) -> candle_core::Result<Tensor> {
        let [ph, pw] = g.pad;
        let y = pad(x, ph, pw)?
            .conv2d(w, 0, g.stride, g.dilation, 1)?
            .broadcast_add(b)?;
        if relu { y.relu() } else { Ok(y) }
    }

    #[test]
    fn the_inference_kernel_matches_candles_convolution_and_its_gradient() {
        // (cin, h, w, cout, geometry): 1 × 1 at stride 1 (no unfolding) and 2, 3 × 3
        // same / valid / strided / dilated, the Inception's 1 × 7 and 7 × 1, a 5 × 5.
        let cases = [
            (16, 9, 11, 24, Geometry::new([1, 1], 1, [0, 0])),
            (16, 9, 11, 8, Geometry::new([1, 1], 2, [0, 0])),
            (3, 15, 13, 8, Geometry::new([3, 3], 2, [0, 0])),
            (8, 12, 12, 8, Geometry::same(3, 1, 1)),
            (8, 12, 12, 8, Geometry::same(3, 1, 2)),
            (8, 17, 17, 12, Geometry::new([1, 7], 1, [0, 3])),
            (8, 17, 17, 12, Geometry::new([7, 1], 1, [3, 0])),
            (6, 10, 10, 4, Geometry::new([5, 5], 1, [2, 2])),
            (4, 200, 3, 300, Geometry::new([1, 1], 1, [0, 0])),
            // A map one column wide under a 1 × 7 kernel: six taps of seven see only padding.
            (3, 5, 1, 4, Geometry::new([1, 7], 1, [0, 3])),
        ];
        for (cin, h, w, cout, g) in cases {
            let [kh, kw] = g.kernel;
            let wv: Vec<f32> = (0..cout * cin * kh * kw)
                .map(|i| ((i * 29 % 23) as f32 - 11.0) / 13.0)
                .collect();
            // Off the grid of the inputs' sums, so that no output is exactly 0, where
            // candle's ReLU passes the gradient and libtorch's (and ours) does not.
            let bv: Vec<f32> = (0..cout).map(|i| (i % 5) as f32 / 4.0 - 0.4877).collect();
            let wt = Tensor::from_vec(wv, (cout, cin, kh, kw), &Device::Cpu).unwrap();
            let bt = Tensor::from_vec(bv, (1, cout, 1, 1), &Device::Cpu).unwrap();
            let conv = Conv::new(wt.clone(), Some(bt.clone()), g).unwrap();
            let xv: Vec<f32> = (0..2 * cin * h * w)
                .map(|i| ((i * 37 % 31) as f32 - 15.0) / 9.0)
                .collect();
            let two = Tensor::from_vec(xv, (2, cin, h, w), &Device::Cpu).unwrap();
            // One image (its product split over the threads), two (one image per thread).
            for (x, relu) in [
                (two.narrow(0, 0, 1).unwrap(), false),
                (two.narrow(0, 0, 1).unwrap(), true),
                (two.clone(), false),
                (two.clone(), true),
            ] {
                let at = format!("{g:?} batch {} relu {relu}", x.dim(0).unwrap());
                let worst = |a: &Tensor, b: &Tensor| {
                    assert_eq!(a.dims(), b.dims(), "{at}");
                    let (a, b) = (
                        a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                        b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    );
                    a.iter()
                        .zip(&b)
                        .map(|(p, q)| (p - q).abs())
                        .fold(0f32, f32::max)
                };
                // Inference (no graph).
                let fast = conv.run(&x, relu).unwrap();
                let want = reference(&x, &wt, &bt, g, relu).unwrap();
                assert!(worst(&fast, &want) < 1e-4, "{at}: {}", worst(&fast, &want));
                if relu {
                    let v = fast.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    assert!(v.iter().all(|&v| v >= 0.0) && v.iter().any(|&v| v > 0.0));
                }
                // The input gradient of a weighted sum of the outputs.
                let weights = Tensor::from_vec(
                    (0..fast.elem_count())
                        .map(|i| ((i * 13 % 7) as f32 - 3.0) / 3.0)
                        .collect::<Vec<_>>(),
                    fast.shape(),
                    &Device::Cpu,
                )
                .unwrap();
                let grad = |y: Tensor, var: &candle_core::Var| {
                    let g = (y * &weights)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .backward()
                        .unwrap();
                    g.get(var.as_tensor()).unwrap().clone()
                };
                let (v1, v2) = (
                    candle_core::Var::from_tensor(&x).unwrap(),
                    candle_core::Var::from_tensor(&x).unwrap(),
                );
                let ga = grad(conv.run(v1.as_tensor(), relu).unwrap(), &v1);
                let gb = grad(reference(v2.as_tensor(), &wt, &bt, g, relu).unwrap(), &v2);
                assert!(worst(&ga, &gb) < 1e-3, "{at}: gradient {}", worst(&ga, &gb));
            }
        }
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
