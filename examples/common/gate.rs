//! The quality gate's command-line arguments, shared by the examples that gate images
//! (`train_classifier`, `predict`, `serve`). Included with `#[path]`.
use cxr::lungseg::qc::QcOptions;

/// `--min-lungs` and `--min-fraction`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct GateArgs {
    /// Quality gate: lungs that must be found (the paper: 2).
    #[arg(long, default_value_t = 2)]
    pub min_lungs: u8,
    /// Quality gate: smallest share of the image the lungs must cover (the paper: 0.30).
    #[arg(long, default_value_t = 0.30)]
    pub min_fraction: f32,
}

impl GateArgs {
    /// The gate, checked: a bad one is refused before anything is loaded, rather than
    /// rejecting every image.
    pub fn options(&self) -> anyhow::Result<QcOptions> {
        let qc = QcOptions {
            min_lungs: self.min_lungs,
            min_fraction: self.min_fraction,
        };
        qc.validate()
            .map_err(|e| anyhow::anyhow!("--min-lungs / --min-fraction: {e}"))?;
        Ok(qc)
    }
}
