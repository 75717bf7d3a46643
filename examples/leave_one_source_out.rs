//! Beyond the paper: for every source, train on all the others (without near-duplicates
//! of the held-out source's images) and test on it; then all held-out predictions
//! together against the random split, and the drop between the two. Shows how much of
//! the performance is source shortcut.
//!
//! `cargo run --release --example leave_one_source_out -- --synthetic --out out/main`
//! (use the main experiment's folder to get the comparison with its random split;
//! `--input whole` for a classifier that sees the whole image, as `audit_shortcuts` does)
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;
use cxr::classifier::InputMode;

#[derive(Parser)]
#[command(about = "Leave-one-source-out study")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
    /// The classifier's input: `masked` (the paper's) or `whole` (the whole image); the
    /// settings' own by default.
    #[arg(long, value_parser = parse_input)]
    input: Option<InputMode>,
}

fn parse_input(s: &str) -> Result<InputMode, String> {
    match s {
        "masked" => Ok(InputMode::Masked),
        "whole" => Ok(InputMode::Whole),
        other => Err(format!("{other}: expected masked or whole")),
    }
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let input = cli.input.unwrap_or(ctx.config.classifier.model.input);
    let s = cxr::experiments::studies::leave_one_source_out(&ctx, input, None)?;
    for r in &s.rows {
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
    if let Some(d) = s.covid_drop() {
        println!("covid-19 AUC drop, random split → unseen sources: {d:.3}");
    }
    println!(
        "results: {}",
        cxr::experiments::studies::loso_dir(&ctx, input)
            .join("loso.md")
            .display()
    );
    Ok(())
}
