//! File names for ids: an image id from any source (which may hold `/`, `\`, `:`, spaces
//! or start with a dot) made into one file name, so that every cache and output folder
//! keyed by id maps two different ids to two different files.

/// The longest encoded name kept whole; longer ones are shortened and given a hash.
const MAX_NAME: usize = 180;

/// A file name (no extension) for `id`, injective over ids: ASCII letters, digits, `-`,
/// `_` and `.` stay as they are (a leading `.` excepted, so that no name is hidden), every
/// other byte becomes `%XX` (so `a/b` → `a%2Fb`, which no id `a_b` can give). Names longer
/// than 180 bytes keep their first 160 and a 64-bit FNV-1a hash of the whole id.
///
/// ```
/// use cxr_core::names::file_stem_for;
/// assert_eq!(file_stem_for("a/b"), "a%2Fb");
/// assert_eq!(file_stem_for("a_b"), "a_b");
/// assert_eq!(file_stem_for(".hidden"), "%2Ehidden");
/// assert_eq!(file_stem_for("50%"), "50%25");
/// ```
pub fn file_stem_for(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    if out.len() > MAX_NAME {
        let h = fnv1a64(id.as_bytes());
        // The encoding is ASCII: any byte index is a char boundary.
        out.truncate(160);
        out.push_str(&format!("~{h:016x}"));
    }
    out
}

/// The extensions (lower case) of the raster images `cxr_core::load_gray` reads: PNG,
/// JPEG, TIFF, BMP and WebP ([`crate::RASTER_FORMATS`]).
pub const RASTER_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"];

/// The extensions (lower case) by which a folder's image files are known: the raster
/// ones ([`RASTER_EXTENSIONS`], first) and DICOM's. DICOM files often have none, or are
/// named by their UID (`1.2.840.113619.2.55.3.604688119.868`), whose last part reads as
/// an extension.
pub const IMAGE_EXTENSIONS: [&str; 9] = [
    "png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "dcm", "dicom",
];

/// An image file's name without its image extension ([`IMAGE_EXTENSIONS`], any case):
/// the id a file known only by its path goes by. Any other name is kept whole, so that
/// two DICOM files named by UIDs that differ in their last part keep two ids.
///
/// ```
/// use std::path::Path;
/// use cxr_core::names::image_stem;
/// assert_eq!(image_stem(Path::new("in/a.png")), "a");
/// assert_eq!(image_stem(Path::new("IM0001.DCM")), "IM0001");
/// assert_eq!(image_stem(Path::new("scan.TIFF")), "scan");
/// assert_eq!(image_stem(Path::new("IM000001")), "IM000001");
/// assert_eq!(image_stem(Path::new("1.2.840.113619.2.55.3.868")), "1.2.840.113619.2.55.3.868");
/// ```
pub fn image_stem(path: &std::path::Path) -> String {
    let known = path
        .extension()
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)));
    let stem = if known {
        path.file_stem()
    } else {
        path.file_name()
    };
    stem.map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x` (seeds, per-element draws).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// 64-bit FNV-1a of `bytes`: a stable, platform-independent hash for names, shard
/// assignment and file fingerprints (not for security).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_extensions_are_the_raster_ones_then_dicoms() {
        assert_eq!(
            IMAGE_EXTENSIONS[..RASTER_EXTENSIONS.len()],
            RASTER_EXTENSIONS
        );
        assert_eq!(
            IMAGE_EXTENSIONS[RASTER_EXTENSIONS.len()..],
            ["dcm", "dicom"]
        );
    }

    #[test]
    fn ids_that_collided_under_replacement_get_their_own_names() {
        let ids = [
            "a/b", "a_b", "a\\b", "a:b", "a b", "a%2Fb", ".", "..", "", "é",
        ];
        let names: std::collections::BTreeSet<String> =
            ids.iter().map(|i| file_stem_for(i)).collect();
        assert_eq!(names.len(), ids.len());
        for n in &names {
            assert!(
                !n.starts_with('.') && !n.contains(['/', '\\', ':', ' ']),
                "{n}"
            );
        }
        assert_eq!(file_stem_for("é"), "%C3%A9");
        let long = "x".repeat(500);
        let n = file_stem_for(&long);
        assert_eq!(n.len(), 160 + 17);
        assert_ne!(n, file_stem_for(&format!("{long}y")));
    }
}
