//! A confounder tied to the label: the knob that makes a shortcut on purpose.
//!
//! Real pooled cohorts tie the hospital to the diagnosis (every covid-19 image from one
//! source, every healthy one from another), and the hospital shows outside the lungs:
//! burned-in markers, collimation borders, exposure. A [`Confounder`] adds such a
//! feature to a phantom with a probability that depends on its class:
//!
//! - `P(feature | label)` = `(1 + strength) / 2`,
//! - `P(feature | any other class)` = `(1 − strength) / 2`,
//!
//! so `strength` 0 draws it independently of the class and 1 gives it to that class
//! alone. In the sources not listed in [`Confounder::sources`] (when the list is not
//! empty) it appears with probability ½ whatever the class: those sources are the
//! *external* test where the shortcut no longer pays. In the sources listed in
//! [`Confounder::reversed`] it goes with the *other* classes (one hospital's portable
//! machine serves its covid-19 ward, another's its other wards): there the shortcut
//! misleads. Whether an image has it is a
//! draw of its own from the image's seed, so a phantom without the feature is
//! byte-identical to the same phantom rendered with no confounder configured.
//!
//! [`ConfounderKind::Marker`] and [`ConfounderKind::Border`] lie outside the lungs (the
//! masked input of the paper cannot see them; the border may cover the outermost pixels
//! of a lung that reaches the edge of the film); [`ConfounderKind::Exposure`] brightens the
//! whole image, lungs included.

use cxr_core::{Label, SourceId};
use serde::{Deserialize, Serialize};

use crate::noise::hash_words;

/// What the confounding feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfounderKind {
    /// A burned-in square tag in the bottom-right corner (`n/10` wide), outside the lungs.
    Marker,
    /// A bright collimation frame (`n/12` wide) around the image, outside the lungs but
    /// for the outermost pixels of a lung that reaches the edge of the film (under 1 %
    /// of the frame).
    Border,
    /// An exposure shift of the whole image (+0.08 in display units), lungs included.
    Exposure,
}

/// A feature tied to a class with a chosen strength (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confounder {
    /// The feature.
    pub kind: ConfounderKind,
    /// The class it goes with.
    pub label: Label,
    /// How strongly, in `[0, 1]`.
    pub strength: f64,
    /// The sources where it is tied to the class; elsewhere it is drawn with probability
    /// ½ whatever the class. Empty: every source.
    #[serde(default)]
    pub sources: Vec<SourceId>,
    /// Sources where the feature goes with the other classes instead (probabilities
    /// swapped); they take precedence over `sources`.
    #[serde(default)]
    pub reversed: Vec<SourceId>,
}

impl Confounder {
    /// Probability that an image of `label` from `source` carries the feature.
    pub fn probability(&self, label: Label, source: SourceId) -> f64 {
        let reversed = self.reversed.contains(&source);
        if !reversed && !self.sources.is_empty() && !self.sources.contains(&source) {
            return 0.5;
        }
        if (label == self.label) != reversed {
            (1.0 + self.strength) / 2.0
        } else {
            (1.0 - self.strength) / 2.0
        }
    }

    /// Whether the image with seed `image_seed` carries the feature (its own draw, so
    /// that nothing else about the phantom changes).
    pub fn present(&self, image_seed: u64, label: Label, source: SourceId) -> bool {
        let u = (hash_words(&[image_seed, 0x00C0_F00D]) >> 11) as f64 / (1u64 << 53) as f64;
        u < self.probability(label, source)
    }

    /// Adds the feature to an `n × n` image in display units (after the source's style).
    pub(crate) fn draw(&self, img: &mut [f32], n: usize) {
        match self.kind {
            ConfounderKind::Marker => {
                let side = (n / 10).max(2);
                let margin = n / 25;
                let (x0, y0) = (n - margin - side, n - margin - side);
                for y in y0..y0 + side {
                    for x in x0..x0 + side {
                        img[y * n + x] = 0.97;
                    }
                }
            }
            ConfounderKind::Border => {
                let b = (n / 12).max(1);
                for y in 0..n {
                    for x in 0..n {
                        if x < b || y < b || x >= n - b || y >= n - b {
                            img[y * n + x] = 0.95;
                        }
                    }
                }
            }
            ConfounderKind::Exposure => {
                for v in img.iter_mut() {
                    *v += 0.08;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_follows_the_class_with_the_chosen_strength() {
        let c = Confounder {
            kind: ConfounderKind::Marker,
            label: Label::Covid,
            strength: 0.8,
            sources: vec![SourceId::CovidIdc],
            reversed: vec![SourceId::Qmenta],
        };
        let share = |label, source| {
            (0..4000u64)
                .filter(|&s| c.present(s, label, source))
                .count() as f64
                / 4000.0
        };
        assert!((share(Label::Covid, SourceId::CovidIdc) - 0.9).abs() < 0.02);
        assert!((share(Label::Healthy, SourceId::CovidIdc) - 0.1).abs() < 0.02);
        // Outside the listed sources the feature says nothing about the class.
        assert!((share(Label::Covid, SourceId::Padchest) - 0.5).abs() < 0.03);
        assert!((share(Label::Healthy, SourceId::Padchest) - 0.5).abs() < 0.03);
        // Reversed: it goes with the other classes.
        assert!((share(Label::Covid, SourceId::Qmenta) - 0.1).abs() < 0.02);
        assert!((share(Label::Healthy, SourceId::Qmenta) - 0.9).abs() < 0.02);
    }
}
