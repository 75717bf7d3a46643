//! # cxr-source-qmenta — QMenta's copy of the Kermany pediatric pneumonia set
//!
//! The paper's QMenta source has no public schema. Public code pulls the QMenta project
//! `Kaggle: Chest X-Ray Images (Pneumonia)` into `<split>/<group>/<name>.jpeg`, i.e.
//! Kermany et al.'s layout (see `docs/data.md`, format notes §6), which this adapter
//! reads: `chest_xray/{train,test,val}/{NORMAL,PNEUMONIA}/` (or those splits directly
//! under the root; group names case-insensitive, so QMenta's `Normal`/`Pneumonia` work
//! too). Sits on `cxr-core` in the crate DAG; decodes no pixels.
//!
//! Every file in a group folder is an item:
//!
//! | file | label |
//! |---|---|
//! | `NORMAL/IM-0115-0001.jpeg`, `NORMAL/NORMAL2-IM-1427-0001.jpeg` | healthy (`folder NORMAL`) |
//! | `PNEUMONIA/person1_bacteria_1.jpeg` | bacterial (`file name _bacteria_`) |
//! | `PNEUMONIA/person1_virus_6.jpeg` | excluded: unknown label (viral, not covid) |
//! | anything else (`.DS_Store`, a pneumonia file naming no organism) | excluded |
//!
//! Patient ids come from the name: `person1`, `IM-0115`, `NORMAL2-IM-1427`; the official
//! test split restarts the numbering, so its ids are prefixed `test/`. Images are
//! pediatric and taken as AP (the set records no view): records carry `pediatric=true`;
//! [`QmentaOptions::exclude_pediatric`] turns them into `Pediatric` exclusions instead.
//! No dates, ages or sexes are recorded.
//!
//! If the root holds `manifest.csv`, it is read as the neutral manifest
//! ([`cxr_source_util::neutral`]) instead of the folder layout.
//!
//! ```no_run
//! use cxr_core::Source;
//! use cxr_source_qmenta::QmentaSource;
//!
//! let scan = QmentaSource::default().scan("kermany".as_ref())?;
//! println!("{} records, {} exclusions", scan.records.len(), scan.exclusions.len());
//! # Ok::<(), cxr_core::ScanError>(())
//! ```
#![warn(missing_docs)]

pub use cxr_source_util::table;

use std::path::{Path, PathBuf};

use cxr_core::{
    Exclusion, ExclusionReason, ImageRecord, Label, PatientId, Scan, ScanError, Source, SourceId,
    View,
};

/// Settings of one scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QmentaOptions {
    /// Turn every labelled image into a `Pediatric` exclusion. Default `false` (the paper
    /// used these pediatric images).
    pub exclude_pediatric: bool,
    /// Neutral manifest to read instead of the folder layout, relative to the root;
    /// `None` reads `manifest.csv` when present.
    pub manifest: Option<PathBuf>,
}

/// The QMenta / Kermany adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QmentaSource {
    options: QmentaOptions,
}

impl QmentaSource {
    /// An adapter with these options.
    pub fn new(options: QmentaOptions) -> Self {
        QmentaSource { options }
    }

    /// The options in use.
    pub fn options(&self) -> &QmentaOptions {
        &self.options
    }
}

/// What a Kermany file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KermanyName {
    /// Patient part: `person1`, `IM-0115`, `NORMAL2-IM-1427`, or the whole stem.
    pub patient: String,
    /// `bacteria`, `virus`, or `None` for names without an organism.
    pub organism: Option<&'static str>,
}

/// Parses a Kermany image file name.
///
/// ```
/// use cxr_source_qmenta::parse_kermany_name;
/// let n = parse_kermany_name("person1_bacteria_1.jpeg");
/// assert_eq!((n.patient.as_str(), n.organism), ("person1", Some("bacteria")));
/// let n = parse_kermany_name("person1000_virus_1681.jpeg");
/// assert_eq!((n.patient.as_str(), n.organism), ("person1000", Some("virus")));
/// assert_eq!(parse_kermany_name("IM-0115-0001.jpeg").patient, "IM-0115");
/// assert_eq!(parse_kermany_name("NORMAL2-IM-1427-0001.jpeg").patient, "NORMAL2-IM-1427");
/// ```
pub fn parse_kermany_name(name: &str) -> KermanyName {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    for organism in ["bacteria", "virus"] {
        if let Some((patient, _)) = stem.split_once(&format!("_{organism}_")) {
            return KermanyName {
                patient: patient.to_owned(),
                organism: Some(organism),
            };
        }
    }
    // IM-xxxx-yyyy and NORMAL2-IM-xxxx-yyyy: drop the image counter.
    let patient = match stem.rsplit_once('-') {
        Some((p, n)) if stem.contains("IM-") && n.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => stem,
    };
    KermanyName {
        patient: patient.to_owned(),
        organism: None,
    }
}

/// The split folders under `root` (`root/chest_xray/<split>` or `root/<split>`), sorted.
pub fn split_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    for base in [root.join("chest_xray"), root.to_path_buf()] {
        let mut found: Vec<(String, PathBuf)> = subdirs(&base)
            .into_iter()
            .filter(|(n, _)| matches!(n.to_ascii_lowercase().as_str(), "train" | "test" | "val"))
            .collect();
        if !found.is_empty() {
            found.sort();
            return found;
        }
    }
    Vec::new()
}

fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default()
}

fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpeg", ".jpg", ".png"].iter().any(|e| lower.ends_with(e))
}

impl Source for QmentaSource {
    fn id(&self) -> SourceId {
        SourceId::Qmenta
    }

    fn scan(&self, root: &Path) -> Result<Scan, ScanError> {
        let manifest = match &self.options.manifest {
            Some(m) => Some(root.join(m)),
            None => Some(root.join("manifest.csv")).filter(|p| p.is_file()),
        };
        if let Some(m) = manifest {
            return cxr_source_util::neutral::read_manifest(SourceId::Qmenta, &m, root);
        }
        let splits = split_dirs(root);
        if splits.is_empty() {
            return Err(ScanError::MissingLayout {
                source_id: SourceId::Qmenta,
                what: "chest_xray/{train,test,val}/ or manifest.csv",
                path: root.to_path_buf(),
            });
        }
        let mut scan = Scan::default();
        for (split, split_dir) in splits {
            let mut groups = subdirs(&split_dir);
            groups.sort();
            for (group, group_dir) in groups {
                let g = group.to_ascii_uppercase();
                let mut names: Vec<String> = Vec::new();
                let rd = std::fs::read_dir(&group_dir).map_err(|source| ScanError::Io {
                    path: group_dir.clone(),
                    source,
                })?;
                let mut odd = Vec::new();
                for e in rd.filter_map(Result::ok) {
                    match e.file_name().into_string() {
                        Ok(n) => names.push(n),
                        Err(raw) => odd.push(raw),
                    }
                }
                names.sort();
                for raw in odd {
                    scan.exclusions.push(self.exclusion(
                        group_dir.join(&raw),
                        ExclusionReason::MalformedRow {
                            detail: format!("file name is not UTF-8: {raw:?}"),
                        },
                    ));
                }
                for name in names {
                    let path = group_dir.join(&name);
                    match self.classify(&split, &g, &name, &path) {
                        Ok(rec) => scan.records.push(*rec),
                        Err(reason) => scan.exclusions.push(self.exclusion(path, reason)),
                    }
                }
            }
        }
        Ok(scan)
    }
}

impl QmentaSource {
    fn exclusion(&self, path: PathBuf, reason: ExclusionReason) -> Exclusion {
        Exclusion {
            source: SourceId::Qmenta,
            file: None,
            row: None,
            path: Some(path),
            reason,
        }
    }

    /// One file of a group folder: a record or the reason it is left out.
    fn classify(
        &self,
        split: &str,
        group: &str,
        name: &str,
        path: &Path,
    ) -> Result<Box<ImageRecord>, ExclusionReason> {
        if path.is_dir() {
            return Err(ExclusionReason::MalformedRow {
                detail: format!("unexpected folder `{name}` in {group}/"),
            });
        }
        if !is_image(name) {
            return Err(ExclusionReason::MalformedRow {
                detail: format!("not a JPEG/PNG image: `{name}`"),
            });
        }
        let parsed = parse_kermany_name(name);
        let (label, reason) = match (group, parsed.organism) {
            ("NORMAL", None) => (Label::Healthy, "folder NORMAL"),
            ("PNEUMONIA", Some("bacteria")) => (Label::Bacterial, "file name _bacteria_"),
            ("PNEUMONIA", Some("virus")) => {
                return Err(ExclusionReason::UnknownLabel {
                    finding: "viral pneumonia (file name _virus_)".into(),
                });
            }
            (g, o) => {
                return Err(ExclusionReason::UnknownLabel {
                    finding: format!(
                        "folder {g}, file name {}",
                        o.map_or("without _bacteria_/_virus_".to_owned(), |o| format!(
                            "_{o}_"
                        ))
                    ),
                });
            }
        };
        if self.options.exclude_pediatric {
            return Err(ExclusionReason::Pediatric);
        }
        let split_lower = split.to_ascii_lowercase();
        let local = if split_lower == "test" {
            format!("test/{}", parsed.patient)
        } else {
            parsed.patient
        };
        let mut rec = ImageRecord::new(
            PatientId::new(SourceId::Qmenta, local),
            format!("{split_lower}/{group}/{name}"),
            path,
            label,
            reason,
            View::Ap,
        );
        rec.extras.insert("pediatric".into(), "true".into());
        rec.extras.insert("split".into(), split_lower);
        rec.extras
            .insert("view_source".into(), "assumed AP (pediatric set)".into());
        Ok(Box::new(rec))
    }
}
