//! Calibration against scikit-learn (fixture from `scripts/reference/stats_reference_b.py`).

use cxr_stats::Error;
use cxr_stats::calibration::{
    BinStrategy, MAX_GRID_POINTS, apply_temperature, brier_score, fit_temperature, net_benefit,
    reliability_diagram, temperature_nll, threshold_grid,
};
use serde_json::Value;

fn fixture() -> (Value, Vec<bool>, Vec<f64>) {
    let v: Value = serde_json::from_str(include_str!("reference/b_calibration.json")).unwrap();
    let y = v["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() == 1)
        .collect();
    let p = v["y_prob"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (v, y, p)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn brier_matches_sklearn() {
    let (v, y, p) = fixture();
    let b = brier_score(&y, &p).unwrap();
    assert!(close(b, v["brier"].as_f64().unwrap(), 1e-12), "{b}");
    // Perfect and worst predictions.
    assert_eq!(brier_score(&[true, false], &[1.0, 0.0]).unwrap(), 0.0);
    assert_eq!(brier_score(&[true, false], &[0.0, 1.0]).unwrap(), 1.0);
}

#[test]
fn reliability_matches_sklearn_calibration_curve() {
    let (v, y, p) = fixture();
    for c in v["reliability"].as_array().unwrap() {
        let strategy = match c["strategy"].as_str().unwrap() {
            "uniform" => BinStrategy::EqualWidth,
            _ => BinStrategy::EqualCount,
        };
        let k = c["n_bins"].as_u64().unwrap() as usize;
        let d = reliability_diagram(&y, &p, k, strategy).unwrap();
        assert_eq!(d.bins.len(), k);
        let edges: Vec<f64> = c["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_f64().unwrap())
            .collect();
        for (b, bin) in d.bins.iter().enumerate() {
            assert!(close(bin.lower, edges[b], 1e-12) && close(bin.upper, edges[b + 1], 1e-12));
            assert_eq!(
                bin.count as u64,
                c["counts"][b].as_u64().unwrap(),
                "{strategy:?} {k}"
            );
        }
        // sklearn drops empty bins.
        let nonempty: Vec<_> = d.bins.iter().filter(|b| b.count > 0).collect();
        let pt = c["prob_true"].as_array().unwrap();
        let pp = c["prob_pred"].as_array().unwrap();
        assert_eq!(nonempty.len(), pt.len());
        for (bin, (t, q)) in nonempty.iter().zip(pt.iter().zip(pp)) {
            assert!(close(
                bin.observed_frequency.unwrap(),
                t.as_f64().unwrap(),
                1e-12
            ));
            assert!(close(
                bin.mean_predicted.unwrap(),
                q.as_f64().unwrap(),
                1e-12
            ));
        }
        assert!(
            close(d.ece, c["ece"].as_f64().unwrap(), 1e-12),
            "ece {}",
            d.ece
        );
        assert!(
            close(d.mce, c["mce"].as_f64().unwrap(), 1e-12),
            "mce {}",
            d.mce
        );
        assert_eq!(d.bins.iter().map(|b| b.count).sum::<usize>(), y.len());
    }
}

#[test]
fn empty_bins_have_no_means() {
    let d = reliability_diagram(&[true, false], &[0.95, 0.05], 4, BinStrategy::EqualWidth).unwrap();
    assert_eq!(
        d.bins.iter().map(|b| b.count).collect::<Vec<_>>(),
        vec![1, 0, 0, 1]
    );
    assert_eq!(d.bins[1].mean_predicted, None);
    assert!((d.ece - 0.05).abs() < 1e-12 && (d.mce - 0.05).abs() < 1e-12);
    // A prediction on an inner edge goes to the lower bin (sklearn convention).
    let d = reliability_diagram(&[true], &[0.5], 2, BinStrategy::EqualWidth).unwrap();
    assert_eq!(d.bins[0].count, 1);
}

#[test]
fn net_benefit_matches_reference() {
    let (v, y, p) = fixture();
    let nb = v["net_benefit"].as_array().unwrap();
    let ts: Vec<f64> = nb
        .iter()
        .map(|c| c["threshold"].as_f64().unwrap())
        .collect();
    let got = net_benefit(&y, &p, &ts).unwrap();
    for (g, c) in got.iter().zip(nb) {
        assert!(close(g.model, c["model"].as_f64().unwrap(), 1e-12), "{g:?}");
        assert!(
            close(g.treat_all, c["treat_all"].as_f64().unwrap(), 1e-12),
            "{g:?}"
        );
        assert_eq!(g.treat_none, 0.0);
    }
    // A perfect model's net benefit is the prevalence at every threshold.
    let perfect = net_benefit(
        &[true, false, false, false],
        &[1.0, 0.0, 0.0, 0.0],
        &[0.2, 0.7],
    )
    .unwrap();
    assert!(perfect.iter().all(|pt| (pt.model - 0.25).abs() < 1e-15));
}

/// The decision curve every evaluation reports (thresholds 1 %, …, 99 % from
/// `threshold_grid`) against the `dcurves` package
/// (`scripts/reference/dcurves_reference.py`).
#[test]
fn net_benefit_matches_dcurves_on_the_report_grid() {
    let (_, y, p) = fixture();
    let v: Value = serde_json::from_str(include_str!("reference/b_dcurves.json")).unwrap();
    let want = v["net_benefit"].as_array().unwrap();
    let grid = threshold_grid(0.01, 0.99, 0.01).unwrap();
    assert_eq!(grid.len(), want.len());
    let got = net_benefit(&y, &p, &grid).unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!(
            close(g.threshold, w["threshold"].as_f64().unwrap(), 1e-12),
            "{g:?}"
        );
        assert!(
            close(g.model, w["model"].as_f64().unwrap(), 1e-9),
            "{g:?} vs {w}"
        );
        assert!(
            close(g.treat_all, w["treat_all"].as_f64().unwrap(), 1e-9),
            "{g:?} vs {w}"
        );
    }
}

#[test]
fn grid_and_errors() {
    let g = threshold_grid(0.01, 0.99, 0.01).unwrap();
    assert_eq!(g.len(), 99);
    assert!((g[98] - 0.99).abs() < 1e-12);
    assert!(matches!(
        net_benefit(&[true], &[0.5], &[1.0]),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        brier_score(&[true], &[f64::NAN]),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        brier_score(&[true], &[0.2, 0.3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(brier_score(&[], &[]), Err(Error::TooFew { .. })));
    assert!(matches!(
        reliability_diagram(&[true], &[0.3], 0, BinStrategy::EqualCount),
        Err(Error::TooFew { .. })
    ));
}

#[test]
fn oversized_grids_are_errors() {
    // A tiny but valid step used to ask for ~5e299 thresholds (capacity overflow panic).
    assert!(matches!(
        threshold_grid(1e-300, 0.5, 1e-300),
        Err(Error::InvalidValue {
            what: "threshold_grid step",
            value,
            ..
        }) if value == 1e-300
    ));
    // 0.25..=0.75 by 5e-7: 1,000,001 thresholds, one too many; by 1e-6: 500,001.
    assert!(matches!(
        threshold_grid(0.25, 0.75, 5e-7),
        Err(Error::InvalidValue { .. })
    ));
    let g = threshold_grid(0.25, 0.75, 1e-6).unwrap();
    assert_eq!(g.len(), 500_001);
    assert!((g[g.len() - 1] - 0.75).abs() < 1e-9);
    // usize::MAX bins used to abort allocating the edges.
    let y = [true, false];
    let p = [0.9, 0.2];
    for strategy in [BinStrategy::EqualWidth, BinStrategy::EqualCount] {
        assert!(matches!(
            reliability_diagram(&y, &p, usize::MAX, strategy),
            Err(Error::InvalidValue {
                what: "reliability_diagram (bins)",
                ..
            })
        ));
        assert!(matches!(
            reliability_diagram(&y, &p, MAX_GRID_POINTS + 1, strategy),
            Err(Error::InvalidValue { .. })
        ));
    }
    let d = reliability_diagram(&y, &p, MAX_GRID_POINTS, BinStrategy::EqualWidth).unwrap();
    assert_eq!(d.bins.len(), MAX_GRID_POINTS);
    assert_eq!(d.bins.iter().map(|b| b.count).sum::<usize>(), 2);
    assert!((d.ece - 0.15).abs() < 1e-12);
}

/// Over-confident fixture of `scripts/reference/temperature_reference.py` (scipy).
fn temperature_fixture() -> (Value, Vec<Vec<f64>>, Vec<usize>) {
    let v: Value = serde_json::from_str(include_str!("reference/b_temperature.json")).unwrap();
    let z = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let y = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    (v, z, y)
}

#[test]
fn temperature_nll_matches_scipy_log_softmax() {
    let (v, z, y) = temperature_fixture();
    for row in v["nll_at"].as_array().unwrap() {
        let t = row["temperature"].as_f64().unwrap();
        let nll = temperature_nll(&z, &y, t).unwrap();
        assert!(
            close(nll, row["nll"].as_f64().unwrap(), 1e-12),
            "T={t}: {nll}"
        );
    }
}

#[test]
fn fitted_temperature_matches_scipy_and_lowers_the_nll_of_an_overconfident_model() {
    let (v, z, y) = temperature_fixture();
    let fit = fit_temperature(&z, &y).unwrap();
    assert!(
        close(fit.temperature, v["temperature"].as_f64().unwrap(), 1e-9),
        "{fit:?}"
    );
    assert!(close(
        fit.nll_before,
        v["nll_before"].as_f64().unwrap(),
        1e-12
    ));
    assert!(close(
        fit.nll_after,
        v["nll_after"].as_f64().unwrap(),
        1e-12
    ));
    // Over-confident (logits ×3): the temperature is near 3 and the NLL drops by a third.
    assert!(fit.temperature > 2.5 && fit.temperature < 3.5, "{fit:?}");
    assert!(fit.nll_after < 0.7 * fit.nll_before, "{fit:?}");
    assert_eq!(fit.n, 240);
    // The predicted class never changes.
    for row in &z {
        let p = apply_temperature(row, fit.temperature);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let argmax = |r: &[f64]| (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
        assert_eq!(argmax(&p), argmax(row));
    }
}

#[test]
fn temperature_scaling_leaves_a_binary_ranking_and_its_auc_unchanged() {
    let (_, z, y) = temperature_fixture();
    // Class 0 against the rest, as two logits: the score's order is the logit gap's.
    let two: Vec<Vec<f64>> = z.iter().map(|r| vec![r[0], r[1].max(r[2])]).collect();
    let labels: Vec<usize> = y.iter().map(|&c| usize::from(c != 0)).collect();
    let fit = fit_temperature(&two, &labels).unwrap();
    assert!(fit.nll_after < fit.nll_before);
    let positive: Vec<bool> = labels.iter().map(|&c| c == 0).collect();
    let before: Vec<f64> = two.iter().map(|r| apply_temperature(r, 1.0)[0]).collect();
    let after: Vec<f64> = two
        .iter()
        .map(|r| apply_temperature(r, fit.temperature)[0])
        .collect();
    let auc = |s: &[f64]| cxr_stats::roc::roc_auc(s, &positive).unwrap();
    assert_eq!(auc(&before), auc(&after));
    assert!(auc(&before) > 0.6, "{}", auc(&before));
}

#[test]
fn temperature_inputs_are_checked() {
    assert!(matches!(
        fit_temperature(&[vec![0.0, 1.0]], &[2]),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        fit_temperature(&[vec![0.0, 1.0], vec![0.0]], &[0, 0]),
        Err(Error::BadShape { .. })
    ));
    assert!(matches!(
        fit_temperature(&[vec![f64::NEG_INFINITY, 1.0]], &[0]),
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        fit_temperature(&[], &[]),
        Err(Error::TooFew { .. })
    ));
    assert!(matches!(
        temperature_nll(&[vec![0.0, 1.0]], &[0], 0.0),
        Err(Error::InvalidValue { .. })
    ));
    // Perfectly separable and already confident: the optimum is the smallest temperature.
    let fit = fit_temperature(&[vec![5.0, 0.0], vec![0.0, 5.0]], &[0, 1]).unwrap();
    assert_eq!(fit.temperature, cxr_stats::calibration::MIN_TEMPERATURE);
}
