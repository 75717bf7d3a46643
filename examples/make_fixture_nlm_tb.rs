//! Writes the tiny phantom images and lung masks of `fixtures/sources/nlm-tb/` and its
//! stray `Thumbs.db` files (the clinical readings there are written by hand). Run from
//! the repository root:
//!
//! ```text
//! cargo run -p cxr-source-nlm-tb --example make_fixture_nlm_tb
//! ```
#[path = "common/logging.rs"]
mod logging;

use std::path::Path;

use cxr_core::{Label, SourceId};
use cxr_synth::{CaseSpec, SynthConfig, render};

/// (set folder, image file, has left mask, has right mask).
const IMAGES: [(&str, &str, bool, bool); 13] = [
    ("MontgomerySet", "MCUCXR_0001_0.png", true, true),
    ("MontgomerySet", "MCUCXR_0002_0.png", false, false),
    ("MontgomerySet", "MCUCXR_0104_1.png", true, true),
    ("MontgomerySet", "MCUCXR_0105_1.png", true, false),
    ("ChinaSet_AllFiles", "CHNCXR_0001_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0002_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0003_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0004_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0005_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0006_0.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0327_1.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0328_1.png", false, false),
    ("ChinaSet_AllFiles", "CHNCXR_0329_1.png", false, false),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let root = Path::new("fixtures/sources/nlm-tb");
    // A file named without its label digit (excluded as unknown label).
    let unlabelled = [("ChinaSet_AllFiles", "CHNCXR_0330.png", false, false)];
    for (seed, (set, name, left, right)) in IMAGES.iter().chain(&unlabelled).enumerate() {
        let label = if name.ends_with("_1.png") {
            Label::Bacterial
        } else {
            Label::Healthy
        };
        let case = CaseSpec::single(100 + seed as u64, label, SourceId::NlmTb);
        let p = render(&case, &SynthConfig::with_size(32));
        let dir = root.join(set);
        std::fs::create_dir_all(dir.join("CXR_png"))?;
        p.image.save(dir.join("CXR_png").join(name))?;
        // Image left is the patient's right lung; the set's leftMask is the patient's left.
        if *left {
            let d = dir.join("ManualMask/leftMask");
            std::fs::create_dir_all(&d)?;
            p.left_lung.save(&d.join(name))?;
        }
        if *right {
            let d = dir.join("ManualMask/rightMask");
            std::fs::create_dir_all(&d)?;
            p.right_lung.save(&d.join(name))?;
        }
    }
    for set in ["MontgomerySet", "ChinaSet_AllFiles"] {
        std::fs::write(
            root.join(set).join("CXR_png/Thumbs.db"),
            b"\xd0\xcf\x11\xe0",
        )?;
    }
    println!("wrote the nlm-tb fixture images under {}", root.display());
    Ok(())
}
