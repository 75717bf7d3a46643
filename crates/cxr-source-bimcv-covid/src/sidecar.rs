//! The DICOM-JSON sidecar next to each BIMCV image.

use std::collections::HashMap;
use std::path::Path;

use cxr_core::StudyDate;
use serde_json::Value;

/// Attributes of a DICOM-JSON sidecar (`{"00080020": {"vr": "DA", "Value": ["20200319"]}}`),
/// by upper-case tag. Also reads a flat `{"00080020": "20200319"}` form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sidecar {
    values: HashMap<String, String>,
}

/// Keyword spellings accepted in place of the tag (some exports key by name).
const NAMES: [(&str, &str); 7] = [
    ("00080020", "StudyDate"),
    ("00080060", "Modality"),
    ("00100030", "PatientBirthDate"),
    ("00100040", "PatientSex"),
    ("00101010", "PatientAge"),
    ("00185101", "ViewPosition"),
    ("00280004", "PhotometricInterpretation"),
];

fn first_text(v: &Value) -> Option<String> {
    let v = match v {
        Value::Object(o) => o.get("Value")?,
        other => other,
    };
    let v = match v {
        Value::Array(a) => a.first()?,
        other => other,
    };
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o.get("Alphabetic")?.as_str()?.trim().to_owned(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

impl Sidecar {
    /// Reads `path`; `Err` says what is wrong (not JSON, not an object).
    pub fn read(path: &Path) -> Result<Sidecar, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Sidecar::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses sidecar bytes.
    pub fn parse(bytes: &[u8]) -> Result<Sidecar, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
        let Value::Object(map) = v else {
            return Err("not a JSON object".into());
        };
        let mut values = HashMap::new();
        for (k, v) in &map {
            let key = k.to_ascii_uppercase();
            let key = NAMES
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(k))
                .map_or(key, |(t, _)| (*t).to_owned());
            if let Some(s) = first_text(v) {
                values.insert(key, s);
            }
        }
        Ok(Sidecar { values })
    }

    /// First value of a tag (`"00080020"`), trimmed; `None` when absent or empty.
    pub fn text(&self, tag: &str) -> Option<String> {
        self.values.get(tag).cloned()
    }

    /// Age in years at `study`: Patient's Age (`067Y`, `006M`) when present, else
    /// from Patient's Birth Date.
    pub fn age_at(&self, study: StudyDate) -> Option<f32> {
        if let Some(age) = self
            .text("00101010")
            .and_then(|a| cxr_core::age::age_years(&a))
        {
            return Some(age);
        }
        let birth: StudyDate = self.text("00100030")?.parse().ok()?;
        let mut years = study.year() - birth.year();
        if (study.month(), study.day()) < (birth.month(), birth.day()) {
            years -= 1;
        }
        (years >= 0).then_some(years as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dicom_json() {
        let s = Sidecar::parse(
            br#"{"00080020": {"vr": "DA", "Value": ["20200319"]},
                 "00100030": {"vr": "DA", "Value": ["19500320"]},
                 "00185101": {"vr": "CS", "Value": ["PA "]},
                 "00280004": {"vr": "CS"},
                 "00100010": {"vr": "PN", "Value": [{"Alphabetic": "X"}]}}"#,
        )
        .unwrap();
        assert_eq!(s.text("00080020").as_deref(), Some("20200319"));
        assert_eq!(s.text("00185101").as_deref(), Some("PA"));
        assert_eq!(s.text("00280004"), None);
        assert_eq!(s.text("00100010").as_deref(), Some("X"));
        assert_eq!(s.age_at("2020-03-19".parse().unwrap()), Some(69.0));
        assert_eq!(s.age_at("2020-03-20".parse().unwrap()), Some(70.0));
        let flat = Sidecar::parse(br#"{"StudyDate": "20200101", "PatientAge": "045Y"}"#).unwrap();
        assert_eq!(flat.text("00080020").as_deref(), Some("20200101"));
        assert_eq!(flat.age_at("2020-01-01".parse().unwrap()), Some(45.0));
        assert!(Sidecar::parse(b"{\"0008").is_err());
        assert!(Sidecar::parse(b"[1]").is_err());
    }

    #[test]
    fn an_unreadable_age_falls_back_to_the_birth_date() {
        // A non-ASCII last character used to be split inside its UTF-8 bytes (a panic);
        // signs and NaN used to become ages.
        let study = "2020-03-20".parse().unwrap();
        for age in ["63º", "-5Y", "NaNY", "º"] {
            let json = format!(r#"{{"PatientAge": "{age}", "PatientBirthDate": "19500320"}}"#);
            let s = Sidecar::parse(json.as_bytes()).unwrap();
            assert_eq!(s.age_at(study), Some(70.0), "{age}");
            let json = format!(r#"{{"PatientAge": "{age}"}}"#);
            assert_eq!(Sidecar::parse(json.as_bytes()).unwrap().age_at(study), None);
        }
    }
}
