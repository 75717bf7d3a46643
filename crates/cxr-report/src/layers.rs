//! What is drawn over a radiograph: the transparent layers a viewer stacks (the review
//! page of `cxr-serve`: the lung mask and a saliency heat map, each an RGBA PNG at the
//! image's size, so that the viewer can toggle them and set their opacity), the same
//! heat map blended on the image for the reports ([`saliency_overlay`]), the lungs a
//! segmenter found ([`lungs_overlay`]) and a segmentation against its reference
//! ([`agreement_image`]).

use cxr_core::{GrayImage, LungMask};
use image::ImageEncoder as _;
use image::{Rgb, RgbImage, Rgba, RgbaImage};

use crate::{Error, Result};

/// The lung mask as an RGBA PNG: lungs in a cyan tint (alpha 160 of 255), the rest
/// transparent.
///
/// # Errors
///
/// PNG encoding errors (none in practice: the image is in memory).
pub fn mask_layer_png(mask: &LungMask) -> Result<Vec<u8>> {
    let (w, h) = mask.dimensions();
    let img = RgbaImage::from_fn(w, h, |x, y| {
        if mask.contains(x, y) {
            Rgba([0, 200, 255, 160])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    encode(&img, "lung mask layer")
}

/// A saliency map (`values`, row-major, `width × height`, any scale ≥ 0) as an RGBA
/// PNG: values are divided by their 99th percentile (a few extreme gradients would
/// otherwise make everything else invisible) and clipped to 1, then drawn from red to
/// yellow, transparent below 0.15 and more opaque as the value rises.
///
/// # Errors
///
/// [`Error::Shape`] when `values` does not hold `width × height` numbers; PNG encoding
/// errors.
pub fn heat_layer_png(width: u32, height: u32, values: &[f32]) -> Result<Vec<u8>> {
    encode(&heat_layer(width, height, values)?, "saliency layer")
}

fn heat_layer(width: u32, height: u32, values: &[f32]) -> Result<RgbaImage> {
    if values.len() != width as usize * height as usize {
        return Err(Error::Shape {
            what: "saliency layer",
            detail: format!("{} values for a {width} × {height} image", values.len()),
        });
    }
    let scale = percentile_99(values);
    Ok(RgbaImage::from_fn(width, height, |x, y| {
        let v = values[(y * width + x) as usize];
        let t = if scale > 0.0 && v.is_finite() {
            (v / scale).clamp(0.0, 1.0)
        } else {
            0.0
        };
        heat(t)
    }))
}

/// A saliency map (`values`, row-major, the image's size) blended on its radiograph as
/// the review page shows it at full opacity (the layer of [`heat_layer_png`]), with the
/// outline of `mask`'s lungs in white when it has the image's size: the saliency
/// figures of the reports, so that a report and the page draw one map alike.
///
/// # Errors
///
/// [`Error::Shape`] when `values` does not hold one number per pixel.
pub fn saliency_overlay(
    img: &GrayImage,
    values: &[f32],
    mask: Option<&LungMask>,
) -> Result<RgbImage> {
    let (w, h) = img.dimensions();
    let layer = heat_layer(w, h, values)?;
    let mask = mask.filter(|m| m.dimensions() == (w, h));
    Ok(RgbImage::from_fn(w, h, |x, y| {
        if mask.is_some_and(|m| on_outline(m, x, y)) {
            return Rgb([255, 255, 255]);
        }
        let g = f32::from(img.get_pixel(x, y).0[0]);
        let Rgba([r, gr, b, a]) = *layer.get_pixel(x, y);
        let a = f32::from(a) / 255.0;
        let mix = |c: u8| (g * (1.0 - a) + f32::from(c) * a).round() as u8;
        Rgb([mix(r), mix(gr), mix(b)])
    }))
}

/// Whether `(x, y)` is a lung pixel with a 4-neighbour outside the lungs or the image.
fn on_outline(mask: &LungMask, x: u32, y: u32) -> bool {
    let (w, h) = mask.dimensions();
    mask.contains(x, y)
        && [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)]
            .iter()
            .any(|(dx, dy)| {
                let (a, b) = (i64::from(x) + dx, i64::from(y) + dy);
                a < 0
                    || b < 0
                    || a >= i64::from(w)
                    || b >= i64::from(h)
                    || !mask.contains(a as u32, b as u32)
            })
}

/// The radiograph with the patient's right lung (on the image's left) tinted green and
/// the left one blue, a quarter of the colour over three quarters of the image:
/// `segment`'s `overlays/` and the paper's Figure 2. A mask of another size than the
/// image tints nothing.
pub fn lungs_overlay(img: &GrayImage, right: &LungMask, left: &LungMask) -> RgbImage {
    let dims = img.dimensions();
    let tint = |m: &LungMask, x, y| m.dimensions() == dims && m.contains(x, y);
    RgbImage::from_fn(dims.0, dims.1, |x, y| {
        let g = img.get_pixel(x, y).0[0];
        let mix = |v: u8, t: u8| ((u16::from(v) * 3 + u16::from(t)) / 4) as u8;
        if tint(right, x, y) {
            Rgb([mix(g, 0), mix(g, 255), mix(g, 0)])
        } else if tint(left, x, y) {
            Rgb([mix(g, 0), mix(g, 0), mix(g, 255)])
        } else {
            Rgb([g, g, g])
        }
    })
}

/// Red (low) to yellow (high); transparent up to 0.15 (the speckle of small gradients
/// everywhere would otherwise tint the whole image), then rising to 85 % opaque.
fn heat(t: f32) -> Rgba<u8> {
    let g = (255.0 * t).round() as u8;
    let a = (217.0 * ((t - 0.15) / 0.85).max(0.0)).round() as u8;
    Rgba([255, g, 0, a])
}

fn percentile_99(values: &[f32]) -> f32 {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f64 * 0.99).round() as usize;
    let (_, nth, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    *nth
}

fn encode(img: &RgbaImage, what: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|source| Error::Encode { what, source })?;
    Ok(out)
}

/// A segmentation against its reference, drawn on the radiograph for a person to judge:
/// lung in both tinted green, lung only in `predicted` (over-segmented) red, lung only in
/// `reference` (missed) blue, the rest gray. `score_segmenter`'s sheet of its worst
/// images. Masks of another size than the image are not drawn.
pub fn agreement_image(
    img: &cxr_core::GrayImage,
    predicted: &LungMask,
    reference: &LungMask,
) -> image::RgbImage {
    let dims = img.dimensions();
    let fits = predicted.dimensions() == dims && reference.dimensions() == dims;
    image::RgbImage::from_fn(dims.0, dims.1, |x, y| {
        let g = img.get_pixel(x, y).0[0];
        let mix = |t: [u8; 3]| image::Rgb(t.map(|c| ((u16::from(g) + u16::from(c)) / 2) as u8));
        if !fits {
            return image::Rgb([g, g, g]);
        }
        match (predicted.contains(x, y), reference.contains(x, y)) {
            (true, true) => mix([0, 200, 0]),
            (true, false) => mix([255, 0, 0]),
            (false, true) => mix([0, 80, 255]),
            (false, false) => image::Rgb([g, g, g]),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> RgbaImage {
        image::load_from_memory(png).unwrap().to_rgba8()
    }

    #[test]
    fn mask_layer_tints_the_lungs_only() {
        let mask = LungMask::from_fn(8, 6, |x, _| x < 3);
        let img = decode(&mask_layer_png(&mask).unwrap());
        assert_eq!(img.dimensions(), (8, 6));
        assert_eq!(img.get_pixel(1, 2).0, [0, 200, 255, 160]);
        assert_eq!(img.get_pixel(5, 2).0[3], 0);
    }

    #[test]
    fn heat_layer_scales_by_the_99th_percentile() {
        // 100 values 0..99 and one outlier: the outlier does not wash the map out.
        let mut values: Vec<f32> = (0..100).map(|i| i as f32).collect();
        values.push(1e6);
        values.extend([0.0; 9]);
        let img = decode(&heat_layer_png(11, 10, &values).unwrap());
        assert_eq!(img.get_pixel(0, 0).0[3], 0, "zero is transparent");
        assert_eq!(img.get_pixel(10, 0).0[3], 0, "so is 10 % of the scale");
        // 99th percentile of the 110 values is 99 (index 108 of the sorted list).
        let p50 = img.get_pixel(50 % 11, 50 / 11).0;
        assert_eq!(p50[1], (255.0f32 * 50.0 / 99.0).round() as u8);
        assert_eq!(img.get_pixel(100 % 11, 100 / 11).0, [255, 255, 0, 217]);
        assert!(heat_layer_png(3, 3, &[1.0; 8]).is_err());
    }

    #[test]
    fn saliency_overlay_blends_the_page_layer_and_outlines_the_lungs() {
        let img = GrayImage::from_pixel(5, 4, image::Luma([100]));
        // One hot pixel at (4, 3); zero elsewhere.
        let mut values = vec![0.0f32; 20];
        values[19] = 2.0;
        let mask = LungMask::from_fn(5, 4, |x, y| (1..=3).contains(&x) && (1..=2).contains(&y));
        let ov = saliency_overlay(&img, &values, Some(&mask)).unwrap();
        assert_eq!(
            ov.get_pixel(0, 0).0,
            [100, 100, 100],
            "no saliency: the image"
        );
        // The hot pixel is the 99th percentile itself: yellow at 85 % (217 / 255).
        let a = 217.0f32 / 255.0;
        let mix = |c: f32| (100.0 * (1.0 - a) + c * a).round() as u8;
        assert_eq!(ov.get_pixel(4, 3).0, [mix(255.0), mix(255.0), mix(0.0)]);
        // A 3 × 2 lung has no inside pixel: all of it is outline.
        assert_eq!(ov.get_pixel(2, 1).0, [255, 255, 255]);
        assert!(saliency_overlay(&img, &values[1..], None).is_err());
        let other = LungMask::from_fn(2, 2, |_, _| true);
        assert_eq!(
            saliency_overlay(&img, &values, Some(&other)).unwrap(),
            saliency_overlay(&img, &values, None).unwrap(),
            "a mask of another size is not drawn"
        );
    }

    #[test]
    fn lungs_overlay_tints_right_green_and_left_blue() {
        let img = GrayImage::from_pixel(3, 1, image::Luma([100]));
        let right = LungMask::from_fn(3, 1, |x, _| x == 0);
        let left = LungMask::from_fn(3, 1, |x, _| x == 1);
        let ov = lungs_overlay(&img, &right, &left);
        assert_eq!(ov.get_pixel(0, 0).0, [75, 138, 75]);
        assert_eq!(ov.get_pixel(1, 0).0, [75, 75, 138]);
        assert_eq!(ov.get_pixel(2, 0).0, [100, 100, 100]);
    }

    #[test]
    fn agreement_colours_each_case() {
        let img = cxr_core::GrayImage::from_pixel(4, 1, image::Luma([100]));
        let predicted = LungMask::from_fn(4, 1, |x, _| x < 2);
        let reference = LungMask::from_fn(4, 1, |x, _| x == 0 || x == 2);
        let a = agreement_image(&img, &predicted, &reference);
        assert_eq!(a.get_pixel(0, 0).0, [50, 150, 50], "both: green");
        assert_eq!(a.get_pixel(1, 0).0, [177, 50, 50], "predicted only: red");
        assert_eq!(a.get_pixel(2, 0).0, [50, 90, 177], "reference only: blue");
        assert_eq!(a.get_pixel(3, 0).0, [100, 100, 100], "neither: the image");
        let other = LungMask::from_fn(2, 1, |_, _| true);
        assert_eq!(agreement_image(&img, &other, &reference), img_rgb(&img));
    }

    fn img_rgb(img: &cxr_core::GrayImage) -> image::RgbImage {
        image::DynamicImage::ImageLuma8(img.clone()).to_rgb8()
    }
}
