//! Is the classifier reading the lungs or the hospital? The shortcut audit on any cohort
//! (`cxr::experiments::studies::audit_shortcuts`): the main experiment with its audit
//! (source probes on masked and whole images, within-source AUC, saliency inside the
//! lungs), then the same split's classifier trained on whole images and audited alike,
//! and with `--loso` the leave-one-source-out matrix for both inputs.
//!
//! `cargo run --release --example audit_shortcuts -- --synthetic --out out/demo --loso`
//! (`configs/confounded.toml`: phantoms with a border tied to covid-19, the shortcut
//! made on purpose; `docs/reproducing.md` records both runs)
#[path = "common/experiment.rs"]
mod common;
#[path = "common/logging.rs"]
mod logging;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Shortcut audit: masked against whole-image input")]
struct Cli {
    #[command(flatten)]
    run: common::ExperimentArgs,
    /// Also the leave-one-source-out matrix for both inputs (one classifier per source
    /// and input).
    #[arg(long)]
    loso: bool,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let cli = Cli::parse();
    let ctx = cli.run.context()?;
    let audit = cxr::experiments::studies::audit_shortcuts(&ctx, cli.loso)?;
    for f in cxr::report::audit::findings(&audit) {
        println!("- {f}");
    }
    println!("audit: {}", ctx.out.join("audit/audit.md").display());
    Ok(())
}
