//! Mixed precision and gradient accumulation.
//!
//! - [`Precision`]: `fp16` runs the forward pass under CUDA autocast (`tch::autocast`,
//!   whose dtype is libtorch's CUDA default, float16). bf16 autocast is not reachable
//!   through tch 0.24, which binds `at::autocast::set_enabled` but not the dtype setter;
//!   on the CPU both settings run in fp32.
//! - [`Stepper`]: accumulates gradients over `accumulate` batches, scales the loss for
//!   fp16 ([`GradScaler`]: unscale, skip the step on inf/NaN gradients and halve the
//!   scale, double it after `growth_interval` good steps — PyTorch's `GradScaler` rule).

use serde::{Deserialize, Serialize};

use crate::Optimise;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Arithmetic of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// fp16 autocast with loss scaling on CUDA, fp32 on the CPU.
    #[default]
    Auto,
    /// Always fp32.
    Fp32,
    /// fp16 autocast (CUDA only; fp32 elsewhere).
    Fp16,
}

impl Precision {
    /// Whether autocast and loss scaling are used on `device`.
    pub fn mixed_on(self, device: Device) -> bool {
        device.is_cuda() && matches!(self, Precision::Auto | Precision::Fp16)
    }
}

/// Runs `f` under CUDA autocast when `precision` asks for it on `device`.
pub fn autocast<T>(device: Device, precision: Precision, f: impl FnOnce() -> T) -> T {
    if precision.mixed_on(device) {
        tch::autocast(true, f)
    } else {
        f()
    }
}

pub use crate::schedule::GradScaler;

impl GradScaler {
    /// Unscales the gradients of `vs` in place; returns whether all are finite.
    ///
    /// Each tensor's check is its sum: one read pass with a one-element result, which
    /// is NaN or infinite whenever an element is (inf − inf is NaN), and could be
    /// infinite for finite elements only if they summed past f32's 3.4e38, where a
    /// skipped step is the right answer anyway. `isfinite().all()` cost three passes
    /// and a tensor of flags as large as the gradient: 22 of the 54 ms of an
    /// Inception v3 step on the CPU (`cargo bench --bench classifier -- optimiser`).
    /// The checks stay on the device and are read back once: reading each one made every
    /// optimiser step wait for the GPU once per parameter tensor (~300 times for
    /// Inception v3), where PyTorch's `GradScaler` reads one flag.
    fn unscale(&self, vs: &VarStore) -> bool {
        let inv = 1.0 / self.scale;
        let mut sums = Vec::new();
        for v in vs.trainable_variables() {
            let mut g = v.grad();
            if !g.defined() {
                continue;
            }
            if self.enabled {
                let _ = g.f_mul_scalar_(inv);
            }
            sums.push(g.sum(Kind::Float));
        }
        sums.is_empty() || Tensor::stack(&sums, 0).isfinite().all().int64_value(&[]) != 0
    }
}

/// Accumulates gradients over several batches and steps the optimiser, with loss
/// scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stepper {
    /// Batches per optimiser step.
    pub accumulate: usize,
    /// Loss scaling.
    pub scaler: GradScaler,
    pending: usize,
}

impl Stepper {
    /// A stepper; `mixed` turns the loss scaler on.
    pub fn new(accumulate: usize, mixed: bool) -> Self {
        Stepper {
            accumulate: accumulate.max(1),
            scaler: GradScaler::new(mixed),
            pending: 0,
        }
    }

    /// Back-propagates one batch's (mean) loss; steps when `accumulate` batches are in.
    /// Returns `Some(true)` after a step, `Some(false)` after a skipped step (inf/NaN),
    /// `None` while accumulating.
    pub fn backward(
        &mut self,
        loss: &Tensor,
        opt: &mut impl Optimise,
        vs: &VarStore,
    ) -> Option<bool> {
        if self.pending == 0 {
            opt.zero_grad();
        }
        let scaled = loss * (self.scaler.scale / self.accumulate as f64);
        scaled.backward();
        self.pending += 1;
        (self.pending >= self.accumulate).then(|| self.step(opt, vs))
    }

    /// Steps on whatever has been accumulated (end of an epoch); `None` if nothing was.
    pub fn flush(&mut self, opt: &mut impl Optimise, vs: &VarStore) -> Option<bool> {
        (self.pending > 0).then(|| self.step(opt, vs))
    }

    fn step(&mut self, opt: &mut impl Optimise, vs: &VarStore) -> bool {
        // A partial accumulation was divided by `accumulate`: rescale to its mean.
        if self.pending < self.accumulate {
            let k = self.accumulate as f64 / self.pending as f64;
            for v in vs.trainable_variables() {
                let mut g = v.grad();
                if g.defined() {
                    let _ = g.f_mul_scalar_(k);
                }
            }
        }
        self.pending = 0;
        let s = &mut self.scaler;
        if s.unscale(vs) {
            opt.step();
            if s.enabled {
                s.good_steps += 1;
                if s.good_steps >= s.growth_interval {
                    s.scale *= s.growth_factor;
                    s.good_steps = 0;
                }
            }
            true
        } else {
            s.skipped += 1;
            if s.enabled {
                s.scale *= s.backoff_factor;
                s.good_steps = 0;
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module, Optimizer, OptimizerConfig};

    fn setup() -> (VarStore, nn::Linear, Optimizer) {
        tch::manual_seed(3);
        let vs = VarStore::new(Device::Cpu);
        let lin = nn::linear(vs.root() / "l", 3, 1, Default::default());
        let opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
        (vs, lin, opt)
    }

    fn weights(vs: &VarStore) -> Vec<f32> {
        let mut vars: Vec<_> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.iter()
            .flat_map(|(_, t)| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap())
            .collect()
    }

    #[test]
    fn accumulation_equals_one_big_batch_and_scaling_is_transparent() {
        // Fixed data and copied initial weights: the test does not depend on libtorch's
        // global RNG, which tests running in parallel share.
        let xs: Vec<f32> = (0..24).map(|i| ((i * 7) % 11) as f32 / 5.0 - 1.0).collect();
        let ys: Vec<f32> = (0..8).map(|i| ((i * 3) % 5) as f32 - 2.0).collect();
        let x = Tensor::from_slice(&xs).view([8, 3]);
        let y = Tensor::from_slice(&ys).view([8, 1]);
        let (vs, lin, mut opt) = setup();
        let (mut vs2, lin2, mut opt2) = setup();
        vs2.copy(&vs).unwrap();
        let init = weights(&vs);
        // One step on the whole batch.
        let mut s = Stepper::new(1, false);
        assert_eq!(
            s.backward(
                &lin.forward(&x).mse_loss(&y, tch::Reduction::Mean),
                &mut opt,
                &vs
            ),
            Some(true)
        );
        let big = weights(&vs);
        assert_ne!(big, init, "the step changed the weights");
        // Two half batches accumulated, with an fp16-style loss scale of 2^16.
        let mut s2 = Stepper::new(2, true);
        let mut steps = vec![];
        for k in 0..2 {
            let loss = lin2
                .forward(&x.narrow(0, 4 * k, 4))
                .mse_loss(&y.narrow(0, 4 * k, 4), tch::Reduction::Mean);
            steps.push(s2.backward(&loss, &mut opt2, &vs2));
        }
        assert_eq!(steps, [None, Some(true)]);
        let acc = weights(&vs2);
        for (a, b) in big.iter().zip(&acc) {
            assert!((a - b).abs() < 1e-5, "{big:?} vs {acc:?}");
        }
        // A partial accumulation at the end of an epoch is flushed as its own mean.
        assert_eq!(s2.flush(&mut opt2, &vs2), None);
    }

    #[test]
    fn inf_gradients_skip_the_step_and_back_off() {
        let (vs, lin, mut opt) = setup();
        let before = weights(&vs);
        let mut s = Stepper::new(1, true);
        let x = Tensor::from_slice(&[f32::INFINITY, 1.0, 1.0]).view([1, 3]);
        let loss = lin.forward(&x).sum(Kind::Float);
        assert_eq!(s.backward(&loss, &mut opt, &vs), Some(false));
        assert_eq!(weights(&vs), before, "no step with inf gradients");
        assert_eq!((s.scaler.scale, s.scaler.skipped), (32_768.0, 1));
        // The inf in the other tensor only (the bias): every tensor's flag counts.
        let bias = lin.bs.as_ref().unwrap();
        let loss = lin.ws.sum(Kind::Float) + bias.sum(Kind::Float) * f64::INFINITY;
        assert_eq!(s.backward(&loss, &mut opt, &vs), Some(false));
        assert_eq!(weights(&vs), before, "no step with an inf bias gradient");
        assert_eq!((s.scaler.scale, s.scaler.skipped), (16_384.0, 2));
        // +inf and −inf in one tensor (their sum is NaN), and a NaN alone.
        let x = Tensor::from_slice(&[f32::INFINITY, f32::NEG_INFINITY, 1.0]).view([1, 3]);
        let loss = lin.forward(&x).sum(Kind::Float);
        assert_eq!(s.backward(&loss, &mut opt, &vs), Some(false));
        let x = Tensor::from_slice(&[f32::NAN, 0.0, 1.0]).view([1, 3]);
        let loss = lin.forward(&x).sum(Kind::Float);
        assert_eq!(s.backward(&loss, &mut opt, &vs), Some(false));
        assert_eq!(weights(&vs), before);
        assert_eq!((s.scaler.scale, s.scaler.skipped), (4_096.0, 4));
        s.scaler.growth_interval = 2;
        let x = Tensor::ones([1, 3], (Kind::Float, Device::Cpu));
        for _ in 0..2 {
            assert_eq!(
                s.backward(&lin.forward(&x).sum(Kind::Float), &mut opt, &vs),
                Some(true)
            );
        }
        assert_eq!(
            s.scaler.scale, 8_192.0,
            "grows back after growth_interval good steps"
        );
        assert!(!Precision::Auto.mixed_on(Device::Cpu));
        assert!(Precision::Fp16.mixed_on(Device::Cuda(0)));
    }
}
