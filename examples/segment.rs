//! Segments every image of a folder with a trained run: masks at each input's size,
//! overlays, and `qc.csv` with the paper's quality-gate verdict per image.
//!
//! `cargo run --release --example segment -- --weights RUN --input DIR --out DIR [--shard I/N] [--backend torch|pure]`
//!
//! It reads what `predict` reads: PNG, JPEG, TIFF, BMP, WebP and DICOM (by extension,
//! by a UID-like name or by content; a README or a table beside the images is left
//! alone), from a folder or one image file. `--backend pure`
//! runs the network without libtorch (`cxr::infer`); built with `--no-default-features`
//! that is the only backend. With `--shard I/N` it segments the images that shard owns
//! into the shared `--out` and writes its part of the table (`qc.shard-I-of-N.csv`);
//! `merge_shards DIR` joins the parts. A run stopped half-way and started again skips
//! what it finished.
#[path = "common/backend.rs"]
mod backend;
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use backend::{Backend, DEFAULT_BACKEND};
use clap::Parser;
use cxr::core::shard::Shard;
use cxr::lungseg::postprocess::PostprocessOptions;
use cxr::lungseg::qc::QcOptions;
use cxr::lungseg::{LungSegmenter, ShardRun, segment_dir_shard};
use indicatif::ProgressBar;

#[derive(Parser)]
#[command(about = "Segment lungs and apply the quality gate to a folder of images")]
struct Args {
    /// A run folder written by train_segmenter.
    #[arg(long)]
    weights: PathBuf,
    /// Folder of PNG, JPEG, TIFF, BMP, WebP or DICOM images (DICOM by any name: `.dcm`, none, a UID), or
    /// one image file.
    #[arg(long)]
    input: PathBuf,
    /// Output folder: masks/, overlays/, qc.csv.
    #[arg(long)]
    out: PathBuf,
    /// Only this shard of the input (I/N, I from 0), into the shared --out.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
    #[command(flatten)]
    gate: gate::GateArgs,
    /// Which library runs the network (`pure`: without libtorch).
    #[arg(long, value_enum, default_value_t = DEFAULT_BACKEND)]
    backend: Backend,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    // A bad gate is refused before the model loads.
    let qc = a.gate.options()?;
    let pb = cxr::core::progress::bar(0, "segmenting", true);
    let run = match a.backend {
        Backend::Torch => torch::segment(&a, &qc, &pb)?,
        Backend::Pure => segment_with(&cxr::infer::Segmenter::load(&a.weights)?, &a, &qc, &pb)?,
    };
    pb.finish_and_clear();
    let rows = &run.rows;
    let count = |f: &dyn Fn(&cxr::lungseg::QcRow) -> bool| rows.iter().filter(|r| f(r)).count();
    let skipped = count(&|r| r.status == "skipped");
    println!(
        "{} images ({} segmented now, {} finished before): {} accepted, {} rejected, {} errors{}; {}",
        rows.len(),
        run.segmented,
        run.resumed,
        count(&|r| r.verdict.as_deref() == Some("accept")),
        count(&|r| r.verdict.as_deref() == Some("reject")),
        count(&|r| r.status == "error"),
        if skipped > 0 {
            format!(", {skipped} skipped (DICOM objects that hold no image: see the table)")
        } else {
            String::new()
        },
        run.table.display()
    );
    let near = count(&|r| r.near_cut == Some(true));
    if near > 0 {
        println!(
            "note: {near} verdict(s) lie within a percentage point of the gate's cut \
             (`near_cut` in {}): another segmenter, or this one on another machine, may decide \
             otherwise",
            run.table.display()
        );
    }
    if rows.is_empty() {
        eprintln!(
            "note: no {} image under {}",
            cxr::dicom::IMAGE_FILES.what,
            a.input.display()
        );
    }
    Ok(())
}

/// The folder through either library's segmenter.
fn segment_with<S: LungSegmenter>(
    seg: &S,
    a: &Args,
    qc: &QcOptions,
    pb: &ProgressBar,
) -> anyhow::Result<ShardRun> {
    Ok(segment_dir_shard(
        seg,
        &a.input,
        &cxr::dicom::IMAGE_FILES,
        &a.out,
        &PostprocessOptions::default(),
        qc,
        a.shard,
        Some(cxr::report::layers::lungs_overlay),
        Some(pb),
    )?)
}

#[cfg(feature = "torch")]
mod torch {
    use super::{Args, QcOptions, ShardRun};
    use indicatif::ProgressBar;

    pub fn segment(a: &Args, qc: &QcOptions, pb: &ProgressBar) -> anyhow::Result<ShardRun> {
        let seg = cxr::lungseg::Segmenter::load(&a.weights, cxr::nn::device_from_env()?)?;
        super::segment_with(&seg, a, qc, pb)
    }
}

#[cfg(not(feature = "torch"))]
mod torch {
    use super::{Args, QcOptions, ShardRun};
    use indicatif::ProgressBar;

    pub fn segment(_: &Args, _: &QcOptions, _: &ProgressBar) -> anyhow::Result<ShardRun> {
        anyhow::bail!(crate::backend::NO_TORCH)
    }
}
