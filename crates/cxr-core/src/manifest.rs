//! The records table (`records.csv`) and the exclusions table (`exclusions.csv`).
//!
//! `records.csv` columns: `source,patient_id,image_id,path,label,view,study_date,age,sex`,
//! then `label_reason,day_offset`, then one column per extra field (sorted). Paths are
//! written relative to the CSV's folder when they lie below it, and read back relative
//! to it. Columns are matched by name, case- and space-insensitively; unknown columns
//! become extras.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::{Error, ParseError, Result};
use crate::record::{Exclusion, ImageRecord, PatientId};
use crate::vocab::{Label, Sex, SourceId, View};

const FIXED: [&str; 11] = [
    "source",
    "patient_id",
    "image_id",
    "path",
    "label",
    "view",
    "study_date",
    "age",
    "sex",
    "label_reason",
    "day_offset",
];

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn relative_to(path: &Path, base: Option<&Path>) -> String {
    base.and_then(|b| path.strip_prefix(b).ok())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Writes `records` to `path` (atomically).
pub fn write_records(path: &Path, records: &[ImageRecord]) -> Result<()> {
    let base = path.parent();
    let extra_keys: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.extras.keys().map(String::as_str))
        .filter(|k| !FIXED.contains(k))
        .collect();
    write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        let err = csv_err(path);
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(extra_keys.iter().copied())
            .collect();
        out.write_record(&header).map_err(&err)?;
        for r in records {
            let opt = |v: Option<String>| v.unwrap_or_default();
            let mut row = vec![
                r.source.to_string(),
                r.patient.to_string(),
                r.image_id.clone(),
                relative_to(&r.path, base),
                r.label.to_string(),
                r.view.to_string(),
                opt(r.study_date.map(|d| d.to_string())),
                opt(r.age.map(|a| a.to_string())),
                opt(r.sex.map(|s| s.to_string())),
                r.label_reason.clone(),
                opt(r.day_offset.map(|d| d.to_string())),
            ];
            row.extend(
                extra_keys
                    .iter()
                    .map(|k| r.extras.get(*k).cloned().unwrap_or_default()),
            );
            out.write_record(&row).map_err(&err)?;
        }
        out.flush().map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Reads a records table written by [`write_records`] (or by hand, with at least the
/// columns `source,patient_id,image_id,path,label,view`). A `patient_id` may carry a
/// `source:` prefix (as written) or none (it then belongs to the row's `source`).
///
/// # Errors
/// [`Error::Csv`] for an unreadable file, [`Error::MissingColumn`], and
/// [`Error::BadField`] for a field that does not parse, an `age` that is not a finite
/// number ≥ 0, a `patient_id` whose prefix differs from the `source` column, or an
/// `image_id` a `source` already listed on an earlier row.
pub fn read_records(path: &Path) -> Result<Vec<ImageRecord>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_records(file, path)
}

/// [`read_records`] on any reader; `path` names the table in errors, and relative image
/// paths are relative to its folder.
pub fn parse_records<R: std::io::Read>(reader: R, path: &Path) -> Result<Vec<ImageRecord>> {
    let err = csv_err(path);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(&err)?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_owned(),
        })
    };
    let (c_source, c_patient, c_image, c_path, c_label, c_view) = (
        need("source")?,
        need("patient_id")?,
        need("image_id")?,
        need("path")?,
        need("label")?,
        need("view")?,
    );
    let (c_date, c_age, c_sex, c_reason, c_offset) = (
        col("study_date"),
        col("age"),
        col("sex"),
        col("label_reason"),
        col("day_offset"),
    );
    let base = path.parent().unwrap_or(Path::new(""));
    let mut records = Vec::new();
    // (source, image id) identifies an image everywhere downstream (masks, splits,
    // predictions): a second row for it would silently replace the first.
    let mut seen = std::collections::HashSet::new();
    for row in rdr.records() {
        let row = row.map_err(&err)?;
        let line = row.position().map_or(0, |p| p.line());
        let bad = |column: usize, source: ParseError| Error::BadField {
            path: path.to_path_buf(),
            line,
            column: headers[column].clone(),
            source,
        };
        let field = |c: usize| row.get(c).unwrap_or("").trim();
        let optional = |c: Option<usize>| c.map(field).filter(|s| !s.is_empty());
        let source: SourceId = field(c_source).parse().map_err(|e| bad(c_source, e))?;
        let patient = PatientId::parse_with_default(field(c_patient), source)
            .map_err(|e| bad(c_patient, e))?;
        if patient.source != source {
            // The record would belong to one source and its patient to another.
            return Err(bad(
                c_patient,
                ParseError::new(
                    "patient id",
                    field(c_patient),
                    "no prefix or the `source` column's; the prefix differs from it",
                ),
            ));
        }
        if !seen.insert((source, field(c_image).to_owned())) {
            return Err(bad(
                c_image,
                ParseError::new(
                    "image id",
                    field(c_image),
                    "an image id listed once per source; it is on an earlier row too",
                ),
            ));
        }
        let label: Label = field(c_label).parse().map_err(|e| bad(c_label, e))?;
        let view: View = field(c_view).parse().map_err(|e| bad(c_view, e))?;
        let image_path = PathBuf::from(field(c_path));
        let image_path = if image_path.is_relative() {
            base.join(image_path)
        } else {
            image_path
        };
        let mut r = ImageRecord::new(
            patient,
            field(c_image),
            image_path,
            label,
            c_reason.map(field).unwrap_or(""),
            view,
        );
        if let Some(s) = optional(c_date) {
            r.study_date = Some(s.parse().map_err(|e| bad(c_date.unwrap_or(0), e))?);
        }
        if let Some(s) = optional(c_age) {
            let age = crate::age::age_years(s).ok_or_else(|| {
                bad(
                    c_age.unwrap_or(0),
                    ParseError::new("age", s, "a finite number of years ≥ 0"),
                )
            })?;
            r.age = Some(age);
        }
        if let Some(s) = optional(c_sex) {
            r.sex = Some(s.parse::<Sex>().map_err(|e| bad(c_sex.unwrap_or(0), e))?);
        }
        if let Some(s) = optional(c_offset) {
            let d: i32 = s.parse().map_err(|_| {
                bad(
                    c_offset.unwrap_or(0),
                    ParseError::new("day offset", s, "an integer"),
                )
            })?;
            r.day_offset = Some(d);
        }
        for (i, h) in headers.iter().enumerate() {
            if !FIXED.contains(&h.as_str()) {
                let v = field(i);
                if !v.is_empty() {
                    r.extras.insert(h.clone(), v.to_owned());
                }
            }
        }
        records.push(r);
    }
    Ok(records)
}

/// Writes `exclusions` to `path` (atomically) with columns `source,file,row,path,reason,detail`
/// where `reason` is the reason's kind (`not_frontal`, …) and `detail` its full text.
pub fn write_exclusions(path: &Path, exclusions: &[Exclusion]) -> Result<()> {
    let base = path.parent();
    write_atomic(path, |w| {
        let err = csv_err(path);
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["source", "file", "row", "path", "reason", "detail"])
            .map_err(&err)?;
        for e in exclusions {
            out.write_record([
                e.source.to_string(),
                e.file
                    .as_deref()
                    .map(|p| relative_to(p, base))
                    .unwrap_or_default(),
                e.row.map(|r| r.to_string()).unwrap_or_default(),
                e.path
                    .as_deref()
                    .map(|p| relative_to(p, base))
                    .unwrap_or_default(),
                e.reason.kind().to_owned(),
                e.reason.to_string(),
            ])
            .map_err(&err)?;
        }
        out.flush().map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::StudyDate;
    use crate::record::ExclusionReason;

    fn sample(dir: &Path) -> Vec<ImageRecord> {
        let mut a = ImageRecord::new(
            PatientId::new(SourceId::CovidIdc, "311a"),
            "img-1",
            dir.join("images/a.png"),
            Label::Covid,
            "finding=COVID-19, ARDS",
            View::ApSupine,
        );
        a.study_date = StudyDate::from_ymd(2020, 3, 19);
        a.age = Some(65.5);
        a.sex = Some(Sex::Male);
        a.extras.insert("mask_path".into(), "masks/a.png".into());
        let mut b = ImageRecord::new(
            PatientId::new(SourceId::NlmTb, "CHNCXR_0001"),
            "CHNCXR_0001_0",
            "/abs/CHNCXR_0001_0.png",
            Label::Healthy,
            "file suffix _0",
            View::Pa,
        );
        b.day_offset = Some(-2);
        vec![a, b]
    }

    #[test]
    fn records_round_trip_with_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.csv");
        let recs = sample(dir.path());
        write_records(&p, &recs).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "source,patient_id,image_id,path,label,view,study_date,age,sex,label_reason,day_offset,mask_path"
        );
        assert_eq!(
            lines.next().unwrap(),
            "covid-idc,covid-idc:311a,img-1,images/a.png,covid,AP Supine,2020-03-19,65.5,M,\"finding=COVID-19, ARDS\",,masks/a.png"
        );
        assert_eq!(read_records(&p).unwrap(), recs);
    }

    /// A manifest of the user's own: a source without an adapter and views nobody
    /// recorded are read, the patients namespaced by that source.
    #[test]
    fn a_user_source_and_unrecorded_views_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.csv");
        std::fs::write(
            &p,
            "source,patient_id,image_id,path,label,view\n\
             my-hospital,17,a,a.png,covid,\n\
             my-hospital,my-hospital:18,b,b.png,healthy,unknown\n\
             Actualmed,17,c,c.png,covid,AP\n",
        )
        .unwrap();
        let r = read_records(&p).unwrap();
        let mine: SourceId = "my-hospital".parse().unwrap();
        assert_eq!(r[0].source, mine);
        assert_eq!(r[0].patient.to_string(), "my-hospital:17");
        assert_eq!(r[0].view, View::Unknown);
        assert_eq!(r[1].patient.to_string(), "my-hospital:18");
        assert_eq!(r[2].source.as_str(), "actualmed");
        // Two sources' patient 17 are two patients.
        assert_ne!(r[0].patient, r[2].patient);
        // Written back, read again: the same records.
        write_records(&p, &r).unwrap();
        assert_eq!(read_records(&p).unwrap(), r);
        // A name that cannot be a source says what a source name may be.
        std::fs::write(
            &p,
            "source,patient_id,image_id,path,label,view\nmy hospital,1,a,a.png,covid,PA\n",
        )
        .unwrap();
        let e = read_records(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("a name of your own"),
            "{e}"
        );
    }

    #[test]
    fn bad_fields_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        std::fs::write(
            &p,
            "source,patient_id,image_id,path,label,view\n\
             qmenta,1,a,a.png,healthy,PA\n\
             qmenta,2,b,b.png,viral,PA\n",
        )
        .unwrap();
        let e = read_records(&p).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("m.csv") && msg.contains("line 3") && msg.contains("`label`"),
            "{msg}"
        );
        std::fs::write(&p, "source,patient_id,image_id,path,label\n").unwrap();
        let e = read_records(&p).unwrap_err();
        assert!(matches!(e, Error::MissingColumn { ref column, .. } if column == "view"));
    }

    /// Writes `rows` under the minimal header plus `age` and reads them back.
    fn read_rows(rows: &str) -> Result<Vec<ImageRecord>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        std::fs::write(
            &p,
            format!("source,patient_id,image_id,path,label,view,age\n{rows}"),
        )
        .unwrap();
        read_records(&p)
    }

    /// (line, column, refused value) of a `BadField` error.
    fn bad_field(e: &Error) -> (u64, &str, &str) {
        match e {
            Error::BadField {
                line,
                column,
                source,
                ..
            } => (*line, column.as_str(), source.value.as_str()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ages_must_be_finite_and_not_negative() {
        for bad in [
            "NaN", "nan", "inf", "-inf", "infinity", "-3", "-0.5", "1e40", "abc",
        ] {
            let e = read_rows(&format!(
                "qmenta,1,a,a.png,healthy,PA,40\nqmenta,2,b,b.png,healthy,PA,{bad}\n"
            ))
            .unwrap_err();
            assert_eq!(bad_field(&e), (3, "age", bad), "{bad}");
            assert!(e.to_string().contains("finite number of years"), "{e}");
        }
        let ok =
            read_rows("qmenta,1,a,a.png,healthy,PA,0\nqmenta,2,b,b.png,healthy,PA,63.5\n").unwrap();
        assert_eq!(ok[0].age, Some(0.0));
        assert_eq!(ok[1].age, Some(63.5));
    }

    #[test]
    fn patient_prefix_must_match_the_source_column() {
        let e = read_rows(
            "covid-idc,covid-idc:p7,img6,a.png,covid,PA,\npadchest,covid-idc:p7,img7,b.png,covid,PA,\n",
        )
        .unwrap_err();
        assert_eq!(bad_field(&e), (3, "patient_id", "covid-idc:p7"));
        assert!(e.to_string().contains("differs"), "{e}");
        // A matching prefix, or none, gives the row's source to record and patient.
        let ok = read_rows(
            "padchest,padchest:p7,img7,b.png,covid,PA,\npadchest,p8,img8,c.png,covid,PA,\n",
        )
        .unwrap();
        for (r, local) in ok.iter().zip(["p7", "p8"]) {
            assert_eq!(r.source, SourceId::Padchest);
            assert_eq!(r.patient, PatientId::new(SourceId::Padchest, local));
        }
    }

    #[test]
    fn an_image_listed_twice_for_its_source_is_refused() {
        // The same image id under another source is another image.
        let ok = read_rows("padchest,p1,img1,a.png,covid,PA,\ncovid-idc,p1,img1,b.png,covid,PA,\n")
            .unwrap();
        assert_eq!(ok.len(), 2);
        let e = read_rows(
            "padchest,p1,img1,a.png,covid,PA,\npadchest,p2,img2,b.png,healthy,PA,\n\
             padchest,p3,img1,c.png,healthy,PA,\n",
        )
        .unwrap_err();
        assert_eq!(bad_field(&e), (4, "image_id", "img1"));
    }

    #[test]
    fn exclusions_table() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("exclusions.csv");
        let ex = vec![Exclusion {
            source: SourceId::CovidIdc,
            file: Some(dir.path().join("metadata.csv")),
            row: Some(12),
            path: None,
            reason: ExclusionReason::NotFrontal { view: "L".into() },
        }];
        write_exclusions(&p, &ex).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "source,file,row,path,reason,detail\ncovid-idc,metadata.csv,12,,not_frontal,not frontal: view `L`\n"
        );
    }
}

/// Writes `rows` as CSV to `path` atomically, one serialised row per line under a header
/// from the row type's field names; with no rows, the header is `header` (so an empty
/// table still says what it would hold).
pub fn write_csv<T: serde::Serialize>(path: &Path, header: &[&str], rows: &[T]) -> Result<()> {
    write_atomic(path, |w| {
        let mut wr = csv::Writer::from_writer(w);
        if rows.is_empty() {
            wr.write_record(header).map_err(csv_err(path))?;
        }
        for r in rows {
            wr.serialize(r).map_err(csv_err(path))?;
        }
        wr.flush().map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod write_csv_tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        a: u32,
        b: &'static str,
    }

    #[test]
    fn rows_get_their_field_names_and_an_empty_table_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_csv(&p, &["a", "b"], &[Row { a: 1, b: "x,y" }]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a,b\n1,\"x,y\"\n");
        write_csv::<Row>(&p, &["a", "b"], &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a,b\n");
    }
}
