//! What the classifier trains and predicts on: image + lung mask + class + patient, from a
//! `records.csv` manifest, with masks either given (`mask_path` column) or computed by a
//! segmenter run and cached, and quality-gate rejects set aside with their reason.

use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, ImageRecord, Label, LungMask};
use cxr_lungseg::postprocess::PostprocessOptions;
use cxr_lungseg::qc::{LungQc, QcOptions};
use cxr_lungseg::{Segmenter, segment_image};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Error;

pub use crate::batch::{MASK_COLUMN, Rejection, write_rejections};

/// One labelled image with its lung mask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Image file (PNG, JPEG, TIFF, BMP, WebP or DICOM).
    pub image: PathBuf,
    /// Lung mask file (PNG, nonzero = lung), the image's size.
    pub mask: PathBuf,
    /// The class.
    pub label: Label,
    /// Patient (namespaced by source: `source:id`).
    pub patient: String,
    /// Image id, unique within its source.
    pub image_id: String,
    /// The image file stores MONOCHROME1 polarity and is inverted when loaded
    /// ([`ImageRecord::load_options`]).
    #[serde(default)]
    pub invert: bool,
    /// A `cxr-synth` phantom, not a patient's radiograph
    /// ([`ImageRecord::is_synthetic`]): counted in the run's
    /// [`TrainingData`](crate::run::TrainingData).
    #[serde(default)]
    pub synthetic: bool,
    /// The gate's verdict on it was near the cut ([`LungQc::near_cut`]): its prediction's
    /// `cautions` say `lungs_near_cut`. `false` where the mask came from a column, ungated.
    #[serde(default)]
    pub near_cut: bool,
}

/// Loads any image a source ships (a raster image, or DICOM through `cxr-dicom`) as
/// 8-bit gray.
pub fn load_image(path: &Path) -> Result<GrayImage, Error> {
    load_image_with(path, cxr_core::LoadOptions::default())
}

/// [`load_image`] with the options of a raster file (`invert` for MONOCHROME1).
pub fn load_image_with(path: &Path, options: cxr_core::LoadOptions) -> Result<GrayImage, Error> {
    cxr_dicom::load_image_with(path, options).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// A record's image with bright bone ([`cxr_dicom::load_record_image`]).
pub fn load_record_image(r: &ImageRecord) -> Result<GrayImage, Error> {
    load_image_with(&r.path, r.load_options())
}

impl Example {
    /// The source name, the part of `patient` before its `:`.
    pub fn source(&self) -> &str {
        self.patient.split(':').next().unwrap_or("")
    }

    /// The [`ImageKey`](cxr_core::ImageKey) of the record it came from.
    pub fn key(&self) -> cxr_core::ImageKey {
        cxr_core::ImageKey::new(self.source(), self.image_id.as_str())
    }

    /// Loads the image and its mask, checking they have the same size.
    pub fn load(&self) -> Result<(GrayImage, LungMask), Error> {
        let img = load_image_with(&self.image, cxr_core::LoadOptions::inverted(self.invert))?;
        let mask = LungMask::load(&self.mask)?;
        if mask.dimensions() != img.dimensions() {
            return Err(Error::MaskSize {
                path: self.mask.clone(),
                image: img.dimensions(),
                mask: mask.dimensions(),
            });
        }
        Ok((img, mask))
    }
}

/// Images per class, in [`Label::index`] order.
pub fn class_counts(examples: &[Example]) -> [usize; Label::COUNT] {
    let mut n = [0; Label::COUNT];
    for e in examples {
        n[e.label.index()] += 1;
    }
    n
}

/// Splits example indices into (train, validation) by patient: `fraction` of each class's
/// patients (a patient's class is that of their first image) go to validation, drawn
/// from `seed`. No patient is in both parts.
pub fn split_by_patient(
    examples: &[Example],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut patients: Vec<(&str, Label)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in examples {
        if seen.insert(e.patient.as_str()) {
            patients.push((e.patient.as_str(), e.label));
        }
    }
    patients.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC1A5);
    let mut val = std::collections::BTreeSet::new();
    for label in Label::ALL {
        let mut ps: Vec<&str> = patients
            .iter()
            .filter(|(_, l)| l == label)
            .map(|(p, _)| *p)
            .collect();
        ps.shuffle(&mut rng);
        let k = ((ps.len() as f64 * fraction).round() as usize).min(ps.len().saturating_sub(1));
        val.extend(ps.into_iter().take(k));
    }
    (0..examples.len()).partition(|&i| !val.contains(examples[i].patient.as_str()))
}

/// Where the lung masks of a manifest's records come from.
#[derive(Debug, Clone, Copy)]
pub enum Masks<'a> {
    /// Segment every image with a segmenter and apply the gate ([`gate_records`]);
    /// masks and verdicts are cached under `cache`.
    Segmenter {
        /// The segmenter.
        segmenter: &'a Segmenter,
        /// Cache folder of masks and verdicts.
        cache: &'a Path,
        /// Mask post-processing.
        post: &'a PostprocessOptions,
        /// The quality gate.
        qc: &'a QcOptions,
    },
    /// The manifest's `mask_path` column ([`examples_with_mask_column`]), relative paths
    /// relative to `base` (the manifest's folder).
    Column {
        /// The manifest's folder.
        base: &'a Path,
    },
}

impl<'a> Masks<'a> {
    /// The segmenter's masks when one is given, else the manifest's `mask_path` column
    /// (relative to `base`): how `train_classifier` and `predict` choose.
    pub fn segmenter_or_column(
        segmenter: Option<&'a Segmenter>,
        cache: &'a Path,
        post: &'a PostprocessOptions,
        qc: &'a QcOptions,
        base: &'a Path,
    ) -> Self {
        match segmenter {
            Some(segmenter) => Masks::Segmenter {
                segmenter,
                cache,
                post,
                qc,
            },
            None => Masks::Column { base },
        }
    }
}

/// Records → the examples the classifier takes (image, lung mask, label) and the
/// rejections (the gate's verdict or the error, per record; the others go on): the one
/// way `train_classifier`, `predict` and the experiments turn a manifest into inputs.
pub fn examples_for_records(
    records: &[ImageRecord],
    masks: Masks<'_>,
    progress: Option<&ProgressBar>,
) -> (Vec<Example>, Vec<Rejection>) {
    match masks {
        Masks::Segmenter {
            segmenter,
            cache,
            post,
            qc,
        } => {
            let g = gate_records(records, segmenter, cache, post, qc, progress);
            (g.examples, g.rejected)
        }
        Masks::Column { base } => {
            let out = examples_with_mask_column(records, base);
            if let Some(pb) = progress {
                pb.inc(records.len() as u64);
            }
            out
        }
    }
}

/// Examples from records whose manifest carries a `mask_path` column (relative paths are
/// relative to `base`, the manifest's folder, as the `path` column's are). Records
/// without one are rejections (`error`).
pub fn examples_with_mask_column(
    records: &[ImageRecord],
    base: &Path,
) -> (Vec<Example>, Vec<Rejection>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in records {
        match crate::batch::mask_column_path(r, base) {
            Ok(mask) => ok.push(example(r, mask)),
            Err(detail) => bad.push(Rejection::new(r, "error", detail)),
        }
    }
    (ok, bad)
}

fn example(r: &ImageRecord, mask: PathBuf) -> Example {
    Example {
        image: r.path.clone(),
        mask,
        label: r.label,
        patient: r.patient.to_string(),
        image_id: r.image_id.clone(),
        invert: r.load_options().invert,
        synthetic: r.is_synthetic(),
        near_cut: false,
    }
}

/// Where a record's cached mask and gate verdict live under `cache`.
pub fn cached_paths(cache: &Path, r: &ImageRecord) -> (PathBuf, PathBuf) {
    let file = |ext| cache_file(cache, r.source.as_str(), &r.image_id, ext);
    (file("png"), file("qc.json"))
}

/// `cache/<source>/<image id>.<ext>`, the id made a file name by
/// [`cxr_core::names::file_stem_for`] (ids `a/b` and `a_b` get two files).
fn cache_file(cache: &Path, source: &str, image_id: &str, ext: &str) -> PathBuf {
    let stem = cxr_core::names::file_stem_for(image_id);
    cache.join(source).join(format!("{stem}.{ext}"))
}

/// The examples with every image too large for a `size × size` input replaced by a copy
/// shrunk once by [`crate::preprocess::shrink_pair`] (image `dir/<source>/<id>.png`, mask
/// `<id>.mask.png`), so that training reads a few hundred pixels a side each epoch instead
/// of decoding the original. The samples are the same bit for bit: shrinking a shrunk
/// copy changes nothing. Copies from an earlier call are reused; an example that cannot
/// be read is kept as it is, for the loader to report.
pub fn shrink_inputs(
    examples: &[Example],
    dir: &Path,
    size: u32,
    progress: Option<&ProgressBar>,
) -> Vec<Example> {
    use rayon::prelude::*;
    examples
        .par_iter()
        .map(|e| {
            // The copy is written as loaded, bone bright: it needs no inverting.
            let shrunk = Example {
                image: cache_file(dir, e.source(), &e.image_id, "png"),
                mask: cache_file(dir, e.source(), &e.image_id, "mask.png"),
                invert: false,
                ..e.clone()
            };
            let made = (shrunk.image.exists() && shrunk.mask.exists())
                || e.load().is_ok_and(|(img, m)| {
                    cxr_core::shrink_factor(img.dimensions(), size) > 1 && {
                        let (img, m) = crate::preprocess::shrink_pair(img, m, size);
                        // The mask last: a copy counts once both files exist.
                        cxr_core::save_png(&shrunk.image, &img).is_ok()
                            && m.save(&shrunk.mask).is_ok()
                    }
                });
            if let Some(pb) = progress {
                pb.inc(1);
            }
            if made { shrunk } else { e.clone() }
        })
        .collect()
}

/// A cohort after the segmenter and the gate ([`gate_records`]).
#[derive(Debug, Default)]
pub struct Gated {
    /// The images the gate accepted, in the records' order.
    pub examples: Vec<Example>,
    /// The others, with the gate's reason or the error.
    pub rejected: Vec<Rejection>,
    /// Each record's measures and verdict (`None` where the image could not be
    /// segmented), in the records' order.
    pub verdicts: Vec<Option<LungQc>>,
}

/// Segments every record with `seg` (or reuses the mask cached under `cache` by an
/// earlier call, [`segment_record`]), applies the gate, and returns the accepted
/// examples, the rejections and every record's verdict. Per-record failures are
/// rejections; the rest goes on.
pub fn gate_records(
    records: &[ImageRecord],
    seg: &Segmenter,
    cache: &Path,
    post: &PostprocessOptions,
    qc: &QcOptions,
    progress: Option<&ProgressBar>,
) -> Gated {
    let mut g = Gated::default();
    for r in records {
        let s = segment_record(r, seg, cache, post, qc);
        match s.outcome {
            Ok(e) => g.examples.push(e),
            Err(rejection) => g.rejected.push(rejection),
        }
        g.verdicts.push(s.qc);
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    g
}

/// One record after the segmenter and the gate ([`segment_record`]).
#[derive(Debug)]
pub struct Segmented {
    /// The example when the gate accepted the image, else why not.
    pub outcome: std::result::Result<Example, Rejection>,
    /// The gate's measures and verdict, when the image was segmented (now or before).
    pub qc: Option<LungQc>,
    /// The decoded image and its lungs, when they were decoded and segmented in this call
    /// (a record whose mask and verdict were cached is not decoded): what lets a caller
    /// classify the image without decoding it again.
    pub decoded: Option<(GrayImage, LungMask)>,
}

/// What `qc.json` beside a cached mask holds: the gate's measures (with the verdict of
/// the gate then, judged again on reading) and which segmenter made the mask.
#[derive(Serialize, Deserialize)]
struct CachedVerdict {
    #[serde(flatten)]
    qc: LungQc,
    /// [`mask_maker`] of the segmenter and post-processing that made the mask; absent in
    /// caches written before it was kept, which are made again.
    #[serde(default)]
    made_by: Option<String>,
}

/// Who made a mask: the segmenter's settings and weights, its mirror averaging and the
/// post-processing, as a short hash. A mask cached by another is made again.
fn mask_maker(seg: &Segmenter, post: &PostprocessOptions) -> String {
    let who = serde_json::json!({
        "segmenter": seg.config(),
        "weights": seg.weights_id(),
        "mirror_average": seg.mirror_average(),
        "post": post,
    });
    format!(
        "{:016x}",
        cxr_core::names::fnv1a64(who.to_string().as_bytes())
    )
}

/// The gate's measures kept in `qc_path` when the segmenter and post-processing `maker`
/// names made them, judged by `qc`; `None` when there are none, or another made them.
fn cached_verdict(qc_path: &Path, maker: &str, qc: &QcOptions) -> Option<LungQc> {
    let c = cxr_nn::checkpoint::read_json::<CachedVerdict>(qc_path).ok()?;
    (c.made_by.as_deref() == Some(maker)).then(|| c.qc.under(qc))
}

/// Segments one record with `seg` (or reuses the mask cached under `cache` when the
/// same segmenter and post-processing made it) and applies the gate `qc`: a cached
/// verdict is judged again under `qc` from its measures, so that a run under another
/// gate, or another segmenter, never answers with what an earlier one decided. A
/// failure is a rejection (`error`, with the causes); a rejection by the gate says when
/// the verdict is near its cut ([`LungQc::describe`]).
pub fn segment_record(
    r: &ImageRecord,
    seg: &Segmenter,
    cache: &Path,
    post: &PostprocessOptions,
    qc: &QcOptions,
) -> Segmented {
    let (mask_path, qc_path) = cached_paths(cache, r);
    let maker = mask_maker(seg, post);
    let mut decoded = None;
    let verdict = (|| -> Result<LungQc, Error> {
        if mask_path.exists()
            && let Some(q) = cached_verdict(&qc_path, &maker, qc)
        {
            return Ok(q);
        }
        let img = load_record_image(r)?;
        let (s, q) = segment_image(seg, &img, post, qc).map_err(|e| Error::Input {
            path: r.path.clone(),
            source: Box::new(e),
        })?;
        // The verdict last: a mask counts as cached once its verdict names its maker.
        s.lungs.save(&mask_path)?;
        let kept = CachedVerdict {
            qc: q,
            made_by: Some(maker.clone()),
        };
        cxr_nn::checkpoint::write_json(&qc_path, &kept)?;
        decoded = Some((img, s.lungs));
        Ok(q)
    })();
    let outcome = match &verdict {
        Ok(q) if q.verdict.is_accept() => Ok(Example {
            near_cut: q.near_cut(qc),
            ..example(r, mask_path)
        }),
        Ok(q) => Err(Rejection::new(r, q.verdict.code(), q.describe(qc))),
        Err(e) => Err(Rejection::new(r, "error", cxr_core::error_chain(e))),
    };
    if outcome.is_err() {
        decoded = None;
    }
    Segmented {
        outcome,
        qc: verdict.ok(),
        decoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(patient: &str, label: Label) -> Example {
        Example {
            image: "i.png".into(),
            mask: "m.png".into(),
            label,
            patient: patient.into(),
            image_id: patient.into(),
            invert: false,
            synthetic: false,
            near_cut: false,
        }
    }

    #[test]
    fn an_inverted_record_becomes_an_example_that_loads_with_bright_bone() {
        let dir = tempfile::tempdir().unwrap();
        let stored =
            GrayImage::from_fn(32, 16, |x, _| image::Luma([if x < 16 { 10 } else { 240 }]));
        cxr_core::save_png(&dir.path().join("i.png"), &stored).unwrap();
        LungMask::from_fn(32, 16, |x, _| x >= 24)
            .save(&dir.path().join("m.png"))
            .unwrap();
        let mut r = ImageRecord::new(
            cxr_core::PatientId::new(cxr_core::SourceId::BimcvCovid, "p"),
            "i",
            dir.path().join("i.png"),
            Label::Covid,
            "",
            cxr_core::View::Pa,
        );
        r.extras.insert(MASK_COLUMN.into(), "m.png".into());
        r.extras
            .insert(cxr_core::record::INVERT_EXTRA.into(), "true".into());
        let (ok, bad) = examples_with_mask_column(&[r.clone()], dir.path());
        assert!(bad.is_empty());
        assert!(ok[0].invert);
        let (img, _) = ok[0].load().unwrap();
        assert_eq!(img.get_pixel(0, 0).0[0], 245);
        assert_eq!(img.get_pixel(31, 0).0[0], 15);
        assert_eq!(load_record_image(&r).unwrap(), img);
        // Its shrunk copy is stored as loaded and is not inverted a second time.
        let shrunk = shrink_inputs(&ok, &dir.path().join("cache"), 4, None);
        assert!(!shrunk[0].invert);
        let (small, _) = shrunk[0].load().unwrap();
        assert!(small.get_pixel(0, 0).0[0] > 200, "{small:?}");
    }

    #[test]
    fn patient_split_keeps_patients_whole_and_takes_a_tenth_per_class() {
        let mut all = Vec::new();
        for p in 0..40 {
            let label = Label::ALL[p % 3];
            for _ in 0..(1 + p % 3) {
                all.push(ex(&format!("p{p}"), label));
            }
        }
        let (train, val) = split_by_patient(&all, 0.1, 3);
        assert_eq!(train.len() + val.len(), all.len());
        let pt = |ix: &[usize]| -> std::collections::BTreeSet<String> {
            ix.iter().map(|&i| all[i].patient.clone()).collect()
        };
        let (a, b) = (pt(&train), pt(&val));
        assert!(a.is_disjoint(&b));
        // 14, 13, 13 patients per class → round(1.4) = 1, 1, 1.
        assert_eq!(b.len(), 3);
        assert_eq!(split_by_patient(&all, 0.1, 3), (train, val));
        assert_ne!(
            split_by_patient(&all, 0.1, 4).1,
            split_by_patient(&all, 0.1, 3).1
        );
    }

    #[test]
    fn records_without_a_mask_column_are_rejections() {
        let p = cxr_core::PatientId::new(cxr_core::SourceId::Qmenta, "7");
        let mut r = ImageRecord::new(p, "a", "/x/a.png", Label::Covid, "t", cxr_core::View::Pa);
        let (ok, bad) = examples_with_mask_column(std::slice::from_ref(&r), Path::new("/x"));
        assert!(ok.is_empty());
        assert_eq!(bad[0].reason, "error");
        r.extras.insert(MASK_COLUMN.into(), "masks/a.png".into());
        let (ok, _) = examples_with_mask_column(&[r], Path::new("/x"));
        assert_eq!(ok[0].mask, Path::new("/x/masks/a.png"));
    }
}
