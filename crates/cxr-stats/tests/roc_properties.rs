//! Property tests of the ROC / AUC / cutoff / DeLong machinery.

use cxr_stats::cutoff::{Criterion, select};
use cxr_stats::delong::delong;
use cxr_stats::diagnostic::{ConfusionCounts, Diagnostics};
use cxr_stats::roc::{RankedScores, mann_whitney_u, roc_auc, roc_curve};
use proptest::prelude::*;

/// Scores on a coarse grid (many ties) with both classes present.
fn binary_problem() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
    prop::collection::vec((0u8..12, any::<bool>()), 2..80)
        .prop_map(|v| {
            let s = v
                .iter()
                .map(|(x, _)| f64::from(*x) / 11.0)
                .collect::<Vec<_>>();
            let l = v.iter().map(|(_, b)| *b).collect::<Vec<_>>();
            (s, l)
        })
        .prop_filter("both classes", |(_, l)| {
            l.iter().any(|&b| b) && l.iter().any(|&b| !b)
        })
}

/// Brute-force pair count: P(pos > neg) + ½ P(pos = neg).
fn pairwise_auc(s: &[f64], l: &[bool]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..s.len() {
        for j in 0..s.len() {
            if l[i] && !l[j] {
                den += 1.0;
                if s[i] > s[j] {
                    num += 1.0;
                } else if s[i] == s[j] {
                    num += 0.5;
                }
            }
        }
    }
    num / den
}

proptest! {
    #[test]
    fn auc_is_mann_whitney((s, l) in binary_problem()) {
        let c = roc_curve(&s, &l).unwrap();
        let p = l.iter().filter(|&&b| b).count() as f64;
        let n = l.len() as f64 - p;
        let u = mann_whitney_u(&s, &l).unwrap();
        prop_assert!((c.auc() - u / (p * n)).abs() < 1e-12);
        prop_assert!((c.auc() - pairwise_auc(&s, &l)).abs() < 1e-12);
        prop_assert!((delong(&s, &l).map(|d| d.auc).unwrap_or(c.auc()) - c.auc()).abs() < 1e-12);
    }

    #[test]
    fn negated_scores_flip_auc((s, l) in binary_problem()) {
        let neg: Vec<f64> = s.iter().map(|x| -x).collect();
        let a = roc_auc(&s, &l).unwrap();
        let b = roc_auc(&neg, &l).unwrap();
        prop_assert!((a + b - 1.0).abs() < 1e-12);
    }

    #[test]
    fn flipped_labels_flip_auc((s, l) in binary_problem()) {
        let flipped: Vec<bool> = l.iter().map(|b| !b).collect();
        prop_assert!((roc_auc(&s, &l).unwrap() + roc_auc(&s, &flipped).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn curve_is_monotone_with_one_point_per_distinct_score((s, l) in binary_problem()) {
        let c = roc_curve(&s, &l).unwrap();
        let mut distinct = s.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        prop_assert_eq!(c.len(), distinct.len() + 1);
        prop_assert_eq!((c.tps[0], c.fps[0]), (0, 0));
        for i in 1..c.len() {
            prop_assert!(c.thresholds[i] < c.thresholds[i - 1]);
            prop_assert!(c.tps[i] >= c.tps[i - 1] && c.fps[i] >= c.fps[i - 1]);
            prop_assert!(c.tps[i] + c.fps[i] > c.tps[i - 1] + c.fps[i - 1]);
        }
        prop_assert_eq!(c.tpr(c.len() - 1), 1.0);
        prop_assert_eq!(c.fpr(c.len() - 1), 1.0);
    }

    #[test]
    fn cutoff_metrics_are_consistent_with_counts(
        (s, l) in binary_problem(),
        which in 0usize..7,
        rate in 0.0f64..=1.0,
    ) {
        let crit = [
            Criterion::MaxAccuracy,
            Criterion::Youden,
            Criterion::ClosestTopLeft,
            Criterion::WeightedYouden { cost: 0.5 + 4.0 * rate, prevalence: 0.3 },
            Criterion::WeightedClosestTopLeft { cost: 2.0, prevalence: 0.05 + 0.9 * rate },
            Criterion::FixedFpr { max_fpr: rate },
            Criterion::FixedSensitivity { min_sensitivity: rate },
        ][which];
        let c = roc_curve(&s, &l).unwrap();
        let op = select(&c, crit).unwrap();
        let direct = ConfusionCounts::at_threshold(&s, &l, op.threshold).unwrap();
        prop_assert_eq!(op.counts, direct);
        let k = op.counts;
        prop_assert_eq!(k.tp + k.fn_, c.positives());
        prop_assert_eq!(k.fp + k.tn, c.negatives());
        let d = Diagnostics::from_counts(k, 0.95).unwrap();
        prop_assert_eq!(d.detection_rate.value, k.tp as f64 / (k.tp + k.fn_) as f64);
        prop_assert_eq!(d.fpr.value, k.fp as f64 / (k.fp + k.tn) as f64);
        prop_assert!((d.fpr.value + d.specificity.value - 1.0).abs() < 1e-12);
        prop_assert_eq!(d.accuracy.value, (k.tp + k.tn) as f64 / l.len() as f64);
        for e in [d.detection_rate, d.fpr, d.specificity, d.ppv, d.npv, d.accuracy] {
            if let Some([lo, hi]) = e.ci {
                prop_assert!(lo <= e.value + 1e-12 && e.value <= hi + 1e-12 && lo >= 0.0 && hi <= 1.0);
            }
        }
        // The accuracy criterion really maximises accuracy over every curve point.
        if matches!(crit, Criterion::MaxAccuracy) {
            for i in 0..c.len() {
                prop_assert!(c.counts(i).accuracy() <= k.accuracy() + 1e-15);
            }
        }
        if let Criterion::FixedFpr { max_fpr } = crit {
            prop_assert!(k.fpr() <= max_fpr + 1e-12);
        }
        if let Criterion::FixedSensitivity { min_sensitivity } = crit {
            prop_assert!(k.sensitivity() >= min_sensitivity - 1e-12);
        }
    }

    #[test]
    fn weighted_sweep_equals_expanded_sample(
        (s, l) in binary_problem(),
        seed in any::<u64>(),
    ) {
        let w: Vec<u32> = (0..s.len()).map(|i| ((seed >> (i % 60)) & 3) as u32).collect();
        let (mut es, mut el) = (vec![], vec![]);
        for i in 0..s.len() {
            for _ in 0..w[i] {
                es.push(s[i]);
                el.push(l[i]);
            }
        }
        let ranked = RankedScores::new(&s).unwrap();
        match roc_curve(&es, &el) {
            Ok(expanded) => {
                let weighted = ranked.curve(&l, Some(&w)).unwrap();
                prop_assert!((weighted.auc() - expanded.auc()).abs() < 1e-12);
                let a = select(&weighted, Criterion::MaxAccuracy).unwrap();
                let b = select(&expanded, Criterion::MaxAccuracy).unwrap();
                prop_assert_eq!(a.counts, b.counts);
            }
            Err(_) => prop_assert!(ranked.curve(&l, Some(&w)).is_err()),
        }
    }
}
