//! Bad settings and unusable data are typed errors: no panic, no "perfect" Dice from an
//! empty validation set, no checkpoint of an untrained model.

use std::sync::Arc;

use cxr_core::GrayImage;
use cxr_lungseg::postprocess::PostprocessOptions;
use cxr_lungseg::qc::QcOptions;
use cxr_lungseg::train::split_pairs;
use cxr_lungseg::{
    Error, InMemory, LabelledImages, SegTrainConfig, Segmenter, SegmenterConfig, segment_dir,
    segment_image, train,
};
use cxr_nn::AugmentConfig;
use cxr_nn::loader::BoxError;
use tch::Device;

/// A 32×32 image whose left half is lung.
fn pair(i: usize) -> (GrayImage, Vec<u8>) {
    let img = GrayImage::from_fn(32, 32, |x, y| {
        image::Luma([if x < 16 { 60 } else { 200 } + ((x + y + i as u32) % 7) as u8])
    });
    let labels = (0..32 * 32).map(|p| u8::from(p % 32 < 16)).collect();
    (img, labels)
}

fn config() -> SegTrainConfig {
    SegTrainConfig {
        model: SegmenterConfig::tiny(32),
        epochs: 1,
        batch_size: 4,
        workers: 1,
        seed: 3,
        average_last: 0,
        ..SegTrainConfig::default()
    }
}

/// Pairs of which those in `broken` fail to load.
struct Partly {
    n: usize,
    broken: Vec<usize>,
}

impl LabelledImages for Partly {
    fn len(&self) -> usize {
        self.n
    }
    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), BoxError> {
        if self.broken.contains(&i) {
            return Err(format!("pair {i} is unreadable").into());
        }
        Ok(pair(i))
    }
}

#[test]
fn too_few_or_unloadable_pairs_are_errors_and_save_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for n in [0, 1] {
        let run = dir.path().join(format!("few{n}"));
        let pairs = Arc::new(InMemory((0..n).map(pair).collect()));
        let e = train(&run, pairs, &config(), Device::Cpu, false).unwrap_err();
        assert!(matches!(e, Error::NoData { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains(&format!("{n} image/mask pair(s): at least 2")),
            "{e}"
        );
        assert!(!run.join("last.safetensors").exists());
    }

    // Every training pair fails: the epoch has nothing to train on.
    let (train_idx, val_idx) = split_pairs(6, 0.3, config().seed);
    let run = dir.path().join("no-train");
    let pairs = Arc::new(Partly {
        n: 6,
        broken: train_idx.clone(),
    });
    let c = SegTrainConfig {
        validation_fraction: 0.3,
        ..config()
    };
    let e = train(&run, pairs, &c, Device::Cpu, false).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Nn(cxr_nn::Error::NoTrainingSamples { epoch: 0, failed }) if failed == train_idx.len()
        ),
        "{e:?}"
    );
    assert!(!run.join("best.safetensors").exists());

    // Every validation pair fails: no Dice of 1.0 from nothing.
    let run = dir.path().join("no-val");
    let pairs = Arc::new(Partly {
        n: 6,
        broken: val_idx.clone(),
    });
    let e = train(&run, pairs, &c, Device::Cpu, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "no usable data: no validation samples loaded in epoch 0 ({} failed to load)",
            val_idx.len()
        )
    );
    assert!(!run.join("best.safetensors").exists());
}

#[test]
fn bad_augmentation_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = Arc::new(InMemory((0..4).map(pair).collect()));
    for (augment, field) in [
        (
            AugmentConfig {
                mirror: 2.0,
                ..AugmentConfig::paper()
            },
            "augment.mirror",
        ),
        (
            AugmentConfig {
                max_rotate_deg: f32::INFINITY,
                ..AugmentConfig::paper()
            },
            "augment.max_rotate_deg",
        ),
    ] {
        let run = dir.path().join(field);
        let c = SegTrainConfig {
            augment,
            ..config()
        };
        match train(&run, pairs.clone(), &c, Device::Cpu, false) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
        assert!(!run.exists(), "nothing written for {field}");
    }
}

#[test]
fn empty_images_and_bad_gate_options_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let pairs = Arc::new(InMemory((0..4).map(pair).collect()));
    train(&run, pairs, &config(), Device::Cpu, false).unwrap();
    let seg = Segmenter::load(&run, Device::Cpu).unwrap();
    let (post, qc) = (PostprocessOptions::default(), QcOptions::default());

    let empty = GrayImage::new(0, 0);
    assert!(matches!(
        seg.probabilities(&empty),
        Err(Error::EmptyImage {
            width: 0,
            height: 0
        })
    ));
    let e = segment_image(&seg, &GrayImage::new(5, 0), &post, &qc).unwrap_err();
    assert_eq!(e.to_string(), "image is 5×0: nothing to segment");
    assert_eq!(seg.probabilities(&pair(0).0).unwrap().len(), 32 * 32);

    let img = pair(0).0;
    for (bad, field) in [
        (
            QcOptions {
                min_fraction: f32::NAN,
                ..QcOptions::default()
            },
            "min_fraction",
        ),
        (
            QcOptions {
                min_lungs: 3,
                ..QcOptions::default()
            },
            "min_lungs",
        ),
    ] {
        match segment_image(&seg, &img, &post, &bad) {
            Err(Error::Qc(e)) => assert_eq!(e.field, field),
            other => panic!("{other:?}"),
        }
        let out = dir.path().join(format!("out-{field}"));
        let e = segment_dir(&seg, dir.path(), &out, &post, &bad, None, None).unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
        assert!(!out.exists());
    }
    let bad_post = PostprocessOptions {
        threshold: f32::NAN,
        ..PostprocessOptions::default()
    };
    assert!(matches!(
        segment_image(&seg, &img, &bad_post, &qc),
        Err(Error::Postprocess(_))
    ));
}
