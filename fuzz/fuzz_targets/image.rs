//! Image and mask decoding on arbitrary bytes (PNG, JPEG, GIF, anything): an 8-bit image
//! or an error, never a panic, and never an allocation past the declared-size check.
//!
//! ```sh
//! cd fuzz && mkdir -p corpus/image && cp ../crates/cxr-lungseg/tests/fixtures/*/*/*.png corpus/image/
//! cargo +nightly fuzz run image corpus/image -- -max_len=65536 -rss_limit_mb=1024
//! ```
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/image.png");
    let options = cxr_core::LoadOptions::inverted(data.first().is_some_and(|b| b % 2 == 1));
    if let Ok(img) = cxr_core::decode_gray(data, path, options) {
        assert!(u64::from(img.width()) * u64::from(img.height()) <= cxr_core::MAX_IMAGE_PIXELS);
        let _ = cxr_core::LungMask::from_gray(&img, 128);
    }
});
