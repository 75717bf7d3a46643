//! Segments every image of a folder with a trained run: masks at each input's size,
//! overlays, and `qc.csv` with the paper's quality-gate verdict per image.
//!
//! `cargo run --release --example segment -- --weights RUN --input DIR --out DIR`
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::lungseg::postprocess::PostprocessOptions;
use cxr::lungseg::qc::QcOptions;
use cxr::lungseg::{Segmenter, segment_dir};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(about = "Segment lungs and apply the quality gate to a folder of images")]
struct Args {
    /// A run folder written by train_segmenter.
    #[arg(long)]
    weights: PathBuf,
    /// Folder of PNG/JPEG images.
    #[arg(long)]
    input: PathBuf,
    /// Output folder: masks/, overlays/, qc.csv.
    #[arg(long)]
    out: PathBuf,
    /// Minimum lung fraction of the gate.
    #[arg(long, default_value_t = 0.30)]
    min_fraction: f32,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let seg = Segmenter::load(&a.weights, cxr::nn::device_from_env()?)?;
    let qc = QcOptions {
        min_fraction: a.min_fraction,
        ..QcOptions::default()
    };
    let pb = ProgressBar::new(0).with_style(ProgressStyle::with_template(
        "segmenting [{bar:40}] {pos}/{len} ({eta})",
    )?);
    let rows = segment_dir(
        &seg,
        &a.input,
        &a.out,
        &PostprocessOptions::default(),
        &qc,
        Some(&pb),
    )?;
    pb.finish_and_clear();
    let count = |f: &dyn Fn(&cxr::lungseg::QcRow) -> bool| rows.iter().filter(|r| f(r)).count();
    println!(
        "{} images: {} accepted, {} rejected, {} errors; {}",
        rows.len(),
        count(&|r| r.verdict == Some("accept")),
        count(&|r| r.verdict == Some("reject")),
        count(&|r| r.status == "error"),
        a.out.join("qc.csv").display()
    );
    Ok(())
}
