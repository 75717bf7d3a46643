//! `predict` over a folder or a manifest, whole or as one [`Shard`] of a run split over a
//! cluster: the predictions table (the CSV `evaluate` reads) and the rejections beside
//! it, rows in the order of the inputs' paths; every finished input journaled, so that a
//! run killed and started again predicts only the rest.

use std::path::{Path, PathBuf};

use cxr_core::ImageRecord;
use cxr_core::shard::{Journal, Shard, Table};
use cxr_eval::{PredictionRow, write_predictions};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::run::{BoxError, ImagePipeline};
use cxr_lungseg::qc::NEAR_CUT_CODE;

/// The extra manifest column holding a record's lung mask.
pub const MASK_COLUMN: &str = "mask_path";

/// The lung mask a record's [`MASK_COLUMN`] names, relative paths taken from `base` (the
/// manifest's folder, as the `path` column's are).
///
/// # Errors
///
/// The detail of the rejection when the record has no value there.
pub fn mask_column_path(r: &ImageRecord, base: &Path) -> std::result::Result<PathBuf, String> {
    let m = r
        .extras
        .get(MASK_COLUMN)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| format!("no `{MASK_COLUMN}` value and no segmenter given"))?;
    let m = Path::new(m);
    Ok(if m.is_relative() {
        base.join(m)
    } else {
        m.to_path_buf()
    })
}

/// A record left out because the quality gate rejected its image, or because it could not
/// be segmented.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Rejection {
    /// Source.
    pub source: String,
    /// Patient id.
    pub patient_id: String,
    /// Image id.
    pub image_id: String,
    /// Image path.
    pub path: String,
    /// `lungs_not_found`, `lungs_too_small` or `error`. (For images predicted from a
    /// folder, source and patient are empty and the image id is the file stem.)
    pub reason: String,
    /// The human-readable detail.
    pub detail: String,
}

impl Rejection {
    /// A record left out for `reason` (a code such as `lungs_too_small` or `error`).
    pub fn new(r: &ImageRecord, reason: &str, detail: String) -> Self {
        Rejection {
            source: r.source.as_str().into(),
            patient_id: r.patient.to_string(),
            image_id: r.image_id.clone(),
            path: r.path.to_string_lossy().into_owned(),
            reason: reason.into(),
            detail,
        }
    }
}

/// Writes rejections as CSV (atomically).
pub fn write_rejections(path: &Path, rows: &[Rejection]) -> Result<(), Error> {
    let header = [
        "source",
        "patient_id",
        "image_id",
        "path",
        "reason",
        "detail",
    ];
    Ok(cxr_core::write_csv(path, &header, rows)?)
}

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

/// The run's journal, `settings` (whatever the rows depend on: the models, their
/// weights, the gate, the backend) recorded in it.
fn open_journal(
    out: &Path,
    shard: Shard,
    settings: &serde_json::Value,
) -> Result<Journal<Outcome>> {
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
    Journal::open_in(dir, shard, &stem, &settings.to_string(), &tables).map_err(Error::Journal)
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

/// A classified image's outcome: its row, with what calls for caution in its `cautions`
/// column: what its file `path` declares (a DICOM header's [`cxr_dicom::Caution`]s, read
/// again up to Pixel Data), then [`NEAR_CUT_CODE`] when the gate's verdict was `near_cut`
/// ([`cxr_lungseg::qc::LungQc::near_cut`]). A header that cannot be read now (the file
/// changed since it was decoded) makes the image a failure rather than a row without its
/// cautions.
pub(crate) fn with_cautions(mut row: PredictionRow, path: &Path, near_cut: bool) -> Outcome {
    match cxr_dicom::file_cautions(path) {
        Ok(c) => {
            let mut codes: Vec<&str> = c.iter().map(|c| c.code()).collect();
            if near_cut {
                codes.push(NEAR_CUT_CODE);
            }
            row.cautions = codes.join(";");
            Outcome::Predicted(row)
        }
        Err(e) => Outcome::Rejected(Rejection {
            source: row.source,
            patient_id: row.patient_id,
            image_id: row.image_id,
            path: row.path,
            reason: "error".into(),
            detail: cxr_core::error_chain(&e),
        }),
    }
}

/// A rejection of a file known only by its path (a folder's image): no source or
/// patient, its name without the image extension as image id.
fn file_rejection(path: &Path, reason: &str, detail: String) -> Rejection {
    Rejection {
        source: String::new(),
        patient_id: String::new(),
        image_id: cxr_core::names::image_stem(path),
        path: path.to_string_lossy().into_owned(),
        reason: reason.into(),
        detail,
    }
}

/// Every image under `dir` ([`cxr_dicom::is_image_file`], walked as
/// [`cxr_core::walk::files`] walks) that `shard` owns, through `pipeline` (either
/// backend's: [`ImagePipeline`]): a prediction row per image the gate accepts
/// (unlabelled, the file's [`image_stem`](cxr_core::names::image_stem) as patient and
/// image), a rejection (the gate's verdict or the error) per other file. Writes `out` and
/// `<out>_rejected.csv` (a shard: its parts of them, `P.shard-I-of-N.csv`, which
/// `cxr_core::shard::merge_all` joins) and journals each input as it finishes (`<out's
/// folder>/.journal/<P>…jsonl`): run again, it predicts only what it had not finished; a
/// shard's journal of another model, gate or backend is refused, the whole input's
/// starts over.
///
/// # Errors
///
/// The journal cannot be used or a table written; the pipeline's settings cannot be
/// read. Bad images are rejections.
pub fn predict_folder<P: ImagePipeline + ?Sized>(
    pipeline: &P,
    dir: &Path,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let mut files = Vec::new();
    for entry in cxr_core::walk::files(dir, None) {
        let (path, walk_error) = match entry {
            Ok(f) if cxr_dicom::is_image_file(&f) => (f, None),
            Ok(_) => continue,
            Err((d, e)) => (d, Some(e)),
        };
        let key = Shard::key(path.strip_prefix(dir).unwrap_or(&path));
        if shard.owns(&key) {
            files.push((key, path, walk_error));
        }
    }
    predict_files(pipeline, files, out, shard, progress)
}

/// One image file (PNG, JPEG, TIFF, BMP, WebP or DICOM, whatever its name), as
/// [`predict_folder`] predicts
/// a folder's: its row or its rejection in `out` and `<out>_rejected.csv`, journaled.
///
/// # Errors
///
/// As [`predict_folder`].
pub fn predict_file<P: ImagePipeline + ?Sized>(
    pipeline: &P,
    file: &Path,
    out: &Path,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let key = Shard::key(Path::new(file.file_name().unwrap_or(file.as_os_str())));
    let files = vec![(key, file.to_path_buf(), None)];
    predict_files(pipeline, files, out, Shard::WHOLE, progress)
}

/// [`predict_folder`]'s work on the files chosen: (journal key, path, walk error).
fn predict_files<P: ImagePipeline + ?Sized>(
    pipeline: &P,
    files: Vec<(String, PathBuf, Option<std::io::Error>)>,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let mut journal = open_journal(out, shard, &pipeline.settings()?)?;
    let mut outcomes = Vec::new();
    if let Some(pb) = progress {
        pb.set_length(files.len() as u64);
    }
    let (mut resumed, mut predicted) = (0, 0);
    for (key, path, walk_error) in files {
        if let Some(o) = journal.done(&key) {
            outcomes.push(o.clone());
            resumed += 1;
        } else {
            let failed = |detail: String| Outcome::Rejected(file_rejection(&path, "error", detail));
            let answer = match walk_error {
                Some(e) => Err(Box::new(e) as BoxError),
                None => cxr_dicom::load_image_with(&path, cxr_core::LoadOptions::default())
                    .map_err(|e| input_error(&path, e))
                    .and_then(|img| pipeline.run_image(&img)),
            };
            let o = match answer {
                // A disc's DICOMDIR, a report, a presentation state: not a failure.
                Err(e) if cxr_dicom::is_not_an_image(e.as_ref()) => Outcome::Rejected(
                    file_rejection(&path, NOT_AN_IMAGE, cxr_core::error_chain(e.as_ref())),
                ),
                Ok(o) => match o.probabilities {
                    Some(p) => with_cautions(
                        PredictionRow::unlabelled(&path, &p)?,
                        &path,
                        o.qc.near_cut(pipeline.gate()),
                    ),
                    None => Outcome::Rejected(file_rejection(
                        &path,
                        o.qc.verdict.code(),
                        o.qc.describe(pipeline.gate()),
                    )),
                },
                Err(e) => failed(cxr_core::error_chain(e.as_ref())),
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

/// The rejection reason of a DICOM object that holds no image by its SOP class
/// ([`cxr_dicom::Error::NotAnImage`]: the DICOMDIR of a disc, a structured report, a
/// presentation state), found among a folder's images.
pub const NOT_AN_IMAGE: &str = "not_an_image";

/// An image that cannot be read, naming it.
fn input_error(path: &Path, e: cxr_dicom::LoadError) -> BoxError {
    Box::new(Error::Input {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// A manifest's records that `shard` owns (by their image's path relative to `base`,
/// the manifest's folder), one at a time through `pipeline` (either backend's), into
/// `out` and `<out>_rejected.csv` (or the shard's parts), journaled as [`predict_folder`]
/// journals. With `mask_column` the masks come from the manifest's [`MASK_COLUMN`]
/// (relative to `base`) and only the classifier runs; else the pipeline segments and
/// gates each image. Rows carry the records' patients, dates and labels.
///
/// The libtorch backend has a faster way for manifests, which batches the network and
/// caches masks: `predict_records_to` (under the `torch` feature).
///
/// # Errors
///
/// As [`predict_folder`].
pub fn predict_records_with<P: ImagePipeline + ?Sized>(
    pipeline: &P,
    records: &[ImageRecord],
    base: &Path,
    mask_column: bool,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    let mut settings = pipeline.settings()?;
    if mask_column {
        settings["masks"] = serde_json::json!(MASK_COLUMN);
    }
    let mut journal = open_journal(out, shard, &settings)?;
    let key = |r: &ImageRecord| Shard::key(r.path.strip_prefix(base).unwrap_or(&r.path));
    let mine: Vec<&ImageRecord> = records.iter().filter(|r| shard.owns(&key(r))).collect();
    if let Some(pb) = progress {
        pb.set_length(mine.len() as u64);
    }
    let (mut outcomes, mut resumed, mut predicted) = (Vec::new(), 0, 0);
    for r in mine {
        let k = key(r);
        if let Some(o) = journal.done(&k) {
            outcomes.push(o.clone());
            resumed += 1;
        } else {
            let o = match predict_record(pipeline, r, base, mask_column) {
                Ok(Ok((p, near_cut))) => {
                    with_cautions(PredictionRow::new(r, &p)?, &r.path, near_cut)
                }
                Ok(Err((code, detail))) => Outcome::Rejected(Rejection::new(r, code, detail)),
                Err(e) => Outcome::Rejected(Rejection::new(
                    r,
                    "error",
                    cxr_core::error_chain(e.as_ref()),
                )),
            };
            journal.record(&k, o.clone()).map_err(Error::Journal)?;
            outcomes.push(o);
            predicted += 1;
        }
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    finish(out, shard, outcomes, resumed, predicted)
}

/// One record's answer: its probabilities and whether the gate's verdict was near its
/// cut, or the gate's code and verdict.
type RecordAnswer = std::result::Result<(Vec<f32>, bool), (&'static str, String)>;

fn predict_record<P: ImagePipeline + ?Sized>(
    pipeline: &P,
    r: &ImageRecord,
    base: &Path,
    mask_column: bool,
) -> std::result::Result<RecordAnswer, BoxError> {
    let img = cxr_dicom::load_record_image(r).map_err(|e| input_error(&r.path, e))?;
    if mask_column {
        let mask = cxr_core::LungMask::load(&mask_column_path(r, base)?)?;
        return Ok(Ok((pipeline.classify(&img, &mask)?, false)));
    }
    let o = pipeline.run_image(&img)?;
    Ok(match o.probabilities {
        Some(p) => Ok((p, o.qc.near_cut(pipeline.gate()))),
        None => Err((o.qc.verdict.code(), o.qc.describe(pipeline.gate()))),
    })
}

/// [`predict_manifest`](crate::infer::predict_manifest) over the records that `shard`
/// owns (by their image's path relative to `base`, the manifest's folder), in batches of `batch`, into `out` and
/// `<out>_rejected.csv` (or the shard's parts of them), journaled per batch as
/// [`predict_folder`] journals: run again, it predicts only the records it had not
/// finished.
///
/// # Errors
///
/// As [`predict_folder`], and [`predict_manifest`](crate::infer::predict_manifest)'s.
#[cfg(feature = "torch")]
#[allow(clippy::too_many_arguments)]
pub fn predict_records_to(
    clf: &crate::Classifier,
    records: &[cxr_core::ImageRecord],
    masks: crate::data::Masks<'_>,
    base: &Path,
    batch: usize,
    out: &Path,
    shard: Shard,
    progress: Option<&ProgressBar>,
) -> Result<PredictRun> {
    use crate::data::Masks;
    use std::collections::HashMap;
    let settings = match &masks {
        Masks::Segmenter {
            segmenter,
            post,
            qc,
            ..
        } => crate::infer::pipeline_settings(clf, Some((segmenter, post, qc)))?,
        Masks::Column { .. } => {
            let mut s = crate::infer::pipeline_settings(clf, None)?;
            s["masks"] = serde_json::json!(MASK_COLUMN);
            s
        }
    };
    let mut journal = open_journal(out, shard, &settings)?;
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
        let (rows, rejected) = crate::infer::predict_manifest(clf, chunk, masks, batch, progress)?;
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
