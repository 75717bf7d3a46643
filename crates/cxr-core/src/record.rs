//! Metadata of one image ([`ImageRecord`]) and of a row that did not become one
//! ([`Exclusion`]). No pixels here: splits and statistics run on these alone.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::date::StudyDate;
use crate::error::ParseError;
use crate::vocab::{Label, Sex, SourceId, View};

/// A patient identifier, namespaced by its source so that two sources' `123` differ.
///
/// Written `source:local` (`covid-idc:311a`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientId {
    /// The source that issued the id.
    pub source: SourceId,
    /// The id as the source writes it.
    pub local: String,
}

impl PatientId {
    /// A namespaced id.
    pub fn new(source: SourceId, local: impl Into<String>) -> Self {
        Self {
            source,
            local: local.into(),
        }
    }

    /// Parses `source:local`, or a bare `local` taken to belong to `default_source`. A
    /// prefix is a source only when it is `default_source` itself or an adapter's id:
    /// `a:b` of a user source stays the local id `a:b`.
    pub fn parse_with_default(text: &str, default_source: SourceId) -> Result<Self, ParseError> {
        let prefix = |s: &str| {
            SourceId::parse_adapter(s).ok().or_else(|| {
                (s.parse::<SourceId>().ok() == Some(default_source)).then_some(default_source)
            })
        };
        if let Some((s, local)) = text.split_once(':')
            && !local.is_empty()
            && let Some(source) = prefix(s)
        {
            return Ok(PatientId::new(source, local));
        }
        if text.trim().is_empty() {
            return Err(ParseError::new("patient id", text, ""));
        }
        Ok(PatientId::new(default_source, text.trim()))
    }
}

impl std::fmt::Display for PatientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.local)
    }
}

impl std::str::FromStr for PatientId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (source, local) = s
            .split_once(':')
            .ok_or_else(|| ParseError::new("patient id", s, "source:local"))?;
        if local.is_empty() {
            return Err(ParseError::new("patient id", s, "source:local"));
        }
        Ok(PatientId::new(source.parse()?, local))
    }
}

impl Serialize for PatientId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PatientId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One usable image: who, what, where, and why it got its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The source it came from.
    pub source: SourceId,
    /// The patient (namespaced by source).
    pub patient: PatientId,
    /// The image id, unique within the source.
    pub image_id: String,
    /// Path of the image file.
    pub path: PathBuf,
    /// The class.
    pub label: Label,
    /// Why the record has that label, in the source's terms (`finding=COVID-19`,
    /// `PCR POSITIVO 2020-03-20`, `file suffix _1`).
    pub label_reason: String,
    /// The projection.
    pub view: View,
    /// Day of the study, when the source gives one.
    pub study_date: Option<StudyDate>,
    /// Days since symptom onset or admission, for sources that give offsets not dates.
    pub day_offset: Option<i32>,
    /// Age in years at the study.
    pub age: Option<f32>,
    /// Sex.
    pub sex: Option<Sex>,
    /// Source-specific fields worth carrying (`mask_path`, `finding`, …).
    pub extras: BTreeMap<String, String>,
}

/// Which image of a cohort: its source and its id within the source (unique there;
/// `read_records` checks it). The key records, examples, predictions and duplicate
/// groups are matched by, instead of strings paired by hand. Written as the two-element
/// array `[source, image_id]` (as `cohort/duplicates.json` has always held it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct ImageKey {
    /// The source's name ([`SourceId::as_str`] or a user source's name).
    pub source: String,
    /// The image id within the source.
    pub image_id: String,
}

impl ImageKey {
    /// A key from its parts.
    pub fn new(source: impl Into<String>, image_id: impl Into<String>) -> Self {
        ImageKey {
            source: source.into(),
            image_id: image_id.into(),
        }
    }
}

impl From<(String, String)> for ImageKey {
    fn from((source, image_id): (String, String)) -> Self {
        ImageKey { source, image_id }
    }
}

impl From<ImageKey> for (String, String) {
    fn from(k: ImageKey) -> Self {
        (k.source, k.image_id)
    }
}

impl std::fmt::Display for ImageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "image {} of source {}", self.image_id, self.source)
    }
}

/// The extra an adapter sets to `true` when an image file (PNG, JPEG) stores MONOCHROME1
/// polarity, bright = air ([`ImageRecord::load_options`] reads it).
pub const INVERT_EXTRA: &str = "invert";

/// The label reason of every `cxr-synth` phantom's record (followed by its lesion
/// pattern, `synthetic covid_peripheral`): what marks a record as made up, not a patient's
/// ([`ImageRecord::is_synthetic`]).
pub const SYNTHETIC_LABEL_REASON: &str = "synthetic";

impl ImageRecord {
    /// The record's [`ImageKey`].
    pub fn key(&self) -> ImageKey {
        ImageKey::new(self.source.as_str(), self.image_id.as_str())
    }

    /// How to load this record's image so that bone is bright: inverted when the
    /// adapter marked it ([`INVERT_EXTRA`] = `true`). A DICOM file's own Photometric
    /// Interpretation is applied by `cxr-dicom` whatever this says.
    pub fn load_options(&self) -> crate::LoadOptions {
        crate::LoadOptions::inverted(
            self.extras
                .get(INVERT_EXTRA)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        )
    }

    /// Whether the record is a `cxr-synth` phantom rather than a patient's radiograph: its
    /// label reason is [`SYNTHETIC_LABEL_REASON`], alone or followed by a space.
    pub fn is_synthetic(&self) -> bool {
        self.label_reason
            .strip_prefix(SYNTHETIC_LABEL_REASON)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    }

    /// A record with the required fields; optional ones empty.
    pub fn new(
        patient: PatientId,
        image_id: impl Into<String>,
        path: impl Into<PathBuf>,
        label: Label,
        label_reason: impl Into<String>,
        view: View,
    ) -> Self {
        ImageRecord {
            source: patient.source,
            patient,
            image_id: image_id.into(),
            path: path.into(),
            label,
            label_reason: label_reason.into(),
            view,
            study_date: None,
            day_offset: None,
            age: None,
            sex: None,
            extras: BTreeMap::new(),
        }
    }
}

/// Why a row or file of a source did not become an [`ImageRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExclusionReason {
    /// Not a frontal projection.
    NotFrontal {
        /// The view as the source wrote it.
        view: String,
    },
    /// Not a radiograph (CT, MRI…).
    NotXray {
        /// The modality as the source wrote it.
        modality: String,
    },
    /// The finding maps to none of the three classes.
    UnknownLabel {
        /// The finding as the source wrote it.
        finding: String,
    },
    /// A covid candidate with no positive PCR on record.
    NoPositivePcr,
    /// A covid candidate whose positive PCR is outside the window before the image.
    PcrOutsideWindow {
        /// Days from the PCR to the image (negative: the PCR came after).
        days: i64,
    },
    /// The image file named by the metadata does not exist.
    MissingFile,
    /// A file in an image folder that is not an image (`Thumbs.db`, `.DS_Store`).
    NotAnImage {
        /// The file name.
        name: String,
    },
    /// A date that cannot be read.
    UnparseableDate {
        /// The text found.
        value: String,
    },
    /// A row that cannot be read (too few fields, bad value).
    MalformedRow {
        /// What is wrong with it.
        detail: String,
    },
    /// A DICOM image marked `FOR PROCESSING` (Presentation Intent Type): raw detector
    /// data, not the radiograph as read, which looks unlike the processed image of the
    /// same exposure (a classifier can learn the difference instead of the disease).
    NotForPresentation {
        /// The Presentation Intent Type as written.
        intent: String,
    },
    /// The source itself flags the image as unusable.
    FlaggedBySource {
        /// The source's reason.
        reason: String,
    },
    /// A pediatric study, where the policy excludes them.
    Pediatric,
    /// A control left out by the cohort's random sampling.
    NotSampled,
    /// The cohort's policy does not keep this label from this source.
    LabelNotKept {
        /// The label.
        label: Label,
    },
    /// An exact or near duplicate of another image that was kept.
    Duplicate {
        /// Image id of the image kept.
        of: String,
    },
    /// Rejected by the lung-mask quality gate.
    QualityGate {
        /// The gate's reason.
        reason: String,
    },
}

impl ExclusionReason {
    /// The reason's kind in snake_case (its serde tag, the `reason` column of
    /// `exclusions.csv`).
    pub const fn kind(&self) -> &'static str {
        use ExclusionReason::*;
        match self {
            NotFrontal { .. } => "not_frontal",
            NotXray { .. } => "not_xray",
            UnknownLabel { .. } => "unknown_label",
            NoPositivePcr => "no_positive_pcr",
            PcrOutsideWindow { .. } => "pcr_outside_window",
            MissingFile => "missing_file",
            NotAnImage { .. } => "not_an_image",
            UnparseableDate { .. } => "unparseable_date",
            MalformedRow { .. } => "malformed_row",
            NotForPresentation { .. } => "not_for_presentation",
            FlaggedBySource { .. } => "flagged_by_source",
            Pediatric => "pediatric",
            NotSampled => "not_sampled",
            LabelNotKept { .. } => "label_not_kept",
            Duplicate { .. } => "duplicate",
            QualityGate { .. } => "quality_gate",
        }
    }
}

impl std::fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ExclusionReason::*;
        match self {
            NotFrontal { view } => write!(f, "not frontal: view `{view}`"),
            NotXray { modality } => write!(f, "not an X-ray: modality `{modality}`"),
            UnknownLabel { finding } => write!(f, "unknown label: finding `{finding}`"),
            NoPositivePcr => f.write_str("no positive PCR"),
            PcrOutsideWindow { days } => write!(f, "PCR outside window: {days} days before image"),
            MissingFile => f.write_str("missing file"),
            NotAnImage { name } => write!(f, "not an image: `{name}`"),
            UnparseableDate { value } => write!(f, "unparseable date `{value}`"),
            MalformedRow { detail } => write!(f, "malformed row: {detail}"),
            NotForPresentation { intent } => {
                write!(f, "not for presentation: `{intent}` (raw detector data)")
            }
            FlaggedBySource { reason } => write!(f, "flagged by source: {reason}"),
            Pediatric => f.write_str("pediatric"),
            NotSampled => f.write_str("control not sampled"),
            LabelNotKept { label } => write!(f, "label `{label}` not kept from this source"),
            Duplicate { of } => write!(f, "duplicate of {of}"),
            QualityGate { reason } => write!(f, "quality gate: {reason}"),
        }
    }
}

/// A row or file that did not become a record, with where it was and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The source.
    pub source: SourceId,
    /// The metadata file the row came from, if any.
    pub file: Option<PathBuf>,
    /// 1-based line of that file (header = line 1), if any.
    pub row: Option<u64>,
    /// The image file concerned, if known.
    pub path: Option<PathBuf>,
    /// Why it was left out.
    pub reason: ExclusionReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_key_is_source_and_id_and_reads_back_from_the_old_pair() {
        let r = ImageRecord::new(
            PatientId::new(SourceId::CovidIdc, "311a"),
            "a1",
            "a1.png",
            Label::Covid,
            "test",
            View::Pa,
        );
        let k = r.key();
        assert_eq!(k, ImageKey::new("covid-idc", "a1"));
        assert_eq!(k.to_string(), "image a1 of source covid-idc");
        // `cohort/duplicates.json` has always held keys as `[source, image_id]` pairs.
        let json = serde_json::to_string(&vec![k.clone()]).unwrap();
        assert_eq!(json, r#"[["covid-idc","a1"]]"#);
        assert_eq!(
            serde_json::from_str::<Vec<ImageKey>>(&json).unwrap(),
            vec![k]
        );
        assert!(ImageKey::new("a", "z") < ImageKey::new("b", "a"));
    }

    #[test]
    fn patient_ids_are_namespaced() {
        let p = PatientId::new(SourceId::CovidIdc, "311a");
        assert_eq!(p.to_string(), "covid-idc:311a");
        assert_eq!("covid-idc:311a".parse::<PatientId>().unwrap(), p);
        assert_ne!(p, PatientId::new(SourceId::Padchest, "311a"));
        assert_eq!(
            PatientId::parse_with_default("311a", SourceId::CovidIdc).unwrap(),
            p
        );
        assert_eq!(
            PatientId::parse_with_default("nlm-tb:MCUCXR_0001", SourceId::CovidIdc).unwrap(),
            PatientId::new(SourceId::NlmTb, "MCUCXR_0001")
        );
        // A colon inside a local id that is not a source prefix stays part of the id.
        assert_eq!(
            PatientId::parse_with_default("a:b", SourceId::Qmenta)
                .unwrap()
                .local,
            "a:b"
        );
        assert!("no such:1".parse::<PatientId>().is_err());
        // A user source namespaces its patients like an adapter.
        let mine: SourceId = "my-hospital".parse().unwrap();
        let p = PatientId::parse_with_default("17", mine).unwrap();
        assert_eq!(p.to_string(), "my-hospital:17");
        assert_eq!("my-hospital:17".parse::<PatientId>().unwrap(), p);
        assert_eq!(
            PatientId::parse_with_default("my-hospital:17", mine).unwrap(),
            p
        );
        assert_ne!(p, PatientId::new(SourceId::Padchest, "17"));
        assert!("padchest:".parse::<PatientId>().is_err());
    }

    #[test]
    fn exclusion_reasons_read_well() {
        let r = ExclusionReason::PcrOutsideWindow { days: 21 };
        assert_eq!(r.to_string(), "PCR outside window: 21 days before image");
        assert_eq!(
            ExclusionReason::NotFrontal { view: "L".into() }.to_string(),
            "not frontal: view `L`"
        );
    }

    #[test]
    fn a_phantom_is_known_by_its_label_reason_alone() {
        let with = |reason: &str| {
            ImageRecord::new(
                PatientId::new(SourceId::Qmenta, "P1"),
                "q1",
                "q1.png",
                Label::Healthy,
                reason,
                View::Pa,
            )
            .is_synthetic()
        };
        assert!(with("synthetic"));
        assert!(with("synthetic covid_peripheral"));
        assert!(!with("synthetically generated?"));
        assert!(!with("finding=COVID-19"));
        assert!(!with(""));
    }
}
