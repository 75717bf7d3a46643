//! `report.md`: the paper's Table 3 (detection results at the operating point) and
//! Figure 3 (confusion matrix, ROC curves) as markdown.
//!
//! Where the paper writes `91.8 % +0.5 %`, the report gives the interval itself:
//! `91.8 % [91.3, 92.3]`, with the method stated once under the table.

use std::fmt::Write as _;

use cxr_core::Label;
use cxr_eval::CALIBRATION_BINS;
use cxr_eval::evaluate::{ClassMetrics, Evaluation};

use crate::plot::class_name;

/// A share as a percentage with one decimal (`12.3 %`), `n/a` when undefined.
pub(crate) fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1} %", 100.0 * v)
    } else {
        "n/a".to_owned()
    }
}

fn pct_ci(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("[{:.1}, {:.1}]", 100.0 * lo, 100.0 * hi),
        None => "[n/a]".to_owned(),
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else if v == f64::INFINITY {
        "∞".to_owned()
    } else {
        "n/a".to_owned()
    }
}

fn num_ci(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("[{lo:.2}, {hi:.2}]"),
        None => "[n/a]".to_owned(),
    }
}

fn auc_ci(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("[{lo:.4}, {hi:.4}]"),
        None => "[n/a]".to_owned(),
    }
}

/// A cut-off: `∞` where no finite one is best (every unit called negative).
fn cutoff(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        num(v)
    }
}

/// What one unit is, in words.
fn grouping_name(g: cxr_eval::Grouping) -> &'static str {
    match g {
        cxr_eval::Grouping::PatientDay => "one per patient and day",
        cxr_eval::Grouping::Patient => "one per patient",
        cxr_eval::Grouping::Image => "one per image",
    }
}

/// Why Table 3 and the ROC table have no row: no class had units on both sides.
const NO_CLASS_ROWS: &str = "No class has units on both sides (some of that class and \
    some of the others), so no one-vs-rest metric is defined: the predictions hold one \
    class only.";

fn frac(k: u64, n: u64, v: f64, ci: Option<[f64; 2]>) -> String {
    format!("{k}/{n} ({} {})", pct(v), pct_ci(ci))
}

fn table3_row(name: &str, m: &ClassMetrics) -> String {
    let n = m.tp + m.fp + m.tn + m.fn_;
    format!(
        "| {name} | {} | {} {} | {} {} | {} | {} | {} | {} | {} {} | {} {} | {} |",
        frac(m.tp + m.tn, n, m.accuracy, m.accuracy_ci95),
        pct(m.f1),
        pct_ci(m.f1_ci95),
        pct(m.auc),
        pct_ci(m.auc_ci95),
        frac(m.tp, m.tp + m.fn_, m.detection_rate, m.detection_rate_ci95),
        frac(m.fp, m.fp + m.tn, m.fpr, m.fpr_ci95),
        frac(m.tp, m.tp + m.fp, m.ppv, m.ppv_ci95),
        frac(m.tn, m.tn + m.fn_, m.npv, m.npv_ci95),
        num(m.lr_pos),
        num_ci(m.lr_pos_ci95),
        num(m.lr_neg),
        num_ci(m.lr_neg_ci95),
        cutoff(m.cutoff),
    )
}

/// A few lines for a terminal: units, accuracy, and per class the AUC with its DeLong
/// interval and the operating point (what `evaluate` prints; `report.md` has it all).
pub fn summary(eval: &Evaluation) -> String {
    let mut s = format!(
        "{} units ({}) from {} patients, {} images: global accuracy {} {}, average class \
         accuracy {} (SD {})",
        eval.n_units,
        grouping_name(eval.grouping),
        eval.n_patients,
        eval.n_images,
        pct(eval.global_accuracy),
        pct_ci(eval.global_accuracy_ci95),
        pct(eval.mean_class_accuracy),
        pct(eval.class_accuracy_sd),
    );
    let mut any = false;
    for label in [Label::Covid, Label::Bacterial, Label::Healthy] {
        let Some(m) = eval.per_class.get(label) else {
            continue;
        };
        any = true;
        let _ = write!(
            s,
            "\n{:>19}: AUC {:.4} {}, cut-off {}: detection {}/{} ({}), FPR {}, PPV {}, NPV {}",
            class_name(label),
            m.auc,
            auc_ci(m.auc_ci95),
            cutoff(m.cutoff),
            m.tp,
            m.tp + m.fn_,
            pct(m.detection_rate),
            pct(m.fpr),
            pct(m.ppv),
            pct(m.npv),
        );
    }
    if !any {
        let _ = write!(s, "\n{NO_CLASS_ROWS}");
    }
    s
}

/// Renders the whole report. Its figures are linked as `<dir><name>` with the names of
/// [`crate::evaluate`] (`dir` = `""` for a report next to them, `"evaluation/"` from a
/// run's page).
pub fn report(eval: &Evaluation, dir: &str) -> String {
    use crate::evaluate::{CONFUSION_PNG, DECISION_CURVE_PNG, RELIABILITY_PNG, ROC_PNG};
    let (roc_png, confusion_png) = (format!("{dir}{ROC_PNG}"), format!("{dir}{CONFUSION_PNG}"));
    let mut s = String::new();
    let level = format!("{:.0} %", 100.0 * eval.level);
    let prevalence = |l: Label| {
        eval.per_class
            .get(l)
            .as_ref()
            .map_or("n/a".to_owned(), |m| pct(m.prevalence))
    };
    let _ = writeln!(s, "# Evaluation report\n");
    let _ = writeln!(
        s,
        "N = {} units ({}) from {} patients and {} images; covid-19 prevalence {}, \
         bacterial pneumonia prevalence {}.\n",
        eval.n_units,
        grouping_name(eval.grouping),
        eval.n_patients,
        eval.n_images,
        prevalence(Label::Covid),
        prevalence(Label::Bacterial),
    );
    if eval.undated_images > 0 {
        let _ = writeln!(
            s,
            "{} image(s) have no study date: each is a unit of its own (it cannot be \
             averaged with images of the same day).\n",
            eval.undated_images
        );
    }
    if !eval.label_conflicts.is_empty() {
        let _ = writeln!(
            s,
            "{} unit(s) left out because their images carry different labels:\n",
            eval.label_conflicts.len()
        );
        for c in &eval.label_conflicts {
            let labels: Vec<&str> = c.labels.iter().map(|l| l.as_str()).collect();
            let _ = writeln!(
                s,
                "- `{}`: {} images, labelled {}",
                c.unit,
                c.n_images,
                labels.join(" and ")
            );
        }
        s.push('\n');
    }
    let criterion = eval
        .per_class
        .covid
        .as_ref()
        .or(eval.per_class.bacterial.as_ref())
        .map_or("max_accuracy", |m| m.criterion.as_str());
    let _ = writeln!(
        s,
        "## Table 3. Detection results at the `{criterion}` cut-off\n"
    );
    let _ = writeln!(
        s,
        "| Disease | Accuracy | F1 Score | AUC | Detection Rate | False Positive Rate | PPV | NPV | LR+ | LR− | Cut-off |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = 0;
    for label in [Label::Covid, Label::Bacterial, Label::Healthy] {
        if let Some(m) = eval.per_class.get(label) {
            let _ = writeln!(s, "{}", table3_row(class_name(label), m));
            rows += 1;
        }
    }
    if rows == 0 {
        let _ = writeln!(s, "\n{NO_CLASS_ROWS}");
    }
    let _ = writeln!(
        s,
        "\n{level} intervals in brackets: Wilson for proportions, DeLong for the AUC, log \
         method for LR+ and LR−, {} for F1 ({} rounds, seed {}, patients resampled within \
         each class, cut-off {} in each round). The paper used 10 bootstrap rounds.\n",
        match eval.bootstrap.method {
            cxr_stats::IntervalMethod::Percentile => "percentile bootstrap",
            cxr_stats::IntervalMethod::Bca => "BCa bootstrap",
        },
        eval.bootstrap.rounds,
        eval.bootstrap.seed,
        if eval.bootstrap.refit_cutoff {
            "re-selected"
        } else {
            "fixed"
        },
    );

    let _ = writeln!(s, "## Figure 3. (a) Confusion matrix\n");
    let _ = writeln!(s, "![Confusion matrix]({confusion_png})\n");
    let _ = writeln!(
        s,
        "| Truth \\ Prediction | Healthy | Covid-19 | Bacterial pneumonia | Class accuracy |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (t, row) in eval.confusion_matrix.counts.iter().enumerate() {
        let label = Label::from_index(t).unwrap_or(Label::Healthy);
        let cells: Vec<String> = row.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            class_name(label),
            cells.join(" | "),
            pct(*eval.class_accuracy.get(label))
        );
    }
    let _ = writeln!(
        s,
        "\nGlobal accuracy {} {}; average class accuracy {} {} (SD {}).\n",
        pct(eval.global_accuracy),
        pct_ci(eval.global_accuracy_ci95),
        pct(eval.mean_class_accuracy),
        pct_ci(eval.mean_class_accuracy_ci95),
        pct(eval.class_accuracy_sd),
    );

    let _ = writeln!(s, "## Figure 3. (b) ROC curves (one-vs-rest)\n");
    let _ = writeln!(s, "![ROC curves]({roc_png})\n");
    let _ = writeln!(
        s,
        "| Class | AUC | DeLong {level} CI | Bootstrap {level} CI | Cut-off | Youden cut-off | Closest-top-left cut-off |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for label in [Label::Covid, Label::Bacterial, Label::Healthy] {
        let Some(m) = eval.per_class.get(label) else {
            continue;
        };
        let alt = |name: &str| {
            m.alternative_points
                .iter()
                .find(|p| p.criterion == name)
                .map_or("n/a".to_owned(), |p| {
                    format!(
                        "{:.4} (DR {}, FPR {})",
                        p.cutoff,
                        pct(p.detection_rate),
                        pct(p.fpr)
                    )
                })
        };
        let _ = writeln!(
            s,
            "| {} | {:.4} | {} | {} | {} | {} | {} |",
            class_name(label),
            m.auc,
            auc_ci(m.auc_ci95),
            auc_ci(m.auc_bootstrap_ci95),
            cutoff(m.cutoff),
            alt("youden"),
            alt("closest_topleft"),
        );
    }
    s.push_str(&calibration(
        eval,
        &format!("{dir}{RELIABILITY_PNG}"),
        &format!("{dir}{DECISION_CURVE_PNG}"),
    ));
    s
}

/// The calibration section: per class Brier score, ECE with equal-width and equal-count
/// bins, MCE and the net benefit at a few thresholds against treating everyone.
pub fn calibration(eval: &Evaluation, reliability_png: &str, decision_png: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Calibration (do the probabilities mean what they say?)\n"
    );
    let _ = writeln!(
        s,
        "On the units, one class against the rest. Brier score: mean squared difference \
         between probability and outcome (0 best). ECE: mean gap between predicted and \
         observed frequency over {CALIBRATION_BINS} bins (equal-width as scikit-learn's \
         `calibration_curve(strategy=\"uniform\")`, and equal-count); MCE: the largest \
         gap. Net benefit (decision curve): true positives minus false positives weighted \
         by the odds of the threshold, per patient, against treating everyone.\n"
    );
    let _ = writeln!(
        s,
        "| Class | Brier | ECE (equal-width) | ECE (equal-count) | MCE | Net benefit at 10 % (treat all) | at 30 % | at 50 % |\n|---|---|---|---|---|---|---|---|"
    );
    for (label, c) in crate::plot::calibrations(eval) {
        let nb = |t: f64| {
            c.decision_curve
                .iter()
                .find(|p| (p.threshold - t).abs() < 1e-9)
                .map_or("n/a".to_owned(), |p| {
                    format!("{:.3} ({:.3})", p.model, p.treat_all)
                })
        };
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} | {} |",
            class_name(label),
            c.brier,
            c.reliability.ece,
            c.ece_equal_count,
            c.reliability.mce,
            nb(0.1),
            nb(0.3),
            nb(0.5),
        );
    }
    let _ = writeln!(
        s,
        "\n![Reliability diagram]({reliability_png})\n\n![Decision curves]({decision_png})"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(pct(0.9184), "91.8 %");
        assert_eq!(pct(f64::NAN), "n/a");
        assert_eq!(pct_ci(Some([0.913, 0.9231])), "[91.3, 92.3]");
        assert_eq!(num(f64::INFINITY), "∞");
        assert_eq!(
            frac(1440, 1568, 1440.0 / 1568.0, None),
            "1440/1568 (91.8 % [n/a])"
        );
    }
}
