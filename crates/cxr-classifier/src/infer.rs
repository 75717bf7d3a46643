//! Using a trained classifier: [`Classifier`] (a run folder's `best` weights) and
//! [`Pipeline`] (a raw image → lung segmentation → quality gate → class probabilities).
//!
//! Everything here runs in evaluation mode without randomness, so the same input gives
//! the same output. Patient-level aggregation of same-day images is
//! [`cxr_eval::aggregate::aggregate`] with [`Grouping::PatientDay`] (re-exported here).
//!
//! ```no_run
//! use cxr_classifier::infer::Pipeline;
//! use std::path::Path;
//!
//! let pipeline = Pipeline::load(Path::new("runs/classifier"), tch::Device::Cpu).unwrap();
//! let out = pipeline.run(Path::new("patient42.dcm")).unwrap();
//! match out.probabilities {
//!     Some(p) => println!("healthy {:.3} covid {:.3} bacterial {:.3}", p[0], p[1], p[2]),
//!     None => println!("rejected by the lung gate: {}", out.qc.verdict),
//! }
//! ```

use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, LungMask};
use cxr_lungseg::postprocess::PostprocessOptions;
use cxr_lungseg::qc::QcOptions;

pub use crate::run::PipelineOutput;
use cxr_lungseg::{Segmenter, segment_image};
use cxr_nn::layers::{channels_last, weights_channels_last};
use tch::nn::{self};
use tch::{Device, Tensor};

pub use cxr_eval::aggregate::{Grouping, ImagePrediction, UnitPrediction, aggregate};
/// The predictions CSV is declared once, in `cxr-eval`; re-exported for the classifier's users.
pub use cxr_eval::predictions::{PredictionRow, write_predictions};

use crate::batch::{Outcome, with_cautions};
use crate::data::{Rejection, load_image};
use crate::model::{InceptionV3, probabilities};
use crate::preprocess::input_tensor;
use crate::train::{TrainConfig, TrainState};
use crate::{Error, Result};

/// A trained classifier loaded from a run folder.
#[derive(Debug)]
pub struct Classifier {
    net: InceptionV3,
    config: TrainConfig,
    device: Device,
    run_dir: PathBuf,
    /// Inputs and weights in channels-last order (the run's setting, on the CPU).
    channels_last: bool,
    /// The run's temperature ([`crate::calibrate`]), when it has one.
    temperature: Option<f64>,
    /// Whether `temperature` is applied.
    scale: bool,
    _vs: nn::VarStore,
}

impl Classifier {
    /// Loads `run_dir/config.json`, then the run's averaged weights when it averaged its
    /// last epochs ([`TrainConfig::average_last`]), else the `best` weights (else `last`),
    /// and folds the batch norms into the convolutions. On the CPU, when the run trained with
    /// [`TrainConfig::channels_last`] (the default), weights and inputs are kept in
    /// channels-last order, where oneDNN's convolutions run 1.6× faster at batch 8; on
    /// CUDA inference stays row-major (measured at parity with PyTorch there). When the
    /// run has a temperature (`temperature.json`, [`crate::calibrate`]), predictions are
    /// temperature-scaled ([`Classifier::set_temperature_scaling`] turns it off).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the run's settings are out of range (a network
    /// without the three classes, [`TrainConfig::validate`]); JSON, checkpoint and
    /// libtorch errors.
    pub fn load(run_dir: &Path, device: Device) -> Result<Classifier> {
        Classifier::load_run(run_dir, device, false)
    }

    /// Loads a probe's run ([`crate::probe`]): a network with its own classes, predicted
    /// like a classifier's (in the probe's class order), without temperature.
    ///
    /// # Errors
    ///
    /// As [`Classifier::load`], but for the number of classes.
    pub fn load_probe(run_dir: &Path, device: Device) -> Result<Classifier> {
        Classifier::load_run(run_dir, device, true)
    }

    fn load_run(run_dir: &Path, device: Device, probe: bool) -> Result<Classifier> {
        let config: TrainConfig = cxr_nn::checkpoint::read_json(&run_dir.join("config.json"))?;
        if probe {
            config.validate_settings()?;
        } else {
            config.validate()?;
        }
        let mut vs = nn::VarStore::new(device);
        let mut net = InceptionV3::new(&vs.root(), &config.model)?;
        let _: TrainState = cxr_nn::load_for_inference(run_dir, &mut vs)?;
        let channels_last = config.channels_last && device == Device::Cpu;
        if channels_last {
            // Before folding, so that the folded weights inherit the layout.
            weights_channels_last(&vs);
        }
        // Inference only: one convolution per BasicConv2d instead of conv + batch norm.
        net.fold_batchnorm();
        let temperature = if probe {
            None
        } else {
            crate::calibrate::read_temperature(run_dir)?.map(|t| t.temperature)
        };
        Ok(Classifier {
            net,
            config,
            device,
            run_dir: run_dir.to_path_buf(),
            channels_last,
            temperature,
            scale: true,
            _vs: vs,
        })
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The run folder it was loaded from.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The network (for saliency and custom use).
    pub fn net(&self) -> &InceptionV3 {
        &self.net
    }

    /// The device it runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The network input `[1, C, S, S]` for an image and its lung mask (same size).
    pub fn input(&self, img: &GrayImage, mask: &LungMask) -> Result<Tensor> {
        let m = &self.config.model;
        Ok(input_tensor(img, mask, m.input_size as u32, m.input)?.to_device(self.device))
    }

    /// Class probabilities (in [`cxr_core::Label::index`] order) for one image.
    pub fn predict(&self, img: &GrayImage, mask: &LungMask) -> Result<Vec<f32>> {
        Ok(self.predict_batch(&[(img, mask)])?.remove(0))
    }

    /// Class probabilities for several images, run as one batch.
    pub fn predict_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Vec<Vec<f32>>> {
        self.predict_batch_of(pairs, pairs.len())
    }

    /// [`Classifier::predict_batch`] with the batch filled up to `size` images (copies of
    /// the first; their answers dropped), so that each image's probabilities do not depend
    /// on how many others share its batch: oneDNN chooses its kernels by batch size, and
    /// the last bits of a result follow that choice. A batch tool that splits its input
    /// differently between runs (shards, a resumed run) gets the same bytes this way.
    pub fn predict_batch_of(
        &self,
        pairs: &[(&GrayImage, &LungMask)],
        size: usize,
    ) -> Result<Vec<Vec<f32>>> {
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        let mut xs = pairs
            .iter()
            .map(|(i, m)| self.input(i, m))
            .collect::<Result<Vec<_>>>()?;
        let n = pairs.len();
        let fill = xs[0].shallow_clone();
        xs.extend((n..size).map(|_| fill.shallow_clone()));
        let mut x = Tensor::cat(&xs, 0);
        if self.channels_last {
            x = channels_last(&x);
        }
        let logits = tch::no_grad(|| self.net.forward_all(&x, false).logits);
        let mut p = probabilities(&logits);
        p.truncate(n);
        let mirrored = self.config.mirror_average.then(|| {
            // Width is the last dimension of the logical shape in either memory layout.
            let mut xm = x.flip([3]);
            if self.channels_last {
                xm = channels_last(&xm);
            }
            let mirrored = tch::no_grad(|| self.net.forward_all(&xm, false).logits);
            let mut m = probabilities(&mirrored);
            m.truncate(n);
            m
        });
        Ok(crate::run::finish_probabilities(
            p,
            mirrored,
            self.temperature(),
        ))
    }

    /// The temperature applied to predictions: the run's, unless turned off.
    pub fn temperature(&self) -> Option<f64> {
        self.temperature.filter(|_| self.scale)
    }

    /// Whether the run's temperature (when it has one) is applied.
    pub fn temperature_scaling(&self) -> bool {
        self.scale
    }

    /// Turns the temperature scaling of predictions on (the default when the run has a
    /// temperature) or off (the network's own probabilities).
    pub fn set_temperature_scaling(&mut self, on: bool) {
        self.scale = on;
    }

    /// Uses `temperature` from now on (after [`crate::calibrate::calibrate_run`]).
    pub fn set_temperature(&mut self, temperature: Option<f64>) {
        self.temperature = temperature;
    }

    /// Turns the mirror averaging of predictions ([`TrainConfig::mirror_average`]) on
    /// or off, whatever the run recorded.
    pub fn set_mirror_average(&mut self, on: bool) {
        self.config.mirror_average = on;
    }
}

/// Raw image → segmentation → quality gate → classification.
#[derive(Debug)]
pub struct Pipeline {
    /// The lung segmenter.
    pub segmenter: Segmenter,
    /// The classifier.
    pub classifier: Classifier,
    /// Mask post-processing.
    pub post: PostprocessOptions,
    /// The gate (the paper's rule by default).
    pub qc: QcOptions,
}

impl Pipeline {
    /// Loads a classifier run and the segmenter run it recorded (`config.segmenter`).
    pub fn load(run_dir: &Path, device: Device) -> Result<Pipeline> {
        let classifier = Classifier::load(run_dir, device)?;
        let seg_dir = crate::run::segmenter_dir(run_dir, classifier.config.segmenter.as_deref())?;
        Ok(Pipeline::new(
            Segmenter::load(&seg_dir, device)?,
            classifier,
        ))
    }

    /// A pipeline with the default post-processing and the paper's gate.
    pub fn new(segmenter: Segmenter, classifier: Classifier) -> Pipeline {
        Pipeline {
            segmenter,
            classifier,
            post: PostprocessOptions::default(),
            qc: QcOptions::default(),
        }
    }

    /// Runs on an image file (PNG, JPEG, TIFF, BMP, WebP or DICOM).
    pub fn run(&self, path: &Path) -> Result<PipelineOutput> {
        let img = load_image(path)?;
        self.run_image(&img).map_err(|e| match e {
            Error::Input { source, .. } => Error::Input {
                path: path.to_path_buf(),
                source,
            },
            e => e,
        })
    }

    /// Runs on a decoded image.
    pub fn run_image(&self, img: &GrayImage) -> Result<PipelineOutput> {
        let (s, qc) = segment_image(&self.segmenter, img, &self.post, &self.qc).map_err(|e| {
            Error::Input {
                path: PathBuf::from("<in memory>"),
                source: Box::new(e),
            }
        })?;
        let probabilities = if qc.verdict.is_accept() {
            Some(self.classifier.predict(img, &s.lungs)?)
        } else {
            None
        };
        Ok(PipelineOutput {
            qc,
            mask: s.lungs,
            probabilities,
        })
    }
}

/// Predicts `examples` (in batches of `batch`) and pairs each with its record, matched by
/// [`ImageKey`](cxr_core::ImageKey): a [`PredictionRow`] per example predicted, a
/// [`Rejection`] (reason `error`, with the error's causes) per example that failed; the
/// others go on.
///
/// # Errors
///
/// [`Error::MissingRecord`] when an example has no record in `records` (a caller's
/// mistake, not the data's).
pub fn predict_records(
    clf: &Classifier,
    examples: &[crate::Example],
    records: &[cxr_core::ImageRecord],
    batch: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(Vec<PredictionRow>, Vec<Rejection>)> {
    let by_key: std::collections::HashMap<cxr_core::ImageKey, &cxr_core::ImageRecord> =
        records.iter().map(|r| (r.key(), r)).collect();
    // Every example must have its record before any work is done.
    if let Some(e) = examples.iter().find(|e| !by_key.contains_key(&e.key())) {
        return Err(Error::MissingRecord {
            key: e.key(),
            path: e.image.clone(),
        });
    }
    let probs = predict_examples(clf, examples, batch, progress);
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (e, p) in examples.iter().zip(probs) {
        let r = by_key[&e.key()];
        match p {
            Ok(p) => match with_cautions(PredictionRow::new(r, &p)?, &r.path, e.near_cut) {
                Outcome::Predicted(row) => rows.push(row),
                Outcome::Rejected(rejection) => failed.push(rejection),
            },
            Err(err) => failed.push(Rejection::new(r, "error", cxr_core::error_chain(&err))),
        }
    }
    Ok((rows, failed))
}

/// A manifest's records → probabilities in one pass, each image decoded once: with
/// [`Masks::Segmenter`](crate::data::Masks) every image is decoded, segmented, gated
/// and, when accepted, classified from memory (in batches of `batch`; masks and verdicts
/// cached as [`crate::data::examples_for_records`] caches them, and a cached record is
/// decoded only to be classified); with [`Masks::Column`](crate::data::Masks) image and
/// mask are read from their files. Every batch is filled up to `batch`
/// ([`Classifier::predict_batch_of`]): an image's answer is the same bytes whichever
/// records share its batch, as shards and resumed runs need. Returns a
/// [`PredictionRow`] per image classified and a [`Rejection`] per image the gate refused
/// or that failed; the others go on.
///
/// # Errors
///
/// Only a caller's mistake: none for bad data, which becomes rejections.
pub fn predict_manifest(
    clf: &Classifier,
    records: &[cxr_core::ImageRecord],
    masks: crate::data::Masks<'_>,
    batch: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(Vec<PredictionRow>, Vec<Rejection>)> {
    use crate::data::{Masks, segment_record};
    let Masks::Segmenter {
        segmenter,
        cache,
        post,
        qc,
    } = masks
    else {
        let (examples, mut rejected) = crate::data::examples_for_records(records, masks, None);
        if let Some(pb) = progress {
            pb.inc(rejected.len() as u64);
        }
        let (rows, failed) = predict_records(clf, &examples, records, batch, progress)?;
        rejected.extend(failed);
        return Ok((rows, rejected));
    };
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for chunk in records.chunks(batch.max(1)) {
        // Each accepted record, whether its verdict was near the cut, its image and mask.
        let mut inputs: Vec<(&cxr_core::ImageRecord, bool, (GrayImage, LungMask))> = Vec::new();
        for r in chunk {
            let s = segment_record(r, segmenter, cache, post, qc);
            match s.outcome {
                Err(rejection) => rejected.push(rejection),
                Ok(e) => match s.decoded.map_or_else(|| e.load(), Ok) {
                    Ok(pair) => inputs.push((r, e.near_cut, pair)),
                    Err(err) => {
                        rejected.push(Rejection::new(r, "error", cxr_core::error_chain(&err)))
                    }
                },
            }
        }
        let pairs: Vec<(&GrayImage, &LungMask)> =
            inputs.iter().map(|(_, _, (i, m))| (i, m)).collect();
        // Always batches of `batch`: an image's answer does not depend on its neighbours.
        match clf.predict_batch_of(&pairs, batch.max(1)) {
            Ok(probs) => {
                for ((r, near_cut, _), p) in inputs.iter().zip(probs) {
                    match with_cautions(PredictionRow::new(r, &p)?, &r.path, *near_cut) {
                        Outcome::Predicted(row) => rows.push(row),
                        Outcome::Rejected(rejection) => rejected.push(rejection),
                    }
                }
            }
            Err(err) => {
                let detail = cxr_core::error_chain(&err);
                rejected.extend(
                    inputs
                        .iter()
                        .map(|(r, _, _)| Rejection::new(r, "error", detail.clone())),
                );
            }
        }
        if let Some(pb) = progress {
            pb.inc(chunk.len() as u64);
        }
    }
    Ok((rows, rejected))
}

/// Predicts every example (in batches of `batch`, each filled up to `batch` as
/// [`Classifier::predict_batch_of`] fills it, so that an example's answer does not depend
/// on its neighbours), returning per-example probabilities or the error that stopped
/// that example (the others go on).
pub fn predict_examples(
    clf: &Classifier,
    examples: &[crate::Example],
    batch: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> Vec<Result<Vec<f32>>> {
    use rayon::prelude::*;
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(batch.max(1)) {
        let loaded: Vec<Result<(GrayImage, LungMask)>> =
            chunk.par_iter().map(crate::Example::load).collect();
        let ok: Vec<(&GrayImage, &LungMask)> = loaded
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(i, m)| (i, m)))
            .collect();
        let mut probs = match clf.predict_batch_of(&ok, batch.max(1)) {
            Ok(p) => p.into_iter(),
            Err(e) => {
                let msg = e.to_string();
                out.extend(chunk.iter().map(|ex| {
                    Err(Error::Input {
                        path: ex.image.clone(),
                        source: msg.clone().into(),
                    })
                }));
                continue;
            }
        };
        for r in loaded {
            out.push(r.map(|_| probs.next().expect("one output per loaded input")));
        }
        if let Some(pb) = progress {
            pb.inc(chunk.len() as u64);
        }
    }
    out
}

/// What a libtorch classifier's answers depend on, for batch journals: its run's settings,
/// weights and temperature, and (when it segments) the segmenter's settings, weights and
/// the gate.
///
/// # Errors
///
/// A weights file that cannot be read.
pub fn pipeline_settings(
    clf: &Classifier,
    masks: Option<(&Segmenter, &PostprocessOptions, &QcOptions)>,
) -> Result<serde_json::Value> {
    let masks = match masks {
        Some((seg, post, qc)) => serde_json::json!({
            "segmenter": seg.config(),
            "weights": seg.weights_id(),
            "post": post,
            "qc": qc,
        }),
        None => serde_json::Value::Null,
    };
    Ok(serde_json::json!({
        "backend": "libtorch",
        "classifier": clf.config(),
        "weights": cxr_nn::checkpoint::weights_id(clf.run_dir())?,
        "temperature": clf.temperature(),
        "masks": masks,
    }))
}

impl crate::run::ImagePipeline for Pipeline {
    fn run_image(
        &self,
        img: &GrayImage,
    ) -> std::result::Result<PipelineOutput, crate::run::BoxError> {
        Ok(Pipeline::run_image(self, img)?)
    }

    fn classify(
        &self,
        img: &GrayImage,
        mask: &LungMask,
    ) -> std::result::Result<Vec<f32>, crate::run::BoxError> {
        Ok(self.classifier.predict(img, mask)?)
    }

    fn settings(&self) -> Result<serde_json::Value> {
        pipeline_settings(
            &self.classifier,
            Some((&self.segmenter, &self.post, &self.qc)),
        )
    }

    fn gate(&self) -> &cxr_lungseg::qc::QcOptions {
        &self.qc
    }
}
