//! Trains the masked-input Inception v3 (healthy / covid-19 / bacterial) on a
//! `records.csv` manifest.
//!
//! `cargo run --release --example train_classifier -- --manifest M.csv --segmenter SEGRUN --out RUN`
//!
//! With `--segmenter`, lung masks are computed by that segmenter run and cached under
//! `RUN/masks/`; images the quality gate rejects are left out and listed in
//! `RUN/qc_rejected.csv`. Without it, the manifest's `mask_path` column gives the masks.
//! Without size/epoch flags: the `small` preset on a CPU, the paper's `v3_299` on a GPU.
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cxr::classifier::data::{Masks, examples_for_records, write_rejections};
use cxr::classifier::{ClassWeighting, ClassifierConfig, InputMode, TrainConfig, train};
use cxr::lungseg::Segmenter;
use cxr::lungseg::postprocess::PostprocessOptions;

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    /// Quarter-width Inception v3 at 128 px (CPU).
    Small,
    /// The paper's Inception v3 at 299 px.
    V3,
    /// Eighth-width at 96 px (tests).
    Tiny,
}

#[derive(Parser)]
#[command(about = "Train the masked-input Inception v3 classifier")]
struct Args {
    /// records.csv (source,patient_id,image_id,path,label,view,study_date,age,sex[,mask_path]).
    #[arg(long)]
    manifest: PathBuf,
    /// A segmenter run (train_segmenter); without it the manifest's mask_path column is used.
    #[arg(long)]
    segmenter: Option<PathBuf>,
    /// Run folder.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Input size in pixels.
    #[arg(long)]
    size: Option<i64>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    /// torchvision ImageNet weights converted to safetensors (see cxr_classifier::transfer).
    #[arg(long)]
    pretrained: Option<PathBuf>,
    /// Weight classes by inverse frequency.
    #[arg(long)]
    balanced: bool,
    /// Give the lung mask to the network as a second channel.
    #[arg(long)]
    mask_channel: bool,
    /// Decode the original images every epoch instead of keeping copies shrunk for the
    /// input size in OUT/inputs/ (same samples; saves the disk space of the copies).
    #[arg(long)]
    no_input_cache: bool,
    #[arg(long, default_value_t = 2020)]
    seed: u64,
    #[command(flatten)]
    gate: gate::GateArgs,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let device = cxr::nn::device_from_env()?;
    let preset = a.preset.unwrap_or(if device.is_cuda() {
        Preset::V3
    } else {
        Preset::Small
    });
    let mut config = match preset {
        Preset::Small => TrainConfig::cpu_small(),
        Preset::V3 => TrainConfig::default(),
        Preset::Tiny => TrainConfig {
            model: ClassifierConfig::tiny(96),
            ..TrainConfig::cpu_small()
        },
    };
    if let Some(s) = a.size {
        config.model.input_size = s;
    }
    if a.mask_channel {
        config.model.input = InputMode::MaskedWithMask;
    }
    config.epochs = a.epochs.unwrap_or(config.epochs);
    config.batch_size = a.batch_size.unwrap_or(config.batch_size);
    config.learning_rate = a.lr.unwrap_or(config.learning_rate);
    if let Some(p) = &a.pretrained {
        anyhow::ensure!(p.is_file(), "--pretrained {}: no such file", p.display());
    }
    config.pretrained = a.pretrained.map(std::path::absolute).transpose()?;
    config.segmenter = a
        .segmenter
        .as_deref()
        .map(std::path::absolute)
        .transpose()?;
    config.seed = a.seed;
    config.input_cache = !a.no_input_cache;
    if a.balanced {
        config.class_weighting = ClassWeighting::Balanced;
    }
    // Refuse bad settings and a bad gate before reading or segmenting anything.
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("--size / --epochs / --batch-size / --lr: {e}"))?;
    let qc = a.gate.options()?;
    let records = cxr::core::manifest::read_records(&a.manifest)?;
    let manifest_dir = a.manifest.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(&a.out)?;
    let segmenter = a
        .segmenter
        .as_deref()
        .map(|d| Segmenter::load(d, device))
        .transpose()?;
    let (cache, post) = (a.out.join("masks"), PostprocessOptions::default());
    let masks = Masks::segmenter_or_column(segmenter.as_ref(), &cache, &post, &qc, manifest_dir);
    let pb = cxr::core::progress::bar(records.len() as u64, "reading", true);
    let (examples, rejected) = examples_for_records(&records, masks, Some(&pb));
    pb.finish_and_clear();
    write_rejections(&a.out.join("qc_rejected.csv"), &rejected)?;
    println!(
        "{} records: {} used, {} left out (see {})",
        records.len(),
        examples.len(),
        rejected.len(),
        a.out.join("qc_rejected.csv").display()
    );
    let summary = train(&a.out, &examples, &config, device, true)?;
    cxr::experiments::run::write_training_curves(&a.out)?;
    if let Some(r) = &summary.import {
        print!("ImageNet import: {r}");
    }
    let last = summary.epochs.last();
    println!(
        "{} epochs run; best validation loss {:.4}; last validation accuracy {}; run in {}",
        summary.epochs.len(),
        summary.best_val_loss,
        last.map_or("-".into(), |m| format!("{:.3}", m.val_accuracy)),
        a.out.display()
    );
    Ok(())
}
