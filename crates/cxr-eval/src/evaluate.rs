//! Every metric of the paper's Figure 3 and Table 3 with intervals, from validated image
//! predictions ([`crate::read_predictions`]) through patient-level units
//! ([`crate::aggregate()`]), as one serialisable [`Evaluation`] (the `metrics.json` of a
//! run). Rendering (markdown, plots) and writing files live in `cxr-report`.
//!
//! # Metrics
//! On units ([`Grouping::PatientDay`] by default, the paper's rule):
//! arg-max confusion matrix, global accuracy (Wilson interval), average class accuracy
//! and its SD; per class, one-vs-rest: AUC with DeLong and bootstrap intervals, the
//! operating point of [`EvaluateOptions::criterion`] (the paper's accuracy-maximising
//! cutoff by default) and the Table 3 metrics there, proportions with Wilson intervals,
//! likelihood ratios with log-method intervals, F1 with a bootstrap interval. The
//! bootstrap resamples **patients** within each class and, by default, re-selects the
//! cutoff in every round ([`EvaluateOptions::refit_cutoff`]) so that the interval
//! includes the uncertainty of the cutoff itself; `bootstrap_ci95` in each class holds
//! the bootstrap interval of every metric for comparison with the analytic ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use cxr_core::Label;
use cxr_stats::bootstrap::{BootstrapOptions, IntervalMethod, Resample, Resampler, bootstrap};
use cxr_stats::calibration::{
    BinStrategy, NetBenefitPoint, ReliabilityDiagram, brier_score, net_benefit,
    reliability_diagram, threshold_grid,
};
use cxr_stats::cutoff::{Criterion, OperatingPoint, select};
use cxr_stats::delong::delong;
use cxr_stats::diagnostic::{ConfusionCounts, Diagnostics};
use cxr_stats::multiclass::{ConfusionMatrix, argmax};
use cxr_stats::proportion::{Interval, wilson};
use cxr_stats::roc::{RankedScores, RocCurve};
use cxr_stats::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Grouping, ImagePrediction, LabelConflict, UnitPrediction, aggregate};

/// Bins of the reliability diagrams and of both ECEs.
pub const CALIBRATION_BINS: usize = 15;

/// Calibration of one class's one-vs-rest probabilities: does 0.8 mean 80 %?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCalibration {
    /// Brier score, the mean of `(p − y)²` (0 best).
    pub brier: f64,
    /// Reliability diagram with [`CALIBRATION_BINS`] equal-width bins (scikit-learn's
    /// `calibration_curve(strategy="uniform")`), with its ECE and MCE.
    pub reliability: ReliabilityDiagram,
    /// ECE over [`CALIBRATION_BINS`] equal-count bins (`strategy="quantile"`), less
    /// sensitive to empty high-probability bins.
    pub ece_equal_count: f64,
    /// Decision curve: net benefit of acting on the model, of treating all and of treating
    /// none, at thresholds 1 %, 2 %, …, 99 % (Vickers & Elkin; `dcurves`' convention
    /// `p ≥ t`).
    pub decision_curve: Vec<NetBenefitPoint>,
}

impl ClassCalibration {
    /// The calibration of probabilities `p` for truths `y`.
    ///
    /// # Errors
    /// As [`cxr_stats::calibration::brier_score`] (empty or mismatched input, a
    /// probability outside `[0, 1]`).
    pub fn of(y: &[bool], p: &[f64]) -> Result<Self> {
        Ok(ClassCalibration {
            brier: brier_score(y, p)?,
            reliability: reliability_diagram(y, p, CALIBRATION_BINS, BinStrategy::EqualWidth)?,
            ece_equal_count: reliability_diagram(y, p, CALIBRATION_BINS, BinStrategy::EqualCount)?
                .ece,
            decision_curve: net_benefit(y, p, &threshold_grid(0.01, 0.99, 0.01)?)?,
        })
    }
}

/// Settings of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluateOptions {
    /// What a unit is (the paper: patient-day).
    pub grouping: Grouping,
    /// How the operating point is chosen (the paper: maximum accuracy).
    pub criterion: Criterion,
    /// Confidence level of every interval.
    pub level: f64,
    /// Bootstrap settings (its `level` is overridden by [`EvaluateOptions::level`]).
    pub bootstrap: BootstrapOptions,
    /// Re-select the cutoff in every bootstrap round (`true`) or keep the one chosen on
    /// the full sample (`false`).
    pub refit_cutoff: bool,
    /// Stop with an error when a unit's images disagree on the label (`true`), instead
    /// of leaving that unit out and listing it in [`Evaluation::label_conflicts`]
    /// (`false`, the default).
    pub fail_on_label_conflict: bool,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        Self {
            grouping: Grouping::PatientDay,
            criterion: Criterion::MaxAccuracy,
            level: 0.95,
            bootstrap: BootstrapOptions::default(),
            refit_cutoff: true,
            fail_on_label_conflict: false,
        }
    }
}

/// One value per class, in the order healthy, covid, bacterial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PerClass<T> {
    /// Healthy.
    pub healthy: T,
    /// Covid-19.
    pub covid: T,
    /// Bacterial pneumonia.
    pub bacterial: T,
}

impl<T> PerClass<T> {
    /// Builds from a function of the label.
    pub fn from_fn(mut f: impl FnMut(Label) -> T) -> Self {
        Self {
            healthy: f(Label::Healthy),
            covid: f(Label::Covid),
            bacterial: f(Label::Bacterial),
        }
    }

    /// The value of `label`.
    pub fn get(&self, label: Label) -> &T {
        match label {
            Label::Healthy => &self.healthy,
            Label::Covid => &self.covid,
            Label::Bacterial => &self.bacterial,
        }
    }
}

/// The confusion matrix as written in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledConfusion {
    /// Class names, the order of rows and columns.
    pub labels: Vec<String>,
    /// `counts[truth][prediction]`.
    pub counts: Vec<Vec<u64>>,
}

/// An alternative operating point, reported for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlternativePoint {
    /// The criterion's name.
    pub criterion: String,
    /// The cutoff.
    #[serde(with = "crate::json_float")]
    pub cutoff: f64,
    /// Detection rate there.
    #[serde(with = "crate::json_float")]
    pub detection_rate: f64,
    /// False-positive rate there.
    #[serde(with = "crate::json_float")]
    pub fpr: f64,
}

/// One-vs-rest metrics of one class (a row of the paper's Table 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Units of this class.
    pub n_pos: u64,
    /// Units of the other classes.
    pub n_neg: u64,
    /// `n_pos / (n_pos + n_neg)`.
    #[serde(with = "crate::json_float")]
    pub prevalence: f64,
    /// Area under the one-vs-rest ROC curve.
    #[serde(with = "crate::json_float")]
    pub auc: f64,
    /// DeLong standard error of the AUC (`None` with fewer than 2 per side).
    pub auc_se: Option<f64>,
    /// DeLong interval.
    #[serde(with = "crate::json_float::interval")]
    pub auc_ci95: Option<Interval>,
    /// Bootstrap interval.
    #[serde(with = "crate::json_float::interval")]
    pub auc_bootstrap_ci95: Option<Interval>,
    /// The criterion that chose the cutoff.
    pub criterion: String,
    /// Predicted positive iff the class probability `>= cutoff`.
    #[serde(with = "crate::json_float")]
    pub cutoff: f64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Detection rate (sensitivity).
    #[serde(with = "crate::json_float")]
    pub detection_rate: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub detection_rate_ci95: Option<Interval>,
    /// False-positive rate.
    #[serde(with = "crate::json_float")]
    pub fpr: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub fpr_ci95: Option<Interval>,
    /// Specificity.
    #[serde(with = "crate::json_float")]
    pub specificity: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub specificity_ci95: Option<Interval>,
    /// Positive predictive value.
    #[serde(with = "crate::json_float")]
    pub ppv: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub ppv_ci95: Option<Interval>,
    /// Negative predictive value.
    #[serde(with = "crate::json_float")]
    pub npv: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub npv_ci95: Option<Interval>,
    /// Positive likelihood ratio.
    #[serde(with = "crate::json_float")]
    pub lr_pos: f64,
    /// Log-method interval.
    #[serde(with = "crate::json_float::interval")]
    pub lr_pos_ci95: Option<Interval>,
    /// Negative likelihood ratio.
    #[serde(with = "crate::json_float")]
    pub lr_neg: f64,
    /// Log-method interval.
    #[serde(with = "crate::json_float::interval")]
    pub lr_neg_ci95: Option<Interval>,
    /// F1 score.
    #[serde(with = "crate::json_float")]
    pub f1: f64,
    /// Bootstrap interval.
    #[serde(with = "crate::json_float::interval")]
    pub f1_ci95: Option<Interval>,
    /// One-vs-rest accuracy.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub accuracy_ci95: Option<Interval>,
    /// Bootstrap intervals of every metric (cutoff re-selected per round when
    /// `refit_cutoff`).
    #[serde(with = "crate::json_float::interval_map")]
    pub bootstrap_ci95: BTreeMap<String, Option<Interval>>,
    /// Youden and closest-top-left points, for comparison.
    pub alternative_points: Vec<AlternativePoint>,
    /// The full ROC curve (not serialised; for plots).
    #[serde(skip)]
    pub roc: Option<RocCurve>,
    /// How well the probabilities of this class mean what they say, on the units (absent
    /// from `metrics.json` files written before it existed).
    #[serde(default)]
    pub calibration: Option<ClassCalibration>,
}

/// Description of the bootstrap that produced the intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSummary {
    /// Rounds.
    pub rounds: usize,
    /// Seed.
    pub seed: u64,
    /// Interval method.
    pub method: IntervalMethod,
    /// Cutoff re-selected per round.
    pub refit_cutoff: bool,
    /// Resampling scheme, in words.
    pub scheme: String,
}

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Distinct patients.
    pub n_patients: usize,
    /// Images read.
    pub n_images: usize,
    /// Evaluation units (patient-days by default).
    pub n_units: usize,
    /// What a unit is.
    pub grouping: Grouping,
    /// Confidence level of every `*_ci95` (0.95 unless changed).
    pub level: f64,
    /// Arg-max accuracy over the three classes.
    pub global_accuracy: f64,
    /// Wilson interval.
    #[serde(with = "crate::json_float::interval")]
    pub global_accuracy_ci95: Option<Interval>,
    /// Average class accuracy (balanced accuracy).
    #[serde(with = "crate::json_float")]
    pub mean_class_accuracy: f64,
    /// Bootstrap interval.
    #[serde(with = "crate::json_float::interval")]
    pub mean_class_accuracy_ci95: Option<Interval>,
    /// Sample SD of the class accuracies.
    #[serde(with = "crate::json_float")]
    pub class_accuracy_sd: f64,
    /// Per-class accuracy (recall); NaN for a class with no units.
    #[serde(with = "crate::json_float::per_class")]
    pub class_accuracy: PerClass<f64>,
    /// Units per class.
    pub class_counts: PerClass<u64>,
    /// The confusion matrix.
    pub confusion_matrix: LabelledConfusion,
    /// One-vs-rest metrics; `None` for a class absent from the data (or the only one).
    pub per_class: PerClass<Option<ClassMetrics>>,
    /// The bootstrap used.
    pub bootstrap: BootstrapSummary,
    /// Images without a study date (each a unit of its own under patient-day grouping).
    #[serde(default)]
    pub undated_images: usize,
    /// Units left out because their images disagree on the label.
    #[serde(default)]
    pub label_conflicts: Vec<LabelConflict>,
}

/// Bootstrap columns per class, in this order.
const CLASS_METRICS: [&str; 10] = [
    "auc",
    "detection_rate",
    "fpr",
    "specificity",
    "ppv",
    "npv",
    "lr_pos",
    "lr_neg",
    "f1",
    "accuracy",
];

fn class_values(curve: &RocCurve, op: &OperatingPoint) -> [f64; 10] {
    let c = op.counts;
    [
        curve.auc(),
        c.sensitivity(),
        c.fpr(),
        c.specificity(),
        c.ppv(),
        c.npv(),
        c.lr_pos(),
        c.lr_neg(),
        c.f1(),
        c.accuracy(),
    ]
}

/// One class's one-vs-rest problem, sorted once.
struct Task {
    labels: Vec<bool>,
    ranked: RankedScores,
    /// Full-sample operating point (for `refit_cutoff = false`).
    op: OperatingPoint,
    curve: RocCurve,
}

/// Evaluates image predictions (see the module docs).
///
/// # Errors
/// [`Error::ConflictingLabels`] from aggregation when
/// [`EvaluateOptions::fail_on_label_conflict`] is set, invalid options.
pub fn evaluate(images: &[ImagePrediction], options: &EvaluateOptions) -> Result<Evaluation> {
    options.criterion.validate()?;
    let boot_opts = BootstrapOptions {
        level: options.level,
        ..options.bootstrap.clone()
    };
    boot_opts.validate()?;
    let agg = aggregate(images, options.grouping);
    let (undated_images, label_conflicts) = (agg.undated_images, agg.conflicts.clone());
    // Listed in the result; the caller warns (this crate does not log).
    let units = if options.fail_on_label_conflict {
        agg.strict()?
    } else {
        agg.units
    };
    if units.is_empty() {
        return Err(Error::TooFew {
            what: "evaluation units",
            needed: 1,
            got: 0,
        });
    }
    let mut e = evaluate_units(images.len(), &units, options, &boot_opts)?;
    e.undated_images = undated_images;
    e.label_conflicts = label_conflicts;
    Ok(e)
}

fn evaluate_units(
    n_images: usize,
    units: &[UnitPrediction],
    options: &EvaluateOptions,
    boot_opts: &BootstrapOptions,
) -> Result<Evaluation> {
    let level = options.level;
    let truth: Vec<usize> = units.iter().map(|u| u.label.index()).collect();
    let predicted: Vec<usize> = units
        .iter()
        .map(|u| argmax(&u.probs))
        .collect::<Result<_>>()?;
    let k = Label::COUNT;
    let cm = ConfusionMatrix::tally(&truth, &predicted, k, None)?;

    // Patients as clusters, classes as strata.
    let mut patient_ids: HashMap<&str, usize> = HashMap::new();
    let cluster: Vec<usize> = units
        .iter()
        .map(|u| {
            let n = patient_ids.len();
            *patient_ids.entry(u.patient_id.as_str()).or_insert(n)
        })
        .collect();
    let n_patients = units
        .iter()
        .map(|u| u.patient_id.as_str())
        .collect::<HashSet<_>>()
        .len();
    let resampler = Resampler::clustered(&cluster, &truth)?;

    let mut tasks: Vec<Option<Task>> = Vec::with_capacity(k);
    for label in Label::ALL {
        let c = label.index();
        let labels: Vec<bool> = truth.iter().map(|&t| t == c).collect();
        let scores: Vec<f64> = units.iter().map(|u| u.probs[c]).collect();
        let ranked = RankedScores::new(&scores)?;
        match ranked.curve(&labels, None) {
            Ok(curve) => {
                let op = select(&curve, options.criterion)?;
                tasks.push(Some(Task {
                    labels,
                    ranked,
                    op,
                    curve,
                }));
            }
            Err(Error::SingleClass { .. }) => tasks.push(None),
            Err(e) => return Err(e),
        }
    }

    let width = 2 + k * CLASS_METRICS.len();
    let refit = options.refit_cutoff;
    let criterion = options.criterion;
    let statistic = |s: &Resample| -> Vec<f64> {
        let mut v = Vec::with_capacity(width);
        let m = ConfusionMatrix::tally(&truth, &predicted, k, Some(&s.counts));
        match m {
            Ok(m) => {
                v.push(m.global_accuracy());
                v.push(m.mean_class_accuracy());
            }
            Err(_) => v.extend([f64::NAN; 2]),
        }
        for task in &tasks {
            let vals = task.as_ref().and_then(|t| {
                let curve = t.ranked.curve(&t.labels, Some(&s.counts)).ok()?;
                let op = if refit {
                    select(&curve, criterion).ok()?
                } else {
                    OperatingPoint {
                        counts: curve.counts(t.op.index),
                        ..t.op
                    }
                };
                Some(class_values(&curve, &op))
            });
            v.extend(vals.unwrap_or([f64::NAN; 10]));
        }
        v
    };
    let boot = bootstrap(&resampler, boot_opts, statistic)?;

    let mut per_class: Vec<Option<ClassMetrics>> = Vec::with_capacity(k);
    for (c, task) in tasks.into_iter().enumerate() {
        let Some(t) = task else {
            per_class.push(None);
            continue;
        };
        let scores: Vec<f64> = units.iter().map(|u| u.probs[c]).collect();
        let dl = delong(&scores, &t.labels).ok();
        let d = Diagnostics::from_counts(t.op.counts, level)?;
        let col = |name: &str| {
            let j = CLASS_METRICS.iter().position(|m| *m == name).unwrap_or(0);
            2 + c * CLASS_METRICS.len() + j
        };
        let bootstrap_ci95: BTreeMap<String, Option<Interval>> = CLASS_METRICS
            .iter()
            .map(|m| (m.to_string(), boot.interval(col(m))))
            .collect();
        let alternative_points = [Criterion::Youden, Criterion::ClosestTopLeft]
            .into_iter()
            .map(|cr| {
                let p = select(&t.curve, cr)?;
                Ok(AlternativePoint {
                    criterion: cr.name().to_owned(),
                    cutoff: p.threshold,
                    detection_rate: p.counts.sensitivity(),
                    fpr: p.counts.fpr(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n_pos = t.curve.positives();
        let n_neg = t.curve.negatives();
        let counts: ConfusionCounts = t.op.counts;
        per_class.push(Some(ClassMetrics {
            n_pos,
            n_neg,
            prevalence: n_pos as f64 / (n_pos + n_neg) as f64,
            auc: t.curve.auc(),
            auc_se: dl.map(|d| d.se()),
            auc_ci95: dl.map(|d| d.ci(level)).transpose()?,
            auc_bootstrap_ci95: boot.interval(col("auc")),
            criterion: criterion.name().to_owned(),
            cutoff: t.op.threshold,
            tp: counts.tp,
            fp: counts.fp,
            tn: counts.tn,
            fn_: counts.fn_,
            detection_rate: d.detection_rate.value,
            detection_rate_ci95: d.detection_rate.ci,
            fpr: d.fpr.value,
            fpr_ci95: d.fpr.ci,
            specificity: d.specificity.value,
            specificity_ci95: d.specificity.ci,
            ppv: d.ppv.value,
            ppv_ci95: d.ppv.ci,
            npv: d.npv.value,
            npv_ci95: d.npv.ci,
            lr_pos: d.lr_pos.value,
            lr_pos_ci95: d.lr_pos.ci,
            lr_neg: d.lr_neg.value,
            lr_neg_ci95: d.lr_neg.ci,
            f1: d.f1.value,
            f1_ci95: boot.interval(col("f1")),
            accuracy: d.accuracy.value,
            accuracy_ci95: d.accuracy.ci,
            bootstrap_ci95,
            alternative_points,
            calibration: Some(ClassCalibration::of(&t.labels, &scores)?),
            roc: Some(t.curve),
        }));
    }
    let mut per_class = per_class.into_iter();
    let mut next = || per_class.next().flatten();
    let per_class = PerClass {
        healthy: next(),
        covid: next(),
        bacterial: next(),
    };
    let acc = cm.class_accuracies();
    let row_total = |c: usize| cm.counts[c].iter().sum::<u64>();
    Ok(Evaluation {
        n_patients,
        n_images,
        n_units: units.len(),
        grouping: options.grouping,
        level,
        global_accuracy: cm.global_accuracy(),
        global_accuracy_ci95: wilson(cm.correct(), cm.total(), level).ok(),
        mean_class_accuracy: cm.mean_class_accuracy(),
        mean_class_accuracy_ci95: boot.interval(1),
        class_accuracy_sd: cm.class_accuracy_sd(),
        class_accuracy: PerClass::from_fn(|l| acc[l.index()]),
        class_counts: PerClass::from_fn(|l| row_total(l.index())),
        confusion_matrix: LabelledConfusion {
            labels: Label::ALL.iter().map(|l| l.as_str().to_owned()).collect(),
            counts: cm.counts.clone(),
        },
        per_class,
        bootstrap: BootstrapSummary {
            rounds: boot_opts.rounds,
            seed: boot_opts.seed,
            method: boot_opts.method,
            refit_cutoff: refit,
            scheme: "patients resampled with replacement within each class".to_owned(),
        },
        undated_images: 0,
        label_conflicts: Vec::new(),
    })
}
