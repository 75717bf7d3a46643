//! Saliency maps of a trained classifier for one image: vanilla gradients, SmoothGrad and
//! Grad-CAM, as overlays, with the share of saliency inside the lungs.
//!
//! `cargo run --release --example saliency -- --run RUN --input IMG --out DIR [--mask MASK.png]`
//!
//! Writes `DIR/<stem>_<method>.png` for the predicted class (or `--class`) and
//! `DIR/<stem>_saliency.json` with the probabilities, the gate verdict and each method's
//! share of saliency mass inside the lung mask.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::classifier::saliency::{Method, saliency};
use cxr::classifier::{Classifier, Pipeline};
use cxr::core::{Label, LungMask};
use cxr::lungseg::Segmenter;

#[derive(Parser)]
#[command(about = "Saliency maps (vanilla, SmoothGrad, Grad-CAM) for one image")]
struct Args {
    /// A run folder written by train_classifier.
    #[arg(long)]
    run: PathBuf,
    /// Image (PNG, JPEG, TIFF, BMP, WebP or DICOM).
    #[arg(long)]
    input: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Lung mask of the image; without it the run's segmenter makes one.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Class to explain (healthy, covid, bacterial); default: the predicted one.
    #[arg(long)]
    class: Option<Label>,
    /// SmoothGrad samples.
    #[arg(long, default_value_t = 16)]
    samples: usize,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    anyhow::ensure!(
        a.samples >= 1,
        "--samples 0: SmoothGrad needs at least 1 sample"
    );
    let device = cxr::nn::device_from_env()?;
    let clf = Classifier::load(&a.run, device)?;
    let img = cxr::classifier::data::load_image(&a.input)?;
    let (mask, qc, clf) = match &a.mask {
        Some(m) => (LungMask::load(m)?, None, clf),
        None => {
            let recorded = clf.config().segmenter.as_deref();
            anyhow::ensure!(
                recorded.is_some(),
                "the run records no segmenter: pass --mask"
            );
            let seg_dir = cxr::classifier::run::segmenter_dir(&a.run, recorded)?;
            let p = Pipeline::new(Segmenter::load(&seg_dir, device)?, clf);
            let out = p.run_image(&img)?;
            (out.mask, Some(out.qc), p.classifier)
        }
    };
    let probs = clf.predict(&img, &mask)?;
    let class = a.class.map_or_else(
        || {
            probs
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map_or(0, |(i, _)| i)
        },
        Label::index,
    );
    std::fs::create_dir_all(&a.out)?;
    let stem = a
        .input
        .file_stem()
        .map_or("image".into(), |s| s.to_string_lossy());
    let mut shares = serde_json::Map::new();
    for method in [
        Method::Vanilla,
        Method::SmoothGrad {
            samples: a.samples,
            noise: 0.15,
        },
        Method::GradCam,
    ] {
        let map = saliency(&clf, &img, &mask, class, method)?;
        let png = a.out.join(format!("{stem}_{}.png", method.name()));
        let ov = cxr::report::layers::saliency_overlay(&img, &map.values, Some(&mask))?;
        cxr::core::save_rgb_png(&png, &ov)?;
        let share = map.share_inside(&mask);
        println!(
            "{:<10} share inside the lungs {:.3} → {}",
            method.name(),
            share,
            png.display()
        );
        shares.insert(method.name().into(), share.into());
    }
    let summary = serde_json::json!({
        "input": a.input,
        "class": Label::from_index(class).map(Label::as_str),
        "probabilities": {"healthy": probs[0], "covid": probs[1], "bacterial": probs[2]},
        "qc": qc,
        "share_inside_lungs": shares,
    });
    let json = a.out.join(format!("{stem}_saliency.json"));
    cxr::core::write_bytes_atomic(&json, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    Ok(())
}
