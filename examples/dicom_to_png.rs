//! DICOM → 8-bit PNG, for a file or a folder tree.
//!
//! ```sh
//! cargo run --release --no-default-features --example dicom_to_png -- --input FILE_OR_DIR --output DIR [--jobs N] [--reduce N] [--shard I/N]
//! ```
//!
//! Writes `DIR/<relative path>.png` and `DIR/conversion.csv` (one row per input, with
//! status and error, the VOI applied, and whether the file is raw detector data or has
//! text burned into its pixels: docs/dicom.md). A disc or an export can be given whole:
//! its DICOMDIR, reports, presentation states and non-DICOM files are `skipped`, each
//! saying what it is. Exits 0 when the batch ran, even with error rows; non-zero for bad
//! arguments or an output folder that cannot be written. Run again into the same
//! `DIR` it converts only what is not finished (`DIR/.journal`). With `--shard I/N` it
//! converts the files that shard owns into the shared `DIR` and writes its part of the
//! table (`conversion.shard-I-of-N.csv`); `merge_shards DIR` joins the parts
//! (docs/scale.md).
#[path = "common/logging.rs"]
mod logging;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use cxr_core::shard::Shard;
use cxr_dicom::{BatchOptions, ConvertOptions, VoiChoice, convert_tree_shard};

#[derive(Parser)]
#[command(about = "Convert DICOM files to 8-bit grayscale PNG (Modality LUT, VOI, MONOCHROME1)")]
struct Args {
    /// A DICOM file or a folder (walked recursively; files need no .dcm extension).
    #[arg(long)]
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Frame of multi-frame images (0-based).
    #[arg(long, default_value_t = 0)]
    frame: u32,
    /// Ignore the files' windows and VOI LUTs: min–max, clipping this percent at each end.
    #[arg(long)]
    clip_percent: Option<f64>,
    /// Write images at 1/2^N of their size (0..=5; JPEG 2000 then decodes only the lower
    /// resolutions, several times faster).
    #[arg(long, default_value_t = 0)]
    reduce: u8,
    /// Do not flush each PNG to disk before renaming it into place (faster where the disk
    /// is the limit; after a machine crash some PNGs may be empty).
    #[arg(long)]
    no_sync: bool,
    /// Only this shard of the input (I/N, I from 0), into the shared --output.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let args = Args::parse();
    anyhow::ensure!(
        args.input.exists(),
        "input {} does not exist",
        args.input.display()
    );
    let mut convert = ConvertOptions {
        frame: args.frame,
        reduce: args.reduce,
        ..ConvertOptions::default()
    };
    if let Some(p) = args.clip_percent {
        convert.voi = VoiChoice::MinMax;
        convert.minmax_clip_percent = p;
    }
    let options = BatchOptions {
        convert,
        jobs: args.jobs,
        sync: !args.no_sync,
    };
    let pb = cxr::core::progress::bar(0, "converting", true);
    let report = convert_tree_shard(&args.input, &args.output, &options, args.shard, Some(&pb))
        .with_context(|| {
            format!(
                "converting {} into {}",
                args.input.display(),
                args.output.display()
            )
        })?;
    pb.finish_and_clear();
    println!(
        "{} converted, {} skipped (not DICOM images: a DICOMDIR, reports, other files), {} failed \
         ({} done now, {} finished before); manifest: {}",
        report.ok(),
        report.skipped(),
        report.failed(),
        report.converted,
        report.resumed,
        report.manifest.display()
    );
    for row in report
        .rows
        .iter()
        .filter(|r| r.status == cxr_dicom::Status::Error)
        .take(10)
    {
        eprintln!("  {}: {}", row.input, row.error);
    }
    // What the files say about themselves that the PNGs cannot (docs/dicom.md).
    let processing = report.rows.iter().filter(|r| r.is_for_processing()).count();
    let burned = report
        .rows
        .iter()
        .filter(|r| r.burned_in_annotation == Some(true))
        .count();
    if processing + burned > 0 {
        eprintln!(
            "note: {processing} file(s) marked FOR PROCESSING (raw detector data, not the image as read) \
             and {burned} with text burned into the pixels (which the PNGs keep): see the columns \
             presentation_intent and burned_in_annotation of the manifest"
        );
    }
    Ok(())
}
