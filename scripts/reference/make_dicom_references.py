#!/usr/bin/env python3
"""Golden 8-bit PNGs for crates/cxr-dicom/tests/fixtures/, from two peers:

* pydicom 3 (+ pylibjpeg codecs): apply_modality_lut, then apply_voi (VOI LUT
  Sequence) or apply_windowing (Window Center/Width with VOI LUT Function), rescaled
  from the output range pydicom uses to 0..255; min-max done explicitly with numpy
  when the file has neither (pydicom has no min-max); MONOCHROME1 and Presentation
  LUT Shape INVERSE inverted explicitly; round half up, clamp.
* DCMTK dcmj2pnm / dcml2pnm (JPEG-LS) 3.6.7: +on (8-bit PNG) with +Wl n, +Wi n, +Wm
  or +Ww c w to pick the same VOI; +F n for the frame. DCMTK has no JPEG 2000 decoder,
  so JPEG 2000 cases have pydicom references only.

HTJ2K cases: pydicom decodes them with OpenJPEG (pylibjpeg-openjpeg), the decoder
cxr-dicom uses too, so the stored values are first checked against OpenJPH's
`ojph_expand` (Debian openjph-tools), an independent HTJ2K decoder: identical when
lossless, within one stored value when lossy; the script stops otherwise.

Reduced-resolution JPEG 2000 cases (cxr-dicom's `reduce`): pydicom has no way to ask
for fewer wavelet levels, so the frame's codestream is decoded by OpenJPEG's own CLI,
`opj_decompress -r N` (Debian libopenjp2-tools), to PGX, and that array goes through
the same pydicom LUT path.

Colour images are reduced to Rec. 709 luma (0.2126 R + 0.7152 G + 0.0722 B) from each
peer's RGB output, as cxr-dicom does.

Writes crates/cxr-dicom/tests/reference/{pydicom,dcmtk}/<case>.png and cases.csv
(case, file, frame, voi, index, center, width, pydicom, dcmtk, reduce). Regenerate with
scripts/reference/make_dicom_references.sh after make_dicom_fixtures.sh.
"""

import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels.decoders.base import get_decoder
from PIL import Image
from pydicom.pixels import apply_modality_lut, apply_voi, apply_windowing

LUMA = np.array([0.2126, 0.7152, 0.0722])


def to_u8(y):
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def window_range(ds):
    """The output range pydicom's apply_windowing maps onto (copied from its source)."""
    if ds.get("ModalityLUTSequence"):
        y_min = 0
        y_max = 2 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    elif ds.PixelRepresentation == 0:
        y_min, y_max = 0, 2**ds.BitsStored - 1
    else:
        y_min, y_max = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        y_min = y_min * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        y_max = y_max * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return y_min, y_max


def read_pgx(path):
    """A PGX file (OpenJPEG's raw single-component format): `PG ML|LM [+|-] bits w h`."""
    data = Path(path).read_bytes()
    end = data.index(b"\n")
    head = data[:end].decode().replace("+", " + ").replace("-", " - ").split()
    order, sign, bits, w, h = head[1], head[2], int(head[3]), int(head[4]), int(head[5])
    nbytes = (bits + 7) // 8
    kind = {1: "u1", 2: "u2", 4: "u4"}[nbytes] if sign == "+" else {1: "i1", 2: "i2", 4: "i4"}[nbytes]
    dt = np.dtype(kind).newbyteorder(">" if order == "ML" else "<")
    return np.frombuffer(data[end + 1 : end + 1 + w * h * nbytes], dtype=dt).reshape(h, w)


def opj_reduced(ds, frame, reduce, tmp):
    """Frame `frame` decoded by opj_decompress with `reduce` resolution levels dropped."""
    frames = list(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1))))
    src = Path(tmp) / "frame.j2k"
    src.write_bytes(frames[frame])
    out = Path(tmp) / "frame.pgx"
    subprocess.run(["opj_decompress", "-i", str(src), "-o", str(out), "-r", str(reduce), "-quiet"], check=True, capture_output=True)
    # opj_decompress names single-component PGX output frame_0.pgx
    pgx = out if out.exists() else Path(tmp) / "frame_0.pgx"
    return read_pgx(pgx)


def is_htj2k(ds):
    return str(ds.file_meta.TransferSyntaxUID).startswith("1.2.840.10008.1.2.4.20")


def ojph_decoded(ds, frame, reduce, tmp):
    """Frame `frame` of an HTJ2K file decoded by OpenJPH's ojph_expand (Debian
    openjph-tools), an HTJ2K decoder independent of OpenJPEG, `reduce` levels skipped."""
    frames = list(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1))))
    src, out = Path(tmp) / "frame.j2c", Path(tmp) / "frame.pgm"
    src.write_bytes(frames[frame])
    args = ["ojph_expand", "-i", str(src), "-o", str(out)]
    if reduce:
        args += ["-skip_res", f"{reduce},{reduce}"]
    subprocess.run(args, check=True, capture_output=True)
    data = out.read_bytes()
    head = data.split(b"\n", 3)
    w, h = (int(v) for v in head[1].split())
    maxval = int(head[2])
    dt = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
    return np.frombuffer(data[-w * h * dt.itemsize :], dtype=dt).reshape(h, w)


def pydicom_render(path, frame, voi, index, center, width, reduce=0, tmp=None):
    ds = pydicom.dcmread(path)
    # The pylibjpeg codecs, whatever else is installed (`make peers` adds GDCM, whose
    # IDCT rounds lossy JPEG differently, and pydicom would pick it first).
    uid = ds.file_meta.TransferSyntaxUID
    if uid.is_compressed and "pylibjpeg" in get_decoder(uid).available_plugins:
        ds.pixel_array_options(decoding_plugin="pylibjpeg")
    if reduce:
        arr = opj_reduced(ds, frame, reduce, tmp)
    else:
        arr = ds.pixel_array
        if int(ds.get("NumberOfFrames", 1)) > 1:
            arr = arr[frame]
    if is_htj2k(ds):
        # The stored values OpenJPEG gave (through pydicom, or its CLI for `reduce`) must
        # be those of an independent HTJ2K decoder: exactly when lossless, and within
        # one stored value when lossy (9/7 inverse rounding may differ).
        other = ojph_decoded(ds, frame, reduce, tmp).astype(np.int64)
        diff = np.abs(other - arr.astype(np.int64)).max() if other.shape == arr.shape else None
        lossless = str(ds.file_meta.TransferSyntaxUID) != "1.2.840.10008.1.2.4.203"
        if diff is None or diff > (0 if lossless else 1):
            raise SystemExit(f"{path.name}: OpenJPEG and OpenJPH disagree (max diff {diff}, reduce {reduce})")
        print(f"  {path.name} reduce {reduce}: OpenJPEG and OpenJPH agree (max diff {diff})")
    pi = ds.PhotometricInterpretation
    if ds.SamplesPerPixel == 3:
        # pixel_array is RGB (pydicom converts YBR by default).
        return to_u8(arr.astype(np.float64) @ LUMA)
    m = apply_modality_lut(arr, ds)
    if voi == "auto":
        voi = "voi_lut" if ds.get("VOILUTSequence") else ("window" if "WindowCenter" in ds else "minmax")
    if voi == "voi_lut":
        y = apply_voi(m, ds, index).astype(np.float64)
        bits = ds.VOILUTSequence[index].LUTDescriptor[2]
        y8 = y / (2**bits - 1) * 255
    elif voi in ("window", "explicit"):
        if voi == "explicit":
            ds.WindowCenter, ds.WindowWidth = center, width
            if "VOILUTFunction" in ds:
                del ds.VOILUTFunction
            index = 0
        y = apply_windowing(m.astype(np.float64), ds, index)
        lo, hi = window_range(ds)
        y8 = (y - lo) / (hi - lo) * 255
    else:
        m = m.astype(np.float64)
        # PS3.3 C.7.5.1.1.2 note 2: padding (stored values) is left out of the range,
        # unless it is all there is. pydicom has no min-max window; this is numpy's.
        image = np.ones(arr.shape, bool)
        if "PixelPaddingValue" in ds:
            pv = ds.PixelPaddingValue
            pl = ds.get("PixelPaddingRangeLimit", pv)
            if ds.PixelRepresentation == 1:  # a US value in a signed image: two's complement
                pv, pl = (v - 65536 if v > 32767 else v for v in (pv, pl))
            image = ~((arr >= min(pv, pl)) & (arr <= max(pv, pl)))
            if not image.any():
                image[:] = True
        lo, hi = m[image].min(), m[image].max()
        y8 = (m - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(m)
    if pi == "MONOCHROME1" or ds.get("PresentationLUTShape", "") == "INVERSE":
        y8 = 255 - y8
    return to_u8(y8)


def dcmtk_render(path, frame, voi, index, center, width, tmp):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    ts = str(ds.file_meta.TransferSyntaxUID)
    if ts.startswith("1.2.840.10008.1.2.4.9") or ts.startswith("1.2.840.10008.1.2.4.20"):
        return None  # no JPEG 2000 in DCMTK
    tool = "dcml2pnm" if ts in ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81") else "dcmj2pnm"
    args = [tool, "+on", "+F", str(frame + 1)]
    if ds.SamplesPerPixel == 1:
        if voi == "auto":
            voi = "voi_lut" if "VOILUTSequence" in ds else ("window" if "WindowCenter" in ds else "minmax")
        if voi == "voi_lut":
            args += ["+Wl", str(index + 1)]
        elif voi == "window":
            args += ["+Wi", str(index + 1)]
        elif voi == "explicit":
            args += ["+Ww", str(center), str(width)]
        else:
            args += ["+Wm"]
    out = Path(tmp) / "out.png"
    r = subprocess.run(args + [str(path), str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  dcmtk failed on {path.name}: {r.stderr.strip()}", file=sys.stderr)
        return None
    img = np.asarray(Image.open(out))
    if img.ndim == 3:
        img = to_u8(img[..., :3].astype(np.float64) @ LUMA)
    return img


def cases(fixtures):
    out = []
    for p in sorted(fixtures.iterdir()):
        if p.is_file():
            out.append((p.stem if p.suffix == ".dcm" else p.name, p.name, 0, "auto", 0, "", "", 0))
    out += [
        ("two_windows@window1", "two_windows.dcm", 0, "window", 1, "", ""),
        ("multiframe@frame1", "multiframe.dcm", 1, "auto", 0, "", ""),
        ("multiframe@frame2", "multiframe.dcm", 2, "auto", 0, "", ""),
        ("rle_multiframe@frame2", "rle_multiframe.dcm", 2, "auto", 0, "", ""),
        ("jpeg_lossless_multiframe@frame1", "jpeg_lossless_multiframe.dcm", 1, "auto", 0, "", ""),
        ("mono2_12bit_window@explicit", "mono2_12bit_window.dcm", 0, "explicit", 0, "1000", "1500"),
        ("voi_lut@minmax", "voi_lut.dcm", 0, "minmax", 0, "", ""),
        ("voi_lut@window0", "voi_lut.dcm", 0, "window", 0, "", ""),
        ("signed_12bit_rescale@minmax", "signed_12bit_rescale.dcm", 0, "minmax", 0, "", ""),
    ]
    out = [c + (0,) if len(c) == 7 else c for c in out]
    for name in (
        "j2k_lossless_12bit",
        "j2k_lossy_12bit",
        "j2k_lossless_signed",
        "j2k_lossless_mono1_nowindow",
        "htj2k_lossless_12bit",
        "htj2k_lossy_12bit",
    ):
        for r in (1, 2):
            out.append((f"{name}@reduce{r}", f"{name}.dcm", 0, "auto", 0, "", "", r))
    return out


def main():
    root = Path(__file__).resolve().parents[2]
    fixtures = root / "crates/cxr-dicom/tests/fixtures"
    ref = root / "crates/cxr-dicom/tests/reference"
    shutil.rmtree(ref, ignore_errors=True)
    (ref / "pydicom").mkdir(parents=True)
    (ref / "dcmtk").mkdir(parents=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, file, frame, voi, index, center, width, reduce in cases(fixtures):
            path = fixtures / file
            c = float(center) if center else None
            w = float(width) if width else None
            py_name = dc_name = ""
            try:
                img = pydicom_render(path, frame, voi, index, c, w, reduce, tmp)
                py_name = f"pydicom/{case}.png"
                Image.fromarray(img).save(ref / py_name)
            except Exception as e:  # noqa: BLE001 - a peer that cannot decode is recorded
                print(f"  pydicom failed on {case}: {e}", file=sys.stderr)
            img = None if reduce else dcmtk_render(path, frame, voi, index, c, w, tmp)
            if img is not None:
                dc_name = f"dcmtk/{case}.png"
                Image.fromarray(img).save(ref / dc_name)
            rows.append([case, file, frame, voi, index, center, width, py_name, dc_name, reduce])
            print(f"{case}: pydicom={'yes' if py_name else 'no'} dcmtk={'yes' if dc_name else 'no'}")
    with open(ref / "cases.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["case", "file", "frame", "voi", "index", "center", "width", "pydicom", "dcmtk", "reduce"])
        wr.writerows(rows)
    # Where the peers disagree with each other by more than one gray level.
    print("\npeer disagreements (max |pydicom - dcmtk|):")
    for r in rows:
        if r[7] and r[8]:
            a = np.asarray(Image.open(ref / r[7])).astype(int)
            b = np.asarray(Image.open(ref / r[8])).astype(int)
            d = np.abs(a - b).max() if a.shape == b.shape else -1
            if d > 1 or d < 0:
                print(f"  {r[0]}: {d}")


if __name__ == "__main__":
    main()
