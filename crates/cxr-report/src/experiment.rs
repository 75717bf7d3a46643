//! The main experiment's `report.md` (Table 1, the quality gate, the split, training,
//! Table 3 with Figure 3, saliency examples), rendered from the values a run wrote
//! ([`MainReport`]); `cxr-experiments` gathers them and writes the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cxr_eval::Evaluation;
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
    /// The classifier's training, when its metrics are there.
    pub training: Option<TrainingSummary>,
    /// A paragraph on what one draw of this recipe is worth, when measured.
    pub spread: Option<String>,
    /// The patient-level evaluation of the test part.
    pub evaluation: &'a Evaluation,
    /// Explained test images.
    pub saliency: &'a [SaliencyExample],
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
    let eval_md = crate::markdown::report(
        r.evaluation,
        "evaluation/roc.png",
        "evaluation/confusion.png",
    );
    // Drop the evaluation report's own title; demote its sections under this one.
    let body: String = eval_md
        .lines()
        .skip_while(|l| l.starts_with("# ") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    md.push_str(&demote_headings(&body, 1));
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
        md.push('\n');
        for s in r.saliency {
            let _ = write!(md, "**{} ({})**: ", s.image_id, s.label);
            for (m, png, _) in &s.maps {
                let _ = write!(md, "![{m}]({png}) ");
            }
            md.push_str("\n\n");
        }
    }
    md
}
