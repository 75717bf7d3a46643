//! Reading one element header as dicom-rs reads it: the byte order and VR encoding of
//! the data set, the tags the walks look for, and the checked length of a value.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use super::malformed::{Malformed, MalformedKind, ScanError};

/// Byte order and VR encoding of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    /// Explicit VR (else implicit).
    pub explicit: bool,
    /// Big endian (else little endian).
    pub big_endian: bool,
}

pub(super) const UNDEFINED: u32 = u32::MAX;

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
pub(super) const ITEM: (u16, u16) = (0xFFFE, 0xE000);
pub(super) const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
pub(super) const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
pub(super) const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

pub(super) struct Scanner<'a> {
    pub(super) bytes: &'a [u8],
    /// Length of the whole data set (the buffer may hold only a prefix of it).
    pub(super) total: u64,
    pub(super) enc: Encoding,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) tag: (u16, u16),
    pub(super) vr: [u8; 2],
    pub(super) len: u32,
    pub(super) header_len: u64,
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

impl Scanner<'_> {
    pub(super) fn u16_at(&self, pos: u64) -> Option<u16> {
        let p = usize::try_from(pos).ok()?;
        let b: [u8; 2] = self.bytes.get(p..p.checked_add(2)?)?.try_into().ok()?;
        Some(if self.enc.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub(super) fn u32_at(&self, pos: u64, big_endian: bool) -> Option<u32> {
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
    pub(super) fn header(&self, pos: u64, end: u64) -> Result<Header, ScanError> {
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
    pub(super) fn item_header(&self, pos: u64, end: u64) -> Result<Header, ScanError> {
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
    pub(super) fn defined_length(
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

    pub(super) fn too_long(pos: u64, h: &Header, end: u64, kind: MalformedKind) -> ScanError {
        ScanError::Malformed(Malformed {
            offset: pos,
            tag: h.tag,
            declared: h.len,
            available: end.saturating_sub(pos + h.header_len),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::scan;
    use crate::scan::test_support::{IMPLICIT, LE, elem, short};

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
}
