//! Reading the sources' metadata tables: decoding (UTF-8 or ISO-8859-1), delimiter check,
//! columns matched by name case- and space-insensitively, rows with their line numbers.
//! Small tables read whole (labels, clinical exports, several delimiters and encodings);
//! [`crate::stream`] reads the large comma-separated ones row by row.

use std::path::{Path, PathBuf};

use cxr_core::{ExclusionReason, ScanError};

/// How a table's bytes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8; an invalid byte is a [`ScanError::Table`] naming line and column.
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value (cannot fail).
    Latin1,
    /// UTF-8 when the whole file is valid UTF-8, ISO-8859-1 otherwise ("ANSI" exports).
    Utf8OrLatin1,
}

/// Decodes `bytes` (a leading UTF-8 byte-order mark is dropped).
pub fn decode(bytes: &[u8], encoding: Encoding, path: &Path) -> Result<String, ScanError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let latin1 = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    match encoding {
        Encoding::Latin1 => Ok(latin1(bytes)),
        Encoding::Utf8OrLatin1 => Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => latin1(bytes),
        }),
        Encoding::Utf8 => std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            ScanError::Table {
                path: path.to_path_buf(),
                line: Some(line),
                problem: format!(
                    "column {column}: invalid UTF-8 byte 0x{:02X} (bad encoding)",
                    bytes[e.valid_up_to()]
                ),
            }
        }),
    }
}

/// Largest table accepted from a `.gz` file, unpacked.
const MAX_GUNZIPPED: u64 = 4 << 30;

/// Whether `path` names a gzipped file (`….gz`, any case).
pub fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("gz"))
}

fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, ScanError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_GUNZIPPED + 1)
        .read_to_end(&mut out)
        .map_err(|e| ScanError::Table {
            path: path.to_path_buf(),
            line: None,
            problem: format!("not a readable gzip file: {e}"),
        })?;
    if out.len() as u64 > MAX_GUNZIPPED {
        return Err(ScanError::Table {
            path: path.to_path_buf(),
            line: None,
            problem: format!("unpacks to more than {} GiB", MAX_GUNZIPPED >> 30),
        });
    }
    Ok(out)
}

/// A header name reduced for matching: lower case, all white space removed.
pub fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// One data row of a table.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// The fields, as written (not trimmed).
    pub fields: Vec<String>,
}

impl Row {
    /// Field `c`, trimmed; empty when the row is short.
    pub fn get(&self, c: usize) -> &str {
        self.fields.get(c).map_or("", |s| s.trim())
    }

    /// Field at an optional column, trimmed; empty when absent.
    pub fn opt(&self, c: Option<usize>) -> &str {
        c.map_or("", |c| self.get(c))
    }
}

/// A delimited table read whole.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// Header names as written.
    pub headers: Vec<String>,
    /// Header names reduced by [`norm`].
    normed: Vec<String>,
    /// Data rows.
    pub rows: Vec<Row>,
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

fn show(d: u8) -> &'static str {
    match d {
        b',' => "`,`",
        b';' => "`;`",
        b'\t' => "tab",
        b'|' => "`|`",
        _ => "?",
    }
}

impl Table {
    /// Reads and decodes `path`, splitting on `delimiter`. A name ending in `.gz` is
    /// gunzipped first (PadChest ships its table that way).
    pub fn read(path: &Path, delimiter: u8, encoding: Encoding) -> Result<Table, ScanError> {
        let mut bytes = std::fs::read(path).map_err(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if is_gzip_name(path) {
            bytes = gunzip(&bytes, path)?;
        }
        let text = decode(&bytes, encoding, path)?;
        Table::parse(path, &text, delimiter)
    }

    /// Parses already decoded text.
    pub fn parse(path: &Path, text: &str, delimiter: u8) -> Result<Table, ScanError> {
        let table_err = |line: Option<u64>, problem: String| ScanError::Table {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        // 1-based line of a byte offset (csv's own line count skips blank lines).
        let newlines: Vec<usize> = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i)
            .collect();
        // A record's position is where the reader resumed, before any blank lines it
        // skipped: step over them first.
        let line_of = |byte: u64| {
            let skip = text.as_bytes()[(byte as usize).min(text.len())..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            let byte = byte as usize + skip;
            newlines.partition_point(|&n| n < byte) as u64 + 1
        };
        let mut records = rdr.records();
        let headers: Vec<String> = match records.next() {
            None => return Err(table_err(Some(1), "empty file: no header line".into())),
            Some(Err(e)) => return Err(table_err(Some(1), e.to_string())),
            Some(Ok(r)) => r.iter().map(str::to_owned).collect(),
        };
        if let (1, Some(&other)) = (
            headers.len(),
            DELIMITERS
                .iter()
                .find(|&&d| d != delimiter && headers[0].contains(char::from(d))),
        ) {
            return Err(table_err(
                Some(1),
                format!(
                    "wrong delimiter: expected {} but the header is separated by {}",
                    show(delimiter),
                    show(other)
                ),
            ));
        }
        let mut rows = Vec::new();
        for r in records {
            let r = r.map_err(|e| {
                let line = e.position().map(|p| line_of(p.byte()));
                table_err(line, e.to_string())
            })?;
            let line = r.position().map_or(0, |p| line_of(p.byte()));
            // Skip blank lines (a trailing newline, an empty last line).
            if r.len() == 1 && r[0].trim().is_empty() {
                continue;
            }
            rows.push(Row {
                line,
                fields: r.iter().map(str::to_owned).collect(),
            });
        }
        let normed = headers.iter().map(|h| norm(h)).collect();
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            normed,
            rows,
        })
    }

    /// The first column whose reduced name equals one of `names` (given reduced).
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.normed.iter().position(|h| h == n))
    }

    /// Like [`col`](Table::col), but a missing column is a [`ScanError::Table`] on line 1.
    pub fn need(&self, names: &[&str]) -> Result<usize, ScanError> {
        self.col(names).ok_or_else(|| ScanError::Table {
            path: self.path.clone(),
            line: Some(1),
            problem: format!("missing column `{}`", names[0]),
        })
    }

    /// Number of header fields, not counting empty trailing ones (a trailing delimiter).
    pub fn width(&self) -> usize {
        self.headers.len()
            - self
                .headers
                .iter()
                .rev()
                .take_while(|h| h.trim().is_empty())
                .count()
    }

    /// `Some(reason)` when `row` has fewer fields than the header (a truncated row) or
    /// more (an unquoted delimiter inside a value).
    pub fn check_width(&self, row: &Row) -> Option<ExclusionReason> {
        let n = row.fields.len();
        let (lo, hi) = (self.width(), self.headers.len());
        if n < lo {
            Some(ExclusionReason::MalformedRow {
                detail: format!("line {}: {n} fields, the header has {lo}", row.line),
            })
        } else if n > hi.max(lo) {
            Some(ExclusionReason::MalformedRow {
                detail: format!("line {}: {n} fields, the header has {hi}", row.line),
            })
        } else {
            None
        }
    }
}

/// Parses a Python list literal of strings (`['a', ' b']`, `["x"]`, `[]`) as PadChest
/// and BIMCV write them; items are trimmed and empty items dropped. `None` for blank,
/// `nan` or `None` text; `Err` (with what is wrong) for anything else that is not such a
/// list.
pub fn python_list(text: &str) -> Result<Option<Vec<String>>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("nan") || t == "None" {
        return Ok(None);
    }
    let inner = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("`{t}` is not a list literal"))?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(q) = chars.next() else { break };
        if q != '\'' && q != '"' {
            return Err(format!("unquoted item in `{t}`"));
        }
        let mut item = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("unterminated string in `{t}`")),
                Some('\\') => item.extend(chars.next()),
                Some(c) if c == q => break,
                Some(c) => item.push(c),
            }
        }
        let item = item.trim();
        if !item.is_empty() {
            items.push(item.to_owned());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => return Err(format!("unexpected `{c}` in `{t}`")),
        }
    }
    Ok(Some(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_lists() {
        assert_eq!(
            python_list("['normal']").unwrap(),
            Some(vec!["normal".to_owned()])
        );
        assert_eq!(
            python_list("['pulmonary fibrosis', ' chronic changes', \"kyphosis\"]").unwrap(),
            Some(vec![
                "pulmonary fibrosis".to_owned(),
                "chronic changes".to_owned(),
                "kyphosis".to_owned()
            ])
        );
        assert_eq!(python_list("[]").unwrap(), Some(vec![]));
        assert_eq!(
            python_list("['', 'a']").unwrap(),
            Some(vec!["a".to_owned()])
        );
        assert_eq!(python_list(" nan ").unwrap(), None);
        assert_eq!(python_list("").unwrap(), None);
        assert!(python_list("['a'").is_err());
        assert!(python_list("['a").is_err());
        assert!(python_list("[a]").is_err());
        assert!(python_list("['a' 'b']").is_err());
    }

    #[test]
    fn decoding_reports_line_and_column() {
        let p = Path::new("t.csv");
        let e = decode(b"a,b\nx,\xE9t\xE9\n", Encoding::Utf8, p).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 2") && msg.contains("column 3"), "{msg}");
        assert_eq!(
            decode(b"EDAD|SEXO\n\xD1\n", Encoding::Latin1, p).unwrap(),
            "EDAD|SEXO\n\u{D1}\n"
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBFa\n", Encoding::Utf8OrLatin1, p).unwrap(),
            "a\n"
        );
        assert_eq!(
            decode(b"a\xE9\n", Encoding::Utf8OrLatin1, p).unwrap(),
            "a\u{E9}\n"
        );
    }

    #[test]
    fn columns_match_by_name_and_wrong_delimiters_are_named() {
        let p = Path::new("t.csv");
        let t = Table::parse(p, "PATIENT ID;EDAD/AGE\n1;2\n\n3\n", b';').unwrap();
        assert_eq!(t.col(&["patientid"]), Some(0));
        assert_eq!(t.col(&["edad/age"]), Some(1));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].line, 4);
        assert!(t.check_width(&t.rows[1]).is_some());
        let e = t.need(&["sexo/sex"]).unwrap_err().to_string();
        assert!(
            e.contains("missing column `sexo/sex`") && e.contains("line 1"),
            "{e}"
        );
        let e = Table::parse(p, "a,b,c\n1,2,3\n", b';')
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong delimiter"), "{e}");
        assert!(Table::parse(p, "", b',').is_err());
    }
}
