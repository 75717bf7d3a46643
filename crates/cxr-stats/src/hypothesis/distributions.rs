//! Distribution helpers (normal, Student t, chi-square) shared by the hypothesis tests,
//! `design`, `missing` and `agreement`.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;

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
}
