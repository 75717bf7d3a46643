//! Where the Pixel Data value lies, located without copying it so that it is read in
//! place.

use std::ops::Range;

use super::element::{Encoding, ITEM, SEQ_END, Scanner, UNDEFINED};
use super::malformed::{MalformedKind, ScanError};

/// Where the value of a Pixel Data element lies, as byte ranges of the data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PixelValue {
    /// A defined-length value: the samples themselves.
    Native(Range<usize>),
    /// An undefined-length item list: the Basic Offset Table item's value (possibly
    /// empty) and the fragments that follow it.
    Encapsulated {
        offset_table: Range<usize>,
        fragments: Vec<Range<usize>>,
    },
}

/// Locates the value of the Pixel Data element whose header is at `at` (an offset that
/// [`scan`](super::scan) returned for the whole of `bytes`), without copying it.
pub(crate) fn pixel_value(bytes: &[u8], at: u64, enc: Encoding) -> Result<PixelValue, ScanError> {
    let s = Scanner {
        bytes,
        total: bytes.len() as u64,
        enc,
    };
    let end = s.total;
    let range = |from: u64, len: u64| from as usize..(from + len) as usize;
    let h = s.header(at, end)?;
    if h.len != UNDEFINED {
        let len = Scanner::defined_length(at, &h, end, false)?;
        return Ok(PixelValue::Native(range(at + h.header_len, len)));
    }
    let mut items = Vec::new();
    let mut pos = at + h.header_len;
    loop {
        let h = s.item_header(pos, end)?;
        if h.tag == SEQ_END {
            break;
        }
        if h.tag != ITEM || h.len == UNDEFINED {
            return Err(Scanner::too_long(pos, &h, end, MalformedKind::ExpectedItem));
        }
        let len = Scanner::defined_length(pos, &h, end, false)?;
        items.push(range(pos + 8, len));
        pos += 8 + len;
    }
    let mut items = items.into_iter();
    Ok(PixelValue::Encapsulated {
        offset_table: items.next().unwrap_or_default(),
        fragments: items.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::element::PIXEL_DATA;
    use crate::scan::scan;
    use crate::scan::test_support::{LE, elem};

    #[test]
    fn accepts_a_plain_data_set_and_finds_pixel_data() {
        let mut d = elem((0x0010, 0x0020), b"LO", b"ID01");
        let pd_at = d.len() as u64;
        d.extend(elem(PIXEL_DATA, b"OW", &[1, 2, 3, 4]));
        assert_eq!(scan(&d, d.len() as u64, LE, true), Ok(Some(pd_at)));
        assert_eq!(scan(&d, d.len() as u64, LE, false), Ok(Some(pd_at)));
        let start = pd_at as usize + 12;
        assert_eq!(
            pixel_value(&d, pd_at, LE),
            Ok(PixelValue::Native(start..start + 4))
        );
    }

    #[test]
    fn locates_the_offset_table_and_fragments_of_encapsulated_pixel_data() {
        let item = |value: &[u8]| {
            let mut v = vec![0xFE, 0xFF, 0x00, 0xE0];
            v.extend((value.len() as u32).to_le_bytes());
            v.extend(value);
            v
        };
        let mut d = elem((0x0010, 0x0020), b"LO", b"ID01");
        let pd_at = d.len();
        d.extend([
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        d.extend(item(&[0, 0, 0, 0]));
        d.extend(item(&[1, 2, 3, 4, 5, 6]));
        d.extend(item(&[7, 8]));
        d.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        // A trailing element after the pixel data.
        d.extend(elem((0xFFFC, 0xFFFC), b"OB", &[0, 0]));
        let at = pd_at as u64;
        assert_eq!(scan(&d, d.len() as u64, LE, false), Ok(Some(at)));
        let first = pd_at + 12 + 8;
        assert_eq!(
            pixel_value(&d, at, LE),
            Ok(PixelValue::Encapsulated {
                offset_table: first..first + 4,
                fragments: vec![first + 12..first + 18, first + 26..first + 28],
            })
        );
        // Cut before the delimiter: refused, not read past the end.
        let cut = &d[..first + 28];
        assert!(matches!(
            pixel_value(cut, at, LE),
            Err(ScanError::Malformed(_) | ScanError::NeedMore)
        ));
    }
}
