//! The paper's evaluation workload at full size: 8,334 patients with covid-19 prevalence
//! 18.8 % and bacterial pneumonia prevalence 13.5 % (Table 3).
//!
//! - `auc_3_classes`: one-vs-rest AUC of the three classes;
//! - `delong_3_classes`: AUC + DeLong variance of the three classes;
//! - `evaluate_2000_rounds`: the whole `evaluate` pipeline on those patients — confusion
//!   matrix, AUC + DeLong, accuracy-maximising cut-off and every Table 3 metric per class,
//!   and a 2,000-round stratified patient bootstrap of all of them (cut-off re-selected
//!   in each round). `scripts/bench/stats_sklearn.py` does the same work with
//!   scikit-learn; numbers in `docs/performance-stats.md`.
//!
//! `cargo bench -p cxr-eval --bench stats -- --warm-up-time 1 --measurement-time 5 --sample-size 10`
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use cxr_core::{Label, StudyDate};
use cxr_eval::{EvaluateOptions, Grouping, ImagePrediction, evaluate};
use cxr_stats::{BootstrapOptions, delong, roc_auc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Patients of the paper's validation set, one image each.
pub fn paper_patients(seed: u64) -> Vec<ImagePrediction> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).expect("valid normal");
    let day = StudyDate::from_ymd(2020, 4, 1).expect("valid date");
    (0..8334)
        .map(|i| {
            let u: f64 = rng.random();
            let label = if u < 0.188 {
                Label::Covid
            } else if u < 0.188 + 0.135 {
                Label::Bacterial
            } else {
                Label::Healthy
            };
            let mut logits = [0.0f64; 3];
            for (c, l) in logits.iter_mut().enumerate() {
                *l = 1.1 * noise.sample(&mut rng) + if c == label.index() { 2.6 } else { 0.0 };
            }
            let m = logits.iter().copied().fold(f64::MIN, f64::max);
            let e = logits.map(|l| (l - m).exp());
            let s: f64 = e.iter().sum();
            ImagePrediction {
                patient_id: format!("P{i}"),
                study_date: Some(day),
                image_id: format!("I{i}"),
                label,
                probs: e.map(|x| x / s),
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let patients = paper_patients(2020);
    let columns: Vec<(Vec<f64>, Vec<bool>)> = Label::ALL
        .iter()
        .map(|l| {
            (
                patients.iter().map(|p| p.probs[l.index()]).collect(),
                patients.iter().map(|p| p.label == *l).collect(),
            )
        })
        .collect();
    c.bench_function("auc_3_classes", |b| {
        b.iter(|| {
            for (s, l) in &columns {
                black_box(roc_auc(black_box(s), l).expect("two classes"));
            }
        })
    });
    c.bench_function("delong_3_classes", |b| {
        b.iter(|| {
            for (s, l) in &columns {
                black_box(delong(black_box(s), l).expect("two classes"));
            }
        })
    });
    let options = EvaluateOptions {
        grouping: Grouping::PatientDay,
        bootstrap: BootstrapOptions {
            rounds: 2000,
            seed: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    c.bench_function("evaluate_2000_rounds", |b| {
        b.iter(|| black_box(evaluate(black_box(&patients), &options).expect("evaluates")))
    });
}

criterion_group!(stats, benches);
criterion_main!(stats);
