//! The paper's training recipe on the `cxr-nn` kit.
//!
//! Defaults ([`TrainConfig::default`]) are the paper's: softmax cross-entropy, Adam at
//! 1e-4 with cosine decay, batch 64, at most 30 epochs, early stopping when the
//! validation loss has not improved for 5 epochs, 10 % of the training *patients* held
//! out for validation, augmentation by mirroring, 0–20 % crops, 0–10 px translations and
//! ±15° rotations (none at evaluation).
//!
//! **Weight decay.** The paper reports "weight decay 0.9". As an L2 factor in Adam that
//! would dominate every gradient (the loss gradients of a fine-tuned network are orders
//! of magnitude smaller than 0.9 × w) and drive the weights to zero; the value is almost
//! surely a momentum-like constant (Adam's β₁ is 0.9) or a learning-rate decay factor
//! reported under that name. We use decoupled weight decay (AdamW) with a default of
//! 1e-4, a usual fine-tuning value that barely moves pretrained weights over 30 epochs;
//! 0 gives plain Adam.
//!
//! A run folder holds `config.json` (written first), `training_data.json` (what it is
//! trained on: [`crate::run::TrainingData`]), `last`/`best` checkpoints, `metrics.jsonl`
//! and `curves.png`; a stopped run resumes from `last`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_core::Label;
use cxr_nn::checkpoint::append_jsonl;
use cxr_nn::loader::{BoxError, Dataset, Sample};
use cxr_nn::{
    AugmentConfig, DataLoader, FitPlan, Goal, LoaderConfig, Precision, Validated, autocast,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Reduction, Tensor};

use crate::data::{Example, class_counts, split_by_patient};
use crate::model::{ClassifierConfig, InceptionV3};
use crate::preprocess::to_input;
use crate::{Error, transfer};

/// How classes are weighted in the loss.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeighting {
    /// Every image counts the same (the paper).
    #[default]
    None,
    /// Each class weighs `n / (K · n_class)` (inverse frequency in the training part).
    Balanced,
    /// Given weights, in [`Label::index`] order.
    Manual(Vec<f64>),
}

/// Training settings (`config.json` of a run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The network.
    pub model: ClassifierConfig,
    /// torchvision ImageNet weights (safetensors) to start from; `None` = random start.
    pub pretrained: Option<PathBuf>,
    /// The segmenter run that made the masks (recorded so that prediction reuses it).
    pub segmenter: Option<PathBuf>,
    /// Maximum epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Peak learning rate, cosine-decayed to `min_lr_fraction` of it.
    pub learning_rate: f64,
    /// Final learning rate as a fraction of the peak.
    pub min_lr_fraction: f64,
    /// Decoupled weight decay (AdamW); 0 = Adam. See the module docs for the paper's 0.9.
    pub weight_decay: f64,
    /// Warm-up epochs.
    pub warmup_epochs: usize,
    /// Share of training patients held out for validation.
    pub validation_fraction: f64,
    /// Epochs without a lower validation loss before stopping.
    pub patience: usize,
    /// Training augmentation.
    pub augment: AugmentConfig,
    /// Class weighting of the loss.
    pub class_weighting: ClassWeighting,
    /// Weight of the auxiliary head's loss (when the model has one).
    pub aux_weight: f64,
    /// Loader threads.
    pub workers: usize,
    /// Seed of the split, shuffling, augmentation and initial weights.
    pub seed: u64,
    /// Batches whose gradients are summed before each step.
    pub accumulate: usize,
    /// Forward-pass arithmetic: fp16 autocast with loss scaling on CUDA by default.
    pub precision: Precision,
    /// Channels-last memory layout for inputs and weights, on every device: cuDNN's and
    /// oneDNN's (CPU) fastest convolutions use it (on 2 CPU cores a training step of the
    /// `small` preset takes 0.65× the time, `docs/performance.md`).
    pub channels_last: bool,
    /// Keep copies of large inputs shrunk for the model's input size in `RUN/inputs/`
    /// ([`crate::data::shrink_inputs`]): the same samples, without decoding full-size
    /// radiographs every epoch.
    pub input_cache: bool,
    /// Average the weights of the last this many epochs (0: off, the paper's recipe;
    /// more than `epochs`: all of them).
    /// The weights after each of the final `average_last` epochs are kept
    /// (`snapshot-<epoch>.safetensors`) and averaged at the end into
    /// `averaged.safetensors`, which [`crate::Classifier`] then uses instead of `best`
    /// (stochastic weight averaging over a cosine tail: one draw of the random streams,
    /// or another CPU's rounding, moves the result much less than it moves any single
    /// epoch's weights).
    pub average_last: usize,
    /// Predict with the mean of the class probabilities of the image and of its mirror
    /// image (test-time augmentation; mirroring is one of the training augmentations).
    /// Off in the paper's recipe; on in [`TrainConfig::cpu_small`], where it narrows what
    /// one seed is worth (`docs/reproducing.md`). [`crate::Classifier`] reads it from the
    /// run's `config.json`; [`crate::Classifier::set_mirror_average`] overrides it.
    pub mirror_average: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ClassifierConfig::v3_299(),
            pretrained: None,
            segmenter: None,
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-4,
            min_lr_fraction: 0.0,
            weight_decay: 1e-4,
            warmup_epochs: 0,
            validation_fraction: 0.1,
            patience: 5,
            augment: AugmentConfig::paper(),
            class_weighting: ClassWeighting::None,
            aux_weight: 0.4,
            workers: 2,
            seed: 2020,
            accumulate: 1,
            precision: Precision::Auto,
            channels_last: true,
            input_cache: true,
            average_last: 0,
            mirror_average: false,
        }
    }
}

impl TrainConfig {
    /// The CPU preset (and the demo's): [`ClassifierConfig::small`] trained from scratch
    /// with a higher learning rate and smaller batches (no ImageNet weights fit a narrow
    /// network), for 40 epochs of cosine decay **without early stopping**, predicting
    /// with the average of the last 10 epochs' weights ([`TrainConfig::average_last`])
    /// and of each image and its mirror ([`TrainConfig::mirror_average`]).
    ///
    /// Why: with 20 epochs and early stopping on the ~55 validation images of the demo,
    /// one draw of the random streams (or another CPU's kernels) stopped at epoch 8 with
    /// 59 % accuracy and at epoch 18 with 77 %, where another reached 89 %. Over 3 seeds ×
    /// 2 instruction sets this recipe stays within the spread `docs/reproducing.md`
    /// records.
    pub fn cpu_small() -> Self {
        TrainConfig {
            model: ClassifierConfig::small(),
            batch_size: 16,
            learning_rate: 1e-3,
            min_lr_fraction: 0.01,
            epochs: 40,
            patience: 40,
            average_last: 10,
            mirror_average: true,
            warmup_epochs: 1,
            ..TrainConfig::default()
        }
    }

    /// Checks the settings, naming the first bad field: the network
    /// ([`ClassifierConfig::validate`]) with exactly [`Label::COUNT`] classes (the label
    /// set is fixed), the augmentation ([`AugmentConfig::validate`], fields `augment.*`),
    /// `batch_size` and `accumulate` ≥ 1, `learning_rate` > 0, `validation_fraction` in
    /// `[0, 1)` and manual class weights.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.model.num_classes != Label::COUNT as i64 {
            return Err(Error::InvalidConfig {
                field: "num_classes",
                detail: format!(
                    "{} ≠ {}: the labels are fixed (healthy, covid, bacterial)",
                    self.model.num_classes,
                    Label::COUNT
                ),
            });
        }
        self.validate_settings()
    }

    /// [`TrainConfig::validate`] but for the number of classes (a probe's network has
    /// its own, [`crate::probe`]).
    pub(crate) fn validate_settings(&self) -> Result<(), Error> {
        self.model.validate()?;
        let bad = |field, detail: String| Err(Error::InvalidConfig { field, detail });
        self.augment.validate().map_err(|e| match e {
            cxr_nn::Error::InvalidConfig { field, detail } => {
                Error::InvalidConfig { field, detail }
            }
            e => Error::Nn(e),
        })?;
        if self.batch_size == 0 {
            return bad("batch_size", "0".into());
        }
        if self.accumulate == 0 {
            return bad("accumulate", "0".into());
        }
        if self.learning_rate.is_nan() || self.learning_rate <= 0.0 {
            return bad("learning_rate", format!("{} ≤ 0", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad(
                "validation_fraction",
                format!("{} is not in [0, 1)", self.validation_fraction),
            );
        }
        if let ClassWeighting::Manual(w) = &self.class_weighting
            && (w.len() != self.model.num_classes as usize
                || w.iter().any(|v| v.is_nan() || *v < 0.0))
        {
            return bad(
                "class_weighting",
                format!("{w:?}: need {} weights ≥ 0", self.model.num_classes),
            );
        }
        Ok(())
    }
}

pub use cxr_nn::layers::{channels_last, weights_channels_last};

struct ExampleDataset {
    examples: Arc<Vec<Example>>,
    /// Class of each example when it is not its label ([`crate::probe`]).
    targets: Option<Arc<Vec<i64>>>,
    indices: Vec<usize>,
    size: usize,
    augment: AugmentConfig,
}

impl Dataset for ExampleDataset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, index: usize, rng: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
        let i = self.indices[index];
        let ex = &self.examples[i];
        let (img, mask) = ex.load()?;
        let (img, mask) = crate::preprocess::shrink_pair(img, mask, self.size as u32);
        let src = (img.width() as usize, img.height() as usize);
        let data: Vec<f32> = img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect();
        let a = self.augment.sample(rng);
        let out = (self.size, self.size);
        Ok(Sample {
            size: out,
            image: a.warp_image(&data, src, out),
            channels: vec![],
            masks: vec![a.warp_labels(&mask.to_binary(), src, out, 0)],
            class: self
                .targets
                .as_ref()
                .map_or(ex.label.index() as i64, |t| t[i]),
        })
    }
}

pub use crate::run::{EpochMetrics, read_metrics};
pub use cxr_nn::TrainState;

/// What [`train`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// One line per epoch run in this call.
    pub epochs: Vec<EpochMetrics>,
    /// Best validation loss.
    pub best_val_loss: f64,
    /// Example indices used for training and for validation.
    pub train: Vec<usize>,
    /// Validation indices.
    pub validation: Vec<usize>,
    /// What the ImageNet import did (when `pretrained` is set and training started fresh).
    pub import: Option<transfer::ImportReport>,
    /// The temperature fitted on the validation images ([`crate::calibrate`]); `None`
    /// without validation images.
    pub temperature: Option<crate::calibrate::RunTemperature>,
}

fn class_weights(config: &TrainConfig, examples: &[Example], train: &[usize]) -> Option<Tensor> {
    let k = config.model.num_classes as usize;
    let w: Vec<f64> = match &config.class_weighting {
        ClassWeighting::None => return None,
        ClassWeighting::Manual(w) => w.clone(),
        ClassWeighting::Balanced => {
            let sub: Vec<Example> = train.iter().map(|&i| examples[i].clone()).collect();
            let n = class_counts(&sub);
            let total: usize = n.iter().sum();
            (0..k)
                .map(|c| {
                    let nc = n.get(c).copied().unwrap_or(0);
                    if nc == 0 {
                        0.0
                    } else {
                        total as f64 / (k as f64 * nc as f64)
                    }
                })
                .collect()
        }
    };
    Some(Tensor::from_slice(&w).to_kind(Kind::Float))
}

fn ce(logits: &Tensor, targets: &Tensor, weights: Option<&Tensor>) -> Tensor {
    logits
        .to_kind(Kind::Float)
        .cross_entropy_loss(targets, weights, Reduction::Mean, -100, 0.0)
}

/// Trains a classifier into `run_dir` on `examples`, holding out
/// `config.validation_fraction` of their patients for validation. Resumes from
/// `run_dir/last` when a run with the same configuration was stopped there. Shows
/// progress bars when `progress`. After training, fits the run's temperature on the
/// validation images ([`crate::calibrate::calibrate_run`], `temperature.json`).
///
/// # Errors
///
/// - [`Error::InvalidConfig`] for bad settings ([`TrainConfig::validate`]);
/// - [`Error::NoData`] with no training example, or when validation examples exist but
///   none loads in an epoch;
/// - [`cxr_nn::Error::NoTrainingSamples`] (as [`Error::Nn`]) when no training example
///   loads in an epoch;
/// - weights, checkpoint, I/O and libtorch errors.
pub fn train(
    run_dir: &Path,
    examples: &[Example],
    config: &TrainConfig,
    device: Device,
    progress: bool,
) -> Result<TrainSummary, Error> {
    let (train_idx, val_idx) = split_by_patient(examples, config.validation_fraction, config.seed);
    train_split(
        run_dir, examples, None, train_idx, val_idx, config, device, progress,
    )
}

/// Like [`train`], with the validation examples given (an experiment's own split).
///
/// # Errors
///
/// As [`train`].
pub fn train_with_validation(
    run_dir: &Path,
    train_examples: &[Example],
    validation: &[Example],
    config: &TrainConfig,
    device: Device,
    progress: bool,
) -> Result<TrainSummary, Error> {
    let all: Vec<Example> = train_examples.iter().chain(validation).cloned().collect();
    let n = train_examples.len();
    train_split(
        run_dir,
        &all,
        None,
        (0..n).collect(),
        (n..all.len()).collect(),
        config,
        device,
        progress,
    )
}

/// Trains on `examples[train_idx]`, validating on `examples[val_idx]`; each example's
/// class is its label, or `targets[i]` when given (a probe: no covid AUC per epoch, no
/// temperature).
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_split(
    run_dir: &Path,
    examples: &[Example],
    targets: Option<Arc<Vec<i64>>>,
    train_idx: Vec<usize>,
    val_idx: Vec<usize>,
    config: &TrainConfig,
    device: Device,
    progress: bool,
) -> Result<TrainSummary, Error> {
    let probe = targets.is_some();
    if probe {
        config.validate_settings()?;
    } else {
        config.validate()?;
    }
    if train_idx.is_empty() {
        return Err(Error::NoData {
            detail: format!(
                "no training examples ({} given, {} held out for validation)",
                examples.len(),
                val_idx.len()
            ),
        });
    }
    follow_moved_segmenter(run_dir, config)?;
    cxr_nn::open_run(run_dir, config)?;
    if !probe {
        crate::run::TrainingData::tally(train_idx.iter().chain(&val_idx).map(|&i| {
            let e = &examples[i];
            (e.source(), e.patient.as_str(), e.label, e.synthetic)
        }))
        .write(run_dir)?;
    }
    let size = config.model.input_size as usize;
    let shared = Arc::new(if config.input_cache {
        let bar = cxr_core::progress::bar(examples.len() as u64, "shrinking inputs", progress);
        let shrunk =
            crate::data::shrink_inputs(examples, &run_dir.join("inputs"), size as u32, Some(&bar));
        bar.finish_and_clear();
        shrunk
    } else {
        examples.to_vec()
    });
    let loader = |indices: Vec<usize>, augment: AugmentConfig, shuffle: bool| {
        DataLoader::new(
            Arc::new(ExampleDataset {
                examples: Arc::clone(&shared),
                targets: targets.clone(),
                indices,
                size,
                augment,
            }),
            LoaderConfig::new(config.batch_size, config.workers, config.seed, shuffle),
        )
    };
    let train_loader = loader(train_idx.clone(), config.augment.clone(), true);
    let val_loader = loader(val_idx.clone(), AugmentConfig::none(), false);
    // A probe's config has no class weighting (`probe::train_probe` sets it so).
    let weights = class_weights(config, examples, &train_idx).map(|w| w.to_device(device));

    tch::manual_seed(config.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = InceptionV3::new(&vs.root(), &config.model)?;
    let (state, resumed) =
        cxr_nn::resume_or_start(run_dir, &mut vs, config.patience, Goal::Minimize)?;
    let mut import = None;
    if let (false, Some(p)) = (resumed, &config.pretrained) {
        let report = transfer::import_torchvision(&mut vs, p, false)?;
        tracing::info!("ImageNet import: {report}");
        import = Some(report);
    }
    let cl = config.channels_last;
    if cl {
        weights_channels_last(&vs);
    }
    let plan = FitPlan {
        epochs: config.epochs,
        learning_rate: config.learning_rate,
        min_lr: config.learning_rate * config.min_lr_fraction,
        warmup_epochs: config.warmup_epochs,
        weight_decay: config.weight_decay,
        accumulate: config.accumulate,
        mixed: config.precision.mixed_on(device),
        progress,
        seed: Some(config.seed),
        average_last: config.average_last,
    };
    let mode = config.model.input;
    let mut epochs = Vec::new();
    let state = cxr_nn::fit::<Error, _>(
        run_dir,
        &vs,
        &train_loader,
        &plan,
        state,
        |b| {
            let x = to_input(&b.images, &b.masks[0], mode).to_device(device);
            let x = if cl { channels_last(&x) } else { x };
            let y = b.classes.to_device(device);
            let out = autocast(device, config.precision, || net.forward_all(&x, true));
            let main = ce(&out.logits, &y, weights.as_ref());
            let logged = main.double_value(&[]);
            let loss = match &out.aux {
                Some(aux) if config.aux_weight > 0.0 => {
                    main + ce(aux, &y, weights.as_ref()) * config.aux_weight
                }
                _ => main,
            };
            (loss, logged)
        },
        |done| {
            let v = evaluate(
                &net,
                &val_loader,
                mode,
                device,
                cl,
                weights.as_ref(),
                !probe,
            )
            .ok_or_else(|| Error::NoData {
                detail: format!("no validation samples loaded in epoch {}", done.epoch),
            })?;
            let m = EpochMetrics {
                epoch: done.epoch,
                train_loss: done.train_loss,
                val_loss: v.loss,
                val_accuracy: v.accuracy,
                val_auc_covid: v.auc_covid,
                lr: done.lr,
                seconds: done.started.elapsed().as_secs_f64(),
                failed_samples: done.failed_samples,
            };
            append_jsonl(&run_dir.join("metrics.jsonl"), &m)?;
            // Without validation patients, training loss stands in (and early stopping
            // then only guards against divergence).
            let watched = if val_loader.batches() == 0 {
                m.train_loss
            } else {
                v.loss
            };
            let message = format!("val loss {:.4} acc {:.3}", m.val_loss, m.val_accuracy);
            epochs.push(m);
            Ok(Validated { watched, message })
        },
    )?;
    drop(net);
    drop(vs);
    let temperature = if val_idx.is_empty() || probe {
        None
    } else {
        // The weights the run predicts with (averaged or best), on its validation images.
        let mut clf = crate::Classifier::load(run_dir, device)?;
        let validation: Vec<Example> = val_idx.iter().map(|&i| shared[i].clone()).collect();
        let t = crate::calibrate::calibrate_run(&mut clf, &validation, config.batch_size)?;
        if let Some(t) = &t {
            tracing::info!(
                temperature = t.temperature,
                "temperature scaling: validation NLL {:.4} -> {:.4}",
                t.nll_before,
                t.nll_after
            );
        }
        t
    };
    Ok(TrainSummary {
        epochs,
        best_val_loss: state.early.best.unwrap_or(f64::INFINITY),
        train: train_idx,
        validation: val_idx,
        import,
        temperature,
    })
}

struct Validation {
    loss: f64,
    accuracy: f64,
    auc_covid: Option<f64>,
}

/// The validation pass; `None` when the loader has batches but none of their samples
/// loaded (an empty validation set gives zeros: training loss then stands in).
fn evaluate<D: Dataset + 'static>(
    net: &InceptionV3,
    loader: &DataLoader<D>,
    mode: crate::InputMode,
    device: Device,
    cl: bool,
    weights: Option<&Tensor>,
    covid_auc: bool,
) -> Option<Validation> {
    let _guard = tch::no_grad_guard();
    let (mut loss, mut n, mut correct) = (0.0, 0usize, 0usize);
    let (mut covid_scores, mut is_covid) = (Vec::new(), Vec::new());
    for b in loader.epoch(0) {
        if b.indices.is_empty() {
            continue;
        }
        let x = to_input(&b.images, &b.masks[0], mode).to_device(device);
        let x = if cl { channels_last(&x) } else { x };
        let y = b.classes.to_device(device);
        let logits = net.forward_all(&x, false).logits.to_kind(Kind::Float);
        loss += ce(&logits, &y, weights).double_value(&[]) * b.indices.len() as f64;
        n += b.indices.len();
        correct += logits
            .argmax(-1, false)
            .eq_tensor(&y)
            .sum(Kind::Int64)
            .int64_value(&[]) as usize;
        let probs = crate::model::probabilities(&logits);
        let ys = Vec::<i64>::try_from(&b.classes).expect("int64 classes");
        for (p, c) in probs.iter().zip(ys) {
            covid_scores.push(f64::from(p[Label::Covid.index()]));
            is_covid.push(c == Label::Covid.index() as i64);
        }
    }
    if n == 0 && loader.batches() > 0 {
        return None;
    }
    Some(Validation {
        loss: loss / n.max(1) as f64,
        accuracy: correct as f64 / n.max(1) as f64,
        auc_covid: covid_auc
            .then(|| cxr_stats::roc::roc_auc(&covid_scores, &is_covid).ok())
            .flatten(),
    })
}

/// A run folder moved or copied with its segmenter after it started (an experiment
/// folder taken to another machine) records the segmenter where it was; continuing it
/// there names the segmenter where it is now. When the recorded segmenter is the one
/// `config` names — found at the same place ([`crate::run::segmenter_dir`], which also
/// looks beside the run), or a copy with the same settings and weights — and nothing
/// else differs, `config.json` is rewritten with the new place, so that the run goes on
/// (or a finished one is re-rendered) instead of being refused as another configuration.
fn follow_moved_segmenter(run_dir: &Path, config: &TrainConfig) -> Result<(), Error> {
    let path = run_dir.join("config.json");
    if !path.is_file() {
        return Ok(());
    }
    let mut old: TrainConfig = cxr_nn::files::read_json(&path)?;
    let (Some(was), Some(now)) = (old.segmenter.clone(), config.segmenter.as_deref()) else {
        return Ok(());
    };
    if was == now {
        return Ok(());
    }
    old.segmenter = Some(now.to_path_buf());
    if &old != config {
        return Ok(()); // Other settings differ too: open_run says which.
    }
    let Ok(found) = crate::run::segmenter_dir(run_dir, Some(&was)) else {
        return Ok(());
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let same_place = canonical(&found).is_some() && canonical(&found) == canonical(now);
    let same_run = || -> bool {
        let settings = |d: &Path| std::fs::read(d.join("config.json")).ok();
        settings(&found).is_some()
            && settings(&found) == settings(now)
            && cxr_nn::files::weights_id(&found)
                .ok()
                .is_some_and(|a| Some(a) == cxr_nn::files::weights_id(now).ok())
    };
    if same_place || same_run() {
        tracing::info!(
            run = %run_dir.display(),
            was = %was.display(),
            now = %now.display(),
            "the run's segmenter moved: config.json records where it is now"
        );
        cxr_nn::files::write_json(&path, &old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_moved_or_copied_with_its_segmenter_goes_on() {
        let d = tempfile::tempdir().unwrap();
        let segmenter = |dir: &Path, weights: &[u8]| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("config.json"), b"{\"model\": 1}").unwrap();
            std::fs::write(dir.join("best.safetensors"), weights).unwrap();
        };
        let run = d.path().join("here/classifier");
        std::fs::create_dir_all(&run).unwrap();
        let here = d.path().join("here/segmenter");
        segmenter(&here, b"weights");
        let config = |seg: &Path| TrainConfig {
            segmenter: Some(seg.to_path_buf()),
            ..TrainConfig::default()
        };
        let recorded = |run: &Path| -> TrainConfig {
            cxr_nn::files::read_json(&run.join("config.json")).unwrap()
        };
        // Moved: the recorded place is gone, the segmenter is beside the run.
        cxr_nn::files::write_json(
            &run.join("config.json"),
            &config(Path::new("/gone/segmenter")),
        )
        .unwrap();
        follow_moved_segmenter(&run, &config(&here)).unwrap();
        assert_eq!(recorded(&run), config(&here));
        cxr_nn::open_run(&run, &config(&here)).unwrap();
        // Copied: the recorded one still exists elsewhere with the same settings and weights.
        let there = d.path().join("there/segmenter");
        segmenter(&there, b"weights");
        follow_moved_segmenter(&run, &config(&there)).unwrap();
        assert_eq!(recorded(&run), config(&there));
        // Another segmenter (other weights) is another run: refused, saying so.
        let other = d.path().join("other/segmenter");
        segmenter(&other, b"retrained");
        follow_moved_segmenter(&run, &config(&other)).unwrap();
        assert_eq!(recorded(&run), config(&there));
        let e = cxr_nn::open_run(&run, &config(&other))
            .unwrap_err()
            .to_string();
        assert!(e.contains("differs in `segmenter`"), "{e}");
        // Other settings as well: left to open_run, which names them.
        let mut longer = config(&here);
        longer.epochs += 1;
        follow_moved_segmenter(&run, &longer).unwrap();
        assert_eq!(recorded(&run), config(&there));
    }
    use cxr_core::{GrayImage, LungMask};

    #[test]
    fn a_resumed_epoch_logged_twice_reads_once_with_its_later_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let m = |epoch, train_loss| EpochMetrics {
            epoch,
            train_loss,
            val_loss: 1.0,
            val_accuracy: 0.5,
            val_auc_covid: None,
            lr: 1e-3,
            seconds: 1.0,
            failed_samples: 0,
        };
        let log = tmp.path().join("metrics.jsonl");
        // Stopped after logging epoch 1 but before its checkpoint; resumed at epoch 1.
        for e in [m(0, 0.9), m(1, 0.8), m(1, 0.7), m(2, 0.6)] {
            cxr_nn::checkpoint::append_jsonl(&log, &e).unwrap();
        }
        let read = read_metrics(tmp.path()).unwrap();
        assert_eq!(read, vec![m(0, 0.9), m(1, 0.7), m(2, 0.6)]);
    }

    fn example(dir: &Path, name: &str, (w, h): (u32, u32)) -> Example {
        let img = GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 7 + y * 13) % 256) as u8]));
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let mask = LungMask::from_fn(w, h, |x, y| {
            ((x as f32 - cx) / cx).powi(2) + ((y as f32 - cy) / cy).powi(2) < 0.6
        });
        let image = dir.join(format!("{name}.png"));
        cxr_core::save_png(&image, &img).unwrap();
        let mask_path = dir.join(format!("{name}_mask.png"));
        mask.save(&mask_path).unwrap();
        Example {
            image,
            mask: mask_path,
            label: Label::Covid,
            patient: "covid-idc:P1".into(),
            image_id: format!("sub/{name}.png"),
            invert: false,
            synthetic: false,
            near_cut: false,
        }
    }

    #[test]
    fn shrunk_input_copies_give_the_same_samples() {
        let tmp = tempfile::tempdir().unwrap();
        let big = example(tmp.path(), "big", (600, 520));
        let small = example(tmp.path(), "small", (256, 256));
        let cache = tmp.path().join("inputs");
        let out = crate::data::shrink_inputs(&[big.clone(), small.clone()], &cache, 128, None);
        // 520 / 256 → shrunk by 2; 256 px is small enough already.
        assert_eq!(out[0].image, cache.join("covid-idc/sub%2Fbig.png.png"));
        assert_eq!(image::image_dimensions(&out[0].image).unwrap(), (300, 260));
        assert_eq!(image::image_dimensions(&out[0].mask).unwrap(), (300, 260));
        assert_eq!(out[1], small);
        // Copies are reused.
        let again = crate::data::shrink_inputs(std::slice::from_ref(&big), &cache, 128, None);
        assert_eq!(again[0], out[0]);

        let ds = ExampleDataset {
            targets: None,
            examples: Arc::new(vec![big, out[0].clone()]),
            indices: vec![0, 1],
            size: 128,
            augment: AugmentConfig::paper(),
        };
        for seed in 0..3 {
            let a = ds
                .get(0, &mut cxr_nn::loader::sample_rng(seed, 0, 0))
                .unwrap();
            let b = ds
                .get(1, &mut cxr_nn::loader::sample_rng(seed, 0, 0))
                .unwrap();
            assert_eq!(a.image, b.image, "seed {seed}");
            assert_eq!(a.masks, b.masks, "seed {seed}");
            assert!(a.masks[0].contains(&1));
        }
    }
}
