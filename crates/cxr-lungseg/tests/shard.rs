//! `segment_dir` run as shards over one output folder: four shards and a merge write
//! what one whole run writes, byte for byte; a shard killed half-way and started again
//! redoes only what it had not finished; parts of other settings are refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cxr_core::shard::{JOURNALS, Shard, merge_all};
use cxr_core::{ImageFiles, Label, SourceId};
use cxr_lungseg::qc::QcOptions;
use cxr_lungseg::{
    InMemory, SegTrainConfig, Segmenter, SegmenterConfig, segment_dir, segment_dir_shard,
};
use cxr_synth::{CaseSpec, SynthConfig, render};
use tch::Device;

fn segmenter(dir: &Path) -> Segmenter {
    let pairs = (0..8u64)
        .map(|i| {
            let p = render(
                &CaseSpec::single(i, Label::ALL[(i % 3) as usize], SourceId::Qmenta),
                &SynthConfig::with_size(64),
            );
            let labels = p.lungs().to_binary();
            (p.image, labels)
        })
        .collect();
    let cfg = SegTrainConfig {
        model: SegmenterConfig::tiny(64),
        epochs: 1,
        batch_size: 4,
        workers: 1,
        average_last: 0,
        ..Default::default()
    };
    cxr_lungseg::train(dir, Arc::new(InMemory(pairs)), &cfg, Device::Cpu, false).unwrap();
    Segmenter::load(dir, Device::Cpu).unwrap()
}

/// 13 phantoms in three folders, a stem shared by two files, and a broken file.
fn input(dir: &Path) -> PathBuf {
    let input = dir.join("input");
    for (i, rel) in [
        "a.png",
        "b.png",
        "c.jpg",
        "c.png",
        "p1/x.png",
        "p1/y.png",
        "p1/z.png",
        "p2/x.png",
        "p2/sub/q.png",
        "p2/sub/r.png",
        "p3.png",
        "p30/t.png",
        "p4/u.png",
    ]
    .iter()
    .enumerate()
    {
        let p = render(
            &CaseSpec::single(100 + i as u64, Label::ALL[i % 3], SourceId::CovidIdc),
            &SynthConfig::with_size(72),
        );
        let path = input.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        p.image.save(&path).unwrap();
    }
    std::fs::write(input.join("p1/broken.png"), b"not a png").unwrap();
    input
}

/// Every file under `dir` but the journals, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = cxr_core::walk::files(dir, None)
        .into_iter()
        .map(|p| p.unwrap())
        .filter(|p| !p.to_string_lossy().contains("shard-"))
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn four_shards_and_a_merge_equal_one_whole_run_and_a_killed_shard_resumes() {
    let d = tempfile::tempdir().unwrap();
    let seg = segmenter(&d.path().join("seg"));
    let input = input(d.path());
    let (post, qc) = (Default::default(), QcOptions::default());

    let whole = d.path().join("whole");
    let rows = segment_dir(&seg, &input, &whole, &post, &qc, Some(tinted), None).unwrap();
    assert_eq!(rows.len(), 14);

    // A shard of the input, PNG/JPEG, into `out`.
    let run = |out: &Path, qc: &QcOptions, shard: Shard| {
        segment_dir_shard(
            &seg,
            &input,
            &ImageFiles::RASTER,
            out,
            &post,
            qc,
            shard,
            Some(tinted),
            None,
        )
    };
    let sharded = d.path().join("sharded");
    let mut counted = 0;
    for i in 0..4 {
        let r = run(&sharded, &qc, Shard::new(i, 4).unwrap()).unwrap();
        assert_eq!((r.resumed, r.segmented), (0, r.rows.len()));
        counted += r.rows.len();
    }
    assert_eq!(counted, 14, "every image in exactly one shard");
    let m = merge_all(&sharded).unwrap();
    assert_eq!((m.len(), m[0].rows, m[0].shards), (1, 14, 4));
    // qc.csv, every mask and every overlay: the same bytes.
    assert_eq!(tree(&sharded), tree(&whole));

    // Files added to the input: every shard keeps what it had (resumed, nothing redone
    // or moved) and segments only new files.
    let before: Vec<usize> = (0..4)
        .map(|i| {
            let part = sharded.join(Shard::new(i, 4).unwrap().part_name("qc.csv"));
            std::fs::read_to_string(part).unwrap().lines().count() - 1
        })
        .collect();
    for (i, rel) in ["new/a.png", "new/b.png", "p1/w.png"].iter().enumerate() {
        let p = render(
            &CaseSpec::single(200 + i as u64, Label::Covid, SourceId::CovidIdc),
            &SynthConfig::with_size(72),
        );
        std::fs::create_dir_all(input.join(rel).parent().unwrap()).unwrap();
        p.image.save(input.join(rel)).unwrap();
    }
    let mut added = 0;
    for i in 0..4 {
        let r = run(&sharded, &qc, Shard::new(i, 4).unwrap()).unwrap();
        assert_eq!(r.resumed, before[i as usize], "shard {i}");
        added += r.segmented;
    }
    assert_eq!(added, 3);
    // A finished image whose mask is gone is redone, not skipped on the journal's word.
    let shard0 = Shard::new(0, 4).unwrap();
    let row = run(&sharded, &qc, shard0).unwrap();
    let ok = row.rows.iter().find(|r| r.status == "ok").unwrap().clone();
    std::fs::remove_file(sharded.join(&ok.mask)).unwrap();
    let redo = run(&sharded, &qc, shard0).unwrap();
    assert_eq!((redo.segmented, redo.rows), (1, row.rows));
    assert!(sharded.join(&ok.mask).exists());

    // A shard killed after its first image: its journal holds one entry and half a line,
    // its part of the table was never written.
    let killed = d.path().join("killed");
    let shard = Shard::new(1, 2).unwrap();
    let first = run(&killed, &qc, shard).unwrap();
    assert!(first.rows.len() >= 3, "{}", first.rows.len());
    let part = std::fs::read(&first.table).unwrap();
    let journal = killed.join(JOURNALS).join(shard.part_name("qc.jsonl"));
    let text = std::fs::read_to_string(&journal).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&journal, format!("{}\n{{\"key\":\"p1/", kept.join("\n"))).unwrap();
    std::fs::remove_file(&first.table).unwrap();
    let again = run(&killed, &qc, shard).unwrap();
    assert_eq!((again.resumed, again.segmented), (1, first.rows.len() - 1));
    assert_eq!(again.rows, first.rows);
    assert_eq!(std::fs::read(&again.table).unwrap(), part);
    // Started once more when finished: nothing is redone.
    let done = run(&killed, &qc, shard).unwrap();
    assert_eq!((done.resumed, done.segmented), (first.rows.len(), 0));

    // Other gate settings: the journal is refused, not mixed.
    let strict = QcOptions {
        min_fraction: 0.5,
        ..QcOptions::default()
    };
    let e = run(&killed, &strict, shard).unwrap_err();
    assert!(e.to_string().contains("other settings"), "{e}");
    // A whole run has no other shard to agree with: with other settings it starts over.
    let again = run(&whole, &strict, Shard::WHOLE).unwrap();
    // (17 images: three were added above.)
    assert_eq!((again.resumed, again.segmented), (0, 17));
    let same = run(&whole, &strict, Shard::WHOLE).unwrap();
    assert_eq!((same.resumed, same.segmented), (17, 0));
    // A merge with a shard missing names it.
    let e = merge_all(&killed).unwrap_err().to_string();
    assert!(e.contains("[0]") && e.contains("of 2"), "{e}");
}

/// An overlay drawer (the tools give `cxr-report`'s): lungs white, so that the parts'
/// overlays are compared too.
fn tinted(
    img: &cxr_core::GrayImage,
    right: &cxr_core::LungMask,
    left: &cxr_core::LungMask,
) -> image::RgbImage {
    image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let g = img.get_pixel(x, y).0[0];
        if right.contains(x, y) || left.contains(x, y) {
            image::Rgb([255, 255, 255])
        } else {
            image::Rgb([g, g, g])
        }
    })
}
