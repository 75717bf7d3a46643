//! Classifier throughput on the CPU: the paper's Inception v3 (masked grayscale input,
//! three classes, no auxiliary head) at 299 × 299 — inference at batch 1, 8 and 32 (batch
//! norms folded, as `Classifier` runs it; batch 8 also unfolded), and one training step
//! (forward, cross-entropy, backward, Adam) at batch 16. Compare with
//! `scripts/bench/classifier_pytorch.py` (same architecture, same thread count):
//! `CXR_THREADS=2 cargo bench --bench classifier`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxr::classifier::{ClassifierConfig, InceptionV3};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

fn model() -> (nn::VarStore, InceptionV3) {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = ClassifierConfig {
        aux_logits: false,
        ..ClassifierConfig::v3_299()
    };
    let net = InceptionV3::new(&vs.root(), &cfg).expect("valid preset");
    (vs, net)
}

fn classify(c: &mut Criterion) {
    let threads: i32 = std::env::var("CXR_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let mut g = c.benchmark_group(format!("classifier_cpu_{threads}threads"));
    g.sample_size(10);
    let (_vs, mut net) = model();
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
    let (vs, net) = model();
    let mut opt = nn::Adam::default().build(&vs, 1e-4).expect("optimizer");
    let x = Tensor::rand([16, 1, 299, 299], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(3, [16], (Kind::Int64, Device::Cpu));
    g.throughput(Throughput::Elements(16));
    g.bench_function("inception_v3_299_train_step_batch16", |b| {
        b.iter(|| {
            let logits = net.forward_all(&x, true).logits;
            let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
            opt.backward_step(&loss);
        })
    });
    g.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
