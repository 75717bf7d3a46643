//! The run's `report.md`: every number is read from the step outputs it cites, so the
//! report always matches `evaluation/metrics.json` (checked by a test), then rendered by
//! `cxr_report::experiment`. Also the measured spread of the demo ([`DEMO_SPREAD`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_cohort::Part;
use cxr_core::ImageRecord;
use cxr_eval::evaluate::Evaluation;

use crate::Result;
use crate::context::Context;
use cxr_report::experiment::{
    Figures, GateSummary, MainReport, NearCutCheck, Provenance, SaliencyExample,
    TemperatureSummary, TrainingSummary, main_report_markdown,
};

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

/// The classifier's training as the report tells it, from `classifier/metrics.jsonl`.
fn training_summary(ctx: &Context) -> Option<TrainingSummary> {
    let dir = ctx.out.join("classifier");
    let m = cxr_classifier::train::read_metrics(&dir).ok()?;
    let best = m.iter().min_by(|a, b| a.val_loss.total_cmp(&b.val_loss));
    // The snapshots `cxr_nn::fit` averaged: those of the final epochs run that fell in
    // the plan's window (fewer than `average_last` after an early stop).
    let averaged = (m.len().saturating_sub(ctx.config.classifier.average_last)..m.len())
        .filter(|&e| cxr_nn::snapshot_path(&dir, e).exists())
        .count();
    Some(TrainingSummary {
        epochs: m.len(),
        seconds: m.iter().map(|e| e.seconds).sum(),
        best_epoch: best.map_or(0, |b| b.epoch),
        best_val_loss: best.map_or(f64::NAN, |b| b.val_loss),
        best_val_accuracy: best.map_or(f64::NAN, |b| b.val_accuracy),
        averaged_epochs: if dir.join(cxr_nn::AVERAGED).exists() {
            averaged
        } else {
            0
        },
    })
}

/// What a main run computed, for its report.
pub struct MainResults<'a> {
    /// The cohort's records.
    pub records: &'a [ImageRecord],
    /// What the gate did.
    pub gate: &'a GateSummary,
    /// Patients per part.
    pub split_counts: &'a BTreeMap<Part, usize>,
    /// The test units' evaluation.
    pub evaluation: &'a Evaluation,
    /// The classifier's temperature and the test units without it, when it has one.
    pub temperature: Option<&'a (cxr_classifier::calibrate::RunTemperature, Evaluation)>,
    /// The test units without the images accepted near the gate's cut
    /// ([`crate::run::without_near_cut`]).
    pub near_cut: &'a NearCutCheck,
    /// Explained test images.
    pub saliency: &'a [SaliencyExample],
    /// The shortcut audit, when it ran.
    pub audit: Option<&'a cxr_report::audit::ShortcutAudit>,
    /// Figures 1 and 2.
    pub figures: &'a Figures,
    /// The sentence on the segmenter's training images in the cohort
    /// ([`crate::seen::SegmenterSeen::sentence`]).
    pub segmenter_seen: &'a str,
}

/// Writes `report.md` of a main run and returns its path.
pub fn write_main_report(ctx: &Context, r: &MainResults<'_>) -> Result<PathBuf> {
    let MainResults {
        records,
        gate,
        split_counts,
        evaluation,
        temperature,
        near_cut,
        saliency,
        audit,
        figures,
        segmenter_seen,
    } = *r;
    let patients: std::collections::BTreeSet<_> = records.iter().map(|r| &r.patient).collect();
    let data = match (&ctx.config.data.synthetic, &ctx.config.data.sources) {
        (Some(s), _) => format!(
            "a synthetic cohort (`cxr-synth`, seed {}, {} px)",
            s.seed, s.synth.size
        ),
        (_, Some(p)) => format!("the sources of `{}`", p.display()),
        _ => "?".into(),
    };
    let report = MainReport {
        data,
        images: records.len(),
        patients: patients.len(),
        table1: read_optional(&ctx.out.join("cohort/table1.md")),
        figures,
        gate_rule: (
            ctx.config.segmenter.qc.min_lungs,
            ctx.config.segmenter.qc.min_fraction,
        ),
        gate,
        split_counts: split_counts
            .iter()
            .map(|(p, n)| (format!("{p:?}"), *n))
            .collect(),
        split_sha256: read_optional(&ctx.out.join("split.csv.sha256")),
        segmenter_seen,
        training: training_summary(ctx),
        spread: demo_spread(&ctx.config),
        evaluation,
        temperature: temperature.map(|(t, before)| TemperatureSummary {
            temperature: t.temperature,
            validation_nll: (t.nll_before, t.nll_after),
            validation_images: t.images,
            before,
        }),
        near_cut: Some(near_cut),
        saliency,
        audit,
        provenance: Provenance {
            segmenter: cxr_nn::files::read_sessions_or_log(&crate::run::segmenter_folder(ctx)),
            classifier: cxr_nn::files::read_sessions_or_log(&ctx.out.join("classifier")),
            rendered: cxr_core::Environment::current().with_compute(cxr_nn::compute(ctx.device)),
        },
    };
    let md = main_report_markdown(&report);
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
