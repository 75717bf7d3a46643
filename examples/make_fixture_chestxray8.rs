//! Writes the tiny phantom images of `fixtures/sources/chestxray8/` (the Data_Entry
//! tables and split lists there are written by hand). Run from the repository root:
//!
//! ```text
//! cargo run -p cxr-source-chestxray8 --example make_fixture_chestxray8
//! ```
#[path = "common/logging.rs"]
mod logging;

use std::path::Path;

use cxr_core::{Label, SourceId};
use cxr_synth::{CaseSpec, SynthConfig, render};

/// (folder under the root, image file). `00000008_000.png` is deliberately absent.
const IMAGES: [(&str, &str); 7] = [
    ("images_001/images", "00000001_000.png"),
    ("images_001/images", "00000002_000.png"),
    ("images_001/images", "00000003_001.png"),
    ("images_002/images", "00000005_000.png"),
    ("images_002/images", "00000006_000.png"),
    ("images_002/images", "00000007_000.png"),
    ("images", "00000010_000.png"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let root = Path::new("fixtures/sources/chestxray8");
    for (seed, (dir, name)) in IMAGES.iter().enumerate() {
        let case = CaseSpec::single(200 + seed as u64, Label::Healthy, SourceId::Chestxray8);
        let p = render(&case, &SynthConfig::with_size(32));
        std::fs::create_dir_all(root.join(dir))?;
        p.image.save(root.join(dir).join(name))?;
    }
    println!("wrote {} images under {}", IMAGES.len(), root.display());
    Ok(())
}
