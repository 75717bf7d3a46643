//! From image-level to patient-level predictions.
//!
//! The paper's rule (Methods, "Statistical analysis"): *if the patient had more than one
//! image taken the same day, we averaged the output probability scores of the classifier
//! and used these numbers as final class probabilities for that patient.* That is
//! [`Grouping::PatientDay`]: one unit per (patient, study date), probabilities averaged
//! component-wise. [`Grouping::Patient`] averages over all of a patient's images;
//! [`Grouping::Image`] keeps every image as its own unit.
//!
//! An image **without a study date** cannot be placed on a day: under
//! [`Grouping::PatientDay`] it is a unit of its own (it is never averaged with the
//! patient's other undated images, which may be months apart and of another class).
//!
//! A unit whose images disagree on the label (a patient filed twice under one id, or
//! two studies of one day with different findings) cannot be scored: [`aggregate`]
//! leaves it out and lists it in [`Aggregated::conflicts`]; [`Aggregated::strict`]
//! makes that an error ([`Error::ConflictingLabels`]). Units come out sorted by
//! (patient, date, image) so the result does not depend on the input order.

use std::collections::BTreeMap;

use cxr_core::{Label, StudyDate};
use serde::{Deserialize, Serialize};

use cxr_stats::{Error, Result};

/// What one evaluation unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// One unit per patient and study date (the paper's rule).
    #[default]
    PatientDay,
    /// One unit per patient, all dates together.
    Patient,
    /// One unit per image (no aggregation).
    Image,
}

/// One classifier output for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePrediction {
    /// Patient identifier (opaque).
    pub patient_id: String,
    /// Day the image was taken, if known.
    pub study_date: Option<StudyDate>,
    /// Image identifier (opaque).
    pub image_id: String,
    /// The true class.
    pub label: Label,
    /// Class probabilities, in [`Label::index`] order (healthy, covid, bacterial).
    pub probs: [f64; Label::COUNT],
}

impl ImagePrediction {
    /// The same prediction with its probabilities temperature-scaled (`p^(1/T)`
    /// rescaled, [`cxr_stats::calibration::temper_probabilities`]); `1/T` undoes a
    /// classifier's scaling by `T`.
    pub fn tempered(&self, temperature: f64) -> ImagePrediction {
        let t = cxr_stats::calibration::temper_probabilities(&self.probs, temperature);
        let mut out = self.clone();
        out.probs.copy_from_slice(&t);
        out
    }
}

/// One evaluation unit (patient-day, patient or image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitPrediction {
    /// Patient identifier.
    pub patient_id: String,
    /// The study date, for [`Grouping::PatientDay`] and [`Grouping::Image`] (`None` for
    /// an undated image).
    pub study_date: Option<StudyDate>,
    /// The image, for [`Grouping::Image`] and for an undated image under
    /// [`Grouping::PatientDay`].
    pub image_id: Option<String>,
    /// The true class.
    pub label: Label,
    /// Mean class probabilities of the unit's images.
    pub probs: [f64; Label::COUNT],
    /// Number of images averaged.
    pub n_images: usize,
}

impl UnitPrediction {
    /// The unit's key as text: `patient`, `patient@date` or `patient@date#image`.
    pub fn key(&self) -> String {
        let mut k = self.patient_id.clone();
        if let Some(d) = self.study_date {
            k.push('@');
            k.push_str(&d.to_string());
        }
        if let Some(i) = &self.image_id {
            k.push('#');
            k.push_str(i);
        }
        k
    }
}

/// A unit left out because its images carry different labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelConflict {
    /// The unit's key ([`UnitPrediction::key`]).
    pub unit: String,
    /// The labels found, in [`Label::index`] order.
    pub labels: Vec<Label>,
    /// Images of the unit.
    pub n_images: usize,
}

/// What [`aggregate`] returns: the units, and what it could not use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregated {
    /// The units, sorted by (patient, date, image).
    pub units: Vec<UnitPrediction>,
    /// Units left out because their images disagree on the label.
    pub conflicts: Vec<LabelConflict>,
    /// Images without a study date (each its own unit under [`Grouping::PatientDay`]).
    pub undated_images: usize,
}

impl Aggregated {
    /// The units, or an error for the first unit with conflicting labels.
    ///
    /// # Errors
    /// [`Error::ConflictingLabels`] naming the unit and two of its labels.
    pub fn strict(self) -> Result<Vec<UnitPrediction>> {
        match self.conflicts.first() {
            Some(c) => Err(Error::ConflictingLabels {
                unit: c.unit.clone(),
                first: c.labels[0].as_str(),
                second: c.labels[1].as_str(),
            }),
            None => Ok(self.units),
        }
    }
}

/// Groups `images` into units and averages their probabilities; units whose images
/// disagree on the label are left out and listed (see the module docs).
pub fn aggregate(images: &[ImagePrediction], grouping: Grouping) -> Aggregated {
    type Key<'a> = (&'a str, Option<StudyDate>, Option<&'a str>);
    let mut units: BTreeMap<Key<'_>, (UnitPrediction, [bool; Label::COUNT])> = BTreeMap::new();
    let mut undated_images = 0;
    for im in images {
        undated_images += usize::from(im.study_date.is_none());
        let key: Key<'_> = match (grouping, im.study_date) {
            (Grouping::PatientDay, Some(d)) => (&im.patient_id, Some(d), None),
            (Grouping::PatientDay, None) | (Grouping::Image, _) => {
                (&im.patient_id, im.study_date, Some(&im.image_id))
            }
            (Grouping::Patient, _) => (&im.patient_id, None, None),
        };
        let (unit, seen) = units.entry(key).or_insert_with(|| {
            (
                UnitPrediction {
                    patient_id: im.patient_id.clone(),
                    study_date: key.1,
                    image_id: key.2.map(str::to_owned),
                    label: im.label,
                    probs: [0.0; Label::COUNT],
                    n_images: 0,
                },
                [false; Label::COUNT],
            )
        });
        seen[im.label.index()] = true;
        for (acc, p) in unit.probs.iter_mut().zip(im.probs) {
            *acc += p;
        }
        unit.n_images += 1;
    }
    let mut out = Aggregated {
        units: Vec::with_capacity(units.len()),
        conflicts: Vec::new(),
        undated_images,
    };
    for (mut u, seen) in units.into_values() {
        if seen.iter().filter(|s| **s).count() > 1 {
            out.conflicts.push(LabelConflict {
                unit: u.key(),
                labels: Label::ALL
                    .iter()
                    .copied()
                    .filter(|l| seen[l.index()])
                    .collect(),
                n_images: u.n_images,
            });
            continue;
        }
        let n = u.n_images as f64;
        u.probs.iter_mut().for_each(|p| *p /= n);
        out.units.push(u);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn im(p: &str, day: u32, id: &str, label: Label, probs: [f64; 3]) -> ImagePrediction {
        ImagePrediction {
            patient_id: p.into(),
            study_date: Some(StudyDate::from_ymd(2020, 4, day).unwrap()),
            image_id: id.into(),
            label,
            probs,
        }
    }

    fn sample() -> Vec<ImagePrediction> {
        vec![
            im("b", 2, "b1", Label::Covid, [0.2, 0.6, 0.2]),
            im("a", 1, "a1", Label::Healthy, [0.9, 0.05, 0.05]),
            im("b", 2, "b2", Label::Covid, [0.4, 0.4, 0.2]),
            im("b", 5, "b3", Label::Covid, [0.1, 0.8, 0.1]),
        ]
    }

    #[test]
    fn same_day_images_are_averaged() {
        let u = aggregate(&sample(), Grouping::PatientDay).strict().unwrap();
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].patient_id, "a");
        assert_eq!(u[1].key(), "b@2020-04-02");
        assert_eq!(u[1].n_images, 2);
        let expect = [0.3, 0.5, 0.2];
        for (a, b) in u[1].probs.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(u[2].probs, [0.1, 0.8, 0.1]);
    }

    #[test]
    fn per_patient_and_per_image() {
        let u = aggregate(&sample(), Grouping::Patient).strict().unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].n_images, 3);
        assert!((u[1].probs[1] - 0.6).abs() < 1e-15);
        assert_eq!(u[1].key(), "b");
        let u = aggregate(&sample(), Grouping::Image).strict().unwrap();
        assert_eq!(u.len(), 4);
        assert_eq!(u[1].key(), "b@2020-04-02#b1");
    }

    #[test]
    fn a_unit_with_conflicting_labels_is_left_out_and_listed_or_an_error() {
        let mut s = sample();
        s.push(im("a", 1, "a2", Label::Bacterial, [0.1, 0.1, 0.8]));
        let agg = aggregate(&s, Grouping::PatientDay);
        assert_eq!(
            agg.conflicts,
            [LabelConflict {
                unit: "a@2020-04-01".into(),
                labels: vec![Label::Healthy, Label::Bacterial],
                n_images: 2,
            }]
        );
        // The other units are still there.
        assert_eq!(agg.units.len(), 2);
        assert!(agg.units.iter().all(|u| u.patient_id == "b"));
        assert_eq!(
            agg.strict(),
            Err(Error::ConflictingLabels {
                unit: "a@2020-04-01".into(),
                first: "healthy",
                second: "bacterial"
            })
        );
    }

    #[test]
    fn undated_images_are_units_of_their_own() {
        let undated = |id: &str, label, probs| ImagePrediction {
            study_date: None,
            ..im("c", 1, id, label, probs)
        };
        // A patient with a healthy and a covid image, dates unknown (months apart).
        let mut s = sample();
        s.push(undated("c1", Label::Healthy, [0.8, 0.1, 0.1]));
        s.push(undated("c2", Label::Covid, [0.2, 0.7, 0.1]));
        let agg = aggregate(&s, Grouping::PatientDay);
        assert!(agg.conflicts.is_empty());
        assert_eq!(agg.undated_images, 2);
        let keys: Vec<String> = agg.units.iter().map(UnitPrediction::key).collect();
        assert_eq!(
            keys,
            [
                "a@2020-04-01",
                "b@2020-04-02",
                "b@2020-04-05",
                "c#c1",
                "c#c2"
            ]
        );
        assert_eq!(agg.units[4].probs, [0.2, 0.7, 0.1]);
        // By patient, the two disagree: left out and listed.
        let by_patient = aggregate(&s, Grouping::Patient);
        assert_eq!(by_patient.conflicts.len(), 1);
        assert_eq!(by_patient.conflicts[0].unit, "c");
    }
}
