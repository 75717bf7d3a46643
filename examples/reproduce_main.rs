//! The paper's main experiment (Figure 3, Table 3): cohort → lung segmenter → quality
//! gate → patient-level 50/50 split → classifier → prediction → patient-level evaluation
//! → `OUT/report.md`.
//!
//! `cargo run --release --example reproduce_main -- --synthetic --out out/main`
//! `cargo run --release --example reproduce_main -- --data-root DATA --segmenter SEGRUN --config cfg.toml --out out/main`
//!
//! `make demo` runs it on the synthetic demo cohort. Re-running with the same folder
//! continues an interrupted run, or re-renders a finished one from its files.
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Reproduce the main experiment (Figure 3, Table 3)")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let t0 = std::time::Instant::now();
    let out = cxr::experiments::run::reproduce_main(&ctx)?;
    let e = &out.evaluation;
    let auc = |l: cxr::core::Label| {
        e.per_class
            .get(l)
            .as_ref()
            .map_or("—".to_string(), |m| format!("{:.3}", m.auc))
    };
    println!(
        "{} test units: accuracy {:.1} %, AUC covid-19 {}, bacterial {}, healthy {} ({:.0} s)",
        e.n_units,
        100.0 * e.global_accuracy,
        auc(cxr::core::Label::Covid),
        auc(cxr::core::Label::Bacterial),
        auc(cxr::core::Label::Healthy),
        t0.elapsed().as_secs_f64()
    );
    println!("report: {}", out.report.display());
    Ok(())
}
