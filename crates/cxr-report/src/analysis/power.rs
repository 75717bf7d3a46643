//! The power analysis rendered: the [`PowerAnalysis`] of `cxr-analysis` as `power.md`
//! ([`markdown`]), `power.png` ([`plot`]) and the files [`write()`] writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_analysis::power::PowerAnalysis;
use cxr_stats::design::{AucVariance, Sides};

use crate::Result;
use crate::plot::{RGBColor, Series, lines_png};

/// File names written by [`write()`].
pub const FILES: [&str; 3] = ["power.json", "power.md", "power.png"];

/// `1314` → `1,314`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

fn pct(v: f64) -> String {
    let s = format!("{:.2}", 100.0 * v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn variance_name(v: AucVariance) -> &'static str {
    match v {
        AucVariance::HanleyMcNeil => "Hanley & McNeil (1982)",
        AucVariance::Obuchowski => "Obuchowski (1994)",
    }
}

/// The analysis as markdown: assumptions, the sizes, the paper's candidates and the grid.
pub fn markdown(a: &PowerAnalysis) -> String {
    let c = &a.config;
    let sides = match c.sides {
        Sides::TwoSided => "two-sided",
        Sides::OneSided => "one-sided",
    };
    let mut s = String::from("# Power analysis: validation patients needed\n\n");
    let _ = writeln!(
        s,
        "Assumptions: sensitivity {}, specificity {}, margin ±{}, prevalence {}, \
         α = {}, power {} (null sensitivity {}, {sides}), AUC {} ± {} ({} variance).\n",
        pct(c.sensitivity),
        pct(c.specificity),
        pct(c.margin),
        pct(c.prevalence),
        c.alpha,
        pct(c.power),
        pct(c.null_sensitivity),
        c.auc,
        c.auc_margin,
        variance_name(c.auc_variance)
    );
    s.push_str("| Quantity | Method | Patients of the class | Patients |\n|---|---|---:|---:|\n");
    let _ = writeln!(
        s,
        "| Sensitivity {} ± {} | Buderer (1996) | {} diseased | **{}** |",
        pct(c.sensitivity),
        pct(c.margin),
        thousands(a.sensitivity.cases),
        thousands(a.sensitivity.total)
    );
    let _ = writeln!(
        s,
        "| Specificity {} ± {} | Buderer (1996) | {} non-diseased | {} |",
        pct(c.specificity),
        pct(c.margin),
        thousands(a.specificity.cases),
        thousands(a.specificity.total)
    );
    let _ = writeln!(
        s,
        "| Both | larger of the two | | {} |",
        thousands(a.validation_patients)
    );
    let _ = writeln!(
        s,
        "| Sensitivity {} vs {}, power {} | Hajian-Tilaki (2014) eq. 5 | {} diseased | {} |",
        pct(c.null_sensitivity),
        pct(c.sensitivity),
        pct(c.power),
        thousands(a.sensitivity_test.cases),
        thousands(a.sensitivity_test.total)
    );
    let _ = writeln!(
        s,
        "| AUC {} ± {} | {} | {} diseased, {} non-diseased | {} |",
        c.auc,
        c.auc_margin,
        variance_name(c.auc_variance),
        thousands(a.auc.n_pos),
        thousands(a.auc.n_neg),
        thousands(a.auc.total)
    );
    let p = &a.paper;
    let _ = writeln!(
        s,
        "\nThe paper reports **N = {}**; the sensitivity size here is {} ({:+}).\n",
        thousands(a.reported_n),
        thousands(a.sensitivity.total),
        a.difference_from_reported
    );
    s.push_str(
        "Readings of the paper's sentence (sensitivity 80% ± 5%, α = β = 5%), from \
         `cxr_stats::design::paper_power_sampling`: no standard formula gives exactly \
         1,314.\n\n| Reading | Patients |\n|---|---:|\n",
    );
    for (name, n) in [
        (
            "Buderer, prevalence 18.9% (printed)",
            p.buderer_rounded_prevalence.total,
        ),
        (
            "Buderer, prevalence 3,156/16,665",
            p.buderer_exact_prevalence.total,
        ),
        (
            "Buderer, validation prevalence 1,568/8,334",
            p.buderer_validation_prevalence.total,
        ),
        ("Test 80% vs 90%, power 95%", p.power_80_vs_90.total),
        ("Test 70% vs 80%, power 95%", p.power_70_vs_80.total),
    ] {
        let _ = writeln!(s, "| {name} | {} |", thousands(n));
    }
    let _ = writeln!(
        s,
        "\nBuderer's formula gives exactly {} at a prevalence of {:.3}%.\n",
        thousands(p.reported),
        100.0 * p.prevalence_for_reported
    );
    s.push_str("## Patients needed for the sensitivity (Buderer) by margin and prevalence\n\n");
    s.push_str("| Margin |");
    for &prev in &c.prevalences {
        let _ = write!(s, " prevalence {} |", pct(prev));
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(c.prevalences.len()));
    s.push('\n');
    for &margin in &c.margins {
        let _ = write!(s, "| ±{} |", pct(margin));
        for cell in a.grid.iter().filter(|g| g.margin == margin) {
            let _ = write!(s, " {} |", thousands(cell.sensitivity));
        }
        s.push('\n');
    }
    s
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 90, 200),
    RGBColor(210, 40, 40),
    RGBColor(40, 150, 70),
    RGBColor(230, 140, 20),
    RGBColor(130, 70, 180),
    RGBColor(20, 160, 170),
];

/// `power.png`: patients needed for the sensitivity (Buderer) against the margin, one
/// line per prevalence, and the paper's N as a black line.
///
/// # Errors
/// [`crate::Error::Plot`], [`crate::Error::Encode`] or [`crate::Error::Font`] from the
/// plot.
pub fn plot(a: &PowerAnalysis) -> Result<Vec<u8>> {
    let c = &a.config;
    let mut series: Vec<Series> = c
        .prevalences
        .iter()
        .enumerate()
        .map(|(i, &prev)| Series {
            name: format!("prevalence {}", pct(prev)),
            color: PALETTE[i % PALETTE.len()],
            points: a
                .grid
                .iter()
                .filter(|g| g.prevalence == prev)
                .map(|g| (100.0 * g.margin, g.sensitivity as f64))
                .collect(),
        })
        .collect();
    let lo = c.margins.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = c.margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    series.push(Series {
        name: format!("paper: N = {}", thousands(a.reported_n)),
        color: RGBColor(0, 0, 0),
        points: vec![
            (100.0 * lo, a.reported_n as f64),
            (100.0 * hi, a.reported_n as f64),
        ],
    });
    lines_png(
        &format!(
            "Validation patients for sensitivity {} (Buderer, {:.0}% CI)",
            pct(c.sensitivity),
            100.0 * (1.0 - c.alpha)
        ),
        "margin, half-width of the interval (%)",
        "patients needed",
        &series,
        (900, 650),
    )
}

/// Writes [`FILES`] into `dir` (created if needed): `power.json` (the
/// [`PowerAnalysis`]), `power.md` ([`markdown`]) and `power.png` ([`plot`]). Everything
/// is rendered before anything is written; each file is written atomically. Returns the
/// paths written.
///
/// # Errors
/// As [`plot`]; [`crate::Error::JsonFile`] or [`crate::Error::Write`] from writing.
pub fn write(dir: &Path, a: &PowerAnalysis) -> Result<Vec<PathBuf>> {
    let png = plot(a)?;
    super::write_json_md_png(dir, FILES, a, &markdown(a), &png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_analysis::power::{PowerConfig, power_analysis};

    #[test]
    fn markdown_and_files() {
        assert_eq!(thousands(1314), "1,314");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        let a = power_analysis(&PowerConfig::default()).unwrap();
        let md = markdown(&a);
        assert!(
            md.contains("| Sensitivity 80% ± 5% | Buderer (1996) | 246 diseased | **1,301** |"),
            "{md}"
        );
        assert!(md.contains("**N = 1,314**"));
        assert!(
            md.contains("| ±5% | 2,459 | 1,782 | 1,301 | 820 | 492 |"),
            "{md}"
        );
        let dir = tempfile::tempdir().unwrap();
        let paths = write(dir.path(), &a).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(json["sensitivity"]["total"], 1301);
        assert_eq!(json["config"]["reported_n"], 1314);
        let png = image::open(&paths[2]).unwrap();
        assert_eq!((png.width(), png.height()), (900, 650));
    }
}
