//! Tests of contingency tables: Pearson's chi-square test of independence (r×c) and
//! Fisher's exact test (2×2).

use serde::{Deserialize, Serialize};

use super::distributions::chi2_sf;
use crate::{Error, Result};

/// Result of a chi-square test of independence on an r×c table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareTest {
    /// Pearson's X² (with Yates' correction when it was applied).
    pub statistic: f64,
    /// Degrees of freedom, `(r − 1)(c − 1)`.
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Expected counts under independence, row-major as the input table.
    pub expected: Vec<Vec<f64>>,
    /// Whether Yates' continuity correction was applied (only ever when `df == 1`).
    pub yates: bool,
}

/// Chi-square test of independence of the rows and columns of a contingency table, as
/// scipy's `chi2_contingency(table, correction)`.
///
/// With `correction = true` Yates' continuity correction is applied when `df == 1`
/// (every 2×2 table): each observed count moves towards its expected count by
/// `min(0.5, |O − E|)`. For larger tables `correction` has no effect, as in scipy.
///
/// Zero cells are fine; a row or column summing to zero makes an expected count zero and
/// the statistic undefined, which is reported as [`Error::EmptyMargin`]. A table with a
/// single row or column has `df = 0`; scipy returns statistic 0 and p-value 1, and so
/// does this function.
///
/// # Errors
/// [`Error::BadShape`] for an empty or ragged table, [`Error::EmptyMargin`] as above.
pub fn chi2_contingency<R: AsRef<[u64]>>(table: &[R], correction: bool) -> Result<ChiSquareTest> {
    const WHAT: &str = "chi2_contingency";
    let r = table.len();
    let c = table.first().map_or(0, |row| row.as_ref().len());
    if r == 0 || c == 0 {
        return Err(Error::BadShape {
            what: WHAT,
            expected: "at least 1x1",
            rows: r,
            cols: c,
        });
    }
    if let Some(bad) = table.iter().find(|row| row.as_ref().len() != c) {
        return Err(Error::BadShape {
            what: WHAT,
            expected: "rows of equal length",
            rows: r,
            cols: bad.as_ref().len(),
        });
    }
    let obs: Vec<Vec<f64>> = table
        .iter()
        .map(|row| row.as_ref().iter().map(|&v| v as f64).collect())
        .collect();
    let row_sums: Vec<f64> = obs.iter().map(|row| row.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..c).map(|j| obs.iter().map(|row| row[j]).sum()).collect();
    if let Some(i) = row_sums.iter().position(|&s| s == 0.0) {
        return Err(Error::EmptyMargin {
            what: WHAT,
            axis: "row",
            index: i,
        });
    }
    if let Some(j) = col_sums.iter().position(|&s| s == 0.0) {
        return Err(Error::EmptyMargin {
            what: WHAT,
            axis: "column",
            index: j,
        });
    }
    let total: f64 = row_sums.iter().sum();
    let expected: Vec<Vec<f64>> = row_sums
        .iter()
        .map(|&rs| col_sums.iter().map(|&cs| rs * cs / total).collect())
        .collect();
    let df = (r - 1) * (c - 1);
    if df == 0 {
        return Ok(ChiSquareTest {
            statistic: 0.0,
            df,
            p_value: 1.0,
            expected,
            yates: false,
        });
    }
    let yates = correction && df == 1;
    let mut statistic = 0.0;
    for i in 0..r {
        for j in 0..c {
            let e = expected[i][j];
            let mut o = obs[i][j];
            if yates {
                let diff = e - o;
                o += diff.signum() * diff.abs().min(0.5);
            }
            statistic += (o - e) * (o - e) / e;
        }
    }
    let p_value = chi2_sf(statistic, df as f64);
    Ok(ChiSquareTest {
        statistic,
        df,
        p_value,
        expected,
        yates,
    })
}

// ---------------------------------------------------------------------------------------
// Fisher's exact test
// ---------------------------------------------------------------------------------------
/// Result of Fisher's exact test on a 2×2 table `[[a, b], [c, d]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FisherExact {
    /// Sample (unconditional) odds ratio `a·d / (b·c)`, `+inf` when `b·c = 0`, as scipy.
    /// `None` when a row or column sums to zero (scipy returns NaN there).
    pub odds_ratio: Option<f64>,
    /// Two-sided p-value: the probability, under the hypergeometric null with the table's
    /// margins, of every table no more likely than the observed one.
    pub p_value: f64,
}

/// The largest table total [`fisher_exact`] (and so
/// [`compare_proportions`](super::compare_proportions)) accepts.
/// Past a billion observations the exact test is no more informative than the
/// chi-square test, and refusing keeps its cost bounded.
pub const MAX_EXACT_TOTAL: u64 = 1_000_000_000;

/// Log-weights under which a hypergeometric probability, relative to the mode's, is 0 in
/// `f64` (`exp(-745.2)` is the smallest subnormal).
const NEGLIGIBLE_LOG_WEIGHT: f64 = -800.0;

/// Fisher's exact test (two-sided) for a 2×2 table `[[a, b], [c, d]]`, as scipy's
/// `fisher_exact(table)`.
///
/// The p-value sums the hypergeometric probabilities of all tables with the same
/// margins whose probability is at most `(1 + 1e-7)` times that of the observed table
/// (the relative tolerance of R's `fisher.test`; scipy uses `1e-14` and a binary search,
/// which agree except on tables whose probabilities tie to within 1e-7). Probabilities
/// are accumulated in log space relative to the mode, so large tables don't underflow;
/// the walk away from the mode stops once they are 0 in `f64`, so the cost grows with
/// the standard deviation of the distribution, not with the table total.
/// A row or column summing to zero gives p-value 1 and no odds ratio.
///
/// # Errors
/// [`Error::InvalidValue`] when the table total exceeds [`MAX_EXACT_TOTAL`].
pub fn fisher_exact(table: [[u64; 2]; 2]) -> Result<FisherExact> {
    let [[a, b], [c, d]] = table;
    let n = [a, b, c, d]
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .filter(|&n| n <= MAX_EXACT_TOTAL);
    let Some(n) = n else {
        return Err(Error::InvalidValue {
            what: "fisher_exact",
            value: a as f64 + b as f64 + c as f64 + d as f64,
            expected: "a table total of at most 1e9 (MAX_EXACT_TOTAL)",
        });
    };
    // Every sum below is at most n ≤ 1e9: no overflow.
    let (r1, r2) = (a + b, c + d);
    let (c1, c2) = (a + c, b + d);
    if r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0 {
        return Ok(FisherExact {
            odds_ratio: None,
            p_value: 1.0,
        });
    }
    let odds_ratio = if b > 0 && c > 0 {
        (a as f64 * d as f64) / (b as f64 * c as f64)
    } else {
        f64::INFINITY
    };
    // X = a ~ Hypergeometric(total = r1 + r2, successes = r1, draws = c1), supported on
    // [lo, hi], unimodal (log-concave) with mode ⌊(r1 + 1)(c1 + 1)/(n + 2)⌋.
    let lo = c1.saturating_sub(r2);
    let hi = c1.min(r1);
    let mode = ((r1 + 1) * (c1 + 1) / (n + 2)).clamp(lo, hi);
    // log pmf relative to the mode, by the ratio recurrence
    // p(x+1)/p(x) = (r1 − x)(c1 − x) / ((x + 1)(r2 − c1 + x + 1)),
    // walking each way until the weights are negligible (then so are all further ones).
    let mut below = Vec::new(); // x = mode − 1, mode − 2, …
    let mut acc = 0.0f64;
    for x in (lo + 1..=mode).rev() {
        let num = x as f64 * (r2 + x - c1) as f64;
        let den = (r1 - x + 1) as f64 * (c1 - x + 1) as f64;
        acc += (num / den).ln();
        below.push(acc);
        if acc < NEGLIGIBLE_LOG_WEIGHT {
            break;
        }
    }
    let start = mode - below.len() as u64; // the smallest x in the window
    let mut logw: Vec<f64> = below.into_iter().rev().collect();
    logw.push(0.0);
    let mut acc = 0.0f64;
    for x in mode..hi {
        let num = (r1 - x) as f64 * (c1 - x) as f64;
        let den = (x + 1) as f64 * (r2 + x + 1 - c1) as f64;
        acc += (num / den).ln();
        logw.push(acc);
        if acc < NEGLIGIBLE_LOG_WEIGHT {
            break;
        }
    }
    let max = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logw.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    // outside the window the observed table's weight is 0 as well
    let w_obs = a
        .checked_sub(start)
        .and_then(|i| w.get(i as usize))
        .copied()
        .unwrap_or(0.0);
    let threshold = w_obs * (1.0 + 1e-7);
    let tail: f64 = w.iter().filter(|&&wi| wi <= threshold).sum();
    Ok(FisherExact {
        odds_ratio: Some(odds_ratio),
        p_value: (tail / total).min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_symmetric_table_has_p_one() {
        let r = fisher_exact([[3, 3], [3, 3]]).unwrap();
        assert!((r.p_value - 1.0).abs() < 1e-12);
        assert_eq!(r.odds_ratio, Some(1.0));
    }

    #[test]
    fn yates_moves_at_most_half() {
        // |O − E| = 0.25 < 0.5: corrected statistic is exactly zero.
        let t = chi2_contingency(&[[1u64, 1], [1, 3]], true).unwrap();
        assert!(t.yates);
        assert_eq!(t.statistic, 0.0);
        assert_eq!(t.p_value, 1.0);
    }
}
