//! The run's `report.md`: Table 1, the quality gate, the split, training, Table 3 with
//! Figure 3, saliency examples. Every number is read from the step outputs it cites, so
//! the report always matches `evaluation/metrics.json` (checked by a test).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_cohort::Part;
use cxr_core::ImageRecord;
use cxr_eval::evaluate::Evaluation;

use crate::Result;
use crate::context::Context;
use crate::figures::{Figures, SaliencyExample};
use crate::gate::{GateCounts, GateSummary};

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

fn read_optional(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// What one draw of the demo is worth, measured for `docs/reproducing.md` by
/// `scripts/demo/spread.sh` (3 classifier seeds × {this CPU's instruction set, AVX2}):
/// the ranges of the six runs' covid-19 AUC and accuracy. Shown in a demo run's report
/// next to its own numbers; a test keeps `docs/reproducing.md` quoting the same ranges.
pub const DEMO_SPREAD: DemoSpread = DemoSpread {
    covid_auc: (0.981, 0.995),
    accuracy_pct: (92.0, 94.8),
    measured: "2026-12-06 on a 2-core Intel Xeon VM with AVX-512 and AMX",
};

/// The measured spread of the demo's results ([`DEMO_SPREAD`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoSpread {
    /// Lowest and highest covid-19 AUC of the six runs.
    pub covid_auc: (f64, f64),
    /// Lowest and highest global accuracy, in percent.
    pub accuracy_pct: (f64, f64),
    /// When and where.
    pub measured: &'static str,
}

impl DemoSpread {
    /// The sentence `docs/reproducing.md` and the demo report share.
    pub fn sentence(&self) -> String {
        format!(
            "over 3 classifier seeds × 2 instruction sets the demo gave covid-19 AUC \
             {:.3}–{:.3} and accuracy {:.1}–{:.1} %",
            self.covid_auc.0, self.covid_auc.1, self.accuracy_pct.0, self.accuracy_pct.1
        )
    }
}

/// The demo's spread, for a run with the demo's settings but for the classifier seed
/// (the recipe the spread was measured on); `None` for anything else.
fn demo_spread(config: &crate::ExperimentConfig) -> Option<String> {
    let mut c = config.clone();
    c.classifier.seed = crate::ExperimentConfig::demo().classifier.seed;
    (c == crate::ExperimentConfig::demo()).then(|| {
        format!(
            "What one draw is worth: {} (`docs/reproducing.md`, measured {}). A \
             difference inside that range between two runs is the random seed, not the \
             change.\n\n",
            DEMO_SPREAD.sentence(),
            DEMO_SPREAD.measured
        )
    })
}

/// Writes `report.md` of a main run and returns its path.
pub fn write_main_report(
    ctx: &Context,
    records: &[ImageRecord],
    gate: &GateSummary,
    split_counts: &BTreeMap<Part, usize>,
    evaluation: &Evaluation,
    saliency: &[SaliencyExample],
    figures: &Figures,
) -> Result<PathBuf> {
    let mut md = String::from("# Main experiment (Figure 3, Table 3)\n\n");
    let patients: std::collections::BTreeSet<_> = records.iter().map(|r| &r.patient).collect();
    let data = match (&ctx.config.data.synthetic, &ctx.config.data.sources) {
        (Some(s), _) => format!(
            "a synthetic cohort (`cxr-synth`, seed {}, {} px)",
            s.seed, s.synth.size
        ),
        (_, Some(p)) => format!("the sources of `{}`", p.display()),
        _ => "?".into(),
    };
    let _ = writeln!(
        md,
        "Data: {data}: {} images of {} patients. Settings: `experiment.toml`. Every number \
         below is read from the files this run wrote.\n",
        records.len(),
        patients.len()
    );
    md.push_str("## Cohort (Table 1)\n\n");
    if let Some(t1) = read_optional(&ctx.out.join("cohort/table1.md")) {
        md.push_str(&demote_headings(&t1, 1));
        md.push_str("\n\n");
    }
    let _ = writeln!(md, "![Figure 1. Image examples]({})\n", figures.sources);
    md.push_str("## Lung segmentation and quality gate\n\n");
    let _ = writeln!(
        md,
        "Images are kept when at least {} lungs are found and cover at least {:.0} % of the \
         image (the paper: both lungs, 30 %); masks in `masks/`, rejects with their reason \
         in `qc_rejected.csv`.\n",
        ctx.config.segmenter.qc.min_lungs,
        100.0 * ctx.config.segmenter.qc.min_fraction
    );
    md.push_str(&gate_markdown(gate));
    md.push('\n');
    let _ = writeln!(
        md,
        "![Figure 2. Automatic lung segmentations]({})\n",
        figures.segmentation
    );
    md.push_str("## Patient split\n\n| Part | Patients |\n|---|---|\n");
    for (p, n) in split_counts {
        let _ = writeln!(md, "| {p:?} | {n} |");
    }
    let sha = read_optional(&ctx.out.join("split.csv.sha256")).unwrap_or_default();
    let _ = writeln!(
        md,
        "\nNo patient is in two parts and near-duplicate images stay in one part (checked \
         when the split is made and when it is read back). `split.csv` SHA-256: `{}`.\n",
        sha.split_whitespace().next().unwrap_or("?")
    );
    md.push_str("## Classifier training\n\n");
    if let Ok(m) = cxr_classifier::train::read_metrics(&ctx.out.join("classifier")) {
        let best = m.iter().min_by(|a, b| a.val_loss.total_cmp(&b.val_loss));
        let secs: f64 = m.iter().map(|e| e.seconds).sum();
        let _ = writeln!(
            md,
            "{} epochs ({:.0} s); best validation loss {:.4} at epoch {} (validation \
             accuracy {:.3}).",
            m.len(),
            secs,
            best.map_or(f64::NAN, |b| b.val_loss),
            best.map_or(0, |b| b.epoch),
            best.map_or(f64::NAN, |b| b.val_accuracy),
        );
        // The snapshots `cxr_nn::fit` averaged: those of the final epochs run that fell
        // in the plan's window (fewer than `average_last` after an early stop).
        let dir = ctx.out.join("classifier");
        let averaged = (m.len().saturating_sub(ctx.config.classifier.average_last)..m.len())
            .filter(|&e| cxr_nn::snapshot_path(&dir, e).exists())
            .count();
        if averaged > 0 && dir.join(cxr_nn::AVERAGED).exists() {
            let _ = writeln!(
                md,
                "Predictions use the average of the weights of the last {averaged} epochs \
                 (`classifier/averaged.safetensors`), not the epoch of best validation loss."
            );
        }
        md.push_str("\n![Training curves](classifier/curves.png)\n\n");
    }
    md.push_str("## Results on the test patients\n\n");
    if let Some(spread) = demo_spread(&ctx.config) {
        md.push_str(&spread);
    }
    let eval_md =
        cxr_report::markdown::report(evaluation, "evaluation/roc.png", "evaluation/confusion.png");
    // Drop the evaluation report's own title; demote its sections under this one.
    let body: String = eval_md
        .lines()
        .skip_while(|l| l.starts_with("# ") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    md.push_str(&demote_headings(&body, 1));
    md.push_str("\n\n## Saliency (where the network looks)\n\n");
    if saliency.is_empty() {
        md.push_str("No test images to explain.\n");
    } else {
        md.push_str(
            "Share of saliency mass inside the lung mask, per method (1.0 = all inside), \
             next to the share of the image the lungs cover (what an evenly spread map \
             would give). Gradients are taken with respect to the masked network input, so \
             mass outside the lungs means the network reacts to the mask's outline.\n\n\
             | Image | Class | Predicted | P(class) | Lung area | Vanilla | SmoothGrad | Grad-CAM |\n|---|---|---|---|---|---|---|---|\n",
        );
        for s in saliency {
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
        for s in saliency {
            let _ = write!(md, "**{} ({})**: ", s.image_id, s.label);
            for (m, png, _) in &s.maps {
                let _ = write!(md, "![{m}]({png}) ");
            }
            md.push_str("\n\n");
        }
    }
    let path = ctx.out.join("report.md");
    cxr_core::write_bytes_atomic(&path, md.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The docs quote the spread the demo report shows, in the same words.
    #[test]
    fn the_docs_quote_the_measured_demo_spread() {
        let docs = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reproducing.md"),
        )
        .unwrap();
        let sentence = DEMO_SPREAD.sentence();
        assert!(
            docs.contains(&sentence),
            "docs/reproducing.md lacks: {sentence}"
        );
        assert!(docs.contains(DEMO_SPREAD.measured));
    }

    #[test]
    fn only_the_demo_recipe_shows_the_spread() {
        let mut c = crate::ExperimentConfig::demo();
        assert!(demo_spread(&c).is_some());
        c.classifier.seed = 7;
        assert!(
            demo_spread(&c).is_some(),
            "another seed is what the spread is about"
        );
        c.classifier.epochs = 10;
        assert!(demo_spread(&c).is_none());
    }
}
