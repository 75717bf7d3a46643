//! A length check over the encoded data set, run before the DICOM parser sees it.
//!
//! The parser trusts the value length each element header declares and reserves that
//! many bytes before reading them, so a 200-byte file that declares a 4 GiB value makes
//! it allocate 4 GiB. This walk visits every element header (descending into sequences,
//! items and encapsulated pixel data) and refuses any defined length that runs past the
//! end of its container, without reading or copying a value.
//!
//! The check is only as good as its agreement with the parser on where each header is
//! and how it reads: the walk follows dicom-rs's own tokeniser state by state (which
//! headers open and close sequences and items, the VR it gives each element under
//! implicit VR, how many bytes it consumes for a value) and refuses what would make the
//! two disagree, such as a UL of 6 bytes, of which dicom-rs reads 4.
//!
//! It also locates the Pixel Data value ([`pixel_value`]), which is then read in place
//! rather than copied by the parser.

use std::ops::Range;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

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

/// The VR dicom-rs gives an element under implicit VR
/// (`ImplicitVRLittleEndianDecoder::decode_header`): OW for Pixel Data and Overlay Data,
/// otherwise the standard dictionary's, relaxed (US for US-or-SS, OW for OB-or-OW), and
/// UN for a tag the dictionary does not know. Group lengths (gggg,0000), Command Group
/// Length included, are UL; private creators LO.
fn implicit_vr(tag: (u16, u16)) -> [u8; 2] {
    let vr = if tag == PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        VR::OW
    } else {
        StandardDataDictionary
            .by_tag(Tag(tag.0, tag.1))
            .map_or(VR::UN, |e| e.vr().relaxed())
    };
    vr.to_bytes()
}

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

    /// Reads the element header at `pos` as dicom-rs's decoders do
    /// (`dicom-encoding` 0.10, `decode/{explicit_le,explicit_be,implicit_le}.rs`). `end`
    /// bounds the enclosing container.
    ///
    /// Implicit VR, and an (FFFE,xxxx) tag in any syntax, use the 8-byte form (tag and a
    /// 4-byte length). Under implicit VR the VR is the one dicom-rs takes from the
    /// dictionary ([`implicit_vr`]); an (FFFE,xxxx) element under explicit VR is UN.
    fn header(&self, pos: u64, end: u64) -> Result<Header, ScanError> {
        self.need(pos, 8, end)?;
        let tag = (
            self.u16_at(pos).ok_or(ScanError::NeedMore)?,
            self.u16_at(pos + 2).ok_or(ScanError::NeedMore)?,
        );
        if tag.0 == 0xFFFE || !self.enc.explicit {
            // Items and delimiters are little endian only in LE syntaxes; big endian
            // syntaxes encode them big endian as well.
            let len = self
                .u32_at(pos + 4, self.enc.big_endian)
                .ok_or(ScanError::NeedMore)?;
            return Ok(Header {
                tag,
                vr: if self.enc.explicit {
                    *b"UN"
                } else {
                    implicit_vr(tag)
                },
                len,
                header_len: 8,
            });
        }
        let p = pos as usize;
        let vr = [self.bytes[p + 4], self.bytes[p + 5]];
        // A VR code the standard does not define is read as UN (reserved bytes and a
        // 4-byte length), as the DICOM parser does: reading it with a 2-byte length here
        // would let the parser find a different, possibly huge, length.
        if !KNOWN_VRS.contains(&vr) {
            return self.long_header(pos, end, tag, *b"UN");
        }
        if matches!(
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
        ) {
            self.long_header(pos, end, tag, vr)
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

    /// The 12-byte explicit VR header: VR, two reserved bytes, a 4-byte length.
    fn long_header(
        &self,
        pos: u64,
        end: u64,
        tag: (u16, u16),
        vr: [u8; 2],
    ) -> Result<Header, ScanError> {
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
    }

    /// Reads an item or delimiter header at `pos` where dicom-rs expects one
    /// (`decode_item_header`): a tag and a 4-byte length, in any syntax.
    fn item_header(&self, pos: u64, end: u64) -> Result<Header, ScanError> {
        self.need(pos, 8, end)?;
        let tag = (
            self.u16_at(pos).ok_or(ScanError::NeedMore)?,
            self.u16_at(pos + 2).ok_or(ScanError::NeedMore)?,
        );
        let len = self
            .u32_at(pos + 4, self.enc.big_endian)
            .ok_or(ScanError::NeedMore)?;
        Ok(Header {
            tag,
            vr: *b"UN",
            len,
            header_len: 8,
        })
    }

    /// The length of a defined-length value whose header is at `pos`, checked: it fits in
    /// its container and, with `whole_values` (a value dicom-rs reads as numbers), is a
    /// whole number of values of its VR.
    fn defined_length(
        pos: u64,
        h: &Header,
        end: u64,
        whole_values: bool,
    ) -> Result<u64, ScanError> {
        let len = u64::from(h.len);
        if pos + h.header_len + len > end {
            return Err(Self::too_long(pos, h, end, MalformedKind::ValueTooLong));
        }
        if whole_values && len % value_size(&h.vr) != 0 {
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
    /// [`pixel_value`], not by dicom-rs (the parser is given the bytes before it).
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
    // It is the first element's (dicom-object's `FileMetaTable::read_from` requires the
    // first element to be (0002,0000) of length 4 and takes the group length from it,
    // then skips any later (0002,0000) as an unknown group-2 element): this scan once
    // took the last one, so a second, plausible group length hid a huge first one.
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
        let h = s.header(pos, total)?;
        let value_start = pos + h.header_len;
        if h.len == UNDEFINED || value_start + u64::from(h.len) > total {
            return Err(Scanner::too_long(
                pos,
                &h,
                total,
                MalformedKind::ValueTooLong,
            ));
        }
        if pos == 0 && h.tag == (0x0002, 0x0000) && h.len == 4 {
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
    s.walk(stop_at_pixel_data)
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

    const IMPLICIT: Encoding = Encoding {
        explicit: false,
        big_endian: false,
    };

    /// A tag and a 4-byte length: implicit VR, items and delimiters.
    fn short(tag: (u16, u16), len: u32) -> Vec<u8> {
        let mut v = vec![];
        v.extend(tag.0.to_le_bytes());
        v.extend(tag.1.to_le_bytes());
        v.extend(len.to_le_bytes());
        v
    }

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
    fn takes_the_meta_group_length_from_the_first_element() {
        // Fuzz finding: a first (0002,0000) declaring 0x4D434944 ("DICM"), then a second,
        // plausible one. dicom-rs uses the first and read on into the data set.
        let uid = elem((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0");
        let n = uid.len() as u32;
        let mut m = elem((0x0002, 0x0000), b"UL", &0x4D43_4944u32.to_le_bytes());
        m.extend(elem((0x0002, 0x0000), b"UL", &n.to_le_bytes()));
        m.extend(&uid);
        m.extend(elem((0x0008, 0x0016), b"UI", b"1.2\0"));
        let Err(ScanError::Malformed(d)) = scan_meta(&m, m.len() as u64) else {
            panic!("accepted");
        };
        assert_eq!(
            (d.tag, d.declared, d.available),
            ((0x0002, 0x0000), 0x4D43_4944, u64::from(n) + 12)
        );
        // The other way round is a valid group (the second is skipped as unknown).
        let mut m = elem((0x0002, 0x0000), b"UL", &(n + 12).to_le_bytes());
        m.extend(elem((0x0002, 0x0000), b"UL", &0x4D43_4944u32.to_le_bytes()));
        m.extend(&uid);
        m.extend(elem((0x0008, 0x0016), b"UI", b"1.2\0"));
        assert_eq!(scan_meta(&m, m.len() as u64), Ok(()));
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

    #[test]
    fn takes_implicit_vrs_from_the_dictionary_as_the_parser_does() {
        // Fuzz finding: a group length (UL by the dictionary) of 6 bytes. dicom-rs reads
        // one u32, counts 6 bytes, and reads its next header 2 bytes early, at 12: there
        // (0000,0000) declares 0x84000000 bytes, which it zero-filled (2.2 GB).
        let mut d = short((0x0008, 0x0000), 6);
        d.extend([0; 8]);
        d.extend(0x8400_0000u32.to_le_bytes());
        let Err(ScanError::Malformed(m)) = scan(&d, d.len() as u64, IMPLICIT, false) else {
            panic!("accepted");
        };
        assert_eq!(
            (m.kind, m.tag, m.declared, m.offset),
            (MalformedKind::LengthNotMultiple, (0x0008, 0x0000), 6, 0)
        );
        // Rows is US: 3 bytes are refused, 2 accepted. A private tag is UN: any length.
        let mut rows = short((0x0028, 0x0010), 3);
        rows.extend([0; 3]);
        assert!(scan(&rows, rows.len() as u64, IMPLICIT, false).is_err());
        let mut ok = short((0x0028, 0x0010), 2);
        ok.extend([0; 2]);
        ok.extend(short((0x0009, 0x1010), 3));
        ok.extend([0; 3]);
        ok.extend(short((0x0010, 0x0020), 0));
        assert_eq!(scan(&ok, ok.len() as u64, IMPLICIT, false), Ok(None));
        // A private value that happens to start with an item tag is bytes to dicom-rs
        // (UN), not a sequence: its content is not walked.
        let mut un = short((0x0009, 0x1010), 8);
        un.extend(short(ITEM, 0x7000_0000));
        assert_eq!(scan(&un, un.len() as u64, IMPLICIT, false), Ok(None));
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
