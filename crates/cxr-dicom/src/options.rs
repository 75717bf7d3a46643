//! [`ConvertOptions`]: the settings of one conversion.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// VOI LUT Function (0028,1056), PS3.3 C.11.2.1.2–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VoiFunction {
    /// The default: `((x − (c − 0.5)) / (w − 1) + 0.5)` inside the window.
    #[default]
    Linear,
    /// `((x − c) / w + 0.5)` inside the window.
    LinearExact,
    /// `1 / (1 + exp(−4 (x − c) / w))`.
    Sigmoid,
}

impl VoiFunction {
    /// Parses the defined terms; anything else is `None` (the file's value is then
    /// ignored and LINEAR used, as the standard's default).
    pub fn parse(s: &str) -> Option<VoiFunction> {
        match s.trim_matches(|c: char| c == ' ' || c == '\0') {
            "LINEAR" => Some(VoiFunction::Linear),
            "LINEAR_EXACT" => Some(VoiFunction::LinearExact),
            "SIGMOID" => Some(VoiFunction::Sigmoid),
            _ => None,
        }
    }

    /// The defined term.
    pub fn as_str(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }
}

/// Which value-of-interest transform to apply.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum VoiChoice {
    /// The standard's order: the first VOI LUT Sequence item, else the first Window
    /// Center/Width with the file's VOI LUT Function, else min–max of the modality
    /// values (with [`ConvertOptions::minmax_clip_percent`]).
    #[default]
    Auto,
    /// Window `index` (0-based) of the file's Window Center/Width values; an error
    /// if the file has fewer.
    Window {
        /// 0-based index into the multi-valued Window Center/Width.
        index: usize,
    },
    /// Item `index` (0-based) of the file's VOI LUT Sequence; an error if absent.
    VoiLut {
        /// 0-based item index.
        index: usize,
    },
    /// A window given by the caller, in modality units.
    Explicit {
        /// Window center.
        center: f64,
        /// Window width.
        width: f64,
        /// Function applied inside the window.
        #[serde(default)]
        function: VoiFunction,
    },
    /// Ignore the file's VOI attributes: min–max (optionally percentile-clipped).
    MinMax,
}

/// Largest [`ConvertOptions::reduce`]: 1/32 of a 3,000-pixel side is still ~94 pixels.
pub const MAX_REDUCE: u8 = 5;

/// Settings for converting one file (see [`crate::convert_file`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvertOptions {
    /// Frame of a multi-frame image to convert (0-based).
    pub frame: u32,
    /// VOI selection.
    pub voi: VoiChoice,
    /// For min–max: percent of pixels clipped at each end (0 = true minimum and
    /// maximum; 0.5 maps the 0.5th..99.5th percentiles to 0..255). In `[0, 50)`.
    pub minmax_clip_percent: f64,
    /// Output at 1/2^`reduce` of the stored size (each side rounded up), 0..=5. JPEG 2000
    /// decodes only the lower wavelet resolutions (about 4^`reduce` times less work, up
    /// to the levels the codestream has); every other syntax, and levels past those, are
    /// decoded in full and averaged over 2^`reduce` × 2^`reduce` blocks of 8-bit output.
    /// For consumers that resize to a few hundred pixels anyway (the classifier: 299).
    pub reduce: u8,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            frame: 0,
            voi: VoiChoice::Auto,
            minmax_clip_percent: 0.0,
            reduce: 0,
        }
    }
}

impl ConvertOptions {
    /// Min–max with `percent` clipped at each end, ignoring the file's windows.
    pub fn percentile_clip(percent: f64) -> ConvertOptions {
        ConvertOptions {
            voi: VoiChoice::MinMax,
            minmax_clip_percent: percent,
            ..ConvertOptions::default()
        }
    }

    /// Checks the fields; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        if self.reduce > MAX_REDUCE {
            return Err(Error::InvalidOption {
                field: "reduce",
                reason: "must be in 0..=5",
            });
        }
        if !(self.minmax_clip_percent >= 0.0 && self.minmax_clip_percent < 50.0) {
            return Err(Error::InvalidOption {
                field: "minmax_clip_percent",
                reason: "must be in [0, 50)",
            });
        }
        if let VoiChoice::Explicit {
            center,
            width,
            function,
        } = self.voi
        {
            if !center.is_finite() {
                return Err(Error::InvalidOption {
                    field: "voi.center",
                    reason: "must be finite",
                });
            }
            let min = if function == VoiFunction::Linear {
                1.0
            } else {
                f64::MIN_POSITIVE
            };
            if !(width.is_finite() && width >= min) {
                return Err(Error::InvalidOption {
                    field: "voi.width",
                    reason: "must be finite, >= 1 for LINEAR and > 0 otherwise",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_field() {
        assert!(ConvertOptions::default().validate().is_ok());
        let e = ConvertOptions::percentile_clip(60.0)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("minmax_clip_percent"), "{e}");
        let o = ConvertOptions {
            voi: VoiChoice::Explicit {
                center: 100.0,
                width: 0.5,
                function: VoiFunction::Linear,
            },
            ..ConvertOptions::default()
        };
        assert!(o.validate().unwrap_err().to_string().contains("voi.width"));
    }

    #[test]
    fn voi_function_terms() {
        assert_eq!(VoiFunction::parse("SIGMOID "), Some(VoiFunction::Sigmoid));
        assert_eq!(
            VoiFunction::parse("LINEAR_EXACT"),
            Some(VoiFunction::LinearExact)
        );
        assert_eq!(VoiFunction::parse("CUBIC"), None);
    }
}
