//! Shrinking an image by a whole factor before it is resampled to a network's input size.
//!
//! Bilinear sampling reads 2 × 2 source pixels per output pixel, so taking a 2,000-pixel
//! radiograph straight to 299 pixels skips most of the image and aliases its texture.
//! Averaging `k × k` blocks first, with `k` chosen by [`shrink_factor`] so that at least
//! two source pixels remain per output pixel, removes that; doing it once and caching the
//! result also removes most of the decoding cost from every later epoch.

use image::GrayImage;

/// The whole factor to shrink a `width × height` image by before sampling it to
/// `size × size`: the largest `k` that leaves at least `2 · size` pixels along the shorter
/// side, and 1 (no shrinking) for images up to `4 · size − 1` pixels. Shrinking by it
/// again gives 1, so a shrunk image passes through unchanged.
pub fn shrink_factor((width, height): (u32, u32), size: u32) -> u32 {
    (width.min(height) / (2 * size.max(1))).max(1)
}

/// `img` with each side divided by `k`, rounded up: every pixel the rounded mean of its
/// `k × k` block (blocks at the right and bottom edges are cut short). `k = 1` is a copy.
pub fn shrink_gray(img: &GrayImage, k: u32) -> GrayImage {
    let k = k.max(1) as usize;
    if k == 1 {
        return img.clone();
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (ow, oh) = (w.div_ceil(k), h.div_ceil(k));
    let src = img.as_raw();
    let mut sums = vec![0u32; ow];
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        sums.fill(0);
        let rows = oy * k..((oy + 1) * k).min(h);
        let n_rows = rows.len() as u32;
        for y in rows {
            for (x, &v) in src[y * w..(y + 1) * w].iter().enumerate() {
                sums[x / k] += u32::from(v);
            }
        }
        for (ox, &sum) in sums.iter().enumerate() {
            let n = n_rows * (((ox + 1) * k).min(w) - ox * k) as u32;
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    GrayImage::from_raw(ow as u32, oh as u32, out).expect("size matches")
}

/// A `w × h` label plane on the grid of [`shrink_gray`]`(_, k)`: each pixel takes the most
/// common label of its block, ties going to the label earlier in `order`; values not in
/// `order` count as its last entry. `k = 1` is a copy.
///
/// `order` is meant to list every label (callers pass a constant); an empty `order` has
/// no label to give, so every pixel of the result is 0.
pub fn shrink_labels(labels: &[u8], (w, h): (usize, usize), k: usize, order: &[u8]) -> Vec<u8> {
    let k = k.max(1);
    if order.is_empty() {
        return vec![0; w.div_ceil(k) * h.div_ceil(k)];
    }
    let last = order.len().saturating_sub(1);
    let ow = w.div_ceil(k);
    let mut counts = vec![vec![0u32; order.len()]; ow * h.div_ceil(k)];
    for (i, &v) in labels.iter().enumerate().take(w * h) {
        let c = order.iter().position(|&o| o == v).unwrap_or(last);
        counts[(i / w / k) * ow + (i % w) / k][c] += 1;
    }
    counts
        .iter()
        .map(|c| {
            order[(0..order.len())
                .max_by_key(|&j| (c[j], last - j))
                .unwrap_or(last)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::LungMask;

    #[test]
    fn factor_keeps_two_source_pixels_per_output_pixel() {
        assert_eq!(shrink_factor((256, 256), 128), 1);
        assert_eq!(shrink_factor((511, 600), 128), 1);
        assert_eq!(shrink_factor((512, 600), 128), 2);
        assert_eq!(shrink_factor((2000, 2500), 299), 3);
        assert_eq!(shrink_factor((2500, 2000), 299), 3);
        assert_eq!(shrink_factor((10, 10), 299), 1);
        // Shrinking by the factor leaves nothing more to shrink.
        for side in [300u32, 1000, 1195, 1196, 2000, 2048, 3000, 4095] {
            let k = shrink_factor((side, side), 299);
            assert_eq!(
                shrink_factor((side.div_ceil(k), side.div_ceil(k)), 299),
                1,
                "{side}"
            );
            assert!(side.div_ceil(k) >= 598 || k == 1, "{side}");
        }
    }

    #[test]
    fn blocks_are_averaged_and_cut_at_the_edges() {
        // 5 × 3 → 3 × 2: blocks of 2 × 2, then 1-wide and 1-high remainders.
        let img = GrayImage::from_raw(
            5,
            3,
            vec![
                0, 10, 20, 30, 40, //
                2, 12, 22, 33, 44, //
                100, 101, 200, 201, 255,
            ],
        )
        .unwrap();
        let out = shrink_gray(&img, 2);
        assert_eq!(out.dimensions(), (3, 2));
        // (0+10+2+12)/4 = 6, (20+30+22+33)/4 = 26.25, (40+44)/2 = 42,
        // (100+101)/2 = 100.5 → 101, (200+201)/2 = 200.5 → 201, 255.
        assert_eq!(out.as_raw(), &vec![6, 26, 42, 101, 201, 255]);
        assert_eq!(shrink_gray(&img, 1), img);
        let one = shrink_gray(&img, 8);
        assert_eq!(one.dimensions(), (1, 1));
        // Sum 1070 over 15 pixels = 71.33.
        assert_eq!(one.as_raw(), &vec![71]);
    }

    #[test]
    fn masks_follow_the_block_majority() {
        // 4 × 3, k = 2: blocks (0..2, 0..2), (2..4, 0..2), (0..2, 2), (2..4, 2).
        let m = LungMask::from_fn(4, 3, |x, y| {
            matches!((x, y), (0, 0) | (2, 0) | (3, 0) | (3, 1) | (0, 2))
        });
        let s = m.shrink(2);
        assert_eq!(s.dimensions(), (2, 2));
        // 1 of 4 → background; 3 of 4 → lung; 1 of 2 (a tie) → lung; 0 of 2 → background.
        assert!(!s.contains(0, 0));
        assert!(s.contains(1, 0));
        assert!(s.contains(0, 1));
        assert!(!s.contains(1, 1));
        assert_eq!(m.shrink(1), m);
    }

    #[test]
    fn empty_order_gives_label_zero() {
        // Used to index `order[0]` of an empty slice and panic.
        assert_eq!(shrink_labels(&[0], (1, 1), 1, &[]), vec![0]);
        assert_eq!(
            shrink_labels(&[3, 1, 2, 1, 1], (5, 1), 2, &[]),
            vec![0, 0, 0]
        );
        assert_eq!(shrink_labels(&[], (0, 0), 2, &[]), Vec::<u8>::new());
        // A one-label order still works as documented: everything maps to it.
        assert_eq!(shrink_labels(&[3, 1, 2, 1], (2, 2), 2, &[7]), vec![7]);
    }
}
