//! The calibration every evaluation carries, against hand computation on four units.

use std::path::Path;

use cxr_eval::predictions::parse_predictions;
use cxr_eval::{CALIBRATION_BINS, EvaluateOptions, evaluate};

#[test]
fn brier_ece_and_net_benefit_of_each_class_are_the_units() {
    let csv = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n\
               a,2020-03-01,a1,covid,0.1,0.8,0.1\n\
               b,2020-03-01,b1,healthy,0.7,0.2,0.1\n\
               c,2020-03-02,c1,bacterial,0.2,0.1,0.7\n\
               d,2020-03-02,d1,covid,0.3,0.6,0.1\n";
    let images = parse_predictions(csv.as_bytes(), Path::new("p.csv")).unwrap();
    let mut options = EvaluateOptions::default();
    options.bootstrap.rounds = 50;
    let e = evaluate(&images, &options).unwrap();
    let covid = e.per_class.covid.as_ref().unwrap();
    let c = covid.calibration.as_ref().unwrap();
    // Covid one-vs-rest: y = 1, 0, 0, 1 and p = 0.8, 0.2, 0.1, 0.6.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(
        close(c.brier, (0.04 + 0.04 + 0.01 + 0.16) / 4.0),
        "{}",
        c.brier
    );
    // Every prediction alone in its bin: ECE = mean |y − p|, MCE the largest.
    assert_eq!(c.reliability.bins.len(), CALIBRATION_BINS);
    assert_eq!(c.reliability.bins.iter().filter(|b| b.count > 0).count(), 4);
    assert!(close(c.reliability.ece, (0.2 + 0.2 + 0.1 + 0.4) / 4.0));
    assert!(close(c.reliability.mce, 0.4));
    // 15 equal-count bins over 4 values: each value its own bin again.
    assert!(close(c.ece_equal_count, 0.225));
    // Decision curve at 1 %, …, 99 %; at 50 %: two true positives, no false positive.
    assert_eq!(c.decision_curve.len(), 99);
    let half = &c.decision_curve[49];
    assert!(close(half.threshold, 0.5));
    assert!(close(half.model, 0.5));
    assert!(close(half.treat_all, 0.0));
    assert_eq!(half.treat_none, 0.0);

    // The calibration travels in metrics.json.
    let json: serde_json::Value = serde_json::to_value(&e).unwrap();
    let written = &json["per_class"]["covid"]["calibration"];
    assert_eq!(written["brier"].as_f64(), Some(c.brier));
    assert_eq!(written["decision_curve"].as_array().unwrap().len(), 99);
}
