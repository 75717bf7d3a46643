//! Writes the tiny phantom images of `fixtures/sources/covid-idc/` (the metadata tables
//! there are written by hand). Run from the repository root:
//!
//! ```text
//! cargo run -p cxr-source-covid-idc --example make_fixture_covid_idc
//! ```
#[path = "common/logging.rs"]
mod logging;

use std::path::Path;

use cxr_core::{Label, SourceId};
use cxr_synth::{SynthConfig, render::CaseSpec, render::render};

/// Image files present in the fixture (some rows name files that are deliberately absent).
const IMAGES: [(&str, Label); 9] = [
    ("covid-1.png", Label::Covid),
    ("covid-2.png", Label::Covid),
    ("covid-3.jpeg", Label::Covid),
    ("covid-4.png", Label::Covid),
    ("bact-1.jpg", Label::Bacterial),
    ("bact-2.png", Label::Bacterial),
    ("normal-1.png", Label::Healthy),
    ("sars-1.png", Label::Healthy),
    ("lateral-1.png", Label::Covid),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let dir = Path::new("fixtures/sources/covid-idc/images");
    std::fs::create_dir_all(dir)?;
    for (seed, (name, label)) in IMAGES.iter().enumerate() {
        let case = CaseSpec::single(seed as u64, *label, SourceId::CovidIdc);
        let phantom = render(&case, &SynthConfig::with_size(32));
        phantom.image.save(dir.join(name))?;
    }
    println!("wrote {} images under {}", IMAGES.len(), dir.display());
    Ok(())
}
