//! Evaluates classifier predictions the way the paper does: patient-level (same-day
//! averaged) scores → confusion matrix, one-vs-rest ROC/AUC with DeLong and bootstrap
//! intervals, Table 3 metrics at the accuracy-maximising cut-off.
//!
//! `cargo run --release --example evaluate -- --predictions P.csv --out DIR [--rounds N --seed S]`
//!
//! Writes `DIR/metrics.json`, `DIR/report.md`, `DIR/roc.png` and `DIR/confusion.png`;
//! a bad input row is reported with its line number and nothing is written.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use cxr_eval::Grouping;
use cxr_eval::evaluate::EvaluateOptions;
use cxr_report::evaluate::{Options, run};
use cxr_stats::{BootstrapOptions, Criterion, IntervalMethod};

#[derive(Clone, Copy, ValueEnum)]
enum GroupingArg {
    /// One unit per patient and day, images averaged (the paper).
    PatientDay,
    /// One unit per patient.
    Patient,
    /// One unit per image.
    Image,
}

#[derive(Clone, Copy, ValueEnum)]
enum CutoffArg {
    /// Maximum accuracy (the paper).
    MaxAccuracy,
    /// Maximum Youden J.
    Youden,
    /// Closest to the top-left corner.
    ClosestTopleft,
}

#[derive(Parser)]
#[command(about = "Evaluate predictions: metrics.json, report.md, roc.png, confusion.png")]
struct Args {
    /// Predictions CSV (patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial).
    #[arg(long)]
    predictions: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Bootstrap rounds.
    #[arg(long, default_value_t = 2000)]
    rounds: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 2020)]
    seed: u64,
    /// Evaluation unit.
    #[arg(long, value_enum, default_value = "patient-day")]
    grouping: GroupingArg,
    /// Operating-point criterion.
    #[arg(long, value_enum, default_value = "max-accuracy")]
    cutoff: CutoffArg,
    /// BCa instead of percentile bootstrap intervals.
    #[arg(long)]
    bca: bool,
    /// Stop with an error when a unit's images carry different labels (by default such
    /// a unit is left out, listed in the report and warned about).
    #[arg(long)]
    strict_labels: bool,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let options = Options {
        predictions: args.predictions.clone(),
        out: args.out.clone(),
        evaluate: EvaluateOptions {
            grouping: match args.grouping {
                GroupingArg::PatientDay => Grouping::PatientDay,
                GroupingArg::Patient => Grouping::Patient,
                GroupingArg::Image => Grouping::Image,
            },
            criterion: match args.cutoff {
                CutoffArg::MaxAccuracy => Criterion::MaxAccuracy,
                CutoffArg::Youden => Criterion::Youden,
                CutoffArg::ClosestTopleft => Criterion::ClosestTopLeft,
            },
            bootstrap: BootstrapOptions {
                rounds: args.rounds,
                seed: args.seed,
                method: if args.bca {
                    IntervalMethod::Bca
                } else {
                    IntervalMethod::Percentile
                },
                ..Default::default()
            },
            fail_on_label_conflict: args.strict_labels,
            ..Default::default()
        },
    };
    let outputs =
        run(&options).with_context(|| format!("evaluating {}", args.predictions.display()))?;
    let e = &outputs.evaluation;
    for c in &e.label_conflicts {
        tracing::warn!(unit = %c.unit, labels = ?c.labels, "unit left out: its images carry different labels");
    }
    if !e.label_conflicts.is_empty() {
        eprintln!(
            "{} unit(s) left out because their images carry different labels (listed in \
             report.md; --strict-labels makes this an error)",
            e.label_conflicts.len()
        );
    }
    if e.undated_images > 0 {
        eprintln!(
            "{} image(s) without a study date, each evaluated as a unit of its own",
            e.undated_images
        );
    }
    println!("{}", cxr_report::markdown::summary(e));
    for f in &outputs.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
