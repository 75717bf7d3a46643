//! TIFF, BMP and WebP radiographs against what Pillow shows (and, for 16-bit TIFF, the
//! min-max stretch of what tifffile reads). Fixtures:
//! `scripts/reference/formats_reference.py`.

use std::path::{Path, PathBuf};

use cxr_core::{Error, ImageFiles, load_gray};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

const READ: [&str; 11] = [
    "gray8.tif",
    "gray8_lzw.tif",
    "gray8_tiled_deflate.tif",
    "gray16_be.tif",
    "miniswhite8.tif",
    "miniswhite16.tif",
    "rgb8.tif",
    "o3.tif",
    "o6.tif",
    "gray8.bmp",
    "gray8.webp",
];

#[test]
fn every_format_reads_as_the_peer_shows_it() {
    for name in READ {
        let ours = load_gray(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let shown = load_gray(&fixture(&format!("{name}.shown.png"))).unwrap();
        // Orientation 6 turns the 40 x 28 picture on its side.
        let expected = if name == "o6.tif" { (28, 40) } else { (40, 28) };
        assert_eq!(ours.dimensions(), expected, "{name}");
        assert_eq!(ours, shown, "{name}: not what the peer shows");
    }
}

#[test]
fn white_is_zero_comes_back_bone_bright_and_turns_follow_the_tag() {
    // The picture's bright block is stored top-left; WhiteIsZero stores it as 5, which
    // must come back as 250: the polarity is the file's to declare, not an adapter's.
    let plain = load_gray(&fixture("gray8.tif")).unwrap();
    assert_eq!(plain.get_pixel(0, 0).0[0], 250);
    assert_eq!(load_gray(&fixture("miniswhite8.tif")).unwrap(), plain);
    // 16-bit WhiteIsZero: the block (stored 65535 - 4095) is the brightest pixel.
    let sixteen = load_gray(&fixture("miniswhite16.tif")).unwrap();
    assert_eq!(sixteen.get_pixel(0, 0).0[0], 255);
    assert_eq!(sixteen, load_gray(&fixture("gray16_be.tif")).unwrap());
    // Orientation 6 ("turn 90 degrees clockwise to show"): the block goes top-right;
    // orientation 3 (half a turn): bottom-right.
    let six = load_gray(&fixture("o6.tif")).unwrap();
    assert_eq!(six.get_pixel(27, 0).0[0], 250);
    assert_ne!(six.get_pixel(0, 0).0[0], 250);
    let three = load_gray(&fixture("o3.tif")).unwrap();
    assert_eq!(three.get_pixel(39, 27).0[0], 250);
}

#[test]
fn what_cannot_be_read_is_refused_by_name() {
    // Floating-point and packed 12-bit samples: refused, naming the file, the decoder's
    // reason kept.
    for name in ["float32.tif", "packed12.tif"] {
        let path = fixture(name);
        let e = load_gray(&path).unwrap_err();
        assert!(
            matches!(&e, Error::ReadImage { path: p, .. } if *p == path),
            "{e:?}"
        );
        assert!(std::error::Error::source(&e).is_some(), "{e:?}");
    }

    // A header declaring 400 million pixels: refused before any allocation.
    let path = fixture("huge_header.tif");
    match load_gray(&path).unwrap_err() {
        Error::ImageTooLarge {
            path: p,
            width,
            height,
            ..
        } => {
            assert_eq!(p, path);
            assert_eq!((width, height), (20_000, 20_000));
        }
        e => panic!("{e:?}"),
    }

    // A TIFF cut in half: an error naming the file, not a picture filled with gray.
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "gray8.tif",
        "gray8_tiled_deflate.tif",
        "gray8.webp",
        "gray8.bmp",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let cut = dir.path().join(name);
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = load_gray(&cut).unwrap_err();
        assert!(
            matches!(&e, Error::ReadImage { path, .. } if *path == cut),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn a_folder_tool_takes_every_raster_extension() {
    let files = ImageFiles::RASTER;
    assert_eq!(files.what, "PNG, JPEG, TIFF, BMP or WebP");
    for name in [
        "a.png", "a.JPG", "a.jpeg", "a.tif", "a.TIFF", "a.bmp", "a.webp",
    ] {
        assert!((files.is_image)(Path::new(name)), "{name}");
    }
    for name in ["a.csv", "a.jp2", "a.dcm", "README"] {
        assert!(!(files.is_image)(Path::new(name)), "{name}");
    }
    assert_eq!(
        (files.load)(&fixture("gray8_lzw.tif")).unwrap(),
        load_gray(&fixture("gray8.tif")).unwrap()
    );
}
