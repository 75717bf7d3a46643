//! # cxr-infer — the trained pipeline without libtorch
//!
//! The lung segmenter (DeepLabv3+) and the masked-input Inception v3 for inference only,
//! on [candle](https://docs.rs/candle-core) tensors: no libtorch at build or run time, no
//! C++ toolchain, one static Rust binary. It loads the run folders that training writes
//! (`config.json` + safetensors; batch norms folded at load as `cxr_classifier::Classifier`
//! folds them) and answers as `cxr_classifier::Pipeline` does: image → the quality gate's
//! verdict, the lung mask, the class probabilities. The gate, the mask post-processing,
//! the classifier's input (the masked image, resized as in training), the mirror
//! average and the temperature scaling are the libtorch path's own functions
//! (`cxr_lungseg::qc::gate`, `cxr_classifier::preprocess::input_values`,
//! `cxr_classifier::run::finish_probabilities`); only the two networks are written here.
//!
//! Which path when (`docs/inference.md`): training and GPUs need libtorch
//! (`cxr_classifier`); embedding the classifier and small CPU deployments can use this
//! crate, built with the facade's `--no-default-features`.
//!
//! ```no_run
//! let pipeline = cxr_infer::Pipeline::load(std::path::Path::new("out/demo/classifier"))?;
//! let out = pipeline.run(std::path::Path::new("chest.png"))?;
//! println!("gate: {}", out.qc.verdict);
//! if let Some(p) = out.probabilities {
//!     println!("P(covid-19) = {:.3}", p[cxr_core::Label::Covid.index()]);
//! }
//! # Ok::<(), cxr_infer::Error>(())
//! ```
#![warn(missing_docs)]

mod deeplab;
mod inception;
mod nn;
pub mod saliency;

use std::path::{Path, PathBuf};

use candle_core::{D, Device, Tensor};
use cxr_classifier::run::{RunSettings, finish_probabilities, segmenter_dir};
use cxr_classifier::{ClassifierConfig, PipelineOutput};
use cxr_core::{GrayImage, LungMask};
use cxr_lungseg::SegmenterConfig;
use cxr_lungseg::postprocess::{PostprocessOptions, Segmentation};
use cxr_lungseg::qc::{LungQc, QcOptions};

pub use candle_core::{Device as CandleDevice, Tensor as CandleTensor};
pub use deeplab::DeepLab;
pub use inception::Inception;
pub use saliency::saliency;

/// Why a run cannot be loaded or an image not predicted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A run's `config.json` (or `temperature.json`) cannot be read.
    #[error("run settings")]
    Settings(#[from] cxr_nn::Error),
    /// A run's configuration is not one these networks can be built from.
    #[error(transparent)]
    Classifier(#[from] cxr_classifier::Error),
    /// The segmenter's configuration, the post-processing or the gate.
    #[error(transparent)]
    Lungseg(#[from] cxr_lungseg::Error),
    /// A weights file cannot be read.
    #[error("weights {path}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What candle said.
        #[source]
        source: candle_core::Error,
    },
    /// A tensor the network needs is not in the weights file.
    #[error("weights {path}: no tensor `{name}` (a run of another network?)")]
    MissingWeight {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor has another shape than the configuration says.
    #[error("weights {path}: `{name}` is {found:?}, the configuration needs {expected:?}")]
    WeightShape {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape the configuration gives.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// An image cannot be read or decoded.
    #[error("{path}")]
    Input {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An image without pixels.
    #[error("image of {width} × {height} pixels")]
    EmptyImage {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn load_weights(run_dir: &Path) -> Result<nn::Weights> {
    nn::Weights::load(&cxr_nn::files::inference_weights(run_dir))
}

fn gray_tensor(values: Vec<f32>, h: usize, w: usize) -> Result<Tensor> {
    Ok(Tensor::from_vec(values, (1, 1, h, w), &Device::Cpu)?)
}

/// The lung segmenter of a training run (`train_segmenter`'s folder), without libtorch.
pub struct Segmenter {
    net: DeepLab,
    config: SegmenterConfig,
    mirror_average: bool,
    run_dir: PathBuf,
}

impl Segmenter {
    /// Loads `run_dir/config.json` and the weights the libtorch `Segmenter` would use
    /// (the averaged weights when the run averaged its last epochs, else `best`'s).
    ///
    /// # Errors
    ///
    /// Unreadable settings or weights, a configuration out of range, weights of another
    /// network.
    pub fn load(run_dir: &Path) -> Result<Segmenter> {
        let config = cxr_lungseg::config::read_model(run_dir)?;
        let net = DeepLab::load(&load_weights(run_dir)?, &config)?;
        Ok(Segmenter {
            net,
            config,
            mirror_average: false,
            run_dir: run_dir.to_path_buf(),
        })
    }

    /// Averages every prediction with that of the mirrored image, as
    /// `cxr_lungseg::Segmenter::with_mirror_average` does.
    pub fn with_mirror_average(mut self, on: bool) -> Segmenter {
        self.mirror_average = on;
        self
    }

    /// The network's settings.
    pub fn config(&self) -> &SegmenterConfig {
        &self.config
    }

    /// The network.
    pub fn net(&self) -> &DeepLab {
        &self.net
    }

    /// Lung probabilities at the image's own size (row-major), computed at the model's
    /// input size and resized back bilinearly, as `cxr_lungseg::Segmenter::probabilities`
    /// computes them.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyImage`]; tensor errors.
    pub fn probabilities(&self, img: &GrayImage) -> Result<Vec<f32>> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::EmptyImage {
                width: w,
                height: h,
            });
        }
        let s = self.config.input_size as usize;
        let small = cxr_lungseg::config::network_input(img, s as u32);
        let x = gray_tensor(small.values, small.height, small.width)?
            .upsample_bilinear2d(s, s, false)?;
        let sig = |t: Tensor| sigmoid(&t);
        let p = if self.mirror_average {
            let both = Tensor::cat(&[&x, &x.flip_last()?], 0)?;
            let p = sig(self.net.forward(&both)?)?;
            ((p.narrow(0, 0, 1)? + p.narrow(0, 1, 1)?.flip_last()?)? * 0.5)?
        } else {
            sig(self.net.forward(&x)?)?
        };
        let p = p.upsample_bilinear2d(h as usize, w as usize, false)?;
        Ok(p.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Segments one image: probabilities → post-processing → quality gate, through
    /// [`cxr_lungseg::segment_image`] as the libtorch segmenter does.
    ///
    /// # Errors
    ///
    /// Out-of-range post-processing or gate settings (refused before the network runs);
    /// as [`Segmenter::probabilities`], inside [`Error::Lungseg`].
    pub fn segment(
        &self,
        img: &GrayImage,
        post: &PostprocessOptions,
        qc: &QcOptions,
    ) -> Result<(Segmentation, LungQc)> {
        Ok(cxr_lungseg::segment_image(self, img, post, qc)?)
    }
}

/// The pure-Rust segmenter in `cxr-lungseg`'s folder and scoring tools
/// (`cxr_lungseg::segment_dir_shard`, `score_pairs`), as the libtorch one.
impl cxr_lungseg::LungSegmenter for Segmenter {
    fn probabilities(&self, img: &GrayImage) -> std::result::Result<Vec<f32>, cxr_lungseg::Error> {
        Segmenter::probabilities(self, img).map_err(|e| match e {
            Error::EmptyImage { width, height } => cxr_lungseg::Error::EmptyImage { width, height },
            Error::Lungseg(e) => e,
            e => cxr_lungseg::Error::Backend(Box::new(e)),
        })
    }

    fn settings(&self) -> std::result::Result<serde_json::Value, cxr_lungseg::Error> {
        Ok(serde_json::json!({
            "backend": "candle",
            "segmenter": self.config,
            "weights": cxr_nn::files::weights_id(&self.run_dir)?,
            "mirror_average": self.mirror_average,
        }))
    }
}

/// σ(x) = 1 / (1 + e^(−x)).
fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// Mirroring along the last dimension (width).
trait FlipLast {
    fn flip_last(&self) -> candle_core::Result<Tensor>;
}

impl FlipLast for Tensor {
    fn flip_last(&self) -> candle_core::Result<Tensor> {
        let w = self.dim(D::Minus1)?;
        let idx = Tensor::from_vec((0..w as u32).rev().collect::<Vec<_>>(), w, self.device())?;
        self.index_select(&idx, self.rank() - 1)
    }
}

/// The classifier of a training run (`train_classifier`'s folder), without libtorch.
pub struct Classifier {
    net: Inception,
    settings: RunSettings,
    run_dir: PathBuf,
    temperature: Option<f64>,
    scale: bool,
}

impl Classifier {
    /// Loads `run_dir/config.json`, the weights the libtorch `Classifier` would use and
    /// the run's temperature (`temperature.json`) when it has one.
    ///
    /// # Errors
    ///
    /// As [`Segmenter::load`].
    pub fn load(run_dir: &Path) -> Result<Classifier> {
        let settings = RunSettings::read(run_dir)?;
        let net = Inception::load(&load_weights(run_dir)?, &settings.model)?;
        let temperature =
            cxr_classifier::calibrate::read_temperature(run_dir)?.map(|t| t.temperature);
        Ok(Classifier {
            net,
            settings,
            run_dir: run_dir.to_path_buf(),
            temperature,
            scale: true,
        })
    }

    /// The network's settings.
    pub fn config(&self) -> &ClassifierConfig {
        &self.settings.model
    }

    /// The network.
    pub fn net(&self) -> &Inception {
        &self.net
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The temperature applied to predictions: the run's, unless turned off.
    pub fn temperature(&self) -> Option<f64> {
        self.temperature.filter(|_| self.scale)
    }

    /// Turns the run's temperature scaling on (the default) or off.
    pub fn set_temperature_scaling(&mut self, on: bool) {
        self.scale = on;
    }

    /// The network's input for one image: `[1, C, S, S]`, the masked image as
    /// `cxr_classifier::preprocess::input_values` makes it for both paths.
    ///
    /// # Errors
    ///
    /// A mask of another size than the image; tensor errors.
    pub fn input(&self, img: &GrayImage, mask: &LungMask) -> Result<Tensor> {
        self.input_batch(&[(img, mask)])
    }

    fn input_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Tensor> {
        let m = &self.settings.model;
        let s = m.input_size as usize;
        let c = m.input.channels() as usize;
        let mut values = Vec::with_capacity(pairs.len() * c * s * s);
        for (img, mask) in pairs {
            values.extend(cxr_classifier::preprocess::input_values(
                img, mask, s as u32, m.input,
            )?);
        }
        Ok(Tensor::from_vec(
            values,
            (pairs.len(), c, s, s),
            &Device::Cpu,
        )?)
    }

    /// Class probabilities (in [`cxr_core::Label::index`] order) for one image.
    ///
    /// # Errors
    ///
    /// A mask of another size than the image; tensor errors.
    pub fn predict(&self, img: &GrayImage, mask: &LungMask) -> Result<Vec<f32>> {
        Ok(self.predict_batch(&[(img, mask)])?.remove(0))
    }

    /// Class probabilities for several images, run as one batch.
    ///
    /// # Errors
    ///
    /// As [`Classifier::predict`].
    pub fn predict_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Vec<Vec<f32>>> {
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        let x = self.input_batch(pairs)?;
        let softmax = |x: &Tensor| -> Result<Vec<Vec<f32>>> {
            let logits = self.net.forward(x)?;
            let e = logits.broadcast_sub(&logits.max_keepdim(1)?)?.exp()?;
            let p = e.broadcast_div(&e.sum_keepdim(1)?)?;
            Ok(p.to_vec2::<f32>()?)
        };
        let p = softmax(&x)?;
        let mirrored = if self.settings.mirror_average {
            Some(softmax(&x.flip_last()?)?)
        } else {
            None
        };
        Ok(finish_probabilities(p, mirrored, self.temperature()))
    }
}

/// Raw image → segmentation → quality gate → classification, as
/// `cxr_classifier::Pipeline`, without libtorch.
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
    /// Loads a classifier run and the segmenter run it recorded (its `segmenter`
    /// setting, found as the libtorch `Pipeline::load` finds it).
    ///
    /// # Errors
    ///
    /// As [`Classifier::load`]; a run trained on given masks records no segmenter.
    pub fn load(run_dir: &Path) -> Result<Pipeline> {
        let classifier = Classifier::load(run_dir)?;
        let seg_dir = segmenter_dir(run_dir, classifier.settings.segmenter.as_deref())?;
        Ok(Pipeline::new(Segmenter::load(&seg_dir)?, classifier))
    }

    /// A pipeline of these two models with the default post-processing and gate.
    pub fn new(segmenter: Segmenter, classifier: Classifier) -> Pipeline {
        Pipeline {
            segmenter,
            classifier,
            post: PostprocessOptions::default(),
            qc: QcOptions::default(),
        }
    }

    /// Runs on an image file (PNG, JPEG, TIFF, BMP, WebP or DICOM).
    ///
    /// # Errors
    ///
    /// [`Error::Input`] naming the file when it cannot be read; as
    /// [`Pipeline::run_image`].
    pub fn run(&self, path: &Path) -> Result<PipelineOutput> {
        let img =
            cxr_dicom::load_image_with(path, cxr_core::LoadOptions::default()).map_err(|e| {
                Error::Input {
                    path: path.to_path_buf(),
                    source: Box::new(e),
                }
            })?;
        self.run_image(&img)
    }

    /// Runs on image bytes (PNG, JPEG, TIFF, BMP, WebP or DICOM, recognised by their
    /// content).
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when the bytes are not an image it reads; as
    /// [`Pipeline::run_image`].
    pub fn run_bytes(&self, bytes: &[u8]) -> Result<PipelineOutput> {
        let img =
            cxr_dicom::decode_image(bytes, cxr_core::LoadOptions::default()).map_err(|e| {
                Error::Input {
                    path: PathBuf::from("<bytes>"),
                    source: Box::new(e),
                }
            })?;
        self.run_image(&img)
    }

    /// Runs on a decoded image: the gate's verdict and the mask always, the
    /// probabilities when the gate accepts the image.
    ///
    /// # Errors
    ///
    /// An empty image; out-of-range post-processing or gate settings; tensor errors.
    pub fn run_image(&self, img: &GrayImage) -> Result<PipelineOutput> {
        let (s, qc) = self.segmenter.segment(img, &self.post, &self.qc)?;
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

impl cxr_classifier::run::ImagePipeline for Pipeline {
    fn run_image(
        &self,
        img: &GrayImage,
    ) -> std::result::Result<PipelineOutput, cxr_classifier::run::BoxError> {
        Ok(Pipeline::run_image(self, img)?)
    }

    fn classify(
        &self,
        img: &GrayImage,
        mask: &LungMask,
    ) -> std::result::Result<Vec<f32>, cxr_classifier::run::BoxError> {
        Ok(self.classifier.predict(img, mask)?)
    }

    fn settings(&self) -> cxr_classifier::Result<serde_json::Value> {
        let weights = |dir: &Path| cxr_nn::files::weights_id(dir);
        Ok(serde_json::json!({
            "backend": "candle",
            "classifier": self.classifier.config(),
            "mirror_average": self.classifier.settings.mirror_average,
            "weights": weights(self.classifier.run_dir())?,
            "temperature": self.classifier.temperature(),
            "masks": {
                "segmenter": self.segmenter.config(),
                "weights": weights(&self.segmenter.run_dir)?,
                "mirror_average": self.segmenter.mirror_average,
                "post": self.post,
                "qc": self.qc,
            },
        }))
    }

    fn gate(&self) -> &cxr_lungseg::qc::QcOptions {
        &self.qc
    }
}
