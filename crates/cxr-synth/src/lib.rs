//! # cxr-synth — procedural chest-radiograph phantoms
//!
//! Deterministic by seed: the same [`CaseSpec`] and [`SynthConfig`] give the same bytes.
//! Each [`Phantom`] has the image, the right and left lung masks, the lesion support, the
//! label, patient id, study date, age, sex and source. Sits on `cxr-core` in the crate
//! DAG; links no libtorch.
//!
//! What is drawn: body outline, two lungs of varied shape/size/position, heart and
//! mediastinum, spine, diaphragm, clavicles and posterior ribs, lung texture and film
//! noise. Lesions by class ([`Pattern`]): covid = bilateral, peripheral, lower-zone
//! ground-glass opacities; bacterial = dense lobar consolidation or upper-zone
//! tuberculous nodules/cavity; healthy = none. Per-source [`Style`]s (exposure, gamma,
//! noise, resolution, collimation border, a burned-in marker) let source shortcuts be
//! studied, and a [`Confounder`] ties a feature outside the lungs (or the exposure) to a
//! class with a chosen strength, to make a shortcut on purpose. A share of *bad* images ([`Defect`]) gives the quality gate something real to
//! reject.
//!
//! ```
//! use cxr_core::{Label, SourceId};
//! use cxr_synth::{CaseSpec, SynthConfig, render};
//!
//! let case = CaseSpec::single(42, Label::Covid, SourceId::Coviddsl);
//! let p = render(&case, &SynthConfig::with_size(96));
//! assert_eq!(p.image.dimensions(), (96, 96));
//! assert!(p.lungs().fraction() >= 0.30); // passes the paper's gate
//! ```
#![warn(missing_docs)]

mod anatomy;
pub mod cohort;
pub mod config;
pub mod confounder;
mod error;
pub mod fixture;
mod lesion;
mod noise;
pub mod render;
pub mod style;

pub use anatomy::Side;
pub use cohort::{CohortFiles, CohortPlan, SourcePlan, plan_cases, write_cohort};
pub use config::{AgeSex, Demographics, Difficulty, SynthConfig};
pub use confounder::{Confounder, ConfounderKind};
pub use error::Error;
pub use lesion::Pattern;
pub use render::{CaseSpec, Defect, Phantom, render, render_without_lesions};
pub use style::{Corner, Style};
