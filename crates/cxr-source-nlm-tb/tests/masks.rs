//! Mask dataset readers on tiny fixture files laid out like each dataset.
//!
//! The fixtures under `tests/data/masks/` and `tests/data/bad-masks/` are written by `write_fixtures`
//! below; `fixtures_match_their_generator` checks them, and regenerates them with
//! `CXR_BLESS=1`.

use std::path::{Path, PathBuf};

use cxr_core::image_io::Luma;
use cxr_core::{GrayImage, save_png};
use cxr_source_nlm_tb::masks::{
    Dataset, Error, MaskSet, MaskValues, PixelLabel, folder_pair, jsrt, jsrt_scr, montgomery,
    read_jsrt_raw, shenzhen,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/masks")
}

fn bad() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad-masks")
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn montgomery_pairs_left_and_right_masks() {
    let set = montgomery(&fixtures().join("montgomery")).unwrap();
    let images: Vec<PathBuf> = set.pairs.iter().map(|p| p.image.clone()).collect();
    assert_eq!(names(&images), ["MCUCXR_0001_0.png", "MCUCXR_0002_1.png"]);
    assert_eq!(names(&set.images_without_mask), ["MCUCXR_0003_0.png"]);
    assert_eq!(names(&set.masks_without_image), ["MCUCXR_0099_0.png"]);

    let (image, mask) = set.pairs[0].load().unwrap();
    assert_eq!(image.dimensions(), (32, 32));
    assert_eq!(mask.count(PixelLabel::Lung), 320);
    assert_eq!(mask.count(PixelLabel::Background), 1024 - 320);
    assert_eq!(mask.count(PixelLabel::Ignore), 0);
    // Patient's right lung on the image left, from `rightMask`.
    assert_eq!(mask.get(5, 10), PixelLabel::Lung);
    assert_eq!(mask.get(16, 10), PixelLabel::Background);
    // 0/1 masks whose halves overlap: the union, not the sum (140 + 140 − 40).
    let mask = set.pairs[1].load_mask().unwrap();
    assert_eq!(mask.count(PixelLabel::Lung), 240);
    // `MontgomerySet/` itself works as well as its parent.
    let direct = montgomery(&fixtures().join("montgomery").join("MontgomerySet")).unwrap();
    assert_eq!(direct, set);
}

#[test]
fn shenzhen_tolerates_missing_masks() {
    let set = shenzhen(&fixtures().join("shenzhen")).unwrap();
    assert_eq!(set.pairs.len(), 2);
    assert_eq!(names(&set.images_without_mask), ["CHNCXR_0003_0.png"]);
    assert!(set.masks_without_image.is_empty());
    let m1 = set.pairs[0].load_mask().unwrap();
    assert_eq!(m1.count(PixelLabel::Lung), 320);
    // Values 200 and 255 are lung, 100 is not.
    let m2 = set.pairs[1].load_mask().unwrap();
    assert_eq!(m2.count(PixelLabel::Lung), 576);
    assert_eq!(m2.get(11, 11), PixelLabel::Lung);
    assert_eq!(m2.get(3, 3), PixelLabel::Background);
}

#[test]
fn jsrt_raw_images_with_scr_masks() {
    let root = fixtures().join("jsrt");
    let set = jsrt_scr(&root.join("All247images"), &root.join("scr").join("masks")).unwrap();
    let images: Vec<PathBuf> = set.pairs.iter().map(|p| p.image.clone()).collect();
    assert_eq!(names(&images), ["JPCLN001.IMG", "JPCNN002.IMG"]);
    assert_eq!(names(&set.images_without_mask), ["JPCLN003.IMG"]);

    // Raw image: 4095 − raw, then 12 → 8 bits.
    let raw = read_jsrt_raw(&images[0]).unwrap();
    assert_eq!(raw.dimensions(), (32, 32));
    assert_eq!(raw.get_pixel(0, 0).0[0], 4095);
    assert_eq!(raw.get_pixel(31, 0).0[0], 4095 - 31 * 128);
    assert_eq!(raw.get_pixel(31, 31).0[0], 4095 - (31 * 128 + 31));

    // The SCR-like mask is half the image's size: scaled ×2 by nearest neighbour.
    let (image, mask) = set.pairs[0].load().unwrap();
    assert_eq!(image.dimensions(), (32, 32));
    assert_eq!(image.get_pixel(0, 0).0[0], 255);
    assert_eq!(image.get_pixel(31, 0).0[0], 8); // round(127 × 255 / 4095)
    assert_eq!(
        set.pairs[0].load_mask().unwrap().count(PixelLabel::Lung),
        80
    );
    assert_eq!(mask.dimensions(), (32, 32));
    assert_eq!(mask.count(PixelLabel::Lung), 320);

    // SCR's own GIF masks decode: 2 × 4×12 lung pixels at 16×16, ×4 at the image's size.
    assert_eq!(
        set.pairs[1].load_mask().unwrap().count(PixelLabel::Lung),
        96
    );
    assert_eq!(set.pairs[1].load().unwrap().1.count(PixelLabel::Lung), 384);
}

#[test]
fn generic_folders_match_by_stem_with_ignore_value() {
    let root = fixtures().join("generic");
    let set = folder_pair(
        &root.join("images"),
        &root.join("masks"),
        MaskValues::default(),
    )
    .unwrap();
    let images: Vec<PathBuf> = set.pairs.iter().map(|p| p.image.clone()).collect();
    assert_eq!(names(&images), ["a.png", "b.png"]);
    assert_eq!(names(&set.images_without_mask), ["c.png"]);
    assert_eq!(names(&set.masks_without_image), ["z.png"]);

    let a = set.pairs[0].load_mask().unwrap();
    assert_eq!(a.count(PixelLabel::Lung), 192);
    assert_eq!(a.count(PixelLabel::Ignore), 16);
    assert_eq!(a.count(PixelLabel::Background), 1024 - 208);
    assert_eq!(a.ignore_mask().area(), 16);
    let b = set.pairs[1].load_mask().unwrap();
    assert_eq!(b.count(PixelLabel::Background), 1024);

    // Read strictly and without an ignore value, 127 is an unexpected value, named with
    // its file and pixel.
    let strict = MaskValues {
        ignore: None,
        soft_edges: false,
        ..MaskValues::default()
    };
    let set = folder_pair(&root.join("images"), &root.join("masks"), strict).unwrap();
    let e = set.pairs[0].load_mask().unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnexpectedValue {
                value: 127,
                x: 20,
                y: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("a.png"), "{e}");
}

/// Each public dataset as it ships, by name, the way `train_segmenter --dataset NAME
/// --root DIR` reads it; several mixed into one set.
#[test]
fn datasets_read_by_name_as_they_ship_and_mix() {
    assert_eq!(
        "Montgomery".parse::<Dataset>().unwrap(),
        Dataset::Montgomery
    );
    assert_eq!(
        "scr".parse::<Dataset>().unwrap_err(),
        "unknown dataset `scr` (expected montgomery, shenzhen or jsrt)"
    );
    let m = Dataset::Montgomery
        .read(&fixtures().join("montgomery"))
        .unwrap();
    assert_eq!(m, montgomery(&fixtures().join("montgomery")).unwrap());
    let s = Dataset::Shenzhen
        .read(&fixtures().join("shenzhen"))
        .unwrap();
    // JSRT with its SCR masks from the one folder they are unpacked into.
    let j = Dataset::Jsrt.read(&fixtures().join("jsrt")).unwrap();
    let root = fixtures().join("jsrt");
    assert_eq!(
        j,
        jsrt_scr(&root.join("All247images"), &root.join("scr").join("masks")).unwrap()
    );
    let mut all = MaskSet::default();
    for set in [m, s, j] {
        all.extend(set);
    }
    assert_eq!(all.pairs.len(), 6);
    assert_eq!(all.images_without_mask.len(), 3);
    for p in &all.pairs {
        let (img, mask) = p.load().unwrap();
        assert_eq!(img.dimensions(), mask.dimensions());
    }
    // JSRT's SCR masks as the two-fold distribution (fold1/masks, fold2/masks).
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    copy(&root.join("All247images"), &dir.path().join("All247images"));
    for (fold, stem) in [("fold1", "JPCLN001"), ("fold2", "JPCNN002")] {
        for side in ["left lung", "right lung"] {
            let to = dir.path().join("scr").join(fold).join("masks").join(side);
            std::fs::create_dir_all(&to).unwrap();
            for e in std::fs::read_dir(root.join("scr/masks").join(side)).unwrap() {
                let e = e.unwrap();
                if e.file_name().to_string_lossy().starts_with(stem) {
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
        }
    }
    let folds = jsrt(dir.path()).unwrap();
    assert_eq!(
        names(
            &folds
                .pairs
                .iter()
                .map(|p| p.image.clone())
                .collect::<Vec<_>>()
        ),
        ["JPCLN001.IMG", "JPCNN002.IMG"]
    );
    assert_eq!(names(&folds.images_without_mask), ["JPCLN003.IMG"]);
    let e = jsrt(&fixtures().join("montgomery")).unwrap_err();
    assert!(e.to_string().contains("SCR lung masks"), "{e}");
}

#[test]
fn bad_files_are_errors_not_panics() {
    let root = bad().join("generic");
    let strict = MaskValues {
        soft_edges: false,
        ..MaskValues::default()
    };
    let set = folder_pair(&root.join("images"), &root.join("masks"), strict).unwrap();
    assert_eq!(set.pairs.len(), 2);
    let e = set.pairs[0].load_mask().unwrap_err();
    assert!(matches!(e, Error::Image { .. }), "{e:?}");
    assert!(e.to_string().contains("corrupt.png"), "{e}");
    let e = set.pairs[1].load_mask().unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnexpectedValue {
                value: 128,
                x: 5,
                y: 7,
                ..
            }
        ),
        "{e:?}"
    );

    // A raw file whose length is no square 16-bit image.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("short.IMG");
    std::fs::write(&p, [0u8; 100]).unwrap();
    assert!(matches!(
        read_jsrt_raw(&p),
        Err(Error::RawSize { len: 100, .. })
    ));
    // Missing dataset folders are named.
    let e = montgomery(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingFolder { .. }), "{e:?}");
    assert!(e.to_string().contains("CXR_png"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Fixture generator.

fn rects(w: u32, h: u32, value: u8, rs: &[(u32, u32, u32, u32)]) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let inside = rs
            .iter()
            .any(|r| (r.0..r.2).contains(&x) && (r.1..r.3).contains(&y));
        Luma([if inside { value } else { 0 }])
    })
}

fn radiograph() -> GrayImage {
    GrayImage::from_fn(32, 32, |x, y| Luma([(x * 7 + y * 3) as u8]))
}

fn put(path: &Path, img: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    save_png(path, img).unwrap();
}

fn put_gif(path: &Path, img: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let rgba = image::DynamicImage::ImageLuma8(img.clone()).to_rgba8();
    let file = std::fs::File::create(path).unwrap();
    image::codecs::gif::GifEncoder::new(file)
        .encode(
            rgba.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
}

fn put_bytes(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The committed fixtures are exactly what `write_fixtures` produces. Regenerate them
/// with `CXR_BLESS=1 cargo test -p cxr-lungseg --test masks fixtures_match`.
#[test]
fn fixtures_match_their_generator() {
    if std::env::var_os("CXR_BLESS").is_some() {
        write_fixtures(&fixtures(), &bad());
    }
    let tmp = tempfile::tempdir().unwrap();
    let (f, b) = (tmp.path().join("fixtures"), tmp.path().join("bad"));
    write_fixtures(&f, &b);
    let mut compared = 0;
    for (generated, committed) in [(f, fixtures()), (b, bad())] {
        let mut stack = vec![generated.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&generated).unwrap();
                    let want = std::fs::read(committed.join(rel)).unwrap_or_default();
                    assert_eq!(
                        std::fs::read(&p).unwrap(),
                        want,
                        "{} differs from its generator",
                        rel.display()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 10, "{compared} files compared");
}

fn write_fixtures(fixtures_root: &Path, bad_root: &Path) {
    let f = fixtures_root.to_path_buf();
    // Montgomery: 0001 has 0/255 halves of 160 px each, 0002 has 0/1 halves that
    // overlap by 40 px, 0003 has no mask, 0099 is a mask without an image.
    let m = f.join("montgomery/MontgomerySet");
    for name in [
        "MCUCXR_0001_0.png",
        "MCUCXR_0002_1.png",
        "MCUCXR_0003_0.png",
    ] {
        put(&m.join("CXR_png").join(name), &radiograph());
    }
    let mm = m.join("ManualMask");
    put(
        &mm.join("rightMask/MCUCXR_0001_0.png"),
        &rects(32, 32, 255, &[(4, 6, 12, 26)]),
    );
    put(
        &mm.join("leftMask/MCUCXR_0001_0.png"),
        &rects(32, 32, 255, &[(20, 6, 28, 26)]),
    );
    put(
        &mm.join("rightMask/MCUCXR_0002_1.png"),
        &rects(32, 32, 1, &[(4, 8, 18, 18)]),
    );
    put(
        &mm.join("leftMask/MCUCXR_0002_1.png"),
        &rects(32, 32, 1, &[(14, 8, 28, 18)]),
    );
    put(
        &mm.join("rightMask/MCUCXR_0099_0.png"),
        &rects(32, 32, 255, &[(4, 6, 12, 26)]),
    );

    // Shenzhen: 0002's mask has 255 and 200 (lung) and a ring of 100 (not lung).
    let s = f.join("shenzhen");
    for name in [
        "CHNCXR_0001_0.png",
        "CHNCXR_0002_1.png",
        "CHNCXR_0003_0.png",
    ] {
        put(&s.join("CXR_png").join(name), &radiograph());
    }
    put(
        &s.join("mask/CHNCXR_0001_0_mask.png"),
        &rects(32, 32, 255, &[(4, 6, 12, 26), (20, 6, 28, 26)]),
    );
    let soft = GrayImage::from_fn(32, 32, |x, y| {
        let inner = (4..28).contains(&x) && (4..28).contains(&y);
        let ring = (3..29).contains(&x) && (3..29).contains(&y);
        let patch = (10..14).contains(&x) && (10..14).contains(&y);
        Luma([match (patch, inner, ring) {
            (true, _, _) => 200,
            (_, true, _) => 255,
            (_, _, true) => 100,
            _ => 0,
        }])
    });
    put(&s.join("mask/CHNCXR_0002_1_mask.png"), &soft);

    // JSRT: 32×32 raw big-endian images (raw = x·128 + y), SCR-like 16×16 masks.
    let j = f.join("jsrt");
    let raw: Vec<u8> = (0..32u16 * 32)
        .flat_map(|i| {
            let (x, y) = (i % 32, i / 32);
            (x * 128 + y).to_be_bytes()
        })
        .collect();
    for name in ["JPCLN001.IMG", "JPCNN002.IMG", "JPCLN003.IMG"] {
        put_bytes(&j.join("All247images").join(name), &raw);
    }
    let scr = j.join("scr/masks");
    put(
        &scr.join("right lung/JPCLN001.png"),
        &rects(16, 16, 255, &[(2, 3, 6, 13)]),
    );
    put(
        &scr.join("left lung/JPCLN001.png"),
        &rects(16, 16, 255, &[(10, 3, 14, 13)]),
    );
    // SCR ships GIF masks.
    put_gif(
        &scr.join("right lung/JPCNN002.gif"),
        &rects(16, 16, 255, &[(3, 2, 7, 14)]),
    );
    put_gif(
        &scr.join("left lung/JPCNN002.gif"),
        &rects(16, 16, 255, &[(9, 2, 13, 14)]),
    );

    // Generic: a.png has 192 lung and 16 ignore pixels, b.png is empty, c.png has no
    // mask, z.png has no image.
    let g = f.join("generic");
    for name in ["a.png", "b.png", "c.png"] {
        put(&g.join("images").join(name), &radiograph());
    }
    let a = GrayImage::from_fn(32, 32, |x, y| {
        Luma([if (4..12).contains(&x) && (4..28).contains(&y) {
            255
        } else if (20..24).contains(&x) && y < 4 {
            127
        } else {
            0
        }])
    });
    put(&g.join("masks/a.png"), &a);
    put(&g.join("masks/b.png"), &GrayImage::new(32, 32));
    put(&g.join("masks/z.png"), &GrayImage::new(32, 32));

    // Bad files: a corrupt PNG and a mask with the stray value 128 at (5, 7).
    let b = bad_root.join("generic");
    for name in ["corrupt.png", "stray.png"] {
        put(&b.join("images").join(name), &radiograph());
    }
    put_bytes(
        &b.join("masks/corrupt.png"),
        b"\x89PNG\r\n\x1a\nnot really a png",
    );
    let mut stray = GrayImage::new(32, 32);
    stray.put_pixel(5, 7, Luma([128]));
    put(&b.join("masks/stray.png"), &stray);
}
