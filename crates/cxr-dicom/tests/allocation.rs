//! No input makes the converter use memory without bound. Linux only: the peak resident
//! set (`VmHWM`) is reset before each file (`/proc/self/clear_refs` ← 5) and read after
//! the file is read and converted; the files are those of `tests/bad/` (broken and
//! fuzzer-found) and `tests/fixtures/`.
#![cfg(target_os = "linux")]

use std::path::Path;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[test]
fn no_file_makes_memory_balloon() {
    if !reset_peak() {
        eprintln!("cannot reset the peak RSS here; skipping");
        return;
    }
    let base = peak_rss_kib();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut report = Vec::new();
    // `CXR_DICOM_CHECK_DIR=corpus/convert` checks a fuzzing corpus as well.
    let mut dirs = vec![dir.join("bad"), dir.join("fixtures")];
    dirs.extend(std::env::var_os("CXR_DICOM_CHECK_DIR").map(Into::into));
    for sub in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            reset_peak();
            let before = peak_rss_kib();
            let _ = cxr_dicom::header_from_bytes(&bytes, &f);
            for reduce in [0, 2] {
                let options = cxr_dicom::ConvertOptions {
                    reduce,
                    ..Default::default()
                };
                let _ = cxr_dicom::convert_bytes(&bytes, &f, &options);
            }
            let grew = peak_rss_kib().saturating_sub(before);
            // The fixtures hold at most a few MB of pixels: 128 MiB is far above any honest
            // need and far below what a lying length field asks for.
            if grew > 128 * 1024 {
                report.push(format!("{}: +{} MiB", f.display(), grew / 1024));
            }
        }
    }
    assert!(
        report.is_empty(),
        "peak RSS grew by more than 128 MiB (baseline {} MiB):\n{}",
        base / 1024,
        report.join("\n")
    );
}
