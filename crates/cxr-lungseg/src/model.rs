//! DeepLabv3+ (Chen et al., 2018) with a ResNet backbone, for one-channel radiographs.
//!
//! - Backbone: ResNet-18/34 (basic blocks) or ResNet-50 (bottlenecks), torchvision
//!   variable names (`conv1`, `bn1`, `layer1.0.conv1`, …) so converted torchvision
//!   weights load by name. Output stride 16: `layer4` keeps stride 1 and dilates by 2.
//! - ASPP on `layer4`: a 1×1 branch, three 3×3 atrous branches (rates 6, 12, 18 at
//!   output stride 16) and an image-pooling branch, concatenated and projected.
//! - Decoder: `layer1` features (stride 4) reduced by a 1×1 convolution, concatenated
//!   with the ×4-upsampled ASPP output, two 3×3 convolutions, a 1×1 classifier, ×4
//!   bilinear upsampling to the input size.

pub use crate::config::SegmenterConfig;
use cxr_nn::layers::{Conv2dSpec, ConvBn};
use tch::Tensor;
use tch::nn::{self, Conv2D, ModuleT};

/// Convolution at `conv` (no bias, "same" padding for its dilation) and batch norm at `bn`.
fn conv_bn(
    conv: nn::Path,
    bn: nn::Path,
    cin: i64,
    cout: i64,
    k: i64,
    stride: i64,
    dilation: i64,
) -> ConvBn {
    let spec = Conv2dSpec::square(k, stride, dilation * (k - 1) / 2, dilation);
    ConvBn::new(conv, bn, cin, cout, spec, 1e-5)
}

#[derive(Debug)]
struct Block {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
}

impl Block {
    fn new(
        p: &nn::Path,
        cin: i64,
        planes: i64,
        stride: i64,
        dilation: i64,
        bottleneck: bool,
    ) -> (Block, i64) {
        let expansion = if bottleneck { 4 } else { 1 };
        let cout = planes * expansion;
        let convs = if bottleneck {
            vec![
                conv_bn(p / "conv1", p / "bn1", cin, planes, 1, 1, 1),
                conv_bn(p / "conv2", p / "bn2", planes, planes, 3, stride, dilation),
                conv_bn(p / "conv3", p / "bn3", planes, cout, 1, 1, 1),
            ]
        } else {
            vec![
                conv_bn(p / "conv1", p / "bn1", cin, planes, 3, stride, dilation),
                conv_bn(p / "conv2", p / "bn2", planes, planes, 3, 1, dilation),
            ]
        };
        let downsample = (stride != 1 || cin != cout).then(|| {
            let d = p / "downsample";
            conv_bn(&d / "0", &d / "1", cin, cout, 1, stride, 1)
        });
        (Block { convs, downsample }, cout)
    }
}

impl Block {
    fn fold(&mut self) {
        for c in self.convs.iter_mut().chain(self.downsample.as_mut()) {
            c.fold();
        }
    }
}

impl ModuleT for Block {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut y = xs.shallow_clone();
        let last = self.convs.len() - 1;
        for (i, c) in self.convs.iter().enumerate() {
            y = c.forward_t(&y, train);
            if i < last {
                y = y.relu();
            }
        }
        let shortcut = match &self.downsample {
            Some(c) => c.forward_t(xs, train),
            None => xs.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

#[derive(Debug)]
struct Backbone {
    stem: ConvBn,
    layers: Vec<Vec<Block>>,
}

impl Backbone {
    fn new(p: &nn::Path, c: &SegmenterConfig) -> (Backbone, i64, i64) {
        let bottleneck = c.depth == 50;
        let stem = ConvBn::new(
            p / "conv1",
            p / "bn1",
            c.in_channels,
            c.width,
            Conv2dSpec::square(7, 2, 3, 1),
            1e-5,
        );
        let mut cin = c.width;
        let mut layers = Vec::new();
        let mut low_channels = 0;
        // (planes, stride, dilation) per layer; layer4 dilated for output stride 16.
        let plan = [(1, 1, 1), (2, 2, 1), (4, 2, 1), (8, 1, 2)];
        for (li, (&n, (mult, stride, dilation))) in c.blocks().iter().zip(plan).enumerate() {
            let lp = p / format!("layer{}", li + 1);
            let mut blocks = Vec::new();
            for bi in 0..n {
                let s = if bi == 0 { stride } else { 1 };
                let (b, cout) = Block::new(
                    &(&lp / bi.to_string()),
                    cin,
                    c.width * mult,
                    s,
                    dilation,
                    bottleneck,
                );
                cin = cout;
                blocks.push(b);
            }
            if li == 0 {
                low_channels = cin;
            }
            layers.push(blocks);
        }
        (Backbone { stem, layers }, low_channels, cin)
    }

    fn fold(&mut self) {
        self.stem.fold();
        self.layers.iter_mut().flatten().for_each(Block::fold);
    }

    /// Returns (layer1 features at stride 4, layer4 features at stride 16).
    fn forward_t(&self, xs: &Tensor, train: bool) -> (Tensor, Tensor) {
        let mut x =
            self.stem
                .forward_t(xs, train)
                .relu()
                .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        let mut low = None;
        for (li, layer) in self.layers.iter().enumerate() {
            for b in layer {
                x = b.forward_t(&x, train);
            }
            if li == 0 {
                low = Some(x.shallow_clone());
            }
        }
        (low.expect("four layers"), x)
    }
}

#[derive(Debug)]
struct Aspp {
    branches: Vec<ConvBn>,
    pool: ConvBn,
    project: ConvBn,
}

impl Aspp {
    fn new(p: &nn::Path, cin: i64, cout: i64, rates: [i64; 3]) -> Aspp {
        let mut branches = vec![conv_bn(
            p / "b0" / "conv",
            p / "b0" / "bn",
            cin,
            cout,
            1,
            1,
            1,
        )];
        for (i, r) in rates.iter().enumerate() {
            let b = p / format!("b{}", i + 1);
            branches.push(conv_bn(&b / "conv", &b / "bn", cin, cout, 3, 1, *r));
        }
        Aspp {
            branches,
            pool: conv_bn(p / "pool" / "conv", p / "pool" / "bn", cin, cout, 1, 1, 1),
            project: conv_bn(
                p / "project" / "conv",
                p / "project" / "bn",
                5 * cout,
                cout,
                1,
                1,
                1,
            ),
        }
    }

    fn fold(&mut self) {
        for c in self
            .branches
            .iter_mut()
            .chain([&mut self.pool, &mut self.project])
        {
            c.fold();
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let mut outs: Vec<Tensor> = self
            .branches
            .iter()
            .map(|c| c.forward_t(x, train).relu())
            .collect();
        // Image pooling: batch norm over a 1×1 map needs more than one value per channel
        // in training, so it is applied in eval mode there (as torchvision does for B = 1).
        let pooled = x.adaptive_avg_pool2d([1, 1]);
        let pooled = if train && x.size()[0] == 1 {
            self.pool.conv_only(&pooled)
        } else {
            self.pool.forward_t(&pooled, train)
        };
        outs.push(pooled.relu().upsample_bilinear2d([h, w], false, None, None));
        let y = self.project.forward_t(&Tensor::cat(&outs, 1), train).relu();
        y.dropout(0.1, train)
    }
}

/// DeepLabv3+ lung segmenter producing one logit per pixel (lung vs background).
#[derive(Debug)]
pub struct DeepLabV3Plus {
    backbone: Backbone,
    aspp: Aspp,
    low_reduce: ConvBn,
    decoder: Vec<ConvBn>,
    classifier: Conv2D,
}

impl DeepLabV3Plus {
    /// Builds the network under `p` (backbone under `p / "backbone"`).
    pub fn new(p: &nn::Path, c: &SegmenterConfig) -> Result<Self, crate::Error> {
        c.validate()?;
        let (backbone, low_ch, high_ch) = Backbone::new(&(p / "backbone"), c);
        let aspp = Aspp::new(&(p / "aspp"), high_ch, c.aspp_channels, c.aspp_rates);
        let d = p / "decoder";
        let low_reduce = conv_bn(
            &d / "low" / "conv",
            &d / "low" / "bn",
            low_ch,
            c.low_level_channels,
            1,
            1,
            1,
        );
        let decoder = vec![
            conv_bn(
                &d / "conv1",
                &d / "bn1",
                c.aspp_channels + c.low_level_channels,
                c.decoder_channels,
                3,
                1,
                1,
            ),
            conv_bn(
                &d / "conv2",
                &d / "bn2",
                c.decoder_channels,
                c.decoder_channels,
                3,
                1,
                1,
            ),
        ];
        let classifier = nn::conv2d(
            &d / "classifier",
            c.decoder_channels,
            1,
            1,
            Default::default(),
        );
        Ok(DeepLabV3Plus {
            backbone,
            aspp,
            low_reduce,
            decoder,
            classifier,
        })
    }
}

impl DeepLabV3Plus {
    /// Folds every batch norm into the convolution before it, for inference: eval-mode
    /// outputs stay equal to float rounding and cost one pass less per layer (training
    /// mode still runs the batch norms). Call it after the weights are loaded; `Segmenter`
    /// does.
    pub fn fold_batchnorm(&mut self) {
        self.backbone.fold();
        self.aspp.fold();
        self.low_reduce.fold();
        self.decoder.iter_mut().for_each(ConvBn::fold);
    }
}

impl ModuleT for DeepLabV3Plus {
    /// # Shapes
    /// - input: `[B, in_channels, H, W]`, float, H and W multiples of 16;
    /// - output: `[B, 1, H, W]` logits (sigmoid → lung probability).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let (h, w) = (xs.size()[2], xs.size()[3]);
        let (low, high) = self.backbone.forward_t(xs, train);
        let low = self.low_reduce.forward_t(&low, train).relu();
        let (lh, lw) = (low.size()[2], low.size()[3]);
        let a = self
            .aspp
            .forward_t(&high, train)
            .upsample_bilinear2d([lh, lw], false, None, None);
        let mut y = Tensor::cat(&[a, low], 1);
        for c in &self.decoder {
            y = c.forward_t(&y, train).relu();
        }
        y.apply(&self.classifier)
            .upsample_bilinear2d([h, w], false, None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// On the CPU the default network is the one measured on real radiographs: the
    /// half-width ResNet-18 at 320 px; on CUDA the ResNet-50 at 512.
    #[test]
    fn the_cpu_default_is_the_real_radiograph_recipe() {
        let cpu = SegmenterConfig::for_device(Device::Cpu);
        assert_eq!(cpu, SegmenterConfig::cpu_320());
        assert_eq!((cpu.input_size, cpu.width, cpu.depth), (320, 32, 18));
        assert_eq!(
            SegmenterConfig::for_device(Device::Cuda(0)),
            SegmenterConfig::resnet50_512()
        );
        cpu.validate().unwrap();
    }

    #[test]
    fn shapes_and_names() {
        for (cfg, params) in [
            (SegmenterConfig::tiny(64), None),
            (SegmenterConfig::resnet18_256(), Some(())),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let net = DeepLabV3Plus::new(&vs.root(), &cfg).unwrap();
            let x = Tensor::rand([2, 1, 64, 64], (Kind::Float, Device::Cpu));
            let y = net.forward_t(&x, false);
            assert_eq!(y.size(), [2, 1, 64, 64]);
            let vars = vs.variables();
            for name in [
                "backbone.conv1.weight",
                "backbone.layer1.0.conv1.weight",
                "backbone.layer2.0.downsample.0.weight",
                "backbone.layer4.1.bn2.running_mean",
                "aspp.b3.conv.weight",
                "decoder.classifier.bias",
            ] {
                assert!(vars.contains_key(name), "missing {name}");
            }
            if params.is_some() {
                // ResNet-18 backbone: 11.2 M parameters without its fc layer, 1 input channel.
                let backbone: i64 = vars
                    .iter()
                    .filter(|(k, _)| {
                        k.starts_with("backbone.")
                            && !k.contains("running")
                            && !k.contains("num_batches")
                    })
                    .map(|(_, v)| v.numel() as i64)
                    .sum();
                assert_eq!(backbone, 11_170_240);
                // Layer 4 is dilated, not strided: output stride 16.
                assert_eq!(
                    vars["backbone.layer4.0.conv1.weight"].size(),
                    [512, 256, 3, 3]
                );
            }
        }
        let bad = SegmenterConfig {
            depth: 101,
            ..SegmenterConfig::tiny(64)
        };
        assert!(DeepLabV3Plus::new(&nn::VarStore::new(Device::Cpu).root(), &bad).is_err());
    }

    #[test]
    fn folded_batch_norms_give_the_same_outputs() {
        // Float64, so that any difference beyond rounding is a folding error; both block
        // kinds (basic: depth 18, bottleneck: depth 50, with downsampling shortcuts).
        for cfg in [
            SegmenterConfig::tiny(64),
            SegmenterConfig {
                depth: 50,
                ..SegmenterConfig::tiny(64)
            },
        ] {
            let mut vs = nn::VarStore::new(Device::Cpu);
            let mut net = DeepLabV3Plus::new(&vs.root(), &cfg).unwrap();
            vs.double();
            // Non-trivial running statistics and affine parameters in every batch norm.
            let mut bns = 0;
            tch::no_grad(|| {
                for (name, mut v) in vs.variables() {
                    let is_bn = name.contains(".bn") || name.contains("downsample.1.");
                    if is_bn && !name.contains("num_batches") {
                        let r = Tensor::rand_like(&v);
                        v.copy_(&(r * 0.5 + 0.75));
                        bns += 1;
                    }
                }
            });
            assert!(bns > 40, "{bns} batch-norm tensors found");
            let x = Tensor::rand([2, 1, 64, 64], (Kind::Double, Device::Cpu));
            let plain = tch::no_grad(|| net.forward_t(&x, false));
            net.fold_batchnorm();
            let folded = tch::no_grad(|| net.forward_t(&x, false));
            let err = (&plain - &folded).abs().max().double_value(&[]);
            let scale = plain.abs().max().double_value(&[]);
            assert!(scale > 1e-3 && err / scale < 1e-12, "{err} / {scale}");
            // Every batch norm was folded: with NaN running variances (which a batch norm
            // left unfolded would use), eval outputs stay the folded ones.
            tch::no_grad(|| {
                for (name, mut v) in vs.variables() {
                    if name.ends_with("running_var") {
                        let _ = v.fill_(f64::NAN);
                    }
                }
            });
            let after = tch::no_grad(|| net.forward_t(&x, false));
            assert!(after.equal(&folded), "a batch norm was not folded");
            // Training passes still use the batch norms (batch statistics).
            let t = tch::no_grad(|| net.forward_t(&x, true));
            assert!((&t - &folded).abs().max().double_value(&[]) > 1e-6);
        }
    }

    #[test]
    fn aspp_rates_and_input_channels_are_checked() {
        let bad = |c: SegmenterConfig| match c.validate() {
            Err(crate::Error::InvalidConfig { field, detail }) => format!("{field}: {detail}"),
            other => panic!("{other:?}"),
        };
        let t = SegmenterConfig::tiny;
        for rates in [[0, 12, 18], [6, -1, 18], [6, 12, 65]] {
            assert_eq!(
                bad(SegmenterConfig {
                    aspp_rates: rates,
                    ..t(64)
                }),
                format!(
                    "aspp_rates: {} is not a dilation in 1..=64",
                    rates.iter().find(|r| !(1..=64).contains(*r)).unwrap()
                )
            );
        }
        assert!(
            SegmenterConfig {
                aspp_rates: [1, 1, 64],
                ..t(64)
            }
            .validate()
            .is_ok()
        );
        for c in [0, 3] {
            assert!(
                bad(SegmenterConfig {
                    in_channels: c,
                    ..t(64)
                })
                .starts_with(&format!(
                    "in_channels: {c} (the segmenter's input is one gray"
                ))
            );
        }
    }
}
