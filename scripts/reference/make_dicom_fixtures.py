#!/usr/bin/env python3
"""Builds the small DICOM fixtures of crates/cxr-dicom/tests/fixtures/ and the broken
files of crates/cxr-dicom/tests/bad/.

Run through make_dicom_fixtures.sh (which also runs DCMTK's compressors). Needs the
project venv: .venv/bin/pip install pydicom numpy pillow pylibjpeg pylibjpeg-libjpeg
pylibjpeg-openjpeg.

    python make_dicom_fixtures.py native OUT_FIXTURES      # uncompressed fixtures
    python make_dicom_fixtures.py j2k OUT_FIXTURES          # JPEG 2000 (pylibjpeg-openjpeg)
    python make_dicom_fixtures.py htj2k OUT_FIXTURES        # HTJ2K (OpenJPH ojph_compress)
    python make_dicom_fixtures.py bad OUT_FIXTURES OUT_BAD  # broken files
    python make_dicom_fixtures.py bench OUT_DIR             # 2000x2500 12-bit bench inputs
                                                            # (native, JPEG 2000, HTJ2K)
    python make_dicom_fixtures.py media OUT_DIR             # a disc export's objects (the
                                                            # shell script adds DICOMDIR)

Everything is deterministic (fixed seeds, fixed UIDs).
"""

import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000,
    HTJ2K,
    HTJ2KLossless,
)

UID_ROOT = "1.2.826.0.1.3680043.10.1234."  # fixed, fictitious
SOP_CLASS_DX = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image - For Presentation
SOP_CLASS_SC_MF = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC


def phantom(rows, cols, bits, seed=0, signed=False, frames=1):
    """A chest-like phantom: bright mediastinum and body, two dark lungs, ribs, noise.
    Values span most of the stored range."""
    rng = np.random.default_rng(seed)
    out = []
    for f in range(frames):
        y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
        yn, xn = y / rows, x / cols
        body = np.exp(-(((xn - 0.5) / 0.45) ** 6 + ((yn - 0.55) / 0.5) ** 6))
        lungs = np.exp(-(((xn - 0.3) / 0.13) ** 2 + ((yn - 0.5) / 0.28) ** 2)) + np.exp(
            -(((xn - 0.7) / 0.13) ** 2 + ((yn - 0.5) / 0.28) ** 2)
        )
        ribs = 0.08 * (np.sin(yn * 40 + 2 * f) > 0.6)
        img = 0.15 + 0.75 * body - 0.5 * lungs + ribs * body + 0.03 * rng.standard_normal((rows, cols))
        img = np.clip(img, 0, 1)
        vmax = (1 << bits) - 1
        v = np.round(img * vmax * 0.96 + vmax * 0.02).astype(np.int64)
        if signed:
            v = v - (1 << (bits - 1))
        out.append(v)
    return out[0] if frames == 1 else np.stack(out)


def base(name, rows, cols, bits_alloc, bits_stored, signed=False, photometric="MONOCHROME2"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS_DX
    meta.MediaStorageSOPInstanceUID = UID_ROOT + str(zlib.crc32(name.encode()))
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID_ROOT + "1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SOP_CLASS_DX
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = UID_ROOT + "2"
    ds.SeriesInstanceUID = UID_ROOT + "3"
    ds.PatientID = "P-" + name[:8]
    ds.PatientSex = "F"
    ds.PatientAge = "045Y"
    ds.PatientBirthDate = "19750102"
    ds.StudyDate = "20200415"
    ds.Modality = "DX"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits_alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    return ds


def set_pixels(ds, arr, high_bit=None):
    """Stores `arr` (stored values) with two's complement for signed data and sign
    extension above Bits Stored, as real writers do."""
    ba = ds.BitsAllocated
    dtype = {8: np.uint8, 16: np.uint16}[ba]
    a = np.asarray(arr).astype(np.int64)
    if high_bit is not None and high_bit != ds.BitsStored - 1:
        ds.HighBit = high_bit
        a = a << (high_bit + 1 - ds.BitsStored)
    a = a & ((1 << ba) - 1)
    ds.PixelData = a.astype(dtype).tobytes()
    ds["PixelData"].VR = "OB" if ba == 8 else "OW"


def save(ds, path, ts=None):
    if ts is not None:
        ds.file_meta.TransferSyntaxUID = ts
    ds.save_as(path, enforce_file_format=True)


def lut_seq(first, data, bits, explanation=None):
    item = Dataset()
    item.LUTDescriptor = [len(data) if len(data) < 65536 else 0, first, bits]
    item.LUTData = [int(v) for v in data]
    item["LUTData"].VR = "US"
    if explanation:
        item.LUTExplanation = explanation
    return Sequence([item])


def native(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    R, C = 96, 128

    # 12-bit in 16, MONOCHROME2, one window, rescale identity.
    ds = base("mono2_12bit_window", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=1))
    ds.WindowCenter, ds.WindowWidth = 2048, 3000
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, 0, "US"
    save(ds, out / "mono2_12bit_window.dcm")

    # Same data, MONOCHROME1 (values inverted so the image looks the same).
    ds = base("mono1_12bit_window", R, C, 16, 12, photometric="MONOCHROME1")
    set_pixels(ds, 4095 - phantom(R, C, 12, seed=1))
    ds.WindowCenter, ds.WindowWidth = 2048, 3000
    save(ds, out / "mono1_12bit_window.dcm")

    # MONOCHROME1, no window (min-max).
    ds = base("mono1_12bit_nowindow", R, C, 16, 12, photometric="MONOCHROME1")
    set_pixels(ds, 4095 - phantom(R, C, 12, seed=2))
    save(ds, out / "mono1_12bit_nowindow.dcm")

    # 8-bit, no window.
    ds = base("mono2_8bit_nowindow", R, C, 8, 8)
    set_pixels(ds, phantom(R, C, 8, seed=3))
    save(ds, out / "mono2_8bit_nowindow.dcm")

    # 8-bit with a window.
    ds = base("mono2_8bit_window", R, C, 8, 8)
    set_pixels(ds, phantom(R, C, 8, seed=3))
    ds.WindowCenter, ds.WindowWidth = 120, 180
    save(ds, out / "mono2_8bit_window.dcm")

    # Full 16-bit, implicit VR, no window.
    ds = base("mono2_16bit_implicit", R, C, 16, 16)
    set_pixels(ds, phantom(R, C, 16, seed=4))
    save(ds, out / "mono2_16bit_implicit.dcm", ImplicitVRLittleEndian)

    # Signed 16-bit stored 12 bits (sign-extended), rescale slope/intercept, window in
    # output units.
    ds = base("signed_12bit_rescale", R, C, 16, 12, signed=True)
    set_pixels(ds, phantom(R, C, 12, seed=5, signed=True))
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 2, -1000, "US"
    ds.WindowCenter, ds.WindowWidth = -900, 5000
    save(ds, out / "signed_12bit_rescale.dcm")

    # Signed 16-bit full range, no window.
    ds = base("signed_16bit_nowindow", R, C, 16, 16, signed=True)
    set_pixels(ds, phantom(R, C, 16, seed=6, signed=True))
    save(ds, out / "signed_16bit_nowindow.dcm")

    # A DX image marked FOR PROCESSING (raw detector data) with text burned in: rendered
    # as any other, but the header, the manifest and the service's answer say so.
    ds = base("dx_for_processing", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=14))
    ds.WindowCenter, ds.WindowWidth = 2048, 3000
    ds.PresentationIntentType = "FOR PROCESSING"
    ds.BurnedInAnnotation = "YES"
    save(ds, out / "dx_for_processing.dcm")

    # Pixel Padding Value (PS3.3 C.7.5.1.1.2): a collimation border of padding around
    # the image, no window, so the min-max window must leave the padding out (note 2).
    # The phantom's values stay within [82, 4013] of 12 bits (2 % margins).
    border = np.zeros((R, C), bool)
    border[:8, :] = border[-8:, :] = border[:, :10] = border[:, -10:] = True
    ds = base("padding_12bit_nowindow", R, C, 16, 12)
    a = phantom(R, C, 12, seed=11)
    a[border] = 0
    set_pixels(ds, a)
    ds.PixelPaddingValue = 0
    save(ds, out / "padding_12bit_nowindow.dcm")
    # MONOCHROME1 with a padding range (Pixel Padding Range Limit): noisy air at the top
    # of the stored range, 4050..4095, above every image value.
    ds = base("padding_range_mono1", R, C, 16, 12, photometric="MONOCHROME1")
    a = 4095 - phantom(R, C, 12, seed=12)
    a[border] = np.random.default_rng(12).integers(4050, 4096, int(border.sum()))
    set_pixels(ds, a)
    ds.PixelPaddingValue, ds.PixelPaddingRangeLimit = 4095, 4050
    save(ds, out / "padding_range_mono1.dcm")
    # Signed, implicit VR: the reader gets Pixel Padding Value without its VR (US or SS)
    # and must take -2048 back from the bytes 0xF800.
    ds = base("padding_signed_implicit", R, C, 16, 12, signed=True)
    a = phantom(R, C, 12, seed=13, signed=True)
    a[border] = -2048
    set_pixels(ds, a)
    ds.PixelPaddingValue = -2048
    ds["PixelPaddingValue"].VR = "SS"
    save(ds, out / "padding_signed_implicit.dcm", ImplicitVRLittleEndian)

    # Fractional rescale, window.
    ds = base("rescale_fraction", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=7))
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = "0.5", "-100.25", "US"
    ds.WindowCenter, ds.WindowWidth = "900.5", "1700.0"
    save(ds, out / "rescale_fraction.dcm")

    # Two windows.
    ds = base("two_windows", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=8))
    ds.WindowCenter = [2048, 1500]
    ds.WindowWidth = [4000, 1000]
    ds.WindowCenterWidthExplanation = ["FULL", "LUNG"]
    save(ds, out / "two_windows.dcm")

    # SIGMOID.
    ds = base("sigmoid", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=9))
    ds.WindowCenter, ds.WindowWidth = 2000, 2500
    ds.VOILUTFunction = "SIGMOID"
    save(ds, out / "sigmoid.dcm")

    # LINEAR_EXACT.
    ds = base("linear_exact", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=10))
    ds.WindowCenter, ds.WindowWidth = 2000, 2500
    ds.VOILUTFunction = "LINEAR_EXACT"
    save(ds, out / "linear_exact.dcm")

    # VOI LUT Sequence (a gamma curve, 12-bit in, 12-bit out) plus a window that must
    # lose to it.
    ds = base("voi_lut", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=11))
    x = np.arange(4096)
    lut = np.round(4095 * (x / 4095.0) ** 0.6).astype(int)
    ds.VOILUTSequence = lut_seq(0, lut, 12, "GAMMA 0.6")
    ds.WindowCenter, ds.WindowWidth = 500, 200
    save(ds, out / "voi_lut.dcm")

    # VOI LUT mapping part of the range (first mapped 1000, 2048 entries, 16-bit out).
    ds = base("voi_lut_partial", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=12))
    lut = np.round(65535 * (np.arange(2048) / 2047.0) ** 1.5).astype(int)
    ds.VOILUTSequence = lut_seq(1000, lut, 16, "PARTIAL")
    save(ds, out / "voi_lut_partial.dcm")

    # Modality LUT Sequence (10-bit stored -> 12-bit, log-like) and a window on its
    # output.
    ds = base("modality_lut", R, C, 16, 10)
    set_pixels(ds, phantom(R, C, 10, seed=13))
    x = np.arange(1024)
    mlut = np.round(4095 * np.log1p(x / 64.0) / np.log1p(1023 / 64.0)).astype(int)
    ds.ModalityLUTSequence = lut_seq(0, mlut, 12, "LOG")
    ds["ModalityLUTSequence"][0].ModalityLUTType = "US"
    ds.WindowCenter, ds.WindowWidth = 2500, 3000
    save(ds, out / "modality_lut.dcm")

    # Multi-frame: 3 frames, 12 bit, window.
    ds = base("multiframe", R, C, 16, 12)
    ds.file_meta.MediaStorageSOPClassUID = SOP_CLASS_SC_MF
    ds.SOPClassUID = SOP_CLASS_SC_MF
    ds.NumberOfFrames = 3
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    ds.FrameTime = 100
    frames = phantom(R, C, 12, seed=14, frames=3)
    frames[1] = frames[1] // 2
    frames[2] = 4095 - frames[2]
    set_pixels(ds, frames)
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    save(ds, out / "multiframe.dcm")

    # High Bit above Bits Stored - 1 (12 bits stored at bits 2..13).
    ds = base("highbit_shifted", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=15), high_bit=13)
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    save(ds, out / "highbit_shifted.dcm")

    # MONOCHROME2 with Presentation LUT Shape INVERSE.
    ds = base("presentation_inverse", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=16))
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PresentationLUTShape = "INVERSE"
    save(ds, out / "presentation_inverse.dcm")

    # Explicit VR big endian (retired) and deflated.
    ds = base("big_endian", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=17))
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.save_as(out / "big_endian.dcm", implicit_vr=False, little_endian=False, enforce_file_format=True)

    ds = base("deflated", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=18))
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    save(ds, out / "deflated.dcm", DeflatedExplicitVRLittleEndian)

    # Colour: RGB pixel-interleaved, and YBR_FULL colour-by-plane.
    g = phantom(R, C, 8, seed=19)
    rgb = np.stack([g, np.clip(g * 0.8 + 20, 0, 255), 255 - g], axis=-1).astype(np.uint8)
    ds = base("rgb", R, C, 8, 8, photometric="RGB")
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.PixelData = rgb.tobytes()
    ds["PixelData"].VR = "OB"
    save(ds, out / "rgb.dcm")

    from pydicom.pixels import convert_color_space

    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    ds = base("ybr_full_planar", R, C, 8, 8, photometric="YBR_FULL")
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 1
    ds.PixelData = np.ascontiguousarray(ybr.transpose(2, 0, 1)).tobytes()
    ds["PixelData"].VR = "OB"
    save(ds, out / "ybr_full_planar.dcm")

    # Odd sizes and no extension, as some sources ship them (converted by the batch).
    ds = base("odd_size", 63, 65, 16, 12)
    set_pixels(ds, phantom(63, 65, 12, seed=20))
    save(ds, out / "IM000001")

    # Base inputs for DCMTK's compressors (not fixtures themselves).
    src = out / "_src"
    src.mkdir(exist_ok=True)
    ds = base("src_signed", R, C, 16, 12, signed=True)
    set_pixels(ds, phantom(R, C, 12, seed=21, signed=True))
    ds.WindowCenter, ds.WindowWidth = 0, 3800
    save(ds, src / "signed_12bit.dcm")
    ds = base("src_16", R, C, 16, 16)
    set_pixels(ds, phantom(R, C, 16, seed=22))
    save(ds, src / "mono2_16bit.dcm")


def j2k(out):
    out = Path(out)
    R, C = 96, 128
    for name, ts, kw in [
        ("j2k_lossless_12bit.dcm", JPEG2000Lossless, {}),
        ("j2k_lossy_12bit.dcm", JPEG2000, {"j2k_cr": [20]}),
    ]:
        ds = base(name, R, C, 16, 12)
        set_pixels(ds, phantom(R, C, 12, seed=30))
        ds.WindowCenter, ds.WindowWidth = 2048, 3500
        ds.compress(ts, encoding_plugin="pylibjpeg", generate_instance_uid=False, **kw)
        save(ds, out / name)
    ds = base("j2k_signed", R, C, 16, 12, signed=True)
    set_pixels(ds, phantom(R, C, 12, seed=31, signed=True))
    ds.RescaleSlope, ds.RescaleIntercept = 1, 1024
    ds.WindowCenter, ds.WindowWidth = 1024, 3800
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    save(ds, out / "j2k_lossless_signed.dcm")
    ds = base("j2k_mono1", R, C, 16, 12, photometric="MONOCHROME1")
    set_pixels(ds, 4095 - phantom(R, C, 12, seed=32))
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    save(ds, out / "j2k_lossless_mono1_nowindow.dcm")


def ojph_encode(arr, bits, tmp, *extra):
    """`arr` (unsigned stored values) as an HTJ2K codestream by OpenJPH's ojph_compress
    (Debian openjph-tools): a 16-bit PGM whose maxval sets the precision."""
    tmp = Path(tmp)
    pgm, j2c = tmp / "in.pgm", tmp / "out.j2c"
    with open(pgm, "wb") as f:
        f.write(b"P5\n%d %d\n%d\n" % (arr.shape[1], arr.shape[0], (1 << bits) - 1))
        f.write(np.asarray(arr).astype(">u2").tobytes())
    subprocess.run(["ojph_compress", "-i", str(pgm), "-o", str(j2c), *extra], check=True, capture_output=True)
    return j2c.read_bytes()


def htj2k(out):
    """HTJ2K (DICOM 2023, Part 15 block coder) by OpenJPH: lossless (.201) and lossy
    (.203). pydicom cannot encode HTJ2K, so the codestream is encapsulated here.
    OpenJPH 0.9's raw reader mangles signed samples, so there is no signed HTJ2K case;
    signed JPEG 2000 is covered by j2k_lossless_signed (the same path after decoding)."""
    import tempfile

    from pydicom.encaps import encapsulate

    out = Path(out)
    R, C = 96, 128
    cases = [
        # name, pixels, bits, extra tags, transfer syntax, ojph options
        ("htj2k_lossless_12bit", phantom(R, C, 12, seed=30), 12, {"WindowCenter": 2048, "WindowWidth": 3500},
         HTJ2KLossless, ["-reversible", "true"]),
        ("htj2k_lossy_12bit", phantom(R, C, 12, seed=30), 12, {"WindowCenter": 2048, "WindowWidth": 3500},
         HTJ2K, ["-reversible", "false", "-qstep", "0.002"]),
        ("htj2k_lossless_mono1_nowindow", 4095 - phantom(R, C, 12, seed=32), 12, {},
         HTJ2KLossless, ["-reversible", "true"]),
        ("htj2k_lossless_16bit", phantom(R, C, 16, seed=22), 16, {}, HTJ2KLossless, ["-reversible", "true"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, pixels, bits, tags, ts, opts in cases:
            mono1 = "mono1" in name
            ds = base(name, R, C, 16, bits, photometric="MONOCHROME1" if mono1 else "MONOCHROME2")
            for k, v in tags.items():
                setattr(ds, k, v)
            ds.PixelData = encapsulate([ojph_encode(pixels, bits, tmp, *opts)])
            ds["PixelData"].VR = "OB"
            if ts == HTJ2K:
                ds.LossyImageCompression = "01"
            save(ds, out / f"{name}.dcm", ts)


def bad(fix, out):
    fix, out = Path(fix), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    good = (fix / "mono2_12bit_window.dcm").read_bytes()
    (out / "not_dicom.dcm").write_bytes(b"This is a text file, not DICOM.\n" * 8)
    (out / "empty.dcm").write_bytes(b"")
    (out / "truncated.dcm").write_bytes(good[: len(good) // 2])
    (out / "truncated_header.dcm").write_bytes(good[:200])

    ds = pydicom.dcmread(fix / "mono2_12bit_window.dcm")
    del ds.PixelData
    ds.save_as(out / "no_pixel_data.dcm", enforce_file_format=True)

    ds = pydicom.dcmread(fix / "mono2_12bit_window.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: unsupported
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([bytes(ds.PixelData)])
    ds.save_as(out / "unsupported_syntax.dcm", enforce_file_format=True)

    ds = pydicom.dcmread(fix / "mono2_12bit_window.dcm")
    ds.Rows = 200  # pixel data holds 96 rows
    ds.save_as(out / "short_pixel_data.dcm", enforce_file_format=True)

    ds = pydicom.dcmread(fix / "mono2_12bit_window.dcm")
    ds.Rows, ds.Columns = 65535, 65535
    ds.save_as(out / "huge_declared_size.dcm", enforce_file_format=True)

    # A value length of 0xF0000000 in the Pixel Data header.
    b = bytearray(good)
    i = b.rfind(b"\xe0\x7f\x10\x00OW\x00\x00")
    b[i + 8 : i + 12] = (0xF0000000).to_bytes(4, "little")
    (out / "huge_value_length.dcm").write_bytes(bytes(b))

    ds = pydicom.dcmread(fix / "mono2_12bit_window.dcm")
    ds.BitsStored = 20
    ds.save_as(out / "bad_bits_stored.dcm", enforce_file_format=True)


def bench(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    R, C = 2500, 2000
    ds = base("bench_native", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=40))
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    save(ds, out / "chest_12bit_native.dcm")
    # The same phantom at 8 bits, for baseline JPEG (8-bit only); the shell script codes
    # both natives with DCMTK (RLE, JPEG baseline/extended/lossless, JPEG-LS).
    ds = base("bench_8bit", R, C, 8, 8)
    set_pixels(ds, phantom(R, C, 8, seed=40))
    ds.WindowCenter, ds.WindowWidth = 128, 220
    save(ds, out / "chest_8bit_native.dcm")
    ds = base("bench_j2k", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=40))
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    save(ds, out / "chest_12bit_j2k.dcm")
    # The same image, lossy JPEG 2000 (9/7 wavelet) at 10:1, a conservative ratio for
    # archived radiographs (lossy archives commonly use 10:1 to 20:1).
    ds = base("bench_j2k_lossy", R, C, 16, 12)
    set_pixels(ds, phantom(R, C, 12, seed=40))
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    ds.compress(JPEG2000, encoding_plugin="pylibjpeg", generate_instance_uid=False, j2k_cr=[10])
    save(ds, out / "chest_12bit_j2k_lossy.dcm")
    # The same image, lossless HTJ2K (OpenJPH defaults: 5 levels, 64 x 64 blocks, RPCL).
    import tempfile

    from pydicom.encaps import encapsulate

    ds = base("bench_htj2k", R, C, 16, 12)
    ds.WindowCenter, ds.WindowWidth = 2048, 3500
    with tempfile.TemporaryDirectory() as tmp:
        ds.PixelData = encapsulate([ojph_encode(phantom(R, C, 12, seed=40), 12, tmp, "-reversible", "true")])
    ds["PixelData"].VR = "OB"
    save(ds, out / "chest_12bit_htj2k.dcm", HTJ2KLossless)


def media(out):
    """What a PACS writes on a disc for one study, besides the image: a structured report
    and a presentation state (objects without pixel data), under DICOM/ with ISO 9660
    names; make_dicom_fixtures.sh adds the DICOMDIR (DCMTK's dcmmkdir) and a README."""
    out = Path(out) / "DICOM"
    out.mkdir(parents=True, exist_ok=True)
    R, C = 96, 128
    study = {
        "PatientName": "PHANTOM^MEDIA",
        "PatientID": "P-MEDIA",
        "StudyTime": "101500",
        "StudyID": "1",
        "ReferringPhysicianName": "",
        "AccessionNumber": "",
    }
    ds = base("media_dx", R, C, 16, 12)
    for k, v in study.items():
        setattr(ds, k, v)
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    set_pixels(ds, phantom(R, C, 12, seed=50))
    save(ds, out / "IM000001")

    def non_image(name, sop_class, modality, number, fields):
        d = base(name, 0, 0, 16, 12)
        for k in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
                  "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                  "BodyPartExamined", "ViewPosition"):
            delattr(d, k)
        d.file_meta.MediaStorageSOPClassUID = sop_class
        d.SOPClassUID = sop_class
        d.SeriesInstanceUID = UID_ROOT + "3." + str(number)
        d.Modality = modality
        for k, v in study.items():
            setattr(d, k, v)
        d.SeriesNumber, d.InstanceNumber = number, 1
        for k, v in fields.items():
            setattr(d, k, v)
        return d

    title = Dataset()
    title.CodeValue, title.CodingSchemeDesignator = "18748-4", "LN"
    title.CodeMeaning = "Diagnostic Imaging Report"
    sr = non_image("media_sr", "1.2.840.10008.5.1.4.1.1.88.11", "SR", 2, {
        "ValueType": "CONTAINER",
        "ConceptNameCodeSequence": Sequence([title]),
        "ContinuityOfContent": "SEPARATE",
        "CompletionFlag": "COMPLETE",
        "VerificationFlag": "UNVERIFIED",
        "ContentDate": "20200415",
        "ContentTime": "103000",
    })
    save(sr, out / "IM000002")
    pr = non_image("media_pr", "1.2.840.10008.5.1.4.1.1.11.1", "PR", 3, {
        "ContentLabel": "LUNGS",
        "PresentationCreationDate": "20200415",
        "PresentationCreationTime": "103000",
    })
    save(pr, out / "IM000003")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "native":
        native(sys.argv[2])
    elif cmd == "j2k":
        j2k(sys.argv[2])
    elif cmd == "htj2k":
        htj2k(sys.argv[2])
    elif cmd == "bad":
        bad(sys.argv[2], sys.argv[3])
    elif cmd == "bench":
        bench(sys.argv[2])
    elif cmd == "media":
        media(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
