//! From a configuration file to a cohort on disk: scan every source, apply the policy,
//! find duplicates, split, and write the manifest, exclusions, duplicate groups, split
//! and tables.

use std::path::{Path, PathBuf};

use cxr_cohort::duplicates::{
    FINGERPRINTS, LoadError, drop_exact_duplicates, find_duplicates_with, prints_by_key,
    write_fingerprints, write_groups,
};
use cxr_cohort::{CohortConfig, DuplicateOptions, Split, SplitConfig, assemble, split::split};
use cxr_core::{ScanError, SourceId};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

/// Everything `build_cohort` needs (`cohort.toml`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildConfig {
    /// Sources, roots and policies.
    pub cohort: CohortConfig,
    /// Duplicate detection.
    pub duplicates: DuplicateOptions,
    /// The split.
    pub split: SplitConfig,
}

impl BuildConfig {
    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<BuildConfig, cxr_cohort::Error> {
        let text = std::fs::read_to_string(path).map_err(|source| cxr_core::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let c: BuildConfig =
            toml::from_str(&text).map_err(|source| cxr_cohort::Error::ParseConfig {
                path: path.to_path_buf(),
                source,
            })?;
        c.cohort.validate()?;
        c.duplicates.validate()?;
        c.split.validate()?;
        Ok(c)
    }
}

/// What [`build_cohort`] did.
#[derive(Debug)]
pub struct BuildReport {
    /// Sources that could not be scanned (the others were).
    pub failed_sources: Vec<(SourceId, ScanError)>,
    /// Images kept.
    pub images: usize,
    /// Patients kept.
    pub patients: usize,
    /// Rows left out (all reasons).
    pub exclusions: usize,
    /// Near-duplicate groups kept together by the split.
    pub duplicate_groups: usize,
    /// The groups themselves (indices into `records.csv`'s rows).
    pub groups: Vec<cxr_cohort::DuplicateGroup>,
    /// Images that could not be read for duplicate detection.
    pub unreadable: Vec<(PathBuf, LoadError)>,
    /// The split and its SHA-256.
    pub split: Split,
    /// Hex SHA-256 of `split.csv`.
    pub split_sha256: String,
}

/// Runs the cohort stage into `out`: `records.csv`, `exclusions.csv`, `duplicates.csv`,
/// `fingerprints.csv` (each image's, so that later steps need not decode it again),
/// `split.csv` (+ `.sha256`), `table1.md`, `table1.csv`, `table2.md`, `config.toml`.
///
/// # Errors
///
/// [`cxr_cohort::Error::InvalidConfig`] for an invalid `config` (checked before anything
/// is scanned or written); I/O, split and writing errors. A source that cannot be scanned
/// is reported in [`BuildReport::failed_sources`], not as an error.
pub fn build_cohort(
    config: &BuildConfig,
    out: &Path,
    progress: Option<&ProgressBar>,
) -> Result<BuildReport, cxr_cohort::Error> {
    config.cohort.validate()?;
    config.duplicates.validate()?;
    config.split.validate()?;
    let text = toml::to_string_pretty(config).map_err(|e| cxr_cohort::Error::InvalidConfig {
        field: "config",
        detail: e.to_string(),
    })?;
    cxr_core::write_bytes_atomic(&out.join("config.toml"), text.as_bytes())?;
    let mut scans = vec![];
    let mut failed_sources = vec![];
    for (id, scan) in crate::scan_all(&config.cohort) {
        match scan {
            Ok(s) => scans.push(s),
            Err(e) => failed_sources.push((id, e)),
        }
    }
    let mut cohort = assemble(scans, &config.cohort)?;
    if let Some(pb) = progress {
        pb.set_length(cohort.records.len() as u64);
    }
    let load = |r: &cxr_core::ImageRecord| -> Result<cxr_core::GrayImage, LoadError> {
        Ok(cxr_dicom::load_record_image(r)?)
    };
    let mut report = find_duplicates_with(&cohort.records, &config.duplicates, progress, &load);
    let prints = prints_by_key(&cohort.records, &report);
    let unreadable = std::mem::take(&mut report.failures)
        .into_iter()
        .map(|(i, e)| (cohort.records[i].path.clone(), e))
        .collect();
    let groups = if config.duplicates.drop_exact {
        drop_exact_duplicates(&mut cohort, &report)?
    } else {
        report.groups.clone()
    };
    let s = split(&cohort.records, &groups, &config.split)?;
    let split_sha256 = s.write(&out.join("split.csv"))?;
    cxr_core::manifest::write_records(&out.join("records.csv"), &cohort.records)?;
    cxr_core::manifest::write_exclusions(&out.join("exclusions.csv"), &cohort.exclusions)?;
    write_groups(&out.join("duplicates.csv"), &groups, &cohort.records)?;
    write_fingerprints(&out.join(FINGERPRINTS), &cohort.records, &prints)?;
    cxr_report::cohort::write_tables(out, &cohort.records, config.cohort.seed)?;
    Ok(BuildReport {
        failed_sources,
        images: cohort.records.len(),
        patients: cohort.patients().len(),
        exclusions: cohort.exclusions.len(),
        duplicate_groups: groups.len(),
        groups,
        unreadable,
        split: s,
        split_sha256,
    })
}
