//! The epoch loop both trainers share: AdamW with cosine decay, gradient accumulation and
//! loss scaling ([`Stepper`]), per-epoch validation, early stopping, `best`/`last`
//! checkpoints and progress bars. The model-specific parts (the loss of one batch, the
//! validation pass and its metrics) come in as closures.
//!
//! ```no_run
//! use cxr_nn::fit::{EpochDone, FitPlan, Validated, fit, resume_or_start};
//! use cxr_nn::{DataLoader, Goal};
//! # fn demo<D: cxr_nn::Dataset + 'static>(loader: DataLoader<D>, run: &std::path::Path) -> cxr_nn::Result<()> {
//! let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let net = tch::nn::linear(vs.root(), 4, 1, Default::default());
//! let (state, _resumed) = resume_or_start(run, &mut vs, 3, Goal::Minimize)?;
//! let plan = FitPlan::new(10, 1e-4);
//! fit::<cxr_nn::Error, _>(run, &vs, &loader, &plan, state,
//!     |batch| {
//!         let loss = batch.images.flatten(1, -1).apply(&net).mse_loss(&batch.classes.to_kind(tch::Kind::Float).unsqueeze(1), tch::Reduction::Mean);
//!         let value = loss.double_value(&[]);
//!         (loss, value)
//!     },
//!     |done: &EpochDone| Ok(Validated { watched: done.train_loss, message: String::new() }),
//! )?;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Instant;

use tch::Tensor;
use tch::nn::{self, OptimizerConfig, VarStore};

use crate::{
    Batch, CosineSchedule, DataLoader, Dataset, Decision, Goal, Stepper, TrainState,
    load_checkpoint, progress_bar, save_checkpoint,
};

/// Optimiser, schedule and stopping settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FitPlan {
    /// Most epochs to train.
    pub epochs: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Final learning rate of the cosine decay.
    pub min_lr: f64,
    /// Linear warm-up, in epochs.
    pub warmup_epochs: usize,
    /// Decoupled weight decay (AdamW).
    pub weight_decay: f64,
    /// Batches whose gradients are summed before each optimiser step.
    pub accumulate: usize,
    /// fp16 autocast with loss scaling (only meaningful on CUDA).
    pub mixed: bool,
    /// Show progress bars for epochs and batches.
    pub progress: bool,
}

impl FitPlan {
    /// `epochs` at `learning_rate`, decaying to 1 % of it, no warm-up, no weight decay,
    /// no accumulation, full precision, no progress bars.
    pub fn new(epochs: usize, learning_rate: f64) -> Self {
        FitPlan {
            epochs,
            learning_rate,
            min_lr: learning_rate * 0.01,
            warmup_epochs: 0,
            weight_decay: 0.0,
            accumulate: 1,
            mixed: false,
            progress: false,
        }
    }
}

/// What one epoch of training measured, handed to the validation closure.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochDone {
    /// The epoch just trained (0-based).
    pub epoch: usize,
    /// Mean training loss per sample.
    pub train_loss: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Samples the loader could not produce (logged and skipped).
    pub failed_samples: usize,
    /// When the epoch started (`started.elapsed()` in the validation closure covers
    /// training and validation).
    pub started: Instant,
}

/// What the validation closure reports back.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The value early stopping watches (towards the run's [`Goal`]).
    pub watched: f64,
    /// Shown next to the epochs bar.
    pub message: String,
}

/// The run's state: from `run_dir/last` when a stopped run is there (`true`), else fresh.
pub fn resume_or_start(
    run_dir: &Path,
    vs: &mut VarStore,
    patience: usize,
    goal: Goal,
) -> crate::Result<(TrainState, bool)> {
    if run_dir.join("last.safetensors").exists() {
        let state: TrainState = load_checkpoint(run_dir, "last", vs)?;
        tracing::info!(epoch = state.epochs_done, "resuming from last checkpoint");
        Ok((state, true))
    } else {
        Ok((TrainState::new(patience, goal), false))
    }
}

/// Trains until `plan.epochs` or early stopping, from `state`.
///
/// Each epoch: `loss` is called on every non-empty batch and returns the loss to back-
/// propagate and the per-sample mean loss to log; then `validate` runs the validation
/// pass (and writes the run's metrics); then the `best` (when the watched value
/// improved) and `last` checkpoints are saved. Returns the final state.
///
/// # Errors
///
/// [`crate::Error::NoTrainingSamples`] when an epoch has no sample to train on (an
/// empty training set, or every sample failed to load): nothing is saved for that epoch.
/// Errors of `validate`, of libtorch and of writing the checkpoints are passed on.
pub fn fit<E, D>(
    run_dir: &Path,
    vs: &VarStore,
    loader: &DataLoader<D>,
    plan: &FitPlan,
    mut state: TrainState,
    mut loss: impl FnMut(&Batch) -> (Tensor, f64),
    mut validate: impl FnMut(&EpochDone) -> Result<Validated, E>,
) -> Result<TrainState, E>
where
    E: From<crate::Error> + From<tch::TchError>,
    D: Dataset + 'static,
{
    let mut opt = nn::AdamW {
        wd: plan.weight_decay,
        ..Default::default()
    }
    .build(vs, plan.learning_rate)?;
    let mut stepper = Stepper::new(plan.accumulate, plan.mixed);
    let steps_per_epoch = loader.batches().div_ceil(plan.accumulate.max(1)).max(1);
    let schedule = CosineSchedule {
        base_lr: plan.learning_rate,
        min_lr: plan.min_lr,
        warmup_steps: plan.warmup_epochs * steps_per_epoch,
        total_steps: plan.epochs * steps_per_epoch,
    };
    let epochs_bar = progress_bar(plan.epochs, "epochs ", plan.progress);
    epochs_bar.set_position(state.epochs_done as u64);
    while !state.finished && state.epochs_done < plan.epochs {
        let epoch = state.epochs_done;
        let t0 = Instant::now();
        let batches = progress_bar(loader.batches(), "batches", plan.progress);
        let (mut loss_sum, mut n, mut failed) = (0.0, 0usize, 0usize);
        for b in loader.epoch(epoch as u64) {
            for f in &b.failures {
                tracing::warn!(index = f.index, error = %f.source, "training sample skipped");
            }
            failed += b.failures.len();
            if b.indices.is_empty() {
                continue;
            }
            opt.set_lr(schedule.lr_at(state.step));
            let (backprop, logged) = loss(&b);
            if stepper.backward(&backprop, &mut opt, vs).is_some() {
                state.step += 1;
            }
            loss_sum += logged * b.indices.len() as f64;
            n += b.indices.len();
            batches.inc(1);
        }
        if stepper.flush(&mut opt, vs).is_some() {
            state.step += 1;
        }
        batches.finish_and_clear();
        if n == 0 {
            return Err(crate::Error::NoTrainingSamples { epoch, failed }.into());
        }
        let done = EpochDone {
            epoch,
            train_loss: loss_sum / n as f64,
            lr: schedule.lr_at(state.step.saturating_sub(1)),
            failed_samples: failed,
            started: t0,
        };
        let v = validate(&done)?;
        state.epochs_done += 1;
        let decision = state.early.update(v.watched);
        state.finished = decision == Decision::Stop || state.epochs_done == plan.epochs;
        if decision == Decision::Improved {
            save_checkpoint(run_dir, "best", vs, &state)?;
        }
        save_checkpoint(run_dir, "last", vs, &state)?;
        epochs_bar.set_message(v.message);
        epochs_bar.inc(1);
    }
    epochs_bar.finish();
    Ok(state)
}
