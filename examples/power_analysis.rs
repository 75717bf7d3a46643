//! The paper's power analysis: validation patients needed to estimate an 80% detection
//! rate (the paper reports N = 1,314), with the specificity, hypothesis-test and AUC
//! readings and a grid over margins and prevalences.
//!
//! `cargo run --release --example power_analysis -- --out DIR [--config FILE.toml]`
//!
//! The TOML holds any of `PowerConfig`'s fields (`sensitivity`, `specificity`, `margin`,
//! `prevalence`, `alpha`, `power`, `null_sensitivity`, `sides`, `auc`, `auc_margin`,
//! `auc_variance`, `margins`, `prevalences`, `reported_n`); the others keep the paper's
//! values. Writes `DIR/power.json`, `DIR/power.md` and `DIR/power.png`:
//! `cxr_analysis::power` computes, `cxr_report::analysis::power` renders and writes.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr_analysis::power::{PowerConfig, power_analysis};
use cxr_report::analysis::power::write;

#[derive(Parser)]
#[command(about = "Validation patients needed: power.json, power.md, power.png")]
struct Args {
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Assumptions (TOML, all fields optional); the paper's by default.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => PowerConfig::load(path)?,
        None => PowerConfig::paper(),
    };
    let a = power_analysis(&config)?;
    println!(
        "sensitivity {:.0} % ± {:.1} % at prevalence {:.1} %: {} diseased, {} patients (Buderer); the paper reports {}",
        100.0 * config.sensitivity,
        100.0 * config.margin,
        100.0 * config.prevalence,
        a.sensitivity.cases,
        a.sensitivity.total,
        a.reported_n
    );
    println!(
        "specificity {:.0} %: {} patients; both: {}; test {:.0} % vs {:.0} % at power {:.0} %: {}; AUC {} ± {}: {}",
        100.0 * config.specificity,
        a.specificity.total,
        a.validation_patients,
        100.0 * config.null_sensitivity,
        100.0 * config.sensitivity,
        100.0 * config.power,
        a.sensitivity_test.total,
        config.auc,
        config.auc_margin,
        a.auc.total
    );
    for f in write(&args.out, &a)? {
        println!("wrote {}", f.display());
    }
    Ok(())
}
