//! The paper's lung quality gate.
//!
//! The paper runs its segmenter on every image and "discard all those images where
//! both lungs were not clearly detected and/or if the lungs detected did not take at least
//! 30% of the image pixels". [`assess`] applies that rule to a post-processed
//! [`Segmentation`]:
//!
//! 1. fewer than [`QcOptions::min_lungs`] lungs kept → [`RejectReason::LungsNotFound`];
//! 2. otherwise, lung pixels / image pixels below [`QcOptions::min_fraction`] →
//!    [`RejectReason::LungsTooSmall`];
//! 3. otherwise [`Verdict::Accept`].
//!
//! The lung-count check comes first, so an image with one lung is reported as such even
//! when its lung fraction is also too small. Reasons have a stable snake_case
//! [`RejectReason::code`] and a human [`Display`](std::fmt::Display) text for CSVs.
//!
//! ```
//! use cxr_core::LungMask;
//! use cxr_lungseg::postprocess::{postprocess_mask, PostprocessOptions};
//! use cxr_lungseg::qc::{assess, QcOptions, RejectReason, Verdict};
//!
//! // One big blob on the image's left: one lung only.
//! let mask = LungMask::from_fn(100, 100, |x, y| (10..45).contains(&x) && (10..90).contains(&y));
//! let seg = postprocess_mask(&mask, &PostprocessOptions::default()).unwrap();
//! let qc = assess(&seg, &QcOptions::default());
//! assert_eq!(qc.lungs_found, 1);
//! assert_eq!(qc.verdict, Verdict::Reject(RejectReason::LungsNotFound { found: 1 }));
//! assert_eq!(qc.verdict.to_string(), "reject: lungs not found (1 found)");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::postprocess::Segmentation;

/// Settings of the gate. `Default` = the paper's rule (two lungs, ≥ 30 % of the pixels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QcOptions {
    /// Lungs that must be found (default 2).
    pub min_lungs: u8,
    /// Smallest share of the image's pixels the lungs must cover (default 0.30).
    pub min_fraction: f32,
}

impl Default for QcOptions {
    fn default() -> Self {
        QcOptions {
            min_lungs: 2,
            min_fraction: 0.30,
        }
    }
}

/// An option of [`QcOptions`] is out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid quality-gate option `{field}`: {reason}")]
pub struct QcOptionsError {
    /// The option's field name.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl QcOptions {
    /// Checks the ranges: `min_lungs` ≤ 2, `min_fraction` in `[0, 1]` (NaN is out of
    /// range). [`crate::segment_image`] and [`crate::segment_dir`] call it.
    ///
    /// # Errors
    ///
    /// [`QcOptionsError`] naming the field.
    pub fn validate(&self) -> Result<(), QcOptionsError> {
        if self.min_lungs > 2 {
            return Err(QcOptionsError {
                field: "min_lungs",
                reason: "must be 0, 1 or 2",
            });
        }
        if !(0.0..=1.0).contains(&self.min_fraction) {
            return Err(QcOptionsError {
                field: "min_fraction",
                reason: "must be in [0, 1]",
            });
        }
        Ok(())
    }
}

/// Why an image was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RejectReason {
    /// Fewer lungs than required were found.
    LungsNotFound {
        /// Lungs found (0 or 1 with the default rule).
        found: u8,
    },
    /// The lungs cover too small a share of the image.
    LungsTooSmall {
        /// Share of the image's pixels that are lung.
        fraction: f32,
        /// The minimum required.
        min: f32,
    },
}

impl RejectReason {
    /// Stable snake_case code (`lungs_not_found`, `lungs_too_small`).
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::LungsNotFound { .. } => "lungs_not_found",
            RejectReason::LungsTooSmall { .. } => "lungs_too_small",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::LungsNotFound { found } => write!(f, "lungs not found ({found} found)"),
            RejectReason::LungsTooSmall { fraction, min } => {
                // As many decimals as it takes for the share to read below the minimum
                // (29.996 % is "29.996 %", not "30.0 %"), at least one, at most six.
                let (v, m) = (f64::from(*fraction) * 100.0, f64::from(*min) * 100.0);
                let digits = (1..=6)
                    .find(|&d| format!("{v:.d$}") != format!("{m:.d$}"))
                    .unwrap_or(6);
                write!(
                    f,
                    "lungs too small ({v:.digits$} % of the image, minimum {m:.digits$} %)"
                )
            }
        }
    }
}

/// The gate's decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The image is kept.
    Accept,
    /// The image is discarded, for this reason.
    Reject(RejectReason),
}

impl Verdict {
    /// Whether the image is kept.
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept)
    }

    /// The rejection reason, if rejected.
    pub fn reason(&self) -> Option<&RejectReason> {
        match self {
            Verdict::Accept => None,
            Verdict::Reject(r) => Some(r),
        }
    }

    /// Stable code: `accept`, or the reason's [`RejectReason::code`].
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Reject(r) => r.code(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Reject(r) => write!(f, "reject: {r}"),
        }
    }
}

/// The gate's measures and decision for one image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LungQc {
    /// Lungs kept by post-processing (0, 1 or 2).
    pub lungs_found: u8,
    /// Share of the image's pixels inside either lung.
    pub lung_fraction: f32,
    /// Accept or reject, with the reason.
    pub verdict: Verdict,
}

/// The gate on a probability map: post-processing ([`crate::postprocess::postprocess`])
/// of the map `p` (`width × height`, row-major), then [`assess`]. The one way both the
/// libtorch `Segmenter` and `cxr-infer` turn a segmenter's output into lungs and a
/// verdict.
///
/// # Errors
///
/// [`crate::Error::Postprocess`] / [`crate::Error::Qc`] for out-of-range options or a map
/// of another size.
pub fn gate(
    p: &[f32],
    width: u32,
    height: u32,
    post: &crate::postprocess::PostprocessOptions,
    qc: &QcOptions,
) -> Result<(crate::postprocess::Segmentation, LungQc), crate::Error> {
    post.validate()?;
    qc.validate()?;
    let s = crate::postprocess::postprocess(p, width, height, post)?;
    let q = assess(&s, qc);
    Ok((s, q))
}

/// Applies the gate to a post-processed segmentation.
pub fn assess(seg: &Segmentation, opts: &QcOptions) -> LungQc {
    let lungs_found = seg.lungs_kept();
    let lung_fraction = seg.lungs.fraction() as f32;
    let verdict = if lungs_found < opts.min_lungs {
        Verdict::Reject(RejectReason::LungsNotFound { found: lungs_found })
    } else if lung_fraction < opts.min_fraction {
        Verdict::Reject(RejectReason::LungsTooSmall {
            fraction: lung_fraction,
            min: opts.min_fraction,
        })
    } else {
        Verdict::Accept
    };
    LungQc {
        lungs_found,
        lung_fraction,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_codes_and_serde() {
        let r = Verdict::Reject(RejectReason::LungsTooSmall {
            fraction: 0.125,
            min: 0.3,
        });
        assert_eq!(
            r.to_string(),
            "reject: lungs too small (12.5 % of the image, minimum 30.0 %)"
        );
        assert_eq!(r.code(), "lungs_too_small");
        // Just below the minimum: enough digits to see it.
        let close = RejectReason::LungsTooSmall {
            fraction: 0.29996,
            min: 0.3,
        };
        assert_eq!(
            close.to_string(),
            "lungs too small (29.996 % of the image, minimum 30.000 %)"
        );
        assert_eq!(Verdict::Accept.code(), "accept");
        assert!(!r.is_accept());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"reject":{"reason":"lungs_too_small","fraction":0.125,"min":0.3}}"#
        );
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), r);
        assert_eq!(
            serde_json::to_string(&Verdict::Accept).unwrap(),
            r#""accept""#
        );
    }

    #[test]
    fn options_default_validate_and_serde() {
        let o = QcOptions::default();
        assert_eq!((o.min_lungs, o.min_fraction), (2, 0.30));
        o.validate().unwrap();
        let e = QcOptions {
            min_lungs: 3,
            ..o.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "min_lungs");
        let p: QcOptions = serde_json::from_str(r#"{"min_fraction":0.25}"#).unwrap();
        assert_eq!(
            p,
            QcOptions {
                min_lungs: 2,
                min_fraction: 0.25
            }
        );
    }
}
