"""CheXmask-style reference table for cxr-source-nlm-tb's `chexmask` reader.

Writes crates/cxr-source-nlm-tb/tests/reference/chexmask/:
  table.csv        rows laid out as CheXmask's OriginalResolution tables (first column the
                   image id, then Dice RCA (Mean), Dice RCA (Max), Landmarks, Left Lung,
                   Right Lung, Heart, Height, Width), masks run-length encoded the way
                   CheXmask's DataPostprocessing/utils.py does: row-major, 1-based starts
  expected/*.png   for each usable row, the union of its lungs decoded the way CheXmask's
                   get_mask_from_RLE decodes (255 = lung), named by the row's line

Run: .venv/bin/python scripts/reference/chexmask_reference.py  (needs numpy and Pillow:
`make peers`). The Rust test (tests/chexmask.rs) decodes table.csv and compares.
"""
import csv
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "cxr-source-nlm-tb",
                   "tests", "reference", "chexmask")


def encode(mask):
    """CheXmask's encoding: runs of 1 over the flattened (row-major) mask, 1-based."""
    pixels = np.concatenate([[0], (mask > 0).astype(int).flatten(), [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return " ".join(str(x) for x in runs)


def decode(rle, height, width):
    """CheXmask's decoding: starts are 1-based."""
    mask = np.zeros(height * width, dtype=np.uint8)
    if rle.strip():
        runs = np.array([int(x) for x in rle.split()])
        for start, length in zip(runs[::2], runs[1::2]):
            mask[start - 1:start - 1 + length] = 255
    return mask.reshape((height, width))


def ellipse(height, width, cx, cy, rx, ry):
    y, x = np.mgrid[0:height, 0:width]
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def lungs(height, width):
    right = ellipse(height, width, width * 0.3, height * 0.5, width * 0.17, height * 0.35)
    left = ellipse(height, width, width * 0.7, height * 0.5, width * 0.15, height * 0.33)
    return left, right


def main():
    os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
    header = ["Image Index", "Dice RCA (Mean)", "Dice RCA (Max)", "Landmarks",
              "Left Lung", "Right Lung", "Heart", "Height", "Width"]
    rows = []
    # (id, rca, height, width, keep left, keep right, note)
    specs = [
        ("00000001_000.png", 0.86, 20, 24, True, True),   # ChestX-ray8: by file name
        ("CheXpert-v1.0/train/patient00002/study1/view1_frontal.jpg", 0.91, 20, 24, True, True),
        ("vindr0001", 0.80, 63, 65, True, True),           # a DICOM file, <id>.dicom (IM000001)
        ("00000003_000.png", 0.78, 20, 24, True, False),   # right lung not drawn: empty field
        ("00000004_000.png", 0.52, 20, 24, True, True),    # below the 0.7 quality threshold
        ("00000005_000.png", 0.90, 20, 24, True, True),    # no such image
    ]
    for ident, rca, h, w, keep_left, keep_right in specs:
        left, right = lungs(h, w)
        left_rle = encode(left) if keep_left else ""
        right_rle = encode(right) if keep_right else ""
        heart = encode(ellipse(h, w, w * 0.55, h * 0.65, w * 0.1, h * 0.12))
        landmarks = "[[1, 2], [3, 4]]"
        rows.append([ident, rca, min(1.0, rca + 0.05), landmarks, left_rle, right_rle, heart, h, w])
    # Two bad rows: a run past the last pixel, a quality that is no number.
    rows.append(["00000006_000.png", 0.9, 0.95, "[]", "470 20", "", "", 20, 24])
    rows.append(["00000007_000.png", "n/a", 0.95, "[]", "1 2", "", "", 20, 24])
    with open(os.path.join(OUT, "table.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    for line, row in enumerate(rows, start=2):
        ident, rca, h, w = row[0], row[1], row[7], row[8]
        if not isinstance(rca, float) or rca < 0.7 or row[4] == "470 20":
            continue
        union = np.maximum(decode(row[4], h, w), decode(row[5], h, w))
        Image.fromarray(union).save(os.path.join(OUT, "expected", f"line{line}.png"))


if __name__ == "__main__":
    main()
