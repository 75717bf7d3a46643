//! Supplementary Table 1: are the classifier's errors related to the patient's age, sex
//! or source? Misclassified against correctly classified patient-days: age t-tests,
//! sex chi-square / Fisher, error rate per source, class and age band with Wilson
//! intervals, Little's MCAR test and multiple imputation for missing demographics.
//!
//! `cargo run --release --example error_analysis -- --run RUN --out DIR [--seed S]`
//! (RUN is a `reproduce_main` run folder: `RUN/cohort/records.csv`, `RUN/predictions.csv`)
//!
//! `cargo run --release --example error_analysis -- --records R.csv --predictions P.csv --out DIR`
//!
//! Writes `DIR/error_analysis.json`, `DIR/error_analysis.md` and
//! `DIR/errors_by_source.png`: `cxr_analysis::error_analysis` computes,
//! `cxr_report::analysis::error_analysis` renders and writes.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use cxr_analysis::error_analysis::error_analysis;
use cxr_report::analysis::error_analysis::write;

#[derive(Parser)]
#[command(
    about = "Errors against age, sex and source: error_analysis.json, error_analysis.md, errors_by_source.png"
)]
struct Args {
    /// A `reproduce_main` run folder (reads cohort/records.csv and predictions.csv).
    #[arg(long, conflicts_with_all = ["records", "predictions"], required_unless_present_all = ["records", "predictions"])]
    run: Option<PathBuf>,
    /// Records CSV (instead of --run).
    #[arg(long, requires = "predictions")]
    records: Option<PathBuf>,
    /// Predictions CSV (instead of --run).
    #[arg(long, requires = "records")]
    predictions: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the multiple imputation.
    #[arg(long, default_value_t = 2020)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let (records_csv, predictions_csv) = match (&args.run, &args.records, &args.predictions) {
        (Some(run), _, _) => (
            run.join("cohort").join("records.csv"),
            run.join("predictions.csv"),
        ),
        (None, Some(r), Some(p)) => (r.clone(), p.clone()),
        _ => anyhow::bail!("give --run, or --records and --predictions"),
    };
    let records = cxr_core::manifest::read_records(&records_csv)
        .with_context(|| format!("reading {}", records_csv.display()))?;
    let predictions = cxr_eval::read_predictions(&predictions_csv)
        .with_context(|| format!("reading {}", predictions_csv.display()))?;
    let a = error_analysis(&records, &predictions, args.seed)?;
    let p = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
    println!(
        "{} patient-days of {} patients: {} misclassified ({:.1} %)",
        a.units,
        a.patients,
        a.errors,
        100.0 * a.error_rate
    );
    if a.unmatched_predictions > 0 {
        println!(
            "{} of {} predictions had no record and were left out",
            a.unmatched_predictions, a.predictions
        );
    }
    let mean = |m: Option<f64>| m.map_or("-".to_owned(), |m| format!("{m:.1}"));
    println!(
        "age: misclassified {} vs correct {} years, t-test p = {} (Welch {})",
        mean(a.misclassified.age_mean),
        mean(a.correct.age_mean),
        p(a.age.student.as_ref().map(|t| t.p_value)),
        p(a.age.welch.as_ref().map(|t| t.p_value))
    );
    println!(
        "sex: male {}/{} misclassified vs {}/{} correct, chi-square p = {}, Fisher p = {}",
        a.misclassified.male,
        a.misclassified.sex_known,
        a.correct.male,
        a.correct.sex_known,
        p(a.sex.chi2_yates.as_ref().map(|c| c.p_value)),
        p(a.sex.fisher.as_ref().map(|f| f.p_value))
    );
    for r in &a.by_source.rows {
        println!(
            "{:>12}: {}/{} errors ({:.1} %)",
            r.category,
            r.errors,
            r.units,
            100.0 * r.rate
        );
    }
    println!(
        "source: chi-square p = {}; missing age {}, sex {}; Little's MCAR p = {}; imputed age p = {}",
        p(a.by_source.chi2.as_ref().map(|c| c.p_value)),
        a.missing.age_missing,
        a.missing.sex_missing,
        p(a.missing.little_mcar.as_ref().map(|l| l.p_value)),
        p(a.missing.age_student_imputed.as_ref().map(|e| e.p_value))
    );
    for f in write(&args.out, &a)? {
        println!("wrote {}", f.display());
    }
    Ok(())
}
