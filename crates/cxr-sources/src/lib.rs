//! # cxr-sources — the registry of source adapters
//!
//! [`adapter`] builds the [`Source`] of a [`SourceId`] with the options its cohort policy
//! implies (the PCR window for BIMCV-COVID19+; a source of the user's own reads the
//! neutral `manifest.csv` at its root, [`UserSource`]); [`scan_all`] scans every source of a
//! [`CohortConfig`] that has a `root`, in parallel, keeping each source's error apart so
//! one broken source does not stop the others.
//!
//! ```no_run
//! use cxr_cohort::{CohortConfig, assemble};
//!
//! let mut config = CohortConfig::paper();
//! config.sources[0].root = Some("/data/covid-chestxray-dataset".into());
//! let scans = cxr_sources::scan_all(&config);
//! let ok: Vec<_> = scans.into_iter().filter_map(|(_, s)| s.ok()).collect();
//! let cohort = assemble(ok, &config).unwrap();
//! println!("{} images", cohort.records.len());
//! ```
#![warn(missing_docs)]

pub mod build;

pub use build::{BuildConfig, BuildReport, build_cohort};

use cxr_cohort::{CohortConfig, SourcePolicy};
use cxr_core::{Scan, ScanError, Source, SourceId};
use rayon::prelude::*;

/// The adapter of `policy.source`, configured by the policy.
pub fn adapter(policy: &SourcePolicy) -> Box<dyn Source> {
    match policy.source {
        SourceId::CovidIdc => Box::new(cxr_source_covid_idc::CovidIdcSource::default()),
        SourceId::Coviddsl => Box::new(cxr_source_coviddsl::CoviddslSource::default()),
        SourceId::Padchest => Box::new(cxr_source_padchest::PadchestSource::default()),
        SourceId::BimcvCovid => {
            let mut options = cxr_source_bimcv_covid::BimcvOptions::default();
            if let Some(days) = policy.pcr_window_days {
                options.pcr_days_before = days;
            }
            Box::new(cxr_source_bimcv_covid::BimcvCovidSource::new(options))
        }
        SourceId::NlmTb => Box::new(cxr_source_nlm_tb::NlmTbSource::default()),
        SourceId::TbPortals => Box::new(cxr_source_tbportals::TbPortalsSource::default()),
        SourceId::Qmenta => Box::new(cxr_source_qmenta::QmentaSource::default()),
        SourceId::Chestxray8 => Box::new(cxr_source_chestxray8::Chestxray8Source::default()),
        user @ SourceId::User(_) => Box::new(UserSource(user)),
    }
}

/// A source of the user's own in a cohort configuration: its root holds the neutral
/// `manifest.csv` (`cxr_source_util::neutral`), read with no rules beyond the format's.
#[derive(Debug, Clone, Copy)]
pub struct UserSource(pub SourceId);

impl Source for UserSource {
    fn id(&self) -> SourceId {
        self.0
    }
    fn scan(&self, root: &std::path::Path) -> Result<Scan, ScanError> {
        cxr_source_util::neutral::scan_manifest(self.0, root)
    }
}

/// Scans every source of `config` that has a root, in parallel; results in config order.
pub fn scan_all(config: &CohortConfig) -> Vec<(SourceId, Result<Scan, ScanError>)> {
    config
        .sources
        .par_iter()
        .filter_map(|p| p.root.as_ref().map(|root| (p, root)))
        .map(|(p, root)| (p.source, adapter(p).scan(root)))
        .collect()
}
