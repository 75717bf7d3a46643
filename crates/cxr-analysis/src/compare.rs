//! Two models on the same test images: is the difference between them real?
//!
//! The paper reports one model; anyone who retrains it, changes the recipe or brings
//! another model wants to know whether the new numbers differ from the old by more than
//! chance. Two unpaired evaluations cannot tell (their intervals overlap long after a
//! real difference shows): the tests here are **paired**, each unit scored by both.
//!
//! # Pairing
//! Both predictions files are read and validated as for `evaluate`
//! ([`cxr_eval::read_predictions`]). Images are matched on
//! `(patient_id, image_id)`; a matched image must carry the same study date and label in
//! both (otherwise the files do not describe the same test set and [`Error::Step`] names
//! the image). Images only one model scored are left out and counted
//! ([`Comparison::only_first`], [`Comparison::only_second`]). The matched images are
//! then averaged per unit ([`Grouping::PatientDay`] by default, the paper's rule) for
//! each model, so both are judged on exactly the same units.
//!
//! # Tests
//! - **accuracy** (arg-max over the three classes) of each model with a Wilson interval,
//!   and **McNemar's test** on the units exactly one of them gets right (exact binomial
//!   p-value, and the chi-square with continuity correction);
//! - **Cohen's kappa** of each model against the truth, and between the two models'
//!   predicted classes;
//! - per class, one-vs-rest: each model's **AUC** with its DeLong interval and the
//!   **paired DeLong test** of the difference (pROC's `roc.test(paired = TRUE)`), with
//!   the interval of the difference. A class with fewer than two positive or two negative
//!   units has no test (`None`).
//!
//! Like `evaluate`'s DeLong intervals, these tests take units as independent; a patient
//! seen on several days contributes several units ([`Grouping::Patient`] gives one unit
//! per patient).
//!
//! This module computes; `cxr_report::analysis::compare` renders the [`Comparison`]
//! (`compare.md`, `compare.png`) and writes its files.
//!
//! ```no_run
//! use std::path::Path;
//! use cxr_analysis::compare::{CompareOptions, compare};
//! let a = cxr_eval::read_predictions(Path::new("paper/predictions.csv"))?;
//! let b = cxr_eval::read_predictions(Path::new("mine/predictions.csv"))?;
//! let c = compare(&a, &b, ["paper", "mine"], &CompareOptions::default())?;
//! println!("McNemar exact p = {:.4}", c.mcnemar.exact_p_value);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use cxr_core::Label;
use cxr_eval::aggregate::{Grouping, ImagePrediction, UnitPrediction, aggregate};
use cxr_eval::evaluate::PerClass;
use cxr_stats::agreement::{Kappa, cohen_kappa_from_labels};
use cxr_stats::delong::{PairedDelong, delong, delong_paired_test};
use cxr_stats::hypothesis::{McNemar, mcnemar};
use cxr_stats::multiclass::argmax;
use cxr_stats::proportion::{Interval, wilson};
use cxr_stats::roc::{RocCurve, roc_curve};
use serde::Serialize;

use crate::{Error, Result};

const STEP: &str = "model comparison";

/// Settings of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompareOptions {
    /// What one unit is (patient-day by default, the paper's rule).
    pub grouping: Grouping,
    /// Confidence level of every interval.
    pub level: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            grouping: Grouping::PatientDay,
            level: 0.95,
        }
    }
}

/// One model's arg-max accuracy on the paired units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAccuracy {
    /// Units whose arg-max class is their label.
    pub correct: u64,
    /// `correct / units`.
    pub accuracy: f64,
    /// Wilson interval.
    pub ci: Interval,
    /// Cohen's kappa of the predicted classes against the truth; `None` when undefined
    /// (truth and prediction both a single class).
    pub kappa: Option<Kappa>,
}

/// One class, one-vs-rest, both models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassComparison {
    /// Units of this class.
    pub positives: usize,
    /// Units of the other classes.
    pub negatives: usize,
    /// Each model's AUC.
    pub auc: [f64; 2],
    /// Each model's DeLong interval.
    pub auc_ci: [Interval; 2],
    /// The paired DeLong test of `AUC₁ − AUC₂` (with its interval, `ci_diff`).
    pub delong: PairedDelong,
    /// Each model's ROC curve (for the plot; not serialised).
    #[serde(skip)]
    pub roc: [RocCurve; 2],
}

/// Everything `compare.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The two models' names, in the order given.
    pub models: [String; 2],
    /// The settings used.
    pub options: CompareOptions,
    /// Images both models scored.
    pub images: usize,
    /// Images only the first model scored (left out).
    pub only_first: usize,
    /// Images only the second model scored (left out).
    pub only_second: usize,
    /// Paired units.
    pub units: usize,
    /// Distinct patients among them.
    pub patients: usize,
    /// Units per true class.
    pub class_counts: PerClass<u64>,
    /// Each model's accuracy.
    pub accuracy: [ModelAccuracy; 2],
    /// Units both models get right.
    pub both_right: u64,
    /// Units both models get wrong.
    pub both_wrong: u64,
    /// McNemar's test: `b` units only the first gets right, `c` only the second.
    pub mcnemar: McNemar,
    /// Cohen's kappa between the two models' predicted classes; `None` when undefined.
    pub agreement: Option<Kappa>,
    /// Per class; `None` when the class has fewer than two positive or negative units.
    pub per_class: PerClass<Option<ClassComparison>>,
}

/// Compares two models' image predictions (see the module docs). `names` label the
/// models in the outputs.
///
/// # Errors
/// [`Error::Config`] for a level outside `(0, 1)`; [`Error::Step`] when an image is
/// listed twice in one input, when a matched image's study date or label differs between
/// the inputs, or when no image is in both; [`Error::Stats`] when a unit mixes labels or
/// a probability is not finite.
pub fn compare(
    first: &[ImagePrediction],
    second: &[ImagePrediction],
    names: [&str; 2],
    options: &CompareOptions,
) -> Result<Comparison> {
    if !(options.level > 0.0 && options.level < 1.0) {
        return Err(Error::Config {
            path: PathBuf::from("<arguments>"),
            detail: format!("level = {} is not in (0, 1)", options.level),
        });
    }
    let (a, b, only_first, only_second) = pair_images(first, second, names)?;
    // Units whose images disagree on the label are left out of both sides alike (the
    // pairing checked that the labels match image for image).
    let ua = aggregate(&a, options.grouping).units;
    let ub = aggregate(&b, options.grouping).units;
    // Both come from the same images with the same keys, labels and dates, and
    // `aggregate` sorts its units by key: the two lists line up unit for unit.
    debug_assert!(ua.iter().zip(&ub).all(|(x, y)| x.key() == y.key()));
    let truth: Vec<usize> = ua.iter().map(|u| u.label.index()).collect();
    let pred = |units: &[UnitPrediction]| -> Result<Vec<usize>> {
        Ok(units
            .iter()
            .map(|u| argmax(&u.probs))
            .collect::<cxr_stats::Result<_>>()?)
    };
    let (pa, pb) = (pred(&ua)?, pred(&ub)?);
    let n = ua.len() as u64;
    let level = options.level;
    let k = Label::COUNT;
    let accuracy = |p: &[usize]| -> Result<ModelAccuracy> {
        let correct = p.iter().zip(&truth).filter(|(x, t)| x == t).count() as u64;
        Ok(ModelAccuracy {
            correct,
            accuracy: correct as f64 / n as f64,
            ci: wilson(correct, n, level)?,
            kappa: kappa_or_none(cohen_kappa_from_labels(&truth, p, k, level))?,
        })
    };
    let (mut both_right, mut both_wrong, mut only_a, mut only_b) = (0, 0, 0, 0);
    for ((x, y), t) in pa.iter().zip(&pb).zip(&truth) {
        match (x == t, y == t) {
            (true, true) => both_right += 1,
            (false, false) => both_wrong += 1,
            (true, false) => only_a += 1,
            (false, true) => only_b += 1,
        }
    }
    let per_class = PerClass::from_fn(|label| class_comparison(label, &ua, &ub, level));
    Ok(Comparison {
        models: names.map(str::to_owned),
        options: *options,
        images: a.len(),
        only_first,
        only_second,
        units: ua.len(),
        patients: ua
            .iter()
            .map(|u| u.patient_id.as_str())
            .collect::<HashSet<_>>()
            .len(),
        class_counts: PerClass::from_fn(|l| {
            truth.iter().filter(|&&t| t == l.index()).count() as u64
        }),
        accuracy: [accuracy(&pa)?, accuracy(&pb)?],
        both_right,
        both_wrong,
        mcnemar: mcnemar(only_a, only_b)?,
        agreement: kappa_or_none(cohen_kappa_from_labels(&pa, &pb, k, level))?,
        per_class: PerClass {
            healthy: per_class.healthy?,
            covid: per_class.covid?,
            bacterial: per_class.bacterial?,
        },
    })
}

/// Kappa is undefined when both raters use one and the same class throughout; that is a
/// property of the data, reported as `None`.
fn kappa_or_none(k: cxr_stats::Result<Kappa>) -> Result<Option<Kappa>> {
    match k {
        Ok(k) => Ok(Some(k)),
        Err(cxr_stats::Error::ZeroVariance { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The images both inputs score, in the first input's order, as two aligned lists; and
/// the numbers scored by only one of them.
fn pair_images(
    first: &[ImagePrediction],
    second: &[ImagePrediction],
    names: [&str; 2],
) -> Result<(Vec<ImagePrediction>, Vec<ImagePrediction>, usize, usize)> {
    let twice = |name: &str, p: &ImagePrediction| Error::Step {
        step: STEP,
        detail: format!(
            "{name}: image {}/{} is listed twice",
            p.patient_id, p.image_id
        ),
    };
    let mut in_second: HashMap<(&str, &str), &ImagePrediction> =
        HashMap::with_capacity(second.len());
    for q in second {
        if in_second.insert((&q.patient_id, &q.image_id), q).is_some() {
            return Err(twice(names[1], q));
        }
    }
    let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(first.len());
    let mut a = Vec::new();
    let mut b = Vec::new();
    for p in first {
        let key = (p.patient_id.as_str(), p.image_id.as_str());
        if !seen.insert(key) {
            return Err(twice(names[0], p));
        }
        let Some(&q) = in_second.get(&key) else {
            continue;
        };
        if p.label != q.label || p.study_date != q.study_date {
            return Err(Error::Step {
                step: STEP,
                detail: format!(
                    "image {}/{} is {} on {} in {} but {} on {} in {}: the inputs are not the same test set",
                    p.patient_id,
                    p.image_id,
                    p.label,
                    date_text(p.study_date),
                    names[0],
                    q.label,
                    date_text(q.study_date),
                    names[1]
                ),
            });
        }
        a.push(p.clone());
        b.push(q.clone());
    }
    if a.is_empty() {
        return Err(Error::Step {
            step: STEP,
            detail: format!(
                "no image is in both inputs ({} in {}, {} in {}; matched on patient_id and image_id)",
                first.len(),
                names[0],
                second.len(),
                names[1]
            ),
        });
    }
    let matched = a.len();
    Ok((a, b, first.len() - matched, second.len() - matched))
}

fn class_comparison(
    label: Label,
    ua: &[UnitPrediction],
    ub: &[UnitPrediction],
    level: f64,
) -> Result<Option<ClassComparison>> {
    let c = label.index();
    let labels: Vec<bool> = ua.iter().map(|u| u.label == label).collect();
    let sa: Vec<f64> = ua.iter().map(|u| u.probs[c]).collect();
    let sb: Vec<f64> = ub.iter().map(|u| u.probs[c]).collect();
    let test = match delong_paired_test(&sa, &sb, &labels, level) {
        Ok(t) => t,
        Err(cxr_stats::Error::SingleClass { .. } | cxr_stats::Error::TooFew { .. }) => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let (da, db) = (delong(&sa, &labels)?, delong(&sb, &labels)?);
    Ok(Some(ClassComparison {
        positives: da.positives,
        negatives: da.negatives,
        auc: [da.auc, db.auc],
        auc_ci: [da.ci(level)?, db.ci(level)?],
        delong: test,
        roc: [roc_curve(&sa, &labels)?, roc_curve(&sb, &labels)?],
    }))
}

fn date_text(d: Option<cxr_core::StudyDate>) -> String {
    d.map_or_else(|| "an unknown date".to_owned(), |d| d.to_string())
}
