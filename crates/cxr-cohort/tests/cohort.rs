//! Acceptance tests of the cohort: policy, duplicates, splits, tables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cxr_cohort::split::split;
use cxr_cohort::{
    CohortConfig, DuplicateKind, DuplicateOptions, Part, Split, SplitConfig, TransferSpec,
    assemble, duplicates, find_duplicates, table1, table2,
};
use cxr_core::{ExclusionReason, ImageRecord, Label, PatientId, Scan, SourceId};
use cxr_synth::{CohortPlan, SynthConfig, plan_cases};
use proptest::prelude::*;

/// Records of a synthetic cohort with the paper's Table 1 composition (no pixels).
fn paper_records(scale: f64) -> Vec<ImageRecord> {
    let config = SynthConfig::default();
    plan_cases(&CohortPlan::paper_table1(scale), &config, 1)
        .unwrap()
        .iter()
        .map(|c| c.record(Path::new(&format!("{}.png", c.image_id))))
        .collect()
}

fn scan(records: Vec<ImageRecord>) -> Scan {
    Scan {
        records,
        exclusions: vec![],
    }
}

#[test]
fn policy_keeps_labels_samples_controls_and_accounts_for_everything() {
    let records = paper_records(0.05);
    let n = records.len();
    let mut config = CohortConfig::paper();
    // Scaled: sample 100 of ChestX-ray8's 249 healthy patients.
    config
        .sources
        .iter_mut()
        .find(|p| p.source == SourceId::Chestxray8)
        .unwrap()
        .sample_healthy = Some(100);
    let cohort = assemble(vec![scan(records.clone())], &config).unwrap();
    assert_eq!(
        cohort.records.len() + cohort.exclusions.len(),
        n,
        "nothing disappears"
    );
    let patients = |src: SourceId, label: Label| {
        cohort
            .records
            .iter()
            .filter(|r| r.source == src && r.label == label)
            .map(|r| &r.patient)
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!(patients(SourceId::Chestxray8, Label::Healthy), 100);
    // Coviddsl keeps only covid; BIMCV only covid; the paper policy keeps PadChest bacterial.
    assert_eq!(patients(SourceId::Padchest, Label::Bacterial), 3);
    let not_kept = cohort
        .exclusions
        .iter()
        .filter(|e| matches!(e.reason, ExclusionReason::LabelNotKept { .. }))
        .count();
    let sampled_out = cohort
        .exclusions
        .iter()
        .filter(|e| e.reason == ExclusionReason::NotSampled)
        .count();
    assert!(sampled_out > 0);
    assert_eq!(
        not_kept, 0,
        "the synthetic paper plan has no label the policy drops"
    );
    // Same seed, same sample.
    let again = assemble(vec![scan(records)], &config).unwrap();
    assert_eq!(again, cohort);
}

#[test]
fn labels_not_kept_become_exclusions() {
    let mut records = paper_records(0.01);
    for r in records
        .iter_mut()
        .filter(|r| r.source == SourceId::Coviddsl)
        .take(3)
    {
        r.label = Label::Healthy;
    }
    let cohort = assemble(vec![scan(records)], &CohortConfig::paper()).unwrap();
    let dropped: Vec<_> = cohort
        .exclusions
        .iter()
        .filter(|e| {
            e.reason
                == ExclusionReason::LabelNotKept {
                    label: Label::Healthy,
                }
        })
        .collect();
    assert_eq!(dropped.len(), 3);
    assert!(dropped.iter().all(|e| e.source == SourceId::Coviddsl));
}

/// The paper preset on records scaled to Table 1 reproduces Table 1's composition.
#[test]
fn paper_preset_reproduces_table1_proportions() {
    let records = paper_records(0.1);
    let cohort = assemble(vec![scan(records)], &CohortConfig::paper()).unwrap();
    let rows = table1(&cohort.records);
    let by: BTreeMap<&str, _> = rows.iter().map(|r| (r.source.as_str(), r)).collect();
    // Table 1 × 0.1 (PadChest's covid patients are BIMCV-COVID19+).
    let expect = [
        ("Covid-19 Image Data Collection", 18, 17, 0),
        ("COVIDDSL", 172, 172, 0),
        ("NIH ChestX-ray8", 498, 0, 0),
        ("PadChest", 468, 0, 7),
        ("PadChest-covid (BIMCV-COVID19+)", 126, 126, 0),
        ("TB Portals", 50, 0, 42),
        ("U.S. NLM Tuberculosis Datasets", 80, 0, 39),
        ("QMenta", 255, 0, 143),
    ];
    for (name, patients, covid, bacterial) in expect {
        let r = by[name];
        assert_eq!(
            (r.patients, r.covid, r.bacterial),
            (patients, covid, bacterial),
            "{name}"
        );
    }
    let total = rows.last().unwrap();
    assert_eq!(total.source, "TOTAL");
    assert_eq!(total.patients, 1667);
    let covid_share = total.covid as f64 / total.patients as f64;
    assert!((covid_share - 0.189).abs() < 0.003, "{covid_share}");
    // Images per patient follow the per-source means (COVIDDSL 3.0, NLM 1.0).
    assert!((by["COVIDDSL"].images_per_patient() - 3.0).abs() < 0.25);
    assert_eq!(
        by["U.S. NLM Tuberculosis Datasets"].images_per_patient(),
        1.0
    );
    // Table 2: covid patients older and more often male; TB sources have no demographics.
    let t2 = table2(&cohort.records, 5);
    assert!(t2.covid.age_mean.unwrap() > t2.other.age_mean.unwrap() + 8.0);
    assert!(t2.age_p.unwrap() < 1e-6);
    assert!(t2.covid.sex_known < t2.covid.patients || t2.other.sex_known < t2.other.patients);
    assert!(
        t2.little_mcar_p.is_some(),
        "missing demographics → Little's test"
    );
    assert!(t2.age_p_imputed.unwrap() < 1e-6);
}

fn parts_by_label(records: &[ImageRecord], s: &Split) -> BTreeMap<(Label, Part), usize> {
    let mut seen = BTreeSet::new();
    let mut m = BTreeMap::new();
    for r in records {
        if seen.insert(&r.patient) {
            *m.entry((r.label, s.part(&r.patient).unwrap())).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn splits_are_stratified_at_every_paper_fraction() {
    let records = paper_records(0.05);
    for frac in [0.33, 0.5, 0.66, 0.9] {
        let s = split(
            &records,
            &[],
            &SplitConfig {
                train_fraction: frac,
                ..SplitConfig::default()
            },
        )
        .unwrap();
        let m = parts_by_label(&records, &s);
        for label in Label::ALL {
            let tr = m.get(&(*label, Part::Train)).copied().unwrap_or(0);
            let va = m.get(&(*label, Part::Validation)).copied().unwrap_or(0);
            let te = m.get(&(*label, Part::Test)).copied().unwrap_or(0);
            let total = tr + va + te;
            let want = (frac * total as f64).round() as usize;
            assert_eq!(tr + va, want, "{label} at {frac}");
            assert_eq!(
                va,
                (0.1 * want as f64).round() as usize,
                "{label} validation at {frac}"
            );
        }
    }
}

#[test]
fn forced_patients_train_and_transfer_design() {
    let records = paper_records(0.05);
    let forced: Vec<PatientId> = records
        .iter()
        .filter(|r| r.label == Label::Covid)
        .take(5)
        .map(|r| r.patient.clone())
        .collect();
    let s = split(
        &records,
        &[],
        &SplitConfig {
            forced_train: forced.clone(),
            ..SplitConfig::default()
        },
    )
    .unwrap();
    assert!(forced.iter().all(|p| s.part(p) == Some(Part::Train)));
    let bimcv: BTreeSet<&PatientId> = records
        .iter()
        .filter(|r| r.source == SourceId::BimcvCovid)
        .map(|r| &r.patient)
        .collect();
    for add_back in [0usize, 10, 30] {
        let config = SplitConfig {
            transfer: Some(TransferSpec {
                source: SourceId::BimcvCovid,
                add_back,
            }),
            ..SplitConfig::default()
        };
        let s = split(&records, &[], &config).unwrap();
        let seen_in_training = bimcv
            .iter()
            .filter(|p| s.part(p) != Some(Part::Test))
            .count();
        assert_eq!(seen_in_training, add_back);
    }
    let too_many = SplitConfig {
        transfer: Some(TransferSpec {
            source: SourceId::BimcvCovid,
            add_back: 10_000,
        }),
        ..SplitConfig::default()
    };
    assert!(split(&records, &[], &too_many).is_err());
}

#[test]
fn split_round_trips_through_csv_with_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let records = paper_records(0.02);
    let s = split(&records, &[], &SplitConfig::default()).unwrap();
    let path = dir.path().join("split.csv");
    let hash = s.write(&path).unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(Split::read(&path).unwrap(), s);
    // Tampering is detected.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("test", "train", 1);
    std::fs::write(&path, text).unwrap();
    let e = Split::read(&path).unwrap_err().to_string();
    assert!(e.contains("split.csv") && e.contains("hash"), "{e}");
    // A table with other columns (and a hash made to match) is refused too: the first
    // column would have been read as patients whatever it held.
    let text = "part,patient_id\ntest,padchest:p1\n";
    std::fs::write(&path, text).unwrap();
    let hex: String = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        dir.path().join("split.csv.sha256"),
        format!("{hex}  split.csv\n"),
    )
    .unwrap();
    let e = Split::read(&path).unwrap_err().to_string();
    assert!(e.contains("columns"), "{e}");
}

/// Exact copies are found and dropped, near copies (re-encoded with a small change,
/// under another source) are grouped, and the split keeps each group on one side.
#[test]
fn duplicates_are_grouped_and_never_cross_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        size: 64,
        ..SynthConfig::default()
    };
    let cases = plan_cases(&CohortPlan::tiny(), &config, 9).unwrap();
    let files = cxr_synth::write_cohort(dir.path(), &cases, &config, None).unwrap();
    let mut records = files.records.clone();
    // Exact copy of image 0 under a new patient; near copy of image 3 (brightened) under another source.
    let mut exact = records[0].clone();
    exact.patient = PatientId::new(SourceId::Padchest, "copy");
    exact.source = SourceId::Padchest;
    exact.image_id = "exact-copy".into();
    exact.path = dir.path().join("exact.png");
    std::fs::copy(&records[0].path, &exact.path).unwrap();
    let mut near = records[3].clone();
    near.patient = PatientId::new(SourceId::Padchest, "near");
    near.source = SourceId::Padchest;
    near.image_id = "near-copy".into();
    near.path = dir.path().join("near.png");
    let mut img = cxr_core::load_gray(&records[3].path).unwrap();
    for p in img.pixels_mut() {
        p.0[0] = p.0[0].saturating_add(3);
    }
    cxr_core::save_png(&near.path, &img).unwrap();
    records.push(exact);
    records.push(near);

    let report = find_duplicates(&records, &DuplicateOptions::default(), None);
    assert!(report.failures.is_empty());
    // The fingerprints, kept beside the cohort, read back by image key.
    let prints = duplicates::prints_by_key(&records, &report);
    assert_eq!(prints.len(), records.len());
    let kept = dir.path().join("fingerprints.csv");
    duplicates::write_fingerprints(&kept, &records, &prints).unwrap();
    assert_eq!(duplicates::read_fingerprints(&kept).unwrap(), prints);
    let exact_print = &prints[&records[records.len() - 2].key()];
    assert_eq!(exact_print, &prints[&records[0].key()]);
    // A damaged row is named by file, line and column.
    let text = std::fs::read_to_string(&kept).unwrap();
    let line3 = text.lines().nth(2).unwrap();
    let second = &prints[&records[1].key()];
    let damaged = line3.replacen(&format!("{:016x}", second.dhash), "nothex", 1);
    let damaged = text.replacen(line3, &damaged, 1);
    std::fs::write(&kept, damaged).unwrap();
    let e = duplicates::read_fingerprints(&kept).unwrap_err();
    assert!(
        matches!(&e, cxr_core::Error::BadField { line: 3, column, .. } if column == "dhash"),
        "{e}"
    );
    assert!(e.to_string().contains("fingerprints.csv"), "{e}");
    let exact_groups: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.kind == DuplicateKind::Exact)
        .collect();
    assert_eq!(exact_groups.len(), 1);
    assert_eq!(exact_groups[0].members, vec![0, records.len() - 2]);
    let near_groups: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.kind == DuplicateKind::Near)
        .collect();
    assert!(
        near_groups
            .iter()
            .any(|g| g.members.contains(&3) && g.members.contains(&(records.len() - 1)))
    );

    let mut cohort = cxr_cohort::Cohort {
        records,
        exclusions: vec![],
    };
    let groups = duplicates::drop_exact_duplicates(&mut cohort, &report).unwrap();
    assert_eq!(cohort.exclusions.len(), 1);
    assert!(
        matches!(&cohort.exclusions[0].reason, ExclusionReason::Duplicate { of } if *of == cohort.records[0].image_id)
    );
    for seed in 0..20 {
        let s = split(
            &cohort.records,
            &groups,
            &SplitConfig {
                seed,
                ..SplitConfig::default()
            },
        )
        .unwrap();
        s.check(&cohort.records, &groups).unwrap();
        let near_idx = cohort
            .records
            .iter()
            .position(|r| r.image_id == "near-copy")
            .unwrap();
        let a = s.part(&cohort.records[3].patient);
        assert_eq!(a, s.part(&cohort.records[near_idx].patient), "seed {seed}");
    }
    duplicates::write_groups(&dir.path().join("duplicates.csv"), &groups, &cohort.records).unwrap();
}

/// Hand-made duplicate groups that are empty or index past the records are refused
/// with a typed error by every function that reads them (they used to panic), and no
/// file is written nor record dropped.
#[test]
fn malformed_duplicate_groups_are_refused() {
    use cxr_cohort::{DuplicateGroup, Error, duplicates::DuplicateReport};
    let records: Vec<ImageRecord> = paper_records(0.01).into_iter().take(10).collect();
    assert_eq!(records.len(), 10);
    let bad = [
        vec![DuplicateGroup {
            kind: DuplicateKind::Exact,
            members: vec![],
        }],
        vec![DuplicateGroup {
            kind: DuplicateKind::Exact,
            members: vec![0, 999],
        }],
        vec![DuplicateGroup {
            kind: DuplicateKind::Near,
            members: vec![999],
        }],
    ];
    let is_groups = |e: &Error| {
        matches!(
            e,
            Error::InvalidConfig {
                field: "groups",
                ..
            }
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for groups in &bad {
        let e = split(&records, groups, &SplitConfig::default()).unwrap_err();
        assert!(is_groups(&e), "split: {e:?}");
        let s = split(&records, &[], &SplitConfig::default()).unwrap();
        let e = s.check(&records, groups).unwrap_err();
        assert!(is_groups(&e), "check: {e:?}");
        let mut cohort = cxr_cohort::Cohort {
            records: records.clone(),
            exclusions: vec![],
        };
        let report = DuplicateReport {
            groups: groups.clone(),
            failures: vec![],
            prints: vec![],
        };
        let e = duplicates::drop_exact_duplicates(&mut cohort, &report).unwrap_err();
        assert!(is_groups(&e), "drop: {e:?}");
        assert_eq!(cohort.records, records);
        assert!(cohort.exclusions.is_empty());
        let out = dir.path().join("duplicates.csv");
        let e = duplicates::write_groups(&out, groups, &records).unwrap_err();
        assert!(is_groups(&e), "write: {e:?}");
        assert!(!out.exists());
    }
    // An exact group listing its kept record again would exclude it as its own copy.
    let mut cohort = cxr_cohort::Cohort {
        records: records.clone(),
        exclusions: vec![],
    };
    let report = DuplicateReport {
        groups: vec![DuplicateGroup {
            kind: DuplicateKind::Exact,
            members: vec![2, 2],
        }],
        failures: vec![],
        prints: vec![],
    };
    let e = duplicates::drop_exact_duplicates(&mut cohort, &report).unwrap_err();
    assert!(is_groups(&e), "{e:?}");
    assert_eq!(cohort.records.len(), 10);
}

/// A source of the user's own gets a Table 1 row after the adapters' sources, and its
/// patients are split like the others, stratified by source.
#[test]
fn a_user_source_is_a_source_like_the_others() {
    let mine: SourceId = "my-hospital".parse().unwrap();
    let mut records: Vec<ImageRecord> = paper_records(0.02);
    let n_paper = records.len();
    for i in 0..40 {
        let mut r = ImageRecord::new(
            PatientId::new(mine, format!("{}", i / 2)),
            format!("m{i}"),
            format!("m{i}.png"),
            [Label::Healthy, Label::Covid][(i / 2) % 2],
            "",
            cxr_core::View::Unknown,
        );
        r.age = Some(50.0 + i as f32);
        records.push(r);
    }
    let rows = table1(&records);
    let names: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(names[names.len() - 2..], ["my-hospital", "TOTAL"]);
    let mine_row = &rows[rows.len() - 2];
    assert_eq!((mine_row.patients, mine_row.images), (20, 40));
    assert_eq!(mine_row.covid, 10);
    assert_eq!(rows.last().unwrap().images, n_paper + 40);
    let config = SplitConfig {
        stratify_by_source: true,
        ..SplitConfig::default()
    };
    let s = split(&records, &[], &config).unwrap();
    let test_mine = records
        .iter()
        .filter(|r| r.source == mine && s.part(&r.patient) == Some(Part::Test))
        .map(|r| r.patient.clone())
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(
        test_mine, 10,
        "half of the user source's 20 patients in the test part"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Whatever the fractions and seed, every patient is in exactly one part and the
    /// parts cover all patients.
    #[test]
    fn no_patient_in_two_parts(frac in 0.0f64..1.0, val in 0.0f64..0.5, seed in 0u64..1000, by_source: bool) {
        let records = paper_records(0.01);
        let s = split(&records, &[], &SplitConfig {
            train_fraction: frac, validation_fraction: val, seed, stratify_by_source: by_source,
            ..SplitConfig::default()
        }).unwrap();
        let patients: BTreeSet<&PatientId> = records.iter().map(|r| &r.patient).collect();
        let total: usize = s.counts().values().sum();
        prop_assert_eq!(total, patients.len());
        for p in &patients {
            prop_assert!(s.part(p).is_some());
        }
    }
}
