//! McNemar's test of two paired proportions, exact (binomial) and chi-square.

use serde::{Deserialize, Serialize};

use super::contingency::MAX_EXACT_TOTAL;
use super::distributions::chi2_sf;
use crate::{Error, Result};

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
/// [`fisher_exact`](super::fisher_exact)).
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
