//! The libtorch smoke test: a tiny conv net learns a toy task in a few steps on the CPU
//! (and, with `--features cuda-tests`, on a CUDA GPU).

use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn net(p: &nn::Path) -> impl ModuleT + use<> {
    nn::seq_t()
        .add(nn::conv2d(
            p / "c1",
            1,
            8,
            3,
            nn::ConvConfig {
                padding: 1,
                ..Default::default()
            },
        ))
        .add_fn(|x| x.relu().max_pool2d_default(2))
        .add(nn::conv2d(
            p / "c2",
            8,
            8,
            3,
            nn::ConvConfig {
                padding: 1,
                ..Default::default()
            },
        ))
        .add_fn(|x| x.relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1))
        .add(nn::linear(p / "fc", 8, 2, Default::default()))
}

/// Class 1 images have a bright 6×6 square at a random place, class 0 do not.
fn batch(n: i64, device: Device) -> (Tensor, Tensor) {
    let labels = Tensor::randint(2, [n], (Kind::Int64, device));
    let x = Tensor::randn([n, 1, 16, 16], (Kind::Float, device)) * 0.3;
    let l: Vec<i64> = Vec::try_from(&labels.to_device(Device::Cpu)).unwrap();
    for (i, &li) in l.iter().enumerate() {
        if li == 1 {
            let (r, c) = ((i as i64 * 5) % 10, (i as i64 * 3) % 10);
            let _ = x
                .get(i as i64)
                .narrow(1, r, 6)
                .narrow(2, c, 6)
                .f_add_(&Tensor::from(2.0))
                .unwrap();
        }
    }
    (x, labels)
}

fn train(device: Device) -> (f64, f64) {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let model = net(&vs.root());
    let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
    let (xe, ye) = batch(128, device);
    let eval = |m: &dyn ModuleT| {
        m.forward_t(&xe, false)
            .cross_entropy_for_logits(&ye)
            .double_value(&[])
    };
    let before = eval(&model);
    for _ in 0..60 {
        let (x, y) = batch(32, device);
        let loss = model.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.backward_step(&loss);
    }
    (before, eval(&model))
}

#[test]
fn tiny_conv_net_learns_on_cpu() {
    let (before, after) = train(Device::Cpu);
    assert!(before > 0.5, "initial loss {before}");
    assert!(after < 0.5 * before, "loss went from {before} to {after}");
}

#[cfg(feature = "cuda-tests")]
#[test]
fn tiny_conv_net_learns_on_cuda() {
    assert!(
        tch::Cuda::is_available(),
        "cuda-tests need a CUDA device (and torch_cuda linked)"
    );
    let device = cxr_nn::select_device(cxr_nn::DevicePreference::Cuda(0)).unwrap();
    assert!(device.is_cuda());
    let (before, after) = train(device);
    println!(
        "cuda: {} device(s), loss {before:.4} -> {after:.4}",
        tch::Cuda::device_count()
    );
    assert!(after < 0.5 * before, "loss went from {before} to {after}");
}
