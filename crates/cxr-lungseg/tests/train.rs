//! The segmenter trains on phantoms, resumes from `last`, and segments unseen images.

use std::sync::Arc;

use cxr_core::{Label, SourceId};
use cxr_lungseg::train::{EpochMetrics, TrainState};
use cxr_lungseg::{InMemory, SegTrainConfig, Segmenter, SegmenterConfig, train};
use cxr_nn::AugmentConfig;
use cxr_nn::checkpoint::{read_json, read_jsonl, write_json};
use cxr_synth::{CaseSpec, SynthConfig, render};
use tch::Device;

const SOURCES: [SourceId; 4] = [
    SourceId::Padchest,
    SourceId::Qmenta,
    SourceId::Coviddsl,
    SourceId::NlmTb,
];

fn phantoms(n: u64, offset: u64, size: u32) -> InMemory {
    let config = SynthConfig::with_size(size);
    InMemory(
        (0..n)
            .map(|i| {
                let p = render(
                    &CaseSpec::single(
                        offset + i,
                        Label::ALL[(i % 3) as usize],
                        SOURCES[(i % 4) as usize],
                    ),
                    &config,
                );
                let labels = p.lungs().to_binary();
                (p.image, labels)
            })
            .collect(),
    )
}

fn config(epochs: usize) -> SegTrainConfig {
    SegTrainConfig {
        model: SegmenterConfig::tiny(64),
        epochs,
        batch_size: 8,
        learning_rate: 3e-3,
        patience: 10,
        workers: 2,
        seed: 7,
        augment: AugmentConfig::paper(),
        average_last: 0,
        ..SegTrainConfig::default()
    }
}

#[test]
fn trains_to_a_good_dice_resumes_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let pairs = Arc::new(phantoms(64, 0, 64));
    let summary = train(&run, pairs.clone(), &config(16), Device::Cpu, false).unwrap();
    assert_eq!(summary.epochs.len(), 16);
    // Phantoms drawn in memory are no files: nothing to record.
    assert_eq!(cxr_lungseg::training_images::read(&run).unwrap(), None);
    eprintln!(
        "best validation Dice {:.4} after {} epochs",
        summary.best_dice,
        summary.epochs.len()
    );
    assert!(
        summary.best_dice > 0.90,
        "best validation Dice {}",
        summary.best_dice
    );
    assert!(summary.epochs.last().unwrap().train_loss < summary.epochs[0].train_loss);
    let log: Vec<EpochMetrics> = read_jsonl(&run.join("metrics.jsonl")).unwrap();
    assert_eq!(log.len(), 16);

    // A finished run does nothing more; a run stopped after epoch 13 resumes at 13.
    assert!(
        train(&run, pairs.clone(), &config(16), Device::Cpu, false)
            .unwrap()
            .epochs
            .is_empty()
    );
    let mut state: TrainState = read_json(&run.join("last.json")).unwrap();
    state.epochs_done = 13;
    state.finished = false;
    write_json(&run.join("last.json"), &state).unwrap();
    let resumed = train(&run, pairs.clone(), &config(16), Device::Cpu, false).unwrap();
    assert_eq!(
        resumed.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [13, 14, 15]
    );
    // Another configuration in the same folder is refused.
    assert!(train(&run, pairs, &config(17), Device::Cpu, false).is_err());

    // Inference on unseen phantoms at another resolution (96 px, resized to 64 and back).
    let seg = Segmenter::load(&run, Device::Cpu).unwrap();
    let unseen = phantoms(6, 1000, 96);
    let mut dice_sum = 0.0;
    for (img, labels) in &unseen.0 {
        let p = seg.probabilities(img).unwrap();
        assert_eq!(p, seg.probabilities(img).unwrap(), "deterministic");
        let (mut inter, mut a, mut b) = (0.0, 0.0, 0.0);
        for (pv, &l) in p.iter().zip(labels) {
            let pred = f64::from(u8::from(*pv >= 0.5));
            inter += pred * f64::from(l);
            a += pred;
            b += f64::from(l);
        }
        dice_sum += 2.0 * inter / (a + b);
    }
    let dice = dice_sum / 6.0;
    assert!(dice > 0.85, "unseen Dice {dice}");

    // A folder: two phantoms of different sizes and a broken file.
    let input = dir.path().join("input");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    cxr_core::save_png(&input.join("a.png"), &unseen.0[0].0).unwrap();
    cxr_core::save_png(&input.join("sub/b.png"), &phantoms(1, 2000, 80).0[0].0).unwrap();
    std::fs::write(input.join("broken.png"), b"not a png").unwrap();
    let out = dir.path().join("out");
    let rows = cxr_lungseg::segment_dir(
        &seg,
        &input,
        &out,
        &Default::default(),
        &Default::default(),
        Some(gray_overlay),
        None,
    )
    .unwrap();
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.image.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("a.png", "ok"),
            ("broken.png", "error"),
            ("sub/b.png", "ok")
        ]
    );
    assert!(rows[1].reason.contains("broken.png"), "{}", rows[1].reason);
    // Each verdict says whether it is near the cut, by the gate's one rule; an error none.
    let paper = cxr_lungseg::qc::QcOptions::default();
    for r in [&rows[0], &rows[2]] {
        let q = cxr_lungseg::qc::LungQc::judged(
            r.lungs_found.unwrap(),
            r.lung_fraction.unwrap(),
            &paper,
        );
        assert_eq!(r.near_cut, Some(q.near_cut(&paper)), "{r:?}");
    }
    assert_eq!(rows[1].near_cut, None);
    let mask = cxr_core::LungMask::load(&out.join("masks/sub/b.png")).unwrap();
    assert_eq!(
        mask.dimensions(),
        (80, 80),
        "masks come back at the input's size"
    );
    assert!(out.join("overlays/a.png").exists());
    let qc = std::fs::read_to_string(out.join("qc.csv")).unwrap();
    assert!(
        qc.starts_with("image,mask,status,lungs_found,lung_fraction,verdict,near_cut,reason\n"),
        "{qc}"
    );
    assert_eq!(qc.lines().count(), 4);
}

/// Real mask folders hold several images per patient: grouped by a name prefix, a
/// patient's images stay on one side of the validation split.
#[test]
fn patients_stay_on_one_side_of_the_validation_split() {
    let dir = tempfile::tempdir().unwrap();
    let (images, masks) = (dir.path().join("images"), dir.path().join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    let img = cxr_core::GrayImage::from_pixel(4, 4, cxr_core::image_io::Luma([9]));
    for p in 0..30 {
        for k in 0..=(p % 3) {
            let name = format!("src_{p}__{k}.png");
            cxr_core::save_png(&images.join(&name), &img).unwrap();
            cxr_core::save_png(&masks.join(&name), &img).unwrap();
        }
    }
    cxr_core::save_png(&images.join("lonely.png"), &img).unwrap();
    cxr_core::save_png(&masks.join("lonely.png"), &img).unwrap();
    let mut set =
        cxr_lungseg::masks::folder_pair(&images, &masks, cxr_lungseg::masks::MaskValues::default())
            .unwrap();
    assert_eq!(set.group_by_name_prefix("__"), 31);
    assert_eq!(set.pairs.last().unwrap().group.as_deref(), Some("src_9"));
    let (train, val) = cxr_lungseg::train::split_by_patient(&set, 0.2, 7);
    assert_eq!(train.len() + val.len(), set.pairs.len());
    let patients = |ix: &[usize]| -> std::collections::BTreeSet<String> {
        ix.iter()
            .map(|&i| set.pairs[i].group.clone().unwrap())
            .collect()
    };
    let (a, b) = (patients(&train), patients(&val));
    assert!(
        a.is_disjoint(&b),
        "{:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    assert_eq!(b.len(), 6); // round(31 × 0.2)
    assert_eq!(
        cxr_lungseg::train::split_by_patient(&set, 0.2, 7),
        (train, val)
    );
}

/// An overlay drawer for `segment_dir` (the tools give `cxr-report`'s): the image alone.
fn gray_overlay(
    img: &cxr_core::GrayImage,
    _right: &cxr_core::LungMask,
    _left: &cxr_core::LungMask,
) -> image::RgbImage {
    image::DynamicImage::ImageLuma8(img.clone()).to_rgb8()
}

/// A run on files records them: path, patient, side of the split, fingerprints.
#[test]
fn a_run_on_files_records_its_training_images() {
    use cxr_lungseg::masks::{MaskValues, folder_pair};
    use cxr_lungseg::training_images::{SegPart, read};
    let dir = tempfile::tempdir().unwrap();
    let (images, masks) = (dir.path().join("images"), dir.path().join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    for (i, (image, labels)) in phantoms(6, 100, 64).0.into_iter().enumerate() {
        let name = format!("p{}__{i}.png", i / 2);
        image.save(images.join(&name)).unwrap();
        let mask = cxr_core::GrayImage::from_raw(
            64,
            64,
            labels
                .iter()
                .map(|&l| if l == 1 { 255 } else { 0 })
                .collect(),
        )
        .unwrap();
        mask.save(masks.join(&name)).unwrap();
    }
    let mut set = folder_pair(&images, &masks, MaskValues::default()).unwrap();
    assert_eq!(set.group_by_name_prefix("__"), 3);
    let run = dir.path().join("run");
    let summary = train(&run, Arc::new(set), &config(1), Device::Cpu, false).unwrap();
    let recorded = read(&run).unwrap().unwrap();
    assert_eq!(recorded.len(), 6);
    for (i, t) in recorded.iter().enumerate() {
        let path = images.join(format!("p{}__{i}.png", i / 2));
        assert_eq!(t.image, path);
        assert_eq!(t.patient.as_deref(), Some(format!("p{}", i / 2).as_str()));
        let part = if summary.validation.contains(&i) {
            SegPart::Validation
        } else {
            SegPart::Train
        };
        assert_eq!(t.part, part, "{i}");
        let img = cxr_core::load_gray(&path).unwrap();
        let print = cxr_core::fingerprint::Fingerprint::of(&std::fs::read(&path).unwrap(), &img);
        assert_eq!(t.fingerprint, print);
    }
    assert!(recorded.iter().any(|t| t.part == SegPart::Validation));
}
