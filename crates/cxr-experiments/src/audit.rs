//! The shortcut audit (rendered by `cxr_report::audit`, where the measures are
//! explained): source probes on masked and whole-image input, the diagnosis AUC inside
//! each source, and the share of saliency inside the lungs. [`probes`] and [`arm_audit`]
//! run with the main experiment (`crate::run::reproduce_main`, `[audit]` in the
//! settings); `crate::studies::audit_shortcuts` (the `audit_shortcuts` example) adds a
//! whole-image diagnosis classifier and the leave-one-source-out matrix.
//!
//! Outputs under `OUT/audit/`: `probe_<input>/` (each probe's run), `audit.json`,
//! `audit.md`, `probe.png`, `saliency_<input>.png` and the overlays of the images whose
//! saliency lies most outside the lungs (`saliency_<input>/`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use cxr_classifier::infer::predict_examples;
use cxr_classifier::saliency::{Method, saliency};
use cxr_classifier::{Classifier, Example, InputMode, TrainConfig};
use cxr_core::Label;
use cxr_eval::{Evaluation, ImagePrediction, PredictionRow};
use cxr_report::audit::{
    ArmAudit, ProbeResult, SaliencyShare, ShortcutAudit, WithinClassProbe, WithinSource,
};

use crate::context::Context;
use crate::{Error, Result};

/// The probe's recipe: the classifier's, on `input`, for `epochs`, without weight
/// averaging or mirrored predictions.
fn probe_config(base: &TrainConfig, input: InputMode, epochs: usize) -> TrainConfig {
    let mut c = base.clone();
    c.model.input = input;
    c.epochs = epochs;
    c.patience = epochs;
    c.average_last = 0;
    c.mirror_average = false;
    c.warmup_epochs = c.warmup_epochs.min(epochs.saturating_sub(1));
    c
}

/// Share of the most common value.
fn majority_share<T: Ord>(values: impl Iterator<Item = T>) -> f64 {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    let mut n = 0usize;
    for v in values {
        *counts.entry(v).or_default() += 1;
        n += 1;
    }
    counts
        .values()
        .max()
        .map_or(f64::NAN, |&m| m as f64 / n as f64)
}

/// A source probe on `input`: trained (or read back) in `dir` on the training and
/// validation examples with their source as the class, scored on `test`. `None` with
/// fewer than two sources.
///
/// # Errors
/// Training and prediction errors; [`Error::Step`] when no test image could be
/// predicted.
pub fn source_probe(
    ctx: &Context,
    input: InputMode,
    train: &[Example],
    validation: &[Example],
    test: &[Example],
    dir: &Path,
) -> Result<Option<ProbeResult>> {
    let sources: Vec<String> = train
        .iter()
        .chain(validation)
        .chain(test)
        .map(|e| e.source().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if sources.len() < 2 {
        return Ok(None);
    }
    let index: HashMap<&str, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let with_class = |e: &Example| (e.clone(), index[e.source()]);
    let train_c: Vec<_> = train.iter().map(with_class).collect();
    let val_c: Vec<_> = validation.iter().map(with_class).collect();
    let config = probe_config(&ctx.config.classifier, input, ctx.config.audit.probe_epochs);
    ctx.say(format!(
        "audit: source probe on {} input ({} sources, {} epochs)",
        input.name(),
        sources.len(),
        config.epochs
    ));
    cxr_classifier::probe::train_probe(
        dir,
        &train_c,
        &val_c,
        sources.len(),
        &config,
        ctx.device,
        ctx.progress,
    )?;
    let probe = Classifier::load_probe(dir, ctx.device)?;
    let pb = ctx.bar(test.len(), "probe: predicting");
    let probs = predict_examples(&probe, test, 32, Some(&pb));
    pb.finish_and_clear();
    let scored: Vec<(&Example, Vec<f32>)> = test
        .iter()
        .zip(probs)
        .filter_map(|(e, p)| p.ok().map(|p| (e, p)))
        .collect();
    if scored.is_empty() {
        return Err(Error::Step {
            step: "source probe",
            detail: format!("no test image could be predicted by {}", dir.display()),
        });
    }
    let argmax = |p: &[f32]| {
        (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0)
    };
    let accuracy_of = |items: &[&(&Example, Vec<f32>)]| {
        items
            .iter()
            .filter(|(e, p)| argmax(p) == index[e.source()])
            .count() as f64
            / items.len() as f64
    };
    let all: Vec<&(&Example, Vec<f32>)> = scored.iter().collect();
    let per_source_auc = (0..sources.len())
        .map(|k| {
            let scores: Vec<f64> = scored.iter().map(|(_, p)| f64::from(p[k])).collect();
            let truth: Vec<bool> = scored.iter().map(|(e, _)| index[e.source()] == k).collect();
            cxr_stats::roc::roc_auc(&scores, &truth).ok()
        })
        .collect();
    let within_class = Label::ALL
        .iter()
        .filter_map(|&l| {
            let items: Vec<&(&Example, Vec<f32>)> =
                scored.iter().filter(|(e, _)| e.label == l).collect();
            if items.is_empty() {
                return None;
            }
            let n_sources = items
                .iter()
                .map(|(e, _)| e.source())
                .collect::<BTreeSet<_>>()
                .len();
            Some(WithinClassProbe {
                label: l.as_str().to_owned(),
                images: items.len(),
                sources: n_sources,
                accuracy: accuracy_of(&items),
                chance: majority_share(items.iter().map(|(e, _)| e.source())),
            })
        })
        .collect();
    Ok(Some(ProbeResult {
        input: input.name().to_owned(),
        sources: sources.clone(),
        test_images: scored.len(),
        accuracy: accuracy_of(&all),
        chance: majority_share(scored.iter().map(|(e, _)| e.source())),
        per_source_auc,
        within_class,
    }))
}

/// Each test prediction (`images`, as read back) with its source, from the CSV `rows` it
/// was written to; a prediction whose image is not in `rows` is left out.
fn with_sources<'a>(
    rows: &'a [PredictionRow],
    images: &'a [ImagePrediction],
) -> Vec<(&'a str, &'a ImagePrediction)> {
    let source_of: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r.image_id.as_str(), r.source.as_str()))
        .collect();
    images
        .iter()
        .filter_map(|p| source_of.get(p.image_id.as_str()).map(|s| (*s, p)))
        .collect()
}

/// The diagnosis inside each source whose test units hold more than one class, and
/// inside each of `ctx.config.audit.source_groups` (sources of one hospital group, named
/// `a + b`) that does: the test predictions `images` (as read back from the CSV `rows`
/// were written to; the rows give each image's source) evaluated group by group
/// (patient-day units, DeLong intervals), single sources first in source order. A group
/// that cannot be evaluated is skipped with a warning.
pub fn within_source(
    ctx: &Context,
    rows: &[PredictionRow],
    images: &[ImagePrediction],
) -> Vec<WithinSource> {
    let mut by_source: BTreeMap<&str, Vec<ImagePrediction>> = BTreeMap::new();
    for (s, p) in with_sources(rows, images) {
        by_source.entry(s).or_default().push(p.clone());
    }
    let mut groups: Vec<(String, Vec<ImagePrediction>)> = by_source
        .iter()
        .map(|(s, v)| ((*s).to_owned(), v.clone()))
        .collect();
    for g in &ctx.config.audit.source_groups {
        let members: Vec<&str> = g
            .iter()
            .map(String::as_str)
            .filter(|s| by_source.contains_key(s))
            .collect();
        if members.len() > 1 {
            let images = members.iter().flat_map(|s| by_source[s].clone()).collect();
            groups.push((members.join(" + "), images));
        }
    }
    let options = ctx.evaluate_options();
    let mut out = Vec::new();
    for (name, images) in groups {
        let classes: BTreeSet<Label> = images.iter().map(|p| p.label).collect();
        if classes.len() < 2 {
            continue;
        }
        match cxr_eval::evaluate::evaluate(&images, &options) {
            Ok(e) => out.push(WithinSource {
                source: name,
                units: e.n_units,
                units_per_class: e
                    .confusion_matrix
                    .counts
                    .iter()
                    .map(|r| r.iter().sum::<u64>() as usize)
                    .collect(),
                auc: auc_with_interval(&e),
            }),
            Err(e) => {
                tracing::warn!(source = %name, error = %e, "within-source evaluation skipped")
            }
        }
    }
    out
}

/// Per class: AUC and its interval, where defined.
pub fn auc_with_interval(e: &Evaluation) -> Vec<Option<(f64, Option<[f64; 2]>)>> {
    Label::ALL
        .iter()
        .map(|&l| e.per_class.get(l).as_ref().map(|m| (m.auc, m.auc_ci95)))
        .collect()
}

/// Per class: the AUC (with its interval) of predictions that know only each test
/// image's source, the share of each class among the `training` images of that source
/// (`cxr_eval::baseline::source_only`), on the units of the test predictions `images`
/// (their sources from the CSV `rows`, as in [`within_source`]). Empty, with a warning,
/// when they cannot be evaluated.
pub fn source_only_auc<'a>(
    ctx: &Context,
    training: impl IntoIterator<Item = &'a Example>,
    rows: &[PredictionRow],
    images: &[ImagePrediction],
) -> Vec<Option<(f64, Option<[f64; 2]>)>> {
    let train: Vec<(&str, Label)> = training
        .into_iter()
        .map(|e| (e.source(), e.label))
        .collect();
    let baseline = cxr_eval::baseline::source_only(&train, &with_sources(rows, images));
    match cxr_eval::evaluate::evaluate(&baseline, &ctx.evaluate_options()) {
        Ok(e) => auc_with_interval(&e),
        Err(e) => {
            tracing::warn!(error = %e, "the source-only baseline could not be evaluated");
            vec![]
        }
    }
}

/// Saliency inside the lungs of `clf` (vanilla input gradients of the true class) on up
/// to `ctx.config.audit.saliency_images` test images spread evenly over `test`; the
/// `saliency_shown` with the least inside get an overlay in
/// `OUT/audit/saliency_<input>/`.
///
/// # Errors
/// Writing an overlay. An image that fails is skipped with a warning.
pub fn saliency_shares(
    ctx: &Context,
    clf: &Classifier,
    test: &[Example],
) -> Result<Vec<SaliencyShare>> {
    let n = ctx.config.audit.saliency_images.min(test.len());
    if n == 0 {
        return Ok(vec![]);
    }
    let input = clf.config().model.input.name();
    let picked: Vec<&Example> = (0..n).map(|i| &test[i * test.len() / n]).collect();
    let pb = ctx.bar(picked.len(), "audit: saliency");
    let mut out = Vec::new();
    let mut maps = Vec::new();
    for e in picked {
        pb.inc(1);
        let measured = e.load().and_then(|(img, mask)| {
            let map = saliency(clf, &img, &mask, e.label.index(), Method::Vanilla)?;
            Ok((map.share_inside(&mask), mask.fraction(), img, mask, map))
        });
        match measured {
            Ok((share, fraction, img, mask, map)) => {
                out.push(SaliencyShare {
                    image_id: e.image_id.clone(),
                    source: e.source().to_owned(),
                    label: e.label.as_str().to_owned(),
                    share_inside: share,
                    lung_fraction: fraction,
                    overlay: None,
                });
                maps.push((img, mask, map));
            }
            Err(err) => tracing::warn!(image = %e.image.display(),
                error = %cxr_core::error_chain(&err), "saliency not measured"),
        }
    }
    pb.finish_and_clear();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[a].share_inside.total_cmp(&out[b].share_inside));
    for &i in order.iter().take(ctx.config.audit.saliency_shown) {
        let rel = format!(
            "audit/saliency_{input}/{}.png",
            out[i].image_id.replace(['/', '\\'], "_")
        );
        let (img, mask, map) = &maps[i];
        let overlay = cxr_report::layers::saliency_overlay(img, &map.values, Some(mask))?;
        cxr_core::save_rgb_png(&ctx.out.join(&rel), &overlay)?;
        out[i].overlay = Some(rel);
    }
    Ok(out)
}

/// One diagnosis classifier's audit: within-source AUC from its test predictions (`rows`
/// as written, `images` as read back, [`within_source`]), saliency from its run.
///
/// # Errors
/// Loading the classifier; as [`saliency_shares`].
pub fn arm_audit(
    ctx: &Context,
    clf_dir: &Path,
    rows: &[PredictionRow],
    images: &[ImagePrediction],
    evaluation: &Evaluation,
    test: &[Example],
) -> Result<ArmAudit> {
    let clf = Classifier::load(clf_dir, ctx.device)?;
    Ok(ArmAudit {
        input: clf.config().model.input.name().to_owned(),
        pooled_auc: auc_with_interval(evaluation),
        within_source: within_source(ctx, rows, images),
        saliency_method: Method::Vanilla.name().to_owned(),
        saliency: saliency_shares(ctx, &clf, test)?,
    })
}

/// The probes of the audit (`OUT/audit/probe_<input>/`), one per
/// `ctx.config.audit.probe_inputs`.
///
/// # Errors
/// As [`source_probe`].
pub fn probes(
    ctx: &Context,
    train: &[Example],
    validation: &[Example],
    test: &[Example],
) -> Result<Vec<ProbeResult>> {
    let mut out = Vec::new();
    for &input in &ctx.config.audit.probe_inputs {
        let dir = ctx.out.join(format!("audit/probe_{}", input.name()));
        out.extend(source_probe(ctx, input, train, validation, test, &dir)?);
    }
    Ok(out)
}

/// Writes `OUT/audit/` for `audit` (`cxr_report::audit::write_audit`).
///
/// # Errors
/// Drawing or writing.
pub fn write(ctx: &Context, audit: &ShortcutAudit) -> Result<()> {
    cxr_report::audit::write_audit(&ctx.out.join("audit"), audit)?;
    Ok(())
}
