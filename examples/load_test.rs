//! A bounded load test of a running service, on loopback only: a fixed number of
//! requests from N concurrent clients, stopped early by a time cap. Prints one JSON line
//! (throughput, latency percentiles, errors, and the server's resident memory before and
//! after when `--pid` is given). `scripts/bench/serve_load.sh` runs it against cxr's
//! service and the FastAPI peer (docs/performance.md).
//!
//! `cargo run --release --example load_test -- --url http://127.0.0.1:8080/v1/predict --image a.png --requests 400 --concurrency 16`
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Bounded load test of a prediction endpoint on 127.0.0.1")]
struct Args {
    /// The endpoint (its host must be a loopback address).
    #[arg(long)]
    url: String,
    /// Image files sent in turn as raw bodies.
    #[arg(long, required = true)]
    image: Vec<PathBuf>,
    /// Requests in all.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Stop after this many seconds even if requests remain.
    #[arg(long, default_value_t = 120)]
    time_cap: u64,
    /// Requests sent first, at the same concurrency, and not counted (default: 4 per
    /// client), so that the server has met every batch size before memory is read.
    #[arg(long)]
    warm_up: Option<usize>,
    /// The server's process id, to read its resident memory before and after.
    #[arg(long)]
    pid: Option<u32>,
    /// A name for the JSON line.
    #[arg(long, default_value = "")]
    label: String,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let host = a
        .url
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', ':']).next())
        .context("--url must be http://HOST[:PORT]/PATH")?;
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("{host}: this load test only runs against a loopback address");
    }
    if a.concurrency == 0 || a.requests == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    let bodies: Vec<Vec<u8>> = a
        .image
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect::<anyhow::Result<_>>()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(a.time_cap)))
        .build()
        .into();
    let send = |agent: &ureq::Agent, body: &[u8]| -> Result<u16, String> {
        let mut r = agent
            .post(&a.url)
            .header("Content-Type", "application/octet-stream")
            .send(body)
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
        Ok(status)
    };
    // Sends `n` requests from `a.concurrency` clients, stopping at the time cap.
    let phase = |n: usize| {
        let next = AtomicUsize::new(0);
        let results = Mutex::new(Vec::with_capacity(n));
        let start = Instant::now();
        let cap = Duration::from_secs(a.time_cap);
        std::thread::scope(|s| {
            for _ in 0..a.concurrency {
                let (next, results, agent, bodies, send) =
                    (&next, &results, &agent, &bodies, &send);
                s.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n || start.elapsed() > cap {
                            break;
                        }
                        let t = Instant::now();
                        let r = send(agent, &bodies[i % bodies.len()]);
                        let ms = t.elapsed().as_secs_f64() * 1e3;
                        results.lock().unwrap().push((r, ms));
                    }
                });
            }
        });
        (start.elapsed().as_secs_f64(), results.into_inner().unwrap())
    };
    let (_, warm) = phase(a.warm_up.unwrap_or(4 * a.concurrency));
    if let Some((Err(e), _)) = warm.iter().find(|(r, _)| r.is_err()) {
        bail!("warm-up: {e}");
    }
    let rss_before = a.pid.and_then(rss_kib);
    let (seconds, results) = phase(a.requests);
    let mut ok_ms: Vec<f64> = results
        .iter()
        .filter(|(r, _)| *r == Ok(200))
        .map(|&(_, ms)| ms)
        .collect();
    ok_ms.sort_by(f64::total_cmp);
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for (r, _) in &results {
        let key = match r {
            Ok(s) => s.to_string(),
            Err(e) => format!("transport: {e}"),
        };
        *by_status.entry(key).or_default() += 1;
    }
    let q = |p: f64| cxr::stats::bootstrap::quantile_sorted(&ok_ms, p);
    let line = serde_json::json!({
        "label": a.label,
        "concurrency": a.concurrency,
        "requests": results.len(),
        "ok": ok_ms.len(),
        "by_status": by_status,
        "seconds": seconds,
        "throughput_per_s": ok_ms.len() as f64 / seconds,
        "p50_ms": q(0.50),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "rss_before_kib": rss_before,
        "rss_after_kib": a.pid.and_then(rss_kib),
        "time_capped": results.len() < a.requests,
    });
    println!("{line}");
    Ok(())
}
