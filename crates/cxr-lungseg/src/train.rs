//! Training the segmenter (BCE + Dice on image/mask pairs) and running it
//! ([`Segmenter`]).
//!
//! A run folder holds `config.json` (written first), `last`/`best` checkpoints
//! (safetensors + JSON) and `metrics.jsonl`; a stopped run resumes from `last`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_core::GrayImage;
use cxr_nn::checkpoint::{append_jsonl, read_json};
use cxr_nn::layers::{channels_last, weights_channels_last};
use cxr_nn::loader::{BoxError, Dataset, Sample};
use cxr_nn::{
    AugmentConfig, DataLoader, FitPlan, Goal, LoaderConfig, Precision, Validated, autocast,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Reduction, Tensor};

use crate::Error;
use crate::model::{DeepLabV3Plus, SegmenterConfig};

/// Label values of a training mask plane.
pub const BACKGROUND: u8 = 0;
/// Lung.
pub const LUNG: u8 = 1;
/// Excluded from the loss and the metrics (devices, markings).
pub const IGNORE: u8 = 255;

/// Which label wins a tie when a label plane is shrunk: lung, then ignore, then
/// background.
const LABEL_TIES: [u8; 3] = [LUNG, IGNORE, BACKGROUND];

/// A set of images with lung labels (`BACKGROUND`, `LUNG`, `IGNORE` per pixel).
pub trait LabelledImages: Send + Sync {
    /// Number of pairs.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Loads pair `i`: the image and a label plane of the same size.
    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), BoxError>;
    /// The patient of pair `i`, when patients can have several pairs: [`train`] keeps a
    /// patient's pairs on one side of the validation split. `None` (the default): the
    /// pair is its own patient.
    fn group(&self, _i: usize) -> Option<&str> {
        None
    }
    /// The image file of pair `i`, when it is one: [`train`] records the files it trains
    /// on with their fingerprints ([`crate::training_images`]). `None` (the default):
    /// drawn in memory, nothing to record.
    fn path(&self, _i: usize) -> Option<&Path> {
        None
    }
}

/// Pairs held in memory (phantoms, tests).
#[derive(Debug, Clone, Default)]
pub struct InMemory(pub Vec<(GrayImage, Vec<u8>)>);

impl LabelledImages for InMemory {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), BoxError> {
        Ok(self.0[i].clone())
    }
}

/// Training settings (`config.json` of a run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegTrainConfig {
    /// The network.
    pub model: SegmenterConfig,
    /// Maximum epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Peak learning rate (Adam), cosine-decayed to 1 % of it.
    pub learning_rate: f64,
    /// Decoupled weight decay (AdamW).
    pub weight_decay: f64,
    /// Warm-up epochs.
    pub warmup_epochs: usize,
    /// Share of pairs held out for validation.
    pub validation_fraction: f64,
    /// Epochs without a better validation Dice before stopping.
    pub patience: usize,
    /// Training augmentation.
    pub augment: AugmentConfig,
    /// Loader threads.
    pub workers: usize,
    /// Seed of the split, shuffling, augmentation and initial weights.
    pub seed: u64,
    /// Batches whose gradients are summed before each optimiser step (effective batch
    /// = `batch_size × accumulate`).
    pub accumulate: usize,
    /// Forward-pass arithmetic: fp16 autocast with loss scaling on CUDA by default.
    pub precision: Precision,
    /// Average the weights of the last this many epochs (0: off), as
    /// `cxr_classifier::TrainConfig::average_last`: [`Segmenter`] then uses
    /// `averaged.safetensors`.
    pub average_last: usize,
}

/// The recipe that generalised best to unseen patients' real radiographs
/// (`docs/lungseg.md`, "Real radiographs"): 40 epochs of cosine decay **without early
/// stopping**, the last 10 epochs' weights averaged, and the paper's augmentations but
/// for the mirror (a mirrored chest has its heart on the right: the left lung's border
/// behind the heart is what the segmenter must learn, and mirroring blurs it).
impl Default for SegTrainConfig {
    fn default() -> Self {
        SegTrainConfig {
            model: SegmenterConfig::resnet18_256(),
            epochs: 40,
            batch_size: 8,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            warmup_epochs: 1,
            validation_fraction: 0.1,
            patience: 40,
            augment: AugmentConfig {
                mirror: 0.0,
                ..AugmentConfig::paper()
            },
            workers: 2,
            seed: 2020,
            accumulate: 1,
            precision: Precision::Auto,
            average_last: 10,
        }
    }
}

impl SegTrainConfig {
    /// Checks the settings, naming the first bad field: the network
    /// ([`SegmenterConfig::validate`]), the augmentation
    /// ([`AugmentConfig::validate`], fields `augment.*`), `batch_size` and `accumulate`
    /// ≥ 1, a finite `learning_rate` > 0, finite `weight_decay` ≥ 0 and
    /// `validation_fraction` in `[0, 1)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<(), Error> {
        self.model.validate()?;
        self.augment.validate().map_err(|e| match e {
            cxr_nn::Error::InvalidConfig { field, detail } => {
                Error::InvalidConfig { field, detail }
            }
            e => Error::Nn(e),
        })?;
        let bad = |field, detail: String| Err(Error::InvalidConfig { field, detail });
        if self.batch_size == 0 {
            return bad("batch_size", "0 < 1".into());
        }
        if self.accumulate == 0 {
            return bad("accumulate", "0 < 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("{} is not a finite value > 0", self.learning_rate),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!("{} is not a finite value ≥ 0", self.weight_decay),
            );
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad(
                "validation_fraction",
                format!("{} is not in [0, 1)", self.validation_fraction),
            );
        }
        Ok(())
    }
}

struct PairDataset {
    pairs: Arc<ShrunkPairs>,
    indices: Vec<usize>,
    size: usize,
    augment: AugmentConfig,
}

/// Training pairs checked (label plane the image's size), shrunk for the input size
/// (block means, block-majority labels: [`cxr_core::shrink_factor`]) and kept in memory
/// from their first load, so later epochs neither decode full-size radiographs again nor
/// alias them when resampling. A pair that fails to load is not kept (the loader reports
/// it each epoch).
struct ShrunkPairs {
    pairs: Arc<dyn LabelledImages>,
    size: u32,
    kept: Vec<std::sync::OnceLock<(GrayImage, Vec<u8>)>>,
}

impl ShrunkPairs {
    fn new(pairs: Arc<dyn LabelledImages>, size: u32) -> Self {
        let kept = (0..pairs.len())
            .map(|_| std::sync::OnceLock::new())
            .collect();
        ShrunkPairs { pairs, size, kept }
    }

    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), BoxError> {
        if let Some(p) = self.kept[i].get() {
            return Ok(p.clone());
        }
        let (img, labels) = self.pairs.load(i)?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        if labels.len() != w * h {
            return Err(format!(
                "label plane has {} values for a {w}×{h} image",
                labels.len()
            )
            .into());
        }
        let pair = match cxr_core::shrink_factor(img.dimensions(), self.size) {
            1 => (img, labels),
            k => (
                cxr_core::shrink_gray(&img, k),
                cxr_core::shrink_labels(&labels, (w, h), k as usize, &LABEL_TIES),
            ),
        };
        Ok(self.kept[i].get_or_init(|| pair).clone())
    }
}

impl Dataset for PairDataset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, index: usize, rng: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
        let (img, labels) = self.pairs.load(self.indices[index])?;
        let src = (img.width() as usize, img.height() as usize);
        let a = self.augment.sample(rng);
        let out = (self.size, self.size);
        Ok(Sample {
            size: out,
            image: a.warp_image(&crate::config::unit_values(&img), src, out),
            channels: vec![],
            masks: vec![a.warp_labels(&labels, src, out, BACKGROUND)],
            class: 0,
        })
    }
}

/// BCE + soft Dice over the non-ignored pixels. `labels` is `[B, 1, H, W]` uint8.
pub fn seg_loss(logits: &Tensor, labels: &Tensor) -> Tensor {
    let valid = labels.ne(i64::from(IGNORE)).to_kind(Kind::Float);
    let target = labels.eq(i64::from(LUNG)).to_kind(Kind::Float);
    let n = valid.sum(Kind::Float).clamp_min(1.0);
    let bce = logits.binary_cross_entropy_with_logits::<&Tensor>(
        &target,
        Some(&valid),
        None,
        Reduction::Sum,
    ) / &n;
    let p = logits.sigmoid() * &valid;
    let inter = (&p * &target).sum(Kind::Float);
    let dice = (inter * 2.0 + 1.0) / (p.sum(Kind::Float) + target.sum(Kind::Float) + 1.0);
    bce + (1.0 - dice)
}

/// Dice of thresholded predictions over non-ignored pixels: (intersection, |pred|, |true|).
fn dice_counts(logits: &Tensor, labels: &Tensor) -> (f64, f64, f64) {
    let valid = labels.ne(i64::from(IGNORE));
    let pred = logits.ge(0.0).logical_and(&valid).to_kind(Kind::Float);
    let truth = labels.eq(i64::from(LUNG)).to_kind(Kind::Float);
    (
        (&pred * &truth).sum(Kind::Float).double_value(&[]),
        pred.sum(Kind::Float).double_value(&[]),
        truth.sum(Kind::Float).double_value(&[]),
    )
}

/// Per-epoch log line (`metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Mean validation loss.
    pub val_loss: f64,
    /// Validation Dice (pooled over pixels).
    pub val_dice: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

pub use cxr_nn::TrainState;

/// What [`train`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// One line per epoch run in this call.
    pub epochs: Vec<EpochMetrics>,
    /// Best validation Dice.
    pub best_dice: f64,
    /// Indices of the pairs used for validation.
    pub validation: Vec<usize>,
}

/// Splits pair indices into (train, validation), deterministically from the seed.
pub fn split_pairs(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5E6));
    let n_val =
        ((n as f64 * fraction).round() as usize).clamp(usize::from(n > 1), n.saturating_sub(1));
    let val = idx.split_off(n - n_val);
    (idx, val)
}

/// Splits the pairs of `pairs` into (train, validation) by patient
/// ([`LabelledImages::group`]): a share `fraction` of the patients (at least one, never
/// all when there are two or more) is held out with all their pairs. Without groups this
/// is [`split_pairs`] (same order); with them both index lists come back sorted.
pub fn split_by_patient(
    pairs: &dyn LabelledImages,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let n = pairs.len();
    if (0..n).all(|i| pairs.group(i).is_none()) {
        return split_pairs(n, fraction, seed);
    }
    // Patients in order of first appearance; a pair without a group is its own patient.
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    let mut patient_of = Vec::with_capacity(n);
    for i in 0..n {
        let key = pairs
            .group(i)
            .map_or_else(|| format!("\u{0}{i}"), str::to_owned);
        let next = index.len();
        patient_of.push(*index.entry(key).or_insert(next));
    }
    let (_, val_patients) = split_pairs(index.len(), fraction, seed);
    let held: std::collections::HashSet<usize> = val_patients.into_iter().collect();
    (0..n).partition(|&i| !held.contains(&patient_of[i]))
}

/// Trains a segmenter into `run_dir` on `pairs`. Resumes from `run_dir/last` when a run
/// with the same configuration was stopped there. Shows progress bars when `progress`.
///
/// # Errors
///
/// - [`Error::InvalidConfig`] for bad settings ([`SegTrainConfig::validate`]);
/// - [`Error::NoData`] with fewer than two pairs (no validation set), or when no
///   validation pair loads in an epoch;
/// - [`cxr_nn::Error::NoTrainingSamples`] (as [`Error::Nn`]) when no training pair loads
///   in an epoch;
/// - checkpoint, I/O and libtorch errors.
pub fn train(
    run_dir: &Path,
    pairs: Arc<dyn LabelledImages>,
    config: &SegTrainConfig,
    device: Device,
    progress: bool,
) -> Result<TrainSummary, Error> {
    config.validate()?;
    if pairs.len() < 2 {
        return Err(Error::NoData {
            detail: format!(
                "{} image/mask pair(s): at least 2 are needed (one for training, one for \
                 validation)",
                pairs.len()
            ),
        });
    }
    cxr_nn::open_run(run_dir, config)?;
    let (train_idx, val_idx) =
        split_by_patient(pairs.as_ref(), config.validation_fraction, config.seed);
    record_training_images(run_dir, pairs.as_ref(), &val_idx)?;
    let size = config.model.input_size as usize;
    let shrunk = Arc::new(ShrunkPairs::new(pairs, size as u32));
    let loader = |indices: Vec<usize>, augment: AugmentConfig, shuffle: bool| {
        DataLoader::new(
            Arc::new(PairDataset {
                pairs: Arc::clone(&shrunk),
                indices,
                size,
                augment,
            }),
            LoaderConfig::new(config.batch_size, config.workers, config.seed, shuffle),
        )
    };
    let train_loader = loader(train_idx, config.augment.clone(), true);
    let val_loader = loader(val_idx.clone(), AugmentConfig::none(), false);

    tch::manual_seed(config.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = DeepLabV3Plus::new(&vs.root(), &config.model)?;
    let (state, _) = cxr_nn::resume_or_start(run_dir, &mut vs, config.patience, Goal::Maximize)?;
    let plan = FitPlan {
        epochs: config.epochs,
        learning_rate: config.learning_rate,
        min_lr: config.learning_rate * 0.01,
        warmup_epochs: config.warmup_epochs,
        weight_decay: config.weight_decay,
        accumulate: config.accumulate,
        mixed: config.precision.mixed_on(device),
        progress,
        seed: Some(config.seed),
        average_last: config.average_last,
    };
    let mut epochs = Vec::new();
    let state = cxr_nn::fit::<Error, _>(
        run_dir,
        &vs,
        &train_loader,
        &plan,
        state,
        |b| {
            let images = b.images.to_device(device);
            let logits = autocast(device, config.precision, || net.forward_t(&images, true));
            let loss = seg_loss(&logits.to_kind(Kind::Float), &b.masks[0].to_device(device));
            let logged = loss.double_value(&[]);
            (loss, logged)
        },
        |done| {
            let (val_loss, val_dice) = evaluate(&net, &val_loader, device, done.epoch)?;
            let m = EpochMetrics {
                epoch: done.epoch,
                train_loss: done.train_loss,
                val_loss,
                val_dice,
                lr: done.lr,
                seconds: done.started.elapsed().as_secs_f64(),
            };
            append_jsonl(&run_dir.join("metrics.jsonl"), &m)?;
            epochs.push(m);
            Ok(Validated {
                watched: val_dice,
                message: format!("val Dice {val_dice:.4}"),
            })
        },
    )?;
    Ok(TrainSummary {
        epochs,
        best_dice: state.early.best.unwrap_or(0.0),
        validation: val_idx,
    })
}

/// The fingerprints of pairs `indices` of `pairs` that are image files and load, in
/// parallel and in the order given: what [`train`] records, and what an experiment
/// matches against its cohort before training (`cxr_experiments::seen`).
pub fn fingerprint_pairs(
    pairs: &dyn LabelledImages,
    indices: &[usize],
) -> Vec<(usize, cxr_core::fingerprint::Fingerprint)> {
    use rayon::prelude::*;
    indices
        .par_iter()
        .filter_map(|&i| {
            let image = pairs.path(i)?;
            let (img, _) = pairs
                .load(i)
                .map_err(
                    |e| tracing::debug!(image = %image.display(), error = %e, "not fingerprinted"),
                )
                .ok()?;
            let print = cxr_core::fingerprint::Fingerprint::of_file(image, &img).ok()?;
            Some((i, print))
        })
        .collect()
}

/// Writes the run's record of the image files it trains on
/// ([`crate::training_images`]), once: when every pair is a file and the run has no record
/// yet. A pair that does not load is left out (training skips it too).
fn record_training_images(
    run_dir: &Path,
    pairs: &dyn LabelledImages,
    val_idx: &[usize],
) -> Result<(), Error> {
    use crate::training_images::{SegPart, TRAINING_IMAGES, TrainingImage};
    let path = run_dir.join(TRAINING_IMAGES);
    if path.exists() || (0..pairs.len()).any(|i| pairs.path(i).is_none()) {
        return Ok(());
    }
    // Every pair is on one side of the split: those not in validation train.
    let validation: std::collections::HashSet<usize> = val_idx.iter().copied().collect();
    let all: Vec<usize> = (0..pairs.len()).collect();
    let images: Vec<TrainingImage> = fingerprint_pairs(pairs, &all)
        .into_iter()
        .filter_map(|(i, fingerprint)| {
            Some(TrainingImage {
                image: pairs.path(i)?.to_path_buf(),
                patient: pairs.group(i).map(str::to_owned),
                part: if validation.contains(&i) {
                    SegPart::Validation
                } else {
                    SegPart::Train
                },
                fingerprint,
            })
        })
        .collect();
    crate::training_images::write(&path, &images)?;
    Ok(())
}

/// Validation loss and Dice; an error when no validation sample loads.
fn evaluate<D: Dataset + 'static>(
    net: &DeepLabV3Plus,
    loader: &DataLoader<D>,
    device: Device,
    epoch: usize,
) -> Result<(f64, f64), Error> {
    let _guard = tch::no_grad_guard();
    let (mut loss, mut n, mut inter, mut p, mut t) = (0.0, 0usize, 0.0, 0.0, 0.0);
    let mut failed = 0;
    for b in loader.epoch(0) {
        for f in &b.failures {
            tracing::warn!(index = f.index, error = %f.source, "validation sample skipped");
        }
        failed += b.failures.len();
        if b.indices.is_empty() {
            continue;
        }
        let labels = b.masks[0].to_device(device);
        let logits = net.forward_t(&b.images.to_device(device), false);
        loss += seg_loss(&logits, &labels).double_value(&[]) * b.indices.len() as f64;
        n += b.indices.len();
        let (i, pp, tt) = dice_counts(&logits, &labels);
        (inter, p, t) = (inter + i, p + pp, t + tt);
    }
    if n == 0 {
        return Err(Error::NoData {
            detail: format!(
                "no validation samples loaded in epoch {epoch} ({failed} failed to load)"
            ),
        });
    }
    // No lung in the labels and none predicted: a perfect (empty) segmentation.
    let dice = if p + t == 0.0 {
        1.0
    } else {
        2.0 * inter / (p + t)
    };
    Ok((loss / n as f64, dice))
}

/// A trained segmenter, loaded from a run folder.
#[derive(Debug)]
pub struct Segmenter {
    net: DeepLabV3Plus,
    config: SegTrainConfig,
    device: Device,
    /// Weights and inputs in channels-last order (on the CPU).
    channels_last: bool,
    /// Average each prediction with that of the mirrored image.
    mirror_average: bool,
    /// What identifies the weights loaded ([`Segmenter::weights_id`]).
    weights_id: String,
    _vs: nn::VarStore,
}

impl Segmenter {
    /// Loads `run_dir/config.json`, then the averaged weights when the run averaged its
    /// last epochs, else the `best` weights (else `last`), and folds the batch norms into
    /// the convolutions ([`DeepLabV3Plus::fold_batchnorm`]). On the CPU
    /// weights and inputs are kept in channels-last order, where oneDNN's convolutions
    /// run 1.08–1.3× faster for these networks (`docs/performance.md`).
    pub fn load(run_dir: &Path, device: Device) -> Result<Segmenter, Error> {
        let config: SegTrainConfig = read_json(&run_dir.join("config.json"))?;
        let mut vs = nn::VarStore::new(device);
        let mut net = DeepLabV3Plus::new(&vs.root(), &config.model)?;
        let _: TrainState = cxr_nn::load_for_inference(run_dir, &mut vs)?;
        let channels_last = device == Device::Cpu;
        if channels_last {
            // Before folding, so that the folded weights inherit the layout.
            weights_channels_last(&vs);
        }
        net.fold_batchnorm();
        let weights_id = cxr_nn::checkpoint::weights_id(run_dir)?;
        Ok(Segmenter {
            net,
            config,
            device,
            channels_last,
            mirror_average: false,
            weights_id,
            _vs: vs,
        })
    }

    /// The weights loaded ([`cxr_nn::checkpoint::weights_id`]): what a shard's journal
    /// records with the settings, so that masks of another training are never mixed in.
    pub fn weights_id(&self) -> &str {
        &self.weights_id
    }

    /// Averages every prediction with that of the left-right mirrored image, mirrored
    /// back (test-time augmentation: twice the computation, masks less sensitive to
    /// the side a lung is on). Off by default.
    pub fn with_mirror_average(mut self, on: bool) -> Segmenter {
        self.mirror_average = on;
        self
    }

    /// Whether predictions average the image and its mirror image.
    pub fn mirror_average(&self) -> bool {
        self.mirror_average
    }

    /// The run's configuration.
    pub fn config(&self) -> &SegTrainConfig {
        &self.config
    }

    /// Lung probabilities at the image's own size (row-major), computed at the model's
    /// input size and resized back bilinearly. Deterministic.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyImage`] for an image without pixels; libtorch errors.
    pub fn probabilities(&self, img: &GrayImage) -> Result<Vec<f32>, Error> {
        if img.width() == 0 || img.height() == 0 {
            return Err(Error::EmptyImage {
                width: img.width(),
                height: img.height(),
            });
        }
        let _guard = tch::no_grad_guard();
        let s = self.config.model.input_size;
        let (w, h) = (img.width() as i64, img.height() as i64);
        // Shrunk as in training, so the network sees what it was trained on.
        let small = crate::config::network_input(img, s as u32);
        let x = Tensor::from_slice(&small.values)
            .view([1, 1, small.height as i64, small.width as i64])
            .upsample_bilinear2d([s, s], false, None, None)
            .to_device(self.device);
        let x = if self.channels_last {
            channels_last(&x)
        } else {
            x
        };
        let p = if self.mirror_average {
            let both = Tensor::cat(&[&x, &x.flip([3])], 0);
            let p = self.net.forward_t(&both, false).sigmoid();
            (p.narrow(0, 0, 1) + p.narrow(0, 1, 1).flip([3])) * 0.5
        } else {
            self.net.forward_t(&x, false).sigmoid()
        };
        let p = p
            .upsample_bilinear2d([h, w], false, None, None)
            .to_device(Device::Cpu)
            .flatten(0, -1);
        Ok(Vec::<f32>::try_from(&p)?)
    }
}

/// Folder of a run's files: the configuration path.
pub fn config_path(run_dir: &Path) -> PathBuf {
    run_dir.join("config.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_blocks_take_their_majority() {
        const B: u8 = BACKGROUND;
        const L: u8 = LUNG;
        const I: u8 = IGNORE;
        // 5 × 2, k = 2: blocks of 4, 4 and 2 pixels.
        let labels = [
            L, B, I, I, L, //
            L, B, I, B, B,
        ];
        assert_eq!(
            cxr_core::shrink_labels(&labels, (5, 2), 2, &LABEL_TIES),
            vec![L, I, L]
        );
        // Ties of lung and background go to lung; of ignore and background to ignore.
        assert_eq!(
            cxr_core::shrink_labels(&[I, B, B, I], (2, 2), 2, &LABEL_TIES),
            vec![I]
        );
        assert_eq!(
            cxr_core::shrink_labels(&[B, B, L, B, I, I], (6, 1), 6, &LABEL_TIES),
            vec![B]
        );
    }

    #[test]
    fn pairs_are_checked_shrunk_and_kept() {
        let big = GrayImage::from_fn(600, 520, |x, y| image::Luma([((x + y) % 256) as u8]));
        let labels: Vec<u8> = (0..600 * 520).map(|i| u8::from(i % 600 < 300)).collect();
        let pairs = InMemory(vec![(big.clone(), labels), (big, vec![0; 10])]);
        let shrunk = ShrunkPairs::new(Arc::new(pairs), 128);
        let (img, l) = shrunk.load(0).unwrap();
        assert_eq!(img.dimensions(), (300, 260));
        assert_eq!(l.len(), 300 * 260);
        assert_eq!(l[149], LUNG);
        assert_eq!(l[150], BACKGROUND);
        assert!(shrunk.kept[0].get().is_some());
        let e = shrunk.load(1).unwrap_err().to_string();
        assert!(e.contains("10 values for a 600×520 image"), "{e}");
        assert!(shrunk.kept[1].get().is_none());
    }
}
