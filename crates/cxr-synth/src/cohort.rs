//! Multi-source synthetic cohorts: who is in it ([`CohortPlan`] → [`CaseSpec`]s, cheap,
//! no pixels) and writing it to disk ([`write_cohort`]: PNGs, masks, `records.csv`).

use std::path::{Path, PathBuf};

use cxr_core::{ImageRecord, Label, PatientId, Sex, SourceId, StudyDate};
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::SynthConfig;
use crate::noise::hash_words;
use crate::render::{CaseSpec, Defect, render};
use crate::style::Style;

/// How many patients of each class one source contributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePlan {
    /// The source (its style is used).
    pub source: SourceId,
    /// Healthy patients.
    pub healthy: usize,
    /// Covid patients.
    pub covid: usize,
    /// Bacterial pneumonia patients.
    pub bacterial: usize,
    /// Mean number of images per patient (≥ 1).
    pub images_per_patient: f64,
}

impl SourcePlan {
    fn count(&self, label: Label) -> usize {
        match label {
            Label::Healthy => self.healthy,
            Label::Covid => self.covid,
            Label::Bacterial => self.bacterial,
        }
    }
}

/// The composition of a synthetic cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortPlan {
    /// One entry per source.
    pub sources: Vec<SourcePlan>,
}

fn plan(source: SourceId, h: usize, c: usize, b: usize, ipp: f64) -> SourcePlan {
    SourcePlan {
        source,
        healthy: h,
        covid: c,
        bacterial: b,
        images_per_patient: ipp,
    }
}

impl CohortPlan {
    /// The paper's Table 1 composition, each count multiplied by `scale` (rounded, at
    /// least 1 where the paper has any). PadChest's covid patients are BIMCV-COVID19+.
    pub fn paper_table1(scale: f64) -> CohortPlan {
        let s = |n: usize| {
            if n == 0 {
                0
            } else {
                ((n as f64 * scale).round() as usize).max(1)
            }
        };
        CohortPlan {
            sources: vec![
                plan(SourceId::CovidIdc, s(9), s(173), 0, 1.5),
                plan(SourceId::Coviddsl, 0, s(1719), 0, 3.0),
                plan(SourceId::Chestxray8, s(4983), 0, 0, 2.4),
                plan(SourceId::Padchest, s(4605), 0, s(69), 1.2),
                plan(SourceId::BimcvCovid, 0, s(1264), 0, 1.2),
                plan(SourceId::TbPortals, s(80), 0, s(417), 2.4),
                plan(SourceId::NlmTb, s(405), 0, s(393), 1.0),
                plan(SourceId::Qmenta, s(1116), 0, s(1432), 1.7),
            ],
        }
    }

    /// The `make demo` cohort: all eight source styles, a few hundred patients per class.
    pub fn demo() -> CohortPlan {
        CohortPlan {
            sources: vec![
                plan(SourceId::CovidIdc, 10, 70, 0, 1.5),
                plan(SourceId::Coviddsl, 0, 90, 0, 1.6),
                plan(SourceId::Chestxray8, 110, 0, 0, 1.3),
                plan(SourceId::Padchest, 110, 0, 20, 1.2),
                plan(SourceId::BimcvCovid, 0, 90, 0, 1.2),
                plan(SourceId::TbPortals, 20, 0, 80, 1.3),
                plan(SourceId::NlmTb, 50, 0, 60, 1.0),
                plan(SourceId::Qmenta, 50, 0, 90, 1.3),
            ],
        }
    }

    /// A few patients per class from three sources, for tests.
    pub fn tiny() -> CohortPlan {
        CohortPlan {
            sources: vec![
                plan(SourceId::CovidIdc, 2, 6, 0, 1.5),
                plan(SourceId::Chestxray8, 6, 0, 0, 1.5),
                plan(SourceId::Qmenta, 2, 0, 6, 1.5),
            ],
        }
    }

    /// `n` patients of one class in each of three source styles (ChestX-ray8 healthy,
    /// covid-chestxray-dataset covid-19, TB Portals bacterial), one image each: the
    /// smallest cohort a tiny classifier learns within a few epochs whatever the
    /// rounding (on one source alone it stays near chance). For tests of what uses a
    /// trained run.
    pub fn one_class_per_source(n: usize) -> CohortPlan {
        CohortPlan {
            sources: vec![
                plan(SourceId::Chestxray8, n, 0, 0, 1.0),
                plan(SourceId::CovidIdc, 0, n, 0, 1.0),
                plan(SourceId::TbPortals, 0, 0, n, 1.0),
            ],
        }
    }

    /// Largest [`SourcePlan::images_per_patient`] accepted.
    pub const MAX_IMAGES_PER_PATIENT: f64 = 1000.0;
    /// Largest number of patients of one class in one source.
    pub const MAX_PATIENTS: usize = 1_000_000;

    /// Checks the plan: at least one patient, each source listed once, each count ≤
    /// [`Self::MAX_PATIENTS`] and `images_per_patient` finite in
    /// `[1, MAX_IMAGES_PER_PATIENT]`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidPlan`] naming the field and the source.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |field, detail: String| Err(crate::Error::InvalidPlan { field, detail });
        for (i, sp) in self.sources.iter().enumerate() {
            if self.sources[..i].iter().any(|o| o.source == sp.source) {
                return bad("sources", format!("{} is listed twice", sp.source));
            }
            for label in Label::ALL {
                let n = sp.count(*label);
                if n > Self::MAX_PATIENTS {
                    return bad(
                        label.as_str(),
                        format!("{}: {n} > {} patients", sp.source, Self::MAX_PATIENTS),
                    );
                }
            }
            let ipp = sp.images_per_patient;
            if !(1.0..=Self::MAX_IMAGES_PER_PATIENT).contains(&ipp) {
                return bad(
                    "images_per_patient",
                    format!(
                        "{}: {ipp} is not in [1, {}]",
                        sp.source,
                        Self::MAX_IMAGES_PER_PATIENT
                    ),
                );
            }
        }
        if self.patients() == 0 {
            return bad("sources", "the plan has no patients".into());
        }
        Ok(())
    }

    /// Number of patients.
    pub fn patients(&self) -> usize {
        self.sources
            .iter()
            .map(|s| s.healthy + s.covid + s.bacterial)
            .sum()
    }
}

/// Lists every image of the cohort (metadata only, no pixels), deterministically from
/// `seed`. Patients have 1 + Poisson(images_per_patient − 1) images; an extra image is
/// taken the same day with probability `config.same_day_fraction`, else 1–30 days later.
///
/// # Errors
///
/// [`crate::Error::InvalidPlan`] for a bad plan ([`CohortPlan::validate`]),
/// [`crate::Error::InvalidConfig`] for bad settings ([`SynthConfig::validate`]).
///
/// ```
/// use cxr_synth::{CohortPlan, SynthConfig, plan_cases};
///
/// let cases = plan_cases(&CohortPlan::tiny(), &SynthConfig::default(), 1).unwrap();
/// assert!(cases.len() >= CohortPlan::tiny().patients());
/// let mut bad = CohortPlan::tiny();
/// bad.sources[0].images_per_patient = f64::INFINITY;
/// assert!(plan_cases(&bad, &SynthConfig::default(), 1).is_err());
/// ```
pub fn plan_cases(
    plan: &CohortPlan,
    config: &SynthConfig,
    seed: u64,
) -> Result<Vec<CaseSpec>, crate::Error> {
    plan.validate()?;
    config.validate()?;
    let mut cases = Vec::new();
    for (si, sp) in plan.sources.iter().enumerate() {
        let style = Style::for_source(sp.source);
        let mut next_id = 0usize;
        for label in Label::ALL {
            for k in 0..sp.count(*label) {
                let patient_seed = hash_words(&[seed, si as u64, label.index() as u64, k as u64]);
                let mut rng = ChaCha8Rng::seed_from_u64(patient_seed ^ 0xCA5E);
                let demo = config.demographics.of(*label);
                // Validated above: finite mean, finite sd ≥ 0.
                let age = Normal::new(demo.age_mean, demo.age_sd.max(1e-9))
                    .map_err(|_| crate::Error::InvalidConfig {
                        field: "demographics.age_sd",
                        value: demo.age_sd,
                    })?
                    .sample(&mut rng)
                    .clamp(1.0, 100.0)
                    .round() as f32;
                let sex = if rng.random_bool(demo.male) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let age = (!rng.random_bool(style.missing_age)).then_some(age);
                let sex = (!rng.random_bool(style.missing_sex)).then_some(sex);
                let extra = if sp.images_per_patient > 1.0 {
                    // Validated above: 1 < images_per_patient ≤ 1000.
                    Poisson::new(sp.images_per_patient - 1.0)
                        .map_err(|e| crate::Error::InvalidPlan {
                            field: "images_per_patient",
                            detail: format!("{}: {e}", sp.source),
                        })?
                        .sample(&mut rng) as usize
                } else {
                    0
                };
                let patient = PatientId::new(sp.source, format!("P{next_id:05}"));
                next_id += 1;
                let mut day = style.date_from + rng.random_range(0..style.date_span.max(1));
                for img in 0..=extra.min(7) {
                    if img > 0 && !rng.random_bool(config.same_day_fraction) {
                        day += rng.random_range(1..=30);
                    }
                    let defect = rng
                        .random_bool(config.bad_fraction)
                        .then(|| Defect::ALL[rng.random_range(0..Defect::ALL.len())]);
                    cases.push(CaseSpec {
                        patient_seed,
                        image_seed: hash_words(&[patient_seed, img as u64, 0x1A6E]),
                        image_id: format!("{}-{}-{img}", sp.source, patient.local),
                        patient: patient.clone(),
                        label: *label,
                        age,
                        sex,
                        study_date: StudyDate::from_days_since_epoch(day)
                            .expect("built-in style dates lie near 2020"),
                        defect,
                    });
                }
            }
        }
    }
    Ok(cases)
}

/// What [`write_cohort`] produced.
#[derive(Debug)]
pub struct CohortFiles {
    /// The records table (`records.csv`), with extras `mask_path`, `defect`, `pattern`,
    /// `lung_fraction`.
    pub records_csv: PathBuf,
    /// One record per image written.
    pub records: Vec<ImageRecord>,
    /// Images that could not be written, with the error.
    pub failures: Vec<(String, cxr_core::Error)>,
}

/// Renders `cases` in parallel and writes `dir/images/<source>/<image_id>.png`,
/// `dir/masks/<source>/<image_id>.png` (both lungs, 0/255) and `dir/records.csv`.
/// Every file is written atomically; an image that fails is reported in
/// [`CohortFiles::failures`] and the rest is still written.
pub fn write_cohort(
    dir: &Path,
    cases: &[CaseSpec],
    config: &SynthConfig,
    progress: Option<&ProgressBar>,
) -> Result<CohortFiles, crate::Error> {
    config.validate()?;
    let results: Vec<Result<ImageRecord, Box<(String, cxr_core::Error)>>> = cases
        .par_iter()
        .map(|case| {
            let p = render(case, config);
            let rel = Path::new(case.source().as_str()).join(format!("{}.png", case.image_id));
            let img_path = dir.join("images").join(&rel);
            let mask_rel = Path::new("masks").join(&rel);
            let lungs = p.lungs();
            let out = cxr_core::save_png(&img_path, &p.image)
                .and_then(|_| lungs.save(&dir.join(&mask_rel)))
                .map(|_| {
                    let mut r = p.record(&img_path);
                    r.extras
                        .insert("mask_path".into(), mask_rel.to_string_lossy().into_owned());
                    r.extras
                        .insert("lung_fraction".into(), format!("{:.4}", lungs.fraction()));
                    r
                })
                .map_err(|e| Box::new((case.image_id.clone(), e)));
            if let Some(pb) = progress {
                pb.inc(1);
            }
            out
        })
        .collect();
    let mut records = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(rec) => records.push(rec),
            Err(f) => failures.push(*f),
        }
    }
    let records_csv = dir.join("records.csv");
    cxr_core::manifest::write_records(&records_csv, &records)?;
    Ok(CohortFiles {
        records_csv,
        records,
        failures,
    })
}
