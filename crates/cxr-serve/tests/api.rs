//! The service over real HTTP on 127.0.0.1: every endpoint, every bad input the issue
//! lists, batching, overload, the token, and every JSON answer checked against the
//! OpenAPI document the service publishes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use cxr_classifier::Classifier;
use cxr_core::Label;
use cxr_lungseg::qc::QcOptions;
use cxr_serve::{Backend, ServeConfig};
use serde_json::Value;
use tch::Device;

#[test]
fn predictions_match_the_pipeline_and_the_published_schema() {
    let f = fixture();
    let s = start(config());
    let doc = openapi(&s);
    // The pipeline in-process, with the same run and gate: the reference answer.
    let mut pipeline = cxr_classifier::Pipeline::new(
        cxr_lungseg::Segmenter::load(&f.exp.join("segmenter"), Device::Cpu).unwrap(),
        Classifier::load(&f.exp.join("classifier"), Device::Cpu).unwrap(),
    );
    pipeline.qc = open_gate();
    for path in &f.images[..3] {
        let bytes = std::fs::read(path).unwrap();
        let a = post(&s, "/v1/predict", "image/png", &bytes, None);
        assert_eq!(a.status, 200, "{}", a.json);
        check_schema(&doc, "Prediction", &a.json);
        let want = pipeline.run(path).unwrap().probabilities.unwrap();
        for (i, l) in Label::ALL.iter().enumerate() {
            let got = a.json["probabilities"][l.as_str()].as_f64().unwrap();
            assert!(
                (got - f64::from(want[i])).abs() < 1e-5,
                "{l}: {got} vs {}",
                want[i]
            );
        }
        assert_eq!(a.json["image"]["format"], "png");
        assert_eq!(a.json["image"]["columns"], 96);
        assert_eq!(a.json["gate"]["accepted"], true);
        // One decision per class evaluated, at the evaluation's cut-offs.
        let ds = a.json["decisions"].as_array().unwrap();
        assert_eq!(ds.len(), 3);
        for d in ds {
            let c = d["class"].as_str().unwrap();
            let p = a.json["probabilities"][c].as_f64().unwrap();
            assert_eq!(
                d["positive"].as_bool().unwrap(),
                p >= d["cutoff"].as_f64().unwrap()
            );
        }
        assert!(a.json["timings"]["total_ms"].as_f64().unwrap() > 0.0);
    }
    // The same file as multipart gives the same numbers.
    let bytes = std::fs::read(&f.images[0]).unwrap();
    let raw = post(&s, "/v1/predict", "application/octet-stream", &bytes, None);
    let (ct, body) = multipart(&[("a.png", &bytes)]);
    let form = post(&s, "/v1/predict", &ct, &body, None);
    assert_eq!(form.status, 200, "{}", form.json);
    assert_eq!(raw.json["probabilities"], form.json["probabilities"]);

    // The same pixels as TIFF, BMP and lossless WebP: recognised by content, named, and
    // answered with the PNG's numbers.
    let img = image::load_from_memory(&bytes).unwrap();
    for (format, name) in [
        (image::ImageFormat::Tiff, "tiff"),
        (image::ImageFormat::Bmp, "bmp"),
        (image::ImageFormat::WebP, "webp"),
    ] {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        let a = post(&s, "/v1/predict", "image/png", &out.into_inner(), None);
        assert_eq!(a.status, 200, "{name}: {}", a.json);
        assert_eq!(a.json["image"]["format"], name);
        assert_eq!(a.json["probabilities"], raw.json["probabilities"], "{name}");
    }

    // A phone or a viewer's export stores the pixels on their side and says so in EXIF
    // (here orientation 8: turn 270 degrees clockwise to show). Analysed as shown: the
    // numbers of the upright file, its size, and the returned image upright.
    let upright = image::load_from_memory(&bytes)
        .unwrap()
        .crop_imm(0, 0, 96, 90)
        .to_luma8();
    let sideways = exif_png(&image::imageops::rotate90(&upright), 8);
    let turned = post(
        &s,
        "/v1/predict?overlays=mask",
        "image/png",
        &sideways,
        None,
    );
    assert_eq!(turned.status, 200, "{}", turned.json);
    assert_eq!(turned.json["image"]["columns"], 96);
    assert_eq!(turned.json["image"]["rows"], 90);
    let shown = overlay_png(&turned.json, "image_png").to_luma8();
    assert_eq!(shown, upright);
    let plain = png_bytes(&image::DynamicImage::ImageLuma8(upright));
    let plain = post(&s, "/v1/predict", "image/png", &plain, None);
    assert_eq!(plain.status, 200, "{}", plain.json);
    assert_eq!(turned.json["probabilities"], plain.json["probabilities"]);

    // DICOM, recognised by content whatever the Content-Type says.
    let a = post(
        &s,
        "/v1/predict",
        "image/png",
        &dicom_fixture("big_endian.dcm"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.json);
    check_schema(&doc, "Prediction", &a.json);
    assert_eq!(a.json["image"]["format"], "dicom");
    assert!(a.json["image"]["photometric_interpretation"].is_string());
    // Privacy: no tag beyond the four the page needs (and the cautions, none here).
    let keys: Vec<&String> = a.json["image"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(a.json["image"]["cautions"], serde_json::json!([]));
    // Raw detector data with text burned in: analysed, and the answer says both.
    let a = post(
        &s,
        "/v1/predict",
        "application/dicom",
        &dicom_fixture("dx_for_processing.dcm"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.json);
    check_schema(&doc, "Prediction", &a.json);
    let codes: Vec<&str> = a.json["image"]["cautions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["for_processing", "burned_in_annotation"]);
    assert!(
        a.json["image"]["cautions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("FOR PROCESSING")
    );

    // Overlays: the image, the mask and the saliency map at the image's size.
    let a = post(
        &s,
        "/v1/predict?overlays=mask,saliency",
        "image/png",
        &bytes,
        None,
    );
    assert_eq!(a.status, 200, "{}", a.json);
    check_schema(&doc, "Prediction", &a.json);
    for key in ["image_png", "mask_png", "saliency_png"] {
        let img = overlay_png(&a.json, key);
        assert_eq!((img.width(), img.height()), (96, 96), "{key}");
    }
    assert_eq!(a.json["overlays"]["saliency_method"], "vanilla");
    assert!(a.json["timings"]["saliency_ms"].as_f64().unwrap() > 0.0);

    // The model, health and metrics.
    let (status, text) = get(&s, "/v1/model");
    assert_eq!(status, 200);
    let m: Value = serde_json::from_str(&text).unwrap();
    check_schema(&doc, "ModelInfo", &m);
    assert_eq!(
        m["classes"],
        serde_json::json!(["healthy", "covid", "bacterial"])
    );
    assert_eq!(m["classifier"]["input_size"], 80);
    // What it was trained on: the fixture's phantoms (10 per source; 20 % of patients
    // held out for validation count too), said plainly.
    let t = &m["classifier"]["training_data"];
    assert_eq!(t["images"], t["synthetic_images"]);
    assert_eq!(t["images"].as_u64(), Some(f.images.len() as u64));
    assert_eq!(
        t["sources"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum::<u64>(),
        f.images.len() as u64
    );
    assert!(
        t["summary"]
            .as_str()
            .unwrap()
            .starts_with("This model was trained on synthetic phantoms only"),
        "{t}"
    );
    // Where it was trained: the fixture's classifier run, on this machine, once.
    let sessions = cxr_nn::files::read_sessions(&fixture().exp.join("classifier")).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        m["classifier"]["trained_with"],
        sessions[0].environment.summary()
    );
    // The validation numbers of the epoch with the lowest validation loss.
    let epochs = cxr_classifier::train::read_metrics(&fixture().exp.join("classifier")).unwrap();
    let best = epochs
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
        .unwrap();
    assert_eq!(
        m["classifier"]["validation_accuracy"].as_f64(),
        Some(best.val_accuracy)
    );
    assert_eq!(
        m["classifier"]["validation_epoch"].as_u64(),
        Some(best.epoch as u64)
    );
    assert_eq!(m["operating_points"].as_array().unwrap().len(), 3);
    assert!(m["id"].as_str().unwrap().starts_with("exp-"));
    assert_eq!(m["research_use_only"], true);
    assert_eq!(
        (&m["backend"], &m["device"]),
        (&"libtorch".into(), &"cpu".into())
    );
    let (status, text) = get(&s, "/readyz");
    assert_eq!((status, text.as_str()), (200, r#"{"status":"ready"}"#));
    let (status, text) = get(&s, "/healthz");
    assert_eq!((status, text.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, text) = get(&s, "/metrics");
    assert_eq!(status, 200);
    assert!(
        text.contains("cxr_requests_total{endpoint=\"/v1/predict\",status=\"200\"} 13\n"),
        "{text}"
    );
    assert!(
        text.contains("cxr_stage_seconds_count{stage=\"segment\"} 13\n"),
        "{text}"
    );
    assert!(
        text.contains("cxr_queue_depth{queue=\"classify\"} 0\n"),
        "{text}"
    );
    // The page.
    let (status, page) = get(&s, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Research use only"));
}

/// `Backend::Pure` (cxr-infer, no libtorch) answers as libtorch does: the same gate and
/// mask, probabilities within 1e-4, saliency overlays within one level of 255, the same
/// model id; only `backend` differs.
#[test]
fn the_pure_backend_answers_as_libtorch_does() {
    let f = fixture();
    let torch = start(config());
    let pure = start(ServeConfig {
        backend: Backend::Pure,
        ..config()
    });
    let doc = openapi(&pure);
    let png = |a: &Answer, key: &str| overlay_png(&a.json, key).to_rgba8();
    let mut inputs: Vec<Vec<u8>> = f.images[..4]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    inputs.push(dicom_fixture("big_endian.dcm"));
    for (i, bytes) in inputs.iter().enumerate() {
        let path = "/v1/predict?overlays=mask,saliency";
        let (a, b) = (
            post(&torch, path, "application/octet-stream", bytes, None),
            post(&pure, path, "application/octet-stream", bytes, None),
        );
        assert_eq!((a.status, b.status), (200, 200), "{}", b.json);
        check_schema(&doc, "Prediction", &b.json);
        assert_eq!(a.json["gate"], b.json["gate"], "image {i}");
        assert_eq!(png(&a, "mask_png"), png(&b, "mask_png"), "image {i}");
        for l in Label::ALL {
            let p = |x: &Answer| x.json["probabilities"][l.as_str()].as_f64().unwrap();
            assert!(
                (p(&a) - p(&b)).abs() < 1e-4,
                "image {i} {l}: {} vs {}",
                p(&a),
                p(&b)
            );
        }
        assert_eq!(a.json["predicted_class"], b.json["predicted_class"]);
        assert_eq!(a.json["decisions"], b.json["decisions"]);
        let (sa, sb) = (png(&a, "saliency_png"), png(&b, "saliency_png"));
        let worst = sa
            .as_raw()
            .iter()
            .zip(sb.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap();
        assert!(
            worst <= 1,
            "image {i}: saliency overlays differ by {worst} levels"
        );
        assert!(
            sa.as_raw().iter().any(|&v| v > 0),
            "an empty overlay tests nothing"
        );
    }
    let model = |s: &Server| -> Value { serde_json::from_str(&get(s, "/v1/model").1).unwrap() };
    let (a, b) = (model(&torch), model(&pure));
    check_schema(&doc, "ModelInfo", &b);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(
        (&b["backend"], &b["device"]),
        (&"candle".into(), &"cpu".into())
    );
    assert_eq!(a["classifier"], b["classifier"]);
    assert_eq!(a["operating_points"], b["operating_points"]);
}

#[test]
fn every_bad_input_gets_its_status_and_code_and_the_service_keeps_serving() {
    let f = fixture();
    let s = start(config());
    let doc = openapi(&s);
    let good = std::fs::read(&f.images[0]).unwrap();
    let jpeg = {
        let img = image::open(&f.images[0]).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    let tiff = {
        let img = image::open(&f.images[0]).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Tiff).unwrap();
        out.into_inner()
    };
    // A PNG declaring 60,000 × 60,000 pixels: its header only (a decompression bomb).
    let bomb = {
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&60_000u32.to_be_bytes());
        ihdr.extend_from_slice(&60_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        p.extend_from_slice(&13u32.to_be_bytes());
        p.extend_from_slice(&ihdr);
        p.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        p
    };
    let photo = png_bytes(&image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(
        96,
        96,
        |x, y| image::Rgb([(x * 2) as u8, 200, (y * 2) as u8]),
    )));
    let one_pixel = png_bytes(&image::DynamicImage::ImageLuma8(image::GrayImage::new(
        1, 1,
    )));
    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        ("empty body", vec![], 400, "empty_body", "empty"),
        (
            "text",
            b"hello, not an image".to_vec(),
            415,
            "unsupported_media_type",
            "not a PNG, JPEG, TIFF, BMP, WebP or DICOM image",
        ),
        (
            "a JPEG 2000 file",
            b"\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14ftypjp2 ".to_vec(),
            415,
            "unsupported_media_type",
            "not a PNG, JPEG, TIFF, BMP, WebP or DICOM image",
        ),
        (
            "truncated TIFF",
            tiff[..tiff.len() / 2].to_vec(),
            422,
            "truncated_image",
            "the TIFF ends",
        ),
        (
            "truncated PNG",
            good[..good.len() / 2].to_vec(),
            422,
            "truncated_image",
            "upload",
        ),
        (
            "truncated JPEG",
            jpeg[..jpeg.len() / 2].to_vec(),
            422,
            "truncated_image",
            "truncated JPEG",
        ),
        (
            "truncated DICOM",
            dicom_bad("short_pixel_data.dcm"),
            422,
            "truncated_image",
            "upload",
        ),
        (
            "DICOM without pixel data",
            dicom_bad("no_pixel_data.dcm"),
            422,
            "no_pixel_data",
            "no Pixel Data",
        ),
        (
            "a disc's structured report",
            std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../cxr-dicom/tests/media/DICOM/IM000002"),
            )
            .unwrap(),
            422,
            "no_pixel_data",
            "a structured report, not an image",
        ),
        (
            "multi-frame DICOM",
            dicom_fixture("multiframe.dcm"),
            422,
            "multi_frame",
            "frames",
        ),
        (
            "RGB DICOM",
            dicom_fixture("rgb.dcm"),
            422,
            "colour_image",
            "colour",
        ),
        ("colour PNG", photo, 422, "colour_image", "colour"),
        ("1 × 1 pixel", one_pixel, 422, "image_too_small", "1 × 1"),
        (
            "60,000 × 60,000 declared",
            bomb,
            422,
            "image_too_large",
            "60000 × 60000",
        ),
    ];
    for (what, body, status, code, words) in &cases {
        let a = post(&s, "/v1/predict", "application/octet-stream", body, None);
        assert_eq!(a.status, *status, "{what}: {}", a.json);
        assert_eq!(a.json["code"], *code, "{what}: {}", a.json);
        let msg = a.json["message"].as_str().unwrap();
        assert!(msg.contains(words), "{what}: {msg}");
        check_schema(&doc, "ErrorBody", &a.json);
        // And a good image right after is still answered.
        assert_eq!(
            post(&s, "/v1/predict", "image/png", &good, None).status,
            200,
            "after {what}"
        );
    }
    // Bad query, unknown endpoint, two files to the single endpoint.
    let a = post(&s, "/v1/predict?overlays=xray", "image/png", &good, None);
    assert_eq!(
        (a.status, a.json["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (ct, body) = multipart(&[("a.png", &good), ("b.png", &good)]);
    let a = post(&s, "/v1/predict", &ct, &body, None);
    assert_eq!(a.status, 400, "{}", a.json);
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("/v1/predict/batch")
    );
    let a = post(&s, "/v2/predict", "image/png", &good, None);
    assert_eq!(
        (a.status, a.json["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, text) = get(&s, "/metrics");
    assert_eq!(status, 200);
    assert!(
        text.contains("endpoint=\"/v1/predict\",status=\"422\"} 11\n"),
        "{text}"
    );
}

#[test]
fn size_limit_and_token() {
    let f = fixture();
    let good = std::fs::read(&f.images[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let mut c = config();
    c.max_body = 65_536;
    c.token = Some(cxr_serve::read_token(&token_file).unwrap());
    let s = start(c);
    let big = vec![7u8; 100_000];
    let a = post(&s, "/v1/predict", "image/png", &big, Some("s3cret-token"));
    assert_eq!(
        (a.status, a.json["code"].as_str()),
        (413, Some("body_too_large"))
    );
    assert!(a.json["message"].as_str().unwrap().contains("65536"));
    let a = post(&s, "/v1/predict", "image/png", &good, Some("wrong"));
    assert_eq!(
        (a.status, a.json["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let a = post(&s, "/v1/predict", "image/png", &good, None);
    assert_eq!(a.status, 401);
    let a = post(&s, "/v1/predict", "image/png", &good, Some("s3cret-token"));
    assert_eq!(a.status, 200, "{}", a.json);
    // Health stays open for probes; the model description does not.
    assert_eq!(get(&s, "/healthz").0, 200);
    assert_eq!(get(&s, "/v1/model").0, 401);
    std::fs::write(&token_file, "\n").unwrap();
    assert!(cxr_serve::read_token(&token_file).is_err());
}

#[test]
fn a_patient_day_is_averaged_and_bad_images_are_reported_in_place() {
    let f = fixture();
    let s = start(config());
    let doc = openapi(&s);
    let a = std::fs::read(&f.images[1]).unwrap();
    let b = std::fs::read(&f.images[2]).unwrap();
    let (ct, body) = multipart(&[("a.png", &a), ("junk.txt", b"not an image"), ("b.png", &b)]);
    let r = post(&s, "/v1/predict/batch", &ct, &body, None);
    assert_eq!(r.status, 200, "{}", r.json);
    check_schema(&doc, "BatchPrediction", &r.json);
    assert_eq!(r.json["accepted"], 2);
    let images = r.json["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[1]["error"]["code"], "unsupported_media_type");
    assert!(
        images[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("junk.txt")
    );
    for l in Label::ALL {
        let p = |i: usize| {
            images[i]["prediction"]["probabilities"][l.as_str()]
                .as_f64()
                .unwrap()
        };
        let mean = r.json["probabilities"][l.as_str()].as_f64().unwrap();
        assert!((mean - (p(0) + p(2)) / 2.0).abs() < 1e-12, "{l}");
    }
    // Too many images for one request.
    let many: Vec<(&str, &[u8])> = (0..17).map(|_| ("a.png", a.as_slice())).collect();
    let (ct, body) = multipart(&many);
    let r = post(&s, "/v1/predict/batch", &ct, &body, None);
    assert_eq!(r.status, 400, "{}", r.json);
}

#[test]
fn concurrent_requests_are_batched_and_overload_is_refused_not_queued() {
    let f = fixture();
    let good = Arc::new(std::fs::read(&f.images[0]).unwrap());
    let mut c = config();
    c.max_batch = 8;
    c.max_wait = Duration::from_millis(200);
    let s = Arc::new(start(c));
    let run = |n: usize, s: &Arc<Server>| -> Vec<Answer> {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (s, good) = (s.clone(), good.clone());
                std::thread::spawn(move || post(&s, "/v1/predict", "image/png", &good, None))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let answers = run(8, &s);
    assert!(answers.iter().all(|a| a.status == 200));
    let largest = answers
        .iter()
        .map(|a| a.json["batch_size"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(
        largest > 1,
        "no two of 8 concurrent requests shared a batch"
    );

    // One request at a time: the others are refused at once with Retry-After.
    let mut c = config();
    c.max_inflight = 1;
    c.max_wait = Duration::from_millis(300);
    let s = Arc::new(start(c));
    let answers = run(6, &s);
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(
        !refused.is_empty(),
        "none of 6 concurrent requests was refused"
    );
    assert!(answers.iter().any(|a| a.status == 200));
    for a in &refused {
        assert_eq!(a.json["code"], "overloaded");
        assert_eq!(a.headers.get("retry-after").unwrap(), "1");
    }
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 503));
    // Still serving.
    assert_eq!(
        post(&s, "/v1/predict", "image/png", &good, None).status,
        200
    );
}

#[test]
fn a_strict_gate_rejects_without_classifying() {
    let f = fixture();
    let mut c = config();
    c.qc = QcOptions {
        min_lungs: 2,
        min_fraction: 1.0,
    };
    let s = start(c);
    let good = std::fs::read(&f.images[0]).unwrap();
    let a = post(&s, "/v1/predict", "image/png", &good, None);
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["gate"]["accepted"], false);
    assert!(a.json["probabilities"].is_null());
    assert!(a.json["decisions"].as_array().unwrap().is_empty());
    assert!(
        a.json["gate"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("lungs")
    );
}

/// A verdict within a percentage point of the gate's cut says so, either side of it; one
/// further away does not.
#[test]
fn a_verdict_near_the_cut_says_so() {
    let f = fixture();
    let mut pipeline = cxr_classifier::Pipeline::new(
        cxr_lungseg::Segmenter::load(&f.exp.join("segmenter"), Device::Cpu).unwrap(),
        Classifier::load(&f.exp.join("classifier"), Device::Cpu).unwrap(),
    );
    pipeline.qc = open_gate();
    let share = pipeline.run(&f.images[0]).unwrap().qc.lung_fraction;
    let far = if share > 0.1 {
        share - 0.05
    } else {
        share + 0.05
    };
    let good = std::fs::read(&f.images[0]).unwrap();
    for (cut, near) in [(share + 0.008, true), (share - 0.008, true), (far, false)] {
        let mut c = config();
        c.qc.min_fraction = cut;
        let s = start(c);
        let a = post(&s, "/v1/predict", "image/png", &good, None);
        assert_eq!(a.status, 200, "{}", a.json);
        let gate = &a.json["gate"];
        assert_eq!(gate["near_cut"], near, "cut {cut}, share {share}: {gate}");
        assert_eq!(gate["accepted"], share >= cut, "{gate}");
        assert_eq!(gate["lung_fraction"], f64::from(share));
    }
}

/// CRC-32 (IEEE) for the PNG chunk of the bomb.
/// An overlay of a prediction, decoded.
fn overlay_png(prediction: &Value, key: &str) -> image::DynamicImage {
    use base64::Engine as _;
    let b64 = prediction["overlays"][key].as_str().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    image::load_from_memory(&png).unwrap()
}

/// An 8-bit PNG whose eXIf chunk carries only an Orientation tag (TIFF, big-endian).
fn exif_png(img: &image::GrayImage, orientation: u8) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut exif = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    exif.extend([0, orientation, 0, 0, 0, 0, 0, 0]);
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}
