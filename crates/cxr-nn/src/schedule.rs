//! Learning-rate schedules, early stopping and where a run stands (`TrainState`, with
//! the loss scaler's state): plain data, no libtorch, so that tools without it (the
//! service on the pure-Rust path) read a run's records too.

use serde::{Deserialize, Serialize};

/// Cosine decay from `base_lr` to `min_lr` over `total_steps`, after a linear warm-up
/// of `warmup_steps` (the paper: cosine decay from 1e-4; its ImageNet pre-training used a
/// 5-epoch warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineSchedule {
    /// Peak learning rate.
    pub base_lr: f64,
    /// Final learning rate.
    pub min_lr: f64,
    /// Linear warm-up steps (0 = none).
    pub warmup_steps: usize,
    /// Total steps, warm-up included.
    pub total_steps: usize,
}

impl CosineSchedule {
    /// The learning rate at `step` (0-based); constant `min_lr` after the end.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.base_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let t = ((step - self.warmup_steps) as f64 / decay as f64).min(1.0);
        self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// Whether a smaller or a larger metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Losses.
    Minimize,
    /// Dice, AUC.
    Maximize,
}

/// What [`EarlyStopping::update`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new best value: save the `best` checkpoint.
    Improved,
    /// Not better, patience left.
    Wait,
    /// Not better for `patience` epochs in a row: stop.
    Stop,
}

/// Early stopping on a validation metric (the paper: stop when the validation loss has
/// not improved for 5 consecutive epochs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Direction.
    pub goal: Goal,
    /// Best value so far.
    pub best: Option<f64>,
    /// Epochs since the best.
    pub since_best: usize,
}

impl EarlyStopping {
    /// A fresh tracker.
    pub fn new(patience: usize, goal: Goal) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            goal,
            best: None,
            since_best: 0,
        }
    }

    /// Records one epoch's value.
    pub fn update(&mut self, value: f64) -> Decision {
        let better = match (self.best, self.goal) {
            (None, _) => value.is_finite(),
            (Some(b), Goal::Minimize) => value < b - self.min_delta,
            (Some(b), Goal::Maximize) => value > b + self.min_delta,
        };
        if better {
            self.best = Some(value);
            self.since_best = 0;
            Decision::Improved
        } else {
            self.since_best += 1;
            if self.since_best >= self.patience {
                Decision::Stop
            } else {
                Decision::Wait
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_with_warmup() {
        let s = CosineSchedule {
            base_lr: 1e-4,
            min_lr: 0.0,
            warmup_steps: 4,
            total_steps: 104,
        };
        assert!((s.lr_at(0) - 2.5e-5).abs() < 1e-12);
        assert!((s.lr_at(3) - 1e-4).abs() < 1e-12);
        assert!((s.lr_at(4) - 1e-4).abs() < 1e-12);
        assert!((s.lr_at(54) - 5e-5).abs() < 1e-12);
        assert!(s.lr_at(104).abs() < 1e-15);
        assert!(s.lr_at(1000).abs() < 1e-15);
        let mut prev = f64::INFINITY;
        for step in 4..104 {
            assert!(s.lr_at(step) <= prev);
            prev = s.lr_at(step);
        }
    }

    #[test]
    fn early_stopping_counts_patience() {
        let mut e = EarlyStopping::new(2, Goal::Minimize);
        assert_eq!(e.update(1.0), Decision::Improved);
        assert_eq!(e.update(0.9), Decision::Improved);
        assert_eq!(e.update(0.95), Decision::Wait);
        assert_eq!(e.update(0.8), Decision::Improved);
        assert_eq!(e.update(0.8), Decision::Wait);
        assert_eq!(e.update(0.81), Decision::Stop);
        let mut m = EarlyStopping::new(1, Goal::Maximize);
        assert_eq!(m.update(f64::NAN), Decision::Stop);
        assert_eq!(m.update(0.5), Decision::Improved);
        assert_eq!(m.update(0.4), Decision::Stop);
    }
}

/// Where a training run stands, saved with each checkpoint (`last.json`, `best.json`) so a
/// stopped run resumes: epochs and optimiser steps done, the early-stopping state,
/// whether the run has finished (stopped early or ran all its epochs) and the loss
/// scaler's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Early-stopping state on the watched validation metric.
    pub early: EarlyStopping,
    /// Whether training has finished.
    pub finished: bool,
    /// The loss scaler after the last epoch (absent in runs saved before it was kept:
    /// they resume with a fresh one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaler: Option<crate::GradScaler>,
}

impl TrainState {
    /// A run that has not started, stopping early after `patience` epochs without
    /// improvement towards `goal`.
    pub fn new(patience: usize, goal: Goal) -> Self {
        TrainState {
            epochs_done: 0,
            step: 0,
            early: EarlyStopping::new(patience, goal),
            finished: false,
            scaler: None,
        }
    }
}

/// Dynamic loss scaling for fp16 training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradScaler {
    /// Whether scaling is on (off: scale 1, every step taken).
    pub enabled: bool,
    /// Current scale.
    pub scale: f64,
    /// Factor applied after `growth_interval` finite steps.
    pub growth_factor: f64,
    /// Factor applied after a step with inf/NaN gradients.
    pub backoff_factor: f64,
    /// Finite steps before growing.
    pub growth_interval: usize,
    /// Finite steps since the last change.
    pub good_steps: usize,
    /// Steps skipped so far.
    pub skipped: usize,
}

impl GradScaler {
    /// PyTorch's defaults (initial scale 2^16), or a disabled scaler.
    pub fn new(enabled: bool) -> Self {
        GradScaler {
            enabled,
            scale: if enabled { 65_536.0 } else { 1.0 },
            growth_factor: 2.0,
            backoff_factor: 0.5,
            growth_interval: 2000,
            good_steps: 0,
            skipped: 0,
        }
    }
}
