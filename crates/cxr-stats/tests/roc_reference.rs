//! Agreement with scikit-learn, SciPy and R's pROC on the committed fixtures
//! (`tests/reference/{datasets,sklearn,proc}.json`, made by
//! `scripts/reference/stats_reference.py`). Deterministic values agree to 1e-9.

use cxr_stats::cutoff::{Criterion, select};
use cxr_stats::delong::{delong, delong_covariance, delong_paired_test};
use cxr_stats::proportion::{clopper_pearson, wilson};
use cxr_stats::roc::{mann_whitney_u, roc_curve};
use serde_json::Value;

const TOL: f64 = 1e-9;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/reference/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(float).collect(),
        other => vec![float(other)],
    }
}

/// A number, or pROC's `"Inf"`/`"-Inf"` strings, or null (= +inf, sklearn's first threshold).
fn float(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "Inf" => f64::INFINITY,
        Value::String(s) if s == "-Inf" => f64::NEG_INFINITY,
        Value::Null => f64::INFINITY,
        other => panic!("not a number: {other}"),
    }
}

fn binary(data: &Value, name: &str) -> (Vec<f64>, Vec<bool>) {
    let d = &data["binary"][name];
    let s = floats(&d["scores"]);
    let l = d["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_bool().unwrap())
        .collect();
    (s, l)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL || (a.is_infinite() && a == b)
}

#[test]
fn roc_curve_and_auc_match_sklearn() {
    let data = load("datasets.json");
    let sk = load("sklearn.json");
    let names: Vec<String> = sk["binary"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(names.len(), 6);
    for name in &names {
        let (s, l) = binary(&data, name);
        let want = &sk["binary"][name];
        let c = roc_curve(&s, &l).unwrap();
        let (fpr, tpr, thr) = (
            floats(&want["fpr"]),
            floats(&want["tpr"]),
            floats(&want["thresholds"]),
        );
        assert_eq!(c.len(), fpr.len(), "{name}: number of points");
        for i in 0..c.len() {
            assert!(close(c.fpr(i), fpr[i]), "{name} fpr[{i}]");
            assert!(close(c.tpr(i), tpr[i]), "{name} tpr[{i}]");
            assert!(close(c.thresholds[i], thr[i]), "{name} threshold[{i}]");
        }
        assert!(close(c.auc(), float(&want["auc"])), "{name} auc");
        assert!(
            close(
                mann_whitney_u(&s, &l).unwrap(),
                float(&want["mann_whitney_u"])
            ),
            "{name} U"
        );
        for (m, v) in want["partial_auc_mcclish"].as_object().unwrap() {
            let m: f64 = m.parse().unwrap();
            let got = c.standardized_partial_auc(m).unwrap();
            assert!(close(got, float(v)), "{name} pAUC({m}): {got} vs {v}");
        }
    }
}

#[test]
fn delong_matches_proc() {
    let data = load("datasets.json");
    let pr = load("proc.json");
    let mut checked = 0;
    for (name, want) in pr["binary"].as_object().unwrap() {
        let (s, l) = binary(&data, name);
        let Some(var) = want.get("delong_var") else {
            continue;
        };
        let d = delong(&s, &l).unwrap();
        assert!(close(d.auc, float(&want["auc"])), "{name} auc");
        assert!(
            close(d.variance, float(var)),
            "{name} var {} vs {var}",
            d.variance
        );
        let ci = d.ci(0.95).unwrap();
        let want_ci = floats(&want["delong_ci95"]);
        assert!(
            close(ci[0], want_ci[0]) && close(ci[1], want_ci[1]),
            "{name} ci {ci:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn paired_delong_matches_proc_roc_test() {
    let data = load("datasets.json");
    let want = &load("proc.json")["paired"];
    let p = &data["paired"];
    let (a, b) = (floats(&p["a"]), floats(&p["b"]));
    let l: Vec<bool> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let c = delong_covariance(&[&a, &b], &l).unwrap();
    assert!(close(c.covariance[0][0], float(&want["var_a"])));
    assert!(close(c.covariance[1][1], float(&want["var_b"])));
    assert!(close(c.covariance[0][1], float(&want["cov_ab"])));
    let t = delong_paired_test(&a, &b, &l, 0.95).unwrap();
    assert!(close(t.auc1, float(&want["auc_a"])));
    assert!(close(t.auc2, float(&want["auc_b"])));
    assert!(close(t.z, float(&want["z"])), "z {}", t.z);
    assert!(close(t.p_value, float(&want["p_value"])), "p {}", t.p_value);
    let ci = floats(&want["conf_int"]);
    assert!(close(t.ci_diff[0], ci[0]) && close(t.ci_diff[1], ci[1]));
}

#[test]
fn best_cutoffs_match_proc_coords() {
    let data = load("datasets.json");
    let pr = load("proc.json");
    let criteria = [
        ("youden", Criterion::Youden),
        ("closest_topleft", Criterion::ClosestTopLeft),
        (
            "youden_w_5_05",
            Criterion::WeightedYouden {
                cost: 5.0,
                prevalence: 0.5,
            },
        ),
        (
            "closest_topleft_w_02_02",
            Criterion::WeightedClosestTopLeft {
                cost: 0.2,
                prevalence: 0.2,
            },
        ),
    ];
    let mut checked = 0;
    for (name, want) in pr["binary"].as_object().unwrap() {
        let (s, l) = binary(&data, name);
        let c = roc_curve(&s, &l).unwrap();
        for (key, crit) in criteria {
            let w = &want["best"][key];
            let (thr, se, sp) = (
                floats(&w["threshold"]),
                floats(&w["sensitivity"]),
                floats(&w["specificity"]),
            );
            let op = select(&c, crit).unwrap();
            let (my_se, my_sp) = (op.counts.sensitivity(), op.counts.specificity());
            // pROC lists every tied best point; ours is the one with the highest threshold.
            let k = (0..thr.len())
                .max_by(|&a, &b| thr[a].total_cmp(&thr[b]))
                .unwrap();
            assert!(
                close(my_se, se[k]) && close(my_sp, sp[k]),
                "{name}/{key}: ours se {my_se} sp {my_sp}, pROC {se:?} {sp:?}"
            );
            // Same split of the units: our threshold is the smallest score >= pROC's
            // midpoint threshold (or +inf when pROC's is +inf).
            let expect = s
                .iter()
                .copied()
                .filter(|&x| x >= thr[k])
                .fold(f64::INFINITY, f64::min);
            assert_eq!(op.threshold, expect, "{name}/{key} threshold");
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}

#[test]
fn proportion_intervals_match_scipy() {
    let sk = load("sklearn.json");
    let cases = sk["proportions"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let (k, n, level) = (
            c["k"].as_u64().unwrap(),
            c["n"].as_u64().unwrap(),
            float(&c["level"]),
        );
        let w = wilson(k, n, level).unwrap();
        let want = floats(&c["wilson"]);
        assert!(
            close(w[0], want[0]) && close(w[1], want[1]),
            "wilson {k}/{n}: {w:?} vs {want:?}"
        );
        let e = clopper_pearson(k, n, level).unwrap();
        let want = floats(&c["exact"]);
        // statrs inverts the Beta CDF numerically: 1e-9 absolute is within its accuracy.
        assert!(
            (e[0] - want[0]).abs() < 1e-8 && (e[1] - want[1]).abs() < 1e-8,
            "exact {k}/{n}: {e:?} vs {want:?}"
        );
    }
}
