//! Checkpoints: weights as safetensors plus a JSON state, written atomically, under the
//! names `best` and `last`; and the per-epoch `metrics.jsonl` log.
//!
//! A run folder holds `config.json` (written first by the trainer), `last.safetensors` +
//! `last.json`, `best.safetensors` + `best.json`, and `metrics.jsonl`. Resuming reloads
//! `last`: weights, epoch, step, the early-stopping and loss-scaling state, and (with
//! [`crate::fit()`]) the optimiser's moments from `last.optim.safetensors`
//! ([`crate::optim::AdamW::save`]), so that a resumed run continues exactly.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};
use tch::nn::VarStore;

pub use crate::files::{
    AVERAGED, append_jsonl, checkpoint_paths, inference_weights, read_json, read_jsonl, weights_id,
    write_json,
};
use crate::{Error, Result};

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Saves `vs` and `state` as checkpoint `name` in `dir`. Each file is written to a
/// temporary name and renamed, weights first, so a reader never sees half a checkpoint
/// and the JSON always describes complete weights.
///
/// Weights in another memory layout (channels-last on CUDA) are written as contiguous
/// copies: safetensors holds row-major data only, and `VarStore::save` refuses them.
pub fn save_checkpoint<S: Serialize>(
    dir: &Path,
    name: &str,
    vs: &VarStore,
    state: &S,
) -> Result<()> {
    let (weights, json) = checkpoint_paths(dir, name);
    save_weights(&weights, vs)?;
    write_json(&json, state)
}

/// Saves the weights of `vs` (row-major copies) as safetensors at `path`, atomically.
pub fn save_weights(path: &Path, vs: &VarStore) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let named: Vec<(String, tch::Tensor)> = tch::no_grad(|| {
        vs.variables()
            .into_iter()
            .map(|(name, t)| (name, t.contiguous()))
            .collect()
    });
    write_tensors_atomic(path, &named)
}

/// The weights of `epoch` kept for averaging: `dir/snapshot-<epoch>.safetensors`.
pub fn snapshot_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("snapshot-{epoch:03}.safetensors"))
}

/// Averages weight files element by element (every tensor of the first, in float64,
/// written back in its own kind; batch-norm statistics are averaged like the weights)
/// into `out`, atomically. Returns the number of files averaged.
///
/// # Errors
///
/// [`Error::Snapshot`] when `inputs` is empty or the files do not hold the same tensor
/// names and shapes; read and write errors.
pub fn average_weights(inputs: &[PathBuf], out: &Path) -> Result<usize> {
    let bad = |detail: String| Error::Snapshot {
        path: out.to_path_buf(),
        detail,
    };
    let Some(first) = inputs.first() else {
        return Err(bad("no weights to average".into()));
    };
    let read = |p: &Path| -> Result<Vec<(String, tch::Tensor)>> {
        let mut v = tch::Tensor::read_safetensors(p)?;
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    };
    let base = read(first)?;
    let mut sums: Vec<tch::Tensor> = base
        .iter()
        .map(|(_, t)| t.to_kind(tch::Kind::Double))
        .collect();
    for p in &inputs[1..] {
        let other = read(p)?;
        if other.len() != base.len() {
            return Err(bad(format!(
                "{} holds {} tensors, {} holds {}",
                p.display(),
                other.len(),
                first.display(),
                base.len()
            )));
        }
        for ((sum, (name, _)), (oname, t)) in sums.iter_mut().zip(&base).zip(&other) {
            if name != oname || t.size() != sum.size() {
                return Err(bad(format!(
                    "{}: tensor `{oname}` {:?} does not match `{name}` {:?} of {}",
                    p.display(),
                    t.size(),
                    sum.size(),
                    first.display()
                )));
            }
            *sum += t.to_kind(tch::Kind::Double);
        }
    }
    let n = inputs.len() as f64;
    let averaged: Vec<(String, tch::Tensor)> = base
        .iter()
        .zip(sums)
        .map(|((name, t), sum)| (name.clone(), (sum / n).to_kind(t.kind())))
        .collect();
    write_tensors_atomic(out, &averaged)?;
    Ok(inputs.len())
}

/// Writes named tensors as safetensors at `path` through a temporary file in the same
/// folder and a rename, so that a reader never sees half a file. The tensors must be
/// contiguous (safetensors holds row-major data only).
pub fn write_tensors_atomic(path: &Path, named: &[(String, tch::Tensor)]) -> Result<()> {
    // Written under a temporary name, flushed to disk, then renamed (and removed on
    // error): after a crash of the machine the checkpoint is the old one or the new one,
    // never a renamed file whose data had not reached the disk.
    let staged = cxr_core::Staged::for_path(path)?;
    tch::Tensor::write_safetensors(named, staged.temp())?;
    Ok(staged.commit()?)
}

/// Loads checkpoint `name` from `dir` into `vs`, returning its state.
pub fn load_checkpoint<S: DeserializeOwned>(
    dir: &Path,
    name: &str,
    vs: &mut VarStore,
) -> Result<S> {
    let (weights, json) = checkpoint_paths(dir, name);
    if !weights.exists() {
        return Err(Error::MissingCheckpoint { path: weights });
    }
    let state = read_json(&json)?;
    vs.load(&weights)?;
    Ok(state)
}

/// Starts or continues the run in `dir`: writes `config.json` the first time; later,
/// checks that the one there equals `config`, so a run never resumes with other settings.
pub fn open_run<C: Serialize + DeserializeOwned + PartialEq>(dir: &Path, config: &C) -> Result<()> {
    let path = dir.join("config.json");
    if path.exists() {
        let old: C = read_json(&path)?;
        if &old != config {
            let as_json = |c: &C| serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
            let fields = differing_fields(&as_json(&old), &as_json(config));
            return Err(Error::RunMismatch { path, fields });
        }
        Ok(())
    } else {
        write_json(&path, config)
    }
}

/// The dotted paths where two settings differ (`model.width`), at most eight, then `…`;
/// `(the whole configuration)` when they differ at the top.
fn differing_fields(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        use serde_json::Value::Object;
        match (a, b) {
            (Object(x), Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                let null = serde_json::Value::Null;
                for k in keys {
                    let here = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                        &here,
                        out,
                    );
                }
            }
            _ if a != b => out.push(if at.is_empty() {
                "(the whole configuration)".into()
            } else {
                format!("`{at}`")
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    if out.is_empty() {
        // Equal as JSON yet unequal as values (a NaN): say so rather than nothing.
        out.push("(a value that does not compare equal to itself)".into());
    }
    if out.len() > 8 {
        out.truncate(8);
        out.push("…".into());
    }
    out
}

/// Loads checkpoint `best` from a run folder, or `last` when there is no `best`.
pub fn load_best<S: DeserializeOwned>(dir: &Path, vs: &mut VarStore) -> Result<S> {
    let name = if checkpoint_paths(dir, "best").0.exists() {
        "best"
    } else {
        "last"
    };
    load_checkpoint(dir, name, vs)
}

/// The weights a trained run is used with, [`inference_weights`]'s
/// choice: its [`AVERAGED`] weights when training averaged its last epochs, else `best`'s,
/// else `last`'s. Returns the state of `best` (or `last`) either way. Only that one
/// weights file is read (and needs to be there: `make dist` packs no other).
pub fn load_for_inference<S: DeserializeOwned>(dir: &Path, vs: &mut VarStore) -> Result<S> {
    let weights = crate::files::inference_weights(dir);
    if !weights.exists() {
        return Err(Error::MissingCheckpoint { path: weights });
    }
    let (_, best) = checkpoint_paths(dir, "best");
    let state = if best.exists() {
        read_json(&best)?
    } else {
        read_json(&checkpoint_paths(dir, "last").1)?
    };
    vs.load(&weights)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct M {
        epoch: usize,
    }

    #[test]
    fn a_run_of_other_settings_is_refused_naming_what_differs() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Model {
            width: u32,
            depth: u32,
        }
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct C {
            epochs: u32,
            model: Model,
            seed: u64,
        }
        let d = tempfile::tempdir().unwrap();
        let c = C {
            epochs: 3,
            model: Model {
                width: 8,
                depth: 18,
            },
            seed: 1,
        };
        open_run(d.path(), &c).unwrap();
        open_run(d.path(), &c).unwrap();
        let other = C {
            epochs: 4,
            model: Model {
                width: 16,
                depth: 18,
            },
            ..c
        };
        let e = open_run(d.path(), &other).unwrap_err();
        assert!(
            matches!(&e, Error::RunMismatch { fields, .. } if fields == &["`epochs`", "`model.width`"]),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("differs in `epochs`, `model.width`"),
            "{e}"
        );
    }

    #[test]
    fn channels_last_weights_are_saved_and_load_back_in_any_layout() {
        // What training on CUDA does to 4-d weights (cxr_classifier::train::channels_last).
        // The same layout on the CPU: safetensors refused it before the weights were
        // written as contiguous copies.
        let vs = VarStore::new(tch::Device::Cpu);
        let w = (vs.root() / "conv").randn_standard("weight", &[4, 3, 2, 2]);
        let b = (vs.root() / "conv").randn_standard("bias", &[4]);
        {
            let _g = tch::no_grad_guard();
            let mut w = w.shallow_clone();
            let cl = w.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
            w.set_data(&cl);
        }
        assert!(!w.is_contiguous());
        let dir = tempfile::tempdir().unwrap();
        save_checkpoint(dir.path(), "last", &vs, &M { epoch: 3 }).unwrap();
        let mut fresh = VarStore::new(tch::Device::Cpu);
        let w2 = (fresh.root() / "conv").zeros("weight", &[4, 3, 2, 2]);
        let b2 = (fresh.root() / "conv").zeros("bias", &[4]);
        let state: M = load_checkpoint(dir.path(), "last", &mut fresh).unwrap();
        assert_eq!(state, M { epoch: 3 });
        assert!(w2.equal(&w) && b2.equal(&b));
        // Loading into channels-last variables (resuming on CUDA) keeps their layout.
        load_checkpoint::<M>(dir.path(), "last", &mut { vs }).unwrap();
        assert!(!w.is_contiguous() && w.equal(&w2));
        // No temporary file is left behind.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["last.json", "last.safetensors"]);
    }

    #[test]
    fn tensors_replace_the_old_file_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let t = |v: &[f32]| vec![("a".to_owned(), tch::Tensor::from_slice(v))];
        write_tensors_atomic(&path, &t(&[1.0, 2.0])).unwrap();
        write_tensors_atomic(&path, &t(&[3.0, 4.0, 5.0])).unwrap();
        let back = tch::Tensor::read_safetensors(&path).unwrap();
        assert_eq!(Vec::<f32>::try_from(&back[0].1).unwrap(), [3.0, 4.0, 5.0]);
        // A write that fails (a non-contiguous tensor) leaves the old file and no
        // temporary file behind.
        let strided = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0])
            .view([2, 2])
            .tr();
        assert!(write_tensors_atomic(&path, &[("b".to_owned(), strided)]).is_err());
        let back = tch::Tensor::read_safetensors(&path).unwrap();
        assert_eq!(back[0].0, "a");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["w.safetensors"]);
    }

    #[test]
    fn snapshots_average_and_the_average_is_what_inference_loads() {
        let dir = tempfile::tempdir().unwrap();
        let vs = VarStore::new(tch::Device::Cpu);
        let w = vs.root().var("w", &[3], tch::nn::Init::Const(0.0));
        let stat = vs.root().zeros_no_train("running_mean", &[2]);
        let mut paths = Vec::new();
        for (e, v) in [(7usize, 1.0f32), (8, 2.0), (9, 6.0)] {
            tch::no_grad(|| {
                let _ = w.shallow_clone().fill_(f64::from(v));
                let _ = stat.shallow_clone().fill_(f64::from(10.0 * v));
            });
            let p = snapshot_path(dir.path(), e);
            save_weights(&p, &vs).unwrap();
            paths.push(p);
        }
        assert_eq!(paths[0].file_name().unwrap(), "snapshot-007.safetensors");
        let out = dir.path().join(AVERAGED);
        assert_eq!(average_weights(&paths, &out).unwrap(), 3);
        // The last epoch's weights are the `best` checkpoint; inference takes the mean.
        save_checkpoint(dir.path(), "best", &vs, &serde_json::json!({"epoch": 9})).unwrap();
        let mut fresh = VarStore::new(tch::Device::Cpu);
        let w2 = fresh.root().var("w", &[3], tch::nn::Init::Const(0.0));
        let stat2 = fresh.root().zeros_no_train("running_mean", &[2]);
        let _: serde_json::Value = load_for_inference(dir.path(), &mut fresh).unwrap();
        assert_eq!(Vec::<f32>::try_from(&w2).unwrap(), [3.0; 3]);
        assert_eq!(Vec::<f32>::try_from(&stat2).unwrap(), [30.0; 2]);
        // The averaged weights and the states alone, as `make dist` packs a run.
        let packed = tempfile::tempdir().unwrap();
        for f in [AVERAGED, "best.json"] {
            std::fs::copy(dir.path().join(f), packed.path().join(f)).unwrap();
        }
        tch::no_grad(|| {
            let _ = w2.shallow_clone().fill_(0.0);
        });
        let state: serde_json::Value = load_for_inference(packed.path(), &mut fresh).unwrap();
        assert_eq!(state["epoch"], 9);
        assert_eq!(Vec::<f32>::try_from(&w2).unwrap(), [3.0; 3]);
        // Without it, `best`.
        std::fs::remove_file(&out).unwrap();
        let _: serde_json::Value = load_for_inference(dir.path(), &mut fresh).unwrap();
        assert_eq!(Vec::<f32>::try_from(&w2).unwrap(), [6.0; 3]);
        // Files of another network are refused, naming both.
        let other = VarStore::new(tch::Device::Cpu);
        let _ = other.root().var("w", &[4], tch::nn::Init::Const(0.0));
        let _ = other.root().zeros_no_train("running_mean", &[2]);
        let odd = dir.path().join("odd.safetensors");
        save_weights(&odd, &other).unwrap();
        let e = average_weights(&[paths[0].clone(), odd], &out).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        assert!(!out.exists());
        assert!(average_weights(&[], &out).is_err());
    }
}
