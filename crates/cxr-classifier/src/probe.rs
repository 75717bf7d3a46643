//! Probes: the classifier's network, trained on the classifier's inputs to predict
//! something other than the diagnosis. The shortcut audit trains one to predict each
//! image's **source**: if the network can tell the hospital from what it is shown, a
//! diagnosis network can learn the hospital instead of the disease wherever the two go
//! together (DeGrave et al. 2021).
//!
//! A probe run folder is a classifier run folder whose network has one output per probe
//! class (its `config.json` says how many); [`crate::Classifier::load_probe`] loads it
//! and [`crate::infer::predict_examples`] predicts with it. No class weighting, no
//! covid-19 AUC per epoch and no temperature: the classes are not the diagnosis.
//!
//! ```no_run
//! use cxr_classifier::{Classifier, Example, TrainConfig, probe::train_probe};
//! use std::path::Path;
//! # fn examples() -> Vec<(Example, usize)> { vec![] }
//! let (train, validation) = (examples(), examples()); // (example, source index)
//! train_probe(Path::new("probe"), &train, &validation, 8, &TrainConfig::cpu_small(),
//!     tch::Device::Cpu, false).unwrap();
//! let probe = Classifier::load_probe(Path::new("probe"), tch::Device::Cpu).unwrap();
//! ```

use std::path::Path;
use std::sync::Arc;

use tch::Device;

use crate::train::{ClassWeighting, TrainConfig, TrainSummary, train_split};
use crate::{Error, Example, Result};

/// Trains a probe into `run_dir` on `train` and `validation` (each example with its
/// class, `< classes`), with `config`'s network and recipe but `classes` outputs and no
/// class weighting. Resumes like [`crate::train()`].
///
/// # Errors
///
/// [`Error::InvalidConfig`] for fewer than 2 classes or a class out of range; then as
/// [`crate::train()`].
pub fn train_probe(
    run_dir: &Path,
    train: &[(Example, usize)],
    validation: &[(Example, usize)],
    classes: usize,
    config: &TrainConfig,
    device: Device,
    progress: bool,
) -> Result<TrainSummary> {
    if classes < 2 {
        return Err(Error::InvalidConfig {
            field: "probe classes",
            detail: format!("{classes}: a probe needs at least two classes"),
        });
    }
    if let Some((e, c)) = train.iter().chain(validation).find(|(_, c)| *c >= classes) {
        return Err(Error::InvalidConfig {
            field: "probe classes",
            detail: format!(
                "{} has class {c}, beyond the {classes} classes",
                e.image.display()
            ),
        });
    }
    let mut config = config.clone();
    config.model.num_classes = classes as i64;
    config.class_weighting = ClassWeighting::None;
    let examples: Vec<Example> = train
        .iter()
        .chain(validation)
        .map(|(e, _)| e.clone())
        .collect();
    let targets: Vec<i64> = train
        .iter()
        .chain(validation)
        .map(|(_, c)| *c as i64)
        .collect();
    let n = train.len();
    train_split(
        run_dir,
        &examples,
        Some(Arc::new(targets)),
        (0..n).collect(),
        (n..examples.len()).collect(),
        &config,
        device,
        progress,
    )
}
