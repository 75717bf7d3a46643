//! Checkpoints round-trip, `best`/`last` are independent, resume continues from `last`.

use cxr_nn::checkpoint::{append_jsonl, read_jsonl};
use cxr_nn::{EarlyStopping, Goal, load_checkpoint, save_checkpoint};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct State {
    epoch: usize,
    step: usize,
    early: EarlyStopping,
}

fn model(vs: &nn::VarStore) -> nn::Linear {
    nn::linear(vs.root() / "fc", 4, 2, Default::default())
}

#[test]
fn checkpoint_round_trip_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = model(&vs);
    let x = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
    let y = m.forward(&x);
    let mut early = EarlyStopping::new(5, Goal::Minimize);
    early.update(0.7);
    let state = State {
        epoch: 3,
        step: 120,
        early,
    };
    save_checkpoint(dir.path(), "last", &vs, &state).unwrap();
    save_checkpoint(
        dir.path(),
        "best",
        &vs,
        &State {
            epoch: 2,
            step: 80,
            early: EarlyStopping::new(5, Goal::Minimize),
        },
    )
    .unwrap();

    // A fresh model with other weights gets the saved ones back.
    tch::manual_seed(2);
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let m2 = model(&vs2);
    assert!(!m2.forward(&x).allclose(&y, 1e-6, 1e-6, false));
    let back: State = load_checkpoint(dir.path(), "last", &mut vs2).unwrap();
    assert_eq!(back, state);
    assert!(m2.forward(&x).allclose(&y, 1e-7, 1e-7, false));
    let best: State = load_checkpoint(dir.path(), "best", &mut vs2).unwrap();
    assert_eq!(best.epoch, 2);

    // Only the final files remain (temporary files renamed away).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "best.json",
            "best.safetensors",
            "last.json",
            "last.safetensors"
        ]
    );
    let missing = load_checkpoint::<State>(dir.path(), "nope", &mut vs2).unwrap_err();
    assert!(missing.to_string().contains("nope.safetensors"));

    // metrics.jsonl appends one object per epoch.
    let log = dir.path().join("metrics.jsonl");
    for e in 0..3 {
        append_jsonl(
            &log,
            &serde_json::json!({"epoch": e, "loss": 1.0 / (e + 1) as f64}),
        )
        .unwrap();
    }
    let rows: Vec<serde_json::Value> = read_jsonl(&log).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["epoch"], 2);
}
