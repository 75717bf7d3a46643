//! What knowing only the source would score: the yardstick a pooled AUC must beat before
//! it says anything about the disease.
//!
//! In a cohort pooled from public sources the diagnosis goes with the hospital (one
//! source gives the covid-19 images, another the healthy ones), so a classifier can score
//! a high AUC by recognising the source alone. [`source_only`] gives every test image the
//! share of each class among the *training* images of its source, which is the best any
//! rule can do that sees nothing but the source; evaluated like the classifier's
//! predictions (same units, same intervals) it says how much of the pooled AUC the
//! sources explain by themselves. When no source holds more than one class it is 1.
//!
//! ```
//! use cxr_core::Label;
//! use cxr_eval::{EvaluateOptions, ImagePrediction, baseline::source_only, evaluate};
//!
//! let image = |id: &str, label| ImagePrediction {
//!     patient_id: id.into(),
//!     study_date: None,
//!     image_id: id.into(),
//!     label,
//!     probs: [1.0 / 3.0; 3],
//! };
//! // One hospital sent the covid-19 images, another the healthy ones.
//! let train = [("a", Label::Covid), ("a", Label::Covid), ("b", Label::Healthy)];
//! let (p, q) = (image("p", Label::Covid), image("q", Label::Healthy));
//! let test = [("a", &p), ("b", &q)];
//! let mut options = EvaluateOptions::default();
//! options.bootstrap.rounds = 20;
//! let e = evaluate(&source_only(&train, &test), &options).unwrap();
//! assert_eq!(e.per_class.covid.as_ref().unwrap().auc, 1.0);
//! ```

use std::collections::HashMap;

use cxr_core::Label;

use crate::ImagePrediction;

/// `test` with its probabilities replaced by the share of each class among the training
/// images of the same source (`train`: one `(source, label)` per training image); an
/// image whose source has no training image gets the shares of all training images
/// (with no training image at all, equal shares). Everything else of each prediction
/// (patient, date, image, true label) is kept, so the result evaluates into the same
/// units as the classifier's.
pub fn source_only(
    train: &[(&str, Label)],
    test: &[(&str, &ImagePrediction)],
) -> Vec<ImagePrediction> {
    let mut counts: HashMap<&str, [f64; Label::COUNT]> = HashMap::new();
    let mut all = [0.0; Label::COUNT];
    for &(source, label) in train {
        counts.entry(source).or_default()[label.index()] += 1.0;
        all[label.index()] += 1.0;
    }
    let shares = |c: &[f64; Label::COUNT]| {
        let n: f64 = c.iter().sum();
        if n > 0.0 {
            c.map(|k| k / n)
        } else {
            [1.0 / Label::COUNT as f64; Label::COUNT]
        }
    };
    let prior = shares(&all);
    test.iter()
        .map(|&(source, p)| ImagePrediction {
            probs: counts.get(source).map_or(prior, shares),
            ..p.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EvaluateOptions, evaluate};

    fn image(id: &str, label: Label) -> ImagePrediction {
        ImagePrediction {
            patient_id: id.into(),
            study_date: None,
            image_id: id.into(),
            label,
            probs: [0.0, 1.0, 0.0],
        }
    }

    fn covid_auc(train: &[(&str, Label)], test: &[(&str, ImagePrediction)]) -> f64 {
        let test: Vec<(&str, &ImagePrediction)> = test.iter().map(|(s, p)| (*s, p)).collect();
        let mut options = EvaluateOptions::default();
        options.bootstrap.rounds = 20;
        let e = evaluate(&source_only(train, &test), &options).unwrap();
        e.per_class.covid.as_ref().unwrap().auc
    }

    #[test]
    fn sources_of_mixed_classes_score_by_their_training_shares() {
        use Label::{Covid as C, Healthy as H};
        // Training: a is 3/4 covid-19, b 1/4.
        let train = [("a", C), ("a", C), ("a", C), ("a", H)]
            .into_iter()
            .chain([("b", C), ("b", H), ("b", H), ("b", H)])
            .collect::<Vec<_>>();
        // Test: a holds 2 covid-19 and 1 healthy, b 1 and 2. Of the 9 covid/healthy
        // pairs, 4 rank right (a's covid-19 over b's healthy) and 4 tie (same source):
        // AUC = (4 + 4/2) / 9.
        let test = [
            ("a", image("1", C)),
            ("a", image("2", C)),
            ("a", image("3", H)),
            ("b", image("4", C)),
            ("b", image("5", H)),
            ("b", image("6", H)),
        ];
        let auc = covid_auc(&train, &test);
        assert!((auc - 6.0 / 9.0).abs() < 1e-12, "{auc}");
        let test: Vec<(&str, &ImagePrediction)> = test.iter().map(|(s, p)| (*s, p)).collect();
        let out = source_only(&train, &test);
        assert_eq!(out[0].probs, [0.25, 0.75, 0.0]);
        assert_eq!(out[5].probs, [0.75, 0.25, 0.0]);
        assert_eq!(out[3].image_id, "4");
        assert_eq!(out[3].label, C);
    }

    #[test]
    fn one_class_per_source_separates_perfectly_and_one_mix_not_at_all() {
        use Label::{Bacterial as B, Covid as C, Healthy as H};
        let train = [("a", C), ("b", H), ("c", B)];
        let test = [
            ("a", image("1", C)),
            ("b", image("2", H)),
            ("c", image("3", B)),
            ("a", image("4", C)),
        ];
        assert_eq!(covid_auc(&train, &test), 1.0);
        // Every source the same mix: the source says nothing.
        let train = [("a", C), ("a", H), ("b", C), ("b", H)];
        let test = [("a", image("1", C)), ("b", image("2", H))];
        assert_eq!(covid_auc(&train, &test), 0.5);
    }

    #[test]
    fn a_source_unseen_in_training_gets_the_training_shares() {
        use Label::{Covid as C, Healthy as H};
        let train = [("a", C), ("a", C), ("a", H), ("b", H)];
        let p = image("1", C);
        assert_eq!(
            source_only(&train, &[("new", &p)])[0].probs,
            [0.5, 0.5, 0.0]
        );
        assert_eq!(
            source_only(&[], &[("new", &p)])[0].probs,
            [1.0 / 3.0; Label::COUNT]
        );
    }
}
