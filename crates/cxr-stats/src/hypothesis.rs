//! Tests of association: two-sample t-tests, chi-square test of independence, Fisher's
//! exact test, McNemar's test of paired proportions, and the comparison of two
//! proportions used by the paper's Table 2 and Supplementary Table 1.
//!
//! Every routine matches a peer implementation (scipy 1.17) to 1e-9 on the fixtures in
//! `tests/reference/b_hypothesis.json`:
//!
//! | here | scipy |
//! | --- | --- |
//! | [`t_test`] with [`TTestKind::Student`] | `ttest_ind(a, b, equal_var=True)` |
//! | [`t_test`] with [`TTestKind::Welch`] | `ttest_ind(a, b, equal_var=False)` |
//! | [`chi2_contingency`] | `chi2_contingency(table, correction=…)` |
//! | [`fisher_exact`] | `fisher_exact(table)` (two-sided) |
//!
//! [`mcnemar`] matches statsmodels 0.15 `mcnemar(table, exact=True)` and
//! `mcnemar(table, exact=False, correction=True)` to 1e-9 on the fixtures in
//! `tests/reference/c_agreement.json`.
//!
//! Inputs that leave a statistic undefined return a typed [`Error`] rather than a NaN
//! (scipy returns NaN or ±inf in those cases).
//!
//! ```
//! use cxr_stats::hypothesis::{compare_proportions, t_test_from_summary, TTestKind};
//! // Supplementary Table 1 of the paper: males among correctly / incorrectly classified.
//! let males = compare_proportions(4197, 8134, 88, 200, 0.95).unwrap();
//! assert!((males.t_test.p_value - 0.034).abs() < 0.001); // paper: 0.03
//! // Age, from the table's means and standard deviations.
//! let age = t_test_from_summary(54.0, 16.2, 8134, 57.2, 17.5, 200, TTestKind::Student, 0.95)
//!     .unwrap();
//! assert!((age.p_value - 0.006).abs() < 0.001); // paper: 0.01
//! ```

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;

use crate::{Error, Result};

// ---------------------------------------------------------------------------------------
// Distribution helpers shared by the part-B modules.
// ---------------------------------------------------------------------------------------

/// Standard normal CDF.
pub(crate) fn norm_cdf(x: f64) -> f64 {
    statrs::distribution::Normal::standard().cdf(x)
}

/// Standard normal quantile, for `p` in (0, 1).
pub(crate) fn norm_ppf(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Two-sided p-value of a Student t statistic: `P(|T_df| >= |t|)`.
///
/// Computed directly as `I_{df/(df+t²)}(df/2, 1/2)` so that tiny p-values keep their
/// relative precision.
pub(crate) fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    if df.is_infinite() {
        return 2.0 * Normal::standard().sf(t.abs());
    }
    let x = df / (df + t * t);
    beta_reg(df / 2.0, 0.5, x).min(1.0)
}

/// Student t CDF.
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    if df.is_infinite() {
        return norm_cdf(t);
    }
    let half = 0.5 * beta_reg(df / 2.0, 0.5, df / (df + t * t));
    if t <= 0.0 { half } else { 1.0 - half }
}

/// Student t quantile for `p` in (0, 1), polished by Newton steps on [`t_cdf`] so that
/// it is accurate to ~1e-12 (the starting value comes from statrs). For `df > 1e6`, where
/// statrs' inverse incomplete beta stops converging in practice, the Cornish–Fisher
/// expansion around the normal quantile (Abramowitz & Stegun 26.7.5, three terms, error
/// O(z⁹/df⁴)) is already exact to double precision and is returned as is.
pub(crate) fn t_ppf(p: f64, df: f64) -> f64 {
    if df.is_infinite() {
        return norm_ppf(p);
    }
    if df > 1e6 {
        let z = norm_ppf(p);
        let z2 = z * z;
        let g1 = (z2 + 1.0) * z / 4.0;
        let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
        let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
        return z + (g1 + (g2 + g3 / df) / df) / df;
    }
    let dist = match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d,
        Err(_) => return f64::NAN,
    };
    let mut x = dist.inverse_cdf(p);
    if !x.is_finite() {
        x = norm_ppf(p);
    }
    use statrs::distribution::Continuous;
    for _ in 0..8 {
        let f = t_cdf(x, df) - p;
        let d = dist.pdf(x);
        if d <= 0.0 || !d.is_finite() {
            break;
        }
        let step = f / d;
        x -= step;
        if step.abs() <= 1e-14 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// Upper tail of the chi-square distribution, `P(X >= x)`.
pub(crate) fn chi2_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

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

// ---------------------------------------------------------------------------------------
// t-tests
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Chi-square test of independence
// ---------------------------------------------------------------------------------------

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

/// The largest table total [`fisher_exact`] (and so [`compare_proportions`]) accepts.
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

// ---------------------------------------------------------------------------------------
// McNemar's test
// ---------------------------------------------------------------------------------------

/// McNemar's test of two paired proportions (e.g. two classifiers scored on the same units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Discordant pairs where the first is right and the second wrong.
    pub b: u64,
    /// Discordant pairs where the first is wrong and the second right.
    pub c: u64,
    /// Exact two-sided p-value: binomial test of b against b + c trials at 1/2,
    /// min(1, 2 * P(X <= min(b, c))) (statsmodels `mcnemar(exact=True)`); 1 when b + c = 0.
    pub exact_p_value: f64,
    /// Chi-square statistic with continuity correction, (|b - c| - 1)^2 / (b + c)
    /// (statsmodels `mcnemar(exact=False, correction=True)`, R `mcnemar.test`, except at
    /// b = c where R drops the correction and gives 0); None when b + c = 0.
    pub chi2: Option<f64>,
    /// Its p-value, chi-square with 1 degree of freedom; None when b + c = 0.
    pub chi2_p_value: Option<f64>,
}

/// McNemar's test (McNemar 1947) of the discordant pairs `b` and `c` of a paired 2×2
/// table `[[a, b], [c, d]]`; the concordant pairs `a` and `d` do not enter it.
///
/// * Exact test: under H0 each discordant pair falls either way with probability 1/2, so
///   `b ~ Binomial(b + c, 1/2)` and the two-sided p-value is
///   `min(1, 2 · P(X ≤ min(b, c)))`, as statsmodels `mcnemar(table, exact=True)` (which
///   calls `scipy.stats.binom.cdf`) and R `binom.test(b, b + c)`. The tail is summed in
///   log space from the largest term down, the term itself by Loader's saddle-point
///   expansion (as R's `dbinom`), so it keeps ~1e-13 relative precision up to
///   `b + c = 1e9` and for p-values down to the smallest `f64`.
/// * Chi-square test with Edwards' (1948) continuity correction:
///   `X² = (|b − c| − 1)² / (b + c)`, upper tail of χ²₁, as statsmodels
///   `mcnemar(table, exact=False, correction=True)` and R `mcnemar.test(x, correct=TRUE)`.
///   As statsmodels, the formula is applied as written, so `b = c > 0` gives
///   `X² = 1/(b + c)` (p-value < 1); R 4.2 applies the correction only when `b ≠ c` and
///   gives `X² = 0`, p-value 1 there. Everywhere else the three agree.
///
/// With no discordant pair (`b + c = 0`) the exact p-value is 1 and the chi-square
/// statistic is `None` (statsmodels computes `(0 − 1)²/0` there and returns statistic
/// `inf` with p-value 0; R computes `0/0` and returns NaN for both).
///
/// # Errors
/// [`Error::InvalidValue`] when `b + c` exceeds [`MAX_EXACT_TOTAL`] (the cap of
/// [`fisher_exact`]).
pub fn mcnemar(b: u64, c: u64) -> Result<McNemar> {
    let Some(n) = b.checked_add(c).filter(|&n| n <= MAX_EXACT_TOTAL) else {
        return Err(Error::InvalidValue {
            what: "mcnemar",
            value: b as f64 + c as f64,
            expected: "at most 1e9 discordant pairs (MAX_EXACT_TOTAL)",
        });
    };
    if n == 0 {
        return Ok(McNemar {
            b,
            c,
            exact_p_value: 1.0,
            chi2: None,
            chi2_p_value: None,
        });
    }
    let diff = b.abs_diff(c) as f64 - 1.0;
    let chi2 = diff * diff / n as f64;
    Ok(McNemar {
        b,
        c,
        exact_p_value: binomial_half_two_sided(b.min(c), n),
        chi2: Some(chi2),
        chi2_p_value: Some(chi2_sf(chi2, 1.0)),
    })
}

/// `min(1, 2 · P(X ≤ k))` for `X ~ Binomial(n, 1/2)` and `k ≤ n / 2`.
///
/// `P(X ≤ k) = pmf(k) · Σ_{i ≤ k} pmf(i) / pmf(k)`, the ratios by the recurrence
/// `pmf(i − 1) / pmf(i) = i / (n − i + 1)`. The ratios shrink as `i` falls, so once a
/// term `t` with ratio `r` satisfies `t / (1 − r) ≤ 1e-17 · sum` the rest (a series
/// bounded by the geometric one) is negligible: the walk takes a few standard deviations
/// `√n / 2`, not `k` steps.
fn binomial_half_two_sided(k: u64, n: u64) -> f64 {
    debug_assert!(2 * k <= n);
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    let mut i = k;
    while i > 0 {
        let r = i as f64 / (n - i + 1) as f64;
        term *= r;
        sum += term;
        if term <= 1e-17 * sum * (1.0 - r) {
            break;
        }
        i -= 1;
    }
    (ln_binomial_half_pmf(k, n) + (2.0 * sum).ln())
        .exp()
        .min(1.0)
}

/// `ln P(X = k)` for `X ~ Binomial(n, 1/2)`, by Loader's (2000) saddle-point expansion
/// `ln pmf = δ(n) − δ(k) − δ(n − k) − D(k, n/2) − D(n − k, n/2) − ½ ln(2π k (n − k) / n)`
/// with `δ` = [`stirlerr`] and `D` = [`bd0`] (R's `dbinom_raw`). Unlike
/// `ln Γ(n + 1) − ln Γ(k + 1) − ln Γ(n − k + 1) − n ln 2`, no large terms cancel, so the
/// absolute error stays ~1e-15 · |ln pmf| for any `n`.
///
/// Loader, C. (2000). Fast and accurate computation of binomial probabilities.
fn ln_binomial_half_pmf(k: u64, n: u64) -> f64 {
    if k == 0 || k == n {
        return -(n as f64) * std::f64::consts::LN_2;
    }
    let (nf, kf, mf) = (n as f64, k as f64, (n - k) as f64);
    let half = nf / 2.0;
    stirlerr(nf)
        - stirlerr(kf)
        - stirlerr(mf)
        - bd0(kf, half)
        - bd0(mf, half)
        - 0.5 * (2.0 * std::f64::consts::PI * kf * (mf / nf)).ln()
}

/// Stirling's error `δ(n) = ln n! − (n + ½) ln n + n − ½ ln 2π` for an integer `n ≥ 1`
/// (Loader 2000; R's `stirlerr`): directly from the exact `n!` up to 15, else by the
/// asymptotic series `1/(12n) − 1/(360n³) + 1/(1260n⁵) − 1/(1680n⁷) + 1/(1188n⁹)` with as
/// many terms as R uses.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        // n! ≤ 15! < 2^53 is exact in f64.
        let factorial: f64 = (2..=n as u64).map(|i| i as f64).product();
        return factorial.ln() - (n + 0.5) * n.ln() + n - 0.5 * (2.0 * std::f64::consts::PI).ln();
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// Loader's deviance term `D(x, m) = x ln(x / m) + m − x`, by the series
/// `2x Σ_j v^(2j+1) / (2j + 1) − (x − m)·v`, `v = (x − m)/(x + m)`, when `x` is near `m`
/// (where the direct formula cancels), directly otherwise (R's `bd0`).
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        let v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        for j in 1..1000 {
            ej *= v2;
            let s1 = s + ej / (2 * j + 1) as f64;
            if s1 == s {
                return s1;
            }
            s = s1;
        }
        return s;
    }
    x * (x / m).ln() + m - x
}

// ---------------------------------------------------------------------------------------
// Two proportions
// ---------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantile_is_inverse_of_cdf() {
        for &df in &[1.0, 2.5, 10.0, 212.7, 1e6] {
            for &p in &[1e-6, 0.025, 0.3, 0.975] {
                let x = t_ppf(p, df);
                let err = (t_cdf(x, df) - p).abs() / p;
                assert!(err < 1e-10, "df {df} p {p}: relative error {err:e}");
            }
        }
    }

    #[test]
    fn t_quantile_for_huge_df_is_cornish_fisher() {
        // statrs' inverse used to hang at df = 3.4e7 (reached by t_test_sample_size for a
        // tiny effect). Past 1e6 the expansion joins the polished quantile (as good as
        // `t_cdf`, ~1e-10 there)…
        for &p in &[1e-6, 0.025, 0.3, 0.975] {
            let (below, above) = (t_ppf(p, 1e6), t_ppf(p, 1e6 + 1.0));
            assert!(
                (below - above).abs() <= 1e-9 * below.abs(),
                "{p}: {below} vs {above}"
            );
        }
        // …and lies just outside the normal quantile, by about z(z² + 1)/(4 df).
        for &df in &[1.5e6, 3.4e7, 1e9, 1e12] {
            for &p in &[1e-6, 0.025, 0.3, 0.975] {
                let (x, z) = (t_ppf(p, df), norm_ppf(p));
                let first = z * (z * z + 1.0) / (4.0 * df);
                assert!(
                    ((x - z) - first).abs() <= 1e-3 * first.abs() + 1e-15,
                    "df {df} p {p}: {x} vs {z}"
                );
            }
        }
    }

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
