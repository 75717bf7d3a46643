//! CUDA path of the segmenter (`--features cuda-tests`, on a GPU machine): fp16 autocast
//! training with loss scaling reaches a good Dice, and the network gives the CPU's
//! outputs on CUDA (float64 to rounding, fp16 autocast within its precision).
#![cfg(feature = "cuda-tests")]

use std::sync::Arc;

use cxr_core::{Label, SourceId};
use cxr_lungseg::{DeepLabV3Plus, InMemory, SegTrainConfig, SegmenterConfig, train};
use cxr_nn::{Precision, autocast};
use cxr_synth::{CaseSpec, SynthConfig, render};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

#[test]
fn fp16_autocast_training_and_outputs_on_cuda() {
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
        patience: 5,
        average_last: 0,
        ..SegTrainConfig::default()
    };
    let s = train(dir.path(), Arc::new(pairs), &cfg, device, false).unwrap();
    println!(
        "fp16 autocast training on {device:?}: best validation Dice {:.4}",
        s.best_dice
    );
    assert!(s.best_dice > 0.85);

    // CPU and CUDA give the same outputs for the same weights in evaluation mode: to
    // rounding in float64, within fp16 under autocast. (Training mode is not compared: the
    // decoder's dropout draws from each device's own generator.) Speed is measured by
    // `CXR_DEVICE=cuda cargo bench --bench lungseg`, not here.
    tch::manual_seed(0);
    let cfg = SegmenterConfig::resnet18_256();
    let mut cpu_vs = nn::VarStore::new(Device::Cpu);
    let cpu_net = DeepLabV3Plus::new(&cpu_vs.root(), &cfg).unwrap();
    let mut gpu_vs = nn::VarStore::new(device);
    let gpu_net = DeepLabV3Plus::new(&gpu_vs.root(), &cfg).unwrap();
    gpu_vs.copy(&cpu_vs).unwrap();
    let _g = tch::no_grad_guard();
    let x = Tensor::rand([2, 1, 256, 256], (Kind::Float, Device::Cpu));
    let fp32_cpu = cpu_net.forward_t(&x, false);
    let half = autocast(device, Precision::Fp16, || {
        gpu_net.forward_t(&x.to_device(device), false)
    });
    cpu_vs.double();
    gpu_vs.double();
    let x64 = x.to_kind(Kind::Double);
    let eval64 = rel_max_diff(
        &cpu_net.forward_t(&x64, false),
        &gpu_net.forward_t(&x64.to_device(device), false),
    );
    let fp16 = rel_max_diff(&fp32_cpu, &half);
    println!(
        "DeepLabv3+ R18 256, CPU vs {device:?} (relative max |Δlogit|): float64 {eval64:.2e}; \
         fp16 autocast against float32 {fp16:.2e}"
    );
    assert!(eval64 < 1e-8, "float64: {eval64:e}");
    assert!(fp16 < 3e-2, "fp16 autocast: {fp16:e}");
}

/// Largest |a − b| over the largest |a|.
fn rel_max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_device(Device::Cpu).to_kind(Kind::Double);
    let b = b.to_device(Device::Cpu).to_kind(Kind::Double);
    let d = (&a - &b).abs().max().double_value(&[]);
    d / a.abs().max().double_value(&[]).max(1e-12)
}
