//! Two models on the same test images, paired: accuracy with McNemar's test, Cohen's
//! kappa, and each class's AUC with the paired DeLong test.
//!
//! `cargo run --release --example compare_models -- --first A.csv --second B.csv --out DIR [--names A,B] [--grouping patient-day|patient|image] [--level 0.95]`
//!
//! Both CSVs are predictions files as `evaluate` reads them (`RUN/predictions.csv` of a
//! run). Writes `DIR/compare.json`, `DIR/compare.md` and `DIR/compare.png`:
//! `cxr_analysis::compare` computes, `cxr_report::analysis::compare` renders and writes.
#[path = "common/logging.rs"]
mod logging;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use cxr_analysis::compare::{CompareOptions, compare};
use cxr_eval::Grouping;
use cxr_report::analysis::compare::write;

#[derive(Clone, Copy, ValueEnum)]
enum GroupingArg {
    /// One unit per patient and day, images averaged (the paper).
    PatientDay,
    /// One unit per patient.
    Patient,
    /// One unit per image.
    Image,
}

#[derive(Parser)]
#[command(about = "Compare two models on the same images: compare.json, compare.md, compare.png")]
struct Args {
    /// Predictions CSV of the first model.
    #[arg(long)]
    first: PathBuf,
    /// Predictions CSV of the second model.
    #[arg(long)]
    second: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Names of the two models in the outputs (default: the files' folder names).
    #[arg(long, value_delimiter = ',')]
    names: Option<Vec<String>>,
    /// Evaluation unit.
    #[arg(long, value_enum, default_value = "patient-day")]
    grouping: GroupingArg,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
}

/// The name of the folder holding `path` (`out/main/predictions.csv` → `main`), else
/// the file's stem.
fn default_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .or_else(|| path.file_stem())
        .map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let options = CompareOptions {
        grouping: match args.grouping {
            GroupingArg::PatientDay => Grouping::PatientDay,
            GroupingArg::Patient => Grouping::Patient,
            GroupingArg::Image => Grouping::Image,
        },
        level: args.level,
    };
    let names = match args.names.as_deref() {
        Some([a, b]) => [a.clone(), b.clone()],
        Some(other) => anyhow::bail!("--names takes two names, A,B; got {}", other.len()),
        None => [default_name(&args.first), default_name(&args.second)],
    };
    anyhow::ensure!(
        names[0] != names[1],
        "both models are called `{}`: give --names A,B",
        names[0]
    );
    let read = |p: &PathBuf| {
        cxr_eval::read_predictions(p).with_context(|| format!("reading {}", p.display()))
    };
    let (a, b) = (read(&args.first)?, read(&args.second)?);
    let c = compare(&a, &b, [&names[0], &names[1]], &options)?;
    println!(
        "{} units of {} patients ({} images in both; left out: {} only in {}, {} only in {})",
        c.units, c.patients, c.images, c.only_first, names[0], c.only_second, names[1]
    );
    for (name, acc) in names.iter().zip(&c.accuracy) {
        println!(
            "{name:>12}: accuracy {:.1} % ({:.1}–{:.1} %)",
            100.0 * acc.accuracy,
            100.0 * acc.ci[0],
            100.0 * acc.ci[1]
        );
    }
    println!(
        "McNemar: only {} right {}, only {} right {}, exact p = {:.4}",
        names[0], c.mcnemar.b, names[1], c.mcnemar.c, c.mcnemar.exact_p_value
    );
    for &label in cxr_core::Label::ALL {
        if let Some(x) = c.per_class.get(label) {
            println!(
                "{:>12}: AUC {:.4} vs {:.4}, difference {:+.4} ({:+.4} to {:+.4}), DeLong p = {:.4}",
                label.as_str(),
                x.auc[0],
                x.auc[1],
                x.auc[0] - x.auc[1],
                x.delong.ci_diff[0],
                x.delong.ci_diff[1],
                x.delong.p_value
            );
        }
    }
    for f in write(&args.out, &c)? {
        println!("wrote {}", f.display());
    }
    Ok(())
}
