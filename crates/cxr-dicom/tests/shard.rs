//! `convert_tree` run as shards over one output folder: four shards and a merge write
//! what one whole run writes, byte for byte; files added later move no output to
//! another shard; a shard killed by SIGKILL half-way (a process of its own, stopped on
//! an input that never finishes reading) and started again converts only what it had
//! not finished.

use std::path::{Path, PathBuf};

use cxr_core::shard::{JOURNALS, Shard, merge_all};
use cxr_dicom::{BatchOptions, Status, convert_tree, convert_tree_shard};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// 16 inputs in nested folders: several syntaxes, a file without an extension, a shared
/// stem (`a.dcm` and `a`), a file that is not DICOM and one without pixel data.
fn input(dir: &Path) -> PathBuf {
    let input = dir.join("input");
    for (rel, from) in [
        ("a.dcm", "mono2_12bit_window.dcm"),
        ("a", "rle_12bit_window.dcm"),
        ("b.dcm", "j2k_lossless_12bit.dcm"),
        ("p1/IM000001", "IM000001"),
        ("p1/c.dcm", "jpeg_baseline_8bit.dcm"),
        ("p1/d.dcm", "mono1_12bit_window.dcm"),
        ("p1/sub/e.dcm", "jpegls_lossless_12bit.dcm"),
        ("p1/sub/f.dcm", "htj2k_lossless_12bit.dcm"),
        ("p2/g.dcm", "modality_lut.dcm"),
        ("p2/h.dcm", "rle_8bit_nowindow.dcm"),
        ("p2/i.dcm", "jpeg_extended_12bit.dcm"),
        ("p3/j.dcm", "presentation_inverse.dcm"),
        ("p3/k.dcm", "mono2_8bit_window.dcm"),
        ("p30/l.dcm", "big_endian.dcm"),
    ] {
        let to = input.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), to).unwrap();
    }
    std::fs::write(input.join("p2/not_dicom.dcm"), b"plain text").unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad/empty.dcm"),
        input.join("p3/empty.dcm"),
    )
    .unwrap();
    input
}

/// Every file under `dir` but the journals and the shards' parts, with its bytes.
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

fn options() -> BatchOptions {
    BatchOptions {
        jobs: 2,
        ..Default::default()
    }
}

#[test]
fn four_shards_and_a_merge_equal_one_whole_run_and_added_files_move_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = input(d.path());
    let whole = d.path().join("whole");
    let report = convert_tree(&input, &whole, &options(), None).unwrap();
    assert_eq!((report.ok(), report.failed()), (14, 2));
    assert!(tree(&whole).iter().any(|(n, _)| n == "a.dcm.png"));

    let sharded = d.path().join("sharded");
    let mut sizes = Vec::new();
    for i in 0..4 {
        let r = convert_tree_shard(
            &input,
            &sharded,
            &options(),
            Shard::new(i, 4).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!((r.resumed, r.converted), (0, r.rows.len()));
        sizes.push(r.rows.len());
    }
    assert_eq!(sizes.iter().sum::<usize>(), 16, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n > 0), "{sizes:?}");
    let m = merge_all(&sharded).unwrap();
    assert_eq!((m.len(), m[0].rows, m[0].shards), (1, 16, 4));
    // conversion.csv and every PNG: the same bytes.
    assert_eq!(tree(&sharded), tree(&whole));

    // Files added: each shard resumes all it had and converts only new files.
    for rel in ["new/m.dcm", "p1/b2.dcm", "z.dcm"] {
        std::fs::create_dir_all(input.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(fixture("mono2_12bit_window.dcm"), input.join(rel)).unwrap();
    }
    let mut added = 0;
    for i in 0..4 {
        let r = convert_tree_shard(
            &input,
            &sharded,
            &options(),
            Shard::new(i, 4).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(r.resumed, sizes[i as usize], "shard {i}");
        added += r.converted;
    }
    assert_eq!(added, 3);
    // A finished file whose PNG is gone is converted again, not skipped on the
    // journal's word.
    let shard = Shard::new(0, 4).unwrap();
    let before = convert_tree_shard(&input, &sharded, &options(), shard, None).unwrap();
    let ok = before.rows.iter().find(|r| r.status == Status::Ok).unwrap();
    std::fs::remove_file(sharded.join(&ok.output)).unwrap();
    let again = convert_tree_shard(&input, &sharded, &options(), shard, None).unwrap();
    assert_eq!((again.converted, &again.rows), (1, &before.rows));
    assert!(sharded.join(&ok.output).exists());

    // Other options: a shard refuses its journal; the merge names a missing shard.
    let other = BatchOptions {
        convert: cxr_dicom::ConvertOptions {
            reduce: 1,
            ..Default::default()
        },
        ..options()
    };
    let e = convert_tree_shard(&input, &sharded, &other, shard, None).unwrap_err();
    assert!(e.to_string().contains("other settings"), "{e}");
    std::fs::remove_file(sharded.join(Shard::new(2, 4).unwrap().part_name("conversion.csv")))
        .unwrap();
    let e = merge_all(&sharded).unwrap_err().to_string();
    assert!(e.contains("[2]") && e.contains("of 4"), "{e}");
}

/// Where the child process of the kill test works (set by the parent).
const CHILD: &str = "CXR_SHARD_KILL_CHILD";

/// The shard the kill test kills.
fn killed() -> Shard {
    Shard::new(1, 2).unwrap()
}

/// The killed shard's own work, in the child process the kill test starts (this test
/// binary again, with [`CHILD`] set): one file at a time, so that it stops on the named
/// pipe with everything before it finished.
fn run_child(dir: &Path) {
    let one = BatchOptions {
        jobs: 1,
        ..Default::default()
    };
    convert_tree_shard(&dir.join("input"), &dir.join("out"), &one, killed(), None).unwrap();
}

#[test]
fn a_shard_killed_by_a_signal_resumes_without_redoing_or_missing_anything() {
    use std::os::unix::process::ExitStatusExt;
    if let Ok(dir) = std::env::var(CHILD) {
        run_child(Path::new(&dir));
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let input = input(d.path());
    // A named pipe that the shard owns, after some of its files in the walk: opening it
    // blocks until a writer comes, which none does.
    let pipe = (0..)
        .map(|n| format!("q/pipe{n}.dcm"))
        .find(|k| killed().owns(k))
        .unwrap();
    std::fs::create_dir_all(input.join("q")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(input.join(&pipe))
        .status()
        .unwrap();
    assert!(made.success());
    let owned_before: usize = cxr_core::walk::files(&input, None)
        .into_iter()
        .map(|p| Shard::key(p.unwrap().strip_prefix(&input).unwrap()))
        .filter(|k| killed().owns(k) && k.as_str() < "q/")
        .count();
    assert!(owned_before >= 3, "{owned_before}");

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_shard_killed_by_a_signal_resumes_without_redoing_or_missing_anything",
            "--nocapture",
        ])
        .env(CHILD, d.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = d
        .path()
        .join("out")
        .join(JOURNALS)
        .join(killed().part_name("conversion.jsonl"));
    // Wait (60 s at most) until every file before the pipe is journaled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
        if lines == owned_before + 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{lines} lines in the journal"
        );
        assert!(child.try_wait().unwrap().is_none(), "the child stopped");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let out = d.path().join("out");
    assert!(!out.join(killed().part_name("conversion.csv")).exists());

    // The pipe replaced by a file; the shard started again.
    std::fs::remove_file(input.join(&pipe)).unwrap();
    std::fs::copy(fixture("rle_12bit_window.dcm"), input.join(&pipe)).unwrap();
    let mtimes = |dir: &Path| -> Vec<(PathBuf, std::time::SystemTime)> {
        cxr_core::walk::files(dir, None)
            .into_iter()
            .map(|p| p.unwrap())
            .map(|p| {
                (
                    p.clone(),
                    std::fs::metadata(&p).unwrap().modified().unwrap(),
                )
            })
            .collect()
    };
    let written = mtimes(&out);
    let again = convert_tree_shard(&input, &out, &options(), killed(), None).unwrap();
    assert_eq!(again.resumed, owned_before);
    assert_eq!(again.converted, again.rows.len() - owned_before);
    // Nothing done twice: the PNGs of before the kill are untouched.
    for (p, t) in written {
        assert_eq!(
            std::fs::metadata(&p).unwrap().modified().unwrap(),
            t,
            "{p:?}"
        );
    }
    // Nothing missing: the part equals that of the shard run in one go.
    let fresh = d.path().join("fresh");
    let once = convert_tree_shard(&input, &fresh, &options(), killed(), None).unwrap();
    assert_eq!(again.rows, once.rows);
    assert_eq!(tree(&out), tree(&fresh));
    assert_eq!(
        std::fs::read(&again.manifest).unwrap(),
        std::fs::read(&once.manifest).unwrap()
    );
}
