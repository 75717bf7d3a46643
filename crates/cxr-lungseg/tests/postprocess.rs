//! Post-processing on hand-made probability maps and masks.

use cxr_core::{GrayImage, LungMask};
use cxr_lungseg::postprocess::{
    PostprocessOptions, Segmentation, postprocess, postprocess_gray, postprocess_mask,
};

const W: u32 = 100;
const H: u32 = 100;

fn inside(r: (u32, u32, u32, u32), x: u32, y: u32) -> bool {
    (r.0..r.2).contains(&x) && (r.1..r.3).contains(&y)
}

/// Patient's right lung (image left) and patient's left lung (image right), 30×60 each.
const RIGHT: (u32, u32, u32, u32) = (10, 20, 40, 80);
const LEFT: (u32, u32, u32, u32) = (60, 20, 90, 80);
/// Speckles: 3×3 noise blobs, far below 2 % of the image.
const SPECKLES: [(u32, u32, u32, u32); 3] = [(2, 2, 5, 5), (48, 90, 51, 93), (94, 5, 97, 8)];

fn prob_map(f: impl Fn(u32, u32) -> f32) -> Vec<f32> {
    (0..W * H).map(|i| f(i % W, i / W)).collect()
}

fn run(prob: &[f32]) -> Segmentation {
    postprocess(prob, W, H, &PostprocessOptions::default()).unwrap()
}

#[test]
fn two_blobs_and_speckles_give_two_lungs() {
    let prob = prob_map(|x, y| {
        if inside(RIGHT, x, y) || inside(LEFT, x, y) {
            0.9
        } else if SPECKLES.iter().any(|s| inside(*s, x, y)) {
            0.8
        } else {
            0.05
        }
    });
    let seg = run(&prob);
    assert_eq!(seg.components_found, 2);
    assert_eq!(seg.lungs_kept(), 2);
    // The 3×3 majority filter removes each rectangle's four corners only.
    assert_eq!(seg.right.area(), 30 * 60 - 4);
    assert_eq!(seg.left.area(), 30 * 60 - 4);
    assert_eq!(seg.lungs.area(), 2 * (30 * 60 - 4));
    assert!(seg.right.contains(25, 50) && !seg.right.contains(75, 50));
    assert!(seg.left.contains(75, 50) && !seg.left.contains(25, 50));
    for s in SPECKLES {
        assert!(
            !seg.lungs.contains(s.0 + 1, s.1 + 1),
            "speckle at {s:?} kept"
        );
    }
    assert_eq!(seg.right.intersection_area(&seg.left).unwrap(), 0);
}

#[test]
fn holes_are_filled_but_bays_are_not() {
    let hole = (20, 40, 26, 46); // 6×6 hole inside the right lung
    let bay = (80, 40, 90, 44); // 10×4 notch open to the left lung's edge
    let mask = LungMask::from_fn(W, H, |x, y| {
        (inside(RIGHT, x, y) && !inside(hole, x, y)) || (inside(LEFT, x, y) && !inside(bay, x, y))
    });
    let opts = PostprocessOptions {
        smoothing_radius: 0,
        ..Default::default()
    };
    let seg = postprocess_mask(&mask, &opts).unwrap();
    assert_eq!(seg.right.area(), 30 * 60);
    assert!(seg.right.contains(22, 42));
    assert_eq!(seg.left.area(), 30 * 60 - 40);
    assert!(!seg.left.contains(85, 42));
    // Without hole filling the hole stays.
    let raw = postprocess_mask(
        &mask,
        &PostprocessOptions {
            fill_holes: false,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(raw.right.area(), 30 * 60 - 36);
}

#[test]
fn a_speckle_alone_is_no_lung() {
    let prob = prob_map(|x, y| if inside(SPECKLES[0], x, y) { 1.0 } else { 0.0 });
    let seg = run(&prob);
    assert_eq!(seg.components_found, 0);
    assert_eq!(seg.lungs_kept(), 0);
    assert_eq!(seg.lungs.area(), 0);
}

#[test]
fn one_blob_is_assigned_by_its_half() {
    let on_image_right = run(&prob_map(|x, y| if inside(LEFT, x, y) { 0.7 } else { 0.0 }));
    assert_eq!(on_image_right.components_found, 1);
    assert_eq!(on_image_right.lungs_kept(), 1);
    assert_eq!(on_image_right.right.area(), 0);
    assert_eq!(on_image_right.left.area(), 30 * 60 - 4);

    let on_image_left = run(&prob_map(
        |x, y| if inside(RIGHT, x, y) { 0.7 } else { 0.0 },
    ));
    assert_eq!(on_image_left.left.area(), 0);
    assert_eq!(on_image_left.right.area(), 30 * 60 - 4);
}

#[test]
fn the_two_largest_of_three_are_kept_and_sides_follow_centroids() {
    // Big blob on the image right, medium in the middle, small on the image left.
    let big = (55, 10, 95, 90); // 40×80
    let mid = (30, 30, 50, 70); // 20×40
    let small = (5, 40, 20, 60); // 15×20 = 300 px (3 %)
    let mask = LungMask::from_fn(W, H, |x, y| {
        inside(big, x, y) || inside(mid, x, y) || inside(small, x, y)
    });
    let opts = PostprocessOptions {
        smoothing_radius: 0,
        ..Default::default()
    };
    let seg = postprocess_mask(&mask, &opts).unwrap();
    assert_eq!(seg.components_found, 3);
    assert_eq!(seg.right.area(), 20 * 40); // `mid` is left of `big` in the image
    assert_eq!(seg.left.area(), 40 * 80);
    assert!(!seg.lungs.contains(10, 50));
    // Raising the size floor above the small blob: still 2 components counted.
    let seg = postprocess_mask(
        &mask,
        &PostprocessOptions {
            min_component_fraction: 0.05,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(seg.components_found, 2);
}

#[test]
fn threshold_is_inclusive_and_configurable() {
    // A gradient: right blob at 0.5 (exactly the default threshold), left blob at 0.6.
    let prob = prob_map(|x, y| {
        if inside(RIGHT, x, y) {
            0.5
        } else if inside(LEFT, x, y) {
            0.6
        } else {
            f32::NAN // NaN is background
        }
    });
    assert_eq!(run(&prob).lungs_kept(), 2);
    let strict = PostprocessOptions {
        threshold: 0.55,
        ..Default::default()
    };
    let seg = postprocess(&prob, W, H, &strict).unwrap();
    assert_eq!(seg.lungs_kept(), 1);
    assert_eq!(seg.left.area(), 30 * 60 - 4);
}

#[test]
fn gray_probability_images_use_v_over_255() {
    let img = GrayImage::from_fn(W, H, |x, y| {
        cxr_core::image_io::Luma([if inside(RIGHT, x, y) {
            128 // 0.502
        } else if inside(LEFT, x, y) {
            127 // 0.498
        } else {
            0
        }])
    });
    let seg = postprocess_gray(&img, &PostprocessOptions::default()).unwrap();
    assert_eq!(seg.lungs_kept(), 1);
    assert_eq!(seg.right.area(), 30 * 60 - 4);
}

#[test]
fn full_size_512_map() {
    let (w, h) = (512u32, 512u32);
    let prob: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let r = ((x - 150.0) / 90.0).powi(2) + ((y - 256.0) / 180.0).powi(2);
            let l = ((x - 362.0) / 90.0).powi(2) + ((y - 256.0) / 180.0).powi(2);
            if r < 1.0 || l < 1.0 { 0.95 } else { 0.02 }
        })
        .collect();
    let seg = postprocess(&prob, w, h, &PostprocessOptions::default()).unwrap();
    assert_eq!(seg.lungs_kept(), 2);
    // Ellipse area π·90·180 ≈ 50 894 pixels each, within 1 %.
    let expected = std::f64::consts::PI * 90.0 * 180.0;
    for m in [&seg.right, &seg.left] {
        assert!(
            (m.area() as f64 / expected - 1.0).abs() < 0.01,
            "{}",
            m.area()
        );
    }
    assert!(seg.right.contains(150, 256) && seg.left.contains(362, 256));
}
