//! Importing torchvision-layout ImageNet weights (safetensors) into the paper's
//! masked-input network.

mod common;

use cxr_classifier::{ClassifierConfig, Error, InceptionV3, InputMode, import_torchvision};
use tch::nn::{self};
use tch::{Device, Kind, Tensor};

/// Writes a torchvision-style state dict (with `num_batches_tracked` entries) of
/// hashed weights, leaving out the names in `skip`.
fn write_imagenet(path: &std::path::Path, skip: &[&str]) {
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = InceptionV3::new(&vs.root(), &ClassifierConfig::torchvision_imagenet()).unwrap();
    common::fill_hashed(&vs);
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(n, _)| !skip.contains(&n.as_str()))
        .collect();
    named.push((
        "Conv2d_1a_3x3.bn.num_batches_tracked".into(),
        Tensor::from_slice(&[7i64]),
    ));
    Tensor::write_safetensors(&named, path).unwrap();
}

#[test]
fn gray_model_starts_as_the_imagenet_model_on_gray_images() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inception_v3_imagenet.safetensors");
    write_imagenet(&file, &[]);

    let mut rgb_vs = nn::VarStore::new(Device::Cpu);
    let rgb = InceptionV3::new(&rgb_vs.root(), &ClassifierConfig::torchvision_imagenet()).unwrap();
    let r = import_torchvision(&mut rgb_vs, &file, false).unwrap();
    assert_eq!(r.loaded.len(), rgb_vs.variables().len());
    assert!(r.adapted.is_empty() && r.random.is_empty() && r.dropped.is_empty());

    for (mode, adapted) in [(InputMode::Masked, 1), (InputMode::MaskedWithMask, 1)] {
        let cfg = ClassifierConfig {
            input: mode,
            input_size: 139,
            ..ClassifierConfig::v3_299()
        };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let gray = InceptionV3::new(&vs.root(), &cfg).unwrap();
        let report = import_torchvision(&mut vs, &file, false).unwrap();
        assert_eq!(report.adapted.len(), adapted);
        assert_eq!(report.adapted[0].0, "Conv2d_1a_3x3.conv.weight");
        let random: Vec<&str> = report.random.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            random,
            [
                "AuxLogits.fc.bias",
                "AuxLogits.fc.weight",
                "fc.bias",
                "fc.weight"
            ]
        );
        assert!(report.dropped.is_empty());
        assert_eq!(report.loaded.len(), vs.variables().len() - 5);

        // A gray image replicated to RGB through the ImageNet network gives the same
        // last feature map as the gray image (plus an all-ones mask channel, whose kernel
        // starts at zero) through the adapted network.
        let g = Tensor::rand([1, 1, 139, 139], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let x = match mode {
            InputMode::Masked => g.shallow_clone(),
            _ => Tensor::cat(&[&g, &g.ones_like()], 1),
        };
        let (a, b) = tch::no_grad(|| {
            (
                rgb.forward_all(&g.repeat([1, 3, 1, 1]), false).features,
                gray.forward_all(&x, false).features,
            )
        });
        let err = (&a - &b).abs().max().double_value(&[]);
        let scale = a.abs().max().double_value(&[]);
        assert!(
            scale > 1e-3 && err / scale < 1e-4,
            "{mode:?}: {err} / {scale}"
        );
    }
}

#[test]
fn auxiliary_head_is_dropped_when_unused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.safetensors");
    write_imagenet(&file, &[]);
    let cfg = ClassifierConfig {
        aux_logits: false,
        ..ClassifierConfig::v3_299()
    };
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _net = InceptionV3::new(&vs.root(), &cfg).unwrap();
    let r = import_torchvision(&mut vs, &file, false).unwrap();
    assert!(r.dropped.iter().all(|n| n.starts_with("AuxLogits.")));
    assert_eq!(r.dropped.len(), 2 * 5 + 2, "{:?}", r.dropped);
    assert_eq!(r.random.len(), 2);
}

#[test]
fn missing_and_misshapen_weights_are_errors_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partial.safetensors");
    write_imagenet(&file, &["Mixed_6c.branch7x7_2.conv.weight"]);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _net = InceptionV3::new(&vs.root(), &ClassifierConfig::v3_299()).unwrap();
    let e = import_torchvision(&mut vs, &file, false).unwrap_err();
    assert!(matches!(e, Error::Weights { .. }));
    let msg = e.to_string();
    assert!(msg.contains("Mixed_6c.branch7x7_2.conv.weight") && msg.contains("partial"));
    // With a random start asked for, the gap is reported instead.
    let r = import_torchvision(&mut vs, &file, true).unwrap();
    assert_eq!(
        r.random
            .iter()
            .filter(|(n, _)| n.starts_with("Mixed_6c"))
            .count(),
        1
    );

    let mut small_vs = nn::VarStore::new(Device::Cpu);
    let _small = InceptionV3::new(&small_vs.root(), &ClassifierConfig::small()).unwrap();
    let msg = import_torchvision(&mut small_vs, &file, true)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("width 1.0"), "{msg}");

    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors").unwrap();
    let msg = import_torchvision(&mut vs, &junk, false)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("junk.safetensors"), "{msg}");
}
