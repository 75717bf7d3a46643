//! Serves a trained run over HTTP: the API under `/v1`, metrics, OpenAPI, and the review
//! page at `/` (docs/serving.md).
//!
//! `cargo run --release --example serve -- --run out/demo [--addr 127.0.0.1:8080] [--backend torch|pure]`
//!
//! `--backend pure` runs the networks in pure Rust (`cxr::infer`, candle, CPU): the same
//! answers within 1e-4, saliency included. Built with `--no-default-features` it is the
//! only backend and the binary needs no libtorch:
//! `cargo run --release --no-default-features --example serve -- --run out/demo`.
//!
//! `--run` is an experiment folder (`make demo`'s `out/demo`: classifier, segmenter and
//! the evaluation whose cut-offs are served as operating points) or a classifier run.
#[path = "common/backend.rs"]
mod backend;
#[path = "common/gate.rs"]
mod gate;
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;
use std::time::Duration;

use backend::{Backend, DEFAULT_BACKEND};
use clap::Parser;
use cxr::serve::{ServeConfig, Service, read_token};

#[derive(Parser)]
#[command(about = "Serve a trained cxr run over HTTP, with its review page")]
struct Args {
    /// An experiment folder (out/demo) or a classifier run folder.
    #[arg(long)]
    run: PathBuf,
    /// Another segmenter run than the one found with the classifier.
    #[arg(long)]
    segmenter: Option<PathBuf>,
    /// Address to listen on. Keep 127.0.0.1 behind a reverse proxy (docs/serving.md).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Largest classifier batch.
    #[arg(long, default_value_t = 8)]
    max_batch: usize,
    /// Longest wait for a batch to fill, in milliseconds.
    #[arg(long, default_value_t = 5)]
    max_wait_ms: u64,
    /// Requests handled at once; more get 503 with Retry-After.
    #[arg(long, default_value_t = 32)]
    max_inflight: usize,
    /// Jobs waiting per stage (segmenter, classifier) before 503.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Segmenter threads, each with its own copy of the network.
    #[arg(long, default_value_t = 1)]
    segmenters: usize,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 64)]
    max_body_mib: usize,
    /// A file whose first line is the bearer token `/v1/*` requires.
    #[arg(long)]
    token_file: Option<PathBuf>,
    #[command(flatten)]
    gate: gate::GateArgs,
    /// The network's own probabilities, without the run's temperature scaling.
    #[arg(long)]
    no_temperature: bool,
    /// Which library runs the networks (`pure`: without libtorch, on the CPU).
    #[arg(long, value_enum, default_value_t = DEFAULT_BACKEND)]
    backend: Backend,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let mut c = ServeConfig::new(&a.run);
    c.segmenter = a.segmenter;
    c.backend = match a.backend {
        #[cfg(feature = "torch")]
        Backend::Torch => cxr::serve::Backend::Torch(cxr::nn::device_from_env()?),
        #[cfg(not(feature = "torch"))]
        Backend::Torch => anyhow::bail!(backend::NO_TORCH),
        Backend::Pure => cxr::serve::Backend::Pure,
    };
    c.max_batch = a.max_batch;
    c.max_wait = Duration::from_millis(a.max_wait_ms);
    c.max_inflight = a.max_inflight;
    c.queue_capacity = a.queue;
    c.segmenters = a.segmenters;
    c.max_body = a.max_body_mib << 20;
    c.qc = a.gate.options()?;
    c.temperature = !a.no_temperature;
    c.token = a.token_file.as_deref().map(read_token).transpose()?;
    let service = Service::start(c)?;
    let model = &service.state().model;
    eprintln!(
        "model {} on {} with {} (temperature {}, {} operating points)",
        model.id,
        model.device,
        model.backend,
        model
            .classifier
            .temperature
            .map_or("none".into(), |t| format!("{t:.3}")),
        model.operating_points.len()
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(&a.addr).await?;
            println!(
                "serving on http://{} (review page at /, API at /v1, Ctrl-C stops)",
                listener.local_addr()?
            );
            service
                .serve(listener, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            anyhow::Ok(())
        })
}
