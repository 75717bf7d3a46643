//! Confidence intervals for a binomial proportion `k / n`.
//!
//! [`wilson`] is the default of this crate (good coverage down to small `n`, never
//! leaves `[0, 1]`); [`clopper_pearson`] is the exact (conservative) interval; [`wald`]
//! is only here to compare with papers that used it.

use statrs::distribution::{Beta, ContinuousCDF, Normal};

use crate::error::{Error, Result};

/// A two-sided interval `[lo, hi]`.
pub type Interval = [f64; 2];

/// The two-sided standard-normal quantile `z` for a confidence `level` (1.96 for 0.95).
///
/// # Errors
/// [`Error::InvalidValue`] unless `0 < level < 1`.
pub fn z_for_level(level: f64) -> Result<f64> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::InvalidValue {
            what: "confidence level",
            value: level,
            expected: "0 < level < 1",
        });
    }
    let normal = Normal::standard();
    Ok(normal.inverse_cdf(0.5 + level / 2.0))
}

fn check(what: &'static str, k: u64, n: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::TooFew {
            what,
            needed: 1,
            got: 0,
        });
    }
    if k > n {
        return Err(Error::InvalidValue {
            what,
            value: k as f64,
            expected: "successes <= trials",
        });
    }
    Ok(())
}

/// Wilson score interval for `k` successes in `n` trials.
///
/// `(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`.
///
/// # Errors
/// [`Error::TooFew`] when `n = 0` (the proportion is undefined), [`Error::InvalidValue`]
/// when `k > n` or the level is not in `(0, 1)`.
pub fn wilson(k: u64, n: u64, level: f64) -> Result<Interval> {
    check("Wilson interval", k, n)?;
    let z = z_for_level(level)?;
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At k = 0 (k = n) the bound is exactly 0 (1); do not let rounding move it.
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let hi = if p == 1.0 {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Ok([lo, hi])
}

/// Clopper–Pearson ("exact") interval from Beta quantiles.
///
/// # Errors
/// As [`wilson`].
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> Result<Interval> {
    check("Clopper-Pearson interval", k, n)?;
    z_for_level(level)?;
    let alpha = 1.0 - level;
    let lo = if k == 0 {
        0.0
    } else {
        beta_quantile(k as f64, (n - k + 1) as f64, alpha / 2.0)?
    };
    let hi = if k == n {
        1.0
    } else {
        beta_quantile((k + 1) as f64, (n - k) as f64, 1.0 - alpha / 2.0)?
    };
    Ok([lo, hi])
}

fn beta_quantile(a: f64, b: f64, q: f64) -> Result<f64> {
    let beta = Beta::new(a, b).map_err(|_| Error::InvalidValue {
        what: "Beta distribution shape",
        value: a.min(b),
        expected: "positive shapes",
    })?;
    Ok(beta.inverse_cdf(q))
}

/// Wald interval `p̂ ± z·√(p̂(1−p̂)/n)`, clipped to `[0, 1]` (poor coverage near 0 and 1;
/// provided for comparison only).
///
/// # Errors
/// As [`wilson`].
pub fn wald(k: u64, n: u64, level: f64) -> Result<Interval> {
    check("Wald interval", k, n)?;
    let z = z_for_level(level)?;
    let p = k as f64 / n as f64;
    let half = z * (p * (1.0 - p) / n as f64).sqrt();
    Ok([(p - half).max(0.0), (p + half).min(1.0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_of_95_percent() {
        assert!((z_for_level(0.95).unwrap() - 1.959_963_984_540_054).abs() < 1e-9);
        assert!(z_for_level(1.0).is_err());
    }

    #[test]
    fn wilson_known_value_and_edges() {
        // Newcombe (1998), example 81/263: Wilson 0.2553 to 0.3662.
        let [lo, hi] = wilson(81, 263, 0.95).unwrap();
        assert!((lo - 0.2553).abs() < 5e-5, "{lo}");
        assert!((hi - 0.3662).abs() < 5e-5, "{hi}");
        let [lo, hi] = wilson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.25 && hi < 0.35);
        assert!(matches!(wilson(0, 0, 0.95), Err(Error::TooFew { .. })));
        assert!(matches!(
            wilson(3, 2, 0.95),
            Err(Error::InvalidValue { .. })
        ));
    }

    #[test]
    fn clopper_pearson_edges() {
        // 0/10: upper bound 1 − 0.025^(1/10).
        let [lo, hi] = clopper_pearson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-9);
        let [lo, hi] = clopper_pearson(10, 10, 0.95).unwrap();
        assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-9);
        assert_eq!(hi, 1.0);
    }
}
