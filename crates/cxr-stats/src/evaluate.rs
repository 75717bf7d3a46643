//! The evaluate pipeline, statistics half: predictions CSV → validated image predictions
//! → patient-level units → every metric of the paper's Figure 3 and Table 3 with
//! intervals, as one serialisable [`Evaluation`] (the `metrics.json` of a run).
//! Rendering (markdown, plots) and writing files live in `cxr-report`.
//!
//! # Input
//! A CSV with header `patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial`
//! (any order; optional extra columns such as `source,age,sex` are accepted and ignored).
//! Labels are `healthy|covid|bacterial`; dates `YYYY-MM-DD` or `YYYYMMDD`, empty (or
//! the older files' `1900-01-01`, [`UNDATED`]) for an image without a study date, which
//! is then a unit of its own (`aggregate`'s module docs). Every row is
//! checked (missing field, unknown label, bad date, probability not a number or outside
//! `[0, 1]`, probabilities not summing to 1 within `1e-3`, an image listed twice) and all
//! bad rows are reported together, each with its line number; nothing is evaluated when
//! any row is bad.
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
use std::path::{Path, PathBuf};

use cxr_core::{Label, StudyDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Grouping, ImagePrediction, LabelConflict, UnitPrediction, aggregate};
use crate::bootstrap::{BootstrapOptions, IntervalMethod, Resample, Resampler, bootstrap};
use crate::cutoff::{Criterion, OperatingPoint, select};
use crate::delong::delong;
use crate::diagnostic::{ConfusionCounts, Diagnostics};
use crate::error::{Error, Result};
use crate::multiclass::{ConfusionMatrix, argmax};
use crate::proportion::{Interval, wilson};
use crate::roc::{RankedScores, RocCurve};

/// The study date older prediction files wrote for an image without one; read as "no
/// date" (no radiograph of these sources is from 1900).
pub const UNDATED: &str = "1900-01-01";

/// Tolerance on `p_healthy + p_covid + p_bacterial = 1`.
pub const SUM_TOLERANCE: f64 = 1e-3;

/// The required columns of a predictions CSV.
pub const REQUIRED_COLUMNS: [&str; 7] = [
    "patient_id",
    "study_date",
    "image_id",
    "label",
    "p_healthy",
    "p_covid",
    "p_bacterial",
];

/// What is wrong with one row of a predictions CSV.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RowProblemKind {
    /// The field is empty or the row is too short.
    #[error("missing value")]
    Missing,
    /// The field cannot be parsed (label, date).
    #[error("{0}")]
    Parse(#[from] cxr_core::ParseError),
    /// A probability is not a number.
    #[error("`{0}` is not a number")]
    NotANumber(String),
    /// A probability is outside `[0, 1]` (or not finite).
    #[error("probability {0} outside [0, 1]")]
    OutOfRange(f64),
    /// The three probabilities do not sum to 1.
    #[error("probabilities sum to {0}, not 1 (tolerance {SUM_TOLERANCE})")]
    BadSum(f64),
    /// The image id was already seen on an earlier line.
    #[error("image `{image}` already listed on line {first_line}")]
    DuplicateImage {
        /// The image id.
        image: String,
        /// Where it was first seen.
        first_line: u64,
    },
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}{}: {kind}", column.map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct RowProblem {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The column, when the problem is in one field.
    pub column: Option<&'static str>,
    /// What is wrong.
    #[source]
    pub kind: RowProblemKind,
}

/// Why a predictions CSV could not be read.
///
/// Separate from [`crate::Error`], which is `Clone + PartialEq` for the pure statistics
/// and cannot hold an I/O error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or is not valid CSV.
    #[error("cannot read predictions {path}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error (with its position when it has one).
        #[source]
        source: csv::Error,
    },
    /// A required column is absent from the header.
    #[error("{path}: missing column `{column}` (required: {})", REQUIRED_COLUMNS.join(","))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// The file has a header but no rows.
    #[error("{path}: no prediction rows")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Some rows are bad; nothing was evaluated.
    #[error("{path}: {} bad row(s): {}", problems.len(), summarize(problems))]
    BadRows {
        /// The file.
        path: PathBuf,
        /// Every bad row, in file order.
        problems: Vec<RowProblem>,
    },
}

fn summarize(problems: &[RowProblem]) -> String {
    let mut s: Vec<String> = problems.iter().take(5).map(ToString::to_string).collect();
    if problems.len() > 5 {
        s.push(format!("… and {} more", problems.len() - 5));
    }
    s.join("; ")
}

/// Reads and validates a predictions CSV (see the module docs).
///
/// # Errors
/// [`ReadError`]; all bad rows are collected before failing.
pub fn read_predictions(path: &Path) -> Result<Vec<ImagePrediction>, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::Csv {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    parse_predictions(file, path)
}

/// Parses predictions from any reader; `path` names the source in errors.
///
/// # Errors
/// As [`read_predictions`].
pub fn parse_predictions<R: std::io::Read>(
    reader: R,
    path: &Path,
) -> Result<Vec<ImagePrediction>, ReadError> {
    let csv_err = |source| ReadError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr.headers().map_err(csv_err)?.clone();
    let mut col = [0usize; 7];
    for (slot, name) in col.iter_mut().zip(REQUIRED_COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or(ReadError::MissingColumn {
                path: path.to_path_buf(),
                column: name,
            })?;
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        match parse_row(&record, &col, line) {
            Ok(p) => {
                if let Some(&first_line) = seen.get(&p.image_id) {
                    problems.push(RowProblem {
                        line,
                        column: Some("image_id"),
                        kind: RowProblemKind::DuplicateImage {
                            image: p.image_id.clone(),
                            first_line,
                        },
                    });
                } else {
                    seen.insert(p.image_id.clone(), line);
                    out.push(p);
                }
            }
            Err(mut e) => problems.append(&mut e),
        }
    }
    if !problems.is_empty() {
        return Err(ReadError::BadRows {
            path: path.to_path_buf(),
            problems,
        });
    }
    if out.is_empty() {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

fn parse_row(
    record: &csv::StringRecord,
    col: &[usize; 7],
    line: u64,
) -> Result<ImagePrediction, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut field = |i: usize| -> Option<&str> {
        match record.get(col[i]).filter(|s| !s.is_empty()) {
            Some(s) => Some(s),
            None => {
                problems.push(RowProblem {
                    line,
                    column: Some(REQUIRED_COLUMNS[i]),
                    kind: RowProblemKind::Missing,
                });
                None
            }
        }
    };
    let patient = field(0).map(str::to_owned);
    // An empty date is an undated image, not a missing field.
    let date_text = record
        .get(col[1])
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != UNDATED)
        .map(str::to_owned);
    let image = field(2).map(str::to_owned);
    let label_text = field(3).map(str::to_owned);
    let prob_text: Vec<Option<String>> = (4..7).map(|i| field(i).map(str::to_owned)).collect();
    let mut date_ok = true;
    let date = date_text.and_then(|t| {
        t.parse::<StudyDate>()
            .map_err(|e| {
                date_ok = false;
                problems.push(RowProblem {
                    line,
                    column: Some("study_date"),
                    kind: e.into(),
                })
            })
            .ok()
    });
    let label = label_text.and_then(|t| {
        t.parse::<Label>()
            .map_err(|e| {
                problems.push(RowProblem {
                    line,
                    column: Some("label"),
                    kind: e.into(),
                })
            })
            .ok()
    });
    let mut probs = [0.0; 3];
    let mut probs_ok = true;
    for (j, t) in prob_text.into_iter().enumerate() {
        let column = Some(REQUIRED_COLUMNS[4 + j]);
        let Some(t) = t else {
            probs_ok = false;
            continue;
        };
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=1.0).contains(&v) => probs[j] = v,
            Ok(v) => {
                probs_ok = false;
                problems.push(RowProblem {
                    line,
                    column,
                    kind: RowProblemKind::OutOfRange(v),
                });
            }
            Err(_) => {
                probs_ok = false;
                problems.push(RowProblem {
                    line,
                    column,
                    kind: RowProblemKind::NotANumber(t),
                });
            }
        }
    }
    if probs_ok {
        let sum: f64 = probs.iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            problems.push(RowProblem {
                line,
                column: None,
                kind: RowProblemKind::BadSum(sum),
            });
        }
    }
    match (patient, date, image, label) {
        (Some(patient_id), study_date, Some(image_id), Some(label))
            if problems.is_empty() && date_ok =>
        {
            Ok(ImagePrediction {
                patient_id,
                study_date,
                image_id,
                label,
                probs,
            })
        }
        _ => Err(problems),
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
    pub cutoff: f64,
    /// Detection rate there.
    pub detection_rate: f64,
    /// False-positive rate there.
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
    pub prevalence: f64,
    /// Area under the one-vs-rest ROC curve.
    pub auc: f64,
    /// DeLong standard error of the AUC (`None` with fewer than 2 per side).
    pub auc_se: Option<f64>,
    /// DeLong interval.
    pub auc_ci95: Option<Interval>,
    /// Bootstrap interval.
    pub auc_bootstrap_ci95: Option<Interval>,
    /// The criterion that chose the cutoff.
    pub criterion: String,
    /// Predicted positive iff the class probability `>= cutoff`.
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
    pub detection_rate: f64,
    /// Wilson interval.
    pub detection_rate_ci95: Option<Interval>,
    /// False-positive rate.
    pub fpr: f64,
    /// Wilson interval.
    pub fpr_ci95: Option<Interval>,
    /// Specificity.
    pub specificity: f64,
    /// Wilson interval.
    pub specificity_ci95: Option<Interval>,
    /// Positive predictive value.
    pub ppv: f64,
    /// Wilson interval.
    pub ppv_ci95: Option<Interval>,
    /// Negative predictive value.
    pub npv: f64,
    /// Wilson interval.
    pub npv_ci95: Option<Interval>,
    /// Positive likelihood ratio.
    pub lr_pos: f64,
    /// Log-method interval.
    pub lr_pos_ci95: Option<Interval>,
    /// Negative likelihood ratio.
    pub lr_neg: f64,
    /// Log-method interval.
    pub lr_neg_ci95: Option<Interval>,
    /// F1 score.
    pub f1: f64,
    /// Bootstrap interval.
    pub f1_ci95: Option<Interval>,
    /// One-vs-rest accuracy.
    pub accuracy: f64,
    /// Wilson interval.
    pub accuracy_ci95: Option<Interval>,
    /// Bootstrap intervals of every metric (cutoff re-selected per round when
    /// `refit_cutoff`).
    pub bootstrap_ci95: BTreeMap<String, Option<Interval>>,
    /// Youden and closest-top-left points, for comparison.
    pub alternative_points: Vec<AlternativePoint>,
    /// The full ROC curve (not serialised; for plots).
    #[serde(skip)]
    pub roc: Option<RocCurve>,
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
    pub global_accuracy_ci95: Option<Interval>,
    /// Average class accuracy (balanced accuracy).
    pub mean_class_accuracy: f64,
    /// Bootstrap interval.
    pub mean_class_accuracy_ci95: Option<Interval>,
    /// Sample SD of the class accuracies.
    pub class_accuracy_sd: f64,
    /// Per-class accuracy (recall).
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial";

    fn parse(body: &str) -> Result<Vec<ImagePrediction>, ReadError> {
        parse_predictions(format!("{HEADER}\n{body}").as_bytes(), Path::new("p.csv"))
    }

    #[test]
    fn good_rows_parse_with_extra_columns() {
        let text = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source,age,sex\n\
                    p1,2020-03-01,i1,covid,0.1,0.8,0.1,coviddsl,67,M\n\
                    p1,20200301,i2,Covid,0.2,0.7,0.1,coviddsl,67,M\n";
        let v = parse_predictions(text.as_bytes(), Path::new("p.csv")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].label, Label::Covid);
        assert_eq!(v[0].study_date, v[1].study_date);
        assert_eq!(v[1].probs, [0.2, 0.7, 0.1]);
    }

    #[test]
    fn undated_rows_are_their_own_units_and_conflicts_are_listed() {
        // p1: a healthy and a covid image, no dates (months apart, unknown): two units.
        // p2: two same-day images with different labels: left out and listed.
        let body = "p1,,a,healthy,0.8,0.1,0.1\n\
                    p1,1900-01-01,b,covid,0.2,0.7,0.1\n\
                    p2,2020-03-01,c,covid,0.1,0.8,0.1\n\
                    p2,2020-03-01,d,bacterial,0.1,0.1,0.8\n\
                    p3,2020-03-02,e,bacterial,0.1,0.2,0.7\n\
                    p4,2020-03-02,f,covid,0.3,0.6,0.1\n";
        let v = parse(body).unwrap();
        assert_eq!((v[0].study_date, v[1].study_date), (None, None));
        let options = EvaluateOptions {
            bootstrap: BootstrapOptions {
                rounds: 20,
                ..BootstrapOptions::default()
            },
            ..EvaluateOptions::default()
        };
        let e = evaluate(&v, &options).unwrap();
        assert_eq!(e.n_units, 4);
        assert_eq!(e.undated_images, 2);
        assert_eq!(e.label_conflicts.len(), 1);
        assert_eq!(e.label_conflicts[0].unit, "p2@2020-03-01");
        assert_eq!(e.class_counts.covid, 2);
        let strict = EvaluateOptions {
            fail_on_label_conflict: true,
            ..options
        };
        assert!(matches!(
            evaluate(&v, &strict),
            Err(Error::ConflictingLabels { .. })
        ));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let err = parse(
            "p1,2020-03-01,i1,covid,0.1,0.8,0.1\n\
             p2,2020-03-01,i2,viral,0.1,0.8,0.1\n\
             p3,2020-03-01,i3,covid,0.1,abc,0.1\n\
             p4,2020-03-01,i4,covid,0.1,1.5,0.1\n\
             p5,2020-03-01,i5,covid,0.1,0.5,0.1\n\
             p6,2020-03-01,i6,covid,0.1,0.8\n\
             p7,2020-13-01,i1,covid,0.1,0.8,0.1\n",
        )
        .unwrap_err();
        let ReadError::BadRows { problems, .. } = &err else {
            panic!("{err}")
        };
        let lines: Vec<(u64, Option<&str>)> = problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(
            lines,
            vec![
                (3, Some("label")),
                (4, Some("p_covid")),
                (5, Some("p_covid")),
                (6, None),
                (7, Some("p_bacterial")),
                (8, Some("study_date")),
            ]
        );
        assert_eq!(problems[3].kind, RowProblemKind::BadSum(0.7));
        assert_eq!(problems[2].kind, RowProblemKind::OutOfRange(1.5));
        let msg = err.to_string();
        assert!(
            msg.starts_with("p.csv: 6 bad row(s): line 3, column `label`: invalid label `viral`"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_image_and_missing_column() {
        let err = parse("p1,2020-03-01,i1,covid,0.1,0.8,0.1\np1,2020-03-01,i1,covid,0.1,0.8,0.1\n")
            .unwrap_err();
        let ReadError::BadRows { problems, .. } = err else {
            panic!()
        };
        assert_eq!(
            problems[0].kind,
            RowProblemKind::DuplicateImage {
                image: "i1".into(),
                first_line: 2
            }
        );
        let err =
            parse_predictions("patient_id,label\n".as_bytes(), Path::new("x.csv")).unwrap_err();
        assert!(matches!(
            err,
            ReadError::MissingColumn {
                column: "study_date",
                ..
            }
        ));
        assert!(matches!(parse(""), Err(ReadError::Empty { .. })));
    }
}
