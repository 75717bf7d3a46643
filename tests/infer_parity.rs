//! The pure-Rust networks against libtorch's on the same run folders: every segmenter
//! and classifier preset (1 and 2 input channels, mirror averaging and a temperature),
//! weights drawn per tensor (`cxr_nn::layers::fill_from_names`: batch-norm statistics
//! away from 0 and 1, so that folding is exercised), the same inputs. Segmenter probabilities and class probabilities agree
//! within 1e-4; the whole pipeline (a briefly trained segmenter, so that masks are
//! real) gives the same verdicts and the same masks, pixel for pixel.

use std::path::Path;
use std::sync::Arc;

use cxr::classifier::calibrate::RunTemperature;
use cxr::classifier::{ClassifierConfig, InceptionV3, InputMode, TrainConfig};
use cxr::core::{GrayImage, Label, LungMask, SourceId};
use cxr::lungseg::{DeepLabV3Plus, SegTrainConfig, SegmenterConfig};
use cxr::nn::{Goal, TrainState};
use cxr::synth::{CaseSpec, SynthConfig, render};
use tch::Device;
use tch::nn::VarStore;

/// Tolerance of the acceptance criterion.
const TOL: f32 = 1e-4;

fn save_run(dir: &Path, vs: &VarStore, config: &impl serde::Serialize) {
    std::fs::create_dir_all(dir).unwrap();
    cxr::nn::save_checkpoint(dir, "best", vs, &TrainState::new(1, Goal::Minimize)).unwrap();
    cxr::nn::files::write_json(&dir.join("config.json"), config).unwrap();
}

fn segmenter_run(dir: &Path, model: &SegmenterConfig) {
    let vs = VarStore::new(Device::Cpu);
    let _net = DeepLabV3Plus::new(&vs.root(), model).unwrap();
    cxr::nn::layers::fill_from_names(&vs);
    let config = SegTrainConfig {
        model: model.clone(),
        ..Default::default()
    };
    save_run(dir, &vs, &config);
}

fn classifier_run(dir: &Path, model: &ClassifierConfig, mirror: bool, temperature: Option<f64>) {
    let vs = VarStore::new(Device::Cpu);
    let _net = InceptionV3::new(&vs.root(), model).unwrap();
    cxr::nn::layers::fill_from_names(&vs);
    let config = TrainConfig {
        model: model.clone(),
        mirror_average: mirror,
        ..Default::default()
    };
    save_run(dir, &vs, &config);
    if let Some(t) = temperature {
        let rt = RunTemperature {
            temperature: t,
            nll_before: 1.0,
            nll_after: 0.9,
            images: 10,
            failed: 0,
        };
        cxr::nn::files::write_json(&dir.join("temperature.json"), &rt).unwrap();
    }
}

/// Phantoms of several sizes and shapes: square, wide, tall, and one over 4× the input
/// size (shrunk by block means before resizing).
fn images(size: u32) -> Vec<GrayImage> {
    [
        (size, size),
        (size + 37, size - 11),
        (size - 5, size + 29),
        (4 * size + 40, 4 * size + 8),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(w, h))| {
        let p = render(
            &CaseSpec::single(i as u64, Label::ALL[i % 3], SourceId::CovidIdc),
            &SynthConfig::with_size(w.max(h)),
        );
        image::imageops::resize(&p.image, w, h, image::imageops::FilterType::Triangle)
    })
    .collect()
}

fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn segmenter_presets_agree_with_libtorch() {
    let d = tempfile::tempdir().unwrap();
    for (name, model) in [
        ("tiny", SegmenterConfig::tiny(64)),
        ("cpu_256", SegmenterConfig::cpu_256()),
        ("cpu_320", SegmenterConfig::cpu_320()),
        ("resnet18_256", SegmenterConfig::resnet18_256()),
        ("resnet50_512", SegmenterConfig::resnet50_512()),
    ] {
        let dir = d.path().join(name);
        segmenter_run(&dir, &model);
        for mirror in [false, true] {
            let torch = cxr::lungseg::Segmenter::load(&dir, Device::Cpu)
                .unwrap()
                .with_mirror_average(mirror);
            let pure = cxr::infer::Segmenter::load(&dir)
                .unwrap()
                .with_mirror_average(mirror);
            let imgs = images(model.input_size as u32);
            // The large presets on two images: the point is the network, not the sizes.
            let n = if model.input_size > 256 || model.depth == 50 {
                2
            } else {
                imgs.len()
            };
            for img in &imgs[..n] {
                let (a, b) = (
                    torch.probabilities(img).unwrap(),
                    pure.probabilities(img).unwrap(),
                );
                let w = worst(&a, &b);
                assert!(
                    w < TOL,
                    "{name} mirror {mirror} {:?}: {w}",
                    img.dimensions()
                );
            }
        }
    }
}

#[test]
fn classifier_presets_agree_with_libtorch() {
    let d = tempfile::tempdir().unwrap();
    let two = |mut c: ClassifierConfig| {
        c.input = InputMode::MaskedWithMask;
        c
    };
    for (name, model, mirror, t) in [
        ("tiny", ClassifierConfig::tiny(96), false, None),
        (
            "tiny_mask",
            two(ClassifierConfig::tiny(96)),
            true,
            Some(1.7),
        ),
        ("small", ClassifierConfig::small(), true, Some(0.8)),
        ("small_mask", two(ClassifierConfig::small()), false, None),
        ("v3_299", ClassifierConfig::v3_299(), true, Some(1.3)),
        ("v3_299_mask", two(ClassifierConfig::v3_299()), false, None),
    ] {
        let dir = d.path().join(name);
        classifier_run(&dir, &model, mirror, t);
        let torch = cxr::classifier::Classifier::load(&dir, Device::Cpu).unwrap();
        let pure = cxr::infer::Classifier::load(&dir).unwrap();
        assert_eq!(torch.temperature(), pure.temperature(), "{name}");
        let imgs = images(model.input_size as u32);
        let masks: Vec<LungMask> = imgs
            .iter()
            .map(|i| LungMask::from_fn(i.width(), i.height(), |x, y| (x / 7 + y / 5) % 3 != 0))
            .collect();
        let pairs: Vec<(&GrayImage, &LungMask)> = imgs.iter().zip(&masks).collect();
        let n = if model.width >= 1.0 { 2 } else { pairs.len() };
        let a = torch.predict_batch(&pairs[..n]).unwrap();
        let b = pure.predict_batch(&pairs[..n]).unwrap();
        for (ra, rb) in a.iter().zip(&b) {
            let w = worst(ra, rb);
            assert!(w < TOL, "{name}: {ra:?} vs {rb:?}");
            assert!((rb.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}

#[test]
fn pipelines_give_the_same_verdicts_and_masks() {
    let d = tempfile::tempdir().unwrap();
    // A segmenter trained for two epochs on phantoms: masks with real lungs in them.
    let pairs = (0..12u64)
        .map(|i| {
            let p = render(
                &CaseSpec::single(i, Label::ALL[(i % 3) as usize], SourceId::Qmenta),
                &SynthConfig::with_size(64),
            );
            let labels = p.lungs().to_binary();
            (p.image, labels)
        })
        .collect();
    let seg_dir = d.path().join("seg");
    let cfg = SegTrainConfig {
        model: SegmenterConfig::tiny(64),
        epochs: 2,
        batch_size: 4,
        workers: 1,
        average_last: 0,
        ..Default::default()
    };
    cxr::lungseg::train(
        &seg_dir,
        Arc::new(cxr::lungseg::InMemory(pairs)),
        &cfg,
        Device::Cpu,
        false,
    )
    .unwrap();
    let clf_dir = d.path().join("clf");
    let vs = VarStore::new(Device::Cpu);
    let model = ClassifierConfig::tiny(96);
    let _net = InceptionV3::new(&vs.root(), &model).unwrap();
    cxr::nn::layers::fill_from_names(&vs);
    let config = TrainConfig {
        model,
        segmenter: Some(seg_dir.clone()),
        mirror_average: true,
        ..Default::default()
    };
    save_run(&clf_dir, &vs, &config);

    let lenient = cxr::lungseg::qc::QcOptions {
        min_lungs: 0,
        min_fraction: 0.0,
    };
    let mut torch = cxr::classifier::Pipeline::load(&clf_dir, Device::Cpu).unwrap();
    let mut pure = cxr::infer::Pipeline::load(&clf_dir).unwrap();
    let (mut accepted, mut rejected) = (0, 0);
    for qc in [cxr::lungseg::qc::QcOptions::default(), lenient] {
        torch.qc = qc.clone();
        pure.qc = qc;
        for i in 0..20u64 {
            let p = render(
                &CaseSpec::single(100 + i, Label::ALL[(i % 3) as usize], SourceId::CovidIdc),
                &SynthConfig::with_size(64 + 8 * (i as u32 % 5)),
            );
            let (a, b) = (
                torch.run_image(&p.image).unwrap(),
                pure.run_image(&p.image).unwrap(),
            );
            assert_eq!(a.qc.verdict, b.qc.verdict, "image {i}");
            assert_eq!(a.qc.lungs_found, b.qc.lungs_found, "image {i}");
            let differ = a
                .mask
                .to_binary()
                .iter()
                .zip(b.mask.to_binary())
                .filter(|(x, y)| **x != *y)
                .count();
            assert_eq!(differ, 0, "image {i}: {differ} mask pixels differ");
            match (&a.probabilities, &b.probabilities) {
                (Some(pa), Some(pb)) => {
                    assert!(worst(pa, pb) < TOL, "image {i}: {pa:?} vs {pb:?}");
                    accepted += 1;
                }
                (None, None) => rejected += 1,
                other => panic!("image {i}: {other:?}"),
            }
        }
    }
    assert!(accepted > 0, "the lenient gate accepts");
    assert_eq!(
        accepted + rejected,
        40,
        "every run answered alike on both paths"
    );
    // Bytes in, the same answer as the decoded image.
    let p = render(
        &CaseSpec::single(7, Label::Covid, SourceId::CovidIdc),
        &SynthConfig::with_size(80),
    );
    let mut png = Vec::new();
    cxr::core::encode_png(&mut png, &p.image).unwrap();
    assert_eq!(
        pure.run_bytes(&png).unwrap(),
        pure.run_image(&p.image).unwrap()
    );
    let e = pure.run_bytes(b"not an image").unwrap_err();
    assert!(matches!(e, cxr::infer::Error::Input { .. }), "{e:?}");
    // An out-of-range gate is refused by both, as the same lungseg error.
    let bad = cxr::lungseg::qc::QcOptions {
        min_lungs: 2,
        min_fraction: 1.5,
    };
    (torch.qc, pure.qc) = (bad.clone(), bad);
    let (a, b) = (
        torch.run_image(&p.image).unwrap_err(),
        pure.run_image(&p.image).unwrap_err(),
    );
    assert!(
        matches!(b, cxr::infer::Error::Lungseg(cxr::lungseg::Error::Qc(_))),
        "{b:?}"
    );
    assert!(format!("{a:?}").contains("Qc("), "{a:?}");
}

/// Saliency on the pure path against libtorch's: the three methods, every class, one and
/// two input channels. Vanilla and Grad-CAM maps agree within 1e-4 of their maximum
/// (measured: ≤ 3e-6). SmoothGrad's noisy inputs put some ReLU inputs within float
/// rounding of zero, where the two libraries can open different gates: there a pixel's
/// gradient may differ (measured: 6e-3 of the maximum at one pixel, 8e-5 on average), so
/// its bound is 2e-2 at the worst pixel and 1e-3 on average. The share of the map inside
/// the lungs agrees within 1e-3 for all three.
#[test]
fn saliency_maps_agree_with_libtorch() {
    use cxr::classifier::saliency::Method;
    let d = tempfile::tempdir().unwrap();
    let two = |mut c: ClassifierConfig| {
        c.input = InputMode::MaskedWithMask;
        c
    };
    for (name, model) in [
        ("tiny", ClassifierConfig::tiny(96)),
        ("small_mask", two(ClassifierConfig::small())),
    ] {
        let dir = d.path().join(name);
        classifier_run(&dir, &model, false, None);
        let torch = cxr::classifier::Classifier::load(&dir, Device::Cpu).unwrap();
        let pure = cxr::infer::Classifier::load(&dir).unwrap();
        let imgs = images(model.input_size as u32);
        for method in [
            Method::Vanilla,
            Method::SmoothGrad {
                samples: 3,
                noise: 0.15,
            },
            Method::GradCam,
        ] {
            let (bound, mean_bound) = match method {
                Method::SmoothGrad { .. } => (2e-2, 1e-3),
                _ => (1e-4, 1e-4),
            };
            let mut nonzero = 0;
            for (i, img) in imgs.iter().take(2).enumerate() {
                let mask = LungMask::from_fn(img.width(), img.height(), |x, y| {
                    let fx = x as f32 / img.width() as f32;
                    let fy = y as f32 / img.height() as f32;
                    (0.15..0.85).contains(&fx)
                        && (0.2..0.9).contains(&fy)
                        && !(0.45..0.55).contains(&fx)
                });
                for class in 0..Label::COUNT {
                    let a = cxr::classifier::saliency::saliency(&torch, img, &mask, class, method)
                        .unwrap();
                    let b = cxr::infer::saliency(&pure, img, &mask, class, method).unwrap();
                    assert_eq!((a.width, a.height), (b.width, b.height));
                    let max = a.values.iter().copied().fold(0.0f32, f32::max);
                    if max > 0.0 {
                        nonzero += 1;
                    }
                    let at = format!("{name} {method:?} image {i} class {class}");
                    let w = worst(&a.values, &b.values);
                    assert!(w <= bound * max, "{at}: {w} of max {max}");
                    let mean = a
                        .values
                        .iter()
                        .zip(&b.values)
                        .map(|(x, y)| (x - y).abs())
                        .sum::<f32>()
                        / a.values.len() as f32;
                    assert!(mean <= mean_bound * max, "{at}: mean {mean} of max {max}");
                    let (sa, sb) = (a.share_inside(&mask), b.share_inside(&mask));
                    assert!((sa - sb).abs() < 1e-3, "{at}: share {sa} vs {sb}");
                }
            }
            // All-zero maps (Grad-CAM of a class the random network sees nowhere) test
            // nothing: most must have something in them.
            assert!(
                nonzero >= 4,
                "{name} {method:?}: {nonzero} of 6 maps are not zero"
            );
        }
    }
}
