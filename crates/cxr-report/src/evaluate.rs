//! The evaluate pipeline: predictions CSV in; `metrics.json`, `report.md`, `roc.png` and
//! `confusion.png` out.
//!
//! Everything is computed and rendered in memory first; only then is each file written
//! atomically. A bad input (any bad row, a statistic that cannot be computed) therefore
//! writes nothing at all.

use std::path::{Path, PathBuf};

use cxr_eval::{EvaluateOptions, Evaluation, evaluate, read_predictions};

use crate::error::{Error, Result};
use crate::{markdown, plot};

/// Name of the metrics file in the output folder.
pub const METRICS_JSON: &str = "metrics.json";
/// Name of the markdown report.
pub const REPORT_MD: &str = "report.md";
/// Name of the ROC plot.
pub const ROC_PNG: &str = "roc.png";
/// Name of the confusion-matrix plot.
pub const CONFUSION_PNG: &str = "confusion.png";
/// File name of the reliability diagram.
pub const RELIABILITY_PNG: &str = "reliability.png";
/// File name of the decision curves.
pub const DECISION_CURVE_PNG: &str = "decision_curve.png";

/// Settings of one evaluate run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The predictions CSV.
    pub predictions: PathBuf,
    /// The output folder (created if needed).
    pub out: PathBuf,
    /// Statistics settings (rounds, seed, grouping, criterion, level).
    pub evaluate: EvaluateOptions,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The metrics.
    pub evaluation: Evaluation,
    /// The files written, in writing order.
    pub files: Vec<PathBuf>,
}

/// The rendered files of an evaluation, in memory: `(file name, bytes)`.
///
/// # Errors
/// [`Error::Json`], plotting errors.
pub fn render(evaluation: &Evaluation) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(evaluation)?;
    json.push(b'\n');
    let md = markdown::report(evaluation, "");
    Ok(vec![
        (METRICS_JSON, json),
        (REPORT_MD, md.into_bytes()),
        (ROC_PNG, plot::roc_png(evaluation, plot::SIZE)?),
        (CONFUSION_PNG, plot::confusion_png(evaluation, plot::SIZE)?),
        (RELIABILITY_PNG, plot::reliability_png(evaluation)?),
        (DECISION_CURVE_PNG, plot::decision_curve_png(evaluation)?),
    ])
}

/// Runs the pipeline (see the module docs).
///
/// # Errors
/// [`Error::Read`] (with every bad row and its line), [`Error::Stats`], rendering errors,
/// [`Error::Write`].
pub fn run(options: &Options) -> Result<Outputs> {
    let images = read_predictions(&options.predictions)?;
    let evaluation = evaluate(&images, &options.evaluate).map_err(|source| Error::Stats {
        path: options.predictions.clone(),
        source,
    })?;
    let rendered = render(&evaluation)?;
    let mut files = Vec::with_capacity(rendered.len());
    for (name, bytes) in rendered {
        let path: PathBuf = Path::new(&options.out).join(name);
        cxr_core::write_bytes_atomic(&path, &bytes)?;
        files.push(path);
    }
    Ok(Outputs { evaluation, files })
}
