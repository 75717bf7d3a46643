//! Classifier throughput: the paper's Inception v3 (masked grayscale input, three classes,
//! no auxiliary head) at 299 × 299.
//!
//! On the CPU (the default here): inference at batch 1, 8 and 32 (batch norms folded, as
//! `Classifier` runs it; batch 8 also unfolded), and one training step (forward,
//! cross-entropy, backward, Adam) at batch 16:
//! `CXR_THREADS=2 cargo bench --bench classifier`.
//!
//! On a CUDA device (`CXR_DEVICE=cuda`): inference at batch 1, 32 and 128 in fp32, and at
//! batch 128 under fp16 autocast, with and without channels-last; training steps at the
//! paper's batch 64 in fp32 and fp16 autocast + channels-last (as `train` runs them); then
//! the same two fp16 measurements again with cuDNN's autotuner on
//! (`tch::Cuda::cudnn_set_benchmark`). Every iteration waits for the device.
//!
//! On either device, `optimiser_*` measures what a training step costs beyond the
//! network (`Stepper`: loss scaling, gradient check, Adam over every parameter tensor).
//!
//! Compare with `scripts/bench/classifier_pytorch.py` (same architecture, same thread
//! count or device, same settings).

mod common;

use common::{bench_device, sync};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxr::classifier::train::{channels_last, weights_channels_last};
use cxr::classifier::{ClassifierConfig, InceptionV3};
use cxr::nn::{AdamW, Precision, Stepper, autocast};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

fn model(device: Device) -> (nn::VarStore, InceptionV3) {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let cfg = ClassifierConfig {
        aux_logits: false,
        ..ClassifierConfig::v3_299()
    };
    let net = InceptionV3::new(&vs.root(), &cfg).expect("valid preset");
    (vs, net)
}

fn classify(c: &mut Criterion) {
    let device = bench_device();
    match device {
        Device::Cuda(_) => classify_cuda(c, device),
        _ => classify_cpu(c),
    }
    optimiser_step(c, device);
}

/// What a training step costs beyond the network: `Stepper::backward` (loss scaling,
/// the finiteness check of every gradient, the optimiser) over Inception v3's parameter
/// tensors (284 without the aux head), with a loss whose backward pass is one small
/// kernel per tensor. Loss scaling is on where `train` turns it on (CUDA). Two
/// optimisers with the trainers' weight decay: `cxr_nn::AdamW` (what `fit` runs), and
/// libtorch's C++ AdamW (`tch::nn::AdamW`, what `fit` ran before its moments were saved).
fn optimiser_step(c: &mut Criterion, device: Device) {
    let mut g = c.benchmark_group(format!("optimiser_{device:?}").to_lowercase());
    g.sample_size(20);
    let (vs, _net) = model(device);
    let params = vs.trainable_variables();
    let n = params.len();
    let mut ours = AdamW::new(&vs, 1e-4, 1e-4);
    let mut libtorch = nn::AdamW {
        wd: 1e-4,
        ..Default::default()
    }
    .build(&vs, 1e-4)
    .expect("optimizer");
    let mut step = |name: String, opt: &mut dyn FnMut(&Tensor, &mut Stepper)| {
        let mut stepper = Stepper::new(1, Precision::Auto.mixed_on(device));
        g.bench_function(name, |b| {
            b.iter(|| {
                let loss = params
                    .iter()
                    .map(|p| p.sum(Kind::Float))
                    .fold(Tensor::zeros([], (Kind::Float, device)), |a, s| a + s);
                opt(&loss, &mut stepper);
                sync(device);
            })
        });
    };
    step(
        format!("inception_v3_stepper_step_{n}_tensors"),
        &mut |loss, st| {
            st.backward(loss, &mut ours, &vs);
        },
    );
    step(
        format!("inception_v3_stepper_step_{n}_tensors_libtorch_adamw"),
        &mut |loss, st| {
            st.backward(loss, &mut libtorch, &vs);
        },
    );
    g.finish();
}

fn classify_cpu(c: &mut Criterion) {
    let threads: i32 = std::env::var("CXR_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let mut g = c.benchmark_group(format!("classifier_cpu_{threads}threads"));
    g.sample_size(10);
    let (_vs, mut net) = model(Device::Cpu);
    // Unfolded: the same graph as PyTorch eager (conv, batch norm, ReLU).
    let x8 = Tensor::rand([8, 1, 299, 299], (Kind::Float, Device::Cpu));
    g.throughput(Throughput::Elements(8));
    g.bench_function("inception_v3_299_infer_batch8_unfolded", |b| {
        b.iter(|| {
            let _guard = tch::no_grad_guard();
            net.forward_all(&x8, false).logits
        })
    });
    // What `Classifier` runs: batch norms folded into the convolutions.
    net.fold_batchnorm();
    for batch in [1i64, 8, 32] {
        let x = Tensor::rand([batch, 1, 299, 299], (Kind::Float, Device::Cpu));
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("inception_v3_299_infer_batch{batch}"), |b| {
            b.iter(|| {
                let _guard = tch::no_grad_guard();
                net.forward_all(&x, false).logits
            })
        });
    }
    // What `Classifier` runs on the CPU since 2026-11-26: folded and channels-last.
    let (vs, mut net) = model(Device::Cpu);
    weights_channels_last(&vs);
    net.fold_batchnorm();
    for batch in [1i64, 8, 32] {
        let x = channels_last(&Tensor::rand(
            [batch, 1, 299, 299],
            (Kind::Float, Device::Cpu),
        ));
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(
            format!("inception_v3_299_infer_batch{batch}_channels_last"),
            |b| {
                b.iter(|| {
                    let _guard = tch::no_grad_guard();
                    net.forward_all(&x, false).logits
                })
            },
        );
    }
    // Training steps: row-major with libtorch's Adam (the earlier row), and as `train`
    // runs on the CPU since 2026-11-26: channels-last, `Stepper` and `cxr_nn::AdamW`.
    for cl in [false, true] {
        let (vs, net) = model(Device::Cpu);
        let mut x = Tensor::rand([16, 1, 299, 299], (Kind::Float, Device::Cpu));
        if cl {
            weights_channels_last(&vs);
            x = channels_last(&x);
        }
        let mut adam = nn::Adam::default().build(&vs, 1e-4).expect("optimizer");
        let mut ours = AdamW::new(&vs, 1e-4, 1e-4);
        let mut stepper = Stepper::new(1, false);
        let y = Tensor::randint(3, [16], (Kind::Int64, Device::Cpu));
        g.throughput(Throughput::Elements(16));
        let name = if cl {
            "inception_v3_299_train_step_batch16_channels_last_fit"
        } else {
            "inception_v3_299_train_step_batch16"
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let logits = net.forward_all(&x, true).logits;
                let loss =
                    logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
                if cl {
                    stepper.backward(&loss, &mut ours, &vs);
                } else {
                    adam.backward_step(&loss);
                }
            })
        });
    }
    g.finish();
}

/// One inference measurement on CUDA: folded batch norms, `precision`, optionally
/// channels-last input and weights.
fn infer_cuda(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    device: Device,
    batch: i64,
    precision: Precision,
    cl: bool,
    name: &str,
) {
    let (vs, mut net) = model(device);
    let mut x = Tensor::rand([batch, 1, 299, 299], (Kind::Float, device));
    if cl {
        // Before folding, so that the folded weights inherit the layout.
        weights_channels_last(&vs);
        x = channels_last(&x);
    }
    net.fold_batchnorm();
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let _guard = tch::no_grad_guard();
            let y = autocast(device, precision, || net.forward_all(&x, false).logits);
            sync(device);
            y
        })
    });
}

/// One training step on CUDA at `batch`: forward (under autocast for fp16), cross-entropy,
/// backward, Adam.
/// One training step on CUDA at `precision` (fp16: autocast and channels-last). With
/// `fit`, the step `cxr_nn::fit` takes: loss scaling and the gradient check (`Stepper`)
/// and `cxr_nn::AdamW` with the trainers' weight decay; without, libtorch's Adam called
/// directly (the earlier rows).
fn train_cuda(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    device: Device,
    batch: i64,
    precision: Precision,
    fit: bool,
    name: &str,
) {
    let (vs, net) = model(device);
    let cl = precision.mixed_on(device);
    if cl {
        weights_channels_last(&vs);
    }
    let mut adam = nn::Adam::default().build(&vs, 1e-4).expect("optimizer");
    let mut ours = AdamW::new(&vs, 1e-4, 1e-4);
    let mut stepper = Stepper::new(1, precision.mixed_on(device));
    let mut x = Tensor::rand([batch, 1, 299, 299], (Kind::Float, device));
    if cl {
        x = channels_last(&x);
    }
    let y = Tensor::randint(3, [batch], (Kind::Int64, device));
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let logits = autocast(device, precision, || net.forward_all(&x, true).logits);
            let loss = logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
                &y,
                None,
                Reduction::Mean,
                -100,
                0.0,
            );
            if fit {
                stepper.backward(&loss, &mut ours, &vs);
            } else {
                adam.backward_step(&loss);
            }
            sync(device);
        })
    });
}

fn classify_cuda(c: &mut Criterion, device: Device) {
    let mut g = c.benchmark_group(format!("classifier_{device:?}").to_lowercase());
    g.sample_size(10);
    for batch in [1i64, 32, 128] {
        let name = format!("inception_v3_299_infer_batch{batch}_fp32");
        infer_cuda(&mut g, device, batch, Precision::Fp32, false, &name);
    }
    let fp16 = Precision::Fp16;
    infer_cuda(
        &mut g,
        device,
        128,
        fp16,
        false,
        "inception_v3_299_infer_batch128_fp16",
    );
    let name = "inception_v3_299_infer_batch128_fp16_channels_last";
    infer_cuda(&mut g, device, 128, fp16, true, name);
    train_cuda(
        &mut g,
        device,
        64,
        Precision::Fp32,
        false,
        "inception_v3_299_train_step_batch64_fp32",
    );
    let name = "inception_v3_299_train_step_batch64_fp16_channels_last";
    train_cuda(&mut g, device, 64, fp16, false, name);
    let name = "inception_v3_299_train_step_batch64_fp16_channels_last_fit";
    train_cuda(&mut g, device, 64, fp16, true, name);
    tch::Cuda::cudnn_set_benchmark(true);
    let name = "inception_v3_299_infer_batch128_fp16_channels_last_cudnn_benchmark";
    infer_cuda(&mut g, device, 128, fp16, true, name);
    let name = "inception_v3_299_train_step_batch64_fp16_channels_last_cudnn_benchmark";
    train_cuda(&mut g, device, 64, fp16, false, name);
    tch::Cuda::cudnn_set_benchmark(false);
    g.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
