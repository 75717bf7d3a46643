//! Predicts class probabilities with a trained classifier run, for a manifest or a folder.
//!
//! `cargo run --release --example predict -- --run RUN --input M.csv|DIR --out P.csv`
//!
//! Lung masks come from the segmenter the run recorded (cached next to `P.csv` under
//! `<P>_masks/`), or from the manifest's `mask_path` column with `--mask-column`. One row
//! per accepted image, in the CSV format `evaluate` reads (patient, date and label from
//! the manifest; a folder's images have no label). Images the gate rejects, and images
//! that fail, go to `<P>_rejected.csv` with their reason.
#[path = "common/logging.rs"]
mod logging;
use std::path::{Path, PathBuf};

use clap::Parser;
use cxr::classifier::data::{
    Rejection, examples_from_segmenter, examples_with_mask_column, write_rejections,
};
use cxr::classifier::infer::{PredictionRow, predict_examples, write_predictions};
use cxr::classifier::{Classifier, Example, Pipeline};
use cxr::lungseg::Segmenter;
use cxr::lungseg::postprocess::PostprocessOptions;
use cxr::lungseg::qc::QcOptions;
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
    /// Quality gate: lungs that must be found (the paper: 2).
    #[arg(long, default_value_t = 2)]
    min_lungs: u8,
    /// Quality gate: smallest share of the image the lungs must cover (the paper: 0.30).
    #[arg(long, default_value_t = 0.30)]
    min_fraction: f32,
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
    let qc = QcOptions {
        min_lungs: a.min_lungs,
        min_fraction: a.min_fraction,
    };
    // Refuse a bad gate before loading anything, rather than rejecting every image.
    qc.validate()
        .map_err(|e| anyhow::anyhow!("--min-lungs / --min-fraction: {e}"))?;
    let device = cxr::nn::device_from_env()?;
    let clf = Classifier::load(&a.run, device)?;
    let seg_dir = a
        .segmenter
        .clone()
        .or_else(|| clf.config().segmenter.clone());
    let mut rows = Vec::new();
    let mut rejected: Vec<Rejection> = Vec::new();
    if a.input.is_dir() {
        let seg_dir = seg_dir.ok_or_else(|| anyhow::anyhow!("a folder needs a segmenter"))?;
        let mut pipeline = Pipeline::new(Segmenter::load(&seg_dir, device)?, clf);
        pipeline.qc = qc;
        let mut files: Vec<PathBuf> = walk(&a.input)?;
        files.sort();
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
    } else {
        let records = cxr::core::manifest::read_records(&a.input)?;
        let (examples, bad): (Vec<Example>, Vec<Rejection>) = match (&seg_dir, a.mask_column) {
            (Some(s), false) => {
                let seg = Segmenter::load(s, device)?;
                let pb = bar(records.len(), "segmenting")?;
                let out = examples_from_segmenter(
                    &records,
                    &seg,
                    &sibling(&a.out, "_masks"),
                    &PostprocessOptions::default(),
                    &qc,
                    Some(&pb),
                );
                pb.finish_and_clear();
                out
            }
            _ => examples_with_mask_column(&records, a.input.parent().unwrap_or(Path::new("."))),
        };
        rejected.extend(bad);
        // Rows are matched to their record by (image id, source), which `read_records`
        // has already checked to be unique.
        let by_id: std::collections::HashMap<(&str, &str), &cxr::core::ImageRecord> = records
            .iter()
            .map(|r| ((r.image_id.as_str(), r.source.as_str()), r))
            .collect();
        let pb = bar(examples.len(), "predicting")?;
        let probs = predict_examples(&clf, &examples, 16, Some(&pb));
        pb.finish_and_clear();
        for (ex, p) in examples.iter().zip(probs) {
            let r = by_id
                .get(&(ex.image_id.as_str(), ex.source()))
                .ok_or_else(|| anyhow::anyhow!("image `{}` has no record", ex.image_id))?;
            match p {
                Ok(p) => rows.push(PredictionRow::new(r, &p)?),
                Err(e) => rejected.push(Rejection::new(r, "error", cxr::core::error_chain(&e))),
            }
        }
    }
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

/// Image files under `dir`: PNG, JPEG, DICOM (`.dcm` or no extension).
fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let ext = p
                .extension()
                .map(|x| x.to_string_lossy().to_ascii_lowercase());
            if matches!(ext.as_deref(), None | Some("png" | "jpg" | "jpeg" | "dcm")) {
                out.push(p);
            }
        }
    }
    Ok(out)
}
