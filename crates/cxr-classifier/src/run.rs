//! What inference needs of a classifier run folder (and what a service shows of its
//! training log), and what it does after the network, without libtorch: shared by the
//! libtorch [`Classifier`](crate::Classifier) and `cxr-infer`, so the two paths read the
//! same settings and finish the same way.

use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, LungMask};
use cxr_lungseg::qc::LungQc;
use serde::{Deserialize, Serialize};

use crate::config::ClassifierConfig;
use crate::{Error, Result};

/// The settings of a run's `config.json` that prediction uses (the rest is training's:
/// `TrainConfig`, under the `torch` feature, reads the whole file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunSettings {
    /// The network.
    pub model: ClassifierConfig,
    /// Average each prediction with that of the mirrored input.
    #[serde(default)]
    pub mirror_average: bool,
    /// The segmenter run that made the training masks, as recorded.
    #[serde(default)]
    pub segmenter: Option<PathBuf>,
}

impl RunSettings {
    /// Reads `run_dir/config.json`, checking the network's settings.
    ///
    /// # Errors
    ///
    /// [`Error::Nn`] when the file cannot be read or parsed; [`Error::InvalidConfig`].
    pub fn read(run_dir: &Path) -> Result<RunSettings> {
        let s: RunSettings = cxr_nn::files::read_json(&run_dir.join("config.json"))?;
        s.model.validate()?;
        Ok(s)
    }
}

/// What a run was trained on (`training_data.json` in the run folder, written when
/// training starts): counts of the images (training and validation parts together), of
/// their patients, per source and per class, and how many are `cxr-synth` phantoms
/// ([`cxr_core::ImageRecord::is_synthetic`]). The service shows it beside every answer,
/// so that a model trained on phantoms is never taken for one trained on patients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingData {
    /// Images.
    pub images: usize,
    /// Distinct patients.
    pub patients: usize,
    /// Images that are `cxr-synth` phantoms, not radiographs of patients.
    pub synthetic_images: usize,
    /// Images per source.
    pub sources: std::collections::BTreeMap<String, usize>,
    /// Images per class (`healthy`, `covid`, `bacterial`).
    pub classes: std::collections::BTreeMap<String, usize>,
}

/// File name of [`TrainingData`] in a run folder.
pub const TRAINING_DATA_FILE: &str = "training_data.json";

impl TrainingData {
    /// Tallies images given as (source, patient, class, synthetic).
    pub fn tally<'a>(
        images: impl IntoIterator<Item = (&'a str, &'a str, cxr_core::Label, bool)>,
    ) -> TrainingData {
        let mut t = TrainingData {
            images: 0,
            patients: 0,
            synthetic_images: 0,
            sources: Default::default(),
            classes: Default::default(),
        };
        let mut patients = std::collections::BTreeSet::new();
        for (source, patient, label, synthetic) in images {
            t.images += 1;
            t.synthetic_images += usize::from(synthetic);
            patients.insert(patient);
            *t.sources.entry(source.to_owned()).or_default() += 1;
            *t.classes.entry(label.as_str().to_owned()).or_default() += 1;
        }
        t.patients = patients.len();
        t
    }

    /// Reads `run_dir/training_data.json`; `None` for a run trained before it was
    /// written.
    ///
    /// # Errors
    ///
    /// [`Error::Nn`] when the file exists and cannot be read or parsed.
    pub fn read(run_dir: &Path) -> Result<Option<TrainingData>> {
        let path = run_dir.join(TRAINING_DATA_FILE);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(cxr_nn::files::read_json(&path)?))
    }

    /// Writes `run_dir/training_data.json` (atomically).
    ///
    /// # Errors
    ///
    /// [`Error::Nn`] when it cannot be written.
    pub fn write(&self, run_dir: &Path) -> Result<()> {
        Ok(cxr_nn::files::write_json(
            &run_dir.join(TRAINING_DATA_FILE),
            self,
        )?)
    }

    /// Whether every image was a phantom.
    pub fn only_synthetic(&self) -> bool {
        self.images > 0 && self.synthetic_images == self.images
    }

    /// One sentence for a person about to read the model's answers.
    pub fn describe(&self) -> String {
        let sources = self.sources.keys().cloned().collect::<Vec<_>>().join(", ");
        if self.only_synthetic() {
            format!(
                "This model was trained on synthetic phantoms only ({} images made by cxr-synth \
                 in the styles of {sources}), not on radiographs of patients: it shows how the \
                 software works and says nothing about a real radiograph.",
                self.images
            )
        } else if self.synthetic_images > 0 {
            format!(
                "This model was trained on {} images of {} patients from {sources}, {} of them \
                 synthetic phantoms made by cxr-synth.",
                self.images, self.patients, self.synthetic_images
            )
        } else {
            format!(
                "This model was trained on {} of {} from {sources}.",
                counted(self.images, "radiograph"),
                counted(self.patients, "patient")
            )
        }
    }
}

/// `1 radiograph`, `2 radiographs`.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The segmenter run a classifier run recorded, found where it is now: the first of
/// these that holds a `config.json` — the path as recorded; the path relative to the
/// run folder (a relative record); the folder of the recorded name beside the run folder
/// (a run folder copied to another machine, or moved, with its segmenter beside it, as
/// `reproduce_main` lays them out: training records the absolute path of the machine it
/// ran on).
///
/// # Errors
///
/// [`Error::InvalidConfig`] when the run was trained on given masks and records none, or
/// when the segmenter is in none of those places (the message names each).
pub fn segmenter_dir(run_dir: &Path, recorded: Option<&Path>) -> Result<PathBuf> {
    let config = run_dir.join("config.json");
    let seg = recorded.ok_or_else(|| Error::InvalidConfig {
        field: "segmenter",
        detail: format!(
            "{} was trained on given masks and records no segmenter",
            config.display()
        ),
    })?;
    let mut tried = vec![seg.to_path_buf()];
    if seg.is_relative() {
        tried.push(run_dir.join(seg));
    }
    if let (Some(name), Some(parent)) = (seg.file_name(), run_dir.parent()) {
        tried.push(parent.join(name));
    }
    tried.dedup();
    if let Some(found) = tried.iter().find(|p| p.join("config.json").is_file()) {
        return Ok(found.clone());
    }
    let shown: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Error::InvalidConfig {
        field: "segmenter",
        detail: format!(
            "the segmenter run {} records is not there (looked in {}): copy it beside \
             the classifier run, or name one",
            config.display(),
            shown.join(", ")
        ),
    })
}

/// The probabilities a run reports from the network's softmax rows `p`: averaged with
/// those of the mirrored input when the run mirror-averages, then temperature-scaled
/// ([`crate::calibrate::scale_probabilities`]) when it has a temperature.
pub fn finish_probabilities(
    mut p: Vec<Vec<f32>>,
    mirrored: Option<Vec<Vec<f32>>>,
    temperature: Option<f64>,
) -> Vec<Vec<f32>> {
    if let Some(m) = mirrored {
        for (row, m) in p.iter_mut().zip(m) {
            for (a, b) in row.iter_mut().zip(m) {
                *a = (*a + b) / 2.0;
            }
        }
    }
    if let Some(t) = temperature {
        for row in &mut p {
            *row = crate::calibrate::scale_probabilities(row, t);
        }
    }
    p
}

/// What the pipeline says about one image (either path's).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineOutput {
    /// The lung gate's measures and verdict.
    pub qc: LungQc,
    /// Both lungs, at the image's size.
    pub mask: LungMask,
    /// Class probabilities, when the gate accepted the image.
    pub probabilities: Option<Vec<f32>>,
}

/// An error of either backend, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A segmenter + gate + classifier that the batch tools ([`crate::batch`]) run: the
/// libtorch [`Pipeline`](crate::Pipeline) (`torch` feature) or `cxr_infer::Pipeline`.
pub trait ImagePipeline {
    /// The gate's verdict, the mask and (when accepted) the probabilities of an image.
    ///
    /// # Errors
    ///
    /// The backend's.
    fn run_image(&self, img: &GrayImage) -> std::result::Result<PipelineOutput, BoxError>;

    /// The classifier's probabilities for an image with a given lung mask (no gate).
    ///
    /// # Errors
    ///
    /// The backend's.
    fn classify(&self, img: &GrayImage, mask: &LungMask)
    -> std::result::Result<Vec<f32>, BoxError>;

    /// Everything its answers depend on (models, weights, temperature, gate, backend), as
    /// a batch's journal records it.
    ///
    /// # Errors
    ///
    /// A weights file that cannot be read.
    fn settings(&self) -> Result<serde_json::Value>;

    /// The gate its verdicts are judged by: what tells a verdict near the cut
    /// ([`LungQc::near_cut`]).
    fn gate(&self) -> &cxr_lungseg::qc::QcOptions;
}

/// Per-epoch log line (`metrics.jsonl`). A loss that is not finite (a diverged epoch) is
/// written as `"NaN"` or `"inf"` (`cxr_eval::json_float`), so the log always reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Mean training loss (main head).
    #[serde(with = "cxr_eval::json_float")]
    pub train_loss: f64,
    /// Mean validation loss.
    #[serde(with = "cxr_eval::json_float")]
    pub val_loss: f64,
    /// Validation accuracy (argmax).
    #[serde(with = "cxr_eval::json_float")]
    pub val_accuracy: f64,
    /// Validation one-vs-rest AUC of covid-19 (`null` without both classes).
    pub val_auc_covid: Option<f64>,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
    /// Training samples that could not be loaded this epoch.
    pub failed_samples: usize,
}

/// Reads `metrics.jsonl` of a run, one entry per epoch in epoch order.
///
/// A run stopped after logging an epoch but before saving its `last` checkpoint logs
/// that epoch again when it resumes; the later entry (the one the weights belong to)
/// is kept.
pub fn read_metrics(run_dir: &Path) -> Result<Vec<EpochMetrics>, Error> {
    let all: Vec<EpochMetrics> = cxr_nn::files::read_jsonl(&run_dir.join("metrics.jsonl"))?;
    let by_epoch: std::collections::BTreeMap<usize, EpochMetrics> =
        all.into_iter().map(|m| (m.epoch, m)).collect();
    Ok(by_epoch.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::Label;

    #[test]
    fn a_run_finds_its_segmenter_where_it_was_recorded_or_moved() {
        let d = tempfile::tempdir().unwrap();
        let (run, seg) = (
            d.path().join("demo/classifier"),
            d.path().join("demo/segmenter"),
        );
        for dir in [&run, &seg] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("config.json"), "{}").unwrap();
        }
        // As recorded (absolute, present); relative to the run.
        assert_eq!(segmenter_dir(&run, Some(&seg)).unwrap(), seg);
        let relative = Path::new("../segmenter");
        assert_eq!(
            segmenter_dir(&run, Some(relative)).unwrap(),
            run.join(relative)
        );
        // Trained elsewhere: the absolute path of another machine, the segmenter beside.
        let elsewhere = Path::new("/home/someone/out/demo/segmenter");
        assert_eq!(segmenter_dir(&run, Some(elsewhere)).unwrap(), seg);
        // Nowhere: the error names the run's config and each place looked in.
        std::fs::remove_file(seg.join("config.json")).unwrap();
        let e = segmenter_dir(&run, Some(elsewhere))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("demo/classifier/config.json")
                && e.contains("/home/someone/out/demo/segmenter")
                && e.contains(&seg.display().to_string()),
            "{e}"
        );
        assert!(segmenter_dir(&run, None).is_err());
    }

    /// An epoch whose validation loss is not a number (a diverged step, or a validation
    /// batch a tiny network could not score) is logged and read back; its `null` used to
    /// stop the run, and a study with it, at the next read ("JSON error in metrics.jsonl").
    #[test]
    fn an_epoch_with_a_nan_loss_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let m = EpochMetrics {
            epoch: 0,
            train_loss: 0.7,
            val_loss: f64::NAN,
            val_accuracy: 1.0,
            val_auc_covid: None,
            lr: 1e-3,
            seconds: 0.5,
            failed_samples: 0,
        };
        cxr_nn::append_jsonl(&dir.path().join("metrics.jsonl"), &m).unwrap();
        let text = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
        assert!(text.contains(r#""val_loss":"NaN""#), "{text}");
        let back = read_metrics(dir.path()).unwrap();
        assert_eq!(back.len(), 1);
        assert!(back[0].val_loss.is_nan());
        assert_eq!(back[0].train_loss, 0.7);
        // Logs written before: `null`.
        std::fs::write(
            dir.path().join("metrics.jsonl"),
            text.replace(r#""val_loss":"NaN""#, r#""val_loss":null"#),
        )
        .unwrap();
        assert!(read_metrics(dir.path()).unwrap()[0].val_loss.is_nan());
    }

    #[test]
    fn training_data_is_tallied_and_said_plainly() {
        let phantoms = TrainingData::tally([
            ("qmenta", "qmenta:P1", Label::Healthy, true),
            ("qmenta", "qmenta:P1", Label::Healthy, true),
            ("covid-idc", "covid-idc:P2", Label::Covid, true),
        ]);
        assert_eq!(
            (
                phantoms.images,
                phantoms.patients,
                phantoms.synthetic_images
            ),
            (3, 2, 3)
        );
        assert_eq!(phantoms.sources["qmenta"], 2);
        assert_eq!(phantoms.classes["covid"], 1);
        assert!(phantoms.only_synthetic());
        assert_eq!(
            phantoms.describe(),
            "This model was trained on synthetic phantoms only (3 images made by cxr-synth in \
             the styles of covid-idc, qmenta), not on radiographs of patients: it shows how the \
             software works and says nothing about a real radiograph."
        );
        let real = TrainingData::tally([("padchest", "padchest:9", Label::Bacterial, false)]);
        assert_eq!(
            real.describe(),
            "This model was trained on 1 radiograph of 1 patient from padchest."
        );
        let mixed = TrainingData::tally([
            ("padchest", "padchest:9", Label::Bacterial, false),
            ("qmenta", "qmenta:P1", Label::Healthy, true),
        ]);
        assert!(!mixed.only_synthetic());
        assert!(
            mixed
                .describe()
                .ends_with("1 of them synthetic phantoms made by cxr-synth.")
        );

        // Written and read back; a run without the file reads as unrecorded.
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TrainingData::read(dir.path()).unwrap(), None);
        phantoms.write(dir.path()).unwrap();
        assert_eq!(TrainingData::read(dir.path()).unwrap(), Some(phantoms));
    }
}
