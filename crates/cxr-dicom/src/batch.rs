//! Batch conversion of a file or a folder tree, in parallel, with a manifest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cxr_core::shard::{Journal, Shard, Table};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::convert::convert_file_reusing;
use crate::error::{Error, Result};
use crate::options::ConvertOptions;

/// File name of the manifest written in the output folder.
pub const MANIFEST: &str = "conversion.csv";

/// Columns of the manifest, in order.
pub const COLUMNS: [&str; 14] = [
    "input",
    "output",
    "status",
    "error",
    "rows",
    "columns",
    "photometric",
    "bits_stored",
    "transfer_syntax",
    "voi_source",
    "window_center",
    "window_width",
    "presentation_intent",
    "burned_in_annotation",
];

/// Settings of one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchOptions {
    /// Per-file conversion settings.
    pub convert: ConvertOptions,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Flush each PNG to disk before it takes its name (default), so that after a crash
    /// every PNG present is whole. `false` only renames: faster where the disk is the
    /// limit, and a crash of the machine (not of the program) may leave empty PNGs.
    pub sync: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            convert: ConvertOptions::default(),
            jobs: 0,
            sync: true,
        }
    }
}

/// Outcome of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Converted and written.
    Ok,
    /// Not converted; `error` says why.
    Error,
    /// Not an image to convert, as a disc or an export holds beside the images: a file
    /// that is not DICOM (a README, a viewer program) unless it is named `.dcm` or
    /// `.dicom`, or a DICOM object without an image by its SOP class (the DICOMDIR, a
    /// structured report, a presentation state; [`crate::Error::NotAnImage`]). `error`
    /// says which.
    Skipped,
}

impl Status {
    /// Whether a failed conversion is a file to skip ([`Status::Skipped`]) rather than a
    /// failure.
    fn of_failure(e: &Error, input: &Path) -> Status {
        match e {
            Error::NotAnImage { .. } => Status::Skipped,
            Error::NotDicom { .. } if !has_dicom_extension(input) => Status::Skipped,
            _ => Status::Error,
        }
    }
}

/// One row of `conversion.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    /// Input, relative to the input folder (or as given for a single file).
    pub input: String,
    /// Output PNG, relative to the output folder (empty on error).
    pub output: String,
    /// `ok`, `error` or `skipped`.
    pub status: Status,
    /// The error and its causes, `: `-separated, or why the file was skipped (empty when
    /// ok).
    pub error: String,
    /// Rows (0028,0010).
    pub rows: Option<u16>,
    /// Columns (0028,0011).
    pub columns: Option<u16>,
    /// Photometric Interpretation.
    pub photometric: String,
    /// Bits Stored.
    pub bits_stored: Option<u16>,
    /// Transfer Syntax UID.
    pub transfer_syntax: String,
    /// `voi_lut`, `window`, `minmax` or `none` (colour), empty on error.
    pub voi_source: String,
    /// Window center applied (min–max: centre of the range).
    pub window_center: Option<f64>,
    /// Window width applied (min–max: the range).
    pub window_width: Option<f64>,
    /// Presentation Intent Type (0008,0068), empty when absent: `FOR PROCESSING` marks
    /// raw detector data, not a radiograph as read.
    #[serde(default)]
    pub presentation_intent: String,
    /// Burned In Annotation (0028,0301): `true` when the pixels carry text (which the
    /// PNG keeps), empty when the file does not say.
    #[serde(default)]
    pub burned_in_annotation: Option<bool>,
}

impl BatchRow {
    /// A row with the header's fields (none when it could not be read), no output and no
    /// VOI: a failed or skipped file's row, and the start of a converted one's.
    fn of_header(
        input: &str,
        status: Status,
        error: String,
        h: Option<&crate::header::DicomHeader>,
    ) -> BatchRow {
        BatchRow {
            input: input.to_owned(),
            output: String::new(),
            status,
            error,
            rows: h.and_then(|h| h.rows),
            columns: h.and_then(|h| h.columns),
            photometric: h
                .and_then(|h| h.photometric.as_ref())
                .map(|p| p.to_string())
                .unwrap_or_default(),
            bits_stored: h.and_then(|h| h.bits_stored),
            transfer_syntax: h.map(|h| h.transfer_syntax.clone()).unwrap_or_default(),
            voi_source: String::new(),
            window_center: None,
            window_width: None,
            presentation_intent: h
                .and_then(|h| h.presentation_intent.clone())
                .unwrap_or_default(),
            burned_in_annotation: h.and_then(|h| h.burned_in_annotation),
        }
    }

    /// Whether the file is raw detector data (Presentation Intent Type `FOR PROCESSING`),
    /// as [`DicomHeader::is_for_processing`](crate::DicomHeader::is_for_processing) says.
    pub fn is_for_processing(&self) -> bool {
        crate::header::for_processing(&self.presentation_intent)
    }
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchReport {
    /// One row per input file (of the shard), sorted by input.
    pub rows: Vec<BatchRow>,
    /// The manifest written: `conversion.csv`, or the shard's part of it.
    pub manifest: PathBuf,
    /// Files found finished in the journal (a restarted run) and not converted again.
    pub resumed: usize,
    /// Files converted (or failed) by this call.
    pub converted: usize,
}

impl BatchReport {
    /// Files converted.
    pub fn ok(&self) -> usize {
        self.rows.iter().filter(|r| r.status == Status::Ok).count()
    }
    /// Files that failed.
    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Error)
            .count()
    }
    /// Files that are not images to convert ([`Status::Skipped`]).
    pub fn skipped(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Skipped)
            .count()
    }
}

pub use cxr_core::error_chain;

struct Job {
    input: PathBuf,
    /// What the shard and the journal know the file by ([`Shard::key`]).
    key: String,
    /// For the manifest.
    input_label: String,
    /// Relative to the output folder.
    output_rel: PathBuf,
    /// A walk error for this entry (unreadable folder…).
    walk_error: Option<Error>,
}

/// Lists the files under `dir` (recursively, sorted), leaving out `skip` (the output
/// folder when it lies inside the input) and hidden files.
/// `a/b.dcm` → `a/b.png`; a name without a `.dcm`/`.dicom` extension gets `.png`
/// appended (`a/IM0001` → `a/IM0001.png`, `a/x.1.2` → `a/x.1.2.png`).
fn png_name(rel: &Path) -> PathBuf {
    if has_dicom_extension(rel) {
        rel.with_extension("png")
    } else {
        let mut s = rel.as_os_str().to_owned();
        s.push(".png");
        PathBuf::from(s)
    }
}

/// Whether a file is named as DICOM: `.dcm` or `.dicom`, in any case.
fn has_dicom_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dcm") || e.eq_ignore_ascii_case("dicom"))
}

thread_local! {
    /// Each worker's read buffer, kept from one file to the next. The workers belong
    /// to a pool that [`convert_tree`] builds and drops, so the buffers go with it.
    static FILE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Converts `input` (a DICOM file, or a folder walked recursively; files need no
/// `.dcm` extension) into `output/<relative path>.png`, in parallel, and writes
/// `output/conversion.csv` with one row per file.
///
/// A file that cannot be converted (not DICOM, truncated, no pixel data, unsupported
/// syntax…) becomes an error row and the rest carries on; each PNG is written to a
/// temporary file and renamed, so no partial PNG is ever left. The function itself
/// fails only when the output folder or the manifest cannot be written, or the thread
/// pool cannot be built.
///
/// [`convert_tree_shard`] with the whole input: run again into the same `output` with
/// the same options, it skips the files its journal lists as finished
/// (`output/.journal`; remove it to convert everything again); with other options it
/// starts over.
pub fn convert_tree(
    input: &Path,
    output: &Path,
    options: &BatchOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<BatchReport> {
    convert_tree_shard(input, output, options, Shard::WHOLE, progress)
}

/// [`convert_tree`] for one [`Shard`] of the input: the files whose path relative to
/// `input` the shard owns, into the shared `output` folder, the rows into
/// `output/conversion.shard-I-of-N.csv` (`cxr_core::shard::merge_all` joins the parts
/// into the `conversion.csv` a whole run writes). Each file is journaled
/// (`output/.journal/conversion.shard-I-of-N.jsonl`) once its PNG is on disk, so that a
/// shard killed and started again converts only what it had not finished; a finished
/// file whose PNG has gone since is converted again. A shard's journal made with other
/// options is refused.
///
/// # Errors
///
/// As [`convert_tree`], and [`Error::Journal`] when the journal cannot be read or
/// appended to.
pub fn convert_tree_shard(
    input: &Path,
    output: &Path,
    options: &BatchOptions,
    shard: Shard,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<BatchReport> {
    options.convert.validate()?;
    std::fs::create_dir_all(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let mut jobs: Vec<Job> = Vec::new();
    if input.is_dir() {
        for entry in cxr_core::walk::files(input, Some(output)) {
            let (p, walk_error) = match entry {
                Ok(p) => (p, None),
                Err((dir, source)) => (dir.clone(), Some(Error::Io { path: dir, source })),
            };
            let rel = p.strip_prefix(input).unwrap_or(&p).to_path_buf();
            jobs.push(Job {
                key: Shard::key(&rel),
                input_label: rel.to_string_lossy().into_owned(),
                output_rel: png_name(&rel),
                input: p,
                walk_error,
            });
        }
    } else {
        let name = input.file_name().map(PathBuf::from).unwrap_or_default();
        jobs.push(Job {
            key: Shard::key(&name),
            input: input.to_path_buf(),
            input_label: input.to_string_lossy().into_owned(),
            output_rel: png_name(&name),
            walk_error: None,
        });
    }
    // Two inputs that would share an output name (a.dcm and a) keep their full names.
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for j in &jobs {
        *seen.entry(j.output_rel.clone()).or_default() += 1;
    }
    for j in &mut jobs {
        if seen[&j.output_rel] > 1 {
            let mut s = PathBuf::from(&j.input_label).into_os_string();
            s.push(".png");
            j.output_rel = PathBuf::from(s);
        }
    }
    // Names are given over the whole input above, so that every shard names a PNG as
    // the whole run does; now this shard's files, less those already finished.
    jobs.retain(|j| shard.owns(&j.key));
    let settings = serde_json::json!({
        "convert": options.convert,
        "converter": concat!("cxr-dicom ", env!("CARGO_PKG_VERSION")),
    })
    .to_string();
    let mut journal: Journal<BatchRow> = Journal::open_in(
        output,
        shard,
        "conversion",
        &settings,
        &[Table::new(MANIFEST, "input")],
    )?;
    let finished = |j: &Job| {
        journal
            .done(&j.key)
            .filter(|r| r.status != Status::Ok || output.join(&r.output).exists())
            .cloned()
    };
    let mut rows: Vec<Option<BatchRow>> = jobs.iter().map(finished).collect();
    let todo: Vec<(usize, &Job)> = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| rows[*i].is_none())
        .collect();
    let resumed = jobs.len() - todo.len();
    if let Some(pb) = progress {
        pb.set_length(jobs.len() as u64);
        pb.inc(resumed as u64);
    }

    // Workers convert and write each PNG under a temporary name; one committer thread
    // flushes each to disk, renames it into place and then journals the file. The
    // flushes serialise in the file system's journal: on the workers they held the
    // second core idle.
    type Done = (usize, Option<cxr_core::Staged>, BatchRow, bool);
    let (to_commit, committed) = std::sync::mpsc::channel::<Done>();
    let run = |tx: &mut std::sync::mpsc::Sender<Done>, &(i, job): &(usize, &Job)| {
        let mut staged = None;
        let result = match &job.walk_error {
            Some(e) => Err((error_chain(e), false, Status::Error)),
            None => FILE_BUFFER
                .with(|cell| match cell.try_borrow_mut() {
                    Ok(mut buffer) => {
                        convert_file_reusing(&job.input, &options.convert, &mut buffer)
                    }
                    // Only if a conversion ever ran a job of this pool inside itself.
                    Err(_) => convert_file_reusing(&job.input, &options.convert, &mut Vec::new()),
                })
                .and_then(|c| {
                    let png = output.join(&job.output_rel);
                    staged = Some(cxr_core::stage_png(&png, &c.image).map_err(|source| {
                        Error::Write {
                            path: png.clone(),
                            source: Box::new(source),
                        }
                    })?);
                    Ok(c.info)
                })
                // A PNG that could not be written (a full disk…) is tried again on
                // restart: it is not journaled.
                .map_err(|e| {
                    let status = Status::of_failure(&e, &job.input);
                    (error_chain(&e), matches!(e, Error::Write { .. }), status)
                }),
        };
        let journal_it = !matches!(result, Err((_, true, _)));
        let row = match result {
            Ok(info) => BatchRow {
                output: job.output_rel.to_string_lossy().into_owned(),
                voi_source: info.voi_source.as_str().to_owned(),
                window_center: info.window_center,
                window_width: info.window_width,
                ..BatchRow::of_header(
                    &job.input_label,
                    Status::Ok,
                    String::new(),
                    Some(&info.header),
                )
            },
            // Header fields when the header can be read.
            Err((error, _, status)) => BatchRow::of_header(
                &job.input_label,
                status,
                error,
                crate::header::DicomHeader::read(&job.input).ok().as_ref(),
            ),
        };
        // The committer lives as long as any worker can send.
        let _ = tx.send((i, staged, row, journal_it));
        if let Some(pb) = progress {
            pb.inc(1);
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
        .map_err(|source| Error::ThreadPool { source })?;
    let sync = options.sync;
    let (done, journaled) = std::thread::scope(|scope| {
        // Whatever has queued up is flushed together (cxr_core::commit_all), and then
        // journaled together: a file is journaled only once its PNG is on disk.
        let journal = &mut journal;
        let jobs = &jobs;
        let committer = scope.spawn(move || {
            let mut done: Vec<(usize, BatchRow)> = Vec::new();
            let mut journaled = Ok(());
            while let Ok(first) = committed.recv() {
                let burst: Vec<Done> = std::iter::once(first).chain(committed.try_iter()).collect();
                let mut files = Vec::new();
                let mut rows = Vec::new();
                for (i, staged, row, journal_it) in burst {
                    if let Some(f) = staged {
                        files.push((rows.len(), f));
                    }
                    rows.push((i, row, journal_it));
                }
                let paths: Vec<PathBuf> =
                    files.iter().map(|(_, f)| f.path().to_path_buf()).collect();
                let (at, files): (Vec<usize>, Vec<cxr_core::Staged>) = files.into_iter().unzip();
                let results = if sync {
                    cxr_core::commit_all(files)
                } else {
                    files
                        .into_iter()
                        .map(cxr_core::Staged::commit_unsynced)
                        .collect()
                };
                for ((k, path), result) in at.into_iter().zip(paths).zip(results) {
                    if let Err(source) = result {
                        let e = Error::Write {
                            path,
                            source: Box::new(source),
                        };
                        let (_, row, journal_it) = &mut rows[k];
                        row.status = Status::Error;
                        row.output.clear();
                        row.error = error_chain(&e);
                        *journal_it = false;
                    }
                }
                if journaled.is_ok() {
                    let entries = rows
                        .iter()
                        .filter(|(_, _, j)| *j)
                        .map(|(i, row, _)| (jobs[*i].key.clone(), row.clone()))
                        .collect();
                    journaled = journal.record_all(entries);
                }
                done.extend(rows.into_iter().map(|(i, row, _)| (i, row)));
            }
            (done, journaled)
        });
        pool.install(|| todo.par_iter().for_each_with(to_commit, run));
        committer
            .join()
            .expect("the committer thread does not panic")
    });
    let converted = done.len();
    for (i, row) in done {
        rows[i] = Some(row);
    }
    let rows: Vec<BatchRow> = rows.into_iter().flatten().collect();
    let manifest = output.join(shard.part_name(MANIFEST));
    write_manifest(&manifest, &rows)?;
    journaled?;
    Ok(BatchReport {
        rows,
        manifest,
        resumed,
        converted,
    })
}

fn write_manifest(path: &Path, rows: &[BatchRow]) -> Result<()> {
    let csv_err = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    cxr_core::write_csv(path, &COLUMNS, rows).map_err(|e| match e {
        cxr_core::Error::Csv { source, .. } => csv_err(source),
        other => Error::Write {
            path: path.to_path_buf(),
            source: Box::new(other),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_names() {
        assert_eq!(png_name(Path::new("a/b.dcm")), Path::new("a/b.png"));
        assert_eq!(png_name(Path::new("a/B.DCM")), Path::new("a/B.png"));
        assert_eq!(png_name(Path::new("IM0001")), Path::new("IM0001.png"));
        assert_eq!(png_name(Path::new("x.1.2")), Path::new("x.1.2.png"));
    }
}
