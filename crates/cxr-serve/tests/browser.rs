//! The review page in Debian's headless Chromium, driven over the DevTools protocol by
//! `scripts/browser/review_page.mjs` (playwright-core, no browser download): loads the
//! page, uploads a phantom PNG from the keyboard, a DICOM file and a garbage file, and
//! checks what a person would see: the API's probabilities rendered as they are, the
//! lung mask and saliency overlays drawn over the image, and the service's own error
//! text.
//!
//! Needs `chromium` and `node` with `scripts/browser/node_modules` (`make test` installs
//! them). Without them the test says so and passes, unless `CXR_REQUIRE_BROWSER` is set
//! (as `make test` sets it), when their absence fails it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn tools() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/browser/review_page.mjs");
    let module = root.join("scripts/browser/node_modules/playwright-core");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node = Command::new("node").arg("--version").output().is_ok();
    (node && module.is_dir() && chromium.exists()).then_some((script, chromium))
}

#[test]
fn the_review_page_shows_what_the_api_answers() {
    let Some((script, chromium)) = tools() else {
        let msg = "the browser test needs node, /usr/bin/chromium and scripts/browser/node_modules \
                   (make test installs them: apt-get install chromium; npm ci --prefix scripts/browser)";
        if std::env::var_os("CXR_REQUIRE_BROWSER").is_some() {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return;
    };
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "this is not an image").unwrap();
    // Raw detector data with text burned in: the page must say so above the answer.
    let dicom = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cxr-dicom/tests/fixtures/dx_for_processing.dcm");
    // The gate's cut at the smaller lung share of the two images: both are classified,
    // and that one's verdict is near the cut.
    let pipeline = cxr_classifier::Pipeline::new(
        cxr_lungseg::Segmenter::load(&f.exp.join("segmenter"), tch::Device::Cpu).unwrap(),
        cxr_classifier::Classifier::load(&f.exp.join("classifier"), tch::Device::Cpu).unwrap(),
    );
    let share = |p: &Path| pipeline.run(p).unwrap().qc.lung_fraction;
    let mut c = config();
    c.qc.min_fraction = share(&f.images[0]).min(share(&dicom));
    let s = start(c);
    let shot = dir.path().join("page.png");
    let out = Command::new("node")
        .arg(&script)
        .arg(&s.base)
        .arg(&f.images[0])
        .arg(&dicom)
        .arg(&garbage)
        .arg(&shot)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "review_page.mjs failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let notice = r["notice"].as_str().unwrap();
    assert!(notice.contains("not a medical device"), "{notice}");
    // The fixture's model learned from phantoms: the notice says so, not "public data".
    assert!(
        notice.contains("trained on synthetic phantoms only") && !notice.contains("not recorded"),
        "{notice}"
    );
    assert_eq!(
        r["focused"], "drop",
        "the drop zone takes the keyboard focus"
    );
    let model_id = s.service.state().model.id.clone();
    assert_eq!(
        r["model_line"].as_str().unwrap(),
        format!("model {model_id}")
    );
    // Which library runs the networks, and where; where the model was trained.
    assert_eq!(r["runs_on"], "libtorch, cpu");
    assert_eq!(
        r["trained_with"],
        s.service
            .state()
            .model
            .classifier
            .trained_with
            .clone()
            .unwrap()
    );

    // The PNG: the bars carry the API's numbers, with the cut-offs marked.
    let png = &r["png"];
    assert_eq!(png["status"], 200);
    let bars = png["page"]["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 3);
    for b in bars {
        let class = b["class"].as_str().unwrap();
        let api = png["api"]["probabilities"][class].as_f64().unwrap();
        assert_eq!(b["probability"].as_f64().unwrap(), api, "{class}");
        let shown: f64 = b["text"]
            .as_str()
            .unwrap()
            .trim_end_matches(" %")
            .parse()
            .unwrap();
        assert!(
            (shown - 100.0 * api).abs() <= 0.05 + 1e-9,
            "{class}: {shown} vs {api}"
        );
        assert_eq!(b["has_cutoff"], true, "{class}");
    }
    assert!(
        png["page"]["verdict"]
            .as_str()
            .unwrap()
            .contains("accepted")
    );
    // The overlays are loaded at the image's size and shown at the slider's opacity;
    // the slider and the toggle act on them.
    for layer in ["base", "mask", "heat"] {
        assert_eq!(png["page"][layer]["width"], 96, "{layer}");
    }
    assert_eq!(png["page"]["mask"]["opacity"], 0.6);
    assert_eq!(png["page"]["heat"]["opacity"], 0.6);
    assert_eq!(png["opacity_full"], 1.0);
    assert_eq!(png["mask_hidden"], 0.0);
    // And they are drawn: the viewer's pixels hold the mask's cyan and the map's red-yellow.
    let viewer = image::open(dir.path().join("page-viewer.png"))
        .unwrap()
        .to_rgb8();
    let share = |f: &dyn Fn(&image::Rgb<u8>) -> bool| {
        viewer.pixels().filter(|p| f(p)).count() as f64 / viewer.pixels().len() as f64
    };
    let cyan = share(&|p| i32::from(p[2]) > i32::from(p[0]) + 40);
    let warm = share(&|p| i32::from(p[0]) > i32::from(p[2]) + 60);
    assert!(
        cyan > 0.02,
        "no lung mask drawn ({:.1} % cyan)",
        cyan * 100.0
    );
    assert!(
        warm > 0.002,
        "no saliency drawn ({:.2} % red-yellow)",
        warm * 100.0
    );

    // The DICOM: decoded by the service, shown at its size.
    let dcm = &r["dicom"];
    assert_eq!(dcm["status"], 200, "{}", dcm["api"]);
    assert_eq!(dcm["page"]["base"]["width"], dcm["api"]["image"]["columns"]);
    assert_eq!(dcm["page"]["bars"].as_array().unwrap().len(), 3);
    assert_eq!(dcm["page"]["error"], Value::Null);
    let cautions = dcm["page"]["cautions"].as_str().unwrap();
    for c in dcm["api"]["image"]["cautions"].as_array().unwrap() {
        assert!(
            cautions.contains(c["message"].as_str().unwrap()),
            "{cautions}"
        );
    }
    assert!(cautions.contains("FOR PROCESSING") && cautions.contains("burned into"));
    // The PNG had none, and showed none.
    assert_eq!(png["page"]["cautions"], Value::Null);
    // A verdict near the gate's cut says so under it, and only then.
    let mut near = 0;
    for upload in [png, dcm] {
        let said = &upload["page"]["near_cut"];
        if upload["api"]["gate"]["near_cut"] == true {
            near += 1;
            let share = upload["api"]["gate"]["lung_fraction"].as_f64().unwrap();
            assert_eq!(
                said.as_str().unwrap(),
                format!(
                    "The lungs cover {:.1} % of the image, within one percentage point of the \
                     gate's {} %: another segmenter, or the same one on another machine, may \
                     give the other verdict.",
                    100.0 * share,
                    (1000.0 * f64::from(s.service.state().model.gate.min_fraction)).round() / 10.0
                )
            );
        } else {
            assert_eq!(said, &Value::Null);
        }
    }
    assert!(near >= 1, "the image at the cut is near it");

    // The garbage: the service's words, as they are; no stale image beside them.
    let g = &r["garbage"];
    assert_eq!(g["status"], 415);
    assert_eq!(g["page"]["error"], g["api"]["message"]);
    assert!(g["page"]["error"].as_str().unwrap().contains("garbage.txt"));
    assert_eq!(g["page"]["bars"].as_array().unwrap().len(), 0);
    // Nothing went wrong in the page but the refused upload.
    for e in r["console_errors"].as_array().unwrap() {
        assert!(e.as_str().unwrap().contains("415"), "console error: {e}");
    }
}
