//! The main experiment's `report.md` (Table 1, the quality gate, the split, training,
//! Table 3 with Figure 3, saliency examples), rendered from the values a run wrote
//! ([`MainReport`]); `cxr-experiments` gathers them and writes the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use cxr_core::Label;
use cxr_eval::Evaluation;

use crate::Result;
use crate::plot::{RGBColor, Series, lines_png};
use serde::{Deserialize, Serialize};

/// Per-source counts of the quality gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateCounts {
    /// Images seen.
    pub images: usize,
    /// Accepted.
    pub accepted: usize,
    /// Rejected, by reason code (`lungs_not_found`, `lungs_too_small`, `error`).
    pub rejected: BTreeMap<String, usize>,
}

/// What the gate did, per source and in total (`qc.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateSummary {
    /// Per source.
    pub by_source: BTreeMap<String, GateCounts>,
    /// All sources.
    pub total: GateCounts,
    /// The verdicts that rest on a lung share close to the gate's cut (`None` in a
    /// `qc.json` written before it was counted).
    #[serde(default)]
    pub near_cut: Option<NearCut>,
}

/// Images whose lungs were found but cover within `band` of the gate's smallest share
/// (`QcOptions::min_fraction`): their verdicts can change with the segmenter's last
/// digits (another CPU's kernels, another training run of the same recipe).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NearCut {
    /// Half-width of the band, as a share of the image (0.01: one percentage point).
    pub band: f64,
    /// Accepted within the band (at most `band` above the cut).
    pub accepted: usize,
    /// Rejected within the band (less than `band` below the cut).
    pub rejected: usize,
}

/// What the test results rest on near the gate's cut: the accepted test images whose
/// lungs cover less than [`NearCut::band`] more than the gate's smallest share (their
/// verdicts can change with the segmenter's last digits), and the test units evaluated
/// as if those images had been rejected, the split held.
#[derive(Debug, Clone)]
pub struct NearCutCheck {
    /// Half-width of the band, as a share of the image.
    pub band: f64,
    /// Test images accepted near the cut.
    pub images: usize,
    /// Test images in all.
    pub test_images: usize,
    /// The test units without those images (`evaluation/without_near_cut.json`), or why
    /// they could not be evaluated (too few units or classes left); `None` when no test
    /// image is near the cut.
    pub without: Option<std::result::Result<Evaluation, String>>,
}

/// One explained test image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaliencyExample {
    /// Image id.
    pub image_id: String,
    /// True class.
    pub label: String,
    /// Predicted class.
    pub predicted: String,
    /// Class probabilities.
    pub probabilities: Vec<f32>,
    /// (method, overlay PNG relative to the run folder, share of saliency in the lungs).
    pub maps: Vec<(String, String, f64)>,
    /// Share of the image the lungs cover: the share a map spread evenly would have.
    pub lung_fraction: f64,
}

/// Where the paper's Figures 1 and 2 of a run were written, relative to the run folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// One image of each source (Figure 1).
    pub sources: String,
    /// Automatic lung segmentations with the gate's verdict (Figure 2).
    pub segmentation: String,
}

/// Demotes every Markdown heading of `md` by `levels`.
pub fn demote_headings(md: &str, levels: usize) -> String {
    md.lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("{}{l}", "#".repeat(levels))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The gate's table.
pub fn gate_markdown(g: &GateSummary) -> String {
    let mut s = String::from(
        "| Source | Images | Accepted | Rejected: lungs not found | Rejected: lungs too small | Errors |\n|---|---|---|---|---|---|\n",
    );
    let row = |s: &mut String, name: &str, c: &GateCounts| {
        let r = |k: &str| c.rejected.get(k).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "| {name} | {} | {} ({:.1} %) | {} | {} | {} |",
            c.images,
            c.accepted,
            100.0 * c.accepted as f64 / c.images.max(1) as f64,
            r("lungs_not_found"),
            r("lungs_too_small"),
            r("error")
        );
    };
    for (src, c) in &g.by_source {
        row(&mut s, src, c);
    }
    row(&mut s, "**All**", &g.total);
    if let Some(n) = g.near_cut.filter(|n| n.accepted + n.rejected > 0) {
        let _ = writeln!(
            s,
            "\n{} images ({} accepted, {} rejected) have lungs within {:.0} percentage point{} \
             of the smallest share: their verdicts can change with the segmenter's last digits \
             (another CPU's kernels, another training run of the same recipe).",
            n.accepted + n.rejected,
            n.accepted,
            n.rejected,
            100.0 * n.band,
            plural(100.0 * n.band)
        );
    }
    s
}

/// A classifier training as the report tells it (from its `metrics.jsonl`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingSummary {
    /// Epochs run.
    pub epochs: usize,
    /// Seconds they took.
    pub seconds: f64,
    /// Epoch of the lowest validation loss.
    pub best_epoch: usize,
    /// That loss.
    pub best_val_loss: f64,
    /// Validation accuracy at that epoch.
    pub best_val_accuracy: f64,
    /// Snapshots averaged into the weights predictions use (0: none, the best epoch's).
    pub averaged_epochs: usize,
}

/// Everything the main report shows, read from the run's files.
#[derive(Debug, Clone)]
pub struct MainReport<'a> {
    /// What the data were (`a synthetic cohort (…)`, `the sources of …`).
    pub data: String,
    /// Images of the cohort.
    pub images: usize,
    /// Patients of the cohort.
    pub patients: usize,
    /// `cohort/table1.md`, when there.
    pub table1: Option<String>,
    /// Where Figures 1 and 2 are.
    pub figures: &'a Figures,
    /// The gate's rule: lungs to find, smallest share of the image.
    pub gate_rule: (u8, f32),
    /// What the gate did.
    pub gate: &'a GateSummary,
    /// Patients per part of the split, in order (`Train`, `Validation`, `Test`).
    pub split_counts: Vec<(String, usize)>,
    /// `split.csv.sha256`'s content, when there.
    pub split_sha256: Option<String>,
    /// What is known of the lung segmenter's training images in the cohort (a sentence;
    /// `cxr_experiments::seen`).
    pub segmenter_seen: &'a str,
    /// The classifier's training, when its metrics are there.
    pub training: Option<TrainingSummary>,
    /// A paragraph on what one draw of this recipe is worth, when measured.
    pub spread: Option<String>,
    /// The patient-level evaluation of the test part.
    pub evaluation: &'a Evaluation,
    /// What the classifier's temperature scaling did, when it has one.
    pub temperature: Option<TemperatureSummary<'a>>,
    /// The results without the test images accepted near the gate's cut, when the test
    /// images were gated.
    pub near_cut: Option<&'a NearCutCheck>,
    /// Explained test images.
    pub saliency: &'a [SaliencyExample],
    /// The shortcut audit, when it ran (its files under `audit/`).
    pub audit: Option<&'a crate::audit::ShortcutAudit>,
    /// Where the models were trained and the report rendered.
    pub provenance: Provenance,
}

/// Where a run's models were trained (each run folder's `environment.jsonl`) and its
/// report rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The segmenter's training sessions (none for a run trained before runs kept them).
    pub segmenter: Vec<cxr_core::Session>,
    /// The classifier's.
    pub classifier: Vec<cxr_core::Session>,
    /// Where this report is rendered.
    pub rendered: cxr_core::Environment,
}

/// The head of every page's Provenance section.
const PROVENANCE_HEAD: &str = "## Provenance\n\nThe software and machine behind these numbers. \
     Results can differ in their last digits between CPUs (libtorch's kernels are chosen by \
     instruction set) and thread counts; the same settings, seed and commit reproduce a run \
     on the same kind of machine.\n\n";

/// The report's closing section: the software and machine behind every number.
pub fn provenance_markdown(p: &Provenance) -> String {
    let mut md = String::from(PROVENANCE_HEAD);
    for (what, dir, sessions) in [
        ("Segmenter", "segmenter", &p.segmenter),
        ("Classifier", "classifier", &p.classifier),
    ] {
        match cxr_core::environment::sessions_summary(sessions) {
            Some(line) => push_trained_with(
                &mut md,
                &format!("{what} (`{dir}/environment.jsonl`)"),
                &line,
            ),
            None => {
                let _ = writeln!(
                    md,
                    "- {what} trained with: not recorded (`{dir}/` was trained before runs \
                     kept `environment.jsonl`)."
                );
            }
        }
    }
    let _ = writeln!(md, "- This report rendered with: {}.", p.rendered.summary());
    md
}

/// A study page's Provenance section: its training runs (folder relative to the page,
/// the run's sessions), those trained alike on one line, a run that changed machine
/// with a line per start; then where the page was rendered.
pub fn runs_provenance_markdown(
    runs: &[(String, Vec<cxr_core::Session>)],
    rendered: &cxr_core::Environment,
) -> String {
    let mut md = String::from(PROVENANCE_HEAD);
    // (where, its runs) in the order first met.
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (dir, sessions) in runs {
        let Some(line) = cxr_core::environment::sessions_summary(sessions) else {
            continue;
        };
        match groups.iter_mut().find(|(l, _)| *l == line) {
            Some((_, dirs)) => dirs.push(dir),
            None => groups.push((line, vec![dir])),
        }
    }
    for (line, dirs) in &groups {
        let names: Vec<String> = dirs.iter().map(|d| format!("`{d}`")).collect();
        let count = match dirs.len() {
            1 => String::new(),
            n => format!(" ({n} runs)"),
        };
        push_trained_with(&mut md, &format!("{}{count}", names.join(", ")), line);
    }
    if groups.is_empty() {
        md.push_str("- No run here recorded where it was trained (`environment.jsonl`).\n");
    }
    let _ = writeln!(md, "- This page rendered with: {}.", rendered.summary());
    md
}

/// A Provenance item: what was trained and where (`sessions_summary`'s line), or a line
/// per start when the run changed machine.
fn push_trained_with(md: &mut String, what: &str, sessions: &str) {
    if sessions.contains('\n') {
        let _ = writeln!(md, "- {what} trained with, per start:");
        for l in sessions.lines() {
            let _ = writeln!(md, "  - {l}");
        }
    } else {
        let _ = writeln!(md, "- {what} trained with: {sessions}.");
    }
}

/// What temperature scaling did to a run: the fit on the validation images and the test
/// units before it (the run's own evaluation is the after).
#[derive(Debug, Clone)]
pub struct TemperatureSummary<'a> {
    /// The temperature.
    pub temperature: f64,
    /// Mean negative log-likelihood of the validation images before and after.
    pub validation_nll: (f64, f64),
    /// Validation images it was fitted on.
    pub validation_images: usize,
    /// The test units with the network's own probabilities.
    pub before: &'a Evaluation,
}

/// The temperature-scaling section: the fit, then per class AUC, Brier score and ECE on
/// the test units before → after.
pub fn temperature_markdown(t: &TemperatureSummary<'_>, after: &Evaluation) -> String {
    let mut md = String::from("## Temperature scaling\n\n");
    let _ = writeln!(
        md,
        "One temperature T = {:.3}, fitted by likelihood on the {} validation images \
         (mean negative log-likelihood {:.4} → {:.4}), divides the log-probabilities of \
         every prediction (`classifier/temperature.json`; `predict --no-temperature` gives \
         the network's own). {} It never changes an image's predicted class; averaged \
         over a patient-day and ranked across patients, the numbers may move a little. \
         Test units, before → after (`evaluation/before_temperature.json`, \
         `evaluation/metrics.json`):\n",
        t.temperature,
        t.validation_images,
        t.validation_nll.0,
        t.validation_nll.1,
        if t.temperature > 1.0 {
            "T > 1: the network was over-confident."
        } else {
            "T < 1: the network was under-confident."
        }
    );
    md.push_str(
        "| Class | AUC | Brier | ECE (equal-width) | ECE (equal-count) |\n|---|---|---|---|---|\n",
    );
    for &label in Label::ALL {
        let (Some(b), Some(a)) = (
            t.before.per_class.get(label).as_ref(),
            after.per_class.get(label).as_ref(),
        ) else {
            continue;
        };
        let cal = |m: &cxr_eval::evaluate::ClassMetrics| {
            m.calibration
                .as_ref()
                .map_or((f64::NAN, f64::NAN, f64::NAN), |c| {
                    (c.brier, c.reliability.ece, c.ece_equal_count)
                })
        };
        let (cb, ca) = (cal(b), cal(a));
        let _ = writeln!(
            md,
            "| {} | {:.3} → {:.3} | {:.4} → {:.4} | {:.4} → {:.4} | {:.4} → {:.4} |",
            crate::plot::class_name(label),
            b.auc,
            a.auc,
            cb.0,
            ca.0,
            cb.1,
            ca.1,
            cb.2,
            ca.2
        );
    }
    let _ = writeln!(
        md,
        "\nGlobal accuracy {:.1} % → {:.1} %.\n",
        100.0 * t.before.global_accuracy,
        100.0 * after.global_accuracy
    );
    md
}

/// The section on the test images accepted near the gate's cut: how many, and each
/// class's AUC and the global accuracy with and without them.
pub fn near_cut_markdown(c: &NearCutCheck, all: &Evaluation) -> String {
    let mut md = String::from("## Verdicts near the gate's cut\n\n");
    let band = 100.0 * c.band;
    let Some(without) = &c.without else {
        let _ = writeln!(
            md,
            "None of the {} test images was accepted with lungs within {band:.0} percentage \
             point{} of the gate's smallest share: no number above rests on such a verdict.",
            c.test_images,
            plural(band)
        );
        return md;
    };
    let _ = write!(
        md,
        "{} of the {} test images were accepted with lungs within {band:.0} percentage \
         point{} of the gate's smallest share: another CPU's kernels or another training \
         run of the segmenter could have rejected them. ",
        c.images,
        c.test_images,
        plural(band)
    );
    let without = match without {
        Ok(e) => e,
        Err(why) => {
            let _ = writeln!(
                md,
                "Without them the test units cannot be evaluated: {why}."
            );
            return md;
        }
    };
    let _ = writeln!(
        md,
        "Had they been rejected (the split held), {} of the {} test units would remain \
         (`evaluation/without_near_cut.json`):\n",
        without.n_units, all.n_units
    );
    md.push_str("| Class | AUC [95 % CI], as reported | Without them |\n|---|---|---|\n");
    let auc = |e: &Evaluation, label: Label| {
        e.per_class
            .get(label)
            .as_ref()
            .map_or("—".to_owned(), |m| auc_with_ci(m.auc, m.auc_ci95))
    };
    for &label in Label::ALL {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            crate::plot::class_name(label),
            auc(all, label),
            auc(without, label)
        );
    }
    let _ = writeln!(
        md,
        "\nGlobal accuracy {:.1} % → {:.1} %.",
        100.0 * all.global_accuracy,
        100.0 * without.global_accuracy
    );
    md
}

/// An AUC and its interval, as the report's tables show them: `0.900 [0.800, 0.950]`.
fn auc_with_ci(auc: f64, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{auc:.3} [{lo:.3}, {hi:.3}]"),
        None => format!("{auc:.3}"),
    }
}

/// `"s"` unless `v` percentage points is one.
fn plural(v: f64) -> &'static str {
    if (v - 1.0).abs() < 1e-9 { "" } else { "s" }
}

/// The yardstick beside the results: what knowing only each test image's source scores
/// (the shortcut audit's `source_only_auc`), class by class; `None` when not measured.
fn source_alone_line(a: &crate::audit::ShortcutAudit) -> Option<String> {
    let parts: Vec<String> = cxr_core::Label::ALL
        .iter()
        .filter_map(|l| {
            let (auc, _) = a.source_only_auc.get(l.index()).copied().flatten()?;
            Some(format!(
                "{} {auc:.3}",
                crate::plot::class_name(*l).to_lowercase()
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "> **For scale**: knowing nothing but each test image's source gives AUC {} on \
             these units (the shortcut audit, below). The AUCs here say something about the \
             disease only as far as they rise above these.\n\n",
            parts.join(", ")
        )
    })
}

/// The main experiment's `report.md`.
pub fn main_report_markdown(r: &MainReport<'_>) -> String {
    let mut md = String::from("# Main experiment (Figure 3, Table 3)\n\n");
    let _ = writeln!(
        md,
        "Data: {}: {} images of {} patients. Settings: `experiment.toml`. Every number \
         below is read from the files this run wrote.\n",
        r.data, r.images, r.patients
    );
    md.push_str("## Cohort (Table 1)\n\n");
    if let Some(t1) = &r.table1 {
        md.push_str(&demote_headings(t1, 1));
        md.push_str("\n\n");
    }
    let _ = writeln!(md, "![Figure 1. Image examples]({})\n", r.figures.sources);
    md.push_str("## Lung segmentation and quality gate\n\n");
    let _ = writeln!(
        md,
        "Images are kept when at least {} lungs are found and cover at least {:.0} % of the \
         image (the paper: both lungs, 30 %); masks in `masks/`, rejects with their reason \
         in `qc_rejected.csv`.\n",
        r.gate_rule.0,
        100.0 * r.gate_rule.1
    );
    md.push_str(&gate_markdown(r.gate));
    md.push('\n');
    let _ = writeln!(
        md,
        "![Figure 2. Automatic lung segmentations]({})\n",
        r.figures.segmentation
    );
    md.push_str("## Patient split\n\n| Part | Patients |\n|---|---|\n");
    for (p, n) in &r.split_counts {
        let _ = writeln!(md, "| {p} | {n} |");
    }
    let sha = r.split_sha256.as_deref().unwrap_or_default();
    let _ = writeln!(
        md,
        "\nNo patient is in two parts and near-duplicate images stay in one part (checked \
         when the split is made and when it is read back). `split.csv` SHA-256: `{}`.\n",
        sha.split_whitespace().next().unwrap_or("?")
    );
    if !r.segmenter_seen.is_empty() {
        let _ = writeln!(md, "{}\n", r.segmenter_seen);
    }
    md.push_str("## Classifier training\n\n");
    if let Some(t) = &r.training {
        let _ = writeln!(
            md,
            "{} epochs ({:.0} s); best validation loss {:.4} at epoch {} (validation \
             accuracy {:.3}).",
            t.epochs, t.seconds, t.best_val_loss, t.best_epoch, t.best_val_accuracy,
        );
        if t.averaged_epochs > 0 {
            let _ = writeln!(
                md,
                "Predictions use the average of the weights of the last {} epochs \
                 (`classifier/averaged.safetensors`), not the epoch of best validation loss.",
                t.averaged_epochs
            );
        }
        md.push_str("\n![Training curves](classifier/curves.png)\n\n");
    }
    md.push_str("## Results on the test patients\n\n");
    if let Some(spread) = &r.spread {
        md.push_str(spread);
    }
    if let Some(line) = r.audit.and_then(source_alone_line) {
        md.push_str(&line);
    }
    let eval_md = crate::markdown::report(r.evaluation, "evaluation/");
    // Drop the evaluation report's own title; demote its sections under this one.
    let body: String = eval_md
        .lines()
        .skip_while(|l| l.starts_with("# ") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    md.push_str(&demote_headings(&body, 1));
    md.push_str("\n\n");
    match &r.temperature {
        Some(t) => md.push_str(&demote_headings(&temperature_markdown(t, r.evaluation), 1)),
        None => md.push_str(
            "### Temperature scaling\n\nNone: the classifier run has no \
             `classifier/temperature.json` (a temperature is fitted only on at least 8 \
             validation images whose likelihood has its optimum inside T = 0.01–100; the \
             training log says which). The probabilities above are the network's own.\n",
        ),
    }
    if let Some(c) = r.near_cut {
        md.push_str("\n\n");
        md.push_str(&demote_headings(&near_cut_markdown(c, r.evaluation), 1));
    }
    md.push_str("\n\n## Saliency (where the network looks)\n\n");
    if r.saliency.is_empty() {
        md.push_str("No test images to explain.\n");
    } else {
        md.push_str(
            "Share of saliency mass inside the lung mask, per method (1.0 = all inside), \
             next to the share of the image the lungs cover (what an evenly spread map \
             would give). Gradients are taken with respect to the masked network input, so \
             mass outside the lungs means the network reacts to the mask's outline.\n\n\
             | Image | Class | Predicted | P(class) | Lung area | Vanilla | SmoothGrad | Grad-CAM |\n|---|---|---|---|---|---|---|---|\n",
        );
        for s in r.saliency {
            let idx = s.label.parse::<cxr_core::Label>().map_or(0, |l| l.index());
            let share = |m: &str| {
                s.maps
                    .iter()
                    .find(|x| x.0 == m)
                    .map_or("-".into(), |x| format!("{:.2}", x.2))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.3} | {:.2} | {} | {} | {} |",
                s.image_id,
                s.label,
                s.predicted,
                s.probabilities.get(idx).copied().unwrap_or(f32::NAN),
                s.lung_fraction,
                share("vanilla"),
                share("smoothgrad"),
                share("gradcam")
            );
        }
        md.push_str(
            "\nIn the pictures (vanilla, SmoothGrad, Grad-CAM), red rising to yellow is where \
             the map is strongest (scaled to its 99th percentile, nothing drawn below 15 %), \
             as the review page draws it; the lung outline is white.\n\n",
        );
        for s in r.saliency {
            let _ = write!(md, "**{} ({})**: ", s.image_id, s.label);
            for (m, png, _) in &s.maps {
                let _ = write!(md, "![{m}]({png}) ");
            }
            md.push_str("\n\n");
        }
    }
    if let Some(a) = r.audit {
        md.push('\n');
        md.push_str(&crate::audit::audit_markdown(a, "audit/"));
    }
    md.push('\n');
    md.push_str(&provenance_markdown(&r.provenance));
    md
}

// ---------------------------------------------------------------------------------------
// The studies (Figure 4a, Figure 4b, leave one source out)
// ---------------------------------------------------------------------------------------

/// One trained-and-evaluated arm of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmResult {
    /// Arm name (its folder).
    pub arm: String,
    /// Test units evaluated.
    pub test_units: usize,
    /// Training patients.
    pub train_patients: usize,
    /// Per class (healthy, covid, bacterial): AUC and its DeLong 95 % interval, when
    /// defined.
    pub auc: Vec<Option<(f64, [f64; 2])>>,
    /// Global accuracy.
    pub accuracy: f64,
    /// Test images left out because the lung segmenter was trained on them (their
    /// patients'; `cxr_experiments::seen`); 0 in results written before it was counted.
    #[serde(default)]
    pub segmenter_left_out: usize,
}

const CLASS_COLORS: [RGBColor; 3] = [
    RGBColor(110, 110, 110),
    RGBColor(31, 90, 200),
    RGBColor(210, 40, 40),
];

/// The table of arms: training patients, test units, accuracy, AUC per class with its
/// DeLong interval; `first` heads the arm column. Under it, the arms whose test part lost
/// images the lung segmenter was trained on, when any did.
pub fn auc_table(rows: &[ArmResult], first: &str) -> String {
    let mut s = format!(
        "| {first} | Training patients | Test units | Accuracy | AUC healthy | AUC covid-19 | AUC bacterial |\n|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        let auc = |i: usize| r.auc[i].map_or("—".into(), |(a, ci)| auc_with_ci(a, Some(ci)));
        let train = if r.train_patients == 0 {
            "—".to_string()
        } else {
            r.train_patients.to_string()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.3} | {} | {} | {} |",
            r.arm,
            train,
            r.test_units,
            r.accuracy,
            auc(0),
            auc(1),
            auc(2)
        );
    }
    let left: Vec<String> = rows
        .iter()
        .filter(|r| r.segmenter_left_out > 0)
        .map(|r| format!("{} {}", r.arm, r.segmenter_left_out))
        .collect();
    if !left.is_empty() {
        let _ = writeln!(
            s,
            "\nTest images left out because the lung segmenter was trained on them \
             (`segmenter_seen.json`): {}.",
            left.join(", ")
        );
    }
    s
}

/// Writes a study's `<name>.json` (its rows) and `<name>.md` into `dir`, atomically.
///
/// # Errors
/// [`crate::Error::Write`] from writing.
pub fn write_study(dir: &Path, name: &str, rows: &[ArmResult], md: &str) -> Result<()> {
    let json = serde_json::to_vec_pretty(rows).expect("results serialise");
    cxr_core::write_bytes_atomic(&dir.join(format!("{name}.json")), &json)?;
    cxr_core::write_bytes_atomic(&dir.join(format!("{name}.md")), md.as_bytes())?;
    Ok(())
}

/// Figure 4a's page and plot: `rows` are the arms, `seeds` per fraction in the order of
/// `fractions`; the mean AUC per fraction and class over the seeds.
///
/// # Errors
/// As [`crate::plot::lines_png`].
pub fn splits_study(
    rows: &[ArmResult],
    fractions: &[f64],
    seeds: usize,
) -> Result<(String, Vec<u8>)> {
    // Mean AUC per fraction and class, with the spread over seeds.
    let mut series: Vec<Series> = Vec::new();
    let mut summary = String::from(
        "\n| Training share | Seeds | Mean AUC healthy | Mean AUC covid-19 | Mean AUC bacterial |\n|---|---|---|---|---|\n",
    );
    let mut per_class: Vec<Vec<(f64, f64)>> = vec![vec![]; 3];
    for (i, &f) in fractions.iter().enumerate() {
        let arms = &rows[i * seeds..(i + 1) * seeds];
        let mean = |c: usize| {
            let v: Vec<f64> = arms.iter().filter_map(|r| r.auc[c].map(|a| a.0)).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let cell = |c: usize| mean(c).map_or("—".into(), |m| format!("{m:.3}"));
        let _ = writeln!(
            summary,
            "| {:.0} % | {} | {} | {} | {} |",
            f * 100.0,
            arms.len(),
            cell(0),
            cell(1),
            cell(2)
        );
        for (c, pts) in per_class.iter_mut().enumerate() {
            if let Some(m) = mean(c) {
                pts.push((f * 100.0, m));
            }
        }
    }
    for (c, pts) in per_class.into_iter().enumerate() {
        series.push(Series {
            name: format!("{} (mean over seeds)", Label::ALL[c].as_str()),
            color: CLASS_COLORS[c],
            points: pts,
        });
    }
    let png = lines_png(
        "AUC against the share of patients used for training",
        "training patients (%)",
        "AUC (test patients)",
        &series,
        (900, 600),
    )?;
    let md = format!(
        "# Training-set size (Figure 4a)\n\nEach arm: its own patient split, classifier and \
         evaluation under `splits/<arm>/`. DeLong 95 % intervals.\n\n{}{summary}\n![AUC vs \
         training share](splits.png)\n",
        auc_table(rows, "Arm")
    );
    Ok((md, png))
}

/// Figure 4b's page and plot: `held` covid patients of `source` after the gate,
/// `held_out` the arms evaluated on the held-out source, `rows` on all test patients;
/// `covid_elsewhere`: whether another source holds covid-19 patients (without any, the
/// page says that an arm adding none back cannot recognise the class).
///
/// # Errors
/// As [`crate::plot::lines_png`].
pub fn transfer_study(
    source: &str,
    held: usize,
    add_back: &[usize],
    held_out: &[ArmResult],
    rows: &[ArmResult],
    covid_elsewhere: bool,
) -> Result<(String, Vec<u8>)> {
    let covid: Vec<(f64, f64)> = add_back
        .iter()
        .zip(held_out)
        .filter_map(|(&n, r)| r.auc[Label::Covid.index()].map(|a| (n as f64, a.0)))
        .collect();
    let png = lines_png(
        &format!("Covid AUC as {source} covid patients join training"),
        &format!("{source} covid patients in training"),
        &format!("covid-19 AUC ({source} covid vs all non-covid test patients)"),
        &[Series {
            name: "covid-19".into(),
            color: CLASS_COLORS[1],
            points: covid,
        }],
        (900, 600),
    )?;
    let mut md = format!(
        "# Transfer to a new source (Figure 4b)\n\n{source} had {} covid patients after the \
         gate; each arm keeps them out of training except the number added back.\n\n\
         ## On the held-out source (the paper's Figure 4b)\n\nPositives: the {source} covid \
         patients not added back; negatives: every healthy and bacterial test patient \
         (`add<N>/evaluation_{source}/`).\n\n{}\n![covid AUC](transfer.png)\n\n\
         ## On all test patients\n\n{}",
        held,
        auc_table(held_out, "Arm"),
        auc_table(rows, "Arm")
    );
    if !covid_elsewhere {
        let _ = write!(
            md,
            "\n**No covid-19 elsewhere**: only {source} holds covid-19 patients in this \
             cohort, so an arm that adds none of them back trains without a single covid-19 \
             patient and cannot recognise the class; the other arms measure how many of the \
             source's own patients the class needs, not transfer to a new source.\n"
        );
    }
    Ok((md, png))
}

/// The leave-one-source-out study on one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LosoSummary {
    /// The input (`masked`, `whole`).
    pub input: String,
    /// Its folder, relative to the run folder (`loso`, `loso_whole`).
    pub folder: String,
    /// One row per held-out source (its arm name is the source).
    pub rows: Vec<ArmResult>,
    /// Per row: near-duplicates of the held-out source's images left out of training.
    pub removed_duplicates: Vec<usize>,
    /// Every held-out source's predictions evaluated together.
    pub external: ArmResult,
    /// The same input on a random patient split, when the run has it.
    pub internal: Option<ArmResult>,
    /// Per row: the classes the held-out source holds that its training held none of
    /// (`covid`, …): the fold cannot recognise them, whatever the images show. Empty in
    /// summaries written before it was recorded.
    #[serde(default)]
    pub unseen_classes: Vec<Vec<String>>,
}

impl LosoSummary {
    /// Covid-19 AUC on the random split minus on the held-out sources together: what the
    /// classifier loses on sources it never saw (`None` without both).
    pub fn covid_drop(&self) -> Option<f64> {
        let covid = Label::Covid.index();
        let auc = |r: &ArmResult| r.auc.get(covid).copied().flatten().map(|a| a.0);
        Some(auc(self.internal.as_ref()?)? - auc(&self.external)?)
    }
}

/// The leave-one-source-out page.
pub fn loso_study(s: &LosoSummary) -> String {
    let mut md = format!(
        "# Leave one source out ({} input)\n\nEach row: a classifier trained on every other \
         source, tested on this one; images that are near-duplicates of the held-out \
         source's were left out of its training. AUC is defined only for classes the source \
         has together with another class (—: not defined).\n\n",
        s.input
    );
    md.push_str(&auc_table(&s.rows, "Held-out source"));
    let removed: usize = s.removed_duplicates.iter().sum();
    let _ = writeln!(
        md,
        "\nNear-duplicates left out of training: {removed} in all ({}).\n",
        s.rows
            .iter()
            .zip(&s.removed_duplicates)
            .map(|(r, n)| format!("{} {n}", r.arm))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let unseen: Vec<String> = s
        .rows
        .iter()
        .zip(&s.unseen_classes)
        .filter(|(_, c)| !c.is_empty())
        .map(|(r, c)| format!("{} ({})", r.arm, c.join(", ")))
        .collect();
    if !unseen.is_empty() {
        let _ = writeln!(
            md,
            "**Classes a fold never saw**: {}. Training without that source held no patient \
             of the class, so the fold cannot recognise it, whatever the images show: those \
             units test nothing about the disease, only that the class came from that source \
             alone (the pooled row below includes them).\n",
            unseen.join("; ")
        );
    }
    md.push_str(
        "![Leave one source out](loso.png)\n\n## Source-blind against random split\n\n\
         Held-out predictions of every source evaluated together, next to a random patient \
         split of the same input when this run folder has one. A large gap is performance \
         that came from recognising the source rather than the disease.\n\n",
    );
    let mut compare = vec![s.external.clone()];
    compare.extend(s.internal.clone());
    md.push_str(&auc_table(&compare, "Evaluation"));
    if let Some(d) = s.covid_drop() {
        let _ = writeln!(
            md,
            "\nCovid-19 AUC drop from the random split to sources never seen in training: \
             **{d:.3}**."
        );
    }
    md
}

/// The leave-one-source-out matrix as a heat map ([`crate::plot::heatmap_png`]): a row
/// per held-out source, a column per class (AUC, with its interval) and the accuracy.
///
/// # Errors
/// As [`crate::plot::heatmap_png`].
pub fn loso_heatmap_png(s: &LosoSummary) -> Result<Vec<u8>> {
    let rows: Vec<String> = s.rows.iter().map(|r| r.arm.clone()).collect();
    let cells: Vec<Vec<Option<crate::plot::Cell>>> = s
        .rows
        .iter()
        .map(|r| {
            let mut c: Vec<Option<crate::plot::Cell>> = (0..Label::COUNT)
                .map(|k| {
                    r.auc
                        .get(k)
                        .copied()
                        .flatten()
                        .map(|(v, iv)| crate::plot::Cell {
                            value: v,
                            interval: Some(iv),
                        })
                })
                .collect();
            c.push(Some(crate::plot::Cell {
                value: r.accuracy,
                interval: None,
            }));
            c
        })
        .collect();
    let footer = s
        .covid_drop()
        .map(|d| format!("covid-19 AUC drop, random split → unseen sources: {d:.3}"));
    crate::plot::heatmap_png(
        &format!("Leave one source out ({} input)", s.input),
        &rows,
        &["AUC healthy", "AUC covid-19", "AUC bacterial", "Accuracy"],
        &cells,
        footer.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_eval::aggregate::ImagePrediction;
    use cxr_eval::evaluate::{EvaluateOptions, evaluate};

    #[test]
    fn the_arms_table_names_the_arms_that_lost_test_images_to_the_segmenter() {
        let arm = |name: &str, left: usize| ArmResult {
            arm: name.into(),
            test_units: 20,
            train_patients: 40,
            auc: vec![None, Some((0.9, [0.8, 0.95])), None],
            accuracy: 0.8,
            segmenter_left_out: left,
        };
        let table = auc_table(&[arm("add0", 3), arm("add5", 0), arm("add10", 1)], "Arm");
        assert!(table.contains("| add0 | 40 | 20 | 0.800 | — | 0.900 [0.800, 0.950] | — |"));
        assert!(
            table.ends_with(
                "\nTest images left out because the lung segmenter was trained on them \
                 (`segmenter_seen.json`): add0 3, add10 1.\n"
            ),
            "{table}"
        );
        let clean = auc_table(&[arm("add0", 0)], "Arm");
        assert!(!clean.contains("left out"), "{clean}");
        // Results written before the count read back with none.
        let old: ArmResult = serde_json::from_str(
            r#"{"arm":"a","test_units":1,"train_patients":2,"auc":[null,null,null],"accuracy":0.5}"#,
        )
        .unwrap();
        assert_eq!(old.segmenter_left_out, 0);
    }

    /// 60 images of 60 patients, over-confident: the right class gets 0.9 four times in
    /// five, the wrong one otherwise.
    fn images() -> Vec<ImagePrediction> {
        (0..60)
            .map(|i| {
                let label = Label::ALL[i % 3];
                let right = i % 5 != 0;
                let mut probs = [0.05; 3];
                let k = if right {
                    label.index()
                } else {
                    (label.index() + 1) % 3
                };
                probs[k] = 0.9;
                ImagePrediction {
                    patient_id: format!("p{i}"),
                    study_date: None,
                    image_id: format!("i{i}"),
                    label,
                    probs,
                }
            })
            .collect()
    }

    #[test]
    fn the_temperature_section_shows_the_fit_and_each_class_before_and_after() {
        let options = EvaluateOptions::default();
        let t = 1.25;
        let after_images: Vec<ImagePrediction> = images().iter().map(|p| p.tempered(t)).collect();
        let before = evaluate(&images(), &options).unwrap();
        let after = evaluate(&after_images, &options).unwrap();
        let summary = TemperatureSummary {
            temperature: t,
            validation_nll: (0.61, 0.52),
            validation_images: 55,
            before: &before,
        };
        let md = temperature_markdown(&summary, &after);
        assert!(md.contains("One temperature T = 1.250, fitted by likelihood on the 55 validation images (mean negative log-likelihood 0.6100 → 0.5200)"), "{md}");
        assert!(md.contains("T > 1: the network was over-confident."));
        let covid = |e: &Evaluation| e.per_class.get(Label::Covid).clone().unwrap();
        let (b, a) = (covid(&before), covid(&after));
        let (cb, ca) = (b.calibration.unwrap(), a.calibration.unwrap());
        let row = format!(
            "| Covid-19 | {:.3} → {:.3} | {:.4} → {:.4} | {:.4} → {:.4} |",
            b.auc, a.auc, cb.brier, ca.brier, cb.reliability.ece, ca.reliability.ece
        );
        assert!(md.contains(&row), "{row}\n{md}");
        // Softening over-confident 0.9s lowers the Brier score.
        assert!(ca.brier < cb.brier, "{} → {}", cb.brier, ca.brier);
        assert!(md.contains("Global accuracy 80.0 % → 80.0 %."), "{md}");
    }

    #[test]
    fn the_near_cut_section_compares_each_class_with_and_without_those_images() {
        let options = EvaluateOptions::default();
        let all = evaluate(&images(), &options).unwrap();
        // Without the first 6 images: 54 units, 44 of them right (every fifth wrong).
        let without = evaluate(&images()[6..], &options).unwrap();
        let covid = |e: &Evaluation| e.per_class.get(Label::Covid).clone().unwrap();
        let check = |without| NearCutCheck {
            band: 0.01,
            images: 6,
            test_images: 60,
            without,
        };
        let md = near_cut_markdown(&check(Some(Ok(without.clone()))), &all);
        assert!(md.starts_with("## Verdicts near the gate's cut\n\n6 of the 60 test images were accepted with lungs within 1 percentage point of the gate's smallest share"), "{md}");
        assert!(
            md.contains(
                "Had they been rejected (the split held), 54 of the 60 test units would remain"
            ),
            "{md}"
        );
        let (a, w) = (covid(&all), covid(&without));
        let [alo, ahi] = a.auc_ci95.unwrap();
        let [wlo, whi] = w.auc_ci95.unwrap();
        let row = format!(
            "| Covid-19 | {:.3} [{alo:.3}, {ahi:.3}] | {:.3} [{wlo:.3}, {whi:.3}] |",
            a.auc, w.auc
        );
        assert!(md.contains(&row), "{row}\n{md}");
        assert!(md.contains("Global accuracy 80.0 % → 81.5 %."), "{md}");
        // Nothing left to evaluate: said.
        let md = near_cut_markdown(&check(Some(Err("no unit left".into()))), &all);
        assert!(
            md.ends_with("Without them the test units cannot be evaluated: no unit left.\n"),
            "{md}"
        );
        // No test image near the cut.
        let none = NearCutCheck {
            images: 0,
            ..check(None)
        };
        let md = near_cut_markdown(&none, &all);
        assert!(
            md.contains(
                "None of the 60 test images was accepted with lungs within 1 percentage point"
            ),
            "{md}"
        );
    }

    #[test]
    fn provenance_lists_each_start_of_a_run_resumed_elsewhere_and_a_run_not_recorded() {
        let env = |cpu: &str| cxr_core::Environment {
            cpu: Some(cpu.into()),
            ..cxr_core::Environment::current()
        };
        let session = |from_epoch, cpu| cxr_core::Session {
            started: format!("2026-12-07T1{from_epoch}:00:00Z"),
            from_epoch,
            environment: env(cpu),
        };
        let p = Provenance {
            segmenter: vec![],
            classifier: vec![session(0, "CPU A"), session(5, "CPU B")],
            rendered: env("CPU B"),
        };
        let md = provenance_markdown(&p);
        assert!(md.starts_with("## Provenance\n"));
        assert!(md.contains(
            "- Segmenter trained with: not recorded (`segmenter/` was trained before runs \
             kept `environment.jsonl`).\n"
        ));
        let (a, b) = (env("CPU A").summary(), env("CPU B").summary());
        let classifier = format!(
            "- Classifier (`classifier/environment.jsonl`) trained with, per start:\n  - \
             from epoch 0 (2026-12-07T10:00:00Z): {a}\n  - from epoch 5 \
             (2026-12-07T15:00:00Z): {b}\n"
        );
        assert!(md.contains(&classifier), "{md}");
        assert!(md.ends_with(&format!("- This report rendered with: {b}.\n")));
    }

    #[test]
    fn a_study_page_groups_runs_trained_alike() {
        let env = |cpu: &str| cxr_core::Environment {
            cpu: Some(cpu.into()),
            ..cxr_core::Environment::current()
        };
        let one = |cpu: &str| {
            vec![cxr_core::Session {
                started: "2026-12-07T10:00:00Z".into(),
                from_epoch: 0,
                environment: env(cpu),
            }]
        };
        let runs = vec![
            ("a/classifier".to_string(), one("CPU A")),
            ("b/classifier".to_string(), one("CPU B")),
            ("c/classifier".to_string(), one("CPU A")),
            ("old/classifier".to_string(), vec![]),
        ];
        let md = runs_provenance_markdown(&runs, &env("CPU A"));
        let (a, b) = (env("CPU A").summary(), env("CPU B").summary());
        assert_eq!(
            md,
            format!(
                "{PROVENANCE_HEAD}- `a/classifier`, `c/classifier` (2 runs) trained with: {a}.\n\
                 - `b/classifier` trained with: {b}.\n- This page rendered with: {a}.\n"
            )
        );
        assert!(runs_provenance_markdown(&[], &env("CPU A")).contains("No run here recorded"));
    }
}
