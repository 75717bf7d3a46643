//! The segmenter's settings, and what inference needs of a run folder without libtorch:
//! its network's settings ([`read_model`]) and the image as the network's input starts
//! from it ([`network_input`]). Shared by the libtorch `Segmenter` and `cxr-infer`.

use std::path::Path;

use cxr_core::GrayImage;
use serde::{Deserialize, Serialize};

/// Architecture settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmenterConfig {
    /// Square input size in pixels (images are resized to it).
    pub input_size: i64,
    /// ResNet depth: 18, 34 or 50.
    pub depth: u32,
    /// Channels of the stem and of `layer1` (64 in the standard ResNet).
    pub width: i64,
    /// Channels of the ASPP output.
    pub aspp_channels: i64,
    /// Atrous rates of the three 3×3 ASPP branches.
    pub aspp_rates: [i64; 3],
    /// Channels the low-level features are reduced to (48 in the paper of DeepLabv3+).
    pub low_level_channels: i64,
    /// Channels of the decoder's 3×3 convolutions.
    pub decoder_channels: i64,
    /// Input channels (1: grayscale).
    pub in_channels: i64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig::resnet18_256()
    }
}

impl SegmenterConfig {
    /// ResNet-18 backbone at 256×256: the CPU-friendly default.
    pub fn resnet18_256() -> Self {
        SegmenterConfig {
            input_size: 256,
            depth: 18,
            width: 64,
            aspp_channels: 256,
            aspp_rates: [6, 12, 18],
            low_level_channels: 48,
            decoder_channels: 256,
            in_channels: 1,
        }
    }

    /// ResNet-50 backbone at 512×512 (GPU).
    pub fn resnet50_512() -> Self {
        SegmenterConfig {
            input_size: 512,
            depth: 50,
            ..SegmenterConfig::resnet18_256()
        }
    }

    /// A ResNet-18 at half width with a light head, 256×256: trains on a 2-core CPU in
    /// well under an hour on ~600 images (the examples' default without a GPU).
    pub fn cpu_256() -> Self {
        SegmenterConfig {
            input_size: 256,
            depth: 18,
            width: 32,
            aspp_channels: 64,
            aspp_rates: [6, 12, 18],
            low_level_channels: 24,
            decoder_channels: 64,
            in_channels: 1,
        }
    }

    /// [`SegmenterConfig::cpu_256`] at 320×320: the CPU network for real radiographs. On
    /// 558 real radiographs with hand-drawn masks it reached a held-out mean Dice of
    /// 0.9605 where 256 px gave 0.9595 (`docs/lungseg.md`); ~1.6× the training time.
    pub fn cpu_320() -> Self {
        SegmenterConfig {
            input_size: 320,
            ..SegmenterConfig::cpu_256()
        }
    }

    /// The network a device trains by default: [`SegmenterConfig::resnet50_512`] on
    /// CUDA, [`SegmenterConfig::cpu_320`] on the CPU.
    #[cfg(feature = "torch")]
    pub fn for_device(device: tch::Device) -> Self {
        if device.is_cuda() {
            SegmenterConfig::resnet50_512()
        } else {
            SegmenterConfig::cpu_320()
        }
    }

    /// A narrow ResNet-18 for tests and quick CPU runs.
    pub fn tiny(input_size: i64) -> Self {
        SegmenterConfig {
            input_size,
            depth: 18,
            width: 8,
            aspp_channels: 16,
            aspp_rates: [6, 12, 18],
            low_level_channels: 8,
            decoder_channels: 16,
            in_channels: 1,
        }
    }

    /// Checks the settings, naming the first bad field: `depth` 18, 34 or 50,
    /// `input_size` a multiple of 16 ≥ 32, channel counts ≥ 1, `in_channels` 1 (gray
    /// input), every `aspp_rates` dilation in `1..=input_size`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |field, detail: String| Err(crate::Error::InvalidConfig { field, detail });
        if ![18, 34, 50].contains(&self.depth) {
            return bad("depth", format!("{} is not 18, 34 or 50", self.depth));
        }
        if self.input_size < 32 || self.input_size % 16 != 0 {
            return bad(
                "input_size",
                format!("{} is not a multiple of 16 ≥ 32", self.input_size),
            );
        }
        for (field, v) in [
            ("width", self.width),
            ("aspp_channels", self.aspp_channels),
            ("low_level_channels", self.low_level_channels),
            ("decoder_channels", self.decoder_channels),
        ] {
            if v < 1 {
                return bad(field, format!("{v} < 1"));
            }
        }
        // The data (training pairs and `Segmenter::probabilities`) is one gray channel.
        if self.in_channels != 1 {
            return bad(
                "in_channels",
                format!(
                    "{} (the segmenter's input is one gray channel: 1)",
                    self.in_channels
                ),
            );
        }
        for r in self.aspp_rates {
            if !(1..=self.input_size).contains(&r) {
                return bad(
                    "aspp_rates",
                    format!("{r} is not a dilation in 1..={}", self.input_size),
                );
            }
        }
        Ok(())
    }

    /// Residual blocks per ResNet layer (`layer1` … `layer4`) of the depth.
    pub fn blocks(&self) -> [usize; 4] {
        match self.depth {
            18 => [2, 2, 2, 2],
            34 | 50 => [3, 4, 6, 3],
            _ => unreachable!("validated"),
        }
    }
}

/// The network's settings of a segmenter run: the `model` table of `run_dir/config.json`
/// (the rest of the file is training's). A run of another network is refused by
/// [`SegmenterConfig::validate`].
///
/// # Errors
///
/// [`crate::Error::Nn`] when the file cannot be read or has no valid `model`;
/// [`crate::Error::InvalidConfig`].
pub fn read_model(run_dir: &Path) -> Result<SegmenterConfig, crate::Error> {
    #[derive(Deserialize)]
    struct Run {
        model: SegmenterConfig,
    }
    let run: Run = cxr_nn::files::read_json(&run_dir.join("config.json"))?;
    run.model.validate()?;
    Ok(run.model)
}

/// An image as the segmenter's input starts from it: values in 0..1, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// `width × height` values.
    pub values: Vec<f32>,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
}

/// The image shrunk by block means as in training ([`cxr_core::shrink_factor`] for an
/// input of `size`), scaled to 0..1: what is then resized bilinearly to `size × size`.
pub fn network_input(img: &GrayImage, size: u32) -> Plane {
    let small = cxr_core::shrink_gray(img, cxr_core::shrink_factor(img.dimensions(), size));
    Plane {
        values: small
            .as_raw()
            .iter()
            .map(|&v| f32::from(v) / 255.0)
            .collect(),
        width: small.width() as usize,
        height: small.height() as usize,
    }
}

/// The pixels of `img` scaled to 0..1 (`v / 255`), row-major: the segmenter's input
/// values in training and inference.
pub fn unit_values(img: &GrayImage) -> Vec<f32> {
    img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect()
}
