//! Scans one public source laid out under a folder and writes `records.csv` and
//! `exclusions.csv`, printing the counts by exclusion reason.
//!
//! `cargo run --release --example scan_source -- --source covid-idc --root DIR --out DIR`
#[path = "common/logging.rs"]
mod logging;
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use cxr_cohort::SourcePolicy;
use cxr_core::SourceId;

#[derive(Parser)]
#[command(about = "Scan a public chest X-ray source into records.csv and exclusions.csv")]
struct Args {
    /// covid-idc, coviddsl, padchest, bimcv-covid, nlm-tb, tbportals, qmenta, chestxray8.
    #[arg(long)]
    source: SourceId,
    /// The folder the source is laid out in (docs/data.md).
    #[arg(long)]
    root: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Days before the image a positive PCR may be (BIMCV-COVID19+; default 14).
    #[arg(long)]
    pcr_window_days: Option<u32>,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let policy = SourcePolicy {
        root: Some(a.root.clone()),
        pcr_window_days: a.pcr_window_days,
        ..SourcePolicy::keep_all(a.source)
    };
    let scan = cxr_sources::adapter(&policy)
        .scan(&a.root)
        .with_context(|| format!("scanning {} at {}", a.source, a.root.display()))?;
    cxr_core::manifest::write_records(&a.out.join("records.csv"), &scan.records)?;
    cxr_core::manifest::write_exclusions(&a.out.join("exclusions.csv"), &scan.exclusions)?;
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &scan.exclusions {
        *by_reason.entry(e.reason.kind()).or_default() += 1;
    }
    println!(
        "{}: {} items = {} records + {} exclusions",
        a.source,
        scan.items(),
        scan.records.len(),
        scan.exclusions.len()
    );
    for (reason, n) in by_reason {
        println!("  {reason:<20} {n}");
    }
    println!(
        "wrote {} and {}",
        a.out.join("records.csv").display(),
        a.out.join("exclusions.csv").display()
    );
    Ok(())
}
