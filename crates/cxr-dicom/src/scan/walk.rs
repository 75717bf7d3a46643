//! The walk over the data set, following dicom-rs's tokeniser state by state, and
//! [`scan`], which runs it.

use super::element::{Encoding, Header, ITEM, ITEM_END, PIXEL_DATA, SEQ_END, Scanner, UNDEFINED};
use super::malformed::{Malformed, MalformedKind, ScanError};

const MAX_DEPTH: usize = 32;

/// An open sequence or item, as dicom-rs stacks them (`SeqToken`).
#[derive(Debug, Clone, Copy)]
struct Open {
    /// An item (else a sequence).
    item: bool,
    /// Encapsulated pixel data: its items are fragments, not data sets.
    pixel: bool,
    /// Where a defined-length sequence or item ends.
    end: Option<u64>,
    /// Its header's offset, tag and declared length, for errors.
    at: u64,
    tag: (u16, u16),
    len: u32,
}

impl Open {
    fn sequence(at: u64, h: &Header, end: Option<u64>, pixel: bool) -> Self {
        Open {
            item: false,
            pixel,
            end,
            at,
            tag: h.tag,
            len: h.len,
        }
    }

    fn item(at: u64, h: &Header, end: Option<u64>, pixel: bool) -> Self {
        Open {
            item: true,
            ..Self::sequence(at, h, end, pixel)
        }
    }
}

impl Scanner<'_> {
    /// Walks the data set as dicom-rs's `DataSetReader` (dicom-parser 0.10,
    /// `dataset/read.rs`, `Iterator::next`) tokenises it, without reading a value: the
    /// same stack of open sequences and items (its `seq_delimiters`), opened on the same
    /// headers and closed where it closes them, so that every header is read at the
    /// offset, and in the form, at which dicom-rs reads it. Refuses any length that runs
    /// past its innermost defined-length container or the data set, and any state in
    /// which dicom-rs would read past one.
    ///
    /// Returns the offset of the first top-level Pixel Data header; with
    /// `stop_at_pixel_data` the walk ends there. The top-level Pixel Data is read by
    /// [`pixel_value`](super::pixel_value), not by dicom-rs (the parser is given the
    /// bytes before it).
    fn walk(&self, stop_at_pixel_data: bool) -> Result<Option<u64>, ScanError> {
        let mut open: Vec<Open> = Vec::new();
        let mut pos = 0u64;
        // dicom-rs's `in_sequence`: an item header or a sequence delimiter comes next.
        let mut in_sequence = false;
        // dicom-rs's `delimiter_check_pending`: a defined-length container may end here.
        let mut check_end = false;
        let mut pixel = None;
        loop {
            if check_end {
                match open.last() {
                    Some(o) if o.end == Some(pos) => {
                        // After an item comes an item or the sequence's end; after a
                        // sequence, an element.
                        in_sequence = o.item;
                        open.pop();
                        continue;
                    }
                    _ => check_end = false,
                }
            }
            let end = open.iter().rev().find_map(|o| o.end).unwrap_or(self.total);
            if pos >= end {
                return match open.last() {
                    None => Ok(pixel),
                    // A container still open at the end of its parent or of the data
                    // set (an undefined-length one without its delimiter, or one that
                    // dicom-rs does not close here): dicom-rs would read on past it.
                    Some(o) => Err(ScanError::Malformed(Malformed {
                        offset: o.at,
                        tag: o.tag,
                        declared: o.len,
                        available: end.saturating_sub(o.at),
                        kind: MalformedKind::MissingDelimiter,
                    })),
                };
            }
            // Trailing padding shorter than a header at the very end of a file is
            // tolerated at top level (some writers pad to an even length).
            if open.is_empty() && self.total - pos < 8 {
                return Ok(pixel);
            }

            if in_sequence {
                let h = self.item_header(pos, end)?;
                let Some(seq) = open.last() else {
                    return Err(Self::too_long(pos, &h, end, MalformedKind::ExpectedItem));
                };
                match h.tag {
                    ITEM => {
                        let fragment = seq.pixel;
                        let item_end = if h.len == UNDEFINED {
                            if fragment {
                                return Err(Self::too_long(
                                    pos,
                                    &h,
                                    end,
                                    MalformedKind::ValueTooLong,
                                ));
                            }
                            None
                        } else {
                            Some(pos + 8 + Self::defined_length(pos, &h, end, false)?)
                        };
                        open.push(Open::item(pos, &h, item_end, fragment));
                        in_sequence = false;
                        check_end = h.len == 0;
                    }
                    SEQ_END => {
                        // Closes the sequence, defined length or not; the length field is
                        // not read.
                        open.pop();
                        in_sequence = false;
                        check_end = true;
                    }
                    _ => return Err(Self::too_long(pos, &h, end, MalformedKind::ExpectedItem)),
                }
                pos += 8;
                continue;
            }

            if let Some(o) = open.last()
                && o.item
                && o.pixel
            {
                // A fragment: dicom-rs reads its value whole (the offset table as u32s,
                // checked to be whole when the item was opened).
                pos = o.end.unwrap_or(pos);
                check_end = true;
                continue;
            }

            let h = self.header(pos, end)?;
            let value_start = pos + h.header_len;
            let top_pixel_data = open.is_empty() && h.tag == PIXEL_DATA;
            if top_pixel_data {
                if stop_at_pixel_data {
                    return Ok(Some(pos));
                }
                pixel = pixel.or(Some(pos));
            }
            let encapsulated = h.tag == PIXEL_DATA && h.len == UNDEFINED;
            if (&h.vr == b"SQ" && !top_pixel_data) || (h.len == UNDEFINED && !encapsulated) {
                // A sequence: by VR, or any other element of undefined length (dicom-rs
                // discards the VR and reads items of data sets, in the same syntax: an
                // undefined-length UN is not switched to implicit VR).
                if open.iter().filter(|o| !o.item).count() >= MAX_DEPTH {
                    return Err(Self::too_long(pos, &h, end, MalformedKind::TooDeep));
                }
                let seq_end = if h.len == UNDEFINED {
                    None
                } else {
                    Some(value_start + Self::defined_length(pos, &h, end, false)?)
                };
                open.push(Open::sequence(pos, &h, seq_end, false));
                in_sequence = true;
                check_end = h.len == 0;
                pos = value_start;
                continue;
            }
            if h.tag == ITEM_END {
                // dicom-rs ignores an item delimiter outside any sequence and otherwise
                // closes the innermost item with it, whether or not that item has a
                // defined length that ends elsewhere; either way it reads 8 bytes and
                // ignores the length field.
                if open.pop().is_some() {
                    in_sequence = true;
                    check_end = true;
                }
                pos += 8;
                continue;
            }
            if encapsulated {
                // Encapsulated pixel data (whatever the VR): dicom-rs reads the first
                // item header at once, the offset table.
                open.push(Open::sequence(pos, &h, None, true));
                let t = self.item_header(value_start, end)?;
                match t.tag {
                    ITEM if t.len != UNDEFINED => {
                        let len = Self::defined_length(value_start, &t, end, false)?;
                        // Read as u32s (`read_u32_to_vec`): a partial one would leave
                        // dicom-rs short of the item's end. (The top-level offset table
                        // is ours to read.)
                        if !top_pixel_data && len % 4 != 0 {
                            return Err(Self::too_long(
                                value_start,
                                &t,
                                end,
                                MalformedKind::LengthNotMultiple,
                            ));
                        }
                        let item_end = value_start + 8 + len;
                        open.push(Open::item(value_start, &t, Some(item_end), true));
                        in_sequence = false;
                        check_end = len == 0;
                    }
                    SEQ_END => {
                        open.pop();
                        in_sequence = false;
                    }
                    ITEM => {
                        return Err(Self::too_long(
                            value_start,
                            &t,
                            end,
                            MalformedKind::ValueTooLong,
                        ));
                    }
                    _ => {
                        return Err(Self::too_long(
                            value_start,
                            &t,
                            end,
                            MalformedKind::ExpectedItem,
                        ));
                    }
                }
                pos = value_start + 8;
                continue;
            }
            // A value. dicom-rs reads a binary VR as `len / size` numbers but counts
            // `len` bytes as read, so a partial number would shift every later header.
            let len = Self::defined_length(pos, &h, end, !top_pixel_data)?;
            pos = value_start + len;
            check_end = true;
        }
    }
}

/// Scans a data set. `bytes` holds the first bytes of a data set `total` bytes long.
/// Returns the offset of the first top-level Pixel Data element; with
/// `stop_at_pixel_data` the scan ends there.
pub(crate) fn scan(
    bytes: &[u8],
    total: u64,
    enc: Encoding,
    stop_at_pixel_data: bool,
) -> Result<Option<u64>, ScanError> {
    let s = Scanner { bytes, total, enc };
    s.walk(stop_at_pixel_data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::{IMPLICIT, LE, elem, short};

    /// An explicit VR OB header declaring 1 GiB, hidden where the old scan did not look.
    fn hidden() -> Vec<u8> {
        let mut v = vec![0x09, 0x00, 0x11, 0x10, b'O', b'B', 0, 0];
        v.extend(0x4000_0000u32.to_le_bytes());
        v
    }

    /// The scan's refusal of `d`, which must name the hidden header.
    fn refuses_hidden(d: &[u8], enc: Encoding) {
        let Err(ScanError::Malformed(m)) = scan(d, d.len() as u64, enc, false) else {
            panic!("accepted");
        };
        assert_eq!(
            (m.kind, m.tag, m.declared),
            (MalformedKind::ValueTooLong, (0x0009, 0x1011), 0x4000_0000)
        );
    }

    #[test]
    fn refuses_a_value_longer_than_the_file() {
        let mut d = elem((0x0010, 0x0020), b"LO", b"ID01");
        let mut pd = elem(PIXEL_DATA, b"OW", &[1, 2, 3, 4]);
        pd[8..12].copy_from_slice(&0xF000_0000u32.to_le_bytes());
        let pd_at = d.len() as u64;
        d.extend(pd);
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, LE, false) else {
            panic!("accepted");
        };
        assert_eq!(m.kind, MalformedKind::ValueTooLong);
        assert_eq!(m.offset, pd_at);
        assert_eq!(m.tag, PIXEL_DATA);
        assert_eq!(m.available, 4);
    }

    #[test]
    fn refuses_an_item_longer_than_its_sequence() {
        let mut item = vec![];
        item.extend(0xFFFEu16.to_le_bytes());
        item.extend(0xE000u16.to_le_bytes());
        item.extend(100u32.to_le_bytes());
        item.extend(elem((0x0028, 0x3002), b"US", &[0, 1, 0, 0, 16, 0]));
        let d = elem((0x0028, 0x3010), b"SQ", &item);
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, LE, false) else {
            panic!("accepted");
        };
        assert_eq!(m.tag, ITEM);
        assert_eq!(m.declared, 100);
    }

    #[test]
    fn reads_undefined_length_elements_as_the_parser_does() {
        let seq = |tag: (u16, u16), vr: &[u8; 2]| {
            let mut v = vec![];
            v.extend(tag.0.to_le_bytes());
            v.extend(tag.1.to_le_bytes());
            v.extend(vr);
            v.extend([0, 0]);
            v.extend(UNDEFINED.to_le_bytes());
            v
        };
        // An undefined-length UN: dicom-rs goes on reading explicit VR inside (the scan
        // used to switch to implicit VR and saw (0009,1011) with 4 bytes).
        let mut d = seq((0x0009, 0x1010), b"UN");
        d.extend(short(ITEM, UNDEFINED));
        d.extend(hidden());
        d.extend(short(ITEM_END, 0));
        d.extend(short(SEQ_END, 0));
        refuses_hidden(&d, LE);
        // An undefined-length OB other than Pixel Data: items of data sets to dicom-rs,
        // not fragments.
        let mut d = seq((0x0009, 0x1010), b"OB");
        d.extend(short(ITEM, 12));
        d.extend(hidden());
        d.extend(short(SEQ_END, 0));
        refuses_hidden(&d, LE);
        // Nested encapsulated pixel data: an offset table dicom-rs would read short.
        let mut d = seq((0x0040, 0x0555), b"SQ");
        d.extend(short(ITEM, UNDEFINED));
        d.extend(seq(PIXEL_DATA, b"OB"));
        d.extend(short(ITEM, 6));
        d.extend([0; 6]);
        d.extend(short(SEQ_END, 0));
        d.extend(short(ITEM_END, 0));
        d.extend(short(SEQ_END, 0));
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, LE, false) else {
            panic!("accepted");
        };
        assert_eq!((m.kind, m.tag), (MalformedKind::LengthNotMultiple, ITEM));
    }

    #[test]
    fn closes_sequences_and_items_where_the_parser_does() {
        // A defined-length sequence whose value starts with a sequence delimiter:
        // dicom-rs closes the sequence there and reads the rest as elements.
        let mut v = short(SEQ_END, 0);
        v.extend(hidden());
        refuses_hidden(&elem((0x0008, 0x1140), b"SQ", &v), LE);
        // An item delimiter outside any sequence: skipped as 8 bytes, its length ignored.
        let mut d = short(ITEM_END, 12);
        d.extend(hidden());
        refuses_hidden(&d, LE);
        // An item delimiter inside a defined-length item closes that item; an item header
        // is read next.
        let mut inner = short(ITEM, 12);
        inner.extend(hidden());
        let mut item = short(ITEM_END, inner.len() as u32);
        item.extend(inner);
        let mut v = short(ITEM, item.len() as u32);
        v.extend(item);
        let mut d = elem((0x0008, 0x1140), b"SQ", &v);
        d.extend(elem((0x0010, 0x0040), b"CS", b"F "));
        refuses_hidden(&d, LE);
    }

    #[test]
    fn a_defined_length_sequence_may_end_the_data_set() {
        let mut v = short(ITEM, 12);
        v.extend(elem((0x0008, 0x1150), b"UI", b"1.2\0"));
        let d = elem((0x0008, 0x1140), b"SQ", &v);
        assert_eq!(scan(&d, d.len() as u64, LE, false), Ok(None));
        // Implicit VR: (0008,1140) is SQ by the dictionary.
        let mut v = short(ITEM, 12);
        v.extend(short((0x0008, 0x1150), 4));
        v.extend(b"1.2\0");
        let mut d = short((0x0008, 0x1140), v.len() as u32);
        d.extend(v);
        assert_eq!(scan(&d, d.len() as u64, IMPLICIT, false), Ok(None));
        // Cut inside the item: refused, not read past the end.
        let cut = &d[..d.len() - 2];
        assert!(scan(cut, cut.len() as u64, IMPLICIT, false).is_err());
    }
}
