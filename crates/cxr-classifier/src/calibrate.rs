//! Temperature scaling of a trained run (Guo et al. 2017): one temperature `T`, fitted by
//! likelihood on the run's validation patients, divides the log-probabilities before
//! the softmax, so a model that says 0.95 where it is right 80 % of the time says about
//! 0.8. The predicted class never changes.
//!
//! [`calibrate_run`] fits it after training and writes [`TEMPERATURE_FILE`] into the run
//! folder; [`crate::Classifier::load`] reads it and applies it to every prediction
//! (after the mirror average, the probabilities the run reports), unless
//! [`crate::Classifier::set_temperature_scaling`] turns it off. A run without the file
//! predicts as before.
//!
//! ```no_run
//! use cxr_classifier::calibrate::read_temperature;
//! use std::path::Path;
//!
//! if let Some(t) = read_temperature(Path::new("runs/classifier")).unwrap() {
//!     println!("T = {:.2}, validation NLL {:.3} → {:.3}", t.temperature, t.nll_before, t.nll_after);
//! }
//! ```

use std::path::Path;

use cxr_core::Label;
use cxr_stats::calibration::{MAX_TEMPERATURE, MIN_TEMPERATURE, TemperatureFit, fit_temperature};
use serde::{Deserialize, Serialize};

#[cfg(feature = "torch")]
use crate::Example;
#[cfg(feature = "torch")]
use crate::infer::{Classifier, predict_examples};
use crate::{Error, Result};

/// The file in a run folder that holds its [`RunTemperature`].
pub const TEMPERATURE_FILE: &str = "temperature.json";

/// Fewest validation images a temperature is fitted on: with fewer, one number is fitted
/// to noise.
pub const MIN_TEMPERATURE_IMAGES: usize = 8;

/// A run's temperature and what it did on the images it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTemperature {
    /// The temperature (> 1: the model was over-confident).
    pub temperature: f64,
    /// Mean negative log-likelihood of the validation images before scaling.
    pub nll_before: f64,
    /// … and after.
    pub nll_after: f64,
    /// Validation images it was fitted on.
    pub images: usize,
    /// Validation images that could not be predicted (left out of the fit).
    pub failed: usize,
}

fn widen(p: &[f32]) -> Vec<f64> {
    p.iter().map(|&v| f64::from(v)).collect()
}

/// Probabilities after dividing their logarithms by `temperature` (`p^(1/T)`, rescaled
/// to sum to 1: [`cxr_stats::calibration::temper_probabilities`]).
pub fn scale_probabilities(p: &[f32], temperature: f64) -> Vec<f32> {
    cxr_stats::calibration::temper_probabilities(&widen(p), temperature)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

#[cfg(feature = "torch")]
/// Fits the temperature of the run `clf` was loaded from on `validation` (predicted with
/// the run's own settings and without any temperature) and writes it to
/// `RUN/temperature.json`, atomically; `clf` applies it from then on.
///
/// Returns `Ok(None)`, writes nothing (removing an older `temperature.json`) and logs a
/// warning saying why when there is nothing sound to fit: fewer than
/// [`MIN_TEMPERATURE_IMAGES`] validation images predicted, or a likelihood that keeps
/// falling to a bound of the search (validation images separated perfectly: the fit
/// would make every prediction 0 or 1).
///
/// # Errors
/// [`Error::NoData`] when no validation image could be predicted; the fit's own errors
/// (as [`Error::NoData`]: the predictions cannot be fitted) and the file's.
pub fn calibrate_run(
    clf: &mut Classifier,
    validation: &[Example],
    batch: usize,
) -> Result<Option<RunTemperature>> {
    let was = clf.temperature_scaling();
    clf.set_temperature_scaling(false);
    let probs = predict_examples(clf, validation, batch, None);
    clf.set_temperature_scaling(was);
    let (mut predicted, mut labels, mut failed) = (Vec::new(), Vec::new(), 0);
    for (e, p) in validation.iter().zip(probs) {
        match p {
            Ok(p) => {
                predicted.push(p);
                labels.push(e.label);
            }
            Err(err) => {
                failed += 1;
                tracing::warn!(image = %e.image.display(), error = %cxr_core::error_chain(&err),
                    "validation image left out of the temperature fit");
            }
        }
    }
    if predicted.is_empty() {
        return Err(Error::NoData {
            detail: format!(
                "no validation image could be predicted to fit a temperature ({} given)",
                validation.len()
            ),
        });
    }
    let path = clf.run_dir().join(TEMPERATURE_FILE);
    match fit_probabilities(&predicted, &labels)? {
        Fit::Fitted(mut t) => {
            t.failed = failed;
            cxr_nn::checkpoint::write_json(&path, &t)?;
            clf.set_temperature(Some(t.temperature));
            Ok(Some(t))
        }
        Fit::Skipped(why) => {
            tracing::warn!(
                "no temperature scaling for {}: {why}",
                clf.run_dir().display()
            );
            if path.exists() {
                std::fs::remove_file(&path).map_err(|source| cxr_core::Error::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(None)
        }
    }
}

/// What [`fit_probabilities`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    /// A temperature inside the search range.
    Fitted(RunTemperature),
    /// Nothing sound to fit, and why.
    Skipped(String),
}

/// The temperature of predicted probabilities (one vector per image) against their
/// labels: [`Fit::Skipped`] with fewer than [`MIN_TEMPERATURE_IMAGES`] images or when the
/// likelihood is lowest at a bound of the search (images separated perfectly, or
/// predictions that carry no signal).
///
/// # Errors
/// [`Error::NoData`] when the probabilities cannot be fitted (ragged vectors, a label
/// beyond them).
pub fn fit_probabilities(probs: &[Vec<f32>], labels: &[Label]) -> Result<Fit> {
    if probs.len() < MIN_TEMPERATURE_IMAGES {
        return Ok(Fit::Skipped(format!(
            "{} validation images, at least {MIN_TEMPERATURE_IMAGES} needed",
            probs.len()
        )));
    }
    let logits: Vec<Vec<f64>> = probs
        .iter()
        .map(|p| cxr_stats::calibration::log_probabilities(&widen(p)))
        .collect();
    let classes: Vec<usize> = labels.iter().map(|l| l.index()).collect();
    let TemperatureFit {
        temperature,
        nll_before,
        nll_after,
        n,
    } = fit_temperature(&logits, &classes).map_err(|e| Error::NoData {
        detail: format!("temperature fit: {e}"),
    })?;
    if temperature <= MIN_TEMPERATURE || temperature >= MAX_TEMPERATURE {
        return Ok(Fit::Skipped(format!(
            "the validation likelihood is lowest at the search bound T = {temperature} \
             (validation images separated perfectly, or no signal at all)"
        )));
    }
    Ok(Fit::Fitted(RunTemperature {
        temperature,
        nll_before,
        nll_after,
        images: n,
        failed: 0,
    }))
}

/// The run's temperature, `None` when it has none (trained before temperature scaling,
/// or without validation patients).
///
/// # Errors
/// A file that exists but does not read as a [`RunTemperature`] with a positive, finite
/// temperature.
pub fn read_temperature(run_dir: &Path) -> Result<Option<RunTemperature>> {
    let path = run_dir.join(TEMPERATURE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let t: RunTemperature = cxr_nn::files::read_json(&path)?;
    if !(t.temperature > 0.0 && t.temperature.is_finite()) {
        return Err(Error::InvalidConfig {
            field: "temperature",
            detail: format!(
                "{}: {} is not a positive temperature",
                path.display(),
                t.temperature
            ),
        });
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over-confident predictions (0.9 where four in five are right) get T > 1 and a lower
    /// likelihood; too few images, perfect separation and constant predictions get none.
    #[test]
    fn a_temperature_is_fitted_only_where_it_means_something() {
        let labels: Vec<Label> = (0..40).map(|i| Label::ALL[i % 3]).collect();
        let probs = |right: &dyn Fn(usize) -> bool| -> Vec<Vec<f32>> {
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let k = if right(i) {
                        l.index()
                    } else {
                        (l.index() + 1) % 3
                    };
                    let mut p = vec![0.05f32; 3];
                    p[k] = 0.9;
                    p
                })
                .collect()
        };
        let over = probs(&|i| i % 5 != 0);
        let Fit::Fitted(t) = fit_probabilities(&over, &labels).unwrap() else {
            panic!("expected a fit");
        };
        assert!(t.temperature > 1.0 && t.nll_after < t.nll_before, "{t:?}");
        assert_eq!((t.images, t.failed), (40, 0));
        // Same as the statistics crate's fit on the log-probabilities.
        let logits: Vec<Vec<f64>> = over
            .iter()
            .map(|p| cxr_stats::calibration::log_probabilities(&widen(p)))
            .collect();
        let classes: Vec<usize> = labels.iter().map(|l| l.index()).collect();
        assert_eq!(
            fit_temperature(&logits, &classes).unwrap().temperature,
            t.temperature
        );
        let skipped = |f: Fit| matches!(f, Fit::Skipped(_));
        assert!(skipped(
            fit_probabilities(&over[..7], &labels[..7]).unwrap()
        ));
        assert!(skipped(
            fit_probabilities(&probs(&|_| true), &labels).unwrap()
        ));
        let flat = vec![vec![1.0f32 / 3.0; 3]; 40];
        assert!(skipped(fit_probabilities(&flat, &labels).unwrap()));
    }

    #[test]
    fn scaling_softens_keeps_the_argmax_and_sums_to_one() {
        let p = [0.9f32, 0.08, 0.02];
        let s = scale_probabilities(&p, 2.0);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(s[0] < 0.9 && s[0] > s[1] && s[1] > s[2]);
        // p^(1/2) normalised: 0.9487 / (0.9487 + 0.2828 + 0.1414)
        assert!((s[0] - 0.948_683 / 1.372_946).abs() < 1e-5, "{s:?}");
        // T = 1 is the identity; a zero probability stays (nearly) zero.
        let z = scale_probabilities(&[1.0, 0.0, 0.0], 1.0);
        assert_eq!(z[0], 1.0);
        assert!(z[1] < 1e-29);
    }
}
