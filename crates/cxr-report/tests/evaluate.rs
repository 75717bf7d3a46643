//! The evaluate pipeline end to end on a synthetic predictions file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use cxr_eval::{EvaluateOptions, ReadError};
use cxr_report::Error;
use cxr_report::evaluate::{Options, run};
use cxr_stats::BootstrapOptions;
use cxr_stats::roc::roc_auc;
use serde_json::Value;

/// A small deterministic generator (SplitMix64), so the test needs no RNG crate.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

const LABELS: [&str; 3] = ["healthy", "covid", "bacterial"];

/// `n` patients with the paper's prevalences, 1–3 images each, some on a second day.
/// Returns the CSV text and, per (patient, day), the label and the image probabilities.
/// Per (patient, day): the label and the probabilities of each image.
type Truth = BTreeMap<(String, String), (usize, Vec<[f64; 3]>)>;

fn synthetic(n: usize, seed: u64) -> (String, Truth) {
    let mut rng = Mix(seed);
    let mut csv = String::from(
        "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source,age,sex\n",
    );
    let mut truth = BTreeMap::new();
    let mut image = 0;
    for p in 0..n {
        let u = rng.next();
        let label = if u < 0.188 {
            1
        } else if u < 0.188 + 0.135 {
            2
        } else {
            0
        };
        let images = 1 + (rng.next() * 3.0) as usize;
        for _ in 0..images {
            let day = if rng.next() < 0.2 {
                "2020-04-02"
            } else {
                "2020-04-01"
            };
            let mut logits = [0.0; 3];
            for (c, l) in logits.iter_mut().enumerate() {
                *l = 2.5 * rng.next() + if c == label { 2.0 } else { 0.0 };
            }
            let m = logits.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let probs = [e[0] / s, e[1] / s, e[2] / s];
            let _ = writeln!(
                csv,
                "P{p},{day},img{image},{},{:.17},{:.17},{:.17},padchest,{},F",
                LABELS[label],
                probs[0],
                probs[1],
                probs[2],
                40 + p % 40
            );
            image += 1;
            let entry = truth
                .entry((format!("P{p}"), day.to_owned()))
                .or_insert((label, Vec::new()));
            entry.1.push(probs);
        }
    }
    (csv, truth)
}

fn options(dir: &Path, csv: &str, rounds: usize, seed: u64) -> Options {
    let predictions = dir.join("predictions.csv");
    std::fs::write(&predictions, csv).unwrap();
    Options {
        predictions,
        out: dir.join("out"),
        evaluate: EvaluateOptions {
            bootstrap: BootstrapOptions {
                rounds,
                seed,
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

#[test]
fn writes_metrics_report_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, truth) = synthetic(400, 1);
    let opts = options(dir.path(), &csv, 300, 7);
    let out = run(&opts).unwrap();
    // To look at the outputs: CXR_REPORT_KEEP=/some/dir cargo test -p cxr-report
    if let Some(keep) = std::env::var_os("CXR_REPORT_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        for f in &out.files {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    let names: Vec<String> = out
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "metrics.json",
            "report.md",
            "roc.png",
            "confusion.png",
            "reliability.png",
            "decision_curve.png"
        ]
    );
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(md.contains("## Calibration"), "{md}");
    assert!(md.contains("![Reliability diagram](reliability.png)"));
    assert!(md.contains("![Decision curves](decision_curve.png)"));

    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/metrics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["n_patients"], 400);
    assert_eq!(m["n_units"].as_u64().unwrap() as usize, truth.len());
    let n_images: usize = truth.values().map(|v| v.1.len()).sum();
    assert_eq!(m["n_images"].as_u64().unwrap() as usize, n_images);
    assert_eq!(
        m["confusion_matrix"]["labels"],
        serde_json::json!(["healthy", "covid", "bacterial"])
    );

    // Recompute the patient-day AUCs and the confusion matrix independently.
    let mut counts = [[0u64; 3]; 3];
    for c in 0..3 {
        let mut scores = vec![];
        let mut labels = vec![];
        for (label, probs) in truth.values() {
            let mean: f64 = probs.iter().map(|p| p[c]).sum::<f64>() / probs.len() as f64;
            scores.push(mean);
            labels.push(*label == c);
        }
        let auc = roc_auc(&scores, &labels).unwrap();
        // The Brier score of the same units, by hand.
        let brier = scores
            .iter()
            .zip(&labels)
            .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
            .sum::<f64>()
            / scores.len() as f64;
        let got_brier = m["per_class"][LABELS[c]]["calibration"]["brier"]
            .as_f64()
            .unwrap();
        assert!((got_brier - brier).abs() < 1e-12, "{got_brier} vs {brier}");
        let got = m["per_class"][LABELS[c]]["auc"].as_f64().unwrap();
        assert!(
            (got - auc).abs() < 1e-12,
            "{} auc {got} vs {auc}",
            LABELS[c]
        );
    }
    for (label, probs) in truth.values() {
        let mean: Vec<f64> = (0..3)
            .map(|c| probs.iter().map(|p| p[c]).sum::<f64>() / probs.len() as f64)
            .collect();
        let pred = (0..3).fold(0, |b, c| if mean[c] > mean[b] { c } else { b });
        counts[*label][pred] += 1;
    }
    let json_counts: Vec<Vec<u64>> =
        serde_json::from_value(m["confusion_matrix"]["counts"].clone()).unwrap();
    assert_eq!(
        json_counts,
        counts.iter().map(|r| r.to_vec()).collect::<Vec<_>>()
    );
    let correct: u64 = (0..3).map(|i| counts[i][i]).sum();
    let total: u64 = counts.iter().flatten().sum();
    assert!((m["global_accuracy"].as_f64().unwrap() - correct as f64 / total as f64).abs() < 1e-15);

    // Every required per-class key, with consistent counts and intervals around values.
    for name in LABELS {
        let c = &m["per_class"][name];
        for key in [
            "auc",
            "auc_ci95",
            "auc_bootstrap_ci95",
            "cutoff",
            "tp",
            "fp",
            "tn",
            "fn",
            "detection_rate",
            "fpr",
            "ppv",
            "npv",
            "lr_pos",
            "lr_neg",
            "f1",
            "accuracy",
        ] {
            assert!(!c[key].is_null(), "{name}.{key} missing");
        }
        for rate in [
            "detection_rate",
            "fpr",
            "ppv",
            "npv",
            "lr_pos",
            "lr_neg",
            "f1",
            "accuracy",
        ] {
            let v = c[rate].as_f64().unwrap();
            let ci: Vec<f64> = serde_json::from_value(c[format!("{rate}_ci95")].clone()).unwrap();
            // Bootstrap F1 interval (cut-off re-selected per round) need not contain the
            // estimate exactly, but must be near it.
            let slack = if rate == "f1" { 0.05 } else { 1e-12 };
            assert!(
                ci[0] <= v + slack && v <= ci[1] + slack,
                "{name}.{rate} {v} {ci:?}"
            );
        }
        let (tp, fp, tn, fn_) = (
            c["tp"].as_u64().unwrap(),
            c["fp"].as_u64().unwrap(),
            c["tn"].as_u64().unwrap(),
            c["fn"].as_u64().unwrap(),
        );
        assert_eq!(tp + fp + tn + fn_, truth.len() as u64);
        assert!(
            (c["detection_rate"].as_f64().unwrap() - tp as f64 / (tp + fn_) as f64).abs() < 1e-15
        );
        let auc = c["auc"].as_f64().unwrap();
        let dl: Vec<f64> = serde_json::from_value(c["auc_ci95"].clone()).unwrap();
        let bs: Vec<f64> = serde_json::from_value(c["auc_bootstrap_ci95"].clone()).unwrap();
        assert!(dl[0] < auc && auc < dl[1]);
        // DeLong and bootstrap widths agree within 35 % at 300 rounds.
        let ratio = (bs[1] - bs[0]) / (dl[1] - dl[0]);
        assert!((0.65..1.35).contains(&ratio), "{name}: width ratio {ratio}");
    }

    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(md.contains("## Table 3."));
    let covid = &m["per_class"]["covid"];
    let detected = format!(
        "{}/{}",
        covid["tp"].as_u64().unwrap(),
        covid["tp"].as_u64().unwrap() + covid["fn"].as_u64().unwrap()
    );
    let row = md.lines().find(|l| l.starts_with("| Covid-19 |")).unwrap();
    assert!(row.contains(&detected), "{row}");
    assert!(md.contains("![ROC curves](roc.png)"));

    for (file, _) in [("roc.png", ()), ("confusion.png", ())] {
        let img = image::open(dir.path().join("out").join(file))
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (800, 700));
        // Something was drawn: both white and non-white pixels, several colours.
        let distinct: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        assert!(distinct.len() > 20, "{file}: {} colours", distinct.len());
    }
}

#[test]
fn same_seed_same_metrics_other_seed_other_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = synthetic(150, 2);
    let a = run(&options(dir.path(), &csv, 200, 5)).unwrap();
    let b = run(&options(dir.path(), &csv, 200, 5)).unwrap();
    let c = run(&options(dir.path(), &csv, 200, 6)).unwrap();
    let ja = serde_json::to_string(&a.evaluation).unwrap();
    assert_eq!(ja, serde_json::to_string(&b.evaluation).unwrap());
    assert_ne!(ja, serde_json::to_string(&c.evaluation).unwrap());
    let (ca, cc) = (
        a.evaluation.per_class.covid.as_ref().unwrap(),
        c.evaluation.per_class.covid.as_ref().unwrap(),
    );
    assert_eq!(ca.auc, cc.auc);
    assert_eq!(ca.auc_ci95, cc.auc_ci95);
    assert_ne!(ca.auc_bootstrap_ci95, cc.auc_bootstrap_ci95);
}

/// The terminal summary states each class's AUC with its DeLong interval as numbers
/// (not as a program's debug text), and a file of one class says why no class metric
/// exists, there and in report.md, instead of leaving an empty table.
#[test]
fn summary_reads_as_numbers_and_one_class_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, truth) = synthetic(150, 2);
    let e = run(&options(dir.path(), &csv, 50, 5)).unwrap().evaluation;
    let text = cxr_report::markdown::summary(&e);
    assert!(
        text.starts_with(&format!(
            "{} units (one per patient and day) from 150 patients",
            truth.len()
        )),
        "{text}"
    );
    for (name, m) in [
        ("Covid-19", e.per_class.covid.as_ref().unwrap()),
        (
            "Bacterial pneumonia",
            e.per_class.bacterial.as_ref().unwrap(),
        ),
        ("Healthy", e.per_class.healthy.as_ref().unwrap()),
    ] {
        let [lo, hi] = m.auc_ci95.unwrap();
        let want = format!(
            "{name}: AUC {:.4} [{lo:.4}, {hi:.4}], cut-off {:.4}:",
            m.auc, m.cutoff
        );
        assert!(text.contains(&want), "{want} not in {text}");
    }
    assert!(!text.contains("Some(") && !text.contains("None"), "{text}");

    let healthy_only: String = csv
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').nth(3) == Some("healthy"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let one = dir.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let e = run(&options(&one, &healthy_only, 50, 5))
        .unwrap()
        .evaluation;
    assert!(e.per_class.covid.is_none() && e.per_class.healthy.is_none());
    let why = "No class has units on both sides";
    assert!(cxr_report::markdown::summary(&e).contains(why));
    let md = std::fs::read_to_string(one.join("out/report.md")).unwrap();
    assert!(md.contains(why), "{md}");
    assert!(md.contains("units (one per patient and day)"), "{md}");
}

#[test]
fn bad_rows_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut csv, _) = synthetic(30, 3);
    csv.push_str("P99,2020-04-01,imgX,influenza,0.2,0.3,0.5,padchest,50,M\n");
    csv.push_str("P98,2020-04-01,imgY,covid,0.2,0.3,0.4,padchest,50,M\n");
    let lines = csv.lines().count() as u64;
    let opts = options(dir.path(), &csv, 50, 1);
    let err = run(&opts).unwrap_err();
    let Error::Read(ReadError::BadRows { problems, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 2);
    assert_eq!(
        (problems[0].line, problems[0].column),
        (lines - 1, Some("label"))
    );
    assert_eq!((problems[1].line, problems[1].column), (lines, None));
    assert!(err.to_string().contains(&format!("line {}", lines - 1)));
    assert!(!opts.out.exists(), "nothing may be written");
}
