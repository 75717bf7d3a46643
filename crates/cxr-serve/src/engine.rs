//! The inference workers. libtorch modules cannot be shared between threads, so each
//! model lives on threads of its own and requests reach it through bounded channels (the
//! pure-Rust models, [`Backend::Pure`], run in the same arrangement):
//!
//! - `segmenters` threads, each with its own copy of the lung segmenter, take images from
//!   one queue (segmentation runs concurrently with decoding and classification);
//! - one classifier thread collects up to `max_batch` images, waiting at most
//!   `max_wait` after the first, and classifies them in one forward pass; saliency maps
//!   are computed there too, between batches.
//!
//! Both queues are bounded: a request that finds one full is refused at once
//! ([`Submit::Full`]) and the handler answers 503 with `Retry-After`, so memory never
//! grows with the load. Nothing here blocks the async runtime: replies come back through
//! `tokio::sync::oneshot` channels.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cxr_classifier::run::RunSettings;
use cxr_classifier::saliency::{Method, SaliencyMap};
use cxr_core::{GrayImage, LungMask};
use cxr_lungseg::postprocess::PostprocessOptions;
use cxr_lungseg::qc::{LungQc, QcOptions};
use tokio::sync::oneshot;

use crate::error::ServeError;
use crate::metrics::Metrics;

/// How the workers are set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The classifier run.
    pub classifier: PathBuf,
    /// The segmenter run.
    pub segmenter: PathBuf,
    /// Which library runs the models, and where.
    pub backend: Backend,
    /// Largest classifier batch.
    pub max_batch: usize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
    /// Requests waiting for each stage before new ones are refused.
    pub queue_capacity: usize,
    /// Segmenter threads.
    pub segmenters: usize,
    /// The lung gate.
    pub qc: QcOptions,
    /// Saliency method of the overlays.
    pub saliency: Method,
    /// Apply the run's temperature.
    pub temperature: bool,
}

/// Which library runs the networks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    /// libtorch (`cxr_lungseg::Segmenter`, `cxr_classifier::Classifier`) on a CPU or a
    /// CUDA device.
    #[cfg(feature = "torch")]
    Torch(tch::Device),
    /// Pure Rust on the CPU (`cxr_infer`): no libtorch.
    Pure,
}

impl Backend {
    /// libtorch on CUDA when there is one, else on the CPU; without the `torch` feature,
    /// the pure-Rust path.
    pub fn default_for_machine() -> Backend {
        #[cfg(feature = "torch")]
        return Backend::Torch(tch::Device::cuda_if_available());
        #[cfg(not(feature = "torch"))]
        Backend::Pure
    }

    /// `libtorch` or `candle`.
    pub fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "torch")]
            Backend::Torch(_) => "libtorch",
            Backend::Pure => "candle",
        }
    }

    /// `cpu` or `cuda:N`.
    pub fn device(&self) -> String {
        match self {
            #[cfg(feature = "torch")]
            Backend::Torch(tch::Device::Cuda(n)) => format!("cuda:{n}"),
            #[cfg(feature = "torch")]
            Backend::Torch(d) => format!("{d:?}").to_lowercase(),
            Backend::Pure => "cpu".to_owned(),
        }
    }
}

/// A lung segmenter on either backend ([`cxr_lungseg::LungSegmenter`]), with the side of
/// the square it works at.
trait SegmentModel: cxr_lungseg::LungSegmenter {
    fn input_size(&self) -> i64;

    /// An image → its lungs and the gate's verdict ([`cxr_lungseg::segment_image`]).
    fn segment(
        &self,
        img: &GrayImage,
        post: &PostprocessOptions,
        qc: &QcOptions,
    ) -> Result<(LungMask, LungQc), String> {
        let (s, q) = cxr_lungseg::segment_image(self, img, post, qc)
            .map_err(|e| cxr_core::error_chain(&e))?;
        Ok((s.lungs, q))
    }
}

/// A classifier on either backend.
trait ClassifyModel {
    fn predict_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Vec<Vec<f32>>, String>;
    fn saliency(
        &self,
        img: &GrayImage,
        mask: &LungMask,
        class: usize,
        method: Method,
    ) -> Result<SaliencyMap, String>;
    fn temperature(&self) -> Option<f64>;
}

#[cfg(feature = "torch")]
impl SegmentModel for cxr_lungseg::Segmenter {
    fn input_size(&self) -> i64 {
        self.config().model.input_size
    }
}

impl SegmentModel for cxr_infer::Segmenter {
    fn input_size(&self) -> i64 {
        self.config().input_size
    }
}

#[cfg(feature = "torch")]
impl ClassifyModel for cxr_classifier::Classifier {
    fn predict_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Vec<Vec<f32>>, String> {
        cxr_classifier::Classifier::predict_batch(self, pairs)
            .map_err(|e| cxr_core::error_chain(&e))
    }
    fn saliency(
        &self,
        img: &GrayImage,
        mask: &LungMask,
        class: usize,
        method: Method,
    ) -> Result<SaliencyMap, String> {
        cxr_classifier::saliency::saliency(self, img, mask, class, method)
            .map_err(|e| cxr_core::error_chain(&e))
    }
    fn temperature(&self) -> Option<f64> {
        cxr_classifier::Classifier::temperature(self)
    }
}

impl ClassifyModel for cxr_infer::Classifier {
    fn predict_batch(&self, pairs: &[(&GrayImage, &LungMask)]) -> Result<Vec<Vec<f32>>, String> {
        cxr_infer::Classifier::predict_batch(self, pairs).map_err(|e| cxr_core::error_chain(&e))
    }
    fn saliency(
        &self,
        img: &GrayImage,
        mask: &LungMask,
        class: usize,
        method: Method,
    ) -> Result<SaliencyMap, String> {
        cxr_infer::saliency(self, img, mask, class, method).map_err(|e| cxr_core::error_chain(&e))
    }
    fn temperature(&self) -> Option<f64> {
        cxr_infer::Classifier::temperature(self)
    }
}

fn load_segmenter(c: &EngineConfig) -> Result<Box<dyn SegmentModel>, String> {
    let named = |e: &dyn std::error::Error| {
        format!(
            "segmenter {}: {}",
            c.segmenter.display(),
            cxr_core::error_chain(e)
        )
    };
    Ok(match c.backend {
        #[cfg(feature = "torch")]
        Backend::Torch(device) => {
            Box::new(cxr_lungseg::Segmenter::load(&c.segmenter, device).map_err(|e| named(&e))?)
        }
        Backend::Pure => Box::new(cxr_infer::Segmenter::load(&c.segmenter).map_err(|e| named(&e))?),
    })
}

fn load_classifier(c: &EngineConfig) -> Result<Box<dyn ClassifyModel>, String> {
    let named = |e: &dyn std::error::Error| {
        format!(
            "classifier {}: {}",
            c.classifier.display(),
            cxr_core::error_chain(e)
        )
    };
    Ok(match c.backend {
        #[cfg(feature = "torch")]
        Backend::Torch(device) => {
            let mut clf =
                cxr_classifier::Classifier::load(&c.classifier, device).map_err(|e| named(&e))?;
            clf.set_temperature_scaling(c.temperature);
            Box::new(clf)
        }
        Backend::Pure => {
            let mut clf = cxr_infer::Classifier::load(&c.classifier).map_err(|e| named(&e))?;
            clf.set_temperature_scaling(c.temperature);
            Box::new(clf)
        }
    })
}

/// A segmented image.
#[derive(Debug)]
pub struct Segmented {
    /// The image, handed back.
    pub image: GrayImage,
    /// Both lungs.
    pub mask: LungMask,
    /// The gate's verdict.
    pub qc: LungQc,
    /// Seconds waiting for a segmenter.
    pub queued: f64,
    /// Seconds segmenting.
    pub seconds: f64,
}

/// A classified image.
#[derive(Debug)]
pub struct Classified {
    /// Class probabilities (healthy, covid, bacterial).
    pub probabilities: Vec<f32>,
    /// Images in the forward pass that carried this one.
    pub batch_size: usize,
    /// Seconds waiting in the queue.
    pub queued: f64,
    /// Seconds of the forward pass.
    pub seconds: f64,
}

/// A saliency map.
#[derive(Debug)]
pub struct Saliency {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Values ≥ 0, row-major.
    pub values: Vec<f32>,
    /// Seconds computing it.
    pub seconds: f64,
}

type Reply<T> = oneshot::Sender<Result<T, String>>;

struct SegJob {
    image: GrayImage,
    enqueued: Instant,
    reply: Reply<Segmented>,
}

enum ClfJob {
    Classify {
        image: Arc<GrayImage>,
        mask: Arc<LungMask>,
        enqueued: Instant,
        reply: Reply<Classified>,
    },
    Saliency {
        image: Arc<GrayImage>,
        mask: Arc<LungMask>,
        class: usize,
        reply: Reply<Saliency>,
    },
}

/// Why a job was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Submit {
    /// The stage's queue is full.
    Full,
    /// The workers have stopped.
    Stopped,
}

/// Handles to the worker threads.
#[derive(Debug)]
pub struct Engine {
    seg_tx: SyncSender<SegJob>,
    clf_tx: SyncSender<ClfJob>,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    saliency: Method,
    /// The classifier's temperature, when applied.
    pub temperature: Option<f64>,
    /// The classifier run's settings.
    pub classifier_config: RunSettings,
    /// The segmenter's input size.
    pub segmenter_input_size: i64,
}

impl std::fmt::Debug for SegJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegJob")
    }
}

impl std::fmt::Debug for ClfJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClfJob")
    }
}

struct Loaded {
    temperature: Option<f64>,
    classifier: bool,
    seg_input: Option<i64>,
}

impl Engine {
    /// Loads the models on their threads and returns once every one has loaded (or one
    /// has failed); each then runs a warm-up inference, after which [`Engine::ready`]
    /// is true.
    ///
    /// # Errors
    ///
    /// [`ServeError::Model`] when a model does not load, [`ServeError::Setting`] for a
    /// zero batch, queue or segmenter count.
    pub fn start(config: EngineConfig, metrics: Arc<Metrics>) -> Result<Engine, ServeError> {
        for (field, v) in [
            ("max_batch", config.max_batch),
            ("queue_capacity", config.queue_capacity),
            ("segmenters", config.segmenters),
        ] {
            if v == 0 {
                return Err(ServeError::Setting {
                    field,
                    detail: "must be at least 1".into(),
                });
            }
        }
        config.qc.validate().map_err(|e| ServeError::Setting {
            field: "gate",
            detail: e.to_string(),
        })?;
        // What the classifier run says of itself (what `GET /v1/model` shows).
        let classifier_config = RunSettings::read(&config.classifier).map_err(|e| {
            ServeError::Model(
                format!(
                    "classifier {}: {}",
                    config.classifier.display(),
                    cxr_core::error_chain(&e)
                )
                .into(),
            )
        })?;
        let (seg_tx, seg_rx) = sync_channel::<SegJob>(config.queue_capacity);
        let (clf_tx, clf_rx) = sync_channel::<ClfJob>(config.queue_capacity);
        let seg_rx = Arc::new(Mutex::new(seg_rx));
        let warm = Arc::new(AtomicUsize::new(config.segmenters + 1));
        let ready = Arc::new(AtomicBool::new(false));
        let (loaded_tx, loaded_rx) = std::sync::mpsc::channel::<Result<Loaded, String>>();
        for i in 0..config.segmenters {
            let (c, rx, tx) = (config.clone(), seg_rx.clone(), loaded_tx.clone());
            let (warm, ready, m) = (warm.clone(), ready.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("cxr-segmenter-{i}"))
                .spawn(move || segmenter_worker(c, rx, tx, warm, ready, m))?;
        }
        {
            let (c, tx) = (config.clone(), loaded_tx.clone());
            let (warm, ready, m) = (warm.clone(), ready.clone(), metrics.clone());
            std::thread::Builder::new()
                .name("cxr-classifier".into())
                .spawn(move || classifier_worker(c, clf_rx, tx, warm, ready, m))?;
        }
        drop(loaded_tx);
        let (mut temperature, mut classifier_loaded, mut segmenter_input_size) = (None, false, 0);
        for _ in 0..=config.segmenters {
            match loaded_rx.recv() {
                Ok(Ok(l)) => {
                    if l.classifier {
                        temperature = l.temperature;
                        classifier_loaded = true;
                    }
                    if let Some(s) = l.seg_input {
                        segmenter_input_size = s;
                    }
                }
                Ok(Err(e)) => return Err(ServeError::Model(e.into())),
                Err(_) => return Err(ServeError::WorkerLost("model")),
            }
        }
        if !classifier_loaded {
            return Err(ServeError::WorkerLost("classifier"));
        }
        Ok(Engine {
            seg_tx,
            clf_tx,
            ready,
            metrics,
            saliency: config.saliency,
            temperature,
            classifier_config,
            segmenter_input_size,
        })
    }

    /// The saliency method's name.
    pub fn saliency_method(&self) -> &'static str {
        self.saliency.name()
    }

    /// Whether every worker has loaded its model and run a warm-up inference.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Segments an image and applies the gate.
    ///
    /// # Errors
    ///
    /// [`Submit`] when the segmenters' queue is full or they have stopped; the
    /// segmenter's own error as text.
    pub async fn segment(&self, image: GrayImage) -> Result<Result<Segmented, String>, Submit> {
        let enqueued = Instant::now();
        self.submit(&self.seg_tx, "segment", |reply| SegJob {
            image,
            enqueued,
            reply,
        })
        .await
    }

    /// Classifies a gated image (batched with others).
    ///
    /// # Errors
    ///
    /// As [`Engine::segment`].
    pub async fn classify(
        &self,
        image: Arc<GrayImage>,
        mask: Arc<LungMask>,
    ) -> Result<Result<Classified, String>, Submit> {
        let enqueued = Instant::now();
        self.submit(&self.clf_tx, "classify", |reply| ClfJob::Classify {
            image,
            mask,
            enqueued,
            reply,
        })
        .await
    }

    /// The saliency map of `class` for an image.
    ///
    /// # Errors
    ///
    /// As [`Engine::segment`].
    pub async fn saliency(
        &self,
        image: Arc<GrayImage>,
        mask: Arc<LungMask>,
        class: usize,
    ) -> Result<Result<Saliency, String>, Submit> {
        self.submit(&self.clf_tx, "classify", |reply| ClfJob::Saliency {
            image,
            mask,
            class,
            reply,
        })
        .await
    }

    /// Puts a job on `queue` without waiting (a full queue is [`Submit::Full`]) and
    /// awaits its reply.
    async fn submit<J, T>(
        &self,
        tx: &SyncSender<J>,
        queue: &'static str,
        job: impl FnOnce(Reply<T>) -> J,
    ) -> Result<Result<T, String>, Submit> {
        let (reply, rx) = oneshot::channel();
        self.metrics.queue_enter(queue);
        if let Err(e) = tx.try_send(job(reply)) {
            self.metrics.queue_leave(queue);
            return Err(submit_error(&e));
        }
        rx.await.map_err(|_| Submit::Stopped)
    }
}

fn submit_error<T>(e: &TrySendError<T>) -> Submit {
    match e {
        TrySendError::Full(_) => Submit::Full,
        TrySendError::Disconnected(_) => Submit::Stopped,
    }
}

fn mark_warm(warm: &AtomicUsize, ready: &AtomicBool) {
    if warm.fetch_sub(1, Ordering::AcqRel) == 1 {
        ready.store(true, Ordering::Release);
        tracing::info!("ready: every model loaded and warmed up");
    }
}

/// A mid-gray square with two dark ovals: something to warm the kernels up on.
fn warm_up_image(side: u32) -> (GrayImage, LungMask) {
    let inside = |x: u32, y: u32| {
        let (fx, fy) = (x as f32 / side as f32, y as f32 / side as f32);
        let oval = |cx: f32| ((fx - cx) / 0.15).powi(2) + ((fy - 0.5) / 0.3).powi(2) < 1.0;
        oval(0.3) || oval(0.7)
    };
    let img = GrayImage::from_fn(side, side, |x, y| {
        image::Luma([if inside(x, y) { 40 } else { 160 }])
    });
    (img, LungMask::from_fn(side, side, inside))
}

fn segmenter_worker(
    c: EngineConfig,
    rx: Arc<Mutex<Receiver<SegJob>>>,
    loaded: std::sync::mpsc::Sender<Result<Loaded, String>>,
    warm: Arc<AtomicUsize>,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) {
    let seg = match load_segmenter(&c) {
        Ok(s) => s,
        Err(e) => {
            let _ = loaded.send(Err(e));
            return;
        }
    };
    let _ = loaded.send(Ok(Loaded {
        temperature: None,
        classifier: false,
        seg_input: Some(seg.input_size()),
    }));
    drop(loaded);
    let post = PostprocessOptions::default();
    let (img, _) = warm_up_image(256);
    if let Err(e) = seg.segment(&img, &post, &c.qc) {
        tracing::warn!("segmenter warm-up failed: {e}");
    }
    mark_warm(&warm, &ready);
    loop {
        // One worker waits on the queue at a time; the lock is released before working.
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        metrics.queue_leave("segment");
        let queued = job.enqueued.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = seg
            .segment(&job.image, &post, &c.qc)
            .map(|(mask, qc)| Segmented {
                image: job.image,
                mask,
                qc,
                queued,
                seconds: t.elapsed().as_secs_f64(),
            });
        let _ = job.reply.send(out);
    }
}

fn classifier_worker(
    c: EngineConfig,
    rx: Receiver<ClfJob>,
    loaded: std::sync::mpsc::Sender<Result<Loaded, String>>,
    warm: Arc<AtomicUsize>,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) {
    let clf = match load_classifier(&c) {
        Ok(clf) => clf,
        Err(e) => {
            let _ = loaded.send(Err(e));
            return;
        }
    };
    let _ = loaded.send(Ok(Loaded {
        temperature: clf.temperature(),
        classifier: true,
        seg_input: None,
    }));
    drop(loaded);
    let (img, mask) = warm_up_image(256);
    let pairs: Vec<(&GrayImage, &LungMask)> = vec![(&img, &mask); c.max_batch];
    if let Err(e) = clf.predict_batch(&pairs) {
        tracing::warn!("classifier warm-up failed: {e}");
    }
    mark_warm(&warm, &ready);
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let deadline = Instant::now() + c.max_wait;
        while jobs.len() < c.max_batch {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(j) => jobs.push(j),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        for _ in &jobs {
            metrics.queue_leave("classify");
        }
        let mut batch = Vec::new();
        let mut saliencies = Vec::new();
        for j in jobs {
            match j {
                ClfJob::Classify {
                    image,
                    mask,
                    enqueued,
                    reply,
                } => batch.push((image, mask, enqueued.elapsed().as_secs_f64(), reply)),
                s @ ClfJob::Saliency { .. } => saliencies.push(s),
            }
        }
        if !batch.is_empty() {
            let t = Instant::now();
            let pairs: Vec<(&GrayImage, &LungMask)> =
                batch.iter().map(|(i, m, ..)| (&**i, &**m)).collect();
            let out = clf.predict_batch(&pairs);
            let seconds = t.elapsed().as_secs_f64();
            let n = batch.len();
            metrics.batch(n);
            match out {
                Ok(ps) => {
                    for ((_, _, queued, reply), probabilities) in batch.into_iter().zip(ps) {
                        let _ = reply.send(Ok(Classified {
                            probabilities,
                            batch_size: n,
                            queued,
                            seconds,
                        }));
                    }
                }
                Err(msg) => {
                    for (_, _, _, reply) in batch {
                        let _ = reply.send(Err(msg.clone()));
                    }
                }
            }
        }
        for s in saliencies {
            if let ClfJob::Saliency {
                image,
                mask,
                class,
                reply,
            } = s
            {
                let t = Instant::now();
                let out = clf
                    .saliency(&image, &mask, class, c.saliency)
                    .map(|m| Saliency {
                        width: m.width,
                        height: m.height,
                        values: m.values,
                        seconds: t.elapsed().as_secs_f64(),
                    });
                let _ = reply.send(out);
            }
        }
    }
}
