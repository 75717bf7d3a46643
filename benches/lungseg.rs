//! Segmentation throughput (images/s) of the DeepLabv3+ ResNet-18 at 256 and 512 on the
//! CPU, eval mode, batch 4. Compare with `scripts/bench/lungseg_pytorch.py` (same
//! architecture, same thread count): `CXR_THREADS=2 cargo bench --bench lungseg`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxr::lungseg::{DeepLabV3Plus, SegmenterConfig};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

const BATCH: i64 = 4;

fn segment(c: &mut Criterion) {
    let threads: i32 = std::env::var("CXR_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let mut g = c.benchmark_group(format!("lungseg_cpu_{threads}threads"));
    g.sample_size(10);
    for size in [256i64, 512] {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net =
            DeepLabV3Plus::new(&vs.root(), &SegmenterConfig::resnet18_256()).expect("valid preset");
        let x = Tensor::rand([BATCH, 1, size, size], (Kind::Float, Device::Cpu));
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function(format!("deeplabv3plus_r18_{size}_batch{BATCH}"), |b| {
            b.iter(|| {
                let _guard = tch::no_grad_guard();
                net.forward_t(&x, false)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, segment);
criterion_main!(benches);
