//! Segmentation throughput (images/s) of the DeepLabv3+ ResNet-18 at 256 and 512, eval
//! mode, as PyTorch eager runs it and with the batch norms folded (`_folded`, what
//! `Segmenter` runs).
//!
//! On the CPU (the default here): batch 4, `CXR_THREADS` threads:
//! `CXR_THREADS=2 cargo bench --bench lungseg`.
//! On a CUDA device (`CXR_DEVICE=cuda`): batch 16, fp32 and fp16 autocast, every
//! iteration waiting for the device.
//!
//! Compare with `scripts/bench/lungseg_pytorch.py` (same architecture, same thread count
//! or device, same settings).

mod common;

use common::{bench_device, sync};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxr::lungseg::{DeepLabV3Plus, SegmenterConfig};
use cxr::nn::{Precision, autocast};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

fn segment(c: &mut Criterion) {
    let device = bench_device();
    let (group, batch, precisions): (String, i64, &[Precision]) = match device {
        Device::Cuda(_) => (
            format!("lungseg_{device:?}").to_lowercase(),
            16,
            &[Precision::Fp32, Precision::Fp16],
        ),
        _ => {
            let threads: i32 = std::env::var("CXR_THREADS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(2);
            tch::set_num_threads(threads);
            (
                format!("lungseg_cpu_{threads}threads"),
                4,
                &[Precision::Fp32],
            )
        }
    };
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for size in [256i64, 512] {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(device);
        let mut net =
            DeepLabV3Plus::new(&vs.root(), &SegmenterConfig::resnet18_256()).expect("valid preset");
        let x = Tensor::rand([batch, 1, size, size], (Kind::Float, device));
        g.throughput(Throughput::Elements(batch as u64));
        // Unfolded (the same graph as PyTorch eager), then with the batch norms folded
        // into the convolutions (what `Segmenter` runs).
        for folded in [false, true] {
            if folded {
                net.fold_batchnorm();
            }
            let suffix = if folded { "_folded" } else { "" };
            for &precision in precisions {
                // The CPU names stay those of earlier runs, so criterion compares with them.
                let name = match (device, precision) {
                    (Device::Cuda(_), Precision::Fp16) => {
                        format!("deeplabv3plus_r18_{size}_batch{batch}_fp16{suffix}")
                    }
                    (Device::Cuda(_), _) => {
                        format!("deeplabv3plus_r18_{size}_batch{batch}_fp32{suffix}")
                    }
                    _ => format!("deeplabv3plus_r18_{size}_batch{batch}{suffix}"),
                };
                g.bench_function(name, |b| {
                    b.iter(|| {
                        let _guard = tch::no_grad_guard();
                        let y = autocast(device, precision, || net.forward_t(&x, false));
                        sync(device);
                        y
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, segment);
criterion_main!(benches);
