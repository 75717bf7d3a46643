//! Two models compared, rendered: the [`Comparison`] of `cxr-analysis` as `compare.md`
//! ([`markdown`]), `compare.png` ([`plot`]) and the files [`write()`] writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_analysis::compare::Comparison;
use cxr_core::Label;
use cxr_eval::aggregate::Grouping;
use cxr_stats::agreement::Kappa;

use super::text::{ci_text, p_eq, p_text};
use crate::Result;
use crate::plot::{Legend, Series, class_color, class_name, lighter, lines_png_with_legend};

/// File names written by [`write()`].
pub const FILES: [&str; 3] = ["compare.json", "compare.md", "compare.png"];

fn kappa_text(k: &Option<Kappa>) -> String {
    k.as_ref().map_or("-".into(), |k| {
        format!("{:.3} ({:.3}–{:.3})", k.kappa, k.ci[0], k.ci[1])
    })
}

fn grouping_name(g: Grouping) -> &'static str {
    match g {
        Grouping::PatientDay => "patient-days (images of one patient and day averaged)",
        Grouping::Patient => "patients (all of a patient's images averaged)",
        Grouping::Image => "images",
    }
}

/// `compare.md`: the units, accuracy with McNemar's test, agreement, and the per-class
/// AUCs with the paired DeLong test.
pub fn markdown(c: &Comparison) -> String {
    let [n1, n2] = &c.models;
    let lv = format!("{:.0}%", 100.0 * c.options.level);
    let mut s = format!("# `{n1}` against `{n2}` on the same units\n\n");
    let _ = writeln!(
        s,
        "N = {} {} of {} patients, from the {} images both models scored.",
        c.units,
        grouping_name(c.options.grouping),
        c.patients,
        c.images
    );
    if c.only_first + c.only_second > 0 {
        let _ = writeln!(
            s,
            "\n**Left out:** {} image(s) only `{n1}` scored and {} only `{n2}` scored.",
            c.only_first, c.only_second
        );
    }
    let _ = writeln!(
        s,
        "\nUnits per class: healthy {}, covid-19 {}, bacterial pneumonia {}.\n",
        c.class_counts.healthy, c.class_counts.covid, c.class_counts.bacterial
    );
    let _ = writeln!(
        s,
        "## Accuracy (arg-max of the three classes)\n\n| Model | Correct | Accuracy ({lv} CI) | Cohen's κ against the truth ({lv} CI) |\n|---|---|---|---|"
    );
    for (name, a) in c.models.iter().zip(&c.accuracy) {
        let _ = writeln!(
            s,
            "| `{name}` | {}/{} | {:.1}% ({}) | {} |",
            a.correct,
            c.units,
            100.0 * a.accuracy,
            ci_text(Some(a.ci)),
            kappa_text(&a.kappa)
        );
    }
    let m = &c.mcnemar;
    let _ = writeln!(
        s,
        "\nBoth right: {}; both wrong: {}; only `{n1}` right: {}; only `{n2}` right: {}.\n\
         McNemar's test: exact {}; χ² with continuity correction {} ({}).\n",
        c.both_right,
        c.both_wrong,
        m.b,
        m.c,
        p_eq(m.exact_p_value),
        m.chi2.map_or("-".into(), |x| format!("{x:.3}")),
        m.chi2_p_value.map_or("-".into(), p_eq)
    );
    let _ = writeln!(
        s,
        "Agreement between the two models' predicted classes: Cohen's κ = {}.\n",
        kappa_text(&c.agreement)
    );
    let _ = writeln!(
        s,
        "## AUC per class (one vs rest), paired DeLong test\n\n| Class | Positives / negatives | AUC `{n1}` ({lv} CI) | AUC `{n2}` ({lv} CI) | Difference ({lv} CI) | z | p |\n|---|---|---|---|---|---|---|"
    );
    for &label in Label::ALL {
        let name = class_name(label);
        match c.per_class.get(label) {
            None => {
                let _ = writeln!(s, "| {name} | too few units | - | - | - | - | - |");
            }
            Some(x) => {
                let auc = |i: usize| {
                    format!(
                        "{:.4} ({:.4}–{:.4})",
                        x.auc[i], x.auc_ci[i][0], x.auc_ci[i][1]
                    )
                };
                let d = &x.delong;
                let _ = writeln!(
                    s,
                    "| {name} | {} / {} | {} | {} | {:+.4} ({:+.4} to {:+.4}) | {:.2} | {} |",
                    x.positives,
                    x.negatives,
                    auc(0),
                    auc(1),
                    d.auc1 - d.auc2,
                    d.ci_diff[0],
                    d.ci_diff[1],
                    d.z,
                    p_text(Some(d.p_value))
                );
            }
        }
    }
    s.push_str(
        "\nThe tests treat units as independent. Differences are first model minus second.\n\n\
         ![ROC curves of both models](compare.png)\n",
    );
    s
}

/// A lighter shade of `c` for the second model's curves.
/// `compare.png`: one-vs-rest ROC curves of both models, a colour per class, the second
/// model in a lighter shade.
///
/// # Errors
/// [`crate::Error::Plot`], [`crate::Error::Encode`] or [`crate::Error::Font`] from the
/// plot.
pub fn plot(c: &Comparison) -> Result<Vec<u8>> {
    let mut series = Vec::new();
    for &label in Label::ALL {
        let Some(x) = c.per_class.get(label) else {
            continue;
        };
        for (i, color) in [class_color(label), lighter(class_color(label))]
            .into_iter()
            .enumerate()
        {
            series.push(Series {
                name: format!(
                    "{} · {} (AUC {:.3})",
                    class_name(label),
                    c.models[i],
                    x.auc[i]
                ),
                color,
                points: x.roc[i].fprs().into_iter().zip(x.roc[i].tprs()).collect(),
            });
        }
    }
    lines_png_with_legend(
        &format!("ROC, one vs rest: {} against {}", c.models[0], c.models[1]),
        "false positive rate",
        "true positive rate",
        &series,
        (900, 800),
        Legend::LowerRight,
    )
}

/// Writes [`FILES`] into `dir` (created if needed): `compare.json` (the
/// [`Comparison`]), `compare.md` ([`markdown`]) and `compare.png` ([`plot`]). Everything
/// is rendered before anything is written; each file is written atomically. Returns the
/// paths written.
///
/// # Errors
/// As [`plot`]; [`crate::Error::JsonFile`] or [`crate::Error::Write`] from writing.
pub fn write(dir: &Path, c: &Comparison) -> Result<Vec<PathBuf>> {
    let png = plot(c)?;
    super::write_json_md_png(dir, FILES, c, &markdown(c), &png)
}
