//! The pictures of a run: saliency overlays of test images and the paper's Figures 1
//! and 2 (drawn with `cxr-report`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cxr_classifier::Classifier;
use cxr_classifier::data::Example;
use cxr_classifier::saliency::{Method, saliency};
use cxr_core::{ImageKey, ImageRecord, Label};
use cxr_lungseg::{Segmenter, segment_image};

use crate::Result;
use crate::context::{Context, write_json};

pub use cxr_report::experiment::{Figures, SaliencyExample};

/// Saliency overlays for the first `per_class` test images of each class (explaining the
/// true class), into `saliency/`, listed in `saliency/saliency.json`.
pub fn saliency_examples(
    ctx: &Context,
    clf_dir: &Path,
    test: &[Example],
) -> Result<Vec<SaliencyExample>> {
    let clf = Classifier::load(clf_dir, ctx.device)?;
    let dir = ctx.out.join("saliency");
    let mut out = Vec::new();
    for label in Label::ALL {
        for e in test
            .iter()
            .filter(|e| e.label == *label)
            .take(ctx.config.saliency.per_class)
        {
            let (img, mask) = e.load()?;
            let probs = clf.predict(&img, &mask)?;
            let predicted = probs
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            let mut maps = Vec::new();
            for method in [
                Method::Vanilla,
                Method::SmoothGrad {
                    samples: ctx.config.saliency.smoothgrad_samples,
                    noise: 0.15,
                },
                Method::GradCam,
            ] {
                let map = saliency(&clf, &img, &mask, label.index(), method)?;
                let rel = format!(
                    "saliency/{}_{}.png",
                    e.image_id.replace(['/', '\\'], "_"),
                    method.name()
                );
                let ov = cxr_report::layers::saliency_overlay(&img, &map.values, Some(&mask))?;
                cxr_core::save_rgb_png(&ctx.out.join(&rel), &ov)?;
                maps.push((method.name().to_string(), rel, map.share_inside(&mask)));
            }
            out.push(SaliencyExample {
                image_id: e.image_id.clone(),
                label: label.as_str().to_string(),
                predicted: Label::from_index(predicted)
                    .map_or("?", Label::as_str)
                    .to_string(),
                probabilities: probs,
                maps,
                lung_fraction: mask.fraction(),
            });
        }
    }
    write_json(&dir.join("saliency.json"), &out)?;
    Ok(out)
}

/// The paper's Figure 1 (`figures/sources.png`: one accepted image of each source, the
/// classes taken in turn) and Figure 2 (`figures/segmentation.png`: the segmenter's left
/// and right lungs on those images, then on up to two images the gate rejected, each
/// with lungs found, lung share and verdict). An image that cannot be read is left out.
pub fn figures(
    ctx: &Context,
    records: &[ImageRecord],
    accepted: &[ImageRecord],
    seg: &Segmenter,
) -> Result<Figures> {
    use cxr_report::plot::{Tile, image_grid_png};
    let mut by_source: BTreeMap<&str, Vec<&ImageRecord>> = BTreeMap::new();
    for r in accepted {
        by_source.entry(r.source.as_str()).or_default().push(r);
    }
    let shown: Vec<&ImageRecord> = by_source
        .values()
        .enumerate()
        .filter_map(|(i, rs)| {
            let want = Label::ALL[i % Label::ALL.len()];
            rs.iter().find(|r| r.label == want).or(rs.first()).copied()
        })
        .collect();
    let kept: BTreeSet<ImageKey> = accepted.iter().map(ImageRecord::key).collect();
    let rejected = records.iter().filter(|r| !kept.contains(&r.key())).take(2);
    let (mut sources, mut segmentations) = (Vec::new(), Vec::new());
    for r in shown.iter().copied().chain(rejected) {
        let img = match cxr_classifier::data::load_record_image(r) {
            Ok(img) => img,
            Err(e) => {
                tracing::warn!(path = %r.path.display(), error = %e, "left out of the figures");
                continue;
            }
        };
        if kept.contains(&r.key()) {
            sources.push(Tile {
                image: image::DynamicImage::ImageLuma8(img.clone()).to_rgb8(),
                caption: format!("{} · {}", r.source.as_str(), r.label.as_str()),
            });
        }
        let post = &ctx.config.segmenter.post;
        let Ok((s, q)) = segment_image(seg, &img, post, &ctx.config.segmenter.qc) else {
            continue;
        };
        segmentations.push(Tile {
            image: cxr_report::layers::lungs_overlay(&img, &s.right, &s.left),
            caption: format!(
                "{} · {} lung{}, {:.0} % · {}",
                r.source.as_str(),
                q.lungs_found,
                if q.lungs_found == 1 { "" } else { "s" },
                100.0 * q.lung_fraction,
                if q.verdict.is_accept() {
                    "kept"
                } else {
                    "rejected"
                }
            ),
        });
    }
    let figures = Figures {
        sources: "figures/sources.png".into(),
        segmentation: "figures/segmentation.png".into(),
    };
    let title = "Figure 1. Image examples, one per source";
    let png = image_grid_png(title, &sources, 4, 220)?;
    cxr_core::write_bytes_atomic(&ctx.out.join(&figures.sources), &png)?;
    let title = "Figure 2. Automatic lung segmentations (green: right lung, blue: left)";
    let png = image_grid_png(title, &segmentations, 4, 220)?;
    cxr_core::write_bytes_atomic(&ctx.out.join(&figures.segmentation), &png)?;
    Ok(figures)
}
