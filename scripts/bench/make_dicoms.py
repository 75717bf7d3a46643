"""Writes full-size DICOM radiographs for the batch benchmarks (scripts/bench/shards.sh):
each PNG of a folder resampled so that its longer side is SIZE pixels, stored as 12-bit
MONOCHROME2 with a window, native (uncompressed) or RLE Lossless, as a CR/DX archive
holds them. Nothing here is committed; the inputs stay where they are.

    .venv/bin/python scripts/bench/make_dicoms.py PNG_DIR OUT_DIR [--size 2500] [--count 300] [--rle]

For checking that a tool reads real DICOM as it reads the PNGs they came from:
`--size 0` keeps each image's size (pixels 16 × v + 8, which the window maps back to
within a level of v), `--uid-names` names each file by its SOP Instance UID without an
extension, in one flat folder, as archives do, and `--mono1` stores every other image
as MONOCHROME1 (inverted), as some detectors do.
"""

import argparse
import pathlib

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("png_dir", type=pathlib.Path)
    ap.add_argument("out_dir", type=pathlib.Path)
    ap.add_argument("--size", type=int, default=2500)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--rle", action="store_true")
    ap.add_argument("--uid-names", action="store_true")
    ap.add_argument("--mono1", action="store_true")
    a = ap.parse_args()
    pngs = sorted(a.png_dir.rglob("*.png"))[: a.count]
    a.out_dir.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pngs):
        img = Image.open(p).convert("L")
        if a.size > 0:
            scale = a.size / max(img.size)
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
            px = (np.asarray(img, dtype=np.uint16) << 4) | (i & 15)
        else:
            px = (np.asarray(img, dtype=np.uint16) << 4) | 8
        mono1 = a.mono1 and i % 2 == 1
        if mono1:
            px = 4095 - px
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientID = f"BENCH{i // 2:05d}"
        ds.Modality = "DX"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1" if mono1 else "MONOCHROME2"
        ds.Rows, ds.Columns = px.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        ds.PixelData = px.tobytes()
        if a.rle:
            ds.compress(RLELossless)
        if a.uid_names:
            ds.save_as(a.out_dir / ds.SOPInstanceUID, enforce_file_format=True)
            (a.out_dir.parent / f"{a.out_dir.name}_names.csv").open("a").write(
                f"{ds.SOPInstanceUID},{p.name}\n"
            )
        else:
            sub = a.out_dir / f"p{i % 10}"
            sub.mkdir(exist_ok=True)
            ds.save_as(sub / f"{i:05d}.dcm", enforce_file_format=True)
    size = f"{a.size} px" if a.size > 0 else "their own size"
    print(f"{len(pngs)} DICOMs of {size} in {a.out_dir}")


if __name__ == "__main__":
    main()
