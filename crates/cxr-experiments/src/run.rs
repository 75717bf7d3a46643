//! The steps of the main experiment. Each writes into the run folder and, when its output
//! is already there, reads it back instead of redoing the work, so an interrupted run
//! continues where it stopped and a finished one re-renders its report from its files.
//!
//! Layout of a run folder:
//!
//! | path | step |
//! |---|---|
//! | `experiment.toml` | the settings (a different one in the same folder is refused) |
//! | `cohort/` | `records.csv`, `duplicates.json`, `table1.md`, `table1.csv`, `table2.md` (+ the images of a synthetic cohort) |
//! | `segmenter/` | the lung segmenter run (unless an existing one is given) |
//! | `masks/`, `qc.json`, `qc_rejected.csv` | masks and gate verdicts, rejects with their reason |
//! | `split.csv` (+ `.sha256`) | patient → train / validation / test |
//! | `classifier/` | the classifier run (`curves.png`, `metrics.jsonl`, checkpoints) |
//! | `predictions.csv`, `predictions_rejected.csv` | test images' probabilities |
//! | `evaluation/` | `metrics.json`, `report.md`, `roc.png`, `confusion.png` |
//! | `saliency/` | overlays and `saliency.json` |
//! | `report.md` | everything above in one page |

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_classifier::data::{Example, Rejection, examples_from_segmenter, write_rejections};
use cxr_classifier::infer::{PredictionRow, predict_examples, write_predictions};
use cxr_classifier::saliency::{Method, saliency};
use cxr_classifier::{Classifier, TrainConfig, train_with_validation};
use cxr_cohort::{DuplicateGroup, DuplicateKind, Part, Split, SplitConfig};
use cxr_core::{ImageRecord, Label};
use cxr_lungseg::{Segmenter, segment_image};
use cxr_stats::evaluate::{EvaluateOptions, Evaluation};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::config::ExperimentConfig;
use crate::{Error, Result};

/// Where a step runs and how it reports progress.
#[derive(Debug, Clone)]
pub struct Context {
    /// The settings.
    pub config: ExperimentConfig,
    /// The run folder.
    pub out: PathBuf,
    /// Where the networks run.
    pub device: Device,
    /// Show progress bars.
    pub progress: bool,
}

impl Context {
    /// A context for `out`, writing `experiment.toml` there, or checking that the one
    /// already there holds the same settings.
    pub fn new(
        config: ExperimentConfig,
        out: &Path,
        device: Device,
        progress: bool,
    ) -> Result<Context> {
        config.validate(Path::new("<settings>"))?;
        std::fs::create_dir_all(out).map_err(|source| cxr_core::Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let path = out.join("experiment.toml");
        let text = config.to_toml()?;
        if path.exists() {
            let old = ExperimentConfig::load(&path)?;
            if old != config {
                return Err(Error::Config {
                    path,
                    detail: "the run folder holds another experiment's settings; use a new \
                             --out or the same settings"
                        .into(),
                });
            }
        } else {
            cxr_core::write_bytes_atomic(&path, text.as_bytes())?;
        }
        Ok(Context {
            config,
            out: out.to_path_buf(),
            device,
            progress,
        })
    }

    /// A progress bar (hidden unless `progress`).
    pub fn bar(&self, len: usize, what: &str) -> ProgressBar {
        let pb = if self.progress {
            ProgressBar::new(len as u64)
        } else {
            ProgressBar::hidden()
        };
        pb.set_style(
            ProgressStyle::with_template(&format!(
                "{what:<12} [{{bar:40}}] {{pos}}/{{len}} ({{elapsed}}<{{eta}})"
            ))
            .expect("static template"),
        );
        pb
    }

    pub(crate) fn say(&self, text: impl AsRef<str>) {
        if self.progress {
            eprintln!("{}", text.as_ref());
        }
        tracing::info!("{}", text.as_ref());
    }
}

/// Images that must stay in one split part, by (source, image id).
pub type KeyGroups = Vec<Vec<(String, String)>>;

fn key(r: &ImageRecord) -> (String, String) {
    (r.source.as_str().to_string(), r.image_id.clone())
}

fn groups_to_keys(records: &[ImageRecord], groups: &[DuplicateGroup]) -> KeyGroups {
    groups
        .iter()
        .map(|g| g.members.iter().map(|&i| key(&records[i])).collect())
        .collect()
}

/// Duplicate groups (as [`KeyGroups`]) mapped onto `records` (members missing from
/// `records` dropped; groups left with one member dropped).
pub fn keys_to_groups(records: &[ImageRecord], groups: &KeyGroups) -> Vec<DuplicateGroup> {
    let index: HashMap<(String, String), usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), i))
        .collect();
    groups
        .iter()
        .filter_map(|g| {
            let members: Vec<usize> = g.iter().filter_map(|k| index.get(k).copied()).collect();
            (members.len() > 1).then_some(DuplicateGroup {
                kind: DuplicateKind::Near,
                members,
            })
        })
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    Ok(cxr_nn::checkpoint::read_json(path)?)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(cxr_nn::checkpoint::write_json(path, value)?)
}

/// The cohort: `cohort/records.csv` and its near-duplicate groups, built (synthetic
/// cohort or the real sources) on first call.
pub fn cohort(ctx: &Context) -> Result<(Vec<ImageRecord>, KeyGroups)> {
    let dir = ctx.out.join("cohort");
    let records_csv = dir.join("records.csv");
    let groups_json = dir.join("duplicates.json");
    if records_csv.exists() && groups_json.exists() {
        return Ok((
            cxr_core::manifest::read_records(&records_csv)?,
            read_json(&groups_json)?,
        ));
    }
    let (records, groups) = if let Some(s) = &ctx.config.data.synthetic {
        let cases = cxr_synth::plan_cases(&s.plan, &s.synth, s.seed)?;
        ctx.say(format!(
            "cohort: rendering {} phantoms of {} patients",
            cases.len(),
            s.plan.patients()
        ));
        let pb = ctx.bar(cases.len(), "phantoms");
        let files = cxr_synth::write_cohort(&dir, &cases, &s.synth, Some(&pb))?;
        pb.finish_and_clear();
        for (id, e) in &files.failures {
            tracing::warn!(image = %id, error = %e, "phantom not written");
        }
        let records = cxr_core::manifest::read_records(&files.records_csv)?;
        let pb = ctx.bar(records.len(), "duplicates");
        let load = |r: &ImageRecord| -> std::result::Result<
            cxr_core::GrayImage,
            cxr_cohort::duplicates::LoadError,
        > { Ok(cxr_dicom::load_record_image(r)?) };
        let report = cxr_cohort::duplicates::find_duplicates_with(
            &records,
            &ctx.config.duplicates,
            Some(&pb),
            &load,
        );
        pb.finish_and_clear();
        let groups = groups_to_keys(&records, &report.groups);
        cxr_cohort::write_tables(&dir, &records, s.seed)?;
        (records, groups)
    } else {
        let path = ctx.config.data.sources.as_ref().expect("validated");
        let build = cxr_sources::BuildConfig::load(path)?;
        ctx.say(format!(
            "cohort: scanning the sources of {}",
            path.display()
        ));
        let pb = ctx.bar(0, "duplicates");
        let report = cxr_sources::build_cohort(&build, &dir, Some(&pb))?;
        pb.finish_and_clear();
        for (id, e) in &report.failed_sources {
            tracing::warn!(source = %id, error = %e, "source not scanned");
        }
        let records = cxr_core::manifest::read_records(&records_csv)?;
        let groups = groups_to_keys(&records, &report.groups);
        (records, groups)
    };
    write_json(&groups_json, &groups)?;
    Ok((records, groups))
}

/// The lung segmenter run: the one given, or one trained on independent phantoms into
/// `segmenter/` (a finished run there is reused).
pub fn segmenter(ctx: &Context) -> Result<PathBuf> {
    let step = &ctx.config.segmenter;
    if let Some(run) = &step.run {
        return Ok(run.clone());
    }
    let dir = ctx.out.join("segmenter");
    let seed = ctx.config.data.synthetic.as_ref().map_or(2020, |s| s.seed) ^ 0x5E6_0000;
    let size = step.train.model.input_size as u32;
    let pairs: Vec<(cxr_core::GrayImage, Vec<u8>)> = (0..step.synthetic_images as u64)
        .map(|i| {
            let mut case = cxr_synth::CaseSpec::single(
                seed.wrapping_add(i),
                Label::ALL[(i % 3) as usize],
                cxr_core::SourceId::ALL[(i % 8) as usize],
            );
            if i % 8 == 7 {
                case.defect = Some(cxr_synth::Defect::ALL[(i / 8 % 4) as usize]);
            }
            let p = cxr_synth::render(&case, &cxr_synth::SynthConfig::with_size(size));
            let labels = p.lungs().to_binary();
            (p.image, labels)
        })
        .collect();
    ctx.say(format!(
        "segmenter: training on {} phantoms ({} epochs at most)",
        pairs.len(),
        step.train.epochs
    ));
    let s = cxr_lungseg::train(
        &dir,
        Arc::new(cxr_lungseg::InMemory(pairs)),
        &step.train,
        ctx.device,
        ctx.progress,
    )?;
    ctx.say(format!(
        "segmenter: best validation Dice {:.4}",
        s.best_dice
    ));
    Ok(dir)
}

/// Per-source counts of the quality gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateCounts {
    /// Images seen.
    pub images: usize,
    /// Accepted.
    pub accepted: usize,
    /// Rejected, by reason code (`lungs_not_found`, `lungs_too_small`, `error`).
    pub rejected: BTreeMap<String, usize>,
}

/// What the gate did, per source and in total (`qc.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateSummary {
    /// Per source.
    pub by_source: BTreeMap<String, GateCounts>,
    /// All sources.
    pub total: GateCounts,
}

/// Segments every record with `seg` (masks cached under `masks/`), applies the gate,
/// and returns the accepted records with their examples; rejects go to
/// `qc_rejected.csv`, counts to `qc.json`.
pub fn gate(
    ctx: &Context,
    records: &[ImageRecord],
    seg: &Segmenter,
) -> Result<(Vec<ImageRecord>, Vec<Example>, GateSummary)> {
    let pb = ctx.bar(records.len(), "segmenting");
    let (examples, rejected) = examples_from_segmenter(
        records,
        seg,
        &ctx.out.join("masks"),
        &ctx.config.segmenter.post,
        &ctx.config.segmenter.qc,
        Some(&pb),
    );
    pb.finish_and_clear();
    write_rejections(&ctx.out.join("qc_rejected.csv"), &rejected)?;
    let summary = gate_summary(records, &rejected);
    write_json(&ctx.out.join("qc.json"), &summary)?;
    let kept: BTreeSet<(String, String)> = examples.iter().map(|e| e.key()).collect();
    let accepted: Vec<ImageRecord> = records
        .iter()
        .filter(|r| kept.contains(&key(r)))
        .cloned()
        .collect();
    ctx.say(format!(
        "gate: {} of {} images accepted",
        summary.total.accepted, summary.total.images
    ));
    Ok((accepted, examples, summary))
}

fn gate_summary(records: &[ImageRecord], rejected: &[Rejection]) -> GateSummary {
    let mut s = GateSummary::default();
    let rej: HashMap<(&str, &str), &str> = rejected
        .iter()
        .map(|r| ((r.source.as_str(), r.image_id.as_str()), r.reason.as_str()))
        .collect();
    for r in records {
        let e = s
            .by_source
            .entry(r.source.as_str().to_string())
            .or_default();
        e.images += 1;
        s.total.images += 1;
        match rej.get(&(r.source.as_str(), r.image_id.as_str())) {
            Some(reason) => {
                *e.rejected.entry((*reason).to_string()).or_default() += 1;
                *s.total.rejected.entry((*reason).to_string()).or_default() += 1;
            }
            None => {
                e.accepted += 1;
                s.total.accepted += 1;
            }
        }
    }
    s
}

/// The patient split of `records` into `path` (read back when it exists, after checking
/// its hash and that it covers exactly these patients: a split that lacks one of them, or
/// holds patients these records do not have, was made for another cohort and is
/// refused). No patient is in two parts and no duplicate group crosses parts: checked
/// here, every time.
pub fn split(
    records: &[ImageRecord],
    groups: &KeyGroups,
    config: &SplitConfig,
    path: &Path,
) -> Result<Split> {
    let dup = keys_to_groups(records, groups);
    let s = if path.exists() {
        let s = Split::read(path)?;
        let ours: BTreeSet<&cxr_core::PatientId> = records.iter().map(|r| &r.patient).collect();
        let extra: Vec<&cxr_core::PatientId> = [Part::Train, Part::Validation, Part::Test]
            .into_iter()
            .flat_map(|p| s.patients(p))
            .filter(|p| !ours.contains(p))
            .collect();
        if let Some(first) = extra.first() {
            return Err(cxr_cohort::Error::BadSplit {
                path: path.to_path_buf(),
                problem: format!(
                    "{} of its patients are not in this cohort (first: {first}): it was made \
                     for another cohort; use a new --out",
                    extra.len()
                ),
            }
            .into());
        }
        s
    } else {
        let s = cxr_cohort::split::split(records, &dup, config)?;
        s.write(path)?;
        s
    };
    s.check(records, &dup)?;
    Ok(s)
}

/// The examples of one part of a split.
pub fn part(examples: &[Example], records: &[ImageRecord], s: &Split, p: Part) -> Vec<Example> {
    let by_key: HashMap<(String, String), &ImageRecord> =
        records.iter().map(|r| (key(r), r)).collect();
    examples
        .iter()
        .filter(|e| {
            let k = e.key();
            by_key
                .get(&k)
                .is_some_and(|r| s.part(&r.patient) == Some(p))
        })
        .cloned()
        .collect()
}

/// Trains the classifier into `dir` on the train part, with the validation part for
/// early stopping.
pub fn classify(
    ctx: &Context,
    config: &TrainConfig,
    train: &[Example],
    validation: &[Example],
    dir: &Path,
    segmenter_dir: &Path,
) -> Result<()> {
    if train.is_empty() {
        return Err(Error::Step {
            step: "classifier",
            detail: "no training images".into(),
        });
    }
    let config = TrainConfig {
        segmenter: Some(std::path::absolute(segmenter_dir).map_err(|source| {
            cxr_core::Error::Io {
                path: segmenter_dir.to_path_buf(),
                source,
            }
        })?),
        ..config.clone()
    };
    ctx.say(format!(
        "classifier: {} training and {} validation images, {} epochs at most",
        train.len(),
        validation.len(),
        config.epochs
    ));
    let s = train_with_validation(dir, train, validation, &config, ctx.device, ctx.progress)?;
    if let Some(r) = &s.import {
        ctx.say(format!("ImageNet import: {r}"));
    }
    Ok(())
}

/// Predicts `examples` with the classifier in `clf_dir` into `path` (the CSV `evaluate`
/// reads); failures go to `<path stem>_rejected.csv`. Returns the rows.
pub fn predict(
    ctx: &Context,
    clf_dir: &Path,
    examples: &[Example],
    records: &[ImageRecord],
    path: &Path,
) -> Result<Vec<PredictionRow>> {
    let clf = Classifier::load(clf_dir, ctx.device)?;
    let by_key: HashMap<(String, String), &ImageRecord> =
        records.iter().map(|r| (key(r), r)).collect();
    let pb = ctx.bar(examples.len(), "predicting");
    let probs = predict_examples(&clf, examples, 32, Some(&pb));
    pb.finish_and_clear();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (e, p) in examples.iter().zip(probs) {
        let k = e.key();
        let Some(r) = by_key.get(&k) else {
            return Err(Error::Step {
                step: "predict",
                detail: format!(
                    "image {} of source {} ({}) has no record",
                    k.1,
                    k.0,
                    e.image.display()
                ),
            });
        };
        match p {
            Ok(p) => rows.push(PredictionRow::new(r, &p)?),
            Err(err) => failed.push(Rejection {
                source: k.0,
                patient_id: e.patient.clone(),
                image_id: e.image_id.clone(),
                path: e.image.to_string_lossy().into_owned(),
                reason: "error".into(),
                detail: err.to_string(),
            }),
        }
    }
    write_predictions(path, &rows)?;
    let stem = path
        .file_stem()
        .map_or("predictions".into(), |s| s.to_string_lossy());
    write_rejections(
        &path.with_file_name(format!("{stem}_rejected.csv")),
        &failed,
    )?;
    Ok(rows)
}

/// Evaluates a predictions CSV into `dir` (`metrics.json`, `report.md`, plots).
pub fn evaluate(ctx: &Context, predictions: &Path, dir: &Path) -> Result<Evaluation> {
    let mut options = EvaluateOptions::default();
    options.bootstrap.rounds = ctx.config.evaluation.rounds;
    options.bootstrap.seed = ctx.config.evaluation.seed;
    let out = cxr_report::evaluate::run(&cxr_report::evaluate::Options {
        predictions: predictions.to_path_buf(),
        out: dir.to_path_buf(),
        evaluate: options,
    })?;
    Ok(out.evaluation)
}

/// One explained test image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaliencyExample {
    /// Image id.
    pub image_id: String,
    /// True class.
    pub label: String,
    /// Predicted class.
    pub predicted: String,
    /// Class probabilities.
    pub probabilities: Vec<f32>,
    /// (method, overlay PNG relative to the run folder, share of saliency in the lungs).
    pub maps: Vec<(String, String, f64)>,
    /// Share of the image the lungs cover: the share a map spread evenly would have.
    pub lung_fraction: f64,
}

/// Saliency overlays for the first `per_class` test images of each class (explaining the
/// true class), into `saliency/`, listed in `saliency/saliency.json`.
pub fn saliency_examples(
    ctx: &Context,
    clf_dir: &Path,
    test: &[Example],
) -> Result<Vec<SaliencyExample>> {
    let clf = Classifier::load(clf_dir, ctx.device)?;
    let dir = ctx.out.join("saliency");
    let mut out = Vec::new();
    for label in Label::ALL {
        for e in test
            .iter()
            .filter(|e| e.label == *label)
            .take(ctx.config.saliency.per_class)
        {
            let (img, mask) = e.load()?;
            let probs = clf.predict(&img, &mask)?;
            let predicted = probs
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            let mut maps = Vec::new();
            for method in [
                Method::Vanilla,
                Method::SmoothGrad {
                    samples: ctx.config.saliency.smoothgrad_samples,
                    noise: 0.15,
                },
                Method::GradCam,
            ] {
                let map = saliency(&clf, &img, &mask, label.index(), method)?;
                let rel = format!(
                    "saliency/{}_{}.png",
                    e.image_id.replace(['/', '\\'], "_"),
                    method.name()
                );
                let ov = map.overlay(&img, Some(&mask));
                cxr_core::save_rgb_png(&ctx.out.join(&rel), &ov)?;
                maps.push((method.name().to_string(), rel, map.share_inside(&mask)));
            }
            out.push(SaliencyExample {
                image_id: e.image_id.clone(),
                label: label.as_str().to_string(),
                predicted: Label::from_index(predicted)
                    .map_or("?", Label::as_str)
                    .to_string(),
                probabilities: probs,
                maps,
                lung_fraction: mask.fraction(),
            });
        }
    }
    write_json(&dir.join("saliency.json"), &out)?;
    Ok(out)
}

/// Where [`figures`] wrote the paper's Figures 1 and 2, relative to the run folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// One image of each source (Figure 1).
    pub sources: String,
    /// Automatic lung segmentations with the gate's verdict (Figure 2).
    pub segmentation: String,
}

/// The paper's Figure 1 (`figures/sources.png`: one accepted image of each source, the
/// classes taken in turn) and Figure 2 (`figures/segmentation.png`: the segmenter's left
/// and right lungs on those images, then on up to two images the gate rejected, each
/// with lungs found, lung share and verdict). An image that cannot be read is left out.
pub fn figures(
    ctx: &Context,
    records: &[ImageRecord],
    accepted: &[ImageRecord],
    seg: &Segmenter,
) -> Result<Figures> {
    use cxr_report::plot::{Tile, image_grid_png};
    let mut by_source: BTreeMap<&str, Vec<&ImageRecord>> = BTreeMap::new();
    for r in accepted {
        by_source.entry(r.source.as_str()).or_default().push(r);
    }
    let shown: Vec<&ImageRecord> = by_source
        .values()
        .enumerate()
        .filter_map(|(i, rs)| {
            let want = Label::ALL[i % Label::ALL.len()];
            rs.iter().find(|r| r.label == want).or(rs.first()).copied()
        })
        .collect();
    let kept: BTreeSet<(String, String)> = accepted.iter().map(key).collect();
    let rejected = records.iter().filter(|r| !kept.contains(&key(r))).take(2);
    let (mut sources, mut segmentations) = (Vec::new(), Vec::new());
    for r in shown.iter().copied().chain(rejected) {
        let img = match cxr_classifier::data::load_record_image(r) {
            Ok(img) => img,
            Err(e) => {
                tracing::warn!(path = %r.path.display(), error = %e, "left out of the figures");
                continue;
            }
        };
        if kept.contains(&key(r)) {
            sources.push(Tile {
                image: image::DynamicImage::ImageLuma8(img.clone()).to_rgb8(),
                caption: format!("{} · {}", r.source.as_str(), r.label.as_str()),
            });
        }
        let post = &ctx.config.segmenter.post;
        let Ok((s, q)) = segment_image(seg, &img, post, &ctx.config.segmenter.qc) else {
            continue;
        };
        segmentations.push(Tile {
            image: cxr_lungseg::batch::overlay(&img, &s),
            caption: format!(
                "{} · {} lung(s), {:.0} % · {}",
                r.source.as_str(),
                q.lungs_found,
                100.0 * q.lung_fraction,
                if q.verdict.is_accept() {
                    "kept"
                } else {
                    "rejected"
                }
            ),
        });
    }
    let figures = Figures {
        sources: "figures/sources.png".into(),
        segmentation: "figures/segmentation.png".into(),
    };
    let title = "Figure 1. Image examples, one per source";
    let png = image_grid_png(title, &sources, 4, 220)?;
    cxr_core::write_bytes_atomic(&ctx.out.join(&figures.sources), &png)?;
    let title = "Figure 2. Automatic lung segmentations (green: right lung, blue: left)";
    let png = image_grid_png(title, &segmentations, 4, 220)?;
    cxr_core::write_bytes_atomic(&ctx.out.join(&figures.segmentation), &png)?;
    Ok(figures)
}

/// What [`reproduce_main`] produced.
#[derive(Debug, Clone)]
pub struct MainOutputs {
    /// The patient-level evaluation of the test part.
    pub evaluation: Evaluation,
    /// The gate's counts.
    pub gate: GateSummary,
    /// Patients per part.
    pub split_counts: BTreeMap<Part, usize>,
    /// The report.
    pub report: PathBuf,
}

/// The main experiment (Figure 3, Table 3): every step above, then `report.md`.
pub fn reproduce_main(ctx: &Context) -> Result<MainOutputs> {
    let (records, groups) = cohort(ctx)?;
    let seg_dir = segmenter(ctx)?;
    let seg = Segmenter::load(&seg_dir, ctx.device)?;
    let (accepted, examples, gate) = gate(ctx, &records, &seg)?;
    let figs = figures(ctx, &records, &accepted, &seg)?;
    let s = split(
        &accepted,
        &groups,
        &ctx.config.split,
        &ctx.out.join("split.csv"),
    )?;
    let train = part(&examples, &accepted, &s, Part::Train);
    let validation = part(&examples, &accepted, &s, Part::Validation);
    let test = part(&examples, &accepted, &s, Part::Test);
    let clf_dir = ctx.out.join("classifier");
    classify(
        ctx,
        &ctx.config.classifier,
        &train,
        &validation,
        &clf_dir,
        &seg_dir,
    )?;
    let predictions = ctx.out.join("predictions.csv");
    predict(ctx, &clf_dir, &test, &accepted, &predictions)?;
    let evaluation = evaluate(ctx, &predictions, &ctx.out.join("evaluation"))?;
    let sal = saliency_examples(ctx, &clf_dir, &test)?;
    let split_counts = s.counts();
    let report = crate::report::write_main_report(
        ctx,
        &records,
        &gate,
        &split_counts,
        &evaluation,
        &sal,
        &figs,
    )?;
    Ok(MainOutputs {
        evaluation,
        gate,
        split_counts,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::{PatientId, SourceId, View};

    fn rec(source: SourceId, patient: &str, image: &str, label: Label) -> ImageRecord {
        ImageRecord::new(
            PatientId::new(source, patient),
            image,
            format!("/x/{image}.png"),
            label,
            "test",
            View::Pa,
        )
    }

    #[test]
    fn near_duplicates_across_sources_land_in_one_part_and_the_split_is_checked_on_reading() {
        // 40 patients in two sources; image a3 (covid-idc) and b7 (padchest) are the same
        // film seen twice, as happens between the paper's sources.
        let mut records = Vec::new();
        for i in 0..20 {
            let label = Label::ALL[i % 3];
            records.push(rec(
                SourceId::CovidIdc,
                &format!("A{i}"),
                &format!("a{i}"),
                label,
            ));
            records.push(rec(
                SourceId::Padchest,
                &format!("B{i}"),
                &format!("b{i}"),
                label,
            ));
        }
        let groups: KeyGroups = vec![vec![
            ("covid-idc".into(), "a3".into()),
            ("padchest".into(), "b7".into()),
        ]];
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..10 {
            let path = dir.path().join(format!("split{seed}.csv"));
            let config = SplitConfig {
                seed,
                ..SplitConfig::default()
            };
            let s = split(&records, &groups, &config, &path).unwrap();
            let a = s.part(&PatientId::new(SourceId::CovidIdc, "A3"));
            let b = s.part(&PatientId::new(SourceId::Padchest, "B7"));
            assert!(a.is_some() && a == b, "seed {seed}: {a:?} vs {b:?}");
            // Read back: same split.
            assert_eq!(split(&records, &groups, &config, &path).unwrap(), s);
        }
        // A split made for a larger cohort is refused, naming a patient it has extra.
        let fewer: Vec<ImageRecord> = records
            .iter()
            .filter(|r| r.image_id != "a0")
            .cloned()
            .collect();
        let e = split(
            &fewer,
            &groups,
            &SplitConfig::default(),
            &dir.path().join("split0.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("split0.csv")
                && e.contains("1 of its patients are not in this cohort")
                && e.contains("covid-idc:A0"),
            "{e}"
        );
        // A split file edited by hand fails its hash check.
        let path = dir.path().join("split0.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("test", "train", 1)).unwrap();
        let e = split(&records, &groups, &SplitConfig::default(), &path).unwrap_err();
        assert!(e.to_string().contains("hash"), "{e}");
    }

    #[test]
    fn gate_counts_add_up_per_source() {
        let records = vec![
            rec(SourceId::CovidIdc, "A1", "a1", Label::Covid),
            rec(SourceId::CovidIdc, "A2", "a2", Label::Covid),
            rec(SourceId::Qmenta, "Q1", "q1", Label::Bacterial),
        ];
        let rejected = vec![Rejection {
            source: "covid-idc".into(),
            patient_id: "covid-idc:A2".into(),
            image_id: "a2".into(),
            path: "/x/a2.png".into(),
            reason: "lungs_too_small".into(),
            detail: String::new(),
        }];
        let g = gate_summary(&records, &rejected);
        assert_eq!(g.total.images, 3);
        assert_eq!(g.total.accepted, 2);
        assert_eq!(g.by_source["covid-idc"].rejected["lungs_too_small"], 1);
        assert_eq!(g.by_source["qmenta"].accepted, 1);
        let md = crate::report::gate_markdown(&g);
        assert!(
            md.contains("| covid-idc | 2 | 1 (50.0 %) | 0 | 1 | 0 |"),
            "{md}"
        );
    }

    #[test]
    fn an_example_without_its_record_is_a_step_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(
            ExperimentConfig::tiny(),
            &dir.path().join("out"),
            Device::Cpu,
            false,
        )
        .unwrap();
        // An untrained tiny classifier is enough: the record lookup comes first.
        let clf_dir = dir.path().join("clf");
        let config = ctx.config.classifier.clone();
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let _net = cxr_classifier::InceptionV3::new(&vs.root(), &config.model).unwrap();
        let state = cxr_nn::TrainState::new(1, cxr_nn::Goal::Minimize);
        cxr_nn::save_checkpoint(&clf_dir, "best", &vs, &state).unwrap();
        write_json(&clf_dir.join("config.json"), &config).unwrap();

        let r = rec(SourceId::Qmenta, "P1", "q1", Label::Covid);
        let orphan = Example {
            image: PathBuf::from("/x/q2.png"),
            mask: PathBuf::from("/x/q2_mask.png"),
            label: Label::Covid,
            patient: "qmenta:P2".into(),
            image_id: "q2".into(),
            invert: false,
        };
        let e = predict(&ctx, &clf_dir, &[orphan], &[r], &dir.path().join("p.csv")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "predict: image q2 of source qmenta (/x/q2.png) has no record"
        );
    }
}
