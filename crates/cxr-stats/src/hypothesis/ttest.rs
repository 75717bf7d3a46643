//! Two-sample t-tests (Student and Welch), from data or from summary statistics.

use serde::{Deserialize, Serialize};

use super::distributions::{t_ppf, t_two_sided_p};
use crate::{Error, Result};

fn check_confidence(confidence: f64) -> Result<()> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::InvalidValue {
            what: "confidence",
            value: confidence,
            expected: "a level in (0, 1)",
        });
    }
    Ok(())
}

fn check_finite(what: &'static str, xs: &[f64]) -> Result<()> {
    if let Some(&v) = xs.iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidValue {
            what,
            value: v,
            expected: "finite values (drop or impute missing values first)",
        });
    }
    Ok(())
}

/// Which two-sample t-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TTestKind {
    /// Pooled variance, `df = n_a + n_b − 2` (scipy `equal_var=True`, Matlab `ttest2`).
    Student,
    /// Unequal variances, Welch–Satterthwaite `df` (scipy `equal_var=False`).
    Welch,
}

/// Result of a two-sample t-test of `mean_a − mean_b = 0` (two-sided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    /// Which test.
    pub kind: TTestKind,
    /// t statistic, `(mean_a − mean_b) / se`.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `mean_a − mean_b`.
    pub mean_difference: f64,
    /// Standard error of the difference.
    pub std_error: f64,
    /// Confidence interval of the difference at level [`TTest::confidence`].
    pub ci: (f64, f64),
    /// Confidence level of [`TTest::ci`].
    pub confidence: f64,
    /// Mean of group A.
    pub mean_a: f64,
    /// Mean of group B.
    pub mean_b: f64,
    /// Sample standard deviation (`n − 1` denominator) of group A.
    pub sd_a: f64,
    /// Sample standard deviation (`n − 1` denominator) of group B.
    pub sd_b: f64,
    /// Size of group A.
    pub n_a: usize,
    /// Size of group B.
    pub n_b: usize,
}

/// Mean and sample standard deviation (`n − 1` denominator), two-pass.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// Two-sample two-sided t-test of `a` against `b`.
///
/// # Errors
/// [`Error::TooFew`] if a group has fewer than 2 observations,
/// [`Error::InvalidValue`] for a non-finite observation or a confidence outside (0, 1),
/// [`Error::ZeroVariance`] when both groups are constant (scipy gives NaN or ±inf).
/// For Welch's test, one constant group is fine as long as the other varies.
pub fn t_test(a: &[f64], b: &[f64], kind: TTestKind, confidence: f64) -> Result<TTest> {
    for (what, xs) in [("t_test (group a)", a), ("t_test (group b)", b)] {
        if xs.len() < 2 {
            return Err(Error::TooFew {
                what,
                needed: 2,
                got: xs.len(),
            });
        }
        check_finite(what, xs)?;
    }
    let (ma, sa) = mean_sd(a);
    let (mb, sb) = mean_sd(b);
    t_test_from_summary(ma, sa, a.len(), mb, sb, b.len(), kind, confidence)
}

/// Two-sample t-test from summary statistics (mean, sample sd, size of each group), as
/// scipy's `ttest_ind_from_stats`. Use it to check published tables.
///
/// # Errors
/// As [`t_test`]; also [`Error::InvalidValue`] for a negative or non-finite sd.
#[allow(clippy::too_many_arguments)]
pub fn t_test_from_summary(
    mean_a: f64,
    sd_a: f64,
    n_a: usize,
    mean_b: f64,
    sd_b: f64,
    n_b: usize,
    kind: TTestKind,
    confidence: f64,
) -> Result<TTest> {
    check_confidence(confidence)?;
    for (what, n) in [("t_test (group a)", n_a), ("t_test (group b)", n_b)] {
        if n < 2 {
            return Err(Error::TooFew {
                what,
                needed: 2,
                got: n,
            });
        }
    }
    check_finite("t_test (means)", &[mean_a, mean_b])?;
    for (what, sd) in [("t_test (sd a)", sd_a), ("t_test (sd b)", sd_b)] {
        if !(sd.is_finite() && sd >= 0.0) {
            return Err(Error::InvalidValue {
                what,
                value: sd,
                expected: "a finite sd >= 0",
            });
        }
    }
    let (na, nb) = (n_a as f64, n_b as f64);
    let (va, vb) = (sd_a * sd_a, sd_b * sd_b);
    let (se, df) = match kind {
        TTestKind::Student => {
            let df = na + nb - 2.0;
            let sp2 = ((na - 1.0) * va + (nb - 1.0) * vb) / df;
            ((sp2 * (1.0 / na + 1.0 / nb)).sqrt(), df)
        }
        TTestKind::Welch => {
            let (qa, qb) = (va / na, vb / nb);
            let se2 = qa + qb;
            let df = se2 * se2 / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
            (se2.sqrt(), df)
        }
    };
    if se == 0.0 {
        return Err(Error::ZeroVariance { what: "t_test" });
    }
    let diff = mean_a - mean_b;
    let statistic = diff / se;
    let p_value = t_two_sided_p(statistic, df);
    let q = t_ppf(0.5 + confidence / 2.0, df);
    Ok(TTest {
        kind,
        statistic,
        df,
        p_value,
        mean_difference: diff,
        std_error: se,
        ci: (diff - q * se, diff + q * se),
        confidence,
        mean_a,
        mean_b,
        sd_a,
        sd_b,
        n_a,
        n_b,
    })
}
