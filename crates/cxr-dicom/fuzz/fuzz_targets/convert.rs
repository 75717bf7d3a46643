//! Header and pixel path on arbitrary bytes: must return, never panic or allocate
//! without bound. Seed the corpus with ../tests/fixtures and ../tests/bad:
//!
//! ```sh
//! cd crates/cxr-dicom/fuzz
//! mkdir -p corpus/convert && cp ../tests/fixtures/* ../tests/bad/* corpus/convert/
//! cargo +nightly fuzz run convert corpus/convert -- -max_len=131072 -rss_limit_mb=1024
//! ```
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.dcm");
    let _ = cxr_dicom::header_from_bytes(data, name);
    let _ = cxr_dicom::convert_bytes(data, name, &cxr_dicom::ConvertOptions::default());
});
