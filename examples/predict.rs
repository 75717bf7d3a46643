//! Predicts class probabilities with a trained classifier run, for a manifest or a folder.
//!
//! `cargo run --release --example predict -- --run RUN --input M.csv|DIR|IMAGE --out P.csv [--shard I/N] [--backend torch|pure]`
//!
//! `--backend pure` runs the trained networks without libtorch (`cxr::infer`, candle):
//! the same arguments, the same tables (probabilities within 1e-4 of libtorch's). Built
//! with `--no-default-features` it is the only backend and needs no libtorch at all:
//! `cargo run --release --no-default-features --example predict -- …`.
//!
//! Lung masks come from the segmenter the run recorded (cached next to `P.csv` under
//! `<P>_masks/`), or from the manifest's `mask_path` column with `--mask-column`. One row
//! per accepted image, in the CSV format `evaluate` reads (patient, date and label from
//! the manifest; a folder's images have no label), ordered by path. Images the gate
//! rejects, and images that fail, go to `<P>_rejected.csv` with their reason. A DICOM
//! marked FOR PROCESSING, or with text burned into its pixels, is predicted and says so
//! in the `cautions` column, as does an image whose lungs lie within a percentage point
//! of the gate's cut (`lungs_near_cut`: another machine may decide otherwise). Run again with the same `--out`, it predicts only what it
//! had not finished (`.journal` beside `P.csv`). With `--shard I/N` it predicts the
//! images that shard owns and writes its parts of both tables (`P.shard-I-of-N.csv`);
//! `merge_shards DIR` joins them (docs/scale.md).
#[path = "common/backend.rs"]
mod backend;
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::{Path, PathBuf};

use backend::{Backend, DEFAULT_BACKEND};
use clap::Parser;
use cxr::classifier::batch::{PredictRun, predict_file, predict_folder, predict_records_with};
use cxr::core::shard::Shard;

#[derive(Parser)]
#[command(about = "Predict healthy / covid-19 / bacterial probabilities")]
struct Args {
    /// A run folder written by train_classifier.
    #[arg(long)]
    run: PathBuf,
    /// records.csv (a `.csv` file), a folder of PNG/JPEG/DICOM images (DICOM files by any
    /// name: `.dcm`, none, a UID; other files are left alone), or one image file.
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
    /// Which library runs the networks (`pure`: without libtorch).
    #[arg(long, value_enum, default_value_t = DEFAULT_BACKEND)]
    backend: Backend,
}

/// What `--input` names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Input {
    /// A folder of images.
    Folder,
    /// A records table (`.csv`).
    Manifest,
    /// One image file.
    File,
}

impl Input {
    fn of(a: &Args) -> anyhow::Result<Input> {
        let is_csv = a
            .input
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let kind = if a.input.is_dir() {
            Input::Folder
        } else if !is_csv && cxr::dicom::is_image_file(&a.input) {
            Input::File
        } else {
            Input::Manifest
        };
        // A JPEG 2000 or HEIC file is neither: say so, rather than read it as a table.
        anyhow::ensure!(
            is_csv || kind != Input::Manifest || !a.input.is_file(),
            "{}: predict reads a folder, a records table (`.csv`) or one {} image; this file \
             is none of these (convert other formats to PNG first)",
            a.input.display(),
            cxr::dicom::IMAGE_FILES.what
        );
        anyhow::ensure!(
            kind != Input::File || a.shard == cxr::core::shard::Shard::WHOLE,
            "--shard splits a folder or a manifest; {} is one file",
            a.input.display()
        );
        anyhow::ensure!(
            kind != Input::File || !a.mask_column,
            "--mask-column reads a manifest's column; {} is one image file",
            a.input.display()
        );
        Ok(kind)
    }
}

/// Where the masks of a manifest's images are cached: `<P>_masks/` beside `P.csv`.
#[cfg(feature = "torch")]
fn masks_cache(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}_masks"))
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let input = Input::of(&a)?;
    let run = match a.backend {
        Backend::Torch => torch::predict(&a, input)?,
        Backend::Pure => pure(&a, input)?,
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
    if !run.rejected.is_empty() {
        // Why, by reason: the gate's two verdicts, not_an_image, error.
        let mut why = std::collections::BTreeMap::<&str, usize>::new();
        for r in &run.rejected {
            *why.entry(r.reason.as_str()).or_default() += 1;
        }
        let why: Vec<String> = why.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("left out: {}", why.join(", "));
    }
    if input == Input::Folder && run.rows.is_empty() && run.rejected.is_empty() {
        println!(
            "note: no {} image under {} (other files are left alone)",
            cxr::dicom::IMAGE_FILES.what,
            a.input.display()
        );
    }
    let careful = run.rows.iter().filter(|r| !r.cautions.is_empty()).count();
    if careful > 0 {
        println!(
            "note: {careful} predicted image(s) call for caution (DICOM FOR PROCESSING raw data, \
             text burned into the pixels, or lungs within a percentage point of the gate's \
             cut): see the `cautions` column of {}",
            run.predictions.display()
        );
    }
    Ok(())
}

fn say_temperature(t: Option<f64>) {
    match t {
        Some(t) => {
            eprintln!("temperature scaling: T = {t:.3} (the run's; --no-temperature turns it off)")
        }
        None => eprintln!("temperature scaling: off"),
    }
}

/// The pure-Rust pipeline: an image, a folder or a manifest, one image at a time.
fn pure(a: &Args, input: Input) -> anyhow::Result<PredictRun> {
    let mut p = cxr::infer::Pipeline::load(&a.run)?;
    if let Some(seg) = &a.segmenter {
        p.segmenter = cxr::infer::Segmenter::load(seg)?;
    }
    p.qc = a.gate.options()?;
    p.classifier.set_temperature_scaling(!a.no_temperature);
    say_temperature(p.classifier.temperature());
    let pb = cxr::core::progress::bar(0, "predicting", true);
    let run = match input {
        Input::File => predict_file(&p, &a.input, &a.out, Some(&pb))?,
        Input::Folder => predict_folder(&p, &a.input, &a.out, a.shard, Some(&pb))?,
        Input::Manifest => {
            let records = cxr::core::manifest::read_records(&a.input)?;
            let base = a.input.parent().unwrap_or(Path::new("."));
            predict_records_with(
                &p,
                &records,
                base,
                a.mask_column,
                &a.out,
                a.shard,
                Some(&pb),
            )?
        }
    };
    pb.finish_and_clear();
    Ok(run)
}

#[cfg(not(feature = "torch"))]
mod torch {
    pub fn predict(_: &super::Args, _: super::Input) -> anyhow::Result<super::PredictRun> {
        anyhow::bail!(crate::backend::NO_TORCH)
    }
}

/// The libtorch pipeline: a manifest's images segmented once (masks cached) and
/// classified in batches.
#[cfg(feature = "torch")]
mod torch {
    use super::{Args, Input, PredictRun, masks_cache, say_temperature};
    use cxr::classifier::batch::{predict_file, predict_folder, predict_records_to};
    use cxr::classifier::data::Masks;
    use cxr::classifier::{Classifier, Pipeline};
    use cxr::lungseg::Segmenter;
    use cxr::lungseg::postprocess::PostprocessOptions;
    use std::path::Path;

    pub fn predict(a: &Args, input: Input) -> anyhow::Result<PredictRun> {
        let qc = a.gate.options()?;
        let device = cxr::nn::device_from_env()?;
        let mut clf = Classifier::load(&a.run, device)?;
        clf.set_temperature_scaling(!a.no_temperature);
        say_temperature(clf.temperature());
        // The recorded segmenter where it is now (beside a run folder copied from the
        // machine that trained it), unless another is named or masks come from a column.
        let seg_dir = match (&a.segmenter, &clf.config().segmenter) {
            _ if a.mask_column && input == Input::Manifest => None,
            (Some(s), _) => Some(s.clone()),
            (None, Some(recorded)) => {
                Some(cxr::classifier::run::segmenter_dir(&a.run, Some(recorded))?)
            }
            (None, None) => None,
        };
        let segmenter = match &seg_dir {
            Some(s) => Some(Segmenter::load(s, device)?),
            None => None,
        };
        let pb = cxr::core::progress::bar(0, "predicting", true);
        let run = if input != Input::Manifest {
            let segmenter = segmenter
                .ok_or_else(|| anyhow::anyhow!("an image or a folder needs a segmenter"))?;
            let mut pipeline = Pipeline::new(segmenter, clf);
            pipeline.qc = qc;
            if input == Input::File {
                predict_file(&pipeline, &a.input, &a.out, Some(&pb))?
            } else {
                predict_folder(&pipeline, &a.input, &a.out, a.shard, Some(&pb))?
            }
        } else {
            let records = cxr::core::manifest::read_records(&a.input)?;
            let (cache, post) = (masks_cache(&a.out), PostprocessOptions::default());
            let base = a.input.parent().unwrap_or(Path::new("."));
            let masks = Masks::segmenter_or_column(segmenter.as_ref(), &cache, &post, &qc, base);
            predict_records_to(&clf, &records, masks, base, 16, &a.out, a.shard, Some(&pb))?
        };
        pb.finish_and_clear();
        Ok(run)
    }
}
