#!/usr/bin/env python3
"""TIFF, BMP and WebP radiographs, the peer of `cxr_core::load_gray` on those formats:
what Pillow shows for each file (and, for 16-bit TIFF, numpy's min-max stretch of what
tifffile reads, the mapping `SixteenToEight::MinMax` documents).

    make peers
    .venv/bin/python scripts/reference/formats_reference.py

Writes crates/cxr-core/tests/fixtures/formats/: a 40 x 28 grayscale picture with no
symmetry (a diagonal ramp and a bright block top-left) stored the ways scanners, PACS
exports and image tools store radiographs, each beside `NAME.shown.png`, the 8-bit
picture a reader should get back:

- gray8.tif: 8-bit, uncompressed strips (Pillow);
- gray8_lzw.tif: 8-bit, LZW (Pillow);
- gray8_tiled_deflate.tif: 8-bit, 16 x 16 tiles, Deflate with the horizontal
  predictor (tifffile);
- gray16_be.tif: 16-bit big-endian ("MM") holding 12-bit detector values (tifffile);
- miniswhite8.tif, miniswhite16.tif: Photometric Interpretation WhiteIsZero, the TIFF
  form of DICOM's MONOCHROME1 (tifffile). Pillow shows the 8-bit one inverted; the
  16-bit one is the spec's reading, 65535 - v, then the min-max stretch;
- rgb8.tif: the gray picture stored as RGB (Pillow);
- o3.tif, o6.tif: Orientation tag 3 (turned half round) and 6 (a phone held upright),
  shown as TIFF 6.0 says (numpy's turn of the stored picture). Pillow agrees on 3; on
  6, Pillow 13.0 swaps the size but not the pixels (a 28 x 40 image of garbled rows),
  so it is no peer there;
- gray8.bmp: 8-bit palette BMP (Pillow);
- gray8.webp: lossless WebP (Pillow).

and two files a reader must refuse, with no `.shown.png`:

- float32.tif: 32-bit floating-point samples (tifffile), which no radiograph reader
  here maps to 8 bits;
- packed12.tif: 12-bit samples packed two to three bytes (tifffile, which packs them
  with imagecodecs), which the decoder does not unpack;
- huge_header.tif: a 122-byte TIFF declaring 20,000 x 20,000 pixels (a decompression
  bomb's header; its strip is not there).
"""
import pathlib
import struct

import numpy as np
import PIL
import tifffile
from PIL import Image, ImageOps

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/cxr-core/tests/fixtures/formats"
W, H = 40, 28


def picture8() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    a = (10 + 5 * x + 2 * y).astype(np.uint8)
    a[0:4, 0:6] = 250  # top-left block: where it lands shows a turn
    return a


def picture16() -> np.ndarray:
    """12-bit values in a 16-bit container, not starting at 0: what detectors write."""
    y, x = np.mgrid[0:H, 0:W]
    a = (300 + 61 * x + 37 * y).astype(np.uint16)
    a[0:4, 0:6] = 4095
    return a


def stretch(a: np.ndarray) -> np.ndarray:
    """`SixteenToEight::MinMax`: (v - min) * 255 / (max - min), rounded half away from 0."""
    lo, hi = int(a.min()), int(a.max())
    return np.floor((a.astype(np.float64) - lo) * 255.0 / (hi - lo) + 0.5).astype(np.uint8)


def shown(name: str, a: np.ndarray) -> None:
    assert a.dtype == np.uint8, name
    Image.fromarray(a).save(OUT / f"{name}.shown.png")


def pillow_shows(name: str) -> np.ndarray:
    with Image.open(OUT / name) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("L"))


def huge_header(side: int) -> bytes:
    """A little-endian TIFF whose one IFD declares side x side 8-bit gray pixels."""
    tags = [  # (tag, type 3 = SHORT / 4 = LONG, value)
        (256, 4, side),  # ImageWidth
        (257, 4, side),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 1),  # Compression: none
        (262, 3, 1),  # PhotometricInterpretation: BlackIsZero
        (273, 4, 0),  # StripOffsets
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, side),  # RowsPerStrip
        (279, 4, side * side),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        ifd += struct.pack("<HHI", tag, kind, 1)
        ifd += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    a8, a16 = picture8(), picture16()
    img = Image.fromarray(a8, mode="L")

    img.save(OUT / "gray8.tif")
    img.save(OUT / "gray8_lzw.tif", compression="tiff_lzw")
    tifffile.imwrite(
        OUT / "gray8_tiled_deflate.tif",
        a8,
        tile=(16, 16),
        compression="zlib",
        predictor=True,
        photometric="minisblack",
    )
    img.convert("RGB").save(OUT / "rgb8.tif")
    for n in (3, 6):
        img.save(OUT / f"o{n}.tif", tiffinfo={274: n})
    img.save(OUT / "gray8.bmp")
    img.save(OUT / "gray8.webp", lossless=True)
    for name in (
        "gray8.tif",
        "gray8_lzw.tif",
        "gray8_tiled_deflate.tif",
        "rgb8.tif",
        "gray8.bmp",
        "gray8.webp",
    ):
        seen = pillow_shows(name)
        assert (seen == a8).all(), name  # lossless everywhere
        shown(name, seen)
    # Orientation 3: the 0th row is the visual bottom, the 0th column the visual right.
    assert (pillow_shows("o3.tif") == a8[::-1, ::-1]).all()
    shown("o3.tif", np.ascontiguousarray(a8[::-1, ::-1]))
    # Orientation 6: the 0th row is the visual right-hand side, the 0th column the visual
    # top: turned a quarter clockwise to show.
    assert tifffile.TiffFile(OUT / "o6.tif").pages[0].tags[274].value == 6
    shown("o6.tif", np.ascontiguousarray(np.rot90(a8, k=-1)))

    tifffile.imwrite(OUT / "gray16_be.tif", a16, byteorder=">", photometric="minisblack")
    assert (tifffile.imread(OUT / "gray16_be.tif") == a16).all()
    shown("gray16_be.tif", stretch(a16))

    # WhiteIsZero: the stored values are the inverse of what is shown.
    tifffile.imwrite(OUT / "miniswhite8.tif", 255 - a8, photometric="miniswhite")
    assert (pillow_shows("miniswhite8.tif") == a8).all()
    shown("miniswhite8.tif", pillow_shows("miniswhite8.tif"))
    stored16 = (65535 - a16).astype(np.uint16)
    tifffile.imwrite(OUT / "miniswhite16.tif", stored16, photometric="miniswhite")
    shown("miniswhite16.tif", stretch(65535 - tifffile.imread(OUT / "miniswhite16.tif")))

    tifffile.imwrite(OUT / "float32.tif", a16.astype(np.float32) / 4095.0)
    tifffile.imwrite(OUT / "packed12.tif", a16, bitspersample=12, photometric="minisblack")
    assert tifffile.TiffFile(OUT / "packed12.tif").pages[0].bitspersample == 12
    assert (tifffile.imread(OUT / "packed12.tif") == a16).all()
    (OUT / "huge_header.tif").write_bytes(huge_header(20_000))
    print(f"wrote {OUT} with Pillow {PIL.__version__}, tifffile {tifffile.__version__}")


if __name__ == "__main__":
    main()
