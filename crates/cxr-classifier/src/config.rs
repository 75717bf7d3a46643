//! The classifier's settings: what the input channels hold ([`InputMode`]) and the
//! network's architecture ([`ClassifierConfig`] and its presets). Shared by the libtorch
//! network (`model`) and `cxr-infer`.

use serde::{Deserialize, Serialize};

/// What the network's input channels hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// One channel: the image with pixels outside the lung mask set to zero (the paper).
    Masked,
    /// Two channels: the masked image and the lung mask itself (0/1).
    MaskedWithMask,
    /// Three channels, torchvision's layout (ImageNet-style input; parity tests).
    Rgb,
    /// One channel: the whole image, the lung mask ignored. Not the paper's design: the
    /// shortcut audit's control (what a classifier learns when it sees everything a
    /// source burns into its images).
    Whole,
}

impl InputMode {
    /// Number of input channels.
    pub fn channels(self) -> i64 {
        match self {
            InputMode::Masked | InputMode::Whole => 1,
            InputMode::MaskedWithMask => 2,
            InputMode::Rgb => 3,
        }
    }

    /// Its name in settings files, reports and folder names (`masked`, `whole`, …; the
    /// serde name).
    pub fn name(self) -> &'static str {
        match self {
            InputMode::Masked => "masked",
            InputMode::MaskedWithMask => "masked_with_mask",
            InputMode::Rgb => "rgb",
            InputMode::Whole => "whole",
        }
    }
}

/// Architecture settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Square input size in pixels (≥ 75; 299 is Inception v3's).
    pub input_size: i64,
    /// What the input channels hold.
    pub input: InputMode,
    /// Number of classes (3: healthy, covid-19, bacterial).
    pub num_classes: i64,
    /// Multiplier of every channel count (1.0 = Inception v3).
    pub width: f64,
    /// Whether the auxiliary classifier on `Mixed_6e` exists (used in training only).
    pub aux_logits: bool,
    /// Dropout before `fc` (0.5 in torchvision).
    pub dropout: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig::v3_299()
    }
}

impl ClassifierConfig {
    /// The paper's network: full Inception v3 at 299 × 299, masked grayscale input,
    /// three classes, auxiliary head for training.
    pub fn v3_299() -> Self {
        ClassifierConfig {
            input_size: 299,
            input: InputMode::Masked,
            num_classes: 3,
            width: 1.0,
            aux_logits: true,
            dropout: 0.5,
        }
    }

    /// A quarter-width Inception v3 at 128 × 128 with the same names and topology: trains
    /// on a 2-core CPU (the examples' default without a GPU, and the demo's).
    pub fn small() -> Self {
        ClassifierConfig {
            input_size: 128,
            width: 0.25,
            aux_logits: false,
            dropout: 0.2,
            ..ClassifierConfig::v3_299()
        }
    }

    /// An eighth-width network for tests.
    pub fn tiny(input_size: i64) -> Self {
        ClassifierConfig {
            input_size,
            width: 0.125,
            aux_logits: false,
            dropout: 0.0,
            ..ClassifierConfig::v3_299()
        }
    }

    /// torchvision's `inception_v3(num_classes=1000, transform_input=False)` layout:
    /// 3 input channels, 1,000 classes, auxiliary head.
    pub fn torchvision_imagenet() -> Self {
        ClassifierConfig {
            input: InputMode::Rgb,
            num_classes: 1000,
            ..ClassifierConfig::v3_299()
        }
    }

    /// Channels of a layer that has `n` in Inception v3.
    pub fn ch(&self, n: i64) -> i64 {
        ((n as f64 * self.width).round() as i64).max(4)
    }

    /// Checks the settings, naming the first bad field.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |field, detail: String| Err(crate::Error::InvalidConfig { field, detail });
        if self.input_size < 75 {
            return bad(
                "input_size",
                format!("{} < 75 (the smallest Inception v3 input)", self.input_size),
            );
        }
        if self.num_classes < 2 {
            return bad("num_classes", format!("{} < 2", self.num_classes));
        }
        if !(self.width > 0.0 && self.width <= 4.0) {
            return bad("width", format!("{} is not in (0, 4]", self.width));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }
}
