//! Running a batch tool as N independent shards over one shared output folder (a Slurm
//! array job, a Kubernetes Indexed Job), and resuming a shard that was killed.
//!
//! - [`Shard`] (`--shard I/N`, `I` from 0 as `SLURM_ARRAY_TASK_ID` and
//!   `JOB_COMPLETION_INDEX` count) owns an input by a hash of its path relative to the
//!   input folder: the assignment depends on that path only, so adding files later moves
//!   no existing file to another shard, and every machine agrees on it.
//! - [`Journal`]: a shard's record of what it has finished, one JSON line per input,
//!   appended and flushed to disk as each input completes. A restarted shard opens it,
//!   skips what is there and does the rest; a line cut short by the kill is dropped. The
//!   journal starts with the settings it was made with, and one made with other settings
//!   is refused rather than mixed.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One shard of N, or the whole input ([`Shard::WHOLE`], `0/1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// A `--shard` value that is not `I/N` with `0 ≤ I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shard `{given}`: {problem} (expected I/N with 0 ≤ I < N, e.g. 0/4)")]
pub struct ShardError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl Shard {
    /// The whole input: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    ///
    /// # Errors
    ///
    /// [`ShardError`] unless `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let given = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError {
                given,
                problem: "N must be at least 1",
            });
        }
        if index >= count {
            return Err(ShardError {
                given,
                problem: "I must be below N (shards count from 0)",
            });
        }
        Ok(Shard { index, count })
    }

    /// Which shard (from 0).
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether this is the whole input.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The key of a path relative to the input folder: its components joined by `/`,
    /// whatever the platform's separator.
    pub fn key(relative: &Path) -> String {
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether this shard owns the input of `key` ([`Shard::key`]): 64-bit FNV-1a of the
    /// key's bytes, modulo N.
    pub fn owns(self, key: &str) -> bool {
        crate::names::fnv1a64(key.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }

    /// The name of this shard's part of an output file: `predictions.csv` →
    /// `predictions.shard-0002-of-0004.csv`; the whole input keeps the name.
    pub fn part_name(self, file: &str) -> String {
        if self.is_whole() {
            return file.to_owned();
        }
        let tag = format!("shard-{:04}-of-{:04}", self.index, self.count);
        match file.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{tag}.{ext}"),
            _ => format!("{file}.{tag}"),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = |problem| ShardError {
            given: s.to_owned(),
            problem,
        };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let i: u32 = i
            .trim()
            .parse()
            .map_err(|_| bad("I is not a whole number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        Shard::new(i, n).map_err(|e| ShardError {
            given: s.to_owned(),
            problem: e.problem,
        })
    }
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or appending failed.
    #[error("journal {path}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A complete line is not a journal entry (the file is not a journal, or was edited).
    #[error("journal {path}, line {line}: not an entry of this journal")]
    Entry {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The journal was started with other settings: its results cannot be mixed with
    /// this run's.
    #[error(
        "journal {path} was started with other settings ({found}, this run: {expected}); \
         finish that run with its settings, or remove the journal to start over"
    )]
    Settings {
        /// The journal.
        path: PathBuf,
        /// The settings it records.
        found: String,
        /// This run's.
        expected: String,
    },
}

#[derive(Serialize, serde::Deserialize)]
struct Header {
    settings: String,
    /// The tables the journal's rows go into, with the column that orders them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tables: Vec<Table>,
}

/// A table a batch tool writes, as its journal records it for [`merge_all`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Table {
    /// Its file name in the output folder, as a whole run writes it (`qc.csv`).
    pub file: String,
    /// The column whose values (relative or full input paths) order its rows as the
    /// input walk does.
    pub order_by: String,
}

impl Table {
    /// `file`, ordered by `order_by`.
    pub fn new(file: &str, order_by: &str) -> Table {
        Table {
            file: file.to_owned(),
            order_by: order_by.to_owned(),
        }
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Entry<K, R> {
    key: K,
    row: R,
}

/// What a shard has finished: rows by input key, kept on disk as JSON lines.
#[derive(Debug)]
pub struct Journal<R> {
    path: PathBuf,
    file: std::fs::File,
    done: BTreeMap<String, R>,
    resumed: usize,
}

impl<R: Serialize + DeserializeOwned> Journal<R> {
    /// Opens the journal at `path` for a run with `settings` (any text that changes
    /// whenever the results would: a hash of the options and the model's id), creating
    /// it when absent. Entries already there are loaded ([`Journal::done`]); a last line
    /// without its newline, cut short by a kill, is dropped from the file.
    ///
    /// # Errors
    ///
    /// [`JournalError::Settings`] when the journal records other settings,
    /// [`JournalError::Entry`] for a complete line that does not parse, I/O errors.
    pub fn open(path: &Path, settings: &str) -> Result<Journal<R>, JournalError> {
        Journal::open_with(path, settings, &[])
    }

    /// The journal of `shard` of a batch tool in its shared output folder `out`:
    /// `out/.journal/<stem>.shard-I-of-N.jsonl` ([`JOURNALS`]), the folder made when
    /// absent, recording `tables` (the files its rows go into, for [`merge_all`]). A
    /// shard's journal of other settings is refused ([`JournalError::Settings`]): its
    /// parts must agree with the other shards'. The whole input's (`<stem>.jsonl`)
    /// shares its folder with no other shard, so with other settings it starts over.
    ///
    /// # Errors
    ///
    /// As [`Journal::open`].
    pub fn open_in(
        out: &Path,
        shard: Shard,
        stem: &str,
        settings: &str,
        tables: &[Table],
    ) -> Result<Journal<R>, JournalError> {
        let dir = out.join(JOURNALS);
        std::fs::create_dir_all(&dir).map_err(|source| JournalError::Io {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(shard.part_name(&format!("{stem}.jsonl")));
        match Journal::open_with(&path, settings, tables) {
            Err(JournalError::Settings { .. }) if shard.is_whole() => {
                std::fs::remove_file(&path).map_err(|source| JournalError::Io {
                    path: path.clone(),
                    source,
                })?;
                Journal::open_with(&path, settings, tables)
            }
            j => j,
        }
    }

    fn open_with(
        path: &Path,
        settings: &str,
        tables: &[Table],
    ) -> Result<Journal<R>, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut done = BTreeMap::new();
        let mut keep = 0u64;
        if path.exists() {
            let f = std::fs::File::open(path).map_err(io)?;
            let len = f.metadata().map_err(io)?.len();
            let reader = std::io::BufReader::new(f);
            let mut header = false;
            for (i, line) in reader.split(b'\n').enumerate() {
                let line = line.map_err(io)?;
                // A line is whole when its newline is in the file.
                if keep + line.len() as u64 >= len {
                    break;
                }
                let entry = |source| JournalError::Entry {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source,
                };
                if !header {
                    let h: Header = serde_json::from_slice(&line).map_err(entry)?;
                    if h.settings != settings {
                        return Err(JournalError::Settings {
                            path: path.to_path_buf(),
                            found: h.settings,
                            expected: settings.to_owned(),
                        });
                    }
                    header = true;
                } else {
                    let e: Entry<String, R> = serde_json::from_slice(&line).map_err(entry)?;
                    done.insert(e.key, e.row);
                }
                keep += line.len() as u64 + 1;
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        // Drop a torn last line, then append after what is whole.
        file.set_len(keep).map_err(io)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io)?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
            resumed: done.len(),
            done,
        };
        if keep == 0 {
            let h = serde_json::to_string(&Header {
                settings: settings.to_owned(),
                tables: tables.to_vec(),
            })
            .map_err(|e| io(std::io::Error::other(e)))?;
            j.append(h)?;
        }
        Ok(j)
    }

    fn append(&mut self, mut line: String) -> Result<(), JournalError> {
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The row recorded for `key`, if that input is finished.
    pub fn done(&self, key: &str) -> Option<&R> {
        self.done.get(key)
    }

    /// Inputs that were already finished when the journal was opened.
    pub fn resumed(&self) -> usize {
        self.resumed
    }

    /// Records that `key` is finished with `row`, on disk before returning.
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub fn record(&mut self, key: &str, row: R) -> Result<(), JournalError> {
        let line = serde_json::to_string(&Entry {
            key: key.to_owned(),
            row: &row,
        })
        .map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.append(line)?;
        self.done.insert(key.to_owned(), row);
        Ok(())
    }

    /// Records several finished inputs with one flush to disk: what a tool that finishes
    /// inputs in bursts (a batch of the network, a burst of files committed together)
    /// uses.
    ///
    /// # Errors
    ///
    /// I/O errors; none of the rows then counts as recorded.
    pub fn record_all(&mut self, rows: Vec<(String, R)>) -> Result<(), JournalError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for (key, row) in &rows {
            let line =
                serde_json::to_string(&Entry { key, row }).map_err(|e| JournalError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })?;
            text.push_str(&line);
            text.push('\n');
        }
        text.pop();
        self.append(text)?;
        self.done.extend(rows);
        Ok(())
    }

    /// Every finished row, by key.
    pub fn into_rows(self) -> BTreeMap<String, R> {
        self.done
    }
}

/// The folder of the shards' journals inside a shared output folder (hidden, so that a
/// walk of an input folder that holds the output passes it by).
pub const JOURNALS: &str = ".journal";

/// Why the shards' parts of a table cannot be merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No part of the table in the folder.
    #[error("{dir}: no shard parts of {table} (files named like {example})")]
    NoParts {
        /// The folder.
        dir: PathBuf,
        /// The table.
        table: String,
        /// What a part's name looks like.
        example: String,
    },
    /// No sharded run in the folder: no journal of a shard in its `.journal`.
    #[error(
        "{dir}: no sharded run to merge (no journals like .journal/qc.shard-0000-of-0004.jsonl; \
         run the tools with --shard I/N into this folder first)"
    )]
    NoRuns {
        /// The folder.
        dir: PathBuf,
    },
    /// Parts of runs split into different numbers of shards.
    #[error("{dir}: parts of {table} from runs of {counts:?} shards; merge one run's parts")]
    MixedCounts {
        /// The folder.
        dir: PathBuf,
        /// The table.
        table: String,
        /// The shard counts found.
        counts: Vec<u32>,
    },
    /// Some shards have not written their part (yet).
    #[error(
        "{dir}: {table} lacks the parts of shards {missing:?} of {count}: run them, then merge"
    )]
    Missing {
        /// The folder.
        dir: PathBuf,
        /// The table.
        table: String,
        /// Shard indices without a part.
        missing: Vec<u32>,
        /// Shards in all.
        count: u32,
    },
    /// Parts made with different settings (their journals' first lines differ).
    #[error(
        "{first} and {other} were made with different settings: {first_settings} vs {other_settings}"
    )]
    Settings {
        /// One journal.
        first: PathBuf,
        /// Another.
        other: PathBuf,
        /// The first's settings.
        first_settings: String,
        /// The other's.
        other_settings: String,
    },
    /// Parts with different columns.
    #[error("{path}: its columns differ from the other parts'")]
    Columns {
        /// The part.
        path: PathBuf,
    },
    /// A part or journal could not be read, or the table written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What [`merge_parts`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The table written.
    pub table: PathBuf,
    /// Rows in it.
    pub rows: usize,
    /// Shards merged.
    pub shards: u32,
}

/// Joins the shards' parts of `table` in `dir` (`qc.shard-0000-of-0004.csv` … for
/// `qc.csv`) into `dir/<table.file>`, written atomically: the same file a whole run
/// writes, rows in the order of the input walk (the `order_by` column, a path, compared
/// component by component). Refuses parts of different shard counts, a missing shard,
/// parts whose journals (`dir/.journal/<journal>.shard-….jsonl`) record different
/// settings, and parts with different columns.
///
/// # Errors
///
/// [`MergeError`].
pub fn merge_parts(dir: &Path, table: &Table, journal: &str) -> Result<Merged, MergeError> {
    let journal = format!("{journal}.jsonl");
    let (table, order_by) = (table.file.as_str(), table.order_by.as_str());
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: Box<dyn std::error::Error + Send + Sync>| MergeError::Io { path, source: e }
    };
    let (stem, ext) = table.rsplit_once('.').unwrap_or((table, ""));
    let prefix = format!("{stem}.shard-");
    let suffix = if ext.is_empty() {
        String::new()
    } else {
        format!(".{ext}")
    };
    let mut parts: BTreeMap<u32, (u32, PathBuf)> = BTreeMap::new();
    let mut counts = std::collections::BTreeSet::new();
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir)(Box::new(e)))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(mid) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(&suffix))
        else {
            continue;
        };
        let Some((i, n)) = mid.split_once("-of-") else {
            continue;
        };
        if let (Ok(i), Ok(n)) = (i.parse::<u32>(), n.parse::<u32>()) {
            counts.insert(n);
            parts.insert(i, (n, e.path()));
        }
    }
    let count = match counts.len() {
        0 => {
            return Err(MergeError::NoParts {
                dir: dir.to_path_buf(),
                table: table.to_owned(),
                example: Shard { index: 0, count: 4 }.part_name(table),
            });
        }
        1 => *counts.iter().next().unwrap_or(&1),
        _ => {
            return Err(MergeError::MixedCounts {
                dir: dir.to_path_buf(),
                table: table.to_owned(),
                counts: counts.into_iter().collect(),
            });
        }
    };
    let missing: Vec<u32> = (0..count).filter(|i| !parts.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            dir: dir.to_path_buf(),
            table: table.to_owned(),
            missing,
            count,
        });
    }
    // The same settings everywhere: the first line of every part's journal.
    let mut first: Option<(PathBuf, String)> = None;
    for i in 0..count {
        let j = dir
            .join(JOURNALS)
            .join(Shard { index: i, count }.part_name(&journal));
        let text = std::fs::read_to_string(&j).map_err(|e| io(&j)(Box::new(e)))?;
        let settings = text.lines().next().unwrap_or("").to_owned();
        match &first {
            None => first = Some((j, settings)),
            Some((f, s)) if *s != settings => {
                return Err(MergeError::Settings {
                    first: f.clone(),
                    other: j,
                    first_settings: s.clone(),
                    other_settings: settings,
                });
            }
            Some(_) => {}
        }
    }
    let mut header: Option<csv::StringRecord> = None;
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for (_, path) in parts.values() {
        let mut r = csv::Reader::from_path(path).map_err(|e| io(path)(Box::new(e)))?;
        let h = r.headers().map_err(|e| io(path)(Box::new(e)))?.clone();
        match &header {
            None => header = Some(h),
            Some(first) if *first != h => return Err(MergeError::Columns { path: path.clone() }),
            Some(_) => {}
        }
        for rec in r.records() {
            rows.push(rec.map_err(|e| io(path)(Box::new(e)))?);
        }
    }
    let column = header
        .as_ref()
        .and_then(|h| h.iter().position(|c| c == order_by))
        .ok_or_else(|| MergeError::Columns {
            path: parts
                .values()
                .next()
                .map(|(_, p)| p.clone())
                .unwrap_or_default(),
        })?;
    let at = |r: &csv::StringRecord| Path::new(r.get(column).unwrap_or("")).to_path_buf();
    rows.sort_by_cached_key(at);
    let out = dir.join(table);
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = &header {
        w.write_record(h).map_err(|e| io(&out)(Box::new(e)))?;
    }
    for r in &rows {
        w.write_record(r).map_err(|e| io(&out)(Box::new(e)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| io(&out)(Box::new(e.into_error())))?;
    crate::write_bytes_atomic(&out, &bytes).map_err(|e| io(&out)(Box::new(e)))?;
    Ok(Merged {
        table: out,
        rows: rows.len(),
        shards: count,
    })
}

/// Merges every table of every sharded run in `dir` ([`merge_parts`]): the runs are
/// found by their journals (`dir/.journal/<stem>.shard-I-of-N.jsonl`), each of which
/// names the tables its shards write. A table without parts (a tool that wrote none) is
/// passed by; any other refusal stops the merge.
///
/// # Errors
///
/// [`MergeError::NoRuns`] when `dir` holds no sharded run; as [`merge_parts`].
pub fn merge_all(dir: &Path) -> Result<Vec<Merged>, MergeError> {
    let journals = dir.join(JOURNALS);
    let mut runs: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&journals) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((stem, _)) = name
                .strip_suffix(".jsonl")
                .and_then(|n| n.rsplit_once(".shard-"))
            {
                runs.entry(stem.to_owned()).or_insert_with(|| e.path());
            }
        }
    }
    let mut merged = Vec::new();
    for (stem, journal) in &runs {
        let text = std::fs::read_to_string(journal).map_err(|e| MergeError::Io {
            path: journal.clone(),
            source: Box::new(e),
        })?;
        let header: Header =
            serde_json::from_str(text.lines().next().unwrap_or("")).map_err(|e| {
                MergeError::Io {
                    path: journal.clone(),
                    source: Box::new(e),
                }
            })?;
        for table in &header.tables {
            match merge_parts(dir, table, stem) {
                Ok(m) => merged.push(m),
                Err(MergeError::NoParts { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if runs.is_empty() {
        return Err(MergeError::NoRuns {
            dir: dir.to_path_buf(),
        });
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_is_not_i_of_n() {
        let s: Shard = "2/4".parse().unwrap();
        assert_eq!(
            (s.index(), s.count(), s.to_string()),
            (2, 4, "2/4".to_owned())
        );
        assert!("0/1".parse::<Shard>().unwrap().is_whole());
        for bad in ["4/4", "1/0", "2", "a/4", "-1/4", "1/4/2"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert_eq!(
            Shard::new(1, 4).unwrap().part_name("predictions.csv"),
            "predictions.shard-0001-of-0004.csv"
        );
        assert_eq!(Shard::WHOLE.part_name("qc.csv"), "qc.csv");
        assert_eq!(
            Shard::new(0, 2).unwrap().part_name("journal"),
            "journal.shard-0000-of-0002"
        );
    }

    #[test]
    fn every_input_has_one_shard_and_adding_files_moves_none() {
        let keys: Vec<String> = (0..2000)
            .map(|i| format!("p{}/img-{i}.dcm", i % 37))
            .collect();
        for n in [1u32, 2, 3, 4, 7] {
            let shards: Vec<Shard> = (0..n).map(|i| Shard::new(i, n).unwrap()).collect();
            let mut sizes = vec![0usize; n as usize];
            for k in &keys {
                let owners: Vec<u32> = shards
                    .iter()
                    .filter(|s| s.owns(k))
                    .map(|s| s.index())
                    .collect();
                assert_eq!(owners.len(), 1, "{k} owned by {owners:?} of {n}");
                sizes[owners[0] as usize] += 1;
            }
            // Balanced within 20 % of the mean.
            let mean = keys.len() as f64 / f64::from(n);
            assert!(
                sizes.iter().all(|&c| (c as f64 - mean).abs() < 0.2 * mean),
                "{sizes:?}"
            );
        }
        // The owner of a key depends on the key alone: more files change nothing.
        let s = Shard::new(1, 4).unwrap();
        let before: Vec<bool> = keys.iter().map(|k| s.owns(k)).collect();
        let more: Vec<String> = keys
            .iter()
            .cloned()
            .chain((0..500).map(|i| format!("new/{i}")))
            .collect();
        let after: Vec<bool> = more[..keys.len()].iter().map(|k| s.owns(k)).collect();
        assert_eq!(before, after);
        // FNV-1a of "a" is 0xaf63dc4c8601ec8c (its published test vector): even, so shard 0 of 2.
        assert!(Shard::new(0, 2).unwrap().owns("a"));
        assert_eq!(Shard::key(Path::new("p1/sub/x.dcm")), "p1/sub/x.dcm");
    }

    #[test]
    fn a_journal_resumes_drops_a_torn_line_and_refuses_other_settings() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        {
            let mut j = Journal::<u32>::open(&p, "opts=1").unwrap();
            assert_eq!(j.resumed(), 0);
            j.record("a.dcm", 1).unwrap();
            j.record("b.dcm", 2).unwrap();
        }
        // A kill in the middle of the third line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"key":"c.dcm","ro"#).unwrap();
        drop(f);
        let mut j = Journal::<u32>::open(&p, "opts=1").unwrap();
        assert_eq!(j.resumed(), 2);
        assert_eq!((j.done("a.dcm"), j.done("c.dcm")), (Some(&1), None));
        j.record("c.dcm", 3).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.ends_with("{\"key\":\"c.dcm\",\"row\":3}\n"), "{text}");
        let rows = Journal::<u32>::open(&p, "opts=1").unwrap().into_rows();
        assert_eq!(
            rows.into_iter().collect::<Vec<_>>(),
            [
                ("a.dcm".into(), 1),
                ("b.dcm".into(), 2),
                ("c.dcm".into(), 3)
            ]
        );
        // Other settings: refused, naming both.
        let e = Journal::<u32>::open(&p, "opts=2").unwrap_err().to_string();
        assert!(e.contains("opts=1") && e.contains("opts=2"), "{e}");
        // A complete line that is not an entry: refused with its line number.
        std::fs::write(&p, "{\"settings\":\"opts=1\"}\nnot json\n").unwrap();
        let e = Journal::<u32>::open(&p, "opts=1").unwrap_err();
        assert!(matches!(e, JournalError::Entry { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn merge_all_finds_runs_by_their_journals_and_orders_rows_by_the_named_column() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        let tables = [
            Table::new("p.csv", "path"),
            Table::new("p_rejected.csv", "path"),
        ];
        // Two shards' parts: rows whose first column does not follow the paths.
        for (i, rows, rejected) in [
            (
                0u32,
                "id,path\nz,in/a.png\ny,in/b/c.png\n",
                "path\nin/d.png\n",
            ),
            (1, "id,path\nx,in/b.png\n", "path\n"),
        ] {
            let shard = Shard::new(i, 2).unwrap();
            let mut j = Journal::<u8>::open_in(out, shard, "p", "model=1", &tables).unwrap();
            j.record_all(vec![("a".into(), 1), ("b".into(), 2)])
                .unwrap();
            std::fs::write(out.join(shard.part_name("p.csv")), rows).unwrap();
            std::fs::write(out.join(shard.part_name("p_rejected.csv")), rejected).unwrap();
        }
        let merged = merge_all(out).unwrap();
        assert_eq!(
            merged
                .iter()
                .map(|m| (m.rows, m.shards))
                .collect::<Vec<_>>(),
            [(3, 2), (1, 2)]
        );
        // `in/b/c.png` before `in/b.png`: component by component (`b` < `b.png`), as
        // the walk goes; not as the strings sort.
        assert_eq!(
            std::fs::read_to_string(out.join("p.csv")).unwrap(),
            "id,path\nz,in/a.png\ny,in/b/c.png\nx,in/b.png\n"
        );
        // Each line of a burst is an entry: the journal reads back whole.
        let j = Journal::<u8>::open_in(out, Shard::new(1, 2).unwrap(), "p", "model=1", &tables)
            .unwrap();
        assert_eq!((j.resumed(), j.done("b")), (2, Some(&2)));
        // A shard of another model: refused, named.
        std::fs::remove_file(out.join(".journal/p.shard-0001-of-0002.jsonl")).unwrap();
        let shard = Shard::new(1, 2).unwrap();
        drop(Journal::<u8>::open_in(out, shard, "p", "model=2", &tables).unwrap());
        let e = merge_all(out).unwrap_err().to_string();
        assert!(e.contains("model=1") && e.contains("model=2"), "{e}");
        // The whole input's journal starts over with other settings; a shard's refuses.
        let whole = Journal::<u8>::open_in(out, Shard::WHOLE, "p", "model=1", &tables);
        drop(whole.unwrap());
        let again = Journal::<u8>::open_in(out, Shard::WHOLE, "p", "model=3", &tables);
        assert_eq!(again.unwrap().resumed(), 0);
        let refused = Journal::<u8>::open_in(out, shard, "p", "model=3", &tables);
        assert!(matches!(refused, Err(JournalError::Settings { .. })));
        assert!(matches!(
            merge_all(d.path().join("none").as_path()),
            Err(MergeError::NoRuns { .. })
        ));
    }
}
