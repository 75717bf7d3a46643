//! Every adapter on its fixture layout with one metadata file damaged (bytes replaced,
//! inserted or deleted, lines duplicated, the file cut short): the scan gives records
//! and exclusions, or an error that names a path of the source, and never panics. A
//! record always points to an image that exists; an exclusion always names its file or
//! its image.

use std::path::{Path, PathBuf};

use cxr_cohort::SourcePolicy;
use cxr_core::SourceId;
use proptest::prelude::*;
use proptest::sample::Index;

/// The fixture layouts (under the repository root), as `configs/cohort-fixtures.toml`
/// and the adapters' own tests use them.
const ROOTS: [(SourceId, &str); 10] = [
    (SourceId::CovidIdc, "fixtures/sources/covid-idc"),
    (SourceId::Coviddsl, "fixtures/sources/coviddsl/hm"),
    (SourceId::Coviddsl, "fixtures/sources/coviddsl/manifest"),
    (SourceId::BimcvCovid, "fixtures/sources/bimcv-covid/iter1"),
    (SourceId::Padchest, "fixtures/sources/padchest"),
    (SourceId::Chestxray8, "fixtures/sources/chestxray8"),
    (SourceId::NlmTb, "fixtures/sources/nlm-tb"),
    (SourceId::TbPortals, "fixtures/sources/tbportals/niaid"),
    (SourceId::TbPortals, "fixtures/sources/tbportals/manifest"),
    (SourceId::Qmenta, "fixtures/sources/qmenta-manifest"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The metadata files under `dir`: tables, readings and sidecars.
fn metadata_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            metadata_files(&p, out);
        } else if p.extension().is_some_and(|x| {
            let x = x.to_string_lossy().to_ascii_lowercase();
            matches!(x.as_str(), "csv" | "tsv" | "txt" | "json")
        }) {
            out.push(p);
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, u8),
    Insert(Index, u8),
    Delete(Index, usize),
    DuplicateLine(Index),
    Cut(Index),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b','),
        Just(b'\t'),
        Just(b'\n'),
        Just(b'"'),
        Just(b'\r'),
        Just(b'{'),
        Just(0xE9u8),
        Just(0xFFu8),
        Just(b'0'),
        any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<Index>(), byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<Index>().prop_map(Edit::DuplicateLine),
        any::<Index>().prop_map(Edit::Cut),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    if bytes.is_empty() {
        return;
    }
    match e {
        Edit::Replace(i, b) => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        Edit::Insert(i, b) => {
            let i = i.index(bytes.len() + 1);
            bytes.insert(i, *b);
        }
        Edit::Delete(i, n) => {
            let i = i.index(bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Edit::DuplicateLine(i) => {
            let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
            let line = lines[i.index(lines.len())].to_vec();
            let at = i.index(bytes.len() + 1);
            bytes.splice(at..at, line);
        }
        Edit::Cut(i) => {
            let i = i.index(bytes.len());
            bytes.truncate(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_damaged_metadata_file_gives_records_exclusions_or_a_named_error(
        root in 0..ROOTS.len(),
        file in any::<Index>(),
        edits in proptest::collection::vec(edit(), 1..5),
    ) {
        let (source, rel) = ROOTS[root];
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("root");
        copy_tree(&repo().join(rel), &dir);
        let mut files = vec![];
        metadata_files(&dir, &mut files);
        prop_assume!(!files.is_empty());
        let damaged = &files[file.index(files.len())];
        let mut bytes = std::fs::read(damaged).unwrap();
        for e in &edits {
            apply(&mut bytes, e);
        }
        std::fs::write(damaged, &bytes).unwrap();

        let adapter = cxr_sources::adapter(&SourcePolicy::keep_all(source));
        match adapter.scan(&dir) {
            Ok(scan) => {
                for r in &scan.records {
                    prop_assert!(r.path.is_file(), "{source}: record for a missing image {}", r.path.display());
                }
                for x in &scan.exclusions {
                    prop_assert!(x.file.is_some() || x.path.is_some(), "{source}: exclusion names nothing: {x:?}");
                }
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(
                    text.contains(&*dir.to_string_lossy()),
                    "{source}: error names no path of the source: {text}"
                );
            }
        }
    }
}
