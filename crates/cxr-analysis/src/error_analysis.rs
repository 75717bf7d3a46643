//! Supplementary Table 1: are the classifier's errors related to the patient's age, sex
//! or source?
//!
//! The paper (Methods, "Statistical analysis"): *mistakes of the classifier (incorrect
//! class predictions) were analyzed for possible statistical correlations with patient's
//! age, gender or origin, using t-test hypothesis null testing*; its Results report that
//! *errors seemed to be correlated with the patient's age and gender (older females
//! patients being harder to classify)*.
//!
//! # Units
//! Image predictions are matched to the cohort's records on `(patient_id, image_id)`
//! (the predictions CSV writes the patient as `source:id`, [`cxr_core::PatientId`]'s
//! `Display`). Predictions without a record are left out and counted
//! ([`ErrorAnalysis::unmatched_predictions`]); they have no source or demographics. The
//! rest are averaged per patient-day ([`Grouping::PatientDay`], the paper's rule) and a
//! unit is an **error** when the arg-max of its probabilities is not its label. Each unit
//! takes its patient's source and the first age and sex recorded for that patient (as
//! Table 2 does). A patient seen on several days contributes several units.
//!
//! # Tests (misclassified against correctly classified units)
//! * age: Student's t-test (the paper's) and Welch's;
//! * sex: the 2×2 table errors × (male, female or other) — Student's t-test on the 0/1
//!   male indicator (the paper's "t-test"), chi-square with Yates' correction and
//!   Fisher's exact test; "other" counts with "female", as in Table 2;
//! * source, true class and age band: error rate per category with a Wilson interval,
//!   and a chi-square test of the errors × category table;
//! * missing demographics: how many units lack age or sex, Little's MCAR test on
//!   (age, male, error) when anything is missing, and the age t-test after multiple
//!   imputation (MICE, m = [`IMPUTATIONS`], Rubin's rules), as for Table 2.
//!
//! A test the data leave undefined (fewer than two values in a group, one category, no
//! errors at all) is `None`, not an error.
//!
//! This module computes; `cxr_report::analysis::error_analysis` renders the
//! [`ErrorAnalysis`] (`error_analysis.md`, `errors_by_source.png`) and writes its files.
//!
//! ```no_run
//! use std::path::Path;
//! let records = cxr_core::manifest::read_records(Path::new("run/cohort/records.csv"))?;
//! let predictions = cxr_eval::read_predictions(Path::new("run/predictions.csv"))?;
//! let analysis = cxr_analysis::error_analysis::error_analysis(&records, &predictions, 2020)?;
//! println!("{} of {} units misclassified", analysis.errors, analysis.units);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cxr_core::{ImageRecord, Label, Sex, SourceId};
use cxr_eval::aggregate::{Grouping, ImagePrediction, aggregate};
use cxr_stats::hypothesis::{
    ChiSquareTest, FisherExact, TTest, TTestKind, chi2_contingency, fisher_exact, t_test,
};
use cxr_stats::missing::{
    LittleMcar, McarEstimator, MiceOptions, PooledEstimate, little_mcar_test, mice, pool_t_tests,
};
use cxr_stats::multiclass::argmax;
use cxr_stats::proportion::{Interval, wilson};
use serde::Serialize;

use crate::{Error, Result};

/// Confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// Imputed data sets for the age t-test under missing data (Rubin's rules).
pub const IMPUTATIONS: usize = 5;

/// Age bands of [`ErrorAnalysis::by_age_band`]: lower bounds in years, each band up to
/// the next bound.
pub const AGE_BANDS: [f64; 5] = [0.0, 18.0, 40.0, 60.0, 80.0];

/// How many unmatched predictions [`ErrorAnalysis::unmatched_examples`] lists.
const EXAMPLES: usize = 10;

/// Demographics of one group of units (misclassified or correctly classified).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Units (patient-days).
    pub units: usize,
    /// Distinct patients among them.
    pub patients: usize,
    /// Units with an age.
    pub age_known: usize,
    /// Mean age of those units.
    pub age_mean: Option<f64>,
    /// Sample standard deviation of age.
    pub age_sd: Option<f64>,
    /// Units with a sex.
    pub sex_known: usize,
    /// Male units.
    pub male: usize,
}

/// The error rate of one category (a source, a class, an age band, a sex).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateRow {
    /// The category: a source id (`padchest`), a label (`covid`), an age band
    /// (`40-59`, `80+`, `unknown`) or a sex (`male`, `female or other`, `unknown`).
    pub category: String,
    /// Units in the category.
    pub units: usize,
    /// Misclassified units.
    pub errors: usize,
    /// `errors / units`.
    pub rate: f64,
    /// Wilson interval of the rate at [`LEVEL`].
    pub ci95: Option<Interval>,
}

/// Error rates per category and the test of independence of errors and category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryTest {
    /// One row per category with at least one unit, in a fixed order.
    pub rows: Vec<RateRow>,
    /// Chi-square test (no correction) of the errors × category table over the known
    /// categories; `None` with fewer than two of them or when no unit (or every unit) is
    /// an error.
    pub chi2: Option<ChiSquareTest>,
    /// Fisher's exact test of the same table when it is 2 × 2 (two known categories):
    /// what few errors need, where the chi-square approximation fails.
    pub fisher: Option<FisherExact>,
}

/// Age of misclassified against correctly classified units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgeTests {
    /// Student's two-sample t-test (the paper's), errors − correct.
    pub student: Option<TTest>,
    /// Welch's t-test.
    pub welch: Option<TTest>,
}

/// Sex of misclassified against correctly classified units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SexTests {
    /// `[[errors male, errors female or other], [correct male, correct female or other]]`
    /// over units with a known sex.
    pub table: [[u64; 2]; 2],
    /// Error rate among male units, among the others, and among units of unknown sex.
    pub rates: Vec<RateRow>,
    /// Student's t-test on the 0/1 male indicator (the paper's "t-test" for gender).
    pub male_t_test: Option<TTest>,
    /// Chi-square test of [`SexTests::table`] with Yates' correction.
    pub chi2_yates: Option<ChiSquareTest>,
    /// Fisher's exact test of [`SexTests::table`]; `None` when a margin is empty.
    pub fisher: Option<FisherExact>,
}

/// Missing demographics and the analyses that account for them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingData {
    /// Units without an age.
    pub age_missing: usize,
    /// Units without a sex.
    pub sex_missing: usize,
    /// Units missing age or sex.
    pub units_incomplete: usize,
    /// Little's MCAR test on (age, male, error), when something is missing and the test
    /// is defined.
    pub little_mcar: Option<LittleMcar>,
    /// Imputed data sets ([`IMPUTATIONS`]).
    pub imputations: usize,
    /// Student's age t-test after multiple imputation, pooled by Rubin's rules (estimate
    /// = mean age of errors − mean age of correct units), when something is missing.
    pub age_student_imputed: Option<PooledEstimate>,
}

/// Supplementary Table 1: the classifier's errors against age, sex, source and class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorAnalysis {
    /// Seed of the multiple imputation.
    pub seed: u64,
    /// The unit ([`Grouping::PatientDay`]).
    pub grouping: Grouping,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Image predictions given.
    pub predictions: usize,
    /// Image predictions without a record (left out).
    pub unmatched_predictions: usize,
    /// The first few of them, as `patient_id/image_id`.
    pub unmatched_examples: Vec<String>,
    /// Matched predictions whose label differs from their record's (the prediction's
    /// label is used).
    pub label_mismatches: usize,
    /// Units analysed.
    pub units: usize,
    /// Distinct patients among them.
    pub patients: usize,
    /// Misclassified units.
    pub errors: usize,
    /// `errors / units`.
    pub error_rate: f64,
    /// Wilson interval of the error rate.
    pub error_rate_ci95: Option<Interval>,
    /// Demographics of the misclassified units.
    pub misclassified: GroupSummary,
    /// Demographics of the correctly classified units.
    pub correct: GroupSummary,
    /// Age tests.
    pub age: AgeTests,
    /// Sex tests.
    pub sex: SexTests,
    /// Error rate per source.
    pub by_source: CategoryTest,
    /// Error rate per true class.
    pub by_class: CategoryTest,
    /// Error rate per age band ([`AGE_BANDS`]); units without an age form an `unknown`
    /// row left out of the test.
    pub by_age_band: CategoryTest,
    /// Missing demographics.
    pub missing: MissingData,
}

/// One analysed unit.
#[derive(Debug, Clone, Copy)]
struct Unit<'a> {
    patient: &'a str,
    label: Label,
    error: bool,
    source: SourceId,
    age: Option<f64>,
    sex: Option<Sex>,
}

impl Unit<'_> {
    fn male(&self) -> Option<f64> {
        self.sex.map(|s| f64::from(u8::from(s == Sex::Male)))
    }
}

/// A patient's source and first recorded age and sex.
#[derive(Debug, Clone, Copy)]
struct Person {
    source: SourceId,
    age: Option<f64>,
    sex: Option<Sex>,
}

/// Runs the analysis; `seed` drives the multiple imputation.
///
/// # Errors
/// [`Error::Step`] when no prediction matches a record or an image is predicted twice
/// (it would weigh twice in its patient's mean); [`Error::Stats`] when the images
/// of a patient-day carry different labels or a probability is not finite.
pub fn error_analysis(
    records: &[ImageRecord],
    predictions: &[ImagePrediction],
    seed: u64,
) -> Result<ErrorAnalysis> {
    const STEP: &str = "error analysis";
    let mut people: HashMap<String, Person> = HashMap::new();
    let mut labels: HashMap<(String, &str), Label> = HashMap::new();
    for r in records {
        let id = r.patient.to_string();
        let p = people.entry(id.clone()).or_insert(Person {
            source: r.source,
            age: None,
            sex: None,
        });
        p.age = p.age.or(r.age.map(f64::from));
        p.sex = p.sex.or(r.sex);
        labels.insert((id, r.image_id.as_str()), r.label);
    }
    let mut matched = Vec::with_capacity(predictions.len());
    let mut unmatched_examples = Vec::new();
    let mut label_mismatches = 0;
    let mut seen = std::collections::HashSet::new();
    for p in predictions {
        if !seen.insert((p.patient_id.as_str(), p.image_id.as_str())) {
            return Err(Error::Step {
                step: STEP,
                detail: format!("{}/{} is predicted twice", p.patient_id, p.image_id),
            });
        }
        match labels.get(&(p.patient_id.clone(), p.image_id.as_str())) {
            Some(&l) => {
                label_mismatches += usize::from(l != p.label);
                matched.push(p.clone());
            }
            None => {
                if unmatched_examples.len() < EXAMPLES {
                    unmatched_examples.push(format!("{}/{}", p.patient_id, p.image_id));
                }
            }
        }
    }
    if matched.is_empty() {
        return Err(Error::Step {
            step: STEP,
            detail: format!(
                "none of the {} predictions matches a record on (patient_id, image_id)",
                predictions.len()
            ),
        });
    }
    // Units whose images disagree on the label are left out, as in the evaluation.
    let unit_predictions = aggregate(&matched, Grouping::PatientDay).units;
    let mut units = Vec::with_capacity(unit_predictions.len());
    for u in &unit_predictions {
        // Every unit's patient has a record: its images were matched above.
        let person = people.get(&u.patient_id).ok_or_else(|| Error::Step {
            step: STEP,
            detail: format!("patient {} lost its records", u.patient_id),
        })?;
        units.push(Unit {
            patient: &u.patient_id,
            label: u.label,
            error: argmax(&u.probs)? != u.label.index(),
            source: person.source,
            age: person.age,
            sex: person.sex,
        });
    }
    let (wrong, right): (Vec<Unit<'_>>, Vec<Unit<'_>>) = units.iter().partition(|u| u.error);
    let errors = wrong.len();
    Ok(ErrorAnalysis {
        seed,
        grouping: Grouping::PatientDay,
        level: LEVEL,
        predictions: predictions.len(),
        unmatched_predictions: predictions.len() - matched.len(),
        unmatched_examples,
        label_mismatches,
        units: units.len(),
        patients: distinct_patients(&units),
        errors,
        error_rate: errors as f64 / units.len() as f64,
        error_rate_ci95: wilson(errors as u64, units.len() as u64, LEVEL).ok(),
        misclassified: summary(&wrong),
        correct: summary(&right),
        age: age_tests(&wrong, &right),
        sex: sex_tests(&units, &wrong, &right),
        by_source: category_test(&units, |u| {
            Some((u.source.rank(), u.source.as_str().to_owned()))
        }),
        by_class: category_test(&units, |u| {
            Some((u.label.index(), u.label.as_str().to_owned()))
        }),
        by_age_band: age_band_test(&units),
        missing: missing_data(&units, seed),
    })
}

fn distinct_patients(units: &[Unit<'_>]) -> usize {
    units
        .iter()
        .map(|u| u.patient)
        .collect::<BTreeSet<_>>()
        .len()
}

fn mean_sd(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let ss = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    Some((m, (ss / (n - 1.0)).sqrt()))
}

fn summary(units: &[Unit<'_>]) -> GroupSummary {
    let ages: Vec<f64> = units.iter().filter_map(|u| u.age).collect();
    let ms = mean_sd(&ages);
    GroupSummary {
        units: units.len(),
        patients: distinct_patients(units),
        age_known: ages.len(),
        age_mean: ms.map(|m| m.0),
        age_sd: ms.map(|m| m.1),
        sex_known: units.iter().filter(|u| u.sex.is_some()).count(),
        male: units.iter().filter(|u| u.sex == Some(Sex::Male)).count(),
    }
}

fn age_tests(wrong: &[Unit<'_>], right: &[Unit<'_>]) -> AgeTests {
    let ages = |g: &[Unit<'_>]| g.iter().filter_map(|u| u.age).collect::<Vec<f64>>();
    let (a, b) = (ages(wrong), ages(right));
    AgeTests {
        student: t_test(&a, &b, TTestKind::Student, LEVEL).ok(),
        welch: t_test(&a, &b, TTestKind::Welch, LEVEL).ok(),
    }
}

fn rate_row(category: String, units: usize, errors: usize) -> RateRow {
    RateRow {
        category,
        units,
        errors,
        rate: if units == 0 {
            f64::NAN
        } else {
            errors as f64 / units as f64
        },
        ci95: wilson(errors as u64, units as u64, LEVEL).ok(),
    }
}

fn sex_tests(units: &[Unit<'_>], wrong: &[Unit<'_>], right: &[Unit<'_>]) -> SexTests {
    let (w, r) = (summary(wrong), summary(right));
    let table = [
        [w.male as u64, (w.sex_known - w.male) as u64],
        [r.male as u64, (r.sex_known - r.male) as u64],
    ];
    let margins_ok = table.iter().all(|row| row[0] + row[1] > 0)
        && (0..2).all(|j| table[0][j] + table[1][j] > 0);
    let males = |g: &[Unit<'_>]| g.iter().filter_map(Unit::male).collect::<Vec<f64>>();
    let count = |f: &dyn Fn(&Unit<'_>) -> bool| {
        let n = units.iter().filter(|u| f(u)).count();
        let e = units.iter().filter(|u| f(u) && u.error).count();
        (n, e)
    };
    let rates = [
        ("male", count(&|u| u.sex == Some(Sex::Male))),
        (
            "female or other",
            count(&|u| u.sex.is_some_and(|s| s != Sex::Male)),
        ),
        ("unknown", count(&|u| u.sex.is_none())),
    ]
    .into_iter()
    .filter(|(_, (n, _))| *n > 0)
    .map(|(name, (n, e))| rate_row(name.to_owned(), n, e))
    .collect();
    SexTests {
        table,
        rates,
        male_t_test: t_test(&males(wrong), &males(right), TTestKind::Student, LEVEL).ok(),
        chi2_yates: chi2_contingency(&table, true).ok(),
        fisher: margins_ok.then(|| fisher_exact(table).ok()).flatten(),
    }
}

/// Error rates per category (`key` gives a sort position and a name, `None` for an
/// unknown category, which gets its own row but stays out of the test).
fn category_test(
    units: &[Unit<'_>],
    key: impl Fn(&Unit<'_>) -> Option<(usize, String)>,
) -> CategoryTest {
    let mut known: BTreeMap<(usize, String), (usize, usize)> = BTreeMap::new();
    let mut unknown = (0, 0);
    for u in units {
        let slot = match key(u) {
            Some(k) => known.entry(k).or_default(),
            None => &mut unknown,
        };
        slot.0 += 1;
        slot.1 += usize::from(u.error);
    }
    let table: Vec<[u64; 2]> = known
        .values()
        .map(|&(n, e)| [e as u64, (n - e) as u64])
        .collect();
    let chi2 = if table.len() >= 2 {
        chi2_contingency(&table, false).ok()
    } else {
        None
    };
    let fisher = match table[..] {
        [a, b] => fisher_exact([a, b]).ok(),
        _ => None,
    };
    let mut rows: Vec<RateRow> = known
        .into_iter()
        .map(|((_, name), (n, e))| rate_row(name, n, e))
        .collect();
    if unknown.0 > 0 {
        rows.push(rate_row("unknown".into(), unknown.0, unknown.1));
    }
    CategoryTest { rows, chi2, fisher }
}

fn age_band_name(i: usize) -> String {
    match AGE_BANDS.get(i + 1) {
        Some(next) => format!("{}-{}", AGE_BANDS[i], next - 1.0),
        None => format!("{}+", AGE_BANDS[i]),
    }
}

fn age_band_test(units: &[Unit<'_>]) -> CategoryTest {
    category_test(units, |u| {
        let age = u.age?;
        let i = AGE_BANDS.iter().rposition(|&lo| age >= lo).unwrap_or(0);
        Some((i, age_band_name(i)))
    })
}

fn missing_data(units: &[Unit<'_>], seed: u64) -> MissingData {
    let matrix: Vec<Vec<f64>> = units
        .iter()
        .map(|u| {
            vec![
                u.age.unwrap_or(f64::NAN),
                u.male().unwrap_or(f64::NAN),
                f64::from(u8::from(u.error)),
            ]
        })
        .collect();
    let incomplete = matrix
        .iter()
        .filter(|r| r.iter().any(|v| v.is_nan()))
        .count();
    let (little_mcar, age_student_imputed) = if incomplete > 0 {
        (
            little_mcar_test(&matrix, McarEstimator::default()).ok(),
            imputed_age_test(&matrix, seed),
        )
    } else {
        (None, None)
    };
    MissingData {
        age_missing: units.iter().filter(|u| u.age.is_none()).count(),
        sex_missing: units.iter().filter(|u| u.sex.is_none()).count(),
        units_incomplete: incomplete,
        little_mcar,
        imputations: IMPUTATIONS,
        age_student_imputed,
    }
}

/// Student's age t-test (errors against correct units) on each imputed data set of
/// `(age, male, error)` rows, pooled by Rubin's rules.
fn imputed_age_test(matrix: &[Vec<f64>], seed: u64) -> Option<PooledEstimate> {
    let options = MiceOptions {
        m: IMPUTATIONS,
        ..MiceOptions::default()
    };
    let imputed = mice(matrix, &options, seed).ok()?;
    let tests: Vec<TTest> = imputed
        .datasets
        .iter()
        .map(|d| {
            let (a, b): (Vec<&Vec<f64>>, Vec<&Vec<f64>>) = d.iter().partition(|r| r[2] == 1.0);
            let ages = |g: Vec<&Vec<f64>>| g.iter().map(|r| r[0]).collect::<Vec<f64>>();
            t_test(&ages(a), &ages(b), TTestKind::Student, LEVEL).ok()
        })
        .collect::<Option<_>>()?;
    pool_t_tests(&tests, LEVEL).ok()
}

#[cfg(test)]
mod tests;
