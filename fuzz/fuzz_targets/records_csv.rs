//! `records.csv` as a user writes it: any bytes must give records or an error naming the
//! file, never a panic. Records that parse must write back and read again the same.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run records_csv -- -max_len=4096
//! ```
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/records.csv");
    if let Ok(records) = cxr_core::manifest::parse_records(data, path) {
        let dir = std::env::temp_dir().join(format!("cxr-fuzz-{}", std::process::id()));
        let out = dir.join("records.csv");
        if cxr_core::manifest::write_records(&out, &records).is_ok() {
            let back = cxr_core::manifest::read_records(&out).expect("written records read back");
            assert_eq!(back.len(), records.len());
        }
    }
});
