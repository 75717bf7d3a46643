//! Layers both models are built from, and the channels-last memory layout.
//!
//! [`ConvBn`]: a bias-free convolution followed by batch normalisation, which can fold the
//! batch norm into the convolution for inference. In eval mode a batch norm is an affine
//! map per channel, `γ·(x − μ)/√(σ² + ε) + β`, so with `s = γ/√(σ² + ε)` the pair equals
//! one convolution with weights `w·s` and bias `β − μ·s`: one kernel and one pass over
//! the activations instead of two. Outputs agree to float rounding.
//!
//! ```
//! use cxr_nn::layers::{Conv2dSpec, ConvBn};
//! use tch::{Device, Kind, Tensor, nn::{ModuleT, VarStore}};
//!
//! let vs = VarStore::new(Device::Cpu);
//! let root = vs.root();
//! let mut layer = ConvBn::new(&root / "conv", &root / "bn", 3, 8, Conv2dSpec::square(3, 1, 1, 1), 1e-5);
//! let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
//! let plain = layer.forward_t(&x, false);
//! layer.fold();
//! let folded = layer.forward_t(&x, false);
//! assert!((plain - folded).abs().max().double_value(&[]) < 1e-5);
//! ```

use tch::Tensor;
use tch::nn::{self, ModuleT};

/// Geometry of a 2-d convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Kernel size (height, width).
    pub kernel: [i64; 2],
    /// Stride.
    pub stride: [i64; 2],
    /// Zero padding on each side.
    pub padding: [i64; 2],
    /// Dilation.
    pub dilation: [i64; 2],
}

impl Conv2dSpec {
    /// A square kernel `k` with the same stride, padding and dilation in both directions.
    pub fn square(k: i64, stride: i64, padding: i64, dilation: i64) -> Self {
        Conv2dSpec {
            kernel: [k, k],
            stride: [stride, stride],
            padding: [padding, padding],
            dilation: [dilation, dilation],
        }
    }
}

/// A bias-free 2-d convolution and the batch norm after it (no activation).
#[derive(Debug)]
pub struct ConvBn {
    /// The convolution (no bias).
    pub conv: nn::Conv2D,
    /// The batch norm.
    pub bn: nn::BatchNorm,
    spec: Conv2dSpec,
    eps: f64,
    /// (weights, bias) of the folded convolution, after [`ConvBn::fold`].
    folded: Option<(Tensor, Tensor)>,
}

impl ConvBn {
    /// A convolution at `conv` (its weights: `conv/weight`) and a batch norm with `eps`
    /// at `bn` (`bn/weight`, `bn/bias`, `bn/running_mean`, `bn/running_var`), from `cin`
    /// to `cout` channels. Weights start as tch's defaults (Kaiming-uniform convolution).
    pub fn new(
        conv: nn::Path,
        bn: nn::Path,
        cin: i64,
        cout: i64,
        spec: Conv2dSpec,
        eps: f64,
    ) -> Self {
        let c = nn::conv(
            conv,
            cin,
            cout,
            spec.kernel,
            nn::ConvConfigND {
                stride: spec.stride,
                padding: spec.padding,
                dilation: spec.dilation,
                bias: false,
                ..Default::default()
            },
        );
        let b = nn::batch_norm2d(
            bn,
            cout,
            nn::BatchNormConfig {
                eps,
                ..Default::default()
            },
        );
        ConvBn {
            conv: c,
            bn: b,
            spec,
            eps,
            folded: None,
        }
    }

    /// Folds the batch norm's running statistics and affine parameters into a copy of
    /// the convolution, used from then on in eval mode. The copy is a snapshot: fold
    /// after loading or training, not before (training mode always runs the pair).
    pub fn fold(&mut self) {
        let _g = tch::no_grad_guard();
        let (Some(gamma), Some(beta)) = (&self.bn.ws, &self.bn.bs) else {
            return;
        };
        let scale = gamma / (&self.bn.running_var + self.eps).sqrt();
        let w = &self.conv.ws * scale.view([-1, 1, 1, 1]);
        let b = beta - &self.bn.running_mean * &scale;
        self.folded = Some((w.detach(), b.detach()));
    }

    /// Whether [`ConvBn::fold`] has run.
    pub fn is_folded(&self) -> bool {
        self.folded.is_some()
    }

    /// The convolution alone (no batch norm), unfolded.
    pub fn conv_only(&self, xs: &Tensor) -> Tensor {
        xs.apply(&self.conv)
    }
}

impl ModuleT for ConvBn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match &self.folded {
            Some((w, b)) if !train => xs.conv2d(
                w,
                Some(b),
                self.spec.stride,
                self.spec.padding,
                self.spec.dilation,
                1,
            ),
            _ => xs.apply(&self.conv).apply_t(&self.bn, train),
        }
    }
}

/// Puts a 4-d tensor in channels-last memory order (same shape and values; NHWC strides),
/// the layout the fastest convolution kernels of cuDNN and of oneDNN (CPU) use. Other tensors are returned as is.
pub fn channels_last(t: &Tensor) -> Tensor {
    if t.dim() == 4 {
        t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        t.shallow_clone()
    }
}

/// Moves every 4-d weight of `vs` to channels-last order in place.
pub fn weights_channels_last(vs: &nn::VarStore) {
    let _g = tch::no_grad_guard();
    for (_, mut v) in vs.variables() {
        if v.dim() == 4 {
            let cl = channels_last(&v);
            v.set_data(&cl);
        }
    }
}

/// Fills every variable of `vs` with values drawn from a hash of its name, for tests and
/// benchmarks that need a network's real shapes but no trained weights (nothing is
/// downloaded): convolution and linear weights He-uniform by fan-in, batch-norm scales
/// around 0.6 (so that activations stay in a trained network's range over 50 layers),
/// shifts, running means and biases around 0, running variances in [0.5, 1.5).
pub fn fill_from_names(vs: &tch::nn::VarStore) {
    let _g = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let shape = var.size();
        let n: i64 = shape.iter().product();
        let fan_in: i64 = shape.iter().skip(1).product::<i64>().max(1);
        let key = cxr_core::names::fnv1a64(name.as_bytes());
        let v: Vec<f32> = (0..n as u64)
            .map(|i| {
                let u = (cxr_core::names::splitmix64(key ^ i) >> 11) as f64 / (1u64 << 53) as f64;
                let s = 2.0 * u - 1.0;
                let x = if name.ends_with("running_var") {
                    0.5 + u
                } else if name.ends_with("running_mean") || name.ends_with("bias") {
                    0.1 * s
                } else if shape.len() == 1 {
                    0.6 + 0.1 * s
                } else {
                    s * (6.0 / fan_in as f64).sqrt()
                };
                x as f32
            })
            .collect();
        var.copy_(
            &tch::Tensor::from_slice(&v)
                .view(shape.as_slice())
                .to_device(var.device()),
        );
    }
}
