//! Arbitrary bytes in the labels table give records, exclusions or a named error —
//! never a panic — and every data line is accounted for.

use cxr_core::{ScanError, Source};
use cxr_source_padchest::{LABELS_CSV, PadchestSource};
use proptest::prelude::*;

const HEADER: &str =
    ",ImageID,ImageDir,StudyDate_DICOM,PatientID,PatientBirth,Projection,Pediatric,Labels\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_rows_never_panic(body in proptest::collection::vec(
        prop_oneof![
            Just(b','), Just(b'\n'), Just(b'"'), Just(b'['), Just(b'\''), Just(0xE9u8),
            any::<u8>(), Just(b'a'), Just(b'1'),
        ],
        0..300,
    )) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = HEADER.as_bytes().to_vec();
        text.extend(&body);
        std::fs::write(dir.path().join(LABELS_CSV), &text).unwrap();
        match PadchestSource::default().scan(dir.path()) {
            Ok(scan) => prop_assert!(scan.records.is_empty()),
            Err(ScanError::Table { line, .. }) => prop_assert!(line.is_some()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
