//! The CheXmask reader on a table laid out like CheXmask's, written with CheXmask's own
//! encoding by `scripts/reference/chexmask_reference.py`, which also wrote each usable
//! row's mask as CheXmask's decoder draws it (`tests/reference/chexmask/expected/`).

use std::path::{Path, PathBuf};

use cxr_core::image_io::Luma;
use cxr_core::{GrayImage, save_png};
use cxr_source_nlm_tb::masks::{
    ChexmaskOptions, Error, MaskSource, PixelLabel, chexmask, folder_pair, folder_pair_with,
};

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/chexmask")
}

fn dicom_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cxr-dicom/tests/fixtures")
        .join(name)
}

fn put(path: &Path, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = GrayImage::from_fn(w, h, |x, y| Luma([(x * 7 + y * 3) as u8]));
    if path.extension().is_some_and(|e| e == "jpg") {
        image::DynamicImage::ImageLuma8(img).save(path).unwrap();
    } else {
        save_png(path, &img).unwrap();
    }
}

/// The images of the table's rows as the databases lay them out: ChestX-ray8's PNGs in
/// `images_001/images/`, CheXpert's JPEG under its path, a VinDr DICOM `<id>.dicom`.
fn database(root: &Path) {
    put(&root.join("images_001/images/00000001_000.png"), 24, 20);
    put(&root.join("images_001/images/00000003_000.png"), 24, 20);
    put(&root.join("images_001/images/00000004_000.png"), 24, 20);
    put(&root.join("images_001/images/00000006_000.png"), 24, 20);
    put(&root.join("images_001/images/00000007_000.png"), 24, 20);
    put(
        &root.join("chexpert/train/patient00002/study1/view1_frontal.jpg"),
        24,
        20,
    );
    std::fs::create_dir_all(root.join("vindr/train")).unwrap();
    std::fs::copy(
        dicom_fixture("IM000001"),
        root.join("vindr/train/vindr0001.dicom"),
    )
    .unwrap();
}

#[test]
fn rows_decode_as_chexmask_decodes_them_and_find_their_images() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    let table = reference().join("table.csv");
    let (mut set, report) = chexmask(&table, dir.path(), &ChexmaskOptions::default()).unwrap();

    assert_eq!(report.rows, 8);
    assert_eq!(report.below_quality, 1, "0.52 < 0.7");
    assert!(!report.not_read);
    assert_eq!(report.bad_rows.len(), 2, "{:?}", report.bad_rows);
    assert!(
        report.bad_rows[0].starts_with("line 8 (00000006_000.png): Left Lung: run 470 + 20"),
        "{}",
        report.bad_rows[0]
    );
    assert!(
        report.bad_rows[1].contains("line 9") && report.bad_rows[1].contains("`n/a`"),
        "{}",
        report.bad_rows[1]
    );
    assert_eq!(set.masks_without_image, [PathBuf::from("00000005_000.png")]);

    let lines: Vec<u64> = set
        .pairs
        .iter()
        .map(|p| match &p.mask {
            MaskSource::Rle(r) => r.line,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    let names: Vec<String> = set
        .pairs
        .iter()
        .map(|p| {
            p.image
                .strip_prefix(dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "images_001/images/00000001_000.png",
            "chexpert/train/patient00002/study1/view1_frontal.jpg",
            "vindr/train/vindr0001.dicom",
            "images_001/images/00000003_000.png",
        ],
        "by file name, by the tail of a path under the root, by name without `.dicom`"
    );
    assert_eq!(set.pairs[1].group.as_deref(), Some("patient00002"));
    assert_eq!(set.pairs[0].group, None);

    // Every mask equals the peer's decoding, pixel for pixel.
    for (pair, line) in set.pairs.iter().zip(&lines) {
        let expected =
            cxr_core::load_gray(&reference().join(format!("expected/line{line}.png"))).unwrap();
        let mask = pair.load_mask().unwrap();
        assert_eq!(mask.dimensions(), expected.dimensions(), "line {line}");
        for (y, row) in expected.rows().enumerate() {
            for (x, v) in row.enumerate() {
                let want = if v.0[0] == 255 {
                    PixelLabel::Lung
                } else {
                    PixelLabel::Background
                };
                assert_eq!(mask.get(x as u32, y as u32), want, "line {line} ({x}, {y})");
            }
        }
        assert!(mask.count(PixelLabel::Lung) > 20, "line {line}");
    }

    // PNG and JPEG load as they are; the DICOM file needs a reader that reads DICOM,
    // and its error names it until it has one.
    let (img, mask) = set.pairs[1].load().unwrap();
    assert_eq!((img.dimensions(), mask.dimensions()), ((24, 20), (24, 20)));
    let e = set.pairs[2].load().unwrap_err();
    assert!(matches!(e, Error::Image { .. }), "{e:?}");
    assert!(e.to_string().contains("vindr0001.dicom"), "{e}");
    set.read_images_with(cxr_dicom::IMAGE_FILES);
    let (img, mask) = set.pairs[2].load().unwrap();
    assert_eq!(img.dimensions(), (65, 63));
    assert_eq!(mask.dimensions(), (65, 63));
    assert_eq!(
        img,
        cxr_dicom::load_image(&dicom_fixture("IM000001")).unwrap()
    );

    // ChestX-ray8's patients: the name before `_`; the CheXpert pair keeps its own.
    assert_eq!(set.group_by_name_prefix("_"), 4);
    assert_eq!(set.pairs[0].group.as_deref(), Some("00000001"));
    assert_eq!(set.pairs[1].group.as_deref(), Some("patient00002"));
}

#[test]
fn quality_threshold_and_limit_are_options() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    let table = reference().join("table.csv");
    let all = ChexmaskOptions {
        min_dice_rca: 0.0,
        limit: None,
    };
    let (set, report) = chexmask(&table, dir.path(), &all).unwrap();
    assert_eq!((set.pairs.len(), report.below_quality), (5, 0));
    let two = ChexmaskOptions {
        limit: Some(2),
        ..ChexmaskOptions::default()
    };
    let (set, report) = chexmask(&table, dir.path(), &two).unwrap();
    assert_eq!(
        (set.pairs.len(), report.rows, report.not_read),
        (2, 2, true)
    );
}

#[test]
fn a_bad_table_or_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("Padchest.csv");
    std::fs::write(&table, "ImageID,Dice RCA (Mean),Left Lung,Height,Width\n").unwrap();
    let e = chexmask(&table, dir.path(), &ChexmaskOptions::default()).unwrap_err();
    let text = cxr_core::error_chain(&e);
    assert!(
        text.contains("Padchest.csv") && text.contains("missing column `Right Lung`"),
        "{text}"
    );
    let e = chexmask(
        &reference().join("table.csv"),
        &dir.path().join("nowhere"),
        &ChexmaskOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::MissingFolder { .. }), "{e:?}");

    // Two files of one name: the row says so instead of taking either.
    put(&dir.path().join("a/00000001_000.png"), 24, 20);
    put(&dir.path().join("b/00000001_000.png"), 24, 20);
    let (set, report) = chexmask(
        &reference().join("table.csv"),
        dir.path(),
        &ChexmaskOptions::default(),
    )
    .unwrap();
    assert!(set.pairs.is_empty());
    assert!(
        report.bad_rows[0].contains("2 files go by this id"),
        "{:?}",
        report.bad_rows
    );
}

#[test]
fn folder_pairs_find_dicom_images_by_uid_name_with_a_dicom_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (images, masks) = (dir.path().join("images"), dir.path().join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    let uid = "1.2.840.113619.2.55.3.868";
    std::fs::copy(dicom_fixture("IM000001"), images.join(uid)).unwrap();
    std::fs::copy(
        dicom_fixture("jpeg_baseline_8bit.dcm"),
        images.join("second.dcm"),
    )
    .unwrap();
    put(&images.join("third.png"), 24, 20);
    let mask = |w, h| GrayImage::from_fn(w, h, |x, _| Luma([if x < w / 2 { 255 } else { 0 }]));
    std::fs::create_dir_all(&masks).unwrap();
    save_png(&masks.join(format!("{uid}.png")), &mask(65, 63)).unwrap();
    save_png(&masks.join("second.png"), &mask(128, 96)).unwrap();
    save_png(&masks.join("third.png"), &mask(24, 20)).unwrap();

    // PNG and JPEG only: the DICOM files are not images, their masks are unmatched.
    let plain = folder_pair(&images, &masks, Default::default()).unwrap();
    assert_eq!(plain.pairs.len(), 1);
    assert_eq!(plain.masks_without_image.len(), 2);

    let set =
        folder_pair_with(&images, &masks, Default::default(), cxr_dicom::IMAGE_FILES).unwrap();
    assert_eq!(set.pairs.len(), 3, "{set:?}");
    assert!(set.masks_without_image.is_empty() && set.images_without_mask.is_empty());
    for pair in &set.pairs {
        let (img, mask) = pair.load().unwrap();
        assert_eq!(
            img.dimensions(),
            mask.dimensions(),
            "{}",
            pair.image.display()
        );
        assert_eq!(
            mask.count(PixelLabel::Lung),
            (img.width() / 2 * img.height()) as usize
        );
    }
}
