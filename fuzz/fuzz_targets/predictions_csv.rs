//! A predictions CSV (`evaluate`'s input): every row checked, all problems reported,
//! never a panic; aggregation of what parses never panics either.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run predictions_csv -- -max_len=4096
//! ```
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/predictions.csv");
    if let Ok(images) = cxr_eval::predictions::parse_predictions(data, path) {
        for g in [
            cxr_eval::Grouping::PatientDay,
            cxr_eval::Grouping::Patient,
            cxr_eval::Grouping::Image,
        ] {
            let a = cxr_eval::aggregate(&images, g);
            assert!(a.units.len() + a.conflicts.len() <= images.len());
        }
    }
});
