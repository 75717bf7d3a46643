//! EXIF orientation against Pillow's `ImageOps.exif_transpose`
//! (fixtures: `scripts/reference/orientation_reference.py`).

use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, LoadOptions, load_gray, load_gray_with};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/orientation")
        .join(name)
}

/// The largest difference between two images of the same size.
fn max_diff(a: &GrayImage, b: &GrayImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap()
}

#[test]
fn every_exif_orientation_is_shown_as_pillow_shows_it() {
    for n in 1..=8 {
        for (ext, tolerance) in [("png", 0), ("jpg", 2)] {
            let stored = fixture(&format!("o{n}.{ext}"));
            let ours = load_gray(&stored).unwrap();
            let pillow = load_gray(&fixture(&format!("o{n}.{ext}.shown.png"))).unwrap();
            // Orientations 5 to 8 turn the 24 x 16 picture on its side.
            let expected = if n >= 5 { (16, 24) } else { (24, 16) };
            assert_eq!(ours.dimensions(), expected, "{}", stored.display());
            let diff = max_diff(&ours, &pillow);
            assert!(
                diff <= tolerance,
                "{}: {diff} levels from Pillow",
                stored.display()
            );
        }
    }
}

#[test]
fn the_bright_corner_lands_where_a_viewer_puts_it() {
    // The picture's bright 5 x 3 block is stored top-left; orientation 6 (a phone held
    // upright) means "turn 90 degrees clockwise to show": the block goes top-right.
    let shown = load_gray(&fixture("o6.png")).unwrap();
    assert_eq!(shown.dimensions(), (16, 24));
    assert_eq!(shown.get_pixel(15, 0).0[0], 250);
    assert_eq!(shown.get_pixel(13, 4).0[0], 250);
    assert_ne!(shown.get_pixel(0, 0).0[0], 250);
}

#[test]
fn the_stored_layout_is_kept_when_asked() {
    let options = LoadOptions {
        ignore_exif_orientation: true,
        ..LoadOptions::default()
    };
    let as_stored = load_gray(&fixture("o1.png")).unwrap();
    for n in 2..=8 {
        let stored = fixture(&format!("o{n}.png"));
        let kept = load_gray_with(&stored, options).unwrap();
        assert_eq!(kept, as_stored, "{}", stored.display());
        assert_ne!(
            load_gray(&stored).unwrap(),
            as_stored,
            "{}",
            stored.display()
        );
    }
}
