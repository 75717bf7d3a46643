//! A length check over the encoded data set, run before the DICOM parser sees it.
//!
//! The parser trusts the value length each element header declares and reserves that
//! many bytes before reading them, so a 200-byte file that declares a 4 GiB value makes
//! it allocate 4 GiB. This walk visits every element header (descending into sequences,
//! items and encapsulated pixel data) and refuses any defined length that runs past the
//! end of its container, without reading or copying a value.
//!
//! It also locates the Pixel Data value ([`pixel_value`]), which is then read in place
//! rather than copied by the parser.

use std::ops::Range;

/// Byte order and VR encoding of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    /// Explicit VR (else implicit).
    pub explicit: bool,
    /// Big endian (else little endian).
    pub big_endian: bool,
}

/// Why a data set was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// The buffer ended inside an element header: read more of the file and scan again.
    NeedMore,
    /// The data set is malformed.
    Malformed(Malformed),
}

/// A structural defect found by the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    /// Offset of the element header in the data set (after the file meta group).
    pub offset: u64,
    /// Tag of the element, `(group, element)`.
    pub tag: (u16, u16),
    /// The value length declared (`u32::MAX` for undefined).
    pub declared: u32,
    /// Bytes left in the enclosing container (the file, a sequence or an item).
    pub available: u64,
    /// What is wrong.
    pub kind: MalformedKind,
}

/// The kind of structural defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedKind {
    /// A value is longer than what is left of its container.
    ValueTooLong,
    /// A header does not fit in what is left of its container.
    TruncatedHeader,
    /// An undefined-length sequence or pixel data item list has no delimiter.
    MissingDelimiter,
    /// Sequences nest deeper than this crate accepts.
    TooDeep,
    /// Something other than an item where an item must be.
    ExpectedItem,
    /// A binary value whose length is not a multiple of its VR's size (an FL of 2
    /// bytes): the parser would read fewer bytes than declared and lose its place.
    LengthNotMultiple,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            MalformedKind::ValueTooLong => "value longer than the bytes left",
            MalformedKind::TruncatedHeader => "truncated element header",
            MalformedKind::MissingDelimiter => "missing sequence delimiter",
            MalformedKind::TooDeep => "sequences nested too deep",
            MalformedKind::ExpectedItem => "expected an item tag (FFFE,E000)",
            MalformedKind::LengthNotMultiple => "length not a multiple of the VR's value size",
        };
        write!(
            f,
            "{what}: element ({:04X},{:04X}) at byte {} declares {} bytes, {} available",
            self.tag.0,
            self.tag.1,
            self.offset,
            if self.declared == u32::MAX {
                "undefined".to_owned()
            } else {
                self.declared.to_string()
            },
            self.available
        )
    }
}

const UNDEFINED: u32 = u32::MAX;

/// Bytes per value of a binary VR (1 for the others).
fn value_size(vr: &[u8; 2]) -> u64 {
    match vr {
        b"FD" | b"OD" | b"OV" | b"SV" | b"UV" => 8,
        b"FL" | b"OF" | b"OL" | b"SL" | b"UL" | b"AT" => 4,
        b"SS" | b"US" | b"OW" => 2,
        _ => 1,
    }
}

/// The value representations of PS3.5 Table 6.2-1.
const KNOWN_VRS: [[u8; 2]; 34] = [
    *b"AE", *b"AS", *b"AT", *b"CS", *b"DA", *b"DS", *b"DT", *b"FD", *b"FL", *b"IS", *b"LO", *b"LT",
    *b"OB", *b"OD", *b"OF", *b"OL", *b"OV", *b"OW", *b"PN", *b"SH", *b"SL", *b"SQ", *b"SS", *b"ST",
    *b"SV", *b"TM", *b"UC", *b"UI", *b"UL", *b"UN", *b"UR", *b"US", *b"UT", *b"UV",
];
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const MAX_DEPTH: usize = 32;

struct Scanner<'a> {
    bytes: &'a [u8],
    /// Length of the whole data set (the buffer may hold only a prefix of it).
    total: u64,
    enc: Encoding,
}

#[derive(Debug, Clone, Copy)]
struct Header {
    tag: (u16, u16),
    vr: [u8; 2],
    len: u32,
    header_len: u64,
}

impl Scanner<'_> {
    fn u16_at(&self, pos: u64) -> Option<u16> {
        let p = usize::try_from(pos).ok()?;
        let b: [u8; 2] = self.bytes.get(p..p.checked_add(2)?)?.try_into().ok()?;
        Some(if self.enc.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, pos: u64, big_endian: bool) -> Option<u32> {
        let p = usize::try_from(pos).ok()?;
        let b: [u8; 4] = self.bytes.get(p..p.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn need(&self, pos: u64, n: u64, end: u64) -> Result<(), ScanError> {
        if pos + n > end {
            return Err(ScanError::Malformed(Malformed {
                offset: pos,
                tag: (0, 0),
                declared: 0,
                available: end.saturating_sub(pos),
                kind: MalformedKind::TruncatedHeader,
            }));
        }
        if pos + n > self.bytes.len() as u64 {
            return Err(ScanError::NeedMore);
        }
        Ok(())
    }

    /// Reads the element header at `pos`. Items and delimiters always use the 8-byte
    /// form; so does implicit VR. `end` bounds the enclosing container.
    fn header(&self, pos: u64, end: u64, explicit: bool) -> Result<Header, ScanError> {
        self.need(pos, 8, end)?;
        let tag = (
            self.u16_at(pos).ok_or(ScanError::NeedMore)?,
            self.u16_at(pos + 2).ok_or(ScanError::NeedMore)?,
        );
        if tag.0 == 0xFFFE || !explicit {
            // Items and delimiters are little endian only in LE syntaxes; big endian
            // syntaxes encode them big endian as well.
            let len = self
                .u32_at(pos + 4, self.enc.big_endian)
                .ok_or(ScanError::NeedMore)?;
            return Ok(Header {
                tag,
                vr: *b"  ",
                len,
                header_len: 8,
            });
        }
        let p = pos as usize;
        let vr = [self.bytes[p + 4], self.bytes[p + 5]];
        // A VR code the standard does not define is read as UN (reserved bytes and a
        // 4-byte length), as the DICOM parser does: reading it with a 2-byte length here
        // would let the parser find a different, possibly huge, length.
        if !KNOWN_VRS.contains(&vr)
            || matches!(
                &vr,
                b"OB"
                    | b"OD"
                    | b"OF"
                    | b"OL"
                    | b"OV"
                    | b"OW"
                    | b"SQ"
                    | b"UC"
                    | b"UN"
                    | b"UR"
                    | b"UT"
                    | b"SV"
                    | b"UV"
            )
        {
            self.need(pos, 12, end)?;
            let len = self
                .u32_at(pos + 8, self.enc.big_endian)
                .ok_or(ScanError::NeedMore)?;
            Ok(Header {
                tag,
                vr,
                len,
                header_len: 12,
            })
        } else {
            let len = u32::from(self.u16_at(pos + 6).ok_or(ScanError::NeedMore)?);
            Ok(Header {
                tag,
                vr,
                len,
                header_len: 8,
            })
        }
    }

    /// The length of a defined-length value whose header is at `pos`, checked: it fits in
    /// its container and, for a binary VR, is a whole number of values.
    fn defined_length(pos: u64, h: &Header, end: u64, explicit: bool) -> Result<u64, ScanError> {
        let len = u64::from(h.len);
        if pos + h.header_len + len > end {
            return Err(Self::too_long(pos, h, end, MalformedKind::ValueTooLong));
        }
        if explicit && len % value_size(&h.vr) != 0 {
            return Err(Self::too_long(
                pos,
                h,
                end,
                MalformedKind::LengthNotMultiple,
            ));
        }
        Ok(len)
    }

    fn too_long(pos: u64, h: &Header, end: u64, kind: MalformedKind) -> ScanError {
        ScanError::Malformed(Malformed {
            offset: pos,
            tag: h.tag,
            declared: h.len,
            available: end.saturating_sub(pos + h.header_len),
            kind,
        })
    }

    /// Scans elements from `pos` to `end` (or to a delimiter `stop` when given).
    /// Returns the position after the last element (after the delimiter if any) and
    /// the offset of the first top-level Pixel Data header, where the scan ends when
    /// `stop_at_pixel_data`.
    fn elements(
        &self,
        mut pos: u64,
        end: u64,
        stop: Option<(u16, u16)>,
        depth: usize,
        explicit: bool,
        stop_at_pixel_data: bool,
    ) -> Result<(u64, Option<u64>), ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::Malformed(Malformed {
                offset: pos,
                tag: (0, 0),
                declared: 0,
                available: end.saturating_sub(pos),
                kind: MalformedKind::TooDeep,
            }));
        }
        let mut pixel = None;
        loop {
            if pos >= end {
                if stop.is_some() && end == self.total {
                    return Err(ScanError::Malformed(Malformed {
                        offset: pos,
                        tag: stop.unwrap_or_default(),
                        declared: UNDEFINED,
                        available: 0,
                        kind: MalformedKind::MissingDelimiter,
                    }));
                }
                return Ok((pos, pixel));
            }
            // Trailing padding shorter than a header at the very end of a file is
            // tolerated at top level (some writers pad to an even length).
            if depth == 0 && end - pos < 8 && end == self.total {
                return Ok((end, pixel));
            }
            let h = self.header(pos, end, explicit)?;
            if Some(h.tag) == stop {
                return Ok((pos + h.header_len, None));
            }
            if depth == 0 && h.tag == PIXEL_DATA {
                if stop_at_pixel_data {
                    return Ok((pos, Some(pos)));
                }
                pixel = pixel.or(Some(pos));
            }
            let value_start = pos + h.header_len;
            if h.len == UNDEFINED {
                let encapsulated = h.tag == PIXEL_DATA || matches!(&h.vr, b"OB" | b"OW");
                let is_seq = &h.vr == b"SQ" || &h.vr == b"UN" || !explicit || encapsulated;
                if !is_seq {
                    return Err(Self::too_long(pos, &h, end, MalformedKind::ValueTooLong));
                }
                // UN with undefined length is encoded as implicit VR little endian.
                let inner_explicit = explicit && &h.vr != b"UN";
                pos = self.items(value_start, end, depth + 1, inner_explicit, encapsulated)?;
            } else {
                let len = Self::defined_length(pos, &h, end, explicit)?;
                let looks_like_seq =
                    &h.vr == b"SQ" || (!explicit && len >= 8 && self.starts_with_item(value_start));
                if looks_like_seq && len > 0 {
                    self.items(value_start, value_start + len, depth + 1, explicit, false)?;
                }
                pos = value_start + len;
            }
        }
    }

    fn starts_with_item(&self, pos: u64) -> bool {
        self.u16_at(pos) == Some(0xFFFE) && self.u16_at(pos + 2) == Some(0xE000)
    }

    /// Scans a list of items (a sequence value or encapsulated pixel fragments) from
    /// `pos`. With `end` the end of a defined-length value the list ends there;
    /// otherwise a sequence delimiter ends it.
    fn items(
        &self,
        mut pos: u64,
        end: u64,
        depth: usize,
        explicit: bool,
        fragments: bool,
    ) -> Result<u64, ScanError> {
        loop {
            if pos >= end {
                if end == self.total {
                    // Undefined length reaching the end of the data: no delimiter.
                    return Err(ScanError::Malformed(Malformed {
                        offset: pos,
                        tag: SEQ_END,
                        declared: UNDEFINED,
                        available: 0,
                        kind: MalformedKind::MissingDelimiter,
                    }));
                }
                return Ok(pos);
            }
            let h = self.header(pos, end, explicit)?;
            if h.tag == SEQ_END {
                return Ok(pos + 8);
            }
            if h.tag != ITEM {
                return Err(Self::too_long(pos, &h, end, MalformedKind::ExpectedItem));
            }
            let value_start = pos + 8;
            if h.len == UNDEFINED {
                if fragments {
                    return Err(Self::too_long(pos, &h, end, MalformedKind::ValueTooLong));
                }
                let (after, _) =
                    self.elements(value_start, end, Some(ITEM_END), depth, explicit, false)?;
                pos = after;
            } else {
                let len = Self::defined_length(pos, &h, end, explicit)?;
                if !fragments {
                    self.elements(value_start, value_start + len, None, depth, explicit, false)?;
                }
                pos = value_start + len;
            }
        }
    }
}

/// Scans the file meta group (explicit VR little endian, group 0002) that starts at
/// the beginning of `bytes` (just after `DICM`); the meta group parser reserves what a
/// header declares, like the data set parser.
pub(crate) fn scan_meta(bytes: &[u8], total: u64) -> Result<(), ScanError> {
    let s = Scanner {
        bytes,
        total,
        enc: Encoding {
            explicit: true,
            big_endian: false,
        },
    };
    let mut pos = 0u64;
    // The declared (0002,0000) group length, checked against the group-2 elements
    // present: the meta parser reads elements until it has consumed that many bytes,
    // whatever their group, so a length that runs past the group would make it read
    // the data set's elements as meta elements with their lengths unchecked.
    let mut group_length: Option<(Header, u64)> = None;
    let group_end = loop {
        if pos + 8 > total {
            break None; // truncated: the meta parser reports it
        }
        match s.u16_at(pos) {
            None => return Err(ScanError::NeedMore),
            Some(0x0002) => {}
            Some(_) => break Some(pos),
        }
        let h = s.header(pos, total, true)?;
        let value_start = pos + h.header_len;
        if h.len == UNDEFINED || value_start + u64::from(h.len) > total {
            return Err(Scanner::too_long(
                pos,
                &h,
                total,
                MalformedKind::ValueTooLong,
            ));
        }
        if h.tag == (0x0002, 0x0000) && h.len == 4 {
            let v = s.u32_at(value_start, false).ok_or(ScanError::NeedMore)?;
            group_length = Some((h, u64::from(v)));
        }
        pos = value_start + u64::from(h.len);
    };
    if let (Some((h, declared)), Some(end)) = (group_length, group_end) {
        let present = end.saturating_sub(h.header_len + 4);
        if declared > present {
            return Err(ScanError::Malformed(Malformed {
                offset: 0,
                tag: h.tag,
                declared: declared as u32,
                available: present,
                kind: MalformedKind::ValueTooLong,
            }));
        }
    }
    Ok(())
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
    let (_, pixel) = s.elements(0, total, None, 0, enc.explicit, stop_at_pixel_data)?;
    Ok(pixel)
}

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
/// [`scan`] returned for the whole of `bytes`), without copying it.
pub(crate) fn pixel_value(bytes: &[u8], at: u64, enc: Encoding) -> Result<PixelValue, ScanError> {
    let s = Scanner {
        bytes,
        total: bytes.len() as u64,
        enc,
    };
    let end = s.total;
    let range = |from: u64, len: u64| from as usize..(from + len) as usize;
    let h = s.header(at, end, enc.explicit)?;
    if h.len != UNDEFINED {
        let len = Scanner::defined_length(at, &h, end, enc.explicit)?;
        return Ok(PixelValue::Native(range(at + h.header_len, len)));
    }
    let mut items = Vec::new();
    let mut pos = at + h.header_len;
    loop {
        let h = s.header(pos, end, false)?;
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

    const LE: Encoding = Encoding {
        explicit: true,
        big_endian: false,
    };

    fn elem(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
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
    fn refuses_a_meta_element_longer_than_the_file() {
        let mut m = elem((0x0002, 0x0000), b"UL", &[30, 0, 0, 0]);
        let mut uid = elem((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0");
        m.append(&mut uid.clone());
        assert_eq!(scan_meta(&m, m.len() as u64), Ok(()));
        uid[6..8].copy_from_slice(&0xFFF0u16.to_le_bytes());
        let mut bad = elem((0x0002, 0x0000), b"UL", &[30, 0, 0, 0]);
        bad.append(&mut uid);
        let Err(ScanError::Malformed(d)) = scan_meta(&bad, bad.len() as u64) else {
            panic!("accepted");
        };
        assert_eq!((d.tag, d.declared), ((0x0002, 0x0010), 0xFFF0));
    }

    #[test]
    fn reads_unknown_vrs_as_un_and_refuses_binary_values_of_odd_size() {
        // "ZZ" is no VR: its header is read in the 12-byte UN form, whose 4-byte length
        // (here huge) the parser would also read.
        let mut d = vec![0x10, 0x00, 0x20, 0x00, b'Z', b'Z', 4, 0];
        d.extend(0x7000_0000u32.to_le_bytes());
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, LE, false) else {
            panic!("accepted");
        };
        assert_eq!(
            (m.kind, m.declared),
            (MalformedKind::ValueTooLong, 0x7000_0000)
        );
        // An FL of 2 bytes: the parser would read no float and lose its place.
        let d = elem((0x0028, 0x1054), b"FL", &[1, 2]);
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, LE, false) else {
            panic!("accepted");
        };
        assert_eq!(m.kind, MalformedKind::LengthNotMultiple);
        let ok = elem((0x0028, 0x1054), b"FL", &[1, 2, 3, 4]);
        assert_eq!(scan(&ok, ok.len() as u64, LE, false), Ok(None));
    }

    #[test]
    fn refuses_a_meta_group_length_past_the_group() {
        let uid = elem((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0");
        let n = uid.len() as u32;
        let group = |declared: u32| {
            let mut m = elem((0x0002, 0x0000), b"UL", &declared.to_le_bytes());
            m.extend(&uid);
            m.extend(elem((0x0008, 0x0016), b"UI", b"1.2\0"));
            m
        };
        let m = group(n);
        assert_eq!(scan_meta(&m, m.len() as u64), Ok(()));
        let m = group(n + 12);
        let Err(ScanError::Malformed(d)) = scan_meta(&m, m.len() as u64) else {
            panic!("accepted");
        };
        assert_eq!(
            (d.tag, d.declared, d.available),
            ((0x0002, 0x0000), n + 12, u64::from(n))
        );
    }

    #[test]
    fn a_prefix_asks_for_more() {
        let mut d = elem((0x0010, 0x0020), b"LO", b"ID01");
        d.extend(elem((0x0010, 0x0040), b"CS", b"F "));
        d.extend(elem(PIXEL_DATA, b"OW", &[1, 2, 3, 4]));
        assert_eq!(
            scan(&d[..10], d.len() as u64, LE, true),
            Err(ScanError::NeedMore)
        );
    }
}
