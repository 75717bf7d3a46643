//! Running the workspace's examples from integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>/examples/<name>`: `cargo test` builds the examples before running
/// tests; `cargo test --test <one>` alone does not (run `cargo build --examples` first).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        p.exists(),
        "{} not built: `cargo test` builds the examples, `cargo test --test <one>` alone \
         does not (run `cargo build --examples` first)",
        p.display()
    );
    p
}

/// Runs an example on the CPU.
fn output<S: AsRef<std::ffi::OsStr>>(
    name: &str,
    args: impl IntoIterator<Item = S>,
) -> std::process::Output {
    Command::new(example(name))
        .args(args)
        .env("CXR_DEVICE", "cpu")
        .output()
        .unwrap()
}

/// Runs an example on the CPU and returns its stdout and stderr; fails the test, with
/// that text, when it exits unsuccessfully.
pub fn run(name: &str, args: &[&str]) -> String {
    let out = output(name, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} {args:?} failed:\n{text}");
    text
}

/// Runs an example on the CPU that must fail and returns what it said on stderr; fails
/// the test, with that text, when it exits successfully.
pub fn fails<S: AsRef<std::ffi::OsStr>>(name: &str, args: impl IntoIterator<Item = S>) -> String {
    let out = output(name, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{name} succeeded:\n{err}");
    err
}

/// Trains a one-epoch tiny lung segmenter on 16 phantoms into `out` (seconds): what the
/// tests that need a segmenter run use.
pub fn tiny_segmenter(out: &Path) {
    run(
        "train_segmenter",
        &[
            "--synthetic",
            "16",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
}
