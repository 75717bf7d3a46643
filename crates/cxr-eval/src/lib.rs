//! Evaluation of a classifier's predictions, the paper's way.
//!
//! - [`predictions`]: the predictions CSV, declared once ([`PredictionRow`],
//!   [`predictions::COLUMNS`]): the classifier writes it with [`write_predictions`], any
//!   tool's file is read and checked with [`read_predictions`].
//! - [`aggregate`](mod@aggregate): image → patient-day units (the paper's rule), label conflicts listed.
//! - [`evaluate()`]: every metric of Figure 3 and Table 3 with intervals, as one
//!   serialisable [`Evaluation`] (a run's `metrics.json`, which always reads back:
//!   infinite and undefined metrics are written as `"inf"`/`"NaN"`, [`json_float`]).
//! - [`baseline`]: what knowing only each image's source would score, the yardstick of
//!   a pooled AUC.
//!
//! The numbers themselves (ROC, DeLong, bootstrap, Wilson, …) are `cxr-stats`, which
//! knows nothing of labels or files; rendering is `cxr-report`.
//!
//! ```
//! use cxr_eval::{EvaluateOptions, evaluate, predictions::parse_predictions};
//! use std::path::Path;
//!
//! let csv = "patient_id,study_date,image_id,label,p_healthy,p_covid,p_bacterial\n\
//!            a,2020-03-01,a1,covid,0.1,0.8,0.1\n\
//!            b,2020-03-01,b1,healthy,0.7,0.2,0.1\n\
//!            c,2020-03-02,c1,bacterial,0.2,0.1,0.7\n\
//!            d,2020-03-02,d1,covid,0.3,0.6,0.1\n";
//! let images = parse_predictions(csv.as_bytes(), Path::new("predictions.csv")).unwrap();
//! let mut options = EvaluateOptions::default();
//! options.bootstrap.rounds = 50;
//! let e = evaluate(&images, &options).unwrap();
//! assert_eq!(e.n_units, 4);
//! assert_eq!(e.per_class.covid.as_ref().unwrap().auc, 1.0);
//! ```

#![warn(missing_docs)]

pub mod aggregate;
pub mod baseline;
pub mod error;
pub mod evaluate;
pub mod json_float;
pub mod predictions;

pub use aggregate::{
    Aggregated, Grouping, ImagePrediction, LabelConflict, UnitPrediction, aggregate,
};
pub use error::{ClassCountError, ReadError, RowProblem, RowProblemKind};
pub use evaluate::{
    CALIBRATION_BINS, ClassCalibration, ClassMetrics, EvaluateOptions, Evaluation, PerClass,
    evaluate,
};
pub use predictions::{PredictionRow, read_predictions, write_predictions};
