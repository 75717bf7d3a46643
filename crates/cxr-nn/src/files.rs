//! A training run's files that inference reads without libtorch: where its weights are,
//! what identifies them, and its JSON files. `checkpoint` (under the `torch` feature)
//! writes them; `cxr-infer` reads them too.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

use crate::{Error, Result};

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Paths of a named checkpoint in `dir`: (`<name>.safetensors`, `<name>.json`).
pub fn checkpoint_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.safetensors")),
        dir.join(format!("{name}.json")),
    )
}

/// Name of the averaged weights in a run folder ([`average_weights`](crate::checkpoint::average_weights)).
pub const AVERAGED: &str = "averaged.safetensors";

/// The weights file [`load_for_inference`](crate::checkpoint::load_for_inference) uses in `dir`: [`AVERAGED`] when present,
/// else `best`'s, else `last`'s (whether or not it exists). What a served model is
/// identified by, with its configuration.
pub fn inference_weights(dir: &Path) -> PathBuf {
    let averaged = dir.join(AVERAGED);
    if averaged.exists() {
        return averaged;
    }
    let best = checkpoint_paths(dir, "best").0;
    if best.exists() {
        best
    } else {
        checkpoint_paths(dir, "last").0
    }
}

/// What identifies the weights a run is used with: the size and 64-bit FNV-1a hash of
/// the file [`inference_weights`] picks (`"<bytes>:<16 hex>"`). Batch tools record it
/// in their journals, so that results of another training are never mixed in.
///
/// # Errors
///
/// The file cannot be read.
pub fn weights_id(dir: &Path) -> Result<String> {
    let weights = inference_weights(dir);
    let bytes = std::fs::read(&weights).map_err(io(&weights))?;
    let fnv = cxr_core::names::fnv1a64(&bytes);
    Ok(format!("{}:{fnv:016x}", bytes.len()))
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<S: Serialize>(path: &Path, value: &S) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    cxr_core::write_bytes_atomic(path, &text)?;
    Ok(())
}

/// Reads a JSON value.
pub fn read_json<S: DeserializeOwned>(path: &Path) -> Result<S> {
    let text = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends one JSON object per line to `path` (`metrics.jsonl`), flushed to disk.
///
/// A line is complete only with its `\n`. If the file ends without one (a process
/// stopped in the middle of an append), that torn tail is cut off first, so the log
/// stays one whole object per line when a stopped run resumes.
pub fn append_jsonl<S: Serialize>(path: &Path, value: &S) -> Result<()> {
    let mut line = serde_json::to_vec(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let whole = whole_lines_len(&mut f).map_err(io(path))?;
    if whole < f.metadata().map_err(io(path))?.len() {
        tracing::warn!(path = %path.display(), "cutting a torn last line");
        f.set_len(whole).map_err(io(path))?;
    }
    f.write_all(&line).map_err(io(path))?;
    f.sync_data().map_err(io(path))
}

/// Length of the file up to and including its last `\n` (0 when it has none).
fn whole_lines_len(f: &mut std::fs::File) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata()?.len();
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Reads every line of a `metrics.jsonl`.
///
/// A last line without its `\n` that does not parse is a torn append (see
/// [`append_jsonl`]) and is left out; any other line that does not parse is an error.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Json`] for a bad line.
pub fn read_jsonl<S: DeserializeOwned>(path: &Path) -> Result<Vec<S>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let (whole, torn) = match text.rfind('\n') {
        Some(i) => text.split_at(i + 1),
        None => ("", text.as_str()),
    };
    let parse = |l: &str| {
        serde_json::from_str(l).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut out = whole
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse)
        .collect::<Result<Vec<S>>>()?;
    if !torn.trim().is_empty() {
        match parse(torn) {
            Ok(v) => out.push(v),
            Err(_) => tracing::warn!(path = %path.display(), "ignoring a torn last line"),
        }
    }
    Ok(out)
}

/// The file of a run folder that says where it was trained: one
/// [`Session`](cxr_core::Session) per start or resume of training, written by
/// [`fit`](crate::fit::fit).
pub const SESSIONS: &str = "environment.jsonl";

/// Where a run was trained, oldest session first ([`SESSIONS`]); empty for a run trained
/// before runs recorded it.
///
/// # Errors
/// As [`read_jsonl`], for a file that is there.
pub fn read_sessions(run_dir: &Path) -> Result<Vec<cxr_core::Session>> {
    let path = run_dir.join(SESSIONS);
    if path.exists() {
        read_jsonl(&path)
    } else {
        Ok(Vec::new())
    }
}

/// [`read_sessions`] for a report or a page, where the record informs and decides
/// nothing: one that cannot be read is logged (a warning naming the file) and left out.
pub fn read_sessions_or_log(run_dir: &Path) -> Vec<cxr_core::Session> {
    read_sessions(run_dir).unwrap_or_else(|e| {
        tracing::warn!("{}", cxr_core::error_chain(&e));
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct M {
        epoch: usize,
    }

    #[test]
    fn a_torn_last_line_is_skipped_on_reading_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        append_jsonl(&p, &M { epoch: 0 }).unwrap();
        // A process stopped halfway through writing epoch 1's line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"epo").unwrap();
        drop(f);
        assert_eq!(read_jsonl::<M>(&p).unwrap(), vec![M { epoch: 0 }]);
        // The resumed run appends epoch 1 again: the torn bytes are gone.
        append_jsonl(&p, &M { epoch: 1 }).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"epoch\":0}\n{\"epoch\":1}\n"
        );
        assert_eq!(
            read_jsonl::<M>(&p).unwrap(),
            vec![M { epoch: 0 }, M { epoch: 1 }]
        );
        // A whole last line without its newline still counts; a bad line in the
        // middle is an error.
        std::fs::write(&p, "{\"epoch\":0}\n{\"epoch\":1}").unwrap();
        assert_eq!(read_jsonl::<M>(&p).unwrap().len(), 2);
        std::fs::write(&p, "{\"epoch\":0}\n{\"ep\n{\"epoch\":1}\n").unwrap();
        assert!(matches!(read_jsonl::<M>(&p), Err(Error::Json { .. })));
        // A file that is one torn line is emptied before the append.
        std::fs::write(&p, "{\"ep").unwrap();
        append_jsonl(&p, &M { epoch: 5 }).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"epoch\":5}\n");
    }

    #[test]
    fn a_sessions_record_that_cannot_be_read_is_an_error_or_logged_and_left_out() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_sessions(dir.path()).unwrap().is_empty());
        let s = cxr_core::Session::now(3, cxr_core::Environment::current());
        append_jsonl(&dir.path().join(SESSIONS), &s).unwrap();
        assert_eq!(read_sessions_or_log(dir.path()), vec![s.clone()]);
        std::fs::write(dir.path().join(SESSIONS), "{\"started\": 1}\n").unwrap();
        let e = read_sessions(dir.path()).unwrap_err().to_string();
        assert!(e.contains(SESSIONS), "{e}");
        assert!(read_sessions_or_log(dir.path()).is_empty());
    }
}
