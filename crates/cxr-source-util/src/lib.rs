//! # cxr-source-util — readers the source adapters share
//!
//! - [`delimited`]: whole-file delimited tables (`,`, `;`, `|`, tab) in UTF-8 or
//!   ISO-8859-1, headers matched case- and space-insensitively, line numbers computed
//!   from byte offsets (the csv crate's drift after blank lines and CRLF is avoided),
//!   Python list literals (`['normal']`);
//! - [`stream`]: a row-at-a-time CSV reader for large tables (NIH's 112,120 rows);
//! - [`neutral`]: the neutral `manifest.csv` layout for sources without a public index
//!   (specified in `docs/data.md`, format notes §8).
//!
//! Every error is a [`cxr_core::ScanError`] naming the file, line and column.
#![warn(missing_docs)]

pub mod delimited;
pub mod neutral;
pub mod stream;
