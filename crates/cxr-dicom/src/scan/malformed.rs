//! Why a data set was refused: the scan's error and the structural defect it names.

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
