//! Settings of the generator: image size, lesion difficulty, demographics, bad images.

use cxr_core::Label;
use serde::{Deserialize, Serialize};

/// Everything that shapes a phantom apart from its case (seed, label, source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Width and height of the square output, in pixels.
    pub size: u32,
    /// How visible the lesions are.
    pub difficulty: Difficulty,
    /// Age and sex by class.
    pub demographics: Demographics,
    /// Share of images that are *bad* (cut-off lung, tiny lungs, lateral, under-exposed).
    pub bad_fraction: f64,
    /// Share of a patient's extra images taken the same day as the previous one.
    pub same_day_fraction: f64,
    /// A feature tied to a class (a shortcut made on purpose); none by default.
    pub confounder: Option<crate::Confounder>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            size: 256,
            difficulty: Difficulty::default(),
            demographics: Demographics::default(),
            bad_fraction: 0.02,
            same_day_fraction: 0.3,
            confounder: None,
        }
    }
}

impl SynthConfig {
    /// The default settings at another image size.
    pub fn with_size(size: u32) -> Self {
        SynthConfig {
            size,
            ..SynthConfig::default()
        }
    }

    /// Largest age mean and age standard deviation accepted, in years.
    pub const MAX_AGE: f64 = 150.0;

    /// Checks the settings, naming the first bad field: `size` in 32..=4096, fractions
    /// in `[0, 1]`, contrast and extent ranges ordered within `[0, 1]`, and per class an
    /// age mean and standard deviation in `[0, MAX_AGE]` and a `male` probability in
    /// `[0, 1]` (NaN and infinities are out of range).
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] naming the field and its value.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad =
            |field: &'static str, value: f64| Err(crate::Error::InvalidConfig { field, value });
        if !(32..=4096).contains(&self.size) {
            return bad("size", f64::from(self.size));
        }
        for (field, v) in [
            ("bad_fraction", self.bad_fraction),
            ("same_day_fraction", self.same_day_fraction),
            (
                "confounder.strength",
                self.confounder.as_ref().map_or(0.0, |c| c.strength),
            ),
            (
                "difficulty.occult_fraction",
                self.difficulty.occult_fraction,
            ),
            (
                "difficulty.healthy_mimic_fraction",
                self.difficulty.healthy_mimic_fraction,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, v);
            }
        }
        for (field, (lo, hi)) in [
            ("difficulty.covid_contrast", self.difficulty.covid_contrast),
            (
                "difficulty.bacterial_contrast",
                self.difficulty.bacterial_contrast,
            ),
            ("difficulty.extent", self.difficulty.extent),
        ] {
            if !(lo >= 0.0 && hi >= lo && hi <= 1.0) {
                return bad(field, f64::from(hi));
            }
        }
        let d = &self.demographics;
        for (fields, a) in [
            (
                [
                    "demographics.healthy.age_mean",
                    "demographics.healthy.age_sd",
                    "demographics.healthy.male",
                ],
                &d.healthy,
            ),
            (
                [
                    "demographics.covid.age_mean",
                    "demographics.covid.age_sd",
                    "demographics.covid.male",
                ],
                &d.covid,
            ),
            (
                [
                    "demographics.bacterial.age_mean",
                    "demographics.bacterial.age_sd",
                    "demographics.bacterial.male",
                ],
                &d.bacterial,
            ),
        ] {
            // Ages are clamped to 1..=100 when drawn; a mean far outside is a mistake.
            if !(0.0..=Self::MAX_AGE).contains(&a.age_mean) {
                return bad(fields[0], a.age_mean);
            }
            if !(0.0..=Self::MAX_AGE).contains(&a.age_sd) {
                return bad(fields[1], a.age_sd);
            }
            if !(0.0..=1.0).contains(&a.male) {
                return bad(fields[2], a.male);
            }
        }
        Ok(())
    }
}

/// Lesion visibility. Contrasts are in display units (0 = black, 1 = white) added to the
/// lung field at the lesion's core; extent scales lesion size and count.
///
/// The defaults aim at a realistic ceiling: a good classifier should land around
/// AUC 0.90–0.97, not 1.0, because some diseased patients show nothing (`occult_fraction`)
/// and some healthy ones show a faint benign opacity (`healthy_mimic_fraction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Difficulty {
    /// Range of covid ground-glass contrast.
    pub covid_contrast: (f32, f32),
    /// Range of bacterial consolidation / nodule contrast.
    pub bacterial_contrast: (f32, f32),
    /// Range of lesion extent (0 = minimal, 1 = widespread).
    pub extent: (f32, f32),
    /// Share of covid and bacterial patients whose images show no lesion.
    pub occult_fraction: f64,
    /// Share of healthy patients with a faint, small benign opacity.
    pub healthy_mimic_fraction: f64,
}

impl Default for Difficulty {
    fn default() -> Self {
        Difficulty {
            covid_contrast: (0.04, 0.14),
            bacterial_contrast: (0.08, 0.22),
            extent: (0.2, 1.0),
            occult_fraction: 0.06,
            healthy_mimic_fraction: 0.08,
        }
    }
}

impl Difficulty {
    /// Lesions nobody could miss (for tests of the training loop).
    pub fn easy() -> Self {
        Difficulty {
            covid_contrast: (0.25, 0.35),
            bacterial_contrast: (0.3, 0.4),
            extent: (0.7, 1.0),
            occult_fraction: 0.0,
            healthy_mimic_fraction: 0.0,
        }
    }
}

/// Age (years, normal) and sex of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeSex {
    /// Mean age.
    pub age_mean: f64,
    /// Standard deviation of age.
    pub age_sd: f64,
    /// Probability of male sex.
    pub male: f64,
}

/// Demographics by class. Defaults follow the paper's Table 2: covid patients are older
/// (65.0 ± 16.1 vs 51.8 ± 15.1) and more often male (58.1 % vs 49.6 %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Demographics {
    /// Healthy patients.
    pub healthy: AgeSex,
    /// Covid patients.
    pub covid: AgeSex,
    /// Bacterial pneumonia patients.
    pub bacterial: AgeSex,
}

impl Default for Demographics {
    fn default() -> Self {
        Demographics {
            healthy: AgeSex {
                age_mean: 50.5,
                age_sd: 15.0,
                male: 0.48,
            },
            covid: AgeSex {
                age_mean: 65.0,
                age_sd: 16.1,
                male: 0.581,
            },
            bacterial: AgeSex {
                age_mean: 46.0,
                age_sd: 17.0,
                male: 0.56,
            },
        }
    }
}

impl Demographics {
    /// The same demographics for every class (no age/sex signal).
    pub fn uncorrelated() -> Self {
        let d = Demographics::default().healthy;
        Demographics {
            healthy: d.clone(),
            covid: d.clone(),
            bacterial: d,
        }
    }

    /// The settings of one class.
    pub fn of(&self, label: Label) -> &AgeSex {
        match label {
            Label::Healthy => &self.healthy,
            Label::Covid => &self.covid,
            Label::Bacterial => &self.bacterial,
        }
    }
}
