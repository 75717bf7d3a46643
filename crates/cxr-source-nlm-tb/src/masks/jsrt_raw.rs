//! The JSRT raw `.IMG` reader (the format is described in the module docs).

use std::path::Path;

use cxr_core::image_io::{ImageBuffer, Luma};

use super::{Error, Result};

pub(super) fn is_raw_img(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("img"))
}

/// Reads a JSRT raw image (see the module docs): returns `4095 − raw`, higher = brighter.
pub fn read_jsrt_raw(path: &Path) -> Result<ImageBuffer<Luma<u16>, Vec<u16>>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let len = bytes.len() as u64;
    let side = (len / 2).isqrt();
    if len == 0 || side * side * 2 != len {
        return Err(Error::RawSize {
            path: path.to_path_buf(),
            len,
        });
    }
    let px: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| 4095u16.saturating_sub(u16::from_be_bytes([b[0], b[1]]).min(4095)))
        .collect();
    let side = side as u32;
    Ok(ImageBuffer::from_raw(side, side, px).expect("side² samples"))
}
