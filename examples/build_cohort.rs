//! Builds the cohort from a configuration: scans every source with a root, applies the
//! per-source policy, finds duplicates, splits by patient, writes manifest, exclusions,
//! duplicate groups, split and Tables 1–2. See `docs/data.md` for `cohort.toml`.
//!
//! `cargo run --release --example build_cohort -- --config cohort.toml --out DIR`
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr_sources::{BuildConfig, build_cohort};

#[derive(Parser)]
#[command(about = "Build the patient-level cohort and its split from cohort.toml")]
struct Args {
    /// The configuration (TOML).
    #[arg(long)]
    config: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let config = BuildConfig::load(&a.config)?;
    let pb = cxr::core::progress::bar(0, "hashing images", true);
    let r = build_cohort(&config, &a.out, Some(&pb))?;
    pb.finish_and_clear();
    for (id, e) in &r.failed_sources {
        eprintln!("source {id} not scanned: {e}");
    }
    for (path, e) in &r.unreadable {
        eprintln!("unreadable image {}: {e}", path.display());
    }
    println!(
        "{} patients, {} images, {} exclusions, {} duplicate groups",
        r.patients, r.images, r.exclusions, r.duplicate_groups
    );
    println!("split {:?} (sha256 {})", r.split.counts(), r.split_sha256);
    println!("wrote {}", a.out.display());
    Ok(())
}
