//! # cxr-source-util — readers the source adapters share
//!
//! - [`table`]: the one reader of the sources' metadata tables: delimited by `,`, `;`,
//!   `|` or tab, UTF-8 or ISO-8859-1, gzipped or not; columns matched by name (case,
//!   white space and underscores ignored); rows read one at a time from the file (NIH's
//!   112,120, PadChest's 160,000) or all at once; line numbers computed from byte offsets
//!   (the csv crate's drift after blank lines and CRLF is avoided); Python list literals
//!   (`['normal']`);
//! - [`neutral`]: the neutral `manifest.csv` layout for sources without a public index
//!   (specified in `docs/data.md`, format notes §8).
//!
//! Every error is a [`cxr_core::ScanError`] naming the file, line and column.
#![warn(missing_docs)]

pub mod neutral;
pub mod table;
