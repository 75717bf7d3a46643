//! Every adapter, built through the registry, scans its fixture; the counts add up.

use std::path::Path;

use cxr_cohort::{CohortConfig, SourcePolicy, assemble};
use cxr_core::SourceId;

fn root(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sources")
        .join(name)
}

#[test]
fn all_eight_fixtures_scan_through_the_registry() {
    let layout = [
        (SourceId::CovidIdc, "covid-idc"),
        (SourceId::Coviddsl, "coviddsl/hm"),
        (SourceId::Padchest, "padchest"),
        (SourceId::BimcvCovid, "bimcv-covid/iter1"),
        (SourceId::NlmTb, "nlm-tb"),
        (SourceId::TbPortals, "tbportals/niaid"),
        (SourceId::Qmenta, "qmenta"),
        (SourceId::Chestxray8, "chestxray8"),
    ];
    let config = CohortConfig {
        seed: 1,
        sources: layout
            .iter()
            .map(|(id, dir)| SourcePolicy {
                root: Some(root(dir)),
                ..SourcePolicy::keep_all(*id)
            })
            .collect(),
    };
    let scans = cxr_sources::scan_all(&config);
    assert_eq!(scans.len(), 8);
    let mut total_items = 0;
    let mut ok = vec![];
    for (id, scan) in scans {
        let scan = scan.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            !scan.records.is_empty(),
            "{id}: no records from its fixture"
        );
        assert!(
            scan.records
                .iter()
                .all(|r| r.source == id && r.patient.source == id)
        );
        total_items += scan.items();
        ok.push(scan);
    }
    let cohort = assemble(ok, &config).unwrap();
    assert_eq!(cohort.records.len() + cohort.exclusions.len(), total_items);
}

/// The whole cohort stage on the fixtures: files written, split consistent with the
/// manifest and reloadable, tables present.
#[test]
fn build_cohort_writes_everything_and_the_split_reloads() {
    let out = tempfile::tempdir().unwrap();
    let mut config = cxr_sources::BuildConfig::default();
    config.cohort.sources = vec![
        SourcePolicy {
            root: Some(root("covid-idc")),
            ..SourcePolicy::keep_all(SourceId::CovidIdc)
        },
        SourcePolicy {
            root: Some(root("nlm-tb")),
            ..SourcePolicy::keep_all(SourceId::NlmTb)
        },
        SourcePolicy {
            root: Some(root("chestxray8")),
            ..SourcePolicy::keep_all(SourceId::Chestxray8)
        },
        SourcePolicy {
            root: Some(root("no-such-folder")),
            ..SourcePolicy::keep_all(SourceId::Qmenta)
        },
    ];
    let report = cxr_sources::build_cohort(&config, out.path(), None).unwrap();
    assert_eq!(
        report.failed_sources.len(),
        1,
        "the missing root fails alone"
    );
    assert_eq!(report.failed_sources[0].0, SourceId::Qmenta);
    for f in [
        "records.csv",
        "exclusions.csv",
        "duplicates.csv",
        "fingerprints.csv",
        "split.csv",
        "split.csv.sha256",
        "table1.md",
        "table1.csv",
        "table2.md",
        "config.toml",
    ] {
        assert!(out.path().join(f).exists(), "{f} missing");
    }
    let records = cxr_core::manifest::read_records(&out.path().join("records.csv")).unwrap();
    assert_eq!(records.len(), report.images);
    // Every kept image's fingerprints, as the duplicate finder took them, for later
    // steps not to decode the cohort again.
    let prints =
        cxr_cohort::duplicates::read_fingerprints(&out.path().join("fingerprints.csv")).unwrap();
    assert_eq!(prints.len(), records.len());
    for r in &records {
        let img = cxr_dicom::load_record_image(r).unwrap();
        let print = cxr_core::fingerprint::Fingerprint::of_file(&r.path, &img).unwrap();
        assert_eq!(prints[&r.key()], print, "{}", r.path.display());
    }
    let split = cxr_cohort::Split::read(&out.path().join("split.csv")).unwrap();
    assert_eq!(split, report.split);
    for r in &records {
        assert!(
            split.part(&r.patient).is_some(),
            "{} has no part",
            r.patient
        );
    }
    let again = cxr_sources::BuildConfig::load(&out.path().join("config.toml")).unwrap();
    assert_eq!(
        again, config,
        "config.toml reloads to the same configuration"
    );
}

/// Duplicate thresholds that would silently confirm no near duplicate (NaN, negative) or
/// an impossible split fraction are refused by `BuildConfig::load` and `build_cohort`
/// before anything is scanned or written.
#[test]
fn bad_thresholds_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let toml_path = dir.path().join("cohort.toml");
    for (text, field) in [
        (
            "[duplicates]\nmax_thumbnail_mad = nan\n",
            "duplicates.max_thumbnail_mad",
        ),
        (
            "[duplicates]\nmax_thumbnail_mad = -1.0\n",
            "duplicates.max_thumbnail_mad",
        ),
        (
            "[duplicates]\nmax_hamming = 100\n",
            "duplicates.max_hamming",
        ),
    ] {
        std::fs::write(&toml_path, text).unwrap();
        let e = cxr_sources::BuildConfig::load(&toml_path).unwrap_err();
        assert!(
            matches!(&e, cxr_cohort::Error::InvalidConfig { field: f, .. } if *f == field),
            "{text}: {e}"
        );
    }
    let mut config = cxr_sources::BuildConfig::default();
    config.cohort.sources = vec![SourcePolicy {
        root: Some(root("covid-idc")),
        ..SourcePolicy::keep_all(SourceId::CovidIdc)
    }];
    config.duplicates.max_thumbnail_mad = f64::NAN;
    let out = dir.path().join("out");
    let e = cxr_sources::build_cohort(&config, &out, None).unwrap_err();
    assert!(
        matches!(
            &e,
            cxr_cohort::Error::InvalidConfig {
                field: "duplicates.max_thumbnail_mad",
                ..
            }
        ),
        "{e}"
    );
    config.duplicates.max_thumbnail_mad = 3.0;
    config.split.train_fraction = 2.0;
    let e = cxr_sources::build_cohort(&config, &out, None).unwrap_err();
    assert!(
        matches!(
            &e,
            cxr_cohort::Error::InvalidConfig {
                field: "train_fraction",
                ..
            }
        ),
        "{e}"
    );
    assert!(!out.exists(), "nothing written");
}
