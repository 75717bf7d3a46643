//! # cxr-core — the vocabulary of the cxr workspace
//!
//! Every other crate speaks in these types. This crate sits at the bottom of the DAG
//! (see `docs/architecture.md`) and links no libtorch.
//!
//! - [`Label`] (healthy / covid / bacterial), [`SourceId`] (an adapter's source or a
//!   [`UserSource`] of the user's own), [`View`], [`Sex`],
//!   [`StudyDate`], [`PatientId`] (namespaced by source);
//! - [`ImageRecord`] — metadata of one usable image, and [`Exclusion`] — a row that was
//!   left out, with its typed [`ExclusionReason`];
//! - the [`Source`] trait that each dataset adapter implements, yielding a [`Scan`];
//! - grayscale image I/O ([`load_gray`], [`save_png`]), [`LungMask`], atomic writes
//!   ([`write_atomic`]) and the records/exclusions CSV tables ([`manifest`]);
//! - [`Environment`]: the software and machine a run was made with ([`environment`]).
//!
//! ```
//! use cxr_core::{ImageRecord, Label, PatientId, SourceId, View};
//!
//! let patient = PatientId::new(SourceId::CovidIdc, "311a");
//! let rec = ImageRecord::new(patient, "img-1", "images/a.png", Label::Covid,
//!                            "finding=COVID-19", View::Pa);
//! assert_eq!(rec.patient.to_string(), "covid-idc:311a");
//! assert!(rec.view.is_frontal());
//! assert_eq!("bacterial".parse::<Label>().unwrap().index(), 2);
//! ```
#![warn(missing_docs)]

pub mod age;
pub mod atomic;
pub mod date;
pub mod environment;
pub mod error;
pub mod fingerprint;
pub mod image_io;
pub mod manifest;
pub mod mask;
pub mod names;
pub mod progress;
pub mod record;
pub mod resample;
pub mod shard;
pub mod source;
pub mod vocab;
pub mod walk;

pub use atomic::{Staged, commit_all, stage, write_atomic, write_bytes_atomic};
pub use date::StudyDate;
pub use environment::{Compute, Environment, Session};
pub use error::{Error, ParseError, Result, error_chain};
pub use image_io::{
    GrayImage, ImageFiles, LoadOptions, MAX_IMAGE_PIXELS, RASTER_FORMATS, SixteenToEight,
    decode_gray, encode_png, invert, load_gray, load_gray_with, save_png, save_rgb_png, stage_png,
};
pub use manifest::write_csv;
pub use mask::LungMask;
pub use record::{Exclusion, ExclusionReason, ImageKey, ImageRecord, PatientId};
pub use resample::{shrink_factor, shrink_gray, shrink_labels};
pub use source::{Scan, ScanError, Source};
pub use vocab::{AdapterSource, Label, Sex, SourceId, UserSource, View};
