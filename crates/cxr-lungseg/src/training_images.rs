//! The images a segmenter run was trained on: `images.csv` in the run folder, one row
//! per image file (its path as given, its patient, the part of the segmenter's own split,
//! and its fingerprints, [`cxr_core::fingerprint`]). Training writes it when its images
//! are files (not phantoms drawn in memory).
//!
//! Why: the paper's segmenter was drawn with its 1,100 images from the study's own
//! sources, and "all 1,100 images used during the development of the lung segmenter were
//! placed in training for fairness". A segmenter that has seen a test image draws its
//! lungs better than it would on an unseen one, so the test part would flatter the
//! classifier. With this record an experiment finds those images in its cohort even
//! where they are copies, re-encoded or resized (`cxr_experiments::run::seen_by_segmenter`),
//! whether the segmenter was trained by the experiment or given to it.

use std::path::{Path, PathBuf};

use cxr_core::fingerprint::Fingerprint;
use serde::{Deserialize, Serialize};

/// The record's file name in a segmenter run folder.
pub const TRAINING_IMAGES: &str = "images.csv";

/// The side of the segmenter's own split an image was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegPart {
    /// Trained on.
    Train,
    /// Used to choose the epoch and to stop.
    Validation,
}

/// One image of a segmenter's training set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingImage {
    /// The image file, as the mask source named it.
    pub image: PathBuf,
    /// Its patient, when the source names one.
    pub patient: Option<String>,
    /// Which side of the segmenter's split it was on.
    pub part: SegPart,
    /// Its fingerprints.
    pub fingerprint: Fingerprint,
}

#[derive(Serialize, Deserialize)]
struct Row {
    image: String,
    patient: String,
    part: SegPart,
    sha256: String,
    dhash: String,
    thumbnail: String,
}

const HEADER: [&str; 6] = ["image", "patient", "part", "sha256", "dhash", "thumbnail"];

/// Writes `images` to `path` (atomically).
///
/// # Errors
///
/// I/O and CSV errors naming the file.
pub fn write(path: &Path, images: &[TrainingImage]) -> cxr_core::Result<()> {
    let rows: Vec<Row> = images
        .iter()
        .map(|t| {
            let [sha256, dhash, thumbnail] = t.fingerprint.to_columns();
            Row {
                image: t.image.to_string_lossy().into_owned(),
                patient: t.patient.clone().unwrap_or_default(),
                part: t.part,
                sha256,
                dhash,
                thumbnail,
            }
        })
        .collect();
    cxr_core::write_csv(path, &HEADER, &rows)
}

/// The training images recorded in the segmenter run `run_dir`; `None` when it has no
/// record (a run trained on phantoms, or before the record was written).
///
/// # Errors
///
/// A record that cannot be read, or a row whose fingerprints are not what [`write()`]
/// writes (naming the file, line and column).
pub fn read(run_dir: &Path) -> cxr_core::Result<Option<Vec<TrainingImage>>> {
    let path = run_dir.join(TRAINING_IMAGES);
    if !path.exists() {
        return Ok(None);
    }
    let csv_err = |source| cxr_core::Error::Csv {
        path: path.clone(),
        source,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(csv_err)?;
    let mut images = Vec::new();
    for row in reader.deserialize::<Row>() {
        let row = row.map_err(csv_err)?;
        let line = images.len() as u64 + 2;
        let fingerprint = Fingerprint::from_columns(&row.sha256, &row.dhash, &row.thumbnail)
            .map_err(|(column, source)| cxr_core::Error::BadField {
                path: path.clone(),
                line,
                column: column.into(),
                source,
            })?;
        images.push(TrainingImage {
            image: PathBuf::from(row.image),
            patient: (!row.patient.is_empty()).then_some(row.patient),
            part: row.part,
            fingerprint,
        });
    }
    Ok(Some(images))
}

/// A segmenter's training images, to ask of any image whether it was one of them: the
/// same file (by path, or by content), or the same film by fingerprint
/// ([`Fingerprint::same_film`], with the duplicate finder's thresholds).
#[derive(Debug, Clone)]
pub struct TrainedOn {
    images: Vec<TrainingImage>,
    by_path: std::collections::HashMap<PathBuf, usize>,
    max_hamming: u32,
    max_thumbnail_mad: f64,
}

impl TrainedOn {
    /// The index over `images` (their files' canonical paths, where they still exist),
    /// matching films within the duplicate finder's thresholds `max_hamming` and
    /// `max_thumbnail_mad` (`cxr_cohort::duplicates::DuplicateOptions`).
    pub fn new(images: Vec<TrainingImage>, max_hamming: u32, max_thumbnail_mad: f64) -> TrainedOn {
        let by_path = images
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((std::fs::canonicalize(&t.image).ok()?, i)))
            .collect();
        TrainedOn {
            images,
            by_path,
            max_hamming,
            max_thumbnail_mad,
        }
    }

    /// The training images.
    pub fn images(&self) -> &[TrainingImage] {
        &self.images
    }

    /// The training image `path` is, and whether it is the same file (`true`) or the
    /// same film by fingerprint: first by path, else by `fingerprint()` (called only
    /// then; `None` when the image cannot be read: not matched).
    pub fn find(
        &self,
        path: &Path,
        fingerprint: impl FnOnce() -> Option<Fingerprint>,
    ) -> Option<(&TrainingImage, bool)> {
        if let Some(i) = self.at_path(path) {
            return Some((&self.images[i], true));
        }
        let print = fingerprint()?;
        self.images.iter().find_map(|t| self.same(t, &print))
    }

    /// Every training image `path` is, where [`TrainedOn::find`] gives the first: a
    /// training set can hold the same film twice (a figure republished, a copy resized),
    /// and leaving one copy out of training must leave them all. The fingerprint is
    /// asked for even when the path matches.
    pub fn find_all(
        &self,
        path: &Path,
        fingerprint: impl FnOnce() -> Option<Fingerprint>,
    ) -> Vec<(&TrainingImage, bool)> {
        let by_path = self.at_path(path);
        let print = fingerprint();
        self.images
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match (by_path == Some(i), &print) {
                (true, _) => Some((t, true)),
                (false, Some(print)) => self.same(t, print),
                (false, None) => None,
            })
            .collect()
    }

    /// The training image whose file is `path` (compared canonically).
    fn at_path(&self, path: &Path) -> Option<usize> {
        let canonical = std::fs::canonicalize(path).ok()?;
        self.by_path.get(&canonical).copied()
    }

    /// `t` with whether it is the same file, when it is the same film as `print`.
    fn same<'a>(
        &self,
        t: &'a TrainingImage,
        print: &Fingerprint,
    ) -> Option<(&'a TrainingImage, bool)> {
        let f = &t.fingerprint;
        f.same_film(print, self.max_hamming, self.max_thumbnail_mad)
            .then_some((t, f.sha256 == print.sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_and_a_damaged_row_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let img = cxr_core::GrayImage::from_fn(40, 30, |x, y| image::Luma([(x * 5 + y) as u8]));
        let images = vec![
            TrainingImage {
                image: "masks, v2/a.png".into(),
                patient: Some("p1".into()),
                part: SegPart::Train,
                fingerprint: Fingerprint::of(b"a", &img),
            },
            TrainingImage {
                image: "b.dcm".into(),
                patient: None,
                part: SegPart::Validation,
                fingerprint: Fingerprint::of(b"b", &image::imageops::flip_horizontal(&img)),
            },
        ];
        let path = dir.path().join(TRAINING_IMAGES);
        write(&path, &images).unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap(), images);

        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = text.replacen(&format!("{:016x}", images[1].fingerprint.dhash), "xyz", 1);
        std::fs::write(&path, damaged).unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("images.csv: line 3, column `dhash`: invalid fingerprint `xyz`"),
            "{err}"
        );
    }

    #[test]
    fn find_gives_the_first_copy_and_find_all_every_one() {
        let dir = tempfile::tempdir().unwrap();
        let img = cxr_core::GrayImage::from_fn(64, 48, |x, y| {
            image::Luma([if (x / 8 + y / 8) % 3 == 0 { 200 } else { 40 }])
        });
        let file = dir.path().join("a.png");
        img.save(&file).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        let print = Fingerprint::of(&bytes, &img);
        let train = |image: &Path, fingerprint: Fingerprint| TrainingImage {
            image: image.to_path_buf(),
            patient: None,
            part: SegPart::Train,
            fingerprint,
        };
        let other = image::imageops::flip_vertical(&img);
        let index = TrainedOn::new(
            vec![
                // A copy filed elsewhere, the file itself, and another film.
                train(Path::new("copy/a.png"), print.clone()),
                train(&file, print.clone()),
                train(Path::new("b.png"), Fingerprint::of(b"b", &other)),
            ],
            4,
            3.0,
        );
        // By path: the file itself, without asking for the fingerprint.
        let (t, same) = index.find(&file, || unreachable!()).unwrap();
        assert_eq!((t.image.as_path(), same), (file.as_path(), true));
        // Every copy, the file by path and the copy by content.
        let all: Vec<(&Path, bool)> = index
            .find_all(&file, || Some(print.clone()))
            .into_iter()
            .map(|(t, same)| (t.image.as_path(), same))
            .collect();
        assert_eq!(
            all,
            [(Path::new("copy/a.png"), true), (file.as_path(), true)]
        );
        // An unreadable image is found by its path only.
        assert_eq!(index.find_all(&file, || None).len(), 1);
        assert!(index.find_all(Path::new("nowhere.png"), || None).is_empty());
    }
}
