//! Arguments every experiment example takes: where the data is, the settings file, the
//! run folder. Included by the experiment examples with `#[path]`.
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cxr::experiments::ExperimentConfig;
use cxr::experiments::run::Context;

/// Data, settings and output of an experiment.
#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// Real data laid out as `DIR/<source>/` (docs/data.md), with the paper's policies.
    #[arg(long, conflicts_with = "synthetic")]
    pub data_root: Option<PathBuf>,
    /// Real data named source by source: a `build_cohort` TOML (each source's name and
    /// folder; your own sources hold a `manifest.csv`; docs/reproducing.md, "On your own
    /// sources"). Like `--data-root`, it brings the paper's settings for what `--config`
    /// leaves out.
    #[arg(long, conflicts_with_all = ["synthetic", "data_root"])]
    pub sources: Option<PathBuf>,
    /// A synthetic cohort (the default when no data root is given).
    #[arg(long)]
    pub synthetic: bool,
    /// Experiment settings (TOML; missing fields take the paper's values on real data,
    /// the demo's on phantoms; `configs/paper.toml` spells the paper's out).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tiny settings: seconds instead of minutes (tests, smoke runs; on real data too).
    #[arg(long, conflicts_with = "config")]
    pub tiny: bool,
    /// An existing lung segmenter run instead of training one.
    #[arg(long)]
    pub segmenter: Option<PathBuf>,
    /// Run folder (re-running with the same settings continues or re-renders it).
    #[arg(long)]
    pub out: PathBuf,
}

impl ExperimentArgs {
    /// The run context: settings resolved (the paper's for every section a settings
    /// file leaves out on real data, the demo's on phantoms), printed, and written to
    /// `OUT/experiment.toml`.
    pub fn context(&self) -> anyhow::Result<Context> {
        let sources = match &self.data_root {
            Some(root) => {
                std::fs::create_dir_all(&self.out)?;
                let sources = self.out.join("sources.toml");
                let found = cxr::experiments::config::write_paper_sources(root, &sources)?;
                eprintln!("sources found under {}: {found:?}", root.display());
                Some(sources)
            }
            None => match &self.sources {
                Some(file) => {
                    // Refused here, before anything is written, if it does not read.
                    cxr_sources::BuildConfig::load(file)
                        .with_context(|| format!("--sources {}", file.display()))?;
                    Some(std::path::absolute(file)?)
                }
                None => None,
            },
        };
        let segmenter = self
            .segmenter
            .as_deref()
            .map(std::path::absolute)
            .transpose()?;
        let config =
            ExperimentConfig::for_run(self.config.as_deref(), sources, segmenter, self.tiny)?;
        eprintln!(
            "settings: {} (all of them: {})",
            config.summary(),
            self.out.join("experiment.toml").display()
        );
        let device = cxr::nn::device_from_env()?;
        Context::new(config, &self.out, device, true)
            .with_context(|| format!("preparing the run folder {}", self.out.display()))
    }
}
