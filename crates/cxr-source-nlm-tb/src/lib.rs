//! # cxr-source-nlm-tb — the U.S. NLM tuberculosis sets (Montgomery, Shenzhen)
//!
//! Reads `MontgomerySet/` and `ChinaSet_AllFiles/` (either or both) under a root folder,
//! or a root that *is* one of them. Sits on `cxr-core` in the crate DAG; decodes no pixels.
//!
//! Every file in `CXR_png/` is an item: `MCUCXR_####_{0,1}.png` / `CHNCXR_####_{0,1}.png`
//! become records labelled by the last digit (`_0` healthy, `_1` tuberculosis →
//! bacterial, as the paper's Table 1 counts it), all PA; any other file (`Thumbs.db`, a
//! name without the digit) is an exclusion. `ClinicalReadings/<stem>.txt` gives sex and
//! age ([`reading`] parses both sets' irregular forms); a missing reading leaves them
//! empty and is not an exclusion. Montgomery's `ManualMask/leftMask` and `rightMask`
//! files, when present, are carried as the `left_mask` / `right_mask` extras. A
//! Montgomery reading `NO REPORT (same pt as MCUCXR_0162_1)` puts the image under the
//! other image's patient, so that a split never separates them.
//!
//! [`masks`] reads the lung-mask datasets as image/mask pairs for the segmenter
//! (Montgomery, Shenzhen, JSRT with the SCR masks, CheXmask's tables, generic folder
//! pairs); it lives here,
//! beside the adapter of the two NLM sets, so that reading masks needs no libtorch.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_nlm_tb::NlmTbSource;
//!
//! let scan = NlmTbSource::default().scan("nlm-tb".as_ref())?;
//! for r in scan.records.iter().take(3) {
//!     println!("{} {} {:?} {:?}", r.patient, r.label, r.age, r.extras.get("left_mask"));
//! }
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

pub mod masks;
pub mod reading;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Source, SourceId,
    View,
};

/// One of the two NLM sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// Montgomery County, Maryland (`MCUCXR_`).
    Montgomery,
    /// Shenzhen No. 3 People's Hospital (`CHNCXR_`).
    Shenzhen,
}

impl Subset {
    /// Both sets.
    pub const ALL: [Subset; 2] = [Subset::Montgomery, Subset::Shenzhen];

    /// The set's folder in the official archives.
    pub const fn folder(self) -> &'static str {
        match self {
            Subset::Montgomery => "MontgomerySet",
            Subset::Shenzhen => "ChinaSet_AllFiles",
        }
    }

    /// The file-name prefix of its images.
    pub const fn prefix(self) -> &'static str {
        match self {
            Subset::Montgomery => "MCUCXR_",
            Subset::Shenzhen => "CHNCXR_",
        }
    }

    /// Lower-case name, as in the `subset` extra.
    pub const fn as_str(self) -> &'static str {
        match self {
            Subset::Montgomery => "montgomery",
            Subset::Shenzhen => "shenzhen",
        }
    }
}

/// Settings of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlmTbOptions {
    /// Which sets to read (those absent on disk are skipped). Default: both.
    pub subsets: Vec<Subset>,
    /// Carry the Montgomery lung-mask paths as extras. Default `true`.
    pub masks: bool,
}

impl Default for NlmTbOptions {
    fn default() -> Self {
        NlmTbOptions {
            subsets: Subset::ALL.to_vec(),
            masks: true,
        }
    }
}

/// The NLM tuberculosis sets adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NlmTbSource {
    options: NlmTbOptions,
}

impl NlmTbSource {
    /// An adapter with these options.
    pub fn new(options: NlmTbOptions) -> Self {
        NlmTbSource { options }
    }

    /// The options in use.
    pub fn options(&self) -> &NlmTbOptions {
        &self.options
    }

    /// The folders of each set found under `root` (`root/MontgomerySet`, or `root` itself
    /// when it is a set's folder).
    pub fn locate(&self, root: &Path) -> Vec<(Subset, PathBuf)> {
        let mut found = Vec::new();
        for &subset in &self.options.subsets {
            let dir = root.join(subset.folder());
            if dir.join("CXR_png").is_dir() {
                found.push((subset, dir));
            } else if root.file_name().is_some_and(|n| n == subset.folder())
                && root.join("CXR_png").is_dir()
            {
                found.push((subset, root.to_path_buf()));
            }
        }
        if found.is_empty() && root.join("CXR_png").is_dir() {
            // A renamed set folder: tell the sets apart by their file prefix.
            let names = list(&root.join("CXR_png"));
            for &subset in &self.options.subsets {
                if names
                    .iter()
                    .any(|n| n.to_string_lossy().starts_with(subset.prefix()))
                {
                    found.push((subset, root.to_path_buf()));
                }
            }
        }
        found
    }
}

fn list(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Splits `MCUCXR_0001_0.png` into (`MCUCXR_0001`, label digit).
///
/// ```
/// use cxr_source_nlm_tb::parse_image_name;
/// assert_eq!(parse_image_name("MCUCXR_0001_0.png"), Some(("MCUCXR_0001", 0)));
/// assert_eq!(parse_image_name("CHNCXR_0327_1.png"), Some(("CHNCXR_0327", 1)));
/// assert_eq!(parse_image_name("CHNCXR_0327.png"), None);
/// assert_eq!(parse_image_name("Thumbs.db"), None);
/// ```
pub fn parse_image_name(name: &str) -> Option<(&str, u8)> {
    let stem = name
        .strip_suffix(".png")
        .or_else(|| name.strip_suffix(".PNG"))?;
    let (patient, digit) = stem.rsplit_once('_')?;
    let d = match digit {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    (patient.contains('_')).then_some((patient, d))
}

impl Source for NlmTbSource {
    fn id(&self) -> SourceId {
        SourceId::NlmTb
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        let sets = self.locate(root);
        if sets.is_empty() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::NlmTb,
                what: "MontgomerySet/CXR_png/ or ChinaSet_AllFiles/CXR_png/",
                path: root.to_path_buf(),
            });
        }
        let mut scan = Scan::default();
        for (subset, dir) in sets {
            scan.extend(self.scan_set(subset, &dir)?);
        }
        Ok(scan)
    }
}

impl NlmTbSource {
    fn scan_set(&self, subset: Subset, dir: &Path) -> Result<Scan, ScanError> {
        let png_dir = dir.join("CXR_png");
        let rd = std::fs::read_dir(&png_dir).map_err(|source| ScanError::Io {
            path: png_dir.clone(),
            source,
        })?;
        let mut names = Vec::new();
        for e in rd {
            let e = e.map_err(|source| ScanError::Io {
                path: png_dir.clone(),
                source,
            })?;
            names.push(e.file_name());
        }
        names.sort();
        let readings: HashSet<OsString> = list(&dir.join("ClinicalReadings")).into_iter().collect();
        let masks = |side: &str| -> HashSet<OsString> {
            if self.options.masks {
                list(&dir.join("ManualMask").join(side))
                    .into_iter()
                    .collect()
            } else {
                HashSet::new()
            }
        };
        let (left, right) = (masks("leftMask"), masks("rightMask"));

        let mut scan = Scan::default();
        for os_name in names {
            let path = png_dir.join(&os_name);
            let name = os_name.to_string_lossy();
            let exclude = |reason| Exclusion {
                source: SourceId::NlmTb,
                file: None,
                row: None,
                path: Some(path.clone()),
                reason,
            };
            let Some((stem_patient, digit)) = parse_image_name(&name) else {
                let reason = if name.to_ascii_lowercase().ends_with(".png") {
                    ExclusionReason::UnknownLabel {
                        finding: format!("file name `{name}` has no _0/_1 suffix"),
                    }
                } else {
                    ExclusionReason::MalformedRow {
                        detail: format!("not a PNG image: `{name}`"),
                    }
                };
                scan.exclusions.push(exclude(reason));
                continue;
            };
            let stem = name.trim_end_matches(".png").trim_end_matches(".PNG");
            let (label, reason) = if digit == 0 {
                (Label::Healthy, "file suffix _0 (normal)")
            } else {
                (Label::Bacterial, "file suffix _1 (tuberculosis)")
            };
            let mut patient = stem_patient.to_owned();
            let mut rec_extras = Vec::new();
            let txt = format!("{stem}.txt");
            let reading = if readings.contains(std::ffi::OsStr::new(&txt)) {
                let p = dir.join("ClinicalReadings").join(&txt);
                let bytes = std::fs::read(&p).map_err(|source| ScanError::Io {
                    path: p.clone(),
                    source,
                })?;
                let text = String::from_utf8_lossy(&bytes);
                rec_extras.push(("reading", p.to_string_lossy().into_owned()));
                Some(match subset {
                    Subset::Montgomery => reading::parse_montgomery(&text),
                    Subset::Shenzhen => reading::parse_shenzhen(&text),
                })
            } else {
                None
            };
            let mut rec = ImageRecord::new(
                PatientId::new(SourceId::NlmTb, ""),
                stem,
                path.clone(),
                label,
                reason,
                View::Pa,
            );
            if let Some(r) = reading {
                rec.sex = r.sex;
                rec.age = r.age;
                if !r.finding.is_empty() {
                    rec.extras.insert("finding".into(), r.finding);
                }
                if let Some(u) = r.unreadable {
                    rec.extras.insert("reading_unparsed".into(), u);
                }
                if let Some(other) = r.same_patient_as {
                    if let Some((p, _)) = parse_image_name(&format!("{other}.png")) {
                        patient = p.to_owned();
                    }
                    rec.extras.insert("same_patient_as".into(), other);
                }
            }
            rec.patient = PatientId::new(SourceId::NlmTb, patient);
            for (k, v) in rec_extras {
                rec.extras.insert(k.into(), v);
            }
            rec.extras.insert("subset".into(), subset.as_str().into());
            for (key, side, set) in [
                ("left_mask", "leftMask", &left),
                ("right_mask", "rightMask", &right),
            ] {
                if set.contains(&os_name) {
                    let p = dir.join("ManualMask").join(side).join(&os_name);
                    rec.extras
                        .insert(key.into(), p.to_string_lossy().into_owned());
                }
            }
            scan.records.push(rec);
        }
        Ok(scan)
    }
}
