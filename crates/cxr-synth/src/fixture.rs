//! A folder for a phantom fixture that a test binary's tests share.
//!
//! Tests that train once and share the run keep it in a `static` (a `OnceLock`), and a
//! `static` is never dropped: a `tempfile::TempDir` held there is never removed, and
//! every test run used to leave its cohort and trained run behind in the system's
//! temporary folder. [`shared_dir`] gives such a fixture a folder of its own process
//! under a root the caller chooses (cargo's `CARGO_TARGET_TMPDIR` in integration tests,
//! so that `cargo clean` removes it too) and removes the folders earlier runs left there.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use std::{fs, io};

/// How old a left folder must be before it is removed where this platform cannot tell
/// whether the process that made it still runs.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Makes `root/NAME-PID`, empty, for this process, after removing the `root/NAME-*`
/// folders of processes that have ended (on Linux, read from `/proc`; elsewhere, those
/// older than a day).
///
/// ```
/// let root = tempfile::tempdir()?;
/// let dir = cxr_synth::fixture::shared_dir(root.path(), "train_infer")?;
/// assert!(dir.is_dir());
/// assert_eq!(
///     dir.file_name().unwrap().to_str().unwrap(),
///     format!("train_infer-{}", std::process::id())
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn shared_dir(root: &Path, name: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(root)?;
    let prefix = format!("{name}-");
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && has_ended(pid, &entry.path()) {
            // Another run of the same binary may be removing it at the same moment.
            match fs::remove_dir_all(entry.path()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    let dir = root.join(format!("{prefix}{}", std::process::id()));
    // A folder of an earlier process with this process's id.
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir(&dir)?;
    Ok(dir)
}

/// Whether the process that made `dir` has ended.
fn has_ended(pid: u32, dir: &Path) -> bool {
    if cfg!(target_os = "linux") {
        !Path::new("/proc").join(pid.to_string()).exists()
    } else {
        dir.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < SystemTime::now() - STALE_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_ended_runs_are_removed_and_others_kept() {
        let root = tempfile::tempdir().unwrap();
        // No process has this id (above Linux's largest, 2^22).
        let ended = root.path().join("fixture-4194305");
        fs::create_dir_all(ended.join("cohort")).unwrap();
        fs::write(ended.join("cohort/a.png"), b"x").unwrap();
        let other_binary = root.path().join("other-4194305");
        fs::create_dir(&other_binary).unwrap();
        let not_a_run = root.path().join("fixture-notes");
        fs::create_dir(&not_a_run).unwrap();

        let dir = shared_dir(root.path(), "fixture").unwrap();
        assert_eq!(
            dir,
            root.path().join(format!("fixture-{}", std::process::id()))
        );
        assert!(dir.is_dir());
        assert_eq!(ended.exists(), !cfg!(target_os = "linux"));
        assert!(other_binary.exists());
        assert!(not_a_run.exists());

        // Called again by the same process (a retried fixture): an empty folder again.
        fs::write(dir.join("half-written"), b"x").unwrap();
        let again = shared_dir(root.path(), "fixture").unwrap();
        assert_eq!(again, dir);
        assert_eq!(fs::read_dir(&again).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_running_process_keeps_its_folder() {
        let root = tempfile::tempdir().unwrap();
        // The parent of this test process (cargo or the shell) still runs.
        let parent = root
            .path()
            .join(format!("fixture-{}", std::os::unix::process::parent_id()));
        fs::create_dir(&parent).unwrap();
        shared_dir(root.path(), "fixture").unwrap();
        assert!(parent.exists());
    }
}
