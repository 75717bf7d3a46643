//! Training a tiny classifier on phantoms, then everything that uses a run folder:
//! resuming, loading, prediction, the pipeline (PNG and DICOM input) and saliency.
//! One training run is shared by the tests (a `OnceLock`), so the file stays quick.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cxr_classifier::data::{Example, examples_with_mask_column};
use cxr_classifier::infer::{PredictionRow, predict_examples};
use cxr_classifier::saliency::{Method, saliency};
use cxr_classifier::{Classifier, ClassifierConfig, Pipeline, TrainConfig, train};
use cxr_core::{Label, SourceId};
use cxr_nn::AugmentConfig;
use cxr_synth::{CohortPlan, SynthConfig, plan_cases, write_cohort};
use tch::Device;

struct Fixture {
    run: PathBuf,
    examples: Vec<Example>,
    config: TrainConfig,
    first_loss: f64,
    last_loss: f64,
}

fn config() -> TrainConfig {
    TrainConfig {
        model: ClassifierConfig::tiny(80),
        epochs: 3,
        batch_size: 16,
        learning_rate: 2e-3,
        min_lr_fraction: 0.1,
        augment: AugmentConfig::none(),
        workers: 2,
        validation_fraction: 0.2,
        ..TrainConfig::cpu_small()
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // A `static` is never dropped: a TempDir here would never be removed.
        let dir =
            cxr_synth::fixture::shared_dir(env!("CARGO_TARGET_TMPDIR").as_ref(), "train_infer")
                .unwrap();
        // One class per source style, as in the demo cohort and the paper's data: a tiny
        // network learns it within three epochs whatever the rounding (on one source
        // alone it stays near chance, ln 3, and whether the loss fell was luck).
        let plan = CohortPlan::one_class_per_source(16);
        let synth = SynthConfig::with_size(96);
        let cases = plan_cases(&plan, &synth, 11).unwrap();
        let files = write_cohort(&dir.join("cohort"), &cases, &synth, None).unwrap();
        let records = cxr_core::manifest::read_records(&files.records_csv).unwrap();
        let (examples, bad) = examples_with_mask_column(&records, &dir.join("cohort"));
        assert!(bad.is_empty());
        let run = dir.join("run");
        let config = config();
        let s = train(&run, &examples, &config, Device::Cpu, false).unwrap();
        assert_eq!(s.epochs.len(), 3);
        Fixture {
            run,
            first_loss: s.epochs[0].train_loss,
            last_loss: s.epochs[2].train_loss,
            examples,
            config,
        }
    })
}

#[test]
fn a_run_folder_has_everything_and_training_lowers_the_loss() {
    let f = fixture();
    for name in [
        "config.json",
        "best.safetensors",
        "best.json",
        "last.safetensors",
        "last.json",
        "metrics.jsonl",
        // The CPU preset averages its last epochs: here all three.
        "snapshot-000.safetensors",
        "snapshot-002.safetensors",
        cxr_nn::AVERAGED,
    ] {
        assert!(f.run.join(name).exists(), "{name}");
    }
    let m = cxr_classifier::train::read_metrics(&f.run).unwrap();
    assert_eq!(m.len(), 3);
    // The averaged weights are the mean of the three snapshots.
    let snapshots: Vec<_> = (0..3).map(|e| cxr_nn::snapshot_path(&f.run, e)).collect();
    let check = f.run.join("check.safetensors");
    cxr_nn::average_weights(&snapshots, &check).unwrap();
    assert_eq!(
        std::fs::read(&check).unwrap(),
        std::fs::read(f.run.join(cxr_nn::AVERAGED)).unwrap()
    );
    std::fs::remove_file(&check).unwrap();
    assert!(
        m.iter()
            .all(|e| e.val_loss.is_finite() && e.failed_samples == 0)
    );
    assert!(
        f.last_loss < f.first_loss,
        "{} → {}",
        f.first_loss,
        f.last_loss
    );
    // Same configuration, finished: nothing more to do.
    let again = train(&f.run, &f.examples, &f.config, Device::Cpu, false).unwrap();
    assert!(again.epochs.is_empty());
    // Another configuration in the same folder is refused.
    let other = TrainConfig {
        epochs: 4,
        ..f.config.clone()
    };
    let e = train(&f.run, &f.examples, &other, Device::Cpu, false).unwrap_err();
    assert!(e.to_string().contains("another configuration"), "{e}");
}

#[test]
fn a_stopped_run_resumes_from_last() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    for name in ["config.json", "last.safetensors", "metrics.jsonl"] {
        std::fs::copy(f.run.join(name), dir.path().join(name)).unwrap();
    }
    // Pretend the run stopped after its second epoch.
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.run.join("last.json")).unwrap()).unwrap();
    state["epochs_done"] = 2.into();
    state["finished"] = false.into();
    std::fs::write(dir.path().join("last.json"), state.to_string()).unwrap();
    let s = train(dir.path(), &f.examples, &f.config, Device::Cpu, false).unwrap();
    assert_eq!(s.epochs.len(), 1);
    assert_eq!(s.epochs[0].epoch, 2);
    // The log holds epoch 2 twice (the copied run's, and the resumed one's); it reads
    // once, as the resumed run logged it.
    let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 4);
    let read = cxr_classifier::train::read_metrics(dir.path()).unwrap();
    assert_eq!(read.iter().map(|m| m.epoch).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(read[2], s.epochs[0]);
}

/// With mirror averaging on, a prediction is the mean of the image's and its mirror's.
#[test]
fn mirror_averaging_is_the_mean_of_the_image_and_its_mirror() {
    let f = fixture();
    let mut clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let ex = &f.examples[0];
    let img = cxr_core::load_gray(&ex.image).unwrap();
    // One lung only, so that the image and its mirror differ for the network.
    let (w, h) = img.dimensions();
    let mask = cxr_core::LungMask::from_fn(w, h, |x, _| x < w / 3);
    let img_m = image::imageops::flip_horizontal(&img);
    let mask_m =
        cxr_core::LungMask::from_gray(&image::imageops::flip_horizontal(mask.as_image()), 128);
    let pair = [(&img, &mask), (&img_m, &mask_m)];
    // The network's own probabilities (a temperature rescales the mean).
    clf.set_temperature_scaling(false);
    clf.set_mirror_average(false);
    let single = clf.predict_batch(&pair).unwrap();
    clf.set_mirror_average(true);
    let both = clf.predict_batch(&pair).unwrap();
    // The tiny test network is nearly constant: the views differ in the sixth decimal,
    // so the check is tight (the same batch, so the same kernels and rounding).
    let gap = (0..3)
        .map(|k| (single[0][k] - single[1][k]).abs())
        .fold(0.0_f32, f32::max);
    assert!(gap > 1e-6, "the views must differ: {single:?}");
    for k in 0..3 {
        let mean = (single[0][k] + single[1][k]) / 2.0;
        for view in &both {
            assert!(
                (view[k] - mean).abs() < gap / 10.0,
                "class {k}: {} vs mean {mean} (gap {gap})",
                view[k]
            );
        }
    }
}

/// A run's temperature is applied unless turned off and never changes the predicted
/// class; where the validation images allow no sound fit, none is written (the fit
/// itself is tested in `cxr_classifier::calibrate` and against scipy in `cxr-stats`).
#[test]
fn a_run_temperature_is_applied_unless_turned_off() {
    use cxr_classifier::calibrate::{
        RunTemperature, TEMPERATURE_FILE, calibrate_run, read_temperature, scale_probabilities,
    };
    let f = fixture();
    let (_, validation) = cxr_classifier::data::split_by_patient(
        &f.examples,
        f.config.validation_fraction,
        f.config.seed,
    );
    let val: Vec<Example> = validation.iter().map(|&i| f.examples[i].clone()).collect();
    assert_eq!(val.len(), 9);
    // The tiny network's probabilities barely move between images: their likelihood
    // is lowest at a bound of the search, so training wrote no temperature.
    assert_eq!(read_temperature(&f.run).unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "config.json",
        "best.safetensors",
        "best.json",
        "last.safetensors",
        "last.json",
        cxr_nn::AVERAGED,
    ] {
        std::fs::copy(f.run.join(name), dir.path().join(name)).unwrap();
    }
    let t = RunTemperature {
        temperature: 2.5,
        nll_before: 0.9,
        nll_after: 0.8,
        images: 40,
        failed: 0,
    };
    cxr_nn::checkpoint::write_json(&dir.path().join(TEMPERATURE_FILE), &t).unwrap();
    let mut clf = Classifier::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(clf.temperature(), Some(2.5));
    let on = predict_examples(&clf, &f.examples[..8], 8, None);
    clf.set_temperature_scaling(false);
    assert_eq!(clf.temperature(), None);
    let off = predict_examples(&clf, &f.examples[..8], 8, None);
    let argmax = |p: &[f32]| (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    for (a, b) in on.iter().zip(&off) {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        let expected = scale_probabilities(b, 2.5);
        for k in 0..3 {
            assert!((a[k] - expected[k]).abs() < 1e-6, "{a:?} vs {expected:?}");
        }
        assert_eq!(argmax(a), argmax(b));
    }
    // Refitting on these images finds nothing sound: the stale file goes, and the
    // classifier keeps what it had (turned off here).
    clf.set_temperature_scaling(true);
    assert_eq!(calibrate_run(&mut clf, &val, 4).unwrap(), None);
    assert_eq!(read_temperature(dir.path()).unwrap(), None);
    // A damaged file is an error naming it, not a silent default.
    std::fs::write(
        dir.path().join(TEMPERATURE_FILE),
        r#"{"temperature": -1, "nll_before": 0, "nll_after": 0, "images": 1, "failed": 0}"#,
    )
    .unwrap();
    let e = Classifier::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(e.to_string().contains(TEMPERATURE_FILE), "{e}");
}

#[test]
fn predictions_are_probabilities_and_deterministic() {
    let f = fixture();
    let clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let a = predict_examples(&clf, &f.examples[..10], 4, None);
    let b = predict_examples(&clf, &f.examples[..10], 10, None);
    for (x, y) in a.iter().zip(&b) {
        let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
        assert_eq!(x.len(), 3);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for (p, q) in x.iter().zip(y) {
            assert!((p - q).abs() < 1e-5, "batching changed a prediction");
        }
    }
    // A missing file is an error for that example only.
    let mut broken = f.examples[..3].to_vec();
    broken[1].image = PathBuf::from("/nonexistent/x.png");
    let out = predict_examples(&clf, &broken, 8, None);
    assert!(out[0].is_ok() && out[2].is_ok());
    let msg = out[1].as_ref().unwrap_err().to_string();
    assert!(msg.contains("/nonexistent/x.png"), "{msg}");
}

fn tiny_segmenter(dir: &Path) -> cxr_lungseg::Segmenter {
    let pairs: Vec<_> = (0..8u64)
        .map(|i| {
            let case =
                cxr_synth::CaseSpec::single(i, Label::ALL[(i % 3) as usize], SourceId::Qmenta);
            let p = cxr_synth::render(&case, &SynthConfig::with_size(64));
            let labels = p.lungs().to_binary();
            (p.image, labels)
        })
        .collect();
    let cfg = cxr_lungseg::SegTrainConfig {
        model: cxr_lungseg::SegmenterConfig::tiny(64),
        epochs: 1,
        batch_size: 4,
        workers: 1,
        average_last: 0,
        ..Default::default()
    };
    cxr_lungseg::train(
        dir,
        Arc::new(cxr_lungseg::InMemory(pairs)),
        &cfg,
        Device::Cpu,
        false,
    )
    .unwrap();
    cxr_lungseg::Segmenter::load(dir, Device::Cpu).unwrap()
}

#[test]
fn the_pipeline_segments_gates_and_classifies_png_and_dicom() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let seg = tiny_segmenter(dir.path());
    let mut p = Pipeline::new(seg, Classifier::load(&f.run, Device::Cpu).unwrap());
    // A gate that lets everything through: probabilities must be the classifier's on
    // the pipeline's own mask.
    p.qc = cxr_lungseg::qc::QcOptions {
        min_lungs: 0,
        min_fraction: 0.0,
    };
    let out = p.run(&f.examples[0].image).unwrap();
    assert!(out.qc.verdict.is_accept());
    let img = cxr_classifier::data::load_image(&f.examples[0].image).unwrap();
    assert_eq!(out.mask.dimensions(), img.dimensions());
    let direct = p.classifier.predict(&img, &out.mask).unwrap();
    assert_eq!(out.probabilities.as_deref(), Some(direct.as_slice()));
    assert_eq!(
        p.run(&f.examples[0].image).unwrap(),
        out,
        "not deterministic"
    );

    let dcm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cxr-dicom/tests/fixtures/big_endian.dcm");
    let d = p.run(&dcm).unwrap();
    assert_eq!(d.probabilities.map(|v| v.len()), Some(3));

    // An impossible gate rejects: no probabilities, the reason kept.
    p.qc.min_fraction = 1.0;
    let r = p.run(&f.examples[0].image).unwrap();
    assert!(r.probabilities.is_none() && !r.qc.verdict.is_accept());

    let e = p
        .run(Path::new("/nonexistent/y.png"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/y.png"), "{e}");
}

#[test]
fn vanilla_saliency_is_the_input_gradient() {
    let f = fixture();
    let clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let (img, mask) = f.examples[5].load().unwrap();
    // Resize to the model's size so that the map's pixels are the input's.
    let s = clf.config().model.input_size as u32;
    let img = image::imageops::resize(&img, s, s, image::imageops::FilterType::Triangle);
    let mask = cxr_core::LungMask::from_gray(
        &image::imageops::resize(mask.as_image(), s, s, image::imageops::FilterType::Nearest),
        128,
    );
    let class = Label::Covid.index();
    let map = saliency(&clf, &img, &mask, class, Method::Vanilla).unwrap();
    assert_eq!((map.width, map.height), (s, s));
    // Finite differences need float64: the tiny network's per-pixel gradients (~1e-5) are
    // below float32 resolution of its logits. Same weights, converted.
    let mut vs = tch::nn::VarStore::new(Device::Cpu);
    let net64 = cxr_classifier::InceptionV3::new(&vs.root(), &clf.config().model).unwrap();
    // The weights the classifier predicts with (this run averages its epochs).
    assert!(f.run.join(cxr_nn::AVERAGED).exists());
    let _: cxr_nn::TrainState = cxr_nn::load_for_inference(&f.run, &mut vs).unwrap();
    vs.double();
    let x = clf.input(&img, &mask).unwrap().to_kind(tch::Kind::Double);
    let score = |x: &tch::Tensor| {
        tch::no_grad(|| {
            net64
                .forward_all(x, false)
                .logits
                .double_value(&[0, class as i64])
        })
    };
    // Central differences at the most salient pixels where the network is smooth: a
    // pixel at a kink (a max-pool tie among masked-out zeros, a ReLU at 0) has left and
    // right derivatives that differ, and there the gradient is one of them, not their
    // mean; those are recognised by their one-sided differences and skipped.
    let mut order: Vec<usize> = (0..map.values.len()).collect();
    order.sort_by(|a, b| map.values[*b].total_cmp(&map.values[*a]));
    let mut checked = 0;
    for &i in &order[..40] {
        let (py, px) = ((i as u32 / s) as i64, (i as u32 % s) as i64);
        let eps = 1e-6;
        let bump = |d: f64| {
            let y = x.copy();
            let _ = y
                .get(0)
                .get(0)
                .get(py)
                .get(px)
                .fill_(x.double_value(&[0, 0, py, px]) + d);
            y
        };
        let (up, mid, down) = (score(&bump(eps)), score(&x), score(&bump(-eps)));
        let (right, left) = ((up - mid) / eps, (mid - down) / eps);
        if (right - left).abs() > 0.01 * right.abs().max(left.abs()) {
            continue;
        }
        let fd = (up - down) / (2.0 * eps);
        let g = f64::from(map.values[i]);
        assert!(g > 0.0);
        assert!(
            ((fd.abs() - g) / g).abs() < 0.05,
            "pixel {i}: |fd| {} vs {g}",
            fd.abs()
        );
        checked += 1;
        if checked == 3 {
            break;
        }
    }
    assert_eq!(checked, 3, "three smooth pixels among the 40 most salient");
}

#[test]
fn smoothgrad_and_gradcam_are_deterministic_maps_at_image_size() {
    let f = fixture();
    let clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let (img, mask) = f.examples[7].load().unwrap();
    for method in [
        Method::SmoothGrad {
            samples: 4,
            noise: 0.15,
        },
        Method::GradCam,
    ] {
        let a = saliency(&clf, &img, &mask, 1, method).unwrap();
        let b = saliency(&clf, &img, &mask, 1, method).unwrap();
        assert_eq!(a, b, "{method:?}");
        assert_eq!((a.width, a.height), img.dimensions());
        assert!(a.values.iter().all(|v| *v >= 0.0));
        let share = a.share_inside(&mask);
        assert!((0.0..=1.0).contains(&share));
    }
}

#[test]
fn out_of_range_classes_and_probability_vectors_are_errors() {
    let f = fixture();
    let clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let (img, mask) = f.examples[3].load().unwrap();
    for method in [Method::Vanilla, Method::GradCam] {
        let e = saliency(&clf, &img, &mask, 3, method).unwrap_err();
        assert_eq!(
            e.to_string(),
            "class 3 does not fit the 3 classes (healthy, covid, bacterial)"
        );
    }
    assert!(saliency(&clf, &img, &mask, usize::MAX, Method::Vanilla).is_err());
    // SmoothGrad with no copies used to run one silently; a bad noise level is refused.
    for (samples, noise, field) in [
        (0, 0.15, "samples"),
        (4, f64::NAN, "noise"),
        (4, -0.1, "noise"),
    ] {
        let e = saliency(&clf, &img, &mask, 1, Method::SmoothGrad { samples, noise }).unwrap_err();
        assert!(
            matches!(&e, cxr_classifier::Error::InvalidConfig { field: f, .. } if *f == field),
            "{e}"
        );
    }

    let record = cxr_core::ImageRecord::new(
        cxr_core::PatientId::new(SourceId::Qmenta, "P1"),
        "a",
        "a.png",
        Label::Covid,
        "test",
        cxr_core::View::Pa,
    );
    let row = PredictionRow::new(&record, &[0.2, 0.6, 0.2]).unwrap();
    assert_eq!((row.p_covid, row.label.as_str()), (0.6, "covid"));
    for p in [&[0.5, 0.5][..], &[0.25; 4][..]] {
        let e = PredictionRow::new(&record, p).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} probabilities for a.png does not fit the 3 classes (healthy, covid, bacterial)",
                p.len()
            )
        );
        assert!(PredictionRow::unlabelled(Path::new("b.png"), p).is_err());
    }

    // A run whose network does not have the three classes is refused at load.
    let dir = tempfile::tempdir().unwrap();
    for name in ["best.safetensors", "best.json"] {
        std::fs::copy(f.run.join(name), dir.path().join(name)).unwrap();
    }
    let mut config = f.config.clone();
    config.model.num_classes = 4;
    cxr_nn::checkpoint::write_json(&dir.path().join("config.json"), &config).unwrap();
    match Classifier::load(dir.path(), Device::Cpu) {
        Err(cxr_classifier::Error::InvalidConfig { field, .. }) => assert_eq!(field, "num_classes"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_usable_training_or_validation_data_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        epochs: 1,
        input_cache: false,
        ..config()
    };
    // Two classes, or a bad augmentation: refused before anything is written.
    for (bad, field) in [
        (
            TrainConfig {
                model: ClassifierConfig {
                    num_classes: 2,
                    ..ClassifierConfig::tiny(80)
                },
                ..c.clone()
            },
            "num_classes",
        ),
        (
            TrainConfig {
                augment: AugmentConfig {
                    mirror: f64::NAN,
                    ..AugmentConfig::paper()
                },
                ..c.clone()
            },
            "augment.mirror",
        ),
    ] {
        let run = dir.path().join(field);
        match train(&run, &[], &bad, Device::Cpu, false) {
            Err(cxr_classifier::Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
        assert!(!run.exists());
    }

    let e = train(&dir.path().join("empty"), &[], &c, Device::Cpu, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no usable data: no training examples (0 given, 0 held out for validation)"
    );

    let f = fixture();
    let missing = |ex: &Example| Example {
        image: PathBuf::from("/nonexistent").join(&ex.image_id),
        ..ex.clone()
    };
    // Every training image is missing: no epoch with a loss of 0.
    let gone: Vec<Example> = f.examples[..8].iter().map(missing).collect();
    let run = dir.path().join("gone");
    let e = cxr_classifier::train_with_validation(
        &run,
        &gone,
        &f.examples[8..12],
        &c,
        Device::Cpu,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no training samples loaded in epoch 0 (8 failed to load)"
    );
    assert!(!run.join("last.safetensors").exists());
    // Every validation image is missing.
    let run = dir.path().join("no-val");
    let e = cxr_classifier::train_with_validation(
        &run,
        &f.examples[..8],
        &gone[..4],
        &c,
        Device::Cpu,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no usable data: no validation samples loaded in epoch 0"
    );
    assert!(!run.join("last.safetensors").exists());
}

/// A manifest predicted in one pass (each image decoded once: segmented, gated and
/// classified from memory) gives exactly the rows of the two-step path (masks written,
/// then read back with the image), and again when the masks come from the cache.
#[test]
fn a_manifest_predicted_in_one_pass_matches_the_two_step_path() {
    use cxr_classifier::data::{Masks, cached_paths, examples_for_records, segment_record};
    use cxr_classifier::infer::{predict_manifest, predict_records};
    let f = fixture();
    let records = cxr_core::manifest::read_records(
        &f.run.parent().unwrap().join("cohort").join("records.csv"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seg = tiny_segmenter(&dir.path().join("seg"));
    let clf = Classifier::load(&f.run, Device::Cpu).unwrap();
    let post = cxr_lungseg::postprocess::PostprocessOptions::default();
    // Everything through, so that every image is classified.
    let open = cxr_lungseg::qc::QcOptions {
        min_lungs: 0,
        min_fraction: 0.0,
    };
    let caches: Vec<PathBuf> = ["a", "b", "c"].iter().map(|c| dir.path().join(c)).collect();
    let masks = |i: usize, qc| Masks::Segmenter {
        segmenter: &seg,
        cache: &caches[i],
        post: &post,
        qc,
    };
    let (one_pass, rejected) = predict_manifest(&clf, &records, masks(0, &open), 5, None).unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(one_pass.len(), records.len());

    let (examples, rejected) = examples_for_records(&records, masks(1, &open), None);
    assert!(rejected.is_empty());
    let (two_step, failed) = predict_records(&clf, &examples, &records, 5, None).unwrap();
    assert!(failed.is_empty());
    assert_eq!(one_pass, two_step);

    let (cached, _) = predict_manifest(&clf, &records, masks(0, &open), 5, None).unwrap();
    assert_eq!(cached, one_pass);

    // The cache answers for the gate asked now, not for the one it was made under.
    let shut = cxr_lungseg::qc::QcOptions {
        min_lungs: 2,
        min_fraction: 1.0,
    };
    let (rows, rejected) = predict_manifest(&clf, &records, masks(0, &shut), 5, None).unwrap();
    assert!(rows.is_empty());
    assert_eq!(rejected.len(), records.len());
    // A mask another segmenter made (here the same weights averaged with the mirror
    // image) is made again, and then kept.
    let mirrored = cxr_lungseg::Segmenter::load(&dir.path().join("seg"), Device::Cpu)
        .unwrap()
        .with_mirror_average(true);
    let seg_cache = |c: &Path| segment_record(&records[0], &mirrored, c, &post, &open);
    let fresh = seg_cache(&dir.path().join("d"));
    let again = seg_cache(&caches[0]);
    assert!(
        again.decoded.is_some(),
        "the first segmenter's mask was taken"
    );
    assert_eq!(again.qc, fresh.qc);
    assert!(seg_cache(&caches[0]).decoded.is_none());
    let mask = |c: &Path| std::fs::read(cached_paths(c, &records[0]).0).unwrap();
    assert_eq!(mask(&caches[0]), mask(&dir.path().join("d")));

    // A gate whose cut lies at the first image's lung share: a row whose share is within
    // a percentage point of it says so in its cautions, a rejection in its detail.
    let share = segment_record(&records[0], &seg, &caches[1], &post, &open)
        .qc
        .unwrap()
        .lung_fraction;
    let at = cxr_lungseg::qc::QcOptions {
        min_lungs: 0,
        min_fraction: share,
    };
    let (rows, rejected) = predict_manifest(&clf, &records, masks(1, &at), 5, None).unwrap();
    assert_eq!(rows.len() + rejected.len(), records.len());
    let near: Vec<&str> = records
        .iter()
        .filter(|r| {
            let q = segment_record(r, &seg, &caches[1], &post, &at).qc.unwrap();
            (q.lung_fraction - share).abs() <= 0.01
        })
        .map(|r| r.image_id.as_str())
        .collect();
    assert!(near.contains(&records[0].image_id.as_str()));
    let mut flagged: Vec<&str> = rows
        .iter()
        .filter(|r| r.cautions == "lungs_near_cut")
        .map(|r| r.image_id.as_str())
        .chain(
            rejected
                .iter()
                .filter(|r| r.detail.contains("; near the cut"))
                .map(|r| r.image_id.as_str()),
        )
        .collect();
    flagged.sort_unstable();
    let mut expected = near.clone();
    expected.sort_unstable();
    assert_eq!(flagged, expected);
    assert!(
        rows.iter()
            .all(|r| r.cautions.is_empty() || r.cautions == "lungs_near_cut")
    );
    // The two-step path (the experiments') carries the same cautions: the example keeps
    // its verdict's nearness.
    let (examples, _) = examples_for_records(&records, masks(1, &at), None);
    assert_eq!(
        examples.iter().filter(|e| e.near_cut).count(),
        rows.iter().filter(|r| !r.cautions.is_empty()).count()
    );
    let (two_step, _) = predict_records(&clf, &examples, &records, 5, None).unwrap();
    assert_eq!(two_step, rows);

    // The manifest's own masks take the same way through.
    let base = f.run.parent().unwrap().join("cohort");
    let (column, rejected) =
        predict_manifest(&clf, &records, Masks::Column { base: &base }, 5, None).unwrap();
    assert!(rejected.is_empty());
    assert_eq!(column.len(), records.len());
    assert_eq!(column[0].image_id, records[0].image_id);

    // An impossible gate: nothing classified, every image listed with the gate's reason.
    let (rows, rejected) = predict_manifest(&clf, &records, masks(2, &shut), 5, None).unwrap();
    assert!(rows.is_empty());
    assert_eq!(rejected.len(), records.len());
    assert!(
        rejected
            .iter()
            .all(|r| r.reason == "lungs_too_small" || r.reason == "lungs_not_found"),
        "{rejected:?}"
    );
}

/// A probe is the same network with its own classes: it trains, predicts one
/// probability per probe class, and is not mistaken for a diagnosis classifier.
#[test]
fn a_probe_trains_on_its_own_classes_and_loads_only_as_a_probe() {
    use cxr_classifier::probe::train_probe;
    let f = fixture();
    let with_class = |e: &Example| (e.clone(), usize::from(e.source() == "covid-idc"));
    let train: Vec<_> = f.examples[..36].iter().map(with_class).collect();
    let val: Vec<_> = f.examples[36..].iter().map(with_class).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        epochs: 1,
        average_last: 0,
        ..f.config.clone()
    };
    let s = train_probe(dir.path(), &train, &val, 2, &config, Device::Cpu, false).unwrap();
    assert_eq!(s.epochs.len(), 1);
    assert_eq!(
        s.epochs[0].val_auc_covid, None,
        "a probe has no covid-19 class"
    );
    assert!(s.temperature.is_none());
    let written: TrainConfig =
        cxr_nn::checkpoint::read_json(&dir.path().join("config.json")).unwrap();
    assert_eq!(written.model.num_classes, 2);
    let probe = Classifier::load_probe(dir.path(), Device::Cpu).unwrap();
    let p = predict_examples(&probe, &f.examples[..4], 4, None);
    for x in p {
        let x = x.unwrap();
        assert_eq!(x.len(), 2);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let e = Classifier::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("num_classes"), "{e}");
    // Classes out of range are refused before any work.
    let e = train_probe(dir.path(), &train, &val, 1, &config, Device::Cpu, false).unwrap_err();
    assert!(e.to_string().contains("at least two"), "{e}");
    let mut bad = train.clone();
    bad[0].1 = 5;
    let e = train_probe(dir.path(), &bad, &val, 2, &config, Device::Cpu, false).unwrap_err();
    assert!(e.to_string().contains("class 5"), "{e}");
}
