//! Predicts class probabilities with a trained classifier run, for a manifest or a folder.
//!
//! `cargo run --release --example predict -- --run RUN --input M.csv|DIR --out P.csv`
//!
//! Lung masks come from the segmenter the run recorded (cached next to `P.csv` under
//! `<P>_masks/`), or from the manifest's `mask_path` column with `--mask-column`. One row
//! per accepted image, in the CSV format `evaluate` reads (patient, date and label from
//! the manifest; a folder's images have no label). Images the gate rejects, and images
//! that fail, go to `<P>_rejected.csv` with their reason.
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::{Path, PathBuf};

use clap::Parser;
use cxr::classifier::data::{Masks, Rejection, write_rejections};
use cxr::classifier::infer::predict_manifest;
use cxr::classifier::{Classifier, Pipeline};
use cxr::eval::{PredictionRow, write_predictions};
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
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}{suffix}"))
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
    let (rows, rejected) = if a.input.is_dir() {
        let segmenter = segmenter.ok_or_else(|| anyhow::anyhow!("a folder needs a segmenter"))?;
        let mut pipeline = Pipeline::new(segmenter, clf);
        pipeline.qc = qc;
        predict_folder(&pipeline, &a.input)?
    } else {
        let records = cxr::core::manifest::read_records(&a.input)?;
        let (cache, post) = (sibling(&a.out, "_masks"), PostprocessOptions::default());
        let base = a.input.parent().unwrap_or(Path::new("."));
        let masks = Masks::segmenter_or_column(segmenter.as_ref(), &cache, &post, &qc, base);
        let pb = bar(records.len(), "predicting")?;
        let predicted = predict_manifest(&clf, &records, masks, 16, Some(&pb))?;
        pb.finish_and_clear();
        predicted
    };
    write_predictions(&a.out, &rows)?;
    let rej = sibling(&a.out, "_rejected.csv");
    write_rejections(&rej, &rejected)?;
    println!(
        "{} predicted → {}; {} left out → {}",
        rows.len(),
        a.out.display(),
        rejected.len(),
        rej.display()
    );
    Ok(())
}

/// Every image under `dir` (PNG, JPEG, DICOM: `.dcm` or no extension) through the
/// pipeline; a row per accepted image, a rejection (the gate's verdict or the error) per
/// other file.
fn predict_folder(
    pipeline: &Pipeline,
    dir: &Path,
) -> anyhow::Result<(Vec<PredictionRow>, Vec<Rejection>)> {
    let is_image = |p: &Path| {
        let ext = p
            .extension()
            .map(|x| x.to_string_lossy().to_ascii_lowercase());
        matches!(ext.as_deref(), None | Some("png" | "jpg" | "jpeg" | "dcm"))
    };
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    let mut files = Vec::new();
    for entry in cxr::core::walk::files(dir, None) {
        match entry {
            Ok(f) if is_image(&f) => files.push(f),
            Ok(_) => {}
            Err((d, e)) => rejected.push(file_rejection(&d, "error", e.to_string())),
        }
    }
    let pb = bar(files.len(), "predicting")?;
    for f in files {
        match pipeline.run(&f) {
            Ok(o) => match o.probabilities {
                Some(p) => rows.push(PredictionRow::unlabelled(&f, &p)?),
                None => rejected.push(file_rejection(
                    &f,
                    o.qc.verdict.code(),
                    o.qc.verdict.to_string(),
                )),
            },
            Err(e) => rejected.push(file_rejection(&f, "error", cxr::core::error_chain(&e))),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok((rows, rejected))
}

fn file_rejection(path: &Path, reason: &str, detail: String) -> Rejection {
    Rejection {
        source: String::new(),
        patient_id: String::new(),
        image_id: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_string_lossy().into_owned(),
        reason: reason.into(),
        detail,
    }
}
