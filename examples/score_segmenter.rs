//! Scores a trained segmenter on labelled images it has not seen: Dice, IoU and HD95 of
//! the post-processed lungs per image (ignore pixels left out), the raw Dice before
//! post-processing, the gate's verdict, and a summary; and a sheet of the images it did
//! worst on (`scores.worst.png` beside `scores.csv`: lung in both green, predicted only
//! red, missed blue), which is where a recipe's failures show.
//!
//! `cargo run --release --example score_segmenter -- --weights RUN --images DIR --masks DIR --out scores.csv`
//!
//! Takes the same mask sources as `train_segmenter` (`--dataset … --root …` and
//! `--chexmask TABLE --chexmask-images DIR` too; images in PNG, JPEG, TIFF, BMP, WebP
//! or DICOM).
//! `scripts/lungseg/train_and_score.sh` splits a folder pair by patient, trains on one
//! part and scores on the other. `--backend pure` runs the network without libtorch
//! (`cxr::infer`), the only backend when built with `--no-default-features`.
//!
//! A run folder records the images it was trained on (`images.csv`): each scored image
//! found among them (same file, or a copy by fingerprint) is marked in the `trained_on`
//! column, and the run warns and gives the summary of the others, since a segmenter's
//! Dice on its own training images flatters it.
#[path = "common/backend.rs"]
mod backend;
#[path = "common/logging.rs"]
mod logging;
#[path = "common/masks.rs"]
mod masks;

use std::path::PathBuf;

use backend::{Backend, DEFAULT_BACKEND};
use clap::Parser;
use cxr::lungseg::masks::MaskSet;
use cxr::lungseg::postprocess::PostprocessOptions;
use cxr::lungseg::qc::QcOptions;
use cxr::lungseg::training_images::TrainedOn;
use cxr::lungseg::{LungSegmenter, ScoreRow, ScoreSummary, score_pairs, worst_cases};
use cxr::report::layers::agreement_image;
use cxr::report::plot::{Tile, image_grid_png};
use indicatif::ProgressBar;

#[derive(Parser)]
#[command(about = "Score a lung segmenter against reference masks")]
struct Args {
    /// A run folder written by train_segmenter.
    #[arg(long)]
    weights: PathBuf,
    #[command(flatten)]
    masks: masks::MaskArgs,
    /// Per-image scores (CSV).
    #[arg(long)]
    out: PathBuf,
    /// Average each prediction with that of the mirrored image.
    #[arg(long)]
    mirror_average: bool,
    /// Which library runs the network (`pure`: without libtorch).
    #[arg(long, value_enum, default_value_t = DEFAULT_BACKEND)]
    backend: Backend,
    /// How many of the lowest-Dice images the sheet shows (0: no sheet).
    #[arg(long, default_value_t = 12)]
    worst: usize,
}

/// The scores, and the worst images drawn against their references.
type Scored = (Vec<ScoreRow>, Vec<Tile>);

/// The pairs scored through either library's segmenter, each marked when the run's
/// record says the segmenter was trained on it (the same file, or the same film by
/// fingerprint with the duplicate finder's default thresholds), and the `--worst`
/// lowest-Dice ones drawn against their references.
fn score_with<S: LungSegmenter>(
    seg: &S,
    set: &MaskSet,
    a: &Args,
    pb: &ProgressBar,
) -> anyhow::Result<Scored> {
    let (post, qc) = (PostprocessOptions::default(), QcOptions::default());
    let d = cxr::cohort::duplicates::DuplicateOptions::default();
    let trained = cxr::lungseg::training_images::read(&a.weights)?
        .map(|images| TrainedOn::new(images, d.max_hamming, d.max_thumbnail_mad));
    let rows = score_pairs(seg, set, &post, &qc, trained.as_ref(), Some(pb))?;
    let tiles = worst_cases(seg, set, &rows, a.worst, &post, &qc)
        .into_iter()
        .map(|w| Tile {
            image: agreement_image(&w.image, &w.predicted, &w.reference),
            caption: format!(
                "{:.3} {}",
                w.dice,
                set.pairs[w.index].image.file_name().map_or_else(
                    || rows[w.index].image.clone(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        })
        .collect();
    Ok((rows, tiles))
}

#[cfg(feature = "torch")]
fn score_torch(a: &Args, set: &MaskSet, pb: &ProgressBar) -> anyhow::Result<Scored> {
    let seg = cxr::lungseg::Segmenter::load(&a.weights, cxr::nn::device_from_env()?)?
        .with_mirror_average(a.mirror_average);
    score_with(&seg, set, a, pb)
}

#[cfg(not(feature = "torch"))]
fn score_torch(_: &Args, _: &MaskSet, _: &ProgressBar) -> anyhow::Result<Scored> {
    anyhow::bail!(backend::NO_TORCH)
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    anyhow::ensure!(
        !a.masks.is_empty(),
        "give --images/--masks, --dataset/--root or --chexmask/--chexmask-images"
    );
    backend::ensure_available(a.backend)?;
    let (set, parts) = a.masks.read_parts()?;
    let pb = cxr::core::progress::bar(0, "scoring", true);
    let (rows, worst) = match a.backend {
        Backend::Torch => score_torch(&a, &set, &pb)?,
        Backend::Pure => {
            let seg =
                cxr::infer::Segmenter::load(&a.weights)?.with_mirror_average(a.mirror_average);
            score_with(&seg, &set, &a, &pb)?
        }
    };
    pb.finish_and_clear();
    let header = [
        "image",
        "status",
        "dice",
        "dice_raw",
        "iou",
        "hd95",
        "lungs_found",
        "verdict",
        "error",
        "trained_on",
    ];
    cxr::core::write_csv(&a.out, &header, &rows)?;
    let Some(all) = ScoreSummary::of(&rows) else {
        let errors = rows.iter().filter(|r| r.status == "error").count();
        anyhow::bail!(
            "no image could be scored ({errors} errors; see {})",
            a.out.display()
        );
    };
    println!("{all}; {}", a.out.display());
    let seen = rows.iter().filter(|r| r.trained_on == Some(true)).count();
    if seen > 0 {
        let unseen: Vec<ScoreRow> = rows
            .iter()
            .filter(|r| r.trained_on == Some(false))
            .cloned()
            .collect();
        println!(
            "warning: {seen} of these images are ones the segmenter was trained on (column \
             trained_on): their Dice flatters it. The others: {}",
            ScoreSummary::of(&unseen).map_or("none scored".into(), |s| s.to_string())
        );
    }
    // Sources mixed (several tables or folders): each on its own line, since a segmenter
    // and its gate can do well on one database and badly on another.
    if parts.len() > 1 {
        let mut start = 0;
        for (name, n) in &parts {
            match ScoreSummary::of(&rows[start..start + n]) {
                Some(s) => println!("  {name}: {s}"),
                None => println!("  {name}: no image scored"),
            }
            start += n;
        }
    }
    if !worst.is_empty() {
        let title = format!(
            "Lowest Dice: lung in both green, predicted only red, missed blue ({} of {})",
            worst.len(),
            all.dice.n
        );
        let sheet = a.out.with_extension("worst.png");
        cxr::core::write_bytes_atomic(&sheet, &image_grid_png(&title, &worst, 4, 220)?)?;
        println!("the {} worst: {}", worst.len(), sheet.display());
    }
    Ok(())
}
