//! The classifier's examples on a tiny synthetic cohort, chained as a user would:
//! synth_cohort → train_segmenter → train_classifier (masks from the segmenter, cached,
//! gate rejects listed) → predict (manifest and folder) → evaluate → saliency.

use std::path::{Path, PathBuf};

mod common;
use common::{fails, run};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An image of `folder` that decodes.
fn img_of(folder: &Path) -> std::path::PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "png") && !p.ends_with("broken.png"))
        .unwrap()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn train_predict_evaluate_and_explain_on_a_tiny_cohort() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cohort = d.join("cohort");
    run(
        "synth_cohort",
        &["--preset", "tiny", "--size", "96", "--out", s(&cohort)],
    );
    let seg = d.join("seg");
    common::tiny_segmenter(&seg);
    let clf = d.join("clf");
    let manifest = cohort.join("records.csv");
    // A lenient gate, so that the barely trained segmenter's masks are all used.
    let gate = ["--min-lungs", "0", "--min-fraction", "0"];
    let said = run(
        "train_classifier",
        &[
            &[
                "--manifest",
                s(&manifest),
                "--segmenter",
                s(&seg),
                "--out",
                s(&clf),
            ][..],
            &["--preset", "tiny", "--epochs", "1"],
            &gate,
        ]
        .concat(),
    );
    assert!(said.contains("epochs run"), "{said}");
    let n_records = lines(&manifest).len() - 1;
    // Every record was segmented once and cached.
    let cached = std::fs::read_dir(clf.join("masks"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(cached, n_records);
    assert_eq!(lines(&clf.join("qc_rejected.csv")).len(), 1, "header only");
    let config = std::fs::read_to_string(clf.join("config.json")).unwrap();
    assert!(
        config.contains("\"segmenter\""),
        "the run records its segmenter"
    );

    // Predict a manifest: the evaluate format, one row per image, with labels.
    let pred = d.join("pred.csv");
    run(
        "predict",
        &[
            &["--run", s(&clf), "--input", s(&manifest), "--out", s(&pred)][..],
            &gate,
        ]
        .concat(),
    );
    let rows = lines(&pred);
    assert_eq!(
        rows[0],
        "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source,path,cautions"
    );
    assert_eq!(rows.len() - 1, n_records);
    run(
        "evaluate",
        &["--predictions", s(&pred), "--out", s(&d.join("eval"))],
    );
    assert!(d.join("eval/metrics.json").exists());

    // Predict a folder (the run's recorded segmenter), one broken file among them.
    let folder = cohort.join("images/qmenta");
    std::fs::write(folder.join("broken.png"), b"not a png").unwrap();
    let pred2 = d.join("folder.csv");
    run(
        "predict",
        &[
            &["--run", s(&clf), "--input", s(&folder), "--out", s(&pred2)][..],
            &gate,
        ]
        .concat(),
    );
    let images = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(lines(&pred2).len() - 1, images - 1);
    let rejected = lines(&d.join("folder_rejected.csv"));
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[1].contains("broken.png") && rejected[1].contains("error"));

    // DICOM inputs: raw detector data with text burned in is predicted, and its row and
    // the closing note say so; an ordinary DICOM's row has no caution.
    let dicoms = d.join("dicoms");
    std::fs::create_dir_all(&dicoms).unwrap();
    let dicom_fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/cxr-dicom/tests/fixtures");
    for name in ["dx_for_processing.dcm", "big_endian.dcm"] {
        std::fs::copy(dicom_fixtures.join(name), dicoms.join(name)).unwrap();
    }
    // And what a disc holds beside its images: left out as not_an_image, not failed.
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/cxr-dicom/tests/media");
    std::fs::copy(media.join("DICOMDIR"), dicoms.join("DICOMDIR")).unwrap();
    std::fs::copy(media.join("DICOM/IM000002"), dicoms.join("IM000002")).unwrap();
    // A DICOM file named by its UID, as archives name them (its last part is no
    // extension: the whole name is its id), and a note that is no image at all.
    let uid = "1.2.826.0.1.3680043.10.1234.77";
    std::fs::copy(dicom_fixtures.join("big_endian.dcm"), dicoms.join(uid)).unwrap();
    std::fs::write(dicoms.join("notes.txt"), "exported 2020-04-15").unwrap();
    let pred3 = d.join("dicoms.csv");
    let said = run(
        "predict",
        &[
            &["--run", s(&clf), "--input", s(&dicoms), "--out", s(&pred3)][..],
            &gate,
        ]
        .concat(),
    );
    assert!(
        said.contains("note: 1 predicted image(s) call for caution"),
        "{said}"
    );
    assert!(said.contains("\nleft out: 2 not_an_image\n"), "{said}");
    let cautions: Vec<(String, String)> = lines(&pred3)[1..]
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            (cells[2].to_owned(), cells[9].to_owned())
        })
        .collect();
    assert_eq!(
        cautions,
        [
            (uid.into(), String::new()),
            ("big_endian".into(), String::new()),
            (
                "dx_for_processing".into(),
                "for_processing;burned_in_annotation".into()
            ),
        ]
    );
    let left_out = lines(&d.join("dicoms_rejected.csv"));
    assert_eq!(left_out.len(), 3, "{left_out:?}");
    assert!(left_out[1].starts_with(",,DICOMDIR,") && left_out[1].contains(",not_an_image,"));
    assert!(left_out[2].contains(",not_an_image,") && left_out[2].contains("structured report"));

    // The same folder segmented, by either library: segment reads what predict reads
    // (DICOM by any name), masks named by the whole UID, the disc's index and report
    // skipped saying what they are (not failed), the note left alone; the two backends
    // agree.
    let mut tables = Vec::new();
    for backend in ["torch", "pure"] {
        let out = d.join(format!("segmented-{backend}"));
        let said = run(
            "segment",
            &[
                &["--weights", s(&seg), "--input", s(&dicoms)][..],
                &["--out", s(&out), "--backend", backend],
                &gate,
            ]
            .concat(),
        );
        assert!(
            said.starts_with("5 images (5 segmented now, 0 finished before)"),
            "{said}"
        );
        assert!(
            said.contains(", 0 errors, 2 skipped (DICOM objects"),
            "{said}"
        );
        let rows = lines(&out.join("qc.csv"));
        let cells: Vec<Vec<String>> = rows[1..]
            .iter()
            .map(|r| r.split(',').map(str::to_owned).collect())
            .collect();
        let names: Vec<(&str, &str, &str)> = cells
            .iter()
            .map(|c| (c[0].as_str(), c[1].as_str(), c[2].as_str()))
            .collect();
        let uid_mask = format!("masks/{uid}.png");
        assert_eq!(
            names,
            [
                (uid, uid_mask.as_str(), "ok"),
                ("DICOMDIR", "", "skipped"),
                ("IM000002", "", "skipped"),
                ("big_endian.dcm", "masks/big_endian.png", "ok"),
                ("dx_for_processing.dcm", "masks/dx_for_processing.png", "ok"),
            ]
        );
        assert!(rows[2].contains("DICOMDIR"), "{}", rows[2]);
        assert!(rows[3].contains("structured report"), "{}", rows[3]);
        let dicom = cxr::dicom::load_image(&dicoms.join("big_endian.dcm")).unwrap();
        let mask = image::open(out.join("masks/big_endian.png")).unwrap();
        assert_eq!(
            (mask.width(), mask.height()),
            dicom.dimensions(),
            "a mask at the input's own size"
        );
        assert!(out.join(format!("overlays/{uid}.png")).exists());
        tables.push(cells);
    }
    for (t, p) in tables[0].iter().zip(&tables[1]) {
        // image, mask, status, lungs_found and verdict the same; the lung fraction within
        // a few border pixels of the masks.
        assert_eq!((&t[..4], &t[5]), (&p[..4], &p[5]), "{t:?} vs {p:?}");
        if let (Ok(a), Ok(b)) = (t[4].parse::<f64>(), p[4].parse::<f64>()) {
            assert!((a - b).abs() < 5e-3, "{t:?} vs {p:?}");
        }
    }

    // One image file, as a person with one radiograph would give it.
    let one_seg = d.join("segmented-one");
    let said = run(
        "segment",
        &[
            &["--weights", s(&seg), "--input", s(&dicoms.join(uid))][..],
            &["--out", s(&one_seg), "--backend", "pure"],
            &gate,
        ]
        .concat(),
    );
    assert!(said.starts_with("1 images (1 segmented now"), "{said}");
    assert_eq!(
        lines(&one_seg.join("qc.csv"))[1]
            .split(',')
            .take(3)
            .collect::<Vec<_>>(),
        [uid, &format!("masks/{uid}.png"), "ok"]
    );
    assert!(one_seg.join(format!("masks/{uid}.png")).exists());

    // The segmenter scored against the phantoms' true masks, by either library: one row
    // per image, the same Dice, and a sheet of the three worst (3 tiles of 220 px and
    // their gaps: 700 px wide).
    let (qmenta_images, qmenta_masks) = (cohort.join("images/qmenta"), cohort.join("masks/qmenta"));
    // score_segmenter on the qmenta folder pair and `more` sources, into `out`.
    let score = |more: &[&str], out: &Path, backend: &str| {
        let pair = ["--images", s(&qmenta_images), "--masks", s(&qmenta_masks)];
        let rest = ["--out", s(out), "--backend", backend];
        run(
            "score_segmenter",
            &[&["--weights", s(&seg)][..], &pair, more, &rest].concat(),
        )
    };
    let mut dice = Vec::new();
    for backend in ["torch", "pure"] {
        let scores = d.join(format!("scores-{backend}.csv"));
        let said = score(&["--worst", "3"], &scores, backend);
        assert!(said.contains("the 3 worst: "), "{said}");
        let rows = lines(&scores);
        let images = std::fs::read_dir(cohort.join("masks/qmenta"))
            .unwrap()
            .count();
        assert_eq!(rows.len() - 1, images, "{said}");
        dice.push(
            rows[1..]
                .iter()
                .map(|r| r.split(',').nth(2).unwrap().parse::<f64>().unwrap())
                .collect::<Vec<_>>(),
        );
        let sheet = image::open(scores.with_extension("worst.png")).unwrap();
        assert_eq!(sheet.width(), 700);
    }
    for (t, p) in dice[0].iter().zip(&dice[1]) {
        assert!((t - p).abs() < 1e-4, "Dice {t} (libtorch) vs {p} (pure)");
    }

    // A segmenter whose record says it was trained on two of these images (the very
    // file, and a half-size JPEG copy of another): they are marked in `trained_on` and
    // the summary of the others is given, since its Dice on them flatters it.
    let marked = d.join("seg-marked");
    copy_dir(&seg, &marked);
    let images: Vec<std::path::PathBuf> = lines(&d.join("scores-pure.csv"))[1..]
        .iter()
        .filter(|r| r.split(',').nth(1) == Some("ok"))
        .map(|r| r.split(',').next().unwrap().into())
        .collect();
    let copy = d.join("copy-of-second.jpg");
    let second = cxr::core::load_gray(&images[1]).unwrap();
    let (w, h) = second.dimensions();
    image::imageops::resize(&second, w / 2, h / 2, image::imageops::FilterType::Lanczos3)
        .save(&copy)
        .unwrap();
    let record = |p: &Path| {
        use cxr::lungseg::training_images::{SegPart, TrainingImage};
        let img = cxr::core::load_gray(p).unwrap();
        TrainingImage {
            image: p.to_path_buf(),
            patient: None,
            part: SegPart::Train,
            fingerprint: cxr::core::fingerprint::Fingerprint::of(&std::fs::read(p).unwrap(), &img),
        }
    };
    cxr::lungseg::training_images::write(
        &marked.join(cxr::lungseg::training_images::TRAINING_IMAGES),
        &[record(&images[0]), record(&copy)],
    )
    .unwrap();
    let scores = d.join("scores-marked.csv");
    let said = run(
        "score_segmenter",
        &[
            "--weights",
            s(&marked),
            "--images",
            s(&qmenta_images),
            "--masks",
            s(&qmenta_masks),
            "--out",
            s(&scores),
            "--worst",
            "0",
            "--backend",
            "pure",
        ],
    );
    let rows = lines(&scores);
    assert!(rows[0].ends_with(",error,trained_on"), "{}", rows[0]);
    for r in &rows[1..] {
        let image = r.split(',').next().unwrap();
        let trained = image == s(&images[0]) || image == s(&images[1]);
        assert!(r.ends_with(if trained { ",true" } else { ",false" }), "{r}");
    }
    assert!(
        said.contains(&format!(
            "warning: 2 of these images are ones the segmenter was trained on (column \
             trained_on): their Dice flatters it. The others: {} images: Dice mean",
            rows.len() - 3
        )),
        "{said}"
    );

    // The same masks as a CheXmask table (each lung its own run-length encoding, 1-based
    // starts over the row-major pixels) and the images as DICOM would be found: scored
    // through `--chexmask`, every image gets the Dice it got from the folder pair.
    let table = d.join("ChestX-Ray8.csv");
    let mut csv = String::from(
        "Image Index,Dice RCA (Mean),Dice RCA (Max),Landmarks,Left Lung,Right Lung,Heart,Height,Width\n",
    );
    let mut names: Vec<String> = std::fs::read_dir(cohort.join("masks/qmenta"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let mask = cxr::core::load_gray(&cohort.join("masks/qmenta").join(name)).unwrap();
        let (w, h) = mask.dimensions();
        let rle = |keep: &dyn Fn(u32) -> bool| {
            let mut runs = Vec::new();
            let mut start = None;
            for (i, p) in mask.pixels().enumerate() {
                let lung = p.0[0] >= 128 && keep(i as u32 % w);
                match (lung, start) {
                    (true, None) => start = Some(i),
                    (false, Some(s0)) => {
                        runs.push(format!("{} {}", s0 + 1, i - s0));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s0) = start {
                runs.push(format!("{} {}", s0 + 1, (w * h) as usize - s0));
            }
            runs.join(" ")
        };
        let (left, right) = (rle(&|x| x >= w / 2), rle(&|x| x < w / 2));
        csv.push_str(&format!("{name},0.9,0.95,\"[]\",{left},{right},,{h},{w}\n"));
    }
    std::fs::write(&table, csv).unwrap();
    // Scored together with the folder pair: one summary line per source, the same.
    let scores = d.join("scores-chexmask.csv");
    let chexmask = [
        "--chexmask",
        s(&table),
        "--chexmask-images",
        s(&qmenta_images),
    ];
    let said = score(&chexmask, &scores, "pure");
    let n = names.len();
    assert!(
        said.contains(&format!("{n} rows read, 0 below Dice RCA 0.7, 0 unusable")),
        "{said}"
    );
    let scored: Vec<f64> = lines(&scores)[1..]
        .iter()
        .map(|r| r.split(',').nth(2).unwrap().parse::<f64>().unwrap())
        .collect();
    assert_eq!(scored.len(), 2 * n);
    assert_eq!(
        scored[n..],
        dice[1][..],
        "the table's masks are the folder's"
    );
    assert_eq!(scored[..n], dice[1][..]);
    let per_source: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(" images: Dice mean "))
        .collect();
    assert_eq!(per_source.len(), 2, "{said}");
    assert!(
        per_source[0].starts_with(&format!("  {}: {n} images", folder.display())),
        "{said}"
    );
    assert!(
        per_source[1].starts_with(&format!("  {}: {n} images", table.display())),
        "{said}"
    );
    let summary = |l: &str| l.split_once(": ").unwrap().1.to_owned();
    assert_eq!(summary(per_source[0]), summary(per_source[1]));

    // One image file, as a person with one radiograph would give it.
    let one = d.join("one.csv");
    let said = run(
        "predict",
        &[
            &[
                "--run",
                s(&clf),
                "--input",
                s(&dicoms.join("dx_for_processing.dcm")),
            ][..],
            &["--out", s(&one)],
            &gate,
        ]
        .concat(),
    );
    assert!(said.starts_with("1 predicted"), "{said}");
    let rows = lines(&one);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[1].starts_with("dx_for_processing,,dx_for_processing,,")
            && rows[1].ends_with(",for_processing;burned_in_annotation"),
        "{rows:?}"
    );

    // One radiograph as PNG, TIFF (8 and 16 bits), BMP and WebP, as archives and tools
    // export it: each is predicted, with the PNG's numbers.
    let formats = d.join("formats");
    std::fs::create_dir_all(&formats).unwrap();
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png") && !p.ends_with("broken.png"))
        .collect();
    pngs.sort();
    let mut picture = image::open(&pngs[0]).unwrap().to_luma8();
    // A corner pixel black and its neighbour white: the picture spans 0..=255, so a
    // 16-bit copy (v * 257) comes back through the min-max mapping as it was.
    picture.put_pixel(0, 0, image::Luma([0]));
    picture.put_pixel(1, 0, image::Luma([255]));
    picture.save(formats.join("png_copy.png")).unwrap();
    picture.save(formats.join("tiff_copy.tif")).unwrap();
    picture.save(formats.join("bmp_copy.bmp")).unwrap();
    picture.save(formats.join("webp_copy.webp")).unwrap();
    // 16 bits, as a detector's export.
    let wide = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(
        picture.width(),
        picture.height(),
        |x, y| image::Luma([u16::from(picture.get_pixel(x, y).0[0]) * 257]),
    );
    wide.save(formats.join("tiff16_copy.tiff")).unwrap();
    let said = run(
        "predict",
        &[
            &["--run", s(&clf), "--input", s(&formats)][..],
            &["--out", s(&d.join("formats.csv"))],
            &gate,
        ]
        .concat(),
    );
    assert!(said.starts_with("5 predicted"), "{said}");
    let rows = lines(&d.join("formats.csv"));
    assert_eq!(rows.len(), 6, "{rows:?}");
    let values = |row: &str| -> Vec<String> {
        row.split(',')
            .filter(|f| !f.contains("_copy"))
            .map(str::to_owned)
            .collect()
    };
    let png_row = rows.iter().find(|r| r.contains("png_copy.png")).unwrap();
    for row in &rows[1..] {
        assert_eq!(values(row), values(png_row), "{row}");
    }

    // A JPEG 2000 file is no table: refused by name, not parsed as CSV. A folder of them
    // holds no image predict reads, and the run says so.
    let jp2s = d.join("jp2s");
    std::fs::create_dir_all(&jp2s).unwrap();
    let jp2 = jp2s.join("scan.jp2");
    // A JP2 file's signature box: what starts such an export.
    std::fs::write(&jp2, b"\0\0\0\x0cjP  \r\n\x87\n").unwrap();
    let said = fails(
        "predict",
        [
            "--run",
            s(&clf),
            "--input",
            s(&jp2),
            "--out",
            s(&d.join("jp2.csv")),
        ],
    );
    assert!(
        said.contains(&format!(
            "{}: predict reads a folder, a records table (`.csv`) or one PNG, JPEG, TIFF, BMP, \
             WebP or DICOM image; this file is none of these",
            jp2.display()
        )),
        "{said}"
    );
    let said = run(
        "predict",
        &[
            &["--run", s(&clf), "--input", s(&jp2s)][..],
            &["--out", s(&d.join("jp2s.csv")), "--backend", "pure"],
        ]
        .concat(),
    );
    assert!(
        said.contains(&format!(
            "note: no PNG, JPEG, TIFF, BMP, WebP or DICOM image under {} (other files are \
             left alone)",
            jp2s.display()
        )),
        "{said}"
    );

    // The same two runs as 4 shards into one shared folder, merged: the same bytes.
    let shared = d.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    for i in 0..4 {
        let shard = format!("{i}/4");
        for (input, out) in [(&manifest, "pred.csv"), (&folder, "folder.csv")] {
            run(
                "predict",
                &[
                    &["--run", s(&clf), "--input", s(input)][..],
                    &["--out", s(&shared.join(out)), "--shard", &shard],
                    &gate,
                ]
                .concat(),
            );
        }
    }
    let said = run("merge_shards", &[s(&shared)]);
    assert_eq!(said.matches("from 4 shards").count(), 4, "{said}");
    for table in [
        "pred.csv",
        "pred_rejected.csv",
        "folder.csv",
        "folder_rejected.csv",
    ] {
        assert_eq!(lines(&shared.join(table)), lines(&d.join(table)), "{table}");
    }

    // A folder shard killed (SIGKILL) while it waits on an image that never arrives (a
    // named pipe), started again: it predicts only what it had not finished.
    let killed = d.join("killed");
    std::fs::create_dir_all(&killed).unwrap();
    let shard = cxr::core::shard::Shard::new(1, 2).unwrap();
    let pipe = (0..)
        .map(|n| format!("zz_pipe{n}.png"))
        .find(|k| shard.owns(k))
        .unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(folder.join(&pipe))
            .status()
            .unwrap()
            .success()
    );
    let before = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| shard.owns(n) && *n < pipe)
        .count();
    assert!(before >= 2, "{before}");
    let args = |out: &Path| -> Vec<String> {
        [
            &["--run", s(&clf), "--input", s(&folder), "--out", s(out)][..],
            &["--shard", "1/2"],
            &gate,
        ]
        .concat()
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let mut child = std::process::Command::new(common::example("predict"))
        .args(args(&killed.join("p.csv")))
        .env("CXR_DEVICE", "cpu")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = killed.join(".journal").join(shard.part_name("p.jsonl"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < before + 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the shard did not start"
        );
        assert!(child.try_wait().unwrap().is_none(), "the shard stopped");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    assert!(!killed.join(shard.part_name("p.csv")).exists());
    std::fs::remove_file(folder.join(&pipe)).unwrap();
    std::fs::copy(img_of(&folder), folder.join(&pipe)).unwrap();
    let again = run(
        "predict",
        &args(&killed.join("p.csv"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let owned = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| shard.owns(n))
        .count();
    assert!(
        again.contains(&format!(
            "({} done now, {before} finished before)",
            owned - before
        )),
        "{again}"
    );
    let fresh = d.join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    run(
        "predict",
        &args(&fresh.join("p.csv"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    for t in ["p.csv", "p_rejected.csv"] {
        let part = shard.part_name(t);
        assert_eq!(
            lines(&killed.join(&part)),
            lines(&fresh.join(&part)),
            "{part}"
        );
    }
    std::fs::remove_file(folder.join(&pipe)).unwrap();

    // Saliency for one image, masks from the run's segmenter.
    let img = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.ends_with("broken.png"))
        .unwrap();
    let sal = d.join("sal");
    run(
        "saliency",
        &[
            "--run",
            s(&clf),
            "--input",
            s(&img),
            "--out",
            s(&sal),
            "--samples",
            "2",
        ],
    );
    let stem = img.file_stem().unwrap().to_str().unwrap();
    for m in ["vanilla", "smoothgrad", "gradcam"] {
        assert!(sal.join(format!("{stem}_{m}.png")).exists(), "{m}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sal.join(format!("{stem}_saliency.json"))).unwrap(),
    )
    .unwrap();
    let share = json["share_inside_lungs"]["gradcam"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));

    // The two runs copied to another machine, side by side: the classifier recorded the
    // segmenter's absolute path here, which is gone there; both libraries find the
    // segmenter beside the classifier and give the same answer as before.
    let moved = d.join("elsewhere");
    copy_dir(&clf, &moved.join("clf"));
    copy_dir(&seg, &moved.join("seg"));
    std::fs::rename(&seg, d.join("seg-gone")).unwrap();
    let mut answers = Vec::new();
    for backend in ["torch", "pure"] {
        let out = d.join(format!("moved-{backend}.csv"));
        let said = run(
            "predict",
            &[
                &["--run", s(&moved.join("clf")), "--input", s(&img)][..],
                &["--out", s(&out), "--backend", backend],
                &gate,
            ]
            .concat(),
        );
        assert!(said.starts_with("1 predicted"), "{said}");
        answers.push(lines(&out)[1].clone());
    }
    let probabilities = |row: &str| -> Vec<f64> {
        row.split(',')
            .skip(4)
            .take(3)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    for (a, b) in probabilities(&answers[0])
        .iter()
        .zip(probabilities(&answers[1]))
    {
        assert!((a - b).abs() < 1e-4, "{answers:?}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            copy_dir(&p, &to.join(p.file_name().unwrap()));
        } else {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// A settings file that changes only the schedule keeps the network this device gets
/// without a file (the CPU preset), instead of switching to `SegTrainConfig::default`'s
/// full-width ResNet-18; a `[model]` table in the file is taken as written.
#[test]
fn a_partial_segmenter_settings_file_keeps_the_devices_network() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model_of = |toml_text: &str, name: &str| {
        let cfg = d.join(format!("{name}.toml"));
        std::fs::write(&cfg, toml_text).unwrap();
        let out = d.join(name);
        run(
            "train_segmenter",
            &[
                "--synthetic",
                "8",
                "--size",
                "64",
                "--config",
                s(&cfg),
                "--out",
                s(&out),
            ],
        );
        let c: cxr::lungseg::SegTrainConfig =
            serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
        assert_eq!(c.epochs, 1);
        c.model
    };
    let cpu = cxr::lungseg::SegmenterConfig::for_device(tch::Device::Cpu);
    assert_eq!(cpu, cxr::lungseg::SegmenterConfig::cpu_320());
    let m = model_of("epochs = 1\n", "partial");
    assert_eq!(
        (m.width, m.depth, m.aspp_channels),
        (cpu.width, 18, cpu.aspp_channels)
    );
    assert_eq!(m.input_size, 64, "--size applies on top of the file");
    let m = model_of(
        "epochs = 1\n[model]\ninput_size = 64\ndepth = 18\nwidth = 8\naspp_channels = 16\n\
         low_level_channels = 8\ndecoder_channels = 16\n",
        "named",
    );
    assert_eq!((m.width, m.aspp_channels), (8, 16));
}
