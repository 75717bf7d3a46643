//! The paper's Table 1 (cohort by source) and Table 2 (demographics vs covid), as values
//! (rendered and written by `cxr_report::cohort`). Demographics are per patient (first recorded age and sex).

use std::collections::BTreeMap;

use cxr_core::{ImageRecord, Label, PatientId, Sex, SourceId};
use cxr_stats::hypothesis::{TTestKind, chi2_contingency, t_test};
use cxr_stats::missing::{McarEstimator, MiceOptions, little_mcar_test, mice, pool_t_tests};
use serde::Serialize;

/// One patient's demographics.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Person {
    label: Label,
    source: SourceId,
    age: Option<f64>,
    sex: Option<Sex>,
    images: usize,
}

fn people(records: &[ImageRecord]) -> BTreeMap<&PatientId, Person> {
    let mut m: BTreeMap<&PatientId, Person> = BTreeMap::new();
    for r in records {
        let p = m.entry(&r.patient).or_insert(Person {
            label: r.label,
            source: r.source,
            age: None,
            sex: None,
            images: 0,
        });
        p.images += 1;
        p.age = p.age.or(r.age.map(f64::from));
        p.sex = p.sex.or(r.sex);
    }
    m
}

fn mean_sd(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    Some((
        m,
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
    ))
}

/// A row of Table 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1Row {
    /// Source name, or `TOTAL`.
    pub source: String,
    /// Patients.
    pub patients: usize,
    /// Covid patients.
    pub covid: usize,
    /// Bacterial pneumonia patients.
    pub bacterial: usize,
    /// Healthy patients.
    pub healthy: usize,
    /// Mean age of patients with an age.
    pub age_mean: Option<f64>,
    /// Standard deviation of age.
    pub age_sd: Option<f64>,
    /// Patients with an age.
    pub age_known: usize,
    /// Male patients.
    pub male: usize,
    /// Patients with a sex.
    pub sex_known: usize,
    /// Images.
    pub images: usize,
}

impl Table1Row {
    fn of<'a>(name: String, ps: impl Iterator<Item = &'a Person>) -> Table1Row {
        let ps: Vec<&Person> = ps.collect();
        let count = |l| ps.iter().filter(|p| p.label == l).count();
        let ages: Vec<f64> = ps.iter().filter_map(|p| p.age).collect();
        let ms = mean_sd(&ages);
        Table1Row {
            source: name,
            patients: ps.len(),
            covid: count(Label::Covid),
            bacterial: count(Label::Bacterial),
            healthy: count(Label::Healthy),
            age_mean: ms.map(|m| m.0),
            age_sd: ms.map(|m| m.1),
            age_known: ages.len(),
            male: ps.iter().filter(|p| p.sex == Some(Sex::Male)).count(),
            sex_known: ps.iter().filter(|p| p.sex.is_some()).count(),
            images: ps.iter().map(|p| p.images).sum(),
        }
    }

    /// Images per patient.
    pub fn images_per_patient(&self) -> f64 {
        self.images as f64 / self.patients.max(1) as f64
    }
}

/// Table 1: one row per source (the adapters' sources in `SourceId` order, then the
/// user's own by name), then the total.
pub fn table1(records: &[ImageRecord]) -> Vec<Table1Row> {
    let ps = people(records);
    let sources: std::collections::BTreeSet<SourceId> = ps.values().map(|p| p.source).collect();
    let mut rows: Vec<Table1Row> = sources
        .iter()
        .map(|s| {
            Table1Row::of(
                s.display_name().to_owned(),
                ps.values().filter(|p| p.source == *s),
            )
        })
        .collect();
    rows.push(Table1Row::of("TOTAL".into(), ps.values()));
    rows
}

/// One group of Table 2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Patients.
    pub patients: usize,
    /// Male patients.
    pub male: usize,
    /// Patients with a recorded sex.
    pub sex_known: usize,
    /// Mean age.
    pub age_mean: Option<f64>,
    /// Age standard deviation.
    pub age_sd: Option<f64>,
    /// Patients with a recorded age.
    pub age_known: usize,
}

/// Table 2: demographics of covid patients against the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table2 {
    /// Covid patients.
    pub covid: Group,
    /// Healthy or bacterial patients.
    pub other: Group,
    /// Student t-test on age, p-value (the paper's test).
    pub age_p: Option<f64>,
    /// Student t-test on male = 1 / female = 0, p-value (the paper's test).
    pub male_t_p: Option<f64>,
    /// Chi-square test (with Yates) of sex against covid, p-value.
    pub male_chi2_p: Option<f64>,
    /// Little's MCAR test on (age, male, covid), p-value, when something is missing.
    pub little_mcar_p: Option<f64>,
    /// Age t-test after multiple imputation (m = 5, Rubin's rules), p-value.
    pub age_p_imputed: Option<f64>,
}

fn group(ps: &[&Person]) -> Group {
    let ages: Vec<f64> = ps.iter().filter_map(|p| p.age).collect();
    let ms = mean_sd(&ages);
    Group {
        patients: ps.len(),
        male: ps.iter().filter(|p| p.sex == Some(Sex::Male)).count(),
        sex_known: ps.iter().filter(|p| p.sex.is_some()).count(),
        age_mean: ms.map(|m| m.0),
        age_sd: ms.map(|m| m.1),
        age_known: ages.len(),
    }
}

/// Computes Table 2. Tests that are undefined for the data (too few values, one group
/// empty) are `None`.
pub fn table2(records: &[ImageRecord], seed: u64) -> Table2 {
    let ps = people(records);
    let (covid, other): (Vec<&Person>, Vec<&Person>) =
        ps.values().partition(|p| p.label == Label::Covid);
    let ages = |g: &[&Person]| g.iter().filter_map(|p| p.age).collect::<Vec<f64>>();
    let males = |g: &[&Person]| {
        g.iter()
            .filter_map(|p| p.sex.map(|s| f64::from(u8::from(s == Sex::Male))))
            .collect::<Vec<f64>>()
    };
    let age_p = t_test(&ages(&covid), &ages(&other), TTestKind::Student, 0.95)
        .ok()
        .map(|t| t.p_value);
    let male_t_p = t_test(&males(&covid), &males(&other), TTestKind::Student, 0.95)
        .ok()
        .map(|t| t.p_value);
    let (gc, go) = (group(&covid), group(&other));
    let male_chi2_p = chi2_contingency(
        &[
            [gc.male as u64, (gc.sex_known - gc.male) as u64],
            [go.male as u64, (go.sex_known - go.male) as u64],
        ],
        true,
    )
    .ok()
    .map(|c| c.p_value);
    // Missing demographics: Little's test, then multiple imputation of age.
    let matrix: Vec<Vec<f64>> = ps
        .values()
        .map(|p| {
            vec![
                p.age.unwrap_or(f64::NAN),
                p.sex
                    .map_or(f64::NAN, |s| f64::from(u8::from(s == Sex::Male))),
                f64::from(u8::from(p.label == Label::Covid)),
            ]
        })
        .collect();
    let any_missing = matrix.iter().any(|r| r.iter().any(|v| v.is_nan()));
    let (little_mcar_p, age_p_imputed) = if any_missing {
        let little = little_mcar_test(&matrix, McarEstimator::default())
            .ok()
            .map(|l| l.p_value);
        let imputed = mice(&matrix, &MiceOptions::default(), seed)
            .ok()
            .and_then(|res| {
                let tests: Vec<_> = res
                    .datasets
                    .iter()
                    .filter_map(|d| {
                        let (c, o): (Vec<&Vec<f64>>, Vec<&Vec<f64>>) =
                            d.iter().partition(|r| r[2] == 1.0);
                        let a: Vec<f64> = c.iter().map(|r| r[0]).collect();
                        let b: Vec<f64> = o.iter().map(|r| r[0]).collect();
                        t_test(&a, &b, TTestKind::Student, 0.95).ok()
                    })
                    .collect();
                pool_t_tests(&tests, 0.95).ok().map(|p| p.p_value)
            });
        (little, imputed)
    } else {
        (None, None)
    };
    Table2 {
        covid: gc,
        other: go,
        age_p,
        male_t_p,
        male_chi2_p,
        little_mcar_p,
        age_p_imputed,
    }
}
