//! The COVIDDSL adapter over `fixtures/sources/coviddsl` (written by
//! `scripts/fixtures/make_source_fixtures.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cxr_core::{Exclusion, ExclusionReason, Label, Scan, ScanError, Sex, Source, View};
use cxr_source_coviddsl::{CoviddslOptions, CoviddslSource};

fn fixture(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sources/coviddsl")
        .join(sub)
}

fn kinds(ex: &[Exclusion]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in ex {
        *m.entry(e.reason.kind()).or_default() += 1;
    }
    m
}

fn excl<'a>(scan: &'a Scan, file: &str) -> &'a ExclusionReason {
    &scan
        .exclusions
        .iter()
        .find(|e| e.path.as_deref().is_some_and(|p| p.ends_with(file)))
        .unwrap_or_else(|| panic!("no exclusion {file}"))
        .reason
}

#[test]
fn dicom_tree_joined_to_both_clinical_releases() {
    let scan = CoviddslSource::default().scan(&fixture("hm")).unwrap();
    // 11 DICOM candidates (notes.txt is not one) + 1 truncated clinical row.
    assert_eq!(scan.items(), 12);
    assert_eq!(scan.records.len(), 3);
    assert_eq!(
        kinds(&scan.exclusions),
        BTreeMap::from([
            ("malformed_row", 2),
            ("not_for_presentation", 1),
            ("not_frontal", 2),
            ("not_xray", 1),
            ("unknown_label", 3),
        ])
    );
    // A frontal DX of a covid patient, but raw detector data.
    assert_eq!(
        excl(&scan, "IM000011.DC3"),
        &ExclusionReason::NotForPresentation {
            intent: "FOR PROCESSING".into()
        }
    );
    let r = &scan.records;
    assert_eq!(
        r.iter().map(|r| r.patient.to_string()).collect::<Vec<_>>(),
        ["coviddsl:1001", "coviddsl:1002", "coviddsl:2001"]
    );
    assert!(r.iter().all(|r| r.label == Label::Covid));
    assert_eq!(r[0].label_reason, "DIAG ING/INPAT=COVID19 - POSITIVO");
    assert_eq!(r[1].label_reason, "DIAG ING/INPAT=COVID19 - PENDIENTE");
    // V3 is ISO-8859-1: the accent survives decoding.
    assert_eq!(r[2].label_reason, "DIAGNOSTICO_ING=NEUMONÍA POR COVID-19");
    assert_eq!(
        r.iter().map(|r| r.view).collect::<Vec<_>>(),
        [View::Pa, View::Ap, View::Pa]
    );
    assert_eq!(
        r.iter().map(|r| r.age).collect::<Vec<_>>(),
        [Some(85.0), Some(72.0), Some(58.0)]
    );
    assert_eq!(
        r.iter().map(|r| r.sex).collect::<Vec<_>>(),
        [Some(Sex::Male), Some(Sex::Female), Some(Sex::Female)]
    );
    assert_eq!(r[0].study_date.unwrap().to_string(), "2020-03-16");
    assert_eq!(r[0].image_id, "1.2.826.0.1.3680043.8.498.77.3.1");
    assert!(r[1].path.ends_with("1002/ST2/IM000003"));
    assert_eq!(r[1].extras["invert"], "true");
    assert_eq!(r[1].extras["discharge"], "Fallecimiento");
    assert_eq!(r[0].extras["release"], "V2");
    assert_eq!(r[2].extras["release"], "V3");
    assert_eq!(r[2].extras["discharge"], "Traslado al Hospital");

    assert_eq!(
        excl(&scan, "IM000002.DC3"),
        &ExclusionReason::NotFrontal { view: "LL".into() }
    );
    assert_eq!(
        excl(&scan, "IM000010.DC3"),
        &ExclusionReason::NotFrontal {
            view: String::new()
        }
    );
    assert_eq!(
        excl(&scan, "IM000004.dcm"),
        &ExclusionReason::NotXray {
            modality: "CT".into()
        }
    );
    assert_eq!(
        excl(&scan, "IM000005.DC3"),
        &ExclusionReason::UnknownLabel {
            finding: "NEUMONIA BACTERIANA".into()
        }
    );
    assert_eq!(
        excl(&scan, "IM000008.DC3"),
        &ExclusionReason::UnknownLabel {
            finding: "INFECCIÓN RESPIRATORIA".into()
        }
    );
    assert_eq!(
        excl(&scan, "IM000006.DC3"),
        &ExclusionReason::UnknownLabel {
            finding: "Patient ID 9999 not in the clinical tables".into()
        }
    );
    assert!(
        matches!(excl(&scan, "IM000009.DC3"), ExclusionReason::MalformedRow { detail } if detail.contains("not a DICOM file"))
    );
    let clinical = scan.exclusions.iter().find(|e| e.file.is_some()).unwrap();
    assert!(clinical.file.as_ref().unwrap().ends_with("CDSL_01.csv"));
    assert_eq!(clinical.row, Some(5));
}

#[test]
fn without_the_diagnosis_rule_every_frontal_image_is_covid() {
    let source = CoviddslSource::new(CoviddslOptions {
        require_covid_diagnosis: false,
        ..Default::default()
    });
    let scan = source.scan(&fixture("hm")).unwrap();
    assert_eq!(scan.items(), 12);
    assert_eq!(scan.records.len(), 6);
    let unknown = scan
        .records
        .iter()
        .find(|r| r.patient.local == "9999")
        .unwrap();
    // Not in the clinical tables: age and sex from the DICOM header.
    assert_eq!((unknown.age, unknown.sex), (None, Some(Sex::Female)));
    let p2002 = scan
        .records
        .iter()
        .find(|r| r.patient.local == "2002")
        .unwrap();
    assert_eq!(p2002.age, Some(80.0));
}

#[test]
fn neutral_manifest() {
    let scan = CoviddslSource::default()
        .scan(&fixture("manifest"))
        .unwrap();
    assert_eq!(scan.items(), 9);
    assert_eq!(scan.records.len(), 2);
    assert_eq!(
        kinds(&scan.exclusions),
        BTreeMap::from([
            ("malformed_row", 2),
            ("missing_file", 1),
            ("not_frontal", 1),
            ("not_xray", 1),
            ("unknown_label", 1),
            ("unparseable_date", 1),
        ])
    );
    let a = &scan.records[0];
    assert_eq!(a.label_reason, "PCR POSITIVO 2020-03-18");
    assert_eq!(
        (a.age, a.sex, a.view),
        (Some(67.0), Some(Sex::Male), View::Pa)
    );
    let c = &scan.records[1];
    assert_eq!(
        (c.label, c.view, c.day_offset),
        (Label::Bacterial, View::ApSupine, Some(-3))
    );
    assert_eq!(c.label_reason, "manifest label=bacterial");
    let rows: Vec<u64> = scan.exclusions.iter().map(|e| e.row.unwrap()).collect();
    assert_eq!(rows, [3, 5, 6, 7, 8, 9, 10]);
}

#[test]
fn malformed_tables_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = CoviddslSource::default().scan(dir.path()).unwrap_err();
    assert!(matches!(e, ScanError::MissingLayout { .. }), "{e}");
    // V2 table written with commas instead of semicolons.
    std::fs::write(
        dir.path().join("CDSL_01.csv"),
        "PATIENT ID,EDAD/AGE,SEXO/SEX,DIAG ING/INPAT\n1,2,MALE,COVID19\n",
    )
    .unwrap();
    let e = CoviddslSource::default().scan(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("CDSL_01.csv") && e.to_string().contains("wrong delimiter"),
        "{e}"
    );
    // V3 table without its diagnosis column; ISO-8859-1 bytes never fail to decode.
    std::fs::remove_file(dir.path().join("CDSL_01.csv")).unwrap();
    std::fs::write(
        dir.path().join("COVID_DSL_01.CSV"),
        b"IDINGRESO|EDAD|SEX\n1|2|\xD1\xFF\n",
    )
    .unwrap();
    let e = CoviddslSource::default().scan(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("missing column `diaging/inpat`")
            && e.to_string().contains("line 1"),
        "{e}"
    );
    // Clinical table present, DICOM tree absent.
    std::fs::write(
        dir.path().join("COVID_DSL_01.CSV"),
        b"IDINGRESO|EDAD|SEX|DIAGNOSTICO_ING\n1|2|\xD1\xFF|COVID\n",
    )
    .unwrap();
    let e = CoviddslSource::default().scan(dir.path()).unwrap_err();
    assert!(
        matches!(e, ScanError::MissingLayout { what, .. } if what.contains("COVID19_DICOM_STUDIES")),
        "{e}"
    );
}
