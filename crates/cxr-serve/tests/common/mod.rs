//! What the service's tests share: one tiny experiment folder (segmenter, classifier,
//! evaluation) trained once per test binary, a service on 127.0.0.1:0, and an HTTP client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cxr_classifier::data::examples_with_mask_column;
use cxr_classifier::infer::predict_records;
use cxr_classifier::{Classifier, ClassifierConfig, TrainConfig, train};
use cxr_lungseg::qc::QcOptions;
use cxr_serve::{Backend, ServeConfig, Service};
use cxr_synth::{CohortPlan, SynthConfig, plan_cases, write_cohort};
use serde_json::Value;
use tch::Device;

pub struct Fixture {
    /// The experiment folder: classifier/, segmenter/, evaluation/metrics.json.
    pub exp: PathBuf,
    /// Phantom PNGs of the cohort.
    pub images: Vec<PathBuf>,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // A `static` is never dropped: a TempDir here would never be removed.
        let dir =
            cxr_synth::fixture::shared_dir(env!("CARGO_TARGET_TMPDIR").as_ref(), "serve").unwrap();
        let exp = dir.join("exp");
        let plan = CohortPlan::one_class_per_source(10);
        let synth = SynthConfig::with_size(96);
        let cases = plan_cases(&plan, &synth, 5).unwrap();
        let cohort = dir.join("cohort");
        let files = write_cohort(&cohort, &cases, &synth, None).unwrap();
        let records = cxr_core::manifest::read_records(&files.records_csv).unwrap();
        let (examples, bad) = examples_with_mask_column(&records, &cohort);
        assert!(bad.is_empty());

        // Segmenter: one epoch of a tiny network (the tests' gate lets everything in).
        let pairs: Vec<_> = examples
            .iter()
            .take(8)
            .map(|e| {
                let (img, mask) = e.load().unwrap();
                (img, mask.to_binary())
            })
            .collect();
        let seg_cfg = cxr_lungseg::SegTrainConfig {
            model: cxr_lungseg::SegmenterConfig::tiny(64),
            epochs: 1,
            batch_size: 4,
            workers: 1,
            average_last: 0,
            ..Default::default()
        };
        cxr_lungseg::train(
            &exp.join("segmenter"),
            Arc::new(cxr_lungseg::InMemory(pairs)),
            &seg_cfg,
            Device::Cpu,
            false,
        )
        .unwrap();

        let config = TrainConfig {
            model: ClassifierConfig::tiny(80),
            epochs: 2,
            batch_size: 10,
            augment: cxr_nn::AugmentConfig::none(),
            workers: 1,
            validation_fraction: 0.2,
            ..TrainConfig::cpu_small()
        };
        train(
            &exp.join("classifier"),
            &examples,
            &config,
            Device::Cpu,
            false,
        )
        .unwrap();

        // An evaluation of the run, so that operating points are served.
        let clf = Classifier::load(&exp.join("classifier"), Device::Cpu).unwrap();
        let (rows, rejected) = predict_records(&clf, &examples, &records, 8, None).unwrap();
        assert!(rejected.is_empty());
        let predictions = dir.join("predictions.csv");
        cxr_eval::write_predictions(&predictions, &rows).unwrap();
        let mut evaluate = cxr_eval::evaluate::EvaluateOptions::default();
        evaluate.bootstrap.rounds = 50;
        cxr_report::evaluate::run(&cxr_report::evaluate::Options {
            predictions,
            out: exp.join("evaluation"),
            evaluate,
        })
        .unwrap();
        let images = examples.iter().map(|e| e.image.clone()).collect();
        Fixture { exp, images }
    })
}

/// A permissive gate, so that the tiny segmenter's masks are classified.
pub fn open_gate() -> QcOptions {
    QcOptions {
        min_lungs: 0,
        min_fraction: 0.0,
    }
}

pub fn config() -> ServeConfig {
    let mut c = ServeConfig::new(&fixture().exp);
    c.backend = Backend::Torch(Device::Cpu);
    c.qc = open_gate();
    c.limits.min_side = 8;
    c.max_wait = Duration::from_millis(30);
    c
}

/// A service on 127.0.0.1:0 in a runtime of its own; stops when dropped.
pub struct Server {
    pub base: String,
    pub _stop: tokio::sync::oneshot::Sender<()>,
    pub service: Service,
}

pub fn start(config: ServeConfig) -> Server {
    let service = Service::start(config).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let s = service.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            s.serve(listener, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    let server = Server {
        base: format!("http://{addr}"),
        _stop: stop_tx,
        service,
    };
    for _ in 0..600 {
        if server.service.state().engine.ready() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the service did not warm up in 30 s");
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub struct Answer {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub json: Value,
}

pub fn post(
    s: &Server,
    path: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
) -> Answer {
    let mut req = agent()
        .post(format!("{}{path}", s.base))
        .header("Content-Type", content_type);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut r = req.send(body).unwrap();
    answer(&mut r)
}

pub fn get(s: &Server, path: &str) -> (u16, String) {
    let mut r = agent().get(format!("{}{path}", s.base)).call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

pub fn answer(r: &mut ureq::http::Response<ureq::Body>) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"));
    Answer {
        status,
        headers,
        json,
    }
}

pub fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "cxr-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Validates `instance` against `#/components/schemas/{name}` of the published document.
pub fn check_schema(doc: &Value, name: &str, instance: &Value) {
    let schema = serde_json::json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{instance:#}");
}

pub fn openapi(s: &Server) -> Value {
    let (status, text) = get(s, "/openapi.json");
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    // Every endpoint of the API is documented.
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in [
        "/v1/predict",
        "/v1/predict/batch",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.iter().any(|q| q.as_str() == p),
            "{p} not in {paths:?}"
        );
    }
    doc
}

pub fn dicom_fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cxr-dicom/tests/fixtures")
        .join(name);
    std::fs::read(p).unwrap()
}

pub fn dicom_bad(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cxr-dicom/tests/bad")
        .join(name);
    std::fs::read(p).unwrap()
}

pub fn png_bytes(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
