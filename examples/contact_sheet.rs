//! Renders a contact sheet of phantoms (one row per class, then the bad images) to a PNG.
//! `cargo run -p cxr-synth --example contact_sheet -- OUT.png [SIZE]`
#[path = "common/logging.rs"]
mod logging;
use cxr_core::{GrayImage, Label, SourceId};
use cxr_synth::{CaseSpec, Defect, SynthConfig, render};

fn main() {
    logging::init();
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "contact_sheet.png".into());
    let size: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let config = SynthConfig::with_size(size);
    let sources = SourceId::ALL;
    let mut rows: Vec<Vec<CaseSpec>> = Label::ALL
        .iter()
        .map(|l| {
            sources
                .iter()
                .enumerate()
                .map(|(i, s)| CaseSpec::single(i as u64 * 7 + l.index() as u64, *l, *s))
                .collect()
        })
        .collect();
    rows.push(
        Defect::ALL
            .iter()
            .enumerate()
            .map(|(i, d)| CaseSpec {
                defect: Some(*d),
                ..CaseSpec::single(100 + i as u64, Label::Covid, sources[i])
            })
            .collect(),
    );
    let mut sheet = GrayImage::new(size * 8, size * rows.len() as u32);
    for (r, row) in rows.iter().enumerate() {
        for (c, case) in row.iter().enumerate() {
            let p = render(case, &config);
            for (x, y, px) in p.image.enumerate_pixels() {
                sheet.put_pixel(c as u32 * size + x, r as u32 * size + y, *px);
            }
        }
    }
    cxr_core::save_png(std::path::Path::new(&out), &sheet).expect("write sheet");
    println!("{out}");
}
