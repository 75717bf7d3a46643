//! Segmenting a folder: masks at each input's own size, overlays, and `qc.csv` with one
//! row per image (its gate verdict, or the error that stopped it; the rest goes on).

use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, LungMask};
use image::{Rgb, RgbImage};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::masks::{MaskSet, PixelLabel};
use crate::postprocess::{PostprocessOptions, Segmentation, postprocess};
use crate::qc::{LungQc, QcOptions, assess};
use crate::train::{BACKGROUND, IGNORE, LUNG, LabelledImages, Segmenter};

impl LabelledImages for MaskSet {
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), cxr_nn::loader::BoxError> {
        let (img, mask) = self.pairs[i].load()?;
        let labels = mask
            .labels()
            .iter()
            .map(|l| match l {
                PixelLabel::Background => BACKGROUND,
                PixelLabel::Lung => LUNG,
                PixelLabel::Ignore => IGNORE,
            })
            .collect();
        Ok((img, labels))
    }
}

/// Segments one image: probabilities → post-processing → quality gate.
///
/// # Errors
///
/// [`crate::Error::Postprocess`] / [`crate::Error::Qc`] for out-of-range options,
/// [`crate::Error::EmptyImage`] for an image without pixels, libtorch errors.
pub fn segment_image(
    seg: &Segmenter,
    img: &GrayImage,
    post: &PostprocessOptions,
    qc: &QcOptions,
) -> Result<(Segmentation, LungQc), crate::Error> {
    post.validate()?;
    qc.validate()?;
    let p = seg.probabilities(img)?;
    let s = postprocess(&p, img.width(), img.height(), post)?;
    let q = assess(&s, qc);
    Ok((s, q))
}

/// The image with the patient's right lung tinted green and the left one blue.
pub fn overlay(img: &GrayImage, s: &Segmentation) -> RgbImage {
    let tint = |m: &LungMask, x, y| m.contains(x, y);
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let g = img.get_pixel(x, y).0[0];
        let mix = |v: u8, t: u8| ((u16::from(v) * 3 + u16::from(t)) / 4) as u8;
        if tint(&s.right, x, y) {
            Rgb([mix(g, 0), mix(g, 255), mix(g, 0)])
        } else if tint(&s.left, x, y) {
            Rgb([mix(g, 0), mix(g, 0), mix(g, 255)])
        } else {
            Rgb([g, g, g])
        }
    })
}

/// One row of `qc.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcRow {
    /// Input path, relative to the input folder.
    pub image: String,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Lungs found (empty on error).
    pub lungs_found: Option<u8>,
    /// Lung fraction (empty on error).
    pub lung_fraction: Option<f32>,
    /// `accept` or `reject` (empty on error).
    pub verdict: Option<&'static str>,
    /// Rejection reason or error message.
    pub reason: String,
}

/// Segments every PNG/JPEG under `input` (recursively, as [`cxr_core::walk::files`]
/// walks: hidden names skipped, `out` left out) into `out/masks/<stem>.png` (0/255,
/// the input's size), `out/overlays/<stem>.png` and `out/qc.csv`. Unreadable images are
/// error rows. Returns the rows.
///
/// # Errors
///
/// [`crate::Error::Postprocess`] / [`crate::Error::Qc`] for out-of-range options (before
/// any image is read); [`crate::Error::Core`] when the folder cannot be walked or
/// `qc.csv` cannot be written.
pub fn segment_dir(
    seg: &Segmenter,
    input: &Path,
    out: &Path,
    post: &PostprocessOptions,
    qc: &QcOptions,
    progress: Option<&ProgressBar>,
) -> Result<Vec<QcRow>, crate::Error> {
    post.validate()?;
    qc.validate()?;
    // The output folder is left out should it sit inside the input.
    let mut files = Vec::new();
    for entry in cxr_core::walk::files(input, Some(out)) {
        let p = entry.map_err(|(path, source)| cxr_core::Error::Io { path, source })?;
        if matches!(
            p.extension()
                .and_then(|x| x.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("png" | "jpg" | "jpeg")
        ) {
            files.push(p);
        }
    }
    if let Some(pb) = progress {
        pb.set_length(files.len() as u64);
    }
    let mut rows = Vec::with_capacity(files.len());
    for path in files {
        let rel: PathBuf = path.strip_prefix(input).unwrap_or(&path).to_path_buf();
        let stem = rel.with_extension("png");
        let row = (|| -> Result<QcRow, Box<dyn std::error::Error>> {
            let img = cxr_core::load_gray(&path)?;
            let (s, q) = segment_image(seg, &img, post, qc)?;
            s.lungs.save(&out.join("masks").join(&stem))?;
            cxr_core::save_rgb_png(&out.join("overlays").join(&stem), &overlay(&img, &s))?;
            Ok(QcRow {
                image: rel.to_string_lossy().into_owned(),
                status: "ok",
                lungs_found: Some(q.lungs_found),
                lung_fraction: Some(q.lung_fraction),
                verdict: Some(if q.verdict.is_accept() {
                    "accept"
                } else {
                    "reject"
                }),
                reason: q
                    .verdict
                    .reason()
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            })
        })()
        .unwrap_or_else(|e| QcRow {
            image: rel.to_string_lossy().into_owned(),
            status: "error",
            lungs_found: None,
            lung_fraction: None,
            verdict: None,
            reason: e.to_string(),
        });
        rows.push(row);
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    let header = [
        "image",
        "status",
        "lungs_found",
        "lung_fraction",
        "verdict",
        "reason",
    ];
    cxr_core::write_csv(&out.join("qc.csv"), &header, &rows)?;
    Ok(rows)
}
