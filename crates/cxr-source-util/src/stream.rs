//! Reading a comma-separated metadata table: columns found by name (case- and
//! space-insensitive), UTF-8 checked per field, rows kept as raw bytes until needed.

use std::path::{Path, PathBuf};

use cxr_core::ScanError;

/// Normalises a column name: trimmed, lower-cased, runs of spaces and underscores
/// written as one `_` (`" url"` → `url`, `clinical notes` → `clinical_notes`).
pub fn normalize_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().trim_start_matches('\u{feff}').trim().chars() {
        if c.is_whitespace() || c == '_' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('_');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A table's header: normalised names in file order.
#[derive(Debug, Clone)]
pub struct Header {
    names: Vec<String>,
}

impl Header {
    /// Index of a column, `None` when absent.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Index of a required column, or a [`ScanError::Table`] naming it and saying what
    /// the header looked like (a wrong delimiter shows up here).
    pub fn require(&self, path: &Path, name: &str) -> Result<usize, ScanError> {
        self.find(name).ok_or_else(|| ScanError::Table {
            path: path.to_path_buf(),
            line: Some(1),
            problem: format!(
                "missing column `{name}` (header has {} field(s): `{}`)",
                self.names.len(),
                truncate(&self.names.join(","), 120)
            ),
        })
    }

    /// Number of header fields, trailing empty ones included.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the header is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Number of fields up to the last non-empty name (a trailing comma adds an empty
    /// column that rows may omit).
    pub fn used_len(&self) -> usize {
        self.names
            .iter()
            .rposition(|n| !n.is_empty())
            .map_or(0, |i| i + 1)
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n).chain("…".chars()).collect()
    }
}

/// An open comma-separated table.
pub struct Table {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    reader: csv::Reader<std::fs::File>,
}

/// One data row: raw fields and the 1-based line it starts on.
pub struct Row {
    /// 1-based line of the row's first character.
    pub line: u64,
    record: csv::ByteRecord,
}

impl Row {
    /// Number of fields in the row.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }

    /// Whether every field is blank.
    pub fn is_blank(&self) -> bool {
        self.record
            .iter()
            .all(|f| f.iter().all(u8::is_ascii_whitespace))
    }

    /// The field at `i`, trimmed; `""` when the row is shorter. Invalid UTF-8 is a
    /// [`ScanError::Table`] naming the file, line and column.
    pub fn get<'a>(&'a self, table: &Table, i: usize) -> Result<&'a str, ScanError> {
        match self.record.get(i) {
            None => Ok(""),
            Some(bytes) => {
                std::str::from_utf8(bytes)
                    .map(str::trim)
                    .map_err(|e| ScanError::Table {
                        path: table.path.clone(),
                        line: Some(self.line),
                        problem: format!(
                            "invalid UTF-8 at byte {} of column {} (`{}`): the file must be UTF-8",
                            e.valid_up_to(),
                            i + 1,
                            table.header.names.get(i).map_or("", String::as_str)
                        ),
                    })
            }
        }
    }
}

impl Table {
    /// Opens `path` and reads its header. A header with a single field that holds `;`,
    /// tab or `|` is reported as a wrong delimiter.
    pub fn open(path: &Path) -> Result<Table, ScanError> {
        let file = std::fs::File::open(path).map_err(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // `\n` alone ends a record: with the default CRLF handling the csv crate
        // reports CRLF files' rows one line early. The `\r` left at the end of the
        // last field is trimmed with the rest of the white space.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(file);
        let mut record = csv::ByteRecord::new();
        let got = reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(path, e))?;
        if !got {
            return Err(ScanError::Table {
                path: path.to_path_buf(),
                line: Some(1),
                problem: "empty file: no header".into(),
            });
        }
        let mut names = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let text = std::str::from_utf8(field).map_err(|e| ScanError::Table {
                path: path.to_path_buf(),
                line: Some(1),
                problem: format!(
                    "invalid UTF-8 at byte {} of header column {}: the file must be UTF-8",
                    e.valid_up_to(),
                    i + 1
                ),
            })?;
            names.push(normalize_header(text));
        }
        if names.len() == 1 {
            let raw = String::from_utf8_lossy(record.get(0).unwrap_or_default()).into_owned();
            if let Some(d) = [';', '\t', '|'].into_iter().find(|d| raw.contains(*d)) {
                return Err(ScanError::Table {
                    path: path.to_path_buf(),
                    line: Some(1),
                    problem: format!(
                        "wrong delimiter: the header is one field containing `{}`; expected comma-separated columns",
                        d.escape_default()
                    ),
                });
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            header: Header { names },
            reader,
        })
    }

    /// The next row, `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<Row>, ScanError> {
        let mut record = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line);
                Ok(Some(Row { line, record }))
            }
            Err(e) => Err(csv_error(&self.path, e)),
        }
    }
}

fn csv_error(path: &Path, e: csv::Error) -> ScanError {
    let line = e.position().map(csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ScanError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => ScanError::Table {
            path: path.to_path_buf(),
            line,
            problem: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_normalise() {
        assert_eq!(normalize_header(" url"), "url");
        assert_eq!(normalize_header("Patientid"), "patientid");
        assert_eq!(normalize_header("clinical notes"), "clinical_notes");
        assert_eq!(normalize_header("Clinical_Notes "), "clinical_notes");
        assert_eq!(normalize_header("\u{feff}patientid"), "patientid");
        assert_eq!(normalize_header("RT_PCR_positive"), "rt_pcr_positive");
        assert_eq!(normalize_header(""), "");
    }
}
