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
    /// A synthetic cohort (the default when no data root is given).
    #[arg(long)]
    pub synthetic: bool,
    /// Experiment settings (TOML; missing fields take the demo's values, or the paper's
    /// with --data-root).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tiny settings: seconds instead of minutes (tests, smoke runs).
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
    /// The run context: settings resolved and written to `OUT/experiment.toml`.
    pub fn context(&self) -> anyhow::Result<Context> {
        let mut config = match (&self.config, self.tiny) {
            (Some(p), _) => ExperimentConfig::load(p)?,
            (None, true) => ExperimentConfig::tiny(),
            (None, false) => ExperimentConfig::demo(),
        };
        if let Some(root) = &self.data_root {
            std::fs::create_dir_all(&self.out)?;
            let sources = self.out.join("sources.toml");
            let found = cxr::experiments::config::write_paper_sources(root, &sources)?;
            eprintln!("sources found under {}: {found:?}", root.display());
            if self.config.is_none() {
                config = ExperimentConfig::paper(sources.clone());
            }
            config.data.synthetic = None;
            config.data.sources = Some(sources);
        }
        if let Some(s) = &self.segmenter {
            config.segmenter.run = Some(std::path::absolute(s)?);
        }
        let device = cxr::nn::device_from_env()?;
        Context::new(config, &self.out, device, true)
            .with_context(|| format!("preparing the run folder {}", self.out.display()))
    }
}
