//! Phantoms per second at 256×256 (and 512×512), one thread, and a parallel batch.
//! `cargo bench --bench synth`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxr::prelude::*;
use cxr::synth::{CaseSpec, CohortPlan, plan_cases, render};
use rayon::prelude::*;

fn phantoms(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth");
    for size in [256u32, 512] {
        let config = SynthConfig::with_size(size);
        let cases: Vec<CaseSpec> = (0..16)
            .map(|i| {
                CaseSpec::single(
                    i,
                    Label::ALL[(i % 3) as usize],
                    SourceId::ALL[(i % 8) as usize],
                )
            })
            .collect();
        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function(format!("render_{size}"), |b| {
            b.iter(|| {
                i = (i + 1) % cases.len();
                black_box(render(&cases[i], &config))
            })
        });
    }
    let config = SynthConfig::with_size(256);
    let cases = plan_cases(&CohortPlan::tiny(), &config, 1).unwrap();
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("render_256_parallel_batch", |b| {
        b.iter(|| {
            cases
                .par_iter()
                .map(|c| render(c, &config).image.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, phantoms);
criterion_main!(benches);
