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
//! | `segmenter_seen.json` | the cohort's images the segmenter was trained on (`crate::seen`): their patients train |
//! | `masks/`, `qc.json`, `qc_rejected.csv` | masks and gate verdicts, rejects with their reason |
//! | `split.csv` (+ `.sha256`) | patient → train / validation / test |
//! | `classifier/` | the classifier run (`curves.png`, `metrics.jsonl`, checkpoints) |
//! | `predictions.csv`, `predictions_rejected.csv` | test images' probabilities |
//! | `evaluation/` | `metrics.json`, `report.md`, `roc.png`, `confusion.png`, `reliability.png`, `decision_curve.png`, `before_temperature.json` (the same test units without the run's temperature), `without_near_cut.json` (without the test images accepted near the gate's cut) |
//! | `saliency/` | overlays and `saliency.json` |
//! | `audit/` | the shortcut audit (`crate::audit`): source probes, `audit.json`, `audit.md`, plots |
//! | `report.md` | everything above in one page |

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_classifier::data::{Example, write_rejections};
use cxr_classifier::infer::predict_records;
use cxr_classifier::{Classifier, TrainConfig, train_with_validation};
use cxr_cohort::{Part, Split, SplitConfig};
use cxr_core::{ImageKey, ImageRecord, Label};
use cxr_eval::{Evaluation, ImagePrediction, PredictionRow, write_predictions};
use cxr_lungseg::Segmenter;

use crate::context::{read_json, write_json};
use crate::keys::groups_to_keys;
use crate::seen::SegmenterSeen;
use crate::{Error, Result};
use cxr_report::experiment::NearCutCheck;

pub use crate::context::Context;
pub use crate::figures::{Figures, SaliencyExample, figures, saliency_examples};
pub use crate::gate::{GateCounts, GateSummary, gate};
pub use crate::keys::{KeyGroups, keys_to_groups};

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
        cxr_cohort::duplicates::write_fingerprints(
            &dir.join(cxr_cohort::duplicates::FINGERPRINTS),
            &records,
            &cxr_cohort::duplicates::prints_by_key(&records, &report),
        )?;
        cxr_report::cohort::write_tables(&dir, &records, s.seed)?;
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

/// Where the experiment's segmenter run is: the one given (`[segmenter] run`), else its
/// own `segmenter/`.
pub fn segmenter_folder(ctx: &Context) -> PathBuf {
    ctx.config
        .segmenter
        .run
        .clone()
        .unwrap_or_else(|| ctx.out.join("segmenter"))
}

/// The lung segmenter run: the one given, or one trained into `segmenter/` on the real
/// masks of `[[segmenter.masks]]` (of the masks of `records`' own images, only those of
/// the share of patients [`crate::seen::masks_for_segmenter`] keeps), else on
/// independent phantoms. A finished run there is
/// reused as it is (its settings checked): neither its masks nor its phantoms are read
/// or drawn again, so a run folder re-renders where the masks are not at hand.
pub fn segmenter(ctx: &Context, records: &[ImageRecord]) -> Result<PathBuf> {
    let step = &ctx.config.segmenter;
    let dir = segmenter_folder(ctx);
    if step.run.is_some() {
        return Ok(dir);
    }
    let best = |dice: f64| ctx.say(format!("segmenter: best validation Dice {dice:.4}"));
    let finished = cxr_nn::checkpoint::read_json::<cxr_nn::TrainState>(&dir.join("last.json"))
        .ok()
        .filter(|s| s.finished);
    if let Some(state) = finished {
        cxr_nn::open_run(&dir, &step.train)?;
        ctx.say(format!(
            "segmenter: the finished run in {} is reused",
            dir.display()
        ));
        best(state.early.best.unwrap_or(0.0));
        return Ok(dir);
    }
    let pairs: Arc<dyn cxr_lungseg::LabelledImages> = if step.masks.is_empty() {
        let seed = ctx.config.data.synthetic.as_ref().map_or(2020, |s| s.seed) ^ 0x5E6_0000;
        let size = step.train.model.input_size as u32;
        let phantoms: Vec<(cxr_core::GrayImage, Vec<u8>)> = (0..step.synthetic_images as u64)
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
            phantoms.len(),
            step.train.epochs
        ));
        Arc::new(cxr_lungseg::InMemory(phantoms))
    } else {
        let (set, reads) = cxr_lungseg::masks::read_sources(&step.masks, cxr_dicom::IMAGE_FILES)?;
        for r in &reads {
            ctx.say(format!("segmenter masks: {r}"));
        }
        let (set, left_out) = crate::seen::masks_for_segmenter(ctx, records, set);
        if let Some(line) = left_out {
            ctx.say(line);
        }
        if set.pairs.is_empty() {
            return Err(Error::Step {
                step: "segmenter",
                detail: "the mask sources of [[segmenter.masks]] hold no image/mask pair".into(),
            });
        }
        ctx.say(format!(
            "segmenter: training on {} real masks ({} epochs at most)",
            set.pairs.len(),
            step.train.epochs
        ));
        Arc::new(set)
    };
    let s = cxr_lungseg::train(&dir, pairs, &step.train, ctx.device, ctx.progress)?;
    best(s.best_dice);
    Ok(dir)
}

/// The patient split of `records` into `path` (read back when it exists, after checking
/// its hash and that it covers exactly these patients: a split that lacks one of them, or
/// holds patients these records do not have, was made for another cohort and is
/// refused). No patient is in two parts and no duplicate group crosses parts: checked
/// here, every time. The patients of the images the segmenter was trained on (`seen`)
/// are forced into training, with those of `config.forced_train`.
pub fn split(
    records: &[ImageRecord],
    groups: &KeyGroups,
    config: &SplitConfig,
    seen: &SegmenterSeen,
    path: &Path,
) -> Result<Split> {
    let dup = keys_to_groups(records, groups);
    let seen_patients = seen.patients();
    let mut config = config.clone();
    let forced: BTreeSet<cxr_core::PatientId> = records
        .iter()
        .map(|r| &r.patient)
        .filter(|p| seen_patients.contains(p.to_string().as_str()))
        .chain(&config.forced_train)
        .cloned()
        .collect();
    config.forced_train = forced.into_iter().collect();
    let config = &config;
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
    let by_key: HashMap<ImageKey, &ImageRecord> = records.iter().map(|r| (r.key(), r)).collect();
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
    write_training_curves(dir)
}

/// Draws `run_dir/curves.png` from a classifier run's `metrics.jsonl` (the classifier
/// logs numbers; drawing is `cxr-report`'s).
///
/// # Errors
///
/// Reading the metrics, drawing or writing the plot.
pub fn write_training_curves(run_dir: &Path) -> Result<()> {
    let epochs: Vec<cxr_report::plot::TrainingEpoch> =
        cxr_classifier::train::read_metrics(run_dir)?
            .iter()
            .map(|m| cxr_report::plot::TrainingEpoch {
                epoch: m.epoch,
                train_loss: m.train_loss,
                val_loss: m.val_loss,
                val_accuracy: m.val_accuracy,
                val_auc_covid: m.val_auc_covid,
            })
            .collect();
    let png = cxr_report::plot::training_curves_png(&epochs)?;
    cxr_core::write_bytes_atomic(&run_dir.join("curves.png"), &png)?;
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
    let pb = ctx.bar(examples.len(), "predicting");
    let (rows, failed) =
        predict_records(&clf, examples, records, 32, Some(&pb)).map_err(|e| match e {
            e @ cxr_classifier::Error::MissingRecord { .. } => Error::Step {
                step: "predict",
                detail: e.to_string(),
            },
            e => e.into(),
        })?;
    pb.finish_and_clear();
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
    let out = cxr_report::evaluate::run(&cxr_report::evaluate::Options {
        predictions: predictions.to_path_buf(),
        out: dir.to_path_buf(),
        evaluate: ctx.evaluate_options(),
    })?;
    Ok(out.evaluation)
}

/// A predictions CSV read back as evaluation reads it (`cxr_eval::read_predictions`).
///
/// # Errors
/// As `cxr_eval::read_predictions`.
pub fn read_predictions(path: &Path) -> Result<Vec<ImagePrediction>> {
    Ok(cxr_eval::read_predictions(path).map_err(cxr_report::Error::from)?)
}

/// The test units as the network itself scored them: the classifier run's temperature
/// ([`cxr_classifier::calibrate`]) undone on the test predictions `images` (`p^T`
/// rescaled), evaluated like them and written to `dir/before_temperature.json`. `None`
/// when the run has no temperature.
pub fn before_temperature(
    ctx: &Context,
    clf_dir: &Path,
    images: &[ImagePrediction],
    dir: &Path,
) -> Result<Option<(cxr_classifier::calibrate::RunTemperature, Evaluation)>> {
    let Some(t) = cxr_classifier::calibrate::read_temperature(clf_dir)? else {
        return Ok(None);
    };
    let untempered: Vec<ImagePrediction> = images
        .iter()
        .map(|p| p.tempered(1.0 / t.temperature))
        .collect();
    let e = cxr_eval::evaluate::evaluate(&untempered, &ctx.evaluate_options()).map_err(|e| {
        Error::Step {
            step: "before temperature",
            detail: format!("the test predictions without the temperature: {e}"),
        }
    })?;
    write_json(&dir.join("before_temperature.json"), &e)?;
    Ok(Some((t, e)))
}

/// The test units had the test images accepted near the gate's cut been rejected (the
/// split held): the images whose `cautions` say [`cxr_lungseg::qc::NEAR_CUT_CODE`] taken
/// out of `images` (matched by patient and image id), the rest evaluated like the whole
/// and written to `dir/without_near_cut.json` (an older one removed first, so that a
/// rerun leaves no stale file). A set that cannot be evaluated (no unit or one class
/// left) is said in the check, not an error of the run.
///
/// # Errors
///
/// Writing or removing the file.
pub fn without_near_cut(
    ctx: &Context,
    rows: &[PredictionRow],
    images: &[ImagePrediction],
    dir: &Path,
) -> Result<NearCutCheck> {
    let near: std::collections::HashSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r.has_caution(cxr_lungseg::qc::NEAR_CUT_CODE))
        .map(|r| (r.patient_id.as_str(), r.image_id.as_str()))
        .collect();
    let path = dir.join("without_near_cut.json");
    let mut check = NearCutCheck {
        band: cxr_lungseg::qc::NEAR_CUT_BAND,
        images: near.len(),
        test_images: images.len(),
        without: None,
    };
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(cxr_core::Error::Io { path, source: e }.into());
        }
        _ if near.is_empty() => return Ok(check),
        _ => {}
    }
    let kept: Vec<ImagePrediction> = images
        .iter()
        .filter(|p| !near.contains(&(p.patient_id.as_str(), p.image_id.as_str())))
        .cloned()
        .collect();
    check.without = Some(if kept.is_empty() {
        Err("no test image would remain".into())
    } else {
        match cxr_eval::evaluate::evaluate(&kept, &ctx.evaluate_options()) {
            Ok(e) => {
                write_json(&path, &e)?;
                Ok(e)
            }
            Err(e) => Err(e.to_string()),
        }
    });
    Ok(check)
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
    /// The shortcut audit, when the settings run it.
    pub audit: Option<cxr_report::audit::ShortcutAudit>,
}

/// The main experiment (Figure 3, Table 3): every step above, then `report.md`.
pub fn reproduce_main(ctx: &Context) -> Result<MainOutputs> {
    let (records, groups) = cohort(ctx)?;
    let seg_dir = segmenter(ctx, &records)?;
    let seen = crate::seen::seen_by_segmenter(ctx, &records, &seg_dir)?;
    let seg = Segmenter::load(&seg_dir, ctx.device)?;
    let (accepted, examples, gate) = gate(ctx, &records, &seg)?;
    let figs = figures(ctx, &records, &accepted, &seg)?;
    let s = split(
        &accepted,
        &groups,
        &ctx.config.split,
        &seen,
        &ctx.out.join("split.csv"),
    )?;
    let train = part(&examples, &accepted, &s, Part::Train);
    let validation = part(&examples, &accepted, &s, Part::Validation);
    let all_test = part(&examples, &accepted, &s, Part::Test);
    let before = all_test.len();
    let test = seen.leave_out_of_test(ctx, all_test);
    if test.is_empty() {
        return Err(Error::Step {
            step: "split",
            detail: if seen.images.is_empty() {
                "no test image".into()
            } else {
                format!(
                    "no test image: the segmenter was trained on images of {} of the cohort's \
                     patients, who all go to training ({}); train it on a share of them, or give \
                     the run its masks to choose (docs/reproducing.md)",
                    seen.patients().len(),
                    crate::seen::SEGMENTER_SEEN
                )
            },
        });
    }
    let segmenter_seen = seen.sentence(before - test.len());
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
    let rows = predict(ctx, &clf_dir, &test, &accepted, &predictions)?;
    let evaluation = evaluate(ctx, &predictions, &ctx.out.join("evaluation"))?;
    let images = read_predictions(&predictions)?;
    let temperature = before_temperature(ctx, &clf_dir, &images, &ctx.out.join("evaluation"))?;
    let near_cut = without_near_cut(ctx, &rows, &images, &ctx.out.join("evaluation"))?;
    let sal = saliency_examples(ctx, &clf_dir, &test)?;
    let audit = if ctx.config.audit.enabled {
        let a = cxr_report::audit::ShortcutAudit {
            probes: crate::audit::probes(ctx, &train, &validation, &test)?,
            arms: vec![crate::audit::arm_audit(
                ctx,
                &clf_dir,
                &rows,
                &images,
                &evaluation,
                &test,
            )?],
            loso: vec![],
            source_only_auc: crate::audit::source_only_auc(
                ctx,
                train.iter().chain(&validation),
                &rows,
                &images,
            ),
        };
        crate::audit::write(ctx, &a)?;
        Some(a)
    } else {
        None
    };
    let split_counts = s.counts();
    let report = crate::report::write_main_report(
        ctx,
        &crate::report::MainResults {
            records: &records,
            gate: &gate,
            split_counts: &split_counts,
            evaluation: &evaluation,
            temperature: temperature.as_ref(),
            near_cut: &near_cut,
            saliency: &sal,
            audit: audit.as_ref(),
            figures: &figs,
            segmenter_seen: &segmenter_seen,
        },
    )?;
    Ok(MainOutputs {
        evaluation,
        gate,
        split_counts,
        report,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExperimentConfig;
    use crate::test_support::rec;
    use cxr_core::{PatientId, SourceId};
    use tch::Device;

    #[test]
    fn duplicates_stay_together_the_segmenters_patients_train_and_the_split_is_checked_on_reading()
    {
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
            ImageKey::new("covid-idc", "a3"),
            ImageKey::new("padchest", "b7"),
        ]];
        let seen_image = |patient: &str, image: &str| crate::seen::SeenImage {
            key: ImageKey::new(patient.split(':').next().unwrap(), image),
            patient: patient.into(),
            segmenter_image: PathBuf::from(format!("/masks/{image}.png")),
            same_file: false,
        };
        let seen = SegmenterSeen {
            phantoms: false,
            recorded: Some(100),
            images: vec![
                seen_image("covid-idc:A5", "a5"),
                seen_image("padchest:B11", "b11"),
            ],
        };
        let none = SegmenterSeen::default();
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..10 {
            let path = dir.path().join(format!("split{seed}.csv"));
            let config = SplitConfig {
                seed,
                ..SplitConfig::default()
            };
            let s = split(&records, &groups, &config, &seen, &path).unwrap();
            let a = s.part(&PatientId::new(SourceId::CovidIdc, "A3"));
            let b = s.part(&PatientId::new(SourceId::Padchest, "B7"));
            assert!(a.is_some() && a == b, "seed {seed}: {a:?} vs {b:?}");
            // The patients whose images the segmenter was trained on are in training.
            for p in [
                PatientId::new(SourceId::CovidIdc, "A5"),
                PatientId::new(SourceId::Padchest, "B11"),
            ] {
                assert_eq!(s.part(&p), Some(Part::Train), "seed {seed}: {p}");
            }
            // Read back: same split.
            assert_eq!(split(&records, &groups, &config, &seen, &path).unwrap(), s);
        }
        // Without them, some seed puts them elsewhere: the rule is what keeps them.
        let free: Vec<Option<Part>> = (0..10)
            .map(|seed| {
                let config = SplitConfig {
                    seed,
                    ..SplitConfig::default()
                };
                let path = dir.path().join(format!("free{seed}.csv"));
                let s = split(&records, &groups, &config, &none, &path).unwrap();
                s.part(&PatientId::new(SourceId::CovidIdc, "A5"))
            })
            .collect();
        assert!(free.iter().any(|p| *p != Some(Part::Train)), "{free:?}");
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
            &seen,
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
        let e = split(&records, &groups, &SplitConfig::default(), &none, &path).unwrap_err();
        assert!(e.to_string().contains("hash"), "{e}");
    }

    /// The tiny settings' context, writing under `dir/out`, quiet.
    fn tiny_context(dir: &Path) -> Context {
        Context::new(
            ExperimentConfig::tiny(),
            &dir.join("out"),
            Device::Cpu,
            false,
        )
        .unwrap()
    }

    /// 30 patients of one image `x` each (ten per class, nine in ten called right), and a
    /// second image `y` for patient 0; the rows flag some images near the cut.
    fn near_cut_rows(flagged: &[(usize, &str)]) -> (Vec<PredictionRow>, Vec<ImagePrediction>) {
        let mut rows = Vec::new();
        let mut images = Vec::new();
        let mut add = |i: usize, image: &str| {
            let label = Label::ALL[i % 3];
            let mut p = [0.1f32; 3];
            p[if i % 10 == 9 {
                (label.index() + 1) % 3
            } else {
                label.index()
            }] = 0.8;
            let cautions = match flagged.iter().find(|f| **f == (i, image)) {
                // A DICOM's own caution beside the gate's: the code is found among them.
                Some(_) if i == 1 => "for_processing;lungs_near_cut",
                Some(_) => "lungs_near_cut",
                None if i == 3 => "for_processing",
                None => "",
            };
            rows.push(PredictionRow {
                patient_id: format!("src:p{i}"),
                study_date: "2020-03-01".into(),
                image_id: image.into(),
                label: label.as_str().into(),
                p_healthy: p[0],
                p_covid: p[1],
                p_bacterial: p[2],
                source: "src".into(),
                path: format!("{image}{i}.png"),
                cautions: cautions.into(),
            });
            images.push(ImagePrediction {
                patient_id: format!("src:p{i}"),
                study_date: Some("2020-03-01".parse().unwrap()),
                image_id: image.into(),
                label,
                probs: p.map(f64::from),
            });
        };
        for i in 0..30 {
            add(i, "x");
        }
        add(0, "y");
        (rows, images)
    }

    #[test]
    fn the_near_cut_check_takes_out_exactly_the_flagged_images() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = tiny_context(dir.path());
        let eval_dir = dir.path().join("evaluation");
        std::fs::create_dir_all(&eval_dir).unwrap();
        let file = eval_dir.join("without_near_cut.json");
        // Image `x` of patients 0, 1 and 2 near the cut; every patient's image is `x`, so
        // the match is by patient and image. Patient 0 keeps its unit through `y`.
        let (rows, images) = near_cut_rows(&[(0, "x"), (1, "x"), (2, "x")]);
        let check = without_near_cut(&ctx, &rows, &images, &eval_dir).unwrap();
        assert_eq!((check.images, check.test_images), (3, 31));
        assert_eq!(check.band, cxr_lungseg::qc::NEAR_CUT_BAND);
        let without = check.without.unwrap().unwrap();
        assert_eq!((without.n_images, without.n_units), (28, 28));
        let kept: Vec<ImagePrediction> = images
            .iter()
            .filter(|p| {
                !(["src:p0", "src:p1", "src:p2"].contains(&p.patient_id.as_str())
                    && p.image_id == "x")
            })
            .cloned()
            .collect();
        assert_eq!(kept.len(), 28);
        let direct = cxr_eval::evaluate::evaluate(&kept, &ctx.evaluate_options()).unwrap();
        assert_eq!(without.global_accuracy, direct.global_accuracy);
        let written: Evaluation = read_json(&file).unwrap();
        assert_eq!(written.n_units, 28);

        // None near the cut: no check to make, and the older file is gone.
        let (rows, images) = near_cut_rows(&[]);
        let check = without_near_cut(&ctx, &rows, &images, &eval_dir).unwrap();
        assert_eq!((check.images, check.test_images), (0, 31));
        assert!(check.without.is_none());
        assert!(!file.exists());

        // Every test image near the cut: nothing left to evaluate, said, not failed.
        let all: Vec<(usize, &str)> = (0..30).map(|i| (i, "x")).chain([(0, "y")]).collect();
        let (rows, images) = near_cut_rows(&all);
        let check = without_near_cut(&ctx, &rows, &images, &eval_dir).unwrap();
        assert_eq!(check.images, 31);
        let why = check.without.unwrap().unwrap_err();
        assert_eq!(why, "no test image would remain");
        assert!(!file.exists());
    }

    #[test]
    fn an_example_without_its_record_is_a_step_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = tiny_context(dir.path());
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
            synthetic: false,
            near_cut: false,
        };
        let e = predict(&ctx, &clf_dir, &[orphan], &[r], &dir.path().join("p.csv")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "predict: image q2 of source qmenta (/x/q2.png) has no record"
        );
    }
}
