//! Inference on both backends in the same run: libtorch (`cxr::classifier`,
//! `cxr::lungseg`) against pure Rust on candle (`cxr::infer`), the same weights (drawn by
//! `cxr_nn::layers::fill_from_names`, saved as a run folder both load), CPU, the same
//! thread count for both (`CXR_THREADS`, default 2: libtorch's intra-op threads, and the
//! rayon pool candle's kernels run on).
//!
//! - the segmenter network (`SegmenterConfig::cpu_256`, the CPU recipe at 256 px) on a
//!   `[B, 1, 256, 256]` input, batch norms folded as `Segmenter` runs it;
//! - the classifier (`Classifier::predict_batch`: input preparation, network, softmax,
//!   temperature) at 128 px (`ClassifierConfig::small`, the demo's) and 299 px
//!   (`v3_299`, the paper's), masked grayscale input;
//!
//! each at batch 1 and 8: `CXR_THREADS=2 cargo bench --bench infer`.
//! `docs/inference.md` has the numbers.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use cxr::classifier::{ClassifierConfig, InceptionV3, TrainConfig};
use cxr::core::{GrayImage, LungMask};
use cxr::lungseg::{DeepLabV3Plus, SegTrainConfig, SegmenterConfig};
use cxr::nn::{Goal, TrainState};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Tensor};

fn threads() -> usize {
    std::env::var("CXR_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2)
}

fn save(dir: &std::path::Path, vs: &VarStore, config: &impl serde::Serialize) {
    std::fs::create_dir_all(dir).expect("bench folder");
    cxr::nn::save_checkpoint(dir, "best", vs, &TrainState::new(1, Goal::Minimize))
        .expect("weights written");
    cxr::nn::files::write_json(&dir.join("config.json"), config).expect("config written");
}

fn segmenter(c: &mut Criterion, dir: &std::path::Path) {
    let model = SegmenterConfig::cpu_256();
    let vs = VarStore::new(Device::Cpu);
    let mut torch = DeepLabV3Plus::new(&vs.root(), &model).expect("valid preset");
    cxr::nn::layers::fill_from_names(&vs);
    save(
        dir,
        &vs,
        &SegTrainConfig {
            model: model.clone(),
            ..Default::default()
        },
    );
    cxr::classifier::train::weights_channels_last(&vs);
    torch.fold_batchnorm();
    let pure = cxr::infer::Segmenter::load(dir).expect("the run loads");
    let s = model.input_size as usize;
    let mut g = c.benchmark_group("infer_segmenter_256");
    g.sample_size(10);
    for b in [1usize, 8] {
        g.throughput(Throughput::Elements(b as u64));
        let x = Tensor::rand(
            [b as i64, 1, s as i64, s as i64],
            (tch::Kind::Float, Device::Cpu),
        );
        let xl = cxr::classifier::train::channels_last(&x);
        g.bench_with_input(BenchmarkId::new("libtorch", b), &b, |bch, _| {
            bch.iter(|| tch::no_grad(|| torch.forward_t(&xl, false)))
        });
        let v = Vec::<f32>::try_from(&x.flatten(0, -1)).expect("floats");
        let xc = candle_input(v, (b, 1, s, s));
        g.bench_with_input(BenchmarkId::new("candle", b), &b, |bch, _| {
            bch.iter(|| pure.net().forward(&xc).expect("forward"))
        });
    }
    g.finish();
}

fn candle_input(v: Vec<f32>, shape: (usize, usize, usize, usize)) -> cxr::infer::CandleTensor {
    cxr::infer::CandleTensor::from_vec(v, shape, &cxr::infer::CandleDevice::Cpu).expect("tensor")
}

fn classifier(c: &mut Criterion, root: &std::path::Path, name: &str, model: ClassifierConfig) {
    let dir = root.join(name);
    let vs = VarStore::new(Device::Cpu);
    let _net = InceptionV3::new(&vs.root(), &model).expect("valid preset");
    cxr::nn::layers::fill_from_names(&vs);
    save(
        &dir,
        &vs,
        &TrainConfig {
            model: model.clone(),
            ..Default::default()
        },
    );
    let torch = cxr::classifier::Classifier::load(&dir, Device::Cpu).expect("the run loads");
    let pure = cxr::infer::Classifier::load(&dir).expect("the run loads");
    let size = model.input_size as u32;
    let imgs: Vec<GrayImage> = (0..8)
        .map(|i| {
            GrayImage::from_fn(size + 40, size + 20, |x, y| {
                image::Luma([((x * 7 + y * 3 + i) % 251) as u8])
            })
        })
        .collect();
    let masks: Vec<LungMask> = imgs
        .iter()
        .map(|m| LungMask::from_fn(m.width(), m.height(), |x, _| x % 50 > 10))
        .collect();
    let pairs: Vec<(&GrayImage, &LungMask)> = imgs.iter().zip(&masks).collect();
    let mut g = c.benchmark_group(format!("infer_classifier_{name}"));
    g.sample_size(10);
    for b in [1usize, 8] {
        g.throughput(Throughput::Elements(b as u64));
        g.bench_with_input(BenchmarkId::new("libtorch", b), &b, |bch, &b| {
            bch.iter(|| torch.predict_batch(&pairs[..b]).expect("prediction"))
        });
        g.bench_with_input(BenchmarkId::new("candle", b), &b, |bch, &b| {
            bch.iter(|| pure.predict_batch(&pairs[..b]).expect("prediction"))
        });
    }
    g.finish();
}

fn infer(c: &mut Criterion) {
    let n = threads();
    tch::set_num_threads(n as i32);
    // candle's kernels run on rayon's global pool.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    let d = tempfile::tempdir().expect("temporary folder");
    segmenter(c, &d.path().join("seg"));
    classifier(c, d.path(), "128", ClassifierConfig::small());
    classifier(
        c,
        d.path(),
        "299",
        ClassifierConfig {
            aux_logits: false,
            ..ClassifierConfig::v3_299()
        },
    );
}

criterion_group!(benches, infer);
criterion_main!(benches);
