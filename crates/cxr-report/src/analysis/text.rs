//! Number formats the analyses' markdown shares.

use cxr_stats::proportion::Interval;

/// A p-value in a table cell: `0.016`, `<0.001`, or `-` when the test is undefined.
pub(crate) fn p_text(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// `p = 0.016` or `p < 0.001`.
pub(crate) fn p_eq(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// A proportion's interval in percent, `12.3–45.6%`, or `-`.
pub(crate) fn ci_text(ci: Option<Interval>) -> String {
    ci.map_or("-".into(), |[lo, hi]| {
        format!("{:.1}–{:.1}%", 100.0 * lo, 100.0 * hi)
    })
}
