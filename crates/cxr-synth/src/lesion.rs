//! Lesion patterns by class, placed inside the lungs.
//!
//! - covid: bilateral, peripheral, lower-zone ground-glass opacities, often multifocal;
//! - bacterial: dense lobar consolidation (usually one side), or the upper-zone
//!   nodular/cavitary pattern of tuberculosis;
//! - healthy: none, except a faint small benign opacity in a few patients.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::anatomy::{Anatomy, Side};
use crate::config::Difficulty;
use cxr_core::Label;

/// The pattern a patient's lesions follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// No lesion.
    None,
    /// Diseased, but nothing visible.
    Occult,
    /// A faint benign opacity in a healthy patient.
    BenignMimic,
    /// Covid ground-glass opacities.
    GroundGlass,
    /// Bacterial lobar consolidation.
    Lobar,
    /// Tuberculosis nodules, possibly with a cavity.
    Tuberculous,
}

/// One Gaussian (or ring) opacity in normalised coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blob {
    pub u: f32,
    pub v: f32,
    pub su: f32,
    pub sv: f32,
    pub amp: f32,
    /// Ring radius (cavity wall) — 0 for a filled blob.
    pub ring: f32,
}

impl Blob {
    pub fn at(&self, u: f32, v: f32) -> f32 {
        let du = (u - self.u) / self.su;
        let dv = (v - self.v) / self.sv;
        if self.ring > 0.0 {
            let d = (du * du + dv * dv).sqrt() * self.su;
            self.amp * (-((d - self.ring) / (0.35 * self.ring)).powi(2)).exp()
        } else {
            self.amp * (-0.5 * (du * du + dv * dv)).exp()
        }
    }
}

/// The lesions of one patient.
#[derive(Debug, Clone)]
pub(crate) struct Lesions {
    pub pattern: Pattern,
    pub blobs: Vec<Blob>,
    /// Ground glass is patchy: its opacity is modulated by noise.
    pub patchy: bool,
}

impl Lesions {
    /// Opacity (0..1) at (u, v), before masking by the lung.
    pub fn opacity(&self, u: f32, v: f32, texture: f32) -> f32 {
        if self.blobs.is_empty() {
            return 0.0;
        }
        let sum: f32 = self.blobs.iter().map(|b| b.at(u, v)).sum();
        let o = 1.0 - (-sum).exp();
        if self.patchy {
            o * (0.65 + 0.7 * texture).clamp(0.0, 1.0)
        } else {
            o
        }
    }

    pub fn sample(
        rng: &mut ChaCha8Rng,
        label: Label,
        difficulty: &Difficulty,
        anat: &Anatomy,
    ) -> Lesions {
        let none = |pattern| Lesions {
            pattern,
            blobs: vec![],
            patchy: false,
        };
        let range = |rng: &mut ChaCha8Rng, (lo, hi): (f32, f32)| {
            if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            }
        };
        let extent = range(rng, difficulty.extent);
        let mut blobs = Vec::new();
        let side_of = |b: bool| if b { Side::Right } else { Side::Left };
        let pattern = match label {
            Label::Healthy => {
                if !rng.random_bool(difficulty.healthy_mimic_fraction) {
                    return none(Pattern::None);
                }
                let side = side_of(rng.random_bool(0.5));
                let amp = 0.6 * difficulty.covid_contrast.0;
                blobs.extend(place(rng, anat, side, (0.3, 0.9), (0.3, 0.9), |u, v| {
                    Blob {
                        u,
                        v,
                        su: 0.03,
                        sv: 0.03,
                        amp,
                        ring: 0.0,
                    }
                }));
                Pattern::BenignMimic
            }
            Label::Covid | Label::Bacterial if rng.random_bool(difficulty.occult_fraction) => {
                return none(Pattern::Occult);
            }
            Label::Covid => {
                let contrast = range(rng, difficulty.covid_contrast);
                let n = 2 + (extent * 4.0).round() as usize;
                for i in 0..n {
                    let side = side_of(i % 2 == 0);
                    let sigma = (0.035 + 0.05 * extent) * rng.random_range(0.7..1.3);
                    let amp = contrast * rng.random_range(2.0..3.0);
                    if let Some(b) =
                        place(rng, anat, side, (0.55, 0.95), (0.45, 0.92), |u, v| Blob {
                            u,
                            v,
                            su: sigma,
                            sv: sigma * 1.2,
                            amp,
                            ring: 0.0,
                        })
                    {
                        blobs.push(b);
                    }
                }
                Pattern::GroundGlass
            }
            Label::Bacterial if rng.random_bool(0.5) => {
                let contrast = range(rng, difficulty.bacterial_contrast);
                let side = side_of(rng.random_bool(0.5));
                let s = if rng.random_bool(0.7) {
                    (0.6, 0.85)
                } else {
                    (0.25, 0.45)
                };
                let su = 0.05 + 0.06 * extent;
                let amp = contrast * 5.0;
                if let Some(b) = place(rng, anat, side, (0.3, 0.7), s, |u, v| Blob {
                    u,
                    v,
                    su,
                    sv: su * 0.8,
                    amp,
                    ring: 0.0,
                }) {
                    blobs.push(b);
                }
                if rng.random_bool(0.2) {
                    let other = if side == Side::Right {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    if let Some(b) = place(rng, anat, other, (0.3, 0.7), (0.6, 0.85), |u, v| Blob {
                        u,
                        v,
                        su: su * 0.6,
                        sv: su * 0.5,
                        amp: amp * 0.6,
                        ring: 0.0,
                    }) {
                        blobs.push(b);
                    }
                }
                Pattern::Lobar
            }
            Label::Bacterial => {
                let contrast = range(rng, difficulty.bacterial_contrast);
                let n = 4 + (extent * 8.0).round() as usize;
                let main = side_of(rng.random_bool(0.5));
                let bilateral = rng.random_bool(0.3);
                for i in 0..n {
                    let side = if bilateral && i % 3 == 2 {
                        if main == Side::Right {
                            Side::Left
                        } else {
                            Side::Right
                        }
                    } else {
                        main
                    };
                    let sigma = rng.random_range(0.008..0.018);
                    let amp = contrast * rng.random_range(3.0..5.0);
                    if let Some(b) = place(rng, anat, side, (0.2, 0.9), (0.12, 0.42), |u, v| Blob {
                        u,
                        v,
                        su: sigma,
                        sv: sigma,
                        amp,
                        ring: 0.0,
                    }) {
                        blobs.push(b);
                    }
                }
                if rng.random_bool(0.4) {
                    let ring = rng.random_range(0.022..0.038);
                    let amp = contrast * 4.0;
                    if let Some(b) =
                        place(rng, anat, main, (0.35, 0.75), (0.15, 0.35), |u, v| Blob {
                            u,
                            v,
                            su: 1.0,
                            sv: 1.0,
                            amp,
                            ring,
                        })
                    {
                        blobs.push(Blob {
                            su: 1.0,
                            sv: 1.0,
                            ..b
                        });
                    }
                }
                Pattern::Tuberculous
            }
        };
        Lesions {
            pattern,
            patchy: pattern == Pattern::GroundGlass,
            blobs,
        }
    }

    /// Scales every blob's amplitude (image-to-image variation of one patient).
    pub fn scaled(&self, k: f32) -> Lesions {
        Lesions {
            pattern: self.pattern,
            patchy: self.patchy,
            blobs: self
                .blobs
                .iter()
                .map(|b| Blob {
                    amp: b.amp * k,
                    ..*b
                })
                .collect(),
        }
    }
}

/// Samples a point well inside the lung (lateral fraction in `r`, vertical in `s`) and
/// builds a blob there; `None` if no such point was found in a few tries.
fn place(
    rng: &mut ChaCha8Rng,
    anat: &Anatomy,
    side: Side,
    r: (f32, f32),
    s: (f32, f32),
    make: impl Fn(f32, f32) -> Blob,
) -> Option<Blob> {
    for _ in 0..24 {
        let (u, v) = anat.point(side, rng.random_range(r.0..r.1), rng.random_range(s.0..s.1));
        if anat.lung_depth(side, u, v) > 0.02 {
            return Some(make(u, v));
        }
    }
    None
}
