//! Supplementary Table 1 rendered: the [`ErrorAnalysis`] of `cxr-analysis` as
//! `error_analysis.md` ([`markdown`]), `errors_by_source.png` ([`source_plot`]) and the
//! files [`write()`] writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_analysis::error_analysis::{CategoryTest, ErrorAnalysis, GroupSummary};
use cxr_core::{Label, SourceId};
use cxr_stats::hypothesis::TTest;

use super::text::{ci_text, p_eq, p_text};
use crate::Result;
use crate::plot::{Bar, RGBColor, bars_png, class_name};

/// File names written by [`write()`].
pub const FILES: [&str; 3] = [
    "error_analysis.json",
    "error_analysis.md",
    "errors_by_source.png",
];

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "-".into()
    }
}

fn rate_table(s: &mut String, what: &str, t: &CategoryTest, name: impl Fn(&str) -> String) {
    let _ = writeln!(
        s,
        "| {what} | Units | Errors | Error rate | 95% CI (Wilson) |\n|---|---:|---:|---:|---|"
    );
    for r in &t.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            name(&r.category),
            r.units,
            r.errors,
            pct(r.rate),
            ci_text(r.ci95)
        );
    }
    let _ = match &t.chi2 {
        Some(c) => write!(
            s,
            "\nChi-square test of independence{}: X² = {:.2}, df = {}, {}.",
            if c.yates { " (Yates' correction)" } else { "" },
            c.statistic,
            c.df,
            p_eq(c.p_value)
        ),
        None => write!(s, "\nChi-square test of independence: undefined here."),
    };
    let small = t.chi2.as_ref().map_or((0, 0), |c| {
        let expected = || c.expected.iter().flatten();
        (expected().filter(|&&e| e < 5.0).count(), expected().count())
    });
    if small.0 > 0 {
        let _ = write!(
            s,
            " {} of {} expected counts are below 5, where the chi-square approximation is \
             unreliable{}",
            small.0,
            small.1,
            if t.fisher.is_some() { ";" } else { "." }
        );
    }
    if let Some(f) = &t.fisher {
        let _ = write!(s, " Fisher's exact test: {}.", p_eq(f.p_value));
    }
    s.push_str("\n\n");
}

fn source_name(id: &str) -> String {
    id.parse::<SourceId>()
        .map_or_else(|_| id.to_owned(), |s| s.display_name().to_owned())
}

fn class_display(id: &str) -> String {
    id.parse::<Label>()
        .map_or_else(|_| id.to_owned(), |l| class_name(l).to_owned())
}

/// The analysis as markdown: a table laid out like the paper's Table 2 (misclassified
/// against correctly classified units), then error rates by source, class, age band and
/// sex.
pub fn markdown(a: &ErrorAnalysis) -> String {
    let mut s = String::from("# Error analysis (Supplementary Table 1)\n\n");
    let _ = writeln!(
        s,
        "{} units (patient-days, probabilities averaged over same-day images) of {} patients; \
         {} misclassified (arg-max ≠ label): error rate {} (95% CI {}).",
        a.units,
        a.patients,
        a.errors,
        pct(a.error_rate),
        ci_text(a.error_rate_ci95)
    );
    if a.unmatched_predictions > 0 {
        let _ = writeln!(
            s,
            "\n{} of {} image predictions had no record in the cohort and were left out \
             (e.g. {}).",
            a.unmatched_predictions,
            a.predictions,
            a.unmatched_examples.join(", ")
        );
    }
    if a.label_mismatches > 0 {
        let _ = writeln!(
            s,
            "\n{} predictions carry a label different from their record's; the prediction's \
             label was used.",
            a.label_mismatches
        );
    }
    let age = |g: &GroupSummary| match (g.age_mean, g.age_sd) {
        (Some(m), Some(sd)) => format!("{m:.1} (±{sd:.1}), n = {}", g.age_known),
        _ => "-".into(),
    };
    let male = |g: &GroupSummary| {
        format!(
            "{}/{} ({})",
            g.male,
            g.sex_known,
            pct(g.male as f64 / g.sex_known as f64)
        )
    };
    let p_of = |t: &Option<TTest>| p_text(t.as_ref().map(|t| t.p_value));
    s.push_str(
        "\n| Variable | Misclassified | Correctly classified | p-value |\n|---|---|---|---|\n",
    );
    let _ = writeln!(
        s,
        "| Units (patients) | {} ({}) | {} ({}) | |",
        a.misclassified.units, a.misclassified.patients, a.correct.units, a.correct.patients
    );
    let _ = writeln!(
        s,
        "| Age (years), mean (±SD) | {} | {} | {} (Student t-test), {} (Welch) |",
        age(&a.misclassified),
        age(&a.correct),
        p_of(&a.age.student),
        p_of(&a.age.welch)
    );
    let _ = writeln!(
        s,
        "| Male | {} | {} | {} (t-test), {} (chi-square, Yates), {} (Fisher) |",
        male(&a.misclassified),
        male(&a.correct),
        p_of(&a.sex.male_t_test),
        p_text(a.sex.chi2_yates.as_ref().map(|c| c.p_value)),
        p_text(a.sex.fisher.as_ref().map(|f| f.p_value))
    );
    let miss = |g: &GroupSummary| {
        format!(
            "age {}, sex {}",
            g.units - g.age_known,
            g.units - g.sex_known
        )
    };
    let _ = writeln!(
        s,
        "| Missing | {} | {} | {} (Little's MCAR) |",
        miss(&a.misclassified),
        miss(&a.correct),
        p_text(a.missing.little_mcar.as_ref().map(|l| l.p_value))
    );
    if let Some(pooled) = &a.missing.age_student_imputed {
        let _ = writeln!(
            s,
            "| Age difference after multiple imputation (m = {}) | {:+.1} years | | {} |",
            a.missing.imputations,
            pooled.estimate,
            p_text(Some(pooled.p_value))
        );
    }
    s.push_str("\n## Error rate by source\n\n");
    rate_table(&mut s, "Source", &a.by_source, source_name);
    s.push_str("## Error rate by true class\n\n");
    rate_table(&mut s, "Class", &a.by_class, class_display);
    s.push_str("## Error rate by age band (years)\n\n");
    rate_table(&mut s, "Age", &a.by_age_band, str::to_owned);
    s.push_str("## Error rate by sex\n\n");
    rate_table(
        &mut s,
        "Sex",
        &CategoryTest {
            rows: a.sex.rates.clone(),
            chi2: a.sex.chi2_yates.clone(),
            fisher: a.sex.fisher.clone(),
        },
        str::to_owned,
    );
    s
}

/// A colour per source, stable across plots.
fn source_color(id: &str) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 90, 200),
        RGBColor(210, 40, 40),
        RGBColor(40, 150, 70),
        RGBColor(230, 140, 20),
        RGBColor(130, 70, 180),
        RGBColor(20, 160, 170),
        RGBColor(190, 80, 140),
        RGBColor(120, 120, 120),
    ];
    // The adapters' sources keep their colours; a user source gets the grey.
    let i = id
        .parse::<SourceId>()
        .map_or(PALETTE.len() - 1, |s| s.rank().min(PALETTE.len() - 1));
    PALETTE[i]
}

/// `errors_by_source.png`: error rate per source (%) with Wilson intervals and the
/// overall rate as a dashed line.
///
/// # Errors
/// [`crate::Error::Plot`], [`crate::Error::Encode`] or [`crate::Error::Font`] from the
/// plot.
pub fn source_plot(a: &ErrorAnalysis) -> Result<Vec<u8>> {
    let bars: Vec<Bar> = a
        .by_source
        .rows
        .iter()
        .map(|r| Bar {
            name: format!("{} (n = {})", source_name(&r.category), r.units),
            value: 100.0 * r.rate,
            interval: r.ci95.map(|[lo, hi]| [100.0 * lo, 100.0 * hi]),
            color: source_color(&r.category),
        })
        .collect();
    let overall = format!("all sources ({:.1}%)", 100.0 * a.error_rate);
    let title = match &a.by_source.chi2 {
        Some(c) => format!(
            "Misclassified patient-days by source (chi-square {})",
            p_eq(c.p_value)
        ),
        None => "Misclassified patient-days by source".to_owned(),
    };
    let height = (160 + 60 * bars.len() as u32).clamp(300, 900);
    bars_png(
        &title,
        "error rate (%), 95% Wilson interval",
        &bars,
        Some((&overall, 100.0 * a.error_rate)),
        (1000, height),
    )
}

/// Writes [`FILES`] into `dir` (created if needed): `error_analysis.json` (the
/// [`ErrorAnalysis`]), `error_analysis.md` ([`markdown`]) and `errors_by_source.png`
/// ([`source_plot`]). Everything is rendered before anything is written; each file is
/// written atomically. Returns the paths written.
///
/// # Errors
/// As [`source_plot`]; [`crate::Error::JsonFile`] or [`crate::Error::Write`] from writing.
pub fn write(dir: &Path, a: &ErrorAnalysis) -> Result<Vec<PathBuf>> {
    let png = source_plot(a)?;
    super::write_json_md_png(dir, FILES, a, &markdown(a), &png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_analysis::error_analysis::error_analysis;
    use cxr_analysis::fixtures::error_analysis::{with_missing, with_user_source};

    /// One error in 176 units over two sources (the real-radiograph run): the expected
    /// error counts are 0.69 and 0.31, where the chi-square approximation fails, and the
    /// page says so and gives Fisher's exact test. Its p by hand: with margins (122, 54)
    /// and one error, the observed table (the error in the second source) has probability
    /// 54/176 and the other 122/176 is more likely, so p = 54/176 = 0.307.
    #[test]
    fn few_errors_in_a_two_by_two_table_get_fishers_exact_test() {
        use cxr_stats::hypothesis::{chi2_contingency, fisher_exact};
        let table = [[0u64, 122], [1, 53]];
        let t = CategoryTest {
            rows: vec![],
            chi2: chi2_contingency(&table, false).ok(),
            fisher: fisher_exact(table).ok(),
        };
        let mut s = String::new();
        rate_table(&mut s, "Source", &t, str::to_owned);
        assert!(
            s.contains(
                "X² = 2.27, df = 1, p = 0.132. 2 of 4 expected counts are below 5, where the \
                 chi-square approximation is unreliable; Fisher's exact test: p = 0.307.\n"
            ),
            "{s}"
        );
        assert!((t.fisher.unwrap().p_value - 54.0 / 176.0).abs() < 1e-12);
    }

    /// A source of the user's own is a row of the per-source table, after the adapters'
    /// (its numbers: `cxr-analysis`'s `a_user_source_gets_its_row_after_the_adapters`).
    #[test]
    fn a_user_source_gets_its_markdown_row() {
        let (records, preds) = with_user_source();
        let a = error_analysis(&records, &preds, 1).unwrap();
        assert!(markdown(&a).contains("my-hospital"));
    }

    #[test]
    fn markdown_and_files_hold_the_numbers() {
        let (records, preds) = with_missing();
        let a = error_analysis(&records, &preds, 3).unwrap();
        let md = markdown(&a);
        assert!(
            md.contains("| Units (patients) | 10 (10) | 30 (30) | |"),
            "{md}"
        );
        assert!(md.contains("| PadChest | 40 | 10 | 25.0% |"), "{md}");
        assert!(md.contains("Little's MCAR"));
        let dir = tempfile::tempdir().unwrap();
        let paths = write(dir.path(), &a).unwrap();
        assert_eq!(paths.len(), 3);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(json["errors"], 10);
        assert_eq!(json["by_source"]["rows"][0]["category"], "padchest");
        let png = image::open(&paths[2]).unwrap().to_rgb8();
        // One bar, 25% of an axis that ends past its interval's upper bound.
        let RGBColor(r, g, b) = source_color("padchest");
        let bar = png.pixels().filter(|p| p.0 == [r, g, b]).count();
        assert!(bar > 1000, "no PadChest bar ({bar} pixels)");
    }
}
