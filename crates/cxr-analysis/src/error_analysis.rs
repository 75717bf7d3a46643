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
//! ```no_run
//! use std::path::Path;
//! let records = cxr_core::manifest::read_records(Path::new("run/cohort/records.csv"))?;
//! let predictions = cxr_stats::evaluate::read_predictions(Path::new("run/predictions.csv"))?;
//! let analysis = cxr_analysis::error_analysis::error_analysis(&records, &predictions, 2020)?;
//! println!("{}", cxr_analysis::error_analysis::markdown(&analysis));
//! cxr_analysis::error_analysis::write(Path::new("run/errors"), &analysis)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_core::{ImageRecord, Label, Sex, SourceId};
use cxr_report::plot::{Bar, RGBColor, bars_png, class_name};
use cxr_stats::aggregate::{Grouping, ImagePrediction, aggregate};
use cxr_stats::hypothesis::{
    ChiSquareTest, FisherExact, TTest, TTestKind, chi2_contingency, fisher_exact, t_test,
};
use cxr_stats::missing::{
    LittleMcar, McarEstimator, MiceOptions, PooledEstimate, little_mcar_test, mice, pool_t_tests,
};
use cxr_stats::multiclass::argmax;
use cxr_stats::proportion::{Interval, wilson};
use serde::Serialize;

use crate::text::{ci_text, p_eq, p_text};
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

/// File names written by [`write()`].
pub const FILES: [&str; 3] = [
    "error_analysis.json",
    "error_analysis.md",
    "errors_by_source.png",
];

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
    let mut rows: Vec<RateRow> = known
        .into_iter()
        .map(|((_, name), (n, e))| rate_row(name, n, e))
        .collect();
    if unknown.0 > 0 {
        rows.push(rate_row("unknown".into(), unknown.0, unknown.1));
    }
    CategoryTest { rows, chi2 }
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

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "-".into()
    }
}

fn rate_table(s: &mut String, what: &str, t: &CategoryTest, name: impl Fn(&str) -> String) {
    let _ = writeln!(
        s,
        "| {what} | Units | Errors | Error rate | 95% CI (Wilson) |\n|---|---:|---:|---:|---|"
    );
    for r in &t.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            name(&r.category),
            r.units,
            r.errors,
            pct(r.rate),
            ci_text(r.ci95)
        );
    }
    let _ = match &t.chi2 {
        Some(c) => writeln!(
            s,
            "\nChi-square test of independence{}: X² = {:.2}, df = {}, {}.\n",
            if c.yates { " (Yates' correction)" } else { "" },
            c.statistic,
            c.df,
            p_eq(c.p_value)
        ),
        None => writeln!(s, "\nChi-square test of independence: undefined here.\n"),
    };
}

fn source_name(id: &str) -> String {
    id.parse::<SourceId>()
        .map_or_else(|_| id.to_owned(), |s| s.display_name().to_owned())
}

fn class_display(id: &str) -> String {
    id.parse::<Label>()
        .map_or_else(|_| id.to_owned(), |l| class_name(l).to_owned())
}

/// The analysis as markdown: a table laid out like the paper's Table 2 (misclassified
/// against correctly classified units), then error rates by source, class, age band and
/// sex.
pub fn markdown(a: &ErrorAnalysis) -> String {
    let mut s = String::from("# Error analysis (Supplementary Table 1)\n\n");
    let _ = writeln!(
        s,
        "{} units (patient-days, probabilities averaged over same-day images) of {} patients; \
         {} misclassified (arg-max ≠ label): error rate {} (95% CI {}).",
        a.units,
        a.patients,
        a.errors,
        pct(a.error_rate),
        ci_text(a.error_rate_ci95)
    );
    if a.unmatched_predictions > 0 {
        let _ = writeln!(
            s,
            "\n{} of {} image predictions had no record in the cohort and were left out \
             (e.g. {}).",
            a.unmatched_predictions,
            a.predictions,
            a.unmatched_examples.join(", ")
        );
    }
    if a.label_mismatches > 0 {
        let _ = writeln!(
            s,
            "\n{} predictions carry a label different from their record's; the prediction's \
             label was used.",
            a.label_mismatches
        );
    }
    let age = |g: &GroupSummary| match (g.age_mean, g.age_sd) {
        (Some(m), Some(sd)) => format!("{m:.1} (±{sd:.1}), n = {}", g.age_known),
        _ => "-".into(),
    };
    let male = |g: &GroupSummary| {
        format!(
            "{}/{} ({})",
            g.male,
            g.sex_known,
            pct(g.male as f64 / g.sex_known as f64)
        )
    };
    let p_of = |t: &Option<TTest>| p_text(t.as_ref().map(|t| t.p_value));
    s.push_str(
        "\n| Variable | Misclassified | Correctly classified | p-value |\n|---|---|---|---|\n",
    );
    let _ = writeln!(
        s,
        "| Units (patients) | {} ({}) | {} ({}) | |",
        a.misclassified.units, a.misclassified.patients, a.correct.units, a.correct.patients
    );
    let _ = writeln!(
        s,
        "| Age (years), mean (±SD) | {} | {} | {} (Student t-test), {} (Welch) |",
        age(&a.misclassified),
        age(&a.correct),
        p_of(&a.age.student),
        p_of(&a.age.welch)
    );
    let _ = writeln!(
        s,
        "| Male | {} | {} | {} (t-test), {} (chi-square, Yates), {} (Fisher) |",
        male(&a.misclassified),
        male(&a.correct),
        p_of(&a.sex.male_t_test),
        p_text(a.sex.chi2_yates.as_ref().map(|c| c.p_value)),
        p_text(a.sex.fisher.as_ref().map(|f| f.p_value))
    );
    let miss = |g: &GroupSummary| {
        format!(
            "age {}, sex {}",
            g.units - g.age_known,
            g.units - g.sex_known
        )
    };
    let _ = writeln!(
        s,
        "| Missing | {} | {} | {} (Little's MCAR) |",
        miss(&a.misclassified),
        miss(&a.correct),
        p_text(a.missing.little_mcar.as_ref().map(|l| l.p_value))
    );
    if let Some(pooled) = &a.missing.age_student_imputed {
        let _ = writeln!(
            s,
            "| Age difference after multiple imputation (m = {}) | {:+.1} years | | {} |",
            a.missing.imputations,
            pooled.estimate,
            p_text(Some(pooled.p_value))
        );
    }
    s.push_str("\n## Error rate by source\n\n");
    rate_table(&mut s, "Source", &a.by_source, source_name);
    s.push_str("## Error rate by true class\n\n");
    rate_table(&mut s, "Class", &a.by_class, class_display);
    s.push_str("## Error rate by age band (years)\n\n");
    rate_table(&mut s, "Age", &a.by_age_band, str::to_owned);
    s.push_str("## Error rate by sex\n\n");
    rate_table(
        &mut s,
        "Sex",
        &CategoryTest {
            rows: a.sex.rates.clone(),
            chi2: a.sex.chi2_yates.clone(),
        },
        str::to_owned,
    );
    s
}

/// A colour per source, stable across plots.
fn source_color(id: &str) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 90, 200),
        RGBColor(210, 40, 40),
        RGBColor(40, 150, 70),
        RGBColor(230, 140, 20),
        RGBColor(130, 70, 180),
        RGBColor(20, 160, 170),
        RGBColor(190, 80, 140),
        RGBColor(120, 120, 120),
    ];
    // The adapters' sources keep their colours; a user source gets the grey.
    let i = id
        .parse::<SourceId>()
        .map_or(PALETTE.len() - 1, |s| s.rank().min(PALETTE.len() - 1));
    PALETTE[i]
}

/// `errors_by_source.png`: error rate per source (%) with Wilson intervals and the
/// overall rate as a dashed line.
///
/// # Errors
/// [`Error::Report`] from the plot.
pub fn source_plot(a: &ErrorAnalysis) -> Result<Vec<u8>> {
    let bars: Vec<Bar> = a
        .by_source
        .rows
        .iter()
        .map(|r| Bar {
            name: format!("{} (n = {})", source_name(&r.category), r.units),
            value: 100.0 * r.rate,
            interval: r.ci95.map(|[lo, hi]| [100.0 * lo, 100.0 * hi]),
            color: source_color(&r.category),
        })
        .collect();
    let overall = format!("all sources ({:.1}%)", 100.0 * a.error_rate);
    let title = match &a.by_source.chi2 {
        Some(c) => format!(
            "Misclassified patient-days by source (chi-square {})",
            p_eq(c.p_value)
        ),
        None => "Misclassified patient-days by source".to_owned(),
    };
    let height = (160 + 60 * bars.len() as u32).clamp(300, 900);
    Ok(bars_png(
        &title,
        "error rate (%), 95% Wilson interval",
        &bars,
        Some((&overall, 100.0 * a.error_rate)),
        (1000, height),
    )?)
}

/// Writes [`FILES`] into `dir` (created if needed): `error_analysis.json` (the
/// [`ErrorAnalysis`]), `error_analysis.md` ([`markdown`]) and `errors_by_source.png`
/// ([`source_plot`]). Everything is rendered before anything is written; each file is
/// written atomically. Returns the paths written.
///
/// # Errors
/// [`Error::Report`] from the plot, [`Error::Core`] from writing.
pub fn write(dir: &Path, a: &ErrorAnalysis) -> Result<Vec<PathBuf>> {
    let png = source_plot(a)?;
    crate::write_json_md_png(dir, FILES, a, &markdown(a), &png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::{PatientId, StudyDate, View};

    /// A record of patient `local` of `source`.
    fn rec(
        source: SourceId,
        local: &str,
        image: &str,
        label: Label,
        age: Option<f32>,
        sex: Option<Sex>,
    ) -> ImageRecord {
        let mut r = ImageRecord::new(
            PatientId::new(source, local),
            image,
            format!("{image}.png"),
            label,
            "test",
            View::Pa,
        );
        r.age = age;
        r.sex = sex;
        r.study_date = StudyDate::from_ymd(2020, 4, 1);
        r
    }

    /// A prediction for `record` on April `day`, right or wrong.
    fn pred(r: &ImageRecord, day: u32, right: bool) -> ImagePrediction {
        let truth = r.label.index();
        let guess = if right { truth } else { (truth + 1) % 3 };
        let mut probs = [0.1; 3];
        probs[guess] = 0.8;
        ImagePrediction {
            patient_id: r.patient.to_string(),
            study_date: StudyDate::from_ymd(2020, 4, day),
            image_id: r.image_id.clone(),
            label: r.label,
            probs,
        }
    }

    /// Ten patients, one image each, all with age and sex:
    /// errors: ages 60, 70, 80 (2 female, 1 male), padchest;
    /// correct: ages 20, 30, 40, 50, 30, 40, 50 (2 female, 5 male), 4 padchest + 3 covid-idc.
    fn complete() -> (Vec<ImageRecord>, Vec<ImagePrediction>) {
        use Label::*;
        use Sex::*;
        let spec = [
            (SourceId::Padchest, "e1", Healthy, 60.0, Female, false),
            (SourceId::Padchest, "e2", Healthy, 70.0, Female, false),
            (SourceId::Padchest, "e3", Bacterial, 80.0, Male, false),
            (SourceId::Padchest, "c1", Healthy, 20.0, Female, true),
            (SourceId::Padchest, "c2", Healthy, 30.0, Female, true),
            (SourceId::Padchest, "c3", Bacterial, 40.0, Male, true),
            (SourceId::Padchest, "c4", Bacterial, 50.0, Male, true),
            (SourceId::CovidIdc, "c5", Covid, 30.0, Male, true),
            (SourceId::CovidIdc, "c6", Covid, 40.0, Male, true),
            (SourceId::CovidIdc, "c7", Covid, 50.0, Male, true),
        ];
        let records: Vec<ImageRecord> = spec
            .iter()
            .map(|&(s, id, l, age, sex, _)| {
                rec(s, id, &format!("{id}-img"), l, Some(age), Some(sex))
            })
            .collect();
        let preds = records
            .iter()
            .zip(spec)
            .map(|(r, s)| pred(r, 1, s.5))
            .collect();
        (records, preds)
    }

    /// A source of the user's own is a row of the per-source table, after the adapters'.
    #[test]
    fn a_user_source_gets_its_row_after_the_adapters() {
        let (mut records, mut preds) = complete();
        let mine: SourceId = "my-hospital".parse().unwrap();
        for (i, right) in [(0, true), (1, false)] {
            let r = rec(
                mine,
                &format!("m{i}"),
                &format!("m{i}-img"),
                Label::Covid,
                None,
                None,
            );
            preds.push(pred(&r, 1, right));
            records.push(r);
        }
        let a = error_analysis(&records, &preds, 1).unwrap();
        let src: Vec<(&str, usize, usize)> = a
            .by_source
            .rows
            .iter()
            .map(|r| (r.category.as_str(), r.units, r.errors))
            .collect();
        assert_eq!(
            src,
            [
                ("covid-idc", 3, 0),
                ("padchest", 7, 3),
                ("my-hospital", 2, 1)
            ]
        );
        assert_eq!(a.by_source.chi2.as_ref().unwrap().df, 2);
        assert!(markdown(&a).contains("my-hospital"));
    }

    #[test]
    fn an_image_predicted_twice_is_refused() {
        // It would count twice in its patient's mean and in every table.
        let (records, mut preds) = complete();
        preds.push(preds[4].clone());
        let e = error_analysis(&records, &preds, 1).unwrap_err();
        assert!(e.to_string().contains("predicted twice"), "{e}");
    }

    #[test]
    fn counts_and_tests_match_hand_computation() {
        let (records, preds) = complete();
        let a = error_analysis(&records, &preds, 1).unwrap();
        assert_eq!((a.units, a.patients, a.errors), (10, 10, 3));
        assert_eq!(a.unmatched_predictions, 0);
        assert!((a.error_rate - 0.3).abs() < 1e-12);
        // Errors: mean age 70, SD 10; correct: mean 260/7, SD² = Σ(x − x̄)²/6.
        assert_eq!(a.misclassified.age_mean, Some(70.0));
        assert!((a.misclassified.age_sd.unwrap() - 10.0).abs() < 1e-12);
        let mc = 260.0 / 7.0;
        assert!((a.correct.age_mean.unwrap() - mc).abs() < 1e-12);
        let student = a.age.student.as_ref().unwrap();
        // Pooled variance: (2·100 + Σ(x − x̄)²) / 8, SE = sp·√(1/3 + 1/7).
        let ss: f64 = [20.0, 30.0, 40.0, 50.0, 30.0, 40.0, 50.0]
            .iter()
            .map(|x: &f64| (x - mc).powi(2))
            .sum();
        let se = ((200.0 + ss) / 8.0 * (1.0 / 3.0 + 1.0 / 7.0)).sqrt();
        assert!((student.statistic - (70.0 - mc) / se).abs() < 1e-10);
        assert_eq!(student.df, 8.0);
        assert!(student.p_value < 0.01);
        assert!(a.age.welch.is_some());
        // Sex: errors 1 male / 2 female, correct 5 male / 2 female.
        assert_eq!(a.sex.table, [[1, 2], [5, 2]]);
        let fisher = fisher_exact([[1, 2], [5, 2]]).unwrap();
        assert_eq!(a.sex.fisher.as_ref().unwrap().p_value, fisher.p_value);
        // Hypergeometric by hand: margins 3 / 7, 6 males; P(a) = C(6,a)C(4,3−a)/C(10,3)
        // = 4, 36, 60, 20 (/120) for a = 0..3; the observed a = 1 has 36, so the
        // two-sided p sums 4 + 36 + 20 = 60 → 0.5.
        assert!((fisher.p_value - 0.5).abs() < 1e-12);
        assert!(a.sex.chi2_yates.as_ref().unwrap().yates);
        // Source: padchest 3/7 errors, covid-idc 0/3.
        let src = &a.by_source.rows;
        assert_eq!(src.len(), 2);
        assert_eq!(
            (src[0].category.as_str(), src[0].units, src[0].errors),
            ("covid-idc", 3, 0)
        );
        assert_eq!(
            (src[1].category.as_str(), src[1].units, src[1].errors),
            ("padchest", 7, 3)
        );
        assert_eq!(src[0].ci95.unwrap()[0], 0.0);
        // X² of [[0, 3], [3, 4]] without correction: expected [[0.9, 2.1], [2.1, 4.9]],
        // X² = 0.81/0.9 + 0.81/2.1 + 0.81/2.1 + 0.81/4.9 = 1.8367…
        let chi2 = a.by_source.chi2.as_ref().unwrap();
        let x2 = 0.81 / 0.9 + 2.0 * 0.81 / 2.1 + 0.81 / 4.9;
        assert!((chi2.statistic - x2).abs() < 1e-12);
        assert_eq!(chi2.df, 1);
        // Class: healthy 2/4, covid 0/3, bacterial 1/3.
        let cls: Vec<(&str, usize, usize)> = a
            .by_class
            .rows
            .iter()
            .map(|r| (r.category.as_str(), r.units, r.errors))
            .collect();
        assert_eq!(
            cls,
            [("healthy", 4, 2), ("covid", 3, 0), ("bacterial", 3, 1)]
        );
        // Age bands: 18-39: 20, 30, 30 → 0/3; 40-59: 40, 50, 40, 50 → 0/4;
        // 60-79: 60, 70 → 2/2; 80+: 80 → 1/1.
        let bands: Vec<(&str, usize, usize)> = a
            .by_age_band
            .rows
            .iter()
            .map(|r| (r.category.as_str(), r.units, r.errors))
            .collect();
        assert_eq!(
            bands,
            [
                ("18-39", 3, 0),
                ("40-59", 4, 0),
                ("60-79", 2, 2),
                ("80+", 1, 1)
            ]
        );
        // Nothing missing: no MCAR test, no imputation.
        assert_eq!(a.missing.units_incomplete, 0);
        assert!(a.missing.little_mcar.is_none() && a.missing.age_student_imputed.is_none());
    }

    #[test]
    fn patient_days_average_images_and_unmatched_predictions_are_counted() {
        let r1 = rec(SourceId::Padchest, "p", "a", Label::Covid, Some(50.0), None);
        let r2 = rec(
            SourceId::Padchest,
            "p",
            "b",
            Label::Covid,
            None,
            Some(Sex::Female),
        );
        let r3 = rec(
            SourceId::Padchest,
            "q",
            "c",
            Label::Healthy,
            Some(30.0),
            None,
        );
        let mut p1 = pred(&r1, 1, true);
        p1.probs = [0.1, 0.3, 0.6]; // wrong alone …
        let mut p2 = pred(&r2, 1, true);
        p2.probs = [0.1, 0.8, 0.1]; // … but the day's mean [0.1, 0.55, 0.35] is right.
        let r4 = rec(SourceId::Padchest, "p", "d", Label::Covid, None, None);
        let p3 = pred(&r4, 2, false); // the next day: wrong.
        let p4 = pred(&r3, 1, true);
        let mut orphan = pred(&r3, 1, false);
        orphan.image_id = "not-in-records".into();
        let a = error_analysis(&[r1, r2, r3, r4], &[p1, p2, p3, p4, orphan], 7).unwrap();
        assert_eq!(a.predictions, 5);
        assert_eq!(a.unmatched_predictions, 1);
        assert_eq!(a.unmatched_examples, ["padchest:q/not-in-records"]);
        assert_eq!((a.units, a.patients, a.errors), (3, 2, 1));
        // Patient p: age from record a, sex from record b (first with a value).
        assert_eq!(a.misclassified.age_mean, None);
        assert_eq!(a.misclassified.age_known, 1);
        assert_eq!((a.misclassified.sex_known, a.misclassified.male), (1, 0));
        assert_eq!(a.missing.sex_missing, 1); // patient q
        // Two units per group at most: t-tests are undefined, not errors.
        assert!(a.age.student.is_none() && a.age.welch.is_none());
        assert!(a.by_source.chi2.is_none()); // one source
        assert!(a.sex.fisher.is_none()); // no male at all: empty margin
    }

    #[test]
    fn no_matching_prediction_is_an_error() {
        let r = rec(SourceId::Padchest, "p", "a", Label::Covid, None, None);
        let mut p = pred(&r, 1, true);
        p.patient_id = "p".into(); // not namespaced by the source
        let e = error_analysis(&[r], &[p], 1).unwrap_err();
        assert!(matches!(e, Error::Step { .. }), "{e}");
    }

    /// 40 units, errors older and more often female; a quarter of ages and some sexes
    /// missing.
    fn with_missing() -> (Vec<ImageRecord>, Vec<ImagePrediction>) {
        let mut records = Vec::new();
        let mut preds = Vec::new();
        for i in 0..40u32 {
            let error = i.is_multiple_of(4);
            let age = (i % 5 != 1).then_some((if error { 60.0 } else { 35.0 }) + (i % 7) as f32);
            let sex = (i % 6 != 2).then_some(if i.is_multiple_of(3) {
                Sex::Female
            } else {
                Sex::Male
            });
            let label = Label::ALL[(i % 3) as usize];
            let r = rec(SourceId::Padchest, &format!("p{i}"), "x", label, age, sex);
            preds.push(pred(&r, 1, !error));
            records.push(r);
        }
        (records, preds)
    }

    #[test]
    fn missing_demographics_run_little_and_imputation() {
        let (records, preds) = with_missing();
        let a = error_analysis(&records, &preds, 3).unwrap();
        assert_eq!((a.units, a.errors), (40, 10));
        // Ages missing for i ≡ 1 (mod 5): 8 units; sexes for i ≡ 2 (mod 6): 7 units
        // (2, 8, …, 38); both for i ∈ {26}: i ≡ 1 (mod 5) and ≡ 2 (mod 6) → 26 only.
        assert_eq!(a.missing.age_missing, 8);
        assert_eq!(a.missing.sex_missing, 7);
        assert_eq!(a.missing.units_incomplete, 8 + 7 - 1);
        let little = a.missing.little_mcar.as_ref().unwrap();
        assert!(little.p_value > 0.0 && little.p_value <= 1.0);
        let pooled = a.missing.age_student_imputed.as_ref().unwrap();
        assert_eq!(pooled.m, IMPUTATIONS);
        // Errors are ~25 years older: the pooled difference is near the complete-case one.
        let cc = a.age.student.as_ref().unwrap().mean_difference;
        assert!(
            (pooled.estimate - cc).abs() < 3.0,
            "{} vs {cc}",
            pooled.estimate
        );
        assert!(pooled.p_value < 1e-6);
        // Same seed, same numbers.
        let b = error_analysis(&records, &preds, 3).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn markdown_and_files_hold_the_numbers() {
        let (records, preds) = with_missing();
        let a = error_analysis(&records, &preds, 3).unwrap();
        let md = markdown(&a);
        assert!(
            md.contains("| Units (patients) | 10 (10) | 30 (30) | |"),
            "{md}"
        );
        assert!(md.contains("| PadChest | 40 | 10 | 25.0% |"), "{md}");
        assert!(md.contains("Little's MCAR"));
        let dir = tempfile::tempdir().unwrap();
        let paths = write(dir.path(), &a).unwrap();
        assert_eq!(paths.len(), 3);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(json["errors"], 10);
        assert_eq!(json["by_source"]["rows"][0]["category"], "padchest");
        let png = image::open(&paths[2]).unwrap().to_rgb8();
        // One bar, 25% of an axis that ends past its interval's upper bound.
        let RGBColor(r, g, b) = source_color("padchest");
        let bar = png.pixels().filter(|p| p.0 == [r, g, b]).count();
        assert!(bar > 1000, "no PadChest bar ({bar} pixels)");
    }
}
