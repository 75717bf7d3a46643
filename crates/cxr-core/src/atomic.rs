//! Writing files so that a reader never sees half of one: write to a temporary file in
//! the destination's folder, flush it to disk, then rename it over the destination.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary name used while `path` is being written (same folder, hidden, unique
/// within the process).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// A file written under its temporary name (same folder), neither synced nor renamed
/// yet: [`Staged::commit`] puts it in place; dropping it uncommitted removes it. Lets a
/// batch write many files in parallel and leave the (serialising) disk flushes to one
/// thread, with the same guarantee as [`write_atomic`].
#[derive(Debug)]
#[must_use = "a staged file is removed when dropped without commit()"]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// A temporary name for `path` (parent folders created) that a writer of its own
    /// fills, e.g. a library that only writes to a path; then [`Staged::commit`]. If the
    /// guard is dropped uncommitted, whatever was written there is removed.
    pub fn for_path(path: &Path) -> Result<Staged> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        Ok(Staged {
            tmp: temp_path(path),
            path: path.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary file's path.
    pub fn temp(&self) -> &Path {
        &self.tmp
    }

    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the temporary file to disk, then renames it over the destination, so the
    /// destination holds either its old content or all of the new one, also after a
    /// crash. On error the temporary file is removed.
    pub fn commit(self) -> Result<()> {
        File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        self.rename_synced()
    }

    /// Renames the file into place without flushing it first: a reader never sees it
    /// half-written, but after a crash of the machine it may be empty or partial. Only
    /// for outputs that can be made again.
    pub fn commit_unsynced(self) -> Result<()> {
        self.rename_synced()
    }

    /// The rename of [`Staged::commit`], once the data is on disk.
    fn rename_synced(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

/// Commits staged files together, with the guarantee of [`Staged::commit`] for each:
/// on Linux one `syncfs` flushes the file system of the first file, then every file on
/// that file system is renamed into place. Files elsewhere, and all of them where
/// `syncfs` is not available or fails, are committed one by one. One result per file, in
/// order.
pub fn commit_all(files: Vec<Staged>) -> Vec<Result<()>> {
    #[cfg(target_os = "linux")]
    if let Some(first) = files.first() {
        use std::os::unix::fs::MetadataExt;
        let device = |s: &Staged| std::fs::metadata(&s.tmp).ok().map(|m| m.dev());
        let synced = File::open(&first.tmp)
            .ok()
            .filter(|f| rustix::fs::syncfs(f).is_ok())
            .and_then(|_| device(first));
        if let Some(dev) = synced {
            return files
                .into_iter()
                .map(|s| {
                    if device(&s) == Some(dev) {
                        s.rename_synced()
                    } else {
                        s.commit()
                    }
                })
                .collect();
        }
    }
    files.into_iter().map(Staged::commit).collect()
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes the temporary file of `path` (creating parent folders) with `write`, and
/// returns it staged for [`Staged::commit`]. On error nothing is left behind.
pub fn stage<F>(path: &Path, write: F) -> Result<Staged>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let staged = Staged {
        tmp: temp_path(path),
        path: path.to_path_buf(),
        committed: false,
    };
    let file = File::create(&staged.tmp).map_err(io)?;
    let mut w = BufWriter::new(file);
    write(&mut w)?;
    w.into_inner().map_err(|e| io(e.into_error()))?;
    Ok(staged)
}

/// Writes `path` atomically: `write` fills a buffered temporary file, which replaces
/// `path` only if `write` succeeded ([`stage`], then [`Staged::commit`]). Parent folders
/// are created. On any error the temporary file is removed and `path` is left as it was.
///
/// `write` returns this crate's error so callers can report encoder errors with context;
/// a plain I/O error inside it can be mapped with [`Error::Io`].
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    stage(path, write)?.commit()
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(bytes).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.txt");
        write_bytes_atomic(&target, b"first").unwrap();
        let err = write_atomic(&target, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::SizeMismatch {
                what: "test",
                got: (1, 1),
                expected: (2, 2),
            })
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
    }

    #[test]
    fn staged_files_appear_on_commit_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let write = |bytes: &'static [u8]| {
            move |w: &mut BufWriter<File>| {
                w.write_all(bytes).map_err(|source| Error::Io {
                    path: PathBuf::new(),
                    source,
                })
            }
        };
        let a = stage(&dir.path().join("a.txt"), write(b"A")).unwrap();
        let b = stage(&dir.path().join("b.txt"), write(b"B")).unwrap();
        assert_eq!(a.path(), dir.path().join("a.txt"));
        // Only temporary (hidden) names until committed.
        assert!(
            names()
                .iter()
                .all(|n| n.starts_with('.') && n.ends_with(".tmp"))
        );
        a.commit().unwrap();
        drop(b);
        assert_eq!(names(), vec!["a.txt".to_string()]);
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"A");

        // Together: every file lands, replacing an older one.
        let files: Vec<Staged> = ["a.txt", "c.txt", "sub/d.txt"]
            .iter()
            .map(|n| stage(&dir.path().join(n), write(b"new")).unwrap())
            .collect();
        assert!(commit_all(files).iter().all(Result::is_ok));
        assert_eq!(names(), vec!["a.txt", "c.txt", "sub"]);
        for n in ["a.txt", "c.txt", "sub/d.txt"] {
            assert_eq!(std::fs::read(dir.path().join(n)).unwrap(), b"new", "{n}");
        }
        assert!(commit_all(Vec::new()).is_empty());
    }
}
