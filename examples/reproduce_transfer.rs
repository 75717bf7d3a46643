//! Figure 4b: covid patients of one source (PadChest-covid = `bimcv-covid` in the paper)
//! kept out of training, then some of them added back (the paper: 0, 100, 500).
//!
//! `cargo run --release --example reproduce_transfer -- --synthetic --out out/transfer [--source bimcv-covid --add-back 0,100,500]`
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;
use cxr::core::SourceId;

#[derive(Parser)]
#[command(about = "Reproduce the transfer study (Figure 4b)")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
    /// The source whose covid patients are held out.
    #[arg(long, default_value = "bimcv-covid")]
    source: SourceId,
    /// How many of them go back into training, one arm each (default: 0, a fifth and
    /// half of that source's covid patients).
    #[arg(long, value_delimiter = ',')]
    add_back: Option<Vec<usize>>,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let add_back = match cli.add_back {
        Some(v) => v,
        None => {
            let p = cxr::experiments::studies::prepare(&ctx)?;
            let n = cxr::experiments::studies::covid_patients_by_source(&p.records)
                .get(&cli.source)
                .copied()
                .unwrap_or(0);
            vec![0, n / 5, n / 2]
        }
    };
    let rows = cxr::experiments::studies::transfer(&ctx, cli.source, &add_back)?;
    for r in &rows {
        println!(
            "{:<8} covid AUC {}",
            r.arm,
            r.auc[1].map_or("—".into(), |a| format!("{:.3}", a.0))
        );
    }
    println!(
        "results: {}",
        ctx.out.join("transfer/transfer.md").display()
    );
    Ok(())
}
