//! What the cohort keeps from each source ([`CohortConfig`]) and its assembly from source
//! scans ([`assemble`]): labels kept, controls sampled at random, nothing dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cxr_core::{Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, SourceId};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Per-source policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePolicy {
    /// The source.
    pub source: SourceId,
    /// Where the source is laid out (see docs/data.md); sources without a root are not
    /// scanned by `cxr_sources::scan_all`.
    #[serde(default)]
    pub root: Option<std::path::PathBuf>,
    /// Labels kept from this source (others become `LabelNotKept` exclusions).
    #[serde(default = "all_labels")]
    pub labels: Vec<Label>,
    /// Keep at most this many *healthy* patients, drawn at random with the cohort seed
    /// (the paper drew 5,000 from ChestX-ray8 and 6,000 from PadChest).
    #[serde(default)]
    pub sample_healthy: Option<usize>,
    /// Days before the image within which a positive PCR confirms covid (sources with
    /// PCR records pass it to their adapter; the paper: 14).
    #[serde(default)]
    pub pcr_window_days: Option<u32>,
}

fn all_labels() -> Vec<Label> {
    Label::ALL.to_vec()
}

impl SourcePolicy {
    /// Keep everything from `source`.
    pub fn keep_all(source: SourceId) -> Self {
        SourcePolicy {
            source,
            root: None,
            labels: all_labels(),
            sample_healthy: None,
            pcr_window_days: None,
        }
    }
}

/// The cohort's composition rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortConfig {
    /// Seed of every random choice (control sampling, splits).
    pub seed: u64,
    /// One policy per source; sources without one are kept whole.
    pub sources: Vec<SourcePolicy>,
}

impl Default for CohortConfig {
    fn default() -> Self {
        CohortConfig {
            seed: 2020,
            sources: vec![],
        }
    }
}

impl CohortConfig {
    /// The paper's cohort: covid from the three covid sources (PCR within 14 days),
    /// bacterial pneumonia and tuberculosis from the TB sets and QMenta, healthy from
    /// everywhere, with 5,000 ChestX-ray8 and 6,000 PadChest healthy patients drawn at
    /// random (Table 1).
    pub fn paper() -> Self {
        let p = |source, labels: &[Label], sample: Option<usize>, pcr: Option<u32>| SourcePolicy {
            source,
            root: None,
            labels: labels.to_vec(),
            sample_healthy: sample,
            pcr_window_days: pcr,
        };
        use Label::*;
        CohortConfig {
            seed: 2020,
            sources: vec![
                p(SourceId::CovidIdc, &[Healthy, Covid], None, None),
                p(SourceId::Coviddsl, &[Covid], None, None),
                p(SourceId::BimcvCovid, &[Covid], None, Some(14)),
                p(SourceId::Padchest, &[Healthy, Bacterial], Some(6000), None),
                p(SourceId::Chestxray8, &[Healthy], Some(5000), None),
                p(SourceId::NlmTb, &[Healthy, Bacterial], None, None),
                p(SourceId::TbPortals, &[Healthy, Bacterial], None, None),
                p(SourceId::Qmenta, &[Healthy, Bacterial], None, None),
            ],
        }
    }

    /// Reads a TOML configuration.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| cxr_core::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let c: CohortConfig = toml::from_str(&text).map_err(|source| Error::ParseConfig {
            path: path.to_path_buf(),
            source,
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Checks the configuration (no source listed twice, no empty label list).
    pub fn validate(&self) -> Result<()> {
        let mut seen = BTreeSet::new();
        for p in &self.sources {
            if !seen.insert(p.source) {
                return Err(Error::InvalidConfig {
                    field: "sources",
                    detail: format!("source {} listed twice", p.source),
                });
            }
            if p.labels.is_empty() {
                return Err(Error::InvalidConfig {
                    field: "sources.labels",
                    detail: format!("no label kept for {}", p.source),
                });
            }
        }
        Ok(())
    }

    /// The policy of `source` (keep-all when none is listed).
    pub fn policy(&self, source: SourceId) -> SourcePolicy {
        self.sources
            .iter()
            .find(|p| p.source == source)
            .cloned()
            .unwrap_or_else(|| SourcePolicy::keep_all(source))
    }
}

/// The union of sources after the policy: records kept and every exclusion (the
/// sources' own and the policy's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cohort {
    /// Images kept.
    pub records: Vec<ImageRecord>,
    /// Everything left out, with the reason.
    pub exclusions: Vec<Exclusion>,
}

impl Cohort {
    /// Distinct patients.
    pub fn patients(&self) -> BTreeMap<&PatientId, Label> {
        self.records.iter().map(|r| (&r.patient, r.label)).collect()
    }
}

fn exclude(r: ImageRecord, reason: ExclusionReason) -> Exclusion {
    Exclusion {
        source: r.source,
        file: None,
        row: None,
        path: Some(r.path),
        reason,
    }
}

/// Applies `config` to the scans: drops labels a source's policy does not keep, samples
/// healthy controls at random (whole patients), keeps the rest. Records + exclusions of
/// the result account for every record and exclusion of the input.
pub fn assemble(scans: Vec<Scan>, config: &CohortConfig) -> Result<Cohort> {
    config.validate()?;
    let mut cohort = Cohort::default();
    let mut by_source: BTreeMap<SourceId, Vec<ImageRecord>> = BTreeMap::new();
    for scan in scans {
        cohort.exclusions.extend(scan.exclusions);
        for r in scan.records {
            by_source.entry(r.source).or_default().push(r);
        }
    }
    for (source, records) in by_source {
        let policy = config.policy(source);
        let mut kept = Vec::new();
        for r in records {
            if policy.labels.contains(&r.label) {
                kept.push(r);
            } else {
                let label = r.label;
                cohort
                    .exclusions
                    .push(exclude(r, ExclusionReason::LabelNotKept { label }));
            }
        }
        if let Some(n) = policy.sample_healthy {
            let healthy: BTreeSet<&PatientId> = kept
                .iter()
                .filter(|r| r.label == Label::Healthy)
                .map(|r| &r.patient)
                .collect();
            if healthy.len() > n {
                let mut ids: Vec<PatientId> = healthy.into_iter().cloned().collect();
                let salt = u64::from(
                    source
                        .as_str()
                        .bytes()
                        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))),
                );
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ salt);
                ids.shuffle(&mut rng);
                let chosen: BTreeSet<PatientId> = ids.into_iter().take(n).collect();
                let (keep, drop): (Vec<_>, Vec<_>) = kept
                    .into_iter()
                    .partition(|r| r.label != Label::Healthy || chosen.contains(&r.patient));
                kept = keep;
                cohort.exclusions.extend(
                    drop.into_iter()
                        .map(|r| exclude(r, ExclusionReason::NotSampled)),
                );
            }
        }
        cohort.records.extend(kept);
    }
    Ok(cohort)
}
