//! `cxr_nn::AdamW` against libtorch's own `torch::optim::AdamW` (what tch's `nn::AdamW`
//! runs), and its saved state.

use cxr_nn::{AdamW, Optimise};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn mlp(vs: &nn::VarStore) -> impl Module + use<> {
    let root = vs.root();
    nn::seq()
        .add(nn::linear(&root / "a", 5, 4, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "b", 4, 2, Default::default()))
}

fn sorted(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<_> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn max_diff(a: &nn::VarStore, b: &nn::VarStore) -> f64 {
    sorted(a)
        .iter()
        .zip(sorted(b))
        .map(|((_, x), (_, y))| (x - y).abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}

/// Fixed inputs and targets, float64.
fn data() -> (Tensor, Tensor) {
    let xs: Vec<f64> = (0..40).map(|i| ((i * 7 % 13) as f64 - 6.0) / 4.0).collect();
    let ys: Vec<f64> = (0..16).map(|i| ((i * 5 % 7) as f64 - 3.0) / 2.0).collect();
    (
        Tensor::from_slice(&xs).view([8, 5]),
        Tensor::from_slice(&ys).view([8, 2]),
    )
}

#[test]
fn adamw_takes_libtorchs_steps() {
    let (x, y) = data();
    let mut vs_ours = nn::VarStore::new(Device::Cpu);
    let net_ours = mlp(&vs_ours);
    vs_ours.double();
    let mut vs_ref = nn::VarStore::new(Device::Cpu);
    let net_ref = mlp(&vs_ref);
    vs_ref.double();
    vs_ref.copy(&vs_ours).unwrap();
    let start = nn::VarStore::new(Device::Cpu);
    let mut start = start;
    let _ = mlp(&start);
    start.double();
    start.copy(&vs_ours).unwrap();

    let wd = 0.05;
    let mut ours = AdamW::new(&vs_ours, 1e-2, wd);
    let mut reference = nn::AdamW {
        wd,
        ..Default::default()
    }
    .build(&vs_ref, 1e-2)
    .unwrap();
    for (step, lr) in [1e-2, 2e-2, 5e-3, 1e-2, 0.0, 3e-2, 1e-3]
        .into_iter()
        .enumerate()
    {
        ours.set_lr(lr);
        reference.set_lr(lr);
        for (net, opt) in [
            (&net_ours as &dyn Module, &mut ours as &mut dyn Optimise),
            (&net_ref, &mut reference),
        ] {
            opt.zero_grad();
            net.forward(&x)
                .mse_loss(&y, tch::Reduction::Mean)
                .backward();
            opt.step();
        }
        let d = max_diff(&vs_ours, &vs_ref);
        assert!(d < 1e-14, "step {step}: {d:e} from libtorch's AdamW");
    }
    // The steps moved the weights far beyond that tolerance (the comparison can fail).
    assert!(max_diff(&vs_ours, &start) > 1e-2);
    assert!(
        ours.steps().iter().all(|&(_, t)| t == 7),
        "{:?}",
        ours.steps()
    );
    assert_eq!(ours.steps().len(), 4);
}

#[test]
fn the_state_saves_loads_and_refuses_what_does_not_fit() {
    let (x, y) = data();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = mlp(&vs);
    vs.double();
    let mut opt = AdamW::new(&vs, 1e-2, 0.0);
    let step = |opt: &mut AdamW| {
        opt.zero_grad();
        net.forward(&x)
            .mse_loss(&y, tch::Reduction::Mean)
            .backward();
        opt.step();
    };
    for _ in 0..3 {
        step(&mut opt);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last.optim.safetensors");
    opt.save(&path, 2).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["last.optim.safetensors"], "no temporary file left");

    // Copies of the weights, one with the loaded state, one without, take the next step.
    let copy = || {
        let mut v = nn::VarStore::new(Device::Cpu);
        let n = mlp(&v);
        v.double();
        v.copy(&vs).unwrap();
        (v, n)
    };
    let (vs2, net2) = copy();
    let (vs3, net3) = copy();
    let mut opt2 = AdamW::new(&vs2, 1e-2, 0.0);
    assert!(!opt2.load(&path, 3).unwrap(), "another epoch: not loaded");
    assert!(opt2.steps().iter().all(|&(_, t)| t == 0));
    assert!(opt2.load(&path, 2).unwrap());
    assert_eq!(opt2.steps(), opt.steps());
    let mut opt3 = AdamW::new(&vs3, 1e-2, 0.0);
    step(&mut opt);
    for (n, o) in [(&net2, &mut opt2), (&net3, &mut opt3)] {
        o.zero_grad();
        n.forward(&x).mse_loss(&y, tch::Reduction::Mean).backward();
        o.step();
    }
    assert_eq!(
        max_diff(&vs, &vs2),
        0.0,
        "the loaded state continues exactly"
    );
    assert!(
        max_diff(&vs, &vs3) > 1e-4,
        "restarted moments take another step"
    );

    // Variables of another shape, or not in the file's model at all.
    let mut other = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(other.root() / "a", 5, 3, Default::default());
    other.double();
    let e = AdamW::new(&other, 1e-2, 0.0).load(&path, 2).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("last.optim.safetensors"), "{msg}");
    assert!(
        msg.contains("exp_avg/a.weight") || msg.contains("exp_avg/a.bias") || msg.contains("`b."),
        "{msg}"
    );
    // A file that is not a state at all.
    let junk = dir.path().join("junk.safetensors");
    Tensor::write_safetensors(
        &[(
            "w".to_owned(),
            Tensor::zeros([2], (Kind::Float, Device::Cpu)),
        )],
        &junk,
    )
    .unwrap();
    let e = AdamW::new(&vs, 1e-2, 0.0).load(&junk, 2).unwrap_err();
    assert!(e.to_string().contains("no `epochs_done` entry"), "{e}");
    // A moment without its step count, and a step count below 1.
    let mut entries = Tensor::read_safetensors(&path).unwrap();
    entries.push((
        "exp_avg/c.weight".to_owned(),
        Tensor::zeros([2], (Kind::Double, Device::Cpu)),
    ));
    Tensor::write_safetensors(&entries, &junk).unwrap();
    let e = AdamW::new(&vs, 1e-2, 0.0).load(&junk, 2).unwrap_err();
    assert!(
        e.to_string()
            .contains("5 `exp_avg/` entries for 4 step counts"),
        "{e}"
    );
    let mut entries = Tensor::read_safetensors(&path).unwrap();
    for (name, t) in &mut entries {
        if name == "step/a.bias" {
            *t = Tensor::from_slice(&[0i64]);
        }
    }
    Tensor::write_safetensors(&entries, &junk).unwrap();
    let e = AdamW::new(&vs, 1e-2, 0.0).load(&junk, 2).unwrap_err();
    assert!(
        e.to_string().contains("`step/a.bias` is not one int64 ≥ 1"),
        "{e}"
    );
    // A torn file.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&junk, &bytes[..bytes.len() / 2]).unwrap();
    let e = AdamW::new(&vs, 1e-2, 0.0).load(&junk, 2).unwrap_err();
    assert!(
        e.to_string()
            .contains("junk.safetensors: not a readable safetensors file"),
        "{e}"
    );
}
