//! Patient-level splits: stratified by label (optionally by source too), any training
//! fraction, patients forced into training, the transfer design, an internal validation
//! set; duplicate groups never cross a split. Written as CSV with a SHA-256 that is
//! checked when the split is read back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cxr_core::{ImageRecord, Label, PatientId, SourceId};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::duplicates::{DuplicateGroup, check_groups, union_groups};
use crate::error::{Error, Result};

/// Which part of a split a patient is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Training.
    Train,
    /// Internal validation (early stopping), drawn from the training patients.
    Validation,
    /// Held-out test (the paper's "validation" set).
    Test,
}

impl Part {
    fn as_str(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Validation => "validation",
            Part::Test => "test",
        }
    }
}

/// The transfer experiment (Figure 4b): one source's covid patients are held out of
/// training, then `add_back` of them, drawn at random, are put back in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferSpec {
    /// The source held out (the paper: PadChest-covid).
    pub source: SourceId,
    /// How many of its covid patients go back into training (0, 100, 500 in the paper).
    pub add_back: usize,
}

/// How to split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Share of patients in training (validation included): 0.33, 0.5, 0.66, 0.9.
    pub train_fraction: f64,
    /// Share of the training patients set aside for internal validation (paper: 10 %).
    pub validation_fraction: f64,
    /// Stratify by (label, source) instead of label alone.
    pub stratify_by_source: bool,
    /// Seed of the random assignment.
    pub seed: u64,
    /// Patients always in training (the segmenter's development images).
    pub forced_train: Vec<PatientId>,
    /// The transfer design, if any.
    pub transfer: Option<TransferSpec>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            train_fraction: 0.5,
            validation_fraction: 0.1,
            stratify_by_source: false,
            seed: 2020,
            forced_train: vec![],
            transfer: None,
        }
    }
}

impl SplitConfig {
    /// Checks the fractions.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("train_fraction", self.train_fraction),
            ("validation_fraction", self.validation_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidConfig {
                    field,
                    detail: format!("{v} is not in [0, 1]"),
                });
            }
        }
        Ok(())
    }
}

/// A patient-level split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    parts: BTreeMap<PatientId, Part>,
}

impl Split {
    /// The part of a patient.
    pub fn part(&self, patient: &PatientId) -> Option<Part> {
        self.parts.get(patient).copied()
    }

    /// The patients of one part.
    pub fn patients(&self, part: Part) -> impl Iterator<Item = &PatientId> {
        self.parts
            .iter()
            .filter(move |(_, p)| **p == part)
            .map(|(id, _)| id)
    }

    /// Number of patients per part.
    pub fn counts(&self) -> BTreeMap<Part, usize> {
        let mut m = BTreeMap::new();
        for p in self.parts.values() {
            *m.entry(*p).or_insert(0) += 1;
        }
        m
    }

    /// Checks that every record's patient has a part and that no duplicate group spans
    /// two parts (a patient is in one part by construction of the map).
    ///
    /// # Errors
    ///
    /// [`Error::Leak`] when a patient has no part or a group spans parts;
    /// [`Error::InvalidConfig`] (field `groups`) when a group is empty or indexes past
    /// `records`.
    pub fn check(&self, records: &[ImageRecord], groups: &[DuplicateGroup]) -> Result<()> {
        check_groups(groups, records.len())?;
        for r in records {
            if !self.parts.contains_key(&r.patient) {
                return Err(Error::Leak(format!("patient {} has no part", r.patient)));
            }
        }
        for g in groups {
            let parts: BTreeSet<Part> = g
                .members
                .iter()
                .map(|&m| self.parts[&records[m].patient])
                .collect();
            if parts.len() > 1 {
                let ids: Vec<&str> = g
                    .members
                    .iter()
                    .map(|&m| records[m].image_id.as_str())
                    .collect();
                return Err(Error::Leak(format!(
                    "duplicate group {ids:?} spans {parts:?}"
                )));
            }
        }
        Ok(())
    }

    fn to_csv(&self) -> String {
        let mut s = String::from("patient_id,part\n");
        for (id, p) in &self.parts {
            // Patient ids never contain commas or quotes in the sources; quote anyway.
            let _ = writeln!(
                s,
                "\"{}\",{}",
                id.to_string().replace('"', "\"\""),
                p.as_str()
            );
        }
        s
    }

    /// Writes `path` (CSV `patient_id,part`, sorted) and `path.sha256` (sha256sum
    /// format) atomically; returns the hex digest.
    pub fn write(&self, path: &Path) -> Result<String> {
        let text = self.to_csv();
        let hex = cxr_core::fingerprint::to_hex(&Sha256::digest(text.as_bytes()));
        cxr_core::write_bytes_atomic(path, text.as_bytes())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cxr_core::write_bytes_atomic(&sha_path(path), format!("{hex}  {name}\n").as_bytes())?;
        Ok(hex)
    }

    /// Reads a split written by [`Split::write`], checking its hash and its columns.
    pub fn read(path: &Path) -> Result<Split> {
        let bad = |problem: String| Error::BadSplit {
            path: path.to_path_buf(),
            problem,
        };
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| cxr_core::Error::Io { path: p, source }
        };
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let recorded = std::fs::read_to_string(sha_path(path)).map_err(io(&sha_path(path)))?;
        let want = recorded.split_whitespace().next().unwrap_or("");
        let got = cxr_core::fingerprint::to_hex(&Sha256::digest(text.as_bytes()));
        if want != got {
            return Err(bad(format!(
                "content hash {got} differs from recorded {want}"
            )));
        }
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        // A hand-made table with a fresh hash is accepted only with the written columns.
        let header = rdr.headers().map_err(|e| bad(e.to_string()))?;
        if header.iter().collect::<Vec<_>>() != ["patient_id", "part"] {
            return Err(bad(format!(
                "columns {:?}, expected [\"patient_id\", \"part\"]",
                header.iter().collect::<Vec<_>>()
            )));
        }
        let mut parts = BTreeMap::new();
        for row in rdr.records() {
            let row = row.map_err(|e| bad(e.to_string()))?;
            let line = row.position().map_or(0, |p| p.line());
            let id: PatientId = row[0]
                .parse()
                .map_err(|e| bad(format!("line {line}: {e}")))?;
            let part = match row.get(1) {
                Some("train") => Part::Train,
                Some("validation") => Part::Validation,
                Some("test") => Part::Test,
                other => return Err(bad(format!("line {line}: unknown part {other:?}"))),
            };
            if parts.insert(id.clone(), part).is_some() {
                return Err(bad(format!("line {line}: patient {id} listed twice")));
            }
        }
        Ok(Split { parts })
    }
}

fn sha_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Splits the patients of `records`. Patients linked by a duplicate group form one
/// block that goes to one part; blocks are stratified by the label (and source) of their
/// first patient.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a fraction outside [0, 1], an impossible transfer
/// `add_back`, or a group that is empty or indexes past `records` (field `groups`).
pub fn split(
    records: &[ImageRecord],
    groups: &[DuplicateGroup],
    config: &SplitConfig,
) -> Result<Split> {
    config.validate()?;
    check_groups(groups, records.len())?;
    // Patients in first-seen order, with their label and source.
    let mut index: BTreeMap<&PatientId, usize> = BTreeMap::new();
    let mut info: Vec<(&PatientId, Label, SourceId)> = Vec::new();
    for r in records {
        index.entry(&r.patient).or_insert_with(|| {
            info.push((&r.patient, r.label, r.source));
            info.len() - 1
        });
    }
    let index = &index;
    let links = groups.iter().flat_map(|g| {
        let first = index[&records[g.members[0]].patient];
        g.members
            .iter()
            .map(move |&m| (first, index[&records[m].patient]))
    });
    let mut in_group = vec![false; info.len()];
    let mut blocks: Vec<Vec<usize>> = union_groups(info.len(), links);
    for b in &blocks {
        for &p in b {
            in_group[p] = true;
        }
    }
    blocks.extend((0..info.len()).filter(|&p| !in_group[p]).map(|p| vec![p]));
    blocks.sort();

    let mut part_of_block: Vec<Option<Part>> = vec![None; blocks.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    // Transfer: the held-out source's covid blocks go to test, `add_back` of them to train.
    if let Some(t) = &config.transfer {
        let mut held: Vec<usize> = (0..blocks.len())
            .filter(|&b| {
                blocks[b]
                    .iter()
                    .any(|&p| info[p].2 == t.source && info[p].1 == Label::Covid)
            })
            .collect();
        if t.add_back > held.len() {
            return Err(Error::InvalidConfig {
                field: "transfer.add_back",
                detail: format!(
                    "{} requested, {} held-out covid patients",
                    t.add_back,
                    held.len()
                ),
            });
        }
        held.shuffle(&mut rng);
        for (i, b) in held.into_iter().enumerate() {
            part_of_block[b] = Some(if i < t.add_back {
                Part::Train
            } else {
                Part::Test
            });
        }
    }
    let forced: BTreeSet<&PatientId> = config.forced_train.iter().collect();
    for (b, members) in blocks.iter().enumerate() {
        if part_of_block[b].is_none() && members.iter().any(|&p| forced.contains(info[p].0)) {
            part_of_block[b] = Some(Part::Train);
        }
    }
    // Stratified assignment of the free blocks.
    let stratum = |b: usize| {
        let (_, label, source) = info[blocks[b][0]];
        (label, config.stratify_by_source.then_some(source))
    };
    let mut strata: BTreeMap<(Label, Option<SourceId>), Vec<usize>> = BTreeMap::new();
    for b in 0..blocks.len() {
        strata.entry(stratum(b)).or_default().push(b);
    }
    for blocks_in in strata.values() {
        let total: usize = blocks_in.iter().map(|&b| blocks[b].len()).sum();
        let target = (config.train_fraction * total as f64).round() as usize;
        let mut train: usize = blocks_in
            .iter()
            .filter(|&&b| part_of_block[b] == Some(Part::Train))
            .map(|&b| blocks[b].len())
            .sum();
        let mut free: Vec<usize> = blocks_in
            .iter()
            .copied()
            .filter(|&b| part_of_block[b].is_none())
            .collect();
        free.shuffle(&mut rng);
        for b in free {
            let part = if train < target {
                Part::Train
            } else {
                Part::Test
            };
            if part == Part::Train {
                train += blocks[b].len();
            }
            part_of_block[b] = Some(part);
        }
        // Internal validation from the stratum's training blocks (forced ones stay).
        let mut candidates: Vec<usize> = blocks_in
            .iter()
            .copied()
            .filter(|&b| {
                part_of_block[b] == Some(Part::Train)
                    && !blocks[b].iter().any(|&p| forced.contains(info[p].0))
            })
            .collect();
        candidates.shuffle(&mut rng);
        let want = (config.validation_fraction * train as f64).round() as usize;
        // Blocks that would overshoot the target are skipped (a large duplicate group
        // would otherwise fill validation alone).
        let mut val = 0;
        for b in candidates {
            if val + blocks[b].len() <= want {
                val += blocks[b].len();
                part_of_block[b] = Some(Part::Validation);
            }
        }
    }
    let mut parts = BTreeMap::new();
    for (b, members) in blocks.iter().enumerate() {
        for &p in members {
            parts.insert(
                info[p].0.clone(),
                part_of_block[b].expect("every block assigned"),
            );
        }
    }
    let s = Split { parts };
    s.check(records, groups)?;
    Ok(s)
}
