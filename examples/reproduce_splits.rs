//! Figure 4a: the classifier trained on 33 %, 50 %, 66 % and 90 % of the patients (each
//! repeated over seeds), tested on the rest; AUCs with DeLong intervals, a plot.
//!
//! `cargo run --release --example reproduce_splits -- --synthetic --out out/splits [--fractions 0.33,0.5,0.66,0.9 --seeds 1,2,3]`
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Reproduce the training-set-size study (Figure 4a)")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
    /// Shares of patients used for training.
    #[arg(long, value_delimiter = ',', default_value = "0.33,0.5,0.66,0.9")]
    fractions: Vec<f64>,
    /// Split seeds (one arm per fraction and seed).
    #[arg(long, value_delimiter = ',', default_value = "2020,2021,2022")]
    seeds: Vec<u64>,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let rows = cxr::experiments::studies::splits(&ctx, &cli.fractions, &cli.seeds)?;
    for r in &rows {
        println!(
            "{:<18} covid AUC {}",
            r.arm,
            r.auc[1].map_or("—".into(), |a| format!("{:.3}", a.0))
        );
    }
    println!("results: {}", ctx.out.join("splits/splits.md").display());
    Ok(())
}
