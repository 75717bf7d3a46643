//! Acceptance tests of the phantom generator.

use std::path::PathBuf;

use cxr_core::{Label, LungMask, SourceId};
use cxr_synth::{
    CaseSpec, CohortPlan, Defect, Demographics, Pattern, SynthConfig, plan_cases, render,
    render_without_lesions,
};

const SOURCES: &[SourceId] = SourceId::ALL;

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

/// Same seed → same bytes, and the bytes match the committed golden images.
/// Regenerate with `CXR_BLESS=1 cargo test -p cxr-synth --test phantoms golden`.
#[test]
fn golden_images_are_reproduced_byte_for_byte() {
    let config = SynthConfig::with_size(64);
    for label in Label::ALL {
        let case = CaseSpec::single(11, *label, SourceId::Padchest);
        let a = render(&case, &config);
        let b = render(&case, &config);
        assert_eq!(a.image, b.image);
        let path = reference(&format!("golden_{label}_64.png"));
        if std::env::var_os("CXR_BLESS").is_some() {
            cxr_core::save_png(&path, &a.image).unwrap();
        }
        let golden = cxr_core::load_gray(&path).unwrap();
        assert_eq!(
            a.image,
            golden,
            "{label} phantom differs from {}",
            path.display()
        );
    }
    let other = render(
        &CaseSpec::single(12, Label::Healthy, SourceId::Padchest),
        &config,
    );
    let first = render(
        &CaseSpec::single(11, Label::Healthy, SourceId::Padchest),
        &config,
    );
    assert_ne!(other.image, first.image, "different seeds must differ");
}

fn dilate(m: &LungMask, r: i64) -> LungMask {
    let (w, h) = m.dimensions();
    LungMask::from_fn(w, h, |x, y| {
        (-r..=r).any(|dy| {
            (-r..=r).any(|dx| {
                let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                xx >= 0
                    && yy >= 0
                    && xx < w as i64
                    && yy < h as i64
                    && m.contains(xx as u32, yy as u32)
            })
        })
    })
}

/// The lung masks cover the dark lung fields that were drawn: inside is much darker
/// than a band just outside, and both lungs are there.
#[test]
fn masks_cover_the_lungs_drawn() {
    let config = SynthConfig::with_size(128);
    for (i, source) in SOURCES.iter().enumerate() {
        let p = render(
            &CaseSpec::single(i as u64, Label::Healthy, *source),
            &config,
        );
        let lungs = p.lungs();
        let ring = dilate(&lungs, 5);
        let (mut inside, mut n_in, mut outside, mut n_out) = (0u64, 0u64, 0u64, 0u64);
        for (x, y, px) in p.image.enumerate_pixels() {
            if lungs.contains(x, y) {
                inside += u64::from(px.0[0]);
                n_in += 1;
            } else if ring.contains(x, y) {
                outside += u64::from(px.0[0]);
                n_out += 1;
            }
        }
        let (mi, mo) = (inside as f64 / n_in as f64, outside as f64 / n_out as f64);
        assert!(
            mo - mi > 40.0,
            "{source}: lung mean {mi:.1} vs surround {mo:.1}"
        );
        assert!(
            p.right_lung.area() > 1000 && p.left_lung.area() > 1000,
            "{source}"
        );
        assert_eq!(p.right_lung.intersection_area(&p.left_lung).unwrap(), 0);
        // Patient's right lung is on the image's left.
        let cx = |m: &LungMask| {
            let (mut s, mut n) = (0u64, 0u64);
            for y in 0..128 {
                for x in 0..128 {
                    if m.contains(x, y) {
                        s += u64::from(x);
                        n += 1;
                    }
                }
            }
            s as f64 / n as f64
        };
        assert!(cx(&p.right_lung) < 64.0 && cx(&p.left_lung) > 64.0);
    }
}

/// Good phantoms pass the paper's 30 % gate; every kind of bad phantom fails it.
#[test]
fn good_phantoms_pass_the_gate_and_bad_ones_do_not() {
    let config = SynthConfig::with_size(96);
    let mut min_good: f64 = 1.0;
    for seed in 0..48u64 {
        let label = Label::ALL[(seed % 3) as usize];
        let source = SOURCES[(seed % 8) as usize];
        let p = render(&CaseSpec::single(seed, label, source), &config);
        min_good = min_good.min(p.lungs().fraction());
    }
    assert!(
        min_good >= 0.30,
        "smallest good lung fraction {min_good:.3}"
    );
    for defect in Defect::ALL {
        for seed in 0..6u64 {
            let case = CaseSpec {
                defect: Some(defect),
                ..CaseSpec::single(500 + seed, Label::Covid, SOURCES[seed as usize])
            };
            let f = render(&case, &config).lungs().fraction();
            assert!(
                f < 0.30,
                "{defect:?} seed {seed}: lung fraction {f:.3} passes the gate"
            );
        }
    }
    // A cut-off lung leaves one lung much smaller than the other; a lateral view has one field.
    let cut = render(
        &CaseSpec {
            defect: Some(Defect::OneLungCut),
            ..CaseSpec::single(3, Label::Healthy, SourceId::Qmenta)
        },
        &config,
    );
    let (r, l) = (cut.right_lung.area(), cut.left_lung.area());
    assert!(r.min(l) * 4 < r.max(l), "cut lung areas {r} {l}");
    let lat = render(
        &CaseSpec {
            defect: Some(Defect::Lateral),
            ..CaseSpec::single(3, Label::Healthy, SourceId::Qmenta)
        },
        &config,
    );
    assert_eq!(lat.left_lung.area(), 0);
    assert_eq!(lat.view(), cxr_core::View::Lateral);
}

/// Lesions change pixels only inside the lungs (allowing for the style's blur), and
/// every visibly diseased phantom has some.
#[test]
fn lesions_land_inside_the_lungs() {
    let config = SynthConfig::with_size(96);
    let mut diseased_with_lesions = 0;
    for seed in 0..30u64 {
        let label = if seed % 2 == 0 {
            Label::Covid
        } else {
            Label::Bacterial
        };
        let case = CaseSpec::single(seed, label, SOURCES[(seed % 8) as usize]);
        let with = render(&case, &config);
        let without = render_without_lesions(&case, &config);
        let lungs = with.lungs();
        assert_eq!(lungs, without.lungs());
        // Lesion support ⊆ lungs.
        assert_eq!(
            with.lesions.intersection_area(&lungs).unwrap(),
            with.lesions.area()
        );
        let near = dilate(&lungs, 2);
        let mut changed = 0;
        for ((x, y, a), b) in with.image.enumerate_pixels().zip(without.image.pixels()) {
            if a.0[0].abs_diff(b.0[0]) > 1 {
                changed += 1;
                assert!(
                    near.contains(x, y),
                    "seed {seed}: lesion changed pixel ({x},{y}) outside the lungs"
                );
            }
        }
        match with.pattern {
            Pattern::Occult => assert_eq!(changed, 0),
            Pattern::GroundGlass | Pattern::Lobar | Pattern::Tuberculous => {
                assert!(with.lesions.area() > 0 && changed > 0, "seed {seed}");
                diseased_with_lesions += 1;
            }
            p => panic!("unexpected pattern {p:?} for {label}"),
        }
        if label == Label::Covid {
            assert!(matches!(
                with.pattern,
                Pattern::GroundGlass | Pattern::Occult
            ));
        }
    }
    assert!(diseased_with_lesions >= 24);
}

fn age_sex(cases: &[CaseSpec], label: Label) -> (f64, f64) {
    let mut seen = std::collections::HashSet::new();
    let (mut age, mut n_age, mut male, mut n_sex) = (0.0, 0.0, 0.0, 0.0);
    for c in cases.iter().filter(|c| c.label == label) {
        if !seen.insert(c.patient.clone()) {
            continue;
        }
        if let Some(a) = c.age {
            age += f64::from(a);
            n_age += 1.0;
        }
        if let Some(s) = c.sex {
            male += f64::from(u8::from(s == cxr_core::Sex::Male));
            n_sex += 1.0;
        }
    }
    (age / n_age, male / n_sex)
}

/// Covid patients are older and more often male by default (the paper's Table 2), and
/// the correlation can be switched off.
#[test]
fn demographics_follow_the_configuration() {
    let plan = CohortPlan {
        sources: vec![cxr_synth::SourcePlan {
            source: SourceId::Padchest,
            healthy: 1500,
            covid: 1500,
            bacterial: 0,
            images_per_patient: 1.8,
        }],
    };
    let config = SynthConfig::default();
    let cases = plan_cases(&plan, &config, 7).unwrap();
    let (age_c, male_c) = age_sex(&cases, Label::Covid);
    let (age_h, male_h) = age_sex(&cases, Label::Healthy);
    assert!(
        (age_c - 65.0).abs() < 1.5 && (age_h - 50.5).abs() < 1.5,
        "{age_c} {age_h}"
    );
    assert!(male_c - male_h > 0.05, "{male_c} {male_h}");
    let flat = SynthConfig {
        demographics: Demographics::uncorrelated(),
        ..SynthConfig::default()
    };
    let cases = plan_cases(&plan, &flat, 7).unwrap();
    let (age_c, male_c) = age_sex(&cases, Label::Covid);
    let (age_h, male_h) = age_sex(&cases, Label::Healthy);
    assert!((age_c - age_h).abs() < 1.5 && (male_c - male_h).abs() < 0.05);
    // Images per patient ≈ 1.8 and some same-day repeats.
    let patients: std::collections::HashSet<_> = cases.iter().map(|c| &c.patient).collect();
    let ipp = cases.len() as f64 / patients.len() as f64;
    assert!((ipp - 1.8).abs() < 0.08, "{ipp}");
    let same_day = cases
        .windows(2)
        .filter(|w| w[0].patient == w[1].patient && w[0].study_date == w[1].study_date)
        .count();
    assert!(same_day > 100);
    assert_eq!(
        plan_cases(&plan, &flat, 7).unwrap(),
        cases,
        "planning is deterministic"
    );
}

/// Writing a cohort gives images, masks and a records table that reads back.
#[test]
fn cohort_is_written_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        size: 64,
        bad_fraction: 0.2,
        ..SynthConfig::default()
    };
    let cases = plan_cases(&CohortPlan::tiny(), &config, 3).unwrap();
    let files = cxr_synth::write_cohort(dir.path(), &cases, &config, None).unwrap();
    assert!(files.failures.is_empty());
    assert_eq!(files.records.len(), cases.len());
    let back = cxr_core::manifest::read_records(&files.records_csv).unwrap();
    assert_eq!(back.len(), cases.len());
    for r in &back {
        let img = cxr_core::load_gray(&r.path).unwrap();
        assert_eq!(img.dimensions(), (64, 64));
        let mask = LungMask::load(&dir.path().join(&r.extras["mask_path"])).unwrap();
        let f: f64 = r.extras["lung_fraction"].parse().unwrap();
        assert!((mask.fraction() - f).abs() < 1e-4);
        assert_eq!(f >= 0.30, r.extras["defect"] == "none", "{}", r.image_id);
    }
    assert!(back.iter().any(|r| r.extras["defect"] != "none"));
}

/// Demographics and cohort plans that would panic or give NaN ages are typed errors.
#[test]
fn bad_demographics_and_plans_are_errors_not_panics() {
    let field = |config: &SynthConfig, plan: &CohortPlan| match plan_cases(plan, config, 1) {
        Err(cxr_synth::Error::InvalidConfig { field, .. }) => field.to_string(),
        Err(cxr_synth::Error::InvalidPlan { field, detail }) => format!("{field}: {detail}"),
        other => panic!("{other:?}"),
    };
    let tiny = CohortPlan::tiny();
    let with = |f: &dyn Fn(&mut Demographics)| {
        let mut c = SynthConfig::default();
        f(&mut c.demographics);
        c
    };
    let cases: [(SynthConfig, &str); 5] = [
        (
            with(&|d| d.covid.age_sd = f64::INFINITY),
            "demographics.covid.age_sd",
        ),
        (
            with(&|d| d.healthy.age_mean = f64::NAN),
            "demographics.healthy.age_mean",
        ),
        (
            with(&|d| d.bacterial.age_sd = -1.0),
            "demographics.bacterial.age_sd",
        ),
        (
            with(&|d| d.bacterial.male = 1.5),
            "demographics.bacterial.male",
        ),
        (
            with(&|d| d.covid.male = f64::NAN),
            "demographics.covid.male",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(field(&config, &tiny), expected);
        assert!(config.validate().is_err());
    }

    let config = SynthConfig::default();
    let plan_with = |f: &dyn Fn(&mut CohortPlan)| {
        let mut p = CohortPlan::tiny();
        f(&mut p);
        p
    };
    for (ipp, text) in [
        (f64::INFINITY, "inf"),
        (1e20, "100000000000000000000"),
        (0.5, "0.5"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(
            field(
                &config,
                &plan_with(&|p| p.sources[0].images_per_patient = ipp)
            ),
            format!("images_per_patient: covid-idc: {text} is not in [1, 1000]")
        );
    }
    assert_eq!(
        field(&config, &plan_with(&|p| p.sources[1].covid = 2_000_000)),
        "covid: chestxray8: 2000000 > 1000000 patients"
    );
    assert_eq!(
        field(
            &config,
            &plan_with(&|p| {
                let again = p.sources[0].clone();
                p.sources.push(again);
            })
        ),
        "sources: covid-idc is listed twice"
    );
    assert_eq!(
        field(&config, &CohortPlan { sources: vec![] }),
        "sources: the plan has no patients"
    );
    // The largest accepted values plan without trouble.
    let big = plan_with(&|p| p.sources[0].images_per_patient = 1000.0);
    let d = with(&|d| d.covid.age_sd = 0.0);
    assert!(plan_cases(&big, &d, 1).unwrap().len() > tiny.patients());
}

/// A confounder outside the lungs changes pixels outside the lungs only, exposure
/// changes every pixel, and a phantom without the feature is the phantom rendered with
/// no confounder configured.
#[test]
fn a_confounder_is_drawn_where_its_kind_says_and_nowhere_else() {
    use cxr_synth::{Confounder, ConfounderKind};
    let plain = SynthConfig::with_size(96);
    for kind in [
        ConfounderKind::Marker,
        ConfounderKind::Border,
        ConfounderKind::Exposure,
    ] {
        let config = SynthConfig {
            confounder: Some(Confounder {
                kind,
                label: Label::Covid,
                strength: 1.0,
                sources: vec![],
                reversed: vec![],
            }),
            ..plain.clone()
        };
        let (mut with, mut without) = (0, 0);
        for seed in 0..6 {
            for label in [Label::Covid, Label::Healthy] {
                let case = CaseSpec::single(seed, label, SourceId::Padchest);
                let a = render(&case, &plain);
                let b = render(&case, &config);
                assert_eq!(b.confounder, Some(label == Label::Covid), "strength 1");
                let record = b.record(std::path::Path::new("x.png"));
                assert_eq!(
                    record.extras["confounder"],
                    if label == Label::Covid { "yes" } else { "no" }
                );
                if label != Label::Covid {
                    assert_eq!(a.image, b.image, "{kind:?}: absent = unconfounded");
                    without += 1;
                    continue;
                }
                with += 1;
                let lungs = a.lungs();
                let (mut inside, mut outside) = (0, 0);
                for (x, y, p) in a.image.enumerate_pixels() {
                    if b.image.get_pixel(x, y) != p {
                        if lungs.contains(x, y) {
                            inside += 1
                        } else {
                            outside += 1
                        }
                    }
                }
                match kind {
                    ConfounderKind::Exposure => assert!(inside > 500 && outside > 500),
                    ConfounderKind::Marker => {
                        assert!(inside == 0 && outside > 50, "{kind:?}: {inside} {outside}")
                    }
                    // The frame is n/12 wide: where a lung reaches the edge of the film it
                    // covers the lung's outermost pixels, as a real collimator would.
                    ConfounderKind::Border => assert!(
                        outside > 1500 && inside * 100 <= outside,
                        "{kind:?}: {inside} {outside}"
                    ),
                }
            }
        }
        assert_eq!((with, without), (6, 6));
    }
    let bad = SynthConfig {
        confounder: Some(Confounder {
            kind: ConfounderKind::Marker,
            label: Label::Covid,
            strength: 1.5,
            sources: vec![],
            reversed: vec![],
        }),
        ..plain
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("confounder.strength")
    );
}
