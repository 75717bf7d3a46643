//! CUDA path of the classifier (`--features cuda-tests`, on a GPU machine; never in CI):
//! the full-size Inception v3 gives the CPU's outputs on CUDA, in fp32 and under fp16
//! autocast; training on CUDA (fp16 autocast, loss scaling, channels-last: the defaults
//! there) learns; its run folder loads on the CPU and on CUDA with the same predictions
//! and saliency maps.

#![cfg(feature = "cuda-tests")]

use cxr_classifier::data::{Example, examples_with_mask_column};
use cxr_classifier::saliency::{Method, saliency};
use cxr_classifier::{Classifier, ClassifierConfig, InceptionV3, TrainConfig, train};
use cxr_core::SourceId;
use cxr_nn::{AugmentConfig, Precision, autocast};
use cxr_synth::{CohortPlan, SynthConfig, plan_cases, write_cohort};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn cuda() -> Device {
    assert!(
        tch::Cuda::is_available(),
        "cuda-tests need a CUDA device (and torch_cuda linked)"
    );
    Device::Cuda(0)
}

/// Largest |a − b| over the largest |a|.
fn rel_max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_device(Device::Cpu).to_kind(Kind::Double);
    let b = b.to_device(Device::Cpu).to_kind(Kind::Double);
    let d = (&a - &b).abs().max().double_value(&[]);
    d / a.abs().max().double_value(&[]).max(1e-12)
}

/// The full-size network, built twice from one seed (CPU and `device`), in `kind`.
fn twin_nets(device: Device, kind: Kind) -> [(VarStore, InceptionV3); 2] {
    // No dropout: train-mode outputs would differ by the random masks alone.
    let cfg = ClassifierConfig {
        dropout: 0.0,
        ..ClassifierConfig::v3_299()
    };
    tch::manual_seed(0);
    let mut cpu_vs = VarStore::new(Device::Cpu);
    let cpu_net = InceptionV3::new(&cpu_vs.root(), &cfg).unwrap();
    let mut gpu_vs = VarStore::new(device);
    let gpu_net = InceptionV3::new(&gpu_vs.root(), &cfg).unwrap();
    gpu_vs.copy(&cpu_vs).unwrap();
    if kind == Kind::Double {
        cpu_vs.double();
        gpu_vs.double();
    }
    [(cpu_vs, cpu_net), (gpu_vs, gpu_net)]
}

#[test]
fn full_size_inception_v3_gives_the_cpus_outputs_on_cuda() {
    let device = cuda();
    // float64 first: no TF32 and no reduced precision anywhere, so any difference is a
    // bug in the CUDA path (layout, batch statistics, folding), not rounding.
    let [(_a, mut cpu), (_b, mut gpu)] = twin_nets(device, Kind::Double);
    let x = Tensor::rand([4, 1, 299, 299], (Kind::Double, Device::Cpu));
    let xg = x.to_device(device);
    let (a, b) = (cpu.forward_all(&x, true), gpu.forward_all(&xg, true));
    let train = rel_max_diff(&a.logits, &b.logits);
    let aux = rel_max_diff(a.aux.as_ref().unwrap(), b.aux.as_ref().unwrap());
    let _g = tch::no_grad_guard();
    let eval = rel_max_diff(
        &cpu.forward_all(&x, false).logits,
        &gpu.forward_all(&xg, false).logits,
    );
    cpu.fold_batchnorm();
    gpu.fold_batchnorm();
    let folded = rel_max_diff(
        &cpu.forward_all(&x, false).logits,
        &gpu.forward_all(&xg, false).logits,
    );
    println!(
        "Inception v3 299 float64, CPU vs {device:?} (relative max |Δlogit|): train {train:.2e}, \
         aux {aux:.2e}, eval {eval:.2e}, folded {folded:.2e}"
    );
    for (what, d) in [
        ("train", train),
        ("aux", aux),
        ("eval", eval),
        ("folded", folded),
    ] {
        assert!(d < 1e-8, "float64 {what}: {d:e}");
    }

    // float32 as `Classifier` runs it (cuDNN may use TF32 for convolutions, libtorch's
    // default), and fp16 autocast, against the CPU's float32.
    let [(_a, mut cpu), (_b, mut gpu)] = twin_nets(device, Kind::Float);
    cpu.fold_batchnorm();
    gpu.fold_batchnorm();
    let x = x.to_kind(Kind::Float);
    let xg = x.to_device(device);
    let reference = cpu.forward_all(&x, false).logits;
    let fp32 = rel_max_diff(&reference, &gpu.forward_all(&xg, false).logits);
    let half = autocast(device, Precision::Fp16, || {
        gpu.forward_all(&xg, false).logits
    });
    assert_eq!(half.kind(), Kind::Half, "autocast ran the head in fp16");
    let fp16 = rel_max_diff(&reference, &half);
    println!("float32 folded: {fp32:.2e}; fp16 autocast: {fp16:.2e}");
    assert!(fp32 < 2e-2, "float32: {fp32:e}");
    assert!(fp16 < 3e-2, "fp16 autocast: {fp16:e}");
}

fn cohort(dir: &std::path::Path) -> Vec<Example> {
    let plan = CohortPlan {
        sources: vec![cxr_synth::SourcePlan {
            source: SourceId::Qmenta,
            healthy: 90,
            covid: 90,
            bacterial: 90,
            images_per_patient: 1.0,
        }],
    };
    let synth = SynthConfig::with_size(128);
    let cases = plan_cases(&plan, &synth, 7).unwrap();
    let files = write_cohort(&dir.join("cohort"), &cases, &synth, None).unwrap();
    let records = cxr_core::manifest::read_records(&files.records_csv).unwrap();
    let (examples, bad) = examples_with_mask_column(&records, &dir.join("cohort"));
    assert!(bad.is_empty());
    examples
}

#[test]
fn training_on_cuda_learns_and_its_run_loads_on_either_device() {
    let device = cuda();
    let dir = tempfile::tempdir().unwrap();
    let examples = cohort(dir.path());
    let config = TrainConfig {
        model: ClassifierConfig::tiny(299),
        epochs: 20,
        batch_size: 16,
        learning_rate: 3e-3,
        min_lr_fraction: 0.1,
        augment: AugmentConfig::none(),
        workers: 4,
        validation_fraction: 0.25,
        patience: 100,
        ..TrainConfig::cpu_small()
    };
    // The defaults on CUDA: fp16 autocast with loss scaling, channels-last.
    assert_eq!(config.precision, Precision::Auto);
    assert!(config.precision.mixed_on(device) && config.channels_last);
    let run = dir.path().join("run");
    let s = train(&run, &examples, &config, device, false).unwrap();
    let first = &s.epochs[0];
    let last = s.epochs.last().unwrap();
    let best_acc = s.epochs.iter().map(|e| e.val_accuracy).fold(0.0, f64::max);
    println!(
        "training on {device:?} (fp16 autocast, channels-last): train loss {:.4} → {:.4}, \
         validation accuracy {:.3} → {:.3} (best {best_acc:.3}), {:.2} s/epoch after the first",
        first.train_loss,
        last.train_loss,
        first.val_accuracy,
        last.val_accuracy,
        s.epochs[1..].iter().map(|e| e.seconds).sum::<f64>() / (s.epochs.len() - 1) as f64
    );
    assert!(s.epochs.iter().all(|e| e.train_loss.is_finite()));
    assert!(last.train_loss < 0.5 * first.train_loss);
    // Three balanced classes: chance is 1/3.
    assert!(best_acc > 0.7, "best validation accuracy {best_acc}");

    let on_cpu = Classifier::load(&run, Device::Cpu).unwrap();
    let on_gpu = Classifier::load(&run, device).unwrap();

    // The trained weights in float64 on both devices agree to rounding, so what differs
    // in float32 below is float32 arithmetic (cuDNN's TF32 kernels among it), not the
    // CUDA path or the saved weights.
    let load64 = |dev: Device| {
        let mut vs = VarStore::new(dev);
        let net = InceptionV3::new(&vs.root(), &config.model).unwrap();
        vs.load(run.join("best.safetensors")).unwrap();
        vs.double();
        (vs, net)
    };
    let inputs: Vec<Tensor> = s
        .validation
        .iter()
        .map(|&i| {
            let (img, mask) = examples[i].load().unwrap();
            on_cpu.input(&img, &mask).unwrap()
        })
        .collect();
    let x = Tensor::cat(&inputs, 0).to_kind(Kind::Double);
    let ((_a, cpu64), (_b, gpu64)) = (load64(Device::Cpu), load64(device));
    let d64 = tch::no_grad(|| {
        rel_max_diff(
            &cpu64.forward_all(&x, false).logits,
            &gpu64.forward_all(&x.to_device(device), false).logits,
        )
    });
    println!("trained weights in float64, CPU vs {device:?}: relative max |Δlogit| {d64:.2e}");
    assert!(d64 < 1e-9, "float64: {d64:e}");
    let mut worst = 0f32;
    for ex in &s.validation {
        let (img, mask) = examples[*ex].load().unwrap();
        let p = on_cpu.predict(&img, &mask).unwrap();
        let q = on_gpu.predict(&img, &mask).unwrap();
        worst = p
            .iter()
            .zip(&q)
            .map(|(a, b)| (a - b).abs())
            .fold(worst, f32::max);
    }
    println!("best.safetensors on the CPU vs {device:?}: max |Δp| {worst:.2e}");
    // 5.4e-4 on the H100 of 2026-11-26.
    assert!(worst < 5e-3, "probabilities differ by {worst}");

    let (img, mask) = examples[s.validation[0]].load().unwrap();
    let p = on_cpu.predict(&img, &mask).unwrap();
    let class = (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best });
    // Grad-CAM's ReLU of an 8 × 8 map turns cells on or off on small differences, hence
    // its lower bar; both maps come from the same float64-exact network.
    for (method, bar) in [(Method::Vanilla, 0.95), (Method::GradCam, 0.9)] {
        let a = saliency(&on_cpu, &img, &mask, class, method).unwrap();
        let b = saliency(&on_gpu, &img, &mask, class, method).unwrap();
        assert!(
            a.values.iter().any(|&v| v > 0.0),
            "{method:?}: an all-zero map"
        );
        let r = correlation(&a.values, &b.values);
        println!(
            "{} saliency, CPU vs {device:?}: correlation {r:.5}",
            method.name()
        );
        assert!(r > bar, "{method:?}: correlation {r}");
    }
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}
