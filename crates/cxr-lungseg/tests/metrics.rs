//! Dice, IoU and HD95 against hand-computed values and a brute-force reference.

use cxr_core::LungMask;
use cxr_lungseg::masks::{LabelMask, PixelLabel};
use cxr_lungseg::metrics::{
    MetricsError, SegMetrics, Stat, Summary, evaluate, evaluate_labels, hausdorff95,
};

fn square(size: u32, x0: u32, y0: u32, n: u32) -> LungMask {
    LungMask::from_fn(size, size, move |x, y| {
        (x0..x0 + n).contains(&x) && (y0..y0 + n).contains(&y)
    })
}

#[test]
fn squares_offset_by_k_pixels() {
    let n = 20;
    for k in [1u32, 3, 7] {
        let a = square(64, 10, 10, n);
        let b = square(64, 10 + k, 10, n);
        let m = evaluate(&a, &b, None).unwrap();
        let (nf, kf) = (f64::from(n), f64::from(k));
        // |A∩B| = (n − k)·n, |A| = |B| = n², |A∪B| = (n + k)·n.
        assert!((m.dice - (nf - kf) / nf).abs() < 1e-12, "k={k}: {m:?}");
        assert!(
            (m.iou - (nf - kf) / (nf + kf)).abs() < 1e-12,
            "k={k}: {m:?}"
        );
        assert_eq!(m.hd95, Some(kf), "k={k}");
        // Symmetric.
        assert_eq!(evaluate(&b, &a, None).unwrap(), m);
    }
}

#[test]
fn identical_masks_are_perfect() {
    let a = square(32, 5, 6, 10);
    assert_eq!(
        evaluate(&a, &a, None).unwrap(),
        SegMetrics {
            dice: 1.0,
            iou: 1.0,
            hd95: Some(0.0)
        }
    );
}

#[test]
fn empty_masks() {
    let empty = LungMask::empty(16, 16);
    let a = square(16, 2, 2, 4);
    assert_eq!(
        evaluate(&empty, &empty, None).unwrap(),
        SegMetrics {
            dice: 1.0,
            iou: 1.0,
            hd95: Some(0.0)
        }
    );
    for (p, t) in [(&a, &empty), (&empty, &a)] {
        assert_eq!(
            evaluate(p, t, None).unwrap(),
            SegMetrics {
                dice: 0.0,
                iou: 0.0,
                hd95: None
            }
        );
    }
}

#[test]
fn a_single_far_outlier_moves_max_but_not_hd95() {
    // Square boundary = 76 pixels at distance 0, plus one pixel 30 px away: the 95th
    // percentile of 77 values (position 72.2) is still 0.
    let truth = square(64, 10, 10, 20);
    let mut pred_img = truth.as_image().clone();
    pred_img.put_pixel(59, 29, cxr_core::image_io::Luma([255]));
    let pred = LungMask::from_gray(&pred_img, 128);
    assert_eq!(hausdorff95(&pred, &truth).unwrap(), Some(0.0));
    // Brute force says the same, and the plain Hausdorff distance would be 30.
    assert_eq!(brute_hd95(&pred, &truth), Some(0.0));
}

#[test]
fn ignore_pixels_are_left_out() {
    let truth = square(64, 10, 10, 20);
    // The prediction adds a separate blob that lies in the ignore region.
    let blob = square(64, 40, 40, 8);
    let pred = truth.union(&blob).unwrap();
    let ignore = square(64, 38, 38, 12);
    let plain = evaluate(&pred, &truth, None).unwrap();
    assert!((plain.dice - 800.0 / 864.0).abs() < 1e-12); // 2·400 / (464 + 400)
    assert!(plain.hd95.unwrap() > 20.0);
    let m = evaluate(&pred, &truth, Some(&ignore)).unwrap();
    assert_eq!(
        m,
        SegMetrics {
            dice: 1.0,
            iou: 1.0,
            hd95: Some(0.0)
        }
    );
    // Through a labelled mask (127 = ignore in the files).
    let labels = LabelMask::from_fn(64, 64, |x, y| {
        if ignore.contains(x, y) {
            PixelLabel::Ignore
        } else if truth.contains(x, y) {
            PixelLabel::Lung
        } else {
            PixelLabel::Background
        }
    });
    assert_eq!(evaluate_labels(&pred, &labels).unwrap(), m);
}

#[test]
fn size_mismatch_is_an_error() {
    let a = LungMask::empty(10, 10);
    let b = LungMask::empty(10, 11);
    assert!(matches!(
        evaluate(&a, &b, None),
        Err(MetricsError::SizeMismatch {
            what: "truth",
            got: (10, 11),
            expected: (10, 10)
        })
    ));
    assert!(matches!(
        evaluate(&a, &a, Some(&b)),
        Err(MetricsError::SizeMismatch { what: "ignore", .. })
    ));
}

/// Independent reference: boundary pixels, all pairwise distances, numpy-style percentile.
fn brute_hd95(a: &LungMask, b: &LungMask) -> Option<f64> {
    let boundary = |m: &LungMask| -> Vec<(f64, f64)> {
        let (w, h) = m.dimensions();
        let mut v = vec![];
        for y in 0..h {
            for x in 0..w {
                if !m.contains(x, y) {
                    continue;
                }
                let edge = x == 0 || y == 0 || x + 1 == w || y + 1 == h;
                if edge
                    || !m.contains(x - 1, y)
                    || !m.contains(x + 1, y)
                    || !m.contains(x, y - 1)
                    || !m.contains(x, y + 1)
                {
                    v.push((f64::from(x), f64::from(y)));
                }
            }
        }
        v
    };
    let (ba, bb) = (boundary(a), boundary(b));
    if ba.is_empty() || bb.is_empty() {
        return (ba.is_empty() && bb.is_empty()).then_some(0.0);
    }
    let directed = |from: &[(f64, f64)], to: &[(f64, f64)]| {
        let mut d: Vec<f64> = from
            .iter()
            .map(|p| {
                to.iter()
                    .map(|q| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        d.sort_by(f64::total_cmp);
        let pos = 0.95 * (d.len() - 1) as f64;
        let lo = pos.floor() as usize;
        d[lo] + (pos - lo as f64) * (d[pos.ceil() as usize] - d[lo])
    };
    Some(directed(&ba, &bb).max(directed(&bb, &ba)))
}

#[test]
fn hd95_matches_brute_force_on_ellipses() {
    let ellipse = |cx: f64, cy: f64, rx: f64, ry: f64| {
        LungMask::from_fn(80, 70, move |x, y| {
            ((f64::from(x) - cx) / rx).powi(2) + ((f64::from(y) - cy) / ry).powi(2) < 1.0
        })
    };
    let cases = [
        (
            ellipse(30.0, 30.0, 15.0, 20.0),
            ellipse(33.0, 28.0, 12.0, 22.0),
        ),
        (
            ellipse(20.0, 35.0, 10.0, 25.0),
            ellipse(55.0, 35.0, 12.0, 20.0),
        ),
        (
            ellipse(20.0, 35.0, 10.0, 25.0)
                .union(&ellipse(58.0, 35.0, 10.0, 25.0))
                .unwrap(),
            ellipse(22.0, 33.0, 9.0, 24.0),
        ),
    ];
    for (a, b) in &cases {
        let got = hausdorff95(a, b).unwrap().unwrap();
        let want = brute_hd95(a, b).unwrap();
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
        assert!(got > 0.0);
    }
}

#[test]
fn full_size_512_masks() {
    let a = LungMask::from_fn(512, 512, |x, y| {
        ((f64::from(x) - 150.0) / 90.0).powi(2) + ((f64::from(y) - 256.0) / 180.0).powi(2) < 1.0
    });
    let b = LungMask::from_fn(512, 512, |x, y| {
        ((f64::from(x) - 155.0) / 90.0).powi(2) + ((f64::from(y) - 256.0) / 180.0).powi(2) < 1.0
    });
    let m = evaluate(&a, &b, None).unwrap();
    let hd = m.hd95.unwrap();
    // A 5-pixel horizontal shift: HD95 is at most 5 and close to it.
    assert!((4.0..=5.0).contains(&hd), "{hd}");
    assert!(m.dice > 0.96 && m.dice < 0.99, "{}", m.dice);
}

#[test]
fn summary_over_images() {
    let per_image = [
        SegMetrics {
            dice: 0.9,
            iou: 0.8,
            hd95: Some(2.0),
        },
        SegMetrics {
            dice: 0.7,
            iou: 0.5,
            hd95: None,
        },
        SegMetrics {
            dice: 0.8,
            iou: 0.6,
            hd95: Some(4.0),
        },
    ];
    let s = Summary::of(&per_image);
    assert_eq!(s.images, 3);
    assert_eq!(s.hd95_undefined, 1);
    let dice = s.dice.unwrap();
    assert!((dice.mean - 0.8).abs() < 1e-12);
    assert!((dice.sd - 0.1).abs() < 1e-12);
    assert_eq!((dice.median, dice.min, dice.max), (0.8, 0.7, 0.9));
    let hd: Stat = s.hd95.unwrap();
    assert_eq!((hd.n, hd.mean, hd.median, hd.min), (2, 3.0, 3.0, 2.0));
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
    let empty = Summary::of(&[]);
    assert_eq!((empty.images, empty.dice, empty.hd95), (0, None, None));
}
