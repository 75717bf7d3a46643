//! From an image and its lung mask to the network's input.
//!
//! Pixel values `v` (0..255) are mapped to `v / 127.5 − 1` (−1..1, the range Inception
//! v3's ImageNet weights were trained on), then multiplied by the lung mask, so every
//! pixel outside the lungs is exactly 0 and contributes nothing to the first convolution
//! (the paper: the network "only used the image pixels contained in the lung masks").
//! With [`InputMode::MaskedWithMask`] the mask (0/1) is a second channel; with
//! [`InputMode::Whole`] the mask is ignored (the shortcut audit's control).
//!
//! Training feeds the image (0..1) and the mask (a label plane) through the same
//! augmentation, then calls [`to_input`] on the batch; inference resizes both with
//! [`resize_pair`] and calls the same function, so the two paths cannot drift.

use cxr_core::{GrayImage, LungMask};
#[cfg(feature = "torch")]
use tch::{Kind, Tensor};

use crate::config::InputMode;

/// Network input from an image batch `[B, 1, H, W]` in 0..1 and a mask batch
/// `[B, 1, H, W]` (any numeric kind, nonzero = lung).
#[cfg(feature = "torch")]
pub fn to_input(images: &Tensor, masks: &Tensor, mode: InputMode) -> Tensor {
    let whole = images.to_kind(Kind::Float) * 2.0 - 1.0;
    let m = masks.ne(0).to_kind(Kind::Float);
    match mode {
        InputMode::Whole => whole,
        InputMode::Masked => whole * &m,
        InputMode::MaskedWithMask => Tensor::cat(&[whole * &m, m], 1),
        InputMode::Rgb => (whole * &m).repeat([1, 3, 1, 1]),
    }
}

/// The image and its mask shrunk by [`cxr_core::shrink_factor`] for a `size × size`
/// input (block means; the mask by block majority), so that resampling to the input reads
/// every part of a large radiograph instead of aliasing it. Images under `4 · size` pixels
/// on their shorter side come back as they are. Training and inference both start here.
pub fn shrink_pair(img: GrayImage, mask: LungMask, size: u32) -> (GrayImage, LungMask) {
    match cxr_core::shrink_factor(img.dimensions(), size) {
        1 => (img, mask),
        k => (cxr_core::shrink_gray(&img, k), mask.shrink(k)),
    }
}

/// The image (0..1, bilinear) and the mask (0/1, nearest) at `size × size`, row-major,
/// after [`shrink_pair`].
pub fn resize_pair(img: &GrayImage, mask: &LungMask, size: u32) -> (Vec<f32>, Vec<u8>) {
    let shrunk;
    let (img, mask) = match cxr_core::shrink_factor(img.dimensions(), size) {
        1 => (img, mask),
        k => {
            shrunk = (cxr_core::shrink_gray(img, k), mask.shrink(k));
            (&shrunk.0, &shrunk.1)
        }
    };
    let id = cxr_nn::Affine::identity();
    let src = (img.width() as usize, img.height() as usize);
    let out = (size as usize, size as usize);
    let data: Vec<f32> = img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect();
    let image = id.warp_image(&data, src, out);
    let (mw, mh) = mask.dimensions();
    let labels = id.warp_labels(&mask.to_binary(), (mw as usize, mh as usize), out, 0);
    (image, labels)
}

/// The network's input for one image and its mask (which must have the image's size),
/// `C × size × size` values, channel by channel, row-major: what [`to_input`] makes of
/// [`resize_pair`]'s output, computed without libtorch. The libtorch `Classifier` and
/// `cxr-infer` both take their input from here.
///
/// # Errors
///
/// [`crate::Error::MaskSize`] when the mask's size is not the image's.
pub fn input_values(
    img: &GrayImage,
    mask: &LungMask,
    size: u32,
    mode: InputMode,
) -> Result<Vec<f32>, crate::Error> {
    if mask.dimensions() != img.dimensions() {
        return Err(crate::Error::MaskSize {
            path: std::path::PathBuf::from("<in memory>"),
            image: img.dimensions(),
            mask: mask.dimensions(),
        });
    }
    let (image, labels) = resize_pair(img, mask, size);
    let whole = image.iter().map(|&v| v * 2.0 - 1.0);
    let masked = || {
        whole
            .clone()
            .zip(&labels)
            .map(|(v, &l)| v * if l != 0 { 1.0 } else { 0.0 })
    };
    Ok(match mode {
        InputMode::Whole => whole.collect(),
        InputMode::Masked => masked().collect(),
        InputMode::MaskedWithMask => masked()
            .chain(labels.iter().map(|&l| if l != 0 { 1.0 } else { 0.0 }))
            .collect(),
        InputMode::Rgb => masked().chain(masked()).chain(masked()).collect(),
    })
}

/// The input tensor `[1, C, size, size]` for one image and its mask (which must have the
/// image's size): [`input_values`] as a tensor.
///
/// # Errors
///
/// As [`input_values`].
#[cfg(feature = "torch")]
pub fn input_tensor(
    img: &GrayImage,
    mask: &LungMask,
    size: u32,
    mode: InputMode,
) -> Result<Tensor, crate::Error> {
    let s = i64::from(size);
    let v = input_values(img, mask, size, mode)?;
    Ok(Tensor::from_slice(&v).view([1, mode.channels(), s, s]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "torch")]
    #[test]
    fn outside_the_lungs_is_zero_and_inside_is_scaled() {
        let img = GrayImage::from_fn(8, 8, |x, _| image::Luma([if x < 4 { 0 } else { 255 }]));
        let mask = LungMask::from_fn(8, 8, |_, y| y >= 4);
        let t = input_tensor(&img, &mask, 8, InputMode::MaskedWithMask).unwrap();
        assert_eq!(t.size(), [1, 2, 8, 8]);
        let x = |c: i64, y: i64, xx: i64| t.double_value(&[0, c, y, xx]);
        assert_eq!(x(0, 0, 0), 0.0);
        assert_eq!(x(0, 0, 7), 0.0);
        assert_eq!(x(0, 5, 0), -1.0);
        assert_eq!(x(0, 5, 7), 1.0);
        assert_eq!(x(1, 5, 7), 1.0);
        assert_eq!(x(1, 1, 7), 0.0);
        let rgb = input_tensor(&img, &mask, 8, InputMode::Rgb).unwrap();
        assert_eq!(rgb.size(), [1, 3, 8, 8]);
        assert_eq!(rgb.double_value(&[0, 2, 5, 7]), 1.0);
        // The audit's control sees outside the lungs too.
        let whole = input_tensor(&img, &mask, 8, InputMode::Whole).unwrap();
        assert_eq!(whole.size(), [1, 1, 8, 8]);
        assert_eq!(whole.double_value(&[0, 0, 0, 7]), 1.0);
        assert_eq!(whole.double_value(&[0, 0, 0, 0]), -1.0);
    }

    #[test]
    fn large_images_are_averaged_not_aliased() {
        // Stripes 2 px bright in every 8: a quarter bright. Bilinear sampling at 8:1 reads
        // source columns 8x + 3 and 8x + 4, both dark, and would show black; the block
        // means first keep the quarter.
        let img = GrayImage::from_fn(1024, 1024, |x, _| {
            image::Luma([if x % 8 < 2 { 255 } else { 0 }])
        });
        let mask = LungMask::from_fn(1024, 1024, |_, _| true);
        let (i, m) = resize_pair(&img, &mask, 128);
        assert_eq!(i.len(), 128 * 128);
        let mean = i.iter().map(|&v| f64::from(v)).sum::<f64>() / i.len() as f64;
        assert!((mean - 0.25).abs() < 0.01, "mean {mean}");
        assert!(i.iter().all(|&v| (v - 0.25).abs() < 0.01));
        assert!(m.iter().all(|&v| v == 1));
    }

    #[test]
    fn resizing_keeps_the_mask_binary() {
        let img = GrayImage::from_fn(20, 10, |x, y| image::Luma([(x * 10 + y) as u8]));
        let mask = LungMask::from_fn(20, 10, |x, _| x >= 10);
        let (i, m) = resize_pair(&img, &mask, 16);
        assert_eq!((i.len(), m.len()), (256, 256));
        assert!(m.iter().all(|&v| v <= 1));
        assert_eq!(m.iter().filter(|&&v| v == 1).count(), 128);
    }
}
