//! Inception v3 for inference: the network of `cxr_classifier::InceptionV3` (torchvision's
//! names and topology, `ClassifierConfig::width` scaling every channel count, batch norms
//! folded at load), written from candle's operations. The auxiliary head is a training
//! aid and is not loaded.

use candle_core::Tensor;
use cxr_classifier::ClassifierConfig;

use crate::Error;
use crate::nn::{Conv, Geometry, Weights, avg3, global_mean, max3s2};

/// torchvision's `BasicConv2d` batch norm ε.
const EPS: f64 = 0.001;

/// Loads `BasicConv2d`s under one block's prefix.
struct Loader<'a> {
    ws: &'a Weights,
    p: String,
}

impl Loader<'_> {
    fn conv(
        &self,
        name: &str,
        cin: usize,
        cout: usize,
        k: [usize; 2],
        stride: usize,
        pad: [usize; 2],
    ) -> Result<Conv, Error> {
        let p = if self.p.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.p)
        };
        Conv::folded(
            self.ws,
            &format!("{p}.conv"),
            &format!("{p}.bn"),
            cin,
            cout,
            Geometry::new(k, stride, pad),
            EPS,
        )
    }

    fn sq(
        &self,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        s: usize,
        pad: usize,
    ) -> Result<Conv, Error> {
        self.conv(name, cin, cout, [k, k], s, [pad, pad])
    }
}

fn chain(convs: &[Conv], x: &Tensor) -> candle_core::Result<Tensor> {
    let mut y = convs[0].relu(x)?;
    for c in &convs[1..] {
        y = c.relu(&y)?;
    }
    Ok(y)
}

enum Mixed {
    /// Mixed_5b–d: 1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | pool → 1×1.
    A {
        b1: Conv,
        b5: [Conv; 2],
        b3: [Conv; 3],
        pool: Conv,
    },
    /// Mixed_6a: 3×3/2 | 1×1 → 3×3 → 3×3/2 | max pool.
    B { b3: Conv, d: [Conv; 3] },
    /// Mixed_6b–e: factorised 7×7.
    C {
        b1: Conv,
        b7: [Conv; 3],
        d7: [Conv; 5],
        pool: Conv,
    },
    /// Mixed_7a: 1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | max pool.
    D { b3: [Conv; 2], b7: [Conv; 4] },
    /// Mixed_7b/c: expanded filter banks.
    E {
        b1: Conv,
        b3_1: Conv,
        b3_2: [Conv; 2],
        d: [Conv; 2],
        d3: [Conv; 2],
        pool: Conv,
    },
}

impl Mixed {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Mixed::A { b1, b5, b3, pool } => Tensor::cat(
                &[
                    b1.relu(x)?,
                    chain(b5, x)?,
                    chain(b3, x)?,
                    pool.relu(&avg3(x)?)?,
                ],
                1,
            ),
            Mixed::B { b3, d } => Tensor::cat(&[b3.relu(x)?, chain(d, x)?, max3s2(x)?], 1),
            Mixed::C { b1, b7, d7, pool } => Tensor::cat(
                &[
                    b1.relu(x)?,
                    chain(b7, x)?,
                    chain(d7, x)?,
                    pool.relu(&avg3(x)?)?,
                ],
                1,
            ),
            Mixed::D { b3, b7 } => Tensor::cat(&[chain(b3, x)?, chain(b7, x)?, max3s2(x)?], 1),
            Mixed::E {
                b1,
                b3_1,
                b3_2,
                d,
                d3,
                pool,
            } => {
                let b3 = b3_1.relu(x)?;
                let dd = chain(d, x)?;
                Tensor::cat(
                    &[
                        b1.relu(x)?,
                        b3_2[0].relu(&b3)?,
                        b3_2[1].relu(&b3)?,
                        d3[0].relu(&dd)?,
                        d3[1].relu(&dd)?,
                        pool.relu(&avg3(x)?)?,
                    ],
                    1,
                )
            }
        }
    }
}

/// The classifier network: `[B, C, S, S]` → `[B, classes]` logits.
pub struct Inception {
    stem: [Conv; 5],
    mixed: Vec<Mixed>,
    fc_w: Tensor,
    fc_b: Tensor,
}

impl Inception {
    /// The network of `config` with the weights of `ws` (torchvision's names), batch norms
    /// folded.
    pub(crate) fn load(ws: &Weights, config: &ClassifierConfig) -> Result<Inception, Error> {
        config.validate()?;
        let c = config;
        let ch = |n: i64| c.ch(n) as usize;
        let cin = c.input.channels() as usize;
        let root = Loader {
            ws,
            p: String::new(),
        };
        let stem = [
            root.sq("Conv2d_1a_3x3", cin, ch(32), 3, 2, 0)?,
            root.sq("Conv2d_2a_3x3", ch(32), ch(32), 3, 1, 0)?,
            root.sq("Conv2d_2b_3x3", ch(32), ch(64), 3, 1, 1)?,
            root.sq("Conv2d_3b_1x1", ch(64), ch(80), 1, 1, 0)?,
            root.sq("Conv2d_4a_3x3", ch(80), ch(192), 3, 1, 0)?,
        ];
        let at = |name: &str| Loader {
            ws,
            p: name.to_owned(),
        };
        let mut mixed = Vec::new();
        let mut n = ch(192);
        for (name, pool_features) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
            let l = at(name);
            mixed.push(Mixed::A {
                b1: l.sq("branch1x1", n, ch(64), 1, 1, 0)?,
                b5: [
                    l.sq("branch5x5_1", n, ch(48), 1, 1, 0)?,
                    l.sq("branch5x5_2", ch(48), ch(64), 5, 1, 2)?,
                ],
                b3: [
                    l.sq("branch3x3dbl_1", n, ch(64), 1, 1, 0)?,
                    l.sq("branch3x3dbl_2", ch(64), ch(96), 3, 1, 1)?,
                    l.sq("branch3x3dbl_3", ch(96), ch(96), 3, 1, 1)?,
                ],
                pool: l.sq("branch_pool", n, ch(pool_features), 1, 1, 0)?,
            });
            n = ch(64) + ch(64) + ch(96) + ch(pool_features);
        }
        let l = at("Mixed_6a");
        mixed.push(Mixed::B {
            b3: l.sq("branch3x3", n, ch(384), 3, 2, 0)?,
            d: [
                l.sq("branch3x3dbl_1", n, ch(64), 1, 1, 0)?,
                l.sq("branch3x3dbl_2", ch(64), ch(96), 3, 1, 1)?,
                l.sq("branch3x3dbl_3", ch(96), ch(96), 3, 2, 0)?,
            ],
        });
        n += ch(384) + ch(96);
        let (h, v, ph, pv) = ([1, 7], [7, 1], [0, 3], [3, 0]);
        for (name, c7) in [
            ("Mixed_6b", 128),
            ("Mixed_6c", 160),
            ("Mixed_6d", 160),
            ("Mixed_6e", 192),
        ] {
            let l = at(name);
            let (c7, o) = (ch(c7), ch(192));
            mixed.push(Mixed::C {
                b1: l.sq("branch1x1", n, o, 1, 1, 0)?,
                b7: [
                    l.conv("branch7x7_1", n, c7, [1, 1], 1, [0, 0])?,
                    l.conv("branch7x7_2", c7, c7, h, 1, ph)?,
                    l.conv("branch7x7_3", c7, o, v, 1, pv)?,
                ],
                d7: [
                    l.conv("branch7x7dbl_1", n, c7, [1, 1], 1, [0, 0])?,
                    l.conv("branch7x7dbl_2", c7, c7, v, 1, pv)?,
                    l.conv("branch7x7dbl_3", c7, c7, h, 1, ph)?,
                    l.conv("branch7x7dbl_4", c7, c7, v, 1, pv)?,
                    l.conv("branch7x7dbl_5", c7, o, h, 1, ph)?,
                ],
                pool: l.sq("branch_pool", n, o, 1, 1, 0)?,
            });
            n = 4 * o;
        }
        let l = at("Mixed_7a");
        let (c192, c320) = (ch(192), ch(320));
        mixed.push(Mixed::D {
            b3: [
                l.conv("branch3x3_1", n, c192, [1, 1], 1, [0, 0])?,
                l.conv("branch3x3_2", c192, c320, [3, 3], 2, [0, 0])?,
            ],
            b7: [
                l.conv("branch7x7x3_1", n, c192, [1, 1], 1, [0, 0])?,
                l.conv("branch7x7x3_2", c192, c192, [1, 7], 1, [0, 3])?,
                l.conv("branch7x7x3_3", c192, c192, [7, 1], 1, [3, 0])?,
                l.conv("branch7x7x3_4", c192, c192, [3, 3], 2, [0, 0])?,
            ],
        });
        n += c320 + c192;
        for name in ["Mixed_7b", "Mixed_7c"] {
            let l = at(name);
            let (c384, c448) = (ch(384), ch(448));
            mixed.push(Mixed::E {
                b1: l.conv("branch1x1", n, c320, [1, 1], 1, [0, 0])?,
                b3_1: l.conv("branch3x3_1", n, c384, [1, 1], 1, [0, 0])?,
                b3_2: [
                    l.conv("branch3x3_2a", c384, c384, [1, 3], 1, [0, 1])?,
                    l.conv("branch3x3_2b", c384, c384, [3, 1], 1, [1, 0])?,
                ],
                d: [
                    l.conv("branch3x3dbl_1", n, c448, [1, 1], 1, [0, 0])?,
                    l.conv("branch3x3dbl_2", c448, c384, [3, 3], 1, [1, 1])?,
                ],
                d3: [
                    l.conv("branch3x3dbl_3a", c384, c384, [1, 3], 1, [0, 1])?,
                    l.conv("branch3x3dbl_3b", c384, c384, [3, 1], 1, [1, 0])?,
                ],
                pool: l.conv("branch_pool", n, c192, [1, 1], 1, [0, 0])?,
            });
            n = c320 + 4 * c384 + c192;
        }
        let k = c.num_classes as usize;
        let fc_w = ws.shaped("fc.weight", &[k, n])?.t()?.contiguous()?;
        let fc_b = ws.shaped("fc.bias", &[k])?;
        Ok(Inception {
            stem,
            mixed,
            fc_w,
            fc_b,
        })
    }

    /// Logits `[B, classes]` of an input `[B, C, S, S]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.head(&self.features(x)?)
    }

    /// The `Mixed_7c` feature maps of an input (what Grad-CAM weighs; the libtorch
    /// `InceptionV3::forward_all` returns them as `features`).
    pub fn features(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let [c1a, c2a, c2b, c3b, c4a] = &self.stem;
        let y = c2b.relu(&c2a.relu(&c1a.relu(x)?)?)?;
        let y = max3s2(&y)?;
        let mut y = max3s2(&c4a.relu(&c3b.relu(&y)?)?)?;
        for m in &self.mixed {
            y = m.forward(&y)?;
        }
        Ok(y)
    }

    /// Logits from the `Mixed_7c` feature maps: global average pool, then the last layer.
    pub fn head(&self, features: &Tensor) -> candle_core::Result<Tensor> {
        global_mean(features)?
            .matmul(&self.fc_w)?
            .broadcast_add(&self.fc_b)
    }
}
