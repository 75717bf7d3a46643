//! From image-level to patient-level predictions.
//!
//! The paper's rule (Methods, "Statistical analysis"): *if the patient had more than one
//! image taken the same day, we averaged the output probability scores of the classifier
//! and used these numbers as final class probabilities for that patient.* That is
//! [`Grouping::PatientDay`]: one unit per (patient, study date), probabilities averaged
//! component-wise. [`Grouping::Patient`] averages over all of a patient's images;
//! [`Grouping::Image`] keeps every image as its own unit.
//!
//! All images of a unit must carry the same label, otherwise
//! [`Error::ConflictingLabels`]. Units come out sorted by (patient, date, image) so the
//! result does not depend on the input order.

use std::collections::BTreeMap;

use cxr_core::{Label, StudyDate};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
    /// Day the image was taken.
    pub study_date: StudyDate,
    /// Image identifier (opaque).
    pub image_id: String,
    /// The true class.
    pub label: Label,
    /// Class probabilities, in [`Label::index`] order (healthy, covid, bacterial).
    pub probs: [f64; Label::COUNT],
}

/// One evaluation unit (patient-day, patient or image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitPrediction {
    /// Patient identifier.
    pub patient_id: String,
    /// The study date, for [`Grouping::PatientDay`] and [`Grouping::Image`].
    pub study_date: Option<StudyDate>,
    /// The image, for [`Grouping::Image`].
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

/// Groups `images` into units and averages their probabilities.
///
/// # Errors
/// [`Error::ConflictingLabels`] when a unit mixes labels.
pub fn aggregate(images: &[ImagePrediction], grouping: Grouping) -> Result<Vec<UnitPrediction>> {
    type Key<'a> = (&'a str, Option<StudyDate>, Option<&'a str>);
    let mut units: BTreeMap<Key<'_>, UnitPrediction> = BTreeMap::new();
    for im in images {
        let key: Key<'_> = match grouping {
            Grouping::PatientDay => (&im.patient_id, Some(im.study_date), None),
            Grouping::Patient => (&im.patient_id, None, None),
            Grouping::Image => (&im.patient_id, Some(im.study_date), Some(&im.image_id)),
        };
        let unit = units.entry(key).or_insert_with(|| UnitPrediction {
            patient_id: im.patient_id.clone(),
            study_date: key.1,
            image_id: key.2.map(str::to_owned),
            label: im.label,
            probs: [0.0; Label::COUNT],
            n_images: 0,
        });
        if unit.label != im.label {
            return Err(Error::ConflictingLabels {
                unit: unit.key(),
                first: unit.label.as_str(),
                second: im.label.as_str(),
            });
        }
        for (acc, p) in unit.probs.iter_mut().zip(im.probs) {
            *acc += p;
        }
        unit.n_images += 1;
    }
    Ok(units
        .into_values()
        .map(|mut u| {
            let n = u.n_images as f64;
            u.probs.iter_mut().for_each(|p| *p /= n);
            u
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn im(p: &str, day: u32, id: &str, label: Label, probs: [f64; 3]) -> ImagePrediction {
        ImagePrediction {
            patient_id: p.into(),
            study_date: StudyDate::from_ymd(2020, 4, day).unwrap(),
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
        let u = aggregate(&sample(), Grouping::PatientDay).unwrap();
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
        let u = aggregate(&sample(), Grouping::Patient).unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].n_images, 3);
        assert!((u[1].probs[1] - 0.6).abs() < 1e-15);
        assert_eq!(u[1].key(), "b");
        let u = aggregate(&sample(), Grouping::Image).unwrap();
        assert_eq!(u.len(), 4);
        assert_eq!(u[1].key(), "b@2020-04-02#b1");
    }

    #[test]
    fn conflicting_labels_are_an_error() {
        let mut s = sample();
        s.push(im("a", 1, "a2", Label::Bacterial, [0.1, 0.1, 0.8]));
        assert_eq!(
            aggregate(&s, Grouping::PatientDay),
            Err(Error::ConflictingLabels {
                unit: "a@2020-04-01".into(),
                first: "healthy",
                second: "bacterial"
            })
        );
    }
}
