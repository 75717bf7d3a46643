//! The predictions CSV round trip: what the classifier writes is what evaluation reads.

use std::path::Path;

use cxr_core::{ImageRecord, Label, PatientId, SourceId, StudyDate, View};
use cxr_eval::predictions::COLUMNS;
use cxr_eval::{PredictionRow, read_predictions, write_predictions};

fn record(patient: &str, image: &str, label: Label, date: Option<StudyDate>) -> ImageRecord {
    let mut r = ImageRecord::new(
        PatientId::new(SourceId::Qmenta, patient),
        image,
        format!("images/{image}.png"),
        label,
        "test",
        View::Pa,
    );
    r.study_date = date;
    r
}

#[test]
fn the_classifiers_rows_read_back_as_the_same_predictions() {
    let day = StudyDate::from_ymd(2020, 3, 14).unwrap();
    let rows = vec![
        PredictionRow::new(
            &record("P1", "a", Label::Covid, Some(day)),
            &[0.1, 0.7, 0.2],
        )
        .unwrap(),
        PredictionRow::new(&record("P2", "b", Label::Healthy, None), &[0.6, 0.3, 0.1]).unwrap(),
        // Probabilities that do not sum to 1 in f32 are renormalised on the way out.
        PredictionRow::new(
            &record("P3", "c", Label::Bacterial, Some(day)),
            &[0.2, 0.2, 0.8],
        )
        .unwrap(),
    ];
    let mut rows = rows;
    rows[1].cautions = "for_processing;burned_in_annotation".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("predictions.csv");
    write_predictions(&path, &rows).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().next().unwrap(), COLUMNS.join(","));
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "qmenta:P1,2020-03-14,a,covid,0.1,0.7,0.2,qmenta,images/a.png,"
    );
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .ends_with(",images/b.png,for_processing;burned_in_annotation")
    );

    let read = read_predictions(&path).unwrap();
    assert_eq!(read.len(), 3);
    for (row, p) in rows.iter().zip(&read) {
        assert_eq!(p.patient_id, row.patient_id);
        assert_eq!(p.image_id, row.image_id);
        assert_eq!(p.label.as_str(), row.label);
        // The f32 written is the f32 read (shortest round-trip text, read as f64).
        assert_eq!(
            p.probs.map(|x| x as f32),
            [row.p_healthy, row.p_covid, row.p_bacterial]
        );
    }
    assert_eq!(read[0].study_date, Some(day));
    assert_eq!(read[1].study_date, None);
    assert_eq!(read[2].label, Label::Bacterial);
    assert!((read[2].probs[2] - 2.0 / 3.0).abs() < 1e-6);
}

/// A row journaled before the `cautions` column existed reads back with none.
#[test]
fn a_row_written_before_the_cautions_column_reads_without_any() {
    let mut reader = csv::Reader::from_reader(
        "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial,source,path\n\
         qmenta:P1,,a,covid,0.1,0.7,0.2,qmenta,images/a.png\n"
            .as_bytes(),
    );
    let row: PredictionRow = reader.deserialize().next().unwrap().unwrap();
    assert_eq!((row.image_id.as_str(), row.cautions.as_str()), ("a", ""));
    // The same row as a run's journal kept it.
    let mut json = serde_json::to_value(&row).unwrap();
    json.as_object_mut().unwrap().remove("cautions");
    let again: PredictionRow = serde_json::from_value(json).unwrap();
    assert_eq!(again, row);
}

#[test]
fn an_empty_run_still_writes_the_header_and_evaluation_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.csv");
    write_predictions(&path, &[]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", COLUMNS.join(","))
    );
    let e = read_predictions(&path).unwrap_err().to_string();
    assert_eq!(e, format!("{}: no prediction rows", path.display()));
}

#[test]
fn an_unlabelled_row_is_refused_by_evaluation_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("folder.csv");
    let row = PredictionRow::unlabelled(Path::new("scans/x1.png"), &[0.5, 0.25, 0.25]).unwrap();
    assert_eq!((row.patient_id.as_str(), row.label.as_str()), ("x1", ""));
    write_predictions(&path, &[row]).unwrap();
    let e = read_predictions(&path).unwrap_err().to_string();
    assert!(
        e.ends_with("1 bad row(s): line 2, column `label`: missing value"),
        "{e}"
    );
    let e = PredictionRow::unlabelled(Path::new("x.png"), &[1.0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "1 probabilities for x.png does not fit the 3 classes (healthy, covid, bacterial)"
    );
}

/// A predictions file's evaluation (20 bootstrap rounds).
fn evaluate_csv(csv: &str) -> cxr_eval::Evaluation {
    let images = cxr_eval::predictions::parse_predictions(
        csv.as_bytes(),
        std::path::Path::new("predictions.csv"),
    )
    .unwrap();
    let mut options = cxr_eval::EvaluateOptions::default();
    options.bootstrap.rounds = 20;
    cxr_eval::evaluate(&images, &options).unwrap()
}

/// A perfect split has no false positive: the positive likelihood ratio is infinite, which
/// JSON cannot hold as a number; `metrics.json` still reads back as the same evaluation.
#[test]
fn an_evaluation_with_infinite_metrics_reads_back_from_its_json() {
    let csv = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n\
               a,2020-03-01,a1,covid,0.1,0.8,0.1\n\
               b,2020-03-01,b1,healthy,0.7,0.2,0.1\n\
               c,2020-03-02,c1,bacterial,0.2,0.1,0.7\n\
               d,2020-03-02,d1,covid,0.3,0.6,0.1\n";
    let e = evaluate_csv(csv);
    let covid = e.per_class.covid.as_ref().unwrap();
    assert_eq!(covid.lr_pos, f64::INFINITY);
    let json = serde_json::to_string_pretty(&e).unwrap();
    assert!(json.contains(r#""lr_pos": "inf""#), "{json}");
    let back: cxr_eval::Evaluation = serde_json::from_str(&json).unwrap();
    assert_eq!(back.per_class.covid.as_ref().unwrap().lr_pos, f64::INFINITY);
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
}

/// A test set without one of the classes (a two-class study, or a small real set): the
/// absent class's accuracy is undefined, and `metrics.json` still reads back (it used to
/// hold `null` there, which the leave-one-source-out comparison and anything else reading
/// the file refused).
#[test]
fn an_evaluation_without_a_class_reads_back_from_its_json() {
    let csv = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n\
               a,2020-03-01,a1,covid,0.1,0.8,0.1\n\
               b,2020-03-01,b1,healthy,0.7,0.2,0.1\n\
               c,2020-03-02,c1,healthy,0.6,0.3,0.1\n\
               d,2020-03-02,d1,covid,0.3,0.6,0.1\n";
    let e = evaluate_csv(csv);
    assert!(e.class_accuracy.bacterial.is_nan());
    assert_eq!(e.class_accuracy.covid, 1.0);
    assert!(e.per_class.bacterial.is_none());
    let json = serde_json::to_string_pretty(&e).unwrap();
    assert!(json.contains(r#""bacterial": "NaN""#), "{json}");
    let back: cxr_eval::Evaluation = serde_json::from_str(&json).unwrap();
    assert!(back.class_accuracy.bacterial.is_nan());
    assert_eq!(back.class_accuracy.covid, 1.0);
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
    // Files written before read too: `null` is NaN.
    let old = json.replace(r#""bacterial": "NaN""#, r#""bacterial": null"#);
    let back: cxr_eval::Evaluation = serde_json::from_str(&old).unwrap();
    assert!(back.class_accuracy.bacterial.is_nan());
}
