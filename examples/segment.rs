//! Segments every image of a folder with a trained run: masks at each input's size,
//! overlays, and `qc.csv` with the paper's quality-gate verdict per image.
//!
//! `cargo run --release --example segment -- --weights RUN --input DIR --out DIR [--shard I/N]`
//!
//! With `--shard I/N` it segments the images that shard owns into the shared `--out`
//! and writes its part of the table (`qc.shard-I-of-N.csv`); `merge_shards DIR` joins
//! the parts. A run stopped half-way and started again skips what it finished.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::core::shard::Shard;
use cxr::lungseg::postprocess::PostprocessOptions;
use cxr::lungseg::qc::QcOptions;
use cxr::lungseg::{Segmenter, segment_dir_shard};
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
    /// Only this shard of the input (I/N, I from 0), into the shared --out.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
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
    let run = segment_dir_shard(
        &seg,
        &a.input,
        &a.out,
        &PostprocessOptions::default(),
        &qc,
        a.shard,
        Some(&pb),
    )?;
    pb.finish_and_clear();
    let rows = &run.rows;
    let count = |f: &dyn Fn(&cxr::lungseg::QcRow) -> bool| rows.iter().filter(|r| f(r)).count();
    println!(
        "{} images ({} segmented now, {} finished before): {} accepted, {} rejected, {} errors; {}",
        rows.len(),
        run.segmented,
        run.resumed,
        count(&|r| r.verdict.as_deref() == Some("accept")),
        count(&|r| r.verdict.as_deref() == Some("reject")),
        count(&|r| r.status == "error"),
        run.table.display()
    );
    if rows.is_empty() {
        eprintln!(
            "note: no PNG or JPEG image under {}; segment reads those (convert DICOM files \
             with dicom_to_png first, or use predict, which reads DICOM too)",
            a.input.display()
        );
    }
    Ok(())
}
