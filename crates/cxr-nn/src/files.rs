//! A training run's files that inference reads without libtorch: where its weights are,
//! what identifies them, and its JSON files. `checkpoint` (under the `torch` feature)
//! writes them; `cxr-infer` reads them too.

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
