//! Build script: the commit the library was built from, as `CXR_GIT_COMMIT`, for
//! [`Environment`](src/environment.rs) (what a run records about the software that made
//! it). Read with `git rev-parse HEAD` when the sources are a git checkout; a build from
//! elsewhere may set `CXR_GIT_COMMIT` itself; otherwise none is recorded.
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=CXR_GIT_COMMIT");
    if let Ok(commit) = std::env::var("CXR_GIT_COMMIT") {
        println!("cargo:rustc-env=CXR_GIT_COMMIT={commit}");
        return;
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]) else {
        return;
    };
    println!("cargo:rustc-env=CXR_GIT_COMMIT={commit}");
    // Built again when HEAD moves: a new commit, a checkout, another branch. Not when
    // files change without a commit (the index changes on every `git status`).
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
    }
}
