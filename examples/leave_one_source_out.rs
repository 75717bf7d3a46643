//! Beyond the paper: for every source, train on all the others and test on it; then all
//! held-out predictions together against the random split. Shows how much of the
//! performance is source shortcut.
//!
//! `cargo run --release --example leave_one_source_out -- --synthetic --out out/main`
//! (use the main experiment's folder to get the comparison with its random split)
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Leave-one-source-out study")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let rows = cxr::experiments::studies::leave_one_source_out(&ctx)?;
    for r in &rows {
        let auc = |i: usize| r.auc[i].map_or("—".into(), |a| format!("{:.3}", a.0));
        println!(
            "{:<12} accuracy {:.3}  AUC healthy {} covid {} bacterial {}",
            r.arm,
            r.accuracy,
            auc(0),
            auc(1),
            auc(2)
        );
    }
    println!("results: {}", ctx.out.join("loso/loso.md").display());
    Ok(())
}
