//! DeepLabv3+ with a ResNet backbone, for inference: the network of
//! `cxr_lungseg::DeepLabV3Plus` (same names, same operations, batch norms folded at
//! load), written from candle's operations.

use candle_core::Tensor;
use cxr_lungseg::SegmenterConfig;

use crate::Error;
use crate::nn::{Conv, Geometry, Weights, max3s2p1};

const EPS: f64 = 1e-5;

#[allow(clippy::too_many_arguments)]
fn conv_bn(
    ws: &Weights,
    conv: &str,
    bn: &str,
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    dilation: usize,
) -> Result<Conv, Error> {
    Conv::folded(
        ws,
        conv,
        bn,
        cin,
        cout,
        Geometry::same(k, stride, dilation),
        EPS,
    )
}

struct Block {
    convs: Vec<Conv>,
    downsample: Option<Conv>,
}

impl Block {
    #[allow(clippy::too_many_arguments)]
    fn load(
        ws: &Weights,
        p: &str,
        cin: usize,
        planes: usize,
        stride: usize,
        dilation: usize,
        bottleneck: bool,
    ) -> Result<(Block, usize), Error> {
        let cout = if bottleneck { planes * 4 } else { planes };
        let c = |i: usize| (format!("{p}.conv{i}"), format!("{p}.bn{i}"));
        let convs = if bottleneck {
            let ((c1, b1), (c2, b2), (c3, b3)) = (c(1), c(2), c(3));
            vec![
                conv_bn(ws, &c1, &b1, cin, planes, 1, 1, 1)?,
                conv_bn(ws, &c2, &b2, planes, planes, 3, stride, dilation)?,
                conv_bn(ws, &c3, &b3, planes, cout, 1, 1, 1)?,
            ]
        } else {
            let ((c1, b1), (c2, b2)) = (c(1), c(2));
            vec![
                conv_bn(ws, &c1, &b1, cin, planes, 3, stride, dilation)?,
                conv_bn(ws, &c2, &b2, planes, planes, 3, 1, dilation)?,
            ]
        };
        let downsample = if stride != 1 || cin != cout {
            let (c, b) = (format!("{p}.downsample.0"), format!("{p}.downsample.1"));
            Some(conv_bn(ws, &c, &b, cin, cout, 1, stride, 1)?)
        } else {
            None
        };
        Ok((Block { convs, downsample }, cout))
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let last = self.convs.len() - 1;
        let mut y = x.clone();
        for (i, c) in self.convs.iter().enumerate() {
            y = if i < last {
                c.relu(&y)?
            } else {
                c.forward(&y)?
            };
        }
        let shortcut = match &self.downsample {
            Some(c) => c.forward(x)?,
            None => x.clone(),
        };
        (y + shortcut)?.relu()
    }
}

/// The segmenter network: `[B, 1, S, S]` → `[B, 1, S, S]` logits.
pub struct DeepLab {
    stem: Conv,
    layers: Vec<Vec<Block>>,
    aspp: Vec<Conv>,
    pool: Conv,
    project: Conv,
    low_reduce: Conv,
    decoder: [Conv; 2],
    classifier: Conv,
}

impl DeepLab {
    /// The network of `config` with the weights of `ws` (names as `DeepLabV3Plus` has
    /// them), batch norms folded.
    pub(crate) fn load(ws: &Weights, config: &SegmenterConfig) -> Result<DeepLab, Error> {
        let c = config;
        let u = |v: i64| v as usize;
        let bottleneck = c.depth == 50;
        config.validate()?;
        let blocks = c.blocks();
        let stem = Conv::folded(
            ws,
            "backbone.conv1",
            "backbone.bn1",
            u(c.in_channels),
            u(c.width),
            Geometry::same(7, 2, 1),
            EPS,
        )?;
        let plan = [(1, 1, 1), (2, 2, 1), (4, 2, 1), (8, 1, 2)];
        let (mut cin, mut low_ch) = (u(c.width), 0);
        let mut layers = Vec::new();
        for (li, (&n, (mult, stride, dilation))) in blocks.iter().zip(plan).enumerate() {
            let mut layer = Vec::new();
            for bi in 0..n {
                let s = if bi == 0 { stride } else { 1 };
                let p = format!("backbone.layer{}.{bi}", li + 1);
                let (b, cout) =
                    Block::load(ws, &p, cin, u(c.width) * mult, s, dilation, bottleneck)?;
                cin = cout;
                layer.push(b);
            }
            if li == 0 {
                low_ch = cin;
            }
            layers.push(layer);
        }
        let a = u(c.aspp_channels);
        let mut aspp = vec![conv_bn(ws, "aspp.b0.conv", "aspp.b0.bn", cin, a, 1, 1, 1)?];
        for (i, r) in c.aspp_rates.iter().enumerate() {
            let b = format!("aspp.b{}", i + 1);
            aspp.push(conv_bn(
                ws,
                &format!("{b}.conv"),
                &format!("{b}.bn"),
                cin,
                a,
                3,
                1,
                u(*r),
            )?);
        }
        let pool = conv_bn(ws, "aspp.pool.conv", "aspp.pool.bn", cin, a, 1, 1, 1)?;
        let project = conv_bn(
            ws,
            "aspp.project.conv",
            "aspp.project.bn",
            5 * a,
            a,
            1,
            1,
            1,
        )?;
        let (l, d) = (u(c.low_level_channels), u(c.decoder_channels));
        let low_reduce = conv_bn(ws, "decoder.low.conv", "decoder.low.bn", low_ch, l, 1, 1, 1)?;
        let decoder = [
            conv_bn(ws, "decoder.conv1", "decoder.bn1", a + l, d, 3, 1, 1)?,
            conv_bn(ws, "decoder.conv2", "decoder.bn2", d, d, 3, 1, 1)?,
        ];
        let classifier = Conv::plain(ws, "decoder.classifier", d, 1, Geometry::same(1, 1, 1))?;
        Ok(DeepLab {
            stem,
            layers,
            aspp,
            pool,
            project,
            low_reduce,
            decoder,
            classifier,
        })
    }

    /// Logits `[B, 1, H, W]` of an input `[B, 1, H, W]` (H, W multiples of 16).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let mut y = max3s2p1(&self.stem.relu(x)?)?;
        let mut low = None;
        for (li, layer) in self.layers.iter().enumerate() {
            for b in layer {
                y = b.forward(&y)?;
            }
            if li == 0 {
                low = Some(y.clone());
            }
        }
        let low = self.low_reduce.relu(&low.expect("four layers"))?;
        // ASPP: four convolutions and the image-pooling branch, spread back over the map
        // (bilinear from 1 × 1 is a constant).
        let (_, _, hh, hw) = y.dims4()?;
        let mut outs = self
            .aspp
            .iter()
            .map(|c| c.relu(&y))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let pooled = y.mean_keepdim(3)?.mean_keepdim(2)?;
        let pooled = self.pool.relu(&pooled)?;
        let (b, c, _, _) = pooled.dims4()?;
        outs.push(pooled.broadcast_as((b, c, hh, hw))?.contiguous()?);
        let a = self.project.relu(&Tensor::cat(&outs, 1)?)?;
        let (_, _, lh, lw) = low.dims4()?;
        let a = a.upsample_bilinear2d(lh, lw, false)?;
        let mut z = Tensor::cat(&[a, low], 1)?;
        for c in &self.decoder {
            z = c.relu(&z)?;
        }
        self.classifier
            .forward(&z)?
            .upsample_bilinear2d(h, w, false)
    }
}
