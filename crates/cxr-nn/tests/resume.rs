//! A run stopped after some epochs and resumed ends with the same weights, bit for bit,
//! and the same state as the run that never stopped: `last` keeps Adam's moments and
//! the loss scaler, and `FitPlan::seed` reseeds dropout every epoch.
//!
//! Alone in its test binary: dropout draws from libtorch's global generator, which tests
//! running in parallel threads would share.

use std::path::Path;
use std::sync::Arc;

use cxr_nn::loader::{BoxError, Sample};
use cxr_nn::{DataLoader, Dataset, FitPlan, Goal, LoaderConfig, TrainState, Validated};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// 12 fixed 2 × 2 samples with a little augmentation noise from the sample's RNG.
struct Toy;

impl Dataset for Toy {
    fn len(&self) -> usize {
        12
    }
    fn get(&self, index: usize, rng: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
        let base = (index % 5) as f32 / 4.0;
        Ok(Sample {
            size: (2, 2),
            image: (0..4)
                .map(|k| base + k as f32 / 8.0 + rng.random_range(-0.05..0.05))
                .collect(),
            channels: vec![],
            masks: vec![],
            class: (index % 3) as i64,
        })
    }
}

struct Net {
    a: nn::Linear,
    b: nn::Linear,
}

fn net(vs: &nn::VarStore) -> Net {
    Net {
        a: nn::linear(vs.root() / "a", 4, 16, Default::default()),
        b: nn::linear(vs.root() / "b", 16, 3, Default::default()),
    }
}

/// Trains in `dir` with `vs`, failing in the validation of epoch `stop_at` (as a killed
/// process would: that epoch's checkpoint is never written).
fn train(
    dir: &Path,
    vs: &mut nn::VarStore,
    stop_at: Option<usize>,
) -> Result<TrainState, cxr_nn::Error> {
    let m = net(vs);
    let (state, _) = cxr_nn::resume_or_start(dir, vs, 10, Goal::Minimize)?;
    let loader = DataLoader::new(Arc::new(Toy), LoaderConfig::new(3, 0, 5, true));
    let plan = FitPlan {
        warmup_epochs: 1,
        weight_decay: 0.01,
        accumulate: 2,
        // Loss scaling on the CPU: exact (powers of two), but its state must survive.
        mixed: true,
        seed: Some(11),
        // The last three epochs' weights are kept and averaged at the end.
        average_last: 3,
        ..FitPlan::new(6, 2e-2)
    };
    cxr_nn::fit::<cxr_nn::Error, _>(
        dir,
        vs,
        &loader,
        &plan,
        state,
        |b| {
            let h =
                m.a.forward(&b.images.flatten(1, -1))
                    .relu()
                    .dropout(0.5, true);
            let loss = m.b.forward(&h).cross_entropy_for_logits(&b.classes);
            let v = loss.double_value(&[]);
            (loss, v)
        },
        |done| {
            if Some(done.epoch) == stop_at {
                return Err(cxr_nn::Error::NoTrainingSamples {
                    epoch: done.epoch,
                    failed: 0,
                });
            }
            Ok(Validated {
                watched: done.train_loss,
                message: String::new(),
            })
        },
    )
}

fn weights(vs: &nn::VarStore) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<_> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_stopped_run_resumes_exactly() {
    tch::set_num_threads(1);
    let whole = tempfile::tempdir().unwrap();
    tch::manual_seed(1);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let full = train(whole.path(), &mut vs, None).unwrap();
    assert_eq!((full.epochs_done, full.finished), (6, true));
    let expected = weights(&vs);

    let stopped = tempfile::tempdir().unwrap();
    tch::manual_seed(1);
    let mut vs = nn::VarStore::new(Device::Cpu);
    // Stopped in epoch 4: inside the averaging window, epoch 3's snapshot written.
    train(stopped.path(), &mut vs, Some(4)).unwrap_err();
    assert!(cxr_nn::snapshot_path(stopped.path(), 3).exists());
    assert!(stopped.path().join("last.optim.safetensors").exists());
    // A new process: other initial weights (overwritten by `last`), other RNG state.
    tch::manual_seed(99);
    let _ = Tensor::rand([100], (Kind::Float, Device::Cpu));
    let mut vs = nn::VarStore::new(Device::Cpu);
    let resumed = train(stopped.path(), &mut vs, None).unwrap();

    assert_eq!(resumed, full, "the same state, loss scaler included");
    assert!(full.scaler.as_ref().is_some_and(|s| s.good_steps > 0));
    assert_eq!(weights(&vs), expected, "the same weights, bit for bit");
    // Snapshots of epochs 3, 4, 5 only, and the same average, whether the run was
    // stopped in the middle of the averaging window or not.
    for dir in [whole.path(), stopped.path()] {
        for e in 0..6 {
            assert_eq!(cxr_nn::snapshot_path(dir, e).exists(), e >= 3, "epoch {e}");
        }
    }
    let avg = |d: &std::path::Path| std::fs::read(d.join(cxr_nn::AVERAGED)).unwrap();
    assert_eq!(avg(whole.path()), avg(stopped.path()));

    // Each start wrote where it ran: once for the whole run, twice (from epochs 0 and
    // 4) for the stopped one; a finished run started again trains nothing and adds none.
    let mut vs = nn::VarStore::new(Device::Cpu);
    assert_eq!(train(whole.path(), &mut vs, None).unwrap(), full);
    let from = |d: &std::path::Path| {
        cxr_nn::files::read_sessions(d)
            .unwrap()
            .iter()
            .map(|s| s.from_epoch)
            .collect::<Vec<_>>()
    };
    assert_eq!(from(whole.path()), [0]);
    assert_eq!(from(stopped.path()), [0, 4]);
    let session = &cxr_nn::files::read_sessions(stopped.path()).unwrap()[1];
    let mut here = cxr_core::Environment::current().with_compute(cxr_nn::compute(Device::Cpu));
    assert_eq!(session.environment, here);
    let compute = here.compute.take().unwrap();
    assert_eq!((compute.device.as_str(), compute.threads), ("cpu", 1));
    assert!(session.started.ends_with('Z') && session.started.len() == 20);
}
