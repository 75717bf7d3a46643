//! Inception v3 (Szegedy et al., 2016) with torchvision's variable names, so converted
//! torchvision weights load by name (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.
//! running_mean`, …, `fc.weight`).
//!
//! Kept whole: it is one network. Its private blocks exist only to be assembled by
//! [`InceptionV3::new`] under torchvision's module names and order (the weights import by
//! name), [`ClassifierConfig`]'s width multiplier and size limit are the architecture's
//! own, and the tests check the assembled network.
//!
//! Differences from torchvision's `inception_v3`, all settings of [`ClassifierConfig`]:
//! - the input is the grayscale radiograph with the pixels outside the lungs zeroed
//!   ([`InputMode::Masked`], the paper), optionally with the lung mask as a second
//!   channel ([`InputMode::MaskedWithMask`]); [`InputMode::Rgb`] is torchvision's
//!   3-channel layout (used for the parity test); [`InputMode::Whole`] feeds the whole
//!   image (the shortcut audit's control);
//! - `width` scales every channel count (1.0 is Inception v3; the CPU presets are
//!   narrower, with the same names and topology);
//! - no `transform_input` (inputs are normalised by the caller, see
//!   [`crate::preprocess`]).
//!
//! The auxiliary classifier (`AuxLogits`) exists only when `aux_logits` is set and is only
//! evaluated in training.

pub use crate::config::{ClassifierConfig, InputMode};
use cxr_nn::layers::{Conv2dSpec, ConvBn};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

/// `BasicConv2d`: convolution without bias, batch norm (ε = 0.001), ReLU. After
/// [`BasicConv2d::fold`], evaluation runs one convolution with the batch norm folded into
/// its weights and a bias (training still uses the two layers; [`ConvBn`]).
#[derive(Debug)]
struct BasicConv2d(ConvBn);

const BN_EPS: f64 = 0.001;

impl BasicConv2d {
    fn new(p: &nn::Path, cin: i64, cout: i64, k: [i64; 2], stride: i64, pad: [i64; 2]) -> Self {
        let spec = Conv2dSpec {
            kernel: k,
            stride: [stride, stride],
            padding: pad,
            dilation: [1, 1],
        };
        // torchvision initialises with a truncated normal of σ = 0.1; tch's fan-in scaled
        // default (Kaiming uniform) trains the narrow presets better from scratch.
        BasicConv2d(ConvBn::new(p / "conv", p / "bn", cin, cout, spec, BN_EPS))
    }

    fn fold(&mut self) {
        self.0.fold();
    }

    fn sq(p: &nn::Path, cin: i64, cout: i64, k: i64, stride: i64, pad: i64) -> Self {
        Self::new(p, cin, cout, [k, k], stride, [pad, pad])
    }
}

impl ModuleT for BasicConv2d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.0.forward_t(xs, train).relu()
    }
}

fn avg3(x: &Tensor) -> Tensor {
    x.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None)
}

fn max3s2(x: &Tensor) -> Tensor {
    x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
}

/// `InceptionA` (Mixed_5b/c/d): output `ch(64)+ch(64)+ch(96)+ch(pool)` channels.
#[derive(Debug)]
struct InceptionA {
    b1: BasicConv2d,
    b5_1: BasicConv2d,
    b5_2: BasicConv2d,
    b3_1: BasicConv2d,
    b3_2: BasicConv2d,
    b3_3: BasicConv2d,
    pool: BasicConv2d,
}

impl InceptionA {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64, pool_features: i64) -> (Self, i64) {
        let m = InceptionA {
            b1: BasicConv2d::sq(&(p / "branch1x1"), cin, c.ch(64), 1, 1, 0),
            b5_1: BasicConv2d::sq(&(p / "branch5x5_1"), cin, c.ch(48), 1, 1, 0),
            b5_2: BasicConv2d::sq(&(p / "branch5x5_2"), c.ch(48), c.ch(64), 5, 1, 2),
            b3_1: BasicConv2d::sq(&(p / "branch3x3dbl_1"), cin, c.ch(64), 1, 1, 0),
            b3_2: BasicConv2d::sq(&(p / "branch3x3dbl_2"), c.ch(64), c.ch(96), 3, 1, 1),
            b3_3: BasicConv2d::sq(&(p / "branch3x3dbl_3"), c.ch(96), c.ch(96), 3, 1, 1),
            pool: BasicConv2d::sq(&(p / "branch_pool"), cin, c.ch(pool_features), 1, 1, 0),
        };
        (m, c.ch(64) + c.ch(64) + c.ch(96) + c.ch(pool_features))
    }
}

impl InceptionA {
    fn fold(&mut self) {
        for c in [
            &mut self.b1,
            &mut self.b5_1,
            &mut self.b5_2,
            &mut self.b3_1,
            &mut self.b3_2,
            &mut self.b3_3,
            &mut self.pool,
        ] {
            c.fold();
        }
    }
}

impl ModuleT for InceptionA {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        let b1 = self.b1.forward_t(x, t);
        let b5 = self.b5_2.forward_t(&self.b5_1.forward_t(x, t), t);
        let b3 = self.b3_1.forward_t(x, t);
        let b3 = self.b3_3.forward_t(&self.b3_2.forward_t(&b3, t), t);
        let bp = self.pool.forward_t(&avg3(x), t);
        Tensor::cat(&[b1, b5, b3, bp], 1)
    }
}

/// `InceptionB` (Mixed_6a): grid reduction 35 → 17.
#[derive(Debug)]
struct InceptionB {
    b3: BasicConv2d,
    d1: BasicConv2d,
    d2: BasicConv2d,
    d3: BasicConv2d,
}

impl InceptionB {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64) -> (Self, i64) {
        let m = InceptionB {
            b3: BasicConv2d::sq(&(p / "branch3x3"), cin, c.ch(384), 3, 2, 0),
            d1: BasicConv2d::sq(&(p / "branch3x3dbl_1"), cin, c.ch(64), 1, 1, 0),
            d2: BasicConv2d::sq(&(p / "branch3x3dbl_2"), c.ch(64), c.ch(96), 3, 1, 1),
            d3: BasicConv2d::sq(&(p / "branch3x3dbl_3"), c.ch(96), c.ch(96), 3, 2, 0),
        };
        (m, c.ch(384) + c.ch(96) + cin)
    }
}

impl InceptionB {
    fn fold(&mut self) {
        for c in [&mut self.b3, &mut self.d1, &mut self.d2, &mut self.d3] {
            c.fold();
        }
    }
}

impl ModuleT for InceptionB {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        let b3 = self.b3.forward_t(x, t);
        let d = self.d1.forward_t(x, t);
        let d = self.d3.forward_t(&self.d2.forward_t(&d, t), t);
        Tensor::cat(&[b3, d, max3s2(x)], 1)
    }
}

/// `InceptionC` (Mixed_6b–e): factorised 7×7 convolutions.
#[derive(Debug)]
struct InceptionC {
    b1: BasicConv2d,
    b7: [BasicConv2d; 3],
    d7: [BasicConv2d; 5],
    pool: BasicConv2d,
}

impl InceptionC {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64, c7: i64) -> (Self, i64) {
        let c7 = c.ch(c7);
        let o = c.ch(192);
        let (h, v) = ([1, 7], [7, 1]);
        let (ph, pv) = ([0, 3], [3, 0]);
        let bc = |name: &str, i, o, k, pad| BasicConv2d::new(&(p / name), i, o, k, 1, pad);
        let m = InceptionC {
            b1: BasicConv2d::sq(&(p / "branch1x1"), cin, o, 1, 1, 0),
            b7: [
                bc("branch7x7_1", cin, c7, [1, 1], [0, 0]),
                bc("branch7x7_2", c7, c7, h, ph),
                bc("branch7x7_3", c7, o, v, pv),
            ],
            d7: [
                bc("branch7x7dbl_1", cin, c7, [1, 1], [0, 0]),
                bc("branch7x7dbl_2", c7, c7, v, pv),
                bc("branch7x7dbl_3", c7, c7, h, ph),
                bc("branch7x7dbl_4", c7, c7, v, pv),
                bc("branch7x7dbl_5", c7, o, h, ph),
            ],
            pool: BasicConv2d::sq(&(p / "branch_pool"), cin, o, 1, 1, 0),
        };
        (m, 4 * o)
    }
}

fn chain(convs: &[BasicConv2d], x: &Tensor, t: bool) -> Tensor {
    let mut y = convs[0].forward_t(x, t);
    for c in &convs[1..] {
        y = c.forward_t(&y, t);
    }
    y
}

impl InceptionC {
    fn fold(&mut self) {
        self.b1.fold();
        self.pool.fold();
        self.b7
            .iter_mut()
            .chain(self.d7.iter_mut())
            .for_each(BasicConv2d::fold);
    }
}

impl ModuleT for InceptionC {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        let b1 = self.b1.forward_t(x, t);
        let b7 = chain(&self.b7, x, t);
        let d7 = chain(&self.d7, x, t);
        let bp = self.pool.forward_t(&avg3(x), t);
        Tensor::cat(&[b1, b7, d7, bp], 1)
    }
}

/// `InceptionD` (Mixed_7a): grid reduction 17 → 8.
#[derive(Debug)]
struct InceptionD {
    b3: [BasicConv2d; 2],
    b7: [BasicConv2d; 4],
}

impl InceptionD {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64) -> (Self, i64) {
        let (c192, c320) = (c.ch(192), c.ch(320));
        let bc = |name: &str, i, o, k, s, pad| BasicConv2d::new(&(p / name), i, o, k, s, pad);
        let m = InceptionD {
            b3: [
                bc("branch3x3_1", cin, c192, [1, 1], 1, [0, 0]),
                bc("branch3x3_2", c192, c320, [3, 3], 2, [0, 0]),
            ],
            b7: [
                bc("branch7x7x3_1", cin, c192, [1, 1], 1, [0, 0]),
                bc("branch7x7x3_2", c192, c192, [1, 7], 1, [0, 3]),
                bc("branch7x7x3_3", c192, c192, [7, 1], 1, [3, 0]),
                bc("branch7x7x3_4", c192, c192, [3, 3], 2, [0, 0]),
            ],
        };
        (m, c320 + c192 + cin)
    }
}

impl InceptionD {
    fn fold(&mut self) {
        self.b3
            .iter_mut()
            .chain(self.b7.iter_mut())
            .for_each(BasicConv2d::fold);
    }
}

impl ModuleT for InceptionD {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        Tensor::cat(
            &[chain(&self.b3, x, t), chain(&self.b7, x, t), max3s2(x)],
            1,
        )
    }
}

/// `InceptionE` (Mixed_7b/c): expanded filter banks.
#[derive(Debug)]
struct InceptionE {
    b1: BasicConv2d,
    b3_1: BasicConv2d,
    b3_2a: BasicConv2d,
    b3_2b: BasicConv2d,
    d1: BasicConv2d,
    d2: BasicConv2d,
    d3a: BasicConv2d,
    d3b: BasicConv2d,
    pool: BasicConv2d,
}

impl InceptionE {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64) -> (Self, i64) {
        let (c320, c384, c448, c192) = (c.ch(320), c.ch(384), c.ch(448), c.ch(192));
        let bc = |name: &str, i, o, k, pad| BasicConv2d::new(&(p / name), i, o, k, 1, pad);
        let m = InceptionE {
            b1: bc("branch1x1", cin, c320, [1, 1], [0, 0]),
            b3_1: bc("branch3x3_1", cin, c384, [1, 1], [0, 0]),
            b3_2a: bc("branch3x3_2a", c384, c384, [1, 3], [0, 1]),
            b3_2b: bc("branch3x3_2b", c384, c384, [3, 1], [1, 0]),
            d1: bc("branch3x3dbl_1", cin, c448, [1, 1], [0, 0]),
            d2: bc("branch3x3dbl_2", c448, c384, [3, 3], [1, 1]),
            d3a: bc("branch3x3dbl_3a", c384, c384, [1, 3], [0, 1]),
            d3b: bc("branch3x3dbl_3b", c384, c384, [3, 1], [1, 0]),
            pool: bc("branch_pool", cin, c192, [1, 1], [0, 0]),
        };
        (m, c320 + 4 * c384 + c192)
    }
}

impl InceptionE {
    fn fold(&mut self) {
        for c in [
            &mut self.b1,
            &mut self.b3_1,
            &mut self.b3_2a,
            &mut self.b3_2b,
            &mut self.d1,
            &mut self.d2,
            &mut self.d3a,
            &mut self.d3b,
            &mut self.pool,
        ] {
            c.fold();
        }
    }
}

impl ModuleT for InceptionE {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        let b1 = self.b1.forward_t(x, t);
        let b3 = self.b3_1.forward_t(x, t);
        let b3 = Tensor::cat(
            &[self.b3_2a.forward_t(&b3, t), self.b3_2b.forward_t(&b3, t)],
            1,
        );
        let d = self.d2.forward_t(&self.d1.forward_t(x, t), t);
        let d = Tensor::cat(&[self.d3a.forward_t(&d, t), self.d3b.forward_t(&d, t)], 1);
        let bp = self.pool.forward_t(&avg3(x), t);
        Tensor::cat(&[b1, b3, d, bp], 1)
    }
}

/// `InceptionAux`: the auxiliary classifier on `Mixed_6e`.
#[derive(Debug)]
struct InceptionAux {
    conv0: BasicConv2d,
    conv1: BasicConv2d,
    fc: nn::Linear,
}

impl InceptionAux {
    fn new(p: &nn::Path, c: &ClassifierConfig, cin: i64) -> Self {
        InceptionAux {
            conv0: BasicConv2d::sq(&(p / "conv0"), cin, c.ch(128), 1, 1, 0),
            conv1: BasicConv2d::sq(&(p / "conv1"), c.ch(128), c.ch(768), 5, 1, 0),
            fc: nn::linear(p / "fc", c.ch(768), c.num_classes, Default::default()),
        }
    }
}

impl ModuleT for InceptionAux {
    fn forward_t(&self, x: &Tensor, t: bool) -> Tensor {
        // torchvision's pooling and 5×5 conv1 expect the 17×17 → 5×5 maps a 299 input
        // gives; smaller inputs pool globally and are padded up, so that any input size
        // ≥ 75 trains.
        let (h, w) = (x.size()[2], x.size()[3]);
        let y = if h >= 5 && w >= 5 {
            x.avg_pool2d([5, 5], [3, 3], [0, 0], false, true, None)
        } else {
            x.adaptive_avg_pool2d([1, 1])
        };
        let y = self.conv0.forward_t(&y, t);
        let (h, w) = (y.size()[2], y.size()[3]);
        let y = if h < 5 || w < 5 {
            y.constant_pad_nd([0, (5 - w).max(0), 0, (5 - h).max(0)])
        } else {
            y
        };
        self.conv1
            .forward_t(&y, t)
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&self.fc)
    }
}

/// What one forward pass gives.
#[derive(Debug)]
pub struct Outputs {
    /// Class scores before softmax, `[B, num_classes]`.
    pub logits: Tensor,
    /// Auxiliary head's scores, in training with `aux_logits` only.
    pub aux: Option<Tensor>,
    /// `Mixed_7c`'s output (the last feature map, used by Grad-CAM), `[B, C, h, w]`.
    pub features: Tensor,
}

/// Inception v3 with torchvision's names. Build it under the root of a `VarStore`.
#[derive(Debug)]
pub struct InceptionV3 {
    config: ClassifierConfig,
    stem: [BasicConv2d; 5],
    mixed5: [InceptionA; 3],
    mixed6a: InceptionB,
    mixed6: [InceptionC; 4],
    aux: Option<InceptionAux>,
    mixed7a: InceptionD,
    mixed7: [InceptionE; 2],
    fc: nn::Linear,
}

impl InceptionV3 {
    /// Builds the network under `p` (use `vs.root()` for torchvision's names).
    pub fn new(p: &nn::Path, config: &ClassifierConfig) -> Result<InceptionV3, crate::Error> {
        config.validate()?;
        let c = config;
        let cin = c.input.channels();
        let stem = [
            BasicConv2d::sq(&(p / "Conv2d_1a_3x3"), cin, c.ch(32), 3, 2, 0),
            BasicConv2d::sq(&(p / "Conv2d_2a_3x3"), c.ch(32), c.ch(32), 3, 1, 0),
            BasicConv2d::sq(&(p / "Conv2d_2b_3x3"), c.ch(32), c.ch(64), 3, 1, 1),
            BasicConv2d::sq(&(p / "Conv2d_3b_1x1"), c.ch(64), c.ch(80), 1, 1, 0),
            BasicConv2d::sq(&(p / "Conv2d_4a_3x3"), c.ch(80), c.ch(192), 3, 1, 0),
        ];
        let (m5b, n) = InceptionA::new(&(p / "Mixed_5b"), c, c.ch(192), 32);
        let (m5c, n) = InceptionA::new(&(p / "Mixed_5c"), c, n, 64);
        let (m5d, n) = InceptionA::new(&(p / "Mixed_5d"), c, n, 64);
        let (mixed6a, n) = InceptionB::new(&(p / "Mixed_6a"), c, n);
        let (m6b, n) = InceptionC::new(&(p / "Mixed_6b"), c, n, 128);
        let (m6c, n) = InceptionC::new(&(p / "Mixed_6c"), c, n, 160);
        let (m6d, n) = InceptionC::new(&(p / "Mixed_6d"), c, n, 160);
        let (m6e, n) = InceptionC::new(&(p / "Mixed_6e"), c, n, 192);
        let aux = c
            .aux_logits
            .then(|| InceptionAux::new(&(p / "AuxLogits"), c, n));
        let (mixed7a, n) = InceptionD::new(&(p / "Mixed_7a"), c, n);
        let (m7b, n) = InceptionE::new(&(p / "Mixed_7b"), c, n);
        let (m7c, n) = InceptionE::new(&(p / "Mixed_7c"), c, n);
        let fc = nn::linear(p / "fc", n, c.num_classes, Default::default());
        Ok(InceptionV3 {
            config: config.clone(),
            stem,
            mixed5: [m5b, m5c, m5d],
            mixed6a,
            mixed6: [m6b, m6c, m6d, m6e],
            aux,
            mixed7a,
            mixed7: [m7b, m7c],
            fc,
        })
    }

    /// The settings it was built with.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// Forward pass returning logits, the auxiliary logits (training only) and the last
    /// feature map. `x` is `[B, channels, H, W]` float.
    pub fn forward_all(&self, x: &Tensor, train: bool) -> Outputs {
        let [c1a, c2a, c2b, c3b, c4a] = &self.stem;
        let mut y = c2b.forward_t(&c2a.forward_t(&c1a.forward_t(x, train), train), train);
        y = max3s2(&y);
        y = c4a.forward_t(&c3b.forward_t(&y, train), train);
        y = max3s2(&y);
        for m in &self.mixed5 {
            y = m.forward_t(&y, train);
        }
        y = self.mixed6a.forward_t(&y, train);
        for m in &self.mixed6 {
            y = m.forward_t(&y, train);
        }
        let aux = match &self.aux {
            Some(a) if train => Some(a.forward_t(&y, train)),
            _ => None,
        };
        y = self.mixed7a.forward_t(&y, train);
        for m in &self.mixed7 {
            y = m.forward_t(&y, train);
        }
        let logits = y
            .adaptive_avg_pool2d([1, 1])
            .dropout(self.config.dropout, train)
            .flatten(1, -1)
            .apply(&self.fc);
        Outputs {
            logits,
            aux,
            features: y,
        }
    }

    /// Folds every batch norm into its convolution for evaluation (about a tenth fewer
    /// passes over the activations; outputs equal to float rounding). Training forward
    /// passes are unaffected; call again after the weights change (loading, training).
    pub fn fold_batchnorm(&mut self) {
        self.stem.iter_mut().for_each(BasicConv2d::fold);
        self.mixed5.iter_mut().for_each(InceptionA::fold);
        self.mixed6a.fold();
        self.mixed6.iter_mut().for_each(InceptionC::fold);
        self.mixed7a.fold();
        self.mixed7.iter_mut().for_each(InceptionE::fold);
    }

    /// Class logits from a pooled feature map (the head after `Mixed_7c`), for Grad-CAM.
    pub fn head(&self, features: &Tensor) -> Tensor {
        features
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&self.fc)
    }
}

impl ModuleT for InceptionV3 {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_all(xs, train).logits
    }
}

/// Softmax probabilities of logits, as `f32` rows.
pub fn probabilities(logits: &Tensor) -> Vec<Vec<f32>> {
    let p = logits
        .softmax(-1, Kind::Float)
        .to_device(tch::Device::Cpu)
        .contiguous();
    let k = p.size()[1] as usize;
    let flat = Vec::<f32>::try_from(&p.flatten(0, -1)).expect("float tensor");
    flat.chunks(k).map(<[f32]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn every_input_mode_and_the_smallest_size_give_class_scores() {
        for (mode, size) in [
            (InputMode::Masked, 75),
            (InputMode::MaskedWithMask, 96),
            (InputMode::Rgb, 80),
        ] {
            let cfg = ClassifierConfig {
                input: mode,
                aux_logits: true,
                ..ClassifierConfig::tiny(size)
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let net = InceptionV3::new(&vs.root(), &cfg).unwrap();
            let x = Tensor::rand([2, mode.channels(), size, size], (Kind::Float, Device::Cpu));
            let train = net.forward_all(&x, true);
            assert_eq!(train.logits.size(), [2, 3]);
            assert_eq!(train.aux.map(|a| a.size()), Some(vec![2, 3]));
            let eval = tch::no_grad(|| net.forward_all(&x, false));
            assert!(eval.aux.is_none());
            assert_eq!(
                eval.features.size()[..2],
                [2, cfg.ch(320) + 4 * cfg.ch(384) + cfg.ch(192)]
            );
            // The head applied to the features is the forward pass.
            let head = tch::no_grad(|| net.head(&eval.features));
            assert!((head - &eval.logits).abs().max().double_value(&[]) < 1e-6);
        }
    }

    #[test]
    fn channels_last_gives_the_same_outputs_and_gradients() {
        // Float64 on the CPU: the layout changes oneDNN's kernels, not the arithmetic's
        // meaning, so outputs and weight gradients agree to rounding, in training mode
        // (batch statistics, dropout off) and in eval mode.
        let cfg = ClassifierConfig {
            dropout: 0.0,
            ..ClassifierConfig::tiny(96)
        };
        // The same weights and input for both layouts (copied: other tests running in
        // parallel draw from libtorch's global generator).
        let x0 = Tensor::rand([4, 1, 96, 96], (Kind::Double, Device::Cpu));
        let mut first: Option<nn::VarStore> = None;
        let mut run = |cl: bool| {
            let mut vs = nn::VarStore::new(Device::Cpu);
            let net = InceptionV3::new(&vs.root(), &cfg).unwrap();
            vs.double();
            match &first {
                Some(a) => vs.copy(a).unwrap(),
                None => {
                    let mut a = nn::VarStore::new(Device::Cpu);
                    let _ = InceptionV3::new(&a.root(), &cfg).unwrap();
                    a.double();
                    a.copy(&vs).unwrap();
                    first = Some(a);
                }
            }
            let mut x = x0.shallow_clone();
            if cl {
                cxr_nn::layers::weights_channels_last(&vs);
                x = cxr_nn::layers::channels_last(&x);
            }
            let train = net.forward_all(&x, true).logits;
            train.sum(Kind::Double).backward();
            let eval = tch::no_grad(|| net.forward_all(&x, false).logits);
            let mut grads: Vec<(String, Tensor)> = vs
                .variables()
                .into_iter()
                .filter(|(_, v)| v.requires_grad())
                .map(|(n, v)| (n, v.grad().contiguous()))
                .collect();
            grads.sort_by(|a, b| a.0.cmp(&b.0));
            (train.detach(), eval, grads)
        };
        let (t0, e0, g0) = run(false);
        let (t1, e1, g1) = run(true);
        let rel = |a: &Tensor, b: &Tensor| {
            (a - b).abs().max().double_value(&[]) / a.abs().max().double_value(&[]).max(1e-30)
        };
        assert!(rel(&t0, &t1) < 1e-10, "train {}", rel(&t0, &t1));
        assert!(rel(&e0, &e1) < 1e-10, "eval {}", rel(&e0, &e1));
        assert_eq!(g0.len(), g1.len());
        for ((n, a), (_, b)) in g0.iter().zip(&g1) {
            assert!(rel(a, b) < 1e-8, "{n}: {}", rel(a, b));
        }
    }

    /// Fills every batch norm's running variance with NaN.
    fn poison_running_var(vs: &nn::VarStore) {
        tch::no_grad(|| {
            for (name, mut v) in vs.variables() {
                if name.ends_with("running_var") {
                    let _ = v.fill_(f64::NAN);
                }
            }
        });
    }

    #[test]
    fn folded_batch_norms_give_the_same_outputs() {
        let cfg = ClassifierConfig::tiny(96);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let mut net = InceptionV3::new(&vs.root(), &cfg).unwrap();
        // Non-trivial running statistics and affine parameters.
        tch::no_grad(|| {
            for (name, mut v) in vs.variables() {
                if name.contains(".bn.") {
                    let r = Tensor::rand_like(&v);
                    v.copy_(&(r * 0.5 + 0.75));
                }
            }
        });
        vs.freeze();
        let x = Tensor::rand([3, 1, 96, 96], (Kind::Float, Device::Cpu));
        let plain = tch::no_grad(|| net.forward_all(&x, false));
        net.fold_batchnorm();
        let folded = tch::no_grad(|| net.forward_all(&x, false));
        let err = (&plain.logits - &folded.logits)
            .abs()
            .max()
            .double_value(&[]);
        let scale = plain.logits.abs().max().double_value(&[]);
        assert!(scale > 1e-3 && err / scale < 1e-4, "{err} / {scale}");
        let ferr = (&plain.features - &folded.features)
            .abs()
            .max()
            .double_value(&[]);
        assert!(ferr < 1e-3 * plain.features.abs().max().double_value(&[]));
        // Every batch norm was folded: with NaN running variances (which a batch norm
        // left unfolded would use), eval outputs stay the folded ones.
        poison_running_var(&vs);
        let after = tch::no_grad(|| net.forward_all(&x, false));
        assert!(
            after.logits.equal(&folded.logits),
            "a batch norm was not folded"
        );
        // Training passes still use the batch norms (batch statistics).
        let t1 = net.forward_all(&x, true).logits;
        assert!((&t1 - &folded.logits).abs().max().double_value(&[]) > 1e-6);
    }

    #[test]
    fn the_paper_network_has_inception_v3s_size() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = InceptionV3::new(&vs.root(), &ClassifierConfig::torchvision_imagenet()).unwrap();
        // torchvision's inception_v3 with aux head: 27,161,264 parameters, of which
        // BasicConv2d batch-norm running statistics are buffers, not parameters.
        let trainable: i64 = vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .map(|n| n as i64)
            .sum();
        assert_eq!(trainable, 27_161_264);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let bad = |c: ClassifierConfig| match c.validate() {
            Err(crate::Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(ClassifierConfig::tiny(74)), "input_size");
        assert_eq!(
            bad(ClassifierConfig {
                width: 0.0,
                ..ClassifierConfig::small()
            }),
            "width"
        );
        assert_eq!(
            bad(ClassifierConfig {
                num_classes: 1,
                ..ClassifierConfig::small()
            }),
            "num_classes"
        );
    }
}
