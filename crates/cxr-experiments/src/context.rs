//! Where a step runs and how it reports progress: [`Context`], and the JSON helpers of
//! the run folder's small files.

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde::Serialize;
use tch::Device;

use crate::config::ExperimentConfig;
use crate::{Error, Result};

/// Where a step runs and how it reports progress.
#[derive(Debug, Clone)]
pub struct Context {
    /// The settings.
    pub config: ExperimentConfig,
    /// The run folder.
    pub out: PathBuf,
    /// Where the networks run.
    pub device: Device,
    /// Show progress bars.
    pub progress: bool,
}

impl Context {
    /// A context for `out`, writing `experiment.toml` there, or checking that the one
    /// already there holds the same settings.
    pub fn new(
        config: ExperimentConfig,
        out: &Path,
        device: Device,
        progress: bool,
    ) -> Result<Context> {
        config.validate(Path::new("<settings>"))?;
        std::fs::create_dir_all(out).map_err(|source| cxr_core::Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let path = out.join("experiment.toml");
        let text = config.to_toml()?;
        if path.exists() {
            let old = ExperimentConfig::load(&path)?;
            if old != config {
                return Err(Error::Config {
                    path,
                    detail: "the run folder holds another experiment's settings; use a new \
                             --out or the same settings"
                        .into(),
                });
            }
        } else {
            cxr_core::write_bytes_atomic(&path, text.as_bytes())?;
        }
        Ok(Context {
            config,
            out: out.to_path_buf(),
            device,
            progress,
        })
    }

    /// A progress bar (hidden unless `progress`; `cxr_core::progress`).
    pub fn bar(&self, len: usize, what: &str) -> ProgressBar {
        cxr_core::progress::bar(len as u64, what, self.progress)
    }

    /// The evaluation settings of the run (its bootstrap rounds and seed).
    pub fn evaluate_options(&self) -> cxr_eval::EvaluateOptions {
        let mut options = cxr_eval::EvaluateOptions::default();
        options.bootstrap.rounds = self.config.evaluation.rounds;
        options.bootstrap.seed = self.config.evaluation.seed;
        options
    }

    pub(crate) fn say(&self, text: impl AsRef<str>) {
        if self.progress {
            eprintln!("{}", text.as_ref());
        }
        tracing::info!("{}", text.as_ref());
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    Ok(cxr_nn::checkpoint::read_json(path)?)
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(cxr_nn::checkpoint::write_json(path, value)?)
}
