//! Fingerprints of a radiograph, to tell the same film filed twice: the SHA-256 of the
//! file (an exact copy), a 64-bit difference hash and a 32×32 thumbnail (a copy
//! re-encoded, resized or cropped a little). One home of the rule, used by the cohort's
//! duplicate finder (`cxr_cohort::duplicates`) and by the check that a lung segmenter's
//! training images are kept out of the classifier's test part (`cxr_lungseg` records
//! them, `cxr_experiments` matches them).

use image::imageops::FilterType;
use sha2::{Digest, Sha256};

use crate::GrayImage;

/// Fingerprints of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// Difference hash of the 9×8 downscaled gray image ([`dhash`]).
    pub dhash: u64,
    /// 32×32 thumbnail (row-major), to confirm near duplicates ([`thumbnail`]).
    pub thumbnail: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprints of a file's `bytes` and of the image decoded from them.
    pub fn of(bytes: &[u8], img: &GrayImage) -> Fingerprint {
        Fingerprint {
            sha256: Sha256::digest(bytes).into(),
            dhash: dhash(img),
            thumbnail: thumbnail(img),
        }
    }

    /// The fingerprints of the file at `path` and of the image decoded from it (`img`).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] naming the file when it cannot be read.
    pub fn of_file(path: &std::path::Path, img: &GrayImage) -> crate::Result<Fingerprint> {
        let bytes = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Fingerprint::of(&bytes, img))
    }

    /// Whether `self` and `other` are the same film: the same file, or hashes at most
    /// `max_hamming` bits apart whose thumbnails differ by at most `max_thumbnail_mad`
    /// gray levels ([`thumbnail_mad`]). Chest radiographs are alike in their global
    /// layout, so the 64-bit hash alone over-groups them.
    pub fn same_film(&self, other: &Fingerprint, max_hamming: u32, max_thumbnail_mad: f64) -> bool {
        self.sha256 == other.sha256
            || ((self.dhash ^ other.dhash).count_ones() <= max_hamming
                && thumbnail_mad(&self.thumbnail, &other.thumbnail) <= max_thumbnail_mad)
    }

    /// The text columns the project's CSV files keep a fingerprint in, in the order
    /// `sha256`, `dhash`, `thumbnail`: lower-case hexadecimal, the hash as 16 digits.
    pub fn to_columns(&self) -> [String; 3] {
        [
            to_hex(&self.sha256),
            format!("{:016x}", self.dhash),
            to_hex(&self.thumbnail),
        ]
    }

    /// The fingerprint [`Fingerprint::to_columns`] wrote; `Err` names the column
    /// (`sha256`, `dhash` or `thumbnail`) whose text is not what it writes, and why.
    pub fn from_columns(
        sha256: &str,
        dhash: &str,
        thumbnail: &str,
    ) -> Result<Fingerprint, (&'static str, crate::ParseError)> {
        let bad = |column: &'static str, value: &str| {
            let source = crate::ParseError {
                kind: "fingerprint",
                value: value.chars().take(40).collect(),
                expected: "hexadecimal of the right length",
            };
            (column, source)
        };
        Ok(Fingerprint {
            sha256: from_hex(sha256)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| bad("sha256", sha256))?,
            dhash: u64::from_str_radix(dhash, 16).map_err(|_| bad("dhash", dhash))?,
            thumbnail: from_hex(thumbnail)
                .filter(|t| t.len() == 32 * 32)
                .ok_or_else(|| bad("thumbnail", thumbnail))?,
        })
    }
}

/// Difference hash: downscale to 9×8 and set a bit where a pixel is brighter than its
/// right neighbour. Robust to re-encoding, resizing and mild contrast changes.
pub fn dhash(img: &GrayImage) -> u64 {
    let small = image::imageops::resize(img, 9, 8, FilterType::Triangle);
    let mut h = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let bit = small.get_pixel(x, y).0[0] > small.get_pixel(x + 1, y).0[0];
            h = (h << 1) | u64::from(bit);
        }
    }
    h
}

/// The 32×32 thumbnail (row-major) near duplicates are confirmed on.
pub fn thumbnail(img: &GrayImage) -> Vec<u8> {
    image::imageops::resize(img, 32, 32, FilterType::Triangle).into_raw()
}

/// Mean absolute difference of two thumbnails after removing each one's mean.
pub fn thumbnail_mad(a: &[u8], b: &[u8]) -> f64 {
    let mean = |t: &[u8]| t.iter().map(|&v| f64::from(v)).sum::<f64>() / t.len().max(1) as f64;
    let (ma, mb) = (mean(a), mean(b));
    a.iter()
        .zip(b)
        .map(|(&x, &y)| ((f64::from(x) - ma) - (f64::from(y) - mb)).abs())
        .sum::<f64>()
        / a.len().max(1) as f64
}

/// Lower-case hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower- or upper-case hexadecimal text; `None` for an odd length or a
/// character that is not a hexadecimal digit.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn film(seed: u32) -> GrayImage {
        GrayImage::from_fn(200, 160, |x, y| {
            let v = (x * 3 + y * 2 + seed * 37) % 251;
            let lung = ((x as f64 - 100.0).powi(2) / 60.0f64.powi(2)
                + (y as f64 - 80.0).powi(2) / 50.0f64.powi(2))
                < 1.0;
            image::Luma([if lung {
                (v / 4) as u8
            } else {
                (128 + v / 2) as u8
            }])
        })
    }

    #[test]
    fn a_resized_copy_is_the_same_film_and_another_image_is_not() {
        let a = film(1);
        let fa = Fingerprint::of(b"a", &a);
        let half = image::imageops::resize(&a, 100, 80, FilterType::Lanczos3);
        let fh = Fingerprint::of(b"a resized", &half);
        assert_ne!(fa.sha256, fh.sha256);
        assert!(
            fa.same_film(&fh, 4, 3.0),
            "{:?}",
            thumbnail_mad(&fa.thumbnail, &fh.thumbnail)
        );
        // Its mirror image is another film.
        let mirrored = image::imageops::flip_horizontal(&a);
        assert!(!fa.same_film(&Fingerprint::of(b"m", &mirrored), 4, 3.0));
        // The same bytes are the same film whatever the pixels.
        assert!(fa.same_film(&Fingerprint::of(b"a", &mirrored), 0, 0.0));
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(to_hex(&bytes), "0001abff");
        assert_eq!(from_hex("0001ABff").unwrap(), bytes);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(""), Some(vec![]));
    }

    #[test]
    fn columns_round_trip_and_name_the_bad_one() {
        let f = Fingerprint::of(b"file", &film(3));
        let [sha, dh, th] = f.to_columns();
        assert_eq!((sha.len(), dh.len(), th.len()), (64, 16, 2048));
        assert_eq!(Fingerprint::from_columns(&sha, &dh, &th).unwrap(), f);
        let column = |r: Result<Fingerprint, (&'static str, crate::ParseError)>| r.unwrap_err().0;
        assert_eq!(
            column(Fingerprint::from_columns(&sha[2..], &dh, &th)),
            "sha256"
        );
        assert_eq!(column(Fingerprint::from_columns(&sha, "xyz", &th)), "dhash");
        let (_, e) = Fingerprint::from_columns(&sha, &dh, &th[..2046]).unwrap_err();
        assert_eq!(e.value, th[..40]);
    }
}
