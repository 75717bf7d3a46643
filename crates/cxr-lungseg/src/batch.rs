//! Segmenting a folder: masks at each input's own size, overlays, and `qc.csv` with one
//! row per image (its gate verdict, or the error that stopped it; the rest goes on);
//! scoring a segmenter on labelled pairs. Either library runs the network: these tools
//! take any [`LungSegmenter`] (libtorch's [`crate::Segmenter`], `cxr_infer::Segmenter`).

use cxr_core::shard::{Journal, Shard, Table};
use std::path::{Path, PathBuf};

use cxr_core::{GrayImage, ImageFiles, LungMask};
use image::RgbImage;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::masks::MaskSet;
use crate::postprocess::{PostprocessOptions, Segmentation, postprocess};
use crate::qc::{LungQc, QcOptions, assess};

/// A trained lung segmenter, whichever library runs it: libtorch's [`crate::Segmenter`]
/// (feature `torch`) or the pure-Rust `cxr_infer::Segmenter`. The folder and scoring
/// tools of this module take either.
pub trait LungSegmenter {
    /// Lung probabilities at the image's own size (row-major).
    ///
    /// # Errors
    ///
    /// [`crate::Error::EmptyImage`] for an image without pixels; the library's errors.
    fn probabilities(&self, img: &GrayImage) -> Result<Vec<f32>, crate::Error>;

    /// Everything its masks depend on (the network, its weights, test-time mirroring,
    /// the library), as a folder run's journal records it.
    ///
    /// # Errors
    ///
    /// A weights file that cannot be read.
    fn settings(&self) -> Result<serde_json::Value, crate::Error>;
}

#[cfg(feature = "torch")]
impl LungSegmenter for crate::Segmenter {
    fn probabilities(&self, img: &GrayImage) -> Result<Vec<f32>, crate::Error> {
        crate::Segmenter::probabilities(self, img)
    }

    fn settings(&self) -> Result<serde_json::Value, crate::Error> {
        Ok(serde_json::json!({
            "backend": "libtorch",
            "segmenter": self.config().model,
            "weights": self.weights_id(),
            "mirror_average": self.mirror_average(),
        }))
    }
}

#[cfg(feature = "torch")]
impl crate::train::LabelledImages for MaskSet {
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn load(&self, i: usize) -> Result<(GrayImage, Vec<u8>), cxr_nn::loader::BoxError> {
        let (img, mask) = self.pairs[i].load()?;
        use crate::masks::PixelLabel;
        use crate::train::{BACKGROUND, IGNORE, LUNG};
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
    fn group(&self, i: usize) -> Option<&str> {
        self.pairs[i].group.as_deref()
    }
    fn path(&self, i: usize) -> Option<&Path> {
        Some(&self.pairs[i].image)
    }
}

/// Segments one image: probabilities → post-processing → quality gate.
///
/// # Errors
///
/// [`crate::Error::Postprocess`] / [`crate::Error::Qc`] for out-of-range options,
/// [`crate::Error::EmptyImage`] for an image without pixels, the library's errors.
pub fn segment_image<S: LungSegmenter + ?Sized>(
    seg: &S,
    img: &GrayImage,
    post: &PostprocessOptions,
    qc: &QcOptions,
) -> Result<(Segmentation, LungQc), crate::Error> {
    post.validate()?;
    qc.validate()?;
    let p = seg.probabilities(img)?;
    crate::qc::gate(&p, img.width(), img.height(), post, qc)
}

/// Draws a segmentation over its image for `overlays/`: the image, the patient's right
/// lung, the left one. Rendering lives in `cxr-report` (`cxr_report::layers::lungs_overlay`
/// is the one the `segment` tool gives); this crate only calls it.
pub type DrawLungs = fn(&GrayImage, &LungMask, &LungMask) -> RgbImage;

/// Output names (relative, `.png`) of the inputs `rels`: `<stem>.png` (the stem without
/// an image extension, [`cxr_core::names::image_stem`]: a DICOM file named by its UID
/// keeps its whole name), or `<file name>.png` for inputs of one folder that share a
/// stem; `None` for a name still taken by another input after that (an input literally
/// named `x.jpg.png` beside `x.jpg` and `x.png`), which is then an error row rather than
/// an overwrite.
fn output_names(rels: &[PathBuf]) -> Vec<Option<PathBuf>> {
    use std::collections::HashMap;
    let png = |r: &PathBuf| r.with_file_name(format!("{}.png", cxr_core::names::image_stem(r)));
    let mut by_stem: HashMap<PathBuf, usize> = HashMap::new();
    for r in rels {
        *by_stem.entry(png(r)).or_default() += 1;
    }
    let wanted: Vec<PathBuf> = rels
        .iter()
        .map(|r| {
            let stem = png(r);
            if by_stem[&stem] > 1 {
                let mut name = r.as_os_str().to_owned();
                name.push(".png");
                PathBuf::from(name)
            } else {
                stem
            }
        })
        .collect();
    let mut count: HashMap<&PathBuf, usize> = HashMap::new();
    for w in &wanted {
        *count.entry(w).or_default() += 1;
    }
    wanted
        .iter()
        .map(|w| (count[w] == 1).then(|| w.clone()))
        .collect()
}

/// One row of a scoring table ([`score_pairs`]): a predicted segmentation against its
/// ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    /// The image.
    pub image: String,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Dice of the post-processed lungs (what the pipeline uses), ignore pixels left out.
    pub dice: Option<f64>,
    /// Dice of the raw prediction (probability ≥ the threshold, no post-processing).
    pub dice_raw: Option<f64>,
    /// IoU of the post-processed lungs.
    pub iou: Option<f64>,
    /// 95th-percentile Hausdorff distance in pixels of the image (empty when undefined).
    pub hd95: Option<f64>,
    /// Lungs kept by post-processing.
    pub lungs_found: Option<u8>,
    /// The gate's verdict, `accept` or `reject`.
    pub verdict: Option<&'static str>,
    /// The error, for an `error` row.
    pub error: String,
    /// Whether the image was one the segmenter was trained on (its run's `images.csv`,
    /// [`crate::training_images::TrainedOn`]; an `error` row by its path only); `None`:
    /// not checked (no record given to [`score_pairs`]).
    pub trained_on: Option<bool>,
}

/// What a set of [`ScoreRow`]s says: the Dice of the post-processed lungs and of the raw
/// prediction over the images scored, how many fall below 0.90, how many the gate
/// rejected and how many could not be scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    /// Dice of the post-processed lungs.
    pub dice: crate::metrics::Stat,
    /// Dice before post-processing.
    pub dice_raw: crate::metrics::Stat,
    /// Images with a Dice below 0.90.
    pub below_090: usize,
    /// Images the gate rejected.
    pub rejected: usize,
    /// Rows that are errors.
    pub errors: usize,
}

impl ScoreSummary {
    /// The summary of `rows`; `None` when no image was scored.
    pub fn of(rows: &[ScoreRow]) -> Option<ScoreSummary> {
        let dice: Vec<f64> = rows.iter().filter_map(|r| r.dice).collect();
        let raw: Vec<f64> = rows.iter().filter_map(|r| r.dice_raw).collect();
        Some(ScoreSummary {
            dice: crate::metrics::Stat::of(&dice)?,
            dice_raw: crate::metrics::Stat::of(&raw)?,
            below_090: dice.iter().filter(|&&v| v < 0.90).count(),
            rejected: rows.iter().filter(|r| r.verdict == Some("reject")).count(),
            errors: rows.iter().filter(|r| r.status == "error").count(),
        })
    }
}

impl std::fmt::Display for ScoreSummary {
    /// `62 images: Dice mean 0.9486, median 0.9564, min 0.8472, 4 below 0.90; raw
    /// (before post-processing) mean 0.9483; gate rejected 14; 0 errors`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} images: Dice mean {:.4}, median {:.4}, min {:.4}, {} below 0.90; raw (before \
             post-processing) mean {:.4}; gate rejected {}; {} errors",
            self.dice.n,
            self.dice.mean,
            self.dice.median,
            self.dice.min,
            self.below_090,
            self.dice_raw.mean,
            self.rejected,
            self.errors
        )
    }
}

/// Scores a segmenter on labelled pairs: each image is segmented at its own size
/// ([`segment_image`]) and compared with its mask ([`crate::metrics::evaluate_labels`]),
/// ignore pixels left out. A pair that fails to load or score is an `error` row and the
/// rest go on. With the segmenter's record of its training images (`trained`), each row
/// says whether its image was one of them (`trained_on`), from the image already loaded.
///
/// # Errors
///
/// Out-of-range options, before any image is read.
pub fn score_pairs<S: LungSegmenter + ?Sized>(
    seg: &S,
    set: &MaskSet,
    post: &PostprocessOptions,
    qc: &QcOptions,
    trained: Option<&crate::training_images::TrainedOn>,
    progress: Option<&ProgressBar>,
) -> Result<Vec<ScoreRow>, crate::Error> {
    post.validate()?;
    qc.validate()?;
    if let Some(pb) = progress {
        pb.set_length(set.pairs.len() as u64);
    }
    let mut rows = Vec::with_capacity(set.pairs.len());
    for pair in &set.pairs {
        let image = pair.image.to_string_lossy().into_owned();
        let row = (|| -> Result<ScoreRow, Box<dyn std::error::Error + Send + Sync>> {
            let (img, truth) = pair.load()?;
            let p = seg.probabilities(&img)?;
            let raw = LungMask::from_fn(img.width(), img.height(), |x, y| {
                p[y as usize * img.width() as usize + x as usize] >= post.threshold
            });
            let s = postprocess(&p, img.width(), img.height(), post)?;
            let q = assess(&s, qc);
            let m = crate::metrics::evaluate_labels(&s.lungs, &truth)?;
            let m_raw = crate::metrics::evaluate_labels(&raw, &truth)?;
            Ok(ScoreRow {
                image: image.clone(),
                status: "ok",
                dice: Some(m.dice),
                dice_raw: Some(m_raw.dice),
                iou: Some(m.iou),
                hd95: m.hd95,
                lungs_found: Some(q.lungs_found),
                verdict: Some(if q.verdict.is_accept() {
                    "accept"
                } else {
                    "reject"
                }),
                error: String::new(),
                trained_on: trained.map(|t| {
                    let print = || cxr_core::fingerprint::Fingerprint::of_file(&pair.image, &img);
                    t.find(&pair.image, || print().ok()).is_some()
                }),
            })
        })()
        .unwrap_or_else(|e| ScoreRow {
            image: image.clone(),
            status: "error",
            dice: None,
            dice_raw: None,
            iou: None,
            hd95: None,
            lungs_found: None,
            verdict: None,
            error: cxr_core::error_chain(e.as_ref()),
            trained_on: trained.map(|t| t.find(&pair.image, || None).is_some()),
        });
        rows.push(row);
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    Ok(rows)
}

/// One of the images a segmenter did worst on, segmented again to be looked at
/// ([`worst_cases`]).
#[derive(Debug, Clone)]
pub struct WorstCase {
    /// Its index in the [`MaskSet`]'s pairs.
    pub index: usize,
    /// Its Dice, as scored.
    pub dice: f64,
    /// The image.
    pub image: GrayImage,
    /// The post-processed lungs the segmenter gives.
    pub predicted: LungMask,
    /// The reference lungs (ignore pixels not counted as lung).
    pub reference: LungMask,
}

/// The `n` pairs of `set` with the lowest Dice in `rows` ([`score_pairs`]'s answer for
/// `set`, in the order of its pairs), lowest first, each segmented again so that a
/// person can see what went wrong. A pair that fails now (its files changed since) is
/// left out with a warning rather than stopping the rest.
pub fn worst_cases<S: LungSegmenter + ?Sized>(
    seg: &S,
    set: &MaskSet,
    rows: &[ScoreRow],
    n: usize,
    post: &PostprocessOptions,
    qc: &QcOptions,
) -> Vec<WorstCase> {
    let mut order: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.dice.map(|d| (i, d)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    order
        .into_iter()
        .take(n)
        .filter_map(|(index, dice)| {
            let again = || -> Result<WorstCase, Box<dyn std::error::Error + Send + Sync>> {
                let (image, truth) = set.pairs.get(index).ok_or("no such pair")?.load()?;
                let (s, _) = segment_image(seg, &image, post, qc)?;
                Ok(WorstCase {
                    index,
                    dice,
                    predicted: s.lungs,
                    reference: truth.lung_mask(),
                    image,
                })
            };
            again()
                .map_err(|e| {
                    tracing::warn!(pair = index, error = %cxr_core::error_chain(e.as_ref()),
                        "left out of the worst cases")
                })
                .ok()
        })
        .collect()
}

/// One row of `qc.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct QcRow {
    /// Input path, relative to the input folder.
    pub image: String,
    /// The mask written, relative to the output folder (`masks/<stem>.png`, or
    /// `masks/<name>.png` when two inputs share a stem); empty unless `ok`.
    pub mask: String,
    /// `ok`, `error`, or `skipped` for a file that holds no image (a DICOMDIR, a report:
    /// [`ImageFiles::not_an_image`]).
    pub status: String,
    /// Lungs found (empty unless `ok`).
    pub lungs_found: Option<u8>,
    /// Lung fraction (empty unless `ok`).
    pub lung_fraction: Option<f32>,
    /// `accept` or `reject` (empty unless `ok`).
    pub verdict: Option<String>,
    /// Whether the verdict is near the gate's cut ([`crate::qc::LungQc::near_cut`]: the
    /// lungs found and their share within a percentage point of the smallest), so that
    /// another segmenter, or this one on another machine, may decide otherwise (empty
    /// unless `ok`).
    #[serde(default)]
    pub near_cut: Option<bool>,
    /// Rejection reason, error message, or what a skipped file is.
    pub reason: String,
}

/// Segments every raster image (PNG, JPEG, TIFF, BMP, WebP) under `input` (recursively,
/// as [`cxr_core::walk::files`] walks: hidden names skipped, `out` left out; [`segment_dir_shard`] takes other
/// [`ImageFiles`], DICOM among them) into `out/masks/<stem>.png` (0/255,
/// the input's size), `out/overlays/<stem>.png` drawn by `overlays` when given, and
/// `out/qc.csv`. Inputs of one folder
/// that share a stem (`x.jpg` and `x.png`) are named by their whole file name instead
/// (`x.jpg.png`, `x.png.png`), so that no mask overwrites another; the `mask` column
/// says which file is whose. Unreadable images are error rows. Returns the rows.
/// [`segment_dir_shard`] with the whole input: run again into the same `out` with the
/// same options and weights, it skips the images its journal lists (`out/.journal`;
/// remove it to redo everything); with other options or weights it starts over.
///
/// # Errors
///
/// [`crate::Error::Postprocess`] / [`crate::Error::Qc`] for out-of-range options (before
/// any image is read); [`crate::Error::Core`] when the folder cannot be walked or
/// `qc.csv` cannot be written.
pub fn segment_dir<S: LungSegmenter + ?Sized>(
    seg: &S,
    input: &Path,
    out: &Path,
    post: &PostprocessOptions,
    qc: &QcOptions,
    overlays: Option<DrawLungs>,
    progress: Option<&ProgressBar>,
) -> Result<Vec<QcRow>, crate::Error> {
    let files = ImageFiles::RASTER;
    let run = segment_dir_shard(
        seg,
        input,
        &files,
        out,
        post,
        qc,
        Shard::WHOLE,
        overlays,
        progress,
    )?;
    Ok(run.rows)
}

/// What [`segment_dir_shard`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    /// This shard's rows, in the order of the whole run's `qc.csv`.
    pub rows: Vec<QcRow>,
    /// Images found finished in the journal (a restarted shard) and not redone.
    pub resumed: usize,
    /// Images segmented by this call.
    pub segmented: usize,
    /// The table written: `qc.csv`, or this shard's part of it.
    pub table: PathBuf,
}

/// [`segment_dir`] for one [`Shard`] of the input and the images `files` takes
/// ([`ImageFiles::RASTER`], or `cxr_dicom::IMAGE_FILES` for DICOM too), or for the
/// one image file `input` names: the images whose relative path the shard owns, into
/// the shared `out` folder, the rows into `out/qc.shard-I-of-N.csv`
/// (`cxr_core::shard::merge_parts` joins the parts into the `qc.csv` a whole run
/// writes). Each finished image is journaled (`out/.journal/qc.shard-I-of-N.jsonl`), so
/// that a shard killed and started again skips what it finished; a shard's journal made
/// with other options, other segmenter weights or another backend is refused (the whole
/// input's starts over instead).
///
/// # Errors
///
/// As [`segment_dir`], and [`crate::Error::Journal`] when the journal cannot be used.
#[allow(clippy::too_many_arguments)]
pub fn segment_dir_shard<S: LungSegmenter + ?Sized>(
    seg: &S,
    input: &Path,
    files: &ImageFiles,
    out: &Path,
    post: &PostprocessOptions,
    qc: &QcOptions,
    shard: Shard,
    overlays: Option<DrawLungs>,
    progress: Option<&ProgressBar>,
) -> Result<ShardRun, crate::Error> {
    post.validate()?;
    qc.validate()?;
    let reader = files;
    // One image file given as the input is segmented alone, whatever its name.
    let (files, base) = if input.is_file() {
        (
            vec![input.to_path_buf()],
            input.parent().unwrap_or(Path::new("")),
        )
    } else {
        // The output folder is left out should it sit inside the input.
        let mut files = Vec::new();
        for entry in cxr_core::walk::files(input, Some(out)) {
            let p = entry.map_err(|(path, source)| cxr_core::Error::Io { path, source })?;
            if (reader.is_image)(&p) {
                files.push(p);
            }
        }
        (files, input)
    };
    let rels: Vec<PathBuf> = files
        .iter()
        .map(|p| p.strip_prefix(base).unwrap_or(p).to_path_buf())
        .collect();
    // Names over the whole input, so that every shard names a mask as the whole run does.
    let names = output_names(&rels);
    let mine: Vec<usize> = (0..files.len())
        .filter(|&i| shard.owns(&Shard::key(&rels[i])))
        .collect();
    if let Some(pb) = progress {
        pb.set_length(mine.len() as u64);
    }
    let settings = serde_json::json!({
        "post": post,
        "qc": qc,
        "model": seg.settings()?,
    })
    .to_string();
    let mut journal: Journal<QcRow> = Journal::open_in(
        out,
        shard,
        "qc",
        &settings,
        &[Table::new("qc.csv", "image")],
    )?;
    let (mut resumed, mut segmented) = (0, 0);
    let mut rows = Vec::with_capacity(mine.len());
    for i in mine {
        let (path, rel, name) = (&files[i], &rels[i], &names[i]);
        let key = Shard::key(rel);
        // Finished, and its mask is there: skipped.
        let finished = journal
            .done(&key)
            .filter(|r| r.status != "ok" || out.join(&r.mask).exists());
        if let Some(row) = finished {
            rows.push(row.clone());
            resumed += 1;
            if let Some(pb) = progress {
                pb.inc(1);
            }
            continue;
        }
        let row = (|| -> Result<QcRow, Box<dyn std::error::Error + Send + Sync>> {
            let name = name
                .as_ref()
                .ok_or("another input's mask has this name (rename one of them)")?;
            let img = match (reader.load)(path) {
                Ok(img) => img,
                // A disc's DICOMDIR, a report: nothing to segment, and no failure.
                Err(e) if (reader.not_an_image)(e.as_ref()) => {
                    return Ok(QcRow {
                        image: rel.to_string_lossy().into_owned(),
                        mask: String::new(),
                        status: "skipped".into(),
                        lungs_found: None,
                        lung_fraction: None,
                        verdict: None,
                        near_cut: None,
                        reason: cxr_core::error_chain(e.as_ref()),
                    });
                }
                Err(e) => return Err(e),
            };
            let (s, q) = segment_image(seg, &img, post, qc)?;
            s.lungs.save(&out.join("masks").join(name))?;
            if let Some(draw) = overlays {
                let picture = draw(&img, &s.right, &s.left);
                cxr_core::save_rgb_png(&out.join("overlays").join(name), &picture)?;
            }
            Ok(QcRow {
                image: rel.to_string_lossy().into_owned(),
                mask: Path::new("masks").join(name).to_string_lossy().into_owned(),
                status: "ok".into(),
                lungs_found: Some(q.lungs_found),
                lung_fraction: Some(q.lung_fraction),
                verdict: Some(
                    if q.verdict.is_accept() {
                        "accept"
                    } else {
                        "reject"
                    }
                    .into(),
                ),
                near_cut: Some(q.near_cut(qc)),
                reason: q
                    .verdict
                    .reason()
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            })
        })()
        .unwrap_or_else(|e| QcRow {
            image: rel.to_string_lossy().into_owned(),
            mask: String::new(),
            status: "error".into(),
            lungs_found: None,
            lung_fraction: None,
            verdict: None,
            near_cut: None,
            reason: cxr_core::error_chain(e.as_ref()),
        });
        journal.record(&key, row.clone())?;
        segmented += 1;
        rows.push(row);
        if let Some(pb) = progress {
            pb.inc(1);
        }
    }
    let table = out.join(shard.part_name("qc.csv"));
    cxr_core::write_csv(&table, &QC_COLUMNS, &rows)?;
    Ok(ShardRun {
        rows,
        resumed,
        segmented,
        table,
    })
}

/// Columns of `qc.csv`.
pub const QC_COLUMNS: [&str; 8] = [
    "image",
    "mask",
    "status",
    "lungs_found",
    "lung_fraction",
    "verdict",
    "near_cut",
    "reason",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_summary_counts_what_its_rows_say() {
        let row = |dice: Option<f64>, verdict: Option<&'static str>| ScoreRow {
            image: "x".into(),
            status: if dice.is_some() { "ok" } else { "error" },
            dice,
            dice_raw: dice.map(|d| d - 0.01),
            iou: None,
            hd95: None,
            lungs_found: None,
            verdict,
            error: String::new(),
            trained_on: None,
        };
        let rows = [
            row(Some(0.95), Some("accept")),
            row(Some(0.85), Some("reject")),
            row(Some(0.97), Some("accept")),
            row(None, None),
        ];
        let s = ScoreSummary::of(&rows).unwrap();
        assert_eq!((s.dice.n, s.below_090, s.rejected, s.errors), (3, 1, 1, 1));
        assert!((s.dice.mean - 0.92333).abs() < 1e-4);
        assert!((s.dice_raw.mean - 0.91333).abs() < 1e-4);
        assert_eq!(
            s.to_string(),
            "3 images: Dice mean 0.9233, median 0.9500, min 0.8500, 1 below 0.90; raw (before \
             post-processing) mean 0.9133; gate rejected 1; 1 errors"
        );
        assert_eq!(ScoreSummary::of(&rows[3..]), None);
    }

    /// Two rectangular lungs wherever it looks: a segmenter that needs no library.
    struct Boxes;
    fn in_boxes(x: u32, y: u32) -> bool {
        (8..56).contains(&y) && ((8..28).contains(&x) || (36..56).contains(&x))
    }
    impl LungSegmenter for Boxes {
        fn probabilities(&self, img: &GrayImage) -> Result<Vec<f32>, crate::Error> {
            let (w, h) = img.dimensions();
            Ok((0..h)
                .flat_map(|y| (0..w).map(move |x| if in_boxes(x, y) { 1.0 } else { 0.0 }))
                .collect())
        }
        fn settings(&self) -> Result<serde_json::Value, crate::Error> {
            Ok(serde_json::json!("boxes"))
        }
    }

    #[test]
    fn worst_cases_come_lowest_first_and_a_failing_one_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let (images, masks) = (dir.path().join("images"), dir.path().join("masks"));
        std::fs::create_dir_all(&images).unwrap();
        std::fs::create_dir_all(&masks).unwrap();
        // a: the boxes themselves; b: the right lung only; c: both lungs 6 rows short.
        type Lung = fn(u32, u32) -> bool;
        let truths: [(&str, Lung); 3] = [
            ("a", in_boxes),
            ("b", |x, y| in_boxes(x, y) && x >= 36),
            ("c", |x, y| in_boxes(x, y) && y < 50),
        ];
        for (name, lung) in truths {
            let img = GrayImage::from_pixel(64, 64, image::Luma([90]));
            cxr_core::save_png(&images.join(format!("{name}.png")), &img).unwrap();
            let mask = GrayImage::from_fn(64, 64, |x, y| {
                image::Luma([if lung(x, y) { 255 } else { 0 }])
            });
            cxr_core::save_png(&masks.join(format!("{name}.png")), &mask).unwrap();
        }
        let set = crate::masks::folder_pair(&images, &masks, Default::default()).unwrap();
        let (post, qc) = (PostprocessOptions::default(), QcOptions::default());
        let rows = score_pairs(&Boxes, &set, &post, &qc, None, None).unwrap();
        let dice: Vec<f64> = rows.iter().map(|r| r.dice.unwrap()).collect();
        assert!(dice[1] < dice[2] && dice[2] < dice[0], "{dice:?}");
        let worst = worst_cases(&Boxes, &set, &rows, 2, &post, &qc);
        let got: Vec<(usize, f64)> = worst.iter().map(|w| (w.index, w.dice)).collect();
        assert_eq!(got, [(1, dice[1]), (2, dice[2])]);
        assert_eq!(worst[0].reference.area(), 20 * 48, "the right lung only");
        assert_eq!(worst[0].predicted.dimensions(), (64, 64));
        // The worst image gone since scoring: the others are still shown.
        std::fs::remove_file(images.join("b.png")).unwrap();
        let worst = worst_cases(&Boxes, &set, &rows, 3, &post, &qc);
        let got: Vec<usize> = worst.iter().map(|w| w.index).collect();
        assert_eq!(got, [2, 0]);
    }

    #[test]
    fn inputs_sharing_a_stem_get_masks_of_their_own() {
        let rels: Vec<PathBuf> = [
            "a.png",
            "x.jpg",
            "x.png",
            "sub/x.png",
            "y.jpg",
            "y.jpg.png",
            "y.png",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let names = output_names(&rels);
        let shown: Vec<Option<&str>> = names
            .iter()
            .map(|n| n.as_deref().and_then(|p| p.to_str()))
            .collect();
        assert_eq!(
            shown,
            [
                Some("a.png"),
                Some("x.jpg.png"),
                Some("x.png.png"),
                Some("sub/x.png"),
                // `y.jpg` and `y.png` share a stem; `y.jpg.png` then wants the name
                // `y.jpg` takes: both are refused rather than one overwritten.
                None,
                None,
                Some("y.png.png"),
            ]
        );
    }
}
