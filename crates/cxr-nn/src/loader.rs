//! A data loader that decodes and augments on worker threads with a bounded prefetch
//! queue, and yields batches in order. Each sample's random generator is derived from
//! (seed, epoch, index), so an epoch's batches are the same whatever the number of
//! workers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Error a dataset returns for one sample (kept as the source of [`SampleError`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One decoded, augmented sample: a single-channel image in 0..1 and its label planes.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Width and height.
    pub size: (usize, usize),
    /// Image, row-major, 0..1.
    pub image: Vec<f32>,
    /// Extra input channels (e.g. the lung mask given to the classifier), each 0..1.
    pub channels: Vec<Vec<f32>>,
    /// Label planes (segmentation targets), row-major.
    pub masks: Vec<Vec<u8>>,
    /// Class index, for classification.
    pub class: i64,
}

/// A source of samples. `get` receives the sample's own generator, to draw its
/// augmentation from.
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Loads and augments sample `index`.
    fn get(&self, index: usize, rng: &mut ChaCha8Rng) -> Result<Sample, BoxError>;
}

/// A sample that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("sample {index}")]
pub struct SampleError {
    /// Dataset index.
    pub index: usize,
    /// Why.
    #[source]
    pub source: BoxError,
}

/// A batch, in the loader's order.
#[derive(Debug)]
pub struct Batch {
    /// Dataset indices of the samples in the batch.
    pub indices: Vec<usize>,
    /// Images and extra channels, `[B, 1 + channels, H, W]` float.
    pub images: Tensor,
    /// Label planes, one tensor per plane, `[B, 1, H, W]` uint8.
    pub masks: Vec<Tensor>,
    /// Class indices, `[B]` int64.
    pub classes: Tensor,
    /// Samples of this batch that failed (left out of the tensors).
    pub failures: Vec<SampleError>,
}

/// Loader settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoaderConfig {
    /// Samples per batch.
    pub batch_size: usize,
    /// Shuffle each epoch.
    pub shuffle: bool,
    /// Drop a last, smaller batch.
    pub drop_last: bool,
    /// Worker threads (0 = load on the calling thread).
    pub workers: usize,
    /// Batches prepared ahead of the consumer.
    pub prefetch: usize,
    /// Seed of shuffling and of every sample's augmentation.
    pub seed: u64,
}

impl LoaderConfig {
    /// The trainers' settings: batches of `batch_size`, the last one kept whole or short,
    /// `workers` threads, four batches of prefetch.
    pub fn new(batch_size: usize, workers: usize, seed: u64, shuffle: bool) -> Self {
        LoaderConfig {
            batch_size,
            shuffle,
            drop_last: false,
            workers,
            prefetch: 4,
            seed,
        }
    }
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 16,
            shuffle: true,
            drop_last: false,
            workers: 2,
            prefetch: 4,
            seed: 0,
        }
    }
}

pub(crate) use cxr_core::names::splitmix64 as mix;

/// The generator of sample `index` in `epoch`.
pub fn sample_rng(seed: u64, epoch: u64, index: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(seed ^ mix(epoch)) ^ index as u64))
}

/// Loads batches of a dataset.
pub struct DataLoader<D: Dataset + 'static> {
    dataset: Arc<D>,
    config: LoaderConfig,
}

impl<D: Dataset + 'static> DataLoader<D> {
    /// A loader over `dataset`.
    pub fn new(dataset: Arc<D>, config: LoaderConfig) -> Self {
        DataLoader { dataset, config }
    }

    /// Number of batches per epoch.
    pub fn batches(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size.max(1));
        if self.config.drop_last {
            n / b
        } else if n > b && n % b == 1 {
            // The one sample left over joins the batch before ([`Self::epoch`]).
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The sample order of an epoch.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.config.shuffle {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(
                mix(self.config.seed ^ 0x5EED) ^ mix(epoch),
            ));
        }
        order
    }

    /// Iterates over the batches of `epoch`.
    pub fn epoch(&self, epoch: u64) -> EpochIter {
        let order = self.order(epoch);
        let b = self.config.batch_size.max(1);
        let mut chunks: Vec<Vec<usize>> = order
            .chunks(b)
            .filter(|c| !self.config.drop_last || c.len() == b)
            .map(<[usize]>::to_vec)
            .collect();
        // A last batch of one sample joins the one before: batch normalisation cannot train
        // on a single sample where a feature map is 1 × 1 (its variance is 0/0, and the NaN
        // poisons the running statistics, so every later prediction is NaN).
        if chunks.len() > 1 && chunks.last().is_some_and(|c| c.len() == 1) {
            let last = chunks.pop().unwrap_or_default();
            if let Some(before) = chunks.last_mut() {
                before.extend(last);
            }
        }
        let chunks = Arc::new(chunks);
        let total = chunks.len();
        let seed = self.config.seed;
        if self.config.workers == 0 {
            let ds = Arc::clone(&self.dataset);
            return EpochIter {
                inner: Inner::Inline(Box::new(
                    (0..total).map(move |i| build_batch(&*ds, &chunks[i], seed, epoch)),
                )),
            };
        }
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = sync_channel(self.config.prefetch.max(1));
        let workers = (0..self.config.workers)
            .map(|_| {
                let (ds, chunks, next, stop, tx) = (
                    Arc::clone(&self.dataset),
                    Arc::clone(&chunks),
                    Arc::clone(&next),
                    Arc::clone(&stop),
                    tx.clone(),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= chunks.len() {
                            break;
                        }
                        let batch = build_batch(&*ds, &chunks[i], seed, epoch);
                        if tx.send((i, batch)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        EpochIter {
            inner: Inner::Threads {
                rx,
                chunks,
                pending: BTreeMap::new(),
                want: 0,
                total,
                stop,
                workers,
            },
        }
    }
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Checks that every plane of a sample holds `width × height` values.
fn check_sample(s: &Sample) -> Result<(), BoxError> {
    let (w, h) = s.size;
    let n = w
        .checked_mul(h)
        .ok_or_else(|| format!("sample size {w}×{h} overflows"))?;
    let planes = std::iter::once(("image", s.image.len()))
        .chain(s.channels.iter().map(|c| ("channel", c.len())))
        .chain(s.masks.iter().map(|m| ("mask", m.len())));
    for (what, len) in planes {
        if len != n {
            return Err(format!("{what} has {len} values for a {w}×{h} sample").into());
        }
    }
    Ok(())
}

/// A batch whose samples were never built (a worker stopped before building it).
fn lost_batch(indices: &[usize], why: &str) -> Batch {
    let failures = indices
        .iter()
        .map(|&index| SampleError {
            index,
            source: why.into(),
        })
        .collect();
    assemble(&[], Vec::new(), failures)
}

fn build_batch<D: Dataset + ?Sized>(ds: &D, indices: &[usize], seed: u64, epoch: u64) -> Batch {
    let mut samples = Vec::with_capacity(indices.len());
    let mut kept = Vec::with_capacity(indices.len());
    let mut failures = Vec::new();
    for &index in indices {
        let mut rng = sample_rng(seed, epoch, index);
        // A dataset that panics on one sample fails that sample, not the epoch.
        let got =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ds.get(index, &mut rng)))
                .unwrap_or_else(|panic| {
                    Err(format!("loading panicked: {}", panic_text(&*panic)).into())
                });
        match got.and_then(|s| check_sample(&s).map(|()| s)) {
            Ok(s) => {
                let same = samples.first().is_none_or(|f: &Sample| {
                    f.size == s.size
                        && f.channels.len() == s.channels.len()
                        && f.masks.len() == s.masks.len()
                });
                if same {
                    samples.push(s);
                    kept.push(index);
                } else {
                    failures.push(SampleError {
                        index,
                        source: format!("sample shape {:?} differs from the batch's", s.size)
                            .into(),
                    });
                }
            }
            Err(source) => failures.push(SampleError { index, source }),
        }
    }
    assemble(&samples, kept, failures)
}

/// Stacks checked samples of one shape into a batch.
fn assemble(samples: &[Sample], kept: Vec<usize>, failures: Vec<SampleError>) -> Batch {
    let (w, h) = samples.first().map_or((0, 0), |s| s.size);
    let c = 1 + samples.first().map_or(0, |s| s.channels.len());
    let n = samples.len() as i64;
    let mut flat = Vec::with_capacity(samples.len() * c * w * h);
    for s in samples {
        flat.extend_from_slice(&s.image);
        for ch in &s.channels {
            flat.extend_from_slice(ch);
        }
    }
    let images = Tensor::from_slice(&flat).view([n, c as i64, h as i64, w as i64]);
    let planes = samples.first().map_or(0, |s| s.masks.len());
    let masks = (0..planes)
        .map(|p| {
            let flat: Vec<u8> = samples
                .iter()
                .flat_map(|s| s.masks[p].iter().copied())
                .collect();
            Tensor::from_slice(&flat).view([n, 1, h as i64, w as i64])
        })
        .collect();
    let classes = Tensor::from_slice(&samples.iter().map(|s| s.class).collect::<Vec<i64>>())
        .to_kind(Kind::Int64);
    Batch {
        indices: kept,
        images,
        masks,
        classes,
        failures,
    }
}

enum Inner {
    Inline(Box<dyn Iterator<Item = Batch>>),
    Threads {
        rx: Receiver<(usize, Batch)>,
        chunks: Arc<Vec<Vec<usize>>>,
        pending: BTreeMap<usize, Batch>,
        want: usize,
        total: usize,
        stop: Arc<AtomicBool>,
        workers: Vec<JoinHandle<()>>,
    },
}

/// The batches of one epoch, in order.
pub struct EpochIter {
    inner: Inner,
}

impl Iterator for EpochIter {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        match &mut self.inner {
            Inner::Inline(it) => it.next(),
            Inner::Threads {
                rx,
                chunks,
                pending,
                want,
                total,
                ..
            } => {
                if *want >= *total {
                    return None;
                }
                loop {
                    if let Some(b) = pending.remove(want) {
                        *want += 1;
                        return Some(b);
                    }
                    match rx.recv() {
                        Ok((i, b)) => {
                            pending.insert(i, b);
                        }
                        Err(_) => {
                            // Every worker is gone before building this batch: its
                            // samples are reported as failures, so the epoch is never
                            // silently short.
                            let b = lost_batch(&chunks[*want], "loader worker stopped");
                            *want += 1;
                            return Some(b);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        if let Inner::Threads {
            stop, workers, rx, ..
        } = &mut self.inner
        {
            stop.store(true, Ordering::Relaxed);
            // Unblock workers waiting on a full queue.
            while rx.try_recv().is_ok() {}
            for w in workers.drain(..) {
                while !w.is_finished() {
                    while rx.try_recv().is_ok() {}
                    std::thread::yield_now();
                }
                let _ = w.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Sample i: image filled with i/100 plus a random offset from its generator; fails
    /// for index 7.
    struct Toy(usize);
    impl Dataset for Toy {
        fn len(&self) -> usize {
            self.0
        }
        fn get(&self, index: usize, rng: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
            if index == 7 {
                return Err("broken file".into());
            }
            let v = index as f32 / 100.0 + rng.random_range(0.0..0.001f32);
            Ok(Sample {
                size: (3, 2),
                image: vec![v; 6],
                channels: vec![],
                masks: vec![vec![index as u8; 6]],
                class: (index % 3) as i64,
            })
        }
    }

    fn collect(workers: usize) -> Vec<(Vec<usize>, Vec<f32>, usize)> {
        let loader = DataLoader::new(
            Arc::new(Toy(23)),
            LoaderConfig {
                batch_size: 4,
                workers,
                prefetch: 2,
                seed: 9,
                ..LoaderConfig::default()
            },
        );
        assert_eq!(loader.batches(), 6);
        loader
            .epoch(3)
            .map(|b| {
                (
                    b.indices.clone(),
                    Vec::<f32>::try_from(b.images.flatten(0, -1)).unwrap(),
                    b.failures.len(),
                )
            })
            .collect()
    }

    #[test]
    fn a_last_batch_of_one_sample_joins_the_one_before() {
        let loader = |n: usize| {
            DataLoader::new(
                Arc::new(Toy(n)),
                LoaderConfig {
                    batch_size: 4,
                    workers: 0,
                    seed: 9,
                    ..LoaderConfig::default()
                },
            )
        };
        // 9 = 4 + 5: two batches, every sample in one of them (7 fails and is reported).
        let l = loader(9);
        assert_eq!(l.batches(), 2);
        let sizes: Vec<usize> = l
            .epoch(0)
            .map(|b| b.indices.len() + b.failures.len())
            .collect();
        assert_eq!(sizes, [4, 5]);
        // 10 = 4 + 4 + 2 stays as it is; one sample alone is one batch.
        assert_eq!(loader(10).batches(), 3);
        let one = loader(1);
        assert_eq!(one.batches(), 1);
        assert_eq!(one.epoch(0).count(), 1);
    }

    #[test]
    fn batches_are_identical_for_any_worker_count() {
        let inline = collect(0);
        assert_eq!(inline, collect(1));
        assert_eq!(inline, collect(3));
        let all: Vec<usize> = inline.iter().flat_map(|b| b.0.clone()).collect();
        assert_eq!(
            all.len(),
            22,
            "index 7 failed and was reported, the rest loaded"
        );
        assert_eq!(inline.iter().map(|b| b.2).sum::<usize>(), 1);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, (0..23).filter(|&i| i != 7).collect::<Vec<_>>());
        assert_ne!(all, sorted, "shuffled");
    }

    /// Index 2 panics while loading; index 3 has a short image, index 4 a short mask.
    struct Broken;
    impl Dataset for Broken {
        fn len(&self) -> usize {
            6
        }
        fn get(&self, index: usize, _: &mut ChaCha8Rng) -> Result<Sample, BoxError> {
            if index == 2 {
                panic!("bad augmentation setting");
            }
            Ok(Sample {
                size: (4, 4),
                image: vec![0.5; if index == 3 { 3 } else { 16 }],
                channels: vec![],
                masks: vec![vec![1; if index == 4 { 15 } else { 16 }]],
                class: 0,
            })
        }
    }

    #[test]
    fn panicking_and_misshapen_samples_are_failures_for_any_worker_count() {
        for workers in [0, 1, 2] {
            let loader = DataLoader::new(
                Arc::new(Broken),
                LoaderConfig {
                    batch_size: 2,
                    shuffle: false,
                    workers,
                    ..LoaderConfig::default()
                },
            );
            let batches: Vec<Batch> = loader.epoch(0).collect();
            assert_eq!(batches.len(), 3, "workers {workers}: no batch lost");
            let kept: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
            assert_eq!(kept, [0, 1, 5], "workers {workers}");
            let failures: Vec<(usize, String)> = batches
                .iter()
                .flat_map(|b| &b.failures)
                .map(|f| (f.index, f.source.to_string()))
                .collect();
            assert_eq!(
                failures,
                [
                    (2, "loading panicked: bad augmentation setting".to_string()),
                    (3, "image has 3 values for a 4×4 sample".to_string()),
                    (4, "mask has 15 values for a 4×4 sample".to_string()),
                ],
                "workers {workers}"
            );
            assert_eq!(batches[1].images.size(), [0, 1, 0, 0]);
            assert_eq!(batches[2].images.size(), [1, 1, 4, 4]);
        }
    }

    #[test]
    fn epochs_differ_and_tensors_have_shapes() {
        let loader = DataLoader::new(
            Arc::new(Toy(10)),
            LoaderConfig {
                batch_size: 5,
                workers: 2,
                ..LoaderConfig::default()
            },
        );
        assert_ne!(loader.order(0), loader.order(1));
        let b = loader.epoch(0).next().unwrap();
        assert_eq!(b.images.size(), [5, 1, 2, 3]);
        assert_eq!(b.masks[0].size(), [5, 1, 2, 3]);
        assert_eq!(b.classes.size(), [5]);
        // Dropping an iterator early stops its workers.
        let mut it = loader.epoch(1);
        let _ = it.next();
        drop(it);
    }
}
