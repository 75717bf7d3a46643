//! ImageNet transfer: loading torchvision's `inception_v3` weights into an
//! [`InceptionV3`](crate::InceptionV3) built with `width = 1.0`.
//!
//! torchvision ships `.pth` files; convert one to safetensors once, with the Python that
//! has torchvision (nothing is downloaded at build, test or run time here):
//!
//! ```text
//! import torch, torchvision
//! from safetensors.torch import save_file
//! m = torchvision.models.inception_v3(weights="IMAGENET1K_V1")   # or load_state_dict(torch.load(PTH))
//! sd = {k: v.contiguous() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
//! save_file(sd, "inception_v3_imagenet.safetensors")
//! ```
//!
//! The importer maps tensors by name (a `module.` prefix from `DataParallel` is
//! stripped), and:
//! - adapts `Conv2d_1a_3x3.conv.weight` from RGB to the model's input: one channel gets
//!   the sum of the three kernels (a gray image `g` replicated to RGB gives
//!   `Σ_c w_c * g = (Σ_c w_c) * g`, so the first layer's output is unchanged); with a mask
//!   channel, that channel's kernel is zero, so the network starts exactly as the
//!   ImageNet one and learns to use the mask;
//! - leaves `fc` (and `AuxLogits.fc`) random when the number of classes differs, and drops
//!   `AuxLogits.*` when the model has no auxiliary head;
//! - fails on any other missing or mis-shaped tensor, naming it, unless the caller asks for
//!   a random start of what is missing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use crate::Error;

/// What an import did, tensor by tensor.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Copied unchanged.
    pub loaded: Vec<String>,
    /// Loaded after an adaptation (name, what was done).
    pub adapted: Vec<(String, String)>,
    /// Left at their random initialisation (name, why).
    pub random: Vec<(String, String)>,
    /// In the file but not used by the model.
    pub dropped: Vec<String>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} tensors loaded, {} adapted, {} left random, {} dropped",
            self.loaded.len(),
            self.adapted.len(),
            self.random.len(),
            self.dropped.len()
        )?;
        for (n, why) in &self.adapted {
            writeln!(f, "  adapted {n}: {why}")?;
        }
        for (n, why) in &self.random {
            writeln!(f, "  random  {n}: {why}")?;
        }
        Ok(())
    }
}

const FIRST_CONV: &str = "Conv2d_1a_3x3.conv.weight";

/// Adapts an RGB first-layer kernel `[O, 3, k, k]` to `in_channels` inputs: 1 → the sum
/// of the three kernels; 2 → that sum and a zero kernel (the mask channel); 3 → as is.
pub fn adapt_first_conv(rgb: &Tensor, in_channels: i64) -> Tensor {
    let gray = rgb.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
    match in_channels {
        1 => gray,
        2 => Tensor::cat(&[&gray, &gray.zeros_like()], 1),
        _ => rgb.shallow_clone(),
    }
}

/// Loads torchvision Inception v3 weights from a safetensors file into `vs` (built with
/// [`InceptionV3::new`](crate::InceptionV3::new) under its root). With `allow_missing`,
/// model tensors absent from the file stay random (and are reported) instead of failing.
pub fn import_torchvision(
    vs: &mut VarStore,
    path: &Path,
    allow_missing: bool,
) -> Result<ImportReport, Error> {
    let bad = |detail: String| Error::Weights {
        path: path.to_path_buf(),
        detail,
    };
    let file: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?
        .into_iter()
        .map(|(k, v)| (k.strip_prefix("module.").unwrap_or(&k).to_string(), v))
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .collect();
    let mut report = ImportReport::default();
    let vars = vs.variables();
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vars.iter().map(|(n, v)| (n.clone(), v.shallow_clone())) {
        let Some(src) = file.get(&name) else {
            if allow_missing {
                report
                    .random
                    .push((name, "not in the file (random start asked for)".into()));
                continue;
            }
            return Err(bad(format!(
                "`{name}` is missing (pass allow_missing for a random start)"
            )));
        };
        let want = var.size();
        let src = src.to_kind(var.kind()).to_device(var.device());
        if name == FIRST_CONV && src.size() != want && src.size().get(1) == Some(&3) {
            let a = adapt_first_conv(&src, want[1]);
            if a.size() != want {
                return Err(bad(format!(
                    "`{name}` is {:?}, the model needs {want:?}",
                    src.size()
                )));
            }
            var.copy_(&a);
            let how = if want[1] == 1 {
                "RGB kernels summed to one gray channel"
            } else {
                "RGB kernels summed to the image channel; mask channel set to zero"
            };
            report.adapted.push((name, how.into()));
        } else if src.size() != want {
            if name.ends_with("fc.weight") || name.ends_with("fc.bias") {
                report.random.push((
                    name,
                    format!("new head: {:?} in the file, {want:?} here", src.size()),
                ));
            } else {
                return Err(bad(format!(
                    "`{name}` is {:?}, the model needs {want:?} (only width 1.0 models take ImageNet weights)",
                    src.size()
                )));
            }
        } else {
            var.copy_(&src);
            report.loaded.push(name);
        }
    }
    report.dropped = file
        .keys()
        .filter(|k| !vars.contains_key(*k))
        .cloned()
        .collect();
    report.loaded.sort();
    report.adapted.sort();
    report.random.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module};

    #[test]
    fn summed_kernel_on_gray_equals_rgb_kernel_on_replicated_gray() {
        tch::manual_seed(7);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let cfg = nn::ConvConfig {
            stride: 2,
            bias: false,
            ..Default::default()
        };
        let rgb = nn::conv2d(vs.root() / "rgb", 3, 8, 3, cfg);
        let mut gray = nn::conv2d(vs.root() / "gray", 1, 8, 3, cfg);
        tch::no_grad(|| gray.ws.copy_(&adapt_first_conv(&rgb.ws, 1)));
        let g = Tensor::rand([2, 1, 17, 13], (Kind::Float, tch::Device::Cpu));
        let a = rgb.forward(&g.repeat([1, 3, 1, 1]));
        let b = gray.forward(&g);
        let err = (&a - &b).abs().max().double_value(&[]);
        assert!(err < 1e-5, "max difference {err}");
        assert!(a.abs().max().double_value(&[]) > 0.1);

        let two = adapt_first_conv(&rgb.ws, 2);
        assert_eq!(two.size(), [8, 2, 3, 3]);
        assert_eq!(
            two.select(1, 1).abs().sum(Kind::Float).double_value(&[]),
            0.0
        );
        assert_eq!(adapt_first_conv(&rgb.ws, 3).size(), [8, 3, 3, 3]);
    }
}
