//! What is served: the run folders ([`ModelFiles`]), the model's identity and the
//! operating points stored with the run ([`ModelInfo`], `GET /v1/model`).

use std::path::{Path, PathBuf};

use cxr_core::Label;
use cxr_eval::evaluate::Evaluation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::ServeError;

/// The folders and files a served model comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    /// The classifier run (`config.json`, weights, `temperature.json`).
    pub classifier: PathBuf,
    /// The lung segmenter run.
    pub segmenter: PathBuf,
    /// The run's evaluation, whose per-class cut-offs are served as operating points.
    pub metrics: Option<PathBuf>,
}

impl ModelFiles {
    /// Finds the model in `run`: an experiment folder written by `reproduce_main`
    /// (`classifier/`, `segmenter/`, `evaluation/metrics.json`; what `make demo` writes)
    /// or a classifier run folder (`config.json`; the segmenter it recorded; when the
    /// folder is an experiment's `classifier/`, the segmenter and evaluation beside it).
    /// `segmenter` replaces the segmenter found.
    ///
    /// # Errors
    ///
    /// [`ServeError::NotARun`], [`ServeError::NoSegmenter`], [`ServeError::Read`].
    pub fn locate(run: &Path, segmenter: Option<&Path>) -> Result<ModelFiles, ServeError> {
        let (classifier, experiment) = if run.join("classifier/config.json").is_file() {
            (run.join("classifier"), Some(run.to_path_buf()))
        } else if run.join("config.json").is_file() {
            // The `classifier/` folder of an experiment: its segmenter and evaluation are
            // beside it. Any other run has neither (an evaluation of another classifier
            // must not lend it its cut-offs).
            let in_experiment = run.file_name().is_some_and(|n| n == "classifier");
            (
                run.to_path_buf(),
                run.parent()
                    .filter(|_| in_experiment)
                    .map(Path::to_path_buf),
            )
        } else {
            return Err(ServeError::NotARun {
                path: run.to_path_buf(),
            });
        };
        let segmenter = match segmenter {
            Some(s) => s.to_path_buf(),
            None => {
                let beside = experiment
                    .as_ref()
                    .map(|e| e.join("segmenter"))
                    .filter(|s| s.join("config.json").is_file());
                match beside {
                    Some(s) => s,
                    None => recorded_segmenter(&classifier)?,
                }
            }
        };
        let metrics = experiment
            .map(|e| e.join("evaluation/metrics.json"))
            .filter(|m| m.is_file());
        Ok(ModelFiles {
            classifier,
            segmenter,
            metrics,
        })
    }

    /// The model id: the run's folder name and the first 12 hex digits of a SHA-256 over
    /// the classifier's `config.json`, its temperature, the weights it loads and the
    /// segmenter's configuration and weights. Two services with the same id answer the
    /// same.
    ///
    /// # Errors
    ///
    /// [`ServeError::Read`] when a file cannot be read.
    pub fn id(&self, run: &Path) -> Result<String, ServeError> {
        let mut h = Sha256::new();
        let files = [
            self.classifier.join("config.json"),
            self.classifier
                .join(cxr_classifier::calibrate::TEMPERATURE_FILE),
            cxr_nn::files::inference_weights(&self.classifier),
            self.segmenter.join("config.json"),
            cxr_nn::files::inference_weights(&self.segmenter),
        ];
        for f in &files {
            match std::fs::read(f) {
                Ok(bytes) => {
                    h.update((bytes.len() as u64).to_le_bytes());
                    h.update(&bytes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.update(b"absent"),
                Err(source) => {
                    return Err(ServeError::Read {
                        path: f.clone(),
                        source,
                    });
                }
            }
        }
        let digest = h.finalize();
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let name = run
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into());
        Ok(format!("{name}-{hex}"))
    }
}

fn recorded_segmenter(classifier: &Path) -> Result<PathBuf, ServeError> {
    let path = classifier.join("config.json");
    let text = std::fs::read(&path).map_err(|source| ServeError::Read {
        path: path.clone(),
        source,
    })?;
    let config: cxr_classifier::run::RunSettings =
        serde_json::from_slice(&text).map_err(|source| ServeError::Metrics {
            path: path.clone(),
            source,
        })?;
    let seg = config.segmenter.ok_or_else(|| ServeError::NoSegmenter {
        run: classifier.to_path_buf(),
    })?;
    // Where the segmenter is now: as recorded, or beside a run folder that was moved.
    cxr_classifier::run::segmenter_dir(classifier, Some(&seg))
        .map_err(|e| ServeError::Model(cxr_core::error_chain(&e).into()))
}

/// A class's operating point: predicted positive iff its probability ≥ `cutoff`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatingPoint {
    /// `healthy`, `covid` or `bacterial`.
    pub class: String,
    /// The cut-off on the class probability.
    pub cutoff: f64,
    /// How the evaluation chose it (e.g. `max_accuracy`, `youden`).
    pub criterion: String,
    /// Sensitivity at the cut-off on the evaluation's units.
    pub sensitivity: f64,
    /// Specificity at the cut-off on the evaluation's units.
    pub specificity: f64,
    /// One-vs-rest AUC on the evaluation's units.
    pub auc: f64,
}

/// The operating points of an evaluation (`metrics.json`), in class order; a class the
/// evaluation could not score has none.
///
/// # Errors
///
/// [`ServeError::Read`], [`ServeError::Metrics`].
pub fn operating_points(path: &Path) -> Result<Vec<OperatingPoint>, ServeError> {
    let text = std::fs::read(path).map_err(|source| ServeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let e: Evaluation = serde_json::from_slice(&text).map_err(|source| ServeError::Metrics {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Label::ALL
        .iter()
        .filter_map(|&l| {
            e.per_class.get(l).as_ref().map(|m| OperatingPoint {
                class: l.as_str().to_owned(),
                cutoff: m.cutoff,
                criterion: m.criterion.clone(),
                sensitivity: m.detection_rate,
                specificity: m.specificity,
                auc: m.auc,
            })
        })
        .collect())
}

/// The classifier served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClassifierInfo {
    /// Side of the network's square input, in pixels.
    pub input_size: i64,
    /// What the network sees: `masked` (the paper's), `masked_with_mask`, `rgb` or `whole`.
    pub input: String,
    /// Width multiplier of Inception v3 (1 = torchvision's).
    pub width: f64,
    /// Temperature applied to the probabilities (`null`: none).
    pub temperature: Option<f64>,
    /// Predictions averaged with the mirrored image's.
    pub mirror_average: bool,
    /// Training epochs run.
    pub epochs: Option<usize>,
    /// Best validation loss of training (early stopping's criterion).
    pub best_validation_loss: Option<f64>,
    /// Validation accuracy at the epoch of lowest validation loss (`metrics.jsonl`).
    pub validation_accuracy: Option<f64>,
    /// Validation covid-19 AUC at that epoch.
    pub validation_covid_auc: Option<f64>,
    /// That epoch (from 0).
    pub validation_epoch: Option<usize>,
    /// When the weights were written (UTC, RFC 3339).
    pub trained: Option<String>,
    /// What the classifier was trained on (`null` for a run trained before runs recorded
    /// it): the page shows its `summary` in the notice above every answer.
    pub training_data: Option<TrainingDataInfo>,
    /// Where it was trained, in words: cxr's version and commit, libtorch, device and
    /// threads, CPU (the run's `environment.jsonl`; one line per start when a resumed
    /// run changed machine; `null` for a run trained before runs recorded it).
    pub trained_with: Option<String>,
}

/// What a classifier was trained on: the run's `training_data.json`
/// (`cxr_classifier::run::TrainingData`), training and validation images together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingDataInfo {
    /// Images.
    pub images: usize,
    /// Distinct patients.
    pub patients: usize,
    /// Images that are synthetic phantoms (`cxr-synth`), not radiographs of patients.
    pub synthetic_images: usize,
    /// Images per source.
    pub sources: std::collections::BTreeMap<String, usize>,
    /// Images per class.
    pub classes: std::collections::BTreeMap<String, usize>,
    /// The same in one sentence, for a person; it says so plainly when every image was
    /// a phantom.
    pub summary: String,
}

impl From<cxr_classifier::run::TrainingData> for TrainingDataInfo {
    fn from(t: cxr_classifier::run::TrainingData) -> Self {
        TrainingDataInfo {
            summary: t.describe(),
            images: t.images,
            patients: t.patients,
            synthetic_images: t.synthetic_images,
            sources: t.sources,
            classes: t.classes,
        }
    }
}

/// The lung gate's rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateRule {
    /// Lungs that must be found (the paper: 2).
    pub min_lungs: u8,
    /// Smallest share of the image the lungs must cover (the paper: 0.30).
    pub min_fraction: f32,
    /// Side of the segmenter's square input, in pixels.
    pub segmenter_input_size: i64,
}

impl GateRule {
    /// The gate's options.
    pub fn options(&self) -> cxr_lungseg::qc::QcOptions {
        cxr_lungseg::qc::QcOptions {
            min_lungs: self.min_lungs,
            min_fraction: self.min_fraction,
        }
    }
}

/// `GET /v1/model`: what is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    /// Run folder name and a hash of the configurations and weights.
    pub id: String,
    /// Classes in output order.
    pub classes: Vec<String>,
    /// The classifier.
    pub classifier: ClassifierInfo,
    /// The lung gate.
    pub gate: GateRule,
    /// Per-class operating points (empty when the run has no evaluation).
    pub operating_points: Vec<OperatingPoint>,
    /// Where the operating points come from.
    pub operating_points_source: Option<String>,
    /// The library running the networks: `libtorch` or `candle` (pure Rust).
    pub backend: String,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Largest classifier batch.
    pub max_batch: usize,
    /// Longest wait for a batch to fill, in milliseconds.
    pub max_wait_ms: u64,
    /// Always true: this is not a medical device.
    pub research_use_only: bool,
}

/// Modification time of a file as RFC 3339 (UTC, seconds).
pub(crate) fn modified_rfc3339(path: &Path) -> Option<String> {
    cxr_core::date::rfc3339_utc(std::fs::metadata(path).ok()?.modified().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_takes_cut_offs_only_from_the_runs_own_experiment() {
        let d = tempfile::tempdir().unwrap();
        let exp = d.path().join("demo");
        for f in [
            "classifier/config.json",
            "segmenter/config.json",
            "evaluation/metrics.json",
        ] {
            let p = exp.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "{}").unwrap();
        }
        // The experiment folder, or its classifier/ folder: segmenter and evaluation beside.
        for run in [exp.clone(), exp.join("classifier")] {
            let m = ModelFiles::locate(&run, None).unwrap();
            assert_eq!(m.classifier, exp.join("classifier"));
            assert_eq!(m.segmenter, exp.join("segmenter"));
            assert_eq!(m.metrics, Some(exp.join("evaluation/metrics.json")));
        }
        // Another classifier run placed in the experiment folder is not that experiment's.
        let other = exp.join("other-run");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("config.json"), "{}").unwrap();
        let seg = exp.join("segmenter");
        let m = ModelFiles::locate(&other, Some(&seg)).unwrap();
        assert_eq!(
            (m.classifier, m.segmenter, m.metrics),
            (other.clone(), seg, None)
        );
        assert!(matches!(
            ModelFiles::locate(d.path(), None),
            Err(ServeError::NotARun { .. })
        ));
    }

    /// A run whose test patients hold two of the three classes (covid-19 against healthy,
    /// as many real studies) is served with the operating points it has: its
    /// `metrics.json` used to hold `null` for the absent class's accuracy and stopped the
    /// service at start.
    #[test]
    fn a_run_evaluated_on_two_classes_gives_their_operating_points() {
        let csv = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n\
                   a,2020-03-01,a1,covid,0.1,0.8,0.1\n\
                   b,2020-03-01,b1,healthy,0.7,0.2,0.1\n\
                   c,2020-03-02,c1,healthy,0.6,0.3,0.1\n\
                   d,2020-03-02,d1,covid,0.3,0.6,0.1\n";
        let images =
            cxr_eval::predictions::parse_predictions(csv.as_bytes(), Path::new("p.csv")).unwrap();
        let mut options = cxr_eval::EvaluateOptions::default();
        options.bootstrap.rounds = 20;
        let e = cxr_eval::evaluate(&images, &options).unwrap();
        let d = tempfile::tempdir().unwrap();
        let metrics = d.path().join("metrics.json");
        std::fs::write(&metrics, serde_json::to_vec_pretty(&e).unwrap()).unwrap();
        let points = operating_points(&metrics).unwrap();
        let classes: Vec<&str> = points.iter().map(|p| p.class.as_str()).collect();
        assert_eq!(classes, ["healthy", "covid"]);
        assert_eq!(points[1].auc, 1.0);
        // As such files were written before: `null` where the class is absent.
        let old = std::fs::read_to_string(&metrics)
            .unwrap()
            .replace("\"NaN\"", "null");
        assert!(old.contains("null"));
        std::fs::write(&metrics, old).unwrap();
        assert_eq!(operating_points(&metrics).unwrap().len(), 2);
    }

    #[test]
    fn rfc3339_of_known_times() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = std::fs::File::create(&p).unwrap();
        // 2020-07-16T12:34:56Z, the preprint's date, and a leap day.
        for (secs, want) in [
            (1_594_902_896u64, "2020-07-16T12:34:56Z"),
            (1_709_164_800, "2024-02-29T00:00:00Z"),
            (0, "1970-01-01T00:00:00Z"),
        ] {
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .unwrap();
            assert_eq!(modified_rfc3339(&p).unwrap(), want);
        }
    }
}
