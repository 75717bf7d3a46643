//! Trains the DeepLabv3+ lung segmenter on image/mask pairs (or on phantoms).
//!
//! `cargo run --release --example train_segmenter -- --images DIR --masks DIR --out RUN`
//! `cargo run --release --example train_segmenter -- --synthetic 600 --out RUN`
//! Without size/epoch flags: the `cpu_256` preset on a CPU, ResNet-50 at 512 on a GPU.
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use cxr::lungseg::masks::{MaskValues, folder_pair};
use cxr::lungseg::{InMemory, LabelledImages, SegTrainConfig, SegmenterConfig, train};
use cxr::prelude::*;

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Cpu,
    Resnet18,
    Resnet50,
    Tiny,
}

#[derive(Parser)]
#[command(about = "Train the lung segmenter (masks: 0 background, 255 lung, 127 ignore)")]
struct Args {
    /// Folder of images (matched to masks by file stem).
    #[arg(long, requires = "masks")]
    images: Option<PathBuf>,
    /// Folder of masks.
    #[arg(long)]
    masks: Option<PathBuf>,
    /// Train on this many cxr-synth phantoms instead (256 px, all sources and labels;
    /// one in eight is a bad acquisition with its true, partial mask, so the model learns
    /// to mark what is visible rather than a lung-shaped prior).
    #[arg(long, conflicts_with = "images")]
    synthetic: Option<u64>,
    /// Run folder (config.json, checkpoints, metrics.jsonl); an existing run resumes.
    #[arg(long)]
    out: PathBuf,
    /// Architecture preset (default: cpu without a GPU, resnet50 with one).
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Input size (multiple of 16).
    #[arg(long)]
    size: Option<i64>,
    /// Maximum epochs.
    #[arg(long)]
    epochs: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let device = cxr::nn::device_from_env()?;
    let preset = a.preset.unwrap_or(if device.is_cuda() {
        Preset::Resnet50
    } else {
        Preset::Cpu
    });
    let mut model = match preset {
        Preset::Cpu => SegmenterConfig::cpu_256(),
        Preset::Resnet18 => SegmenterConfig::resnet18_256(),
        Preset::Resnet50 => SegmenterConfig::resnet50_512(),
        Preset::Tiny => SegmenterConfig::tiny(64),
    };
    if let Some(s) = a.size {
        model.input_size = s;
    }
    let config = SegTrainConfig {
        model,
        epochs: a.epochs.unwrap_or(30),
        ..SegTrainConfig::default()
    };
    // Refuse bad settings before rendering or reading any image.
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("--preset / --size / --epochs: {e}"))?;
    anyhow::ensure!(
        a.synthetic != Some(0),
        "--synthetic 0: no image to train on"
    );
    let pairs: Arc<dyn LabelledImages> = match (a.synthetic, a.images, a.masks) {
        (Some(n), _, _) => Arc::new(InMemory(
            (0..n)
                .map(|i| {
                    let mut case = cxr::synth::CaseSpec::single(
                        i,
                        Label::ALL[(i % 3) as usize],
                        SourceId::ALL[(i % 8) as usize],
                    );
                    // One in eight is a bad acquisition with its true, partial mask.
                    if i % 8 == 7 {
                        case.defect = Some(cxr::synth::Defect::ALL[(i / 8 % 4) as usize]);
                    }
                    let p = cxr::synth::render(&case, &SynthConfig::with_size(256));
                    let labels = p.lungs().to_binary();
                    (p.image, labels)
                })
                .collect(),
        )),
        (None, Some(images), Some(masks)) => {
            let set = folder_pair(&images, &masks, MaskValues::default())?;
            eprintln!(
                "{} pairs ({} images without mask, {} masks without image)",
                set.pairs.len(),
                set.images_without_mask.len(),
                set.masks_without_image.len()
            );
            Arc::new(set)
        }
        _ => anyhow::bail!("give --images and --masks, or --synthetic N"),
    };
    let s = train(&a.out, pairs, &config, device, true)?;
    println!(
        "best validation Dice {:.4} over {} validation images; run in {}",
        s.best_dice,
        s.validation.len(),
        a.out.display()
    );
    Ok(())
}
