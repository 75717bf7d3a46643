//! 1,000 requests mixing good images (PNG and DICOM) with every kind of bad input, from
//! 8 concurrent clients: every good request is answered with the probabilities the same
//! image got alone, every bad one with its error, and the process's resident memory
//! after the run is back within a few MB of its level after warm-up (bounded queues,
//! nothing kept). Its own test binary, so that no other test shares the process.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use serde_json::Value;

/// Resident set size of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_thousand_mixed_requests_all_answered_and_memory_returns() {
    let f = fixture();
    let mut c = config();
    c.max_inflight = 64;
    let s = Arc::new(start(c));
    let _ = f;
    // A 512 × 512 phantom (a ~100 KB upload, 256 KiB decoded): a request that left its
    // upload or its image behind would grow the process by 100 MB or more over the run.
    let case = cxr_synth::CaseSpec::single(3, cxr_core::Label::Covid, cxr_core::SourceId::CovidIdc);
    let phantom = cxr_synth::render(&case, &cxr_synth::SynthConfig::with_size(512));
    let good_png = png_bytes(&image::DynamicImage::ImageLuma8(phantom.image));
    let good_dcm = dicom_fixture("big_endian.dcm");
    let mut inputs: Vec<(&str, Vec<u8>, u16)> = vec![
        ("png", good_png.clone(), 200),
        ("dicom", good_dcm.clone(), 200),
        ("text", b"not an image at all".to_vec(), 415),
        ("empty", Vec::new(), 400),
        (
            "truncated png",
            good_png[..good_png.len() / 3].to_vec(),
            422,
        ),
        ("no pixel data", dicom_bad("no_pixel_data.dcm"), 422),
        ("multi-frame", dicom_fixture("multiframe.dcm"), 422),
    ];
    // Each good input's answer alone: what every later answer must equal.
    let mut expected: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, body, status) in &inputs {
        let a = post(&s, "/v1/predict", "application/octet-stream", body, None);
        assert_eq!(a.status, *status, "{name}: {}", a.json);
        if *status == 200 {
            expected.insert(name, a.json["probabilities"].clone());
        }
    }
    let inputs = Arc::new(std::mem::take(&mut inputs));
    let expected = Arc::new(expected);
    let run = |n: usize| {
        let clients = 8;
        let handles: Vec<_> = (0..clients)
            .map(|t| {
                let (s, inputs, expected) = (s.clone(), inputs.clone(), expected.clone());
                std::thread::spawn(move || {
                    for i in (t..n).step_by(clients) {
                        let (name, body, status) = &inputs[i % inputs.len()];
                        let a = post(&s, "/v1/predict", "application/octet-stream", body, None);
                        assert_eq!(a.status, *status, "request {i} ({name}): {}", a.json);
                        if let Some(p) = expected.get(name) {
                            for (k, v) in p.as_object().unwrap() {
                                let got = a.json["probabilities"][k].as_f64().unwrap();
                                // Batched with others, the forward pass may round differently.
                                assert!(
                                    (got - v.as_f64().unwrap()).abs() < 1e-5,
                                    "request {i} ({name}) {k}"
                                );
                            }
                        } else {
                            assert!(a.json["code"].is_string());
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    };
    // Warm-up: allocator pools and libtorch's caches reach their working size.
    run(200);
    let after_warm_up = rss_kib();
    run(1000);
    let after = rss_kib();
    let grown_mib = (after as f64 - after_warm_up as f64) / 1024.0;
    eprintln!(
        "RSS after warm-up {after_warm_up} KiB, after 1,000 requests {after} KiB ({grown_mib:+.1} MiB)"
    );
    assert!(
        grown_mib < 24.0,
        "resident memory grew by {grown_mib:.1} MiB over 1,000 requests"
    );
    let (_, metrics) = get(&s, "/metrics");
    assert!(
        metrics.contains("cxr_queue_depth{queue=\"segment\"} 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cxr_queue_depth{queue=\"classify\"} 0\n"),
        "{metrics}"
    );
}
