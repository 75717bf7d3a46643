//! The optimiser: AdamW with its state in the open, so that a resumed run continues
//! exactly where it stopped.
//!
//! tch's `nn::AdamW` is libtorch's C++ optimiser, whose moment estimates tch can neither
//! read nor write: a run resumed from a checkpoint restarted them from zero. [`AdamW`]
//! is the same algorithm with the same defaults, written with tensor ops, so that
//! [`AdamW::save`] and [`AdamW::load`] keep the moments next to the checkpoint.
//!
//! For a parameter p with gradient g at its t-th step (libtorch's `torch::optim::AdamW`):
//!
//! ```text
//! p ← p · (1 − lr·λ)                        decoupled weight decay
//! m ← β1·m + (1 − β1)·g                     first moment (as a lerp towards g)
//! v ← β2·v + (1 − β2)·g²                    second moment (a lerp towards g²)
//! p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//! ```
//!
//! Defaults: β = (0.9, 0.999), ε = 1e-8. A parameter whose gradient is undefined is left
//! alone and its step count does not advance, as in libtorch. One difference:
//! [`AdamW::zero_grad`] zeroes gradients in place (tch cannot reset one to "none"), so
//! a parameter that once had a gradient and gets none in a later step still takes that
//! step, with g = 0 (its moments decay and weight decay applies).
//!
//! ```
//! use cxr_nn::optim::{AdamW, Optimise};
//! use tch::nn::{Module, VarStore};
//!
//! let vs = VarStore::new(tch::Device::Cpu);
//! let net = tch::nn::linear(vs.root(), 3, 1, Default::default());
//! let mut opt = AdamW::new(&vs, 1e-2, 1e-4);
//! let x = tch::Tensor::ones([4, 3], (tch::Kind::Float, tch::Device::Cpu));
//! opt.zero_grad();
//! net.forward(&x).sum(tch::Kind::Float).backward();
//! opt.step();
//! let dir = tempfile::tempdir().unwrap();
//! opt.save(&dir.path().join("last.optim.safetensors"), 1).unwrap();
//! let mut resumed = AdamW::new(&vs, 1e-2, 1e-4);
//! assert!(resumed.load(&dir.path().join("last.optim.safetensors"), 1).unwrap());
//! assert_eq!(resumed.steps(), opt.steps());
//! ```

use std::collections::HashMap;
use std::path::Path;

use tch::nn::VarStore;
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// What [`crate::Stepper`] needs of an optimiser: both tch's `nn::Optimizer` and
/// [`AdamW`] have it.
pub trait Optimise {
    /// Clears the gradients of the parameters.
    fn zero_grad(&mut self);
    /// Updates the parameters from their gradients.
    fn step(&mut self);
}

impl Optimise for tch::nn::Optimizer {
    fn zero_grad(&mut self) {
        tch::nn::Optimizer::zero_grad(self);
    }
    fn step(&mut self) {
        tch::nn::Optimizer::step(self);
    }
}

/// One parameter and its state.
#[derive(Debug)]
struct Slot {
    name: String,
    param: Tensor,
    /// Steps taken with a defined gradient.
    step: i64,
    /// (m, v), allocated at the first step.
    moments: Option<(Tensor, Tensor)>,
}

/// AdamW over the trainable variables of a `VarStore`, with a state that can be saved
/// and loaded (see the [module](self) documentation).
#[derive(Debug)]
pub struct AdamW {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
    slots: Vec<Slot>,
}

/// Names of the entries of a saved state.
const EXP_AVG: &str = "exp_avg/";
const EXP_AVG_SQ: &str = "exp_avg_sq/";
const STEP: &str = "step/";
const EPOCHS_DONE: &str = "epochs_done";

impl AdamW {
    /// AdamW over the trainable variables of `vs` (those that require gradients now),
    /// with β = (0.9, 0.999) and ε = 1e-8.
    pub fn new(vs: &VarStore, lr: f64, weight_decay: f64) -> Self {
        let mut slots: Vec<Slot> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .map(|(name, param)| Slot {
                name,
                param,
                step: 0,
                moments: None,
            })
            .collect();
        slots.sort_by(|a, b| a.name.cmp(&b.name));
        AdamW {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay,
            slots,
        }
    }

    /// Sets the learning rate of the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Steps taken by each parameter, by name.
    pub fn steps(&self) -> Vec<(&str, i64)> {
        self.slots
            .iter()
            .map(|s| (s.name.as_str(), s.step))
            .collect()
    }

    /// Writes the moments and step counts to `path` (safetensors, row-major), through a
    /// temporary file and a rename. `epochs_done` is stored with them, so that
    /// [`AdamW::load`] can tell whether they belong to the checkpoint being resumed.
    ///
    /// # Errors
    /// [`Error::Torch`] when the file cannot be written, [`Error::Io`] on the rename.
    pub fn save(&self, path: &Path, epochs_done: usize) -> Result<()> {
        let _g = tch::no_grad_guard();
        let mut named = vec![(
            EPOCHS_DONE.to_owned(),
            Tensor::from_slice(&[epochs_done as i64]),
        )];
        for s in &self.slots {
            let Some((m, v)) = &s.moments else { continue };
            named.push((format!("{STEP}{}", s.name), Tensor::from_slice(&[s.step])));
            named.push((format!("{EXP_AVG}{}", s.name), m.contiguous()));
            named.push((format!("{EXP_AVG_SQ}{}", s.name), v.contiguous()));
        }
        crate::checkpoint::write_tensors_atomic(path, &named)
    }

    /// Loads a state written by [`AdamW::save`] for the same variables. Returns `false`,
    /// leaving the state as it was, when the file was saved after another number of
    /// epochs than `epochs_done` (a run stopped between writing it and its checkpoint).
    ///
    /// # Errors
    /// [`Error::OptimiserState`] naming the file (and the entry) when it cannot be read
    /// or does not fit these variables (an unknown name, another shape, a missing
    /// moment).
    pub fn load(&mut self, path: &Path, epochs_done: usize) -> Result<bool> {
        let bad = |detail: String| Error::OptimiserState {
            path: path.to_path_buf(),
            detail,
        };
        let mut saved: HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?
            .into_iter()
            .collect();
        let tag = saved
            .remove(EPOCHS_DONE)
            .ok_or_else(|| bad(format!("no `{EPOCHS_DONE}` entry")))?;
        if tag.numel() != 1 || tag.int64_value(&[0]) != epochs_done as i64 {
            return Ok(false);
        }
        let index: HashMap<&str, usize> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut restored = Vec::new();
        for key in saved.keys() {
            let Some(name) = key.strip_prefix(STEP) else {
                if !(key.starts_with(EXP_AVG) || key.starts_with(EXP_AVG_SQ)) {
                    return Err(bad(format!("unknown entry `{key}`")));
                }
                continue;
            };
            let i = *index
                .get(name)
                .ok_or_else(|| bad(format!("`{name}` is not a trainable variable here")))?;
            let param = &self.slots[i].param;
            let step = &saved[key];
            if step.numel() != 1 || step.kind() != Kind::Int64 || step.int64_value(&[0]) < 1 {
                return Err(bad(format!("`{key}` is not one int64 ≥ 1")));
            }
            let moment = |prefix: &str| -> Result<Tensor> {
                let k = format!("{prefix}{name}");
                let t = saved
                    .get(&k)
                    .ok_or_else(|| bad(format!("no `{k}` for the step count of `{name}`")))?;
                if t.size() != param.size() || t.kind() != param.kind() {
                    return Err(bad(format!(
                        "`{k}` is {:?} {:?}, the variable {:?} {:?}",
                        t.kind(),
                        t.size(),
                        param.kind(),
                        param.size()
                    )));
                }
                // Same device and memory layout as the parameter (channels-last on CUDA).
                let mut buf = param.zeros_like();
                tch::no_grad(|| buf.copy_(t));
                Ok(buf)
            };
            let m = moment(EXP_AVG)?;
            let v = moment(EXP_AVG_SQ)?;
            restored.push((i, step.int64_value(&[0]), m, v));
        }
        let with_step = restored.len();
        for prefix in [EXP_AVG, EXP_AVG_SQ] {
            let n = saved.keys().filter(|k| k.starts_with(prefix)).count();
            if n != with_step {
                return Err(bad(format!(
                    "{n} `{prefix}` entries for {with_step} step counts"
                )));
            }
        }
        for s in &mut self.slots {
            s.step = 0;
            s.moments = None;
        }
        for (i, step, m, v) in restored {
            self.slots[i].step = step;
            self.slots[i].moments = Some((m, v));
        }
        Ok(true)
    }
}

impl Optimise for AdamW {
    fn zero_grad(&mut self) {
        for s in &mut self.slots {
            s.param.zero_grad();
        }
    }

    fn step(&mut self) {
        let _g = tch::no_grad_guard();
        let (b1, b2) = self.betas;
        for s in &mut self.slots {
            let g = s.param.grad();
            if !g.defined() {
                continue;
            }
            s.step += 1;
            let t = s.step as f64;
            if self.weight_decay != 0.0 {
                let _ = s.param.f_mul_scalar_(1.0 - self.lr * self.weight_decay);
            }
            let (m, v) = s
                .moments
                .get_or_insert_with(|| (s.param.zeros_like(), s.param.zeros_like()));
            let _ = m.f_lerp_(&g, 1.0 - b1);
            let _ = v.f_lerp_(&(&g * &g), 1.0 - b2);
            if self.lr == 0.0 {
                continue;
            }
            let bias1 = 1.0 - b1.powf(t);
            let bias2 = 1.0 - b2.powf(t);
            // (√v/√bias2 + ε) / (−lr/bias1), in two passes over √v: then p + m/denom is
            // p − lr/bias1 · m/(√v/√bias2 + ε).
            let mut denom = v.sqrt();
            let _ = denom.f_mul_scalar_(-bias1 / (self.lr * bias2.sqrt()));
            let _ = denom.f_add_scalar_(-self.eps * bias1 / self.lr);
            let _ = s.param.f_addcdiv_(m, &denom);
        }
    }
}
