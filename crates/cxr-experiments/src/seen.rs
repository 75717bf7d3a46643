//! The cohort's images the lung segmenter was trained on, kept out of every test part.
//!
//! The paper drew its segmenter's 1,100 hand-delineated images from the study's own
//! sources and "placed \[them\] in training for fairness": a segmenter draws the lungs of
//! an image it was trained on better than those of an unseen one, and the classifier's
//! test would be flattered. The same happens when real masks of the cohort's sources
//! (CheXmask for ChestX-ray8 and PadChest, hand masks of the COVID-19 collections) train
//! the segmenter. So every split the experiment makes forces the patients of those images
//! into training ([`SegmenterSeen::patients`], through [`crate::run::split`]), and a test
//! part that holds some anyway (a study whose design puts a whole source or its covid-19
//! patients in test, or a split made before this rule) leaves them out
//! ([`SegmenterSeen::leave_out_of_test`]).
//!
//! The segmenter's images come from its run's record (`images.csv`,
//! [`cxr_lungseg::training_images`]) and are found in the cohort by file and by
//! fingerprint, with the thresholds of the duplicate finder (`[duplicates]`): a copy,
//! re-encoded or resized, is found too. The result is kept in `segmenter_seen.json`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use cxr_classifier::Example;
use cxr_core::fingerprint::Fingerprint;
use cxr_core::{ImageKey, ImageRecord};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::context::{Context, read_json, write_json};

/// The record's file name in the run folder.
pub const SEGMENTER_SEEN: &str = "segmenter_seen.json";

/// What the experiment knows of the segmenter's training images and the cohort.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmenterSeen {
    /// Trained by this experiment on phantoms drawn apart from the cohort.
    pub phantoms: bool,
    /// How many image files the segmenter's record lists; `None` when it has no record
    /// (phantoms, or a run trained before the record existed).
    pub recorded: Option<usize>,
    /// The cohort's images among them.
    pub images: Vec<SeenImage>,
}

/// A cohort image the segmenter was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenImage {
    /// The cohort record.
    pub key: ImageKey,
    /// Its patient (`source:id`).
    pub patient: String,
    /// The segmenter's training image it matched.
    pub segmenter_image: PathBuf,
    /// The same file (`true`) or the same film by fingerprint.
    pub same_file: bool,
}

impl SegmenterSeen {
    /// The patients of the cohort images the segmenter was trained on (`source:id`).
    pub fn patients(&self) -> BTreeSet<&str> {
        self.images.iter().map(|s| s.patient.as_str()).collect()
    }

    /// `test` without the images of those patients, and how many were left out (said
    /// on `ctx` when some were).
    pub fn leave_out_of_test(&self, ctx: &Context, test: Vec<Example>) -> Vec<Example> {
        let seen = self.patients();
        let before = test.len();
        let kept: Vec<Example> = test
            .into_iter()
            .filter(|e| !seen.contains(e.patient.as_str()))
            .collect();
        if kept.len() < before {
            ctx.say(format!(
                "segmenter overlap: {} test images of patients the segmenter was trained on \
                 left out of the evaluation",
                before - kept.len()
            ));
        }
        kept
    }

    /// The report's sentence on it; `left_out`: the test images [`Self::leave_out_of_test`]
    /// left out.
    pub fn sentence(&self, left_out: usize) -> String {
        let mut s = match (self.phantoms, self.recorded, self.images.len()) {
            (true, _, _) => "The lung segmenter was trained on phantoms drawn apart from the \
                             cohort: no test image is one it has seen."
                .to_owned(),
            (false, None, _) => "The lung segmenter's run does not record the images it was \
                                 trained on (`images.csv`: a run trained before the record \
                                 existed): whether it saw test images cannot be checked."
                .to_owned(),
            (false, Some(n), 0) => format!(
                "The lung segmenter was trained on {n} images, none of them in this cohort \
                 (compared by file and by fingerprint, as duplicates are)."
            ),
            (false, Some(n), k) => format!(
                "The lung segmenter was trained on {n} images; {k} of them are images of \
                 this cohort ({} patients, `{SEGMENTER_SEEN}`). Their patients were placed \
                 in training, as the paper placed its segmenter's 1,100 images, so that no \
                 test image is one the segmenter has seen.",
                self.patients().len()
            ),
        };
        if left_out > 0 {
            s.push_str(&format!(
                " {left_out} test images of those patients were left out of the evaluation \
                 (the split was made before this rule)."
            ));
        }
        s
    }
}

/// Which of `records` the experiment's segmenter (`segmenter_dir`) was trained on, from
/// `segmenter_seen.json` when the run folder has it, else found now and written there.
///
/// # Errors
///
/// A segmenter record or `segmenter_seen.json` that cannot be read or written.
pub fn seen_by_segmenter(
    ctx: &Context,
    records: &[ImageRecord],
    segmenter_dir: &std::path::Path,
) -> Result<SegmenterSeen> {
    let path = ctx.out.join(SEGMENTER_SEEN);
    if path.exists() {
        return read_json(&path);
    }
    let step = &ctx.config.segmenter;
    let seen = if step.run.is_none() && step.masks.is_empty() {
        SegmenterSeen {
            phantoms: true,
            ..SegmenterSeen::default()
        }
    } else {
        match cxr_lungseg::training_images::read(segmenter_dir)? {
            None => {
                ctx.say(format!(
                    "segmenter overlap: {} does not record its training images; whether it \
                     saw test images cannot be checked",
                    segmenter_dir.display()
                ));
                SegmenterSeen::default()
            }
            Some(trained) => {
                let images = find(ctx, records, &trained);
                if !images.is_empty() {
                    ctx.say(format!(
                        "segmenter overlap: {} of the segmenter's {} training images are in the \
                         cohort; their {} patients go to training",
                        images.len(),
                        trained.len(),
                        images
                            .iter()
                            .map(|s| &s.patient)
                            .collect::<BTreeSet<_>>()
                            .len()
                    ));
                }
                SegmenterSeen {
                    phantoms: false,
                    recorded: Some(trained.len()),
                    images,
                }
            }
        }
    };
    write_json(&path, &seen)?;
    Ok(seen)
}

/// The records that are one of `trained`: the same file (by path or content), or the
/// same film by fingerprint. A record whose image does not read is not matched (the gate
/// rejects it anyway).
fn find(
    ctx: &Context,
    records: &[ImageRecord],
    trained: &[cxr_lungseg::training_images::TrainingImage],
) -> Vec<SeenImage> {
    let options = &ctx.config.duplicates;
    let by_path: HashMap<PathBuf, usize> = trained
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((std::fs::canonicalize(&t.image).ok()?, i)))
        .collect();
    let pb = ctx.bar(records.len(), "segmenter overlap");
    let found: Vec<Option<SeenImage>> = records
        .par_iter()
        .map(|r| {
            pb.inc(1);
            let seen = |i: usize, same_file: bool| SeenImage {
                key: r.key(),
                patient: r.patient.to_string(),
                segmenter_image: trained[i].image.clone(),
                same_file,
            };
            let canonical = std::fs::canonicalize(&r.path).ok();
            if let Some(&i) = canonical.as_ref().and_then(|c| by_path.get(c)) {
                return Some(seen(i, true));
            }
            let bytes = std::fs::read(&r.path).ok()?;
            let img = cxr_dicom::load_record_image(r).ok()?;
            let print = Fingerprint::of(&bytes, &img);
            trained.iter().enumerate().find_map(|(i, t)| {
                let f = &t.fingerprint;
                f.same_film(&print, options.max_hamming, options.max_thumbnail_mad)
                    .then(|| seen(i, f.sha256 == print.sha256))
            })
        })
        .collect();
    pb.finish_and_clear();
    found.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExperimentConfig;
    use crate::test_support::rec;
    use cxr_core::{Label, SourceId};
    use cxr_lungseg::training_images::{SegPart, TRAINING_IMAGES, TrainingImage};

    fn film(seed: u32) -> cxr_core::GrayImage {
        cxr_core::GrayImage::from_fn(240, 200, |x, y| {
            let lung = ((x as f64 - 120.0) / 90.0).powi(2) + ((y as f64 - 100.0) / 70.0).powi(2);
            let v = (x * (3 + seed) + y * (5 + 2 * seed)) % 97;
            image::Luma([if lung < 1.0 { v as u8 } else { 120 + v as u8 }])
        })
    }

    #[test]
    fn the_segmenters_images_are_found_by_file_and_by_fingerprint_and_kept_out_of_test() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("cohort")).unwrap();
        std::fs::create_dir_all(d.join("masks")).unwrap();
        // Cohort: three films. The segmenter trained on the first one's very file, a
        // half-size JPEG copy of the second, and a film the cohort does not have.
        let mut records = Vec::new();
        for (i, patient) in ["P1", "P2", "P3"].iter().enumerate() {
            let path = d.join(format!("cohort/{i}.png"));
            film(i as u32).save(&path).unwrap();
            let mut r = rec(SourceId::Qmenta, patient, &format!("q{i}"), Label::Covid);
            r.path = path;
            records.push(r);
        }
        let copy = d.join("masks/copy.jpg");
        image::imageops::resize(&film(1), 120, 100, image::imageops::FilterType::Lanczos3)
            .save(&copy)
            .unwrap();
        let other = d.join("masks/other.png");
        film(7).save(&other).unwrap();
        let print = |p: &std::path::Path| {
            let img = cxr_core::load_gray(p).unwrap();
            Fingerprint::of(&std::fs::read(p).unwrap(), &img)
        };
        let trained: Vec<TrainingImage> = [&records[0].path, &copy, &other]
            .into_iter()
            .map(|p| TrainingImage {
                image: p.clone(),
                patient: None,
                part: SegPart::Train,
                fingerprint: print(p),
            })
            .collect();
        let seg = d.join("segmenter");
        std::fs::create_dir_all(&seg).unwrap();
        cxr_lungseg::training_images::write(&seg.join(TRAINING_IMAGES), &trained).unwrap();

        let mut config = ExperimentConfig::tiny();
        config.segmenter.run = Some(seg.clone());
        let ctx = Context::new(config, &d.join("out"), tch::Device::Cpu, false).unwrap();
        let seen = seen_by_segmenter(&ctx, &records, &seg).unwrap();
        assert_eq!(seen.recorded, Some(3));
        let found: Vec<(&str, &std::path::Path, bool)> = seen
            .images
            .iter()
            .map(|s| (s.patient.as_str(), s.segmenter_image.as_path(), s.same_file))
            .collect();
        assert_eq!(
            found,
            [
                ("qmenta:P1", records[0].path.as_path(), true),
                ("qmenta:P2", copy.as_path(), false)
            ]
        );
        assert!(
            seen.sentence(0).starts_with(
                "The lung segmenter was trained on 3 images; 2 of them are images of this \
                 cohort (2 patients, `segmenter_seen.json`). Their patients were placed in \
                 training"
            ),
            "{}",
            seen.sentence(0)
        );
        // Kept: read back as found.
        assert_eq!(seen_by_segmenter(&ctx, &records, &seg).unwrap(), seen);
        // A test part holding them anyway leaves them out.
        let example = |patient: &str| Example {
            image: "x.png".into(),
            mask: "x_mask.png".into(),
            label: Label::Covid,
            patient: patient.into(),
            image_id: "x".into(),
            invert: false,
            synthetic: false,
        };
        let test = vec![
            example("qmenta:P1"),
            example("qmenta:P3"),
            example("qmenta:P2"),
        ];
        let kept = seen.leave_out_of_test(&ctx, test);
        assert_eq!(kept, vec![example("qmenta:P3")]);
        assert!(seen.sentence(2).ends_with(
            "2 test images of those patients were left out of the evaluation (the split was \
             made before this rule)."
        ));

        // A segmenter run without the record: said, and nothing forced.
        std::fs::remove_file(seg.join(TRAINING_IMAGES)).unwrap();
        std::fs::remove_file(d.join("out").join(SEGMENTER_SEEN)).unwrap();
        let unknown = seen_by_segmenter(&ctx, &records, &seg).unwrap();
        assert_eq!(unknown, SegmenterSeen::default());
        assert!(unknown.sentence(0).contains("cannot be checked"));
    }
}
