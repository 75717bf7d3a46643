//! Agreement of two classifications of the same units: Cohen's kappa, with the
//! asymptotic standard errors of Fleiss, Cohen & Everitt (1969).
//!
//! Use it for two raters, or for a classifier against the truth; McNemar's test of two
//! classifiers scored on the same units is [`crate::hypothesis::mcnemar`].
//!
//! [`cohen_kappa`] matches statsmodels 0.15 `statsmodels.stats.inter_rater.cohens_kappa`
//! (simple kappa: `kappa`, `std_kappa`, `std_kappa0`, `kappa_low`, `kappa_upp`,
//! `z_value`, `pvalue_two_sided`) and scikit-learn 1.9 `cohen_kappa_score` to 1e-9 on the
//! fixtures in `tests/reference/c_agreement.json` (`scripts/reference/stats_reference_c.py`).
//!
//! Where the peers return NaN this module says so in the type: a typed [`Error`] when
//! both raters put every unit in one class (kappa is 0/0), and `z = p_value = None` when
//! the null standard error is zero so that the test of kappa = 0 is 0/0 (see
//! [`cohen_kappa`]).
//!
//! ```
//! use cxr_stats::agreement::cohen_kappa;
//! // Truth (normal, bacterial, covid) in rows, the classifier's call in columns.
//! let table = [[230u64, 18, 4], [22, 131, 9], [3, 8, 75]];
//! let k = cohen_kappa(&table, 0.95).unwrap();
//! assert_eq!(k.n, 500);
//! assert!((k.kappa - 0.7905).abs() < 1e-4);
//! assert!(k.ci[0] < k.kappa && k.kappa < k.ci[1]);
//! assert!(k.p_value.unwrap() < 1e-100);
//! ```

use crate::hypothesis::chi2_sf;
use crate::proportion::z_for_level;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Cohen's kappa of two raters (or a classifier and the truth) from their k × k table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kappa {
    /// Units rated.
    pub n: u64,
    /// Observed agreement (trace / n).
    pub observed: f64,
    /// Agreement expected by chance from the margins.
    pub expected: f64,
    /// (observed - expected) / (1 - expected).
    pub kappa: f64,
    /// Asymptotic standard error under the alternative (Fleiss, Cohen & Everitt 1969), as statsmodels `cohens_kappa(...).std_kappa`.
    pub se: f64,
    /// Standard error under H0: kappa = 0 (statsmodels `std_kappa0`).
    pub se0: f64,
    /// kappa ± z·se at the requested level (statsmodels kappa_low / kappa_upp at alpha 0.05).
    pub ci: crate::proportion::Interval,
    /// z = kappa / se0 (statsmodels z_value); `None` when se0 = 0 (see [`cohen_kappa`]).
    pub z: Option<f64>,
    /// Two-sided p-value of H0: kappa = 0 (statsmodels pvalue_two_sided); `None` with `z`.
    pub p_value: Option<f64>,
}

/// The counts of a k × k agreement table: margins, diagonal and the non-zero
/// off-diagonal cells only (a class neither rater used contributes nothing).
struct Tally {
    n: u64,
    rows: Vec<u64>,
    cols: Vec<u64>,
    diag: Vec<u64>,
    /// `(i, j, count)` with `i != j` and `count > 0`.
    off: Vec<(usize, usize, u64)>,
}

/// Cohen's kappa of the k × k table `table` at confidence `level` (0.95 for the
/// statsmodels default).
///
/// `table[i][j]`: units the first rater put in class i and the second in class j.
///
/// With `p_ij = table[i][j] / n`, row and column margins `r_i`, `c_i`, observed agreement
/// `p_o = Σ p_ii` and chance agreement `p_e = Σ r_i c_i`
/// (Cohen 1960; Fleiss, Cohen & Everitt 1969, eqs. 9 and 14; statsmodels `cohens_kappa`):
///
/// * `κ = (p_o − p_e) / (1 − p_e)`, computed from the integer counts as
///   `(n·trace − Σ R_i C_i) / (n² − Σ R_i C_i)` so that it is exact but for the final
///   rounding;
/// * `Var(κ) = [Σ_i p_ii (1 − (r_i + c_i)(1 − κ))² + (1 − κ)² Σ_{i≠j} p_ij (c_i + r_j)²
///   − (κ − p_e (1 − κ))²] / (n (1 − p_e)²)`, the standard error `se` its root (0 when
///   the raters agree on every unit, where the formula is 0 up to rounding);
/// * `Var₀(κ) = [p_e + p_e² − Σ_i r_i c_i (r_i + c_i)] / (n (1 − p_e)²)` under H0, summed
///   as `Σ_i r_i c_i [(1 − r_i)(1 − c_i) + Σ_{j≠i} r_j c_j]`, whose terms are all ≥ 0;
/// * `ci = κ ∓ z_{(1+level)/2} · se` (not clipped to [−1, 1], as statsmodels),
///   `z = κ / se₀`, `p_value = 2 Φ(−|z|)`, computed as `P(χ²₁ ≥ z²)`.
///
/// # Errors
/// * [`Error::BadShape`] for an empty table or one that is not square.
/// * [`Error::InvalidValue`] for a `level` outside (0, 1), or counts totalling more than
///   `u64::MAX`.
/// * [`Error::TooFew`] when the table is all zeros (`n = 0`).
/// * [`Error::ZeroVariance`] with `what: "cohen_kappa"` when both raters put every unit
///   in the same single class: then `p_e = 1` and κ is 0/0 (statsmodels and scikit-learn
///   return NaN, the latter with an `UndefinedMetricWarning`).
///
/// `se₀ = 0` exactly when one rater puts every unit in one class or no class is used by
/// both raters. Every table with such margins has κ = 0, so κ = 0 and `se = 0` are
/// returned (statsmodels: `std_kappa` ≈ 1e-8 of rounding) with `z = p_value = None`,
/// where the peers give z = 0/0 = NaN (and statsmodels may give NaN for `std_kappa0`
/// itself, from rounding below zero). A classifier that always answers one class thus
/// gets κ = 0 against the truth, and no test.
pub fn cohen_kappa<R: AsRef<[u64]>>(table: &[R], level: f64) -> Result<Kappa> {
    const WHAT: &str = "cohen_kappa";
    let k = table.len();
    if k == 0 {
        return Err(Error::BadShape {
            what: WHAT,
            expected: "a non-empty square table",
            rows: 0,
            cols: 0,
        });
    }
    if let Some(bad) = table.iter().find(|row| row.as_ref().len() != k) {
        return Err(Error::BadShape {
            what: WHAT,
            expected: "a square table",
            rows: k,
            cols: bad.as_ref().len(),
        });
    }
    let overflow = || Error::InvalidValue {
        what: WHAT,
        value: table
            .iter()
            .flat_map(|row| row.as_ref().iter())
            .map(|&v| v as f64)
            .sum(),
        expected: "a table total of at most u64::MAX",
    };
    let mut tally = Tally {
        n: 0,
        rows: vec![0; k],
        cols: vec![0; k],
        diag: vec![0; k],
        off: Vec::new(),
    };
    for (i, row) in table.iter().enumerate() {
        for (j, &v) in row.as_ref().iter().enumerate() {
            tally.n = tally.n.checked_add(v).ok_or_else(overflow)?;
            // Margins are at most n: no overflow once n did not.
            tally.rows[i] += v;
            tally.cols[j] += v;
            if i == j {
                tally.diag[i] = v;
            } else if v > 0 {
                tally.off.push((i, j, v));
            }
        }
    }
    kappa_of(&tally, level)
}

/// Cohen's kappa from two label sequences of classes `0..k` (`first[u]` and `second[u]`
/// rate unit `u`), as scikit-learn's `cohen_kappa_score(first, second)`. Equal to
/// [`cohen_kappa`] of the k × k table of the pairs; classes neither sequence uses do not
/// change the result, and no k × k table is allocated.
///
/// # Errors
/// As [`cohen_kappa`], and [`Error::LengthMismatch`] if the sequences differ in length,
/// [`Error::BadShape`] if `k = 0`, [`Error::InvalidValue`] for a label `>= k`,
/// [`Error::TooFew`] for empty sequences.
pub fn cohen_kappa_from_labels(
    first: &[usize],
    second: &[usize],
    k: usize,
    level: f64,
) -> Result<Kappa> {
    const WHAT: &str = "cohen_kappa_from_labels";
    if first.len() != second.len() {
        return Err(Error::LengthMismatch {
            what: WHAT,
            left: first.len(),
            right: second.len(),
        });
    }
    if k == 0 {
        return Err(Error::BadShape {
            what: WHAT,
            expected: "at least one class (k >= 1)",
            rows: 0,
            cols: 0,
        });
    }
    for (what, labels) in [
        ("cohen_kappa_from_labels (first)", first),
        ("cohen_kappa_from_labels (second)", second),
    ] {
        if let Some(&bad) = labels.iter().find(|&&l| l >= k) {
            return Err(Error::InvalidValue {
                what,
                value: bad as f64,
                expected: "class labels in 0..k",
            });
        }
    }
    // Dense indices for the classes in use (at most 2 × len of them).
    let mut classes: Vec<usize> = first.iter().chain(second).copied().collect();
    classes.sort_unstable();
    classes.dedup();
    let index = |l: usize| classes.binary_search(&l).unwrap_or_default();
    let m = classes.len();
    let mut tally = Tally {
        n: first.len() as u64,
        rows: vec![0; m],
        cols: vec![0; m],
        diag: vec![0; m],
        off: Vec::new(),
    };
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (&a, &b) in first.iter().zip(second) {
        let (i, j) = (index(a), index(b));
        tally.rows[i] += 1;
        tally.cols[j] += 1;
        if i == j {
            tally.diag[i] += 1;
        } else {
            pairs.push((i, j));
        }
    }
    pairs.sort_unstable();
    for chunk in pairs.chunk_by(|x, y| x == y) {
        let (i, j) = chunk[0];
        tally.off.push((i, j, chunk.len() as u64));
    }
    kappa_of(&tally, level)
}

/// Kappa, its standard errors, interval and test from a checked tally (see
/// [`cohen_kappa`] for the formulas).
fn kappa_of(t: &Tally, level: f64) -> Result<Kappa> {
    const WHAT: &str = "cohen_kappa";
    let zq = z_for_level(level)?;
    let n = t.n;
    if n == 0 {
        return Err(Error::TooFew {
            what: WHAT,
            needed: 1,
            got: 0,
        });
    }
    // Exact integer parts: Σ R_i C_i ≤ n² < 2^128.
    let n_u = u128::from(n);
    let n2 = n_u * n_u;
    let rc: Vec<u128> = t
        .rows
        .iter()
        .zip(&t.cols)
        .map(|(&r, &c)| u128::from(r) * u128::from(c))
        .collect();
    let sum_rc: u128 = rc.iter().sum();
    if sum_rc == n2 {
        // Σ R_i C_i ≤ max C · n ≤ n², with equality only when both raters use one class.
        return Err(Error::ZeroVariance { what: WHAT });
    }
    let trace: u64 = t.diag.iter().sum();
    let n_trace = n_u * u128::from(trace);
    let numerator = if n_trace >= sum_rc {
        (n_trace - sum_rc) as f64
    } else {
        -((sum_rc - n_trace) as f64)
    };
    let kappa = numerator / (n2 - sum_rc) as f64;
    let nf = n as f64;
    let n2f = n2 as f64;
    let observed = trace as f64 / nf;
    let expected = sum_rc as f64 / n2f;
    let one_minus_pe = (n2 - sum_rc) as f64 / n2f;
    let denominator = one_minus_pe * one_minus_pe * nf;

    // Under H0 (Fleiss et al. 1969, eq. 14), as a sum of non-negative terms.
    let var0: f64 = t
        .rows
        .iter()
        .zip(&t.cols)
        .zip(&rc)
        .map(|((&r, &c), &rc_i)| {
            let a = rc_i as f64 / n2f;
            let not_r = (n - r) as f64 / nf;
            let not_c = (n - c) as f64 / nf;
            let others = (sum_rc - rc_i) as f64 / n2f;
            a * (not_r * not_c + others)
        })
        .sum::<f64>()
        / denominator;
    let se0 = var0.sqrt();

    // Under the alternative (Fleiss et al. 1969, eq. 9), as statsmodels.
    // Both degenerate cases are exact: perfect agreement, and margins that force κ = 0
    // (se₀ = 0), where the formula leaves only rounding.
    let se = if trace == n || var0 == 0.0 {
        0.0
    } else {
        let q = 1.0 - kappa;
        let r = |i: usize| t.rows[i] as f64 / nf;
        let c = |i: usize| t.cols[i] as f64 / nf;
        let term_a: f64 = (0..t.diag.len())
            .map(|i| {
                let d = 1.0 - (r(i) + c(i)) * q;
                t.diag[i] as f64 / nf * d * d
            })
            .sum();
        let term_b: f64 = t
            .off
            .iter()
            .map(|&(i, j, v)| {
                let s = c(i) + r(j);
                v as f64 / nf * s * s
            })
            .sum::<f64>()
            * q
            * q;
        let term_c = (kappa - expected * q).powi(2);
        ((term_a + term_b - term_c) / denominator).max(0.0).sqrt()
    };

    let z = (var0 > 0.0).then(|| kappa / se0);
    // 2 Φ(−|z|) = P(χ²₁ ≥ z²): statrs' regularized gamma keeps ~1e-15 relative precision
    // where its `erfc` (and so `Normal::sf`) is off by up to ~5e-11.
    let p_value = z.map(|z| chi2_sf(z * z, 1.0).min(1.0));
    Ok(Kappa {
        n,
        observed,
        expected,
        kappa,
        se,
        se0,
        ci: [kappa - zq * se, kappa + zq * se],
        z,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_by_hand() {
        // [[20, 5], [10, 15]]: p_o = 0.7, margins (0.5, 0.5) and (0.6, 0.4), p_e = 0.5,
        // κ = 0.4; Var₀ = (0.5 + 0.25 − (0.3·1.1 + 0.2·0.9)) / (0.25 · 50) = 0.24 / 12.5.
        let k = cohen_kappa(&[[20u64, 5], [10, 15]], 0.95).unwrap();
        assert_eq!(k.n, 50);
        assert!((k.observed - 0.7).abs() < 1e-15);
        assert!((k.expected - 0.5).abs() < 1e-15);
        assert!((k.kappa - 0.4).abs() < 1e-15);
        assert!((k.se0 - (0.24f64 / 12.5).sqrt()).abs() < 1e-15);
        assert!((k.z.unwrap() - 0.4 / k.se0).abs() < 1e-12);
    }

    #[test]
    fn perfect_agreement_has_zero_standard_error() {
        // Σ p_ii = 1/13 + 6/13 + 3/13 + 3/13 sums to 1 + 2^-52 in f64, so the variance
        // formula alone would leave se ≈ 1e-8 instead of 0.
        let diag = [1u64, 6, 3, 3];
        let sum = diag.iter().fold(0.0, |s, &d| s + d as f64 / 13.0);
        assert!(sum > 1.0);
        let table: Vec<Vec<u64>> = (0..4)
            .map(|i| (0..4).map(|j| if i == j { diag[i] } else { 0 }).collect())
            .collect();
        let k = cohen_kappa(&table, 0.95).unwrap();
        assert_eq!((k.kappa, k.observed, k.se), (1.0, 1.0, 0.0));
        assert_eq!(k.ci, [1.0, 1.0]);
        assert!(k.se0 > 0.0 && k.p_value.unwrap() < 1e-3);
    }

    #[test]
    fn the_null_variance_is_zero_exactly_in_the_degenerate_cases() {
        for table in [
            vec![vec![3u64, 2], vec![0, 0]],
            vec![vec![0u64, 5], vec![0, 0]],
            vec![vec![4u64, 0, 0], vec![1, 0, 0], vec![6, 0, 0]],
        ] {
            let k = cohen_kappa(&table, 0.95).unwrap();
            assert_eq!((k.kappa, k.se, k.se0), (0.0, 0.0, 0.0), "{table:?}");
            assert_eq!((k.z, k.p_value), (None, None), "{table:?}");
            assert_eq!(k.ci, [0.0, 0.0], "{table:?}");
        }
    }
}
