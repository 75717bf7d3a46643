//! The predictions CSV, the one file between a classifier and its evaluation: the row
//! type [`PredictionRow`] and [`write_predictions`] that the classifier writes, and
//! [`read_predictions`] that evaluation (and any other tool's predictions) reads. The
//! columns are declared once, in [`COLUMNS`].
//!
//! # Reading
//! A CSV with header `patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial`
//! (any order; optional extra columns such as `source,age,sex` are accepted and ignored).
//! Labels are `healthy|covid|bacterial`; dates `YYYY-MM-DD` or `YYYYMMDD`, empty (or
//! the older files' `1900-01-01`, [`UNDATED`]) for an image without a study date, which
//! is then a unit of its own (`aggregate`'s module docs). Every row is
//! checked (missing field, unknown label, bad date, probability not a number or outside
//! `[0, 1]`, probabilities not summing to 1 within `1e-3`, an image listed twice) and all
//! bad rows are reported together, each with its line number; nothing is evaluated when
//! any row is bad.

use std::collections::HashMap;
use std::path::Path;

use cxr_core::{ImageRecord, Label, StudyDate};
use serde::{Deserialize, Serialize};

use crate::aggregate::ImagePrediction;
use crate::error::{ClassCountError, ReadError, RowProblem, RowProblemKind};

/// One row of a predictions CSV ([`COLUMNS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// Patient (`source:id`).
    pub patient_id: String,
    /// Study date; empty for a record without one (evaluation makes each undated image
    /// a unit of its own).
    pub study_date: String,
    /// Image id.
    pub image_id: String,
    /// True class (`healthy|covid|bacterial`), empty when unknown.
    pub label: String,
    /// P(healthy).
    pub p_healthy: f32,
    /// P(covid-19).
    pub p_covid: f32,
    /// P(bacterial).
    pub p_bacterial: f32,
    /// Source.
    pub source: String,
    /// Image path.
    pub path: String,
    /// What the image file itself calls for caution about, codes joined by `;`, empty
    /// for none: `for_processing` (a DICOM marked FOR PROCESSING, raw detector data),
    /// `burned_in_annotation` (a DICOM whose pixels carry text), `lungs_near_cut` (the
    /// lung gate's verdict rests on a share within a point of its cut). The prediction
    /// stands; a reader should weigh it. Files written before this column read as empty.
    #[serde(default)]
    pub cautions: String,
}

impl PredictionRow {
    /// Whether the `cautions` cell holds `code` (one of its `;`-separated codes).
    ///
    /// ```
    /// let p = [0.2, 0.5, 0.3];
    /// let mut row = cxr_eval::PredictionRow::unlabelled("a.png".as_ref(), &p).unwrap();
    /// row.cautions = "for_processing;lungs_near_cut".into();
    /// assert!(row.has_caution("lungs_near_cut"));
    /// assert!(!row.has_caution("lungs_near"));
    /// ```
    pub fn has_caution(&self, code: &str) -> bool {
        self.cautions.split(';').any(|c| c == code)
    }

    /// A row for a record and its probabilities (one per class, in [`Label::index`]
    /// order).
    ///
    /// # Errors
    ///
    /// [`ClassCountError`] when `p` does not hold [`Label::COUNT`] values.
    pub fn new(r: &ImageRecord, p: &[f32]) -> Result<Self, ClassCountError> {
        let mut row = PredictionRow::unlabelled(&r.path, p)?;
        row.patient_id = r.patient.to_string();
        row.study_date = r.study_date.map_or_else(String::new, |d| d.to_string());
        row.image_id = r.image_id.clone();
        row.label = r.label.as_str().to_string();
        row.source = r.source.as_str().to_string();
        Ok(row)
    }

    /// A row for an image known only by its path: its name without the image extension
    /// ([`cxr_core::names::image_stem`]) stands for patient and image, the label is
    /// empty.
    ///
    /// # Errors
    ///
    /// [`ClassCountError`] when `p` does not hold [`Label::COUNT`] values.
    pub fn unlabelled(path: &Path, p: &[f32]) -> Result<Self, ClassCountError> {
        if p.len() != Label::COUNT {
            return Err(ClassCountError {
                path: path.to_path_buf(),
                got: p.len(),
            });
        }
        // Renormalise the f32 softmax so the three printed values sum to 1 within 1e-6.
        let s: f32 = p.iter().sum();
        let stem = cxr_core::names::image_stem(path);
        Ok(PredictionRow {
            patient_id: stem.clone(),
            study_date: String::new(),
            image_id: stem,
            label: String::new(),
            p_healthy: p[0] / s,
            p_covid: p[1] / s,
            p_bacterial: p[2] / s,
            source: String::new(),
            path: path.to_string_lossy().into_owned(),
            cautions: String::new(),
        })
    }
}

/// Writes prediction rows as CSV with the header [`COLUMNS`], atomically (a failed
/// write leaves no file).
///
/// # Errors
///
/// The I/O error, naming the file.
pub fn write_predictions(path: &Path, rows: &[PredictionRow]) -> cxr_core::Result<()> {
    cxr_core::write_csv(path, &COLUMNS, rows)
}

/// The study date older prediction files wrote for an image without one; read as "no
/// date" (no radiograph of these sources is from 1900).
pub const UNDATED: &str = "1900-01-01";

/// Tolerance on `p_healthy + p_covid + p_bacterial = 1`.
pub const SUM_TOLERANCE: f64 = 1e-3;

/// The columns of a predictions CSV, in the order [`write_predictions`] writes them:
/// the fields of [`PredictionRow`] (a test keeps the two equal). Evaluation needs the
/// first seven ([`REQUIRED_COLUMNS`]); `source`, `path` and `cautions` are for people.
pub const COLUMNS: [&str; 10] = [
    "patient_id",
    "study_date",
    "image_id",
    "label",
    "p_healthy",
    "p_covid",
    "p_bacterial",
    "source",
    "path",
    "cautions",
];

/// The columns [`read_predictions`] requires (any order, other columns ignored).
pub const REQUIRED_COLUMNS: [&str; 7] = [
    COLUMNS[0], COLUMNS[1], COLUMNS[2], COLUMNS[3], COLUMNS[4], COLUMNS[5], COLUMNS[6],
];

/// Reads and validates a predictions CSV (see the module docs).
///
/// # Errors
/// [`ReadError`]; all bad rows are collected before failing.
pub fn read_predictions(path: &Path) -> Result<Vec<ImagePrediction>, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::Csv {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    parse_predictions(file, path)
}

/// Parses predictions from any reader; `path` names the source in errors.
///
/// # Errors
/// As [`read_predictions`].
pub fn parse_predictions<R: std::io::Read>(
    reader: R,
    path: &Path,
) -> Result<Vec<ImagePrediction>, ReadError> {
    let csv_err = |source| ReadError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr.headers().map_err(csv_err)?.clone();
    let mut col = [0usize; 7];
    for (slot, name) in col.iter_mut().zip(REQUIRED_COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or(ReadError::MissingColumn {
                path: path.to_path_buf(),
                column: name,
            })?;
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        match parse_row(&record, &col, line) {
            Ok(p) => {
                if let Some(&first_line) = seen.get(&p.image_id) {
                    problems.push(RowProblem {
                        line,
                        column: Some("image_id"),
                        kind: RowProblemKind::DuplicateImage {
                            image: p.image_id.clone(),
                            first_line,
                        },
                    });
                } else {
                    seen.insert(p.image_id.clone(), line);
                    out.push(p);
                }
            }
            Err(mut e) => problems.append(&mut e),
        }
    }
    if !problems.is_empty() {
        return Err(ReadError::BadRows {
            path: path.to_path_buf(),
            problems,
        });
    }
    if out.is_empty() {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

fn parse_row(
    record: &csv::StringRecord,
    col: &[usize; 7],
    line: u64,
) -> Result<ImagePrediction, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut field = |i: usize| -> Option<&str> {
        match record.get(col[i]).filter(|s| !s.is_empty()) {
            Some(s) => Some(s),
            None => {
                problems.push(RowProblem {
                    line,
                    column: Some(REQUIRED_COLUMNS[i]),
                    kind: RowProblemKind::Missing,
                });
                None
            }
        }
    };
    let patient = field(0).map(str::to_owned);
    // An empty date is an undated image, not a missing field.
    let date_text = record
        .get(col[1])
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != UNDATED)
        .map(str::to_owned);
    let image = field(2).map(str::to_owned);
    let label_text = field(3).map(str::to_owned);
    let prob_text: Vec<Option<String>> = (4..7).map(|i| field(i).map(str::to_owned)).collect();
    let mut date_ok = true;
    let date = date_text.and_then(|t| {
        t.parse::<StudyDate>()
            .map_err(|e| {
                date_ok = false;
                problems.push(RowProblem {
                    line,
                    column: Some("study_date"),
                    kind: e.into(),
                })
            })
            .ok()
    });
    let label = label_text.and_then(|t| {
        t.parse::<Label>()
            .map_err(|e| {
                problems.push(RowProblem {
                    line,
                    column: Some("label"),
                    kind: e.into(),
                })
            })
            .ok()
    });
    let mut probs = [0.0; 3];
    let mut probs_ok = true;
    for (j, t) in prob_text.into_iter().enumerate() {
        let column = Some(REQUIRED_COLUMNS[4 + j]);
        let Some(t) = t else {
            probs_ok = false;
            continue;
        };
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=1.0).contains(&v) => probs[j] = v,
            Ok(v) => {
                probs_ok = false;
                problems.push(RowProblem {
                    line,
                    column,
                    kind: RowProblemKind::OutOfRange(v),
                });
            }
            Err(_) => {
                probs_ok = false;
                problems.push(RowProblem {
                    line,
                    column,
                    kind: RowProblemKind::NotANumber(t),
                });
            }
        }
    }
    if probs_ok {
        let sum: f64 = probs.iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            problems.push(RowProblem {
                line,
                column: None,
                kind: RowProblemKind::BadSum(sum),
            });
        }
    }
    match (patient, date, image, label) {
        (Some(patient_id), study_date, Some(image_id), Some(label))
            if problems.is_empty() && date_ok =>
        {
            Ok(ImagePrediction {
                patient_id,
                study_date,
                image_id,
                label,
                probs,
            })
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{EvaluateOptions, evaluate};
    use cxr_stats::{BootstrapOptions, Error};

    const HEADER: &str = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial";

    fn parse(body: &str) -> Result<Vec<ImagePrediction>, ReadError> {
        parse_predictions(format!("{HEADER}\n{body}").as_bytes(), Path::new("p.csv"))
    }

    #[test]
    fn good_rows_parse_with_extra_columns() {
        let text = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source,age,sex\n\
                    p1,2020-03-01,i1,covid,0.1,0.8,0.1,coviddsl,67,M\n\
                    p1,20200301,i2,Covid,0.2,0.7,0.1,coviddsl,67,M\n";
        let v = parse_predictions(text.as_bytes(), Path::new("p.csv")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].label, Label::Covid);
        assert_eq!(v[0].study_date, v[1].study_date);
        assert_eq!(v[1].probs, [0.2, 0.7, 0.1]);
    }

    #[test]
    fn undated_rows_are_their_own_units_and_conflicts_are_listed() {
        // p1: a healthy and a covid image, no dates (months apart, unknown): two units.
        // p2: two same-day images with different labels: left out and listed.
        let body = "p1,,a,healthy,0.8,0.1,0.1\n\
                    p1,1900-01-01,b,covid,0.2,0.7,0.1\n\
                    p2,2020-03-01,c,covid,0.1,0.8,0.1\n\
                    p2,2020-03-01,d,bacterial,0.1,0.1,0.8\n\
                    p3,2020-03-02,e,bacterial,0.1,0.2,0.7\n\
                    p4,2020-03-02,f,covid,0.3,0.6,0.1\n";
        let v = parse(body).unwrap();
        assert_eq!((v[0].study_date, v[1].study_date), (None, None));
        let options = EvaluateOptions {
            bootstrap: BootstrapOptions {
                rounds: 20,
                ..BootstrapOptions::default()
            },
            ..EvaluateOptions::default()
        };
        let e = evaluate(&v, &options).unwrap();
        assert_eq!(e.n_units, 4);
        assert_eq!(e.undated_images, 2);
        assert_eq!(e.label_conflicts.len(), 1);
        assert_eq!(e.label_conflicts[0].unit, "p2@2020-03-01");
        assert_eq!(e.class_counts.covid, 2);
        let strict = EvaluateOptions {
            fail_on_label_conflict: true,
            ..options
        };
        assert!(matches!(
            evaluate(&v, &strict),
            Err(Error::ConflictingLabels { .. })
        ));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let err = parse(
            "p1,2020-03-01,i1,covid,0.1,0.8,0.1\n\
             p2,2020-03-01,i2,viral,0.1,0.8,0.1\n\
             p3,2020-03-01,i3,covid,0.1,abc,0.1\n\
             p4,2020-03-01,i4,covid,0.1,1.5,0.1\n\
             p5,2020-03-01,i5,covid,0.1,0.5,0.1\n\
             p6,2020-03-01,i6,covid,0.1,0.8\n\
             p7,2020-13-01,i1,covid,0.1,0.8,0.1\n",
        )
        .unwrap_err();
        let ReadError::BadRows { problems, .. } = &err else {
            panic!("{err}")
        };
        let lines: Vec<(u64, Option<&str>)> = problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(
            lines,
            vec![
                (3, Some("label")),
                (4, Some("p_covid")),
                (5, Some("p_covid")),
                (6, None),
                (7, Some("p_bacterial")),
                (8, Some("study_date")),
            ]
        );
        assert_eq!(problems[3].kind, RowProblemKind::BadSum(0.7));
        assert_eq!(problems[2].kind, RowProblemKind::OutOfRange(1.5));
        let msg = err.to_string();
        assert!(
            msg.starts_with("p.csv: 6 bad row(s): line 3, column `label`: invalid label `viral`"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_image_and_missing_column() {
        let err = parse("p1,2020-03-01,i1,covid,0.1,0.8,0.1\np1,2020-03-01,i1,covid,0.1,0.8,0.1\n")
            .unwrap_err();
        let ReadError::BadRows { problems, .. } = err else {
            panic!()
        };
        assert_eq!(
            problems[0].kind,
            RowProblemKind::DuplicateImage {
                image: "i1".into(),
                first_line: 2
            }
        );
        let err =
            parse_predictions("patient_id,label\n".as_bytes(), Path::new("x.csv")).unwrap_err();
        assert!(matches!(
            err,
            ReadError::MissingColumn {
                column: "study_date",
                ..
            }
        ));
        assert!(matches!(parse(""), Err(ReadError::Empty { .. })));
    }
}
