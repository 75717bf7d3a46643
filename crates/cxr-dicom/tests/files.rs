//! Header reading, options, broken files and the batch converter.

use std::path::{Path, PathBuf};

use cxr_core::{Sex, StudyDate, View};
use cxr_dicom::{
    BatchOptions, ConvertOptions, DicomHeader, Error, Photometric, Status, VoiChoice, VoiSource,
    convert_file, convert_tree,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad")
        .join(name)
}

#[test]
fn header_is_typed_and_needs_no_pixels() {
    let h = DicomHeader::read(&fixture("mono1_12bit_window.dcm")).unwrap();
    assert_eq!(h.patient_id.as_deref(), Some("P-mono1_12"));
    assert_eq!(h.patient_sex, Some(Sex::Female));
    assert_eq!(h.patient_age.unwrap().years(), 45.0);
    assert_eq!(h.patient_birth_date, StudyDate::from_ymd(1975, 1, 2));
    assert_eq!(h.study_date, StudyDate::from_ymd(2020, 4, 15));
    assert_eq!(h.view_position, Some(View::Pa));
    assert_eq!(h.view_position_text.as_deref(), Some("PA"));
    assert_eq!(h.body_part.as_deref(), Some("CHEST"));
    assert_eq!(h.modality.as_deref(), Some("DX"));
    assert_eq!(h.photometric, Some(Photometric::Monochrome1));
    assert_eq!((h.rows, h.columns), (Some(96), Some(128)));
    assert_eq!(
        (h.bits_allocated, h.bits_stored, h.high_bit),
        (Some(16), Some(12), Some(11))
    );
    assert_eq!(h.pixel_representation, Some(0));
    assert_eq!(h.number_of_frames, 1);
    assert!(h.has_pixel_data);
    assert_eq!(h.transfer_syntax, "1.2.840.10008.1.2.1");

    let mf = DicomHeader::read(&fixture("multiframe.dcm")).unwrap();
    assert_eq!(mf.number_of_frames, 3);
    let j = DicomHeader::read(&fixture("j2k_lossless_12bit.dcm")).unwrap();
    assert_eq!(j.transfer_syntax, "1.2.840.10008.1.2.4.90");
    let d = DicomHeader::read(&fixture("deflated.dcm")).unwrap();
    assert_eq!(d.rows, Some(96));
    // A header whose pixel data length is absurd still reads: the pixels are not.
    let huge = DicomHeader::read(&bad("huge_value_length.dcm")).unwrap();
    assert!(huge.has_pixel_data);
    assert!(
        !DicomHeader::read(&bad("no_pixel_data.dcm"))
            .unwrap()
            .has_pixel_data
    );
}

#[test]
fn voi_choices_and_reports() {
    let p = fixture("two_windows.dcm");
    let first = convert_file(&p, &ConvertOptions::default()).unwrap();
    assert_eq!(first.info.voi_source, VoiSource::Window);
    assert_eq!(
        (first.info.window_center, first.info.window_width),
        (Some(2048.0), Some(4000.0))
    );
    let second = ConvertOptions {
        voi: VoiChoice::Window { index: 1 },
        ..Default::default()
    };
    let second = convert_file(&p, &second).unwrap();
    assert_eq!(
        (second.info.window_center, second.info.window_width),
        (Some(1500.0), Some(1000.0))
    );
    assert_ne!(first.image, second.image);
    let third = ConvertOptions {
        voi: VoiChoice::Window { index: 2 },
        ..Default::default()
    };
    assert!(matches!(
        convert_file(&p, &third),
        Err(Error::NoSuchVoi {
            index: 2,
            available: 2,
            ..
        })
    ));

    let lut = convert_file(&fixture("voi_lut.dcm"), &ConvertOptions::default()).unwrap();
    assert_eq!(lut.info.voi_source, VoiSource::VoiLut);
    let mm = convert_file(
        &fixture("mono2_8bit_nowindow.dcm"),
        &ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(mm.info.voi_source, VoiSource::Minmax);
    // Min-max reaches both ends.
    assert_eq!(mm.image.as_raw().iter().min(), Some(&0));
    assert_eq!(mm.image.as_raw().iter().max(), Some(&255));

    // Pixel Padding Value 0 around an image whose own values span 1351..=4013 (numpy on
    // the fixture): min-max without the padding, which comes out black.
    let padded = convert_file(
        &fixture("padding_12bit_nowindow.dcm"),
        &ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(padded.info.voi_source, VoiSource::Minmax);
    assert_eq!(
        (padded.info.window_center, padded.info.window_width),
        (Some(2682.0), Some(2662.0))
    );
    assert_eq!(padded.image.get_pixel(0, 0).0, [0]);
    assert_eq!(padded.image.as_raw().iter().max(), Some(&255));
    // A range limit of 4095 declares every stored value padding: then the padding is all
    // there is, and min-max takes it back (the plain min-max of the file, 0..=4013).
    let mut obj = dicom_object::open_file(fixture("padding_12bit_nowindow.dcm")).unwrap();
    obj.put(dicom_core::DataElement::new(
        dicom_dictionary_std::tags::PIXEL_PADDING_RANGE_LIMIT,
        dicom_core::VR::US,
        dicom_core::PrimitiveValue::from(4095u16),
    ));
    let tmp = tempfile::tempdir().unwrap();
    let all = tmp.path().join("all_padding.dcm");
    obj.write_to_file(&all).unwrap();
    let all = convert_file(&all, &ConvertOptions::default()).unwrap();
    assert_eq!(
        (all.info.window_center, all.info.window_width),
        (Some(2006.5), Some(4013.0))
    );

    // Percentile clip saturates more pixels than plain min-max.
    let clip = convert_file(
        &fixture("mono2_8bit_nowindow.dcm"),
        &ConvertOptions::percentile_clip(5.0),
    )
    .unwrap();
    let sat =
        |img: &cxr_core::GrayImage| img.as_raw().iter().filter(|&&v| v == 0 || v == 255).count();
    let n = mm.image.as_raw().len();
    assert!(
        sat(&clip.image) >= n / 10 - 2,
        "{} of {n}",
        sat(&clip.image)
    );
    assert!(sat(&mm.image) < n / 50);

    // MONOCHROME1 is inverted: the same anatomy stored inverted renders alike.
    let m1 = convert_file(
        &fixture("mono1_12bit_window.dcm"),
        &ConvertOptions::default(),
    )
    .unwrap();
    let m2 = convert_file(
        &fixture("mono2_12bit_window.dcm"),
        &ConvertOptions::default(),
    )
    .unwrap();
    assert!(m1.info.inverted && !m2.info.inverted);
    let diff = m1
        .image
        .as_raw()
        .iter()
        .zip(m2.image.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(diff <= Some(1), "{diff:?}");

    let color = convert_file(&fixture("rgb.dcm"), &ConvertOptions::default()).unwrap();
    assert_eq!(color.info.voi_source, VoiSource::None);

    let frames = convert_file(
        &fixture("multiframe.dcm"),
        &ConvertOptions {
            frame: 3,
            ..Default::default()
        },
    );
    assert!(matches!(
        frames,
        Err(Error::FrameOutOfRange {
            frame: 3,
            frames: 3,
            ..
        })
    ));
}

#[test]
fn broken_files_are_typed_errors_naming_the_file() {
    let expect = |name: &str, check: &dyn Fn(&Error) -> bool| {
        let e = convert_file(&bad(name), &ConvertOptions::default()).unwrap_err();
        assert!(check(&e), "{name}: unexpected {e:?}");
        assert!(e.to_string().contains(name), "{name}: {e}");
    };
    expect("not_dicom.dcm", &|e| matches!(e, Error::NotDicom { .. }));
    expect("empty.dcm", &|e| matches!(e, Error::NotDicom { .. }));
    expect("truncated.dcm", &|e| matches!(e, Error::Malformed { .. }));
    expect("truncated_header.dcm", &|e| {
        matches!(e, Error::Malformed { .. } | Error::ReadMeta { .. })
    });
    expect("no_pixel_data.dcm", &|e| {
        matches!(e, Error::NoPixelData { .. })
    });
    expect(
        "unsupported_syntax.dcm",
        &|e| matches!(e, Error::UnsupportedTransferSyntax { uid, .. } if uid == "1.2.840.10008.1.2.4.100"),
    );
    expect("short_pixel_data.dcm", &|e| {
        matches!(
            e,
            Error::PixelDataTooShort {
                expected: 51200,
                found: 24576,
                ..
            }
        )
    });
    expect("huge_declared_size.dcm", &|e| {
        matches!(e, Error::TooLarge { .. })
    });
    expect(
        "huge_value_length.dcm",
        &|e| matches!(e, Error::Malformed { defect, .. } if defect.tag == (0x7FE0, 0x0010) && defect.declared == 0xF000_0000),
    );
    expect("bad_bits_stored.dcm", &|e| {
        matches!(
            e,
            Error::BadAttribute {
                name: "BitsStored",
                ..
            }
        )
    });
    expect("jpeg_size_mismatch.dcm", &|e| {
        matches!(e, Error::Decode { .. })
    });
    // Found by cargo-fuzz: a meta group string declaring 2.9 GB.
    expect(
        "fuzz_meta_huge_length.dcm",
        &|e| matches!(e, Error::Malformed { defect, .. } if defect.tag.0 == 0x0002),
    );
    // Found by cargo-fuzz: under implicit VR a group length (UL by the dictionary) of 6
    // bytes, after which dicom-rs read its headers 2 bytes early and zero-filled 2.2 GB.
    expect("fuzz_rss_implicit_group_length.dcm", &|e| {
        matches!(e, Error::Malformed { defect, .. } if defect.tag == (0x0008, 0x0000)
            && defect.declared == 6
            && defect.kind == cxr_dicom::error::MalformedKind::LengthNotMultiple)
    });
    // Found by cargo-fuzz: a first (0002,0000) declaring 1.3 GB hidden behind a second,
    // plausible one; dicom-rs's meta parser uses the first and read a UID of 1 GiB.
    expect("fuzz_rss_meta_first_group_length.dcm", &|e| {
        matches!(e, Error::Malformed { defect, .. } if defect.tag == (0x0002, 0x0000)
            && defect.declared == 0x4D43_4944)
    });
    // Made by hand: a private element header that dicom-rs reads where the scan once did
    // not look, declaring 1 GiB.
    for name in [
        "rss_un_undefined_length_explicit.dcm",
        "rss_ob_undefined_length_items.dcm",
        "rss_sequence_delimiter_first.dcm",
        "rss_item_delimiter_top_level.dcm",
        "rss_item_delimiter_in_item.dcm",
    ] {
        expect(name, &|e| {
            matches!(e, Error::Malformed { defect, .. } if defect.tag.0 == 0x0009
                && defect.declared == 0x4000_0000)
        });
    }
    expect("rle_truncated_fragment.dcm", &|e| {
        matches!(
            e,
            Error::Decode {
                codec: "RLE Lossless",
                ..
            }
        )
    });
}

#[test]
fn batch_converts_the_rest_and_writes_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    for f in ["mono2_12bit_window.dcm", "rle_12bit_window.dcm", "IM000001"] {
        std::fs::copy(fixture(f), input.join(f)).unwrap();
    }
    std::fs::copy(fixture("j2k_lossless_12bit.dcm"), input.join("sub/j2k")).unwrap();
    for f in [
        "not_dicom.dcm",
        "truncated.dcm",
        "no_pixel_data.dcm",
        "unsupported_syntax.dcm",
    ] {
        std::fs::copy(bad(f), input.join("sub").join(f)).unwrap();
    }
    let out = tmp.path().join("out");
    let pb = indicatif::ProgressBar::hidden();
    let opts = BatchOptions {
        jobs: 2,
        ..Default::default()
    };
    let report = convert_tree(&input, &out, &opts, Some(&pb)).unwrap();
    assert_eq!(pb.position(), 8);
    assert_eq!((report.ok(), report.failed()), (4, 4));
    let by_input = |i: &str| report.rows.iter().find(|r| r.input == i).unwrap();
    let ok = by_input("mono2_12bit_window.dcm");
    assert_eq!(ok.output, "mono2_12bit_window.png");
    assert_eq!(
        (ok.rows, ok.columns, ok.bits_stored),
        (Some(96), Some(128), Some(12))
    );
    assert_eq!(ok.voi_source, "window");
    assert_eq!(
        (ok.window_center, ok.window_width),
        (Some(2048.0), Some(3000.0))
    );
    assert_eq!(by_input("IM000001").output, "IM000001.png");
    assert_eq!(by_input("IM000001").voi_source, "minmax");
    assert_eq!(by_input("sub/j2k").output, "sub/j2k.png");
    let nd = by_input("sub/no_pixel_data.dcm");
    assert_eq!(nd.status, Status::Error);
    assert!(nd.error.contains("no pixel data"), "{}", nd.error);
    assert_eq!(nd.rows, Some(96));
    assert!(
        by_input("sub/not_dicom.dcm")
            .error
            .contains("not a DICOM file")
    );
    assert!(
        by_input("sub/unsupported_syntax.dcm")
            .error
            .contains("1.2.840.10008.1.2.4.100")
    );

    // PNGs for ok rows only, nothing temporary left, manifest with the agreed columns.
    let img = cxr_core::load_gray(&out.join("sub/j2k.png")).unwrap();
    assert_eq!(img.dimensions(), (128, 96));
    assert!(!out.join("sub/truncated.png").exists());
    let mut names = vec![];
    for e in walk(&out) {
        names.push(e.strip_prefix(&out).unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            ".journal/conversion.jsonl",
            "IM000001.png",
            "conversion.csv",
            "mono2_12bit_window.png",
            "rle_12bit_window.png",
            "sub/j2k.png"
        ]
    );
    let csv = std::fs::read_to_string(out.join("conversion.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "input,output,status,error,rows,columns,photometric,bits_stored,transfer_syntax,voi_source,window_center,window_width,presentation_intent,burned_in_annotation"
    );
    assert_eq!(csv.lines().count(), 9);

    // A single file: input as given, output next to nothing else.
    let single = convert_tree(
        &fixture("sigmoid.dcm"),
        &tmp.path().join("one"),
        &opts,
        None,
    )
    .unwrap();
    assert_eq!(single.rows[0].output, "sigmoid.png");
    assert!(single.rows[0].input.ends_with("tests/fixtures/sigmoid.dcm"));
    assert!(tmp.path().join("one/sigmoid.png").exists());
}

#[test]
fn unwritable_output_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let e = convert_tree(
        &fixture("sigmoid.dcm"),
        &file.join("out"),
        &BatchOptions::default(),
        None,
    );
    assert!(matches!(e, Err(Error::Io { .. })));
}

/// One worker converts every fixture in turn, reusing its read buffer from file to
/// file (large after small, small after large, deflated, encapsulated): each PNG must be
/// the image `convert_file` makes alone.
#[test]
fn one_worker_reusing_its_buffer_matches_single_conversions() {
    let out = tempfile::tempdir().unwrap();
    let fixtures = fixture("");
    let opts = BatchOptions {
        jobs: 1,
        sync: false,
        ..Default::default()
    };
    let report = convert_tree(&fixtures, out.path(), &opts, None).unwrap();
    assert_eq!(report.failed(), 0, "{:?}", report.rows);
    assert!(report.ok() >= 46, "{}", report.ok());
    for row in &report.rows {
        let alone = convert_file(&fixtures.join(&row.input), &ConvertOptions::default())
            .unwrap()
            .image;
        let batch = cxr_core::load_gray(&out.path().join(&row.output)).unwrap();
        assert_eq!(batch.dimensions(), alone.dimensions(), "{}", row.input);
        assert!(batch.as_raw() == alone.as_raw(), "{} differs", row.input);
    }
}

/// A `Converter` reads every fixture into one buffer in turn, in an order that has
/// large files after small ones and back, and makes the images `convert_file` makes;
/// its options are checked once, when it is made.
#[test]
fn a_converter_reusing_its_buffer_matches_convert_file() {
    let mut names: Vec<PathBuf> = walk(&fixture(""));
    names.sort_by_key(|p| std::fs::metadata(p).unwrap().len() % 7);
    let opts = ConvertOptions {
        reduce: 1,
        ..ConvertOptions::default()
    };
    let mut converter = cxr_dicom::Converter::new(opts.clone()).unwrap();
    assert_eq!(converter.options().reduce, 1);
    for p in &names {
        let reused = converter.convert(p).unwrap();
        let alone = convert_file(p, &opts).unwrap();
        assert!(reused.image == alone.image, "{}", p.display());
        assert_eq!(reused.info, alone.info, "{}", p.display());
    }
    // A broken file in between does not spoil the next conversion.
    assert!(converter.convert(&bad("truncated.dcm")).is_err());
    let p = fixture("mono2_12bit_window.dcm");
    assert!(converter.convert(&p).unwrap().image == convert_file(&p, &opts).unwrap().image);
    let too_much = ConvertOptions {
        reduce: cxr_dicom::MAX_REDUCE + 1,
        ..ConvertOptions::default()
    };
    assert!(cxr_dicom::Converter::new(too_much).is_err());
}

/// Native samples are read in place when 2-aligned and copied otherwise: a file held at
/// an odd address converts to the same image.
#[test]
fn bytes_at_an_odd_address_convert_the_same() {
    for name in [
        "mono2_12bit_window.dcm",
        "signed_16bit_nowindow.dcm",
        "big_endian.dcm",
        "mono2_16bit_implicit.dcm",
        "multiframe.dcm",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        let opts = ConvertOptions::default();
        let even = cxr_dicom::convert_bytes(&bytes, Path::new(name), &opts).unwrap();
        let odd = cxr_dicom::convert_bytes(&shifted[1..], Path::new(name), &opts).unwrap();
        let file = convert_file(&fixture(name), &opts).unwrap();
        assert!(even.image.as_raw() == odd.image.as_raw(), "{name}");
        assert!(even.image.as_raw() == file.image.as_raw(), "{name}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Rounded means of `f × f` blocks (cut at the edges), written out independently of the
/// library's implementation.
fn block_means(img: &cxr_core::GrayImage, f: u32) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    for by in 0..h.div_ceil(f) {
        for bx in 0..w.div_ceil(f) {
            let (mut sum, mut n) = (0u32, 0u32);
            for y in by * f..((by + 1) * f).min(h) {
                for x in bx * f..((bx + 1) * f).min(w) {
                    sum += u32::from(img.get_pixel(x, y)[0]);
                    n += 1;
                }
            }
            out.push(((f64::from(sum) / f64::from(n)).round()) as u8);
        }
    }
    out
}

fn reduced(name: &str, reduce: u8) -> cxr_core::GrayImage {
    let options = ConvertOptions {
        reduce,
        ..Default::default()
    };
    convert_file(&fixture(name), &options).unwrap().image
}

#[test]
fn reduce_averages_blocks_of_native_data() {
    let full = reduced("mono2_12bit_window.dcm", 0);
    assert_eq!(full.dimensions(), (128, 96));
    for (reduce, dims) in [(1u8, (64, 48)), (2, (32, 24)), (5, (4, 3))] {
        let small = reduced("mono2_12bit_window.dcm", reduce);
        assert_eq!(small.dimensions(), dims, "reduce {reduce}");
        assert_eq!(
            small.as_raw(),
            &block_means(&full, 1 << reduce),
            "reduce {reduce}"
        );
    }
    let options = ConvertOptions {
        reduce: 6,
        ..Default::default()
    };
    assert!(matches!(
        convert_file(&fixture("mono2_12bit_window.dcm"), &options),
        Err(Error::InvalidOption {
            field: "reduce",
            ..
        })
    ));
}

#[test]
fn reduce_drops_jpeg2000_resolution_levels() {
    // Pixel values are checked against OpenJPEG's own reduced decode in
    // tests/reference.rs (`*@reduce1`, `*@reduce2`); here: sizes, and that the picture
    // stays the same picture (the decoder's low-pass band is a wavelet average, close to
    // the block means of the full image but not equal; on these noisy 96 × 128 fixtures
    // the mean difference is 3–9 gray levels).
    for name in [
        "j2k_lossless_12bit.dcm",
        "j2k_lossy_12bit.dcm",
        "j2k_lossless_signed.dcm",
        "htj2k_lossless_12bit.dcm",
        "htj2k_lossy_12bit.dcm",
    ] {
        let full = reduced(name, 0);
        for (reduce, dims) in [(1u8, (64, 48)), (2, (32, 24)), (5, (4, 3))] {
            let small = reduced(name, reduce);
            assert_eq!(small.dimensions(), dims, "{name} reduce {reduce}");
            if reduce < 5 {
                let boxed = block_means(&full, 1 << reduce);
                let mean = small
                    .as_raw()
                    .iter()
                    .zip(&boxed)
                    .map(|(&a, &b)| f64::from(a.abs_diff(b)))
                    .sum::<f64>()
                    / boxed.len() as f64;
                assert!(mean < 12.0, "{name} reduce {reduce}: mean |diff| {mean}");
            }
        }
    }
}

#[test]
fn lossless_htj2k_gives_the_pixels_of_lossless_jpeg2000() {
    // Both fixtures hold the same phantom (seed 30) and window, one coded with the
    // Part 1 block coder (OpenJPEG), the other with the HT block coder (OpenJPH): lossless
    // means identical PNGs, at full size and with resolution levels dropped.
    for reduce in [0u8, 1, 2] {
        let part1 = reduced("j2k_lossless_12bit.dcm", reduce);
        let ht = reduced("htj2k_lossless_12bit.dcm", reduce);
        assert_eq!(part1.dimensions(), ht.dimensions(), "reduce {reduce}");
        assert!(part1.as_raw() == ht.as_raw(), "reduce {reduce}");
    }
    let converted = convert_file(
        &fixture("htj2k_lossless_16bit.dcm"),
        &ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(
        converted.info.header.transfer_syntax,
        "1.2.840.10008.1.2.4.201"
    );
    assert_eq!(converted.info.header.bits_stored, Some(16));
}

#[test]
fn a_png_that_cannot_take_its_name_is_an_error_row() {
    // `b.png` is a folder with a file in it: the committer's rename fails for that file
    // alone, with and without the flush.
    for sync in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        for f in ["a.dcm", "b.dcm"] {
            std::fs::copy(fixture("mono2_12bit_window.dcm"), input.join(f)).unwrap();
        }
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("b.png")).unwrap();
        std::fs::write(out.join("b.png/keep"), b"x").unwrap();
        let opts = BatchOptions {
            jobs: 2,
            sync,
            ..Default::default()
        };
        let report = convert_tree(&input, &out, &opts, None).unwrap();
        assert_eq!((report.ok(), report.failed()), (1, 1), "sync {sync}");
        let b = report.rows.iter().find(|r| r.input == "b.dcm").unwrap();
        assert_eq!(b.status, Status::Error);
        assert_eq!(b.output, "");
        assert!(b.error.contains("b.png"), "{}", b.error);
        assert_eq!(
            cxr_core::load_gray(&out.join("a.png"))
                .unwrap()
                .dimensions(),
            (128, 96)
        );
        // No temporary file is left beside the outputs.
        let left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let manifest = std::fs::read_to_string(out.join("conversion.csv")).unwrap();
        assert!(manifest.contains("b.dcm,,error,"), "{manifest}");
        // A PNG that could not be written is not journaled: once the way is clear, a
        // second run writes it and leaves `a` alone.
        std::fs::remove_dir_all(out.join("b.png")).unwrap();
        let again = convert_tree(&input, &out, &opts, None).unwrap();
        assert_eq!((again.resumed, again.converted, again.ok()), (1, 1, 2));
    }
}

/// Raw detector data and text burned into the pixels are what a converted archive must
/// not pass off as ordinary radiographs: the header says so, and so does the manifest.
#[test]
fn processing_intent_and_burned_in_text_are_reported() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let mut obj = dicom_object::open_file(fixture("mono2_12bit_window.dcm")).unwrap();
    obj.put(DataElement::new(
        tags::PRESENTATION_INTENT_TYPE,
        VR::CS,
        PrimitiveValue::from("FOR PROCESSING"),
    ));
    obj.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    obj.write_to_file(input.join("raw.dcm")).unwrap();
    std::fs::copy(fixture("mono2_12bit_window.dcm"), input.join("plain.dcm")).unwrap();

    let h = cxr_dicom::DicomHeader::read(&input.join("raw.dcm")).unwrap();
    assert_eq!(h.presentation_intent.as_deref(), Some("FOR PROCESSING"));
    assert_eq!(h.burned_in_annotation, Some(true));
    let plain = cxr_dicom::DicomHeader::read(&input.join("plain.dcm")).unwrap();
    assert_eq!(
        (plain.presentation_intent, plain.burned_in_annotation),
        (None, None)
    );
    // What `predict` and the service report: both cautions, in order; none for an
    // ordinary DICOM or a PNG; a file that is not there is an error naming it.
    use cxr_dicom::{Caution, file_cautions};
    let raw = file_cautions(&input.join("raw.dcm")).unwrap();
    assert_eq!(raw, [Caution::ForProcessing, Caution::BurnedInAnnotation]);
    assert_eq!(file_cautions(&input.join("plain.dcm")).unwrap(), []);
    let png = tmp.path().join("plain.png");
    cxr_core::save_png(&png, &cxr_core::GrayImage::new(4, 4)).unwrap();
    assert_eq!(file_cautions(&png).unwrap(), []);
    let gone = file_cautions(&input.join("gone.dcm"))
        .unwrap_err()
        .to_string();
    assert!(gone.contains("gone.dcm"), "{gone}");

    let out = tmp.path().join("out");
    convert_tree(&input, &out, &BatchOptions::default(), None).unwrap();
    let mut csv = csv::Reader::from_path(out.join("conversion.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let tail = |r: &Vec<String>| (r[0].clone(), r[12].clone(), r[13].clone());
    assert_eq!(
        rows.iter().map(tail).collect::<Vec<_>>(),
        [
            ("plain.dcm".into(), String::new(), String::new()),
            ("raw.dcm".into(), "FOR PROCESSING".into(), "true".into()),
        ]
    );
}

/// What a PACS burns on a disc for one study (`make_dicom_fixtures.sh media`): one image,
/// and beside it the DICOMDIR index, a structured report, a presentation state and a
/// README. The image is converted; the rest is skipped, each saying what it is, and
/// nothing counts as failed.
#[test]
fn a_disc_export_converts_its_images_and_skips_the_rest() {
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("png");
    let report = convert_tree(&media, &out, &BatchOptions::default(), None).unwrap();
    assert_eq!(
        (report.ok(), report.skipped(), report.failed()),
        (1, 4, 0),
        "{:?}",
        report.rows
    );
    let said: Vec<(&str, Status, &str)> = report
        .rows
        .iter()
        .map(|r| (r.input.as_str(), r.status, r.error.as_str()))
        .collect();
    let expect = [
        ("DICOM/IM000001", Status::Ok, ""),
        (
            "DICOM/IM000002",
            Status::Skipped,
            "is a structured report (SOP Class 1.2.840.10008.5.1.4.1.1.88.11), not an image",
        ),
        (
            "DICOM/IM000003",
            Status::Skipped,
            "is a presentation state (how to display another image) (SOP Class 1.2.840.10008.5.1.4.1.1.11.1), not an image",
        ),
        (
            "DICOMDIR",
            Status::Skipped,
            "is a DICOMDIR (the index of a DICOM disc or folder) (SOP Class 1.2.840.10008.1.3.10), not an image",
        ),
        (
            "README.TXT",
            Status::Skipped,
            "is not a DICOM file (no DICM magic code)",
        ),
    ];
    assert_eq!(said.len(), expect.len());
    for ((input, status, error), (want_input, want_status, want_error)) in said.iter().zip(expect) {
        assert_eq!((*input, *status), (want_input, want_status));
        assert!(error.ends_with(want_error), "{input}: {error}");
    }
    assert!(out.join("DICOM/IM000001.png").exists());
    let manifest = std::fs::read_to_string(out.join("conversion.csv")).unwrap();
    assert!(manifest.contains("\nDICOMDIR,,skipped,"), "{manifest}");
    // Run again: everything is finished, skipped files included.
    let again = convert_tree(&media, &out, &BatchOptions::default(), None).unwrap();
    assert_eq!((again.resumed, again.converted), (5, 0));

    let h = cxr_dicom::DicomHeader::read(&media.join("DICOMDIR")).unwrap();
    assert_eq!(h.sop_class_uid.as_deref(), Some("1.2.840.10008.1.3.10"));
    let e =
        cxr_dicom::convert_file(&media.join("DICOM/IM000002"), &Default::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotAnImage {
                what: "structured report",
                ..
            }
        ),
        "{e}"
    );
}

/// Only classes that hold no image are named; image classes (and unknown ones) are not,
/// so that an image stripped of its pixels stays a failure.
#[test]
fn non_image_classes_are_named_and_image_classes_are_not() {
    use cxr_dicom::non_image_class;
    for (uid, want) in [
        (
            "1.2.840.10008.1.3.10",
            Some("DICOMDIR (the index of a DICOM disc or folder)"),
        ),
        ("1.2.840.10008.5.1.4.1.1.88.22", Some("structured report")),
        (
            "1.2.840.10008.5.1.4.1.1.88.59",
            Some("key object selection (a list of chosen images)"),
        ),
        (
            "1.2.840.10008.5.1.4.1.1.88.67",
            Some("radiation dose report"),
        ),
        (
            "1.2.840.10008.5.1.4.1.1.11.1",
            Some("presentation state (how to display another image)"),
        ),
        (
            "1.2.840.10008.5.1.4.1.1.104.1",
            Some("encapsulated PDF document"),
        ),
        // Images: CR, DX for presentation, secondary capture, RT image, segmentation.
        ("1.2.840.10008.5.1.4.1.1.1", None),
        ("1.2.840.10008.5.1.4.1.1.1.1", None),
        ("1.2.840.10008.5.1.4.1.1.7", None),
        ("1.2.840.10008.5.1.4.1.1.481.1", None),
        ("1.2.840.10008.5.1.4.1.1.66.4", None),
        ("", None),
    ] {
        assert_eq!(non_image_class(uid), want, "{uid}");
    }
}

/// What a folder tool takes as an image (`is_image_file`, `IMAGE_FILES`): images by
/// extension, by a UID-like or missing extension, and DICOM by content under any name;
/// not a README or a table. `IMAGE_FILES.load` reads DICOM and PNG alike, and a DICOM
/// file whose preamble is a TIFF header (the standard's dual-personality files) as DICOM.
#[test]
fn image_files_are_known_by_name_or_content() {
    use cxr_dicom::{IMAGE_FILES, is_image_file};
    let dir = tempfile::tempdir().unwrap();
    let dicom = std::fs::read(fixture("big_endian.dcm")).unwrap();
    assert_eq!(&dicom[128..132], b"DICM");
    let mut dual = dicom.clone();
    dual[..8].copy_from_slice(b"II*\0\x08\0\0\0");
    let mut png = Vec::new();
    cxr_core::encode_png(
        &mut png,
        &cxr_core::GrayImage::from_pixel(4, 3, image::Luma([9])),
    )
    .unwrap();
    for (name, bytes, want) in [
        ("a.png", &png[..], true),
        ("b.JPG", b"not read".as_slice(), true),
        ("c.dcm", b"not read".as_slice(), true),
        ("d.TIF", b"not read".as_slice(), true),
        ("e.tiff", b"not read".as_slice(), true),
        ("f.bmp", b"not read".as_slice(), true),
        ("g.webp", b"not read".as_slice(), true),
        ("dual.tif", &dual[..], true),
        ("h.jp2", b"not read".as_slice(), false),
        ("IM000001", &dicom[..], true),
        ("1.2.840.113619.2.55.3.868", &dicom[..], true),
        ("scan.bin", &dicom[..], true),
        ("notes.txt", b"a note".as_slice(), false),
        ("records.csv", b"a,b\n".as_slice(), false),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(is_image_file(&p), want, "{name}");
        assert_eq!((IMAGE_FILES.is_image)(&p), want, "{name}");
    }
    let from_dicom = (IMAGE_FILES.load)(&dir.path().join("scan.bin")).unwrap();
    assert_eq!(
        from_dicom,
        convert_file(&fixture("big_endian.dcm"), &ConvertOptions::default())
            .unwrap()
            .image
    );
    assert_eq!(
        (IMAGE_FILES.load)(&dir.path().join("dual.tif")).unwrap(),
        from_dicom
    );
    let from_png = (IMAGE_FILES.load)(&dir.path().join("a.png")).unwrap();
    assert_eq!(from_png.dimensions(), (4, 3));
    let e = (IMAGE_FILES.load)(&dir.path().join("notes.txt")).unwrap_err();
    assert!(e.to_string().contains("notes.txt"), "{e}");
    assert!(
        !(IMAGE_FILES.not_an_image)(e.as_ref()),
        "a broken file is a failure"
    );
    // A disc's index and a report hold no image: to be skipped, not failed.
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media");
    for name in ["DICOMDIR", "DICOM/IM000002"] {
        let e = (IMAGE_FILES.load)(&media.join(name)).unwrap_err();
        assert!((IMAGE_FILES.not_an_image)(e.as_ref()), "{name}: {e}");
    }
    assert!((IMAGE_FILES.load)(&media.join("DICOM/IM000001")).is_ok());
}
