//! Studies built on the main experiment's steps. They share the run folder's cohort,
//! segmenter and gate (computed once) and train one classifier per arm under
//! `<study>/<arm>/`, each arm with its own `split.toml` (its split settings: a folder
//! holding another arm's settings is refused), `split.csv`, `classifier/`,
//! `predictions.csv` and `evaluation/`.
//!
//! - [`splits`]: training on 33 %, 50 %, 66 %, 90 % of the patients, over seeds
//!   (Figure 4a);
//! - [`transfer`]: one source's covid patients kept out of training, then some of them
//!   added back (Figure 4b);
//! - [`leave_one_source_out`]: train on all sources but one, test on it, for every
//!   source — how much of the performance is source shortcut (beyond the paper).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cxr_classifier::{Example, InputMode, TrainConfig};
use cxr_cohort::{Part, SplitConfig, TransferSpec};
use cxr_core::{ImageRecord, Label, SourceId};
use cxr_eval::evaluate::Evaluation;

use crate::run::{self, Context, KeyGroups};
use crate::seen::SegmenterSeen;

use crate::{Error, Result};
pub use cxr_report::experiment::{ArmResult, LosoSummary};

/// The shared first half of every study: cohort, segmenter, gate.
pub struct Prepared {
    /// Accepted records.
    pub records: Vec<ImageRecord>,
    /// Their examples (image + mask + label).
    pub examples: Vec<Example>,
    /// Near-duplicate groups.
    pub groups: KeyGroups,
    /// The segmenter run.
    pub segmenter: PathBuf,
    /// The cohort's images the segmenter was trained on.
    pub seen: SegmenterSeen,
}

/// Runs (or reads back) the cohort, segmenter and gate steps.
pub fn prepare(ctx: &Context) -> Result<Prepared> {
    let (records, groups) = run::cohort(ctx)?;
    let segmenter = run::segmenter(ctx, &records)?;
    let seen = crate::seen::seen_by_segmenter(ctx, &records, &segmenter)?;
    let seg = cxr_lungseg::Segmenter::load(&segmenter, ctx.device)?;
    let (records, examples, _) = run::gate(ctx, &records, &seg)?;
    Ok(Prepared {
        records,
        examples,
        groups,
        segmenter,
        seen,
    })
}

fn arm_result(arm: &str, train_patients: usize, e: &Evaluation) -> ArmResult {
    ArmResult {
        arm: arm.into(),
        test_units: e.n_units,
        train_patients,
        auc: Label::ALL
            .iter()
            .map(|l| {
                e.per_class
                    .get(*l)
                    .as_ref()
                    .map(|m| (m.auc, m.auc_ci95.unwrap_or([f64::NAN, f64::NAN])))
            })
            .collect(),
        accuracy: e.global_accuracy,
        segmenter_left_out: 0,
    }
}

/// Writes `dir/split.toml`, or checks that the one already there holds `split_config`:
/// an arm folder's `split.csv` and classifier are reused only for the same settings (the
/// folder name does not carry all of them, e.g. the transfer source).
fn arm_settings(split_config: &SplitConfig, dir: &Path) -> Result<()> {
    let path = dir.join("split.toml");
    let text = toml::to_string_pretty(split_config).map_err(|e| Error::Config {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if path.exists() {
        let old = std::fs::read_to_string(&path).map_err(|source| cxr_core::Error::Io {
            path: path.clone(),
            source,
        })?;
        let same = toml::from_str::<SplitConfig>(&old).is_ok_and(|old| old == *split_config);
        if !same {
            return Err(Error::Config {
                path,
                detail: "the arm folder holds another arm's split settings; use a new --out \
                         or the same study arguments"
                    .into(),
            });
        }
    } else {
        cxr_core::write_bytes_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}

/// Trains and evaluates one arm with `split_config` under `dir`.
fn arm(ctx: &Context, p: &Prepared, split_config: &SplitConfig, dir: &Path) -> Result<ArmResult> {
    std::fs::create_dir_all(dir).map_err(|source| cxr_core::Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    arm_settings(split_config, dir)?;
    let s = run::split(
        &p.records,
        &p.groups,
        split_config,
        &p.seen,
        &dir.join("split.csv"),
    )?;
    if let Some((forced, total)) = p.seen.beyond(&p.records, split_config.train_fraction) {
        ctx.say(format!(
            "{}: {forced} of the {total} patients are ones the segmenter was trained on, who \
             train in every arm: more than the {:.0} % this arm asks for, so it trains on {} \
             ([segmenter] cohort_mask_share sets how many)",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            100.0 * split_config.train_fraction,
            s.counts().get(&Part::Train).copied().unwrap_or(0)
        ));
    }
    let train = run::part(&p.examples, &p.records, &s, Part::Train);
    let val = run::part(&p.examples, &p.records, &s, Part::Validation);
    let test = run::part(&p.examples, &p.records, &s, Part::Test);
    arm_on(
        ctx,
        &ctx.config.classifier,
        p,
        &train,
        &val,
        &test,
        dir,
        s.counts().get(&Part::Train).copied(),
    )
}

#[allow(clippy::too_many_arguments)]
fn arm_on(
    ctx: &Context,
    config: &TrainConfig,
    p: &Prepared,
    train: &[Example],
    val: &[Example],
    test: &[Example],
    dir: &Path,
    train_patients: Option<usize>,
) -> Result<ArmResult> {
    let name = dir
        .file_name()
        .map_or("arm".into(), |n| n.to_string_lossy().into_owned());
    let before = test.len();
    let test = &p.seen.leave_out_of_test(ctx, test.to_vec());
    let left_out = before - test.len();
    if test.is_empty() {
        return Err(Error::Step {
            step: "study arm",
            detail: format!("{name}: no test images"),
        });
    }
    let clf = dir.join("classifier");
    run::classify(ctx, config, train, val, &clf, &p.segmenter)?;
    let pred = dir.join("predictions.csv");
    run::predict(ctx, &clf, test, &p.records, &pred)?;
    let e = run::evaluate(ctx, &pred, &dir.join("evaluation"))?;
    let patients: BTreeSet<&str> = train.iter().map(|e| e.patient.as_str()).collect();
    Ok(ArmResult {
        segmenter_left_out: left_out,
        ..arm_result(&name, train_patients.unwrap_or(patients.len()), &e)
    })
}

fn splits_arm_name(fraction: f64, seed: u64) -> String {
    format!("train{:02.0}_seed{seed}", fraction * 100.0)
}

/// A study page with its Provenance section: every training run under `dir` (each
/// folder holding an `environment.jsonl`) and where the page is rendered.
fn with_provenance(ctx: &Context, dir: &Path, md: String) -> String {
    let runs: Vec<(String, Vec<cxr_core::Session>)> = cxr_core::walk::files(dir, None)
        .into_iter()
        .flatten()
        .filter(|p| p.file_name() == Some(cxr_nn::files::SESSIONS.as_ref()))
        .filter_map(|p| {
            let run = p.parent()?;
            let name = run.strip_prefix(dir).ok()?.display().to_string();
            Some((name, cxr_nn::files::read_sessions_or_log(run)))
        })
        .collect();
    let rendered = cxr_core::Environment::current().with_compute(cxr_nn::compute(ctx.device));
    format!(
        "{}\n\n{}",
        md.trim_end(),
        cxr_report::experiment::runs_provenance_markdown(&runs, &rendered)
    )
}

/// Figure 4a: one arm per (training fraction, seed); `splits/splits.md`, `.json`, `.png`.
///
/// # Errors
///
/// [`Error::Step`], before any work, when `fractions` or `seeds` is empty, a fraction is
/// not in [0, 1], or two (fraction, seed) pairs share an arm folder (fractions equal to
/// the percent); then any step's error.
pub fn splits(ctx: &Context, fractions: &[f64], seeds: &[u64]) -> Result<Vec<ArmResult>> {
    let bad = |detail: String| Error::Step {
        step: "splits",
        detail,
    };
    if fractions.is_empty() || seeds.is_empty() {
        return Err(bad("give at least one fraction and one seed".into()));
    }
    let mut names = BTreeSet::new();
    for &f in fractions {
        SplitConfig {
            train_fraction: f,
            ..ctx.config.split.clone()
        }
        .validate()
        .map_err(|e| bad(format!("fraction {f}: {e}")))?;
        for &seed in seeds {
            let name = splits_arm_name(f, seed);
            if !names.insert(name.clone()) {
                return Err(bad(format!(
                    "fraction {f}, seed {seed}: arm {name} listed twice (fractions must \
                     differ in percent)"
                )));
            }
        }
    }
    let p = prepare(ctx)?;
    let dir = ctx.out.join("splits");
    let mut rows = Vec::new();
    for &f in fractions {
        for &seed in seeds {
            let cfg = SplitConfig {
                train_fraction: f,
                seed,
                ..ctx.config.split.clone()
            };
            let arm_dir = dir.join(splits_arm_name(f, seed));
            ctx.say(format!(
                "splits: {:.0} % of patients, seed {seed}",
                f * 100.0
            ));
            rows.push(arm(ctx, &p, &cfg, &arm_dir)?);
        }
    }
    let (md, png) = cxr_report::experiment::splits_study(&rows, fractions, seeds.len())?;
    let md = with_provenance(ctx, &dir, md);
    cxr_core::write_bytes_atomic(&dir.join("splits.png"), &png)?;
    cxr_report::experiment::write_study(&dir, "splits", &rows, &md)?;
    Ok(rows)
}

/// Figure 4b: `source`'s covid patients held out of training, `add_back` of them put back
/// (one arm per value); tested on the held-out ones not added back (and the other test
/// patients). `transfer/transfer.md`, `.json`, `.png`.
///
/// # Errors
///
/// [`Error::Step`] when `add_back` is empty or lists a value twice (before any work), or
/// when a value exceeds the source's covid patients (before any arm is trained); then any
/// step's error.
pub fn transfer(ctx: &Context, source: SourceId, add_back: &[usize]) -> Result<Vec<ArmResult>> {
    let bad = |detail: String| Error::Step {
        step: "transfer",
        detail,
    };
    if add_back.is_empty() {
        return Err(bad("give at least one add-back value".into()));
    }
    let mut seen = BTreeSet::new();
    if let Some(n) = add_back.iter().find(|&&n| !seen.insert(n)) {
        return Err(bad(format!("add-back value {n} listed twice")));
    }
    let p = prepare(ctx)?;
    let held: BTreeSet<&str> = p
        .records
        .iter()
        .filter(|r| r.source == source && r.label == Label::Covid)
        .map(|r| r.patient.local.as_str())
        .collect();
    if let Some(n) = add_back.iter().find(|&&n| n > held.len()) {
        return Err(bad(format!(
            "{n} patients to add back, but {source} has {} covid patients",
            held.len()
        )));
    }
    // Covid-19 patients of the other sources: without any, the arm that adds none back
    // trains without the class.
    let covid_elsewhere = p
        .records
        .iter()
        .any(|r| r.source != source && r.label == Label::Covid);
    let dir = ctx.out.join("transfer");
    let mut rows = Vec::new();
    let mut held_out = Vec::new();
    for &n in add_back {
        if n == 0 && !covid_elsewhere {
            ctx.say(format!(
                "transfer: no other source holds covid patients, so the arm without {source}'s \
                 holds none and cannot recognise the class"
            ));
        }
        let cfg = SplitConfig {
            transfer: Some(TransferSpec {
                source,
                add_back: n,
            }),
            ..ctx.config.split.clone()
        };
        ctx.say(format!("transfer: {n} {source} covid patients in training"));
        let arm_dir = dir.join(format!("add{n}"));
        rows.push(arm(ctx, &p, &cfg, &arm_dir)?);
        held_out.push(held_source_evaluation(ctx, &arm_dir, source, n)?);
    }
    let (md, png) = cxr_report::experiment::transfer_study(
        source.as_str(),
        held.len(),
        add_back,
        &held_out,
        &rows,
        covid_elsewhere,
    )?;
    let md = with_provenance(ctx, &dir, md);
    cxr_core::write_bytes_atomic(&dir.join("transfer.png"), &png)?;
    cxr_report::experiment::write_study(&dir, "transfer", &held_out, &md)?;
    Ok(held_out)
}

/// The rows of a predictions CSV that are not covid, or covid from `source`, and how
/// many covid rows were kept.
fn restrict_to_source(path: &Path, source: SourceId) -> Result<(Vec<u8>, usize)> {
    let bad = |detail: String| Error::Step {
        step: "transfer",
        detail: format!("{}: {detail}", path.display()),
    };
    // Through the csv crate both ways: an id with a comma is quoted in the file.
    let mut rd = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let header = rd.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| header.iter().position(|c| c == name);
    let (Some(label), Some(src)) = (col("label"), col("source")) else {
        return Err(bad("no label/source column".into()));
    };
    let mut wr = csv::Writer::from_writer(Vec::new());
    wr.write_record(&header).map_err(|e| bad(e.to_string()))?;
    let mut kept = 0usize;
    for row in rd.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let covid = row.get(label) == Some("covid");
        if !covid || row.get(src) == Some(source.as_str()) {
            wr.write_record(&row).map_err(|e| bad(e.to_string()))?;
            kept += usize::from(covid);
        }
    }
    let out = wr.into_inner().map_err(|e| bad(e.to_string()))?;
    Ok((out, kept))
}

/// The arm's test predictions restricted to `source`'s covid patients and every
/// non-covid patient, evaluated into `arm_dir/evaluation_<source>/`.
fn held_source_evaluation(
    ctx: &Context,
    arm_dir: &Path,
    source: SourceId,
    n: usize,
) -> Result<ArmResult> {
    let (out, kept) = restrict_to_source(&arm_dir.join("predictions.csv"), source)?;
    if kept == 0 {
        return Err(Error::Step {
            step: "transfer",
            detail: format!("add{n}: no {source} covid patient left to test on"),
        });
    }
    let csv = arm_dir.join(format!("predictions_{source}.csv"));
    cxr_core::write_bytes_atomic(&csv, &out)?;
    let e = run::evaluate(ctx, &csv, &arm_dir.join(format!("evaluation_{source}")))?;
    Ok(arm_result(&format!("add{n}"), 0, &e))
}

/// The folder of the leave-one-source-out study on `input`: `loso/` for the classifier's
/// own input, `loso_<input>/` for another.
pub fn loso_dir(ctx: &Context, input: InputMode) -> PathBuf {
    if input == ctx.config.classifier.model.input {
        ctx.out.join("loso")
    } else {
        ctx.out.join(format!("loso_{}", input.name()))
    }
}

/// Training examples of the sources other than `held_out`, without the images that are
/// near-duplicates of one of `held_out`'s (the same film filed by two sources would let
/// the held-out source leak into training); returns them and how many were removed.
pub fn training_without_source(
    examples: &[Example],
    groups: &KeyGroups,
    held_out: &str,
) -> (Vec<Example>, usize) {
    let leaked: BTreeSet<&cxr_core::ImageKey> = groups
        .iter()
        .filter(|g| g.iter().any(|k| k.source == held_out))
        .flatten()
        .filter(|k| k.source != held_out)
        .collect();
    let mut removed = 0;
    let kept = examples
        .iter()
        .filter(|e| e.source() != held_out)
        .filter(|e| {
            let leak = leaked.contains(&e.key());
            removed += usize::from(leak);
            !leak
        })
        .cloned()
        .collect();
    (kept, removed)
}

/// Leave one source out, on the classifier's input or another: for every source, a
/// classifier trained on all the other sources (a tenth of their patients for validation,
/// near-duplicates of the held-out source's images removed) is tested on that source.
/// Per source: accuracy and each class's AUC where the source has both that class and
/// another; then all sources' held-out predictions evaluated together ("source-blind"),
/// next to the same input's random split when the run folder has it (the main
/// experiment for the classifier's input, `audit/<input>/` for another; or `internal`
/// when given) and the drop between the two. `loso/loso.md`, `.json`, `loso.png` (a heat
/// map).
///
/// # Errors
/// Any step's error.
pub fn leave_one_source_out(
    ctx: &Context,
    input: InputMode,
    internal: Option<&Evaluation>,
) -> Result<LosoSummary> {
    let p = prepare(ctx)?;
    let dir = loso_dir(ctx, input);
    let sources: BTreeSet<SourceId> = p.records.iter().map(|r| r.source).collect();
    let mut config = ctx.config.classifier.clone();
    config.model.input = input;

    let mut rows = Vec::new();
    let mut removed = Vec::new();
    let mut unseen_classes = Vec::new();
    let mut pooled = Vec::new();
    for s in &sources {
        let test: Vec<Example> = p
            .examples
            .iter()
            .filter(|e| e.source() == s.as_str())
            .cloned()
            .collect();
        let (rest, dropped) = training_without_source(&p.examples, &p.groups, s.as_str());
        let (ti, vi) = cxr_classifier::data::split_by_patient(
            &rest,
            ctx.config.split.validation_fraction,
            ctx.config.split.seed,
        );
        let train: Vec<Example> = ti.iter().map(|&i| rest[i].clone()).collect();
        let val: Vec<Example> = vi.iter().map(|&i| rest[i].clone()).collect();
        ctx.say(format!(
            "loso ({} input): testing on {s}{}",
            input.name(),
            if dropped > 0 {
                format!(", {dropped} near-duplicates of its images left out of training")
            } else {
                String::new()
            }
        ));
        let trained: BTreeSet<Label> = rest.iter().map(|e| e.label).collect();
        let unseen: Vec<String> = Label::ALL
            .iter()
            .filter(|l| !trained.contains(l) && test.iter().any(|e| e.label == **l))
            .map(|l| l.as_str().to_owned())
            .collect();
        if !unseen.is_empty() {
            ctx.say(format!(
                "loso: training without {s} holds no {} patient; the fold cannot recognise \
                 that class in {s}",
                unseen.join(" or ")
            ));
        }
        unseen_classes.push(unseen);
        let arm_dir = dir.join(s.as_str());
        rows.push(arm_on(
            ctx, &config, &p, &train, &val, &test, &arm_dir, None,
        )?);
        removed.push(dropped);
        pooled.push(arm_dir.join("predictions.csv"));
    }
    // All held-out predictions together.
    let mut all = String::new();
    for (i, f) in pooled.iter().enumerate() {
        let text = std::fs::read_to_string(f).map_err(|source| cxr_core::Error::Io {
            path: f.clone(),
            source,
        })?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        if i == 0 {
            all.push_str(header);
            all.push('\n');
        }
        for l in lines {
            all.push_str(l);
            all.push('\n');
        }
    }
    let pooled_csv = dir.join("pooled_predictions.csv");
    cxr_core::write_bytes_atomic(&pooled_csv, all.as_bytes())?;
    let pooled_eval = run::evaluate(ctx, &pooled_csv, &dir.join("pooled"))?;
    let external = arm_result("all sources, held out", 0, &pooled_eval);
    let internal_metrics = if input == ctx.config.classifier.model.input {
        ctx.out.join("evaluation/metrics.json")
    } else {
        ctx.out
            .join(format!("audit/{}/evaluation/metrics.json", input.name()))
    };
    let internal = match internal {
        Some(e) => Some(arm_result("random patient split", 0, e)),
        None => match std::fs::read(&internal_metrics) {
            Err(_) => {
                tracing::warn!(
                    path = %internal_metrics.display(),
                    "no random-split evaluation of this input to compare the held-out sources with"
                );
                None
            }
            Ok(b) => match serde_json::from_slice::<Evaluation>(&b) {
                Ok(e) => Some(arm_result("random patient split", 0, &e)),
                Err(e) => {
                    tracing::warn!(path = %internal_metrics.display(), error = %e,
                        "the random-split evaluation does not read back; no comparison");
                    None
                }
            },
        },
    };
    let summary = LosoSummary {
        input: input.name().to_owned(),
        folder: dir
            .file_name()
            .map_or("loso".into(), |n| n.to_string_lossy().into_owned()),
        rows,
        removed_duplicates: removed,
        external,
        internal,
        unseen_classes,
    };
    let md = with_provenance(ctx, &dir, cxr_report::experiment::loso_study(&summary));
    cxr_core::write_bytes_atomic(
        &dir.join("loso.png"),
        &cxr_report::experiment::loso_heatmap_png(&summary)?,
    )?;
    let json = serde_json::to_vec_pretty(&summary).expect("results serialise");
    cxr_core::write_bytes_atomic(&dir.join("loso.json"), &json)?;
    cxr_core::write_bytes_atomic(&dir.join("loso.md"), md.as_bytes())?;
    Ok(summary)
}

/// The shortcut audit as a study: the main experiment (whose report carries the audit of
/// its masked classifier and the source probes), then the same split's diagnosis
/// classifier trained on the **whole image** (`audit/whole/`) and audited alike, and with
/// `loso` the leave-one-source-out matrix for both inputs. Rewrites `audit/` (its
/// `audit.md` compares the inputs) and returns the audit.
///
/// # Errors
/// [`Error::Step`] when the settings turn the audit off (`[audit] enabled = false`) or
/// the classifier already takes the whole image; then any step's error.
pub fn audit_shortcuts(ctx: &Context, loso: bool) -> Result<cxr_report::audit::ShortcutAudit> {
    if !ctx.config.audit.enabled {
        return Err(Error::Step {
            step: "audit",
            detail: "the settings turn the audit off ([audit] enabled = false)".into(),
        });
    }
    let own = ctx.config.classifier.model.input;
    if own == InputMode::Whole {
        return Err(Error::Step {
            step: "audit",
            detail: "the classifier already takes the whole image; the audit compares it \
                     with the masked input the paper uses"
                .into(),
        });
    }
    let main = run::reproduce_main(ctx)?;
    let mut audit = main
        .audit
        .expect("the settings run the audit (checked above)");

    // The whole-image classifier on the main experiment's split.
    let p = prepare(ctx)?;
    let s = run::split(
        &p.records,
        &p.groups,
        &ctx.config.split,
        &p.seen,
        &ctx.out.join("split.csv"),
    )?;
    let train = run::part(&p.examples, &p.records, &s, Part::Train);
    let val = run::part(&p.examples, &p.records, &s, Part::Validation);
    let test = p
        .seen
        .leave_out_of_test(ctx, run::part(&p.examples, &p.records, &s, Part::Test));
    let mut config = ctx.config.classifier.clone();
    config.model.input = InputMode::Whole;
    let dir = ctx.out.join("audit/whole");
    ctx.say("audit: the diagnosis on whole images, same split");
    let clf = dir.join("classifier");
    run::classify(ctx, &config, &train, &val, &clf, &p.segmenter)?;
    let pred = dir.join("predictions.csv");
    let rows = run::predict(ctx, &clf, &test, &p.records, &pred)?;
    let e = run::evaluate(ctx, &pred, &dir.join("evaluation"))?;
    let images = run::read_predictions(&pred)?;
    audit.arms.push(crate::audit::arm_audit(
        ctx, &clf, &rows, &images, &e, &test,
    )?);
    if loso {
        audit
            .loso
            .push(leave_one_source_out(ctx, own, Some(&main.evaluation))?);
        audit
            .loso
            .push(leave_one_source_out(ctx, InputMode::Whole, Some(&e))?);
    }
    crate::audit::write(ctx, &audit)?;
    Ok(audit)
}

/// Reads a study's results back (`<dir>/<name>.json`).
pub fn read_results(dir: &Path, name: &str) -> Result<Vec<ArmResult>> {
    let path = dir.join(format!("{name}.json"));
    let bytes = std::fs::read(&path).map_err(|source| cxr_core::Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Step {
        step: "read results",
        detail: format!("{}: {e}", path.display()),
    })
}

/// Patients per source and class among the accepted records (to choose a transfer
/// source and `add_back` values).
pub fn covid_patients_by_source(records: &[ImageRecord]) -> BTreeMap<SourceId, usize> {
    let mut m: BTreeMap<SourceId, BTreeSet<&str>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.label == Label::Covid) {
        m.entry(r.source)
            .or_default()
            .insert(r.patient.local.as_str());
    }
    m.into_iter().map(|(k, v)| (k, v.len())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExperimentConfig;

    fn ctx(dir: &Path) -> Context {
        Context::new(ExperimentConfig::tiny(), dir, tch::Device::Cpu, false).unwrap()
    }

    #[test]
    fn restricting_to_a_source_reads_quoted_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("predictions.csv");
        // A patient id with a comma is quoted; splitting on commas shifted `label`.
        std::fs::write(
            &p,
            "patient_id,label,source,p_covid\n\
             \"p,1\",covid,padchest,0.9\n\
             p2,covid,bimcv-covid,0.8\n\
             \"p,3\",healthy,padchest,0.1\n",
        )
        .unwrap();
        let (out, kept) = restrict_to_source(&p, SourceId::BimcvCovid).unwrap();
        assert_eq!(kept, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "patient_id,label,source,p_covid\n\
             p2,covid,bimcv-covid,0.8\n\
             \"p,3\",healthy,padchest,0.1\n"
        );
        std::fs::write(&p, "patient_id,p_covid\np1,0.5\n").unwrap();
        let e = restrict_to_source(&p, SourceId::BimcvCovid).unwrap_err();
        assert!(e.to_string().contains("no label/source column"), "{e}");
    }

    #[test]
    fn bad_study_arguments_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        for (fractions, seeds, want) in [
            (&[0.5, f64::NAN][..], &[1u64][..], "fraction NaN"),
            (&[1.5][..], &[1][..], "fraction 1.5"),
            (&[-0.1][..], &[1][..], "fraction -0.1"),
            (&[][..], &[1][..], "at least one"),
            (&[0.5][..], &[][..], "at least one"),
            (
                &[0.5, 0.504][..],
                &[1][..],
                "arm train50_seed1 listed twice",
            ),
            (&[0.5][..], &[3, 3][..], "arm train50_seed3 listed twice"),
        ] {
            let e = splits(&ctx, fractions, seeds).unwrap_err();
            assert!(
                matches!(&e, Error::Step { step: "splits", detail } if detail.contains(want)),
                "{fractions:?} {seeds:?}: {e}"
            );
        }
        for (add_back, want) in [
            (&[][..], "at least one"),
            (&[0, 5, 0][..], "value 0 listed twice"),
        ] {
            let e = transfer(&ctx, SourceId::BimcvCovid, add_back).unwrap_err();
            assert!(
                matches!(&e, Error::Step { step: "transfer", detail } if detail.contains(want)),
                "{add_back:?}: {e}"
            );
        }
        // Nothing was computed: no cohort, no segmenter, no arm.
        for sub in ["cohort", "segmenter", "splits", "transfer"] {
            assert!(!dir.path().join(sub).exists(), "{sub}");
        }
    }

    #[test]
    fn an_arm_folder_is_reused_only_for_the_same_split_settings() {
        let dir = tempfile::tempdir().unwrap();
        let arm_of = |source| SplitConfig {
            transfer: Some(TransferSpec {
                source,
                add_back: 0,
            }),
            ..SplitConfig::default()
        };
        let a = arm_of(SourceId::BimcvCovid);
        arm_settings(&a, dir.path()).unwrap();
        let written: SplitConfig =
            toml::from_str(&std::fs::read_to_string(dir.path().join("split.toml")).unwrap())
                .unwrap();
        assert_eq!(written, a);
        // Same settings: reused.
        arm_settings(&a, dir.path()).unwrap();
        // `transfer/add0` of another source: refused, the file kept.
        let e = arm_settings(&arm_of(SourceId::Coviddsl), dir.path()).unwrap_err();
        assert!(
            matches!(&e, Error::Config { path, .. } if path.ends_with("split.toml")),
            "{e}"
        );
        let kept: SplitConfig =
            toml::from_str(&std::fs::read_to_string(dir.path().join("split.toml")).unwrap())
                .unwrap();
        assert_eq!(kept, a);
        // A damaged file is refused too.
        std::fs::write(dir.path().join("split.toml"), "train_fraction = \"x\"").unwrap();
        assert!(matches!(
            arm_settings(&a, dir.path()),
            Err(Error::Config { .. })
        ));
    }
}
