//! An experiment's settings: where the images come from, how the segmenter and the
//! classifier are trained, how patients are split and how results are evaluated. Read
//! from TOML and written into the run folder as `experiment.toml`.
//!
//! Every field of a settings file is optional. What a missing one takes depends on the
//! data: **on real data (`data.sources`, or `--data-root`) the paper's settings**
//! ([`ExperimentConfig::paper`]: the full Inception v3 at 299 px, the ResNet-50 segmenter
//! at 512), on a synthetic cohort the demo's ([`ExperimentConfig::demo`]: CPU-sized
//! networks). So a file that only changes the split never trains a demo network on
//! radiographs. `configs/paper.toml` spells the paper's settings out.

use std::path::{Path, PathBuf};

use cxr_classifier::{ClassifierConfig, TrainConfig};
use cxr_cohort::{DuplicateOptions, SplitConfig};
use cxr_lungseg::postprocess::PostprocessOptions;
use cxr_lungseg::qc::QcOptions;
use cxr_lungseg::{SegTrainConfig, SegmenterConfig};
use cxr_nn::AugmentConfig;
use cxr_synth::{CohortPlan, SynthConfig};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A synthetic cohort (`cxr-synth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticData {
    /// Patients per source and class.
    pub plan: CohortPlan,
    /// Rendering settings (size, difficulty, share of bad acquisitions, demographics).
    pub synth: SynthConfig,
    /// Seed of the cohort.
    pub seed: u64,
}

impl Default for SyntheticData {
    fn default() -> Self {
        SyntheticData {
            plan: CohortPlan::demo(),
            synth: SynthConfig::default(),
            seed: 2020,
        }
    }
}

/// Where the images come from: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// A synthetic cohort.
    pub synthetic: Option<SyntheticData>,
    /// The real sources: a `build_cohort` TOML (`configs/cohort-fixtures.toml` shows the
    /// layout; `docs/data.md` how to get each source). Relative roots in it are relative
    /// to the working directory.
    pub sources: Option<PathBuf>,
}

/// How the lung segmenter is obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmenterStep {
    /// An existing segmenter run (`train_segmenter`) to use as is.
    pub run: Option<PathBuf>,
    /// Otherwise, real lung masks to train on (`[[segmenter.masks]]`: folder pairs,
    /// the public mask sets, CheXmask tables; `cxr_lungseg::masks::MaskSourceSpec`), the
    /// paper's way: its segmenter learned from hand-delineated radiographs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masks: Vec<cxr_lungseg::masks::MaskSourceSpec>,
    /// Of those masks, the ones of the cohort's own images train the segmenter for at
    /// most this share of the cohort's patients per label and source, who then go to
    /// training (`cxr_experiments::seen::masks_for_segmenter`). Unset: `[split]`'s
    /// `train_fraction × (1 − validation_fraction)`. For the split-size study, at most its
    /// smallest fraction: patients the segmenter saw train in every arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort_mask_share: Option<f64>,
    /// Otherwise: phantoms to train on (standing in for the paper's 1,000
    /// hand-delineated images; an independent set, not the cohort's images). One in
    /// eight is a bad acquisition with its true partial mask, so the gate learns what to
    /// reject.
    pub synthetic_images: usize,
    /// Training settings.
    pub train: SegTrainConfig,
    /// Mask post-processing.
    pub post: PostprocessOptions,
    /// The quality gate (the paper: both lungs, ≥ 30 % of the pixels).
    pub qc: QcOptions,
}

impl Default for SegmenterStep {
    fn default() -> Self {
        SegmenterStep {
            run: None,
            masks: Vec::new(),
            cohort_mask_share: None,
            synthetic_images: 320,
            // The CPU network at 128 px: the phantoms' lungs are large smooth shapes, and
            // at 256 px the segmenter alone took half of the demo's six minutes (the gate
            // keeps the same 1,081 of 1,107 images either way).
            train: SegTrainConfig {
                model: SegmenterConfig {
                    input_size: 128,
                    ..SegmenterConfig::cpu_256()
                },
                epochs: 8,
                patience: 5,
                augment: AugmentConfig::paper(),
                average_last: 0,
                ..SegTrainConfig::default()
            },
            post: PostprocessOptions::default(),
            qc: QcOptions::default(),
        }
    }
}

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Bootstrap rounds for the intervals.
    pub rounds: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            rounds: 1000,
            seed: 2020,
        }
    }
}

/// Saliency examples in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SaliencyConfig {
    /// Test images per class to explain.
    pub per_class: usize,
    /// SmoothGrad samples.
    pub smoothgrad_samples: usize,
}

impl Default for SaliencyConfig {
    fn default() -> Self {
        SaliencyConfig {
            per_class: 1,
            smoothgrad_samples: 16,
        }
    }
}

/// The shortcut audit of the main experiment (`crate::audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Run the audit with the main experiment.
    pub enabled: bool,
    /// Epochs of each source probe (the classifier's recipe otherwise, without weight
    /// averaging or mirrored predictions).
    pub probe_epochs: usize,
    /// The inputs a source probe is trained on (`masked`, the paper's; `whole`, the whole
    /// image); empty: no probe.
    pub probe_inputs: Vec<cxr_classifier::InputMode>,
    /// Test images whose saliency inside the lungs is measured, spread evenly over the
    /// test part (0: none).
    pub saliency_images: usize,
    /// Of those, the ones with the least saliency inside the lungs shown as overlays.
    pub saliency_shown: usize,
    /// Sources that are one hospital (group) for the within-source AUC, besides each
    /// source alone: by default BIMCV-COVID19+ and PadChest, both from the Valencian
    /// region's hospitals, whose covid-19 and non-covid images the paper pools.
    pub source_groups: Vec<Vec<String>>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            probe_epochs: 8,
            probe_inputs: vec![
                cxr_classifier::InputMode::Masked,
                cxr_classifier::InputMode::Whole,
            ],
            saliency_images: 200,
            saliency_shown: 4,
            source_groups: vec![vec!["bimcv-covid".into(), "padchest".into()]],
        }
    }
}

/// Everything an experiment needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// The images.
    pub data: DataConfig,
    /// Near-duplicate detection (duplicates stay in one split part).
    pub duplicates: DuplicateOptions,
    /// The lung segmenter and the gate.
    pub segmenter: SegmenterStep,
    /// The patient split (the paper: 50 % train, 10 % of those for validation).
    pub split: SplitConfig,
    /// The classifier.
    pub classifier: TrainConfig,
    /// Evaluation.
    pub evaluation: EvaluationConfig,
    /// Saliency examples.
    pub saliency: SaliencyConfig,
    /// The shortcut audit.
    pub audit: AuditConfig,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig::demo()
    }
}

impl ExperimentConfig {
    /// `make demo`: the demo cohort (eight source styles, ~850 patients, 256 px), a
    /// CPU segmenter trained for a few epochs on 320 phantoms, the `small` classifier.
    /// About 10 minutes on 2 cores.
    pub fn demo() -> Self {
        ExperimentConfig {
            data: DataConfig {
                synthetic: Some(SyntheticData::default()),
                sources: None,
            },
            duplicates: DuplicateOptions::default(),
            segmenter: SegmenterStep::default(),
            split: SplitConfig::default(),
            classifier: TrainConfig::cpu_small(),
            evaluation: EvaluationConfig::default(),
            saliency: SaliencyConfig::default(),
            audit: AuditConfig::default(),
        }
    }

    /// A few dozen small phantoms and tiny networks: seconds, for tests.
    pub fn tiny() -> Self {
        let mut c = ExperimentConfig::demo();
        let synth = c.data.synthetic.as_mut().expect("demo is synthetic");
        synth.plan = CohortPlan::tiny();
        synth.synth.size = 96;
        c.segmenter.synthetic_images = 16;
        c.segmenter.train = SegTrainConfig {
            model: SegmenterConfig::tiny(64),
            epochs: 1,
            batch_size: 8,
            workers: 1,
            average_last: 0,
            ..SegTrainConfig::default()
        };
        // Tiny segmenters find noisy lungs: keep every image so the later steps have data.
        c.segmenter.qc = QcOptions {
            min_lungs: 0,
            min_fraction: 0.0,
        };
        c.classifier = TrainConfig {
            model: ClassifierConfig::tiny(80),
            epochs: 2,
            batch_size: 8,
            augment: AugmentConfig::none(),
            workers: 1,
            ..TrainConfig::cpu_small()
        };
        c.evaluation.rounds = 50;
        c.saliency.smoothgrad_samples = 2;
        c.audit.probe_epochs = 1;
        c.audit.saliency_images = 8;
        c.audit.saliency_shown = 2;
        c
    }

    /// The paper's settings on real data: the full Inception v3 at 299 px from ImageNet
    /// weights (`classifier.pretrained` must then be set), a ResNet-50 segmenter at 512.
    pub fn paper(sources: PathBuf) -> Self {
        ExperimentConfig {
            data: DataConfig {
                synthetic: None,
                sources: Some(sources),
            },
            segmenter: SegmenterStep {
                train: SegTrainConfig {
                    model: SegmenterConfig::resnet50_512(),
                    ..SegTrainConfig::default()
                },
                ..SegmenterStep::default()
            },
            classifier: TrainConfig::default(),
            ..ExperimentConfig::demo()
        }
    }

    /// Reads a TOML file. Missing fields take the paper's values when the file names
    /// real data (`data.sources` without `data.synthetic`), the demo's otherwise (module
    /// docs).
    pub fn load(path: &Path) -> Result<Self> {
        Self::for_run(Some(path), None, None, false)
    }

    /// Reads a TOML file whose missing fields take `base`'s values.
    pub fn load_over(path: &Path, base: &ExperimentConfig) -> Result<Self> {
        Self::over(path, read_table(path)?, base)
    }

    fn over(path: &Path, table: toml::Table, base: &ExperimentConfig) -> Result<Self> {
        let c = Self::merged(path, table, base)?;
        c.validate(path)?;
        Ok(c)
    }

    fn merged(path: &Path, table: toml::Table, base: &ExperimentConfig) -> Result<Self> {
        let bad = |detail: String| Error::Config {
            path: path.to_path_buf(),
            detail,
        };
        let mut merged = toml::Table::try_from(base).map_err(|e| bad(e.to_string()))?;
        merge_tables(&mut merged, table);
        merged.try_into().map_err(|e| bad(e.to_string()))
    }

    /// The settings of a run from its command line: the settings file if any, over the
    /// paper's settings when `sources` (a `build_cohort` TOML: `--sources`, or the one
    /// written for `--data-root`) is given, over the demo's otherwise; `tiny` takes the
    /// tiny settings instead, on either data. `sources` then replaces the file's data
    /// section, and `segmenter` (an existing segmenter run) its `segmenter.run`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an unreadable or invalid file, or invalid settings.
    pub fn for_run(
        config: Option<&Path>,
        sources: Option<PathBuf>,
        segmenter: Option<PathBuf>,
        tiny: bool,
    ) -> Result<Self> {
        let base = match (&sources, tiny) {
            // A smoke run of real data: seconds, whatever the sources.
            (_, true) => ExperimentConfig::tiny(),
            (Some(s), false) => ExperimentConfig::paper(s.clone()),
            (None, false) => ExperimentConfig::demo(),
        };
        let origin = config.map_or_else(|| PathBuf::from("<settings>"), Path::to_path_buf);
        let mut c = match config {
            Some(p) if sources.is_some() => {
                // The data come from the command line; the file's data section is
                // replaced whatever it says.
                let mut table = read_table(p)?;
                table.remove("data");
                Self::merged(p, table, &base)?
            }
            Some(p) => {
                let table = read_table(p)?;
                let real = table
                    .get("data")
                    .and_then(toml::Value::as_table)
                    .is_some_and(|d| d.contains_key("sources") && !d.contains_key("synthetic"));
                let base = if real {
                    ExperimentConfig::paper(PathBuf::new())
                } else {
                    base
                };
                Self::merged(p, table, &base)?
            }
            None => base,
        };
        if let Some(s) = sources {
            c.data = DataConfig {
                synthetic: None,
                sources: Some(s),
            };
        }
        if let Some(run) = segmenter {
            c.segmenter.run = Some(run);
        }
        c.validate(&origin)?;
        Ok(c)
    }

    /// The settings that decide what is trained, in one line for the console (the
    /// whole settings are in `experiment.toml`).
    pub fn summary(&self) -> String {
        let c = &self.classifier;
        let start = match &c.pretrained {
            Some(p) => format!("from {}", p.display()),
            None => "from random weights".into(),
        };
        let seg = match &self.segmenter.run {
            Some(r) => format!("segmenter run {}", r.display()),
            None => {
                let m = &self.segmenter.train.model;
                let on = match self.segmenter.masks.len() {
                    0 => String::new(),
                    n => format!(
                        " on the masks of {n} source{}",
                        if n == 1 { "" } else { "s" }
                    ),
                };
                format!(
                    "segmenter ResNet-{} (width {}) at {} px, {} epochs{on}",
                    m.depth, m.width, m.input_size, self.segmenter.train.epochs
                )
            }
        };
        let data = match (&self.data.synthetic, &self.data.sources) {
            (Some(_), _) => "synthetic cohort".to_owned(),
            (None, Some(s)) => format!("real sources ({})", s.display()),
            (None, None) => "no data".to_owned(),
        };
        format!(
            "{data}; classifier Inception v3 ×{} at {} px, ≤ {} epochs, batch {}, lr {:e}, {start}; \
             {seg}; {:.0} % of patients for training",
            c.model.width,
            c.model.input_size,
            c.epochs,
            c.batch_size,
            c.learning_rate,
            100.0 * self.split.train_fraction
        )
    }

    /// The TOML text of these settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] (`<settings>`) when a value has no TOML form: a path that is not
    /// UTF-8.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Config {
            path: PathBuf::from("<settings>"),
            detail: if e.to_string().contains("UTF-8") {
                format!("a path is not UTF-8 ({e})")
            } else {
                e.to_string()
            },
        })
    }

    /// Checks that exactly one data source is given and the parts are valid: the
    /// synthetic plan and settings, the duplicate thresholds, the split, the classifier and segmenter training
    /// settings (augmentation included), the segmenter's post-processing and gate, and
    /// `evaluation.rounds` ≥ 2. `origin` names the file (or `<settings>`) in the error.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the section and field.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let bad = |detail: String| Error::Config {
            path: origin.to_path_buf(),
            detail,
        };
        match (&self.data.synthetic, &self.data.sources) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "data: give either `synthetic` or `sources`, not both".into()
                ));
            }
            (None, None) => return Err(bad("data: give `synthetic` or `sources`".into())),
            _ => {}
        }
        if let Some(s) = &self.data.synthetic {
            s.synth
                .validate()
                .map_err(|e| bad(format!("data.synthetic: {e}")))?;
            s.plan
                .validate()
                .map_err(|e| bad(format!("data.synthetic.plan: {e}")))?;
        }
        self.duplicates
            .validate()
            .map_err(|e| bad(format!("duplicates: {e}")))?;
        self.split
            .validate()
            .map_err(|e| bad(format!("split: {e}")))?;
        self.classifier
            .validate()
            .map_err(|e| bad(format!("classifier: {e}")))?;
        self.segmenter
            .train
            .validate()
            .map_err(|e| bad(format!("segmenter.train: {e}")))?;
        self.segmenter
            .post
            .validate()
            .map_err(|e| bad(format!("segmenter.post: {e}")))?;
        self.segmenter
            .qc
            .validate()
            .map_err(|e| bad(format!("segmenter.qc: {e}")))?;
        if self.evaluation.rounds < 2 {
            return Err(bad(format!(
                "evaluation.rounds: {} < 2 (the bootstrap needs at least 2 rounds)",
                self.evaluation.rounds
            )));
        }
        if self.audit.enabled && !self.audit.probe_inputs.is_empty() && self.audit.probe_epochs == 0
        {
            return Err(bad(
                "audit.probe_epochs: 0 (a source probe needs at least one epoch; empty \
                 audit.probe_inputs for none)"
                    .into(),
            ));
        }
        if let Some(share) = self.segmenter.cohort_mask_share
            && !(0.0..=1.0).contains(&share)
        {
            return Err(bad(format!(
                "segmenter.cohort_mask_share: {share} is not a share of patients in [0, 1]"
            )));
        }
        if self.segmenter.run.is_none()
            && self.segmenter.masks.is_empty()
            && self.data.synthetic.is_none()
        {
            return Err(bad(
                "segmenter: real data needs a segmenter trained on real masks: a finished run \
                 (`run`, `--segmenter`: train_segmenter, docs/lungseg.md) or the masks to \
                 train one on (`[[segmenter.masks]]`: folder pairs, Montgomery/Shenzhen/JSRT, \
                 CheXmask tables)"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn read_table(path: &Path) -> Result<toml::Table> {
    let bad = |detail: String| Error::Config {
        path: path.to_path_buf(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    toml::from_str(&text).map_err(|e| bad(e.to_string()))
}

/// `over`'s values replace `base`'s, tables merged key by key (arrays replaced whole).
fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Writes a `build_cohort` TOML for real data laid out as `data_root/<source name>/`
/// (`docs/data.md`), with the paper's policies; sources whose folder is missing are
/// left out. Returns the sources found.
pub fn write_paper_sources(data_root: &Path, path: &Path) -> Result<Vec<cxr_core::SourceId>> {
    let mut cohort = cxr_cohort::CohortConfig::paper();
    cohort.sources.retain_mut(|p| {
        let dir = data_root.join(p.source.as_str());
        p.root = Some(dir.clone());
        dir.is_dir()
    });
    if cohort.sources.is_empty() {
        return Err(Error::Config {
            path: data_root.to_path_buf(),
            detail: "no source folder found (expected e.g. covid-idc/, padchest/, qmenta/ — \
                     docs/data.md)"
                .into(),
        });
    }
    let found = cohort.sources.iter().map(|p| p.source).collect();
    let build = cxr_sources::BuildConfig {
        cohort,
        duplicates: DuplicateOptions::default(),
        split: SplitConfig::default(),
    };
    let text = toml::to_string_pretty(&build).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    cxr_core::write_bytes_atomic(path, text.as_bytes())?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_toml_and_partial_files_take_defaults() {
        for c in [ExperimentConfig::demo(), ExperimentConfig::tiny()] {
            let back: ExperimentConfig = toml::from_str(&c.to_toml().unwrap()).unwrap();
            assert_eq!(back, c);
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        std::fs::write(
            &p,
            "[classifier]\nepochs = 3\n[split]\ntrain_fraction = 0.9\n",
        )
        .unwrap();
        let c = ExperimentConfig::load(&p).unwrap();
        assert_eq!(c.classifier.epochs, 3);
        assert_eq!(c.split.train_fraction, 0.9);
        assert_eq!(c.segmenter, ExperimentConfig::demo().segmenter);
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[classifier]\nepochs = \"many\"\n").unwrap();
        let e = ExperimentConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("epochs"), "{e}");
        std::fs::write(
            &p,
            "[data]\nsources = \"x.toml\"\n[data.synthetic]\nseed = 1\n",
        )
        .unwrap();
        let e = ExperimentConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");
        std::fs::write(&p, "[split]\ntrain_fraction = 1.5\n").unwrap();
        let e = ExperimentConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("train_fraction"), "{e}");
    }

    #[test]
    fn bad_augmentation_gate_plan_and_rounds_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        for (toml, expected) in [
            (
                "[classifier.augment]\nmirror = 1.5\n",
                "classifier: invalid classifier config: `augment.mirror` (1.5 is not in [0, 1])",
            ),
            (
                "[segmenter.train.augment]\nmax_rotate_deg = inf\n",
                "segmenter.train: invalid segmenter config: `augment.max_rotate_deg` (inf is not in [0, 180])",
            ),
            (
                "[segmenter.train.augment]\nmax_translate_px = 3e38\n",
                "`augment.max_translate_px`",
            ),
            (
                "[segmenter.qc]\nmin_fraction = nan\n",
                "segmenter.qc: invalid quality-gate option `min_fraction`",
            ),
            (
                "[segmenter.qc]\nmin_lungs = 3\n",
                "segmenter.qc: invalid quality-gate option `min_lungs`",
            ),
            (
                "[segmenter.post]\nthreshold = 2.0\n",
                "segmenter.post: invalid post-processing option `threshold`",
            ),
            (
                "[segmenter.train.model]\naspp_rates = [0, 12, 18]\n",
                "segmenter.train: invalid segmenter config: `aspp_rates`",
            ),
            (
                "[segmenter.train.model]\nin_channels = 3\n",
                "`in_channels`",
            ),
            ("[classifier.model]\nnum_classes = 2\n", "`num_classes`"),
            ("[evaluation]\nrounds = 1\n", "evaluation.rounds: 1 < 2"),
            (
                "[duplicates]\nmax_thumbnail_mad = nan\n",
                "duplicates: invalid cohort config: `duplicates.max_thumbnail_mad`",
            ),
            (
                "[duplicates]\nmax_hamming = 65\n",
                "duplicates: invalid cohort config: `duplicates.max_hamming`",
            ),
            (
                "[data.synthetic.synth.demographics.covid]\nage_mean = 65.0\nage_sd = inf\nmale = 0.5\n",
                "`demographics.covid.age_sd` = inf",
            ),
            (
                "[[data.synthetic.plan.sources]]\nsource = \"qmenta\"\nhealthy = 2\ncovid = 2\nbacterial = 2\nimages_per_patient = 1e20\n",
                "data.synthetic.plan: invalid cohort plan: `images_per_patient`",
            ),
        ] {
            std::fs::write(&p, toml).unwrap();
            let e = ExperimentConfig::load(&p).unwrap_err().to_string();
            assert!(e.starts_with(&format!("config {}: ", p.display())), "{e}");
            assert!(e.contains(expected), "{toml}: {e}");
        }
        std::fs::write(&p, "[evaluation]\nrounds = 2\n").unwrap();
        assert_eq!(ExperimentConfig::load(&p).unwrap().evaluation.rounds, 2);
    }

    /// A real-data run trains the paper's networks unless the settings ask for another:
    /// a file that only changes the split must not bring the demo's CPU presets.
    #[test]
    fn real_data_runs_take_the_papers_settings_for_what_a_file_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        std::fs::write(&p, "[split]\ntrain_fraction = 0.66\n").unwrap();
        let sources = dir.path().join("sources.toml");
        let seg = dir.path().join("seg");
        let c =
            ExperimentConfig::for_run(Some(&p), Some(sources.clone()), Some(seg.clone()), false)
                .unwrap();
        let paper = ExperimentConfig::paper(sources.clone());
        assert_eq!(c.classifier, paper.classifier);
        assert_eq!(
            c.classifier.model,
            cxr_classifier::ClassifierConfig::v3_299()
        );
        assert_eq!(c.segmenter.train, paper.segmenter.train);
        assert_eq!(c.split.train_fraction, 0.66);
        assert_eq!(c.data.sources.as_deref(), Some(sources.as_path()));
        assert_eq!(c.segmenter.run.as_deref(), Some(seg.as_path()));
        // Without a file, the paper's settings whole.
        let c = ExperimentConfig::for_run(None, Some(sources.clone()), Some(seg.clone()), false)
            .unwrap();
        assert_eq!(c.classifier, paper.classifier);
        // A file naming real data itself gets the paper's settings too.
        std::fs::write(
            &p,
            format!(
                "[data]\nsources = {:?}\n[segmenter]\nrun = {:?}\n",
                sources.display().to_string(),
                seg.display().to_string()
            ),
        )
        .unwrap();
        let c = ExperimentConfig::load(&p).unwrap();
        assert_eq!(c.classifier, paper.classifier);
        // What a file asks for, it gets: the small network on real data.
        std::fs::write(&p, "[classifier.model]\ninput_size = 128\nwidth = 0.25\n").unwrap();
        let c =
            ExperimentConfig::for_run(Some(&p), Some(sources.clone()), Some(seg), false).unwrap();
        assert_eq!(
            (c.classifier.model.input_size, c.classifier.model.width),
            (128, 0.25)
        );
        assert_eq!(c.classifier.epochs, paper.classifier.epochs);
        // Phantoms keep the demo's settings.
        std::fs::write(&p, "[split]\ntrain_fraction = 0.66\n").unwrap();
        let c = ExperimentConfig::for_run(Some(&p), None, None, false).unwrap();
        assert_eq!(c.classifier, ExperimentConfig::demo().classifier);
        assert!(
            c.summary()
                .starts_with("synthetic cohort; classifier Inception v3 ×0.25")
        );
    }

    /// `configs/cpu.toml` is the paper's settings with the demo's classifier, on real data.
    #[test]
    fn the_shipped_cpu_toml_is_the_papers_settings_with_the_demos_classifier() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cpu.toml");
        let (sources, seg) = (PathBuf::from("s.toml"), PathBuf::from("seg"));
        let c =
            ExperimentConfig::for_run(Some(&path), Some(sources.clone()), Some(seg.clone()), false)
                .unwrap();
        let mut expected = ExperimentConfig::paper(sources);
        expected.classifier = ExperimentConfig::demo().classifier;
        expected.segmenter.run = Some(seg);
        assert_eq!(c, expected);
        assert!(
            c.summary().contains("Inception v3 ×0.25 at 128 px"),
            "{}",
            c.summary()
        );
    }

    /// `--tiny` on real data is a smoke run of those data, not the paper's training.
    #[test]
    fn tiny_on_real_data_keeps_the_tiny_settings() {
        let (sources, seg) = (PathBuf::from("s.toml"), PathBuf::from("seg"));
        let c = ExperimentConfig::for_run(None, Some(sources.clone()), Some(seg.clone()), true)
            .unwrap();
        let mut expected = ExperimentConfig::tiny();
        expected.data = DataConfig {
            synthetic: None,
            sources: Some(sources.clone()),
        };
        expected.segmenter.run = Some(seg);
        // Real data still need a segmenter trained on real masks, tiny or not.
        let e = ExperimentConfig::for_run(None, Some(sources), None, true).unwrap_err();
        assert!(
            e.to_string().contains("`--segmenter`")
                && e.to_string().contains("[[segmenter.masks]]"),
            "{e}"
        );
        // Masks to train one on are the other way.
        let mut with_masks = expected.clone();
        with_masks.segmenter.run = None;
        with_masks.segmenter.masks = vec![cxr_lungseg::masks::MaskSourceSpec::Dataset {
            dataset: cxr_lungseg::masks::Dataset::Montgomery,
            root: "MontgomerySet".into(),
        }];
        with_masks.validate(Path::new("<settings>")).unwrap();
        // A share of the cohort's patients for the segmenter's masks is a share.
        with_masks.segmenter.cohort_mask_share = Some(1.5);
        let e = with_masks.validate(Path::new("<settings>")).unwrap_err();
        assert!(
            e.to_string()
                .contains("segmenter.cohort_mask_share: 1.5 is not a share of patients in [0, 1]"),
            "{e}"
        );
        assert_eq!(c, expected);
    }

    /// `configs/paper.toml` spells out exactly the paper's settings.
    #[test]
    fn the_shipped_paper_toml_is_the_papers_settings() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/paper.toml");
        // Loaded over the demo's settings, so that a section missing from the file shows.
        let mut table = read_table(&path).unwrap();
        table.insert(
            "data".into(),
            toml::Value::Table(toml::toml! { sources = "s.toml" }),
        );
        let c = ExperimentConfig::merged(&path, table, &ExperimentConfig::demo()).unwrap();
        let paper = ExperimentConfig::paper(PathBuf::from("s.toml"));
        let sections = |c: &ExperimentConfig| {
            (
                c.duplicates.clone(),
                c.segmenter.clone(),
                c.split.clone(),
                c.classifier.clone(),
                c.evaluation.clone(),
                c.saliency.clone(),
            )
        };
        assert_eq!(sections(&c), sections(&paper));
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_is_a_config_error() {
        use std::os::unix::ffi::OsStrExt;
        let mut c = ExperimentConfig::tiny();
        c.classifier.pretrained = Some(PathBuf::from(std::ffi::OsStr::from_bytes(b"w\xff.st")));
        let e = c.to_toml().unwrap_err().to_string();
        assert!(
            e.starts_with("config <settings>: a path is not UTF-8"),
            "{e}"
        );
    }
}
