//! CUDA path of the segmenter (`--features cuda-tests`, on a GPU machine): fp16 autocast
//! training with loss scaling reaches a good Dice, and inference throughput with and
//! without autocast is printed for docs/performance.md.
#![cfg(feature = "cuda-tests")]

use std::sync::Arc;
use std::time::Instant;

use cxr_core::{Label, SourceId};
use cxr_lungseg::{DeepLabV3Plus, InMemory, SegTrainConfig, SegmenterConfig, train};
use cxr_nn::{Precision, autocast};
use cxr_synth::{CaseSpec, SynthConfig, render};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

#[test]
fn fp16_autocast_training_and_throughput_on_cuda() {
    assert!(
        tch::Cuda::is_available(),
        "cuda-tests need a CUDA device (and torch_cuda linked)"
    );
    let device = Device::Cuda(0);
    let config = SynthConfig::with_size(128);
    let pairs = InMemory(
        (0..96u64)
            .map(|i| {
                let p = render(
                    &CaseSpec::single(
                        i,
                        Label::ALL[(i % 3) as usize],
                        SourceId::ALL[(i % 8) as usize],
                    ),
                    &config,
                );
                let labels = p.lungs().to_binary();
                (p.image, labels)
            })
            .collect(),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = SegTrainConfig {
        model: SegmenterConfig::tiny(128),
        epochs: 10,
        batch_size: 16,
        learning_rate: 3e-3,
        precision: Precision::Fp16,
        ..SegTrainConfig::default()
    };
    let s = train(dir.path(), Arc::new(pairs), &cfg, device, false).unwrap();
    println!(
        "fp16 autocast training on {device:?}: best validation Dice {:.4}",
        s.best_dice
    );
    assert!(s.best_dice > 0.85);

    for size in [256i64, 512] {
        let vs = nn::VarStore::new(device);
        let net = DeepLabV3Plus::new(&vs.root(), &SegmenterConfig::resnet18_256()).unwrap();
        let x = Tensor::rand([16, 1, size, size], (Kind::Float, device));
        for (name, precision) in [
            ("fp32", Precision::Fp32),
            ("fp16 autocast", Precision::Fp16),
        ] {
            let _g = tch::no_grad_guard();
            for _ in 0..3 {
                let _ = autocast(device, precision, || net.forward_t(&x, false));
            }
            tch::Cuda::synchronize(0);
            let t0 = Instant::now();
            let n = 20;
            for _ in 0..n {
                let _ = autocast(device, precision, || net.forward_t(&x, false));
            }
            tch::Cuda::synchronize(0);
            let ips = (n * 16) as f64 / t0.elapsed().as_secs_f64();
            println!("DeepLabv3+ R18 {size}x{size} batch 16 {name}: {ips:.1} images/s");
        }
    }
}
