//! Writes the tiny phantom images of `fixtures/sources/qmenta/` (Kermany folder layout,
//! with a stray `.DS_Store`) and the images of `fixtures/sources/qmenta-manifest/` (its
//! `manifest.csv` is written by hand). Run from the repository root:
//!
//! ```text
//! cargo run -p cxr-source-qmenta --example make_fixture_qmenta
//! ```
#[path = "common/logging.rs"]
mod logging;

use std::path::Path;

use cxr_core::{Label, SourceId};
use cxr_synth::{CaseSpec, SynthConfig, render};

const KERMANY: [&str; 15] = [
    "train/NORMAL/IM-0115-0001.jpeg",
    "train/NORMAL/IM-0117-0001.jpeg",
    "train/NORMAL/NORMAL2-IM-1427-0001.jpeg",
    "train/PNEUMONIA/person1_bacteria_1.jpeg",
    "train/PNEUMONIA/person1_bacteria_2.jpeg",
    "train/PNEUMONIA/person1_virus_6.jpeg",
    "train/PNEUMONIA/person3_virus_15.jpeg",
    "train/PNEUMONIA/person10_bacteria_30.jpeg",
    "test/NORMAL/IM-0001-0001.jpeg",
    "test/PNEUMONIA/person1_bacteria_1.jpeg",
    "test/PNEUMONIA/person100_virus_184.jpeg",
    "test/PNEUMONIA/pneumonia-odd.jpeg",
    "val/NORMAL/NORMAL2-IM-1430-0001.jpeg",
    "val/NORMAL/person2_bacteria_3.jpeg",
    "val/PNEUMONIA/person1946_bacteria_4874.jpeg",
];

const MANIFEST_IMAGES: [&str; 4] = [
    "images/a.jpeg",
    "images/b.jpeg",
    "images/c.jpeg",
    "images/d.jpeg",
];

fn write(path: &Path, seed: u64, label: Label) -> Result<(), Box<dyn std::error::Error>> {
    let case = CaseSpec::single(seed, label, SourceId::Qmenta);
    let p = render(&case, &SynthConfig::with_size(32));
    std::fs::create_dir_all(path.parent().unwrap())?;
    p.image.save(path)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let root = Path::new("fixtures/sources/qmenta/chest_xray");
    for (i, rel) in KERMANY.iter().enumerate() {
        let label = if rel.contains("_bacteria_") {
            Label::Bacterial
        } else {
            Label::Healthy
        };
        write(&root.join(rel), 300 + i as u64, label)?;
    }
    std::fs::write(root.join("train/NORMAL/.DS_Store"), b"\0\0\0\x01Bud1")?;
    let manifest_root = Path::new("fixtures/sources/qmenta-manifest");
    for (i, rel) in MANIFEST_IMAGES.iter().enumerate() {
        write(&manifest_root.join(rel), 400 + i as u64, Label::Healthy)?;
    }
    println!("wrote the qmenta fixture images");
    Ok(())
}
