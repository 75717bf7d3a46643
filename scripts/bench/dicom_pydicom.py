#!/usr/bin/env python3
"""pydicom + numpy + Pillow counterpart of crates/cxr-dicom/benches/convert.rs.

Same inputs (scripts/reference/make_dicom_fixtures.sh bench -> target/dicom-bench/),
same work per image: read the file, decode, Modality LUT, VOI (window), scale to 8 bits,
write an 8-bit PNG. Prints the median time per image over repeated runs, Pillow at its
default compress_level (6) and at 1 (closer to cxr-dicom's fast PNG setting), for RLE,
JPEG and JPEG-LS once per installed pydicom decoding plugin, and the
batch time over 8 copies of the native image, 4 of the JPEG 2000 one and 8 of the
HTJ2K one with 1 and 2 worker processes.

    .venv/bin/python scripts/bench/dicom_pydicom.py [DIR]
    .venv/bin/python scripts/bench/dicom_pydicom.py check OURS [DIR]   # same pixels?
"""

import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.pixels.decoders.base import get_decoder


def convert(src, dst, level=6, reduce=0, plugin=""):
    ds = pydicom.dcmread(src)
    if plugin:
        ds.pixel_array_options(decoding_plugin=plugin)
    arr = apply_modality_lut(ds.pixel_array, ds)
    y = apply_voi_lut(arr, ds)  # windowing onto the stored range
    lo, hi = 0.0, float(2**ds.BitsStored - 1)
    y8 = np.clip(np.floor((y - lo) / (hi - lo) * 255 + 0.5), 0, 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        y8 = 255 - y8
    img = Image.fromarray(y8)
    if reduce:
        # The same output as cxr-dicom's `reduce`: each side / 2^reduce, rounded up.
        f = 2**reduce
        img = img.resize((-(-img.width // f), -(-img.height // f)), Image.Resampling.BOX)
    img.save(dst, compress_level=level)


def plugins_for(src, tmp):
    """pydicom's decoding plugins installed for `src`'s transfer syntax ("" for native
    data) that decode it: a listed plugin may still refuse the data (Pillow: 8-bit JPEG
    only), which is reported and skipped."""
    uid = pydicom.dcmread(src, stop_before_pixels=True).file_meta.TransferSyntaxUID
    for plugin in sorted(get_decoder(uid).available_plugins) if uid.is_compressed else [""]:
        try:
            convert(src, Path(tmp) / "probe.png", 1, plugin=plugin)
        except Exception as e:  # noqa: BLE001 (reported, then the next plugin)
            print(f"{src.name} plugin={plugin}: cannot decode ({type(e).__name__}: {e})")
            continue
        yield plugin


def timeit(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def job(args):
    convert(*args)


def main():
    root = Path(__file__).resolve().parents[2]
    d = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "target/dicom-bench"
    tmp = Path(tempfile.mkdtemp())
    try:
        for name in ["chest_12bit_native.dcm", "chest_12bit_j2k.dcm", "chest_12bit_j2k_lossy.dcm",
                     "chest_12bit_htj2k.dcm"]:
            for level in (6, 1):
                t = timeit(lambda: convert(d / name, tmp / "out.png", level), 7)
                print(f"{name} compress_level={level}: {t * 1000:.1f} ms/image")
            t = timeit(lambda: convert(d / name, tmp / "out.png", 1, reduce=2), 7)
            print(f"{name} reduce=2 (full decode + Pillow BOX resize), compress_level=1: {t * 1000:.1f} ms/image")
        # The syntaxes whose decoders are not shared with cxr-dicom (JPEG-LS is: CharLS on
        # both sides), each through every decoding plugin pydicom finds installed, so the
        # ratio can be taken against pydicom's fastest.
        for name in ["chest_12bit_rle.dcm", "chest_12bit_jpeg_lossless.dcm",
                     "chest_12bit_jpeg_extended.dcm", "chest_8bit_native.dcm",
                     "chest_8bit_jpeg_baseline.dcm", "chest_12bit_jpegls.dcm"]:
            if not (d / name).exists():
                print(f"{name}: missing (make_dicom_fixtures.sh bench)")
                continue
            for plugin in plugins_for(d / name, tmp):
                for level in (6, 1):
                    t = timeit(lambda: convert(d / name, tmp / "out.png", level, plugin=plugin), 7)
                    print(f"{name} plugin={plugin or 'native'} compress_level={level}: {t * 1000:.1f} ms/image")
        for name, kind, copies in [
            ("chest_12bit_native.dcm", "native", 8),
            ("chest_12bit_j2k.dcm", "j2k", 4),
            ("chest_12bit_htj2k.dcm", "htj2k", 8),
        ]:
            jobs = []
            for i in range(copies):
                shutil.copy(d / name, tmp / f"{kind}{i}.dcm")
                jobs.append((tmp / f"{kind}{i}.dcm", tmp / f"{kind}{i}.png"))
            for procs in (1, 2):
                with mp.Pool(procs) as pool:
                    pool.map(job, jobs[:procs])  # warm-up (imports)
                    t = timeit(lambda: pool.map(job, jobs), 3)
                print(
                    f"batch {copies} {kind}, {procs} process(es): {t * 1000:.0f} ms "
                    f"({t / copies * 1000:.1f} ms/image)"
                )
    finally:
        shutil.rmtree(tmp)


def check(ours, d):
    """Compares cxr-dicom's PNGs of the bench inputs (`dicom_to_png --input DIR --output
    OURS`) with pydicom's, decoded by every installed plugin that can: prints the largest
    difference in gray levels and how many pixels differ; exits 1 above one gray level
    (two for lossy DCT JPEG, as tests/reference.rs allows)."""
    too_far = False
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(d.glob("*.dcm")):
            mine = np.asarray(Image.open(ours / (src.stem + ".png")))
            uid = pydicom.dcmread(src, stop_before_pixels=True).file_meta.TransferSyntaxUID
            # Lossy DCT JPEG: T.81 lets inverse DCTs differ by one stored value, which a
            # window narrower than the stored range stretches to 2 (tests/reference.rs).
            allowed = 2 if uid in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51") else 1
            for plugin in plugins_for(src, tmp):
                # plugins_for's probe was this very conversion.
                ref = np.asarray(Image.open(Path(tmp) / "probe.png"))
                diff = np.abs(mine.astype(np.int16) - ref.astype(np.int16))
                too_far = too_far or int(diff.max()) > allowed
                print(f"{src.name} plugin={plugin or 'native'}: max |diff| {diff.max()} gray levels, "
                      f"{int((diff > 0).sum())} of {diff.size} pixels differ")
    sys.exit(1 if too_far else 0)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "check":
        root = Path(__file__).resolve().parents[2]
        check(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else root / "target/dicom-bench")
    else:
        main()
