//! Every image reaches the models with bright bone, whatever its source stored: a
//! BIMCV-COVID19+ PNG kept with MONOCHROME1 polarity is inverted where records' images
//! are loaded, and only that one.

use std::path::{Path, PathBuf};

use cxr_core::image_io::{ImageBuffer, Luma};
use cxr_core::{ImageRecord, Source};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources/bimcv-covid/iter1")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A 16-bit 64 × 64 "radiograph" as stored: a bone column in the middle (12 px wide),
/// air around it. MONOCHROME1 stores bone low and air high; MONOCHROME2 the reverse.
fn radiograph(monochrome1: bool) -> ImageBuffer<Luma<u16>, Vec<u16>> {
    let (bone, air) = if monochrome1 {
        (400, 3600)
    } else {
        (3600, 400)
    };
    ImageBuffer::from_fn(64, 64, |x, _| {
        Luma([if (26..38).contains(&x) { bone } else { air }])
    })
}

fn bone_is_bright(r: &ImageRecord) -> bool {
    let img = cxr_dicom::load_record_image(r).unwrap();
    img.get_pixel(32, 32).0[0] == 255 && img.get_pixel(2, 32).0[0] == 0
}

#[test]
fn bimcv_monochrome1_pngs_are_inverted_where_records_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), dir.path());
    let source = cxr_source_bimcv_covid::BimcvCovidSource::default();
    let scan = source.scan(dir.path()).unwrap();
    let (mono1, mono2): (Vec<&ImageRecord>, Vec<&ImageRecord>) = scan
        .records
        .iter()
        .partition(|r| r.extras.get("photometric").map(String::as_str) == Some("MONOCHROME1"));
    assert!(
        !mono1.is_empty() && !mono2.is_empty(),
        "the fixture has both"
    );
    // Each image file replaced by a 16-bit radiograph stored as its sidecar says.
    for r in &mono1 {
        radiograph(true).save(&r.path).unwrap();
        assert!(r.load_options().invert);
    }
    for r in &mono2 {
        radiograph(false).save(&r.path).unwrap();
        assert!(!r.load_options().invert);
    }
    // As stored, the MONOCHROME1 files are dark bone; loaded for a record, every one is
    // bright bone.
    let raw = cxr_core::load_gray(&mono1[0].path).unwrap();
    assert_eq!(raw.get_pixel(32, 32).0[0], 0);
    for r in mono1.iter().chain(&mono2) {
        assert!(bone_is_bright(r), "{}", r.path.display());
    }
}

/// A duplicate check that loads images for their records sees a MONOCHROME1 copy of a
/// MONOCHROME2 image as the same picture.
#[test]
fn an_inverted_copy_is_found_as_a_near_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), dir.path());
    let scan = cxr_source_bimcv_covid::BimcvCovidSource::default()
        .scan(dir.path())
        .unwrap();
    let mono1 = scan
        .records
        .iter()
        .find(|r| r.load_options().invert)
        .unwrap()
        .clone();
    let mono2 = scan
        .records
        .iter()
        .find(|r| !r.load_options().invert)
        .unwrap()
        .clone();
    radiograph(true).save(&mono1.path).unwrap();
    radiograph(false).save(&mono2.path).unwrap();
    let records = vec![mono1, mono2];
    let load = |r: &ImageRecord| -> Result<cxr_core::GrayImage, cxr_cohort::duplicates::LoadError> {
        Ok(cxr_dicom::load_record_image(r)?)
    };
    let report = cxr_cohort::duplicates::find_duplicates_with(
        &records,
        &cxr_cohort::DuplicateOptions::default(),
        None,
        &load,
    );
    assert!(report.failures.is_empty());
    assert_eq!(report.groups.len(), 1, "{:?}", report.groups);
    assert_eq!(report.groups[0].members, vec![0, 1]);
}
