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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use cxr_classifier::Example;
use cxr_cohort::duplicates::FINGERPRINTS;
use cxr_core::fingerprint::Fingerprint;
use cxr_core::{ImageKey, ImageRecord};
use cxr_lungseg::training_images::{SegPart, TrainedOn, TrainingImage};
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

    /// How many of `records`' patients the segmenter saw, and how many patients there
    /// are, when the former are more than `train_fraction` of them: they train whatever
    /// the split asks for (an arm of the split-size study smaller than
    /// `[segmenter] cohort_mask_share`).
    pub fn beyond(&self, records: &[ImageRecord], train_fraction: f64) -> Option<(usize, usize)> {
        let seen = self.patients();
        let patients: BTreeSet<String> = records.iter().map(|r| r.patient.to_string()).collect();
        let forced = patients
            .iter()
            .filter(|p| seen.contains(p.as_str()))
            .count();
        (forced as f64 > train_fraction * patients.len() as f64).then_some((forced, patients.len()))
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
                "The lung segmenter was trained on {n} images; {k} of this cohort's images \
                 are among them ({} patients, `{SEGMENTER_SEEN}`). Their patients were placed \
                 in training, as the paper placed its segmenter's 1,100 images, so that no \
                 test image is one the segmenter has seen.",
                self.patients().len()
            ),
        };
        if left_out > 0 {
            s.push_str(&format!(
                " {left_out} test images of those patients were in the test part anyway (a \
                 split made before this rule, or the transfer design) and were left out of \
                 the evaluation."
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
                let images = find(ctx, records, &trained, false);
                if !images.is_empty() {
                    ctx.say(format!(
                        "segmenter overlap: {} of the cohort's images are among the segmenter's \
                         {} training images; their {} patients go to training",
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

/// The mask pairs of `set` the experiment's own segmenter trains on, and a line saying
/// what was left out. Masks of images outside the cohort (Montgomery, Shenzhen, JSRT,
/// other databases) are all kept. Of the cohort's own images, only those of a share of
/// its patients are kept: per label and source, at most `[segmenter]
/// cohort_mask_share`, by default `train_fraction × (1 − validation_fraction)` of the
/// patients (`[split]`), chosen with the split's seed. Those
/// patients then go to training ([`crate::run::split`]) without taking the validation's
/// or the test's place, and the masks of the others are left out so that they can be
/// tested, as the paper kept its segmenter's 1,100 images to the training part.
pub fn masks_for_segmenter(
    ctx: &Context,
    records: &[ImageRecord],
    mut set: cxr_lungseg::masks::MaskSet,
) -> (cxr_lungseg::masks::MaskSet, Option<String>) {
    use cxr_lungseg::LabelledImages;
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let all: Vec<usize> = (0..set.pairs.len()).collect();
    let trained: Vec<TrainingImage> = cxr_lungseg::train::fingerprint_pairs(&set, &all)
        .into_iter()
        .filter_map(|(i, fingerprint)| {
            Some(TrainingImage {
                image: set.path(i)?.to_path_buf(),
                patient: None,
                part: SegPart::Train,
                fingerprint,
            })
        })
        .collect();
    let found = find(ctx, records, &trained, true);
    if found.is_empty() {
        return (set, None);
    }
    // The cohort's patients per stratum (label, source), and those with masks.
    let mut stratum_of: BTreeMap<String, (cxr_core::Label, String)> = BTreeMap::new();
    for r in records {
        stratum_of
            .entry(r.patient.to_string())
            .or_insert_with(|| (r.label, r.source.as_str().to_owned()));
    }
    let mut size: BTreeMap<&(cxr_core::Label, String), usize> = BTreeMap::new();
    for st in stratum_of.values() {
        *size.entry(st).or_default() += 1;
    }
    let mut with_masks: BTreeMap<&(cxr_core::Label, String), Vec<&str>> = BTreeMap::new();
    for p in found
        .iter()
        .map(|f| f.patient.as_str())
        .collect::<BTreeSet<_>>()
    {
        with_masks.entry(&stratum_of[p]).or_default().push(p);
    }
    let split = &ctx.config.split;
    let share = ctx
        .config
        .segmenter
        .cohort_mask_share
        .unwrap_or(split.train_fraction * (1.0 - split.validation_fraction));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(split.seed);
    let mut chosen: BTreeSet<&str> = BTreeSet::new();
    for (st, mut patients) in with_masks {
        let most = (share * size[st] as f64).floor() as usize;
        patients.shuffle(&mut rng);
        chosen.extend(patients.into_iter().take(most));
    }
    // A pair goes when one of the cohort images it is a copy of belongs to a patient left
    // for testing.
    let left: BTreeSet<PathBuf> = found
        .iter()
        .filter(|f| !chosen.contains(f.patient.as_str()))
        .map(|f| f.segmenter_image.clone())
        .collect();
    let n_cohort = found
        .iter()
        .map(|f| &f.segmenter_image)
        .collect::<BTreeSet<_>>()
        .len();
    let n_patients = found
        .iter()
        .map(|f| &f.patient)
        .collect::<BTreeSet<_>>()
        .len();
    let before = set.pairs.len();
    set.pairs.retain(|p| !left.contains(&p.image));
    let line = format!(
        "segmenter masks: {n_cohort} of the {before} masks are of the cohort's images ({n_patients} \
         patients); those of {} patients (at most {:.0} % of the patients of each label and \
         source) train the segmenter and go to training, the other {} masks are left out so that their patients \
         can be tested",
        chosen.len(),
        100.0 * share,
        before - set.pairs.len()
    );
    (set, Some(line))
}

/// The cohort's fingerprints, as the cohort step kept them (`cohort/fingerprints.csv`):
/// empty for a cohort built before it kept them, or when the file does not read (said).
fn cohort_prints(ctx: &Context) -> HashMap<ImageKey, Fingerprint> {
    let path = ctx.out.join("cohort").join(FINGERPRINTS);
    if !path.exists() {
        return HashMap::new();
    }
    cxr_cohort::duplicates::read_fingerprints(&path).unwrap_or_else(|e| {
        ctx.say(format!(
            "segmenter overlap: {}; the cohort's images are fingerprinted again",
            cxr_core::error_chain(&e)
        ));
        HashMap::new()
    })
}

/// The records that are one of `trained` ([`cxr_lungseg::training_images::TrainedOn`]),
/// with the fingerprints the cohort step kept ([`cohort_prints`]), decoding only the
/// images it has none for: each record once, with the first training image it is, or
/// with `all` once per training image it is. A record whose image does not read is not
/// matched (the gate rejects it anyway).
fn find(
    ctx: &Context,
    records: &[ImageRecord],
    trained: &[TrainingImage],
    all: bool,
) -> Vec<SeenImage> {
    let kept = cohort_prints(ctx);
    let options = &ctx.config.duplicates;
    let index = TrainedOn::new(
        trained.to_vec(),
        options.max_hamming,
        options.max_thumbnail_mad,
    );
    let pb = ctx.bar(records.len(), "segmenter overlap");
    let found: Vec<Vec<SeenImage>> = records
        .par_iter()
        .map(|r| {
            pb.inc(1);
            let print = || match kept.get(&r.key()) {
                Some(print) => Some(print.clone()),
                None => {
                    let img = cxr_dicom::load_record_image(r).ok()?;
                    Fingerprint::of_file(&r.path, &img).ok()
                }
            };
            let matches = if all {
                index.find_all(&r.path, print)
            } else {
                index.find(&r.path, print).into_iter().collect()
            };
            matches
                .into_iter()
                .map(|(t, same_file)| SeenImage {
                    key: r.key(),
                    patient: r.patient.to_string(),
                    segmenter_image: t.image.clone(),
                    same_file,
                })
                .collect::<Vec<_>>()
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
    use cxr_lungseg::training_images::TRAINING_IMAGES;

    /// A film of its own: bright discs placed by `seed` over a dark chest.
    fn film(seed: u32) -> cxr_core::GrayImage {
        let mut state = u64::from(seed).wrapping_mul(6364136223846793005) + 1442695040888963407;
        let mut next = |n: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % u64::from(n)) as i64
        };
        let discs: Vec<(i64, i64, i64)> = (0..6)
            .map(|_| (next(240), next(200), 15 + next(20)))
            .collect();
        cxr_core::GrayImage::from_fn(240, 200, |x, y| {
            let inside = discs.iter().any(|&(cx, cy, r)| {
                (i64::from(x) - cx).pow(2) + (i64::from(y) - cy).pow(2) < r * r
            });
            image::Luma([if inside { 220 } else { 30 + (x / 8) as u8 }])
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
                "The lung segmenter was trained on 3 images; 2 of this cohort's images are \
                 among them (2 patients, `segmenter_seen.json`). Their patients were placed in \
                 training"
            ),
            "{}",
            seen.sentence(0)
        );
        // Kept: read back as found.
        assert_eq!(seen_by_segmenter(&ctx, &records, &seg).unwrap(), seen);
        // Two of three patients train in any split: more than a third asked for.
        assert_eq!(seen.beyond(&records, 0.33), Some((2, 3)));
        assert_eq!(seen.beyond(&records, 0.7), None);
        // A test part holding them anyway leaves them out.
        let example = |patient: &str| Example {
            image: "x.png".into(),
            mask: "x_mask.png".into(),
            label: Label::Covid,
            patient: patient.into(),
            image_id: "x".into(),
            invert: false,
            synthetic: false,
            near_cut: false,
        };
        let test = vec![
            example("qmenta:P1"),
            example("qmenta:P3"),
            example("qmenta:P2"),
        ];
        let kept = seen.leave_out_of_test(&ctx, test);
        assert_eq!(kept, vec![example("qmenta:P3")]);
        assert!(seen.sentence(2).ends_with(
            "2 test images of those patients were in the test part anyway (a split made \
             before this rule, or the transfer design) and were left out of the evaluation."
        ));

        // A segmenter run without the record: said, and nothing forced.
        std::fs::remove_file(seg.join(TRAINING_IMAGES)).unwrap();
        std::fs::remove_file(d.join("out").join(SEGMENTER_SEEN)).unwrap();
        let unknown = seen_by_segmenter(&ctx, &records, &seg).unwrap();
        assert_eq!(unknown, SegmenterSeen::default());
        assert!(unknown.sentence(0).contains("cannot be checked"));

        // The fingerprints the cohort step kept are used instead of decoding the images
        // again: kept as P3's, the training film outside the cohort is found as P3's.
        cxr_lungseg::training_images::write(&seg.join(TRAINING_IMAGES), &trained).unwrap();
        std::fs::remove_file(d.join("out").join(SEGMENTER_SEEN)).unwrap();
        let kept: HashMap<ImageKey, Fingerprint> = records
            .iter()
            .map(|r| {
                let p = if r.patient.local == "P3" {
                    &other
                } else {
                    &r.path
                };
                (r.key(), print(p))
            })
            .collect();
        std::fs::create_dir_all(d.join("out/cohort")).unwrap();
        cxr_cohort::duplicates::write_fingerprints(
            &d.join("out/cohort").join(FINGERPRINTS),
            &records,
            &kept,
        )
        .unwrap();
        let seen = seen_by_segmenter(&ctx, &records, &seg).unwrap();
        let found: Vec<(&str, &std::path::Path)> = seen
            .images
            .iter()
            .map(|s| (s.patient.as_str(), s.segmenter_image.as_path()))
            .collect();
        assert_eq!(
            found,
            [
                ("qmenta:P1", records[0].path.as_path()),
                ("qmenta:P2", copy.as_path()),
                ("qmenta:P3", other.as_path())
            ]
        );
    }

    /// One film per patient (`P{i}`, `labels[i]`) in `d/cohort`, and the films `masked`
    /// picks filed again with a lung mask (the same for all) in `d/masks/images` and
    /// `d/masks/masks` as `{i}.png`: the records and the mask.
    fn cohort_with_masks(
        d: &std::path::Path,
        labels: &[Label],
        masked: impl Fn(u32) -> bool,
    ) -> (Vec<ImageRecord>, cxr_core::GrayImage) {
        for sub in ["cohort", "masks/images", "masks/masks"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let mask = cxr_core::GrayImage::from_fn(240, 200, |x, _| {
            image::Luma([if (40..200).contains(&x) { 255 } else { 0 }])
        });
        let mut records = Vec::new();
        for (i, &label) in (0u32..).zip(labels) {
            let path = d.join(format!("cohort/{i}.png"));
            film(i).save(&path).unwrap();
            let mut r = rec(SourceId::Qmenta, &format!("P{i}"), &format!("q{i}"), label);
            r.path = path.clone();
            records.push(r);
            if masked(i) {
                std::fs::copy(&path, d.join(format!("masks/images/{i}.png"))).unwrap();
                mask.save(d.join(format!("masks/masks/{i}.png"))).unwrap();
            }
        }
        (records, mask)
    }

    /// The mask set of `d/masks` ([`cohort_with_masks`]).
    fn mask_set(d: &std::path::Path) -> cxr_lungseg::masks::MaskSet {
        cxr_lungseg::masks::folder_pair(
            &d.join("masks/images"),
            &d.join("masks/masks"),
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_own_segmenter_takes_the_masks_of_a_share_of_the_cohorts_patients() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Ten patients, five covid-19 and five healthy, one film each; masks for eight of
        // them (their very files) and for a film from elsewhere.
        let labels = [[Label::Covid; 5], [Label::Healthy; 5]].concat();
        let (records, mask) = cohort_with_masks(d, &labels, |i| !matches!(i, 4 | 9));
        film(42).save(d.join("masks/images/elsewhere.png")).unwrap();
        mask.save(d.join("masks/masks/elsewhere.png")).unwrap();
        let set = mask_set(d);
        assert_eq!(set.pairs.len(), 9);

        let mut config = ExperimentConfig::tiny();
        config.split.train_fraction = 0.5;
        config.split.validation_fraction = 0.2;
        let ctx = Context::new(config, &d.join("out"), tch::Device::Cpu, false).unwrap();
        let (kept, line) = masks_for_segmenter(&ctx, &records, set.clone());
        // At most 0.5 × 0.8 of each label's five patients: two covid-19, two healthy.
        let names: Vec<String> = kept
            .pairs
            .iter()
            .map(|p| cxr_core::names::image_stem(&p.image))
            .collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names.contains(&"elsewhere".to_owned()));
        let covid = names
            .iter()
            .filter(|n| n.parse::<u32>().is_ok_and(|i| i < 5))
            .count();
        assert_eq!(covid, 2, "{names:?}");
        assert_eq!(
            line.unwrap(),
            "segmenter masks: 8 of the 9 masks are of the cohort's images (8 patients); those \
             of 4 patients (at most 40 % of the patients of each label and source) train the \
             segmenter and go to training, the other 4 masks are left out so that their patients can be \
             tested"
        );
        // The same choice every time (the split's seed).
        let (again, _) = masks_for_segmenter(&ctx, &records, set.clone());
        assert_eq!(again.pairs, kept.pairs);
        // Masks of other images only: all kept, nothing said.
        let (all, line) = masks_for_segmenter(&ctx, &records[..0], set.clone());
        assert_eq!((all.pairs.len(), line), (9, None));
        // A share set in the settings: one patient of each label's five.
        let mut config = ctx.config.clone();
        config.segmenter.cohort_mask_share = Some(0.2);
        let ctx = Context::new(config, &d.join("out2"), tch::Device::Cpu, false).unwrap();
        let (fewer, line) = masks_for_segmenter(&ctx, &records, set);
        assert_eq!(fewer.pairs.len(), 3, "{line:?}");
        assert!(line.unwrap().contains("those of 2 patients (at most 20 %"));
    }

    #[test]
    fn every_copy_of_a_film_left_for_testing_is_left_out_of_the_segmenters_masks() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Four covid-19 patients with a mask each, and a JPEG copy of patient 0's film
        // with its mask: two training images of one film ("0-copy" is met first).
        let (records, mask) = cohort_with_masks(d, &[Label::Covid; 4], |_| true);
        film(0).save(d.join("masks/images/0-copy.jpg")).unwrap();
        mask.save(d.join("masks/masks/0-copy.png")).unwrap();
        let set = mask_set(d);
        assert_eq!(set.pairs.len(), 5);
        // One patient of four kept (0.5 × 0.8 × 4, rounded down); over seeds, patient 0
        // is sometimes the one and sometimes not: both copies go or stay together.
        let mut patient0 = BTreeSet::new();
        for seed in 0..8 {
            let mut config = ExperimentConfig::tiny();
            config.split.train_fraction = 0.5;
            config.split.validation_fraction = 0.2;
            config.split.seed = seed;
            let out = d.join(format!("out{seed}"));
            let ctx = Context::new(config, &out, tch::Device::Cpu, false).unwrap();
            let (kept, line) = masks_for_segmenter(&ctx, &records, set.clone());
            let names: BTreeSet<String> = kept
                .pairs
                .iter()
                .map(|p| cxr_core::names::image_stem(&p.image))
                .collect();
            let has0 = names.contains("0");
            assert_eq!(has0, names.contains("0-copy"), "seed {seed}: {names:?}");
            assert_eq!(
                names.len(),
                if has0 { 2 } else { 1 },
                "seed {seed}: {names:?}"
            );
            assert!(
                line.unwrap().starts_with(
                    "segmenter masks: 5 of the 5 masks are of the cohort's images (4 patients); \
                     those of 1 patients"
                ),
                "seed {seed}"
            );
            patient0.insert(has0);
        }
        assert_eq!(patient0.len(), 2, "patient 0 kept in every seed or in none");
    }
}
