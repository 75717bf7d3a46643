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
    LungQc::judged(seg.lungs_kept(), seg.lungs.fraction() as f32, opts)
}

/// The band either side of the gate's smallest lung share ([`QcOptions::min_fraction`])
/// within which a verdict is near the cut ([`LungQc::near_cut`]): one percentage point.
/// Measured on 552 real radiographs (`docs/lungseg.md`, "Verdicts near the cut move
/// between machines"): the same recipe's segmenters trained on two CPUs (AVX-512 and
/// AVX2 kernels) put each image's lungs a median 0.4 points apart (95th percentile 1.7);
/// 10 verdicts differed, 9 and 8 of them within one point of the cut on either machine,
/// where 56 images lay.
pub const NEAR_CUT_BAND: f64 = 0.01;

/// The stable code of a verdict near the cut, as a predictions table's `cautions` column
/// carries it (the service answers `gate.near_cut`).
pub const NEAR_CUT_CODE: &str = "lungs_near_cut";

impl LungQc {
    /// The verdict the gate `opts` gives an image whose post-processing kept
    /// `lungs_found` lungs covering `lung_fraction` of its pixels: the rule [`assess`]
    /// applies, from the measures alone, so that a verdict cached under other options
    /// can be judged again ([`LungQc::under`]).
    pub fn judged(lungs_found: u8, lung_fraction: f32, opts: &QcOptions) -> LungQc {
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

    /// The same measures judged by the gate `opts`: a verdict kept from a run under
    /// another gate says what that gate decided, not this one.
    pub fn under(&self, opts: &QcOptions) -> LungQc {
        LungQc::judged(self.lungs_found, self.lung_fraction, opts)
    }

    /// Whether the verdict of the gate `opts` is near its cut: the lungs it asks for were
    /// found, and their share lies within [`NEAR_CUT_BAND`] of `opts.min_fraction`, either
    /// side. Such a verdict can go the other way with another segmenter, or the same one
    /// trained or run on another CPU.
    pub fn near_cut(&self, opts: &QcOptions) -> bool {
        self.lungs_found >= opts.min_lungs
            && (f64::from(self.lung_fraction) - f64::from(opts.min_fraction)).abs() <= NEAR_CUT_BAND
    }

    /// The verdict in words for a person ([`Verdict`]'s text), saying so when it is near
    /// the cut of `opts`.
    pub fn describe(&self, opts: &QcOptions) -> String {
        if self.near_cut(opts) {
            format!(
                "{}; near the cut: the lungs cover {:.1} % of the image, within {:.0} \
                 percentage point of the gate's {} %, and another machine may decide \
                 otherwise",
                self.verdict,
                100.0 * self.lung_fraction,
                100.0 * NEAR_CUT_BAND,
                // To a tenth, as the shares compared with it (30, 30.5).
                (1000.0 * f64::from(opts.min_fraction)).round() / 10.0
            )
        } else {
            self.verdict.to_string()
        }
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

    /// A verdict kept from one gate is judged again under another from its measures,
    /// and the band near the cut is one percentage point either side, lungs found.
    #[test]
    fn verdicts_are_judged_again_and_near_the_cut_is_one_point() {
        let paper = QcOptions::default();
        let q = LungQc::judged(2, 0.305, &paper);
        assert_eq!(q.verdict, Verdict::Accept);
        let strict = QcOptions {
            min_fraction: 0.5,
            ..paper.clone()
        };
        assert_eq!(
            q.under(&strict).verdict,
            Verdict::Reject(RejectReason::LungsTooSmall {
                fraction: 0.305,
                min: 0.5
            })
        );
        assert_eq!(q.under(&strict).under(&paper), q);
        let one = QcOptions {
            min_lungs: 1,
            ..paper.clone()
        };
        assert_eq!(
            LungQc::judged(1, 0.4, &paper).verdict.code(),
            "lungs_not_found"
        );
        assert!(LungQc::judged(1, 0.4, &one).verdict.is_accept());
        // The band: 29.0 % to 31.0 %, both sides, only with the lungs found.
        let near = |found, f: f32| LungQc::judged(found, f, &paper).near_cut(&paper);
        assert!(near(2, 0.305) && near(2, 0.291) && near(2, 0.3095) && near(2, 0.30));
        assert!(!near(2, 0.2889) && !near(2, 0.3111) && !near(2, 0.6));
        assert!(!near(1, 0.30), "a lung missing is not a share near the cut");
        assert!(q.under(&strict).near_cut(&paper) && !q.near_cut(&strict));
        assert_eq!(
            q.describe(&paper),
            "accept; near the cut: the lungs cover 30.5 % of the image, within 1 percentage \
             point of the gate's 30 %, and another machine may decide otherwise"
        );
        assert_eq!(LungQc::judged(2, 0.5, &paper).describe(&paper), "accept");
        let tenth = QcOptions {
            min_fraction: 0.305,
            ..paper.clone()
        };
        assert!(
            LungQc::judged(2, 0.301, &tenth)
                .describe(&tenth)
                .contains("of the gate's 30.5 %")
        );
        let low = LungQc::judged(2, 0.2951, &paper);
        assert!(low.describe(&paper).starts_with(
            "reject: lungs too small (29.5 % of the image, minimum 30.0 %); near the cut"
        ));
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
