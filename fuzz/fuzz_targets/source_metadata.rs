//! The sources' metadata as they ship: delimited tables in any encoding (every adapter),
//! BIMCV's JSON sidecars, the NLM readings, covid-idc's free-text dates. The first byte
//! picks the reader, the rest is its input.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run source_metadata -- -max_len=4096
//! ```
#![no_main]

use std::path::Path;

use cxr_source_util::table::{Encoding, Table, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("/fuzz/metadata");
    match which % 6 {
        0 | 1 => {
            let encoding = if which % 2 == 0 {
                Encoding::Utf8
            } else {
                Encoding::Latin1
            };
            if let Ok(text) = decode(rest, encoding, path) {
                for delimiter in [b',', b'\t', b';'] {
                    if let Ok(t) = Table::parse(path, &text, delimiter) {
                        for row in &t.rows {
                            let _ = t.check_width(row);
                        }
                    }
                }
            }
        }
        2 => {
            if let Ok(s) = cxr_source_bimcv_covid::sidecar::Sidecar::parse(rest) {
                let _ = s.text("00185101");
                if let Some(d) = cxr_core::StudyDate::from_ymd(2020, 3, 1) {
                    let _ = s.age_at(d);
                }
            }
        }
        3 => {
            let text = String::from_utf8_lossy(rest);
            let _ = cxr_source_nlm_tb::reading::parse_montgomery(&text);
            let _ = cxr_source_nlm_tb::reading::parse_shenzhen(&text);
        }
        4 => {
            let text = String::from_utf8_lossy(rest);
            let _ = cxr_source_covid_idc::date::parse_lenient(&text);
            let _ = cxr_source_util::table::python_list(&text);
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            let _ = text.parse::<cxr_core::StudyDate>();
            let _ = text.parse::<cxr_core::SourceId>();
            let _ = text.parse::<cxr_core::View>();
            let _ = cxr_core::age::age_years(&text);
        }
    }
});
