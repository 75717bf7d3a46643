//! The epoch loop both trainers share: AdamW ([`AdamW`]) with cosine decay, gradient
//! accumulation and loss scaling ([`Stepper`]), per-epoch validation, early stopping,
//! `best`/`last` checkpoints and progress bars. The model-specific parts (the loss of one
//! batch, the validation pass and its metrics) come in as closures.
//!
//! A run stopped at any point and resumed with [`resume_or_start`] continues exactly as
//! if it had not stopped (the same weights, bit for bit, on the CPU): `last` keeps the
//! optimiser's moments (`last.optim.safetensors`) and the loss scaler, the loader's
//! batches depend only on (seed, epoch), and with [`FitPlan::seed`] set libtorch's
//! generator (dropout) is reseeded at the start of every epoch.
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
use tch::nn::VarStore;

use crate::loader::mix;
use crate::{
    AdamW, Batch, CosineSchedule, DataLoader, Dataset, Decision, Goal, Stepper, TrainState,
    load_checkpoint, save_checkpoint,
};

/// The optimiser state saved with checkpoint `last` in a run folder.
pub fn optimiser_path(run_dir: &Path) -> std::path::PathBuf {
    run_dir.join("last.optim.safetensors")
}

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
    /// Reseeds libtorch's generators (dropout, anything random in the loss closure) at
    /// the start of every epoch from (seed, epoch), so that a resumed run draws what an
    /// uninterrupted one would. `None` leaves them alone.
    pub seed: Option<u64>,
    /// Keep the weights after each of the last this many epochs of the plan
    /// ([`crate::snapshot_path`]) and, when training ends, average the snapshots of the
    /// final epochs run into [`crate::AVERAGED`] (0: off). Inference then uses them
    /// ([`crate::load_for_inference`]).
    pub average_last: usize,
}

impl FitPlan {
    /// `epochs` at `learning_rate`, decaying to 1 % of it, no warm-up, no weight decay,
    /// no accumulation, full precision, no progress bars, no reseeding.
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
            seed: None,
            average_last: 0,
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
/// Each start that has epochs to run first appends where it runs to the run's
/// [`SESSIONS`](crate::files::SESSIONS) file (a [`cxr_core::Session`]: cxr's commit,
/// libtorch, device, threads, CPU). Each epoch: `loss` is called on every non-empty
/// batch and returns the loss to back-propagate and the per-sample mean loss to log; then `validate` runs the validation
/// pass (and writes the run's metrics); then the `best` (when the watched value
/// improved) and `last` checkpoints are saved, `last` with the optimiser's state, and
/// in the plan's last [`FitPlan::average_last`] epochs a weight snapshot. When training
/// has ended, the snapshots of the final epochs run are averaged ([`crate::AVERAGED`]).
/// Returns the final state.
///
/// A `state` that has epochs done (from [`resume_or_start`]) continues with the
/// optimiser state saved with it; when there is none (a run folder written before it
/// was kept, or a run stopped between writing it and its checkpoint), Adam's moments
/// restart from zero, with a warning.
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
    let mut opt = AdamW::new(vs, plan.learning_rate, plan.weight_decay);
    let mut stepper = Stepper::new(plan.accumulate, plan.mixed);
    if state.epochs_done > 0 && !state.finished {
        restore(run_dir, &state, &mut opt, &mut stepper)?;
    }
    let steps_per_epoch = loader.batches().div_ceil(plan.accumulate.max(1)).max(1);
    let schedule = CosineSchedule {
        base_lr: plan.learning_rate,
        min_lr: plan.min_lr,
        warmup_steps: plan.warmup_epochs * steps_per_epoch,
        total_steps: plan.epochs * steps_per_epoch,
    };
    if !state.finished && state.epochs_done < plan.epochs {
        // Where this start (or resume) runs: a run resumed elsewhere says so.
        let env = cxr_core::Environment::current().with_compute(crate::compute(vs.device()));
        tracing::info!(epoch = state.epochs_done, "training on {}", env.summary());
        crate::files::append_jsonl(
            &run_dir.join(crate::files::SESSIONS),
            &cxr_core::Session::now(state.epochs_done, env),
        )?;
    }
    let epochs_bar = cxr_core::progress::bar(plan.epochs as u64, "epochs", plan.progress);
    epochs_bar.set_position(state.epochs_done as u64);
    while !state.finished && state.epochs_done < plan.epochs {
        let epoch = state.epochs_done;
        let t0 = Instant::now();
        if let Some(seed) = plan.seed {
            tch::manual_seed(epoch_seed(seed, epoch));
        }
        let batches = cxr_core::progress::bar(loader.batches() as u64, "batches", plan.progress);
        let (mut loss_sum, mut n, mut failed) = (0.0, 0usize, 0usize);
        let mut first_failure = None;
        for b in loader.epoch(epoch as u64) {
            for f in &b.failures {
                tracing::debug!(index = f.index, error = %cxr_core::error_chain(f.source.as_ref()), "training sample skipped");
                first_failure.get_or_insert_with(|| {
                    format!(
                        "sample {}: {}",
                        f.index,
                        cxr_core::error_chain(f.source.as_ref())
                    )
                });
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
        if let Some(first) = first_failure {
            tracing::warn!(
                epoch,
                skipped = failed,
                "{failed} training sample(s) could not be loaded and were skipped this epoch \
                 (first: {first})"
            );
        }
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
        state.scaler = Some(stepper.scaler.clone());
        if decision == Decision::Improved {
            save_checkpoint(run_dir, "best", vs, &state)?;
        }
        if plan.average_last > 0 && epoch + plan.average_last >= plan.epochs {
            // Before `last`: a run stopped after it redoes the epoch and rewrites it.
            crate::save_weights(&crate::snapshot_path(run_dir, epoch), vs)?;
        }
        // The optimiser first: a stop before `last.json` is renamed leaves a state file
        // tagged with an epoch the checkpoint does not have, which `restore` ignores.
        opt.save(&optimiser_path(run_dir), state.epochs_done)?;
        save_checkpoint(run_dir, "last", vs, &state)?;
        // The count first: `set_message` always draws (`cxr_core::progress::log_bar`).
        epochs_bar.inc(1);
        epochs_bar.set_message(v.message);
    }
    epochs_bar.finish();
    if plan.average_last > 0 && state.finished {
        // The snapshots of the final epochs run (fewer when early stopping came first).
        let done = state.epochs_done;
        let snapshots: Vec<std::path::PathBuf> = (done.saturating_sub(plan.average_last)..done)
            .map(|e| crate::snapshot_path(run_dir, e))
            .filter(|p| p.exists())
            .collect();
        if !snapshots.is_empty() {
            crate::average_weights(&snapshots, &run_dir.join(crate::AVERAGED))?;
        }
    }
    Ok(state)
}

/// The seed of libtorch's generators in `epoch` of a run seeded with `seed`: a stream
/// of its own, apart from the loader's shuffles and samples (`crate::loader`).
fn epoch_seed(seed: u64, epoch: usize) -> i64 {
    mix(mix(seed ^ 0x70C4_5EED) ^ mix(epoch as u64)) as i64
}

/// Loads what `last` kept of the optimiser and the loss scaler into a resumed run.
fn restore(
    run_dir: &Path,
    state: &TrainState,
    opt: &mut AdamW,
    stepper: &mut Stepper,
) -> crate::Result<()> {
    match &state.scaler {
        Some(s) if s.enabled == stepper.scaler.enabled => stepper.scaler = s.clone(),
        _ => {}
    }
    let path = optimiser_path(run_dir);
    let restored = path.exists() && opt.load(&path, state.epochs_done)?;
    if !restored {
        tracing::warn!(
            path = %path.display(),
            epochs_done = state.epochs_done,
            "no optimiser state for this checkpoint: Adam's moments restart from zero"
        );
    }
    Ok(())
}
