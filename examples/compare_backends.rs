//! Runs a trained pipeline on both backends, libtorch and pure Rust (`cxr::infer`), over
//! the images of a folder or a manifest, and counts where they differ: gate decisions
//! (accept, or the reason to reject), lung fractions, mask pixels — each differing pixel
//! shown with both backends' lung probabilities, to tell a difference at the threshold
//! from a real one — and the largest difference of a class probability
//! (`docs/inference.md`).
//!
//! `cargo run --release --example compare_backends -- --run RUN --input DIR|records.csv [--split split.csv]`
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::classifier::Pipeline;

#[derive(Parser)]
#[command(about = "Compare the libtorch and pure-Rust pipelines image by image")]
struct Args {
    /// A classifier run folder (its segmenter is the one it recorded).
    #[arg(long)]
    run: PathBuf,
    /// A folder of images, or a records table.
    #[arg(long)]
    input: PathBuf,
    /// With a records table: only the test patients of this `split.csv` (an
    /// experiment's).
    #[arg(long)]
    split: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let torch = Pipeline::load(&a.run, tch::Device::Cpu)?;
    let pure = cxr::infer::Pipeline::load(&a.run)?;
    let images: Vec<PathBuf> = if a.input.is_dir() {
        cxr::core::walk::files(&a.input, None)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|p| cxr::dicom::is_image_file(p))
            .collect()
    } else {
        let records = cxr::core::manifest::read_records(&a.input)?;
        let split = a
            .split
            .as_deref()
            .map(cxr::cohort::split::Split::read)
            .transpose()?;
        let test = |r: &cxr::core::ImageRecord| {
            split
                .as_ref()
                .is_none_or(|s| s.part(&r.patient) == Some(cxr::cohort::split::Part::Test))
        };
        records.into_iter().filter(test).map(|r| r.path).collect()
    };
    let pb = cxr::core::progress::bar(images.len() as u64, "comparing", true);
    let (mut decisions, mut fractions) = (0, 0);
    let (mut masks, mut pixels, mut worst, mut accepted) = (0, 0usize, 0f32, 0);
    // The largest distance from the threshold of a pixel the backends disagree on.
    let mut widest = 0f32;
    let threshold = torch.post.threshold;
    for path in &images {
        let img = cxr::dicom::load_image(path)?;
        let (t, p) = (torch.run_image(&img)?, pure.run_image(&img)?);
        if t.qc.verdict.code() != p.qc.verdict.code() {
            decisions += 1;
            eprintln!(
                "{}: gate {} vs {}",
                path.display(),
                t.qc.verdict,
                p.qc.verdict
            );
        } else if t.qc.lung_fraction != p.qc.lung_fraction {
            fractions += 1;
        }
        let (tm, pm) = (t.mask.to_binary(), p.mask.to_binary());
        let differ: Vec<usize> = (0..tm.len()).filter(|&i| tm[i] != pm[i]).collect();
        if !differ.is_empty() {
            masks += 1;
            pixels += differ.len();
            let (tp, pp) = (
                torch.segmenter.probabilities(&img)?,
                pure.segmenter.probabilities(&img)?,
            );
            let shown: Vec<String> = differ
                .iter()
                .take(4)
                .map(|&i| format!("{:.7} vs {:.7}", tp[i], pp[i]))
                .collect();
            for &i in &differ {
                widest = widest.max((tp[i] - threshold).abs().max((pp[i] - threshold).abs()));
            }
            eprintln!(
                "{}: {} mask pixels differ; lung probability there (libtorch vs pure): {}",
                path.display(),
                differ.len(),
                shown.join(", ")
            );
        }
        if let (Some(a), Some(b)) = (&t.probabilities, &p.probabilities) {
            accepted += 1;
            for (x, y) in a.iter().zip(b) {
                worst = worst.max((x - y).abs());
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    println!(
        "{} images ({accepted} accepted by both): {decisions} gate decisions differ \
         ({fractions} more with the same decision differ in lung fraction), {masks} masks \
         differ ({pixels} pixels, \
         all within {widest:.1e} of the {threshold} threshold), largest class probability \
         difference {worst:.2e}",
        images.len()
    );
    Ok(())
}
