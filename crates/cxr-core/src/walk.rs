//! Walking a folder tree for input files, as the batch tools do: paths in sorted order,
//! hidden names (a leading `.`) left out, linked folders followed, and each folder
//! visited once, so a link back to an ancestor neither loops nor lists files twice.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One entry of [`files`]: a file, or a folder that could not be read (and why).
pub type Walked = std::result::Result<PathBuf, (PathBuf, std::io::Error)>;

/// The files under `root` (walked depth first, each folder's entries in sorted order).
/// `skip` (an output folder inside the input, say) is left out with everything under
/// it. A folder that cannot be read is an `Err` entry and the walk goes on.
///
/// ```no_run
/// for entry in cxr_core::walk::files(std::path::Path::new("dicom"), None) {
///     match entry {
///         Ok(file) => println!("{}", file.display()),
///         Err((dir, e)) => eprintln!("{}: {e}", dir.display()),
///     }
/// }
/// ```
pub fn files(root: &Path, skip: Option<&Path>) -> Vec<Walked> {
    let skip = skip.and_then(|s| s.canonicalize().ok());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    visit(root, skip.as_deref(), &mut seen, &mut out);
    out
}

fn visit(dir: &Path, skip: Option<&Path>, seen: &mut HashSet<PathBuf>, out: &mut Vec<Walked>) {
    // A folder reached twice (through a link) is walked the first time only.
    if let Ok(real) = dir.canonicalize()
        && !seen.insert(real)
    {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(Err((dir.to_path_buf(), e)));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || (skip.is_some() && p.canonicalize().ok().as_deref() == skip) {
            continue;
        }
        if p.is_dir() {
            visit(&p, skip, seen, out);
        } else {
            out.push(Ok(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path, entries: &[Walked]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Ok(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Err((p, _)) => format!("ERR {}", p.strip_prefix(root).unwrap().display()),
            })
            .collect()
    }

    #[test]
    fn sorted_depth_first_without_hidden_names_or_the_skipped_folder() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "b/2.dcm",
            "b/1.dcm",
            "a.dcm",
            ".hidden/x.dcm",
            "b/.x.dcm",
            "out/o.png",
        ] {
            std::fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
            std::fs::write(r.join(f), b"").unwrap();
        }
        let all = files(r, Some(&r.join("out")));
        assert_eq!(names(r, &all), ["a.dcm", "b/1.dcm", "b/2.dcm"]);
        assert_eq!(files(r, None).len(), 4);
    }

    #[cfg(unix)]
    #[test]
    fn linked_folders_are_followed_once_and_a_loop_ends() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("root");
        std::fs::create_dir_all(r.join("a")).unwrap();
        std::fs::write(r.join("a/1.dcm"), b"").unwrap();
        let elsewhere = d.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("2.dcm"), b"").unwrap();
        std::os::unix::fs::symlink(&elsewhere, r.join("linked")).unwrap();
        // A link back to the root, and a second link to the same folder.
        std::os::unix::fs::symlink(&r, r.join("a/back")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, r.join("z_again")).unwrap();
        assert_eq!(names(&r, &files(&r, None)), ["a/1.dcm", "linked/2.dcm"]);
    }

    #[test]
    fn a_folder_that_cannot_be_read_is_an_entry() {
        let d = tempfile::tempdir().unwrap();
        let all = files(&d.path().join("missing"), None);
        assert_eq!(all.len(), 1);
        assert!(matches!(&all[0], Err((p, e)) if p.ends_with("missing")
            && e.kind() == std::io::ErrorKind::NotFound));
    }
}
