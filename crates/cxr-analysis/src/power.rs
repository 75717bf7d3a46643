//! The paper's power analysis: how many validation patients are needed.
//!
//! The paper (Methods, "Statistical analysis"): *Power sampling was used to establish the
//! number of patients necessary to validate a classifier with at least 80% detection rate
//! considering the prevalence of the data and error rates of type I and II below 5%*;
//! Results: *The result of the power sampling … was N=1,314 patients. This represented
//! only 8% of the data.*
//!
//! The paper names no formula. [`cxr_stats::design::paper_power_sampling`] documents what
//! the number can be traced to: no standard formula gives exactly 1,314; the closest is
//! Buderer's (1996) precision formula for a sensitivity of 0.80 ± 0.05 at 95% confidence
//! and the covid prevalence of 18.9%, which gives **1,301**. [`power_analysis`] computes
//! that reading under a [`PowerConfig`] (defaults: the paper's assumptions), with the
//! matching specificity size, the hypothesis-test reading that does use the power
//! (Hajian-Tilaki 2014 eq. 5, a null sensitivity against the expected one), an AUC
//! precision size (Hanley & McNeil), a grid over margins and prevalences, and the paper's
//! candidates side by side.
//!
//! This module computes; `cxr_report::analysis::power` renders the [`PowerAnalysis`]
//! (`power.md`, `power.png`) and writes its files.
//!
//! ```
//! use cxr_analysis::power::{PowerConfig, power_analysis};
//! let a = power_analysis(&PowerConfig::default())?;
//! assert_eq!(a.sensitivity.total, 1301); // the paper reports 1,314
//! # Ok::<(), cxr_analysis::Error>(())
//! ```

use std::path::Path;

use cxr_stats::design::{
    AucSampleSize, AucVariance, DiagnosticSampleSize, PaperPowerSampling, Sides,
    auc_precision_sample_size, buderer_sensitivity, buderer_specificity, paper_power_sampling,
    sensitivity_power_sample_size,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The assumptions of the power analysis. Defaults are the paper's (where the paper
/// gives none, the choice is documented on the field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerConfig {
    /// Expected sensitivity (detection rate): the paper's "at least 80% detection rate".
    pub sensitivity: f64,
    /// Expected specificity. The paper gives none; 0.80, the same as the sensitivity.
    pub specificity: f64,
    /// Half-width of the confidence interval of sensitivity and specificity: ±0.05,
    /// the reading that comes closest to the paper's N.
    pub margin: f64,
    /// Prevalence of the target class: covid, 3,156 / 16,665 printed as 18.9%.
    pub prevalence: f64,
    /// Type I error rate ("below 5%").
    pub alpha: f64,
    /// Power, 1 − type II error rate ("below 5%"): 0.95. Only the hypothesis-test
    /// reading uses it.
    pub power: f64,
    /// Null sensitivity of the hypothesis-test reading (H0: Se = this, H1: Se =
    /// [`PowerConfig::sensitivity`]). The paper gives none; 0.70, the natural pair that
    /// comes closest to 1,314 (1,282).
    pub null_sensitivity: f64,
    /// Sides of the hypothesis test.
    pub sides: Sides,
    /// Expected AUC for the AUC-precision size. The paper gives none; 0.90.
    pub auc: f64,
    /// Half-width of the AUC's confidence interval.
    pub auc_margin: f64,
    /// Variance of the AUC used for its sample size.
    pub auc_variance: AucVariance,
    /// Margins of the grid.
    pub margins: Vec<f64>,
    /// Prevalences of the grid: 10%, the paper's bacterial (13.8%) and covid (18.9%)
    /// prevalences, 30% and 50%.
    pub prevalences: Vec<f64>,
    /// The N the paper reports.
    pub reported_n: u64,
}

impl Default for PowerConfig {
    fn default() -> Self {
        Self {
            sensitivity: 0.80,
            specificity: 0.80,
            margin: 0.05,
            prevalence: 0.189,
            alpha: 0.05,
            power: 0.95,
            null_sensitivity: 0.70,
            sides: Sides::TwoSided,
            auc: 0.90,
            auc_margin: 0.05,
            auc_variance: AucVariance::HanleyMcNeil,
            margins: vec![0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10],
            prevalences: vec![0.10, 0.138, 0.189, 0.30, 0.50],
            reported_n: 1314,
        }
    }
}

impl PowerConfig {
    /// The paper's assumptions (= [`Default`]).
    pub fn paper() -> Self {
        Self::default()
    }

    /// Reads a TOML file; missing fields take the paper's values.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file, for an unreadable file, bad TOML, an unknown
    /// field or a value [`PowerConfig::validate`] rejects.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |detail: String| Error::Config {
            path: path.to_path_buf(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let c: PowerConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        c.validate(path)?;
        Ok(c)
    }

    /// The TOML text of these settings.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("settings serialise")
    }

    /// Checks every value; `origin` names the file (or `<built-in>`) in the error.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad field.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let bad = |detail: String| Error::Config {
            path: origin.to_path_buf(),
            detail,
        };
        let unit = |name: &str, v: f64| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(bad(format!("{name} = {v}: expected a value in (0, 1)")))
            }
        };
        unit("sensitivity", self.sensitivity)?;
        unit("specificity", self.specificity)?;
        unit("margin", self.margin)?;
        unit("prevalence", self.prevalence)?;
        unit("alpha", self.alpha)?;
        unit("power", self.power)?;
        unit("null_sensitivity", self.null_sensitivity)?;
        unit("auc", self.auc)?;
        unit("auc_margin", self.auc_margin)?;
        if self.power <= self.alpha {
            return Err(bad(format!(
                "power = {}: expected a power larger than alpha ({})",
                self.power, self.alpha
            )));
        }
        if self.null_sensitivity == self.sensitivity {
            return Err(bad(format!(
                "null_sensitivity = {}: expected a value other than sensitivity",
                self.null_sensitivity
            )));
        }
        for (name, list) in [
            ("margins", &self.margins),
            ("prevalences", &self.prevalences),
        ] {
            if list.is_empty() {
                return Err(bad(format!("{name}: expected at least one value")));
            }
            for &v in list {
                unit(name, v)?;
            }
        }
        Ok(())
    }
}

/// One cell of the grid: patients needed at one margin and prevalence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GridCell {
    /// Half-width of the confidence intervals.
    pub margin: f64,
    /// Prevalence of the target class.
    pub prevalence: f64,
    /// Patients for the sensitivity (Buderer).
    pub sensitivity: u64,
    /// Patients for the specificity (Buderer).
    pub specificity: u64,
    /// Patients for both, the larger of the two.
    pub both: u64,
}

/// The power analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerAnalysis {
    /// The assumptions.
    pub config: PowerConfig,
    /// Buderer size for the sensitivity: diseased patients (`cases`) and all patients
    /// (`total`). The paper's reading.
    pub sensitivity: DiagnosticSampleSize,
    /// Buderer size for the specificity (`cases` = non-diseased patients).
    pub specificity: DiagnosticSampleSize,
    /// Patients needed for both, the larger total.
    pub validation_patients: u64,
    /// Hypothesis-test reading: patients for a test of `null_sensitivity` against
    /// `sensitivity` with type I error `alpha` and the given power.
    pub sensitivity_test: DiagnosticSampleSize,
    /// Patients for the AUC's interval to have half-width `auc_margin`, with
    /// `(1 − prevalence) / prevalence` non-diseased per diseased patient.
    pub auc: AucSampleSize,
    /// [`GridCell`]s, margins outer, prevalences inner, in the config's order.
    pub grid: Vec<GridCell>,
    /// The paper's candidate readings, at the paper's values whatever the config.
    pub paper: PaperPowerSampling,
    /// The N the paper reports.
    pub reported_n: u64,
    /// `sensitivity.total − reported_n`.
    pub difference_from_reported: i64,
}

/// Computes the power analysis.
///
/// # Errors
/// [`Error::Config`] for an invalid config, [`Error::Stats`] should a formula reject a
/// value.
pub fn power_analysis(config: &PowerConfig) -> Result<PowerAnalysis> {
    config.validate(Path::new("<built-in>"))?;
    let c = config;
    let sensitivity = buderer_sensitivity(c.sensitivity, c.prevalence, c.margin, c.alpha)?;
    let specificity = buderer_specificity(c.specificity, c.prevalence, c.margin, c.alpha)?;
    let sensitivity_test = sensitivity_power_sample_size(
        c.null_sensitivity,
        c.sensitivity,
        c.prevalence,
        c.alpha,
        c.power,
        c.sides,
    )?;
    let auc = auc_precision_sample_size(
        c.auc,
        c.auc_margin,
        c.alpha,
        (1.0 - c.prevalence) / c.prevalence,
        c.auc_variance,
    )?;
    let mut grid = Vec::with_capacity(c.margins.len() * c.prevalences.len());
    for &margin in &c.margins {
        for &prevalence in &c.prevalences {
            let se = buderer_sensitivity(c.sensitivity, prevalence, margin, c.alpha)?.total;
            let sp = buderer_specificity(c.specificity, prevalence, margin, c.alpha)?.total;
            grid.push(GridCell {
                margin,
                prevalence,
                sensitivity: se,
                specificity: sp,
                both: se.max(sp),
            });
        }
    }
    Ok(PowerAnalysis {
        config: c.clone(),
        validation_patients: sensitivity.total.max(specificity.total),
        difference_from_reported: sensitivity.total as i64 - c.reported_n as i64,
        sensitivity,
        specificity,
        sensitivity_test,
        auc,
        grid,
        paper: paper_power_sampling(),
        reported_n: c.reported_n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// z_{0.975}.
    const Z: f64 = 1.959_963_984_540_054;

    #[test]
    fn buderer_by_hand_for_the_paper_assumptions() {
        let a = power_analysis(&PowerConfig::default()).unwrap();
        // cases = z² · 0.8 · 0.2 / 0.05² = 3.8414588 · 64 = 245.853…
        let cases = Z * Z * 0.8 * 0.2 / (0.05 * 0.05);
        assert!((a.sensitivity.cases_exact - cases).abs() < 1e-9);
        assert_eq!(a.sensitivity.cases, 246);
        // total = 245.853 / 0.189 = 1300.81 → 1301; specificity: / 0.811 = 303.15 → 304.
        assert!((a.sensitivity.total_exact - cases / 0.189).abs() < 1e-9);
        assert_eq!(a.sensitivity.total, 1301);
        assert_eq!(a.specificity.total, 304);
        assert_eq!(a.validation_patients, 1301);
        assert_eq!(a.difference_from_reported, 1301 - 1314);
        assert_eq!(a.paper.buderer_rounded_prevalence, a.sensitivity);
    }

    #[test]
    fn hypothesis_test_reading_by_hand() {
        let a = power_analysis(&PowerConfig::default()).unwrap();
        // (z_{0.975} √(0.7·0.3) + z_{0.95} √(0.8·0.2))² / 0.1² = 242.15 cases → 1282.
        let zb = 1.644_853_626_951_472_2;
        let cases = (Z * 0.21f64.sqrt() + zb * 0.4).powi(2) / 0.01;
        assert!((a.sensitivity_test.cases_exact - cases).abs() < 1e-6);
        assert_eq!(a.sensitivity_test.total, 1282);
        assert_eq!(a.sensitivity_test, a.paper.power_70_vs_80);
    }

    #[test]
    fn auc_size_reaches_the_margin() {
        let a = power_analysis(&PowerConfig::default()).unwrap();
        let ratio = 0.811 / 0.189;
        let n = a.auc.n_pos_exact;
        // Hanley & McNeil at the solution: z · SE = margin.
        let (q1, q2) = (0.9 / 1.1, 2.0 * 0.81 / 1.9);
        let var = (0.9 * 0.1 + (n - 1.0) * (q1 - 0.81) + (ratio * n - 1.0) * (q2 - 0.81))
            / (n * ratio * n);
        assert!((Z * var.sqrt() - 0.05).abs() < 1e-9);
        assert_eq!(a.auc.total, a.auc.n_pos + a.auc.n_neg);
    }

    #[test]
    fn grid_holds_the_main_cell_and_shrinks_with_the_margin() {
        let c = PowerConfig::default();
        let a = power_analysis(&c).unwrap();
        assert_eq!(a.grid.len(), c.margins.len() * c.prevalences.len());
        let main = a
            .grid
            .iter()
            .find(|g| g.margin == 0.05 && g.prevalence == 0.189)
            .unwrap();
        assert_eq!(main.sensitivity, a.sensitivity.total);
        assert_eq!(main.both, a.validation_patients);
        for &prev in &c.prevalences {
            let ns: Vec<u64> = a
                .grid
                .iter()
                .filter(|g| g.prevalence == prev)
                .map(|g| g.sensitivity)
                .collect();
            assert!(ns.windows(2).all(|w| w[0] > w[1]), "{ns:?}");
        }
        // At prevalence 50% the two sizes coincide (Se = Sp = 0.8).
        assert!(
            a.grid
                .iter()
                .filter(|g| g.prevalence == 0.5)
                .all(|g| g.sensitivity == g.specificity)
        );
    }

    #[test]
    fn config_from_partial_toml_and_bad_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("power.toml");
        std::fs::write(&p, "margin = 0.04\nprevalences = [0.2]\n").unwrap();
        let c = PowerConfig::load(&p).unwrap();
        assert_eq!(c.margin, 0.04);
        assert_eq!(c.prevalences, [0.2]);
        assert_eq!(c.sensitivity, 0.80);
        let back: PowerConfig = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
        std::fs::write(&p, "margn = 0.04\n").unwrap();
        let e = PowerConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("power.toml") && e.contains("margn"), "{e}");
        std::fs::write(&p, "prevalence = 1.5\n").unwrap();
        let e = PowerConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("prevalence = 1.5"), "{e}");
        let bad = PowerConfig {
            null_sensitivity: 0.8,
            ..PowerConfig::default()
        };
        assert!(matches!(power_analysis(&bad), Err(Error::Config { .. })));
    }
}
