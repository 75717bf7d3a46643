//! `GET /metrics` in the Prometheus text format (version 0.0.4): requests by endpoint and
//! status, latency histograms per stage, queue depth per stage, classifier batch sizes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (c, b) in self.counts.iter_mut().zip(bounds) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct State {
    requests: BTreeMap<(String, u16), u64>,
    stages: BTreeMap<&'static str, Histogram>,
    queues: BTreeMap<&'static str, i64>,
    batches: Histogram,
}

/// The service's counters. Cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // A panic while holding the lock cannot leave the counters inconsistent enough
        // to matter: keep counting.
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A request to `endpoint` answered with `status`.
    pub fn request(&self, endpoint: &str, status: u16) {
        self.with(|s| *s.requests.entry((endpoint.to_owned(), status)).or_default() += 1);
    }

    /// `seconds` spent in `stage` (`decode`, `segment`, `queue`, `classify`,
    /// `saliency`, `total`).
    pub fn stage(&self, stage: &'static str, seconds: f64) {
        self.with(|s| {
            s.stages
                .entry(stage)
                .or_default()
                .observe(&LATENCY_BUCKETS, seconds)
        });
    }

    /// A job entered `queue`.
    pub fn queue_enter(&self, queue: &'static str) {
        self.with(|s| *s.queues.entry(queue).or_default() += 1);
    }

    /// A job left `queue` (taken by a worker, or refused).
    pub fn queue_leave(&self, queue: &'static str) {
        self.with(|s| *s.queues.entry(queue).or_default() -= 1);
    }

    /// Jobs waiting in `queue` now.
    pub fn queue_depth(&self, queue: &'static str) -> i64 {
        self.with(|s| s.queues.get(queue).copied().unwrap_or(0))
    }

    /// The classifier ran a batch of `n` images.
    pub fn batch(&self, n: usize) {
        let bounds: Vec<f64> = BATCH_BUCKETS.iter().map(|&b| b as f64).collect();
        self.with(|s| s.batches.observe(&bounds, n as f64));
    }

    /// Requests answered with `status` so far, over every endpoint.
    pub fn requests_with_status(&self, status: u16) -> u64 {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|((_, st), _)| *st == status)
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let s = self.with(|s| {
            (
                s.requests.clone(),
                s.stages.clone(),
                s.queues.clone(),
                s.batches.clone(),
            )
        });
        let (requests, stages, queues, batches) = s;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP cxr_requests_total Requests answered, by endpoint and HTTP status.\n# TYPE cxr_requests_total counter"
        );
        for ((endpoint, status), n) in &requests {
            let _ = writeln!(
                o,
                "cxr_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            o,
            "# HELP cxr_stage_seconds Time spent per image in each stage.\n# TYPE cxr_stage_seconds histogram"
        );
        for (stage, h) in &stages {
            histogram(
                &mut o,
                "cxr_stage_seconds",
                &format!("stage=\"{stage}\""),
                &LATENCY_BUCKETS,
                h,
            );
        }
        let _ = writeln!(
            o,
            "# HELP cxr_queue_depth Jobs waiting for a worker, by stage.\n# TYPE cxr_queue_depth gauge"
        );
        for q in ["segment", "classify"] {
            let n = queues.get(q).copied().unwrap_or(0);
            let _ = writeln!(o, "cxr_queue_depth{{queue=\"{q}\"}} {n}");
        }
        let _ = writeln!(
            o,
            "# HELP cxr_batch_size Images per classifier forward pass.\n# TYPE cxr_batch_size histogram"
        );
        let bounds: Vec<f64> = BATCH_BUCKETS.iter().map(|&b| b as f64).collect();
        histogram(&mut o, "cxr_batch_size", "", &bounds, &batches);
        o
    }
}

const BATCH_BUCKETS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];

fn histogram(o: &mut String, name: &str, labels: &str, bounds: &[f64], h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (i, b) in bounds.iter().enumerate() {
        let c = h.counts.get(i).copied().unwrap_or(0);
        let _ = writeln!(o, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
    }
    let _ = writeln!(o, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(o, "{name}_sum{braces} {}", h.sum);
    let _ = writeln!(o, "{name}_count{braces} {}", h.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_and_buckets() {
        let m = Metrics::default();
        m.request("predict", 200);
        m.request("predict", 200);
        m.request("predict", 415);
        m.stage("segment", 0.02);
        m.stage("segment", 0.3);
        m.batch(3);
        m.queue_enter("classify");
        let text = m.render();
        assert!(text.contains("cxr_requests_total{endpoint=\"predict\",status=\"200\"} 2\n"));
        assert!(text.contains("cxr_requests_total{endpoint=\"predict\",status=\"415\"} 1\n"));
        assert!(text.contains("cxr_stage_seconds_bucket{stage=\"segment\",le=\"0.025\"} 1\n"));
        assert!(text.contains("cxr_stage_seconds_bucket{stage=\"segment\",le=\"0.5\"} 2\n"));
        assert!(text.contains("cxr_stage_seconds_count{stage=\"segment\"} 2\n"));
        assert!(text.contains("cxr_batch_size_bucket{le=\"2\"} 0\n"));
        assert!(text.contains("cxr_batch_size_bucket{le=\"4\"} 1\n"));
        assert!(text.contains("cxr_queue_depth{queue=\"classify\"} 1\n"));
        assert_eq!(m.requests_with_status(200), 2);
    }
}
