//! Chest-sized conversions: 2,000 × 2,500, 12-bit, native, JPEG 2000 lossless, JPEG
//! 2000 lossy (10:1) and HTJ2K lossless, file → 8-bit PNG file, at full size and at a quarter of each side
//! (`reduce` 2); RLE, JPEG (lossless, extended, 8-bit baseline) and JPEG-LS at full size;
//! plus batch scaling over 1 and 2 threads (native: with and without
//! flushing each PNG to disk; JPEG 2000 and HTJ2K: flushed).
//!
//! Inputs are made by the fixture script into a git-ignored folder:
//! `scripts/reference/make_dicom_fixtures.sh bench` (writes `target/dicom-bench/`,
//! override with `CXR_DICOM_BENCH_DIR`). The pydicom counterpart is
//! `scripts/bench/dicom_pydicom.py`; results are in `docs/performance.md`.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use cxr_dicom::{BatchOptions, ConvertOptions, convert_to_png, convert_tree};

/// Where the bench inputs are (`CXR_DICOM_BENCH_DIR`, default `target/dicom-bench`).
fn bench_dir() -> PathBuf {
    std::env::var_os("CXR_DICOM_BENCH_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dicom-bench"),
        PathBuf::from,
    )
}

/// 16 copies of the native image, 1 and 2 workers, with and without flushing each PNG;
/// 4 copies of the JPEG 2000 image and 8 of the HTJ2K one, flushed.
fn batch(c: &mut Criterion) {
    let dir = bench_dir();
    batch_of(
        c,
        &dir.join("chest_12bit_native.dcm"),
        16,
        &[(1, true), (2, true), (1, false), (2, false)],
    );
    batch_of(
        c,
        &dir.join("chest_12bit_j2k.dcm"),
        4,
        &[(1, true), (2, true)],
    );
    batch_of(
        c,
        &dir.join("chest_12bit_htj2k.dcm"),
        8,
        &[(1, true), (2, true)],
    );
}

/// `copies` copies of `src`, converted with each `(jobs, sync)`.
fn batch_of(c: &mut Criterion, src: &std::path::Path, copies: usize, runs: &[(usize, bool)]) {
    if !src.exists() {
        return;
    }
    // Each iteration writes into a fresh output folder (made and removed outside the
    // timing), so no run overwrites the files of the one before.
    let input = tempfile::tempdir().unwrap();
    for i in 0..copies {
        std::fs::copy(src, input.path().join(format!("im{i}.dcm"))).unwrap();
    }
    let kind = src
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("chest_12bit_"))
        .unwrap_or("other");
    let mut g = c.benchmark_group(format!("batch_{copies}_{kind}"));
    g.sample_size(10);
    // With each PNG flushed to disk before its rename (the default), and without.
    for &(jobs, sync) in runs {
        let opts = BatchOptions {
            jobs,
            sync,
            ..BatchOptions::default()
        };
        let name = format!("jobs_{jobs}{}", if sync { "" } else { "_nosync" });
        g.bench_function(name, |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |out| {
                    let r = convert_tree(input.path(), out.path(), &opts, None).unwrap();
                    assert_eq!(r.ok(), copies);
                    out
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// The JPEG 2000 family and native data, at full size and at a quarter of each side.
fn per_image(c: &mut Criterion) {
    convert_group(
        c,
        "convert_2000x2500_12bit",
        &[
            "chest_12bit_native.dcm",
            "chest_12bit_j2k.dcm",
            "chest_12bit_j2k_lossy.dcm",
            "chest_12bit_htj2k.dcm",
        ],
        true,
    );
}

/// The syntaxes whose decoders pydicom does not share with us (JPEG-LS is the exception:
/// CharLS on both sides, measured for completeness), full size: RLE, JPEG lossless SV1
/// and extended (12-bit), baseline (8-bit, with its native source for scale), JPEG-LS.
fn per_syntax(c: &mut Criterion) {
    convert_group(
        c,
        "convert_2000x2500",
        &[
            "chest_12bit_rle.dcm",
            "chest_12bit_jpeg_lossless.dcm",
            "chest_12bit_jpeg_extended.dcm",
            "chest_8bit_native.dcm",
            "chest_8bit_jpeg_baseline.dcm",
            "chest_12bit_jpegls.dcm",
        ],
        false,
    );
}

/// One file → PNG conversion per input of `names`, and with `reduce` also at a quarter
/// of each side (500 × 625), for consumers that resize anyway.
fn convert_group(c: &mut Criterion, group: &str, names: &[&str], reduce: bool) {
    let dir = bench_dir();
    let out = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group(group);
    g.sample_size(20);
    for &name in names {
        let input = dir.join(name);
        if !input.exists() {
            eprintln!(
                "{} missing: run scripts/reference/make_dicom_fixtures.sh bench",
                input.display()
            );
            return;
        }
        let png = out.path().join("out.png");
        g.bench_function(name, |b| {
            b.iter(|| convert_to_png(&input, &png, &ConvertOptions::default()).unwrap())
        });
        if reduce {
            let quarter = ConvertOptions {
                reduce: 2,
                ..ConvertOptions::default()
            };
            g.bench_function(format!("{name}/reduce_2"), |b| {
                b.iter(|| convert_to_png(&input, &png, &quarter).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, per_image, per_syntax, batch);
criterion_main!(benches);
