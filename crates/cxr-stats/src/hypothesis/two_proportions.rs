//! Comparison of a proportion between two groups by every test a reader may want.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::contingency::{
    ChiSquareTest, FisherExact, MAX_EXACT_TOTAL, chi2_contingency, fisher_exact,
};
use super::ttest::{TTest, TTestKind, t_test_from_summary};
use crate::{Error, Result};

/// Comparison of a proportion between two groups (e.g. the share of males among covid
/// and non-covid patients, paper Table 2), by every test a reader may want.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProportionComparison {
    /// Successes and size of group A.
    pub count_a: (u64, u64),
    /// Successes and size of group B.
    pub count_b: (u64, u64),
    /// `x_a / n_a`.
    pub proportion_a: f64,
    /// `x_b / n_b`.
    pub proportion_b: f64,
    /// Student two-sample t-test on the 0/1 indicators: what the paper's tables call the
    /// "2 sample t-test" p-value for gender (Matlab `ttest2` on a 0/1 column).
    pub t_test: TTest,
    /// Two-proportion z statistic with pooled variance (`z² = X²` without correction).
    pub z_statistic: f64,
    /// Two-sided p-value of the z-test.
    pub z_p_value: f64,
    /// Chi-square test of the 2×2 table with Yates' correction.
    pub chi2_yates: ChiSquareTest,
    /// Fisher's exact test of the 2×2 table.
    pub fisher: FisherExact,
}

/// Compares `x_a / n_a` with `x_b / n_b`. The 2×2 table is
/// `[[x_a, n_a − x_a], [x_b, n_b − x_b]]`.
///
/// # Errors
/// [`Error::InvalidValue`] if a count exceeds its group size or the groups total more than
/// [`MAX_EXACT_TOTAL`] (the limit of [`fisher_exact`]), [`Error::TooFew`] if a group
/// has fewer than 2 members, [`Error::ZeroVariance`] if every member of both groups has
/// the same value (all successes or all failures), [`Error::EmptyMargin`] likewise.
pub fn compare_proportions(
    x_a: u64,
    n_a: u64,
    x_b: u64,
    n_b: u64,
    confidence: f64,
) -> Result<ProportionComparison> {
    for (x, n) in [(x_a, n_a), (x_b, n_b)] {
        if x > n {
            return Err(Error::InvalidValue {
                what: "compare_proportions",
                value: x as f64,
                expected: "a count not larger than its group size",
            });
        }
    }
    if n_a.checked_add(n_b).is_none_or(|n| n > MAX_EXACT_TOTAL) {
        return Err(Error::InvalidValue {
            what: "compare_proportions",
            value: n_a as f64 + n_b as f64,
            expected: "group sizes totalling at most 1e9 (MAX_EXACT_TOTAL)",
        });
    }
    // Mean and sd of a 0/1 column: p and sqrt(x (n − x) / (n (n − 1))).
    let sd = |x: u64, n: u64| {
        let (x, n) = (x as f64, n as f64);
        (x * (n - x) / (n * (n - 1.0))).sqrt()
    };
    let (na, nb) = (n_a as usize, n_b as usize);
    if na < 2 || nb < 2 {
        return Err(Error::TooFew {
            what: "compare_proportions",
            needed: 2,
            got: na.min(nb),
        });
    }
    let (pa, pb) = (x_a as f64 / n_a as f64, x_b as f64 / n_b as f64);
    let t_test = t_test_from_summary(
        pa,
        sd(x_a, n_a),
        na,
        pb,
        sd(x_b, n_b),
        nb,
        TTestKind::Student,
        confidence,
    )?;
    let table = [[x_a, n_a - x_a], [x_b, n_b - x_b]];
    let chi2_yates = chi2_contingency(&table, true)?;
    let pooled = (x_a + x_b) as f64 / (n_a + n_b) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n_a as f64 + 1.0 / n_b as f64)).sqrt();
    let z_statistic = (pa - pb) / se;
    let z_p_value = 2.0 * Normal::standard().sf(z_statistic.abs());
    Ok(ProportionComparison {
        count_a: (x_a, n_a),
        count_b: (x_b, n_b),
        proportion_a: pa,
        proportion_b: pb,
        t_test,
        z_statistic,
        z_p_value,
        chi2_yates,
        fisher: fisher_exact(table)?,
    })
}
