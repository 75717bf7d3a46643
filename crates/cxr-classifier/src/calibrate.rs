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

use cxr_stats::calibration::{TemperatureFit, fit_temperature};
use serde::{Deserialize, Serialize};

use crate::infer::{Classifier, predict_examples};
use crate::{Error, Example, Result};

/// The file in a run folder that holds its [`RunTemperature`].
pub const TEMPERATURE_FILE: &str = "temperature.json";

/// Log-probabilities below this floor (a probability that underflowed to 0 in `f32`) are
/// raised to it, so that every logit is finite.
const LOG_FLOOR: f64 = -69.0; // ln(1e-30)

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

/// Per-image log-probabilities, floored so that they are finite.
pub fn log_probabilities(p: &[f32]) -> Vec<f64> {
    p.iter()
        .map(|&v| f64::from(v).ln().max(LOG_FLOOR))
        .collect()
}

/// Probabilities after dividing their logarithms by `temperature` (`p^(1/T)`, rescaled
/// to sum to 1).
pub fn scale_probabilities(p: &[f32], temperature: f64) -> Vec<f32> {
    cxr_stats::calibration::apply_temperature(&log_probabilities(p), temperature)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// Fits the temperature of the run `clf` was loaded from on `validation` (predicted with
/// the run's own settings and without any temperature) and writes it to
/// `RUN/temperature.json`, atomically; `clf` applies it from then on.
///
/// # Errors
/// [`Error::NoData`] when no validation image could be predicted; the fit's own errors
/// (as [`Error::NoData`]: the predictions cannot be fitted) and the file's.
pub fn calibrate_run(
    clf: &mut Classifier,
    validation: &[Example],
    batch: usize,
) -> Result<RunTemperature> {
    let was = clf.temperature_scaling();
    clf.set_temperature_scaling(false);
    let probs = predict_examples(clf, validation, batch, None);
    clf.set_temperature_scaling(was);
    let (mut logits, mut labels, mut failed) = (Vec::new(), Vec::new(), 0);
    for (e, p) in validation.iter().zip(probs) {
        match p {
            Ok(p) => {
                logits.push(log_probabilities(&p));
                labels.push(e.label.index());
            }
            Err(err) => {
                failed += 1;
                tracing::warn!(image = %e.image.display(), error = %cxr_core::error_chain(&err),
                    "validation image left out of the temperature fit");
            }
        }
    }
    if logits.is_empty() {
        return Err(Error::NoData {
            detail: format!(
                "no validation image could be predicted to fit a temperature ({} given)",
                validation.len()
            ),
        });
    }
    let TemperatureFit {
        temperature,
        nll_before,
        nll_after,
        n,
    } = fit_temperature(&logits, &labels).map_err(|e| Error::NoData {
        detail: format!("temperature fit: {e}"),
    })?;
    let t = RunTemperature {
        temperature,
        nll_before,
        nll_after,
        images: n,
        failed,
    };
    cxr_nn::checkpoint::write_json(&clf.run_dir().join(TEMPERATURE_FILE), &t)?;
    clf.set_temperature(Some(temperature));
    Ok(t)
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
    let t: RunTemperature = cxr_nn::checkpoint::read_json(&path)?;
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
