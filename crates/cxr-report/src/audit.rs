//! The shortcut audit's page and plots (`cxr_experiments::audit` computes it): does the
//! classifier read the lungs, or the hospital the image came from?
//!
//! Three measures, each answerable on any cohort:
//!
//! 1. **Source probe** ([`ProbeResult`]): the classifier's network, trained on the same
//!    inputs to name each image's *source* instead of its diagnosis, on the masked input
//!    (the paper's) and on the whole image side by side. Its accuracy against chance, and
//!    within each class (a probe that tells the source of healthy images apart cannot be
//!    using the disease), say how much of the hospital the inputs carry.
//! 2. **Within-source AUC** ([`WithinSource`]): the diagnosis AUC inside each source that
//!    holds more than one class, next to the pooled AUC. Inside one source the source
//!    cannot help; a pooled AUC far above every within-source AUC came from telling
//!    sources apart. Beside it, the AUC of knowing only the source
//!    ([`ShortcutAudit::source_only_auc`]): what the pooled AUC must beat.
//! 3. **Saliency inside the lungs** ([`SaliencyShare`]): per test image, the share of the
//!    input-gradient mass inside the lung mask, against the share of the image the lungs
//!    cover (what a map spread evenly would give), by class and by source, with the images
//!    that look most outside.
//!
//! The leave-one-source-out matrix is the fourth measure; it trains one classifier per
//! source and lives with the studies (`cxr_experiments::studies::leave_one_source_out`,
//! [`crate::experiment::loso_heatmap_png`]).

use std::fmt::Write as _;
use std::path::Path;

use cxr_core::Label;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::experiment::LosoSummary;
use crate::plot::{Bar, RGBColor, bars_png, class_color, class_name};

/// A source probe on one kind of input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The input (`masked`, the paper's; `whole`, the whole image).
    pub input: String,
    /// The probe's classes: the sources, in output order.
    pub sources: Vec<String>,
    /// Test images predicted.
    pub test_images: usize,
    /// Share of test images whose source the probe names.
    pub accuracy: f64,
    /// Share of the most common source among the test images (always guessing it).
    pub chance: f64,
    /// One-vs-rest AUC of each source (in `sources` order), where the test images hold
    /// that source and another.
    pub per_source_auc: Vec<Option<f64>>,
    /// The same, within the images of each class that comes from several sources.
    pub within_class: Vec<WithinClassProbe>,
}

/// The probe's accuracy among the test images of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithinClassProbe {
    /// The class (`healthy`, `covid`, `bacterial`).
    pub label: String,
    /// Its test images.
    pub images: usize,
    /// Sources among them.
    pub sources: usize,
    /// Share whose source the probe names.
    pub accuracy: f64,
    /// Share of the most common source among them.
    pub chance: f64,
}

/// The diagnosis inside one source (or one hospital group of sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithinSource {
    /// The source, or the group's sources joined by ` + `.
    pub source: String,
    /// Test units (patient-days) of the source.
    pub units: usize,
    /// Units per class, in [`Label::ALL`] order.
    pub units_per_class: Vec<usize>,
    /// Per class: AUC and its DeLong 95 % interval (when defined) inside the source,
    /// where the source has the class and another.
    pub auc: Vec<Option<(f64, Option<[f64; 2]>)>>,
}

/// The saliency of one test image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaliencyShare {
    /// Image id.
    pub image_id: String,
    /// Its source.
    pub source: String,
    /// Its class.
    pub label: String,
    /// Share of the saliency mass inside the lung mask.
    pub share_inside: f64,
    /// Share of the image the lung mask covers.
    pub lung_fraction: f64,
    /// The overlay PNG, relative to the run folder, for the images shown.
    pub overlay: Option<String>,
}

/// One diagnosis classifier's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmAudit {
    /// Its input (`masked`, `whole`).
    pub input: String,
    /// Pooled AUC per class with its interval when defined (the run's evaluation).
    pub pooled_auc: Vec<Option<(f64, Option<[f64; 2]>)>>,
    /// Per source with more than one class.
    pub within_source: Vec<WithinSource>,
    /// The saliency method (`vanilla`: input gradients).
    pub saliency_method: String,
    /// Per test image measured.
    pub saliency: Vec<SaliencyShare>,
}

/// One class's AUC with its 95 % interval (when defined), `None` where the class has no
/// units on both sides.
pub type ClassAuc = Option<(f64, Option<[f64; 2]>)>;

/// The whole audit of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortcutAudit {
    /// Source probes, one per input.
    pub probes: Vec<ProbeResult>,
    /// Diagnosis classifiers audited (the run's, masked; and a whole-image one when asked).
    pub arms: Vec<ArmAudit>,
    /// Leave-one-source-out studies, one per input, when run (`audit_shortcuts --loso`).
    #[serde(default)]
    pub loso: Vec<LosoSummary>,
    /// Per class: the AUC, with its interval when defined, of predictions that know only
    /// each test image's source (`cxr_eval::baseline::source_only`), on the same units
    /// as the pooled AUC. Empty in audits written before it was measured.
    #[serde(default)]
    pub source_only_auc: Vec<ClassAuc>,
}

use crate::markdown::pct;

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

impl ArmAudit {
    /// Mean share of saliency inside the lungs, mean lung share of the image, and how
    /// many images, over the images `filter` keeps (`|_| true`: all).
    pub fn saliency_means(&self, filter: impl Fn(&SaliencyShare) -> bool) -> (f64, f64, usize) {
        let chosen: Vec<&SaliencyShare> = self.saliency.iter().filter(|s| filter(s)).collect();
        (
            mean(chosen.iter().map(|s| s.share_inside)),
            mean(chosen.iter().map(|s| s.lung_fraction)),
            chosen.len(),
        )
    }
}

/// What the audit found, one sentence per measure (the report's summary, and what the
/// README quotes for the demo).
pub fn findings(a: &ShortcutAudit) -> Vec<String> {
    let mut out = Vec::new();
    if !a.probes.is_empty() {
        let parts: Vec<String> = a
            .probes
            .iter()
            .map(|p| format!("{} from {} inputs", pct(p.accuracy), p.input))
            .collect();
        let chance = a.probes[0].chance;
        let mut s = format!(
            "A network trained to name the source tells it for {} (always guessing the \
             largest source: {})",
            parts.join(", "),
            pct(chance)
        );
        let healthy: Vec<String> = a
            .probes
            .iter()
            .filter_map(|p| {
                p.within_class
                    .iter()
                    .find(|w| w.label == "healthy" && w.sources > 1)
                    .map(|w| format!("{} ({})", pct(w.accuracy), p.input))
            })
            .collect();
        if let Some(w) = a.probes[0]
            .within_class
            .iter()
            .find(|w| w.label == "healthy" && w.sources > 1)
        {
            let _ = write!(
                s,
                "; among healthy images of {} sources, where the disease cannot help, {} \
                 (chance {})",
                w.sources,
                healthy.join(", "),
                pct(w.chance)
            );
        }
        s.push('.');
        out.push(s);
    }
    let covid = Label::Covid.index();
    if let Some(Some((alone, _))) = a.source_only_auc.get(covid) {
        let mut s = format!(
            "Knowing only each image's source (the share of covid-19 among its source's \
             training images) gives a covid-19 AUC of {alone:.3}"
        );
        let pooled = a
            .arms
            .first()
            .and_then(|arm| Some((arm, arm.pooled_auc.get(covid).copied().flatten()?.0)));
        if let Some((arm, pooled)) = pooled {
            let _ = write!(s, ", the {} classifier {pooled:.3}", arm.input);
            if *alone >= 0.99 {
                s.push_str(
                    ": here the source alone tells covid-19 from the rest, so the pooled AUC \
                     cannot show that the classifier reads the disease",
                );
            } else if pooled <= *alone {
                s.push_str(": the classifier does no better than the source alone");
            }
        }
        s.push('.');
        out.push(s);
    }
    let drops: Vec<String> = a
        .loso
        .iter()
        .filter_map(|l| {
            l.covid_drop()
                .map(|d| format!("{d:.3} on {} input", l.input))
        })
        .collect();
    if !drops.is_empty() {
        out.push(format!(
            "Covid-19 AUC drop from a random patient split to sources never seen in \
             training: {}.",
            drops.join(", ")
        ));
    }
    for arm in &a.arms {
        let inside: Vec<String> = arm
            .within_source
            .iter()
            .filter_map(|w| {
                w.auc
                    .get(covid)
                    .copied()
                    .flatten()
                    .map(|(auc, _)| format!("{:.3} in {}", auc, w.source))
            })
            .collect();
        if let (Some(Some((pooled, _))), false) = (arm.pooled_auc.get(covid), inside.is_empty()) {
            out.push(format!(
                "Covid-19 AUC of the {} classifier inside single sources or hospital groups: \
                 {} (pooled {:.3}).",
                arm.input,
                inside.join(", "),
                pooled
            ));
        }
        let (share, lungs, n) = arm.saliency_means(|_| true);
        if n > 0 {
            out.push(format!(
                "The {} classifier's {} saliency puts {} of its mass inside the lungs, which \
                 cover {} of the image ({} test images).",
                arm.input,
                arm.saliency_method,
                pct(share),
                pct(lungs),
                n
            ));
        }
    }
    out
}

fn auc_cell(v: Option<(f64, Option<[f64; 2]>)>) -> String {
    match v {
        None => "—".into(),
        Some((a, Some([lo, hi]))) if lo.is_finite() && hi.is_finite() => {
            format!("{a:.3} ({lo:.3}–{hi:.3})")
        }
        // One unit of a class: DeLong's interval is undefined.
        Some((a, _)) => format!("{a:.3} (no interval)"),
    }
}

/// The audit as a markdown section (`## Shortcut audit`); figure links are relative to
/// the run folder, under `dir_prefix` (`audit/`).
pub fn audit_markdown(a: &ShortcutAudit, dir_prefix: &str) -> String {
    let mut md = String::from("## Shortcut audit (is it reading the lungs or the hospital?)\n\n");
    md.push_str(
        "Pooled public sources tie the hospital to the diagnosis; a classifier can score \
         high by recognising the hospital (markers, borders, exposure) and fail elsewhere \
         (DeGrave et al. 2021). The paper's answer is to show the network only the pixels \
         inside the lung masks. These measures say how far that holds here.\n\n",
    );
    for f in findings(a) {
        let _ = writeln!(md, "- {f}");
    }
    md.push('\n');
    if !a.probes.is_empty() {
        md.push_str(
            "### Source probe\n\nThe classifier's network and recipe, trained on the same \
             training patients to name the source of each image instead of its diagnosis, \
             then tested on the test patients. Chance: always guessing the most common \
             source. Within a class, the disease cannot give the source away.\n\n",
        );
        md.push_str("| Input | Test images | Accuracy | Chance |");
        let classes: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
        for c in &classes {
            let _ = write!(md, " Within {c} (chance) |");
        }
        md.push_str("\n|---|---|---|---|");
        for _ in &classes {
            md.push_str("---|");
        }
        md.push('\n');
        for p in &a.probes {
            let _ = write!(
                md,
                "| {} | {} | {} | {} |",
                p.input,
                p.test_images,
                pct(p.accuracy),
                pct(p.chance)
            );
            for c in &classes {
                match p
                    .within_class
                    .iter()
                    .find(|w| w.label == *c && w.sources > 1)
                {
                    Some(w) => {
                        let _ = write!(
                            md,
                            " {} ({}, {} sources) |",
                            pct(w.accuracy),
                            pct(w.chance),
                            w.sources
                        );
                    }
                    None => md.push_str(" — |"),
                }
            }
            md.push('\n');
        }
        if let Some(p) = a.probes.first() {
            md.push_str("\nOne-vs-rest AUC of each source:\n\n| Source |");
            for q in &a.probes {
                let _ = write!(md, " {} |", q.input);
            }
            md.push_str("\n|---|");
            for _ in &a.probes {
                md.push_str("---|");
            }
            md.push('\n');
            for s in &p.sources {
                let _ = write!(md, "| {s} |");
                for q in &a.probes {
                    let cell = q
                        .sources
                        .iter()
                        .position(|x| x == s)
                        .and_then(|k| q.per_source_auc.get(k).copied().flatten())
                        .map_or("—".into(), |v| format!("{v:.3}"));
                    let _ = write!(md, " {cell} |");
                }
                md.push('\n');
            }
        }
        let _ = writeln!(md, "\n![Source probe]({dir_prefix}probe.png)\n");
    }
    if a.arms.len() > 1 || !a.loso.is_empty() {
        md.push_str(&comparison_markdown(a));
    }
    for arm in &a.arms {
        let _ = writeln!(md, "### Within-source AUC ({} classifier)\n", arm.input);
        if arm.within_source.is_empty() {
            md.push_str(
                "No source holds test units of more than one class, so no AUC can be \
                 measured inside a source.",
            );
        } else {
            md.push_str(
                "Inside one source the source cannot help (`a + b`: sources of one hospital \
                 group, `[audit] source_groups`). Units per class: healthy / covid-19 / \
                 bacterial.",
            );
        }
        if !a.source_only_auc.is_empty() {
            md.push_str(
                " *The source alone*: predictions that know nothing but each test image's \
                 source (the share of each class among that source's training images), on \
                 the same units as the pooled AUC: what the pooled AUC must beat to say \
                 anything about the disease.",
            );
        }
        md.push_str(
            "\n\n| Source | Units | Healthy | Covid-19 | Bacterial |\n|---|---|---|---|---|\n",
        );
        let row = |md: &mut String, name: &str, units: &str, auc: &[ClassAuc]| {
            // An empty cell is written `| |`, as the rest of the report does.
            let units = if units.is_empty() {
                String::new()
            } else {
                format!(" {units}")
            };
            let _ = write!(md, "| {name} |{units} |");
            for k in 0..Label::COUNT {
                let _ = write!(md, " {} |", auc_cell(auc.get(k).copied().flatten()));
            }
            md.push('\n');
        };
        for w in &arm.within_source {
            let units: Vec<String> = w.units_per_class.iter().map(usize::to_string).collect();
            row(
                &mut md,
                &w.source,
                &format!("{} ({})", w.units, units.join(" / ")),
                &w.auc,
            );
        }
        row(&mut md, "**pooled**", "", &arm.pooled_auc);
        if !a.source_only_auc.is_empty() {
            row(&mut md, "*the source alone*", "", &a.source_only_auc);
        }
        md.push('\n');
        let _ = writeln!(
            md,
            "### Saliency inside the lungs ({} classifier)\n",
            arm.input
        );
        if arm.saliency.is_empty() {
            md.push_str("No test image measured.\n\n");
            continue;
        }
        let _ = writeln!(
            md,
            "Share of the {} saliency mass (gradient of the true class's score with respect \
             to the network input) inside the lung mask, against the share of the image the \
             lungs cover: a map spread evenly would score the latter.\n",
            arm.saliency_method
        );
        md.push_str("| Group | Images | Inside the lungs | Lung area |\n|---|---|---|---|\n");
        let mut row = |name: &str, f: &dyn Fn(&SaliencyShare) -> bool| {
            let (s, l, n) = arm.saliency_means(f);
            if n > 0 {
                let _ = writeln!(md, "| {name} | {n} | {} | {} |", pct(s), pct(l));
            }
        };
        row("all", &|_| true);
        for l in Label::ALL {
            row(class_name(*l), &|s| s.label == l.as_str());
        }
        let mut sources: Vec<&str> = arm.saliency.iter().map(|s| s.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        for src in sources {
            row(src, &|s| s.source == src);
        }
        let shown: Vec<&SaliencyShare> = arm
            .saliency
            .iter()
            .filter(|s| s.overlay.is_some())
            .collect();
        if !shown.is_empty() {
            md.push_str("\nThe test images whose saliency lies most outside the lungs:\n\n");
            for s in shown {
                let _ = write!(
                    md,
                    "![{} ({}, {}): {} inside]({}) ",
                    s.image_id,
                    s.source,
                    s.label,
                    pct(s.share_inside),
                    s.overlay.as_deref().unwrap_or_default()
                );
            }
            md.push('\n');
        }
        let _ = writeln!(
            md,
            "\n![Saliency inside the lungs]({dir_prefix}saliency_{}.png)\n",
            arm.input
        );
    }
    md
}

/// One row per input: what each measure says for the classifier on that input, side by
/// side (the paper's masked input against the whole image).
fn comparison_markdown(a: &ShortcutAudit) -> String {
    let mut inputs: Vec<&str> = a.arms.iter().map(|x| x.input.as_str()).collect();
    for l in &a.loso {
        if !inputs.contains(&l.input.as_str()) {
            inputs.push(&l.input);
        }
    }
    let covid = Label::Covid.index();
    let mut md = String::from(
        "### Masked input against the whole image\n\n| Input | Covid-19 AUC, random split | \
         Covid-19 AUC, unseen sources | Drop | Saliency inside the lungs (lung area) | \
         Source probe accuracy (chance) |\n|---|---|---|---|---|---|\n",
    );
    let f3 = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.3}"));
    for input in inputs {
        let arm = a.arms.iter().find(|x| x.input == input);
        let loso = a.loso.iter().find(|x| x.input == input);
        let internal = arm
            .and_then(|x| x.pooled_auc.get(covid).copied().flatten())
            .map(|v| v.0)
            .or_else(|| {
                loso.and_then(|l| l.internal.as_ref())
                    .and_then(|r| r.auc.get(covid).copied().flatten())
                    .map(|v| v.0)
            });
        let external = loso
            .and_then(|l| l.external.auc.get(covid).copied().flatten())
            .map(|v| v.0);
        let drop = internal.zip(external).map(|(i, e)| i - e);
        let saliency = arm
            .map(|x| x.saliency_means(|_| true))
            .filter(|m| m.2 > 0)
            .map_or("—".into(), |(s, l, _)| format!("{} ({})", pct(s), pct(l)));
        let probe = a
            .probes
            .iter()
            .find(|p| p.input == input)
            .map_or("—".into(), |p| {
                format!("{} ({})", pct(p.accuracy), pct(p.chance))
            });
        let _ = writeln!(
            md,
            "| {input} | {} | {} | {} | {saliency} | {probe} |",
            f3(internal),
            f3(external),
            f3(drop)
        );
    }
    md.push_str(
        "\nA shortcut shows as a high source-probe accuracy, a large drop on unseen \
         sources and saliency outside the lungs; the paper's masked input should shrink all \
         three.\n\n",
    );
    for l in &a.loso {
        let _ = writeln!(
            md,
            "![Leave one source out, {} input](../{}/loso.png)\n",
            l.input, l.folder
        );
    }
    md
}

/// The probes as bars: overall and within-class accuracy per input, chance as the
/// reference line.
///
/// # Errors
/// As [`bars_png`].
pub fn probe_png(a: &ShortcutAudit) -> Result<Vec<u8>> {
    let colors = [RGBColor(31, 90, 200), RGBColor(210, 110, 30)];
    let mut bars = Vec::new();
    for (i, p) in a.probes.iter().enumerate() {
        let color = colors[i % colors.len()];
        bars.push(Bar {
            name: format!("{}: all (chance {:.0} %)", p.input, 100.0 * p.chance),
            value: 100.0 * p.accuracy,
            interval: None,
            color,
        });
        for w in p.within_class.iter().filter(|w| w.sources > 1) {
            bars.push(Bar {
                name: format!(
                    "{}: {} only (chance {:.0} %)",
                    p.input,
                    w.label,
                    100.0 * w.chance
                ),
                value: 100.0 * w.accuracy,
                interval: None,
                color,
            });
        }
    }
    let chance = a.probes.first().map(|p| 100.0 * p.chance);
    bars_png(
        "Source probe: how often the network names the source",
        "test images whose source it names (%)",
        &bars,
        chance.map(|c| ("chance, all images", c)),
        (
            1000,
            (140 + 40 * bars.len() as u32).max(crate::plot::MIN_SIDE),
        ),
    )
}

/// One arm's saliency per source and class: mean share inside the lungs as bars, the
/// mean lung area as the reference.
///
/// # Errors
/// As [`bars_png`].
pub fn saliency_png(arm: &ArmAudit) -> Result<Vec<u8>> {
    let mut bars = Vec::new();
    for l in Label::ALL {
        let mut sources: Vec<&str> = arm
            .saliency
            .iter()
            .filter(|s| s.label == l.as_str())
            .map(|s| s.source.as_str())
            .collect();
        sources.sort_unstable();
        sources.dedup();
        for src in sources {
            let (share, _, _) = arm.saliency_means(|s| s.label == l.as_str() && s.source == src);
            bars.push(Bar {
                name: format!("{src} · {}", l.as_str()),
                value: 100.0 * share,
                interval: None,
                color: class_color(*l),
            });
        }
    }
    let (_, lungs, _) = arm.saliency_means(|_| true);
    bars_png(
        &format!("Saliency inside the lungs ({} input)", arm.input),
        "share of the saliency mass inside the lung mask (%)",
        &bars,
        Some(("lung area (even map)", 100.0 * lungs)),
        (
            900,
            (120 + 34 * bars.len() as u32).max(crate::plot::MIN_SIDE),
        ),
    )
}

/// Writes `dir/audit.json`, `audit.md`, `probe.png` and `saliency_<input>.png`, each
/// atomically.
///
/// # Errors
/// Drawing or writing.
pub fn write_audit(dir: &Path, a: &ShortcutAudit) -> Result<()> {
    let json = serde_json::to_vec_pretty(a)?;
    cxr_core::write_bytes_atomic(&dir.join("audit.json"), &json)?;
    if !a.probes.is_empty() {
        cxr_core::write_bytes_atomic(&dir.join("probe.png"), &probe_png(a)?)?;
    }
    for arm in a.arms.iter().filter(|a| !a.saliency.is_empty()) {
        cxr_core::write_bytes_atomic(
            &dir.join(format!("saliency_{}.png", arm.input)),
            &saliency_png(arm)?,
        )?;
    }
    let md = audit_markdown(a, "").replacen("## ", "# ", 1);
    cxr_core::write_bytes_atomic(&dir.join("audit.md"), md.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::ArmResult;

    fn probe(input: &str, accuracy: f64, healthy: f64) -> ProbeResult {
        ProbeResult {
            input: input.into(),
            sources: vec!["a".into(), "b".into()],
            test_images: 40,
            accuracy,
            chance: 0.5,
            per_source_auc: vec![Some(0.9), None],
            within_class: vec![WithinClassProbe {
                label: "healthy".into(),
                images: 20,
                sources: 2,
                accuracy: healthy,
                chance: 0.6,
            }],
        }
    }

    fn arm(input: &str, inside: f64) -> ArmAudit {
        let share = |i: usize, label: &str| SaliencyShare {
            image_id: format!("i{i}"),
            source: if i.is_multiple_of(2) { "a" } else { "b" }.into(),
            label: label.into(),
            share_inside: inside + 0.02 * i as f64,
            lung_fraction: 0.4,
            overlay: None,
        };
        ArmAudit {
            input: input.into(),
            pooled_auc: vec![None, Some((0.95, Some([0.9, 1.0]))), None],
            within_source: vec![WithinSource {
                source: "a".into(),
                units: 30,
                units_per_class: vec![10, 20, 0],
                auc: vec![Some((0.8, None)), Some((0.85, Some([0.7, 1.0]))), None],
            }],
            saliency_method: "vanilla".into(),
            saliency: vec![share(0, "healthy"), share(1, "covid")],
        }
    }

    fn loso(input: &str, external: f64) -> LosoSummary {
        let row = |arm: &str, covid: f64| ArmResult {
            arm: arm.into(),
            test_units: 10,
            train_patients: 0,
            auc: vec![None, Some((covid, [covid - 0.1, covid])), None],
            accuracy: 0.7,
            segmenter_left_out: 0,
        };
        LosoSummary {
            input: input.into(),
            folder: format!("loso_{input}"),
            rows: vec![row("a", external), row("b", external)],
            removed_duplicates: vec![1, 0],
            external: row("all sources, held out", external),
            internal: Some(row("random patient split", 0.95)),
            unseen_classes: vec![],
        }
    }

    #[test]
    fn the_findings_and_the_comparison_quote_the_measures() {
        let a = ShortcutAudit {
            probes: vec![probe("masked", 0.55, 0.62), probe("whole", 0.9, 0.95)],
            arms: vec![arm("masked", 0.6), arm("whole", 0.3)],
            loso: vec![loso("masked", 0.9), loso("whole", 0.5)],
            source_only_auc: vec![None, Some((0.96, Some([0.93, 0.99]))), None],
        };
        let f = findings(&a);
        assert_eq!(
            f[0],
            "A network trained to name the source tells it for 55.0 % from masked inputs, \
             90.0 % from whole inputs (always guessing the largest source: 50.0 %); among \
             healthy images of 2 sources, where the disease cannot help, 62.0 % (masked), \
             95.0 % (whole) (chance 60.0 %)."
        );
        assert!(f.iter().any(|s| s
            == "Covid-19 AUC drop from a random patient split to sources never seen in \
                training: 0.050 on masked input, 0.450 on whole input."));
        assert!(f.iter().any(|s| s
            == "The whole classifier's vanilla saliency puts 31.0 % of its mass inside the \
                lungs, which cover 40.0 % of the image (2 test images)."));
        let md = audit_markdown(&a, "audit/");
        assert!(
            md.contains("| masked | 0.950 | 0.900 | 0.050 | 61.0 % (40.0 %) | 55.0 % (50.0 %) |"),
            "{md}"
        );
        assert!(
            md.contains("| whole | 0.950 | 0.500 | 0.450 | 31.0 % (40.0 %) | 90.0 % (50.0 %) |")
        );
        assert!(
            md.contains("| a | 30 (10 / 20 / 0) | 0.800 (no interval) | 0.850 (0.700–1.000) | — |")
        );
        assert!(
            md.contains("| *the source alone* | | — | 0.960 (0.930–0.990) | — |"),
            "{md}"
        );
        assert!(f.iter().any(|s| s
            == "Knowing only each image's source (the share of covid-19 among its source's \
                training images) gives a covid-19 AUC of 0.960, the masked classifier 0.950: \
                the classifier does no better than the source alone."));
        assert!(md.contains("![Leave one source out, whole input](../loso_whole/loso.png)"));
        let dir = tempfile::tempdir().unwrap();
        write_audit(dir.path(), &a).unwrap();
        for f in [
            "audit.json",
            "audit.md",
            "probe.png",
            "saliency_masked.png",
            "saliency_whole.png",
        ] {
            assert!(dir.path().join(f).exists(), "{f}");
        }
        let back: ShortcutAudit =
            serde_json::from_slice(&std::fs::read(dir.path().join("audit.json")).unwrap()).unwrap();
        assert_eq!(back, a);
        assert!(
            std::fs::read_to_string(dir.path().join("audit.md"))
                .unwrap()
                .starts_with("# Shortcut audit")
        );
    }

    #[test]
    fn sources_of_one_class_each_are_named_as_the_whole_story() {
        let mut arm = arm("masked", 0.5);
        arm.within_source.clear();
        let a = ShortcutAudit {
            probes: vec![],
            arms: vec![arm],
            loso: vec![],
            source_only_auc: vec![
                Some((1.0, Some([1.0, 1.0]))),
                Some((1.0, Some([1.0, 1.0]))),
                None,
            ],
        };
        let f = findings(&a);
        assert_eq!(
            f[0],
            "Knowing only each image's source (the share of covid-19 among its source's \
             training images) gives a covid-19 AUC of 1.000, the masked classifier 0.950: \
             here the source alone tells covid-19 from the rest, so the pooled AUC cannot \
             show that the classifier reads the disease."
        );
        let md = audit_markdown(&a, "audit/");
        assert!(
            md.contains("No source holds test units of more than one class"),
            "{md}"
        );
        assert!(
            md.contains("| **pooled** | | — | 0.950 (0.900–1.000) | — |"),
            "{md}"
        );
        assert!(
            md.contains("| *the source alone* | | 1.000 (1.000–1.000) | 1.000 (1.000–1.000) | — |"),
            "{md}"
        );
        // An audit written before the baseline was measured still reads, without it.
        let old = r#"{"probes":[],"arms":[]}"#;
        let back: ShortcutAudit = serde_json::from_str(old).unwrap();
        assert!(back.source_only_auc.is_empty() && findings(&back).is_empty());
    }
}
