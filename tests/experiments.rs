//! Every experiment example, run on the tiny synthetic cohort (`--tiny`) in one run
//! folder, the way a user runs them: the main experiment first, then the studies that
//! reuse its cohort, segmenter and gate. Checks that the report's numbers are those of
//! `evaluation/metrics.json`, that a re-run reproduces them, and that splits keep
//! patients apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;
use common::{fails, run};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_experiment_runs_on_the_tiny_cohort() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("run");
    let ds = d.to_str().unwrap();

    // Main experiment.
    let said = run("reproduce_main", &["--tiny", "--out", ds]);
    assert!(said.contains("report:"), "{said}");
    let metrics_text = read(&d.join("evaluation/metrics.json"));
    let metrics: serde_json::Value = serde_json::from_str(&metrics_text).unwrap();
    let report = read(&d.join("report.md"));
    // The report's numbers are the evaluation's.
    let n_units = metrics["n_units"].as_u64().unwrap();
    assert!(report.contains(&format!("N = {n_units} units")), "units");
    for (class, name) in [("covid", "Covid-19"), ("bacterial", "Bacterial pneumonia")] {
        let auc = metrics["per_class"][class]["auc"].as_f64().unwrap();
        let row = format!("| {name} | {auc:.4} |");
        assert!(report.contains(&row), "{row} not in the report");
    }
    let acc = metrics["global_accuracy"].as_f64().unwrap();
    assert!(
        report.contains(&format!("Global accuracy {:.1} %", 100.0 * acc)),
        "accuracy"
    );
    // Where both models were trained: one session each, on this machine, and the report
    // says so in the words of `cxr_core::Environment::summary`.
    for part in ["segmenter", "classifier"] {
        let sessions = cxr_nn::files::read_sessions(&d.join(part)).unwrap();
        assert_eq!(sessions.len(), 1, "{part}");
        let env = &sessions[0].environment;
        assert_eq!(env.cpu, cxr_core::Environment::current().cpu);
        let device = cxr_nn::compute(cxr_nn::device_from_env().unwrap()).device;
        assert_eq!(env.compute.as_ref().unwrap().device, device);
        let line = format!(
            "- {}{} (`{part}/environment.jsonl`) trained with: {}.",
            part[..1].to_uppercase(),
            &part[1..],
            env.summary()
        );
        assert!(report.contains(&line), "{line} not in the report");
    }
    assert!(report.contains("## Provenance"));
    for f in [
        "experiment.toml",
        "cohort/records.csv",
        "cohort/table1.md",
        "split.csv",
        "split.csv.sha256",
        "qc.json",
        "qc_rejected.csv",
        "classifier/curves.png",
        "predictions.csv",
        "evaluation/roc.png",
        "evaluation/confusion.png",
        "evaluation/reliability.png",
        "evaluation/decision_curve.png",
        "saliency/saliency.json",
        "figures/sources.png",
        "figures/segmentation.png",
    ] {
        assert!(d.join(f).exists(), "{f}");
    }
    // Figures 1 and 2 are linked from the report; Figure 1 has one tile per source with
    // accepted images (a grid at most 4 tiles wide, 230 px per tile, 10 px margins).
    let qc: serde_json::Value = serde_json::from_str(&read(&d.join("qc.json"))).unwrap();
    let sources = qc["by_source"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["accepted"].as_u64().unwrap() > 0)
        .count();
    assert!(sources >= 2, "{sources} sources");
    // The verdicts near the gate's cut, counted from the cached ones: within 1 point of
    // 30 %, and the report says so exactly when there are any.
    let near = &qc["near_cut"];
    assert_eq!(near["band"].as_f64(), Some(0.01), "{qc}");
    let mut expected = (0, 0);
    for f in cxr_core::walk::files(&d.join("masks"), None)
        .into_iter()
        .flatten()
    {
        if f.to_string_lossy().ends_with(".qc.json") {
            let q: serde_json::Value = serde_json::from_str(&read(&f)).unwrap();
            let share = q["lung_fraction"].as_f64().unwrap();
            if q["lungs_found"].as_u64() == Some(2) && (share - 0.30).abs() <= 0.01 {
                if q["verdict"] == "accept" {
                    expected.0 += 1;
                } else {
                    expected.1 += 1;
                }
            }
        }
    }
    let counted = (
        near["accepted"].as_u64().unwrap(),
        near["rejected"].as_u64().unwrap(),
    );
    assert_eq!(counted, expected);
    assert_eq!(
        report.contains("percentage point of the smallest share"),
        counted != (0, 0)
    );
    // The results with and without the test images accepted near the cut: the section is
    // there, and the evaluation without them counts the other images.
    let predictions = read(&d.join("predictions.csv"));
    let test_images = predictions.lines().count() - 1;
    let near_test = predictions
        .lines()
        .filter(|l| l.contains("lungs_near_cut"))
        .count();
    assert!(
        report.contains("### Verdicts near the gate's cut"),
        "{report}"
    );
    let without = d.join("evaluation/without_near_cut.json");
    if near_test == 0 {
        assert!(
            report.contains(&format!(
                "None of the {test_images} test images was accepted with lungs within 1 \
                 percentage point"
            )),
            "{report}"
        );
        assert!(!without.exists());
    } else {
        assert!(
            report.contains(&format!(
                "{near_test} of the {test_images} test images were accepted"
            )),
            "{report}"
        );
        let e: serde_json::Value = serde_json::from_str(&read(&without)).unwrap();
        assert_eq!(
            e["n_images"].as_u64(),
            Some((test_images - near_test) as u64)
        );
    }
    for f in [
        "figures/sources.png",
        "figures/segmentation.png",
        "evaluation/reliability.png",
        "evaluation/decision_curve.png",
    ] {
        assert!(report.contains(&format!("]({f})")), "{f} not linked");
    }
    assert!(report.contains("## Calibration"), "no calibration section");
    // Temperature scaling: the tiny run has one validation image, too few to fit one
    // (`demo_temperature_*` in cxr-report checks the section of a fitted one).
    assert!(!d.join("classifier/temperature.json").exists());
    assert!(!d.join("evaluation/before_temperature.json").exists());
    assert!(
        report.contains("None: the classifier run has no `classifier/temperature.json`"),
        "temperature section"
    );
    let (w, h) = image::image_dimensions(d.join("figures/sources.png")).unwrap();
    let rows = sources.div_ceil(4) as u32;
    assert_eq!(
        (w, h),
        (10 + sources.min(4) as u32 * 230, 50 + rows * 250 + 10)
    );

    // The shortcut audit: its files, and the report quoting audit.json's numbers.
    for f in [
        "audit/audit.json",
        "audit/audit.md",
        "audit/probe.png",
        "audit/saliency_masked.png",
        "audit/probe_masked/config.json",
        "audit/probe_whole/config.json",
    ] {
        assert!(d.join(f).exists(), "{f}");
    }
    let audit: serde_json::Value =
        serde_json::from_str(&read(&d.join("audit/audit.json"))).unwrap();
    assert!(report.contains("## Shortcut audit"), "no audit section");
    let probes = audit["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    for p in probes {
        let row = format!(
            "| {} | {} | {:.1} % | {:.1} % |",
            p["input"].as_str().unwrap(),
            p["test_images"],
            100.0 * p["accuracy"].as_f64().unwrap(),
            100.0 * p["chance"].as_f64().unwrap()
        );
        assert!(report.contains(&row), "{row} not in the report");
    }
    let probe_config: serde_json::Value =
        serde_json::from_str(&read(&d.join("audit/probe_whole/config.json"))).unwrap();
    assert_eq!(probe_config["model"]["input"], "whole");
    assert_eq!(
        probe_config["model"]["num_classes"],
        probes[1]["sources"].as_array().unwrap().len()
    );
    // What knowing only the source scores, beside the pooled AUC, for covid-19 at least
    // (each cell as the report writes it: AUC and interval, `—` where undefined).
    let alone = audit["source_only_auc"].as_array().unwrap();
    assert_eq!(alone.len(), 3);
    let covid = alone[1][0]
        .as_f64()
        .expect("covid-19 has test units on both sides");
    assert!((0.0..=1.0).contains(&covid), "{covid}");
    let cells: Vec<String> = alone
        .iter()
        .map(|c| match c[0].as_f64() {
            None => "—".into(),
            Some(a) => match c[1].as_array() {
                Some(ci) if ci.iter().all(|x| x.is_f64()) => format!(
                    "{a:.3} ({:.3}–{:.3})",
                    ci[0].as_f64().unwrap(),
                    ci[1].as_f64().unwrap()
                ),
                _ => format!("{a:.3} (no interval)"),
            },
        })
        .collect();
    let row = format!("| *the source alone* | | {} |", cells.join(" | "));
    assert!(report.contains(&row), "{row} not in the report");
    let arm = &audit["arms"][0];
    assert_eq!(arm["input"], "masked");
    let shares = arm["saliency"].as_array().unwrap();
    assert_eq!(shares.len(), 8, "audit.saliency_images of the tiny preset");
    for s in shares {
        let share = s["share_inside"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{s}");
    }

    // No patient in two parts; every test prediction comes from a test patient.
    let split = read(&d.join("split.csv"));
    let mut part: BTreeMap<String, String> = BTreeMap::new();
    for line in split.lines().skip(1) {
        let (p, q) = line.rsplit_once(',').unwrap();
        let p = p.trim_matches('"');
        assert!(
            part.insert(p.to_string(), q.to_string()).is_none(),
            "{p} twice"
        );
    }
    let preds = read(&d.join("predictions.csv"));
    let predicted: BTreeSet<&str> = preds
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(!predicted.is_empty());
    for p in predicted {
        assert_eq!(part.get(p).map(String::as_str), Some("test"), "{p}");
    }

    // Re-running the same folder gives the same numbers (from its files).
    run("reproduce_main", &["--tiny", "--out", ds]);
    assert_eq!(read(&d.join("evaluation/metrics.json")), metrics_text);
    // Other settings in the same folder are refused.
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, "[classifier]\nepochs = 7\n").unwrap();
    let err = fails(
        "reproduce_main",
        ["--config", other.to_str().unwrap(), "--out", ds],
    );
    assert!(err.contains("another experiment"));

    // The studies, reusing the main run's cohort, segmenter and gate.
    run(
        "reproduce_splits",
        &[
            "--tiny",
            "--fractions",
            "0.5,0.9",
            "--seeds",
            "1",
            "--out",
            ds,
        ],
    );
    let splits = read(&d.join("splits/splits.md"));
    assert!(splits.contains("train50_seed1") && splits.contains("train90_seed1"));
    // Both arms' classifiers, trained here alike, on one Provenance line.
    let arm = cxr_nn::files::read_sessions(&d.join("splits/train50_seed1/classifier")).unwrap();
    let line = format!(
        "- `train50_seed1/classifier`, `train90_seed1/classifier` (2 runs) trained with: {}.",
        arm[0].environment.summary()
    );
    assert!(splits.contains(&line), "{line} not in {splits}");
    assert!(d.join("splits/splits.png").exists());

    run(
        "reproduce_transfer",
        &[
            "--tiny",
            "--source",
            "covid-idc",
            "--add-back",
            "0,2",
            "--out",
            ds,
        ],
    );
    let transfer = read(&d.join("transfer/transfer.md"));
    assert!(transfer.contains("add0") && transfer.contains("add2"));
    assert!(transfer.contains("## Provenance") && transfer.contains("trained with: cxr "));
    // Arm add0: no covid-idc covid patient in training.
    let s0 = read(&d.join("transfer/add0/split.csv"));
    let records = cxr_core::manifest::read_records(&d.join("cohort/records.csv")).unwrap();
    let held: BTreeSet<String> = records
        .iter()
        .filter(|r| r.source == cxr_core::SourceId::CovidIdc && r.label == cxr_core::Label::Covid)
        .map(|r| r.patient.to_string())
        .collect();
    for line in s0.lines().skip(1) {
        let (p, q) = line.rsplit_once(',').unwrap();
        let p = p.trim_matches('"');
        if held.contains(p) {
            assert_eq!(q, "test", "{p}");
        }
    }

    run("leave_one_source_out", &["--tiny", "--out", ds]);
    let loso = read(&d.join("loso/loso.md"));
    for s in ["covid-idc", "chestxray8", "qmenta"] {
        assert!(loso.contains(&format!("| {s} |")), "{s} row");
    }
    assert!(loso.contains("random patient split"), "comparison row");
    assert!(loso.contains("## Provenance") && loso.contains("trained with: cxr "));
    assert!(
        loso.contains("Covid-19 AUC drop from the random split"),
        "the drop"
    );
    assert!(d.join("loso/loso.png").exists());
    let summary: serde_json::Value =
        serde_json::from_str(&read(&d.join("loso/loso.json"))).unwrap();
    assert_eq!(summary["input"], "masked");
    assert_eq!(summary["rows"].as_array().unwrap().len(), 3);

    // The audit study: the main run's audit plus a whole-image classifier on its split.
    let said = run("audit_shortcuts", &["--tiny", "--out", ds]);
    assert!(said.contains("saliency puts"), "{said}");
    let audit_md = read(&d.join("audit/audit.md"));
    assert!(audit_md.starts_with("# Shortcut audit"), "{audit_md}");
    assert!(audit_md.contains("### Masked input against the whole image"));
    assert!(audit_md.contains("| whole |"));
    let whole: serde_json::Value =
        serde_json::from_str(&read(&d.join("audit/whole/classifier/config.json"))).unwrap();
    assert_eq!(whole["model"]["input"], "whole");
    assert!(d.join("audit/saliency_whole.png").exists());

    run(
        "error_analysis",
        &["--run", ds, "--out", d.join("errors").to_str().unwrap()],
    );
    assert!(d.join("errors/error_analysis.md").exists());
    run(
        "power_analysis",
        &["--out", d.join("power").to_str().unwrap()],
    );
    assert!(d.join("power/power.md").exists());
    // A model compared with itself: every paired difference is zero.
    let preds = d.join("predictions.csv");
    let said = run(
        "compare_models",
        &[
            "--first",
            preds.to_str().unwrap(),
            "--second",
            preds.to_str().unwrap(),
            "--names",
            "main,again",
            "--out",
            d.join("compare").to_str().unwrap(),
        ],
    );
    assert!(
        said.contains("only main right 0, only again right 0, exact p = 1.0000"),
        "{said}"
    );
    assert!(read(&d.join("compare/compare.md")).contains("McNemar's test: exact p = 1.000"));
}

/// A researcher's own sources, named in a `build_cohort` TOML (`--sources`), each a folder
/// with the neutral `manifest.csv`: here two hospitals of phantoms, one that sent the
/// covid-19 images and one that sent the rest, so that the source alone tells covid-19
/// apart and the audit must say so.
#[test]
fn own_sources_run_and_the_audit_names_a_source_that_is_the_diagnosis() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    run(
        "synth_cohort",
        &["--preset", "tiny", "--out", synth.to_str().unwrap()],
    );
    let mut records = csv::Reader::from_path(synth.join("records.csv")).unwrap();
    let header = records.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (path, patient, label, date) = (
        col("path"),
        col("patient_id"),
        col("label"),
        col("study_date"),
    );
    let mut manifests = [
        String::from("image_path,patient_id,view,label,study_date\n"),
        String::from("image_path,patient_id,view,label,study_date\n"),
    ];
    for r in records.records() {
        let r = r.unwrap();
        let hospital = usize::from(&r[label] != "covid");
        manifests[hospital].push_str(&format!(
            "../{},{},PA,{},{}\n",
            &r[path],
            r[patient].replace(':', "-"),
            &r[label],
            &r[date]
        ));
    }
    let mut cohort = String::from("[cohort]\nseed = 2020\n");
    for (name, manifest) in ["hospital-a", "hospital-b"].iter().zip(&manifests) {
        let root = synth.join(name);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("manifest.csv"), manifest).unwrap();
        cohort.push_str(&format!(
            "\n[[cohort.sources]]\nsource = \"{name}\"\nroot = {:?}\n",
            root.to_str().unwrap()
        ));
    }
    let cohort_toml = tmp.path().join("my-cohort.toml");
    std::fs::write(&cohort_toml, cohort).unwrap();

    // Real data need a segmenter run; a one-epoch one on phantoms will do here.
    let seg = tmp.path().join("seg");
    common::tiny_segmenter(&seg);
    let d = tmp.path().join("run");
    // Every experiment example on the same sources, segmenter and run folder.
    let (c, s, o) = (
        cohort_toml.to_str().unwrap(),
        seg.to_str().unwrap(),
        d.to_str().unwrap(),
    );
    let on_sources = |example: &str, extra: &[&str]| {
        let common = ["--sources", c, "--segmenter", s, "--tiny", "--out", o];
        run(example, &[&common[..], extra].concat())
    };
    let said = on_sources("reproduce_main", &[]);
    assert!(said.contains("report:"), "{said}");
    let table1 = read(&d.join("cohort/table1.md"));
    for name in ["hospital-a", "hospital-b"] {
        assert!(table1.contains(&format!("| {name} |")), "{table1}");
    }
    let audit: serde_json::Value =
        serde_json::from_str(&read(&d.join("audit/audit.json"))).unwrap();
    // Covid-19 comes from hospital-a only: knowing the hospital separates it perfectly.
    assert_eq!(
        audit["source_only_auc"][1][0].as_f64(),
        Some(1.0),
        "{audit}"
    );
    let report = read(&d.join("report.md"));
    // Beside the results, and in the audit.
    let results = report
        .split("## Results on the test patients")
        .nth(1)
        .unwrap();
    assert!(
        results.starts_with(
            "\n\n> **For scale**: knowing nothing but each test image's source gives AUC "
        ) && results.contains("covid-19 1.000"),
        "{report}"
    );
    assert!(
        report.contains(
            "here the source alone tells covid-19 from the rest, so the pooled AUC cannot \
             show that the classifier reads the disease"
        ),
        "{report}"
    );
    // Inside hospital-b (healthy and bacterial pneumonia) there is no covid-19 to rank.
    let within = audit["arms"][0]["within_source"].as_array().unwrap();
    assert_eq!(within.len(), 1, "{within:?}");
    assert_eq!(within[0]["source"], "hospital-b");
    assert!(within[0]["auc"][1].is_null(), "{within:?}");

    // Leaving one hospital out leaves training without its classes: said, not hidden.
    on_sources("leave_one_source_out", &[]);
    let loso: serde_json::Value = serde_json::from_str(&read(&d.join("loso/loso.json"))).unwrap();
    assert_eq!(
        loso["unseen_classes"],
        serde_json::json!([["covid"], ["healthy", "bacterial"]]),
        "{loso}"
    );
    let loso_md = read(&d.join("loso/loso.md"));
    assert!(
        loso_md.contains(
            "**Classes a fold never saw**: hospital-a (covid); hospital-b (healthy, bacterial)."
        ),
        "{loso_md}"
    );
    // The random split's evaluation reads back for the comparison.
    assert!(loso_md.contains("| random patient split |"), "{loso_md}");

    // So does the transfer study, whose arm without hospital-a's covid-19 has none.
    let said = on_sources("reproduce_transfer", &["--source", "hospital-a"]);
    assert!(
        said.contains("no other source holds covid patients"),
        "{said}"
    );
    let transfer_md = read(&d.join("transfer/transfer.md"));
    assert!(
        transfer_md.contains("**No covid-19 elsewhere**: only hospital-a holds covid-19"),
        "{transfer_md}"
    );

    // Real data without a segmenter run: the run trains its own on real masks named in
    // the settings (here the phantoms' masks as a folder pair), records them in
    // experiment.toml, and reuses the finished segmenter when run again.
    let masks_of = std::fs::read_dir(synth.join("masks"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .min()
        .unwrap();
    let (images, masks) = (
        synth.join("images").join(&masks_of),
        synth.join("masks").join(&masks_of),
    );
    // The tiny settings (`--tiny` takes no settings file) with the masks added.
    let settings = tmp.path().join("with-masks.toml");
    let tiny = cxr::experiments::ExperimentConfig::tiny()
        .to_toml()
        .unwrap();
    std::fs::write(
        &settings,
        format!("{tiny}\n[[segmenter.masks]]\nkind = \"folder\"\nimages = {images:?}\nmasks = {masks:?}\n"),
    )
    .unwrap();
    let own = tmp.path().join("own-segmenter");
    let own_run = || {
        run(
            "reproduce_main",
            &[
                "--sources",
                c,
                "--config",
                settings.to_str().unwrap(),
                "--out",
                own.to_str().unwrap(),
            ],
        )
    };
    let said = own_run();
    let pairs = std::fs::read_dir(&masks).unwrap().count();
    assert!(
        said.contains(&format!(
            "segmenter masks: {}: {pairs} pairs",
            images.display()
        )),
        "{said}"
    );
    // The masks are of the cohort's own images: only those of a share of its patients
    // train the segmenter (the rest can be tested), and the paper's rule places those
    // patients in training, so that no test image is one the segmenter has seen.
    let choice = said
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "segmenter masks: {pairs} of the {pairs} masks are of the cohort's images"
            ))
        })
        .unwrap_or_else(|| panic!("{said}"));
    let left: usize = choice
        .split("the other ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{choice}"));
    let kept = pairs - left;
    assert!(kept >= 2, "{choice}");
    assert!(
        said.contains(&format!("segmenter: training on {kept} real masks")),
        "{said}"
    );
    assert!(own.join("segmenter/best.safetensors").exists());
    let seen: serde_json::Value =
        serde_json::from_str(&read(&own.join("segmenter_seen.json"))).unwrap();
    let seen_patients: BTreeSet<&str> = seen["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["patient"].as_str().unwrap().split_once(':').unwrap().1)
        .collect();
    assert_eq!(seen["recorded"], kept, "{seen}");
    assert_eq!(seen["images"].as_array().unwrap().len(), kept, "{seen}");
    assert!(
        said.contains(&format!(
            "segmenter overlap: {kept} of the cohort's images are among the segmenter's \
             {kept} training images; their {} patients go to training",
            seen_patients.len()
        )),
        "{said}"
    );
    let split = read(&own.join("split.csv"));
    for line in split.lines().skip(1) {
        let (patient, part) = line.rsplit_once(',').unwrap();
        let local = patient.trim_matches('"').split_once(':').unwrap().1;
        if seen_patients.contains(local) {
            assert_eq!(part, "train", "{line}");
        }
    }
    let predictions = read(&own.join("predictions.csv"));
    assert!(predictions.lines().count() > 1, "{predictions}");
    for p in &seen_patients {
        assert!(
            !predictions.contains(&format!(":{p},")),
            "{p} tested: {predictions}"
        );
    }
    let report = read(&own.join("report.md"));
    assert!(
        report.contains(&format!(
            "The lung segmenter was trained on {kept} images; {kept} of this cohort's images \
             are among them ({} patients",
            seen_patients.len()
        )),
        "{report}"
    );
    // A leave-one-source-out fold tests a whole source, those patients too: their test
    // images are left out of the fold, and the page says how many.
    run(
        "leave_one_source_out",
        &[
            "--sources",
            c,
            "--config",
            settings.to_str().unwrap(),
            "--out",
            own.to_str().unwrap(),
        ],
    );
    let loso: serde_json::Value = serde_json::from_str(&read(&own.join("loso/loso.json"))).unwrap();
    let left: Vec<(String, u64)> = loso["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = r["segmenter_left_out"].as_u64().unwrap();
            (format!("{} {n}", r["arm"].as_str().unwrap()), n)
        })
        .collect();
    let total: u64 = left.iter().map(|l| l.1).sum();
    assert!(total > 0 && total <= kept as u64, "{left:?}");
    let named: Vec<&str> = left
        .iter()
        .filter(|l| l.1 > 0)
        .map(|l| l.0.as_str())
        .collect();
    let loso_md = read(&own.join("loso/loso.md"));
    assert!(
        loso_md.contains(&format!(
            "Test images left out because the lung segmenter was trained on them \
             (`segmenter_seen.json`): {}.",
            named.join(", ")
        )),
        "{loso_md}"
    );
    for fold in ["hospital-a", "hospital-b"] {
        let predictions = read(&own.join("loso").join(fold).join("predictions.csv"));
        for p in &seen_patients {
            assert!(!predictions.contains(&format!(":{p},")), "{fold}: {p}");
        }
    }
    // A segmenter trained elsewhere on every cohort image would send every patient to
    // training: the run stops before training a classifier and says why.
    let everything = tmp.path().join("segmenter-on-everything");
    std::fs::create_dir_all(&everything).unwrap();
    for f in std::fs::read_dir(own.join("segmenter")).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            std::fs::copy(&f, everything.join(f.file_name().unwrap())).unwrap();
        }
    }
    let all_images: Vec<cxr::lungseg::training_images::TrainingImage> =
        std::fs::read_dir(synth.join("images"))
            .unwrap()
            .flat_map(|sub| std::fs::read_dir(sub.unwrap().path()).unwrap())
            .map(|f| {
                let p = f.unwrap().path();
                let img = cxr::core::load_gray(&p).unwrap();
                cxr::lungseg::training_images::TrainingImage {
                    fingerprint: cxr::core::fingerprint::Fingerprint::of(
                        &std::fs::read(&p).unwrap(),
                        &img,
                    ),
                    image: p,
                    patient: None,
                    part: cxr::lungseg::training_images::SegPart::Train,
                }
            })
            .collect();
    cxr::lungseg::training_images::write(&everything.join("images.csv"), &all_images).unwrap();
    let err = fails(
        "reproduce_main",
        [
            "--sources",
            c,
            "--tiny",
            "--segmenter",
            everything.to_str().unwrap(),
            "--out",
            tmp.path().join("all-seen").to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("no test image: the segmenter was trained on images of")
            && err.contains("segmenter_seen.json"),
        "{err}"
    );
    assert!(!tmp.path().join("all-seen/classifier").exists());
    let recorded = read(&own.join("experiment.toml"));
    assert!(
        recorded.contains("[[segmenter.masks]]") && recorded.contains("kind = \"folder\""),
        "{recorded}"
    );
    let said = own_run();
    assert!(said.contains("segmenter: the finished run in"), "{said}");
    // Neither a segmenter run nor masks: refused, saying what real data need.
    let err = fails(
        "reproduce_main",
        [
            "--sources",
            c,
            "--tiny",
            "--out",
            tmp.path().join("no-segmenter").to_str().unwrap(),
        ],
    );
    assert!(err.contains("[[segmenter.masks]]"), "{err}");

    // A sources file that does not read is refused before the run folder is touched.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[cohort]\nseed = \"x\"\n").unwrap();
    let err = fails(
        "reproduce_main",
        [
            "--sources",
            bad.to_str().unwrap(),
            "--tiny",
            "--out",
            tmp.path().join("never").to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("--sources") && err.contains("bad.toml"),
        "{err}"
    );
    assert!(!tmp.path().join("never").exists());
}
