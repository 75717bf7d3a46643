//! Small deterministic noise primitives: a 64-bit hash, value noise and fractal sums.

pub(crate) use cxr_core::names::splitmix64 as mix64;

/// Hash of several words, order-sensitive.
pub(crate) fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(0x5EED_u64, |h, &w| mix64(h ^ mix64(w)))
}

fn lattice(seed: u64, ix: i64, iy: i64) -> f32 {
    let h = mix64(seed ^ mix64((ix as u64).wrapping_mul(0x1F1F_1F1F) ^ (iy as u64) << 32));
    (h >> 40) as f32 / (1u64 << 24) as f32
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// Value noise in [0, 1) at (x, y), lattice spacing 1.
pub(crate) fn value_noise(seed: u64, x: f32, y: f32) -> f32 {
    let (fx, fy) = (x.floor(), y.floor());
    let (ix, iy) = (fx as i64, fy as i64);
    let (tx, ty) = (smooth(x - fx), smooth(y - fy));
    let a = lattice(seed, ix, iy);
    let b = lattice(seed, ix + 1, iy);
    let c = lattice(seed, ix, iy + 1);
    let d = lattice(seed, ix + 1, iy + 1);
    let top = a + (b - a) * tx;
    let bottom = c + (d - c) * tx;
    top + (bottom - top) * ty
}

/// Three octaves of value noise, centred on 0 (roughly −0.5..0.5).
pub(crate) fn fbm(seed: u64, x: f32, y: f32) -> f32 {
    let mut sum = 0.0;
    let mut amp = 0.5;
    let mut f = 1.0;
    for o in 0..3u64 {
        sum += amp * (value_noise(seed.wrapping_add(o), x * f, y * f) - 0.5);
        f *= 2.0;
        amp *= 0.5;
    }
    sum / 0.875
}

/// Smooth step from 0 at `e0` to 1 at `e1`.
pub(crate) fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    smooth(((x - e0) / (e1 - e0)).clamp(0.0, 1.0))
}

/// Separable Gaussian blur of a `w`×`h` buffer in place.
pub(crate) fn gaussian_blur(buf: &mut [f32], w: usize, h: usize, sigma: f32) {
    if sigma < 0.3 {
        return;
    }
    let r = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / norm).collect();
    let mut tmp = vec![0.0f32; buf.len()];
    let clampi = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * buf[y * w + clampi(x as isize + k as isize - r, w)])
                .sum();
        }
    }
    for y in 0..h {
        for x in 0..w {
            buf[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * tmp[clampi(y as isize + k as isize - r, h) * w + x])
                .sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_bounded_and_deterministic() {
        for i in 0..500 {
            let (x, y) = (i as f32 * 0.37, i as f32 * 0.11);
            let v = value_noise(3, x, y);
            assert!((0.0..1.0).contains(&v));
            assert_eq!(v, value_noise(3, x, y));
            assert!(fbm(9, x, y).abs() <= 0.5 + 1e-6);
        }
        assert_ne!(value_noise(1, 0.5, 0.5), value_noise(2, 0.5, 0.5));
    }

    #[test]
    fn blur_preserves_constant_and_mass() {
        let (w, h) = (9, 7);
        let mut c = vec![0.25f32; w * h];
        gaussian_blur(&mut c, w, h, 1.5);
        assert!(c.iter().all(|v| (v - 0.25).abs() < 1e-6));
        let mut d = vec![0.0f32; 21 * 21];
        d[10 * 21 + 10] = 1.0;
        gaussian_blur(&mut d, 21, 21, 1.0);
        let sum: f32 = d.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        assert!(d[10 * 21 + 10] > d[10 * 21 + 11]);
    }
}
