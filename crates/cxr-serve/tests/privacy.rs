//! What the service lets out about a patient: nothing in its logs (no file name, no DICOM
//! tag value), and in its answers no DICOM attribute beyond the four a person needs to
//! recognise the image. Every log line of the process at every level (the server, axum,
//! hyper, tokio, libtorch's wrappers), but the test client's, is captured. Its own test
//! binary, so that the capture sees only this service.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn neither_logs_nor_answers_carry_what_identifies_a_patient() {
    let log = Captured::default();
    let writer = log.clone();
    // Everything at every level, but the test's own HTTP client (it traces what it sends).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,ureq=off,ureq_proto=off",
        ))
        .with_writer(move || writer.clone())
        .init();
    let f = fixture();
    let s = start(config());
    let png = std::fs::read(&f.images[0]).unwrap();
    let dcm = dicom_fixture("big_endian.dcm");
    // What the DICOM file says about its patient and study (tests/fixtures' generator):
    // patient ID, birth date, study date, SOP Instance UID.
    let secrets = ["P-big_endian", "19750102", "20200415", "2457758399"];
    let uploads: Vec<(&str, Vec<u8>)> = vec![
        ("SECRET-doe-jane.png", png.clone()),
        ("SECRET-doe-jane.dcm", dcm.clone()),
        ("SECRET-broken.png", png[..png.len() / 2].to_vec()),
        ("SECRET-report.dcm", dicom_bad("no_pixel_data.dcm")),
        ("SECRET-notes.txt", b"not an image".to_vec()),
    ];
    for (name, body) in &uploads {
        let (ct, form) = multipart(&[(name, body)]);
        let a = post(&s, "/v1/predict?overlays=mask", &ct, &form, None);
        let text = a.json.to_string();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{name}: the answer carries {secret}: {text}"
            );
        }
        if a.status == 200 {
            let image = a.json["image"].as_object().unwrap();
            let keys: Vec<&str> = image.keys().map(String::as_str).collect();
            // `cautions` holds fixed codes and sentences, never a header's text.
            assert_eq!(
                keys,
                [
                    "cautions",
                    "columns",
                    "format",
                    "modality",
                    "photometric_interpretation",
                    "rows"
                ]
            );
        }
    }
    let (ct, form) = multipart(&[("SECRET-a.png", &png), ("SECRET-b.dcm", &dcm)]);
    assert_eq!(post(&s, "/v1/predict/batch", &ct, &form, None).status, 200);
    drop(s);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    // The capture works: the service's own start-up line is there.
    assert!(text.contains("ready"), "nothing was captured: {text}");
    for secret in ["SECRET"].iter().chain(secrets.iter()) {
        assert!(!text.contains(secret), "the log carries {secret}:\n{text}");
    }
}
