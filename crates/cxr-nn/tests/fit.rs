//! `fit` refuses epochs with nothing to train on instead of logging a loss of 0 and
//! saving an untrained model.

use std::sync::Arc;

use cxr_nn::loader::{BoxError, Sample};
use cxr_nn::{DataLoader, Dataset, FitPlan, Goal, LoaderConfig, TrainState, Validated, fit};
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction};

/// `len` samples; those at `failing` fail to load (by error or by panic).
struct Toy {
    len: usize,
    fail_from: usize,
    panic: bool,
}

impl Dataset for Toy {
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, _: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
        if index >= self.fail_from {
            if self.panic {
                panic!("worker dies on sample {index}");
            }
            return Err("unreadable".into());
        }
        Ok(Sample {
            size: (2, 2),
            image: vec![index as f32 / 10.0; 4],
            channels: vec![],
            masks: vec![],
            class: (index % 2) as i64,
        })
    }
}

fn run(ds: Toy, workers: usize) -> Result<TrainState, cxr_nn::Error> {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = nn::linear(vs.root() / "fc", 4, 1, Default::default());
    let loader = DataLoader::new(Arc::new(ds), LoaderConfig::new(2, workers, 1, true));
    let result = fit::<cxr_nn::Error, _>(
        dir.path(),
        &vs,
        &loader,
        &FitPlan::new(2, 1e-2),
        TrainState::new(3, Goal::Minimize),
        |b| {
            let y = b.classes.to_kind(Kind::Float).unsqueeze(1);
            let loss = net
                .forward(&b.images.flatten(1, -1))
                .mse_loss(&y, Reduction::Mean);
            let v = loss.double_value(&[]);
            (loss, v)
        },
        |done| {
            Ok(Validated {
                watched: done.train_loss,
                message: String::new(),
            })
        },
    );
    let saved = dir.path().join("last.safetensors").exists();
    assert_eq!(saved, result.is_ok(), "a checkpoint only for a real epoch");
    result
}

#[test]
fn epochs_without_samples_are_errors() {
    for workers in [0, 1, 2] {
        let ok = run(
            Toy {
                len: 5,
                fail_from: 5,
                panic: false,
            },
            workers,
        )
        .unwrap();
        assert_eq!(ok.epochs_done, 2);

        let e = run(
            Toy {
                len: 0,
                fail_from: 0,
                panic: false,
            },
            workers,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                cxr_nn::Error::NoTrainingSamples {
                    epoch: 0,
                    failed: 0
                }
            ),
            "{e:?}"
        );

        for panic in [false, true] {
            let e = run(
                Toy {
                    len: 5,
                    fail_from: 0,
                    panic,
                },
                workers,
            )
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                "no training samples loaded in epoch 0 (5 failed to load)",
                "workers {workers}, panic {panic}"
            );
        }
    }
}
