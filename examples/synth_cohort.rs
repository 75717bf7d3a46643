//! Writes a synthetic multi-source cohort: PNG images, lung masks and `records.csv`.
//!
//! `cargo run --release --example synth_cohort -- --preset demo --out out/demo/cohort`
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use cxr_synth::{CohortPlan, SynthConfig, plan_cases, write_cohort};

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    /// All eight source styles, a few hundred patients per class (the `make demo` cohort).
    Demo,
    /// The paper's Table 1 composition at 1/20 scale.
    Paper,
    /// A handful of patients, for a quick look.
    Tiny,
}

#[derive(Parser)]
#[command(about = "Write a synthetic chest X-ray cohort (images, lung masks, records.csv)")]
struct Args {
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Cohort composition.
    #[arg(long, value_enum, default_value = "demo")]
    preset: Preset,
    /// Image size in pixels (square).
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Random seed.
    #[arg(long, default_value_t = 2020)]
    seed: u64,
    /// Share of bad images (the quality gate should reject them).
    #[arg(long, default_value_t = 0.02)]
    bad_fraction: f64,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    let plan = match args.preset {
        Preset::Demo => CohortPlan::demo(),
        Preset::Paper => CohortPlan::paper_table1(0.05),
        Preset::Tiny => CohortPlan::tiny(),
    };
    let config = SynthConfig {
        size: args.size,
        bad_fraction: args.bad_fraction,
        ..SynthConfig::default()
    };
    config.validate()?;
    let cases = plan_cases(&plan, &config, args.seed)?;
    let pb = cxr::core::progress::bar(cases.len() as u64, "images", true);
    pb.set_message(format!("of {} patients", plan.patients()));
    let files = write_cohort(&args.out, &cases, &config, Some(&pb))
        .with_context(|| format!("writing the cohort under {}", args.out.display()))?;
    pb.finish();
    for (id, e) in &files.failures {
        eprintln!("failed: {id}: {e}");
    }
    println!(
        "wrote {} images of {} patients ({} failed)\nrecords: {}",
        files.records.len(),
        plan.patients(),
        files.failures.len(),
        files.records_csv.display()
    );
    Ok(())
}
