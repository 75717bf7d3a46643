//! # cxr-serve — the online service and its review page
//!
//! The paper was "an online study": its classifier was to be tried by clinicians on
//! their own radiographs. This crate serves a trained run over HTTP:
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /v1/predict` | one PNG, JPEG, TIFF, BMP, WebP or DICOM (raw body or multipart) → probabilities by class, the lung gate's verdict, decisions at the run's operating points, model id, per-stage timings; `?overlays=mask,saliency` adds both as base64 PNGs |
//! | `POST /v1/predict/batch` | several images of one patient-day (multipart) → each image's result and their average, as the paper evaluates |
//! | `GET /v1/model` | what is served: input, temperature, gate, operating points, training |
//! | `GET /healthz`, `GET /readyz` | up; models loaded and warmed up |
//! | `GET /metrics` | Prometheus: requests by status, latency per stage, queue depth, batch sizes |
//! | `GET /openapi.json` | the OpenAPI 3.1 document, generated from the handlers ([`api::ApiDoc`]) |
//! | `GET /` | the review page ([`page`]) |
//!
//! Uploads are decoded in memory and never written anywhere; no pixel, tag value or file
//! name is logged. Decoding runs on tokio's blocking pool, segmentation and
//! classification on worker threads that own the models ([`engine`]); the classifier
//! batches concurrent requests. Every queue is bounded: when one is full the answer is
//! 503 with `Retry-After`. Errors are JSON with a stable `code` ([`error::ErrorBody`]).
//!
//! The models run on libtorch (the `torch` feature, default) or in pure Rust
//! ([`Backend::Pure`], `cxr-infer`: no libtorch; the only backend without `torch`), with
//! the same answers.
//!
//! ```no_run
//! # async fn run() -> Result<(), cxr_serve::ServeError> {
//! use std::path::Path;
//! let mut config = cxr_serve::ServeConfig::new(Path::new("out/demo"));
//! config.backend = cxr_serve::Backend::Pure; // or Backend::Torch(device), the default
//! let service = cxr_serve::Service::start(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! service.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod decode;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod model;
pub mod page;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cxr_classifier::saliency::Method;
use cxr_core::Label;
use cxr_lungseg::qc::QcOptions;

pub use api::{AppState, BatchPrediction, Prediction, router};
pub use decode::Limits;
pub use engine::Backend;
pub use error::{ApiError, ErrorBody, ServeError};
pub use model::{ModelFiles, ModelInfo};

/// How to serve a run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// An experiment folder (`make demo`'s `out/demo`) or a classifier run.
    pub run: PathBuf,
    /// Another segmenter run than the one found with the classifier.
    pub segmenter: Option<PathBuf>,
    /// Which library runs the models, and where (libtorch on CUDA when available, else
    /// on the CPU; the pure-Rust path without the `torch` feature).
    pub backend: Backend,
    /// Largest classifier batch (default 8).
    pub max_batch: usize,
    /// Longest wait for a batch to fill (default 5 ms).
    pub max_wait: Duration,
    /// Jobs waiting per stage before 503 (default 64).
    pub queue_capacity: usize,
    /// Requests handled at once before 503 (default 32); with `max_body` it bounds the
    /// memory that uploads can take.
    pub max_inflight: usize,
    /// Segmenter threads (default 1: one segmenter already spreads over the cores).
    pub segmenters: usize,
    /// Largest request body in bytes (default 64 MiB).
    pub max_body: usize,
    /// Images a batch request may carry (default 16).
    pub max_batch_images: usize,
    /// Decoding bounds.
    pub limits: Limits,
    /// The lung gate (default: the paper's).
    pub qc: QcOptions,
    /// Saliency method of the overlays (default: vanilla gradients, the paper's).
    pub saliency: Method,
    /// Apply the run's temperature (default true).
    pub temperature: bool,
    /// Bearer token required by `/v1/*`.
    pub token: Option<String>,
}

impl ServeConfig {
    /// Defaults for `run`.
    pub fn new(run: &Path) -> ServeConfig {
        ServeConfig {
            run: run.to_path_buf(),
            segmenter: None,
            backend: Backend::default_for_machine(),
            max_batch: 8,
            max_wait: Duration::from_millis(5),
            queue_capacity: 64,
            max_inflight: 32,
            segmenters: 1,
            max_body: 64 << 20,
            max_batch_images: 16,
            limits: Limits::default(),
            qc: QcOptions::default(),
            saliency: Method::Vanilla,
            temperature: true,
            token: None,
        }
    }
}

/// Reads a token file: its first line, trimmed.
///
/// # Errors
///
/// [`ServeError::Read`], or [`ServeError::EmptyToken`] for an empty first line.
pub fn read_token(path: &Path) -> Result<String, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        return Err(ServeError::EmptyToken {
            path: path.to_path_buf(),
        });
    }
    Ok(token)
}

/// A started service: models loaded (warming up in the background), ready to serve.
#[derive(Debug, Clone)]
pub struct Service {
    state: Arc<AppState>,
}

impl Service {
    /// Finds the run's files, loads the models on their worker threads and builds what
    /// `GET /v1/model` answers. Returns when the models are loaded; `/readyz` turns 200
    /// after their warm-up.
    ///
    /// # Errors
    ///
    /// [`ServeError`] when the run is incomplete or a model does not load.
    pub fn start(config: ServeConfig) -> Result<Service, ServeError> {
        if config.max_inflight == 0 || config.max_batch_images == 0 || config.max_body == 0 {
            return Err(ServeError::Setting {
                field: "max_inflight / max_batch_images / max_body",
                detail: "must be at least 1".into(),
            });
        }
        let files = ModelFiles::locate(&config.run, config.segmenter.as_deref())?;
        let id = files.id(&config.run)?;
        let operating_points = match &files.metrics {
            Some(m) => model::operating_points(m)?,
            None => Vec::new(),
        };
        let metrics = Arc::new(metrics::Metrics::default());
        let engine = engine::Engine::start(
            engine::EngineConfig {
                classifier: files.classifier.clone(),
                segmenter: files.segmenter.clone(),
                backend: config.backend,
                max_batch: config.max_batch,
                max_wait: config.max_wait,
                queue_capacity: config.queue_capacity,
                segmenters: config.segmenters,
                qc: config.qc.clone(),
                saliency: config.saliency,
                temperature: config.temperature,
            },
            metrics.clone(),
        )?;
        let c = &engine.classifier_config;
        // The epoch early stopping kept: the lowest validation loss.
        let best_epoch = cxr_classifier::run::read_metrics(&files.classifier)
            .ok()
            .and_then(|m| {
                m.into_iter()
                    .filter(|e| e.val_loss.is_finite())
                    .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
            });
        let best: Option<cxr_nn::TrainState> =
            cxr_nn::files::read_json(&files.classifier.join("best.json")).ok();
        let model = ModelInfo {
            id,
            classes: Label::ALL.iter().map(|l| l.as_str().to_owned()).collect(),
            classifier: model::ClassifierInfo {
                input_size: c.model.input_size,
                input: c.model.input.name().to_owned(),
                width: c.model.width,
                temperature: engine.temperature,
                mirror_average: c.mirror_average,
                epochs: best.as_ref().map(|b| b.epochs_done),
                best_validation_loss: best.as_ref().and_then(|b| b.early.best),
                validation_accuracy: best_epoch.as_ref().map(|e| e.val_accuracy),
                validation_covid_auc: best_epoch.as_ref().and_then(|e| e.val_auc_covid),
                validation_epoch: best_epoch.as_ref().map(|e| e.epoch),
                trained: model::modified_rfc3339(&cxr_nn::files::inference_weights(
                    &files.classifier,
                )),
                training_data: cxr_classifier::run::TrainingData::read(&files.classifier)
                    .map_err(|e| ServeError::Model(cxr_core::error_chain(&e).into()))?
                    .map(Into::into),
                // Informative, unlike the training data's notice: a record that
                // cannot be read is said in the log, not a reason to refuse to serve.
                trained_with: cxr_core::environment::sessions_summary(
                    &cxr_nn::files::read_sessions_or_log(&files.classifier),
                ),
            },
            gate: model::GateRule {
                min_lungs: config.qc.min_lungs,
                min_fraction: config.qc.min_fraction,
                segmenter_input_size: engine.segmenter_input_size,
            },
            operating_points_source: files.metrics.as_ref().map(|_| {
                "the run's evaluation (evaluation/metrics.json): cut-offs chosen on its test units, patient-day level".to_owned()
            }),
            operating_points,
            backend: config.backend.name().to_owned(),
            device: config.backend.device(),
            max_batch: config.max_batch,
            max_wait_ms: config.max_wait.as_millis() as u64,
            research_use_only: true,
        };
        let state = Arc::new(AppState {
            engine,
            model,
            metrics,
            limits: config.limits,
            max_body: config.max_body,
            max_batch_images: config.max_batch_images,
            inflight: Arc::new(tokio::sync::Semaphore::new(config.max_inflight)),
            decoding: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
            token: config.token,
        });
        Ok(Service { state })
    }

    /// The shared state (model description, metrics, readiness).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The router, for embedding in another axum application.
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in
    /// progress.
    ///
    /// # Errors
    ///
    /// I/O errors of the listener.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}
