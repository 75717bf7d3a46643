//! Predicts class probabilities with a trained classifier run, for a manifest or a folder.
//!
//! `cargo run --release --example predict -- --run RUN --input M.csv|DIR --out P.csv [--shard I/N]`
//!
//! Lung masks come from the segmenter the run recorded (cached next to `P.csv` under
//! `<P>_masks/`), or from the manifest's `mask_path` column with `--mask-column`. One row
//! per accepted image, in the CSV format `evaluate` reads (patient, date and label from
//! the manifest; a folder's images have no label), ordered by path. Images the gate
//! rejects, and images that fail, go to `<P>_rejected.csv` with their reason. Run again
//! with the same `--out`, it predicts only what it had not finished (`.journal` beside
//! `P.csv`). With `--shard I/N` it predicts the images that shard owns and writes its
//! parts of both tables (`P.shard-I-of-N.csv`); `merge_shards DIR` joins them
//! (docs/scale.md).
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::{Path, PathBuf};

use clap::Parser;
use cxr::classifier::batch::{predict_folder, predict_records_to};
use cxr::classifier::data::Masks;
use cxr::classifier::{Classifier, Pipeline};
use cxr::core::shard::Shard;
use cxr::lungseg::Segmenter;
use cxr::lungseg::postprocess::PostprocessOptions;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(about = "Predict healthy / covid-19 / bacterial probabilities")]
struct Args {
    /// A run folder written by train_classifier.
    #[arg(long)]
    run: PathBuf,
    /// records.csv, or a folder of PNG/JPEG/DICOM images.
    #[arg(long)]
    input: PathBuf,
    /// Predictions CSV.
    #[arg(long)]
    out: PathBuf,
    /// Use the manifest's mask_path column instead of the run's segmenter.
    #[arg(long)]
    mask_column: bool,
    /// Another segmenter run than the one the classifier recorded.
    #[arg(long)]
    segmenter: Option<PathBuf>,
    #[command(flatten)]
    gate: gate::GateArgs,
    /// The network's own probabilities, without the run's temperature scaling
    /// (`RUN/temperature.json`).
    #[arg(long)]
    no_temperature: bool,
    /// Only this shard of the input (I/N, I from 0); its tables go beside --out.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
}

/// Where the masks of a manifest's images are cached: `<P>_masks/` beside `P.csv`.
fn masks_cache(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}_masks"))
}

fn bar(len: usize, what: &str) -> anyhow::Result<ProgressBar> {
    Ok(
        ProgressBar::new(len as u64).with_style(ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{pos}}/{{len}} ({{eta}})"
        ))?),
    )
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let qc = a.gate.options()?;
    let device = cxr::nn::device_from_env()?;
    let mut clf = Classifier::load(&a.run, device)?;
    clf.set_temperature_scaling(!a.no_temperature);
    match clf.temperature() {
        Some(t) => {
            eprintln!("temperature scaling: T = {t:.3} (the run's; --no-temperature turns it off)")
        }
        None => eprintln!("temperature scaling: off"),
    }
    let seg_dir = a
        .segmenter
        .clone()
        .or_else(|| clf.config().segmenter.clone());
    let segmenter = match (&seg_dir, a.mask_column && !a.input.is_dir()) {
        (Some(s), false) => Some(Segmenter::load(s, device)?),
        _ => None,
    };
    let run = if a.input.is_dir() {
        let segmenter = segmenter.ok_or_else(|| anyhow::anyhow!("a folder needs a segmenter"))?;
        let mut pipeline = Pipeline::new(segmenter, clf);
        pipeline.qc = qc;
        let pb = bar(0, "predicting")?;
        let run = predict_folder(&pipeline, &a.input, &a.out, a.shard, Some(&pb))?;
        pb.finish_and_clear();
        run
    } else {
        let records = cxr::core::manifest::read_records(&a.input)?;
        let (cache, post) = (masks_cache(&a.out), PostprocessOptions::default());
        let base = a.input.parent().unwrap_or(Path::new("."));
        let masks = Masks::segmenter_or_column(segmenter.as_ref(), &cache, &post, &qc, base);
        let pb = bar(0, "predicting")?;
        let run = predict_records_to(&clf, &records, masks, base, 16, &a.out, a.shard, Some(&pb))?;
        pb.finish_and_clear();
        run
    };
    println!(
        "{} predicted → {}; {} left out → {} ({} done now, {} finished before)",
        run.rows.len(),
        run.predictions.display(),
        run.rejected.len(),
        run.rejections.display(),
        run.predicted,
        run.resumed
    );
    Ok(())
}
