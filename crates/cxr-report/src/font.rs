//! The embedded font (DejaVu Sans, see `assets/DejaVuSans-LICENSE.txt`), registered with
//! plotters' `ab_glyph` text backend as the `sans-serif` family.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};

/// The TTF bytes of DejaVu Sans.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name plots use.
pub const FAMILY: &str = "sans-serif";

/// Registers the font once per process (idempotent, thread-safe).
///
/// # Errors
/// [`Error::Font`] if the embedded bytes are not a font (cannot happen with the shipped
/// asset).
pub fn ensure_registered() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(Error::Font) }
}
