//! Builders of encoded elements for the scan's unit tests.

use super::element::Encoding;

pub(super) const LE: Encoding = Encoding {
    explicit: true,
    big_endian: false,
};

pub(super) fn elem(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = vec![];
    v.extend(tag.0.to_le_bytes());
    v.extend(tag.1.to_le_bytes());
    v.extend(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        v.extend([0, 0]);
        v.extend((value.len() as u32).to_le_bytes());
    } else {
        v.extend((value.len() as u16).to_le_bytes());
    }
    v.extend(value);
    v
}

pub(super) const IMPLICIT: Encoding = Encoding {
    explicit: false,
    big_endian: false,
};

/// A tag and a 4-byte length: implicit VR, items and delimiters.
pub(super) fn short(tag: (u16, u16), len: u32) -> Vec<u8> {
    let mut v = vec![];
    v.extend(tag.0.to_le_bytes());
    v.extend(tag.1.to_le_bytes());
    v.extend(len.to_le_bytes());
    v
}
