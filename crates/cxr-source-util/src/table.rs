//! The one reader of the sources' metadata tables. A [`Table`] is opened on a file with
//! its delimiter (`,`, `;`, tab, `|`) and [`Encoding`], a `.gz` name gunzipped on the
//! way; its header names the columns, found by [`norm`]ed name; its rows come one at a
//! time ([`Table::next_row`]: NIH's 112,120 rows and PadChest's 160,000 are never held
//! whole) or all at once ([`Table::read`], for lookup tables). Every row carries the line
//! it starts on, counted from byte offsets, so blank lines and CRLF endings do not shift
//! it (the csv crate's own line count does both). Every error is a [`ScanError`] naming
//! the file and the line, and a column where there is one.
//!
//! UTF-8 tables are read straight from the file (through the gzip decoder for `.gz`);
//! ISO-8859-1 ones, and "UTF-8 or else ISO-8859-1" ones (which must be seen whole to
//! choose), are decoded in memory first ([`decode`]).

use std::io::{self, Read};
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
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
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
                problem: bad_byte(column as u64, bytes[e.valid_up_to()]),
            }
        }),
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn bad_byte(column: u64, byte: u8) -> String {
    format!("column {column}: invalid UTF-8 byte 0x{byte:02X} (bad encoding)")
}

/// Largest table accepted from a `.gz` file, unpacked.
const MAX_GUNZIPPED: u64 = 4 << 30;

fn too_big() -> String {
    format!("unpacks to more than {} GiB", MAX_GUNZIPPED >> 30)
}

/// Whether `path` names a gzipped file (`….gz`, any case).
pub fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("gz"))
}

fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, ScanError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_GUNZIPPED + 1)
        .read_to_end(&mut out)
        .map_err(|e| table_error(path, None, format!("not a readable gzip file: {e}")))?;
    if out.len() as u64 > MAX_GUNZIPPED {
        return Err(table_error(path, None, too_big()));
    }
    Ok(out)
}

fn table_error(path: &Path, line: Option<u64>, problem: String) -> ScanError {
    ScanError::Table {
        path: path.to_path_buf(),
        line,
        problem,
    }
}

/// A header name reduced for matching: lower case, with white space, underscores and a
/// byte-order mark removed (`Patient ID`, `patient_id` and `PatientID` are all
/// `patientid`).
pub fn norm(name: &str) -> String {
    name.chars()
        .filter(|&c| !c.is_whitespace() && c != '_' && c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One row of a table.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    fields: csv::StringRecord,
}

impl Row {
    /// Field `c`, trimmed; empty when the row is short.
    pub fn get(&self, c: usize) -> &str {
        self.fields.get(c).map_or("", str::trim)
    }

    /// Field at an optional column, trimmed; empty when absent.
    pub fn opt(&self, c: Option<usize>) -> &str {
        c.map_or("", |c| self.get(c))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether every field is empty or ASCII white space (a stray `,,,,` line).
    pub fn is_blank(&self) -> bool {
        self.fields
            .iter()
            .all(|f| f.bytes().all(|b| b.is_ascii_whitespace()))
    }

    /// Whether the row is a line of white space only (one field, blank once trimmed):
    /// not a data row. [`Table::read`] leaves such lines out; [`Table::next_row`] yields
    /// them, for the caller to count or skip.
    pub fn is_blank_line(&self) -> bool {
        self.len() == 1 && self.get(0).is_empty()
    }
}

/// The bytes of a table on their way to the csv reader, with what is needed to number
/// lines and place an invalid byte: the bytes from the start of the current record on
/// (the reader's look-ahead included), the line and column where they start.
struct Bytes {
    inner: Box<dyn Read>,
    /// Decoding a `.gz` file: a read error is a damaged archive, and the unpacked size
    /// is capped.
    gzip: bool,
    /// Bytes handed out: `kept[start..]` begin at stream offset `base`.
    kept: Vec<u8>,
    start: usize,
    base: u64,
    /// 1-based line of the byte at `base`.
    line: u64,
    /// Characters between the last line feed before `base` and `base`.
    column: u64,
    /// Bytes handed out in all.
    total: u64,
    /// Bytes and fields of the last record read.
    record_size: (usize, usize),
}

impl Read for Bytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.gzip && self.total > MAX_GUNZIPPED {
            return Err(io::Error::other(too_big()));
        }
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

fn line_feeds(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Characters in valid UTF-8 `bytes` (continuation bytes not counted).
fn chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

impl Bytes {
    /// `inner`'s bytes, a leading byte-order mark dropped when `strip_bom`.
    fn new(mut inner: Box<dyn Read>, gzip: bool, strip_bom: bool) -> io::Result<Bytes> {
        if strip_bom {
            let mut head = Vec::with_capacity(BOM.len());
            (&mut inner).take(BOM.len() as u64).read_to_end(&mut head)?;
            if head == BOM {
                head.clear();
            }
            inner = Box::new(io::Cursor::new(head).chain(inner));
        }
        Ok(Bytes {
            inner,
            gzip,
            kept: Vec::new(),
            start: 0,
            base: 0,
            line: 1,
            column: 0,
            total: 0,
            record_size: (0, 0),
        })
    }

    /// Drops the bytes before stream offset `to` (where the next record starts),
    /// counting their lines and the characters of the last one.
    fn forget(&mut self, to: u64) {
        let n = usize::try_from(to - self.base).expect("the reader's position is kept");
        let gone = &self.kept[self.start..self.start + n];
        match gone.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                self.line += line_feeds(gone);
                self.column = chars(&gone[i + 1..]);
            }
            None => self.column += chars(gone),
        }
        self.start += n;
        self.base = to;
        if self.start >= 1 << 16 && self.start * 2 >= self.kept.len() {
            self.kept.drain(..self.start);
            self.start = 0;
        }
    }

    /// The bytes from `base` (the current record's position) to stream offset `to`.
    fn since_base(&self, to: u64) -> &[u8] {
        let n = usize::try_from(to - self.base).expect("the reader's position is kept");
        &self.kept[self.start..self.start + n]
    }

    /// Line of the record at `base`: the reader skips the blank lines before it.
    fn record_line(&self) -> u64 {
        let skipped = self.kept[self.start..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n');
        self.line + skipped.filter(|&&b| b == b'\n').count() as u64
    }

    /// Line, column and value of the first invalid UTF-8 byte of the record that ends
    /// at stream offset `end`, if it has one.
    fn invalid_utf8(&self, end: u64) -> Option<(u64, u64, u8)> {
        let raw = self.since_base(end);
        let e = std::str::from_utf8(raw).err()?;
        let good = &raw[..e.valid_up_to()];
        let column = match good.iter().rposition(|&b| b == b'\n') {
            Some(i) => chars(&good[i + 1..]),
            None => self.column + chars(good),
        };
        Some((
            self.line + line_feeds(good),
            column + 1,
            raw[e.valid_up_to()],
        ))
    }
}

/// A delimited table: its header, and its rows read one at a time ([`Table::next_row`])
/// or all at once ([`Table::read`], into [`Table::rows`]).
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// Header names as written.
    pub headers: Vec<String>,
    /// Header names reduced by [`norm`].
    normed: Vec<String>,
    /// Data rows collected by [`Table::read`] or [`Table::parse`] (lines of white space
    /// left out); empty for a table opened with [`Table::open`].
    pub rows: Vec<Row>,
    /// The rows not read yet; `None` once all are.
    reader: Option<csv::Reader<Bytes>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("rows", &self.rows.len())
            .field("done", &self.reader.is_none())
            .finish()
    }
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
    /// Opens `path` and reads its header, splitting on `delimiter`; the rows are then read
    /// with [`next_row`](Table::next_row). A name ending in `.gz` is gunzipped (PadChest
    /// ships its table that way). A header that is one field holding another delimiter is
    /// a "wrong delimiter" error.
    pub fn open(path: &Path, delimiter: u8, encoding: Encoding) -> Result<Table, ScanError> {
        let io_error = |source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        };
        let gzip = is_gzip_name(path);
        let bytes = match encoding {
            Encoding::Utf8 => {
                let file = std::fs::File::open(path).map_err(io_error)?;
                let inner: Box<dyn Read> = if gzip {
                    Box::new(flate2::read::MultiGzDecoder::new(file))
                } else {
                    Box::new(file)
                };
                Bytes::new(inner, gzip, true).map_err(|e| read_error(path, gzip, false, e))?
            }
            Encoding::Latin1 | Encoding::Utf8OrLatin1 => {
                let mut raw = std::fs::read(path).map_err(io_error)?;
                if gzip {
                    raw = gunzip(&raw, path)?;
                }
                let text = decode(&raw, encoding, path)?;
                in_memory(text.into_bytes())
            }
        };
        Table::start(path, bytes, delimiter)
    }

    /// [`open`](Table::open)s `path` and reads all its rows into [`rows`](Table::rows),
    /// leaving out lines of white space.
    pub fn read(path: &Path, delimiter: u8, encoding: Encoding) -> Result<Table, ScanError> {
        Table::open(path, delimiter, encoding)?.collect()
    }

    /// Like [`read`](Table::read), from already decoded text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str, delimiter: u8) -> Result<Table, ScanError> {
        Table::start(path, in_memory(text.as_bytes().to_vec()), delimiter)?.collect()
    }

    fn start(path: &Path, bytes: Bytes, delimiter: u8) -> Result<Table, ScanError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(bytes);
        let Some(header) = next_record(&mut reader, path, &[])? else {
            return Err(table_error(path, Some(1), "empty file: no header".into()));
        };
        let headers: Vec<String> = header.fields.iter().map(str::to_owned).collect();
        if let (1, Some(&other)) = (
            headers.len(),
            DELIMITERS
                .iter()
                .find(|&&d| d != delimiter && headers[0].contains(char::from(d))),
        ) {
            return Err(table_error(
                path,
                Some(1),
                format!(
                    "wrong delimiter: expected {} but the header is separated by {}",
                    show(delimiter),
                    show(other)
                ),
            ));
        }
        Ok(Table {
            path: path.to_path_buf(),
            normed: headers.iter().map(|h| norm(h)).collect(),
            headers,
            rows: Vec::new(),
            reader: Some(reader),
        })
    }

    fn collect(mut self) -> Result<Table, ScanError> {
        while let Some(row) = self.next_row()? {
            if !row.is_blank_line() {
                self.rows.push(row);
            }
        }
        Ok(self)
    }

    /// The next row, `None` at the end (a row collected by [`read`](Table::read) is not
    /// read again). Empty lines are skipped; a line of white space is a row (see
    /// [`Row::is_blank_line`]).
    pub fn next_row(&mut self) -> Result<Option<Row>, ScanError> {
        let Some(reader) = &mut self.reader else {
            return Ok(None);
        };
        let row = next_record(reader, &self.path, &self.headers)?;
        if row.is_none() {
            self.reader = None;
        }
        Ok(row)
    }

    /// The first column whose [`norm`]ed name equals that of one of `names`, tried in
    /// order.
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            let n = norm(n);
            self.normed.iter().position(|h| *h == n)
        })
    }

    /// Like [`col`](Table::col), but a missing column is a [`ScanError::Table`] on line 1
    /// naming `names[0]` and showing the header.
    pub fn need(&self, names: &[&str]) -> Result<usize, ScanError> {
        self.col(names).ok_or_else(|| {
            let shown: Vec<&str> = self.headers.iter().map(|h| h.trim()).collect();
            let shown = shown.join(", ");
            let shown = if shown.chars().count() > 120 {
                shown.chars().take(120).chain("…".chars()).collect()
            } else {
                shown
            };
            table_error(
                &self.path,
                Some(1),
                format!(
                    "missing column `{}` (header has {} field(s): `{shown}`)",
                    names[0],
                    self.headers.len()
                ),
            )
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
        let n = row.len();
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

fn in_memory(text: Vec<u8>) -> Bytes {
    Bytes::new(Box::new(io::Cursor::new(text)), false, false)
        .expect("reading from memory cannot fail")
}

/// A failed read of `path`: the file itself, or a `.gz` one that is damaged or unpacks
/// to too much.
fn read_error(path: &Path, gzip: bool, too_much: bool, e: io::Error) -> ScanError {
    if !gzip {
        ScanError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    } else if too_much {
        table_error(path, None, too_big())
    } else {
        table_error(path, None, format!("not a readable gzip file: {e}"))
    }
}

/// The next record of `reader` as a row, its line counted from byte offsets; every byte
/// of it checked to be UTF-8 (`headers` name the column of a bad one).
fn next_record(
    reader: &mut csv::Reader<Bytes>,
    path: &Path,
    headers: &[String],
) -> Result<Option<Row>, ScanError> {
    let start = reader.position().byte();
    reader.get_mut().forget(start);
    // Sized like the previous record: growing field by field costs more than the read.
    let (size, fields) = reader.get_ref().record_size;
    let mut record = csv::ByteRecord::with_capacity(size.min(1 << 16), fields.min(1 << 10));
    let more = reader.read_byte_record(&mut record).map_err(|e| {
        let bytes = reader.get_ref();
        match e.into_kind() {
            csv::ErrorKind::Io(e) => read_error(path, bytes.gzip, bytes.total > MAX_GUNZIPPED, e),
            other => table_error(path, Some(bytes.line), format!("{other:?}")),
        }
    })?;
    if !more {
        return Ok(None);
    }
    let end = reader.position().byte();
    let bytes = reader.get_mut();
    bytes.record_size = (record.as_slice().len(), record.len());
    let line = bytes.record_line();
    let bad = bytes.invalid_utf8(end);
    let fields = csv::StringRecord::from_byte_record(record);
    let field = fields.as_ref().err().map(|e| {
        let i = e.utf8_error().field();
        match headers.get(i) {
            Some(name) => format!(", in table column {} (`{}`)", i + 1, name.trim()),
            None => format!(", in table column {}", i + 1),
        }
    });
    match (fields, bad) {
        (Ok(fields), None) => Ok(Some(Row { line, fields })),
        (_, Some((line, column, byte))) => Err(table_error(
            path,
            Some(line),
            bad_byte(column, byte) + field.as_deref().unwrap_or_default(),
        )),
        // Not reached: the fields are the record's bytes less quotes.
        (Err(_), None) => Err(table_error(
            path,
            Some(line),
            format!("invalid UTF-8 (bad encoding){}", field.unwrap_or_default()),
        )),
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

    #[test]
    fn header_names_normalise() {
        assert_eq!(norm(" url"), "url");
        assert_eq!(norm("Patientid"), "patientid");
        assert_eq!(norm("clinical notes"), "clinicalnotes");
        assert_eq!(norm("Clinical_Notes "), "clinicalnotes");
        assert_eq!(norm("\u{feff}patientid"), "patientid");
        assert_eq!(norm("RT_PCR_positive"), "rtpcrpositive");
        assert_eq!(norm(""), "");
    }
}
