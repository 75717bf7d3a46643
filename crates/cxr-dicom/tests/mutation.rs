//! A mutation loop over the fixtures (the stable-toolchain companion of the cargo-fuzz
//! target in `fuzz/`): byte flips, truncations and length-field corruptions must give
//! `Ok` or a typed error — never a panic — and the files in `tests/bad/` (regressions
//! included) must all be errors.

use std::path::Path;

use cxr_dicom::{ConvertOptions, convert_bytes, header_from_bytes};
use proptest::prelude::*;

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(read_corpus)
}

fn read_corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn run(bytes: &[u8]) {
    let name = Path::new("mutant.dcm");
    let _ = header_from_bytes(bytes, name);
    if let Err(e) = convert_bytes(bytes, name, &ConvertOptions::default()) {
        assert!(e.to_string().contains("mutant.dcm"), "{e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        file in 0usize..64,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        len_field in proptest::option::of((any::<prop::sample::Index>(), any::<u32>())),
    ) {
        let corpus = corpus();
        let mut b = corpus[file % corpus.len()].clone();
        for (at, v) in edits {
            let i = at.index(b.len());
            b[i] = v;
        }
        if let Some((at, v)) = len_field {
            // Overwrite four bytes somewhere with a (likely huge) length.
            let i = at.index(b.len().saturating_sub(4).max(1));
            if i + 4 <= b.len() {
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        if let Some(c) = cut {
            b.truncate(c.index(b.len() + 1));
        }
        run(&b);
    }
}

#[test]
fn every_bad_file_is_an_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let r = cxr_dicom::convert_file(&p, &ConvertOptions::default());
        assert!(r.is_err(), "{} converted", p.display());
        n += 1;
    }
    assert!(n >= 12);
}
