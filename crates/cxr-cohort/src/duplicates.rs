//! Exact (SHA-256 of the file) and near (64-bit difference hash, Hamming distance)
//! duplicate detection, within and across sources, with duplicate groups reported.
//!
//! Public sources copy each other (the covid collections re-publish figures, PadChest-covid
//! overlaps PadChest), so the same radiograph can appear twice under two patient ids.
//! Splits keep each near-duplicate group on one side ([`crate::split`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use cxr_core::{Exclusion, ExclusionReason, ImageKey, ImageRecord};
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::Cohort;

/// Settings of duplicate detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DuplicateOptions {
    /// Hamming distance (of 64 bits) at or below which two images are near-duplicate
    /// candidates.
    pub max_hamming: u32,
    /// A candidate pair is confirmed when the mean absolute difference of their
    /// mean-centred 32×32 thumbnails is at most this (gray levels). Chest radiographs are
    /// alike in their global layout, so the 64-bit hash alone over-groups them.
    pub max_thumbnail_mad: f64,
    /// Keep one image of each exact-duplicate group and exclude the others.
    pub drop_exact: bool,
}

impl Default for DuplicateOptions {
    fn default() -> Self {
        DuplicateOptions {
            max_hamming: 4,
            max_thumbnail_mad: 3.0,
            drop_exact: true,
        }
    }
}

impl DuplicateOptions {
    /// Checks the thresholds: `max_hamming` at most 64 (the hash's bits) and
    /// `max_thumbnail_mad` finite and not negative (NaN or a negative value would
    /// silently confirm no near duplicate, letting copies cross a split).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.max_hamming > 64 {
            return Err(Error::InvalidConfig {
                field: "duplicates.max_hamming",
                detail: format!("{} is more than the hash's 64 bits", self.max_hamming),
            });
        }
        if !(self.max_thumbnail_mad.is_finite() && self.max_thumbnail_mad >= 0.0) {
            return Err(Error::InvalidConfig {
                field: "duplicates.max_thumbnail_mad",
                detail: format!(
                    "{} is not a finite gray-level difference >= 0",
                    self.max_thumbnail_mad
                ),
            });
        }
        Ok(())
    }
}

pub use cxr_core::fingerprint::{Fingerprint, dhash, thumbnail_mad};

/// Error of an image loader.
pub type LoadError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Fingerprints an image file, decoding it with `load` ([`Fingerprint::of_file`]).
pub fn fingerprint<L>(record: &ImageRecord, load: &L) -> Result<Fingerprint, LoadError>
where
    L: Fn(&ImageRecord) -> Result<cxr_core::GrayImage, LoadError>,
{
    let img = load(record)?;
    Ok(Fingerprint::of_file(&record.path, &img)?)
}

/// The cohort's fingerprints file, beside its `records.csv`: one row per readable image
/// (`source`, `image_id`, and [`Fingerprint::to_columns`]).
pub const FINGERPRINTS: &str = "fingerprints.csv";

#[derive(Serialize, Deserialize)]
struct PrintRow {
    source: String,
    image_id: String,
    sha256: String,
    dhash: String,
    thumbnail: String,
}

/// Writes the fingerprints of `records` found in `prints` (by the records' keys) to
/// `path`, atomically; records without one (unreadable images) get no row.
///
/// # Errors
///
/// I/O and CSV errors naming the file.
pub fn write_fingerprints(
    path: &Path,
    records: &[ImageRecord],
    prints: &HashMap<ImageKey, Fingerprint>,
) -> cxr_core::Result<()> {
    let rows: Vec<PrintRow> = records
        .iter()
        .filter_map(|r| {
            let [sha256, dhash, thumbnail] = prints.get(&r.key())?.to_columns();
            Some(PrintRow {
                source: r.source.as_str().to_owned(),
                image_id: r.image_id.clone(),
                sha256,
                dhash,
                thumbnail,
            })
        })
        .collect();
    cxr_core::write_csv(
        path,
        &["source", "image_id", "sha256", "dhash", "thumbnail"],
        &rows,
    )
}

/// The fingerprints [`write_fingerprints`] wrote, by image key.
///
/// # Errors
///
/// A file that cannot be read, or a row whose fingerprints do not parse (naming the
/// file, line and column).
pub fn read_fingerprints(path: &Path) -> cxr_core::Result<HashMap<ImageKey, Fingerprint>> {
    let csv_err = |source| cxr_core::Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(csv_err)?;
    let mut prints = HashMap::new();
    for (i, row) in reader.deserialize::<PrintRow>().enumerate() {
        let row = row.map_err(csv_err)?;
        let print = Fingerprint::from_columns(&row.sha256, &row.dhash, &row.thumbnail).map_err(
            |(column, source)| cxr_core::Error::BadField {
                path: path.to_path_buf(),
                line: i as u64 + 2,
                column: column.into(),
                source,
            },
        )?;
        prints.insert(ImageKey::new(row.source, row.image_id), print);
    }
    Ok(prints)
}

/// The fingerprints of `report` by the key of the record each belongs to (`records`,
/// the records [`find_duplicates_with`] was given).
pub fn prints_by_key(
    records: &[ImageRecord],
    report: &DuplicateReport,
) -> HashMap<ImageKey, Fingerprint> {
    records
        .iter()
        .zip(&report.prints)
        .filter_map(|(r, p)| Some((r.key(), p.clone()?)))
        .collect()
}

/// Kind of a duplicate group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKind {
    /// Byte-identical files.
    Exact,
    /// Visually near-identical images.
    Near,
}

/// A set of images that are copies of each other (indices into the records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateGroup {
    /// Exact or near.
    pub kind: DuplicateKind,
    /// Record indices, ascending; the first is the one kept when dropping.
    pub members: Vec<usize>,
}

/// What [`find_duplicates`] found.
#[derive(Debug, Default)]
pub struct DuplicateReport {
    /// Exact groups and near groups (a near group contains any exact group it overlaps).
    pub groups: Vec<DuplicateGroup>,
    /// Images that could not be read (they take part in no group).
    pub failures: Vec<(usize, LoadError)>,
    /// Each record's fingerprints, in the records' order (`None`: unreadable), to keep
    /// beside the cohort ([`write_fingerprints`]) so that later steps need not decode
    /// every image again.
    pub prints: Vec<Option<Fingerprint>>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
    fn groups(&mut self) -> Vec<Vec<usize>> {
        let mut m: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..self.0.len() {
            let r = self.find(i);
            m.entry(r).or_default().push(i);
        }
        m.into_values().filter(|g| g.len() > 1).collect()
    }
}

pub(crate) fn union_groups(
    n: usize,
    pairs: impl IntoIterator<Item = (usize, usize)>,
) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(n);
    for (a, b) in pairs {
        uf.union(a, b);
    }
    uf.groups()
}

/// Checks that every group has members and that each member indexes one of `n` records.
///
/// # Errors
///
/// [`Error::InvalidConfig`] (field `groups`) naming the first bad group.
pub(crate) fn check_groups(groups: &[DuplicateGroup], n: usize) -> Result<()> {
    for (gi, g) in groups.iter().enumerate() {
        if g.members.is_empty() {
            return Err(Error::InvalidConfig {
                field: "groups",
                detail: format!("duplicate group {gi} has no member"),
            });
        }
        if let Some(m) = g.members.iter().find(|&&m| m >= n) {
            return Err(Error::InvalidConfig {
                field: "groups",
                detail: format!(
                    "duplicate group {gi}: record index {m} out of range ({n} records)"
                ),
            });
        }
    }
    Ok(())
}

/// Groups already fingerprinted images (`None` = unreadable).
pub fn group_fingerprints(
    prints: &[Option<Fingerprint>],
    options: &DuplicateOptions,
) -> Vec<DuplicateGroup> {
    let max_hamming = options.max_hamming;
    let n = prints.len();
    let mut by_sha: BTreeMap<[u8; 32], Vec<usize>> = BTreeMap::new();
    for (i, p) in prints.iter().enumerate() {
        if let Some(p) = p {
            by_sha.entry(p.sha256).or_default().push(i);
        }
    }
    let mut groups: Vec<DuplicateGroup> = by_sha
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|members| DuplicateGroup {
            kind: DuplicateKind::Exact,
            members,
        })
        .collect();
    let hashes: Vec<(usize, u64)> = prints
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.dhash)))
        .collect();
    // All pairs, in parallel: 30,000 images are 4.5e8 popcounts, well under a second.
    let pairs: Vec<(usize, usize)> = (0..hashes.len())
        .into_par_iter()
        .flat_map_iter(|a| {
            let (ia, ha) = hashes[a];
            hashes[a + 1..]
                .iter()
                .filter(move |(_, hb)| (ha ^ hb).count_ones() <= max_hamming)
                .map(move |&(ib, _)| (ia, ib))
        })
        .filter(|&(a, b)| {
            let (pa, pb) = (prints[a].as_ref(), prints[b].as_ref());
            pa.zip(pb)
                .is_some_and(|(pa, pb)| pa.same_film(pb, max_hamming, options.max_thumbnail_mad))
        })
        .collect();
    groups.extend(
        union_groups(n, pairs)
            .into_iter()
            .map(|members| DuplicateGroup {
                kind: DuplicateKind::Near,
                members,
            }),
    );
    groups
}

/// Fingerprints every record's image in parallel (progress on `progress`) and groups
/// duplicates; images are decoded with [`cxr_core::load_gray_with`] (raster images, with
/// the record's photometric options, so that a copy stored inverted still matches). Use
/// [`find_duplicates_with`] for other formats (DICOM via `cxr_dicom::load_record_image`).
pub fn find_duplicates(
    records: &[ImageRecord],
    options: &DuplicateOptions,
    progress: Option<&ProgressBar>,
) -> DuplicateReport {
    find_duplicates_with(records, options, progress, &|r: &ImageRecord| {
        Ok(cxr_core::load_gray_with(&r.path, r.load_options())?)
    })
}

/// [`find_duplicates`] with a custom image loader.
pub fn find_duplicates_with<L>(
    records: &[ImageRecord],
    options: &DuplicateOptions,
    progress: Option<&ProgressBar>,
    load: &L,
) -> DuplicateReport
where
    L: Fn(&ImageRecord) -> Result<cxr_core::GrayImage, LoadError> + Sync,
{
    let results: Vec<Result<Fingerprint, LoadError>> = records
        .par_iter()
        .map(|r| {
            let f = fingerprint(r, load);
            if let Some(pb) = progress {
                pb.inc(1);
            }
            f
        })
        .collect();
    let mut failures = Vec::new();
    let prints: Vec<Option<Fingerprint>> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| failures.push((i, e))).ok())
        .collect();
    DuplicateReport {
        groups: group_fingerprints(&prints, options),
        failures,
        prints,
    }
}

/// Moves all but the first image of each exact group to the exclusions
/// (`Duplicate { of }`), returning the groups re-indexed to the remaining records.
///
/// # Errors
///
/// [`Error::InvalidConfig`] (field `groups`), and `cohort` left unchanged, when a group
/// is empty, indexes past `cohort.records`, or lists its kept (first) record again.
pub fn drop_exact_duplicates(
    cohort: &mut Cohort,
    report: &DuplicateReport,
) -> Result<Vec<DuplicateGroup>> {
    check_groups(&report.groups, cohort.records.len())?;
    let mut drop = vec![false; cohort.records.len()];
    let mut of = BTreeMap::new();
    for (gi, g) in report
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.kind == DuplicateKind::Exact)
    {
        for &m in &g.members[1..] {
            if m == g.members[0] {
                return Err(Error::InvalidConfig {
                    field: "groups",
                    detail: format!("duplicate group {gi} lists its kept record {m} twice"),
                });
            }
            drop[m] = true;
            of.insert(m, cohort.records[g.members[0]].image_id.clone());
        }
    }
    let mut new_index = vec![usize::MAX; drop.len()];
    let records = std::mem::take(&mut cohort.records);
    for (i, r) in records.into_iter().enumerate() {
        if drop[i] {
            cohort.exclusions.push(Exclusion {
                source: r.source,
                file: None,
                row: None,
                path: Some(r.path),
                reason: ExclusionReason::Duplicate { of: of[&i].clone() },
            });
        } else {
            new_index[i] = cohort.records.len();
            cohort.records.push(r);
        }
    }
    Ok(report
        .groups
        .iter()
        .filter(|g| g.kind == DuplicateKind::Near)
        .filter_map(|g| {
            let members: Vec<usize> = g
                .members
                .iter()
                .map(|&m| new_index[m])
                .filter(|&m| m != usize::MAX)
                .collect();
            (members.len() > 1).then_some(DuplicateGroup {
                kind: DuplicateKind::Near,
                members,
            })
        })
        .collect())
}

/// Writes the groups as `group,kind,source,patient_id,image_id,path` (atomically).
///
/// # Errors
///
/// [`Error::InvalidConfig`] (field `groups`, nothing written) when a group is empty or
/// indexes past `records`; [`Error::Core`] when writing fails.
pub fn write_groups(path: &Path, groups: &[DuplicateGroup], records: &[ImageRecord]) -> Result<()> {
    check_groups(groups, records.len())?;
    cxr_core::write_atomic(path, |w| {
        let err = |source| cxr_core::Error::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["group", "kind", "source", "patient_id", "image_id", "path"])
            .map_err(err)?;
        for (gi, g) in groups.iter().enumerate() {
            let kind = match g.kind {
                DuplicateKind::Exact => "exact",
                DuplicateKind::Near => "near",
            };
            for &m in &g.members {
                let r = &records[m];
                out.write_record([
                    gi.to_string(),
                    kind.to_owned(),
                    r.source.to_string(),
                    r.patient.to_string(),
                    r.image_id.clone(),
                    r.path.to_string_lossy().into_owned(),
                ])
                .map_err(err)?;
            }
        }
        out.flush().map_err(|source| cxr_core::Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    Ok(())
}
