#!/usr/bin/env python3
"""EXIF orientation, the peer of `cxr_core::load_gray`'s rotation: Pillow's
`ImageOps.exif_transpose`, which turns an image the way browsers, PACS viewers and
phone galleries show it.

    make peers
    .venv/bin/python scripts/reference/orientation_reference.py

Writes crates/cxr-core/tests/fixtures/orientation/: a 24 x 16 grayscale picture with no
symmetry (a diagonal ramp and a bright corner block), stored with each of the eight EXIF
orientations as a JPEG (quality 100, EXIF in APP1) and as a PNG (EXIF in an eXIf chunk):
`o{N}.jpg`, `o{N}.png`; and what Pillow shows for each, as a plain PNG without metadata:
`o{N}.jpg.shown.png`, `o{N}.png.shown.png`. Orientation 6 is what a phone held upright
writes; 1 is "as stored".
"""
import pathlib

import PIL
from PIL import Image, ImageOps

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/cxr-core/tests/fixtures/orientation"
ORIENTATION = 0x0112


def picture() -> Image.Image:
    w, h = 24, 16
    img = Image.new("L", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = 20 + 6 * x + 3 * y
    for y in range(3):
        for x in range(5):
            px[x, y] = 250  # top-left block: where it lands shows the turn
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    img = picture()
    for n in range(1, 9):
        exif = Image.Exif()
        exif[ORIENTATION] = n
        for ext, kwargs in (("jpg", {"quality": 100, "subsampling": 0}), ("png", {})):
            path = OUT / f"o{n}.{ext}"
            img.save(path, exif=exif.tobytes(), **kwargs)
            with Image.open(path) as stored:
                assert stored.getexif().get(ORIENTATION) == n, path
                shown = ImageOps.exif_transpose(stored).convert("L")
            shown.save(OUT / f"o{n}.{ext}.shown.png")
    print(f"wrote {OUT} with Pillow {PIL.__version__}")


if __name__ == "__main__":
    main()
