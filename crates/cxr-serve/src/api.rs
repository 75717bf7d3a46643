//! The HTTP API: router, handlers and the OpenAPI document generated from them.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, MatchedPath, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use cxr_core::{GrayImage, Label, LungMask};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use utoipa::{OpenApi, ToSchema};

use crate::decode::{Decoded, ImageInfo, Limits, decode};
use crate::engine::{Engine, Submit};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::model::{ModelInfo, OperatingPoint};

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The workers.
    pub engine: Engine,
    /// What `GET /v1/model` answers.
    pub model: ModelInfo,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Decoding bounds.
    pub limits: Limits,
    /// Largest body accepted, in bytes.
    pub max_body: usize,
    /// Images a batch request may carry.
    pub max_batch_images: usize,
    /// Requests being handled at once; more are refused with 503.
    pub inflight: Arc<Semaphore>,
    /// Uploads being decoded at once (one per core): bounds the memory of decoded
    /// pixels whatever the number of requests.
    pub decoding: Arc<Semaphore>,
    /// The bearer token `/v1/*` requires, when set.
    pub token: Option<String>,
}

/// Class probabilities, by name.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClassProbabilities {
    /// No finding.
    pub healthy: f64,
    /// Covid-19.
    pub covid: f64,
    /// Bacterial pneumonia.
    pub bacterial: f64,
}

impl ClassProbabilities {
    fn from_slice(p: &[f64]) -> Self {
        ClassProbabilities {
            healthy: p[Label::Healthy.index()],
            covid: p[Label::Covid.index()],
            bacterial: p[Label::Bacterial.index()],
        }
    }

    fn as_array(&self) -> [f64; Label::COUNT] {
        [self.healthy, self.covid, self.bacterial]
    }

    fn argmax(&self) -> Label {
        // Softmax outputs are finite: the error case cannot occur.
        cxr_stats::multiclass::argmax(&self.as_array())
            .ok()
            .and_then(Label::from_index)
            .unwrap_or(Label::Healthy)
    }
}

/// A class's decision at the run's operating point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// `healthy`, `covid` or `bacterial`.
    pub class: String,
    /// The cut-off applied.
    pub cutoff: f64,
    /// Probability ≥ cut-off.
    pub positive: bool,
}

/// The lung gate's verdict on the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Gate {
    /// Whether the image was classified.
    pub accepted: bool,
    /// `accept`, `lungs_not_found` or `lungs_too_small`.
    pub verdict: String,
    /// Why it was rejected, in words.
    pub reason: Option<String>,
    /// Lungs found (0, 1 or 2).
    pub lungs_found: u8,
    /// Share of the image covered by lung.
    pub lung_fraction: f64,
    /// The lungs were found and their share lies within one percentage point of the
    /// gate's smallest (`cxr_lungseg::qc::LungQc::near_cut`): a verdict that can go the
    /// other way with another segmenter, or the same one on another machine.
    #[serde(default)]
    pub near_cut: bool,
}

/// Seconds are reported in milliseconds, per stage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Timings {
    /// Decoding the upload.
    pub decode_ms: f64,
    /// Waiting for a segmenter.
    pub segment_queue_ms: f64,
    /// Segmenting and gating.
    pub segment_ms: f64,
    /// Waiting for the classifier's batch.
    pub classify_queue_ms: f64,
    /// The classifier's forward pass (shared by its batch).
    pub classify_ms: f64,
    /// The saliency map, when asked for.
    pub saliency_ms: Option<f64>,
    /// The whole request, as the service saw it.
    pub total_ms: f64,
}

/// Overlays as base64 PNGs at the image's size (RGBA, transparent outside).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Overlays {
    /// The grayscale image the pipeline saw (8-bit, bone bright), so that a viewer can
    /// show a DICOM file.
    pub image_png: Option<String>,
    /// The lung mask.
    pub mask_png: Option<String>,
    /// The saliency heat map of the predicted class.
    pub saliency_png: Option<String>,
    /// The saliency method (`vanilla`, `smoothgrad`, `gradcam`).
    pub saliency_method: Option<String>,
}

/// `POST /v1/predict`: what the pipeline says about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Prediction {
    /// The model that answered (`GET /v1/model`).
    pub model_id: String,
    /// The image received.
    pub image: ImageInfo,
    /// The lung gate.
    pub gate: Gate,
    /// Class probabilities (`null` when the gate rejected the image).
    pub probabilities: Option<ClassProbabilities>,
    /// The most probable class.
    pub predicted_class: Option<String>,
    /// Per-class decisions at the run's operating points (empty without them).
    pub decisions: Vec<Decision>,
    /// Images in the classifier batch that carried this one.
    pub batch_size: Option<usize>,
    /// Overlays asked for with `?overlays=`.
    pub overlays: Option<Overlays>,
    /// Per-stage timings.
    pub timings: Timings,
}

/// One image of a batch request: its prediction or its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// Position in the request, from 0.
    pub index: usize,
    /// The multipart file name, if any.
    pub name: Option<String>,
    /// The prediction.
    pub prediction: Option<Prediction>,
    /// Why there is none.
    pub error: Option<ErrorBody>,
}

/// `POST /v1/predict/batch`: several images of one patient-day and their average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchPrediction {
    /// The model that answered.
    pub model_id: String,
    /// Each image, in the order sent.
    pub images: Vec<BatchItem>,
    /// Images the gate accepted and the classifier scored.
    pub accepted: usize,
    /// Mean probabilities of the accepted images (the paper's same-day average).
    pub probabilities: Option<ClassProbabilities>,
    /// The most probable class of the average.
    pub predicted_class: Option<String>,
    /// Decisions on the average at the run's operating points.
    pub decisions: Vec<Decision>,
    /// The whole request, in milliseconds.
    pub total_ms: f64,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `warming_up`.
    pub status: String,
}

/// The raw bytes of a PNG, JPEG, TIFF, BMP, WebP or DICOM file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Upload(#[allow(dead_code)] Vec<u8>);

/// The OpenAPI document of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cxr",
        description = "Covid-19 and bacterial pneumonia on frontal chest X-rays (medRxiv 2020.07.16.20155093). Research use only: not a medical device."
    ),
    paths(predict, predict_batch, model, healthz, readyz, metrics_text),
    components(schemas(
        Prediction,
        BatchPrediction,
        BatchItem,
        ClassProbabilities,
        Decision,
        Gate,
        Timings,
        Overlays,
        ImageInfo,
        crate::decode::Caution,
        crate::decode::Format,
        ModelInfo,
        OperatingPoint,
        crate::model::ClassifierInfo,
        crate::model::TrainingDataInfo,
        crate::model::GateRule,
        ErrorBody,
        Health
    ))
)]
pub struct ApiDoc;

/// The router: the API under `/v1`, health, metrics, the OpenAPI document and the
/// review page at `/`.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/predict", post(predict))
        .route("/v1/predict/batch", post(predict_batch))
        .route("/v1/model", get(model))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .merge(v1)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .route("/", get(page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), count))
        // The handlers read bodies themselves, up to `max_body`, and answer 413 in JSON.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Counts every answer by endpoint and status, and its latency.
async fn count(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let t = Instant::now();
    let r = next.run(req).await;
    s.metrics.request(&endpoint, r.status().as_u16());
    if endpoint.starts_with("/v1/predict") {
        s.metrics.stage("total", t.elapsed().as_secs_f64());
    }
    r
}

async fn authorize(
    State(s): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(token) = &s.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid token is required: send `Authorization: Bearer <token>`",
            ));
        }
    }
    Ok(next.run(req).await)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which overlays a request asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Wanted {
    mask: bool,
    saliency: bool,
}

fn wanted(query: Option<&str>) -> Result<Wanted, ApiError> {
    let mut w = Wanted::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "overlays" {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{k}` (known: overlays)"
            )));
        }
        let v = v.replace("%2C", ",").replace("%2c", ",");
        for o in v.split([',', '+']).filter(|o| !o.is_empty()) {
            match o {
                "mask" => w.mask = true,
                "saliency" => w.saliency = true,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown overlay `{other}` (known: mask, saliency)"
                    )));
                }
            }
        }
    }
    Ok(w)
}

/// The files of a request: the body itself, or each file part of a multipart form.
async fn uploads(s: &AppState, req: Request) -> Result<Vec<(Option<String>, Bytes)>, ApiError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (parts, body) = req.into_parts();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the body is larger than the {} bytes this service accepts",
                s.max_body
            ),
        )
    };
    if parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > s.max_body as u64)
    {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, s.max_body)
        .await
        .map_err(|_| too_large())?;
    if !multipart {
        return Ok(vec![(None, bytes)]);
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("not a multipart form: {}", e.body_text())))?;
    let mut files = Vec::new();
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart form: {}", e.body_text())))?;
        let Some(field) = field else { break };
        let name = field.file_name().map(str::to_owned);
        let data = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart form: {}", e.body_text())))?;
        files.push((name, data));
    }
    if files.is_empty() {
        return Err(
            ApiError::bad_request("the multipart form carries no file").with_code("empty_body")
        );
    }
    Ok(files)
}

fn refused(e: Submit, stage: &str) -> ApiError {
    match e {
        Submit::Full => {
            ApiError::overloaded(format!("the {stage} queue is full: try again shortly"), 1)
        }
        Submit::Stopped => ApiError::internal(format!("the {stage} worker has stopped")),
    }
}

/// The whole pipeline for one upload.
async fn predict_one(
    s: &Arc<AppState>,
    bytes: Bytes,
    name: &str,
    w: Wanted,
) -> Result<Prediction, ApiError> {
    let t0 = Instant::now();
    let limits = s.limits;
    let owned = name.to_owned();
    let permit = s
        .decoding
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the decoder pool is closed"))?;
    let Decoded { image, info } =
        tokio::task::spawn_blocking(move || decode(&bytes, &owned, &limits))
            .await
            .map_err(|e| ApiError::internal(format!("decoding stopped: {e}")))??;
    drop(permit);
    let decode_s = t0.elapsed().as_secs_f64();
    s.metrics.stage("decode", decode_s);
    let seg = s
        .engine
        .segment(image)
        .await
        .map_err(|e| refused(e, "segmenter"))?
        .map_err(|e| ApiError::internal(format!("{name}: segmentation failed: {e}")))?;
    s.metrics.stage("segment", seg.seconds);
    let mut timings = Timings {
        decode_ms: decode_s * 1e3,
        segment_queue_ms: seg.queued * 1e3,
        segment_ms: seg.seconds * 1e3,
        ..Timings::default()
    };
    let gate = Gate {
        accepted: seg.qc.verdict.is_accept(),
        verdict: seg.qc.verdict.code().to_owned(),
        reason: seg.qc.verdict.reason().map(ToString::to_string),
        lungs_found: seg.qc.lungs_found,
        lung_fraction: f64::from(seg.qc.lung_fraction),
        near_cut: seg.qc.near_cut(&s.model.gate.options()),
    };
    let image = Arc::new(seg.image);
    let mask = Arc::new(seg.mask);
    let (mut probabilities, mut batch_size) = (None, None);
    if gate.accepted {
        let c = s
            .engine
            .classify(image.clone(), mask.clone())
            .await
            .map_err(|e| refused(e, "classifier"))?
            .map_err(|e| ApiError::internal(format!("{name}: classification failed: {e}")))?;
        s.metrics.stage("queue", c.queued);
        s.metrics.stage("classify", c.seconds);
        timings.classify_queue_ms = c.queued * 1e3;
        timings.classify_ms = c.seconds * 1e3;
        let p: Vec<f64> = c.probabilities.iter().map(|&v| f64::from(v)).collect();
        probabilities = Some(ClassProbabilities::from_slice(&p));
        batch_size = Some(c.batch_size);
    }
    let overlays = if w.mask || w.saliency {
        Some(overlays(s, &image, &mask, probabilities.as_ref(), w, &mut timings).await?)
    } else {
        None
    };
    timings.total_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(Prediction {
        model_id: s.model.id.clone(),
        image: info,
        gate,
        predicted_class: probabilities.map(|p| p.argmax().as_str().to_owned()),
        decisions: probabilities
            .map(|p| decisions(&s.model.operating_points, &p))
            .unwrap_or_default(),
        probabilities,
        batch_size,
        overlays,
        timings,
    })
}

async fn overlays(
    s: &Arc<AppState>,
    image: &Arc<GrayImage>,
    mask: &Arc<LungMask>,
    probabilities: Option<&ClassProbabilities>,
    w: Wanted,
    timings: &mut Timings,
) -> Result<Overlays, ApiError> {
    let b64 = |png: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(png);
    let saliency = match (w.saliency, probabilities) {
        (true, Some(p)) => {
            let m = s
                .engine
                .saliency(image.clone(), mask.clone(), p.argmax().index())
                .await
                .map_err(|e| refused(e, "classifier"))?
                .map_err(|e| ApiError::internal(format!("saliency failed: {e}")))?;
            s.metrics.stage("saliency", m.seconds);
            timings.saliency_ms = Some(m.seconds * 1e3);
            Some(m)
        }
        _ => None,
    };
    let (image, mask) = (image.clone(), mask.clone());
    let method = s.engine.saliency_method().to_owned();
    tokio::task::spawn_blocking(move || -> Result<Overlays, ApiError> {
        let enc = |e: cxr_report::Error| ApiError::internal(cxr_core::error_chain(&e));
        let mut png = Vec::new();
        cxr_core::encode_png(&mut png, &image)
            .map_err(|e| ApiError::internal(format!("PNG encoding: {e}")))?;
        Ok(Overlays {
            image_png: Some(b64(png)),
            mask_png: if w.mask {
                Some(b64(cxr_report::layers::mask_layer_png(&mask).map_err(enc)?))
            } else {
                None
            },
            saliency_method: saliency.as_ref().map(|_| method),
            saliency_png: match saliency {
                Some(m) => Some(b64(cxr_report::layers::heat_layer_png(
                    m.width, m.height, &m.values,
                )
                .map_err(enc)?)),
                None => None,
            },
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("overlays stopped: {e}")))?
}

fn decisions(points: &[OperatingPoint], p: &ClassProbabilities) -> Vec<Decision> {
    let a = p.as_array();
    points
        .iter()
        .filter_map(|op| {
            let l: Label = op.class.parse().ok()?;
            Some(Decision {
                class: op.class.clone(),
                cutoff: op.cutoff,
                positive: a[l.index()] >= op.cutoff,
            })
        })
        .collect()
}

fn admit(s: &Arc<AppState>) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    if !s.engine.ready() {
        return Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the model is still warming up",
            )
        });
    }
    s.inflight
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::overloaded("too many requests in progress: try again shortly", 1))
}

/// Predicts one image.
#[utoipa::path(
    post,
    path = "/v1/predict",
    request_body(
        content = Upload,
        content_type = "application/octet-stream",
        description = "A PNG, JPEG, TIFF, BMP, WebP or DICOM file as the raw body, or as the one file of a multipart/form-data form; recognised by its content, whatever its name or Content-Type."
    ),
    params(("overlays" = Option<String>, Query, description = "Comma-separated: `mask`, `saliency`. Adds the overlays as base64 PNGs.")),
    responses(
        (status = 200, description = "The gate's verdict and, when it accepted the image, the probabilities and decisions.", body = Prediction),
        (status = 400, description = "Empty body, bad form or bad query.", body = ErrorBody),
        (status = 401, description = "Missing or wrong token.", body = ErrorBody),
        (status = 413, description = "Body over the size limit.", body = ErrorBody),
        (status = 415, description = "Not a PNG, JPEG, TIFF, BMP, WebP or DICOM image.", body = ErrorBody),
        (status = 422, description = "An image that cannot be used: truncated, colour, multi-frame, without pixel data, too small or too large.", body = ErrorBody),
        (status = 503, description = "Overloaded or warming up; see Retry-After.", body = ErrorBody),
    )
)]
async fn predict(
    State(s): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<Prediction>, ApiError> {
    let _permit = admit(&s)?;
    let w = wanted(req.uri().query())?;
    let mut files = uploads(&s, req).await?;
    if files.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "{} files sent: /v1/predict takes one (use /v1/predict/batch for several)",
            files.len()
        )));
    }
    let (name, bytes) = files.remove(0);
    let name = name.unwrap_or_else(|| "upload".into());
    Ok(Json(predict_one(&s, bytes, &name, w).await?))
}

/// Predicts several images of one patient-day and averages them.
#[utoipa::path(
    post,
    path = "/v1/predict/batch",
    request_body(
        content = Upload,
        content_type = "multipart/form-data",
        description = "A multipart/form-data form with one file part per image (PNG, JPEG, TIFF, BMP, WebP or DICOM)."
    ),
    params(("overlays" = Option<String>, Query, description = "As for /v1/predict, for every image.")),
    responses(
        (status = 200, description = "Every image's result or error, and the average of those accepted.", body = BatchPrediction),
        (status = 400, description = "No file, bad form, bad query or too many images.", body = ErrorBody),
        (status = 401, description = "Missing or wrong token.", body = ErrorBody),
        (status = 413, description = "Body over the size limit.", body = ErrorBody),
        (status = 503, description = "Overloaded or warming up; see Retry-After.", body = ErrorBody),
    )
)]
async fn predict_batch(
    State(s): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<BatchPrediction>, ApiError> {
    let t0 = Instant::now();
    let _permit = admit(&s)?;
    let w = wanted(req.uri().query())?;
    let files = uploads(&s, req).await?;
    if files.len() > s.max_batch_images {
        return Err(ApiError::bad_request(format!(
            "{} images sent, at most {} per request",
            files.len(),
            s.max_batch_images
        )));
    }
    let futures = files.into_iter().enumerate().map(|(i, (name, bytes))| {
        let s = s.clone();
        async move {
            let label = name.clone().unwrap_or_else(|| format!("image {}", i + 1));
            let r = predict_one(&s, bytes, &label, w).await;
            (i, name, r)
        }
    });
    let results = futures_join(futures).await;
    let mut images = Vec::new();
    let mut accepted = Vec::new();
    for (index, name, r) in results {
        match r {
            Ok(p) => {
                if let Some(pr) = p.probabilities {
                    accepted.push(pr.as_array());
                }
                images.push(BatchItem {
                    index,
                    name,
                    prediction: Some(p),
                    error: None,
                });
            }
            Err(e) => images.push(BatchItem {
                index,
                name,
                prediction: None,
                error: Some(e.body()),
            }),
        }
    }
    let probabilities = same_day_average(&accepted).map(|p| ClassProbabilities::from_slice(&p));
    Ok(Json(BatchPrediction {
        model_id: s.model.id.clone(),
        accepted: accepted.len(),
        predicted_class: probabilities.map(|p| p.argmax().as_str().to_owned()),
        decisions: probabilities
            .map(|p| decisions(&s.model.operating_points, &p))
            .unwrap_or_default(),
        probabilities,
        images,
        total_ms: t0.elapsed().as_secs_f64() * 1e3,
    }))
}

/// Runs the futures concurrently on the runtime and returns their outputs in order.
async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// The paper's same-day average, through the evaluation's own aggregation (one unit:
/// one patient, one day).
fn same_day_average(probs: &[[f64; Label::COUNT]]) -> Option<Vec<f64>> {
    use cxr_eval::aggregate::{Grouping, ImagePrediction, aggregate};
    if probs.is_empty() {
        return None;
    }
    let images: Vec<ImagePrediction> = probs
        .iter()
        .enumerate()
        .map(|(i, p)| ImagePrediction {
            patient_id: "request".into(),
            study_date: None,
            image_id: i.to_string(),
            // The label is unknown and unused: only the probabilities are averaged.
            label: Label::Healthy,
            probs: *p,
        })
        .collect();
    let a = aggregate(&images, Grouping::Patient);
    a.units.first().map(|u| u.probs.to_vec())
}

/// What is served.
#[utoipa::path(
    get,
    path = "/v1/model",
    responses(
        (status = 200, description = "The model served.", body = ModelInfo),
        (status = 401, description = "Missing or wrong token.", body = ErrorBody),
    )
)]
async fn model(State(s): State<Arc<AppState>>) -> Json<ModelInfo> {
    Json(s.model.clone())
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Up.", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The models are loaded and warmed up.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready.", body = Health),
        (status = 503, description = "Still warming up.", body = Health),
    )
)]
async fn readyz(State(s): State<Arc<AppState>>) -> (StatusCode, Json<Health>) {
    if s.engine.ready() {
        (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "warming_up".into(),
            }),
        )
    }
}

/// Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "Prometheus text format 0.0.4.", body = String, content_type = "text/plain"))
)]
async fn metrics_text(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn page() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(crate::page::INDEX_HTML),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_query() {
        assert_eq!(wanted(None).unwrap(), Wanted::default());
        let w = wanted(Some("overlays=mask,saliency")).unwrap();
        assert!(w.mask && w.saliency);
        let w = wanted(Some("overlays=mask%2Csaliency")).unwrap();
        assert!(w.mask && w.saliency);
        assert_eq!(
            wanted(Some("overlays=heat")).unwrap_err().code,
            "bad_request"
        );
        assert_eq!(wanted(Some("x=1")).unwrap_err().code, "bad_request");
    }

    #[test]
    fn same_day_average_is_the_mean() {
        let p = same_day_average(&[[0.2, 0.7, 0.1], [0.4, 0.5, 0.1]]).unwrap();
        for (a, b) in p.iter().zip([0.3, 0.6, 0.1]) {
            assert!((a - b).abs() < 1e-12, "{p:?}");
        }
        assert!(same_day_average(&[]).is_none());
    }

    #[test]
    fn decisions_at_cutoffs() {
        let ops = vec![OperatingPoint {
            class: "covid".into(),
            cutoff: 0.4,
            criterion: "youden".into(),
            sensitivity: 0.9,
            specificity: 0.9,
            auc: 0.95,
        }];
        let p = ClassProbabilities {
            healthy: 0.5,
            covid: 0.4,
            bacterial: 0.1,
        };
        let d = decisions(&ops, &p);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].positive,
            "probability equal to the cut-off is positive"
        );
        assert_eq!(p.argmax(), Label::Healthy);
    }
}
