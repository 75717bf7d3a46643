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
    // The last byte picks a resolution reduction (0–3), so the full and the reduced
    // decode routes are both fuzzed without touching the leading bytes (the preamble).
    let options = cxr_dicom::ConvertOptions {
        reduce: data.last().map_or(0, |b| b % 4),
        ..Default::default()
    };
    let _ = cxr_dicom::convert_bytes(data, name, &options);
});
