//! Trains the DeepLabv3+ lung segmenter on image/mask pairs (or on phantoms).
//!
//! `cargo run --release --example train_segmenter -- --images DIR --masks DIR --out RUN`
//! `cargo run --release --example train_segmenter -- --dataset montgomery --root MontgomerySet --dataset shenzhen --root ChinaSet --dataset jsrt --root JSRT --out RUN`
//! `cargo run --release --example train_segmenter -- --chexmask OriginalResolution/ChestX-Ray8.csv --chexmask-images ChestX-ray8 --patient-separator _ --out RUN`
//! `cargo run --release --example train_segmenter -- --synthetic 600 --out RUN`
//!
//! Sources mix freely (`docs/lungseg.md`). Settings: `--config seg.toml` (a
//! `SegTrainConfig`, every field optional), then the flags. The network, unless the
//! file has a `[model]` table or `--preset` is given: the `cpu_320` preset on a CPU (half-width
//! ResNet-18 at 320 px, the recipe measured on real radiographs), ResNet-50 at 512 on a GPU.
#[path = "common/logging.rs"]
mod logging;
#[path = "common/masks.rs"]
mod masks;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use cxr::lungseg::{InMemory, LabelledImages, SegTrainConfig, SegmenterConfig, train};
use cxr::prelude::*;

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    /// Half-width ResNet-18 at 320 px (the CPU default).
    Cpu,
    Resnet18,
    Resnet50,
    Tiny,
}

#[derive(Parser)]
#[command(about = "Train the lung segmenter (masks: 0 background, 255 lung, 127 ignore)")]
struct Args {
    #[command(flatten)]
    masks: masks::MaskArgs,
    /// Train on this many cxr-synth phantoms instead (256 px, all sources and labels;
    /// one in eight is a bad acquisition with its true, partial mask, so the model learns
    /// to mark what is visible rather than a lung-shaped prior).
    #[arg(long, conflicts_with_all = ["images", "dataset", "chexmask"])]
    synthetic: Option<u64>,
    /// Run folder (config.json, checkpoints, metrics.jsonl); an existing run resumes.
    #[arg(long)]
    out: PathBuf,
    /// Training settings (TOML, a `SegTrainConfig`: missing fields take the defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Architecture preset (default: the settings file's, else cpu without a GPU and
    /// resnet50 with one).
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
    logging::init();
    let a = Args::parse();
    let device = cxr::nn::device_from_env()?;
    // The network for this device unless the settings file names one: a file that only
    // changes, say, the epochs must not switch a CPU run to the GPU's ResNet-50.
    let device_model = SegmenterConfig::for_device(device);
    let mut config = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let table: toml::Table =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let names_model = table.contains_key("model");
            let mut c: SegTrainConfig = table
                .try_into()
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            if !names_model {
                c.model = device_model;
            }
            c
        }
        None => SegTrainConfig {
            model: device_model,
            ..SegTrainConfig::default()
        },
    };
    if let Some(p) = a.preset {
        config.model = match p {
            Preset::Cpu => SegmenterConfig::cpu_320(),
            Preset::Resnet18 => SegmenterConfig::resnet18_256(),
            Preset::Resnet50 => SegmenterConfig::resnet50_512(),
            Preset::Tiny => SegmenterConfig::tiny(64),
        };
    }
    if let Some(s) = a.size {
        config.model.input_size = s;
    }
    if let Some(e) = a.epochs {
        config.epochs = e;
    }
    // Refuse bad settings before rendering or reading any image.
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("--config / --preset / --size / --epochs: {e}"))?;
    anyhow::ensure!(
        a.synthetic != Some(0),
        "--synthetic 0: no image to train on"
    );
    eprintln!("settings:\n{}", toml::to_string_pretty(&config)?);
    let pairs: Arc<dyn LabelledImages> = match a.synthetic {
        Some(n) => Arc::new(InMemory(
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
        None if a.masks.is_empty() => {
            anyhow::bail!(
                "give --images and --masks, --dataset and --root, --chexmask and --chexmask-images, or --synthetic N"
            )
        }
        None => Arc::new(a.masks.read()?),
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
