//! `predict` over a folder or a manifest, whole or as one [`Shard`] of a run split over a
//! cluster: the predictions table (the CSV `evaluate` reads) and the rejections beside
//! it, rows in the order of the inputs' paths; every finished input journaled, so that a
//! run killed and started again predicts only the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cxr_core::shard::{Journal, Shard, Table};
use cxr_eval::{PredictionRow, write_predictions};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::data::{Masks, Rejection, write_rejections};
use crate::error::{Error, Result};
use crate::infer::{Classifier, Pipeline, predict_manifest};

/// What became of one input: a row of the predictions, or of the rejections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Classified.
    Predicted(PredictionRow),
    /// Refused by the gate, or failed.
    Rejected(Rejection),
}

/// What a prediction run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PredictRun {
    /// A row per image classified, ordered by path.
    pub rows: Vec<PredictionRow>,
    /// A rejection per image the gate refused or that failed, ordered by path.
    pub rejected: Vec<Rejection>,
    /// Inputs found finished in the journal (a restarted run) and not predicted again.
    pub resumed: usize,
    /// Inputs predicted (or rejected) by this call.
    pub predicted: usize,
    /// The predictions table written (`P.csv`, or the shard's part of it).
    pub predictions: PathBuf,
    /// The rejections table written (`P_rejected.csv`, or the shard's part).
    pub rejections: PathBuf,
}

/// The rejections table beside the predictions `out`: `P.csv` → `P_rejected.csv`.
pub fn rejections_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}_rejected.csv"))
}

/// The images `predict` takes from a folder: PNG, JPEG and DICOM (`.dcm`, or no
/// extension).
pub fn is_image(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|x| x.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), None | Some("png" | "jpg" | "jpeg" | "dcm"))
}

/// The run's journal, with settings that change whenever a row would: the classifier's
/// configuration, weights and temperature, the segmenter's and the gate's when masks come
/// from it.
fn open_journal(
    out: &Path,
    shard: Shard,
    clf: &Classifier,
    masks: serde_json::Value,
) -> Result<Journal<Outcome>> {
    let settings = serde_json::json!({
        "classifier": clf.config(),
        "weights": cxr_nn::checkpoint::weights_id(clf.run_dir())?,
        "temperature": clf.temperature().filter(|_| clf.temperature_scaling()),
        "masks": masks,
    })
    .to_string();
    let dir = out.parent().unwrap_or(Path::new("."));
    let stem = out
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    let file = |p: PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let tables = [
        Table::new(&file(out.to_path_buf()), "path"),
        Table::new(&file(rejections_path(out)), "path"),
    ];
    Journal::open_in(dir, shard, &stem, &settings, &tables).map_err(Error::Journal)
}

fn segmenter_settings(
    seg: &cxr_lungseg::Segmenter,
    post: &cxr_lungseg::postprocess::PostprocessOptions,
    qc: &cxr_lungseg::qc::QcOptions,
) -> serde_json::Value {
    serde_json::json!({
        "segmenter": seg.config(),
        "weights": seg.weights_id(),
        "post": post,
        "qc": qc,
    })
}

/// Writes the run's two tables (the shard's parts of them) and sums up.
fn finish(
    out: &Path,
    shard: Shard,
    outcomes: Vec<Outcome>,
    resumed: usize,
    predicted: usize,
) -> Result<PredictRun> {
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for o in outcomes {
        match o {
            Outcome::Predicted(r) => rows.push(r),
            Outcome::Rejected(r) => rejected.push(r),
        }
    }
    // Path order, component by component: the order merge_all gives the shards' parts.
    rows.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));
    rejected.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));
    let predictions = out.with_file_name(shard.part_name(&out.file_name().map_or_else(
        || "predictions.csv".into(),
        |n| n.to_string_lossy().into_owned(),
    )));
    let rej = rejections_path(out);
    let rejections = rej.with_file_name(shard.part_name(&rej.file_name().map_or_else(
        || "predictions_rejected.csv".into(),
        |n| n.to_string_lossy().into_owned(),
    )));
    write_predictions(&predictions, &rows)?;
    write_rejections(&rejections, &rejected)?;
    Ok(PredictRun {
        rows,
        rejected,
        resumed,
        predicted,
        predictions,
        rejections,
    })
}

/// A rejection of a file known only by its path (a folder's image): no source or
/// patient, the file stem as image id.
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

/// Every image under `dir` ([`is_image`], walked as [`cxr_core::walk::files`] walks)
/// that `shard` owns, through the pipeline: a prediction row per image the gate accepts
/// (unlabelled, the file stem as patient and image), a rejection (the gate's verdict or
/// the error) per other file. Writes `out` and `<out>_rejected.csv` (a shard: its parts
/// of them, `P.shard-I-of-N.csv`, which `cxr_core::shard::merge_all` joins) and journals
/// each input as it finishes (`<out's folder>/.journal/<P>…jsonl`): run again, it
/// predicts only what it had not finished; a shard's journal of another model or gate is
/// refused, the whole input's starts over.
///
/// # Errors
///
/// The journal cannot be used or a table written; the weights cannot be read. Bad
/// images are rejections.
pub fn predict_folder(
    pipeline: &Pipeline,
    dir: &Path,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let masks = segmenter_settings(&pipeline.segmenter, &pipeline.post, &pipeline.qc);
    let mut journal = open_journal(out, shard, &pipeline.classifier, masks)?;
    let mut outcomes = Vec::new();
    let mut files = Vec::new();
    for entry in cxr_core::walk::files(dir, None) {
        let (path, walk_error) = match entry {
            Ok(f) if is_image(&f) => (f, None),
            Ok(_) => continue,
            Err((d, e)) => (d, Some(e)),
        };
        let key = Shard::key(path.strip_prefix(dir).unwrap_or(&path));
        if shard.owns(&key) {
            files.push((key, path, walk_error));
        }
    }
    if let Some(pb) = progress {
        pb.set_length(files.len() as u64);
    }
    let (mut resumed, mut predicted) = (0, 0);
    for (key, path, walk_error) in files {
        if let Some(o) = journal.done(&key) {
            outcomes.push(o.clone());
            resumed += 1;
        } else {
            let o = match walk_error {
                Some(e) => Outcome::Rejected(file_rejection(&path, "error", e.to_string())),
                None => match pipeline.run(&path) {
                    Ok(o) => match o.probabilities {
                        Some(p) => Outcome::Predicted(PredictionRow::unlabelled(&path, &p)?),
                        None => Outcome::Rejected(file_rejection(
                            &path,
                            o.qc.verdict.code(),
                            o.qc.verdict.to_string(),
                        )),
                    },
                    Err(e) => {
                        Outcome::Rejected(file_rejection(&path, "error", cxr_core::error_chain(&e)))
                    }
                },
            };
            journal.record(&key, o.clone()).map_err(Error::Journal)?;
            outcomes.push(o);
            predicted += 1;
        }
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    finish(out, shard, outcomes, resumed, predicted)
}

/// [`predict_manifest`] over the records that `shard` owns (by their image's path
/// relative to `base`, the manifest's folder), in batches of `batch`, into `out` and
/// `<out>_rejected.csv` (or the shard's parts of them), journaled per batch as
/// [`predict_folder`] journals: run again, it predicts only the records it had not
/// finished.
///
/// # Errors
///
/// As [`predict_folder`], and [`predict_manifest`]'s.
#[allow(clippy::too_many_arguments)]
pub fn predict_records_to(
    clf: &Classifier,
    records: &[cxr_core::ImageRecord],
    masks: Masks<'_>,
    base: &Path,
    batch: usize,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let settings = match &masks {
        Masks::Segmenter {
            segmenter,
            post,
            qc,
            ..
        } => segmenter_settings(segmenter, post, qc),
        Masks::Column { .. } => serde_json::json!("mask_path column"),
    };
    let mut journal = open_journal(out, shard, clf, settings)?;
    let key = |r: &cxr_core::ImageRecord| Shard::key(r.path.strip_prefix(base).unwrap_or(&r.path));
    let mine: Vec<&cxr_core::ImageRecord> =
        records.iter().filter(|r| shard.owns(&key(r))).collect();
    if let Some(pb) = progress {
        pb.set_length(mine.len() as u64);
    }
    let mut outcomes = Vec::new();
    let mut todo = Vec::new();
    for r in mine {
        match journal.done(&key(r)) {
            Some(o) => outcomes.push(o.clone()),
            None => todo.push(r.clone()),
        }
    }
    let resumed = outcomes.len();
    if let Some(pb) = progress {
        pb.inc(resumed as u64);
    }
    for chunk in todo.chunks(batch.max(1)) {
        let (rows, rejected) = predict_manifest(clf, chunk, masks, batch, progress)?;
        let by_path: HashMap<String, String> = chunk
            .iter()
            .map(|r| (r.path.to_string_lossy().into_owned(), key(r)))
            .collect();
        let done: Vec<Outcome> = rows
            .into_iter()
            .map(Outcome::Predicted)
            .chain(rejected.into_iter().map(Outcome::Rejected))
            .collect();
        let entries = done
            .iter()
            .map(|o| {
                let path = match o {
                    Outcome::Predicted(r) => &r.path,
                    Outcome::Rejected(r) => &r.path,
                };
                (
                    by_path.get(path).cloned().unwrap_or_else(|| path.clone()),
                    o.clone(),
                )
            })
            .collect();
        journal.record_all(entries).map_err(Error::Journal)?;
        outcomes.extend(done);
    }
    finish(out, shard, outcomes, resumed, todo.len())
}
