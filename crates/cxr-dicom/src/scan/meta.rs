//! The scan of the file meta group (group 0002), before the data set's.

use super::element::{Encoding, Header, Scanner, UNDEFINED};
use super::malformed::{Malformed, MalformedKind, ScanError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::elem;

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
}
