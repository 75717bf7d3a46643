//! Scanning a full-size ChestX-ray8 layout: a synthetic 112,120-row
//! `Data_Entry_2017_v2020.csv` (30,805 patients, 53.8 % `No Finding`, 60 % PA) over
//! 112,120 empty image files spread across `images_001/images` … `images_012/images`,
//! written to a temporary folder at setup. Two cases: the table alone (no image folders:
//! every healthy row is a missing file) and the table with the files.

use std::io::Write;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use cxr_core::Source;
use cxr_source_chestxray8::Chestxray8Source;

const ROWS: usize = 112_120;
const PATIENTS: usize = 30_805;

fn image_name(i: usize) -> (String, usize) {
    let patient = i * PATIENTS / ROWS + 1;
    let first = (patient - 1) * ROWS / PATIENTS;
    let follow = i.saturating_sub(first);
    (format!("{patient:08}_{follow:03}.png"), follow)
}

fn write_table(root: &Path) {
    let f = std::fs::File::create(root.join("Data_Entry_2017_v2020.csv")).unwrap();
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]").unwrap();
    for i in 0..ROWS {
        let (name, follow) = image_name(i);
        let patient = i * PATIENTS / ROWS + 1;
        let finding = match i % 13 {
            0..=6 => "No Finding",
            7 => "Infiltration",
            8 => "Effusion|Atelectasis",
            9 => "Pneumonia",
            10 => "Nodule",
            11 => "Mass|Cardiomegaly",
            _ => "Pneumothorax",
        };
        let view = if i % 5 < 3 { "PA" } else { "AP" };
        let sex = if patient.is_multiple_of(2) { "M" } else { "F" };
        writeln!(
            w,
            "{name},{finding},{follow},{patient},{},{sex},{view},2500,2048,0.168,0.168",
            20 + patient % 60
        )
        .unwrap();
    }
}

fn write_images(root: &Path) {
    for part in 1..=12 {
        std::fs::create_dir_all(root.join(format!("images_{part:03}/images"))).unwrap();
    }
    for i in 0..ROWS {
        let part = i * 12 / ROWS + 1;
        let (name, _) = image_name(i);
        std::fs::File::create(root.join(format!("images_{part:03}/images/{name}"))).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let tables_only = tempfile::tempdir().unwrap();
    write_table(tables_only.path());
    let full = tempfile::tempdir().unwrap();
    write_table(full.path());
    write_images(full.path());

    let source = Chestxray8Source::default();
    let s = source.scan(full.path()).unwrap();
    assert_eq!(s.items(), ROWS);
    assert_eq!(s.records.len(), (0..ROWS).filter(|i| i % 13 <= 6).count());

    let mut g = c.benchmark_group("chestxray8_scan_112120_rows");
    g.sample_size(10);
    g.bench_function("table_only", |b| {
        b.iter(|| source.scan(tables_only.path()).unwrap().items())
    });
    g.bench_function("table_and_112120_files", |b| {
        b.iter(|| source.scan(full.path()).unwrap().items())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
